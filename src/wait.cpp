// The platform wait primitive (see include/ste/detail/wait.hpp). One of three:
// - Linux: the futex syscall on the word itself (private futexes).
// - Windows: WaitOnAddress / WakeByAddress* (MinGW's std::atomic::wait loses wake-ups,
//   see shared/PLATFORM-NOTES.md, so it is not used there).
// - Elsewhere (macOS...): a parking lot: mutex + condition variable buckets hashed by
//   address, living in static storage, never in the waiter's frame.
#include "ste/detail/wait.hpp"

#include <climits>
#include <cstdint>

#if defined(__linux__)
#include <linux/futex.h>
#include <sched.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <ctime>
#elif defined(_WIN32)
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
#else
#include <condition_variable>
#include <mutex>
#endif

namespace ste::detail {

int current_cpu() noexcept {
#if defined(__linux__)
  return sched_getcpu();
#else
  return -1;
#endif
}

#if defined(__linux__)

namespace {
long futex(void const* address, int op, std::uint32_t value, timespec const* timeout) noexcept {
  // FUTEX_WAKE never dereferences `address`; FUTEX_WAIT reads it only to compare.
  return syscall(SYS_futex, address, op, value, timeout, nullptr, 0);
}
}  // namespace

void wait_on(std::atomic<std::uint32_t> const& word, std::uint32_t expected) noexcept {
  futex(&word, FUTEX_WAIT_PRIVATE, expected, nullptr);  // EINTR/EAGAIN: caller re-checks
}

bool wait_on_for(std::atomic<std::uint32_t> const& word, std::uint32_t expected,
                 std::chrono::nanoseconds timeout) noexcept {
  if (timeout <= timeout.zero()) return false;
  auto const secs = std::chrono::duration_cast<std::chrono::seconds>(timeout);
  timespec ts{};
  ts.tv_sec = static_cast<time_t>(secs.count());
  ts.tv_nsec = static_cast<long>((timeout - secs).count());
  return !(futex(&word, FUTEX_WAIT_PRIVATE, expected, &ts) == -1 && errno == ETIMEDOUT);
}

void wake_one(void const* address) noexcept { futex(address, FUTEX_WAKE_PRIVATE, 1, nullptr); }
void wake_all(void const* address) noexcept {
  futex(address, FUTEX_WAKE_PRIVATE, INT_MAX, nullptr);
}

#elif defined(_WIN32)

void wait_on(std::atomic<std::uint32_t> const& word, std::uint32_t expected) noexcept {
  WaitOnAddress(const_cast<std::atomic<std::uint32_t>*>(&word), &expected, sizeof expected,
                INFINITE);
}

bool wait_on_for(std::atomic<std::uint32_t> const& word, std::uint32_t expected,
                 std::chrono::nanoseconds timeout) noexcept {
  if (timeout <= timeout.zero()) return false;
  auto ms = std::chrono::ceil<std::chrono::milliseconds>(timeout).count();
  if (ms >= static_cast<long long>(INFINITE)) ms = INFINITE - 1;
  if (WaitOnAddress(const_cast<std::atomic<std::uint32_t>*>(&word), &expected, sizeof expected,
                    static_cast<DWORD>(ms)))
    return true;
  return GetLastError() != ERROR_TIMEOUT;
}

// WakeByAddress* use the address as a key only (the memory may already be freed).
void wake_one(void const* address) noexcept { WakeByAddressSingle(const_cast<void*>(address)); }
void wake_all(void const* address) noexcept { WakeByAddressAll(const_cast<void*>(address)); }

#else

namespace {
struct bucket {
  std::mutex mutex;
  std::condition_variable cv;
};
bucket& bucket_for(void const* address) noexcept {
  static bucket buckets[64];
  auto const h = reinterpret_cast<std::uintptr_t>(address);
  return buckets[(h >> 4) % 64];
}
}  // namespace

// A waiter checks the word under its bucket's lock; a waker locks the same bucket
// after changing the word. So either the waiter sees the change, or it is already
// inside cv.wait (lock released) when the waker notifies: no lost wake-up, and the
// waker touches only the bucket, never the word's memory.
void wait_on(std::atomic<std::uint32_t> const& word, std::uint32_t expected) noexcept {
  bucket& b = bucket_for(&word);
  std::unique_lock lock(b.mutex);
  if (word.load(std::memory_order_acquire) == expected) b.cv.wait(lock);
}

bool wait_on_for(std::atomic<std::uint32_t> const& word, std::uint32_t expected,
                 std::chrono::nanoseconds timeout) noexcept {
  bucket& b = bucket_for(&word);
  std::unique_lock lock(b.mutex);
  if (word.load(std::memory_order_acquire) != expected) return true;
  return b.cv.wait_for(lock, timeout) == std::cv_status::no_timeout;
}

void wake_one(void const* address) noexcept { wake_all(address); }  // buckets are shared
void wake_all(void const* address) noexcept {
  bucket& b = bucket_for(address);
  { std::lock_guard lock(b.mutex); }
  b.cv.notify_all();
}

#endif

}  // namespace ste::detail
