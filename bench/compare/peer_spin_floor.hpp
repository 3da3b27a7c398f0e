// SPDX-License-Identifier: MIT
// peer_spin_floor.hpp — the physical floor: the submitter and the worker ping-pong one
// cache line, both spinning with `pause`, nobody ever sleeps. Nothing that also sleeps
// when idle can beat it; it burns a core per waiting thread, which is why no library
// ships it. Several submitters take turns through a spin lock on a separate line.
//
// Pure spinning needs its own CPU per spinning thread: when the submitter and the worker
// share a CPU, or more spinners run than there are CPUs, a round trip can take a whole
// scheduler time slice (milliseconds). The harness's time cap bounds such runs.
#pragma once

#include <atomic>
#include <cstdint>

#include "peer_base.hpp"

namespace bench {

inline void spin_pause() noexcept {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#elif defined(__aarch64__) || defined(__arm__)
  asm volatile("yield" ::: "memory");
#endif
}

class spin_floor_core {
 public:
  static constexpr char const* name = "spin-floor";
  struct submitter {};

  void round_trip(submitter&) {
    while (busy_.exchange(true, std::memory_order_acquire)) {
      while (busy_.load(std::memory_order_relaxed)) spin_pause();
    }
    std::uint64_t const request = seq_.load(std::memory_order_relaxed) + 1;
    seq_.store(request, std::memory_order_release);
    while (seq_.load(std::memory_order_acquire) == request) spin_pause();
    busy_.store(false, std::memory_order_release);
  }

  void serve() {
    for (;;) {
      std::uint64_t s = 0;
      while (((s = seq_.load(std::memory_order_acquire)) & 1U) == 0) {
        // stop() is only called with no request in flight, so nothing is dropped here.
        if (stopping_.load(std::memory_order_relaxed)) return;
        spin_pause();
      }
      ++count_;
      seq_.store(s + 1, std::memory_order_release);
    }
  }

  void request_stop() { stopping_.store(true, std::memory_order_relaxed); }
  std::uint64_t tasks_run() const noexcept { return count_; }

 private:
  // Odd: a request is waiting for the worker; even: the answer is back. This one line
  // is all that moves between the two CPUs per round trip.
  alignas(64) std::atomic<std::uint64_t> seq_{0};
  alignas(64) std::atomic<bool> busy_{false};  // submitters' spin lock
  alignas(64) std::atomic<bool> stopping_{false};
  task_count count_;  // worker thread only, until stop(); its own line (platform.hpp)
};

using spin_floor_peer = worker_peer<spin_floor_core>;

}  // namespace bench
