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
