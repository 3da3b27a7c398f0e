// The OS thread behind a ste thread: raw pthreads on POSIX (for the stack size),
// _beginthreadex on Windows. Private to the library.
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

 private:
#if defined(_WIN32)
  void* handle_ = nullptr;
#else
  pthread_t handle_{};
#endif
  bool joinable_ = false;
};

}  // namespace ste::detail
