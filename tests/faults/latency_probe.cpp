// SPDX-License-Identifier: MIT
// Worst-case submit latency, with and without a real-time CPU hog, and with the worker
// raised to real-time priority in its prelude. A measuring program, not a test: timings
// never decide a test here. Run as root (SCHED_FIFO); without the permission only the
// configurations without real-time threads run.
//
//   latency_probe [seconds per configuration, default 2]
//
// A submitter thread times `thread.submit([] {})` round trips back to back. The hog is
// a SCHED_FIFO 50 thread pinned to CPU 0 that spins. "pinned" configurations put the
// submitter and the worker on CPU 0 too (the hog's CPU); "free" ones leave them to the
// scheduler (they can move to another CPU). The raised worker runs SCHED_FIFO 80,
// set by pthread_setschedparam in its prelude.
#include <pthread.h>
#include <sched.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <thread>
#include <vector>

#include "ste/ste.hpp"

namespace {

using clock_type = std::chrono::steady_clock;

bool set_fifo(int priority) {
  sched_param p{};
  p.sched_priority = priority;
  return pthread_setschedparam(pthread_self(), SCHED_FIFO, &p) == 0;
}

void pin_to(std::size_t cpu) {
  cpu_set_t set;
  CPU_ZERO(&set);
  CPU_SET(cpu, &set);
  pthread_setaffinity_np(pthread_self(), sizeof set, &set);
}

void unpin() {
  cpu_set_t set;
  CPU_ZERO(&set);
  std::size_t const n = std::thread::hardware_concurrency();
  for (std::size_t c = 0; c < n; ++c) CPU_SET(c, &set);
  pthread_setaffinity_np(pthread_self(), sizeof set, &set);
}

struct config {
  char const* name;
  bool hog;
  bool pinned;
  int worker_fifo;     // 0: SCHED_OTHER
  int submitter_fifo;  // 0: SCHED_OTHER
};

struct result {
  long count = 0;
  double p50 = 0, p99 = 0, p999 = 0, max = 0;  // microseconds
  bool ok = true;
  std::string note;
};

result measure(config const& c, double seconds) {
  result r;
  std::atomic<bool> stop{false};
  std::atomic<bool> hog_ok{true};
  std::thread hog;
  if (c.hog) {
    hog = std::thread([&] {
      pin_to(0);
      if (!set_fifo(50)) {
        hog_ok = false;
        return;
      }
      while (!stop.load(std::memory_order_relaxed)) {
      }
    });
  }
  std::atomic<bool> worker_ok{true};
  auto thread = ste::builder()
                    .name("probe-worker")
                    .prelude([&] {
                      if (c.pinned)
                        pin_to(0);
                      else
                        unpin();
                      if (c.worker_fifo != 0 && !set_fifo(c.worker_fifo)) worker_ok = false;
                    })
                    .build();
  std::vector<double> samples;
  samples.reserve(4'000'000);
  std::atomic<bool> submitter_ok{true};
  std::thread submitter([&] {
    if (c.pinned)
      pin_to(0);
    else
      unpin();
    if (c.submitter_fifo != 0 && !set_fifo(c.submitter_fifo)) submitter_ok = false;
    auto const end = clock_type::now() + std::chrono::duration<double>(seconds);
    for (;;) {
      auto const t0 = clock_type::now();
      if (t0 >= end) break;
      thread.submit([] {});
      auto const t1 = clock_type::now();
      samples.push_back(std::chrono::duration<double, std::micro>(t1 - t0).count());
    }
  });
  submitter.join();
  stop = true;
  if (hog.joinable()) hog.join();
  thread.join();
  if (!hog_ok || !worker_ok || !submitter_ok) {
    r.ok = false;
    r.note = "SCHED_FIFO refused (not root?)";
  }
  r.count = static_cast<long>(samples.size());
  if (!samples.empty()) {
    std::sort(samples.begin(), samples.end());
    auto at = [&](double q) {
      return samples[std::min(samples.size() - 1,
                              static_cast<std::size_t>(q * static_cast<double>(samples.size())))];
    };
    r.p50 = at(0.5), r.p99 = at(0.99), r.p999 = at(0.999), r.max = samples.back();
  }
  return r;
}

}  // namespace

int main(int argc, char** argv) {
  double const seconds = argc > 1 ? std::atof(argv[1]) : 2.0;
  unsigned const cpus = std::thread::hardware_concurrency();
  std::printf(
      "ste submit latency probe: %u CPUs, %.1f s per configuration; microseconds per "
      "submit round trip\n",
      cpus, seconds);
  config const configs[] = {
      {"no hog,  free,   worker OTHER,   submitter OTHER", false, false, 0, 0},
      {"RT hog,  free,   worker OTHER,   submitter OTHER", true, false, 0, 0},
      {"RT hog,  free,   worker FIFO 80, submitter OTHER", true, false, 80, 0},
      {"no hog,  pinned, worker OTHER,   submitter OTHER", false, true, 0, 0},
      {"RT hog,  pinned, worker OTHER,   submitter OTHER", true, true, 0, 0},
      {"RT hog,  pinned, worker FIFO 80, submitter OTHER", true, true, 80, 0},
      {"RT hog,  pinned, worker FIFO 80, submitter FIFO 80", true, true, 80, 80},
  };
  std::printf("%-52s %10s %9s %9s %9s %11s\n", "configuration", "submits", "p50", "p99", "p99.9",
              "max");
  for (config const& c : configs) {
    result const r = measure(c, seconds);
    std::printf("%-52s %10ld %9.1f %9.1f %9.1f %11.1f %s\n", c.name, r.count, r.p50, r.p99, r.p999,
                r.max, r.note.c_str());
    std::fflush(stdout);
  }
  return 0;
}
