// SPDX-License-Identifier: MIT
// Helpers of the fault-matrix tests (Linux only): counting this process's threads, and
// telling that a thread is blocked inside a ste wait.
#pragma once

#include <pthread.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <dirent.h>
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "ste/tag.hpp"

#if defined(__SANITIZE_ADDRESS__)
#define STE_FAULT_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define STE_FAULT_ASAN 1
#endif
#endif
#ifdef STE_FAULT_ASAN
#include <sanitizer/asan_interface.h>
#endif

namespace ste_fault {

/// A value handed to a ste thread (destroy, bound<T>): counts its destruction, and
/// whether it happened off `home` (a null home: anywhere is fine).
struct counted {
  std::atomic<int>* destroyed;
  ste::tag home;
  std::atomic<int>* misplaced;
  bool live = true;
  counted(std::atomic<int>* d, ste::tag h, std::atomic<int>* m)
      : destroyed(d), home(h), misplaced(m) {}
  counted(counted&& o) noexcept
      : destroyed(o.destroyed),
        home(o.home),
        misplaced(o.misplaced),
        live(std::exchange(o.live, false)) {}
  ~counted() {
    if (!live) return;
    ++*destroyed;
    if (home != ste::tag{} && !home.is_on_thread()) ++*misplaced;
  }
};

/// How many threads this process has now (entries of /proc/self/task).
inline std::size_t thread_count() {
  std::size_t n = 0;
  if (DIR* d = opendir("/proc/self/task")) {
    while (dirent* e = readdir(d))
      if (e->d_name[0] != '.') ++n;
    closedir(d);
  }
  return n;
}

/// The ids of this process's threads now (entries of /proc/self/task), ascending.
inline std::vector<pid_t> thread_ids() {
  std::vector<pid_t> ids;
  if (DIR* d = opendir("/proc/self/task")) {
    while (dirent* e = readdir(d))
      if (e->d_name[0] != '.') ids.push_back(static_cast<pid_t>(std::stol(e->d_name)));
    closedir(d);
  }
  std::sort(ids.begin(), ids.end());
  return ids;
}

/// The threads of this process that were not in `before` (a result of thread_ids()),
/// each as "tid (name)". A thread joined earlier may linger in /proc for a moment, so a
/// count can drop late; a thread that is here now and was not in `before` is new.
inline std::vector<std::string> threads_not_in(std::vector<pid_t> const& before) {
  std::vector<std::string> added;
  for (pid_t const id : thread_ids()) {
    if (std::binary_search(before.begin(), before.end(), id)) continue;
    std::ifstream comm("/proc/self/task/" + std::to_string(id) + "/comm");
    std::string name;
    std::getline(comm, name);
    added.push_back(std::to_string(id) + " (" + name + ")");
  }
  return added;
}

/// Waits (up to `limit`) until the thread count drops to `n` or below: an OS thread that
/// was joined may take a moment to disappear from /proc. Returns the last count seen.
inline std::size_t thread_count_settles_at(
    std::size_t n, std::chrono::milliseconds limit = std::chrono::seconds(30)) {
  auto const until = std::chrono::steady_clock::now() + limit;
  std::size_t c = thread_count();
  while (c > n && std::chrono::steady_clock::now() < until) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
    c = thread_count();
  }
  return c;
}

inline pid_t current_tid() {
  return static_cast<pid_t>(syscall(SYS_gettid));
}

/// The calling thread's stack as [low, high), plus, under ASan with
/// detect_stack_use_after_return, its "fake stack" (the heap frames that then hold the
/// locals whose address is taken, such as a ste task record).
struct stack_range {
  std::uintptr_t low = 0, high = 0;
  void* fake = nullptr;
  bool contains(std::uintptr_t a) const {
    if (a >= low && a < high) return true;
#ifdef STE_FAULT_ASAN
    // The owner thread is alive (it is blocked): the query is allowed.
    if (fake != nullptr &&
        __asan_addr_is_in_fake_stack(fake, reinterpret_cast<void*>(a), nullptr, nullptr) != nullptr)
      return true;
#endif
    return false;
  }
};
inline stack_range current_stack() {
  pthread_attr_t attr;
  stack_range r;
#ifdef STE_FAULT_ASAN
  r.fake = __asan_get_current_fake_stack();
#endif
  if (pthread_getattr_np(pthread_self(), &attr) == 0) {
    void* addr = nullptr;
    std::size_t size = 0;
    if (pthread_attr_getstack(&attr, &addr, &size) == 0) {
      r.low = reinterpret_cast<std::uintptr_t>(addr);
      r.high = r.low + size;
    }
    pthread_attr_destroy(&attr);
  }
  return r;
}

/// True when thread `tid` of this process sleeps in futex() on a word inside `stack`.
/// A ste submitter sleeps on the completion word of its task record, which lives in its
/// own stack frame: so this says "blocked inside a ste blocking call" (and not on a test
/// gate, a mutex or a sanitizer's internal lock, none of which lives on that stack).
inline bool blocked_in_futex_on_own_stack(pid_t tid, stack_range stack) {
  std::ifstream in("/proc/self/task/" + std::to_string(tid) + "/syscall");
  std::string line;
  if (!std::getline(in, line)) return false;
  std::istringstream fields(line);
  long nr = -1;
  std::string arg0;
  fields >> nr >> arg0;
  if (nr != SYS_futex) return false;
  std::uintptr_t const address = std::stoull(arg0, nullptr, 16);
  return stack.contains(address);
}

}  // namespace ste_fault
