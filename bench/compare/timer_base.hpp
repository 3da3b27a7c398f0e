// SPDX-License-Identifier: MIT
// timer_base.hpp — what the periodic-timer measurement (timers.cpp) shares with its
// peers: the log each run writes its lateness into.
//
// A timer loop has the shape
//
//   struct loop {
//     static constexpr char const* name;
//     loop(consumer_config, tick_log&);  // starts the worker thread (asleep, no timer yet)
//     void start(std::int64_t period_ns);  // arms a periodic timer: first deadline = a
//                                          // clock read in start() + period
//     void stop();   // after log.done: no run starts any more; joins the worker; throws
//                    // std::runtime_error when a run was lost or came after the stop
//   };
//
// and calls log.record(start_ns, deadline_ns) first thing in every run: start_ns the
// run's first steady_ns() read, deadline_ns the deadline start + k·period that run was for.
#pragma once

#include <time.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <vector>

#include "platform.hpp"

namespace bench {

/// steady_clock in ns: the clock of ste's timers and of Asio's steady_timer (on Linux
/// CLOCK_MONOTONIC, the clock now_ns() reads).
inline std::int64_t steady_ns() noexcept {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

class tick_log {
 public:
  /// `warm` untimed runs, then `ticks` timed ones; runs after those are only counted.
  tick_log(std::size_t warm, std::size_t ticks)
      : warm_(warm), capacity_(warm + ticks), lateness_(warm + ticks, 0) {}

  /// On the worker, first thing in each run.
  void record(std::int64_t start_ns, std::int64_t deadline_ns) noexcept {
    std::uint64_t const k = runs_.load(std::memory_order_relaxed);  // the worker's own
    if (k < capacity_) {
      lateness_[k] = start_ns - deadline_ns;
      if (k == warm_) cpu0_ = cpu_ns(CLOCK_THREAD_CPUTIME_ID);
      if (k + 1 == capacity_) cpu1_ = cpu_ns(CLOCK_THREAD_CPUTIME_ID);
    }
    runs_.store(k + 1, std::memory_order_release);
    if (k + 1 == capacity_) {
      done_.store(true, std::memory_order_release);
      done_.notify_one();
    }
  }

  /// The harness: until every timed run happened.
  void wait_done() const noexcept {
    while (!done_.load(std::memory_order_acquire)) done_.wait(false, std::memory_order_acquire);
  }

  std::uint64_t runs() const noexcept { return runs_.load(std::memory_order_acquire); }
  std::size_t capacity() const noexcept { return capacity_; }
  bool full() const noexcept { return runs() >= capacity_; }

  /// After the worker was joined: the timed runs' lateness, ns (unsorted).
  std::vector<std::int64_t> timed() const {
    return {lateness_.begin() + static_cast<std::ptrdiff_t>(warm_), lateness_.end()};
  }
  /// The worker's CPU time from the first timed run's start to the last one's.
  std::int64_t worker_cpu_ns() const noexcept { return cpu1_ - cpu0_; }

 private:
  std::size_t const warm_;
  std::size_t const capacity_;
  std::vector<std::int64_t> lateness_;  // the worker's, until joined
  std::int64_t cpu0_ = 0, cpu1_ = 0;    // the worker's, until joined
  std::atomic<std::uint64_t> runs_{0};
  std::atomic<bool> done_{false};
};

}  // namespace bench
