// SPDX-License-Identifier: MIT
// ste/detail/lifecycle.hpp — the OS thread behind a core: started once, then joined or
// detached exactly once.
//
// core::start, core::join and core::join_or_detach (src/lifecycle.cpp) drive it; join
// and join_or_detach may race from several threads, so the OS thread is guarded by a
// mutex held across the join (the only lock ste holds while it sleeps in a join).
#pragma once

#include "ste/export.hpp"

#include <cstddef>
#include <memory>

#include "ste/detail/mutex.hpp"
#include "ste/detail/tsa.hpp"

namespace ste::detail {

class os_thread;

class STE_API lifecycle {
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

  /// Whether the new thread got the real-time scheduling it asked for.
  bool realtime() const noexcept { return realtime_; }
  /// The new thread only, before it signals the startup handshake.
  void set_realtime(bool on) noexcept { realtime_ = on; }

 private:
  mutex mutex_;
  std::unique_ptr<os_thread> os_thread_ STE_GUARDED_BY(mutex_);
  // Written once by the new thread before it signals the startup handshake (release);
  // read only after start() saw that signal (acquire): no lock needed.
  bool realtime_ = false;
};

}  // namespace ste::detail
