// SPDX-License-Identifier: MIT
#include "platform.hpp"

#include <sched.h>
#include <sys/utsname.h>

#include <unistd.h>

#include <cstddef>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <string_view>
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

int try_set_fifo_current_thread(int priority) noexcept {
  sched_param param{};
  param.sched_priority = priority;
  return pthread_setschedparam(pthread_self(), SCHED_FIFO, &param);
}

void set_fifo_current_thread(int priority) noexcept {
  int const error = try_set_fifo_current_thread(priority);
  if (error == 0) return;
  std::fprintf(stderr, "ste_compare: FATAL: SCHED_FIFO %d refused: %s\n", priority,
               std::strerror(error));
  std::abort();
}

int fifo_works(int priority) {
  int error = 0;
  std::thread t([&] { error = try_set_fifo_current_thread(priority); });
  t.join();
  return error;
}

bool on_path(char const* program) {
  char const* path = std::getenv("PATH");
  if (path == nullptr) return false;
  std::string_view rest(path);
  while (!rest.empty()) {
    auto const colon = rest.find(':');
    std::string_view const dir = rest.substr(0, colon);
    rest = colon == std::string_view::npos ? std::string_view{} : rest.substr(colon + 1);
    std::string file(dir.empty() ? std::string_view(".") : dir);  // empty entry: "."
    file += '/';
    file += program;
    if (access(file.c_str(), X_OK) == 0) return true;
  }
  return false;
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
