// SPDX-License-Identifier: MIT
// ste/detail/lifecycle.hpp — the OS thread behind a core: started once, then joined or
// detached exactly once.
//
// core::start, core::join and core::join_or_detach (src/lifecycle.cpp) drive it; join
// and join_or_detach may race from several threads, so the OS thread is guarded by a
// mutex held across the join (the only lock ste holds while it sleeps in a join).
#pragma once

#include <cstddef>
#include <memory>

#include "ste/detail/mutex.hpp"
#include "ste/detail/tsa.hpp"

namespace ste::detail {

class os_thread;

class lifecycle {
 public:
  lifecycle() noexcept;
  lifecycle(lifecycle const&) = delete;
  lifecycle& operator=(lifecycle const&) = delete;
  ~lifecycle();

  mutex& lock() noexcept STE_RETURN_CAPABILITY(mutex_) { return mutex_; }

  /// Starts entry(arg) on a new OS thread. Throws std::system_error when refused.
  void start_locked(std::size_t stack_size, void (*entry)(void*), void* arg)
      STE_REQUIRES(mutex_);
  /// Whether the OS thread still needs a join or a detach.
  bool attached_locked() const noexcept STE_REQUIRES(mutex_) { return os_thread_ != nullptr; }
  void join_locked() noexcept STE_REQUIRES(mutex_);
  void detach_locked() noexcept STE_REQUIRES(mutex_);

 private:
  mutex mutex_;
  std::unique_ptr<os_thread> os_thread_ STE_GUARDED_BY(mutex_);
};

}  // namespace ste::detail
