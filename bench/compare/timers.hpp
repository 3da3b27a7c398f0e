// SPDX-License-Identifier: MIT
// timers.hpp — the periodic-timer part of ste_compare (issue 13 part 6): the lateness of
// a `post_every(period, f)` run (the time f starts minus its deadline start + k·period)
// against Boost.Asio's classic `steady_timer` loop on an io_context thread (the
// async_wait handler that re-arms with expires_at(previous expiry + period)). Same
// program, same run, interleaved with the other measurements, peers alternating in
// order from one repetition to the next; bench/README.md explains every column.
#pragma once

#include <cstddef>
#include <cstdint>
#include <ostream>
#include <string>
#include <vector>

namespace bench {

struct timer_options {
  int reps = 7;
  int ticks = 300;                      // timed runs per measurement (warm-up excluded)
  std::int64_t period_ns = 10'000'000;  // 10 ms
};

/// The periodic-timer lateness measurements and their results.
class timers {
 public:
  timers(timer_options options);

  /// Lines for the report's header: what runs, what is SKIPPED and why.
  std::vector<std::string> notes() const;

  /// One repetition: every system in every placement (progress on stderr). The order of
  /// the systems alternates with the repetition's parity.
  void run_repetition(int rep);

  void print() const;

  /// Appends the CSV rows (the columns of ste_compare's CSV); returns how many.
  std::size_t write_csv(std::ostream& out) const;

  struct rep_result {
    bool valid = false;
    std::uint64_t ticks = 0;                        // timed runs
    double median = 0, p99 = 0, p999 = 0, max = 0;  // lateness, ns
    std::uint64_t late_by_period = 0;  // runs late by a whole period or more
    double worker_cpu = 0;             // the worker's CPU ns per tick (timed stretch)
    double ratio = 0, ratio_p99 = 0, ratio_max = 0;  // reference / this
  };
  struct system {
    std::string name;
    char const* skipped = nullptr;  // why, when not measured
    std::size_t kind = 0;           // index into the measure table
  };
  struct place {
    std::string id, label;
    int worker_fifo = 0;  // the worker's SCHED_FIFO priority (0: normal scheduling)
    bool available = true;
    std::string why_not = {};
  };

 private:
  timer_options opt_;
  std::vector<place> places_;
  std::vector<system> systems_;  // systems_[0] is the reference of the ratios
  // [place][system][rep]
  std::vector<std::vector<std::vector<rep_result>>> results_;
};

}  // namespace bench
