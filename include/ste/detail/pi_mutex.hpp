// SPDX-License-Identifier: MIT
// ste/detail/pi_mutex.hpp — the desk lock: a mutex whose holder inherits the priority of
// whoever waits for it.
//
// The one lock a ste thread's worker may wait for that another thread can hold (a timed
// submitter withdrawing its record, a joiner's deadlock walk). Producers never take it.
// A real-time worker waiting here must not be held up by a lower-priority holder that a
// middle-priority thread preempts (priority inversion), so on POSIX it is a
// PTHREAD_PRIO_INHERIT mutex (Linux: the kernel's FUTEX_LOCK_PI lends the holder the
// waiter's priority). Windows has no priority inheritance; its scheduler's
// anti-starvation boost of ready threads is the nearest thing (docs/design.md §2). The
// storage is opaque so that no platform header leaks into ste's headers.
#pragma once

#include "ste/export.hpp"

#include <cstddef>

#include "ste/detail/tsa.hpp"

namespace ste::detail {

class STE_API STE_CAPABILITY("mutex") pi_mutex {
 public:
  pi_mutex() noexcept;
  ~pi_mutex();
  pi_mutex(pi_mutex const&) = delete;
  pi_mutex& operator=(pi_mutex const&) = delete;

  void lock() noexcept STE_ACQUIRE();
  void unlock() noexcept STE_RELEASE();

 private:
  // pthread_mutex_t: 40 bytes on glibc x86-64, 64 on macOS; SRWLOCK: one pointer.
  alignas(16) unsigned char storage_[64];
};

}  // namespace ste::detail
