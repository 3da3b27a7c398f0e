// SPDX-License-Identifier: MIT
// ste/detail/task_stats.hpp — what thread::stats() reports and what the stall watchdog
// watches: the worker's bookkeeping of the tasks it runs.
//
// Writers: `accepted` is counted by producers (mailbox: one relaxed fetch_add on their
// own cache line, before the push, undone if refused or withdrawn) and by the worker for
// the tasks it makes itself (a timer run, a notifier run, a coroutine resumed by a
// timer). Everything else has one writer, the worker, so its "increments" are a load and
// a store; readers (any thread) load. A task counts as completed before its submitter is
// released: completion::signal ends the accounting first (note_task_end), so a caller
// back from submit sees its task completed.
//
// The timing (busy, longest, longest_site, and the task in progress for the watchdog) is
// kept only on threads with on_stall, behind a sequence lock: the worker never waits
// for a reader, a reader retries while the worker writes.
#pragma once

#include "ste/export.hpp"

#include <atomic>
#include <chrono>
#include <cstdint>

#include "ste/site.hpp"

namespace ste::detail {

/// A site in atomics (a reader may copy it while the worker writes the next one; the
/// sequence lock around it tells the reader to retry).
class STE_API atomic_site {
 public:
  void store(ste::site const& s) noexcept {
    file_.store(s.file(), std::memory_order_relaxed);
    function_.store(s.function(), std::memory_order_relaxed);
    line_.store(s.line(), std::memory_order_relaxed);
  }
  ste::site load() const noexcept;

 private:
  std::atomic<char const*> file_{""};
  std::atomic<char const*> function_{""};
  std::atomic<std::uint_least32_t> line_{0};
};

/// The task a watched thread runs now, as the watchdog reads it.
struct running_task {
  std::uint64_t serial = 0;  // 0: none
  std::chrono::steady_clock::time_point since{};
  ste::site where;
};

class STE_API task_stats {
 public:
  using clock = std::chrono::steady_clock;

  explicit task_stats(bool timed) noexcept : timed_(timed) {}
  task_stats(task_stats const&) = delete;
  task_stats& operator=(task_stats const&) = delete;

  bool timed() const noexcept { return timed_; }

  // --- The worker. -------------------------------------------------------------------

  /// A task starts; `outermost`: not inside another one's nested loop. `queued_now`: how
  /// many are accepted and not started, this one included (for peak_queued). Returns
  /// its start time (measured on timed threads only).
  clock::time_point begin(ste::site const& where, bool outermost,
                          std::uint64_t queued_now) noexcept;
  /// It ended; `ran`: count it completed (false: a submit_for that expired unstarted).
  void end(ste::site const& where, bool outermost, clock::time_point started, bool ran) noexcept;
  std::uint64_t completed() const noexcept { return completed_.load(std::memory_order_relaxed); }
  std::uint64_t running() const noexcept { return running_.load(std::memory_order_relaxed); }

  // --- Any thread. -------------------------------------------------------------------

  struct snapshot {
    std::uint64_t completed = 0;
    std::uint64_t running = 0;
    std::uint64_t peak_queued = 0;
    std::chrono::nanoseconds busy{0};
    std::chrono::nanoseconds longest{0};
    ste::site longest_site;
  };
  snapshot read() const noexcept;
  /// Keeps `queued` as the peak if it is higher (stats() reports a peak no lower than
  /// what it reports queued, and never a lower one later).
  void raise_peak(std::uint64_t queued) const noexcept;
  /// The outermost task in progress (timed threads only).
  running_task current() const noexcept;

 private:
  void write_begin() noexcept;
  void write_end() noexcept;

  bool const timed_;
  // Counts (the worker writes, anyone reads).
  std::atomic<std::uint64_t> completed_{0};
  std::atomic<std::uint32_t> running_{0};  // tasks started and not ended (nesting)
  mutable std::atomic<std::uint64_t> peak_{0};  // a maximum: raised by CAS only (raise_peak)
  // Timing, timed threads only, behind seq_ (odd while the worker writes).
  std::atomic<std::uint32_t> seq_{0};
  std::atomic<std::int64_t> busy_ns_{0};
  std::atomic<std::int64_t> longest_ns_{0};
  atomic_site longest_site_;
  std::atomic<std::uint64_t> serial_{0};  // of the outermost task in progress; 0: none
  std::atomic<std::int64_t> since_ns_{0};
  atomic_site current_site_;
  std::uint64_t next_serial_ = 1;  // the worker's
};

}  // namespace ste::detail
