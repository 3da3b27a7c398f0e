// SPDX-License-Identifier: MIT
// Real-time priority inversion on one CPU. The scenario runs in
// a forked child with a watchdog, so a hang fails the test instead of hanging the suite.
// (The other bug first pinned here, a join hanging on a coroutine's pending return, is
// now Deadlock.JoinThrowsWhenACoroutineOfTheJoinedThreadWaitsToStartOnTheCaller.)
#include <gtest/gtest.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <coroutine>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <functional>
#include <thread>

#include "ste/ste.hpp"
#include "test_support.hpp"

namespace {

using namespace std::chrono_literals;

enum child_result { child_ok = 0, child_wrong = 1, child_skip = 77 };

// Runs `body` in a forked child; returns its exit status, or -1 if it was still running
// after `limit` (then it is killed).
int run_in_child(std::function<int()> const& body, std::chrono::seconds limit) {
  std::fflush(nullptr);
  pid_t const pid = fork();
  if (pid == 0) _exit(body());
  auto const until = std::chrono::steady_clock::now() + limit;
  int status = 0;
  while (std::chrono::steady_clock::now() < until) {
    pid_t const r = waitpid(pid, &status, WNOHANG);
    if (r == pid) return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    std::this_thread::sleep_for(10ms);
  }
  kill(pid, SIGKILL);
  waitpid(pid, &status, 0);
  return -1;
}

// Regression (found by this matrix): the task<T> rendezvous used to spin (a yield loop in
// promise_base::finish_awaited) until the awaiting thread had left its await_suspend.
// When the task finished on a ste thread of HIGHER real-time priority than the awaiter's
// thread, on the same CPU, the awaiter had been preempted inside await_suspend by that
// very thread and never ran again: sched_yield() does not yield to lower priorities.
// Now the finishing ste thread never waits: it announces the awaiter's return and goes on
// (docs/design.md §9). Also covered by fault_sched_fifo_rt_worker (operation kind 8).
TEST(PriorityFault, AwaitingATaskThatHopsToAHigherPriorityThreadOnOneCpuDoesNotHang) {
  if (getuid() != 0) GTEST_SKIP() << "*** SKIPPED: needs root for SCHED_FIFO ***";
  if (std::thread::hardware_concurrency() < 2)
    GTEST_SKIP() << "*** SKIPPED: needs 2 CPUs (the watchdog must run outside CPU 0) ***";
  // The watchdog (this process) stays off CPU 0; the child pins itself there.
  cpu_set_t original;
  sched_getaffinity(0, sizeof original, &original);
  cpu_set_t others = original;
  CPU_CLR(0, &others);
  sched_setaffinity(0, sizeof others, &others);
  int const rc = run_in_child(
      [] {
        cpu_set_t cpu0;
        CPU_ZERO(&cpu0);
        CPU_SET(0, &cpu0);
        sched_param p{};
        p.sched_priority = 50;
        if (sched_setaffinity(0, sizeof cpu0, &cpu0) != 0 ||
            pthread_setschedparam(pthread_self(), SCHED_FIFO, &p) != 0)
          return int{child_skip};
        auto rt = ste::builder()
                      .prelude([] {
                        sched_param q{};
                        q.sched_priority = 60;
                        pthread_setschedparam(pthread_self(), SCHED_FIFO, &q);
                      })
                      .build();
        auto hop = [](ste::thread const* t) -> ste::task<int> {
          co_await t->schedule();
          co_return 1;
        };
        for (int i = 0; i < 1000; ++i) {
          ste_test::gate done;
          [](ste::thread const* t, decltype(hop) h, ste_test::gate& g) -> ste_test::eager {
            (void)co_await h(t);  // finishes on `rt`, which preempted us on CPU 0
            g.open();
          }(&rt, hop, done);
          done.wait();
        }
        return int{child_ok};
      },
      std::chrono::seconds(20));
  sched_setaffinity(0, sizeof original, &original);
  if (rc == child_skip) GTEST_SKIP() << "*** SKIPPED: SCHED_FIFO or CPU 0 refused ***";
  EXPECT_EQ(rc, child_ok) << (rc == -1 ? "HANG: killed after 20 s" : "the scenario failed");
}

}  // namespace
