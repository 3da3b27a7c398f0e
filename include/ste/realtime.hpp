// SPDX-License-Identifier: MIT
// ste/realtime.hpp — what a real-time ste thread asks of the OS scheduler.
//
//   ste::thread audio = ste::builder()
//       .name("audio")
//       .realtime({.priority = 70})   // SCHED_FIFO 70 on Linux, before the prelude runs
//       .cpu_affinity({1})            // and only on CPU 1
//       .build();                     // throws std::system_error if the OS refuses
//   bool rt = audio.is_realtime();    // true
//
//   // Best effort: real-time if the OS allows it, normal scheduling otherwise.
//   ste::thread t = ste::builder().realtime({.required = false}).build();
//
// What each platform does with it:
//   - Linux: SCHED_FIFO at `priority` (1 lowest .. 99 highest; 0: default_priority),
//     with SCHED_RESET_ON_FORK (processes and threads it starts begin with normal
//     scheduling), set by the new thread on itself before its prelude.
//     Allowed for root, for a process with CAP_SYS_NICE, or up to RLIMIT_RTPRIO
//     (`ulimit -r`); rtkit can raise a thread too, but ste does not ask it.
//   - Windows: the MMCSS task "Pro Audio" (AvSetMmThreadCharacteristicsW) with an AVRT
//     priority chosen from `priority`, reverted when the thread exits.
//   - macOS: the time-constraint policy (THREAD_TIME_CONSTRAINT_POLICY) from `period`
//     and `computation`; `priority` is not used. Written by construction, untested.
//   - Elsewhere: not supported (required: build() throws; not required: normal
//     scheduling).
#pragma once

#include <chrono>

namespace ste {

/// The real-time scheduling a ste thread asks for: builder::realtime(options). An
/// aggregate: `builder.realtime({.priority = 70, .required = false})`.
struct realtime_options {
  /// 0 asks for this one: SCHED_FIFO 88, the priority PipeWire gives its data threads
  /// (rt.prio = 88 in its shipped configuration) — an audio thread of the program runs
  /// level with the audio graph that drives it, above ordinary real-time work and below
  /// the kernel's watchdog threads (99); it is within the `rtprio 95` that distributions
  /// grant their `audio` group.
  static constexpr int default_priority = 88;

  /// Linux: the SCHED_FIFO priority, 1 (lowest) .. 99 (highest); 0: default_priority.
  /// Windows: mapped onto an AVRT priority of the "Pro Audio" task (0-19 very low,
  /// 20-39 low, 40-59 normal, 60-79 high, 80-99 critical; 0 counts as 88: critical).
  /// macOS: not used. Outside 0..99, build() throws std::invalid_argument.
  int priority = 0;

  /// The audio period and the work done in each period. macOS builds its
  /// time-constraint policy from them (0: a 2.9 ms period — 128 frames at 44.1 kHz —
  /// and 75 % of the period); Linux and Windows ignore them.
  std::chrono::nanoseconds period{0};
  std::chrono::nanoseconds computation{0};

  /// true: if the OS refuses real-time scheduling, build() throws std::system_error
  /// (saying how to allow it) and no thread is left behind. false: the thread then runs
  /// with normal scheduling, and thread::is_realtime() says false.
  bool required = true;
};

}  // namespace ste
