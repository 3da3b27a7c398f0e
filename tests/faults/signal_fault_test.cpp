// SPDX-License-Identifier: MIT
// Fault matrix: a storm of signals. SIGUSR1 gets an empty handler installed WITHOUT
// SA_RESTART, and a storm thread sends it to the ste workers, the submitters and the
// main thread as fast as it can, so futex waits (and nanosleeps) keep returning EINTR.
// Expected: every result is correct, nothing is lost or run twice, timed waits never end
// early (a timeout_error never comes before its deadline, a sleep never wakes early),
// and nothing hangs.
#include <gtest/gtest.h>
#include <pthread.h>
#include <signal.h>
#include <time.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "fault_support.hpp"
#include "ste/ste.hpp"
#include "test_support.hpp"

namespace {

using namespace std::chrono_literals;
using ste_fault::counted;
using clock_type = std::chrono::steady_clock;

// Sleeps until an absolute deadline. Not std::this_thread::sleep_for: libstdc++ restarts
// nanosleep() with the remaining time after each EINTR, and under a storm the call is
// interrupted again before any time counts, while the remainder is rounded up: a 1 ms
// sleep_for was seen still sleeping after minutes (a plain nanosleep loop without ste
// does the same). ste's own waits recompute from absolute deadlines and are immune.
void nap(std::chrono::microseconds d) {
  timespec deadline{};
  clock_gettime(CLOCK_MONOTONIC, &deadline);
  long const ns = deadline.tv_nsec + static_cast<long>(d.count()) * 1000;
  deadline.tv_sec += ns / 1'000'000'000;
  deadline.tv_nsec = ns % 1'000'000'000;
  while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &deadline, nullptr) == EINTR) {
  }
}

std::atomic<long> g_received{0};
void on_signal(int) {
  g_received.fetch_add(1, std::memory_order_relaxed);
}

// Installs the handler without SA_RESTART, once, for the rest of the process: restoring
// the default action (terminate) while a signal is still pending somewhere would kill
// the test.
class no_restart_handler {
 public:
  no_restart_handler() {
    static bool const installed = [] {
      struct sigaction sa;
      std::memset(&sa, 0, sizeof sa);
      sa.sa_handler = &on_signal;
      sigemptyset(&sa.sa_mask);
      sa.sa_flags = 0;  // no SA_RESTART: interrupted system calls fail with EINTR
      return sigaction(SIGUSR1, &sa, nullptr) == 0;
    }();
    EXPECT_TRUE(installed);
  }
};

// Sends SIGUSR1 to every registered thread, round and round. A thread must leave the
// list before it exits (pthread_kill on a finished thread is undefined).
class storm {
 public:
  storm() : sender_([this] { run(); }) {}
  ~storm() {
    stop_ = true;
    sender_.join();
  }
  storm(storm const&) = delete;
  storm& operator=(storm const&) = delete;

  void add(pthread_t t) {
    std::lock_guard lock(m_);
    targets_.push_back(t);
  }
  void remove(pthread_t t) {
    std::lock_guard lock(m_);
    targets_.erase(std::remove_if(targets_.begin(), targets_.end(),
                                  [t](pthread_t x) { return pthread_equal(x, t) != 0; }),
                   targets_.end());
  }
  long sent() const { return sent_.load(); }

 private:
  void run() {
    while (!stop_.load()) {
      {
        std::lock_guard lock(m_);
        for (pthread_t t : targets_)
          if (pthread_kill(t, SIGUSR1) == 0) ++sent_;
      }
      std::this_thread::yield();
    }
  }

  std::mutex m_;
  std::vector<pthread_t> targets_;
  std::atomic<bool> stop_{false};
  std::atomic<long> sent_{0};
  std::thread sender_;  // last: starts after everything above exists
};

// A registered thread for the scope of the object.
struct signalled {
  signalled(storm& s) : s_(s), self_(pthread_self()) { s_.add(self_); }
  ~signalled() { s_.remove(self_); }
  signalled(signalled const&) = delete;
  signalled& operator=(signalled const&) = delete;
  storm& s_;
  pthread_t self_;
};

// A ste thread whose worker is in the storm from its prelude to its postlude.
ste::thread stormed_thread(storm& s, char const* name, std::atomic<int>* errors) {
  return ste::builder()
      .name(name)
      .prelude([&s] { s.add(pthread_self()); })
      .postlude([&s] { s.remove(pthread_self()); })
      .on_error([errors](std::exception_ptr) { ++*errors; })
      .build();
}

TEST(SignalFault, EveryResultIsCorrectUnderASignalStorm) {
  no_restart_handler handler;
  long const received_before = g_received.load();
  storm s;
  signalled main_thread(s);
  std::atomic<int> errors{0};
  auto a = stormed_thread(s, "storm-a", &errors);
  auto b = stormed_thread(s, "storm-b", &errors);

  std::size_t const per_client = ste_test::scaled(3'000);
  std::atomic<long> posted{0}, posted_ran{0}, wrong{0}, timed_out{0}, early{0}, spawned{0},
      spawned_ran{0};
  std::atomic<int> destroyed{0}, destroys{0}, misplaced{0};
  std::vector<std::thread> clients;
  for (int c = 0; c < 3; ++c)
    clients.emplace_back([&, c] {
      signalled me(s);
      for (std::size_t i = 0; i < per_client; ++i) {
        ste::thread const& t = (i + static_cast<std::size_t>(c)) % 2 == 0 ? a : b;
        ste::thread const& other = &t == &a ? b : a;
        long const v = static_cast<long>(i) * 7 + c;
        switch (i % 8) {
          case 0:
            if (t.submit([v] { return v; }) != v) ++wrong;
            break;
          case 1: {  // sometimes the worker naps so deadlines expire; never early
            auto const d = std::chrono::microseconds(50 + (i % 5) * 100);
            auto const start = clock_type::now();
            try {
              if (t.submit_for(d, [v, i] {
                    if (i % 3 == 0) nap(300us);
                    return v;
                  }) != v)
                ++wrong;
            } catch (ste::timeout_error const&) {
              ++timed_out;
              if (clock_type::now() - start < d) ++early;
            }
            break;
          }
          case 2:
            t.post([&posted_ran] { ++posted_ran; });
            ++posted;
            break;
          case 3: {  // a coroutine that sleeps on the worker's timers; never wakes early
            auto co = [](ste::thread const* to, long val) -> ste::task<long> {
              co_await to->schedule();
              auto const start = clock_type::now();
              co_await ste::sleep_for(200us);
              if (clock_type::now() - start < 200us) co_return -1;
              co_return val;
            };
            if (t.block_on(co(&other, v)) != v) ++wrong;
            break;
          }
          case 4: {
            ++destroys;
            t.destroy(counted(&destroyed, t.tag(), &misplaced));
            break;
          }
          case 5: {
            auto bv = t.make_bound<counted>(&destroyed, t.tag(), &misplaced);
            ++destroys;
            if (t.submit([&] { return bv->home; }) != t.tag()) ++wrong;
            bv.reset();
            break;
          }
          case 6: {  // submit_async there and back
            auto co = [](ste::thread const* there, long val) -> ste::task<long> {
              auto body = [](long x) -> ste::task<long> { co_return x; };
              co_return co_await there->submit_async(body(val));
            };
            if (t.block_on(co(&other, v)) != v) ++wrong;
            break;
          }
          default:  // let the worker go idle: it sleeps in futex and gets EINTR
            if (i % 64 == 7) nap(1000us);
            ++spawned;
            t.spawn([](std::atomic<long>* n) -> ste::task<void> {
              try {
                co_await ste::sleep_for(50us);
              } catch (ste::stopped_error const&) {
                // join() ended the sleep early: expected at the end
              }
              ++*n;
            }(&spawned_ran));
            break;
        }
      }
    });
  for (auto& c : clients) c.join();
  a.join();  // under the storm too: the main thread and the workers are still targets
  b.join();
  long const sent = s.sent();
  long const received = g_received.load() - received_before;
  std::printf(
      "[ faults   ] signal storm: %ld SIGUSR1 sent, %ld handled; %ld submit_for timed "
      "out (none early)\n",
      sent, received, timed_out.load());
  std::fflush(stdout);
  EXPECT_EQ(wrong.load(), 0);
  EXPECT_EQ(early.load(), 0) << "a timed wait ended before its deadline";
  EXPECT_EQ(posted_ran.load(), posted.load());
  EXPECT_EQ(spawned_ran.load(), spawned.load());
  EXPECT_EQ(destroyed.load(), destroys.load());
  EXPECT_EQ(misplaced.load(), 0);
  EXPECT_EQ(errors.load(), 0);
  EXPECT_GT(received, 0) << "the storm delivered no signal: the test proved nothing";
}

// Deadlines and sleeps measured under the storm: a timeout never comes early, a sleep
// never ends early, however many times the waits are interrupted.
TEST(SignalFault, InterruptedWaitsNeverEndEarly) {
  no_restart_handler handler;
  storm s;
  signalled main_thread(s);
  std::atomic<int> errors{0};
  auto t = stormed_thread(s, "storm-busy", &errors);
  ste_test::gate release, busy;
  t.post([&] {
    busy.open();
    release.wait();
  });
  busy.wait();
  int early = 0;
  for (int i = 0; i < 20; ++i) {
    auto const d = std::chrono::milliseconds(1 + i % 4);
    auto const start = clock_type::now();
    try {
      t.submit_for(d, [] {});
      ADD_FAILURE() << "a task behind a blocked one started";
    } catch (ste::timeout_error const&) {
      if (clock_type::now() - start < d) ++early;
    }
  }
  release.open();
  auto co = []() -> ste::task<int> {
    int bad = 0;
    for (int i = 0; i < 20; ++i) {
      auto const d = std::chrono::milliseconds(1 + i % 3);
      auto const start = clock_type::now();
      co_await ste::sleep_for(d);
      if (clock_type::now() - start < d) ++bad;
    }
    co_return bad;
  };
  EXPECT_EQ(t.block_on(co()), 0) << "a sleep ended before its deadline";
  EXPECT_EQ(early, 0) << "a submit_for timed out before its deadline";
  t.join();
  EXPECT_EQ(errors.load(), 0);
}

}  // namespace
