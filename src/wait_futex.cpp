// SPDX-License-Identifier: MIT
// The wait primitive on Linux (include/ste/detail/wait.hpp): the futex syscall on the
// word itself (private futexes).
#include <linux/futex.h>
#include <sched.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstdint>
#include <ctime>

#include "ste/detail/wait.hpp"

namespace ste::detail {

int current_cpu() noexcept { return sched_getcpu(); }

namespace {
long futex(void const* address, int op, std::uint32_t value, timespec const* timeout) noexcept {
  // FUTEX_WAKE never dereferences `address`; FUTEX_WAIT reads it only to compare.
  return syscall(SYS_futex, address, op, value, timeout, nullptr, 0);
}

// FUTEX_WAIT on the 32 bits at `address` for at most `timeout`; false once it elapsed.
bool futex_wait_for(void const* address, std::uint32_t expected,
                    std::chrono::nanoseconds timeout) noexcept {
  if (timeout <= timeout.zero()) return false;
  auto const secs = std::chrono::duration_cast<std::chrono::seconds>(timeout);
  timespec ts{};
  ts.tv_sec = static_cast<time_t>(secs.count());
  ts.tv_nsec = static_cast<long>((timeout - secs).count());
  return !(futex(address, FUTEX_WAIT_PRIVATE, expected, &ts) == -1 && errno == ETIMEDOUT);
}
}  // namespace

void wait_on(std::atomic<std::uint32_t> const& word, std::uint32_t expected) noexcept {
  futex(&word, FUTEX_WAIT_PRIVATE, expected, nullptr);  // EINTR/EAGAIN: caller re-checks
}

bool wait_on_for(std::atomic<std::uint32_t> const& word, std::uint32_t expected,
                 std::chrono::nanoseconds timeout) noexcept {
  return futex_wait_for(&word, expected, timeout);
}

// The futex compares the word's least significant 32 bits (word_key): a change of only
// the upper half is missed, which the inbox rules out (include/ste/detail/mailbox.hpp).
void wait_on_word(std::atomic<std::uintptr_t> const& word, std::uintptr_t expected) noexcept {
  futex(word_key(&word), FUTEX_WAIT_PRIVATE, static_cast<std::uint32_t>(expected), nullptr);
}

bool wait_on_word_for(std::atomic<std::uintptr_t> const& word, std::uintptr_t expected,
                      std::chrono::nanoseconds timeout) noexcept {
  return futex_wait_for(word_key(&word), static_cast<std::uint32_t>(expected), timeout);
}

void wake_one(void const* address) noexcept { futex(address, FUTEX_WAKE_PRIVATE, 1, nullptr); }
void wake_all(void const* address) noexcept {
  futex(address, FUTEX_WAKE_PRIVATE, INT_MAX, nullptr);
}

}  // namespace ste::detail
