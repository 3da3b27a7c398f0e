// SPDX-License-Identifier: MIT
// ste/detail/guard.hpp — the scoped holder every lock of ste is taken with, annotated for
// clang's thread-safety analysis.
#pragma once

#include "ste/detail/assert.hpp"
#include "ste/detail/tsa.hpp"

namespace ste::detail {

/// Holds a lock for a scope; may be unlocked and locked again inside it.
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
