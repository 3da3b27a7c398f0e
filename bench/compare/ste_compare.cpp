// SPDX-License-Identifier: MIT
// ste_compare — ste::thread::submit against its peers, in one run, interleaved.
//
// Every repetition measures every system in every placement, one after another
// (A B C D E, A B C D E, ...), each time with fresh threads, so slow drifts of a shared
// machine hit all systems alike. Reported numbers are medians over the repetitions;
// ratios are taken within a repetition first, then their median is reported.
// bench/README.md explains every column.
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <exception>
#include <fstream>
#include <latch>
#include <limits>
#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "handoffs.hpp"
#include "peer_cv_queue.hpp"
#include "peer_rust_replica.hpp"
#include "peer_spin_floor.hpp"
#include "peer_ste.hpp"
#include "platform.hpp"
#include "report.hpp"
#include "stats.hpp"
#include "ste/ste.hpp"
#include "timers.hpp"
#if STE_BENCH_HAVE_ASIO
#include "peer_asio.hpp"
#endif

namespace bench {
namespace {

// ---------------------------------------------------------------------------------
// Options

struct options {
  int reps = 7;
  std::size_t iters = 20'000;   // round trips per system per placement per repetition
  std::int64_t max_ms = 3'000;  // cap on one system's measurement in one repetition
  std::int64_t idle_ms = 200;   // idle stretch over which the worker's CPU is read
  int spawn_joins = 200;        // spawn+join pairs per repetition
  handoff_options handoff;      // post throughput, wake latency, the stress probe
  bool quick = false;
  timer_options timer;          // the periodic-timer lateness
  bool timers = false;          // also the periodic-timer lateness (--timers)
  bool only_handoffs = false;   // skip the round trips, idle CPU and spawn+join
  bool only_timers = false;     // only the periodic-timer lateness
  std::string csv = "ste_compare.csv";
  std::string png;  // empty: the CSV path with .png
  bool no_png = false;
  std::string command;
};

void print_usage(std::FILE* out) {
  std::fputs(
      "usage: ste_compare [--reps N] [--iters N] [--quick] [--csv PATH] [--png PATH]\n"
      "                   [--no-png] [--max-ms N] [--idle-ms N] [--spawn-joins N]\n"
      "                   [--post-tasks N] [--triggers N] [--stress] [--stress-cpus N]\n"
      "                   [--only-handoffs] [--timers] [--only-timers] [--timer-ticks N]\n"
      "                   [--timer-period-us N]\n"
      "  --reps N         repetitions, interleaved across systems (default 7, min 1)\n"
      "  --iters N        round trips per system, placement and repetition (default 20000)\n"
      "  --quick          small counts for a CI smoke run (3 reps, 400 iters, caps 100 ms)\n"
      "  --csv PATH       per-repetition and summary rows (default ./ste_compare.csv)\n"
      "  --png PATH       latency chart via gnuplot (default: the CSV path with .png)\n"
      "  --no-png         write no chart\n"
      "  --max-ms N       cap on one system's measurement in one repetition (default 3000)\n"
      "  --idle-ms N      idle stretch for the idle-CPU reading (default 200)\n"
      "  --spawn-joins N  spawn+join pairs per repetition (default 200)\n"
      "  --post-tasks N   tasks per post-throughput measurement (default 200000)\n"
      "  --triggers N     triggers per wake-latency measurement (default 1000)\n"
      "  --stress         also run the wake-latency probe under stress-ng (real-time vs\n"
      "                   normal consumer); SKIPPED without it or without stress-ng\n"
      "  --stress-cpus N  stress-ng --cpu N (default 2)\n"
      "  --only-handoffs  measure only post throughput and wake latency (and --stress)\n"
      "  --timers         also the periodic-timer lateness: post_every against Asio's\n"
      "                   steady_timer loop (~13 s per repetition with the defaults)\n"
      "  --only-timers    measure only the periodic-timer lateness (with --only-handoffs:\n"
      "                   those and the hand-offs)\n"
      "  --timer-ticks N  timed runs per periodic-timer measurement (default 300)\n"
      "  --timer-period-us N  the periodic timers' period in us (default 10000)\n",
      out);
}

std::string shell_quote(std::string_view s) {
  bool plain = !s.empty();
  for (char const c : s)
    if (!(std::isalnum(static_cast<unsigned char>(c)) || std::strchr("-_./=:,+@%", c)))
      plain = false;
  if (plain) return std::string(s);
  std::string out = "'";
  for (char const c : s) {
    if (c == '\'')
      out += "'\\''";
    else
      out += c;
  }
  return out + "'";
}

// Throws std::invalid_argument with a message for the user.
options parse_options(int argc, char** argv) {
  options o;
  for (int i = 0; i < argc; ++i) o.command += (i ? " " : "") + shell_quote(argv[i]);
  std::vector<std::string_view> args(argv + 1, argv + argc);
  // --quick first, so that explicit counts win over its defaults wherever they appear.
  if (std::find(args.begin(), args.end(), "--quick") != args.end()) {
    o.quick = true;
    o.reps = 3;
    o.iters = 400;
    o.max_ms = 100;
    o.idle_ms = 20;
    o.spawn_joins = 20;
    o.handoff.post_tasks = 2'000;
    o.handoff.triggers = 30;
    o.timer.ticks = 15;
  }
  auto number = [&](std::size_t& i, long long lo, long long hi) {
    if (i + 1 >= args.size()) throw std::invalid_argument(std::string(args[i]) + " needs a number");
    std::string const text(args[++i]);
    char* end = nullptr;
    long long const v = std::strtoll(text.c_str(), &end, 10);
    if (end == text.c_str() || *end != '\0' || v < lo || v > hi)
      throw std::invalid_argument(std::string(args[i - 1]) + " takes a number from " +
                                  std::to_string(lo) + " to " + std::to_string(hi) + ", not '" +
                                  text + "'");
    return v;
  };
  auto text = [&](std::size_t& i) {
    if (i + 1 >= args.size() || args[i + 1].empty())
      throw std::invalid_argument(std::string(args[i]) + " needs a path");
    return std::string(args[++i]);
  };
  for (std::size_t i = 0; i < args.size(); ++i) {
    std::string_view const a = args[i];
    if (a == "--quick") continue;
    if (a == "--help" || a == "-h") {
      print_usage(stdout);
      std::exit(0);
    }
    if (a == "--reps")
      o.reps = static_cast<int>(number(i, 1, 1000));
    else if (a == "--iters")
      o.iters = static_cast<std::size_t>(number(i, 4, 100'000'000));
    else if (a == "--max-ms")
      o.max_ms = number(i, 1, 3'600'000);
    else if (a == "--idle-ms")
      o.idle_ms = number(i, 1, 60'000);
    else if (a == "--spawn-joins")
      o.spawn_joins = static_cast<int>(number(i, 1, 100'000));
    else if (a == "--post-tasks")
      o.handoff.post_tasks = static_cast<std::size_t>(number(i, 4, 100'000'000));
    else if (a == "--triggers")
      o.handoff.triggers = static_cast<int>(number(i, 1, 10'000'000));
    else if (a == "--only-handoffs")
      o.only_handoffs = true;
    else if (a == "--only-timers")
      o.only_timers = true;
    else if (a == "--timers")
      o.timers = true;
    else if (a == "--timer-ticks")
      o.timer.ticks = static_cast<int>(number(i, 1, 10'000'000));
    else if (a == "--timer-period-us")
      o.timer.period_ns = number(i, 1, 10'000'000) * 1'000;
    else if (a == "--stress")
      o.handoff.stress = true;
    else if (a == "--stress-cpus")
      o.handoff.stress_cpus = static_cast<int>(number(i, 1, 1024));
    else if (a == "--csv")
      o.csv = text(i);
    else if (a == "--png")
      o.png = text(i);
    else if (a == "--no-png")
      o.no_png = true;
    else
      throw std::invalid_argument("unknown option '" + std::string(a) + "'");
  }
  o.handoff.reps = o.reps;
  o.timer.reps = o.reps;
  if (o.png.empty()) {
    auto const dot = o.csv.rfind('.');
    auto const slash = o.csv.rfind('/');
    bool const has_ext = dot != std::string::npos && (slash == std::string::npos || dot > slash);
    o.png = (has_ext ? o.csv.substr(0, dot) : o.csv) + ".png";
  }
  return o;
}

// ---------------------------------------------------------------------------------
// Placements and systems

struct placement {
  char const* id;     // in the CSV
  std::string label;  // in the table and the chart
  int submitters;
  int submitter_cpu;  // -1: the OS decides
  int worker_cpu;     // -1: the OS decides
  bool available = true;
  std::string why_not = {};
};

/// One system in one placement in one repetition.
struct measurement {
  std::vector<std::uint32_t> samples;  // ns per round trip, all submitters, sorted
  std::uint64_t round_trips = 0;       // timed round trips (warm-up excluded)
  std::int64_t wall_ns = 0;
  std::int64_t cpu_ns = 0;  // CPU time of the submitters and the worker, timed stretch
  bool capped = false;      // the time cap ended it before --iters round trips
};

std::uint32_t saturate_u32(std::int64_t ns) noexcept {
  if (ns < 0) return 0;
  if (ns > std::int64_t{std::numeric_limits<std::uint32_t>::max()})
    return std::numeric_limits<std::uint32_t>::max();
  return static_cast<std::uint32_t>(ns);
}

template <class Peer>
measurement measure(placement const& where, std::size_t iters, std::int64_t cap_ns) {
  auto const n = static_cast<std::size_t>(where.submitters);
  std::size_t const per = std::max<std::size_t>(1, iters / n);
  std::size_t const warm = std::clamp<std::size_t>(per / 20, 10, 500);
  // Allocated and touched here, before the clock starts: sampling costs one clock read
  // and one store per round trip, never a page fault or a reallocation.
  std::vector<std::vector<std::uint32_t>> samples(n, std::vector<std::uint32_t>(per));
  std::vector<std::size_t> timed(n, 0);
  std::vector<char> capped(n, 0);
  // Each submitter's own window: its first round trip's start and last one's end. The
  // run's window spans all of them, so waking the submitters and the main thread costs
  // nothing that is reported (a spinning peer can keep a waking thread off both CPUs for
  // a whole time slice).
  // CPU time comes from per-thread clocks: each submitter's own, and the worker's read
  // by the submitters at their window's ends. CLOCK_PROCESS_CPUTIME_ID would not do: it
  // lags by up to a scheduler tick for every thread running on another CPU, which is
  // more than a whole measurement of a fast peer.
  std::vector<std::int64_t> wall_begin(n), wall_end(n);
  std::vector<std::int64_t> self_cpu(n), worker_begin(n), worker_end(n);
  auto submitters = std::make_unique<typename Peer::submitter[]>(n);
  std::latch ready(static_cast<std::ptrdiff_t>(n));
  std::latch go(1);
  std::int64_t deadline = 0;  // written before go.count_down(); the latch publishes it

  measurement m;
  Peer peer(where.worker_cpu);
  clockid_t const worker_clock = peer.worker_clock();
  std::vector<std::thread> threads;
  threads.reserve(n);
  for (std::size_t i = 0; i < n; ++i) {
    threads.emplace_back([&, i] {
      if (where.submitter_cpu >= 0) pin_current_thread(where.submitter_cpu);
      auto& me = submitters[i];
      for (std::size_t k = 0; k < warm; ++k) peer.round_trip(me);
      ready.count_down();
      go.wait();
      std::int64_t const stop_at = deadline;
      std::uint32_t* const out = samples[i].data();
      std::size_t k = 0;
      worker_begin[i] = cpu_ns(worker_clock);
      std::int64_t const self0 = cpu_ns(CLOCK_THREAD_CPUTIME_ID);
      std::int64_t t0 = now_ns();
      wall_begin[i] = t0;
      while (k < per) {
        peer.round_trip(me);
        std::int64_t const t1 = now_ns();
        out[k++] = saturate_u32(t1 - t0);
        t0 = t1;
        if (t1 > stop_at) break;
      }
      wall_end[i] = t0;
      self_cpu[i] = cpu_ns(CLOCK_THREAD_CPUTIME_ID) - self0;
      worker_end[i] = cpu_ns(worker_clock);
      timed[i] = k;
      capped[i] = k < per;
    });
  }
  ready.wait();
  deadline = now_ns() + cap_ns;
  go.count_down();
  for (auto& t : threads) t.join();
  std::uint64_t const ran = peer.stop();
  m.wall_ns = *std::max_element(wall_end.begin(), wall_end.end()) -
              *std::min_element(wall_begin.begin(), wall_begin.end());
  m.cpu_ns = *std::max_element(worker_end.begin(), worker_end.end()) -
             *std::min_element(worker_begin.begin(), worker_begin.end());
  for (std::int64_t const c : self_cpu) m.cpu_ns += c;

  std::uint64_t expected = n * warm;
  for (std::size_t i = 0; i < n; ++i) {
    expected += timed[i];
    m.round_trips += timed[i];
    m.capped = m.capped || capped[i] != 0;
    m.samples.insert(m.samples.end(), samples[i].begin(),
                     samples[i].begin() + static_cast<std::ptrdiff_t>(timed[i]));
  }
  if (ran != expected)
    throw std::runtime_error(std::string("wrong count: ") + Peer::name + " in placement '" +
                             where.id + "' ran " + std::to_string(ran) + " tasks for " +
                             std::to_string(expected) + " round trips");
  std::sort(m.samples.begin(), m.samples.end());
  return m;
}

using measure_fn = measurement (*)(placement const&, std::size_t, std::int64_t);

struct system_entry {
  char const* name;
  measure_fn run;       // nullptr: compiled out
  char const* skipped;  // why, when run is nullptr
};

std::vector<system_entry> systems() {
  std::vector<system_entry> all;
  all.push_back({ste_peer::name, &measure<ste_peer>, nullptr});  // first: ratios use it
#if STE_BENCH_HAVE_ASIO
  all.push_back({asio_peer::name, &measure<asio_peer>, nullptr});
#else
  all.push_back({"asio", nullptr, "libboost-dev not installed"});
#endif
  all.push_back({cv_queue_peer::name, &measure<cv_queue_peer>, nullptr});
  all.push_back({rust_replica_peer::name, &measure<rust_replica_peer>, nullptr});
  all.push_back({spin_floor_peer::name, &measure<spin_floor_peer>, nullptr});
  return all;
}

// ---------------------------------------------------------------------------------
// Idle CPU and spawn+join

/// % of one core the ste worker uses while idle, read from its own CPU clock over
/// `idle_ns`, starting 1 ms after its last task.
double idle_cpu_percent(std::int64_t idle_ns) {
  ste::thread thread = ste::spawn();
  clockid_t clock{};
  if (!thread.submit([&clock] { return current_thread_cpu_clock(clock); })) return std::nan("");
  std::this_thread::sleep_for(std::chrono::milliseconds(1));
  std::int64_t const cpu0 = cpu_ns(clock);
  std::int64_t const wall0 = now_ns();
  std::this_thread::sleep_for(std::chrono::nanoseconds(idle_ns));
  std::int64_t const cpu1 = cpu_ns(clock);  // before join: the clock dies with the thread
  std::int64_t const wall1 = now_ns();
  thread.join();
  return 100.0 * static_cast<double>(cpu1 - cpu0) / static_cast<double>(wall1 - wall0);
}

struct spawn_join_times {
  double ste_ns;
  double std_ns;
};

/// Median ns of ste::spawn()+join() and of std::thread create+join, alternated.
spawn_join_times spawn_join(int count) {
  std::vector<double> ste_ns;
  std::vector<double> std_ns;
  for (int i = 0; i < count; ++i) {
    std::int64_t t0 = now_ns();
    {
      ste::thread t = ste::spawn();
      t.join();
    }
    std::int64_t t1 = now_ns();
    ste_ns.push_back(static_cast<double>(t1 - t0));
    t0 = now_ns();
    std::thread t([] {});
    t.join();
    t1 = now_ns();
    std_ns.push_back(static_cast<double>(t1 - t0));
  }
  return {median(ste_ns), median(std_ns)};
}

double clock_read_ns() {
  constexpr int kReads = 100'000;
  std::int64_t const t0 = now_ns();
  for (int i = 1; i < kReads; ++i) (void)now_ns();
  std::int64_t const t1 = now_ns();
  return static_cast<double>(t1 - t0) / kReads;
}

// ---------------------------------------------------------------------------------
// Results

struct rep_stats {
  bool valid = false;
  double median_ns = 0;
  double p99_ns = 0;
  double rps = 0;         // round trips per second, all submitters together
  double cpu_per_rt = 0;  // submitters' + worker's CPU ns per round trip
  std::uint64_t round_trips = 0;
  bool capped = false;
  double time_ratio = std::nan("");  // ste median / this median, same repetition
  double rps_ratio = std::nan("");   // ste rt/s / this rt/s, same repetition
};

rep_stats summarise(measurement const& m) {
  rep_stats s;
  s.valid = m.round_trips > 0;
  if (!s.valid) return s;
  s.median_ns = percentile_of_sorted(m.samples, 50);
  s.p99_ns = percentile_of_sorted(m.samples, 99);
  s.rps = static_cast<double>(m.round_trips) * 1e9 / static_cast<double>(m.wall_ns);
  s.cpu_per_rt = static_cast<double>(m.cpu_ns) / static_cast<double>(m.round_trips);
  s.round_trips = m.round_trips;
  s.capped = m.capped;
  return s;
}

struct summary {
  bool valid = false;
  double median_ns = 0, p99_ns = 0, rps = 0, cpu_per_rt = 0;
  double time_ratio = std::nan(""), rps_ratio = std::nan("");
  int capped_reps = 0;
  int reps = 0;
};

summary summarise(std::vector<rep_stats> const& reps) {
  std::vector<double> med, p99, rps, cpu, tr, rr;
  summary s;
  for (auto const& r : reps) {
    if (!r.valid) continue;
    med.push_back(r.median_ns);
    p99.push_back(r.p99_ns);
    rps.push_back(r.rps);
    cpu.push_back(r.cpu_per_rt);
    if (!std::isnan(r.time_ratio)) tr.push_back(r.time_ratio);
    if (!std::isnan(r.rps_ratio)) rr.push_back(r.rps_ratio);
    s.capped_reps += r.capped ? 1 : 0;
    ++s.reps;
  }
  s.valid = s.reps > 0;
  if (!s.valid) return s;
  s.median_ns = median(med);
  s.p99_ns = median(p99);
  s.rps = median(rps);
  s.cpu_per_rt = median(cpu);
  if (!tr.empty()) s.time_ratio = median(tr);
  if (!rr.empty()) s.rps_ratio = median(rr);
  return s;
}

std::string utc_now() {
  std::time_t const t = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M UTC", &tm);
  return buf;
}

std::string load_average() {
  std::ifstream in("/proc/loadavg");
  std::string one, five, fifteen;
  if (!(in >> one >> five >> fifteen)) return "unknown";
  return one + " " + five + " " + fifteen;
}

// A gnuplot single-quoted string: only ' needs escaping, by doubling it.
std::string gp_quote(std::string_view s) {
  std::string out = "'";
  for (char const c : s) {
    out += c;
    if (c == '\'') out += '\'';
  }
  return out + "'";
}

// A gnuplot double-quoted string, where \n is a line break: escape \ and ".
std::string gp_dquote(std::string_view s) {
  std::string out = "\"";
  for (char const c : s) {
    if (c == '\\' || c == '"') out += '\\';
    if (c == '\n') {
      out += "\\n";
      continue;
    }
    out += c;
  }
  return out + "\"";
}

struct run_context {
  options opt;
  std::vector<placement> places;
  std::vector<system_entry> sys;
  // [placement][system][repetition]
  std::vector<std::vector<std::vector<rep_stats>>> stats;
  // [placement][system]: every timed round trip of every repetition, for the chart
  std::vector<std::vector<std::vector<std::uint32_t>>> pooled;
  std::vector<double> idle_percent;
  std::vector<double> spawn_ste_ns, spawn_std_ns, spawn_ratio;
  std::string machine;
  std::unique_ptr<handoffs> handoff;
  std::unique_ptr<timers> timer;  // null when not measured
  bool round_trips = true;        // the round trips, idle CPU and spawn+join
  bool handoffs_on = true;        // post throughput and wake latency (and --stress)
};

/// Writes the chart's data (quantiles of every pooled distribution) and script, runs
/// gnuplot. Returns a line for the report.
std::string write_chart(run_context const& ctx) {
  if (ctx.opt.no_png) return "chart: not written (--no-png)";
  if (!on_path("gnuplot"))
    return "chart: SKIPPED - gnuplot is not on PATH (Debian: apt-get install gnuplot-nox); "
           "the CSV has every number";
  std::string base = ctx.opt.png;
  if (base.size() > 4 && base.compare(base.size() - 4, 4, ".png") == 0)
    base.resize(base.size() - 4);
  std::string const dat = base + ".dat";
  std::string const gp = base + ".gp";

  // Each block: "latency_ns fraction_at_or_below" pairs, the CDF sampled at fixed
  // fractions, densely in the tail, where hand-offs differ most. Blocks are gnuplot
  // indices; empty distributions (skipped systems or placements) get none.
  std::vector<double> fractions;
  for (int i = 1; i <= 400; ++i) fractions.push_back(i / 400.0 * 0.99);
  for (double f :
       {0.992, 0.994, 0.996, 0.998, 0.999, 0.9995, 0.9998, 0.9999, 0.99995, 0.99998, 0.99999, 1.0})
    fractions.push_back(f);
  std::vector<std::vector<int>> index(ctx.places.size(), std::vector<int>(ctx.sys.size(), -1));
  double lo = std::numeric_limits<double>::max();
  double hi = 0;
  int next = 0;
  std::ofstream data(dat);
  for (std::size_t p = 0; p < ctx.places.size(); ++p) {
    for (std::size_t s = 0; s < ctx.sys.size(); ++s) {
      std::vector<std::uint32_t> sorted = ctx.pooled[p][s];
      if (sorted.empty()) continue;
      std::sort(sorted.begin(), sorted.end());
      data << "# " << ctx.places[p].id << " " << ctx.sys[s].name << " (" << sorted.size()
           << " round trips)\n";
      for (double f : fractions) {
        double const ns = std::max(1.0, percentile_of_sorted(sorted, f * 100));
        lo = std::min(lo, ns);
        hi = std::max(hi, ns);
        data << ns << ' ' << f << '\n';
      }
      data << "\n\n";
      index[p][s] = next++;
    }
  }
  data.close();
  if (!data) return "chart: FAILED - could not write " + dat;
  if (next == 0) return "chart: not written (nothing was measured)";
  // One x range for every panel, whole decades, so panels compare at a glance.
  double const x_lo = std::pow(10.0, std::floor(std::log10(lo)));
  double const x_hi = std::pow(10.0, std::ceil(std::log10(hi * 1.0001)));

  std::ofstream script(gp);
  static constexpr std::array<char const*, 5> kColors = {"#d62728", "#1f77b4", "#ff7f0e", "#2ca02c",
                                                         "#7f7f7f"};
  auto const cols = ctx.places.size();
  script << "# Generated by ste_compare; rerun with: gnuplot " << shell_quote(gp) << "\n"
         << "set terminal pngcairo size " << 550 * cols << ",1000 font 'sans,10' noenhanced\n"
         << "set output " << gp_quote(ctx.opt.png) << "\n"
         << "set encoding utf8\n"
         << "set multiplot layout 2," << cols << " title "
         << gp_dquote("ste_compare: one blocking round trip (submit and wait for the answer); " +
                      std::to_string(ctx.opt.reps) + " interleaved repetitions; " + ctx.machine +
                      "; " + utc_now() + "\n" + ctx.opt.command)
         << "\n"
         << "set logscale x 10\nset xrange [" << x_lo << ":" << x_hi << "]\n"
         << "set xtics ('10 ns' 10, '100 ns' 100, '1 µs' 1e3, '10 µs' 1e4, '100 µs' 1e5, "
            "'1 ms' 1e6, '10 ms' 1e7, '100 ms' 1e8, '1 s' 1e9)\n"
         << "set grid xtics mxtics ytics\nset key bottom right\n"
         << "set xlabel 'round trip (log scale)'\n";
  // Row 1: the CDF (body of the distribution). Row 2: the tail, as the fraction of round
  // trips slower than x on a log scale (p99 = 1e-2, p99.9 = 1e-3).
  for (int row = 0; row < 2; ++row) {
    if (row == 0)
      script << "set yrange [0:1]\nset ytics 0.1\nunset logscale y\nset format y '%g'\n"
             << "set ylabel 'fraction of round trips at or below x'\nset key bottom right\n";
    else
      script << "set yrange [1e-5:1]\nset logscale y 10\nset ytics ('100%%' 1, '10%% (p90)' 0.1, "
                "'1%% (p99)' 0.01, '0.1%% (p99.9)' 0.001, '0.01%%' 1e-4, '0.001%%' 1e-5)\n"
             << "set ylabel 'tail: fraction of round trips slower than x'\n"
             << "set key top right\n";
    for (std::size_t p = 0; p < ctx.places.size(); ++p) {
      script << "set title " << gp_quote(ctx.places[p].label + (row == 0 ? "" : " - tail")) << "\n";
      std::string plot;
      for (std::size_t s = 0; s < ctx.sys.size(); ++s) {
        if (index[p][s] < 0) continue;
        plot += std::string(plot.empty() ? "plot " : ", ") + gp_quote(dat) + " index " +
                std::to_string(index[p][s]) + (row == 0 ? " using 1:2" : " using 1:(1-$2)") +
                " with lines lw " + (s == 0 ? "3" : "2") + " lc rgb '" +
                kColors[s % kColors.size()] + "' title " + gp_quote(ctx.sys[s].name);
      }
      if (plot.empty()) {
        // Keep the panel, so the layout still shows that this placement was skipped.
        script << "set label 1 " << gp_quote("not measured: " + ctx.places[p].why_not)
               << " at graph 0.05, graph 0.5\nplot NaN notitle\nunset label 1\n";
      } else {
        script << plot << "\n";
      }
    }
  }
  script << "unset multiplot\n";
  script.close();
  if (!script) return "chart: FAILED - could not write " + gp;
  int const rc = std::system(("gnuplot " + shell_quote(gp)).c_str());
  if (rc != 0)
    return "chart: FAILED - gnuplot exited with status " + std::to_string(rc) + " (script " + gp +
           ")";
  return "chart: " + ctx.opt.png + " (data " + dat + ", script " + gp + ")";
}

std::string write_csv(run_context const& ctx) {
  std::ofstream out(ctx.opt.csv);
  out << "kind,system,placement,rep,submitters,round_trips,capped,median_ns,p99_ns,"
         "round_trips_per_s,cpu_ns_per_round_trip,ste_time_ratio,ste_throughput_ratio,"
         "value,unit\n";
  std::size_t rows = 0;
  for (std::size_t p = 0; p < ctx.places.size(); ++p) {
    auto const& pl = ctx.places[p];
    for (std::size_t s = 0; s < ctx.sys.size(); ++s) {
      auto const& reps = ctx.stats[p][s];
      for (std::size_t r = 0; r < reps.size(); ++r) {
        auto const& x = reps[r];
        if (!x.valid) continue;
        out << "run," << ctx.sys[s].name << ',' << pl.id << ',' << r + 1 << ',' << pl.submitters
            << ',' << x.round_trips << ',' << (x.capped ? 1 : 0) << ',' << csv_number(x.median_ns)
            << ',' << csv_number(x.p99_ns) << ',' << csv_number(x.rps) << ','
            << csv_number(x.cpu_per_rt) << ',' << csv_number(x.time_ratio) << ','
            << csv_number(x.rps_ratio) << ",,\n";
        ++rows;
      }
      summary const sm = summarise(reps);
      if (!sm.valid) continue;
      out << "summary," << ctx.sys[s].name << ',' << pl.id << ",median," << pl.submitters << ",,"
          << sm.capped_reps << ',' << csv_number(sm.median_ns) << ',' << csv_number(sm.p99_ns)
          << ',' << csv_number(sm.rps) << ',' << csv_number(sm.cpu_per_rt) << ','
          << csv_number(sm.time_ratio) << ',' << csv_number(sm.rps_ratio) << ",,\n";
      ++rows;
    }
  }
  auto extra = [&](char const* kind, char const* system, std::vector<double> const& v,
                   char const* unit) {
    for (std::size_t r = 0; r < v.size(); ++r, ++rows)
      out << kind << ',' << system << ",," << r + 1 << ",,,,,,,,,," << csv_number(v[r]) << ','
          << unit << '\n';
    if (v.empty()) return;
    out << kind << ',' << system << ",,median,,,,,,,,,," << csv_number(median(v)) << ',' << unit
        << '\n';
    ++rows;
  };
  extra("idle_cpu", "ste", ctx.idle_percent, "percent_of_a_core");
  extra("spawn_join", "ste", ctx.spawn_ste_ns, "ns");
  extra("spawn_join", "std::thread", ctx.spawn_std_ns, "ns");
  extra("spawn_join_ratio", "ste/std::thread", ctx.spawn_ratio, "x");
  if (ctx.handoff && ctx.handoffs_on) rows += ctx.handoff->write_csv(out);
  if (ctx.timer) rows += ctx.timer->write_csv(out);
  out.close();
  if (!out) return "csv: FAILED - could not write " + ctx.opt.csv;
  return "csv: " + ctx.opt.csv + " (" + std::to_string(rows) + " rows)";
}

void print_tables(run_context const& ctx) {
  for (std::size_t p = 0; p < ctx.places.size(); ++p) {
    auto const& pl = ctx.places[p];
    std::printf("\n[%s]\n", pl.label.c_str());
    if (!pl.available) {
      std::printf("  SKIPPED: %s\n", pl.why_not.c_str());
      continue;
    }
    std::printf("  %-13s %10s %11s %14s %11s %14s %14s\n", "system", "median ns", "p99 ns",
                "round trips/s", "CPU ns/rt", "ste/peer time", "ste/peer rt/s");
    int capped_total = 0;
    for (std::size_t s = 0; s < ctx.sys.size(); ++s) {
      if (ctx.sys[s].run == nullptr) {
        std::printf("  %-13s SKIPPED (%s)\n", ctx.sys[s].name, ctx.sys[s].skipped);
        continue;
      }
      summary const sm = summarise(ctx.stats[p][s]);
      if (!sm.valid) {
        std::printf("  %-13s no data\n", ctx.sys[s].name);
        continue;
      }
      capped_total += sm.capped_reps;
      std::string rps = grouped(sm.rps);
      if (sm.capped_reps > 0) rps += "*";
      std::printf("  %-13s %10s %11s %14s %11s %14s %14s\n", ctx.sys[s].name,
                  grouped(sm.median_ns).c_str(), grouped(sm.p99_ns).c_str(), rps.c_str(),
                  grouped(sm.cpu_per_rt).c_str(), ratio_text(sm.time_ratio).c_str(),
                  ratio_text(sm.rps_ratio).c_str());
    }
    if (capped_total > 0)
      std::printf(
          "  * the time cap (--max-ms %lld) ended %d measurement(s) before --iters "
          "round trips; their numbers cover the round trips done\n",
          static_cast<long long>(ctx.opt.max_ms), capped_total);
  }
}

struct target {
  char const* what;
  std::size_t place;
  char const* peer;
  bool throughput;  // compare rt/s ratios (>= goal) instead of time ratios (<= goal)
  double goal;
};

void print_targets(run_context const& ctx) {
  std::printf(
      "\nTargets (ste / peer, median of per-repetition ratios; time targets on the "
      "median latency, then on the mean round trip):\n");
  static constexpr std::array<target, 6> kTargets = {{
      {"OS decides, time vs rust-ste-0.1", 0, rust_replica_peer::name, false, 1.0},
      {"OS decides, time vs asio", 0, "asio", false, 0.7},
      {"pinned, time vs rust-ste-0.1", 1, rust_replica_peer::name, false, 0.25},
      {"pinned, time vs asio", 1, "asio", false, 0.1},
      {"4 submitters, rt/s vs rust-ste-0.1", 2, rust_replica_peer::name, true, 1.0},
      {"4 submitters, rt/s vs asio", 2, "asio", true, 3.0},
  }};
  for (auto const& t : kTargets) {
    double v = std::nan("");
    for (std::size_t s = 0; s < ctx.sys.size(); ++s) {
      if (std::string_view(ctx.sys[s].name) != t.peer || t.place >= ctx.places.size()) continue;
      summary const sm = summarise(ctx.stats[t.place][s]);
      v = t.throughput ? sm.rps_ratio : sm.time_ratio;
    }
    char goal[32];
    std::snprintf(goal, sizeof goal, "%s %.2fx", t.throughput ? ">=" : "<=", t.goal);
    char const* verdict = std::isnan(v)                                ? "not measured"
                          : (t.throughput ? v >= t.goal : v <= t.goal) ? "met"
                                                                       : "NOT MET";
    std::printf("  %-38s %8s  target %-8s %s\n", t.what, ratio_text(v).c_str(), goal, verdict);
    if (!t.throughput) {
      // The same target on the mean round trip (total time / round trips, i.e. the
      // inverse of the throughput ratio with one submitter): the way the Rust crate's
      // figures (5.0 / 13.8 µs per round trip) were measured. The median hides a bimodal
      // peer's slow mode; the mean does not.
      double mean_ratio = std::nan("");
      for (std::size_t s = 0; s < ctx.sys.size(); ++s) {
        if (std::string_view(ctx.sys[s].name) != t.peer || t.place >= ctx.places.size()) continue;
        std::vector<double> per_rep;
        for (auto const& x : ctx.stats[t.place][s])
          if (x.valid && x.rps_ratio > 0) per_rep.push_back(1.0 / x.rps_ratio);
        if (!per_rep.empty()) mean_ratio = median(per_rep);
      }
      char const* mean_verdict = std::isnan(mean_ratio)   ? "not measured"
                                 : mean_ratio <= t.goal ? "met"
                                                        : "NOT MET";
      std::printf("  %-38s %8s  target %-8s %s\n", "  ...on the mean round trip",
                  ratio_text(mean_ratio).c_str(), goal, mean_verdict);
    }
  }
  double const idle = ctx.idle_percent.empty() ? std::nan("") : median(ctx.idle_percent);
  std::printf("  %-38s %7.2f%%  target <= 1%%     %s\n", "idle worker CPU", idle,
              std::isnan(idle) ? "not measured"
              : idle <= 1.0    ? "met"
                               : "NOT MET");
  double const sj = ctx.spawn_ratio.empty() ? std::nan("") : median(ctx.spawn_ratio);
  std::printf("  %-38s %8s  target <= 1.50x  %s\n", "spawn+join vs std::thread",
              ratio_text(sj).c_str(),
              std::isnan(sj) ? "not measured"
              : sj <= 1.5    ? "met"
                             : "NOT MET");
}

int run(int argc, char** argv) {
  run_context ctx;
  try {
    ctx.opt = parse_options(argc, argv);
  } catch (std::invalid_argument const& e) {
    std::fprintf(stderr, "ste_compare: %s\n", e.what());
    print_usage(stderr);
    return 2;
  }
  options const& o = ctx.opt;

  std::vector<int> const cpus = allowed_cpus();
  long const online = sysconf(_SC_NPROCESSORS_ONLN);
  ctx.machine = cpu_model() + ", " + std::to_string(online) + " CPUs online";
  if (static_cast<long>(cpus.size()) != online)
    ctx.machine += ", " + std::to_string(cpus.size()) + " usable";

  ctx.places.push_back({"os", "OS decides: 1 submitter, no pinning", 1, -1, -1});
  if (cpus.size() >= 2) {
    int const a = cpus[0];
    int const b = cpus[1];
    placement pinned{
        "pinned",
        "pinned: submitter on CPU " + std::to_string(a) + ", worker on CPU " + std::to_string(b), 1,
        a, b};
    if (!pinning_works(a, b)) {
      pinned.available = false;
      pinned.why_not = "the OS refused to pin threads (pthread_setaffinity_np)";
    }
    ctx.places.push_back(pinned);
  } else {
    placement pinned{"pinned", "pinned to different CPUs", 1, -1, -1};
    pinned.available = false;
    pinned.why_not = "needs 2 usable CPUs, this process has " + std::to_string(cpus.size());
    ctx.places.push_back(pinned);
  }
  ctx.places.push_back(
      {"4-submitters", "4 submitters at once, no pinning (throughput)", 4, -1, -1});

  ctx.sys = systems();
  ctx.handoff = std::make_unique<handoffs>(o.handoff, cpus);
  // --only-handoffs and --only-timers each select their part; both together, both.
  ctx.round_trips = !o.only_handoffs && !o.only_timers;
  ctx.handoffs_on = o.only_handoffs || !o.only_timers;
  if (o.timers || o.only_timers) ctx.timer = std::make_unique<timers>(o.timer);
  ctx.stats.assign(ctx.places.size(),
                   std::vector<std::vector<rep_stats>>(
                       ctx.sys.size(), std::vector<rep_stats>(static_cast<std::size_t>(o.reps))));
  ctx.pooled.assign(ctx.places.size(), std::vector<std::vector<std::uint32_t>>(ctx.sys.size()));

  double const clock_cost = clock_read_ns();
  std::printf("ste_compare: ste::thread::submit against its peers (ste %s)\n", STE_VERSION_STRING);
  std::printf("machine : %s; %s\n", ctx.machine.c_str(), kernel_release().c_str());
  std::printf("command : %s\n", o.command.c_str());
  std::printf("date    : %s\n", utc_now().c_str());
  std::printf("load    : %s (/proc/loadavg at start: 1, 5, 15 min; the machine may be shared)\n",
              load_average().c_str());
  std::printf(
      "run     : %d repetitions, interleaved, fresh threads per system, placement and "
      "repetition;\n          %zu round trips per system and placement per repetition "
      "(4 submitters: %zu each),\n          time cap %lld ms per measurement; every "
      "figure is a median over the repetitions\n",
      o.reps, o.iters, std::max<std::size_t>(1, o.iters / 4), static_cast<long long>(o.max_ms));
  std::printf(
      "clock   : one CLOCK_MONOTONIC read costs ~%.0f ns; every round-trip sample "
      "includes one\n",
      clock_cost);
  if (o.quick)
    std::printf("note    : --quick is a smoke run; its numbers are too few to conclude from\n");
  for (auto const& s : ctx.sys)
    if (s.run == nullptr) std::printf("%s: SKIPPED (%s)\n", s.name, s.skipped);
  if (ctx.handoffs_on)
    for (auto const& line : ctx.handoff->notes()) std::printf("%s\n", line.c_str());
  if (ctx.timer)
    for (auto const& line : ctx.timer->notes()) std::printf("%s\n", line.c_str());
  else
    std::printf("timers  : SKIPPED (not asked for: --timers or --only-timers runs them)\n");
  std::fflush(stdout);

  auto const cap_ns = o.max_ms * 1'000'000;
  for (int r = 0; r < o.reps; ++r) {
    auto const rep = static_cast<std::size_t>(r);
    std::int64_t const rep_start = now_ns();
    std::fprintf(stderr, "[rep %d/%d]", r + 1, o.reps);
    for (std::size_t p = 0; p < ctx.places.size(); ++p) {
      if (!ctx.places[p].available || !ctx.round_trips) continue;
      std::fprintf(stderr, " %s:", ctx.places[p].id);
      for (std::size_t s = 0; s < ctx.sys.size(); ++s) {
        if (ctx.sys[s].run == nullptr) continue;
        std::fprintf(stderr, " %s", ctx.sys[s].name);
        measurement m = ctx.sys[s].run(ctx.places[p], o.iters, cap_ns);
        ctx.stats[p][s][rep] = summarise(m);
        auto& pool = ctx.pooled[p][s];
        pool.insert(pool.end(), m.samples.begin(), m.samples.end());
      }
      // Ratios within this repetition: ste (system 0) against each peer.
      rep_stats const& ste_rep = ctx.stats[p][0][rep];
      for (std::size_t s = 1; s < ctx.sys.size(); ++s) {
        rep_stats& peer = ctx.stats[p][s][rep];
        if (!peer.valid || !ste_rep.valid) continue;
        peer.time_ratio = ste_rep.median_ns / peer.median_ns;
        peer.rps_ratio = ste_rep.rps / peer.rps;
      }
    }
    if (ctx.round_trips) {
      std::fprintf(stderr, " idle-cpu");
      ctx.idle_percent.push_back(idle_cpu_percent(o.idle_ms * 1'000'000));
      std::fprintf(stderr, " spawn+join");
      spawn_join_times const sj = spawn_join(o.spawn_joins);
      ctx.spawn_ste_ns.push_back(sj.ste_ns);
      ctx.spawn_std_ns.push_back(sj.std_ns);
      ctx.spawn_ratio.push_back(sj.ste_ns / sj.std_ns);
    }
    if (ctx.handoffs_on) ctx.handoff->run_repetition(r);
    if (ctx.timer) ctx.timer->run_repetition(r);
    std::fprintf(stderr, " (%.1f s)\n", static_cast<double>(now_ns() - rep_start) / 1e9);
  }

  if (ctx.handoffs_on) ctx.handoff->run_stress();
  if (ctx.round_trips) {
    print_tables(ctx);
    std::printf(
        "\nratios: ste/peer time = ste's median round trip / the peer's (below 1: ste "
        "is faster);\n        ste/peer rt/s = ste's round trips per second / the peer's "
        "(above 1: ste is faster).\n");
    std::printf(
        "\nidle worker CPU : %.3f %% of a core (median of %zu; max %.3f %%), ste worker's "
        "own CPU clock over %lld ms, from 1 ms after its last task\n",
        median(ctx.idle_percent), ctx.idle_percent.size(),
        *std::max_element(ctx.idle_percent.begin(), ctx.idle_percent.end()),
        static_cast<long long>(o.idle_ms));
    std::printf(
        "spawn+join      : ste %s ns, bare std::thread %s ns: %s (median of %zu "
        "per-repetition ratios, %d pairs each)\n",
        grouped(median(ctx.spawn_ste_ns)).c_str(), grouped(median(ctx.spawn_std_ns)).c_str(),
        ratio_text(median(ctx.spawn_ratio)).c_str(), ctx.spawn_ratio.size(), o.spawn_joins);
    print_targets(ctx);
  }
  if (ctx.handoffs_on) ctx.handoff->print();
  if (ctx.timer) ctx.timer->print();
  std::printf("\nload    : %s (/proc/loadavg at the end)\n", load_average().c_str());
  std::printf("\n%s\n", write_csv(ctx).c_str());
  std::printf("%s\n", write_chart(ctx).c_str());
  return 0;
}

}  // namespace
}  // namespace bench

int main(int argc, char** argv) {
  try {
    return bench::run(argc, argv);
  } catch (std::exception const& e) {
    std::fprintf(stderr, "\nste_compare: FAILED: %s\n", e.what());
    return 1;
  }
}
