// SPDX-License-Identifier: MIT
// ste/detail/timer_heap.hpp — the timers of one ste thread (sleep_for / sleep_until).
//
// A min-heap on (deadline, sequence): FIFO among equal deadlines. The nodes live in the
// sleeping coroutines' frames. Worker thread only: no lock.
#pragma once

#include <chrono>
#include <coroutine>
#include <cstdint>
#include <vector>

#include "ste/detail/task_node.hpp"

namespace ste::detail {

/// A coroutine suspended on a timer of the thread it runs on (the sleep awaiter).
struct timer_node : task_node {
  std::chrono::steady_clock::time_point deadline{};
  std::uint64_t sequence = 0;  // FIFO among equal deadlines
  std::coroutine_handle<> handle;
  bool stopped = false;  // set when join() ended the sleep early
  timer_node() noexcept { invoke = &run; }
  static void run(task_node* n) { static_cast<timer_node*>(n)->handle.resume(); }
};

class timer_heap {
 public:
  using clock = std::chrono::steady_clock;

  /// Adds `t`. Throws std::bad_alloc when the heap cannot grow (then `t` is not added).
  void add(timer_node& t);
  bool empty() const noexcept { return heap_.empty(); }
  /// The earliest deadline; the heap must not be empty.
  clock::time_point next_deadline() const noexcept { return heap_.front()->deadline; }
  /// Whether the earliest timer is due now.
  bool has_due() const noexcept { return !heap_.empty() && next_deadline() <= clock::now(); }
  /// Takes the earliest timer if it is due; nullptr when none is.
  timer_node* take_due() noexcept;
  /// Takes the earliest timer at once, marked stopped (join() ends every sleep early);
  /// nullptr when the heap is empty.
  timer_node* take_stopped() noexcept;

 private:
  timer_node* pop() noexcept;

  std::vector<timer_node*> heap_;  // min-heap on (deadline, sequence)
  std::uint64_t sequence_ = 0;
};

}  // namespace ste::detail
