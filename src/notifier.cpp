// SPDX-License-Identifier: MIT
// ste::notifier: notify() from any thread (one CAS on the block's state word, plus one
// push of the node for the call that made the run pending), the worker's claims, and
// the two ways a block ends: reset() and join()'s destruction pass.
// include/ste/detail/notifier_block.hpp has the state word; docs/design.md §12 the
// argument; verify/spin/notifier.pml checks the protocol.
#include "ste/detail/notifier_block.hpp"

#include <exception>

#include "ste/detail/core.hpp"
#include "ste/detail/forced_unwind.hpp"
#include "ste/detail/wait.hpp"
#include "ste/errors.hpp"

namespace ste::detail {

namespace {

constexpr auto kSeqCst = std::memory_order_seq_cst;
constexpr auto kRelaxed = std::memory_order_relaxed;

bool same_generation(std::uintptr_t a, std::uintptr_t b) noexcept {
  return (a & ~notifier_block::kFlags) == (b & ~notifier_block::kFlags);
}

}  // namespace

notifier_block::notifier_block(std::shared_ptr<core> owner, call_fn call, destroy_fn destroy,
                               ste::site const& where) noexcept
    : core_(std::move(owner)), call_(call), destroy_(destroy) {
  node_.where = where;
  sweep_node_.where = where;
  node_.invoke = &run_node;
  node_.block = this;
  node_.accounting = task_accounting::by_node;  // run_claimed counts a real run
  sweep_node_.invoke = &run_sweep;
  sweep_node_.block = this;
  sweep_node_.accounting = task_accounting::by_node;
}

void notifier_block::discard(notifier_block* b) noexcept {
  // Never registered: the callable never reached the thread; destroyed here.
  try {
    b->free_block();
  } catch (...) {
  }
}

bool notifier_block::notify() const noexcept {
  core& c = *core_;
  if (c.inherited()) return false;  // the child of a fork: no claim, no push, no wake-up
  // Refused at once when closed to the caller (nothing changes); the decisive check
  // comes after the state CAS below, or is the push's own.
  if (!c.accepts_work()) return false;
  std::uintptr_t s = state_.load(kRelaxed);
  for (;;) {
    if ((s & kClosed) != 0) return false;
    if ((s & (kPending | kQueued)) == 0) {
      // Nothing pending and the node free: claim it (a new generation) and push it.
      std::uintptr_t const claimed = ((s & ~kFlags) + kGeneration) | kPending | kQueued;
      if (state_.compare_exchange_weak(s, claimed, kSeqCst, kRelaxed)) return push_claimed(claimed);
      continue;
    }
    // Coalesce. The RMW (release, in the word's release sequence) is what the worker's
    // claim acquires: what this caller wrote before is visible to that run. T tells a
    // refused pusher that someone relies on P.
    std::uintptr_t const touched = s | kPending | kTouched;
    if (!state_.compare_exchange_weak(s, touched, kSeqCst, kRelaxed)) continue;
    // The node is not known to be linked: its pusher may be stopped between its claim
    // and its push (or before its U). Do not wait for it: the worker's sweep runs it.
    if ((touched & (kQueued | kPushed)) != (kQueued | kPushed)) c.request_sweep();
    // The decisive check (seq_cst, after the RMW and the sweep request): open here means
    // join's phase change comes later in the total order, so the worker still sees our
    // P (or our sweep request) before it closes.
    return c.accepts_work();
  }
}

bool notifier_block::push_claimed(std::uintptr_t claimed) const noexcept {
  core& c = *core_;
  if (c.push_notifier(node_)) {
    // U: linked, it will be popped. Only for our own claim (same generation, Q still
    // set): the worker may already have popped it (Q cleared), and a newer claim's
    // node must not look pushed because of us.
    std::uintptr_t s = state_.load(kRelaxed);
    while ((s & (kQueued | kPushed)) == kQueued && same_generation(s, claimed) &&
           !state_.compare_exchange_weak(s, s | kPushed, kSeqCst, kRelaxed)) {
    }
    return true;
  }
  // Refused: join() raced us. Give the node back; keep P if a coalescer relies on it
  // (it asked for a sweep, and the worker runs it before closing).
  std::uintptr_t s = state_.load(kRelaxed);
  for (;;) {
    std::uintptr_t next = s & ~kQueued;
    if ((s & kTouched) == 0) next &= ~kPending;
    if (state_.compare_exchange_weak(s, next, kSeqCst, kRelaxed)) return false;
  }
}

bool notifier_block::wants_sweep() const noexcept {
  std::uintptr_t const s = state_.load(kSeqCst);
  return (s & kPending) != 0 && (s & kClosed) == 0 &&
         (s & (kQueued | kPushed)) != (kQueued | kPushed);
}

// The node's run: the pop claim. Frees the node (Q, U) whether or not it runs f: P may
// have been claimed by a sweep already, or C set by reset() or join().
void notifier_block::run_node(task_node* n) {
  notifier_block* const b = static_cast<block_node*>(n)->block;
  std::uintptr_t s = b->state_.load(kRelaxed);
  bool run = false;
  do {
    run = (s & kPending) != 0 && (s & kClosed) == 0;
  } while (!b->state_.compare_exchange_weak(
      s, s & ~(kPending | kQueued | kPushed | kTouched), kSeqCst, kRelaxed));
  if (run) b->run_claimed();
}

// The sweep's run: claims P unless the node is linked now (then its pop runs f, in
// FIFO order) or a reset began.
void notifier_block::run_sweep(task_node* n) {
  notifier_block* const b = static_cast<block_node*>(n)->block;
  std::uintptr_t s = b->state_.load(kRelaxed);
  do {
    if ((s & kPending) == 0 || (s & kClosed) != 0 ||
        (s & (kQueued | kPushed)) == (kQueued | kPushed))
      return;
  } while (
      !b->state_.compare_exchange_weak(s, s & ~(kPending | kTouched), kSeqCst, kRelaxed));
  b->run_claimed();
}

void notifier_block::run_claimed() {
  core& c = *core_;
  running_ = true;
  std::exception_ptr error;
  {
    core::task_scope scope(c, node_.where, true);  // a notifier run is a task (stats)
    try {
      call_(this);
    } catch (...) {
      error = std::current_exception();
      if (is_thread_end(error)) {
        // f ended the OS thread: the run is over (the worker finishes the thread, and
        // its pass destroys f unless reset() from inside f orphaned the block).
        running_ = false;
        if (orphaned_) {
          destroy_callable();
          free_block();
        }
        throw;
      }
    }
  }
  running_ = false;
  if (error) c.report_error(std::move(error), error_source::notifier, node_.where);
  if (orphaned_) {  // reset() from inside the run: its end is ours to finish
    destroy_callable();
    free_block();
  }
}

void notifier_block::destroy_callable() noexcept {
  try {
    destroy_(this, false);
  } catch (...) {
    core_->report_error(std::current_exception(), error_source::notifier, node_.where);
  }
}

// On the thread (reset() there, or the cleanup task reset() submits). True when the
// caller may free the block now.
bool notifier_block::cleanup_on_thread() noexcept {
  if (!core_->forget_notifier(*this)) {
    // join()'s pass took the block first (this runs inside that pass: a callable's
    // destructor resets another notifier). Whoever of the two comes second frees it.
    return (state_.fetch_or(kAbandoned, kSeqCst) & kDone) != 0;
  }
  if (running_) {  // reset() from inside f (or a nested loop of f): free after the run
    orphaned_ = true;
    return false;
  }
  destroy_callable();
  return true;
}

void notifier_block::destroy_by_join() noexcept {
  state_.fetch_or(kClosed, kSeqCst);
  destroy_callable();
  void const* const key = word_key(&state_);
  // release (seq_cst): the destruction is visible to reset()'s acquire of D. After this
  // RMW the block may be freed by reset(): only the value it returned is used.
  if ((state_.fetch_or(kDone, kSeqCst) & kAbandoned) != 0) {
    free_block();
    return;
  }
  wake_all(key);
}

void notifier_block::release(notifier_block* b) noexcept {
  core& c = *b->core_;
  // The child of a fork: f belongs to the parent's thread and is not destroyed here; the
  // block is left as it is (a run may be in progress there for ever).
  if (c.inherited()) return;
  // C first: no run starts after this (every claim checks it), so a pending run is
  // withdrawn whichever way the block ends.
  b->state_.fetch_or(kClosed, kSeqCst);
  if (c.is_current()) {
    if (b->cleanup_on_thread()) b->free_block_quietly();
    return;
  }
  bool free_now = false;
  try {
    // On the thread, after the run in progress (if any): unlink, unregister, destroy.
    auto cleanup = [b] { return b->cleanup_on_thread(); };
    submit_record<decltype(cleanup)&> record(cleanup);
    c.submit_and_wait(record);
    free_now = record.result.take();
  } catch (stopped_error const&) {
    // join() began first: its pass destroys f after the close. Wait for that (D).
    try {
      wait_edge edge(c, wait_kind::close);
      std::uintptr_t s = b->state_.load(std::memory_order_acquire);
      while ((s & kDone) == 0) {
        wait_on_word(b->state_, s);
        s = b->state_.load(std::memory_order_acquire);
      }
      free_now = true;
    } catch (...) {
      // Waiting would deadlock: leave the block to join()'s pass.
      free_now = (b->state_.fetch_or(kAbandoned, kSeqCst) & kDone) != 0;
    }
  } catch (...) {
    // deadlock_error (the thread waits on us): leave f to the thread; join()'s pass
    // destroys it and frees the block, unless it already did.
    free_now = (b->state_.fetch_or(kAbandoned, kSeqCst) & kDone) != 0;
  }
  if (free_now) b->free_block_quietly();
}

void notifier_block::free_block_quietly() noexcept {
  try {
    free_block();
  } catch (...) {
    // Only a callable that was never destroyed can throw here (discard).
  }
}

}  // namespace ste::detail
