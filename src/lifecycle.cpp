// SPDX-License-Identifier: MIT
// Starting a ste thread, joining it, and what the last handle does when it goes away.
#include "ste/detail/lifecycle.hpp"

#include <atomic>
#include <exception>
#include <memory>

#include "os_thread.hpp"
#include "realtime.hpp"
#include "ste/detail/core.hpp"
#include "ste/detail/forced_unwind.hpp"
#include "ste/detail/throw.hpp"
#include "ste/detail/watchdog.hpp"

namespace ste::detail {

lifecycle::lifecycle() noexcept = default;
lifecycle::~lifecycle() = default;

void lifecycle::start_locked(std::size_t stack_size, void (*entry)(void*), void* arg) {
  STE_ASSERT(os_thread_ == nullptr);  // started once
  os_thread_ = std::make_unique<os_thread>(stack_size, entry, arg);
}

void lifecycle::join_locked() noexcept {
  os_thread_->join();
  os_thread_.reset();
}

void lifecycle::detach_locked() noexcept {
  os_thread_->detach();
  os_thread_.reset();
}

namespace {

thread_local core* tls_current_core = nullptr;

// Handshake between start() and the new thread: lives in start()'s frame. The worker
// signals it once (its last touch) after the prelude ran or threw, or after the OS
// refused the real-time scheduling or the CPUs asked for (then the prelude never ran).
struct startup {
  std::shared_ptr<core> self;
  std::exception_ptr error;  // the prelude's exception, or the placement's refusal
  completion started;
};

// What can be refused before any thread exists: the priority's range, negative CPUs,
// and CPUs that do not exist or that the process may not use.
void check_placement(thread_config const& config) {
  if (config.realtime && (config.realtime->priority < 0 || config.realtime->priority > 99))
    throw_invalid_priority(config.realtime->priority);
  for (int cpu : config.cpus)
    if (cpu < 0) throw_negative_cpu(cpu);
  check_cpus(config.cpus);
}

std::uint64_t next_tag_id() noexcept {
  // Tags come from one process-wide 64-bit counter and are never re-used. At a billion
  // threads a second it would take 584 years to wrap; it still refuses to wrap.
  static std::atomic<std::uint64_t> counter{0};
  // relaxed: only uniqueness matters, which the atomic RMW alone guarantees.
  std::uint64_t const id = counter.fetch_add(1, std::memory_order_relaxed) + 1;
  if (id == 0) std::terminate();
  return id;
}
}  // namespace

core* current_core() noexcept { return tls_current_core; }

void forget_current_core_in_child() noexcept { tls_current_core = nullptr; }

void core::thread_main(void* p) {
  auto* s = static_cast<startup*>(p);
  std::shared_ptr<core> self = s->self;  // the worker's own reference
  tls_current_core = self.get();
  // However the thread ends — its loop returns, or pthread_exit / cancellation unwinds
  // it (forced_unwind.hpp) — it lets go of the watchdog (the last one joins it) and is
  // no longer the current core. Not in the child of a fork (the watchdog there is new).
  struct thread_end {
    core& c;
    ~thread_end() {
      if (c.config_.stall_threshold > std::chrono::nanoseconds::zero() && !c.inherited_)
        unwatch(c);
      tls_current_core = nullptr;
    }
  } const end{*self};
  os_thread::set_current_name(self->config_.name);
  // The CPUs and real-time scheduling come first, so that the prelude already runs with
  // them; the scope leaves them (Windows: the MMCSS task) as the thread exits.
  placement_scope placement;
  try {
    placement.apply(self->config_.name, self->config_.realtime, self->config_.cpus);
    self->lifecycle_.set_realtime(placement.realtime());  // published by the signal below
  } catch (...) {
    s->error = std::current_exception();
  }
  os_thread::use_precise_timers();  // ste threads are often audio threads
  if (!s->error && self->config_.prelude) {
    try {
      self->config_.prelude();
    } catch (...) {
      s->error = std::current_exception();
      if (is_thread_end(s->error)) {
        // The prelude ended the OS thread: build() throws stopped_error, and what the
        // prelude posted still runs (as for a prelude that throws) before the unwind
        // ends the thread.
        s->error = prelude_ended_thread(self->config_.name);
        s->started.signal();  // the last touch of the handshake
        self->mailbox_.end_by(stop_cause::exit);
        self->mailbox_.stop_accepting();
        self->run(postlude_policy::skip);
        throw;
      }
    }
  }
  bool const failed = s->error != nullptr;
  s->started.signal();  // the last touch of the handshake
  // A failed start: start() returns no handle, but what the prelude itself posted was
  // accepted, so it runs before the thread ends. The postlude pairs with a successful
  // prelude only.
  if (failed) self->mailbox_.stop_accepting();
  self->run(failed ? postlude_policy::skip : postlude_policy::run);
}

std::shared_ptr<core> core::start(thread_config config) {
  // Inside DllMain the new thread could not start before the caller returns (§17).
  if (auto const l = os_thread::loader_state(); l != os_thread::loader::free)
    throw_build_under_loader_lock(l == os_thread::loader::process_exit);
  check_placement(config);  // throws before anything was started
  auto c = std::make_shared<core>(std::move(config), next_tag_id());
  startup handshake{c, nullptr, {}};
  bool const watched = c->config_.stall_threshold > std::chrono::nanoseconds::zero();
  if (watched) watch(*c);  // throws before anything was started
  guard lock(c->lifecycle_.lock());
  try {
    c->lifecycle_.start_locked(c->config_.stack_size, &core::thread_main, &handshake);
  } catch (...) {
    if (watched) unwatch(*c);
    throw;
  }
  handshake.started.wait();
  if (handshake.error) {
    c->lifecycle_.join_locked();
    std::rethrow_exception(handshake.error);
  }
  return c;
}

void core::join() {
  if (inherited_) return;  // the child of a fork: no thread to join, nothing to wait for
  if (is_current()) throw_join_on_itself();
  if (auto const l = os_thread::loader_state(); l != os_thread::loader::free) {
    // Inside DllMain the worker cannot exit (or is already gone): only a thread already
    // joined may be joined again. The join mutex is tried, never waited for: its holder
    // is joining, and waits for an exit that needs the loader lock (§17).
    if (lifecycle_.lock().try_lock()) {
      bool const attached = lifecycle_.attached_locked();
      lifecycle_.lock().unlock();
      if (!attached) return;
    }
    throw_join_under_loader_lock(l == os_thread::loader::process_exit);
  }
  guard lock(lifecycle_.lock());
  if (!lifecycle_.attached_locked()) return;  // already joined (or detached)
  wait_edge edge(*this, wait_kind::close);    // throws deadlock_error before anything changed
  mailbox_.stop_accepting();
  lifecycle_.join_locked();
}

void core::join_or_detach() noexcept {
  if (inherited_) return;  // the child of a fork: the join mutex may be held by the parent's
  switch (os_thread::loader_state()) {
    case os_thread::loader::free:
      break;
    case os_thread::loader::process_exit:
      // Windows has ended the worker, perhaps inside a task or holding a lock: touch
      // nothing it shared (§17). Its own reference keeps the core alive.
      return;
    case os_thread::loader::held:
      // The worker cannot exit before the loader lock is released: stop it, and let it
      // drain and exit on its own. Whoever holds the join mutex is joining it already.
      mailbox_.stop_accepting();
      if (lifecycle_.lock().try_lock()) {
        if (lifecycle_.attached_locked()) lifecycle_.detach_locked();
        lifecycle_.lock().unlock();
      }
      return;
  }
  if (!is_current()) {
    try {
      join();
      return;
    } catch (...) {
      // Joining would deadlock: fall through and let the thread finish on its own.
    }
  }
  // Here nothing may wait for the thread to end: this is the thread itself (the last
  // handle let go inside a task, or std::exit called from a task ran a static handle's
  // destructor here), or the thread waits on the caller. Nor may it wait for the join
  // mutex: its holder may be a joiner waiting for this very thread to end (join() from
  // another thread while a task it drains, or the postlude, calls std::exit), which
  // never happens while we wait. So:
  // - stop accepting: the phase change join() makes, a lock-free seq_cst RMW on the
  //   inbox word, ordered by itself with every push and every other phase change (the
  //   join mutex guards the OS thread only); a no-op when the phase moved already;
  // - detach only if the mutex is free. When it is not, its holder joins or detaches the
  //   OS thread; if it does neither (a join() that threw deadlock_error), or try_lock
  //   failed spuriously, ~os_thread detaches it when the core is freed.
  // The thread then finishes on its own after the current task — except after
  // std::exit: the process ends first, and what is queued behind the exiting task, and
  // the postlude, never run (docs/design.md §18).
  mailbox_.stop_accepting();
  if (!lifecycle_.lock().try_lock()) return;
  if (lifecycle_.attached_locked()) lifecycle_.detach_locked();
  lifecycle_.lock().unlock();
}

}  // namespace ste::detail
