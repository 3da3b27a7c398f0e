// SPDX-License-Identifier: MIT
#include "platform.hpp"

#include <sched.h>
#include <sys/utsname.h>

#include <cstddef>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <thread>

namespace bench {

std::vector<int> allowed_cpus() {
  cpu_set_t set;
  CPU_ZERO(&set);
  std::vector<int> cpus;
  if (sched_getaffinity(0, sizeof set, &set) != 0) return cpus;
  for (std::size_t cpu = 0; cpu < CPU_SETSIZE; ++cpu)
    if (CPU_ISSET(cpu, &set)) cpus.push_back(static_cast<int>(cpu));
  return cpus;
}

bool try_pin_current_thread(int cpu) noexcept {
  cpu_set_t set;
  CPU_ZERO(&set);
  if (cpu < 0 || cpu >= CPU_SETSIZE) return false;
  CPU_SET(static_cast<std::size_t>(cpu), &set);
  return pthread_setaffinity_np(pthread_self(), sizeof set, &set) == 0;
}

void pin_current_thread(int cpu) noexcept {
  if (try_pin_current_thread(cpu)) return;
  std::fprintf(stderr, "ste_compare: FATAL: could not pin a thread to CPU %d\n", cpu);
  std::abort();
}

bool pinning_works(int a, int b) {
  bool ok_a = false;
  bool ok_b = false;
  std::thread ta([&] { ok_a = try_pin_current_thread(a); });
  std::thread tb([&] { ok_b = try_pin_current_thread(b); });
  ta.join();
  tb.join();
  return ok_a && ok_b;
}

std::string cpu_model() {
  std::ifstream in("/proc/cpuinfo");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("model name", 0) != 0) continue;
    auto const colon = line.find(':');
    if (colon == std::string::npos) break;
    auto const start = line.find_first_not_of(" \t", colon + 1);
    return start == std::string::npos ? std::string("unknown CPU") : line.substr(start);
  }
  return "unknown CPU";
}

std::string kernel_release() {
  utsname u{};
  if (uname(&u) != 0) return "unknown kernel";
  return std::string(u.sysname) + " " + u.release;
}

bool current_thread_cpu_clock(clockid_t& clock) noexcept {
  return pthread_getcpuclockid(pthread_self(), &clock) == 0;
}

void worker_startup::on_worker(int cpu) noexcept {
  if (cpu >= 0) pin_current_thread(cpu);
  if (!current_thread_cpu_clock(clock_)) {
    std::fputs("ste_compare: FATAL: no per-thread CPU clock (pthread_getcpuclockid)\n", stderr);
    std::abort();
  }
  done_.count_down();
}

}  // namespace bench
