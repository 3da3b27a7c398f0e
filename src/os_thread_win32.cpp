// SPDX-License-Identifier: MIT
// The OS thread on Windows: CreateThread, named with SetThreadDescription; the loader
// lock and process exit seen from the calling thread (docs/design.md §17).
#include <atomic>
#include <cerrno>
#include <memory>
#include <string>

#ifndef NOMINMAX
#define NOMINMAX
#endif
#include <windows.h>
#include <winternl.h>

#include "os_thread.hpp"
#include "ste/detail/throw.hpp"

namespace ste::detail {

namespace {

// What the new thread runs, and the reference it holds on the module that contains
// ste's code (the .exe, or the DLL ste is linked into). With that reference a detached
// worker never runs unmapped code: FreeLibrary of that DLL leaves it loaded until the
// last worker has left ste's code, and that worker's FreeLibraryAndExitThread (code of
// kernel32, which stays mapped) lets it go.
struct win32_start {
  os_thread::entry_fn entry;
  void* arg;
  HMODULE module;
};

DWORD WINAPI trampoline(void* p) {
  HMODULE module = nullptr;
  {
    std::unique_ptr<win32_start> args(static_cast<win32_start*>(p));
    module = args->module;
    args->entry(args->arg);
  }  // nothing of ste's may run after this block: the module may be unmapped below
  FreeLibraryAndExitThread(module, 0);
}

// The C library's errno for what CreateThread reports, as _beginthreadex gave it.
int errno_of(DWORD error) noexcept {
  switch (error) {
    case ERROR_NOT_ENOUGH_MEMORY:
    case ERROR_OUTOFMEMORY:
    case ERROR_COMMITMENT_LIMIT:
      return ENOMEM;
    case ERROR_INVALID_PARAMETER:
      return EINVAL;
    default:
      return EAGAIN;
  }
}

}  // namespace

os_thread::os_thread(std::size_t stack_size, entry_fn entry, void* arg) {
  if (stack_size > 0xFFFFFFFFu) throw_stack_refused(EINVAL, stack_size);
  auto args = std::make_unique<win32_start>(win32_start{entry, arg, nullptr});
  if (!GetModuleHandleExW(GET_MODULE_HANDLE_EX_FLAG_FROM_ADDRESS,
                          reinterpret_cast<LPCWSTR>(&trampoline), &args->module))
    throw_thread_refused(errno_of(GetLastError()), stack_size, "GetModuleHandleExW");
  HANDLE h = CreateThread(nullptr, stack_size, &trampoline, args.get(),
                          STACK_SIZE_PARAM_IS_A_RESERVATION, nullptr);
  if (h == nullptr) {
    DWORD const error = GetLastError();
    FreeLibrary(args->module);
    throw_thread_refused(errno_of(error), stack_size, "CreateThread");
  }
  args.release();
  handle_ = h;
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

os_thread::loader os_thread::loader_state() noexcept {
  // RtlDllShutdownInProgress: true once ExitProcess has ended the other threads and
  // detaches the DLLs. Exported by ntdll (Windows XP on, and Wine), declared by no SDK
  // header. Looked up once; the answer is cached without a lock (a C++ static's guard
  // could wait on a thread that waits for the loader lock).
  using shutdown_fn = BOOLEAN(NTAPI*)();
  static std::atomic<shutdown_fn> shutdown{nullptr};
  shutdown_fn f = shutdown.load(std::memory_order_acquire);
  if (f == nullptr) {
    if (HMODULE ntdll = GetModuleHandleW(L"ntdll.dll"))
      f = reinterpret_cast<shutdown_fn>(
          reinterpret_cast<void (*)()>(GetProcAddress(ntdll, "RtlDllShutdownInProgress")));
    if (f != nullptr) shutdown.store(f, std::memory_order_release);
  }
  if (f != nullptr && f()) return loader::process_exit;

  // The loader lock is the critical section PEB::LoaderLock points to; its OwningThread
  // holds the owner's thread id. The field is not in the SDK's winternl.h PEB, but its
  // offset has been fixed since Windows NT (0x110 in 64-bit, 0xA0 in 32-bit processes;
  // Wine lays it out the same). Another thread may write the field meanwhile, but only
  // the owner ever writes its own id there, so the comparison cannot be fooled.
  constexpr std::size_t loader_lock_offset = sizeof(void*) == 8 ? 0x110 : 0xA0;
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Warray-bounds"  // g++ 12 misreads MinGW's __readgsqword
#endif
  auto const* peb =
      reinterpret_cast<unsigned char const*>(NtCurrentTeb()->ProcessEnvironmentBlock);
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic pop
#endif
  auto const* lock =
      *reinterpret_cast<RTL_CRITICAL_SECTION* const*>(peb + loader_lock_offset);
  if (lock == nullptr) return loader::free;
  auto const owner = reinterpret_cast<DWORD_PTR>(
      *reinterpret_cast<HANDLE const volatile*>(&lock->OwningThread));
  return owner == static_cast<DWORD_PTR>(GetCurrentThreadId()) ? loader::held : loader::free;
}

}  // namespace ste::detail
