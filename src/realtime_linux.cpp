// SPDX-License-Identifier: MIT
// Real-time scheduling and CPU affinity on Linux: SCHED_FIFO (with SCHED_RESET_ON_FORK)
// through pthread_setschedparam, CPUs through sched_setaffinity, both applied by the
// new thread to itself.
#include <pthread.h>
#include <sched.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstddef>
#include <new>
#include <system_error>

#include "realtime.hpp"
#include "ste/detail/throw.hpp"

namespace ste::detail {

namespace {

// A CPU set of any size (CPU_ALLOC): a plain cpu_set_t holds CPUs 0..1023 only.
class cpu_mask {
 public:
  explicit cpu_mask(std::size_t cpus)
      : cpus_(cpus), bytes_(CPU_ALLOC_SIZE(cpus)), set_(CPU_ALLOC(cpus)) {
    if (set_ == nullptr) throw std::bad_alloc();
    CPU_ZERO_S(bytes_, set_);
  }
  cpu_mask(cpu_mask const&) = delete;
  cpu_mask& operator=(cpu_mask const&) = delete;
  ~cpu_mask() { CPU_FREE(set_); }

  std::size_t cpus() const noexcept { return cpus_; }
  std::size_t bytes() const noexcept { return bytes_; }
  cpu_set_t* get() noexcept { return set_; }
  void add(int cpu) noexcept { CPU_SET_S(static_cast<std::size_t>(cpu), bytes_, set_); }
  bool has(int cpu) const noexcept {
    return cpu >= 0 && static_cast<std::size_t>(cpu) < cpus_ &&
           CPU_ISSET_S(static_cast<std::size_t>(cpu), bytes_, set_);
  }

 private:
  std::size_t cpus_;
  std::size_t bytes_;
  cpu_set_t* set_;
};

// How many CPUs the machine has (online or not), numbered 0..n-1; at least 1.
long configured_cpus() noexcept {
  long const n = sysconf(_SC_NPROCESSORS_CONF);
  return n > 0 ? n : 1;
}

}  // namespace

void check_cpus(std::span<int const> cpus) {
  if (cpus.empty()) return;
  long const count = configured_cpus();
  for (int cpu : cpus)
    if (cpu >= count) throw_cpu_missing(cpu, count);
  // The process's allowed set: the affinity of its main thread (what taskset sets; the
  // kernel keeps it within the process's cpuset). The kernel refuses a mask smaller than
  // its own CPU count with EINVAL, so grow until it fits.
  for (std::size_t size = std::max<std::size_t>(static_cast<std::size_t>(count), 1024);;
       size *= 2) {
    cpu_mask allowed(size);
    if (sched_getaffinity(getpid(), allowed.bytes(), allowed.get()) == 0) {
      for (int cpu : cpus)
        if (!allowed.has(cpu))
          throw_cpu_not_allowed(
              cpu, format_cpu_list([&](int c) { return allowed.has(c); }, static_cast<int>(count)));
      return;
    }
    // Any other failure: let the new thread's sched_setaffinity have the last word.
    if (errno != EINVAL || size >= (std::size_t{1} << 20)) return;
  }
}

placement_scope::~placement_scope() = default;

void placement_scope::apply(std::string const& thread_name,
                            std::optional<realtime_options> const& rt, std::span<int const> cpus) {
  // CPUs first: a real-time thread must not run, even briefly, where it was not meant to.
  if (!cpus.empty()) {
    int const highest = *std::max_element(cpus.begin(), cpus.end());
    cpu_mask mask(static_cast<std::size_t>(highest) + 1);
    for (int cpu : cpus) mask.add(cpu);
    // On the calling thread itself (pid 0): it is migrated before the call returns.
    if (sched_setaffinity(0, mask.bytes(), mask.get()) != 0)
      throw_affinity_refused(std::error_code(errno, std::generic_category()), thread_name,
                             "sched_setaffinity");
  }
  if (!rt) return;
  sched_param param{};
  param.sched_priority = requested_priority(*rt);
  // SCHED_RESET_ON_FORK: a process forked from this thread (system(), posix_spawn in a
  // task), and a thread it starts, begin with normal scheduling instead of inheriting
  // SCHED_FIFO and starving the machine unnoticed; rtkit demands it of the threads it
  // raises, for that reason.
  int const rc = pthread_setschedparam(pthread_self(), SCHED_FIFO | SCHED_RESET_ON_FORK, &param);
  if (rc == 0) {
    realtime_ = true;
    return;
  }
  if (rt->required)
    throw_sched_fifo_refused(std::error_code(rc, std::generic_category()), thread_name,
                             param.sched_priority, "pthread_setschedparam");
  // Not required: the thread keeps the scheduling it was created with.
}

}  // namespace ste::detail
