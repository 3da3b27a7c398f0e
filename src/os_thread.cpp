#include "os_thread.hpp"

#include <cerrno>
#include <memory>
#include <system_error>

#if defined(_WIN32)
#ifndef NOMINMAX
#define NOMINMAX
#endif
#include <process.h>
#include <windows.h>

#include <string>
#else
#include <limits.h>
#include <unistd.h>
#endif

namespace ste::detail {

namespace {

struct start_args {
  os_thread::entry_fn entry;
  void* arg;
};

// Truncates `name` to at most `limit` bytes without cutting a UTF-8 sequence in half.
std::string truncate_utf8(std::string const& name, std::size_t limit) {
  if (name.size() <= limit) return name;
  std::size_t end = limit;
  while (end > 0 && (static_cast<unsigned char>(name[end]) & 0xC0) == 0x80) --end;
  return name.substr(0, end);
}

}  // namespace

#if defined(_WIN32)

namespace {
unsigned __stdcall trampoline(void* p) {
  std::unique_ptr<start_args> args(static_cast<start_args*>(p));
  args->entry(args->arg);
  return 0;
}
}  // namespace

os_thread::os_thread(std::size_t stack_size, entry_fn entry, void* arg) {
  auto args = std::make_unique<start_args>(start_args{entry, arg});
  if (stack_size > 0xFFFFFFFFu)
    throw std::system_error(std::make_error_code(std::errc::invalid_argument),
                            "ste: stack_size too large for this platform");
  uintptr_t h = _beginthreadex(nullptr, static_cast<unsigned>(stack_size), &trampoline,
                               args.get(), STACK_SIZE_PARAM_IS_A_RESERVATION, nullptr);
  if (h == 0)
    throw std::system_error(errno, std::generic_category(),
                            "ste: the OS refused to create a thread");
  args.release();
  handle_ = reinterpret_cast<void*>(h);
  joinable_ = true;
}

os_thread::~os_thread() {
  if (joinable_) detach();
}

void os_thread::join() noexcept {
  WaitForSingleObject(handle_, INFINITE);
  CloseHandle(handle_);
  joinable_ = false;
}

void os_thread::detach() noexcept {
  CloseHandle(handle_);
  joinable_ = false;
}

void os_thread::set_current_name(std::string const& name) noexcept {
  // SetThreadDescription exists from Windows 10 1607; look it up so older systems and
  // MinGW headers that do not declare it still work.
  using set_fn = HRESULT(WINAPI*)(HANDLE, PCWSTR);
  HMODULE k32 = GetModuleHandleW(L"kernel32.dll");
  if (k32 == nullptr) return;
  auto set = reinterpret_cast<set_fn>(
      reinterpret_cast<void (*)()>(GetProcAddress(k32, "SetThreadDescription")));
  if (set == nullptr) return;
  try {
    std::string const n = truncate_utf8(name, 255);
    int len = MultiByteToWideChar(CP_UTF8, 0, n.c_str(), -1, nullptr, 0);
    if (len <= 0) return;
    std::wstring wide(static_cast<std::size_t>(len), L'\0');
    MultiByteToWideChar(CP_UTF8, 0, n.c_str(), -1, wide.data(), len);
    set(GetCurrentThread(), wide.c_str());
  } catch (...) {
    // Naming is best effort.
  }
}

#else

namespace {
void* ste_trampoline(void* p) {
  std::unique_ptr<start_args> args(static_cast<start_args*>(p));
  args->entry(args->arg);
  return nullptr;
}

struct attr_guard {
  pthread_attr_t attr{};
  attr_guard() {
    if (int rc = pthread_attr_init(&attr); rc != 0)
      throw std::system_error(rc, std::generic_category(), "ste: pthread_attr_init failed");
  }
  ~attr_guard() { pthread_attr_destroy(&attr); }
};

[[noreturn]] void throw_stack_error(int rc, std::size_t requested) {
  throw std::system_error(rc, std::generic_category(),
                          "ste: the OS cannot provide a thread stack of " +
                              std::to_string(requested) +
                              " bytes; choose a smaller builder::stack_size (0 = default)");
}
}  // namespace

os_thread::os_thread(std::size_t stack_size, entry_fn entry, void* arg) {
  attr_guard attr;
  if (stack_size != 0) {
    std::size_t size = stack_size;
    std::size_t const min = static_cast<std::size_t>(PTHREAD_STACK_MIN);
    if (size < min) size = min;
    long const page = sysconf(_SC_PAGESIZE);
    std::size_t const p = page > 0 ? static_cast<std::size_t>(page) : 4096;
    if (size > SIZE_MAX - (p - 1)) throw_stack_error(EINVAL, stack_size);
    size = (size + p - 1) / p * p;
    if (int rc = pthread_attr_setstacksize(&attr.attr, size); rc != 0)
      throw_stack_error(rc, stack_size);
  }
  auto args = std::make_unique<start_args>(start_args{entry, arg});
  if (int rc = pthread_create(&handle_, &attr.attr, &ste_trampoline, args.get()); rc != 0) {
    if (stack_size != 0 && rc == EINVAL) throw_stack_error(rc, stack_size);
    // EAGAIN is ambiguous: the per-user or system thread limit, or no memory for the
    // stack (glibc reports a failed stack mapping as EAGAIN too). Name both.
    std::string what = "ste: the OS refused to create a thread (pthread_create)";
    if (rc == EAGAIN || rc == ENOMEM) {
      what += ": the thread limit (RLIMIT_NPROC, /proc/sys/kernel/threads-max) is reached or "
              "there is no memory for ";
      what += stack_size != 0 ? "its stack of " + std::to_string(stack_size) + " bytes"
                              : "its stack";
      what += "; end some threads, raise the limit";
      if (stack_size != 0) what += ", or choose a smaller builder::stack_size";
    }
    throw std::system_error(rc, std::generic_category(), what);
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
#if defined(__APPLE__)
    pthread_setname_np(truncate_utf8(name, 63).c_str());
#elif defined(__linux__)
    pthread_setname_np(pthread_self(), truncate_utf8(name, 15).c_str());
#endif
  } catch (...) {
    // Naming is best effort.
  }
}

#endif

}  // namespace ste::detail
