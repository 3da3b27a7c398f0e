// SPDX-License-Identifier: MIT
// Real-time scheduling on platforms other than Linux and Windows.
//   - macOS: the time-constraint policy (THREAD_TIME_CONSTRAINT_POLICY), as Core Audio
//     gives its I/O threads. Written by construction and NOT compiled or tested here
//     (no macOS machine); it follows Apple's documented use of thread_policy_set.
//   - Anything else: real-time scheduling is not supported (required: build() throws
//     std::system_error; not required: normal scheduling).
// CPU affinity is not supported on either (macOS has no API that pins a thread):
// a non-empty builder::cpu_affinity makes build() throw std::system_error.
#include <chrono>
#include <cstdint>

#if defined(__APPLE__)
#include <mach/mach.h>
#include <mach/mach_time.h>
#include <mach/thread_policy.h>
#include <pthread.h>
#endif

#include "realtime.hpp"
#include "ste/detail/throw.hpp"

namespace ste::detail {

void check_cpus(std::span<int const> cpus) {
  if (!cpus.empty()) throw_affinity_unsupported();
}

placement_scope::~placement_scope() = default;

#if defined(__APPLE__)

namespace {
using std::chrono::nanoseconds;

// Mach absolute time units for `ns` (the timebase is 1/1 on Intel, 125/3 on Apple
// silicon).
std::uint32_t to_mach_units(nanoseconds ns) noexcept {
  mach_timebase_info_data_t base{};
  mach_timebase_info(&base);
  auto const units = static_cast<std::uint64_t>(ns.count()) * base.denom / base.numer;
  return units > UINT32_MAX ? UINT32_MAX : static_cast<std::uint32_t>(units);
}
}  // namespace

void placement_scope::apply(std::string const& thread_name,
                            std::optional<realtime_options> const& rt, std::span<int const> cpus) {
  if (!cpus.empty()) throw_affinity_unsupported();  // check_cpus refused it already
  if (!rt) return;
  // Defaults: a period of 128 frames at 44.1 kHz, 75 % of it to compute, done within
  // 85 % of it (the proportions Chromium's audio threads use). The constraint never
  // falls below the computation.
  nanoseconds const period = rt->period > nanoseconds(0) ? rt->period : nanoseconds(2'902'494);
  nanoseconds const computation =
      rt->computation > nanoseconds(0) ? rt->computation : period * 3 / 4;
  nanoseconds const constraint = computation > period * 85 / 100 ? computation : period * 85 / 100;
  thread_time_constraint_policy_data_t policy{};
  policy.period = to_mach_units(period);
  policy.computation = to_mach_units(computation);
  policy.constraint = to_mach_units(constraint);
  policy.preemptible = 1;
  kern_return_t const kr = thread_policy_set(
      pthread_mach_thread_np(pthread_self()), THREAD_TIME_CONSTRAINT_POLICY,
      reinterpret_cast<thread_policy_t>(&policy), THREAD_TIME_CONSTRAINT_POLICY_COUNT);
  if (kr == KERN_SUCCESS) {
    realtime_ = true;
    return;
  }
  if (rt->required)
    throw_time_constraint_refused(kr, thread_name, static_cast<long long>(period.count()),
                                  static_cast<long long>(computation.count()));
}

#else

void placement_scope::apply(std::string const& thread_name,
                            std::optional<realtime_options> const& rt, std::span<int const> cpus) {
  if (!cpus.empty()) throw_affinity_unsupported();  // check_cpus refused it already
  if (rt && rt->required) throw_realtime_unsupported(thread_name);
}

#endif

}  // namespace ste::detail
