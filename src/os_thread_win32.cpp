// SPDX-License-Identifier: MIT
// The OS thread on Windows: _beginthreadex, named with SetThreadDescription.
#include <cerrno>
#include <memory>
#include <string>

#ifndef NOMINMAX
#define NOMINMAX
#endif
#include <process.h>
#include <windows.h>

#include "os_thread.hpp"
#include "ste/detail/throw.hpp"

namespace ste::detail {

namespace {
unsigned __stdcall trampoline(void* p) {
  std::unique_ptr<start_args> args(static_cast<start_args*>(p));
  args->entry(args->arg);
  return 0;
}
}  // namespace

os_thread::os_thread(std::size_t stack_size, entry_fn entry, void* arg) {
  auto args = std::make_unique<start_args>(start_args{entry, arg});
  if (stack_size > 0xFFFFFFFFu) throw_stack_refused(EINVAL, stack_size);
  uintptr_t h = _beginthreadex(nullptr, static_cast<unsigned>(stack_size), &trampoline,
                               args.get(), STACK_SIZE_PARAM_IS_A_RESERVATION, nullptr);
  if (h == 0) throw_thread_refused(errno, stack_size, "_beginthreadex");
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

void os_thread::use_precise_timers() noexcept {}

}  // namespace ste::detail
