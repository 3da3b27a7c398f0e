// SPDX-License-Identifier: MIT
// The worker loop: take the next task, run it, and — when there is none — spin briefly,
// then sleep until woken; drain and close once join() started. Each step holds the
// desk only for its few pointer writes (docs/design.md §2–§4, §9).
#include <chrono>
#include <cstdint>
#include <exception>

#include "ste/detail/core.hpp"
#include "ste/detail/forced_unwind.hpp"
#include "ste/detail/throw.hpp"

namespace ste::detail {

void core::run(postlude_policy postlude) {
  STE_ASSERT(is_current());
  postlude_ = postlude;
  while (task_node* n = next_task()) {
    run_one(n);
    // A task called fork() and this is the child, back in the copy of the loop: the
    // thread does not exist here; it ends now, running and destroying nothing more.
    if (inherited_) return;
  }
  destroy_notifiers();  // closed: no run starts any more
  if (postlude == postlude_policy::run) run_postlude();
}

void core::run_nested(bool const& completed) {
  STE_ASSERT(is_current());
  while (task_node* n = next_nested_task(completed)) {
    run_one(n);
    if (inherited_) return;  // the child of a fork from a task (see run)
  }
}

// The next task or due timer; nullptr once drained and closed for good.
task_node* core::next_task() noexcept {
  mailbox_.desk().lock();
  for (;;) {
    if (task_node* n = take_work_locked()) {
      mailbox_.desk().unlock();
      return n;
    }
    if (draining_seen_ && mailbox_.nothing_pending_locked()) {
      if (close_if_drained_locked()) break;
      continue;
    }
    wait_for_work_locked();
  }
  mailbox_.desk().unlock();
  return nullptr;
}

// As next_task, but nullptr as soon as `completed` is true; never closes the thread.
task_node* core::next_nested_task(bool const& completed) noexcept {
  mailbox_.desk().lock();
  task_node* n = nullptr;
  while (!completed && (n = take_work_locked()) == nullptr) wait_for_work_locked();
  mailbox_.desk().unlock();
  return n;
}

// Due timers first; once join() started, every sleep ends now, with stopped_error.
// Then the FIFO (drained from the inbox when empty); then, if a notifier asked for it,
// the sweep — after the drain, which acquires the request (its N is in the drained word).
//
// The phase is read only when it can matter: for the timers (due or stopped), and when
// the FIFO is empty (the drain, the sweep and the close come next). With drained tasks
// waiting and no timer, the next of them is taken whatever the phase — skipping the read
// is the same as having read it just before join()'s change — and the read would be a
// load of the producers' line, which each of their pushes takes away: a miss per task.
task_node* core::take_work_locked() noexcept {
  if (!draining_seen_ && (!timers_.empty() || mailbox_.ready_count_locked() == 0) &&
      !mailbox_.accepting_from_everyone())
    draining_seen_ = true;
  task_node* n = draining_seen_ ? timers_.take_stopped() : timers_.take_due();
  if (n == nullptr) n = mailbox_.pop_locked();
  if (n == nullptr && mailbox_.take_sweep_request_locked()) {
    sweep_notifiers_locked();
    n = mailbox_.pop_locked();
  }
  if (n != nullptr) queued_at_take_ = mailbox_.ready_count_locked() + 1;
  return n;
}

// Links the sweep node of every notifier whose pending run's node is not known to be
// linked (its pusher may have stopped for ever): the run comes out of FIFO order, but
// no notify waits for another thread.
void core::sweep_notifiers_locked() noexcept {
  // A plain loop, not for_each: clang's thread-safety analysis does not carry the held
  // desk into a lambda.
  for (notifier_block* b = notifiers_.front(); b != nullptr; b = b->registry_hook.next)
    if (b->wants_sweep() && !task_queue::is_linked(b->sweep_node()))
      mailbox_.append_locked(b->sweep_node());
}

// After the close: destroys the callable of every notifier still registered (the
// handles may outlive the thread; their reset() then waits for this, or frees).
void core::destroy_notifiers() noexcept {
  for (;;) {
    mailbox_.desk().lock();
    notifier_block* const b = notifiers_.pop_front();
    mailbox_.desk().unlock();
    if (b == nullptr) return;
    b->destroy_by_join();
  }
}

// Drained: values still bound to this thread go next (their destructors may still post
// from here); once that leaves nothing to do, close for good — with a CAS on the inbox
// word, so that a push racing the close either lands before it (and is taken first) or
// sees the thread closed.
bool core::close_if_drained_locked() noexcept {
  mailbox_.desk().unlock();
  bound_.destroy_all();
  mailbox_.desk().lock();
  if (!mailbox_.nothing_pending_locked() || !timers_.empty()) return false;
  return mailbox_.try_close_locked();
}

// Idle: spin briefly without the desk on the inbox word, then sleep. `seen` is the word
// with nothing queued (take_work_locked just drained it); any push, or join(), changes it.
void core::wait_for_work_locked() noexcept {
  std::uintptr_t const seen = mailbox_.word();
  if (mailbox_.has_news_locked(seen)) return;  // a push or a sweep request came meanwhile
  mailbox_.desk().unlock();
  // The idle spell is timed from the spin's yield phase on: the pause phase before it
  // lasts a few µs at most, which the budget's decisions do not notice, and a spell the
  // pause phase ends reads no clock at all (on the way to the task, it would be late).
  std::chrono::steady_clock::time_point idle_since;
  spin_end const spun = mailbox_.spin_for_work(seen, idle_spin_, idle_since);
  mailbox_.desk().lock();
  if (spun == spin_end::quickly) {
    // Found by the pause phase, far within the budget: spin fully next time.
    idle_spin_ = wait_policy::spin_budget;
    return;
  }
  if (spun == spin_end::after_yields) {
    // Paid off only if it found work within the budget: a spin that was preempted
    // (its yields lost the CPU to other load for a time slice) found it late, and
    // spinning again would only lose the scheduler's wake-up preference again.
    adapt_idle_spin(std::chrono::steady_clock::now() - idle_since);
    return;
  }
  bool const join_unseen = !draining_seen_ && !mailbox_.accepting_from_everyone();
  if (join_unseen || mailbox_.has_news_locked(seen) || timers_.has_due()) return;
  sleep_until_woken_locked(seen);
  adapt_idle_spin(std::chrono::steady_clock::now() - idle_since);
}

// After an idle spell (spun, or slept): a full spin would have covered one this short,
// so spin fully next time; after a longer one, spin less (wait_policy.hpp has the
// numbers).
void core::adapt_idle_spin(std::chrono::nanoseconds idle) noexcept {
  if (idle <= wait_policy::spin_budget) {
    idle_spin_ = wait_policy::spin_budget;
    return;
  }
  idle_spin_ /= wait_policy::idle_spin_decay;
  if (idle_spin_ < wait_policy::idle_spin_floor) idle_spin_ = std::chrono::nanoseconds::zero();
}

// Sleeps on the inbox word (until the next timer's deadline, if any). The sleep is
// announced by a CAS from the very value the spin watched, so nothing that arrived
// since can be slept through: a push before the futex call changes the compared word,
// a push after it sees S and wakes us.
void core::sleep_until_woken_locked(std::uintptr_t seen) noexcept {
  if (!mailbox_.prepare_sleep_locked(seen)) return;  // something changed: look again
  mailbox_.desk().unlock();
  if (timers_.empty())
    mailbox_.sleep(seen);
  else
    mailbox_.sleep_until(seen, timers_.next_deadline());
  mailbox_.desk().lock();
  mailbox_.end_sleep_locked();
}

void core::run_one(task_node* n) {
  if (n->accounting == task_accounting::by_node) {  // counts its own run, if any
    try {
      n->invoke(n);
    } catch (...) {
      std::exception_ptr e = std::current_exception();
      if (is_thread_end(e)) {
        finish_after_exit();
        throw;
      }
      report_error(std::move(e), error_source::posted_task, {});
    }
    return;
  }
  // The site is copied first (invoke may free n), except a blocking record's (see
  // task_node::quiet_invoke), which is read only on a timed thread (copied then).
  task_scope scope(*this, n->where, n->accounting == task_accounting::by_worker,
                   n->quiet_invoke && !stats_.timed());
  try {
    n->invoke(n);  // may free n (posted tasks) or signal its submitter: do not touch
  } catch (...) {
    std::exception_ptr e = std::current_exception();
    if (is_thread_end(e)) {
      // The task ended the OS thread (its record has been settled). Its scope ends
      // first, so that the drain below counts and times tasks of its own.
      scope.close();
      finish_after_exit();
      throw;  // the thread ends (core::thread_main)
    }
    // Only fire-and-forget records throw (blocking ones hand their exception back).
    report_error(std::move(e), error_source::posted_task, scope.where());
  }
}

// --- Task accounting -------------------------------------------------------------------

core::task_scope::task_scope(core& c, ste::site const& where, bool count_accepted,
                             bool borrow_site) noexcept
    : core_(c),
      kept_(borrow_site ? ste::site{} : where),
      where_(borrow_site ? &where : &kept_),
      outer_(c.open_task_),
      outermost_(c.open_task_ == nullptr) {
  STE_ASSERT(c.is_current());
  if (count_accepted) c.mailbox_.count_accepted_by_worker();
  // For peak_queued: what waited in the FIFO when this task was taken, this one
  // included (the worker's own count; the inbox is drained into the FIFO whole).
  // The stats get the copy: borrowing happens only on untimed threads, whose stats never
  // read the site, so the borrowed one is never reached through them (the record may be
  // gone when the scope ends).
  started_ = c.stats_.begin(kept_, outermost_, c.queued_at_take_);
  c.open_task_ = this;
}

void core::task_scope::end(bool ran) noexcept {
  if (!open_) return;
  open_ = false;
  core_.stats_.end(kept_, outermost_, started_, ran);
}

void core::task_scope::close() noexcept {
  end(true);
  core_.open_task_ = outer_;
}

void note_task_end() noexcept {
  if (core* const c = current_core())
    if (core::task_scope* const t = c->open_task()) t->end(true);
}

void note_task_withdrawn() noexcept {
  if (core* const c = current_core()) {
    if (core::task_scope* const t = c->open_task()) t->end(false);
    c->uncount_accepted();
  }
}

ste::thread_stats core::stats() const noexcept {
  // The child of a fork: the worker may have stopped inside a write of the sequence lock.
  if (inherited_) return {};
  // completed first (acquire), then accepted: every task seen completed is seen accepted.
  task_stats::snapshot const s = stats_.read();
  // stats() is logically const: the drain inside accepted() only moves pushed nodes to
  // the FIFO, which no caller can tell apart.
  std::uint64_t const accepted = const_cast<mailbox&>(mailbox_).accepted();
  ste::thread_stats out;
  out.completed = s.completed;
  out.accepted = accepted > s.completed ? accepted : s.completed;
  std::uint64_t const busy = s.completed + s.running;
  out.queued = out.accepted > busy ? out.accepted - busy : 0;
  out.peak_queued = s.peak_queued > out.queued ? s.peak_queued : out.queued;
  stats_.raise_peak(out.queued);  // what we report stays the least any later read reports
  out.busy = s.busy;
  out.longest = s.longest;
  out.longest_site = s.longest_site;
  return out;
}

// A task ended the OS thread (pthread_exit, cancellation: forced_unwind.hpp). We are
// still on the worker's stack, inside run_one's handler: do what join() would — stop
// accepting (the same phase change, so every hand-off accepted before it runs and every
// one after it is refused, with a message saying why), run what was accepted, close,
// destroy the values and notifiers, run the postlude — and let the unwind go on. Once:
// the same unwind passes the handlers of the outer tasks of a nested loop, which come
// here too. A second end of the thread, by a task this drain runs or the postlude, is
// not supported: it starts inside this handler and glibc terminates the process
// (docs/design.md §16; verify/README.md §1e, X1). verify/spin/ste.pml
// (-DEXIT=1) checks it.
void core::finish_after_exit() {
  STE_ASSERT(is_current());
  if (exiting_) return;
  exiting_ = true;
  mailbox_.end_by(stop_cause::exit);  // before the phase change: refusals say why
  mailbox_.stop_accepting();
  run(postlude_);
}

std::exception_ptr task_ended_thread_error() noexcept {
  core* const c = current_core();
  return task_ended_thread(c != nullptr ? c->name() : std::string());
}

void core::run_postlude() {
  if (!config_.postlude) return;
  try {
    config_.postlude();
  } catch (...) {
    std::exception_ptr e = std::current_exception();
    if (is_thread_end(e)) throw;  // the postlude ended the OS thread: all else is done
    report_error(std::move(e), error_source::postlude, {});
  }
}

void report_posted_error(std::exception_ptr e) noexcept {
  if (core* const c = current_core()) {
    core::task_scope const* const t = c->open_task();
    c->report_error(std::move(e), error_source::posted_task, t ? t->where() : ste::site{});
  }
}

void core::report_error(std::exception_ptr e, error_source source,
                        ste::site const& where) noexcept {
  if (!config_.on_error) default_on_error(config_.name, e, source, where);
  try {
    config_.on_error(std::move(e), ste::task_info{where, tag(), config_.name});
  } catch (...) {
    on_error_threw();
  }
}

}  // namespace ste::detail
