// SPDX-License-Identifier: MIT
// submit_for / submit_until: withdrawn before the start, or run to completion — decided
// once, with both sides agreeing. No test here depends on how long anything takes:
// "the thread is busy" is made certain with gates, not with sleeps.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <limits>
#include <stdexcept>
#include <thread>
#include <vector>

#include "ste/ste.hpp"
#include "test_support.hpp"

namespace {

using namespace std::chrono_literals;

TEST(TimedSubmit, RunsAndReturnsLikeSubmitWhenThereIsTime) {
  auto thread = ste::spawn();
  EXPECT_EQ(thread.submit_for(1h, [] { return 5; }), 5);
  EXPECT_EQ(thread.submit_until(std::chrono::steady_clock::now() + 1h, [] { return 6; }), 6);
  EXPECT_EQ(thread.submit_until(std::chrono::system_clock::now() + 1h, [] { return 7; }), 7);
  int x = 0;
  int& r = thread.submit_for(1h, [&]() -> int& { return x; });
  EXPECT_EQ(&r, &x);
  EXPECT_THROW(thread.submit_for(1h, [] { throw std::runtime_error("x"); }), std::runtime_error);
}

TEST(TimedSubmit, HugeTimeoutsDoNotOverflow) {
  auto thread = ste::spawn();
  EXPECT_EQ(thread.submit_for(std::chrono::nanoseconds::max(), [] { return 1; }), 1);
  EXPECT_EQ(thread.submit_for(std::chrono::hours::max(), [] { return 2; }), 2);
  EXPECT_EQ(thread.submit_until(std::chrono::steady_clock::time_point::max(), [] { return 3; }),
            3);
}

TEST(TimedSubmit, BusyThreadWithdrawsTheTaskAndThrowsTimeout) {
  auto thread = ste::spawn();
  ste_test::gate release, busy;
  thread.post([&] {
    busy.open();
    release.wait();
  });
  busy.wait();
  bool ran = false;
  EXPECT_THROW(thread.submit_for(1ms, [&] { ran = true; }), ste::timeout_error);
  EXPECT_THROW(thread.submit_for(-5s, [&] { ran = true; }), ste::timeout_error);
  EXPECT_THROW(thread.submit_until(std::chrono::steady_clock::now(), [&] { ran = true; }),
               ste::timeout_error);
  release.open();
  thread.submit([] {});  // everything queued before this ran; the withdrawn ones did not
  EXPECT_FALSE(ran);
}

// A clock the test moves by hand; it counts the reads that saw it moved.
struct stepped_clock {
  using rep = std::int64_t;
  using period = std::micro;
  using duration = std::chrono::duration<rep, period>;
  using time_point = std::chrono::time_point<stepped_clock>;
  static constexpr bool is_steady = true;
  static inline std::atomic<rep> now_us{0};
  static inline std::atomic<long> late_reads{0};  // reads that returned 2000 µs or later
  static time_point now() noexcept {
    rep const t = now_us.load();
    if (t >= 2'000) late_reads.fetch_add(1);
    return time_point(duration(t));
  }
};

TEST(TimedSubmit, OnceStartedItRunsToCompletionPastTheDeadline) {
  auto thread = ste::spawn();
  stepped_clock::now_us = 0;
  stepped_clock::late_reads = 0;
  auto const deadline = stepped_clock::time_point(stepped_clock::duration(1'000));
  // The task starts before its deadline (the clock stands still until then), moves the
  // clock past it, and finishes only once the submitter has seen the deadline pass
  // while the task ran: the call still returns the value.
  int v = thread.submit_until(deadline, [] {
    stepped_clock::now_us = 2'000;
    while (stepped_clock::late_reads.load() == 0) std::this_thread::yield();
    return 42;
  });
  EXPECT_EQ(v, 42);
}

TEST(TimedSubmit, OnTheThreadItselfRunsInline) {
  auto thread = ste::spawn();
  EXPECT_EQ(thread.submit([&] { return thread.submit_for(0s, [] { return 8; }); }), 8);
}

TEST(TimedSubmit, AfterJoinThrowsStoppedError) {
  auto thread = ste::spawn();
  thread.join();
  EXPECT_THROW(thread.submit_for(1s, [] {}), ste::stopped_error);
}

TEST(TimedSubmit, TimeoutMessageSaysWhatHappened) {
  auto thread = ste::spawn();
  ste_test::gate release, busy;
  thread.post([&] {
    busy.open();
    release.wait();
  });
  busy.wait();
  try {
    thread.submit_for(0s, [] {});
    FAIL();
  } catch (ste::timeout_error const& e) {
    EXPECT_NE(std::string(e.what()).find("withdrawn"), std::string::npos) << e.what();
  }
  release.open();
}

// The race itself: deadlines spread over the window in which the worker picks tasks
// up. Whatever each call decided, the worker must agree: a call that returned ran its
// task exactly once; a call that timed out never ran it.
TEST(TimedSubmit, WithdrawVersusStartIsOneDecision) {
  auto thread = ste::spawn();
  std::size_t const calls = ste_test::scaled(20'000);
  std::vector<std::thread> submitters;
  std::atomic<long> ran{0}, returned{0}, timed_out{0};
  constexpr int kSubmitters = 2;
  for (int s = 0; s < kSubmitters; ++s) {
    submitters.emplace_back([&, s] {
      for (std::size_t i = 0; i < calls / kSubmitters; ++i) {
        auto const timeout = std::chrono::nanoseconds((i * 7919 + static_cast<std::size_t>(s)) %
                                                      20'000);  // 0..20 µs
        bool mine = false;
        try {
          thread.submit_for(timeout, [&] {
            mine = true;
            ++ran;
          });
          ++returned;
          EXPECT_TRUE(mine);
        } catch (ste::timeout_error const&) {
          ++timed_out;
        }
      }
    });
  }
  for (auto& t : submitters) t.join();
  thread.submit([] {});  // drain: a withdrawn task that still ran would show up now
  EXPECT_EQ(ran.load(), returned.load());
  EXPECT_EQ(returned.load() + timed_out.load(), static_cast<long>(calls));
  RecordProperty("timed_out", static_cast<int>(timed_out.load()));
}

}  // namespace

// ---------------------------------------------------------------------------------
// The deadline is decided before queueing and again by the worker: f never starts
// after it.

TEST(TimedSubmit, PastDeadlineBug_AZeroOrNegativeTimeoutNeverRunsTheTask) {
  auto thread = ste::spawn();
  std::atomic<int> ran{0};
  std::size_t const rounds = ste_test::scaled(2'000);
  for (std::size_t i = 0; i < rounds; ++i) {
    EXPECT_THROW(thread.submit_for(-1s, [&] { ++ran; }), ste::timeout_error);
    EXPECT_THROW(thread.submit_for(0ns, [&] { ++ran; }), ste::timeout_error);
    EXPECT_THROW(thread.submit_until(std::chrono::steady_clock::now() - 1h, [&] { ++ran; }),
                 ste::timeout_error);
    EXPECT_THROW(thread.submit_until(std::chrono::system_clock::now() - 1h, [&] { ++ran; }),
                 ste::timeout_error);
  }
  EXPECT_EQ(ran.load(), 0);
  EXPECT_EQ(thread.submit_for(1h, [&] { return ran.load(); }), 0);  // still serving
}

// A clock that reads "long after every deadline" on the ste thread and "before it" on
// every other thread: the submitter never sees its deadline pass, the worker always
// does. So the worker, not the submitter, must be the one that refuses to start f.
thread_local bool on_split_clock_late_side = false;
struct split_clock {
  using rep = std::int64_t;
  using period = std::milli;
  using duration = std::chrono::duration<rep, period>;
  using time_point = std::chrono::time_point<split_clock>;
  static constexpr bool is_steady = true;
  static time_point now() noexcept {
    return time_point(duration(on_split_clock_late_side ? 1'000'000 : 0));
  }
};

TEST(TimedSubmit, PastDeadlineBug_TheWorkerDoesNotStartATaskWhoseDeadlinePassed) {
  auto thread = ste::builder().prelude([] { on_split_clock_late_side = true; }).build();
  int ran = 0;
  for (int i = 0; i < 20; ++i) {
    auto const deadline = split_clock::time_point(split_clock::duration(1'000));
    EXPECT_THROW(thread.submit_until(deadline, [&] { ++ran; }), ste::timeout_error);
  }
  EXPECT_EQ(ran, 0);
  EXPECT_EQ(thread.submit([] { return 1; }), 1);
}

TEST(TimedSubmit, PastDeadlineBug_ANaNTimeoutThrowsInvalidArgumentAndNeverRuns) {
  auto thread = ste::spawn();
  bool ran = false;
  auto const nan = std::chrono::duration<double>(std::numeric_limits<double>::quiet_NaN());
  EXPECT_THROW(thread.submit_for(nan, [&] { ran = true; }), std::invalid_argument);
  auto const nan_ms = std::chrono::duration<float, std::milli>(std::nanf(""));
  EXPECT_THROW(thread.submit_for(nan_ms, [&] { ran = true; }), std::invalid_argument);
  EXPECT_FALSE(ran);
  auto const inf = std::chrono::duration<double>(std::numeric_limits<double>::infinity());
  EXPECT_EQ(thread.submit_for(inf, [] { return 1; }), 1);
  EXPECT_THROW(thread.submit_for(-inf, [&] { ran = true; }), ste::timeout_error);
  EXPECT_FALSE(ran);
}
