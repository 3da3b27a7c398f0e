// ste/detail/spin_lock.hpp — the lock guarding a ste thread's queue.
//
// Critical sections under it are a handful of pointer writes, never a task, never a
// sleep. A std::mutex that finds such a lock taken puts the caller to sleep in the
// kernel, and on the 2-vCPU machine a futex wake-up costs tens of microseconds: with 4
// submitters that made contention, not work, the bottleneck. This lock never sleeps:
// test-and-test-and-set with `pause`, then `yield` so that a preempted holder gets the
// CPU back.
#pragma once

#include <atomic>
#include <thread>

#include "ste/detail/wait.hpp"

namespace ste::detail {

class spin_lock {
 public:
  void lock() noexcept {
    for (;;) {
      // acquire: everything the previous holder wrote before unlock() is visible.
      if (!locked_.exchange(true, std::memory_order_acquire)) return;
      int spins = 0;
      while (locked_.load(std::memory_order_relaxed)) {
        if (++spins < 128)
          cpu_relax();
        else
          std::this_thread::yield();
      }
    }
  }
  bool try_lock() noexcept {
    return !locked_.load(std::memory_order_relaxed) &&
           !locked_.exchange(true, std::memory_order_acquire);
  }
  // release: publishes the critical section to the next acquirer.
  void unlock() noexcept { locked_.store(false, std::memory_order_release); }

 private:
  std::atomic<bool> locked_{false};
};

}  // namespace ste::detail
