// SPDX-License-Identifier: MIT
// handoffs.cpp — the real-time hand-off measurements of ste_compare (see handoffs.hpp).
#include "handoffs.hpp"

#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <time.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <latch>
#include <limits>
#include <random>
#include <sstream>
#include <stdexcept>
#include <string_view>
#include <thread>
#include <utility>

#include "handoff_base.hpp"
#include "peer_cv_queue.hpp"
#include "peer_posix_sem.hpp"
#include "peer_ste.hpp"
#include "platform.hpp"
#include "report.hpp"
#include "stats.hpp"
#if STE_BENCH_HAVE_ASIO
#include "peer_asio.hpp"
#endif
#if STE_BENCH_HAVE_MOODYCAMEL
#include "peer_moodycamel.hpp"
#endif

extern char** environ;

namespace bench {
namespace {

constexpr int kProducerFifo = 70;  // the producer "audio callback": JACK's default is ~70
constexpr int kConsumerRt = 80;    // the real-time consumer of the loaded probe

using rep_result = handoffs::rep_result;

std::uint32_t clamp_u32(std::int64_t ns) noexcept {
  if (ns < 0) return 0;
  if (ns > std::int64_t{std::numeric_limits<std::uint32_t>::max()})
    return std::numeric_limits<std::uint32_t>::max();
  return static_cast<std::uint32_t>(ns);
}

void wait_done(post_counter& c) {
  while (!c.done.load(std::memory_order_acquire)) c.done.wait(false, std::memory_order_acquire);
}

// ---------------------------------------------------------------------------------
// Post throughput

/// `producers` threads post `tasks` count_tasks in all, as fast as they can; the rate is
/// tasks / (first producer's start .. the last task's run). A warm-up batch from this
/// thread runs first, so the consumer's start and the first allocations are not timed.
template <class Sink>
rep_result measure_post(int producers, std::size_t tasks) {
  auto const n = static_cast<std::size_t>(producers);
  std::size_t const per = std::max<std::size_t>(1, tasks / n);
  std::size_t const total = per * n;
  std::size_t const warm = std::clamp<std::size_t>(tasks / 20, 100, 5'000);
  post_counter counter;
  Sink sink;
  counter.target = warm;
  for (std::size_t i = 0; i < warm; ++i) sink.post(count_task{&counter});
  wait_done(counter);
  // No task is queued now: the consumer reads the new target only in tasks posted later.
  counter.done.store(false, std::memory_order_relaxed);
  counter.target = warm + total;

  std::vector<std::int64_t> begin(n), end(n);
  std::latch ready(static_cast<std::ptrdiff_t>(n));
  std::latch go(1);
  std::vector<std::thread> threads;
  threads.reserve(n);
  for (std::size_t i = 0; i < n; ++i) {
    threads.emplace_back([&, i] {
      ready.count_down();
      go.wait();
      begin[i] = now_ns();
      for (std::size_t k = 0; k < per; ++k) sink.post(count_task{&counter});
      end[i] = now_ns();
    });
  }
  ready.wait();
  go.count_down();
  for (auto& t : threads) t.join();
  wait_done(counter);
  sink.stop();
  if (counter.count != warm + total)
    throw std::runtime_error(std::string("wrong count: ") + Sink::name + " ran " +
                             std::to_string(counter.count) + " tasks for " +
                             std::to_string(warm + total) + " posted");
  rep_result r;
  r.valid = true;
  r.count = total;
  std::int64_t const start = *std::min_element(begin.begin(), begin.end());
  r.rate = static_cast<double>(total) * 1e9 / static_cast<double>(counter.end_ns - start);
  std::vector<double> per_call;
  for (std::size_t i = 0; i < n; ++i)
    per_call.push_back(static_cast<double>(end[i] - begin[i]) / static_cast<double>(per));
  r.per_call = median(per_call);
  return r;
}

using post_fn = rep_result (*)(int, std::size_t);

struct post_kind {
  char const* name;
  post_fn run;          // nullptr: compiled out
  char const* skipped;  // why
};

std::vector<post_kind> post_kinds() {
  std::vector<post_kind> all;
  all.push_back({ste_post_sink::name, &measure_post<ste_post_sink>, nullptr});
#if STE_BENCH_HAVE_MOODYCAMEL
  all.push_back({moodycamel_post_sink::name, &measure_post<moodycamel_post_sink>, nullptr});
#else
  all.push_back({"moodycamel", nullptr, "libconcurrentqueue-dev not installed"});
#endif
#if STE_BENCH_HAVE_ASIO
  all.push_back({asio_post_sink::name, &measure_post<asio_post_sink>, nullptr});
#else
  all.push_back({"asio post", nullptr, "libboost-dev not installed"});
#endif
  all.push_back({cv_queue_post_sink::name, &measure_post<cv_queue_post_sink>, nullptr});
  return all;
}

// ---------------------------------------------------------------------------------
// Wake latency

struct wake_params {
  int triggers;
  std::int64_t gap_min_ns, gap_max_ns;
  std::uint32_t seed;
};

void sleep_ns(std::int64_t ns) {
  timespec ts{static_cast<time_t>(ns / 1'000'000'000), static_cast<long>(ns % 1'000'000'000)};
  while (clock_nanosleep(CLOCK_MONOTONIC, 0, &ts, &ts) == EINTR) {
  }
}

/// One producer thread (placed as `pl` says) triggers, then sleeps a gap, then checks
/// that the run happened (polling every 20 µs if it has not — only when a wake took
/// longer than the gap), reads the run's clock reading and triggers again. So the
/// consumer is idle for a whole gap before each trigger and the measured interval, from
/// the producer's clock read just before trigger() to the consumer's first instruction
/// of the probe, contains no sleep of the harness. The producer never spins: with the
/// producer at SCHED_FIFO on the consumer's CPU, spinning would starve the consumer.
template <class Wake>
rep_result measure_wake(handoffs::place const& pl, int consumer_rt, wake_params const& wp) {
  auto const n = static_cast<std::size_t>(wp.triggers);
  std::size_t const warm = std::clamp<std::size_t>(n / 20, 3, 50);
  std::vector<std::uint32_t> latency(n), call(n);
  wake_probe probe;
  Wake wake(consumer_config{pl.consumer_cpu, consumer_rt}, probe);
  clockid_t const consumer_clock = wake.consumer_clock();
  std::int64_t cpu0 = 0;
  std::int64_t cpu1 = 0;
  std::thread producer([&] {
    if (pl.producer_cpu >= 0) pin_current_thread(pl.producer_cpu);
    if (pl.producer_fifo > 0) set_fifo_current_thread(pl.producer_fifo);
    std::mt19937 rng(wp.seed);
    std::uniform_int_distribution<std::int64_t> gap(wp.gap_min_ns, wp.gap_max_ns);
    for (std::size_t k = 0; k < warm + n; ++k) {
      std::int64_t const t0 = now_ns();
      wake.trigger();
      std::int64_t const t1 = now_ns();
      sleep_ns(gap(rng));
      while (probe.runs.load(std::memory_order_acquire) < k + 1) sleep_ns(20'000);
      std::int64_t const ran = probe.run_ns.load(std::memory_order_relaxed);
      if (k + 1 == warm) cpu0 = cpu_ns(consumer_clock);
      if (k + 1 == warm + n) cpu1 = cpu_ns(consumer_clock);  // before stop: the clock dies
      if (k < warm) continue;
      latency[k - warm] = clamp_u32(ran - t0);
      call[k - warm] = clamp_u32(t1 - t0);
    }
  });
  producer.join();
  wake.stop();
  std::uint64_t const runs = probe.runs.load(std::memory_order_acquire);
  if (runs != warm + n)
    throw std::runtime_error(std::string("wrong count: ") + Wake::name + " in placement '" +
                             pl.id + "' ran the probe " + std::to_string(runs) + " times for " +
                             std::to_string(warm + n) + " triggers");
  std::sort(latency.begin(), latency.end());
  std::sort(call.begin(), call.end());
  rep_result r;
  r.valid = true;
  r.count = n;
  r.median = percentile_of_sorted(latency, 50);
  r.p99 = percentile_of_sorted(latency, 99);
  r.p999 = percentile_of_sorted(latency, 99.9);
  r.max = latency.back();
  r.call_median = percentile_of_sorted(call, 50);
  r.call_max = call.back();
  r.consumer_cpu = static_cast<double>(cpu1 - cpu0) / static_cast<double>(n);
  return r;
}

using wake_fn = rep_result (*)(handoffs::place const&, int, wake_params const&);

struct wake_kind {
  char const* name;
  wake_fn run;
  char const* skipped;
};

// The reference of the ratios comes first: the notifier, ste's real-time trigger; it is
// also ste's system in the stress probe. ste post stays as "a task handed over".
std::vector<wake_kind> wake_kinds() {
  std::vector<wake_kind> all;
  all.push_back({ste_notifier_wake::name, &measure_wake<ste_notifier_wake>, nullptr});
  all.push_back({ste_post_wake::name, &measure_wake<ste_post_wake>, nullptr});
  all.push_back({posix_sem_wake::name, &measure_wake<posix_sem_wake>, nullptr});
#if STE_BENCH_HAVE_MOODYCAMEL
  all.push_back({moodycamel_sema_wake::name, &measure_wake<moodycamel_sema_wake>, nullptr});
  all.push_back({moodycamel_queue_wake::name, &measure_wake<moodycamel_queue_wake>, nullptr});
#else
  all.push_back({"mc sema", nullptr, "libconcurrentqueue-dev not installed"});
  all.push_back({"mc queue", nullptr, "libconcurrentqueue-dev not installed"});
#endif
  return all;
}

// ---------------------------------------------------------------------------------
// stress-ng

/// Machine-wide busy and total jiffies from /proc/stat's first line.
std::pair<long long, long long> cpu_jiffies() {
  std::ifstream in("/proc/stat");
  std::string cpu;
  long long v[8] = {};
  in >> cpu;
  for (auto& x : v) in >> x;
  long long total = 0;
  for (auto x : v) total += x;
  long long const idle = v[3] + v[4];  // idle + iowait
  return {total - idle, total};
}

std::string loadavg() {
  std::ifstream in("/proc/loadavg");
  std::string one, five, fifteen;
  if (!(in >> one >> five >> fifteen)) return "unknown";
  return one + " " + five + " " + fifteen;
}

/// A stress-ng child process: started here, stopped (SIGTERM, then waited for) on
/// destruction. Its own --timeout ends it if this program dies first.
class stress_process {
 public:
  stress_process(int cpus, int timeout_s) {
    std::string const n = std::to_string(cpus);
    std::string const t = std::to_string(timeout_s) + "s";
    char const* argv[] = {"stress-ng", "--cpu", n.c_str(), "--timeout", t.c_str(), "--quiet",
                          nullptr};
    int const rc = posix_spawnp(&pid_, "stress-ng", nullptr, nullptr,
                                const_cast<char* const*>(argv), environ);
    if (rc != 0) {
      pid_ = -1;
      error_ = std::strerror(rc);
    }
  }
  stress_process(stress_process const&) = delete;
  stress_process& operator=(stress_process const&) = delete;
  ~stress_process() {
    if (pid_ <= 0) return;
    kill(pid_, SIGTERM);
    int status = 0;
    waitpid(pid_, &status, 0);
  }
  bool running() const {
    if (pid_ <= 0) return false;
    int status = 0;
    return waitpid(pid_, &status, WNOHANG) == 0;
  }
  int pid() const { return pid_; }
  std::string const& error() const { return error_; }

 private:
  pid_t pid_ = -1;
  std::string error_;
};

}  // namespace

// ---------------------------------------------------------------------------------

handoffs::handoffs(handoff_options options, std::vector<int> const& cpus) : opt_(options) {
  fifo_error_ = fifo_works(kProducerFifo);
  std::string const no_fifo =
      std::string("SCHED_FIFO refused (") + std::strerror(fifo_error_) +
      "); run as root or allow it with RLIMIT_RTPRIO / CAP_SYS_NICE";

  // Post throughput: 1 and 4 producers, no pinning (the round trips' placements that
  // make sense for a queue: one pinned producer adds nothing a free one does not show).
  post_.title = "post throughput: producers post count tasks as fast as they can";
  post_.places.push_back({"post-1", "1 producer, no pinning", 1});
  post_.places.push_back({"post-4", "4 producers at once, no pinning", 4});
  auto const pk = post_kinds();
  for (std::size_t k = 0; k < pk.size(); ++k)
    post_.systems.push_back({pk[k].name, pk[k].run ? nullptr : pk[k].skipped, 0, k});

  // Wake latency: the round trips' 1-submitter placements, each with the producer at
  // normal priority and at SCHED_FIFO.
  wake_.title = "wake latency: trigger -> run start, consumer asleep between triggers";
  std::string pin_why;
  int a = -1;
  int b = -1;
  if (cpus.size() >= 2) {
    a = cpus[0];
    b = cpus[1];
    if (!pinning_works(a, b)) pin_why = "the OS refused to pin threads (pthread_setaffinity_np)";
  } else {
    pin_why = "needs 2 usable CPUs, this process has " + std::to_string(cpus.size());
  }
  std::string const pinned =
      "pinned: producer on CPU " + std::to_string(a) + ", consumer on CPU " + std::to_string(b);
  std::string const fifo = ", producer SCHED_FIFO " + std::to_string(kProducerFifo);
  wake_.places.push_back({"wake-os", "OS decides, producer normal", 1});
  wake_.places.push_back({"wake-pinned", pinned + ", producer normal", 1, a, b});
  wake_.places.push_back({"wake-os-fifo", "OS decides" + fifo, 1, -1, -1, kProducerFifo});
  wake_.places.push_back({"wake-pinned-fifo", pinned + fifo, 1, a, b, kProducerFifo});
  for (auto& p : wake_.places) {
    if (p.producer_cpu >= 0 && !pin_why.empty()) {
      p.available = false;
      p.why_not = pin_why;
    } else if (p.producer_fifo > 0 && fifo_error_ != 0) {
      p.available = false;
      p.why_not = no_fifo;
    }
  }
  auto const wk = wake_kinds();
  for (std::size_t k = 0; k < wk.size(); ++k)
    wake_.systems.push_back({wk[k].name, wk[k].run ? nullptr : wk[k].skipped, 0, k});

  // The loaded probe: OS decides, producer SCHED_FIFO, stress-ng on every CPU; ste's
  // consumer real-time or not, and the POSIX semaphore's the same way for reference.
  stress_.title = "wake latency under load: stress-ng --cpu " + std::to_string(opt_.stress_cpus) +
                  ", consumer real-time (SCHED_FIFO " + std::to_string(kConsumerRt) +
                  ") or normal";
  stress_.places.push_back({"stress", "OS decides, producer SCHED_FIFO " +
                                          std::to_string(kProducerFifo) + ", stress-ng running",
                            1, -1, -1, kProducerFifo});
  std::string const rt = " rt" + std::to_string(kConsumerRt);
  std::size_t sem = 0;  // the POSIX semaphore's index in wake_kinds()
  while (std::string_view(wk[sem].name) != posix_sem_wake::name) ++sem;
  for (std::size_t k : {std::size_t{0}, sem}) {
    stress_.systems.push_back({std::string(wk[k].name) + rt, nullptr, kConsumerRt, k});
    stress_.systems.push_back({std::string(wk[k].name) + " normal", nullptr, 0, k});
  }
  if (!opt_.stress) {
    stress_.skipped = true;
    stress_.why_skipped = "not asked for (--stress runs it)";
  } else if (!on_path("stress-ng")) {
    stress_.skipped = true;
    stress_.why_skipped = "stress-ng is not on PATH (Debian: apt-get install stress-ng)";
  } else if (fifo_error_ != 0) {
    stress_.skipped = true;
    stress_.why_skipped = no_fifo;
  }

  for (section* s : {&post_, &wake_, &stress_})
    s->results.assign(s->places.size(),
                      std::vector<std::vector<rep_result>>(
                          s->systems.size(), std::vector<rep_result>(static_cast<std::size_t>(
                                                 std::max(1, opt_.reps)))));
}

std::vector<std::string> handoffs::notes() const {
  std::vector<std::string> out;
  char buf[256];
  std::snprintf(buf, sizeof buf,
                "handoffs: post throughput %zu tasks per measurement; wake latency %d triggers "
                "per measurement, %lld-%lld us apart",
                opt_.post_tasks, opt_.triggers, static_cast<long long>(opt_.gap_min_ns / 1000),
                static_cast<long long>(opt_.gap_max_ns / 1000));
  out.emplace_back(buf);
  for (section const* s : {&post_, &wake_})
    for (auto const& sys : s->systems)
      if (sys.skipped) out.push_back(sys.name + ": SKIPPED (" + sys.skipped + ")");
  for (auto const& p : wake_.places)
    if (!p.available) out.push_back("wake placement '" + p.label + "': SKIPPED (" + p.why_not + ")");
  if (stress_.skipped) out.push_back("stress probe: SKIPPED (" + stress_.why_skipped + ")");
  return out;
}

void handoffs::run_section(section& s, bool post, int rep) {
  auto const r = static_cast<std::size_t>(rep);
  auto const pk = post_kinds();
  auto const wk = wake_kinds();
  for (std::size_t p = 0; p < s.places.size(); ++p) {
    auto const& pl = s.places[p];
    if (!pl.available) continue;
    std::fprintf(stderr, " %s:", pl.id.c_str());
    for (std::size_t k = 0; k < s.systems.size(); ++k) {
      auto const& sys = s.systems[k];
      if (sys.skipped) continue;
      std::fprintf(stderr, " %s", sys.name.c_str());
      if (post) {
        s.results[p][k][r] = pk[sys.kind].run(pl.producers, opt_.post_tasks);
      } else {
        // A seed per repetition and placement, the same for every system: each sees
        // the same sequence of gaps.
        wake_params const wp{opt_.triggers, opt_.gap_min_ns, opt_.gap_max_ns,
                             static_cast<std::uint32_t>(1 + 131 * r + p)};
        s.results[p][k][r] = wk[sys.kind].run(pl, sys.rt_priority, wp);
      }
    }
    // Ratios within the repetition: the reference (system 0) against each other.
    rep_result const& ref = s.results[p][0][r];
    for (std::size_t k = 1; k < s.systems.size(); ++k) {
      rep_result& x = s.results[p][k][r];
      if (!x.valid || !ref.valid) continue;
      if (post) {
        x.ratio = ref.rate / x.rate;
      } else {
        x.ratio = ref.median / x.median;
        x.ratio_p99 = ref.p99 / x.p99;
      }
    }
  }
}

void handoffs::run_repetition(int rep) {
  run_section(post_, true, rep);
  run_section(wake_, false, rep);
}

void handoffs::run_stress() {
  if (stress_.skipped) return;
  // stress-ng's own timeout: a generous bound on this section's length, so a crash here
  // does not leave it running.
  double const per_measure_s =
      static_cast<double>(opt_.triggers + 50) *
      static_cast<double>(opt_.gap_max_ns + 100'000) / 1e9;
  int const timeout_s = 30 + static_cast<int>(3 * per_measure_s * 4 * opt_.reps);
  std::string const load_before = loadavg();
  stress_process stress(opt_.stress_cpus, timeout_s);
  if (stress.pid() <= 0) {
    stress_.skipped = true;
    stress_.why_skipped = "could not start stress-ng: " + stress.error();
    return;
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(500));  // its workers start
  auto const [busy0, total0] = cpu_jiffies();
  std::int64_t const t0 = now_ns();
  for (int r = 0; r < opt_.reps; ++r) {
    std::fprintf(stderr, "[stress rep %d/%d]", r + 1, opt_.reps);
    if (!stress.running()) throw std::runtime_error("stress-ng exited during the stress probe");
    run_section(stress_, false, r);
    std::fprintf(stderr, "\n");
  }
  auto const [busy1, total1] = cpu_jiffies();
  double const secs = static_cast<double>(now_ns() - t0) / 1e9;
  char buf[512];
  std::snprintf(buf, sizeof buf,
                "  stress-ng --cpu %d (pid %d) ran throughout; machine CPU busy over the probe: "
                "%.1f %% (/proc/stat, %.1f s);\n  load average before %s, after %s",
                opt_.stress_cpus, stress.pid(),
                total1 > total0 ? 100.0 * static_cast<double>(busy1 - busy0) /
                                      static_cast<double>(total1 - total0)
                                : std::nan(""),
                secs, load_before.c_str(), loadavg().c_str());
  stress_.extra = buf;
}

namespace {

struct summary {
  bool valid = false;
  double rate = 0, per_call = 0, median = 0, p99 = 0, p999 = 0, max = 0, call_median = 0,
         call_max = 0;
  double consumer_cpu = 0;
  double ratio = std::nan(""), ratio_p99 = std::nan("");
  int reps = 0;
};

/// Medians over the repetitions, except max and call_max: the largest of all.
summary summarise(std::vector<rep_result> const& reps) {
  summary s;
  std::vector<double> rate, per_call, med, p99, p999, call_med, cpu, ratio, ratio_p99;
  for (auto const& r : reps) {
    if (!r.valid) continue;
    ++s.reps;
    rate.push_back(r.rate);
    per_call.push_back(r.per_call);
    med.push_back(r.median);
    p99.push_back(r.p99);
    p999.push_back(r.p999);
    call_med.push_back(r.call_median);
    cpu.push_back(r.consumer_cpu);
    s.max = std::max(s.max, r.max);
    s.call_max = std::max(s.call_max, r.call_max);
    if (r.ratio > 0) ratio.push_back(r.ratio);
    if (r.ratio_p99 > 0) ratio_p99.push_back(r.ratio_p99);
  }
  s.valid = s.reps > 0;
  if (!s.valid) return s;
  s.rate = median(rate);
  s.per_call = median(per_call);
  s.median = median(med);
  s.p99 = median(p99);
  s.p999 = median(p999);
  s.call_median = median(call_med);
  s.consumer_cpu = median(cpu);
  if (!ratio.empty()) s.ratio = median(ratio);
  if (!ratio_p99.empty()) s.ratio_p99 = median(ratio_p99);
  return s;
}

void print_post(handoffs::section const& s) {
  std::printf("\n== %s ==\n", s.title.c_str());
  for (std::size_t p = 0; p < s.places.size(); ++p) {
    std::printf("\n[%s]\n", s.places[p].label.c_str());
    std::printf("  %-14s %14s %17s %16s\n", "system", "tasks/s", "producer ns/post",
                "ste/peer tasks/s");
    for (std::size_t k = 0; k < s.systems.size(); ++k) {
      auto const& sys = s.systems[k];
      if (sys.skipped) {
        std::printf("  %-14s SKIPPED (%s)\n", sys.name.c_str(), sys.skipped);
        continue;
      }
      summary const sm = summarise(s.results[p][k]);
      if (!sm.valid) {
        std::printf("  %-14s no data\n", sys.name.c_str());
        continue;
      }
      char per[32];
      std::snprintf(per, sizeof per, "%.1f", sm.per_call);
      std::printf("  %-14s %14s %17s %16s\n", sys.name.c_str(), grouped(sm.rate).c_str(), per,
                  ratio_text(sm.ratio).c_str());
    }
  }
  std::printf(
      "\n  tasks/s: posted tasks / (first producer's first post .. the last task's run);\n"
      "  producer ns/post: a producer's posting time / its posts (median over producers);\n"
      "  ste/peer tasks/s above 1: ste is faster. Medians over the repetitions.\n");
}

void print_wake(handoffs::section const& s) {
  std::printf("\n== %s ==\n", s.title.c_str());
  if (s.skipped) {
    std::printf("  SKIPPED: %s\n", s.why_skipped.c_str());
    return;
  }
  std::string const ref = s.systems.empty() ? "ste" : s.systems[0].name;
  for (std::size_t p = 0; p < s.places.size(); ++p) {
    auto const& pl = s.places[p];
    std::printf("\n[%s]\n", pl.label.c_str());
    if (!pl.available) {
      std::printf("  SKIPPED: %s\n", pl.why_not.c_str());
      continue;
    }
    std::printf("  %-18s %10s %10s %11s %11s %12s %12s %9s %9s %9s\n", "system", "median ns",
                "p99 ns", "p99.9 ns", "max ns", "call med ns", "call max ns", "cons CPU",
                "ref/peer", "ref/peer");
    std::printf("  %-18s %10s %10s %11s %11s %12s %12s %9s %9s %9s\n", "", "", "", "", "", "",
                "", "ns/trig", "median", "p99");
    for (std::size_t k = 0; k < s.systems.size(); ++k) {
      auto const& sys = s.systems[k];
      if (sys.skipped) {
        std::printf("  %-18s SKIPPED (%s)\n", sys.name.c_str(), sys.skipped);
        continue;
      }
      summary const sm = summarise(s.results[p][k]);
      if (!sm.valid) {
        std::printf("  %-18s no data\n", sys.name.c_str());
        continue;
      }
      std::printf("  %-18s %10s %10s %11s %11s %12s %12s %9s %9s %9s\n", sys.name.c_str(),
                  grouped(sm.median).c_str(), grouped(sm.p99).c_str(),
                  grouped(sm.p999).c_str(), grouped(sm.max).c_str(),
                  grouped(sm.call_median).c_str(), grouped(sm.call_max).c_str(),
                  grouped(sm.consumer_cpu).c_str(), ratio_text(sm.ratio).c_str(),
                  ratio_text(sm.ratio_p99).c_str());
    }
  }
  if (!s.extra.empty()) std::printf("\n%s\n", s.extra.c_str());
  std::printf(
      "\n  latency: the producer's clock read just before trigger() .. the consumer's first\n"
      "  clock read in the run; call: time the producer spent in trigger(); cons CPU: the\n"
      "  consumer thread's own CPU clock over the measurement / triggers; median, p99 and\n"
      "  p99.9 (of each measurement's triggers) are medians over the repetitions, max the\n"
      "  largest of all. ref/peer = %s's / the\n"
      "  peer's, per repetition, then the median (below 1: %s wakes faster).\n",
      ref.c_str(), ref.c_str());
}

}  // namespace

void handoffs::print() const {
  print_post(post_);
  print_wake(wake_);
  print_wake(stress_);
  if (!stress_.skipped && stress_.systems.size() >= 2) {
    // realtime vs normal, per repetition, for ste
    std::vector<double> med, p99, p999, mx;
    auto const& rt = stress_.results[0][0];
    auto const& normal = stress_.results[0][1];
    for (std::size_t r = 0; r < rt.size(); ++r) {
      if (!rt[r].valid || !normal[r].valid) continue;
      med.push_back(rt[r].median / normal[r].median);
      p99.push_back(rt[r].p99 / normal[r].p99);
      p999.push_back(rt[r].p999 / normal[r].p999);
      mx.push_back(rt[r].max / normal[r].max);
    }
    if (!med.empty())
      std::printf(
          "\n  %s, realtime / normal (median of per-repetition ratios): median %s, p99 %s, "
          "p99.9 %s, max %s\n",
          wake_kinds()[0].name, ratio_text(median(med)).c_str(), ratio_text(median(p99)).c_str(),
          ratio_text(median(p999)).c_str(), ratio_text(median(mx)).c_str());
  }
}

std::size_t handoffs::write_csv(std::ostream& out) const {
  // Columns: kind,system,placement,rep,submitters,round_trips,capped,median_ns,p99_ns,
  // round_trips_per_s,cpu_ns_per_round_trip,ste_time_ratio,ste_throughput_ratio,value,unit
  std::size_t rows = 0;
  auto const post_row = [&](char const* kind, std::string const& sys, handoffs::place const& pl,
                            std::string const& rep, double tasks, double rate, double per,
                            double ratio) {
    out << kind << ',' << sys << ',' << pl.id << ',' << rep << ',' << pl.producers << ','
        << csv_number(tasks) << ",,,," << csv_number(rate) << ",,," << csv_number(ratio) << ','
        << csv_number(per) << ",producer_ns_per_post\n";
    ++rows;
  };
  auto const wake_row = [&](char const* kind, std::string const& sys, handoffs::place const& pl,
                            std::string const& rep, double n, double med, double p99, double mx,
                            double ratio) {
    out << kind << ',' << sys << ',' << pl.id << ',' << rep << ",1," << csv_number(n) << ",,"
        << csv_number(med) << ',' << csv_number(p99) << ",,," << csv_number(ratio) << ",,"
        << csv_number(mx) << ",max_ns\n";
    ++rows;
  };
  for (std::size_t p = 0; p < post_.places.size(); ++p)
    for (std::size_t k = 0; k < post_.systems.size(); ++k) {
      auto const& reps = post_.results[p][k];
      for (std::size_t r = 0; r < reps.size(); ++r)
        if (reps[r].valid)
          post_row("post_run", post_.systems[k].name, post_.places[p], std::to_string(r + 1),
                   static_cast<double>(reps[r].count), reps[r].rate, reps[r].per_call,
                   k == 0 ? std::nan("") : reps[r].ratio);
      summary const sm = summarise(reps);
      if (sm.valid)
        post_row("post_summary", post_.systems[k].name, post_.places[p], "median", std::nan(""),
                 sm.rate, sm.per_call, sm.ratio);
    }
  for (section const* s : {&wake_, &stress_}) {
    if (s->skipped) continue;
    char const* run_kind = s == &wake_ ? "wake_run" : "stress_run";
    char const* sum_kind = s == &wake_ ? "wake_summary" : "stress_summary";
    for (std::size_t p = 0; p < s->places.size(); ++p)
      for (std::size_t k = 0; k < s->systems.size(); ++k) {
        auto const& reps = s->results[p][k];
        for (std::size_t r = 0; r < reps.size(); ++r)
          if (reps[r].valid)
            wake_row(run_kind, s->systems[k].name, s->places[p], std::to_string(r + 1),
                     static_cast<double>(reps[r].count), reps[r].median, reps[r].p99, reps[r].max,
                     k == 0 ? std::nan("") : reps[r].ratio);
        summary const sm = summarise(reps);
        if (sm.valid)
          wake_row(sum_kind, s->systems[k].name, s->places[p], "median", std::nan(""), sm.median,
                   sm.p99, sm.max, sm.ratio);
      }
  }
  return rows;
}

}  // namespace bench
