// SPDX-License-Identifier: MIT
// ste/detail/timer_block.hpp — the one heap block behind a delayed or periodic task
// (post_after / post_at / post_every) and its ste::timer handle.
//
// The block holds the callable, one queue node (the message: it carries the timer into
// the thread's heap, and at most once more a cancel's cleanup), the heap node, and two
// atomic words:
//
// - state_: [ W | C | phase (2 bits) ]; phase queued (the arm message is on its way),
//   armed (in the heap), running (the worker runs f), done (finished for good); C:
//   cancelled (no run starts any more); W: a canceller off the thread sleeps on the word
//   until the run in progress ends. Every change is a seq_cst read-modify-write, so
//   the worker's start of a run (armed → running) and cancel's C are ordered: whoever
//   changes the word first decides, exactly once.
// - refs_: the handle, the thread side (until the callable is destroyed) and a cleanup
//   message in flight each hold one; whoever drops the last frees the block.
//
// docs/design.md §13 has the protocol; verify/spin/timer.pml checks it, seeded bugs
// included. The callable is only ever touched on the thread.
#pragma once

#include "ste/export.hpp"

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <utility>

#include "ste/detail/task_node.hpp"
#include "ste/detail/timer_heap.hpp"

namespace ste::detail {

class core;
class timer_block;

class STE_API timer_block {
 public:
  using clock = std::chrono::steady_clock;

  static constexpr std::uint32_t kQueued = 0;
  static constexpr std::uint32_t kArmed = 1;
  static constexpr std::uint32_t kRunning = 2;
  static constexpr std::uint32_t kDone = 3;
  static constexpr std::uint32_t kPhase = 3;
  static constexpr std::uint32_t kCancelled = 4;
  static constexpr std::uint32_t kWaiter = 8;

  timer_block(timer_block const&) = delete;
  timer_block& operator=(timer_block const&) = delete;

  // --- The handle (ste::timer): any thread. -----------------------------------------

  /// timer::cancel: afterwards f does not start again; true when that prevented a run.
  /// Off the thread, waits for a run in progress. Throws deadlock_error when that wait
  /// would close a cycle of ste threads (the timer is cancelled all the same).
  bool cancel();
  /// The handle lets go (does not cancel); may free the block.
  static void release(timer_block* b) noexcept;
  /// Frees a block that was never accepted (the post was refused).
  static void discard(timer_block* b) noexcept;

  // --- Scheduling (thread.hpp's post_*, via core::schedule_timer). -------------------

  /// The message that carries the timer into the thread's heap (off the thread).
  task_node& message() noexcept { return message_; }
  /// Armed on the thread itself: straight into the heap, no message.
  void arm_on_thread() noexcept;

 protected:
  using call_fn = void (*)(timer_block*);
  using destroy_fn = void (*)(timer_block*, bool free_block);

  timer_block(std::shared_ptr<core> owner, clock::time_point first, clock::duration period,
              call_fn call, destroy_fn destroy, ste::site const& where) noexcept;
  ~timer_block() = default;

 private:
  struct message_node : task_node {
    timer_block* block = nullptr;
  };
  struct heap_node : timer_node {
    timer_block* block = nullptr;
  };

  // The worker (src/timer.cpp).
  static void on_message(task_node* n);
  static void on_expire(task_node* n);
  void arm() noexcept;
  // Not noexcept: a callable that ends the OS thread unwinds through them, once its run
  // is ended for good (forced_unwind.hpp).
  void expire(bool stopped);
  void run_and_rearm();
  void end_run_for_good() noexcept;  // running → done: f destroyed, a canceller woken
  void finish() noexcept;
  void destroy_callable() noexcept;
  void release_ref() noexcept;
  bool cancel_on_thread() noexcept;
  void wait_for_run();
  bool periodic() const noexcept { return period_ != clock::duration::zero(); }

  std::shared_ptr<core> const core_;
  call_fn const call_;        // runs the callable
  destroy_fn const destroy_;  // destroys the callable (and, when asked, frees the block)
  clock::duration const period_;  // zero: a one-shot

  std::atomic<std::uint32_t> state_{kQueued};
  std::atomic<std::uint32_t> refs_{2};  // the handle and the thread side
  message_node message_;
  heap_node entry_;  // the deadline lives here

  // The worker thread only.
  bool armed_ = false;     // the arm message was taken (a second one is a cleanup)
  bool in_heap_ = false;   // entry_ is in the thread's heap
  bool finished_ = false;  // the callable was destroyed, the thread's ref dropped
};

/// The block for a callable of type F.
template <class F>
class timer_of final : public timer_block {
 public:
  template <class G>
  timer_of(std::shared_ptr<core> owner, clock::time_point first, clock::duration period,
           ste::site const& where, G&& g)
      : timer_block(std::move(owner), first, period, &call, &destroy, where),
        f_(std::forward<G>(g)) {}

 private:
  ~timer_of() = default;
  static void call(timer_block* b) { static_cast<timer_of*>(b)->f_.value()(); }
  static void destroy(timer_block* b, bool free_block) {
    auto* self = static_cast<timer_of*>(b);
    if (free_block) {
      delete self;
      return;
    }
    self->f_.reset();
  }

  std::optional<F> f_;
};

}  // namespace ste::detail
