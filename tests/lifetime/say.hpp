// SPDX-License-Identifier: MIT
// What the lifetime helpers (tests/lifetime/*.cpp, run by tests/lifetime_test.cpp) share:
// a line printer that works from any thread at any point of the exit — one write(2) per
// line, nothing buffered (std::exit flushes stdio only after the handlers, and _exit
// never does), no static object of its own — and a gate that outlives every thread.
#pragma once

#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <cstring>
#include <thread>

#include "ste/ste.hpp"

namespace lifetime {

template <class... Args>
void say(char const* format, Args... args) {
  char line[256];
  int n = 0;
  if constexpr (sizeof...(Args) == 0)
    n = std::snprintf(line, sizeof line - 1, "%s", format);
  else
    n = std::snprintf(line, sizeof line - 1, format, args...);
  if (n < 0) return;
  if (n > static_cast<int>(sizeof line) - 2) n = static_cast<int>(sizeof line) - 2;
  line[n++] = '\n';
  (void)!::write(1, line, static_cast<std::size_t>(n));
}

// A one-shot gate made of one atomic: trivially destructible, so it can be defined
// anywhere and still be waited on by a thread that runs while the statics go. Waiting
// yields until the condition holds (no timeout: the test's alarm ends a hang).
class gate {
 public:
  // release / acquire: what the opener did before open() is seen after wait().
  void open() noexcept { open_.store(true, std::memory_order_release); }
  void wait() const noexcept {
    while (!open_.load(std::memory_order_acquire)) std::this_thread::yield();
  }

 private:
  std::atomic<bool> open_{false};
};

// For main while another thread ends the process: never returns (a return from main
// would be a second, concurrent exit), and sleeps rather than spins.
[[noreturn]] inline void wait_for_the_end() {
  for (;;) ::pause();
}

}  // namespace lifetime
