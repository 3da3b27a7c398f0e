// SPDX-License-Identifier: MIT
// Real-time scheduling and CPU affinity on Windows: the MMCSS task "Pro Audio"
// (AvSetMmThreadCharacteristicsW + AvSetMmThreadPriority, avrt.dll), left with
// AvRevertMmThreadCharacteristics as the thread exits; CPUs through
// SetThreadAffinityMask (the first 64 CPUs: the process's processor group).
//
// Wine (8.0, the `windows` preset): avrt.dll exists and its calls succeed without
// changing anything (see README, "Real-time threads"); SetThreadAffinityMask works.
#include <cstddef>
#include <cstdint>
#include <system_error>

#ifndef NOMINMAX
#define NOMINMAX
#endif
#include <windows.h>
// windows.h first: avrt.h relies on its types.
#include <avrt.h>

#include "realtime.hpp"
#include "ste/detail/throw.hpp"

namespace ste::detail {

namespace {

constexpr int kMaskBits = static_cast<int>(sizeof(DWORD_PTR) * 8);

bool in_mask(DWORD_PTR mask, int cpu) noexcept {
  return cpu >= 0 && cpu < kMaskBits && (mask >> cpu & 1u) != 0;
}

// The AVRT priority for a ste priority (1..99), in five bands of twenty.
struct avrt_level {
  AVRT_PRIORITY value;
  char const* name;
};
avrt_level avrt_priority(int priority) noexcept {
  if (priority < 20) return {AVRT_PRIORITY_VERYLOW, "AVRT_PRIORITY_VERYLOW"};
  if (priority < 40) return {AVRT_PRIORITY_LOW, "AVRT_PRIORITY_LOW"};
  if (priority < 60) return {AVRT_PRIORITY_NORMAL, "AVRT_PRIORITY_NORMAL"};
  if (priority < 80) return {AVRT_PRIORITY_HIGH, "AVRT_PRIORITY_HIGH"};
  return {AVRT_PRIORITY_CRITICAL, "AVRT_PRIORITY_CRITICAL"};
}

std::error_code last_error() noexcept {
  return {static_cast<int>(GetLastError()), std::system_category()};
}

}  // namespace

void check_cpus(std::span<int const> cpus) {
  if (cpus.empty()) return;
  DWORD_PTR process = 0;
  DWORD_PTR system = 0;
  // Failure: let the new thread's SetThreadAffinityMask have the last word.
  if (GetProcessAffinityMask(GetCurrentProcess(), &process, &system) == 0) return;
  int count = 0;
  for (int cpu = 0; cpu < kMaskBits; ++cpu)
    if (in_mask(system, cpu)) count = cpu + 1;
  for (int cpu : cpus)
    if (!in_mask(system, cpu)) throw_cpu_missing(cpu, count);
  for (int cpu : cpus)
    if (!in_mask(process, cpu))
      throw_cpu_not_allowed(cpu,
                            format_cpu_list([&](int c) { return in_mask(process, c); }, kMaskBits));
}

placement_scope::~placement_scope() {
  if (mmcss_ != nullptr) AvRevertMmThreadCharacteristics(static_cast<HANDLE>(mmcss_));
}

void placement_scope::apply(std::string const& thread_name,
                            std::optional<realtime_options> const& rt, std::span<int const> cpus) {
  if (!cpus.empty()) {
    DWORD_PTR mask = 0;
    for (int cpu : cpus) mask |= DWORD_PTR{1} << cpu;  // 0..63: check_cpus saw to it
    if (SetThreadAffinityMask(GetCurrentThread(), mask) == 0)
      throw_affinity_refused(last_error(), thread_name, "SetThreadAffinityMask");
  }
  if (!rt) return;
  int const priority = requested_priority(*rt);
  avrt_level const level = avrt_priority(priority);
  DWORD task_index = 0;  // 0: let MMCSS pick a new task index
  HANDLE const task = AvSetMmThreadCharacteristicsW(L"Pro Audio", &task_index);
  std::error_code error;
  char const* failed_call = nullptr;
  if (task == nullptr) {
    error = last_error();
    failed_call = "AvSetMmThreadCharacteristicsW";
  } else if (AvSetMmThreadPriority(task, level.value) == 0) {
    error = last_error();
    failed_call = "AvSetMmThreadPriority";
    AvRevertMmThreadCharacteristics(task);
  } else {
    mmcss_ = task;
    realtime_ = true;
    return;
  }
  if (rt->required) throw_mmcss_refused(error, thread_name, priority, level.name, failed_call);
  // Not required: the thread keeps the scheduling it was created with.
}

}  // namespace ste::detail
