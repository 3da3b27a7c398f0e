// SPDX-License-Identifier: MIT
// platform.hpp — the few OS services the peer comparison needs: clocks, CPU pinning and
// a description of the machine. Linux only (pthread_setaffinity_np, per-thread CPU
// clocks); ste_compare is not built elsewhere.
#pragma once

#include <pthread.h>
#include <time.h>

#include <cstdint>
#include <latch>
#include <string>
#include <vector>

namespace bench {

/// CLOCK_MONOTONIC in ns: what steady_clock reads, through the vDSO (no syscall).
inline std::int64_t now_ns() noexcept {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return std::int64_t{ts.tv_sec} * 1'000'000'000 + ts.tv_nsec;
}

/// A CPU time clock (CLOCK_THREAD_CPUTIME_ID, or another thread's clockid) in ns.
inline std::int64_t cpu_ns(clockid_t clock) noexcept {
  timespec ts{};
  clock_gettime(clock, &ts);
  return std::int64_t{ts.tv_sec} * 1'000'000'000 + ts.tv_nsec;
}

/// The CPUs this process may run on (sched_getaffinity), lowest first.
std::vector<int> allowed_cpus();

/// Pins the calling thread to one CPU. Returns false when the OS refuses.
bool try_pin_current_thread(int cpu) noexcept;

/// As try_pin_current_thread, but a refusal is fatal: a measurement that asked for a
/// placement and silently did not get it would report numbers for the wrong placement.
void pin_current_thread(int cpu) noexcept;

/// True when two fresh threads can be pinned to `a` and `b` respectively.
bool pinning_works(int a, int b);

/// Puts the calling thread under SCHED_FIFO at `priority` (1..99). Returns the
/// pthread_setschedparam error (0 on success; EPERM without root, CAP_SYS_NICE or
/// RLIMIT_RTPRIO).
int try_set_fifo_current_thread(int priority) noexcept;

/// As try_set_fifo_current_thread, but a refusal is fatal (a measurement that asked for
/// SCHED_FIFO and silently ran without it would report the wrong situation).
void set_fifo_current_thread(int priority) noexcept;

/// 0 when a fresh thread may switch itself to SCHED_FIFO at `priority`; else the error.
int fifo_works(int priority);

/// True when `program` is an executable file in a directory of $PATH.
bool on_path(char const* program);

/// "model name" from /proc/cpuinfo, or "unknown CPU".
std::string cpu_model();

/// Kernel name and release, e.g. "Linux 6.1.0-18-amd64".
std::string kernel_release();

/// The CPU time clock of the calling thread, readable from any thread of the process
/// for as long as the calling thread lives. False when the OS has none.
bool current_thread_cpu_clock(clockid_t& clock) noexcept;

/// The start-up handshake of a peer's worker thread: the worker pins itself (when
/// asked) and publishes its CPU clock; the peer's constructor waits for both, so a
/// measurement never includes thread start-up and can read the worker's CPU time.
/// The count every peer's round-trip task increments on the worker, alone on its cache
/// line: a neighbour the submitter reads for each round trip (the peer's handle, its
/// queue pointer) would otherwise move between the CPUs with every increment, a cost of
/// the harness, not of the peer. Every peer, the spin floor included, uses it.
struct alignas(64) task_count {
  std::uint64_t value = 0;
  task_count& operator++() noexcept {
    ++value;
    return *this;
  }
  operator std::uint64_t() const noexcept { return value; }
};

class worker_startup {
 public:
  /// On the worker, before it serves anything.
  void on_worker(int cpu) noexcept;
  /// On the constructing thread: waits for on_worker, returns the worker's CPU clock.
  clockid_t wait() {
    done_.wait();
    return clock_;
  }

 private:
  clockid_t clock_{};  // written before done_ counts down, read after it
  std::latch done_{1};
};

}  // namespace bench
