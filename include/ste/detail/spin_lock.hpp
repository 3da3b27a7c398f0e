// SPDX-License-Identifier: MIT
// ste/detail/spin_lock.hpp — the lock guarding a ste thread's mailbox, and the guard
// every lock of ste is taken with.
//
// Critical sections under a spin_lock are a handful of pointer writes, never a task,
// never a sleep. Hazards it is built around:
// - A lock that sleeps at once makes contention, not work, the bottleneck (a futex
//   wake-up costs tens of microseconds across vCPUs): so it spins first, `pause` while
//   the holder runs elsewhere, a few `yield`s in case the holder was preempted here.
// - An unbounded spin never hands the CPU to a lower-priority holder on the same CPU
//   (real-time priorities: `yield` does not reach it). So after a bounded spin the
//   waiter sleeps on the lock word in the kernel and unlock() wakes it: three states,
//   free, held, held with sleepers.
#pragma once

#include <atomic>
#include <cstdint>
#include <thread>

#include "ste/detail/assert.hpp"
#include "ste/detail/tsa.hpp"
#include "ste/detail/wait.hpp"
#include "ste/detail/wait_policy.hpp"

namespace ste::detail {

class STE_CAPABILITY("mutex") spin_lock {
 public:
  void lock() noexcept STE_ACQUIRE() {
    std::uint32_t expected = kFree;
    // acquire (here and below): everything the previous holder wrote before unlock()
    // is visible to the new holder.
    if (state_.compare_exchange_strong(expected, kHeld, std::memory_order_acquire)) return;
    lock_contended();
  }
  bool try_lock() noexcept STE_TRY_ACQUIRE(true) {
    std::uint32_t expected = kFree;
    return state_.load(std::memory_order_relaxed) == kFree &&
           state_.compare_exchange_strong(expected, kHeld, std::memory_order_acquire);
  }
  void unlock() noexcept STE_RELEASE() {
    // release: publishes the critical section to the next acquirer. A sleeper announced
    // itself by kSleepers before it slept, so it is woken. The lock may already be
    // freed by then (its core, once the last comeback was linked): wake_one uses the
    // address as a key only.
    if (state_.exchange(kFree, std::memory_order_release) == kSleepers) wake_one(&state_);
  }

 private:
  static constexpr std::uint32_t kFree = 0;
  static constexpr std::uint32_t kHeld = 1;
  static constexpr std::uint32_t kSleepers = 2;  // held, and someone may sleep on it

  void lock_contended() noexcept STE_NO_THREAD_SAFETY_ANALYSIS {
    for (int spins = 0; spins < wait_policy::lock_pauses + wait_policy::lock_yields; ++spins) {
      if (state_.load(std::memory_order_relaxed) == kFree) {
        std::uint32_t expected = kFree;
        if (state_.compare_exchange_strong(expected, kHeld, std::memory_order_acquire)) return;
      }
      if (spins < wait_policy::lock_pauses)
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

  std::atomic<std::uint32_t> state_{kFree};
};

/// Holds a lock for a scope; may be unlocked and locked again inside it (the worker
/// drops its mailbox lock to run a task, spin or sleep).
template <class Lock>
class STE_SCOPED_CAPABILITY guard {
 public:
  explicit guard(Lock& l) STE_ACQUIRE(l) : lock_(l) { lock_.lock(); }
  guard(guard const&) = delete;
  guard& operator=(guard const&) = delete;
  ~guard() STE_RELEASE() {
    if (held_) lock_.unlock();
  }
  void unlock() STE_RELEASE() {
    STE_ASSERT(held_);
    held_ = false;
    lock_.unlock();
  }
  void lock() STE_ACQUIRE() {
    STE_ASSERT(!held_);
    lock_.lock();
    held_ = true;
  }

 private:
  Lock& lock_;
  bool held_ = true;
};

}  // namespace ste::detail
