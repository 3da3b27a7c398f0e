// SPDX-License-Identifier: MIT
// ste/detail/mutex.hpp — a std::mutex the thread-safety analysis knows about.
//
// For the locks that may be held across a sleep (join's, the deadlock edges'), which
// the desk (pi_mutex, held only for a few pointer writes) is not meant for. Take it with
// guard<mutex>.
#pragma once

#include <mutex>

#include "ste/detail/tsa.hpp"

namespace ste::detail {

class STE_CAPABILITY("mutex") mutex {
 public:
  mutex() = default;
  mutex(mutex const&) = delete;
  mutex& operator=(mutex const&) = delete;
  void lock() STE_ACQUIRE() { m_.lock(); }
  void unlock() STE_RELEASE() { m_.unlock(); }
  /// May fail spuriously (as std::mutex::try_lock): use it only where a failure is safe.
  bool try_lock() STE_TRY_ACQUIRE(true) { return m_.try_lock(); }

 private:
  std::mutex m_;
};

}  // namespace ste::detail
