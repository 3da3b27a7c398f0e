// SPDX-License-Identifier: MIT
// The worker's bookkeeping of the tasks it runs (include/ste/detail/task_stats.hpp).
#include "ste/detail/task_stats.hpp"

#include <thread>

namespace ste::detail {

namespace {
constexpr auto kRelaxed = std::memory_order_relaxed;

std::int64_t ns_since_epoch(std::chrono::steady_clock::time_point t) noexcept {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(t.time_since_epoch()).count();
}
}  // namespace

ste::site atomic_site::load() const noexcept {
  return ste::site(file_.load(kRelaxed), line_.load(kRelaxed), function_.load(kRelaxed));
}

// The sequence lock (one writer: the worker). A reader that sees an odd value, or a
// different value after reading, retries; the fences order the field accesses with the
// sequence's changes (the usual seqlock argument, every field being an atomic).
void task_stats::write_begin() noexcept {
  seq_.store(seq_.load(kRelaxed) + 1, kRelaxed);
  std::atomic_thread_fence(std::memory_order_release);
}

void task_stats::write_end() noexcept {
  seq_.store(seq_.load(kRelaxed) + 1, std::memory_order_release);
}

task_stats::clock::time_point task_stats::begin(ste::site const& where, bool outermost,
                                                std::uint64_t queued_now) noexcept {
  raise_peak(queued_now);
  running_.store(running_.load(kRelaxed) + 1, kRelaxed);
  if (!timed_) return {};
  auto const now = clock::now();
  if (outermost) {
    write_begin();
    serial_.store(next_serial_++, kRelaxed);
    since_ns_.store(ns_since_epoch(now), kRelaxed);
    current_site_.store(where);
    write_end();
  }
  return now;
}

void task_stats::end(ste::site const& where, bool outermost, clock::time_point started,
                     bool ran) noexcept {
  if (timed_ && ran) {
    auto const elapsed =
        std::chrono::duration_cast<std::chrono::nanoseconds>(clock::now() - started).count();
    write_begin();
    if (outermost) {
      busy_ns_.store(busy_ns_.load(kRelaxed) + elapsed, kRelaxed);
      serial_.store(0, kRelaxed);
    }
    if (elapsed > longest_ns_.load(kRelaxed)) {
      longest_ns_.store(elapsed, kRelaxed);
      longest_site_.store(where);
    }
    write_end();
  } else if (timed_ && outermost) {
    write_begin();
    serial_.store(0, kRelaxed);
    write_end();
  }
  // running first, then completed (release): a reader that sees the new count (acquire)
  // sees the task no longer running — and, through the push it came by, its acceptance.
  running_.store(running_.load(kRelaxed) - 1, kRelaxed);
  if (ran) completed_.store(completed_.load(kRelaxed) + 1, std::memory_order_release);
}

void task_stats::raise_peak(std::uint64_t queued) const noexcept {
  // A maximum with two kinds of writers (the worker at a task's start, stats() for what
  // it reports): a CAS loop, taken only when the value rises.
  std::uint64_t peak = peak_.load(kRelaxed);
  while (queued > peak && !peak_.compare_exchange_weak(peak, queued, kRelaxed)) {
  }
}

task_stats::snapshot task_stats::read() const noexcept {
  snapshot s;
  s.completed = completed_.load(std::memory_order_acquire);
  s.running = running_.load(kRelaxed);
  s.peak_queued = peak_.load(kRelaxed);
  if (!timed_) return s;
  for (;;) {
    std::uint32_t const before = seq_.load(std::memory_order_acquire);
    if ((before & 1) != 0) {  // the worker writes: its few stores end soon
      std::this_thread::yield();
      continue;
    }
    s.busy = std::chrono::nanoseconds(busy_ns_.load(kRelaxed));
    s.longest = std::chrono::nanoseconds(longest_ns_.load(kRelaxed));
    s.longest_site = longest_site_.load();
    std::atomic_thread_fence(std::memory_order_acquire);
    if (seq_.load(kRelaxed) == before) return s;
  }
}

running_task task_stats::current() const noexcept {
  running_task t;
  if (!timed_) return t;
  for (;;) {
    std::uint32_t const before = seq_.load(std::memory_order_acquire);
    if ((before & 1) != 0) {
      std::this_thread::yield();
      continue;
    }
    t.serial = serial_.load(kRelaxed);
    t.since = clock::time_point(std::chrono::duration_cast<clock::duration>(
        std::chrono::nanoseconds(since_ns_.load(kRelaxed))));
    t.where = current_site_.load();
    std::atomic_thread_fence(std::memory_order_acquire);
    if (seq_.load(kRelaxed) == before) return t;
  }
}

}  // namespace ste::detail
