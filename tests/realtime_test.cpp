// SPDX-License-Identifier: MIT
// builder::realtime, builder::cpu_affinity and thread::is_realtime (ste/realtime.hpp):
// what the prelude and the tasks see, the defaults, the misuse, and the OS refusing —
// for real, in a forked child that gave up every right to SCHED_FIFO (Linux), and
// whatever Wine allows (Windows).
#include <gtest/gtest.h>

#include <array>
#include <chrono>
#include <climits>
#include <csignal>
#include <cstddef>
#include <cstdio>
#include <span>
#include <stdexcept>
#include <string>
#include <system_error>
#include <utility>
#include <vector>

#if defined(__linux__)
#include <dirent.h>
#include <grp.h>
#include <pthread.h>
#include <sched.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <thread>
#endif

#if defined(_WIN32)
#ifndef NOMINMAX
#define NOMINMAX
#endif
#include <windows.h>
#endif

#include "ste/ste.hpp"

namespace {

bool contains(std::string const& text, std::string const& part) {
  return text.find(part) != std::string::npos;
}

// --- Every platform ------------------------------------------------------------------

TEST(Realtime, PriorityOutsideZeroToNinetyNineThrowsInvalidArgumentAndStartsNothing) {
  for (int priority : {-1, 100, INT_MIN, INT_MAX}) {
    bool prelude_ran = false;
    try {
      auto t = ste::builder()
                   .realtime({.priority = priority, .required = false})
                   .prelude([&] { prelude_ran = true; })
                   .build();
      ADD_FAILURE() << "priority " << priority << " was accepted";
    } catch (std::invalid_argument const& e) {
      EXPECT_TRUE(contains(e.what(), "priority " + std::to_string(priority))) << e.what();
      EXPECT_TRUE(contains(e.what(), "0..99")) << e.what();
    }
    EXPECT_FALSE(prelude_ran) << "a thread was started for priority " << priority;
  }
  // The builder is usable again afterwards: build() consumed the settings.
  ste::builder b;
  EXPECT_THROW((void)b.realtime({.priority = 100}).build(), std::invalid_argument);
  EXPECT_FALSE(b.build().is_realtime());
}

TEST(Realtime, NegativeCpuThrowsInvalidArgumentAndStartsNothing) {
  bool prelude_ran = false;
  try {
    auto t = ste::builder().cpu_affinity({0, -1}).prelude([&] { prelude_ran = true; }).build();
    ADD_FAILURE() << "CPU -1 was accepted";
  } catch (std::invalid_argument const& e) {
    EXPECT_TRUE(contains(e.what(), "CPU -1")) << e.what();
  }
  EXPECT_FALSE(prelude_ran);
}

TEST(Realtime, IsRealtimeIsFalseForEmptyHandlesAndThreadsBuiltWithoutIt) {
  ste::thread empty;
  EXPECT_FALSE(empty.is_realtime());
  ste::thread plain = ste::spawn();
  EXPECT_FALSE(plain.is_realtime());
  ste::thread moved_to = std::move(plain);
  EXPECT_FALSE(plain.is_realtime());  // NOLINT(bugprone-use-after-move): moved-from is empty
  EXPECT_FALSE(moved_to.is_realtime());
}

TEST(Realtime, AnOptionalRequestAlwaysBuildsAThreadThatWorks) {
  ste::thread t = ste::builder().name("rt-optional").realtime({.required = false}).build();
  EXPECT_EQ(t.submit([] { return 6 * 7; }), 42);
  // Whatever the OS allowed, a moved-from handle says false and the new owner keeps it.
  bool const rt = t.is_realtime();
  ste::thread owner = std::move(t);
  EXPECT_FALSE(t.is_realtime());  // NOLINT(bugprone-use-after-move): moved-from is empty
  EXPECT_EQ(owner.is_realtime(), rt);
}

// Real-time scheduling required: either the thread runs real-time, or build() said why
// not with the platform's policy in the message. (On Linux as root, and under Wine, it
// is the former; the Linux tests below insist.)
TEST(Realtime, ARequiredRequestRunsRealtimeOrThrowsSystemErrorNamingThePolicy) {
  try {
    ste::thread t = ste::builder().realtime().build();
    EXPECT_TRUE(t.is_realtime());
    EXPECT_EQ(t.submit([] { return 1; }), 1);
  } catch (std::system_error const& e) {
#if defined(__linux__)
    EXPECT_TRUE(contains(e.what(), "SCHED_FIFO at priority 88")) << e.what();
#elif defined(_WIN32)
    EXPECT_TRUE(contains(e.what(), "\"Pro Audio\"")) << e.what();
#endif
    std::printf("realtime() refused here: %s\n", e.what());
  }
}

TEST(Realtime, DefaultPriorityIsTheDocumentedAudioDefault) {
  static_assert(ste::realtime_options::default_priority == 88);
  constexpr ste::realtime_options defaults{};
  static_assert(defaults.priority == 0 && defaults.required);
  static_assert(defaults.period.count() == 0 && defaults.computation.count() == 0);
}

// --- Linux ---------------------------------------------------------------------------
#if defined(__linux__)

struct sched_seen {
  int policy = -1;           // pthread_getschedparam, without the SCHED_RESET_ON_FORK bit
  int priority = -1;         // pthread_getschedparam
  int kernel_policy = -1;    // sched_getscheduler(0), without the bit
  int kernel_priority = -1;  // sched_getparam(0)
  bool reset_on_fork = false;
};

// The calling thread's scheduling as glibc (pthread_getschedparam) and the kernel
// (sched_getscheduler, sched_getparam) see it. They can differ: glibc caches a thread's
// policy and copies the creator's cache into a thread it starts, while the kernel resets
// a thread started by a SCHED_RESET_ON_FORK thread to SCHED_OTHER.
sched_seen current_sched() {
  sched_seen s;
  sched_param p{};
  int policy = -1;
  if (pthread_getschedparam(pthread_self(), &policy, &p) == 0) {
    s.policy = policy & ~SCHED_RESET_ON_FORK;
    s.priority = p.sched_priority;
  }
  int const raw = sched_getscheduler(0);
  if (raw >= 0) {
    s.kernel_policy = raw & ~SCHED_RESET_ON_FORK;
    s.reset_on_fork = (raw & SCHED_RESET_ON_FORK) != 0;
  }
  sched_param k{};
  if (sched_getparam(0, &k) == 0) s.kernel_priority = k.sched_priority;
  return s;
}

// Both views agree on `policy` at `priority`.
void expect_sched(sched_seen const& s, int policy, int priority, char const* where) {
  EXPECT_EQ(s.policy, policy) << where;
  EXPECT_EQ(s.priority, priority) << where;
  EXPECT_EQ(s.kernel_policy, policy) << where;
  EXPECT_EQ(s.kernel_priority, priority) << where;
}

// Whether this process may use SCHED_FIFO at `priority`, tried on a throw-away thread
// (independently of ste).
bool sched_fifo_allowed(int priority) {
  int rc = -1;
  std::thread probe([&] {
    sched_param p{};
    p.sched_priority = priority;
    rc = pthread_setschedparam(pthread_self(), SCHED_FIFO, &p);
  });
  probe.join();
  return rc == 0;
}

#define STE_REQUIRE_SCHED_FIFO(priority)                                                 \
  if (!sched_fifo_allowed(priority))                                                     \
  GTEST_SKIP() << "*** SKIPPED: this process may not use SCHED_FIFO " << (priority)      \
               << " (not root, no CAP_SYS_NICE, RLIMIT_RTPRIO too low); the refusal is " \
                  "tested by Realtime.RefusedForRealInAChildWithoutRights ***"

// The entries of /proc/self/task: this process's threads.
std::size_t thread_count() {
  std::size_t n = 0;
  if (DIR* d = opendir("/proc/self/task")) {
    while (dirent* e = readdir(d))
      if (e->d_name[0] != '.') ++n;
    closedir(d);
  }
  return n;
}

TEST(Realtime, PreludeAndTasksRunUnderSchedFifoAtTheAskedPriority) {
  STE_REQUIRE_SCHED_FIFO(70);
  sched_seen in_prelude;
  ste::thread t = ste::builder()
                      .name("rt-70")
                      .realtime({.priority = 70})
                      .prelude([&] { in_prelude = current_sched(); })
                      .build();
  EXPECT_TRUE(t.is_realtime());
  expect_sched(in_prelude, SCHED_FIFO, 70, "in the prelude");
  EXPECT_TRUE(in_prelude.reset_on_fork);
  sched_seen const in_task = t.submit(current_sched);
  expect_sched(in_task, SCHED_FIFO, 70, "in a task");
  EXPECT_TRUE(in_task.reset_on_fork);
  // The thread calling build() is left alone.
  EXPECT_NE(current_sched().kernel_policy, SCHED_FIFO);
}

TEST(Realtime, PriorityZeroMeansTheDefaultEightyEight) {
  STE_REQUIRE_SCHED_FIFO(88);
  sched_seen in_prelude;
  ste::thread t = ste::builder().realtime().prelude([&] { in_prelude = current_sched(); }).build();
  EXPECT_TRUE(t.is_realtime());
  expect_sched(in_prelude, SCHED_FIFO, 88, "in the prelude");
  EXPECT_EQ(in_prelude.priority, ste::realtime_options::default_priority);
}

TEST(Realtime, PrioritiesOneAndNinetyNineAreAccepted) {
  STE_REQUIRE_SCHED_FIFO(99);
  for (int priority : {1, 99}) {
    ste::thread t = ste::builder().realtime({.priority = priority}).build();
    EXPECT_TRUE(t.is_realtime());
    expect_sched(t.submit(current_sched), SCHED_FIFO, priority, "in a task");
  }
}

// SCHED_RESET_ON_FORK: a process forked by a task of a real-time thread, and a thread it
// starts, begin with normal scheduling. (The forked child only asks and exits: nothing
// else is safe after a fork in a threaded process.)
TEST(Realtime, ProcessesAndThreadsStartedFromTheThreadDoNotInheritSchedFifo) {
  STE_REQUIRE_SCHED_FIFO(50);
  ste::thread t = ste::builder().realtime({.priority = 50}).build();
  ASSERT_TRUE(t.is_realtime());
  int const child_policy = t.submit([] {
    pid_t const pid = fork();
    if (pid == 0) _exit(sched_getscheduler(0) == SCHED_OTHER ? 0 : 1);
    int status = 0;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    return WIFEXITED(status) ? WEXITSTATUS(status) : 100 + WTERMSIG(status);
  });
  EXPECT_EQ(child_policy, 0) << "the forked child did not start with SCHED_OTHER";
  sched_seen const helper = t.submit([] {
    sched_seen seen;
    std::thread([&] { seen = current_sched(); }).join();
    return seen;
  });
  // The kernel's view: glibc's pthread_getschedparam in the new thread still reports the
  // creator's cached SCHED_FIFO (a glibc quirk, seen with glibc 2.36).
  EXPECT_EQ(helper.kernel_policy, SCHED_OTHER)
      << "a std::thread started by a task inherited SCHED_FIFO";
  expect_sched(t.submit(current_sched), SCHED_FIFO, 50, "the ste thread itself keeps it");
}

// Runs `body` in a forked child that an alarm kills after `seconds` (so it never hangs
// the suite); returns its exit status, or 128 + the signal that ended it. The body may
// start ste threads: only the forking thread exists in the child.
int run_in_child(int (*body)(), unsigned seconds) {
  std::fflush(nullptr);
  pid_t const pid = fork();
  if (pid < 0) return -1;
  if (pid == 0) {
    alarm(seconds);
    int const rc = body();
    std::fflush(nullptr);
    _exit(rc);
  }
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

constexpr int kChildSkip = 77;

// The child reports the first check that failed by its exit status (and says which on
// stderr, which CTest shows).
int child_failed(int code, char const* what, std::string const& detail = {}) {
  std::fprintf(stderr, "child check %d failed: %s %s\n", code, what, detail.c_str());
  return code;
}

// Waits until the process is back to `baseline` threads: a joined thread may stay listed
// in /proc/self/task for a moment. Only the child's alarm bounds the wait, so the
// outcome never depends on timing: a thread left running is a hang, killed by SIGALRM.
void wait_for_thread_count(std::size_t baseline) {
  while (thread_count() > baseline) std::this_thread::sleep_for(std::chrono::milliseconds(1));
}

// In the child: no RLIMIT_RTPRIO, and (as root) uid/gid 65534, which drops CAP_SYS_NICE.
int refused_child() {
  rlimit const none{0, 0};
  if (setrlimit(RLIMIT_RTPRIO, &none) != 0) return child_failed(2, "setrlimit(RLIMIT_RTPRIO, 0)");
  if (geteuid() == 0) {
    if (setgroups(0, nullptr) != 0 || setgid(65534) != 0 || setuid(65534) != 0)
      return child_failed(3, "dropping to uid/gid 65534");
    prctl(PR_SET_DUMPABLE, 1, 0, 0, 0);  // keep /proc/self readable after the uid change
  }
  // The precondition, checked without ste: SCHED_FIFO is refused to this process now.
  sched_param probe{};
  probe.sched_priority = 1;
  if (pthread_setschedparam(pthread_self(), SCHED_FIFO, &probe) == 0) {
    std::fprintf(stderr, "SCHED_FIFO still allowed without RLIMIT_RTPRIO (CAP_SYS_NICE?)\n");
    return kChildSkip;
  }
  // A plain thread first, so that a sanitizer's helper thread exists before the baseline.
  ste::spawn().join();
  std::size_t const baseline = thread_count();

  // Required: build() throws, says how to allow it, and leaves no thread behind.
  bool prelude_ran = false;
  try {
    ste::thread t = ste::builder()
                        .name("rt-refused")
                        .realtime({.priority = 42})
                        .prelude([&] { prelude_ran = true; })
                        .build();
    return child_failed(10, "build() did not throw although SCHED_FIFO is refused");
  } catch (std::system_error const& e) {
    std::string const what = e.what();
    std::printf("refused as expected: %s\n", e.what());
    int code = 11;
    for (char const* part : {"SCHED_FIFO", "priority 42", "RLIMIT_RTPRIO", "ulimit -r",
                             "CAP_SYS_NICE", "rtkit", "\"rt-refused\"", "required = false"}) {
      if (!contains(what, part)) return child_failed(code, "the message lacks", part);
      ++code;
    }
    if (e.code() != std::errc::operation_not_permitted)
      return child_failed(20, "the error code is not EPERM:", e.code().message());
  }
  if (prelude_ran) return child_failed(21, "the prelude ran although the start failed");
  wait_for_thread_count(baseline);  // no thread left behind (or SIGALRM)

  // The default priority, refused, is named as 88.
  try {
    (void)ste::builder().realtime().build();
    return child_failed(22, "build() with the default priority did not throw");
  } catch (std::system_error const& e) {
    if (!contains(e.what(), "SCHED_FIFO at priority 88"))
      return child_failed(23, "the message does not name priority 88:", e.what());
  }
  wait_for_thread_count(baseline);

  // Not required: the thread runs, with normal scheduling, and says so.
  sched_seen in_prelude;
  ste::thread t = ste::builder()
                      .realtime({.priority = 42, .required = false})
                      .prelude([&] { in_prelude = current_sched(); })
                      .build();
  if (t.is_realtime()) return child_failed(30, "is_realtime() is true after the fallback");
  if (in_prelude.policy != SCHED_OTHER || in_prelude.kernel_policy != SCHED_OTHER)
    return child_failed(31, "the prelude did not run SCHED_OTHER after the fallback");
  sched_seen const in_task = t.submit(current_sched);
  if (in_task.policy != SCHED_OTHER || in_task.kernel_policy != SCHED_OTHER)
    return child_failed(32, "a task did not run SCHED_OTHER after the fallback");
  t.join();
  return 0;
}

TEST(Realtime, RefusedForRealInAChildWithoutRights) {
  int const rc = run_in_child(&refused_child, 60);
  if (rc == kChildSkip)
    GTEST_SKIP() << "*** SKIPPED: SCHED_FIFO stays allowed even without RLIMIT_RTPRIO and "
                    "as uid 65534 (a capability that cannot be dropped here?) ***";
  EXPECT_EQ(rc, 0) << (rc == 128 + SIGALRM ? "the child hung (a thread left behind?)"
                                           : "a check in the child failed (see its stderr)");
}

// --- CPU affinity (Linux) ------------------------------------------------------------

cpu_set_t current_affinity() {
  cpu_set_t set;
  CPU_ZERO(&set);
  sched_getaffinity(0, sizeof set, &set);
  return set;
}

bool only_cpu(cpu_set_t const& set, int cpu) {
  return CPU_COUNT(&set) == 1 && CPU_ISSET(static_cast<std::size_t>(cpu), &set);
}

#define STE_REQUIRE_CPU0_ALLOWED()                                                   \
  if (cpu_set_t const mine = current_affinity(); !CPU_ISSET(0, &mine))               \
  GTEST_SKIP() << "*** SKIPPED: this process may not run on CPU 0 (its affinity or " \
                  "cpuset excludes it) ***"

struct placement_seen {
  cpu_set_t affinity;
  int cpu;
};

placement_seen current_placement() {
  return {current_affinity(), sched_getcpu()};
}

TEST(CpuAffinity, PreludeAndTasksRunOnlyOnTheListedCpu) {
  STE_REQUIRE_CPU0_ALLOWED();
  placement_seen in_prelude{};
  ste::thread t =
      ste::builder().cpu_affinity({0}).prelude([&] { in_prelude = current_placement(); }).build();
  EXPECT_TRUE(only_cpu(in_prelude.affinity, 0));
  EXPECT_EQ(in_prelude.cpu, 0);
  placement_seen const in_task = t.submit(current_placement);
  EXPECT_TRUE(only_cpu(in_task.affinity, 0));
  EXPECT_EQ(in_task.cpu, 0);
  EXPECT_FALSE(t.is_realtime());  // affinity alone is not real-time scheduling
}

TEST(CpuAffinity, TheSpanOverloadCopiesTheList) {
  STE_REQUIRE_CPU0_ALLOWED();
  std::vector<int> cpus{0};
  ste::builder b;
  b.cpu_affinity(std::span<int const>(cpus));
  cpus.assign({-1, -2, 12345});  // build() must use the copy taken above
  cpu_set_t in_prelude;
  CPU_ZERO(&in_prelude);
  ste::thread t = b.prelude([&] { in_prelude = current_affinity(); }).build();
  EXPECT_TRUE(only_cpu(in_prelude, 0));
  std::array<int, 1> const array{0};
  ste::thread u = ste::builder().cpu_affinity(array).build();
  EXPECT_TRUE(only_cpu(u.submit(current_affinity), 0));
}

TEST(CpuAffinity, AnEmptyListMeansNoRestriction) {
  cpu_set_t const mine = current_affinity();  // what a new thread inherits from us
  for (int variant = 0; variant < 3; ++variant) {
    ste::builder b;
    if (variant == 1) b.cpu_affinity({});
    if (variant == 2) b.cpu_affinity({0}).cpu_affinity(std::span<int const>());  // cleared
    cpu_set_t in_prelude;
    CPU_ZERO(&in_prelude);
    ste::thread t = b.prelude([&] { in_prelude = current_affinity(); }).build();
    EXPECT_TRUE(CPU_EQUAL(&in_prelude, &mine)) << "variant " << variant;
    cpu_set_t const in_task = t.submit(current_affinity);
    EXPECT_TRUE(CPU_EQUAL(&in_task, &mine)) << "variant " << variant;
  }
}

TEST(CpuAffinity, SeveralCpus) {
  cpu_set_t const mine = current_affinity();
  if (!CPU_ISSET(0, &mine) || !CPU_ISSET(1, &mine))
    GTEST_SKIP() << "*** SKIPPED: needs CPUs 0 and 1 in this process's affinity ***";
  ste::thread t = ste::builder().cpu_affinity({1, 0, 1}).build();
  cpu_set_t const seen = t.submit(current_affinity);
  EXPECT_EQ(CPU_COUNT(&seen), 2);
  EXPECT_TRUE(CPU_ISSET(0, &seen) && CPU_ISSET(1, &seen));
}

TEST(CpuAffinity, ACpuThatDoesNotExistThrowsSystemErrorNamingIt) {
  long const count = sysconf(_SC_NPROCESSORS_CONF);
  ASSERT_GT(count, 0);
  for (int cpu : {static_cast<int>(count), 4096, INT_MAX}) {
    bool prelude_ran = false;
    try {
      auto t = ste::builder().cpu_affinity({cpu}).prelude([&] { prelude_ran = true; }).build();
      ADD_FAILURE() << "CPU " << cpu << " was accepted";
    } catch (std::system_error const& e) {
      EXPECT_TRUE(contains(e.what(), "CPU " + std::to_string(cpu) + " does not exist")) << e.what();
    }
    EXPECT_FALSE(prelude_ran);
  }
}

// In the child: the process restricted to CPU 0, then CPU 1 asked for.
int outside_child() {
  cpu_set_t only0;
  CPU_ZERO(&only0);
  CPU_SET(0, &only0);
  if (sched_setaffinity(0, sizeof only0, &only0) != 0)
    return child_failed(2, "sched_setaffinity(CPU 0)");
  bool prelude_ran = false;
  try {
    (void)ste::builder().cpu_affinity({1}).prelude([&] { prelude_ran = true; }).build();
    return child_failed(10, "CPU 1 was accepted outside the process's allowed set");
  } catch (std::system_error const& e) {
    std::printf("refused as expected: %s\n", e.what());
    if (!contains(e.what(), "CPU 1 is outside"))
      return child_failed(11, "the message does not name CPU 1:", e.what());
    if (!contains(e.what(), "may run on (0;"))
      return child_failed(12, "the message does not name the allowed set:", e.what());
  }
  std::vector<int> const cpus{0, 1};
  try {
    (void)ste::builder().cpu_affinity(std::span<int const>(cpus)).build();
    return child_failed(13, "CPUs {0, 1} were accepted (span overload)");
  } catch (std::system_error const& e) {
    if (!contains(e.what(), "CPU 1 is outside"))
      return child_failed(14, "the message does not name CPU 1:", e.what());
  }
  if (prelude_ran) return child_failed(15, "the prelude ran although the start failed");
  // An allowed CPU still works.
  ste::thread t = ste::builder().cpu_affinity({0}).build();
  if (!only_cpu(t.submit(current_affinity), 0)) return child_failed(16, "CPU 0 alone");
  return 0;
}

TEST(CpuAffinity, ACpuOutsideTheProcessAllowedSetThrowsSystemErrorNamingIt) {
  STE_REQUIRE_CPU0_ALLOWED();
  if (sysconf(_SC_NPROCESSORS_CONF) < 2)
    GTEST_SKIP() << "*** SKIPPED: needs a machine with 2 CPUs (CPU 1 must exist) ***";
  EXPECT_EQ(run_in_child(&outside_child, 60), 0) << "a check in the child failed (its stderr)";
}

TEST(CpuAffinity, RealtimeAndAffinityTogetherFromBeforeThePrelude) {
  STE_REQUIRE_CPU0_ALLOWED();
  STE_REQUIRE_SCHED_FIFO(60);
  sched_seen sched;
  cpu_set_t affinity;
  CPU_ZERO(&affinity);
  ste::thread t = ste::builder()
                      .realtime({.priority = 60})
                      .cpu_affinity({0})
                      .prelude([&] {
                        sched = current_sched();
                        affinity = current_affinity();
                      })
                      .build();
  EXPECT_TRUE(t.is_realtime());
  expect_sched(sched, SCHED_FIFO, 60, "in the prelude");
  EXPECT_TRUE(only_cpu(affinity, 0));
}

TEST(Realtime, InvalidPriorityStartsNoThread) {
  std::size_t const before = thread_count();
  EXPECT_THROW((void)ste::builder().realtime({.priority = 100}).build(), std::invalid_argument);
  EXPECT_THROW((void)ste::builder().cpu_affinity({-5}).build(), std::invalid_argument);
  // A thread started and joined could linger in the list, never the other way round:
  // more threads now would mean one was started.
  EXPECT_LE(thread_count(), before);
}

#endif  // __linux__

// --- Windows (MinGW-w64; under Wine in the `windows` preset) ----------------------------
#if defined(_WIN32)

// SetThreadAffinityMask returns the mask it replaces: set the same one back and see it.
DWORD_PTR current_thread_affinity(DWORD_PTR probe) {
  return SetThreadAffinityMask(GetCurrentThread(), probe);
}

TEST(CpuAffinity, PreludeAndTasksRunOnlyOnCpu0) {
  DWORD_PTR in_prelude = 0;
  ste::thread t = ste::builder()
                      .cpu_affinity({0})
                      .prelude([&] { in_prelude = current_thread_affinity(1); })
                      .build();
  EXPECT_EQ(in_prelude, DWORD_PTR{1});
  EXPECT_EQ(t.submit([] { return current_thread_affinity(1); }), DWORD_PTR{1});
}

TEST(CpuAffinity, ACpuThatDoesNotExistThrowsSystemErrorNamingIt) {
  for (int cpu : {64, 4096}) {
    try {
      auto t = ste::builder().cpu_affinity({cpu}).build();
      ADD_FAILURE() << "CPU " << cpu << " was accepted";
    } catch (std::system_error const& e) {
      EXPECT_TRUE(contains(e.what(), "CPU " + std::to_string(cpu) + " does not exist")) << e.what();
    }
  }
}

TEST(CpuAffinity, ACpuOutsideTheProcessAllowedSetThrowsSystemErrorNamingIt) {
  DWORD_PTR process = 0;
  DWORD_PTR system = 0;
  ASSERT_NE(GetProcessAffinityMask(GetCurrentProcess(), &process, &system), 0);
  if ((system & 3u) != 3u) GTEST_SKIP() << "*** SKIPPED: needs CPUs 0 and 1 ***";
  ASSERT_NE(SetProcessAffinityMask(GetCurrentProcess(), 1), 0) << GetLastError();
  try {
    (void)ste::builder().cpu_affinity({1}).build();
    ADD_FAILURE() << "CPU 1 was accepted outside the process's allowed set";
  } catch (std::system_error const& e) {
    EXPECT_TRUE(contains(e.what(), "CPU 1 is outside")) << e.what();
  }
  SetProcessAffinityMask(GetCurrentProcess(), process);
}

// What MMCSS did: the thread's priority inside, for the record (Wine changes nothing).
TEST(Realtime, WhatMmcssDoesHere) {
  int outside = GetThreadPriority(GetCurrentThread());
  int inside = 0;
  ste::thread t = ste::builder()
                      .realtime({.required = false})
                      .prelude([&] { inside = GetThreadPriority(GetCurrentThread()); })
                      .build();
  std::printf("MMCSS \"Pro Audio\": is_realtime() = %d, GetThreadPriority %d -> %d\n",
              t.is_realtime() ? 1 : 0, outside, inside);
  EXPECT_EQ(t.submit([] { return 1; }), 1);
}

#endif  // _WIN32

}  // namespace
