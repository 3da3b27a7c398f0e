// SPDX-License-Identifier: MIT
// ste/detail/timer_heap.hpp — the timers of one ste thread: coroutine sleeps
// (sleep_for / sleep_until) and plain delayed tasks (post_after / post_at / post_every).
//
// An intrusive pairing heap on (deadline, sequence): FIFO among equal deadlines, the
// sequence being the order in which the worker added the timers. The nodes live where
// the timers do — in the sleeping coroutines' frames and in the delayed tasks' blocks —
// so adding a timer never allocates and never fails. Worker thread only: no lock.
//
// Costs: add O(1); pop and remove O(log n) amortised (the two-pass pairing heap). Every
// walk is iterative: no recursion, whatever the shape.
#pragma once

#include "ste/export.hpp"

#include <chrono>
#include <cstddef>
#include <cstdint>

#include "ste/detail/task_node.hpp"

namespace ste::detail {

/// A timer of the thread: its owner sets `invoke` (resume a coroutine, run a delayed
/// task) and `deadline`; the heap owns the rest while the node is in it.
struct timer_node : task_node {
  std::chrono::steady_clock::time_point deadline{};
  std::uint64_t sequence = 0;  // FIFO among equal deadlines (set by add)
  bool stopped = false;        // taken by take_stopped: join() ended the wait early
  // The pairing heap's links: the first child, the next sibling, and the previous
  // sibling — or the parent, for a first child (nullptr for the root and outside).
  timer_node* heap_child = nullptr;
  timer_node* heap_next = nullptr;
  timer_node* heap_prev = nullptr;
};

class STE_API timer_heap {
 public:
  using clock = std::chrono::steady_clock;

  /// Adds `t` (not in the heap). Never allocates.
  void add(timer_node& t) noexcept;
  /// Takes `t` out (it must be in this heap).
  void remove(timer_node& t) noexcept;
  bool empty() const noexcept { return root_ == nullptr; }
  std::size_t size() const noexcept { return size_; }
  /// The earliest deadline; the heap must not be empty.
  clock::time_point next_deadline() const noexcept { return root_->deadline; }
  /// Whether the earliest timer is due now.
  bool has_due() const noexcept { return root_ != nullptr && root_->deadline <= clock::now(); }
  /// Takes the earliest timer if it is due; nullptr when none is.
  timer_node* take_due() noexcept;
  /// Takes the earliest timer at once, marked stopped (join() ends every wait early);
  /// nullptr when the heap is empty.
  timer_node* take_stopped() noexcept;

 private:
  timer_node* pop() noexcept;

  timer_node* root_ = nullptr;
  std::size_t size_ = 0;
  std::uint64_t sequence_ = 0;
};

}  // namespace ste::detail
