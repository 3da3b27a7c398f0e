// SPDX-License-Identifier: MIT
// ste/site.hpp — where a task was handed over: ste::site, and what on_error and the
// stall watchdog are told about a task (ste::task_info, ste::stall_info).
//
// Every hand-off (submit*, post*, destroy, spawn, make_notifier) takes a trailing
// `ste::site where = ste::site::current()`, so the caller's file, line and function are
// kept with the task — three words in the task record, no allocation:
//
//   thread.post([] { throw std::runtime_error("boom"); });   // main.cpp:12, in main
//   // on_error([](std::exception_ptr, ste::task_info const& t) { … t.site.line() … })
//
// A wrapper of its own passes its caller's site on:
//   void post_logged(F f, ste::site where = ste::site::current()) { t.post(f, where); }
#pragma once

#include <chrono>
#include <cstdint>
#include <string_view>
#include <version>

#if defined(__cpp_lib_source_location)
#include <source_location>
#endif

#include "ste/tag.hpp"

namespace ste {

/// A source location: std::source_location where the standard library has it, the
/// compiler's builtins where it does not (libc++ 14; clang 14 with libstdc++ 12) —
/// the file and line are the same either way; function() is the compiler's name of the
/// enclosing function (e.g. "main", or "int main()" with g++'s source_location).
/// Default-constructed it is empty: file() and function() are "", line() is 0.
class site {
 public:
  constexpr site() noexcept = default;

  /// A place given by hand (a file, a line, a function name; null pointers read as "").
  constexpr site(char const* file, std::uint_least32_t line, char const* function) noexcept
      : file_(file != nullptr ? file : ""),
        function_(function != nullptr ? function : ""),
        line_(line) {}

#if defined(__cpp_lib_source_location)
  /// The caller's location (used as a default argument: the location of that call).
  static constexpr site current(
      std::source_location where = std::source_location::current()) noexcept {
    return site(where.file_name(), where.line(), where.function_name());
  }
#else
  static constexpr site current(char const* file = __builtin_FILE(),
                                unsigned line = __builtin_LINE(),
                                char const* function = __builtin_FUNCTION()) noexcept {
    return site(file, line, function);
  }
#endif

  constexpr char const* file() const noexcept { return file_; }
  constexpr std::uint_least32_t line() const noexcept { return line_; }
  constexpr char const* function() const noexcept { return function_; }
  /// Whether this names no place (line() is 0).
  constexpr bool empty() const noexcept { return line_ == 0; }

 private:
  char const* file_ = "";
  char const* function_ = "";
  std::uint_least32_t line_ = 0;
};

/// What on_error is told about the task whose exception it receives.
struct task_info {
  ste::site site;         // where the task was handed over; empty for the postlude
  ste::tag tag;           // the thread it ran on
  std::string_view name;  // that thread's name (valid during the on_error call)
};

/// What an on_stall handler is told about a task that has run longer than its threshold.
struct stall_info {
  std::string_view name;  // the thread's name: valid while the thread's handle lives
  ste::tag tag;
  ste::site site;                    // where the task was handed over
  std::chrono::nanoseconds elapsed;  // how long it has run so far
};

/// A thread's counters since it started (thread::stats()).
struct thread_stats {
  std::uint64_t accepted = 0;     // tasks accepted (a withdrawn submit_for is not counted)
  std::uint64_t completed = 0;    // tasks that ran to their end
  std::uint64_t queued = 0;       // accepted, not started yet, now
  std::uint64_t peak_queued = 0;  // the most that were queued at once
  std::chrono::nanoseconds busy{0};     // time spent running tasks (on_stall threads only)
  std::chrono::nanoseconds longest{0};  // the longest task (on_stall threads only)
  ste::site longest_site;               // and where it was handed over
};

}  // namespace ste
