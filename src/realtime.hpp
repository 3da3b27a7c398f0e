// SPDX-License-Identifier: MIT
// Real-time scheduling and CPU affinity of a ste thread (builder::realtime,
// builder::cpu_affinity). One source file per platform, chosen by CMake:
// realtime_linux.cpp (SCHED_FIFO, sched_setaffinity), realtime_win32.cpp (MMCSS,
// SetThreadAffinityMask), realtime_other.cpp (macOS time-constraint policy; elsewhere
// not supported). Private to the library.
//
// Two steps, on two threads:
//   - check_cpus runs on the thread calling build(), before any thread exists, so that a
//     CPU list the OS can never honour is refused without starting anything;
//   - placement_scope::apply runs on the new thread itself, first thing (before the
//     prelude), and its destructor undoes what needs undoing as the thread exits.
#pragma once

#include <optional>
#include <span>
#include <string>

#include "ste/realtime.hpp"

namespace ste::detail {

/// The priority a request stands for (0: the default). `o.priority` is within 0..99.
constexpr int requested_priority(realtime_options const& o) noexcept {
  return o.priority == 0 ? realtime_options::default_priority : o.priority;
}

/// `has(cpu)` for cpu in [0, limit) written as a list of ranges: "0-3,6".
template <class Has>
std::string format_cpu_list(Has has, int limit) {
  std::string out;
  for (int cpu = 0; cpu < limit; ++cpu) {
    if (!has(cpu)) continue;
    int last = cpu;
    while (last + 1 < limit && has(last + 1)) ++last;
    if (!out.empty()) out += ',';
    out += std::to_string(cpu);
    if (last != cpu) out += '-' + std::to_string(last);
    cpu = last;
  }
  return out.empty() ? "none" : out;
}

/// Throws std::system_error naming the first CPU of `cpus` (each >= 0) that does not
/// exist or that the process may not use; throw_affinity_unsupported where ste cannot
/// restrict threads to CPUs and `cpus` is not empty.
void check_cpus(std::span<int const> cpus);

/// What a new ste thread applies to itself before its prelude, and undoes as it exits.
class placement_scope {
 public:
  placement_scope() noexcept = default;
  placement_scope(placement_scope const&) = delete;
  placement_scope& operator=(placement_scope const&) = delete;
  ~placement_scope();  // Windows: leaves the MMCSS task (AvRevertMmThreadCharacteristics)

  /// Restricts the calling thread to `cpus` (empty: leaves its affinity alone), then
  /// gives it the real-time scheduling `rt` asks for (none: leaves it alone). Throws
  /// std::system_error when the OS refuses the CPUs, or refuses real-time scheduling
  /// that is required; a refused optional request leaves normal scheduling.
  void apply(std::string const& thread_name, std::optional<realtime_options> const& rt,
             std::span<int const> cpus);

  /// Whether apply() obtained the real-time scheduling asked for.
  bool realtime() const noexcept { return realtime_; }

 private:
  bool realtime_ = false;
#if defined(_WIN32)
  void* mmcss_ = nullptr;  // the AVRT handle the destructor reverts
#endif
};

}  // namespace ste::detail
