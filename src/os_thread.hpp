// SPDX-License-Identifier: MIT
// The OS thread behind a ste thread: raw pthreads on POSIX (for the stack size),
// CreateThread on Windows (the thread holds a reference on ste's module and exits with
// FreeLibraryAndExitThread); one source file each (os_thread_posix.cpp,
// os_thread_win32.cpp), chosen by CMake. Private to the library.
#pragma once

#include <cstddef>
#include <string>

#if defined(_WIN32)
#include <cstdint>
#else
#include <pthread.h>
#endif

namespace ste::detail {

class os_thread {
 public:
  using entry_fn = void (*)(void*);

  /// Starts entry(arg) on a new thread with `stack_size` bytes of stack (0: the
  /// platform default; rounded up to the platform minimum and page size).
  /// Throws std::system_error when the OS refuses.
  os_thread(std::size_t stack_size, entry_fn entry, void* arg);
  os_thread(os_thread const&) = delete;
  os_thread& operator=(os_thread const&) = delete;
  ~os_thread();  // detaches if neither join() nor detach() was called

  void join() noexcept;
  void detach() noexcept;

  /// Names the calling thread, truncated to the platform limit on a UTF-8 boundary.
  static void set_current_name(std::string const& name) noexcept;

  /// Asks the OS to fire the calling thread's timers on time rather than batched
  /// (Linux: 1 ns timer slack instead of 50 µs). Best effort.
  static void use_precise_timers() noexcept;

  /// Where the calling thread stands with the Windows loader (docs/design.md §17);
  /// always `free` elsewhere.
  /// - `held`: it holds the loader lock (it runs inside DllMain: a DLL's static
  ///   constructor or destructor, LoadLibrary, FreeLibrary). No thread can start or
  ///   exit until it lets go, so waiting for either deadlocks.
  /// - `process_exit`: ExitProcess has ended every other thread and detaches the DLLs.
  ///   A ste worker is gone, perhaps in the middle of a task or holding a lock: nothing
  ///   it shared may be waited for.
  enum class loader : unsigned char { free, held, process_exit };
  static loader loader_state() noexcept;

 private:
#if defined(_WIN32)
  void* handle_ = nullptr;
#else
  pthread_t handle_{};
#endif
  bool joinable_ = false;
};

/// `name` cut to at most `limit` bytes without splitting a UTF-8 sequence.
inline std::string truncate_utf8(std::string const& name, std::size_t limit) {
  if (name.size() <= limit) return name;
  std::size_t end = limit;
  while (end > 0 && (static_cast<unsigned char>(name[end]) & 0xC0) == 0x80) --end;
  return name.substr(0, end);
}

/// What the new thread runs: entry(arg). Heap-allocated by the starter, freed by the
/// new thread.
struct start_args {
  os_thread::entry_fn entry;
  void* arg;
};

}  // namespace ste::detail
