// SPDX-License-Identifier: MIT
// timers.cpp — the periodic-timer lateness measurements of ste_compare (see timers.hpp).
#include "timers.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <stdexcept>
#include <string>
#include <utility>

#include "handoff_base.hpp"
#include "peer_ste.hpp"
#include "platform.hpp"
#include "report.hpp"
#include "stats.hpp"
#include "timer_base.hpp"
#if STE_BENCH_HAVE_ASIO
#include "peer_asio.hpp"
#endif

namespace bench {
namespace {

constexpr int kWorkerFifo = 80;  // as the loaded probe's real-time consumer

using rep_result = timers::rep_result;

/// One periodic timer on a fresh worker (normal or SCHED_FIFO as `pl` says): a few
/// untimed runs (5 %, 2 to 20), then `ticks` timed ones; lateness = the run's first
/// clock read - its deadline start + k·period.
template <class Loop>
rep_result measure_timer(timers::place const& pl, timer_options const& o) {
  auto const ticks = static_cast<std::size_t>(o.ticks);
  std::size_t const warm = std::clamp<std::size_t>(ticks / 20, 2, 20);
  tick_log log(warm, ticks);
  {
    Loop loop(consumer_config{-1, pl.worker_fifo}, log);
    loop.start(o.period_ns);
    log.wait_done();
    loop.stop();  // throws on a lost run or a run after the stop
  }
  std::vector<std::int64_t> late = log.timed();
  std::sort(late.begin(), late.end());
  rep_result r;
  r.valid = true;
  r.ticks = late.size();
  r.median = percentile_of_sorted(late, 50);
  r.p99 = percentile_of_sorted(late, 99);
  r.p999 = percentile_of_sorted(late, 99.9);
  r.max = static_cast<double>(late.back());
  if (late.front() < 0)
    throw std::runtime_error(std::string(Loop::name) + ": a run started " +
                             std::to_string(-late.front()) + " ns before its deadline");
  for (auto const x : late) r.late_by_period += x >= o.period_ns ? 1 : 0;
  r.worker_cpu = ticks > 1 ? static_cast<double>(log.worker_cpu_ns()) /
                                 static_cast<double>(ticks - 1)
                           : std::nan("");
  return r;
}

using timer_fn = rep_result (*)(timers::place const&, timer_options const&);

struct timer_kind {
  char const* name;
  timer_fn run;         // nullptr: compiled out
  char const* skipped;  // why
};

std::vector<timer_kind> timer_kinds() {
  std::vector<timer_kind> all;
  all.push_back({ste_timer_loop::name, &measure_timer<ste_timer_loop>, nullptr});
#if STE_BENCH_HAVE_ASIO
  all.push_back({asio_timer_loop::name, &measure_timer<asio_timer_loop>, nullptr});
#else
  all.push_back({"asio steady_timer", nullptr, "libboost-dev not installed"});
#endif
  return all;
}

struct summary {
  bool valid = false;
  double median = 0, p99 = 0, p999 = 0, max = 0, worker_cpu = 0;
  std::uint64_t late_by_period = 0, ticks = 0;
  double ratio = std::nan(""), ratio_p99 = std::nan(""), ratio_max = std::nan("");
  int reps = 0;
};

/// Medians over the repetitions, except max (the largest of all) and the counts (sums).
summary summarise(std::vector<rep_result> const& reps) {
  summary s;
  std::vector<double> med, p99, p999, cpu, ratio, ratio_p99, ratio_max;
  for (auto const& r : reps) {
    if (!r.valid) continue;
    ++s.reps;
    med.push_back(r.median);
    p99.push_back(r.p99);
    p999.push_back(r.p999);
    cpu.push_back(r.worker_cpu);
    s.max = std::max(s.max, r.max);
    s.late_by_period += r.late_by_period;
    s.ticks += r.ticks;
    if (r.ratio > 0) ratio.push_back(r.ratio);
    if (r.ratio_p99 > 0) ratio_p99.push_back(r.ratio_p99);
    if (r.ratio_max > 0) ratio_max.push_back(r.ratio_max);
  }
  s.valid = s.reps > 0;
  if (!s.valid) return s;
  s.median = median(med);
  s.p99 = median(p99);
  s.p999 = median(p999);
  s.worker_cpu = median(cpu);
  if (!ratio.empty()) s.ratio = median(ratio);
  if (!ratio_p99.empty()) s.ratio_p99 = median(ratio_p99);
  if (!ratio_max.empty()) s.ratio_max = median(ratio_max);
  return s;
}

}  // namespace

timers::timers(timer_options options) : opt_(options) {
  int const fifo_error = fifo_works(kWorkerFifo);
  places_.push_back({"timer-normal", "worker at normal priority, OS decides"});
  places_.push_back({"timer-fifo",
                     "worker SCHED_FIFO " + std::to_string(kWorkerFifo) +
                         " (ste: builder().realtime), OS decides",
                     kWorkerFifo});
  if (fifo_error != 0) {
    places_[1].available = false;
    places_[1].why_not = std::string("SCHED_FIFO refused (") + std::strerror(fifo_error) +
                         "); run as root or allow it with RLIMIT_RTPRIO / CAP_SYS_NICE";
  }
  auto const kinds = timer_kinds();
  for (std::size_t k = 0; k < kinds.size(); ++k)
    systems_.push_back({kinds[k].name, kinds[k].run ? nullptr : kinds[k].skipped, k});
  results_.assign(places_.size(),
                  std::vector<std::vector<rep_result>>(
                      systems_.size(),
                      std::vector<rep_result>(static_cast<std::size_t>(std::max(1, opt_.reps)))));
}

std::vector<std::string> timers::notes() const {
  std::vector<std::string> out;
  char buf[256];
  std::snprintf(buf, sizeof buf,
                "timers  : post_every vs steady_timer, period %.3f ms, %d timed runs per "
                "measurement (~%.1f s each)",
                static_cast<double>(opt_.period_ns) / 1e6, opt_.ticks,
                static_cast<double>(opt_.period_ns) * (opt_.ticks + 20) / 1e9);
  out.emplace_back(buf);
  for (auto const& sys : systems_)
    if (sys.skipped) out.push_back(sys.name + ": SKIPPED (" + sys.skipped + ")");
  for (auto const& p : places_)
    if (!p.available) out.push_back("timer placement '" + p.label + "': SKIPPED (" + p.why_not + ")");
  return out;
}

void timers::run_repetition(int rep) {
  auto const r = static_cast<std::size_t>(rep);
  auto const kinds = timer_kinds();
  for (std::size_t p = 0; p < places_.size(); ++p) {
    auto const& pl = places_[p];
    if (!pl.available) continue;
    std::fprintf(stderr, " %s:", pl.id.c_str());
    // Alternate the order: even repetitions ste first, odd ones the peer first.
    std::vector<std::size_t> order;
    for (std::size_t k = 0; k < systems_.size(); ++k) order.push_back(k);
    if (rep % 2 == 1) std::reverse(order.begin(), order.end());
    for (std::size_t const k : order) {
      auto const& sys = systems_[k];
      if (sys.skipped) continue;
      std::fprintf(stderr, " %s", sys.name.c_str());
      results_[p][k][r] = kinds[sys.kind].run(pl, opt_);
    }
    rep_result const& ref = results_[p][0][r];
    for (std::size_t k = 1; k < systems_.size(); ++k) {
      rep_result& x = results_[p][k][r];
      if (!x.valid || !ref.valid) continue;
      x.ratio = ref.median / x.median;
      x.ratio_p99 = ref.p99 / x.p99;
      x.ratio_max = ref.max / x.max;
    }
  }
}

void timers::print() const {
  std::printf("\n== periodic timer: lateness of a %.3f ms periodic task (run start - deadline) ==\n",
              static_cast<double>(opt_.period_ns) / 1e6);
  std::string const ref = systems_.empty() ? "ste" : systems_[0].name;
  for (std::size_t p = 0; p < places_.size(); ++p) {
    auto const& pl = places_[p];
    std::printf("\n[%s]\n", pl.label.c_str());
    if (!pl.available) {
      std::printf("  SKIPPED: %s\n", pl.why_not.c_str());
      continue;
    }
    std::printf("  %-18s %10s %10s %11s %11s %10s %10s %9s %9s %9s\n", "system", "median ns",
                "p99 ns", "p99.9 ns", "max ns", "late by", "worker", "ref/peer", "ref/peer",
                "ref/peer");
    std::printf("  %-18s %10s %10s %11s %11s %10s %10s %9s %9s %9s\n", "", "", "", "", "",
                ">=period", "CPU ns/run", "median", "p99", "max");
    for (std::size_t k = 0; k < systems_.size(); ++k) {
      auto const& sys = systems_[k];
      if (sys.skipped) {
        std::printf("  %-18s SKIPPED (%s)\n", sys.name.c_str(), sys.skipped);
        continue;
      }
      summary const sm = summarise(results_[p][k]);
      if (!sm.valid) {
        std::printf("  %-18s no data\n", sys.name.c_str());
        continue;
      }
      std::string const late = std::to_string(sm.late_by_period) + "/" + std::to_string(sm.ticks);
      std::printf("  %-18s %10s %10s %11s %11s %10s %10s %9s %9s %9s\n", sys.name.c_str(),
                  grouped(sm.median).c_str(), grouped(sm.p99).c_str(), grouped(sm.p999).c_str(),
                  grouped(sm.max).c_str(), late.c_str(), grouped(sm.worker_cpu).c_str(),
                  ratio_text(sm.ratio).c_str(), ratio_text(sm.ratio_p99).c_str(),
                  ratio_text(sm.ratio_max).c_str());
    }
  }
  std::printf(
      "\n  lateness: the run's first steady_clock read - its deadline start + k*period (start:\n"
      "  a clock read just before post_every / the first expires_at); median, p99 and p99.9\n"
      "  (nearest rank, of each measurement's %d runs: with fewer than 1000 runs p99.9 is the\n"
      "  max) are medians over the repetitions, max the largest of all; late by >=period:\n"
      "  runs late by a whole period or more / all timed runs (then post_every skips the\n"
      "  missed deadlines, the steady_timer loop catches up back to back); worker CPU: the\n"
      "  worker thread's own CPU clock from the first timed run to the last / runs.\n"
      "  ref/peer = %s's / the peer's, per repetition, then the median\n"
      "  (below 1: %s is more punctual). The peers alternate in order from one\n"
      "  repetition to the next.\n",
      opt_.ticks, ref.c_str(), ref.c_str());
}

std::size_t timers::write_csv(std::ostream& out) const {
  // Columns: kind,system,placement,rep,submitters,round_trips,capped,median_ns,p99_ns,
  // round_trips_per_s,cpu_ns_per_round_trip,ste_time_ratio,ste_throughput_ratio,value,unit
  std::size_t rows = 0;
  auto const row = [&](char const* kind, std::string const& sys, place const& pl,
                       std::string const& rep, double n, double med, double p99, double cpu,
                       double ratio, double mx) {
    out << kind << ',' << sys << ',' << pl.id << ',' << rep << ",1," << csv_number(n) << ",,"
        << csv_number(med) << ',' << csv_number(p99) << ",," << csv_number(cpu) << ','
        << csv_number(ratio) << ",," << csv_number(mx) << ",max_ns\n";
    ++rows;
  };
  for (std::size_t p = 0; p < places_.size(); ++p)
    for (std::size_t k = 0; k < systems_.size(); ++k) {
      auto const& reps = results_[p][k];
      for (std::size_t r = 0; r < reps.size(); ++r)
        if (reps[r].valid)
          row("timer_run", systems_[k].name, places_[p], std::to_string(r + 1),
              static_cast<double>(reps[r].ticks), reps[r].median, reps[r].p99, reps[r].worker_cpu,
              k == 0 ? std::nan("") : reps[r].ratio, reps[r].max);
      summary const sm = summarise(reps);
      if (sm.valid)
        row("timer_summary", systems_[k].name, places_[p], "median", std::nan(""), sm.median,
            sm.p99, sm.worker_cpu, sm.ratio, sm.max);
    }
  return rows;
}

}  // namespace bench
