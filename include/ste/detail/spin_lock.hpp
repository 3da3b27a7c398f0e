// ste/detail/spin_lock.hpp — the lock guarding a ste thread's queue.
//
// Critical sections under it are a handful of pointer writes, never a task, never a
// sleep. A std::mutex that finds such a lock taken puts the caller to sleep in the
// kernel at once, and on the 2-vCPU machine a futex wake-up costs tens of microseconds:
// with 4 submitters that made contention, not work, the bottleneck. So this lock spins
// first: test-and-test-and-set with `pause`, then `yield` so that a preempted holder on
// this CPU gets it back. But a spin must not be unbounded: when the holder has a lower
// real-time priority than the waiter on the same CPU, `yield` never hands it the CPU
// (tests/faults, fault_sched_fifo_*). After a bounded spin the waiter sleeps on the lock
// word in the kernel, and unlock() wakes it (a three-state lock: free, held, held with
// sleepers).
#pragma once

#include <atomic>
#include <cstdint>
#include <thread>

#include "ste/detail/wait.hpp"

namespace ste::detail {

class spin_lock {
 public:
  void lock() noexcept {
    std::uint32_t expected = kFree;
    // acquire (here and below): everything the previous holder wrote before unlock()
    // is visible to the new holder.
    if (state_.compare_exchange_strong(expected, kHeld, std::memory_order_acquire)) return;
    lock_contended();
  }
  bool try_lock() noexcept {
    std::uint32_t expected = kFree;
    return state_.load(std::memory_order_relaxed) == kFree &&
           state_.compare_exchange_strong(expected, kHeld, std::memory_order_acquire);
  }
  void unlock() noexcept {
    // release: publishes the critical section to the next acquirer. A sleeper announced
    // itself by kSleepers before it slept, so it is woken. The lock may already be
    // freed by then (its core, once the last return was linked): wake_one uses the
    // address as a key only.
    if (state_.exchange(kFree, std::memory_order_release) == kSleepers) wake_one(&state_);
  }

 private:
  static constexpr std::uint32_t kFree = 0;
  static constexpr std::uint32_t kHeld = 1;
  static constexpr std::uint32_t kSleepers = 2;  // held, and someone may sleep on it

  void lock_contended() noexcept {
    // Spin: `pause` while the holder runs elsewhere, a few `yield`s in case it was
    // preempted on this CPU.
    for (int spins = 0; spins < kPauses + kYields; ++spins) {
      if (state_.load(std::memory_order_relaxed) == kFree) {
        std::uint32_t expected = kFree;
        if (state_.compare_exchange_strong(expected, kHeld, std::memory_order_acquire)) return;
      }
      if (spins < kPauses)
        cpu_relax();
      else
        std::this_thread::yield();
    }
    // Sleep. Taking the lock as kSleepers is conservative (it may wake one sleeper for
    // nothing), never lossy: whoever sleeps saw kSleepers and the unlock that ends it
    // exchanges kSleepers away and wakes.
    while (state_.exchange(kSleepers, std::memory_order_acquire) != kFree)
      wait_on(state_, kSleepers);
  }

  static constexpr int kPauses = 128;
  static constexpr int kYields = 16;
  std::atomic<std::uint32_t> state_{kFree};
};

}  // namespace ste::detail
