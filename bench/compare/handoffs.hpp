// SPDX-License-Identifier: MIT
// handoffs.hpp — the real-time hand-off part of ste_compare (issue 12): post throughput
// with 1 and 4 producers, trigger -> run wake latency with the consumer asleep between
// triggers (producer at normal priority and at SCHED_FIFO), and the same latency with
// the consumer real-time or not while stress-ng loads every CPU. Same program, same run,
// interleaved with the round-trip comparison; bench/README.md explains every column.
#pragma once

#include <cstddef>
#include <cstdint>
#include <ostream>
#include <string>
#include <vector>

namespace bench {

struct handoff_options {
  int reps = 7;
  std::size_t post_tasks = 200'000;  // per post-throughput measurement, all producers
  int triggers = 1'000;              // per wake-latency measurement (warm-up excluded)
  std::int64_t gap_min_ns = 200'000;  // idle time between a trigger and the next:
  std::int64_t gap_max_ns = 600'000;  //   uniform in [min, max], from a fixed seed
  bool stress = false;                // the loaded-latency probe (stress-ng)
  int stress_cpus = 2;                // stress-ng --cpu N
};

/// The real-time hand-off measurements and their results.
class handoffs {
 public:
  handoffs(handoff_options options, std::vector<int> const& cpus);

  /// Lines for the report's header: what runs, what is SKIPPED and why.
  std::vector<std::string> notes() const;

  /// One repetition of the post-throughput and wake-latency measurements, every system
  /// in every placement (progress on stderr).
  void run_repetition(int rep);

  /// The loaded-latency probe: starts stress-ng, runs every repetition of it, stops
  /// stress-ng. Does nothing (the report says SKIPPED) without --stress or stress-ng.
  void run_stress();

  void print() const;

  /// Appends the CSV rows (the columns of ste_compare's CSV); returns how many.
  std::size_t write_csv(std::ostream& out) const;

  struct rep_result {
    bool valid = false;
    double rate = 0;          // post: tasks/s
    double per_call = 0;      // post: producer ns per post (median over producers)
    std::uint64_t count = 0;  // tasks or triggers measured
    double median = 0, p99 = 0, p999 = 0, max = 0;  // wake: trigger -> run start, ns
    double call_median = 0, call_max = 0;  // wake: ns spent in trigger() by the producer
    double consumer_cpu = 0;  // wake: the consumer's CPU ns per trigger
    double ratio = 0;         // ste / this: post tasks/s, wake median
    double ratio_p99 = 0;     // wake: ste / this p99
  };
  struct system {
    std::string name;
    char const* skipped = nullptr;  // why, when not measured
    int rt_priority = 0;            // wake: the consumer's SCHED_FIFO priority (0: normal)
    std::size_t kind = 0;           // index into the measure table of its section
  };
  struct place {
    std::string id = {}, label = {};
    int producers = 1;
    int producer_cpu = -1, consumer_cpu = -1;
    int producer_fifo = 0;
    bool available = true;
    std::string why_not = {};
  };
  struct section {
    std::string title;
    std::vector<place> places;
    std::vector<system> systems;  // systems[0] is the reference of the ratios
    // [place][system][rep]
    std::vector<std::vector<std::vector<rep_result>>> results;
    bool skipped = false;
    std::string why_skipped;
    std::string extra;  // printed under the table
  };

 private:
  void run_section(section& s, bool post, int rep);

  handoff_options opt_;
  section post_;
  section wake_;
  section stress_;
  int fifo_error_ = 0;  // 0 when a thread may switch to SCHED_FIFO
};

}  // namespace bench
