// SPDX-License-Identifier: MIT
// ste/detail/wait_policy.hpp — every number that decides how a ste thread waits.
//
// One place for the waiting policy: how long a waiter spins before it sleeps in the
// kernel, how far timed sleeps reach. Measured on the 2-vCPU
// machine (docs/design.md, "Waiting"); change them here and nowhere else.
#pragma once

#include <chrono>
#include <cstddef>

namespace ste::detail::wait_policy {

/// The bound on busy waiting before a thread sleeps in the kernel (≤ 50 µs).
inline constexpr std::chrono::microseconds spin_budget{50};

/// The worker's idle spin adapts (core::wait_for_work_locked): full after an idle spell
/// a spin of spin_budget would have covered, divided by this after one it would not,
/// and none below idle_spin_floor. So a worker fed at a steady pace slower than the
/// budget (an audio callback every few ms) sleeps at once instead of burning 50 µs per
/// wake-up, which under CPU load also costs it the scheduler's wake-up preference.
inline constexpr int idle_spin_decay = 4;
inline constexpr std::chrono::nanoseconds idle_spin_floor{1000};

/// `pause`s before a spinning waiter starts yielding (skipped when the peer last ran
/// on the waiter's own CPU: pausing would only delay it).
inline constexpr int spin_pauses = 64;

/// A submitter spins for its result only when fewer tasks than this were queued ahead
/// of it; with more, the wait will be long and spinning would take the worker's CPU.
inline constexpr std::size_t spin_when_ahead_below = 2;

/// Timed kernel waits sleep in slices of at most this: keeps the conversion to
/// nanoseconds from overflowing for far deadlines, and re-reads the caller's clock.
inline constexpr std::chrono::hours longest_sleep{1};

}  // namespace ste::detail::wait_policy
