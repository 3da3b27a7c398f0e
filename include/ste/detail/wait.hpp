// SPDX-License-Identifier: MIT
// ste/detail/wait.hpp — the platform wait primitive and the bounded spin before it.
//
// - wait_on / wait_on_for block while a 32-bit word holds an expected value
//   (futex on Linux, WaitOnAddress on Windows, a hashed parking lot elsewhere; one
//   source file each, chosen by CMake).
// - wake_one / wake_all take only an address and never dereference it, so a waker may
//   call them after the word's owner has returned and its frame is gone (the "last
//   touch" rule in docs/design.md): the kernel (or the parking lot) uses the address
//   as a key only.
// - spin_until is the bounded spin that precedes every sleep (wait_policy.hpp has its
//   numbers); then the caller sleeps in the kernel.
//
// All waits may return spuriously; every caller re-checks its condition in a loop.
#pragma once

#include "ste/export.hpp"

#include <atomic>
#include <bit>
#include <chrono>
#include <cstdint>
#include <thread>
#include <utility>

#include "ste/detail/wait_policy.hpp"

namespace ste::detail {

static_assert(sizeof(std::atomic<std::uint32_t>) == sizeof(std::uint32_t),
              "futex-style waits need a plain 32-bit atomic");
static_assert(std::atomic<std::uint32_t>::is_always_lock_free);
static_assert(std::atomic<std::uintptr_t>::is_always_lock_free);
static_assert(sizeof(std::atomic<std::uintptr_t>) == sizeof(std::uintptr_t));

/// Blocks while `word == expected` (may return spuriously). Does not allocate.
STE_API void wait_on(std::atomic<std::uint32_t> const& word, std::uint32_t expected) noexcept;

/// As wait_on, for at most `timeout`. Returns false when the timeout elapsed.
STE_API bool wait_on_for(std::atomic<std::uint32_t> const& word, std::uint32_t expected,
                 std::chrono::nanoseconds timeout) noexcept;

/// As wait_on / wait_on_for, for a pointer-sized word (a ste thread's inbox): blocks
/// while `word == expected`. The Linux futex compares 32 bits only — the word's least
/// significant half — so the word's owner must make every change it must not miss change
/// that half (the inbox sets a "not empty" bit with every push). Wake it with wake_one(word_key(&w)).
STE_API void wait_on_word(std::atomic<std::uintptr_t> const& word, std::uintptr_t expected) noexcept;
STE_API bool wait_on_word_for(std::atomic<std::uintptr_t> const& word, std::uintptr_t expected,
                      std::chrono::nanoseconds timeout) noexcept;
/// The address the kernel keys a wait on `word` by (its least significant 32 bits).
/// Pointer arithmetic only: the word may already be dead memory when a waker uses it.
inline void const* word_key(std::atomic<std::uintptr_t> const* word) noexcept {
  auto const* p = reinterpret_cast<unsigned char const*>(word);
  if constexpr (sizeof(std::uintptr_t) > 4 && std::endian::native == std::endian::big)
    p += sizeof(std::uintptr_t) - 4;
  return p;
}

/// Wakes one / all threads waiting on `address`. The address is a key only: it is never
/// read or written, so it may already be dead memory.
STE_API void wake_one(void const* address) noexcept;
STE_API void wake_all(void const* address) noexcept;

/// One spin-loop hint (`pause` on x86): cheap, and gives the sibling hyper-thread room.
inline void cpu_relax() noexcept {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#elif defined(__aarch64__) || defined(__arm__)
  asm volatile("yield" ::: "memory");
#elif defined(_M_X64) || defined(_M_IX86)
  _mm_pause();
#endif
}

/// Asks the CPU to bring the cache line at `p` in for writing, ahead of use. A hint: it
/// never faults, whatever `p` points to (even nothing), and has no visible effect.
inline void prefetch_for_write(void const* p) noexcept {
#if defined(__GNUC__) || defined(__clang__)
  __builtin_prefetch(p, 1, 3);
#else
  (void)p;
#endif
}

/// The CPU the calling thread runs on now, or -1 where the platform cannot tell
/// (Linux: sched_getcpu, a vDSO call of a few ns). A hint: threads migrate.
STE_API int current_cpu() noexcept;

/// `left`, as a kernel timeout of at most wait_policy::longest_sleep.
template <class Duration>
std::chrono::nanoseconds sleep_slice(Duration left) noexcept {
  if (left > wait_policy::longest_sleep) return wait_policy::longest_sleep;
  return std::chrono::ceil<std::chrono::nanoseconds>(left);
}

/// How a spin_wait ended.
enum class spin_end : std::uint8_t {
  quickly,    // done() held within the `pause` phase (a few µs at most)
  after_yields,  // done() held in the `yield` phase, within the budget
  spent,      // the budget was spent and done() still did not hold
};

/// The waiting strategy: returns as soon as `done()` holds, or once the spin budget
/// (`budget`; zero: one look, no spin) is spent (the caller then sleeps in the kernel).
/// A short `pause` spin catches a peer running on another CPU; the `yield` phase hands
/// the CPU over when both threads share one. When the peer last ran on this very CPU
/// (`peer_cpu`), pausing would only delay it: yield at once. The clock is read only in
/// the `yield` phase, so a peer caught by the `pause` spin costs no clock read.
/// `yield_start`, if given, receives when the `yield` phase began (spin_end::quickly:
/// untouched; a zero budget: now).
template <class Done>
spin_end spin_wait(Done&& done, int peer_cpu = -1,
                   std::chrono::nanoseconds budget = wait_policy::spin_budget,
                   std::chrono::steady_clock::time_point* yield_start = nullptr) noexcept {
  if (budget <= std::chrono::nanoseconds::zero()) {
    if (done()) return spin_end::quickly;
    if (yield_start != nullptr) *yield_start = std::chrono::steady_clock::now();
    return spin_end::spent;
  }
  bool const share_cpu = peer_cpu >= 0 && peer_cpu == current_cpu();
  for (int i = share_cpu ? wait_policy::spin_pauses : 0; i < wait_policy::spin_pauses; ++i) {
    if (done()) return spin_end::quickly;
    cpu_relax();
  }
  auto const start = std::chrono::steady_clock::now();
  if (yield_start != nullptr) *yield_start = start;
  do {
    if (done()) return spin_end::after_yields;
    std::this_thread::yield();
  } while (std::chrono::steady_clock::now() - start < budget);
  return done() ? spin_end::after_yields : spin_end::spent;
}

/// spin_wait, as a yes/no: true as soon as `done()` holds, false once the budget is spent.
template <class Done>
bool spin_until(Done&& done, int peer_cpu = -1,
                std::chrono::nanoseconds budget = wait_policy::spin_budget) noexcept {
  return spin_wait(std::forward<Done>(done), peer_cpu, budget) != spin_end::spent;
}

}  // namespace ste::detail
