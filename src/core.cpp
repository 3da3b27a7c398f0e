// The worker loop, the queue, the shutdown protocol and deadlock detection.
// docs/design.md explains the protocols; comments here give the local argument.
#include "ste/detail/core.hpp"

#include <algorithm>
#include <sstream>
#include <stdexcept>
#include <cstdio>
#include <exception>
#include <string>
#include <system_error>
#include <typeinfo>

#if defined(__linux__)
#include <sys/prctl.h>
#endif

#include "os_thread.hpp"
#include "ste/errors.hpp"

namespace ste::detail {

namespace {

thread_local core* tls_current_core = nullptr;

// Tags come from one process-wide 64-bit counter and are never re-used. At a billion
// threads a second it would take 584 years to wrap; we still refuse to wrap.
std::uint64_t next_tag_id() {
  static std::atomic<std::uint64_t> counter{0};
  // relaxed: only uniqueness matters, which the atomic RMW alone guarantees.
  std::uint64_t const id = counter.fetch_add(1, std::memory_order_relaxed) + 1;
  if (id == 0) std::terminate();
  return id;
}

// Deadlock edges ("ste thread X is blocked waiting on ste thread Y") are guarded by one
// process-wide mutex. Only ste threads blocking on other ste threads take it; the usual
// submit from a plain thread never does. Under it, every edge points to a live core:
// the waiter holds a reference to its target and clears its edge before it returns.
std::mutex& edge_mutex() {
  static std::mutex m;
  return m;
}

// The head of the list of ste threads blocked in a wait_edge (core::blocked_next_).
// Guarded by the edge mutex.
core* g_blocked_head = nullptr;

// Hops a deadlock walk may take: far more than any real chain of threads.
constexpr int kWalkBudget = 4096;

char const* source_name(error_source source) noexcept {
  switch (source) {
    case error_source::posted_task: return "a posted task";
    case error_source::spawned_coroutine: return "a spawned coroutine";
    case error_source::postlude: return "the postlude";
  }
  return "a task";
}

void default_on_error(std::string const& name, std::exception_ptr const& e,
                      error_source source) noexcept {
  char const* const from = source_name(source);
  try {
    std::rethrow_exception(e);
  } catch (std::exception const& ex) {
    std::fprintf(stderr, "ste: uncaught exception from %s on ste thread \"%s\": %s: %s\n", from,
                 name.c_str(), typeid(ex).name(), ex.what());
  } catch (...) {
    std::fprintf(stderr, "ste: uncaught non-std exception from %s on ste thread \"%s\"\n", from,
                 name.c_str());
  }
  std::fprintf(stderr, "ste: install builder::on_error to handle exceptions from %s\n", from);
  std::terminate();
}

// The stopped_error join() makes a pending sleep or a schedule() throw: its own type, so
// that a spawned coroutine ending on exactly this one can be told apart from a
// stopped_error the program threw itself.
class stopped_by_join final : public stopped_error {
 public:
  using stopped_error::stopped_error;
};

// Handshake between build() and the new thread: lives in build()'s frame. The worker
// signals it once (last touch) after the prelude ran or threw.
struct startup {
  std::shared_ptr<core> self;
  std::exception_ptr prelude_error;
  completion started;
};

}  // namespace

core* current_core() noexcept { return tls_current_core; }

bool is_stop_from_join(std::exception_ptr const& e) noexcept {
  try {
    std::rethrow_exception(e);
  } catch (stopped_by_join const&) {
    return true;
  } catch (...) {
    return false;
  }
}

void report_posted_error(std::exception_ptr e) noexcept {
  if (core* const c = current_core()) c->report_error(std::move(e), error_source::posted_task);
}

std::string core::describe() const {
  std::ostringstream out;
  out << '"' << config_.name << "\" (" << tag() << ')';
  return out.str();
}

// ---------------------------------------------------------------------------------
// Lifecycle

core::core(thread_config config, std::uint64_t tag_id)
    : config_(std::move(config)), tag_id_(tag_id) {}

core::~core() = default;

std::shared_ptr<core> core::start(thread_config config) {
  auto c = std::make_shared<core>(std::move(config), next_tag_id());
  startup handshake{c, nullptr, {}};
  c->os_thread_ = std::make_unique<os_thread>(
      c->config_.stack_size,
      [](void* p) {
        auto* s = static_cast<startup*>(p);
        std::shared_ptr<core> self = s->self;  // the worker's own reference
        tls_current_core = self.get();
        os_thread::set_current_name(self->config_.name);
#if defined(__linux__)
        // Timers of this thread (sleep_until) should fire on time, not up to the default
        // 50 µs late: ste threads are often audio threads.
        prctl(PR_SET_TIMERSLACK, 1UL, 0UL, 0UL, 0UL);
#endif
        if (self->config_.prelude) {
          try {
            self->config_.prelude();
          } catch (...) {
            s->prelude_error = std::current_exception();
          }
        }
        bool const failed = s->prelude_error != nullptr;
        s->started.signal();  // last touch of the handshake
        if (failed) {
          // build() never returns a handle. Work the prelude itself posted was accepted,
          // though: run it before leaving. The postlude pairs with a successful prelude
          // only, so it does not run.
          self->stop_accepting();
        }
        self->run(/*run_postlude=*/!failed);
        tls_current_core = nullptr;
      },
      &handshake);
  handshake.started.wait();
  if (handshake.prelude_error) {
    c->os_thread_->join();
    c->os_thread_.reset();
    std::rethrow_exception(handshake.prelude_error);
  }
  return c;
}

void core::stop_accepting() noexcept {
  std::unique_lock lock(queue_mutex_);
  if (phase_ == phase::running) phase_ = phase::draining;
  // A spinning worker watches has_work_ only: raise it so that it looks now, instead of
  // finishing its spin budget first (that made spawn+join cost an extra 50 µs).
  has_work_.store(true, std::memory_order_relaxed);
  wake_worker_locked(lock);
}

void core::join() {
  if (is_current())
    throw std::system_error(std::make_error_code(std::errc::resource_deadlock_would_occur),
                            "ste::thread::join called on the thread itself; join it from "
                            "another thread, or let the handle go (the thread then exits "
                            "after draining)");
  std::lock_guard guard(join_mutex_);
  if (!os_thread_) return;  // already joined (or detached)
  wait_edge edge(*this, /*for_close=*/true);  // throws deadlock_error before anything changed
  stop_accepting();
  os_thread_->join();
  os_thread_.reset();
}

void core::release_handle() noexcept {
  if (!is_current()) {
    try {
      join();
      return;
    } catch (...) {
      // Joining would deadlock: fall through and let the thread finish on its own.
    }
  }
  std::lock_guard guard(join_mutex_);
  if (!os_thread_) return;
  stop_accepting();
  os_thread_->detach();
  os_thread_.reset();
}

void core::report_error(std::exception_ptr e, error_source source) noexcept {
  if (config_.on_error) {
    try {
      config_.on_error(std::move(e));
      return;
    } catch (...) {
      std::fputs("ste: on_error threw; terminating\n", stderr);
      std::terminate();
    }
  }
  default_on_error(config_.name, e, source);
}

// ---------------------------------------------------------------------------------
// The queue

void core::wake_worker_locked(std::unique_lock<spin_lock>& lock) noexcept {
  if (!worker_sleeping_) return;
  worker_sleeping_ = false;
  // relaxed: the worker compares the word in the kernel (futex) or after the lock;
  // the mutex orders everything else.
  wake_word_.fetch_add(1, std::memory_order_relaxed);
  lock.unlock();
  // After the unlock the worker may drain and close, and the core may be freed before
  // this call (a return linked from another thread): the address is a key only.
  wake_one(&wake_word_);
}

void core::link_locked(task_node& n) noexcept {
  n.next = nullptr;
  n.prev = tail_;
  n.queued = true;
  if (tail_ != nullptr)
    tail_->next = &n;
  else
    head_ = &n;
  tail_ = &n;
  ++queued_count_;
  has_work_.store(true, std::memory_order_relaxed);
}

std::size_t core::accept(task_node& n) { return link_if_open(n, arrival::task); }

void core::accept_coroutine(task_node& n) { link_if_open(n, arrival::coroutine); }

std::size_t core::link_if_open(task_node& n, arrival what) {
  std::unique_lock lock(queue_mutex_);
  bool const open =
      phase_ == phase::running || (phase_ == phase::draining && is_current());
  if (!open) {
    // Compose the message before unlocking: once a refused caller has unlocked, it must
    // not touch the core again (the last handle may be destroying it right now).
    std::string message = "ste: the thread \"" + config_.name +
                          "\" no longer accepts work (it was joined or is being joined); " +
                          (what == arrival::task ? "the task did not run"
                                                 : "the coroutine cannot move to it");
    lock.unlock();
    if (what == arrival::coroutine) throw stopped_by_join(message);
    throw stopped_error(message);
  }
  std::size_t const ahead = queued_count_;
  submitter_cpu_.store(current_cpu(), std::memory_order_relaxed);
  link_locked(n);
  wake_worker_locked(lock);
  return ahead;
}

void core::begin_return(pending_return* r) {
  bool check = false;
  {
    std::lock_guard lock(queue_mutex_);
    bool const open =
        phase_ == phase::running || (phase_ == phase::draining && is_current());
    if (!open)
      throw stopped_error("ste: the thread \"" + config_.name +
                          "\" no longer accepts work; the coroutine cannot come back to it");
    ++pending_returns_;
    if (r != nullptr) {
      r->prev = nullptr;
      r->next = returns_head_;
      if (returns_head_ != nullptr) returns_head_->prev = r;
      returns_head_ = r;
      // Read with the link in one critical section: a joiner's wait_edge counts itself
      // here before its walk reads our records, so either it sees r or we see it.
      check = close_waiters_ != 0;
    }
  }
  if (!check) return;
  bool stuck = false;
  {
    std::lock_guard edges(edge_mutex());
    stuck = awaits_close_of(r->target, this);
  }
  if (stuck) {
    cancel_return(r);
    throw deadlock_error(
        "ste: deadlock avoided: a coroutine on thread " + describe() +
        " awaited submit_async on thread " + r->target->describe() +
        ", which is blocked joining " + describe() +
        " (directly or through other ste threads) and could never run it; finish or "
        "cancel such coroutines before joining their thread from a ste thread");
  }
}

bool core::try_begin_return() noexcept {
  std::lock_guard lock(queue_mutex_);
  bool const open =
      phase_ == phase::running || (phase_ == phase::draining && is_current());
  if (open) ++pending_returns_;
  return open;
}

namespace {
void unlink_return(pending_return*& head, pending_return* r) noexcept {
  (r->prev != nullptr ? r->prev->next : head) = r->next;
  if (r->next != nullptr) r->next->prev = r->prev;
  r->next = r->prev = nullptr;
}
}  // namespace

void core::cancel_return(pending_return* r) noexcept {
  std::unique_lock lock(queue_mutex_);
  --pending_returns_;
  if (r != nullptr) unlink_return(returns_head_, r);
  // The worker may be idle only because of this return (draining): make a spinning
  // worker look again (it re-reads has_work_ under the lock before it sleeps), and wake
  // a sleeping one. (Found by the Spin model, checks cancel-return-off-thread*: a
  // worker between its spin and its sleep missed the change.)
  has_work_.store(true, std::memory_order_relaxed);
  wake_worker_locked(lock);
}

void core::accept_return(task_node& n, bool announced, pending_return* r) noexcept {
  std::unique_lock lock(queue_mutex_);
  // Never refused: an announced return keeps the thread from closing until it is
  // linked; an unannounced one (block_on's completion) comes back to a thread that is
  // blocked inside block_on, so it cannot have closed either.
  if (announced) --pending_returns_;
  if (r != nullptr) unlink_return(returns_head_, r);
  link_locked(n);
  wake_worker_locked(lock);
}

bool core::withdraw(task_node& n) noexcept {
  std::lock_guard lock(queue_mutex_);
  // The one decision: the worker unlinks under this same lock before it starts a task.
  // Still linked means not started, and unlinking it here means it never will be.
  if (!n.queued) return false;
  (n.prev != nullptr ? n.prev->next : head_) = n.next;
  (n.next != nullptr ? n.next->prev : tail_) = n.prev;
  n.queued = false;
  --queued_count_;
  has_work_.store(head_ != nullptr, std::memory_order_relaxed);
  return true;
}

namespace {
// Min-heap order for std::*_heap (which builds max-heaps): "a after b".
bool timer_after(timer_node const* a, timer_node const* b) noexcept {
  if (a->deadline != b->deadline) return a->deadline > b->deadline;
  return a->sequence > b->sequence;
}
}  // namespace

void core::add_timer(timer_node& t) {
  t.sequence = timer_sequence_++;
  t.stopped = false;
  timers_.push_back(&t);  // may throw bad_alloc: rethrown in the coroutine, not added
  std::push_heap(timers_.begin(), timers_.end(), &timer_after);
}

timer_node* core::pop_timer() noexcept {
  std::pop_heap(timers_.begin(), timers_.end(), &timer_after);
  timer_node* t = timers_.back();
  timers_.pop_back();
  return t;
}

void core::check_can_sleep() const {
  if (draining_seen_)
    throw stopped_by_join("ste: sleep on thread \"" + config_.name +
                        "\" refused: the thread is being joined; finish up instead of sleeping");
}

task_node* core::next_task(bool const* until) noexcept {
  std::unique_lock lock(queue_mutex_);
  for (;;) {
    if (until != nullptr && *until) return nullptr;
    if (phase_ != phase::running) draining_seen_ = true;
    // Due timers first; once join() started, every sleep ends now, with stopped_error.
    if (!timers_.empty() &&
        (draining_seen_ || timers_.front()->deadline <= std::chrono::steady_clock::now())) {
      timer_node* t = pop_timer();
      t->stopped = draining_seen_;
      return t;
    }
    if (task_node* n = head_) {
      head_ = n->next;
      (head_ != nullptr ? head_->prev : tail_) = nullptr;
      n->queued = false;  // "started": from here on a withdrawal fails
      --queued_count_;
      has_work_.store(head_ != nullptr, std::memory_order_relaxed);
      return n;
    }
    if (draining_seen_ && until == nullptr && pending_returns_ == 0) {
      // Drained. Values still bound to this thread go next (their destructors may
      // still post from here); once that leaves nothing to do, close for good — under
      // the lock every accept takes, so nothing slips in between.
      lock.unlock();
      destroy_bound_values();
      lock.lock();
      if (head_ != nullptr || !timers_.empty() || pending_returns_ != 0) continue;
      phase_ = phase::closed;
      return nullptr;
    }
    // Idle: spin briefly without the lock, then sleep on wake_word_ (with a timeout
    // while timers are pending). Everything has_work_ announced was looked at above.
    has_work_.store(false, std::memory_order_relaxed);
    lock.unlock();
    worker_cpu_.store(current_cpu(), std::memory_order_relaxed);
    bool const more = spin_until([this] { return has_work_.load(std::memory_order_relaxed); },
                                 submitter_cpu_.load(std::memory_order_relaxed));
    lock.lock();
    // has_work_ is re-read under the lock (its writers hold it): the spin's last read
    // may predate a change such as cancel_return's, which links nothing (found by the
    // Spin model, verify/README.md "W1").
    if (more || has_work_.load(std::memory_order_relaxed) || head_ != nullptr ||
        (phase_ != phase::running && !draining_seen_))
      continue;
    if (!timers_.empty() && timers_.front()->deadline <= std::chrono::steady_clock::now())
      continue;
    worker_sleeping_ = true;
    std::uint32_t const seen = wake_word_.load(std::memory_order_relaxed);
    lock.unlock();
    // Any accept after the unlock bumps wake_word_ (it saw worker_sleeping_), so the
    // futex compare fails or the wake reaches us: no lost wake-up.
    if (timers_.empty()) {
      wait_on(wake_word_, seen);
    } else {
      auto const left = timers_.front()->deadline - std::chrono::steady_clock::now();
      constexpr std::chrono::hours kSlice{1};
      wait_on_for(wake_word_, seen,
                  left > kSlice ? std::chrono::nanoseconds(kSlice)
                                : std::chrono::ceil<std::chrono::nanoseconds>(left));
    }
    lock.lock();
    worker_sleeping_ = false;
  }
}

void core::run_one(task_node* n) noexcept {
  try {
    n->invoke(n);  // may free n (posted tasks) or signal its submitter: do not touch
  } catch (...) {
    // Only fire-and-forget records throw (blocking ones hand their exception back).
    report_error(std::current_exception(), error_source::posted_task);
  }
}

void core::run_nested(bool const& finished) noexcept {
  while (task_node* n = next_task(&finished)) run_one(n);
}

void core::run(bool run_postlude) noexcept {
  while (task_node* n = next_task(nullptr)) run_one(n);
  if (run_postlude && config_.postlude) {
    try {
      config_.postlude();
    } catch (...) {
      report_error(std::current_exception(), error_source::postlude);
    }
  }
}

// ---------------------------------------------------------------------------------
// bound<T> values

void core::ensure_can_bind() {
  bool closed = false;
  {
    std::lock_guard lock(queue_mutex_);
    closed = phase_ == phase::closed;
  }
  if (closed)
    throw stopped_error("ste: make_bound on thread \"" + config_.name +
                        "\" after its postlude started; nothing can be bound any more (the "
                        "value was not constructed)");
}

void core::register_bound(bound_entry& e) noexcept {
  e.prev = nullptr;
  e.next = bound_head_;
  if (bound_head_ != nullptr) bound_head_->prev = &e;
  bound_head_ = &e;
}

void core::unregister_bound(bound_entry& e) noexcept {
  (e.prev != nullptr ? e.prev->next : bound_head_) = e.next;
  if (e.next != nullptr) e.next->prev = e.prev;
  e.next = e.prev = nullptr;
}

void core::destroy_bound_values() noexcept {
  while (bound_entry* e = bound_head_) {
    unregister_bound(*e);
    e->destroy_value();
    e->release();  // the registry's reference
  }
}

bool destroy_bound_value(core& c, bound_entry& entry) {
  auto destroy_here = [&c, &entry] {
    if (!entry.alive.load(std::memory_order_relaxed)) return;  // join() got there first
    c.unregister_bound(entry);
    entry.destroy_value();
    entry.release();  // the registry's reference; the handle still holds its own
  };
  if (c.is_current()) {
    destroy_here();
    return true;
  }
  submit_record<decltype(destroy_here)&> record(destroy_here);
  try {
    c.submit_and_wait(record);
  } catch (stopped_error const&) {
    return false;  // join() has started: it destroys the value before the postlude
  }
  record.result.take();
  return true;
}

void throw_sleep_off_thread() {
  throw wrong_thread(
      "ste::sleep_for/sleep_until awaited off every ste thread: they use the timers of the "
      "ste thread the coroutine runs on; co_await thread.schedule() first");
}

void throw_sleep_stopped() {
  throw stopped_by_join(
      "ste: sleep ended early: the thread is being joined; the coroutine should finish");
}

void throw_empty_task(char const* operation) {
  throw std::invalid_argument(std::string("ste: ") + operation +
                              ": the ste::task is empty (default-constructed or moved-from); "
                              "nothing was started; pass a task made by calling a coroutine");
}

void throw_nan_duration() {
  throw std::invalid_argument(
      "ste: the duration is NaN, which names no point in time; pass a finite duration");
}

// ---------------------------------------------------------------------------------
// Blocking hand-off and deadlock detection

void core::submit_and_wait(blocking_node& n) {
  wait_edge edge(*this);
  std::size_t const ahead = accept(n);
  n.done.wait(ahead, worker_cpu());
}

core::wait_edge::wait_edge(core& target, bool for_close) : self_(current_core()) {
  if (self_ == nullptr) return;  // plain threads cannot be part of a cycle
  std::lock_guard lock(edge_mutex());
  if (for_close) {
    // Counted before the walk reads the target's returns (see begin_return).
    std::lock_guard queue(target.queue_mutex_);
    ++target.close_waiters_;
    close_target_ = &target;
  }
  int budget = kWalkBudget;
  if (leads_to(&target, for_close, self_, budget)) {
    if (close_target_ != nullptr) {
      std::lock_guard queue(target.queue_mutex_);
      --target.close_waiters_;
    }
    throw deadlock_error(
        "ste: deadlock avoided: thread " + self_->describe() + " would block " +
        (for_close ? "joining" : "waiting on") + " thread " + target.describe() +
        ", which is itself (directly, through other ste threads, or through a "
        "coroutine that awaits submit_async) waiting on " + self_->describe() +
        "; use post() or a coroutine instead of a blocking call in one direction");
  }
  self_->waiting_on_ = &target;
  self_->waiting_for_close_ = for_close;
  self_->blocked_prev_ = nullptr;
  self_->blocked_next_ = g_blocked_head;
  if (g_blocked_head != nullptr) g_blocked_head->blocked_prev_ = self_;
  g_blocked_head = self_;
}

core::wait_edge::~wait_edge() {
  if (self_ == nullptr) return;
  std::lock_guard lock(edge_mutex());
  self_->waiting_on_ = nullptr;
  self_->waiting_for_close_ = false;
  (self_->blocked_prev_ != nullptr ? self_->blocked_prev_->blocked_next_ : g_blocked_head) =
      self_->blocked_next_;
  if (self_->blocked_next_ != nullptr) self_->blocked_next_->blocked_prev_ = self_->blocked_prev_;
  self_->blocked_next_ = self_->blocked_prev_ = nullptr;
  if (close_target_ != nullptr) {
    std::lock_guard queue(close_target_->queue_mutex_);
    --close_target_->close_waiters_;
  }
}

// Walks the waits from `c`. Every edge points to a live core (the edge mutex is held; a
// waiter clears its edge before it returns). Reaching `self` closes a cycle.
//
// A thread waited on for its close (join) also waits for its announced returns. A
// return whose coroutine has not started yet needs its target to start it: if that is
// `self`, a cycle; if the target is itself blocked, the walk continues from what it
// waits on. (A target is dereferenced only when it is in the blocked list, which
// proves it alive.) Returns whose coroutine already started are not followed: where
// such a coroutine is now is not tracked, so that could only guess. `budget` bounds the
// hops, so a stale cycle between other threads cannot trap us.
bool core::leads_to(core* c, bool for_close, core const* self, int& budget) noexcept {
  for (; c != nullptr && budget > 0; --budget) {
    if (c == self) return true;
    if (for_close) {
      core* targets[8];
      std::size_t n = 0;
      if (c->unstarted_return_targets(self, targets, 8, n)) return true;
      for (std::size_t i = 0; i < n; ++i) {
        core* const t = targets[i];
        if (is_blocked(t) && leads_to(t->waiting_on_, t->waiting_for_close_, self, budget))
          return true;
      }
    }
    for_close = c->waiting_for_close_;
    c = c->waiting_on_;
  }
  return false;
}

void core::check_chain_can_move(core& target, core const* blocked) {
  if (blocked == nullptr) return;
  bool stuck = false;
  {
    // `target` is alive (the mover holds it); every edge followed points to a live core.
    std::lock_guard lock(edge_mutex());
    core const* c = &target;
    for (int hops = 0; c != nullptr && hops < kWalkBudget && !stuck; ++hops) {
      stuck = c == blocked;
      c = c->waiting_on_;
    }
  }
  if (!stuck) return;
  throw deadlock_error(
      "ste: deadlock avoided: a coroutine run by block_on from thread " + blocked->describe() +
      " tried to move to thread " + target.describe() + ", which " +
      (&target == blocked ? "is" : "waits (through other ste threads) on the thread") +
      " blocked in that block_on until the coroutine completes, and so could never run it; "
      "post() the work there instead, or do not block_on from that thread");
}

bool core::is_blocked(core const* c) noexcept {
  for (core const* b = g_blocked_head; b != nullptr; b = b->blocked_next_)
    if (b == c) return true;
  return false;
}

// Is the ste thread `c` blocked, directly or through a chain of waits, until `origin`
// closes? A wait on `origin` for a task ends when its queue gets there, which does not
// depend on origin's returns: only a join counts.
bool core::awaits_close_of(core const* c, core const* origin) noexcept {
  for (int hops = 0; c != nullptr && hops < kWalkBudget; ++hops) {
    if (c->waiting_on_ == origin) return c->waiting_for_close_;
    c = c->waiting_on_;
  }
  return false;
}

bool core::unstarted_return_targets(core const* self, core** out, std::size_t max,
                                    std::size_t& n) noexcept {
  std::lock_guard lock(queue_mutex_);
  for (pending_return const* r = returns_head_; r != nullptr; r = r->next) {
    // acquire: pairs with the release store of the target's worker. A target that
    // blocked after starting the coroutine took the edge mutex after that store, and we
    // hold it, so a blocked target's `started` is never read stale.
    if (r->started.load(std::memory_order_acquire)) continue;
    if (r->target == self) return true;
    bool seen = false;
    for (std::size_t i = 0; i < n; ++i) seen = seen || out[i] == r->target;
    if (!seen && n < max) out[n++] = r->target;
  }
  return false;
}

}  // namespace ste::detail
