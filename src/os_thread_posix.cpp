// SPDX-License-Identifier: MIT
// The OS thread on POSIX systems: raw pthreads (for the stack size).
#include <cerrno>
#include <climits>
#include <cstdint>
#include <memory>
#include <string>

#include <limits.h>
#include <pthread.h>
#include <unistd.h>
#if defined(__linux__)
#include <sys/prctl.h>
#endif

#include "os_thread.hpp"
#include "ste/detail/throw.hpp"

namespace ste::detail {

namespace {

#if defined(__linux__)
void set_os_name(std::string const& name) {
  pthread_setname_np(pthread_self(), truncate_utf8(name, 15).c_str());
}
void tighten_timer_slack() noexcept { prctl(PR_SET_TIMERSLACK, 1UL, 0UL, 0UL, 0UL); }
#elif defined(__APPLE__)
void set_os_name(std::string const& name) { pthread_setname_np(truncate_utf8(name, 63).c_str()); }
void tighten_timer_slack() noexcept {}
#else
void set_os_name(std::string const&) {}
void tighten_timer_slack() noexcept {}
#endif

}  // namespace

namespace {
void* ste_trampoline(void* p) {
  std::unique_ptr<start_args> args(static_cast<start_args*>(p));
  args->entry(args->arg);
  return nullptr;
}

struct attr_guard {
  pthread_attr_t attr{};
  attr_guard() {
    if (int rc = pthread_attr_init(&attr); rc != 0) throw_thread_attributes(rc);
  }
  ~attr_guard() { pthread_attr_destroy(&attr); }
};

// The stack size pthreads accept: at least PTHREAD_STACK_MIN, a whole number of pages.
std::size_t usable_stack_size(std::size_t requested) {
  std::size_t size = requested;
  std::size_t const min = static_cast<std::size_t>(PTHREAD_STACK_MIN);
  if (size < min) size = min;
  long const page = sysconf(_SC_PAGESIZE);
  std::size_t const p = page > 0 ? static_cast<std::size_t>(page) : 4096;
  if (size > SIZE_MAX - (p - 1)) throw_stack_refused(EINVAL, requested);
  return (size + p - 1) / p * p;
}
}  // namespace

os_thread::os_thread(std::size_t stack_size, entry_fn entry, void* arg) {
  attr_guard attr;
  if (stack_size != 0) {
    if (int rc = pthread_attr_setstacksize(&attr.attr, usable_stack_size(stack_size)); rc != 0)
      throw_stack_refused(rc, stack_size);
  }
  auto args = std::make_unique<start_args>(start_args{entry, arg});
  if (int rc = pthread_create(&handle_, &attr.attr, &ste_trampoline, args.get()); rc != 0) {
    if (stack_size != 0 && rc == EINVAL) throw_stack_refused(rc, stack_size);
    throw_thread_refused(rc, stack_size, "pthread_create");
  }
  args.release();
  joinable_ = true;
}

os_thread::~os_thread() {
  if (joinable_) detach();
}

void os_thread::join() noexcept {
  pthread_join(handle_, nullptr);
  joinable_ = false;
}

void os_thread::detach() noexcept {
  pthread_detach(handle_);
  joinable_ = false;
}

void os_thread::set_current_name(std::string const& name) noexcept {
  try {
    set_os_name(name);
  } catch (...) {
    // Naming is best effort.
  }
}

void os_thread::use_precise_timers() noexcept { tighten_timer_slack(); }

os_thread::loader os_thread::loader_state() noexcept { return loader::free; }

}  // namespace ste::detail
