// SPDX-License-Identifier: MIT
// Delayed and periodic tasks (post_after / post_at / post_every) and ste::timer::cancel.
// include/ste/detail/timer_block.hpp has the block and its state word; docs/design.md §13
// the protocol and its argument; verify/spin/timer.pml checks it (seeded bugs included).
//
// The one decision: a run starts only by the worker's CAS armed → running, and cancel()
// sets C by a CAS too; both are read-modify-writes of one word, so exactly one of them
// comes first. Every RMW here is seq_cst (acq_rel would do for the decisions; seq_cst
// keeps the argument one total order, like the inbox's).
#include "ste/timer.hpp"

#include <exception>
#include <optional>

#include "ste/detail/core.hpp"
#include "ste/detail/deadlock.hpp"
#include "ste/detail/forced_unwind.hpp"
#include "ste/detail/wait.hpp"
#include "ste/errors.hpp"

namespace ste {

bool timer::cancel() const {
  if (block_ == nullptr) return false;  // empty: there is nothing to prevent
  return block_->cancel();
}

void timer::let_go() noexcept {
  if (block_ != nullptr) detail::timer_block::release(std::exchange(block_, nullptr));
}

}  // namespace ste

namespace ste::detail {

namespace {

constexpr auto kSeqCst = std::memory_order_seq_cst;
constexpr auto kRelaxed = std::memory_order_relaxed;

using clock = std::chrono::steady_clock;

// `t + d`, saturating at time_point::max().
clock::time_point saturating_add(clock::time_point t, clock::duration d) noexcept {
  if (clock::time_point::max() - t < d) return clock::time_point::max();
  return t + d;
}

}  // namespace

timer_block::timer_block(std::shared_ptr<core> owner, clock::time_point first,
                         clock::duration period, call_fn call, destroy_fn destroy,
                         ste::site const& where) noexcept
    : core_(std::move(owner)), call_(call), destroy_(destroy), period_(period) {
  message_.where = where;
  entry_.where = where;
  message_.invoke = &on_message;
  message_.block = this;
  message_.accounting = task_accounting::by_node;  // a message, not a task
  entry_.invoke = &on_expire;
  entry_.block = this;
  entry_.accounting = task_accounting::by_node;  // run_and_rearm counts a real run
  entry_.deadline = first;
}

void timer_block::discard(timer_block* b) noexcept {
  // Never accepted: the callable never reached the thread; destroyed here.
  try {
    b->destroy_(b, true);
  } catch (...) {
  }
}

void timer_block::release(timer_block* b) noexcept { b->release_ref(); }

void timer_block::release_ref() noexcept {
  // acq_rel: the last one to let go sees everything the others did to the block. The
  // callable is gone by then (the thread's ref goes last on the thread side).
  if (refs_.fetch_sub(1, std::memory_order_acq_rel) == 1) destroy_(this, true);
}

// --- Scheduling ------------------------------------------------------------------------

void core::schedule_timer(timer_block& b, char const* operation) {
  try {
    if (is_current()) {
      // Refused once join() started, even here: join() does not wait for deadlines.
      if (!mailbox_.accepting_from_everyone()) throw_refused_timer(config_.name, operation, mailbox_.cause());
      b.arm_on_thread();
      return;
    }
    // Refused by the push itself once join() started (exact: the phase is in the word).
    if (!mailbox_.try_link(b.message(), mailbox::caller::other_thread))
      throw_refused_timer(config_.name, operation, mailbox_.cause());
  } catch (...) {
    timer_block::discard(&b);
    throw;
  }
}

void timer_block::arm_on_thread() noexcept {
  // Nobody else knows the block yet: plain stores.
  state_.store(kArmed, kRelaxed);
  armed_ = true;
  in_heap_ = true;
  core_->add_timer(entry_);
}

// --- The worker ------------------------------------------------------------------------

// The message: first the arm, then — only if a cancel found the timer armed — its cleanup.
void timer_block::on_message(task_node* n) {
  timer_block* const b = static_cast<message_node*>(n)->block;
  if (!b->armed_) {
    b->arm();
    return;
  }
  // The cleanup: the timer is cancelled (C was set while it was armed, so it never
  // runs again). Finish it now unless its expiry already did; then drop the message's ref.
  if (!b->finished_) {
    if (b->in_heap_) {
      b->core_->remove_timer(b->entry_);
      b->in_heap_ = false;
    }
    b->finish();
  }
  b->release_ref();  // may free the block: the last touch
}

void timer_block::arm() noexcept {
  armed_ = true;
  std::uint32_t s = state_.load(kRelaxed);
  do {
    if ((s & kCancelled) != 0) {  // cancelled on its way here: never armed
      finish();
      return;
    }
  } while (!state_.compare_exchange_weak(s, (s & ~kPhase) | kArmed, kSeqCst, kRelaxed));
  // From here a cancel may push the cleanup; the worker (this thread) takes it only
  // after this returns, when the entry is in the heap.
  in_heap_ = true;
  core_->add_timer(entry_);
}

void timer_block::on_expire(task_node* n) {
  auto* const e = static_cast<heap_node*>(n);
  e->block->in_heap_ = false;
  e->block->expire(e->stopped);
}

// Due (or, once join() started, taken as stopped): run unless cancelled — or, during
// join(), unless it is periodic or its deadline came after join() began.
void timer_block::expire(bool stopped) {
  core& c = *core_;
  bool const joining = stopped || !c.accepting_from_everyone();
  bool const may_run = !joining || (!periodic() && entry_.deadline <= c.join_started_at());
  std::uint32_t s = state_.load(kRelaxed);
  do {
    if ((s & kCancelled) != 0 || !may_run) {
      finish();
      return;
    }
    STE_ASSERT((s & kPhase) == kArmed);
    // The decision: the CAS fails if cancel() set C first (then the loop finishes).
  } while (!state_.compare_exchange_weak(s, (s & ~kPhase) | kRunning, kSeqCst, kRelaxed));
  run_and_rearm();
}

void timer_block::run_and_rearm() {
  core& c = *core_;
  try {
    core::task_scope scope(c, message_.where, true);  // a timer run is a task (stats)
    call_(this);
  } catch (...) {
    std::exception_ptr e = std::current_exception();
    if (is_thread_end(e)) {
      end_run_for_good();  // f ended the OS thread: no further run, a canceller returns
      throw;               // the worker finishes the thread (core::run_one)
    }
    c.report_error(std::move(e), error_source::timer, message_.where);  // a periodic goes on
  }
  if (periodic() && c.accepting_from_everyone()) {
    // start + k·period: the first such deadline after now; a run late by a period or
    // more skips the missed ones (never back-to-back runs to catch up).
    clock::time_point const now = clock::now();
    clock::time_point next = saturating_add(entry_.deadline, period_);
    if (next <= now) {
      auto const missed = (now - entry_.deadline) / period_;  // >= 1
      next = saturating_add(entry_.deadline, period_ * (missed + 1));
      if (next <= now) next = saturating_add(next, period_);  // rounding at the edge
    }
    std::uint32_t s = state_.load(kRelaxed);
    while ((s & kCancelled) == 0) {
      // running → armed, unless cancel() set C meanwhile (then the CAS fails and the
      // loop ends: done below). No canceller waits on an uncancelled run.
      if (state_.compare_exchange_weak(s, (s & ~kPhase) | kArmed, kSeqCst, kRelaxed)) {
        entry_.deadline = next;
        in_heap_ = true;
        c.add_timer(entry_);
        return;
      }
    }
  }
  end_run_for_good();
}

void timer_block::end_run_for_good() noexcept {
  // Done for good. The callable goes first, while the word still says running, so a
  // canceller waiting for this run returns only after it is destroyed.
  destroy_callable();
  void const* const key = &state_;
  std::uint32_t const was = state_.fetch_or(kDone, kSeqCst);  // running → done
  if ((was & kWaiter) != 0) wake_all(key);
  finished_ = true;
  release_ref();  // the thread's ref: the canceller's handle may have gone already
}

void timer_block::finish() noexcept {
  destroy_callable();
  state_.fetch_or(kDone, kSeqCst);  // any phase → done, C kept: cancel() returns false now
  finished_ = true;
  release_ref();
}

void timer_block::destroy_callable() noexcept {
  try {
    destroy_(this, false);
  } catch (...) {
    core_->report_error(std::current_exception(), error_source::timer, message_.where);
  }
}

// --- cancel ----------------------------------------------------------------------------

bool timer_block::cancel() {
  core& c = *core_;
  // The child of a fork: nothing runs here, and a run in progress never ends.
  if (c.inherited()) return false;
  if (c.is_current()) return cancel_on_thread();
  std::uint32_t s = state_.load(kSeqCst);
  for (;;) {
    std::uint32_t const phase = s & kPhase;
    if (phase == kDone) return false;  // ran, was dropped by join(), or was cancelled
    if ((s & kCancelled) != 0) {
      if (phase == kRunning) wait_for_run();  // "afterwards f does not start", nor run
      return false;
    }
    if (!state_.compare_exchange_weak(s, s | kCancelled, kSeqCst, kSeqCst)) continue;
    switch (phase) {
      case kQueued:
        return true;  // the arm finishes it on the thread
      case kArmed:
        // In the heap: send the cleanup so that f is destroyed (and the heap entry
        // removed) now, not at its deadline. The node is free: the worker took the arm
        // message before it set armed. Refused (join() started): join's drop of the heap
        // finishes it instead. Our handle's ref keeps the block alive across this.
        refs_.fetch_add(1, kRelaxed);
        if (!c.push_timer_cleanup(message_)) refs_.fetch_sub(1, kRelaxed);
        return true;
      default:  // running
        wait_for_run();
        return periodic();  // a periodic timer starts no further run: one was prevented
    }
  }
}

bool timer_block::cancel_on_thread() noexcept {
  std::uint32_t s = state_.load(kRelaxed);
  for (;;) {
    std::uint32_t const phase = s & kPhase;
    if (phase == kDone || (s & kCancelled) != 0) return false;
    if (!state_.compare_exchange_weak(s, s | kCancelled, kSeqCst, kRelaxed)) continue;
    switch (phase) {
      case kQueued:
        return true;  // the arm message, still on its way, finishes it
      case kArmed:
        if (in_heap_) {  // always, on the thread: a taken entry expires at once
          core_->remove_timer(entry_);
          in_heap_ = false;
          finish();
        }
        return true;
      default:  // running: from inside f (or a nested loop of it); never wait for itself
        return periodic();
    }
  }
}

// Off the thread: until the run in progress ends (and, when it was the last, f is
// destroyed). A short spin, then sleep on the word with W set (the worker wakes us).
void timer_block::wait_for_run() {
  std::optional<wait_edge> edge;
  try {
    edge.emplace(*core_);  // the run may wait on us, through other ste threads
  } catch (deadlock_error const&) {
    throw_cancel_deadlock(core_->name());
  }
  // acquire: pairs with the worker's RMW that ends the run (the callable's destruction
  // and everything the run did are visible once we see it ended).
  auto ended = [this] { return (state_.load(std::memory_order_acquire) & kPhase) != kRunning; };
  if (spin_until(ended)) return;
  std::uint32_t s = state_.load(std::memory_order_acquire);
  while ((s & kPhase) == kRunning) {
    if ((s & kWaiter) == 0) {
      // W before the sleep: the worker's RMW that ends the run sees it and wakes us.
      if (!state_.compare_exchange_weak(s, s | kWaiter, kSeqCst, std::memory_order_acquire))
        continue;
      s |= kWaiter;
    }
    wait_on(state_, s);  // returns at once if the word changed since
    s = state_.load(std::memory_order_acquire);
  }
}

}  // namespace ste::detail
