// SPDX-License-Identifier: MIT
// Small helpers shared by ste's tests. Deliberately built on mutex + condition_variable
// (not std::latch / std::atomic::wait, which lose wake-ups in MinGW's libstdc++).
#pragma once

#include <condition_variable>
#include <coroutine>
#include <exception>
#include <cstddef>
#include <mutex>

namespace ste_test {

/// A one-shot gate: wait() blocks until open() was called.
class gate {
 public:
  void open() {
    std::lock_guard lock(mutex_);
    open_ = true;
    cv_.notify_all();
  }
  void wait() {
    std::unique_lock lock(mutex_);
    cv_.wait(lock, [this] { return open_; });
  }
  bool is_open() {
    std::lock_guard lock(mutex_);
    return open_;
  }

 private:
  std::mutex mutex_;
  std::condition_variable cv_;
  bool open_ = false;
};

/// Counts arrivals; wait_for(n) blocks until at least n arrived.
class counter {
 public:
  void arrive() {
    std::lock_guard lock(mutex_);
    ++count_;
    cv_.notify_all();
  }
  void wait_for(std::size_t n) {
    std::unique_lock lock(mutex_);
    cv_.wait(lock, [&] { return count_ >= n; });
  }
  std::size_t count() {
    std::lock_guard lock(mutex_);
    return count_;
  }

 private:
  std::mutex mutex_;
  std::condition_variable cv_;
  std::size_t count_ = 0;
};

/// Scales loop counts of stress-like tests: STE_TEST_SCALE=10 runs ten times more.
std::size_t scaled(std::size_t n);

/// An eager, fire-and-forget coroutine: starts on the calling thread at once (a way to
/// co_await from a plain thread in tests).
struct eager {
  struct promise_type {
    eager get_return_object() noexcept { return {}; }
    std::suspend_never initial_suspend() noexcept { return {}; }
    std::suspend_never final_suspend() noexcept { return {}; }
    void return_void() noexcept {}
    void unhandled_exception() noexcept { std::terminate(); }
  };
};

}  // namespace ste_test
