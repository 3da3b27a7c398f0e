// SPDX-License-Identifier: MIT
// The wait primitive on Windows (include/ste/detail/wait.hpp): WaitOnAddress and
// WakeByAddress*. (MinGW's std::atomic::wait loses wake-ups, so it is not used.)
#ifndef NOMINMAX
#define NOMINMAX
#endif
// WaitOnAddress is declared for Windows 8 (0x0602) and later only. A build that targets
// an older version explicitly gets 0x0602 in this file; without _WIN32_WINNT the SDK
// (and MinGW-w64) defaults to a newer target anyway.
#if defined(_WIN32_WINNT) && _WIN32_WINNT < 0x0602
#undef _WIN32_WINNT
#define _WIN32_WINNT 0x0602
#endif
#include <windows.h>
#if defined(_MSC_VER)
#pragma comment(lib, "synchronization.lib")  // WaitOnAddress; CMake links it too
#endif

#include <cstddef>
#include <cstdint>

#include "ste/detail/wait.hpp"

namespace ste::detail {

int current_cpu() noexcept { return -1; }

namespace {
// WaitOnAddress on the `size` bytes at `address` (holding `expected`) for at most
// `timeout`; false once it elapsed. Timeouts are whole milliseconds, rounded up.
bool wait_for(void const* address, void const* expected, std::size_t size,
              std::chrono::nanoseconds timeout) noexcept {
  if (timeout <= timeout.zero()) return false;
  auto ms = std::chrono::ceil<std::chrono::milliseconds>(timeout).count();
  if (ms >= static_cast<long long>(INFINITE)) ms = INFINITE - 1;
  if (WaitOnAddress(const_cast<void*>(address), const_cast<void*>(expected), size,
                    static_cast<DWORD>(ms)))
    return true;
  return GetLastError() != ERROR_TIMEOUT;
}
}  // namespace

void wait_on(std::atomic<std::uint32_t> const& word, std::uint32_t expected) noexcept {
  WaitOnAddress(const_cast<std::atomic<std::uint32_t>*>(&word), &expected, sizeof expected,
                INFINITE);
}

bool wait_on_for(std::atomic<std::uint32_t> const& word, std::uint32_t expected,
                 std::chrono::nanoseconds timeout) noexcept {
  return wait_for(&word, &expected, sizeof expected, timeout);
}

// WaitOnAddress compares the whole pointer-sized word; word_key is its address here
// (x86 and ARM Windows are little-endian).
void wait_on_word(std::atomic<std::uintptr_t> const& word, std::uintptr_t expected) noexcept {
  WaitOnAddress(const_cast<std::atomic<std::uintptr_t>*>(&word), &expected, sizeof expected,
                INFINITE);
}

bool wait_on_word_for(std::atomic<std::uintptr_t> const& word, std::uintptr_t expected,
                      std::chrono::nanoseconds timeout) noexcept {
  return wait_for(&word, &expected, sizeof expected, timeout);
}

// WakeByAddress* use the address as a key only (the memory may already be freed).
void wake_one(void const* address) noexcept { WakeByAddressSingle(const_cast<void*>(address)); }
void wake_all(void const* address) noexcept { WakeByAddressAll(const_cast<void*>(address)); }

}  // namespace ste::detail
