// SPDX-License-Identifier: MIT
// Delayed and periodic tasks (post_after / post_at / post_every, ste::timer::cancel), one
// test per sentence of SPEC.md "Delayed and periodic tasks", and the intrusive pairing
// heap behind every timer of a thread (detail::timer_heap).
//
// Timing never decides a result. Every wait is for a condition (a gate, a counter, a
// join); time appears only as a lower bound ("this run started no earlier than …"), and
// where a test waits for time to pass (a deadline being due), it waits until the clock
// says so, however long that takes. Sleeps that remain only give a wrong implementation
// the chance to show itself; a correct one passes whatever they last.
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <map>
#include <memory>
#include <mutex>
#include <random>
#include <stdexcept>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "ste/detail/timer_heap.hpp"
#include "ste/ste.hpp"
#include "test_support.hpp"

namespace {

using namespace std::chrono_literals;
using clock_type = std::chrono::steady_clock;
using ste_test::counter;
using ste_test::gate;

// Blocks the ste thread until the returned gate opens (a task that waits on it).
std::shared_ptr<gate> block(ste::thread const& t) {
  auto g = std::make_shared<gate>();
  auto started = std::make_shared<gate>();
  t.post([g, started] {
    started->open();
    g->wait();
  });
  started->wait();
  return g;
}

// Returns once join() has started on `t` (from another thread): post_after is refused
// with stopped_error from then on. The probes that were still accepted have a far
// deadline: join() drops them.
void wait_until_join_started(ste::thread const& t) {
  for (;;) {
    try {
      (void)t.post_after(24h, [] {});
    } catch (ste::stopped_error const&) {
      return;
    }
    std::this_thread::yield();
  }
}

// Waits until the steady clock reached `when` (a lower bound: at least that long).
void wait_until(clock_type::time_point when) {
  while (clock_type::now() < when) std::this_thread::sleep_for(1ms);
}

// What happened to a callable: its runs, and its destruction — counted apart by whether
// it happened on the ste thread `home` (set by the test) or anywhere else.
struct probe {
  std::atomic<int> runs{0};
  std::atomic<int> destroyed_on_thread{0};
  std::atomic<int> destroyed_elsewhere{0};
  std::atomic<int> destroyed_at_postlude{-1};  // destroyed_on_thread when the postlude ran
  ste::tag home;
  int destroyed() const { return destroyed_on_thread.load() + destroyed_elsewhere.load(); }
};

// A callable that reports to a probe (moved-from copies report nothing).
struct tracked {
  std::shared_ptr<probe> p;
  explicit tracked(std::shared_ptr<probe> q) : p(std::move(q)) {}
  tracked(tracked&& o) noexcept : p(std::move(o.p)) {}
  tracked& operator=(tracked&&) = delete;
  ~tracked() {
    if (!p) return;
    if (p->home.is_on_thread())
      p->destroyed_on_thread.fetch_add(1);
    else
      p->destroyed_elsewhere.fetch_add(1);
  }
  void operator()() const { p->runs.fetch_add(1); }
};

// A thread whose postlude records how many callables of `p` were destroyed by then.
ste::thread thread_with_postlude(std::shared_ptr<probe> const& p) {
  ste::thread t = ste::builder()
                      .name("timers")
                      .postlude([p] { p->destroyed_at_postlude = p->destroyed_on_thread.load(); })
                      .build();
  p->home = t.tag();
  return t;
}

std::shared_ptr<probe> probe_for(ste::thread const& t) {
  auto p = std::make_shared<probe>();
  p->home = t.tag();
  return p;
}

// Collects what on_error receives.
struct error_log {
  std::mutex m;
  std::vector<std::string> messages;
  counter arrivals;
  auto handler() {
    return [this](std::exception_ptr e) {
      try {
        std::rethrow_exception(e);
      } catch (std::exception const& x) {
        std::lock_guard lock(m);
        messages.emplace_back(x.what());
      } catch (...) {
        std::lock_guard lock(m);
        messages.emplace_back("?");
      }
      arrivals.arrive();
    };
  }
  std::vector<std::string> snapshot() {
    std::lock_guard lock(m);
    return messages;
  }
};

// =====================================================================================
// post_after / post_at: "run f on the thread once the deadline has passed"

TEST(Timer, PostAfterRunsOnTheThreadNoEarlierThanTheDeadline) {
  ste::thread t = ste::spawn();
  counter ran;
  std::atomic<bool> on_thread{false};
  clock_type::time_point started{};
  auto const before = clock_type::now();
  ste::timer h = t.post_after(20ms, [&] {
    started = clock_type::now();
    on_thread = t.tag().is_on_thread();
    ran.arrive();
  });
  EXPECT_TRUE(static_cast<bool>(h));
  ran.wait_for(1);
  t.submit([] {});  // orders the run's writes before our reads
  EXPECT_TRUE(on_thread.load());
  EXPECT_GE(started - before, 20ms);
}

TEST(Timer, ZeroAndNegativeDelaysRunSoon) {
  ste::thread t = ste::spawn();
  counter ran;
  (void)t.post_after(0s, [&] { ran.arrive(); });
  (void)t.post_after(-5s, [&] { ran.arrive(); });
  (void)t.post_after(std::chrono::nanoseconds::min(), [&] { ran.arrive(); });
  (void)t.post_at(clock_type::now() - 1h, [&] { ran.arrive(); });
  (void)t.post_at(clock_type::time_point::min(), [&] { ran.arrive(); });
  ran.wait_for(5);
}

TEST(Timer, PostAtASteadyTimePointOfAnyDuration) {
  ste::thread t = ste::spawn();
  counter ran;
  clock_type::time_point s1{}, s2{};
  auto const before = clock_type::now();
  auto const ms = std::chrono::time_point_cast<std::chrono::milliseconds>(before) + 30ms;
  (void)t.post_at(ms, [&] {
    s1 = clock_type::now();
    ran.arrive();
  });
  auto const exact = before + 20ms;
  (void)t.post_at(exact, [&] {
    s2 = clock_type::now();
    ran.arrive();
  });
  ran.wait_for(2);
  t.submit([] {});
  EXPECT_GE(s1, ms);
  EXPECT_GE(s2, exact);
}

TEST(Timer, OtherDurationTypesIncludingFloatingPoint) {
  ste::thread t = ste::spawn();
  counter ran;
  clock_type::time_point s1{}, s2{}, s3{};
  auto const before = clock_type::now();
  (void)t.post_after(std::chrono::duration<double>(0.02), [&] {
    s1 = clock_type::now();
    ran.arrive();
  });
  (void)t.post_after(std::chrono::duration<float, std::milli>(15.5f), [&] {
    s2 = clock_type::now();
    ran.arrive();
  });
  (void)t.post_after(std::chrono::duration<std::int16_t, std::centi>(1), [&] {
    s3 = clock_type::now();
    ran.arrive();
  });
  ran.wait_for(3);
  t.submit([] {});
  EXPECT_GE(s1 - before, 20ms);
  EXPECT_GE(s2 - before, std::chrono::microseconds(15'500));
  EXPECT_GE(s3 - before, 10ms);
}

TEST(Timer, NaNDelayThrowsInvalidArgumentAndSchedulesNothing) {
  ste::thread t = ste::spawn();
  auto p = probe_for(t);
  auto const nan = std::chrono::duration<double>(std::numeric_limits<double>::quiet_NaN());
  EXPECT_THROW((void)t.post_after(nan, tracked(p)), std::invalid_argument);
  t.submit([] {});
  EXPECT_EQ(p->runs.load(), 0);
}

TEST(Timer, FarAndInfiniteDeadlinesSaturateAndNeverRun) {
  ste::thread t = ste::spawn();
  auto p = probe_for(t);
  auto const inf = std::chrono::duration<double>(std::numeric_limits<double>::infinity());
  std::vector<ste::timer> timers;
  timers.push_back(t.post_after(std::chrono::hours::max(), tracked(p)));
  timers.push_back(t.post_after(std::chrono::nanoseconds::max(), tracked(p)));
  timers.push_back(t.post_after(inf, tracked(p)));
  timers.push_back(t.post_at(clock_type::time_point::max(), tracked(p)));
  timers.push_back(t.post_at(std::chrono::system_clock::time_point::max(), tracked(p)));
  timers.push_back(t.post_every(std::chrono::hours::max(), tracked(p)));
  timers.push_back(t.post_every(inf, tracked(p)));
  t.submit([] {});
  for (auto& h : timers) EXPECT_TRUE(h.cancel());
  t.submit([] {});
  EXPECT_EQ(p->runs.load(), 0);
  EXPECT_EQ(p->destroyed_on_thread.load(), 7);
}

// Far past time points of non-steady clocks: `t - Clock::now()` must not overflow (UBSan
// in the asan preset reports a signed overflow if it does; elsewhere the wrapped
// difference is a far future deadline). A past deadline runs before a later one posted
// after it: the marker, whose run ends the wait whatever happened to the others.
//
// Found a bug (fixed: detail::deadline_at): post_at with system_clock::time_point::min()
// computed `t - Clock::now()` in the clock's own duration (int64 nanoseconds), which
// overflowed; the deadline became a far future one and the task never ran.
TEST(Timer, FarPastTimePointsOfOtherClocksRunSoon) {
  ste::thread t = ste::spawn();
  std::atomic<int> ran_min{0}, ran_day{0}, ran_manual{0};
  counter marker;
  (void)t.post_at(std::chrono::system_clock::time_point::min(), [&] { ++ran_min; });
  (void)t.post_at(std::chrono::system_clock::now() - 24h, [&] { ++ran_day; });
  (void)t.post_at(std::chrono::time_point<std::chrono::system_clock, std::chrono::hours>::min(),
                  [&] { ++ran_manual; });
  (void)t.post_after(20ms, [&] { marker.arrive(); });
  marker.wait_for(1);
  t.submit([] {});
  EXPECT_EQ(ran_day.load(), 1);
  EXPECT_EQ(ran_min.load(), 1) << "post_at(system_clock::time_point::min()) did not run";
  EXPECT_EQ(ran_manual.load(), 1) << "post_at(time_point<system_clock, hours>::min()) did not run";
}

// The same for a coroutine sleep on a far past time point of another clock (they share
// one heap and one clock). join() ends the sleep if it never resumed: no hang.
//
// Found the same bug in sleep_until (fixed: it uses detail::deadline_at too).
TEST(Timer, FarPastSleepUntilOfOtherClocksResumesSoon) {
  ste::thread t = ste::spawn();
  std::atomic<int> resumed{0};
  counter marker;
  auto sleeper = [&]() -> ste::task<void> {
    co_await ste::sleep_until(std::chrono::system_clock::time_point::min());
    ++resumed;
  };
  t.spawn(sleeper());
  t.submit([] {});  // it sleeps (or already resumed)
  (void)t.post_after(20ms, [&] { marker.arrive(); });
  marker.wait_for(1);
  t.submit([] {});
  EXPECT_EQ(resumed.load(), 1) << "sleep_until(system_clock::time_point::min()) did not resume";
}

TEST(Timer, SystemClockTimePoints) {
  ste::thread t = ste::spawn();
  auto far = probe_for(t);
  counter ran;
  ste::timer h = t.post_at(std::chrono::system_clock::now() + 1h, tracked(far));
  (void)t.post_at(std::chrono::system_clock::now() - 1h, [&] { ran.arrive(); });
  (void)t.post_at(std::chrono::system_clock::now() + 10ms, [&] { ran.arrive(); });
  ran.wait_for(2);
  EXPECT_EQ(far->runs.load(), 0);
  EXPECT_TRUE(h.cancel());
}

// A clock the test sets by hand; it counts the reads made on a ste thread.
thread_local bool on_manual_clock_ste_side = false;
struct manual_clock {
  using rep = std::int64_t;
  using period = std::micro;
  using duration = std::chrono::duration<rep, period>;
  using time_point = std::chrono::time_point<manual_clock>;
  [[maybe_unused]] static constexpr bool is_steady = false;
  static inline std::atomic<rep> now_us{0};
  static inline std::atomic<long> reads_on_ste_thread{0};
  static time_point now() noexcept {
    if (on_manual_clock_ste_side) reads_on_ste_thread.fetch_add(1);
    return time_point(duration(now_us.load()));
  }
};

// "others than steady_clock are converted once, at the call": the clock is read only by
// the caller, and moving it afterwards moves no deadline.
TEST(Timer, OtherClocksAreConvertedOnceAtTheCall) {
  ste::thread t = ste::builder().prelude([] { on_manual_clock_ste_side = true; }).build();
  auto far = probe_for(t);
  manual_clock::now_us = 0;
  manual_clock::reads_on_ste_thread = 0;
  counter ran;
  clock_type::time_point started{};
  auto const before = clock_type::now();
  ste::timer h =
      t.post_at(manual_clock::time_point(std::chrono::hours(1)), tracked(far));  // in 1 h
  (void)t.post_at(manual_clock::time_point(30ms), [&] {
    started = clock_type::now();
    ran.arrive();
  });
  manual_clock::now_us = std::chrono::duration_cast<manual_clock::duration>(10h).count();
  ran.wait_for(1);  // the clock jumped 10 h: neither deadline moved
  t.submit([] {});
  EXPECT_GE(started - before, 30ms);
  EXPECT_EQ(far->runs.load(), 0);
  EXPECT_TRUE(h.cancel());
  t.submit([] {});
  EXPECT_EQ(manual_clock::reads_on_ste_thread.load(), 0);
}

// =====================================================================================
// "FIFO among equal deadlines" — across plain timers and coroutine sleeps too

TEST(Timer, EqualDeadlinesRunInTheOrderTheyWerePosted) {
  ste::thread t = ste::spawn();
  std::vector<int> order;  // written on the thread only
  auto const when = clock_type::now() + 20ms;
  for (int i = 0; i < 100; ++i) (void)t.post_at(when, [&order, i] { order.push_back(i); });
  counter done;
  (void)t.post_at(when, [&] { done.arrive(); });
  done.wait_for(1);
  t.submit([] {});
  std::vector<int> expected(100);
  for (int i = 0; i < 100; ++i) expected[static_cast<std::size_t>(i)] = i;
  EXPECT_EQ(order, expected);
}

TEST(Timer, EqualDeadlinesFromTheThreadItselfAndEarlierDeadlinesFirst) {
  ste::thread t = ste::spawn();
  std::vector<std::string> order;
  counter done;
  t.submit([&] {
    auto const when = clock_type::now() + 20ms;
    (void)t.post_at(when + 20ms, [&] {
      order.emplace_back("late");
      done.arrive();
    });
    (void)t.post_at(when, [&] { order.emplace_back("a"); });
    (void)t.post_at(when, [&] { order.emplace_back("b"); });
    (void)t.post_after(0s, [&] { order.emplace_back("now"); });
    (void)t.post_at(when, [&] { order.emplace_back("c"); });
  });
  done.wait_for(1);
  t.submit([] {});
  EXPECT_EQ(order, (std::vector<std::string>{"now", "a", "b", "c", "late"}));
}

TEST(Timer, FifoWithCoroutineSleepsOnTheThread_ThePostComesFirst) {
  ste::thread t = ste::spawn();
  std::vector<std::string> order;
  auto const when = clock_type::now() + 20ms;
  auto co = [&]() -> ste::task<void> {
    (void)t.post_at(when, [&] { order.emplace_back("post"); });
    co_await ste::sleep_until(when);
    order.emplace_back("sleep");
  };
  t.block_on(co());
  t.submit([] {});
  EXPECT_EQ(order, (std::vector<std::string>{"post", "sleep"}));
}

TEST(Timer, FifoWithCoroutineSleepsAcrossThreads) {
  ste::thread t = ste::spawn();
  std::vector<std::string> order;
  counter done;
  auto const when = clock_type::now() + 30ms;
  auto sleeper = [&]() -> ste::task<void> {
    co_await ste::sleep_until(when);
    order.emplace_back("sleep");
  };
  (void)t.post_at(when, [&] { order.emplace_back("first"); });
  t.spawn(sleeper());  // starts (and sleeps) before the next post's arrival
  (void)t.post_at(when, [&] {
    order.emplace_back("last");
    done.arrive();
  });
  done.wait_for(1);
  t.submit([] {});
  EXPECT_EQ(order, (std::vector<std::string>{"first", "sleep", "last"}));
}

// =====================================================================================
// post_every: "run f at start + k·period, k = 1, 2, …"

// The k-th run starts no earlier than start + k·period (start: no earlier than just
// before the call), and runs have distinct deadlines: by a run's start time T, at most
// (T - start) / period runs have started.
TEST(Timer, PostEveryRunsNoEarlierThanStartPlusKPeriods) {
  ste::thread t = ste::spawn();
  constexpr auto period = 5ms;
  constexpr int kRuns = 10;
  std::vector<clock_type::time_point> starts;  // written on the thread only
  counter ran;
  auto const before = clock_type::now();
  ste::timer h = t.post_every(period, [&] {
    if (starts.size() < kRuns) starts.push_back(clock_type::now());
    ran.arrive();
  });
  ran.wait_for(kRuns);
  EXPECT_TRUE(h.cancel());
  t.submit([] {});
  ASSERT_EQ(starts.size(), static_cast<std::size_t>(kRuns));
  for (int k = 1; k <= kRuns; ++k) {
    auto const s = starts[static_cast<std::size_t>(k - 1)];
    EXPECT_GE(s, before + k * period) << "run " << k;
    EXPECT_LE(k, (s - before) / period) << "run " << k;
  }
}

// "a run late by a period or more skips the missed deadlines (never back-to-back runs to
// catch up)": the thread is blocked for 20 periods; afterwards at most one run may have
// a deadline before the end of the block (the late one); every later run has its own
// deadline after it. So the runs that start after the block number at most
// (T - end) / period + 2 by the time T the last of them starts: catching up would run
// ~20 back to back.
TEST(Timer, PostEveryLateBySeveralPeriodsSkipsTheMissedDeadlines) {
  ste::thread t = ste::spawn();
  constexpr auto period = 5ms;
  constexpr int kAfter = 5;  // runs looked at after the block
  std::mutex m;
  std::vector<clock_type::time_point> starts;
  counter ran;
  auto const before = clock_type::now();
  ste::timer h = t.post_every(period, [&] {
    {
      std::lock_guard lock(m);
      starts.push_back(clock_type::now());
    }
    ran.arrive();
  });
  ran.wait_for(1);
  clock_type::time_point block_end{};
  std::size_t runs_before_block = 0;
  t.submit([&] {
    {
      std::lock_guard lock(m);
      runs_before_block = starts.size();
    }
    wait_until(clock_type::now() + 20 * period);
    block_end = clock_type::now();  // no later than the block's real end
  });
  ran.wait_for(runs_before_block + kAfter);
  EXPECT_TRUE(h.cancel());
  std::lock_guard lock(m);
  ASSERT_GE(starts.size(), runs_before_block + kAfter);
  for (std::size_t k = 1; k <= starts.size(); ++k)
    EXPECT_GE(starts[k - 1], before + static_cast<int>(k) * period) << "run " << k;
  auto const last = starts[runs_before_block + kAfter - 1];
  EXPECT_LE(kAfter, (last - block_end) / period + 2)
      << "the runs after a block of 20 periods came back to back";
  // And overall: distinct deadlines on the grid.
  EXPECT_LE(static_cast<long long>(starts.size()), (starts.back() - before) / period);
}

TEST(Timer, PostEveryRejectsZeroNegativeAndNaNPeriods) {
  ste::thread t = ste::spawn();
  auto p = probe_for(t);
  EXPECT_THROW((void)t.post_every(0s, tracked(p)), std::invalid_argument);
  EXPECT_THROW((void)t.post_every(-1ms, tracked(p)), std::invalid_argument);
  EXPECT_THROW((void)t.post_every(std::chrono::nanoseconds::min(), tracked(p)),
               std::invalid_argument);
  EXPECT_THROW((void)t.post_every(std::chrono::duration<double>(0.0), tracked(p)),
               std::invalid_argument);
  EXPECT_THROW((void)t.post_every(std::chrono::duration<double>(-0.0), tracked(p)),
               std::invalid_argument);
  EXPECT_THROW(
      (void)t.post_every(std::chrono::duration<double>(std::numeric_limits<double>::quiet_NaN()),
                         tracked(p)),
      std::invalid_argument);
  EXPECT_THROW((void)t.post_every(std::chrono::duration<float>(-std::numeric_limits<float>::infinity()),
                                  tracked(p)),
               std::invalid_argument);
  // On the thread itself too.
  t.submit([&] { EXPECT_THROW((void)t.post_every(0ms, [] {}), std::invalid_argument); });
  t.submit([] {});
  EXPECT_EQ(p->runs.load(), 0);
}

TEST(Timer, PostEveryWithATinyPeriodStillRunsAndSkips) {
  ste::thread t = ste::spawn();
  counter ran;
  ste::timer h = t.post_every(std::chrono::duration<double, std::nano>(0.25), [&] { ran.arrive(); });
  ran.wait_for(50);
  EXPECT_TRUE(h.cancel());
  t.submit([] {});
  std::size_t const after = ran.count();
  std::this_thread::sleep_for(5ms);
  t.submit([] {});
  EXPECT_EQ(ran.count(), after);  // no run starts after cancel() returned
}

// =====================================================================================
// "Each allocates one block, throws stopped_error or std::bad_alloc (then nothing is
// scheduled)" — allocation counts are in allocation_test.cpp.

TEST(Timer, AfterJoinEveryPostIsRefusedWithStoppedError) {
  ste::thread t = ste::spawn();
  auto p = probe_for(t);
  t.join();
  EXPECT_THROW((void)t.post_after(0s, tracked(p)), ste::stopped_error);
  EXPECT_THROW((void)t.post_at(clock_type::now(), tracked(p)), ste::stopped_error);
  EXPECT_THROW((void)t.post_at(std::chrono::system_clock::now(), tracked(p)), ste::stopped_error);
  EXPECT_THROW((void)t.post_every(1ms, tracked(p)), ste::stopped_error);
  EXPECT_EQ(p->runs.load(), 0);
  ste::thread empty;
  EXPECT_THROW((void)empty.post_after(0s, [] {}), ste::stopped_error);
  EXPECT_THROW((void)empty.post_every(1s, [] {}), ste::stopped_error);
}

TEST(Timer, WhileJoinDrainsPostsAreRefusedFromOtherThreadsAndFromTheThreadItself) {
  ste::thread t = ste::spawn();
  auto g = block(t);
  std::atomic<int> refused_on_thread{0};
  std::atomic<bool> plain_post_accepted{false};
  auto p = probe_for(t);
  t.post([&] {  // runs during the drain
    try {
      (void)t.post_after(0s, tracked(p));
    } catch (ste::stopped_error const&) {
      ++refused_on_thread;
    }
    try {
      (void)t.post_at(clock_type::now() - 1s, tracked(p));
    } catch (ste::stopped_error const&) {
      ++refused_on_thread;
    }
    try {
      (void)t.post_every(1ms, tracked(p));
    } catch (ste::stopped_error const&) {
      ++refused_on_thread;
    }
    t.post([&] { plain_post_accepted = true; });  // the contrast: post is still accepted
  });
  std::thread joiner([&] { t.join(); });
  wait_until_join_started(t);
  EXPECT_THROW((void)t.post_after(0s, tracked(p)), ste::stopped_error);  // another thread
  EXPECT_THROW((void)t.post_every(1ms, tracked(p)), ste::stopped_error);
  g->open();
  joiner.join();
  EXPECT_EQ(refused_on_thread.load(), 3);
  EXPECT_TRUE(plain_post_accepted.load());
  EXPECT_EQ(p->runs.load(), 0);
}

struct posts_when_destroyed {
  ste::thread const* t;
  std::shared_ptr<std::atomic<int>> refused;
  posts_when_destroyed(ste::thread const* th, std::shared_ptr<std::atomic<int>> r)
      : t(th), refused(std::move(r)) {}
  ~posts_when_destroyed() {
    try {
      (void)t->post_after(0s, [] {});
    } catch (ste::stopped_error const&) {
      ++*refused;
    }
    try {
      (void)t->post_every(1s, [] {});
    } catch (ste::stopped_error const&) {
      ++*refused;
    }
  }
};

TEST(Timer, ABoundValueDestroyedByJoinCannotPostATimer) {
  ste::thread t = ste::spawn();
  auto refused = std::make_shared<std::atomic<int>>(0);
  auto value = t.make_bound<posts_when_destroyed>(&t, refused);
  t.join();  // destroys the value on the thread, after the drain
  EXPECT_EQ(refused->load(), 2);
  EXPECT_FALSE(static_cast<bool>(value));
}

TEST(Timer, ThePostludeCannotPostATimer) {
  ste::thread* self = nullptr;
  std::atomic<int> refused{0};
  ste::thread t = ste::builder()
                      .postlude([&] {
                        try {
                          (void)self->post_after(0s, [] {});
                        } catch (ste::stopped_error const&) {
                          ++refused;
                        }
                      })
                      .build();
  self = &t;
  t.join();
  EXPECT_EQ(refused.load(), 1);
}

// =====================================================================================
// "join() does not wait for deadlines"

TEST(Timer, JoinDropsANotYetDueOneShotOnTheThreadBeforeThePostlude) {
  auto p = std::make_shared<probe>();
  ste::thread t = thread_with_postlude(p);
  ste::timer armed = t.post_after(1h, tracked(p));  // in the heap
  t.submit([] {});
  auto g = block(t);
  ste::timer queued = t.post_after(1h, tracked(p));  // its arm message still queued
  std::thread joiner([&] { t.join(); });
  wait_until_join_started(t);
  g->open();
  joiner.join();
  EXPECT_EQ(p->runs.load(), 0);
  EXPECT_EQ(p->destroyed_at_postlude.load(), 2);  // destroyed before the postlude
  EXPECT_EQ(p->destroyed_elsewhere.load(), 0);
  EXPECT_FALSE(armed.cancel());   // dropped by join(): nothing to prevent
  EXPECT_FALSE(queued.cancel());
  EXPECT_EQ(p->destroyed(), 2);
}

TEST(Timer, JoinRunsOneShotsAlreadyDue) {
  auto p = std::make_shared<probe>();
  ste::thread t = thread_with_postlude(p);
  auto g = block(t);
  ste::timer zero = t.post_after(0s, tracked(p));
  ste::timer past = t.post_at(clock_type::now() - 1s, tracked(p));
  ste::timer soon = t.post_after(5ms, tracked(p));
  wait_until(clock_type::now() + 5ms);  // due now: the deadline is at most the call's end + 5 ms
  ste::timer after_call = t.post_after(-1ms, tracked(p));
  std::thread joiner([&] { t.join(); });
  wait_until_join_started(t);
  g->open();
  joiner.join();
  EXPECT_EQ(p->runs.load(), 4);
  EXPECT_EQ(p->destroyed_at_postlude.load(), 4);
  EXPECT_EQ(p->destroyed_elsewhere.load(), 0);
  EXPECT_FALSE(zero.cancel());
  EXPECT_FALSE(soon.cancel());
}

// The "soon" timer above has its deadline before join() only by the clock; here the
// thread is blocked so that a due timer is in the heap (armed) when join() starts.
TEST(Timer, JoinRunsADueOneShotThatWasAlreadyArmed) {
  auto p = std::make_shared<probe>();
  ste::thread t = thread_with_postlude(p);
  ste::timer h = t.post_after(10ms, tracked(p));
  auto const posted = clock_type::now();  // the deadline is at most posted + 10 ms
  t.submit([] {});  // armed
  auto g = block(t);
  wait_until(posted + 10ms);
  std::thread joiner([&] { t.join(); });
  wait_until_join_started(t);
  g->open();
  joiner.join();
  EXPECT_EQ(p->runs.load(), 1);
  EXPECT_EQ(p->destroyed_at_postlude.load(), 1);
}

TEST(Timer, PeriodicTimersStartNoRunOnceJoinStarted) {
  auto p = std::make_shared<probe>();
  ste::thread t = thread_with_postlude(p);
  auto g = block(t);
  auto const before = clock_type::now();
  ste::timer h = t.post_every(1ms, tracked(p));
  wait_until(before + 5ms);  // several runs due
  std::thread joiner([&] { t.join(); });
  wait_until_join_started(t);
  g->open();
  joiner.join();
  EXPECT_EQ(p->runs.load(), 0);
  EXPECT_EQ(p->destroyed_at_postlude.load(), 1);
  EXPECT_EQ(p->destroyed_elsewhere.load(), 0);
  EXPECT_FALSE(h.cancel());
}

TEST(Timer, APeriodicRunInProgressWhenJoinStartsIsTheLast) {
  auto p = std::make_shared<probe>();
  ste::thread t = thread_with_postlude(p);
  gate running, release;
  std::atomic<int> runs{0};
  ste::timer h = t.post_every(1ms, [&, q = tracked(p)] {
    q();
    if (++runs == 1) {
      running.open();
      release.wait();
    }
  });
  running.wait();
  std::thread joiner([&] { t.join(); });
  wait_until_join_started(t);
  release.open();
  joiner.join();
  EXPECT_EQ(runs.load(), 1);
  EXPECT_EQ(p->destroyed_at_postlude.load(), 1);
  EXPECT_FALSE(h.cancel());
}

// The last handle dropped on the thread itself: the thread finishes on its own; its
// pending timers are dropped there all the same.
TEST(Timer, AThreadLetGoOnItselfDropsItsPendingTimersThere) {
  auto p = std::make_shared<probe>();
  auto finished = std::make_shared<gate>();
  auto owner = std::make_unique<ste::thread>(
      ste::builder().postlude([p, finished] {
        p->destroyed_at_postlude = p->destroyed_on_thread.load();
        finished->open();
      }).build());
  p->home = owner->tag();
  ste::timer h = owner->post_after(1h, tracked(p));
  ste::timer e = owner->post_every(1h, tracked(p));
  ste::thread const* const raw = owner.get();
  raw->post([o = std::move(owner)]() mutable { o.reset(); });  // ~thread on the thread
  finished->wait();
  EXPECT_EQ(p->runs.load(), 0);
  EXPECT_EQ(p->destroyed_at_postlude.load(), 2);
  EXPECT_FALSE(h.cancel());
  EXPECT_FALSE(e.cancel());
}

// =====================================================================================
// ste::timer and cancel()

TEST(Timer, AnEmptyOrMovedFromHandleCancelsNothing) {
  ste::timer empty;
  EXPECT_FALSE(static_cast<bool>(empty));
  EXPECT_FALSE(empty.cancel());
  ste::thread t = ste::spawn();
  auto p = probe_for(t);
  ste::timer a = t.post_after(1h, tracked(p));
  ste::timer b = std::move(a);
  EXPECT_FALSE(static_cast<bool>(a));  // NOLINT(bugprone-use-after-move): the point
  EXPECT_FALSE(a.cancel());            // NOLINT(bugprone-use-after-move)
  ste::timer c;
  c = std::move(b);
  EXPECT_FALSE(b.cancel());  // NOLINT(bugprone-use-after-move)
  EXPECT_TRUE(c.cancel());
  t.submit([] {});
  EXPECT_EQ(p->runs.load(), 0);
  EXPECT_EQ(p->destroyed_on_thread.load(), 1);
}

TEST(Timer, CancelOfAOneShotNotStartedIsTrueOnceAndDestroysItOnTheThread) {
  ste::thread t = ste::spawn();
  auto p = probe_for(t);
  ste::timer h = t.post_after(1h, tracked(p));
  t.submit([] {});  // armed: in the heap
  EXPECT_TRUE(h.cancel());
  EXPECT_FALSE(h.cancel());  // already cancelled
  t.submit([] {});           // after the cleanup (FIFO)
  EXPECT_EQ(p->destroyed_on_thread.load(), 1);
  EXPECT_EQ(p->destroyed_elsewhere.load(), 0);
  EXPECT_FALSE(h.cancel());
  EXPECT_EQ(p->runs.load(), 0);
}

TEST(Timer, CancelWhileTheArmMessageIsStillQueued) {
  ste::thread t = ste::spawn();
  auto p = probe_for(t);
  auto g = block(t);
  ste::timer h = t.post_after(0s, tracked(p));  // due, but the thread has not seen it
  EXPECT_TRUE(h.cancel());
  EXPECT_FALSE(h.cancel());
  g->open();
  t.submit([] {});
  EXPECT_EQ(p->runs.load(), 0);
  EXPECT_EQ(p->destroyed_on_thread.load(), 1);
  EXPECT_EQ(p->destroyed_elsewhere.load(), 0);
}

TEST(Timer, CancelAfterTheRunIsFalse) {
  ste::thread t = ste::spawn();
  auto p = probe_for(t);
  counter ran;
  ste::timer h = t.post_after(0s, [&, q = tracked(p)] {
    q();
    ran.arrive();
  });
  ran.wait_for(1);
  EXPECT_FALSE(h.cancel());  // ran (or runs: then it waits)
  EXPECT_EQ(p->runs.load(), 1);
  EXPECT_EQ(p->destroyed_on_thread.load(), 1);  // destroyed once the run ended
  t.submit([] {});
  EXPECT_FALSE(h.cancel());
  EXPECT_EQ(p->destroyed_elsewhere.load(), 0);
}

TEST(Timer, CancelOfARunningOneShotIsFalseAndWaitsForTheRun) {
  ste::thread t = ste::spawn();
  auto p = probe_for(t);
  gate running, release;
  std::atomic<bool> finished{false};
  ste::timer h = t.post_after(0s, [&, q = tracked(p)] {
    q();
    running.open();
    release.wait();
    finished = true;
  });
  running.wait();
  std::thread opener([&] {
    std::this_thread::sleep_for(20ms);  // gives a cancel that does not wait time to return
    release.open();
  });
  EXPECT_FALSE(h.cancel());
  EXPECT_TRUE(finished.load());  // the run in progress was waited for
  EXPECT_EQ(p->destroyed_on_thread.load(), 1);  // and its callable destroyed, on the thread
  opener.join();
  EXPECT_FALSE(h.cancel());
  EXPECT_EQ(p->runs.load(), 1);
}

TEST(Timer, CancelOfAPeriodicIsTrueThenFalse) {
  ste::thread t = ste::spawn();
  auto p = probe_for(t);
  ste::timer h = t.post_every(1h, tracked(p));
  EXPECT_TRUE(h.cancel());
  EXPECT_FALSE(h.cancel());
  t.submit([] {});
  EXPECT_EQ(p->destroyed_on_thread.load(), 1);
  EXPECT_EQ(p->destroyed_elsewhere.load(), 0);
  EXPECT_EQ(p->runs.load(), 0);
}

TEST(Timer, CancelOfAPeriodicThatHasRunIsTrueAndStopsIt) {
  ste::thread t = ste::spawn();
  auto p = probe_for(t);
  counter ran;
  ste::timer h = t.post_every(1ms, [&, q = tracked(p)] {
    q();
    ran.arrive();
  });
  ran.wait_for(3);
  EXPECT_TRUE(h.cancel());
  EXPECT_FALSE(h.cancel());
  int const runs = p->runs.load();
  t.submit([] {});
  std::this_thread::sleep_for(10ms);
  t.submit([] {});
  EXPECT_EQ(p->runs.load(), runs);  // no run starts after cancel() returned
  EXPECT_EQ(p->destroyed_on_thread.load(), 1);
  EXPECT_EQ(p->destroyed_elsewhere.load(), 0);
}

TEST(Timer, CancelOfARunningPeriodicIsTrueAndWaitsForTheRun) {
  ste::thread t = ste::spawn();
  auto p = probe_for(t);
  gate running, release;
  std::atomic<bool> finished{false};
  ste::timer h = t.post_every(1ms, [&, q = tracked(p)] {
    q();
    if (p->runs.load() == 1) {
      running.open();
      release.wait();
      finished = true;
    }
  });
  running.wait();
  std::thread opener([&] {
    std::this_thread::sleep_for(20ms);
    release.open();
  });
  EXPECT_TRUE(h.cancel());  // a further run was prevented
  EXPECT_TRUE(finished.load());
  EXPECT_EQ(p->destroyed_on_thread.load(), 1);
  opener.join();
  t.submit([] {});
  std::this_thread::sleep_for(5ms);
  t.submit([] {});
  EXPECT_EQ(p->runs.load(), 1);
  EXPECT_FALSE(h.cancel());
}

TEST(Timer, CancelFromInsideTheCallbackDoesNotWait) {
  ste::thread t = ste::spawn();
  auto one = probe_for(t);
  auto every = probe_for(t);
  ste::timer h1, h2;
  std::atomic<int> one_result{-1};
  std::atomic<int> every_result{-1};
  counter done;
  auto g = block(t);  // the handles are assigned before any run
  h1 = t.post_after(0s, [&, q = tracked(one)] {
    q();
    one_result = h1.cancel() ? 1 : 0;  // a one-shot's own run: false, and no wait
    done.arrive();
  });
  h2 = t.post_every(1ms, [&, q = tracked(every)] {
    q();
    if (every->runs.load() == 3) {
      every_result = h2.cancel() ? 1 : 0;  // periodic: true, and it stops
      done.arrive();
    }
  });
  g->open();
  done.wait_for(2);
  t.submit([] {});
  std::this_thread::sleep_for(10ms);
  t.submit([] {});
  EXPECT_EQ(one_result.load(), 0);
  EXPECT_EQ(every_result.load(), 1);
  EXPECT_EQ(one->runs.load(), 1);
  EXPECT_EQ(every->runs.load(), 3);
  EXPECT_EQ(one->destroyed_on_thread.load(), 1);
  EXPECT_EQ(every->destroyed_on_thread.load(), 1);
  EXPECT_FALSE(h1.cancel());
  EXPECT_FALSE(h2.cancel());
}

TEST(Timer, CancelFromAnotherTaskOnTheThread) {
  ste::thread t = ste::spawn();
  auto armed = probe_for(t);
  auto queued = probe_for(t);
  auto periodic = probe_for(t);
  ste::timer a = t.post_after(1h, tracked(armed));
  ste::timer e = t.post_every(1h, tracked(periodic));
  t.submit([&] {
    EXPECT_TRUE(a.cancel());
    EXPECT_EQ(armed->destroyed_on_thread.load(), 1);  // at once, here
    EXPECT_FALSE(a.cancel());
    EXPECT_TRUE(e.cancel());
    EXPECT_EQ(periodic->destroyed_on_thread.load(), 1);
    EXPECT_FALSE(e.cancel());
  });
  // A task on the thread cancels a timer whose arm message comes after that task.
  auto g = block(t);
  ste::timer q;
  gate assigned;
  std::atomic<int> result{-1};
  t.post([&] {
    assigned.wait();
    result = q.cancel() ? 1 : 0;
  });
  q = t.post_after(0s, tracked(queued));
  assigned.open();
  g->open();
  t.submit([] {});
  EXPECT_EQ(result.load(), 1);
  EXPECT_EQ(queued->runs.load(), 0);
  EXPECT_EQ(queued->destroyed_on_thread.load(), 1);
  EXPECT_EQ(armed->runs.load() + periodic->runs.load(), 0);
  EXPECT_EQ(armed->destroyed_elsewhere.load() + queued->destroyed_elsewhere.load() +
                periodic->destroyed_elsewhere.load(),
            0);
}

TEST(Timer, CancelAfterJoinDroppedItIsFalse) {
  ste::thread t = ste::spawn();
  auto p = probe_for(t);
  ste::timer one = t.post_after(1h, tracked(p));
  ste::timer every = t.post_every(1ms, tracked(p));
  t.join();
  EXPECT_FALSE(one.cancel());
  EXPECT_FALSE(every.cancel());
  EXPECT_EQ(p->destroyed_on_thread.load(), 2);
  EXPECT_EQ(p->destroyed_elsewhere.load(), 0);
}

TEST(Timer, DestroyingTheHandleDoesNotCancel) {
  ste::thread t = ste::spawn();
  auto one = probe_for(t);
  auto every = probe_for(t);
  counter runs;
  {
    ste::timer h = t.post_after(5ms, [&, q = tracked(one)] {
      q();
      runs.arrive();
    });
  }
  (void)t.post_every(1ms, [&, q = tracked(every)] {
    q();
    runs.arrive();
  });
  {
    // Move-assignment lets go of the old timer without cancelling it.
    ste::timer h = t.post_after(1ms, [&] { runs.arrive(); });
    h = t.post_after(1h, [] {});
    EXPECT_TRUE(h.cancel());
  }
  runs.wait_for(10);
  EXPECT_EQ(one->runs.load(), 1);
  EXPECT_GE(every->runs.load(), 1);
  t.join();  // stops the periodic timer, destroys its callable on the thread
  EXPECT_EQ(one->destroyed_on_thread.load(), 1);
  EXPECT_EQ(every->destroyed_on_thread.load(), 1);
  EXPECT_EQ(one->destroyed_elsewhere.load() + every->destroyed_elsewhere.load(), 0);
}

TEST(Timer, LettingGoOfTheHandleInsideTheRunDoesNotCancel) {
  auto p = std::make_shared<probe>();
  ste::thread t = thread_with_postlude(p);
  ste::timer h;
  counter runs;
  auto g = block(t);  // h is assigned before the first run
  h = t.post_every(1ms, [&, q = tracked(p)] {
    q();
    if (h) h = ste::timer();  // the handle goes, on the thread, during a run
    runs.arrive();
  });
  g->open();
  runs.wait_for(5);  // it went on
  t.join();
  EXPECT_EQ(p->destroyed_at_postlude.load(), 1);
  EXPECT_EQ(p->destroyed_elsewhere.load(), 0);
}

TEST(Timer, ARefusedPostRunsNothingAndDestroysTheCallableOnce) {
  ste::thread t = ste::spawn();
  auto p = probe_for(t);
  t.join();
  EXPECT_THROW((void)t.post_after(0s, tracked(p)), ste::stopped_error);
  EXPECT_THROW((void)t.post_every(1ms, tracked(p)), ste::stopped_error);
  EXPECT_EQ(p->runs.load(), 0);
  EXPECT_EQ(p->destroyed(), 2);  // the argument and nothing else (never accepted)
}

// =====================================================================================
// "an exception escaping f goes to on_error (a periodic timer goes on)"

TEST(Timer, ExceptionsGoToOnErrorAndAPeriodicTimerGoesOn) {
  error_log log;
  ste::thread t = ste::builder().on_error(log.handler()).build();
  counter runs;
  (void)t.post_after(0s, [] { throw std::runtime_error("one-shot"); });
  log.arrivals.wait_for(1);
  ste::timer h = t.post_every(1ms, [&] {
    runs.arrive();
    throw std::runtime_error("periodic");
  });
  log.arrivals.wait_for(4);
  EXPECT_TRUE(h.cancel());
  t.submit([] {});
  auto const messages = log.snapshot();
  ASSERT_GE(messages.size(), 4u);
  EXPECT_EQ(messages[0], "one-shot");
  for (std::size_t i = 1; i < messages.size(); ++i) EXPECT_EQ(messages[i], "periodic");
  EXPECT_EQ(messages.size() - 1, runs.count());
  EXPECT_EQ(t.submit([] { return 7; }), 7);  // the thread goes on serving
}

// =====================================================================================
// "cancel(): A run in progress is waited for" — unless that wait closes a cycle

// A task on thread A cancels a timer of thread B whose run waits, in a submit, on A:
// cancel() cannot wait for that run, so it throws deadlock_error (the timer is cancelled
// all the same). The run retries its submit if it is the one that sees the cycle first
// (while A probes), so that A's cancel() certainly finds the run waiting on A.
TEST(Timer, CancelThatWouldDeadlockThrowsDeadlockError) {
  ste::thread a = ste::builder().name("alpha").build();
  ste::thread b = ste::builder().name("beta").build();
  auto p = probe_for(b);
  std::atomic<bool> submitted{false};
  std::string message;
  bool cancel_returned = false;
  a.submit([&] {
    ste::timer h = b.post_after(0s, [&, q = tracked(p)] {
      q();
      for (;;) {
        try {
          a.submit([] {});  // waits for A, which runs the task that cancels
          submitted = true;
          return;
        } catch (ste::deadlock_error const&) {
          // A was probing us at that moment (it waited on B): try again.
          std::this_thread::yield();
        }
      }
    });
    // Until B's run waits on A: then a wait of ours on B closes a cycle.
    for (;;) {
      try {
        b.submit_for(1ms, [] {});
      } catch (ste::deadlock_error const&) {
        break;
      } catch (ste::timeout_error const&) {
        // Not yet. Wait without an edge for a while, so that B's run (retrying at once
        // if our probe made its submit fail) finds a moment when we do not wait on B.
        std::this_thread::sleep_for(2ms);
      }
    }
    try {
      (void)h.cancel();
      cancel_returned = true;
    } catch (ste::deadlock_error const& e) {
      message = e.what();
    }
  });
  EXPECT_FALSE(cancel_returned);
  EXPECT_NE(message.find("beta"), std::string::npos) << message;
  b.submit([] {});  // the run ended once A was free
  EXPECT_TRUE(submitted.load());
  EXPECT_EQ(p->runs.load(), 1);
  EXPECT_EQ(p->destroyed_on_thread.load(), 1);
}

// =====================================================================================
// Races

// cancel() racing the start: every timer either ran exactly once or had cancel() return
// true — never both, never neither. cancel() returning false waited for the run, so the
// run is complete when it returns.
TEST(TimerRace, CancelRacingTheStartIsOneDecision) {
  ste::thread t = ste::spawn();
  auto p = probe_for(t);
  std::size_t const rounds = ste_test::scaled(20'000);
  constexpr int kCancellers = 2;
  std::vector<std::atomic<int>> ran(rounds);
  std::vector<char> cancelled(rounds, 0);
  std::atomic<long> wrong_at_return{0};
  std::vector<std::thread> threads;
  for (int s = 0; s < kCancellers; ++s)
    threads.emplace_back([&, s] {
      for (std::size_t i = static_cast<std::size_t>(s); i < rounds; i += kCancellers) {
        auto const d = std::chrono::nanoseconds((i * 7919) % 30'000) - 10us;  // -10..20 µs
        ste::timer h = t.post_after(d, [&ran, i, q = tracked(p)] {
          q();
          ran[i].fetch_add(1);
          // A short run now and then, so that some cancels find it running.
          if (i % 4 == 0)
            for (int k = 0; k < 200; ++k) (void)ran[i].load(std::memory_order_relaxed);
        });
        // A varying pause (a busy one: no system call), so that the cancels meet the
        // timer in every phase: on its way, armed, running, done.
        // (The mix of outcomes depends on it; the assertions do not.)
        auto const resume = clock_type::now() + std::chrono::microseconds((i % 16) * 5);
        while (clock_type::now() < resume) (void)ran[i].load(std::memory_order_relaxed);
        bool const c = h.cancel();
        cancelled[i] = c ? 1 : 0;
        if (ran[i].load() != (c ? 0 : 1)) ++wrong_at_return;
      }
    });
  for (auto& th : threads) th.join();
  t.join();  // a cancelled timer that still ran would show up now
  long both = 0, neither = 0, twice = 0, true_count = 0;
  for (std::size_t i = 0; i < rounds; ++i) {
    int const r = ran[i].load();
    if (r > 1) ++twice;
    if (r >= 1 && cancelled[i] != 0) ++both;
    if (r == 0 && cancelled[i] == 0) ++neither;
    true_count += cancelled[i];
  }
  EXPECT_EQ(both, 0);
  EXPECT_EQ(neither, 0);
  EXPECT_EQ(twice, 0);
  EXPECT_EQ(wrong_at_return.load(), 0);
  EXPECT_EQ(p->destroyed_on_thread.load(), static_cast<int>(rounds));
  EXPECT_EQ(p->destroyed_elsewhere.load(), 0);
  RecordProperty("cancelled", static_cast<int>(true_count));
  RecordProperty("ran", static_cast<int>(rounds) - static_cast<int>(true_count));
}

// cancel() racing join(): for each one-shot, ran XOR cancel() true — or neither, but
// only if its deadline came after join() started. A deadline surely before join()'s
// start (the post returned before join() was called, with d <= 0) allows no "neither".
// A far deadline never runs. Every callable is destroyed once, on the thread, before
// the postlude.
TEST(TimerRace, CancelRacingJoinIsExact) {
  std::size_t const rounds = ste_test::scaled(300);
  std::chrono::nanoseconds const delays[] = {-1ms, 0ns, 0ns, 1us, 20us, 200us, 24h};
  constexpr std::size_t kTimers = std::size(delays);
  long outcome_both = 0, outcome_neither_due = 0, far_ran = 0, late_ran = 0, twice = 0,
       dropped = 0;
  for (std::size_t round = 0; round < rounds; ++round) {
    auto p = std::make_shared<probe>();
    ste::thread t = thread_with_postlude(p);
    std::atomic<int> ran[kTimers] = {};
    clock_type::time_point posted_before[kTimers], posted_after[kTimers];
    ste::timer timers[kTimers + 1];
    for (std::size_t k = 0; k < kTimers; ++k) {
      posted_before[k] = clock_type::now();
      timers[k] = t.post_after(delays[k], [&ran, k, q = tracked(p)] {
        q();
        ran[k].fetch_add(1);
      });
      posted_after[k] = clock_type::now();
    }
    timers[kTimers] = t.post_every(5us, tracked(p));
    bool results[kTimers + 1] = {};
    std::atomic<bool> go{false};
    std::thread canceller([&] {
      while (!go.load()) std::this_thread::yield();
      for (std::size_t j = 0; j <= kTimers; ++j) {
        std::size_t const k = round % 2 == 0 ? j : kTimers - j;
        results[k] = timers[k].cancel();
      }
    });
    go = true;
    if (round % 3 == 0) std::this_thread::yield();
    auto const join_called = clock_type::now();
    t.join();
    auto const join_returned = clock_type::now();
    canceller.join();
    for (std::size_t k = 0; k < kTimers; ++k) {
      int const r = ran[k].load();
      if (r > 1) ++twice;
      if (r == 1 && results[k]) ++outcome_both;
      // Neither ran nor cancelled: join() dropped it, which it may only when the deadline
      // (at most posted_after + d) came after join() started (no earlier than join_called).
      if (r == 0 && !results[k]) {
        ++dropped;
        if (posted_after[k] + delays[k] <= join_called) ++outcome_neither_due;
      }
      // Ran: the deadline (no earlier than posted_before + d) had passed when join() began
      // (no later than join_returned), if not before.
      if (r == 1 && posted_before[k] + delays[k] > join_returned) ++late_ran;
      if (delays[k] >= 1h && r != 0) ++far_ran;
    }
    ASSERT_EQ(p->destroyed_at_postlude.load(), static_cast<int>(kTimers + 1)) << "round " << round;
    ASSERT_EQ(p->destroyed_elsewhere.load(), 0) << "round " << round;
  }
  EXPECT_EQ(outcome_both, 0);
  EXPECT_EQ(outcome_neither_due, 0);
  EXPECT_EQ(far_ran, 0);
  EXPECT_EQ(late_ran, 0);
  EXPECT_EQ(twice, 0);
  RecordProperty("dropped", static_cast<int>(dropped));
}

// Periodic timers cancelled while they run, from several threads at once: cancel() is
// true for exactly one caller, and every caller returns only after the run ended.
TEST(TimerRace, ConcurrentCancelsOfAPeriodicAgreeOnOneTrue) {
  ste::thread t = ste::spawn();
  std::size_t const rounds = ste_test::scaled(500);
  for (std::size_t round = 0; round < rounds; ++round) {
    auto p = probe_for(t);
    std::atomic<bool> in_run{false};
    ste::timer h = t.post_every(std::chrono::microseconds(1 + round % 20), [&, q = tracked(p)] {
      q();
      in_run = true;
      for (int k = 0; k < 100; ++k) (void)in_run.load(std::memory_order_relaxed);
      in_run = false;
    });
    std::atomic<int> trues{0}, ran_on{0};
    std::vector<std::thread> cancellers;
    for (int c = 0; c < 3; ++c)
      cancellers.emplace_back([&] {
        if (h.cancel()) ++trues;
        if (in_run.load()) ++ran_on;
      });
    for (auto& c : cancellers) c.join();
    ASSERT_EQ(trues.load(), 1) << "round " << round;
    ASSERT_EQ(ran_on.load(), 0) << "round " << round;
    int const runs = p->runs.load();
    t.submit([] {});
    ASSERT_EQ(p->runs.load(), runs) << "round " << round;
    ASSERT_EQ(p->destroyed_on_thread.load(), 1) << "round " << round;
  }
}

// =====================================================================================
// detail::timer_heap: the intrusive pairing heap (worker-only; used here directly)

using ste::detail::timer_heap;
using ste::detail::timer_node;

struct heap_entry : timer_node {
  int id = 0;
};

clock_type::time_point past(long long ticks) {
  // Long before now on every platform (the steady clock's epoch plus a little).
  return clock_type::time_point(clock_type::duration(ticks));
}

clock_type::time_point future(long long ticks) {
  return clock_type::time_point::max() - clock_type::duration(1'000'000 - ticks);
}

int id_of(timer_node* n) { return n == nullptr ? -1 : static_cast<heap_entry*>(n)->id; }

TEST(TimerHeap, EqualDeadlinesComeOutFirstInFirstOut) {
  timer_heap heap;
  std::vector<heap_entry> e(1000);
  for (int i = 0; i < 1000; ++i) {
    e[static_cast<std::size_t>(i)].id = i;
    e[static_cast<std::size_t>(i)].deadline = past(5);
    heap.add(e[static_cast<std::size_t>(i)]);
  }
  // Some removals in between keep the others' order.
  for (int i = 1; i < 1000; i += 7) heap.remove(e[static_cast<std::size_t>(i)]);
  int last = -1;
  std::size_t taken = 0;
  while (timer_node* n = heap.take_due()) {
    EXPECT_GT(id_of(n), last);
    EXPECT_NE(id_of(n) % 7, 1);
    last = id_of(n);
    ++taken;
  }
  EXPECT_EQ(taken, 1000u - 143u);
  EXPECT_TRUE(heap.empty());
}

TEST(TimerHeap, TakeDueTakesOnlyDueTimersAndTakeStoppedTakesAll) {
  timer_heap heap;
  heap_entry a, b, c;
  a.id = 1, a.deadline = past(10);
  b.id = 2, b.deadline = future(0);
  c.id = 3, c.deadline = past(20);
  heap.add(b);
  heap.add(a);
  heap.add(c);
  EXPECT_EQ(heap.size(), 3u);
  EXPECT_EQ(heap.next_deadline(), a.deadline);
  EXPECT_TRUE(heap.has_due());
  EXPECT_EQ(id_of(heap.take_due()), 1);
  EXPECT_FALSE(a.stopped);
  EXPECT_EQ(id_of(heap.take_due()), 3);
  EXPECT_FALSE(heap.has_due());
  EXPECT_EQ(heap.take_due(), nullptr);
  EXPECT_EQ(heap.size(), 1u);
  EXPECT_EQ(id_of(heap.take_stopped()), 2);
  EXPECT_TRUE(b.stopped);
  EXPECT_EQ(heap.take_stopped(), nullptr);
  EXPECT_TRUE(heap.empty());
  // A node taken as stopped can be added again (stopped is reset).
  heap.add(b);
  EXPECT_FALSE(b.stopped);
  EXPECT_EQ(id_of(heap.take_stopped()), 2);
}

// The shapes remove() must handle: the root, a first child (its prev is its parent), a
// sibling in the middle of a list, the last sibling, and a node with children.
TEST(TimerHeap, RemovalOfRootFirstChildMiddleAndLastSibling) {
  auto drain = [](timer_heap& heap) {
    std::vector<int> out;
    while (timer_node* n = heap.take_stopped()) out.push_back(id_of(n));
    return out;
  };
  auto make = [](std::vector<heap_entry>& e, timer_heap& heap) {
    // Added in rising deadlines: each becomes the root's new first child, so the root
    // (0) has the children 4, 3, 2, 1 in that order of its sibling list.
    for (int i = 0; i < 5; ++i) {
      e[static_cast<std::size_t>(i)].id = i;
      e[static_cast<std::size_t>(i)].deadline = past(100 + i);
      heap.add(e[static_cast<std::size_t>(i)]);
    }
  };
  {
    std::vector<heap_entry> e(5);
    timer_heap heap;
    make(e, heap);
    ASSERT_EQ(e[0].heap_child, &e[4]);  // the shape this test is about
    ASSERT_EQ(e[4].heap_prev, &e[0]);
    ASSERT_EQ(e[4].heap_next, &e[3]);
    heap.remove(e[4]);  // first child
    EXPECT_EQ(e[0].heap_child, &e[3]);
    heap.remove(e[2]);  // middle sibling
    heap.remove(e[1]);  // last sibling
    EXPECT_EQ(heap.size(), 2u);
    EXPECT_EQ(drain(heap), (std::vector<int>{0, 3}));
  }
  {
    std::vector<heap_entry> e(5);
    timer_heap heap;
    make(e, heap);
    heap.remove(e[0]);  // the root
    EXPECT_EQ(heap.next_deadline(), e[1].deadline);
    heap.remove(e[3]);
    EXPECT_EQ(drain(heap), (std::vector<int>{1, 2, 4}));
  }
  {
    // A node with children of its own, below the root.
    std::vector<heap_entry> e(8);
    timer_heap heap;
    make(e, heap);
    (void)heap.take_stopped();  // 0 out: the pairs merged, some nodes now have children
    for (int i = 5; i < 8; ++i) {
      e[static_cast<std::size_t>(i)].id = i;
      e[static_cast<std::size_t>(i)].deadline = past(100 + i);
      heap.add(e[static_cast<std::size_t>(i)]);
    }
    timer_node* with_children = nullptr;
    for (auto& n : e)
      if (&n != &e[0] && n.heap_child != nullptr && n.heap_prev != nullptr) with_children = &n;
    ASSERT_NE(with_children, nullptr);
    int const gone = id_of(with_children);
    heap.remove(*with_children);
    std::vector<int> expected;
    for (int i = 1; i < 8; ++i)
      if (i != gone) expected.push_back(i);
    EXPECT_EQ(drain(heap), expected);
  }
}

// Random adds, removes, take_due and take_stopped against a reference ordered by
// (deadline, order of adding).
TEST(TimerHeap, RandomisedAgainstAReference) {
  std::mt19937 rng(12345);
  constexpr int kNodes = 2000;
  std::vector<heap_entry> e(kNodes);
  for (int i = 0; i < kNodes; ++i) e[static_cast<std::size_t>(i)].id = i;
  for (int pass = 0; pass < 20; ++pass) {
    timer_heap heap;
    std::map<std::pair<clock_type::time_point, std::uint64_t>, int> ref;
    std::vector<std::uint64_t> key_of(kNodes);
    std::vector<bool> in(kNodes, false);
    std::uint64_t added = 0;
    for (int op = 0; op < 20'000; ++op) {
      auto const what = rng() % 10;
      if (what < 5) {
        int const i = static_cast<int>(rng() % kNodes);
        if (in[static_cast<std::size_t>(i)]) continue;
        auto& n = e[static_cast<std::size_t>(i)];
        // Few distinct deadlines, so that ties (FIFO) are common; a few not yet due.
        long long const d = static_cast<long long>(rng() % 16);
        n.deadline = rng() % 8 == 0 ? future(d) : past(d);
        heap.add(n);
        key_of[static_cast<std::size_t>(i)] = added;
        ref.emplace(std::make_pair(n.deadline, added++), i);
        in[static_cast<std::size_t>(i)] = true;
      } else if (what < 7) {
        // A random member, wherever it sits in the heap.
        int const i = static_cast<int>(rng() % kNodes);
        if (!in[static_cast<std::size_t>(i)]) continue;
        auto& n = e[static_cast<std::size_t>(i)];
        heap.remove(n);
        ref.erase(std::make_pair(n.deadline, key_of[static_cast<std::size_t>(i)]));
        in[static_cast<std::size_t>(i)] = false;
      } else if (what < 9) {
        timer_node* n = heap.take_due();
        if (ref.empty() || ref.begin()->first.first > clock_type::now()) {
          ASSERT_EQ(n, nullptr);
        } else {
          ASSERT_EQ(id_of(n), ref.begin()->second);
          in[static_cast<std::size_t>(ref.begin()->second)] = false;
          ref.erase(ref.begin());
        }
      } else {
        timer_node* n = heap.take_stopped();
        if (ref.empty()) {
          ASSERT_EQ(n, nullptr);
        } else {
          ASSERT_EQ(id_of(n), ref.begin()->second);
          ASSERT_TRUE(n->stopped);
          in[static_cast<std::size_t>(ref.begin()->second)] = false;
          ref.erase(ref.begin());
        }
      }
      ASSERT_EQ(heap.size(), ref.size());
      ASSERT_EQ(heap.empty(), ref.empty());
      if (!ref.empty()) {
        ASSERT_EQ(heap.next_deadline(), ref.begin()->first.first);
      }
    }
    while (!ref.empty()) {
      ASSERT_EQ(id_of(heap.take_stopped()), ref.begin()->second);
      ref.erase(ref.begin());
    }
    ASSERT_TRUE(heap.empty());
  }
}

// 100,000 nodes in the shapes that make a recursive walk overflow the stack: one root
// with 100,000 children (rising deadlines), a chain 100,000 deep (falling deadlines, each
// new node the root above the last), and removals deep inside both.
TEST(TimerHeap, AHundredThousandNodesWithoutRecursion) {
  constexpr int kNodes = 100'000;
  std::vector<heap_entry> e(kNodes);
  for (int i = 0; i < kNodes; ++i) e[static_cast<std::size_t>(i)].id = i;
  {
    timer_heap heap;  // rising: a sibling list of 100,000 under the root
    for (int i = 0; i < kNodes; ++i) {
      e[static_cast<std::size_t>(i)].deadline = past(i);
      heap.add(e[static_cast<std::size_t>(i)]);
    }
    EXPECT_EQ(heap.size(), static_cast<std::size_t>(kNodes));
    heap.remove(e[kNodes / 2]);  // a middle sibling
    for (int i = 0; i < kNodes; ++i) {
      if (i == kNodes / 2) continue;
      ASSERT_EQ(id_of(heap.take_due()), i);
    }
    EXPECT_TRUE(heap.empty());
  }
  {
    timer_heap heap;  // falling: a chain of first children 100,000 deep
    for (int i = 0; i < kNodes; ++i) {
      e[static_cast<std::size_t>(i)].deadline = past(kNodes - i);
      heap.add(e[static_cast<std::size_t>(i)]);
    }
    heap.remove(e[0]);            // the deepest
    heap.remove(e[kNodes / 2]);   // in the middle of the chain: its subtree is 50,000 deep
    for (int i = kNodes - 1; i >= 1; --i) {
      if (i == kNodes / 2) continue;
      ASSERT_EQ(id_of(heap.take_stopped()), i);
    }
    EXPECT_TRUE(heap.empty());
  }
  {
    timer_heap heap;  // all equal: FIFO over 100,000, removing every third from the end
    for (int i = 0; i < kNodes; ++i) {
      e[static_cast<std::size_t>(i)].deadline = past(1);
      heap.add(e[static_cast<std::size_t>(i)]);
    }
    for (int i = kNodes - 1; i >= 0; i -= 3) heap.remove(e[static_cast<std::size_t>(i)]);
    int last = -1;
    while (timer_node* n = heap.take_due()) {
      ASSERT_GT(id_of(n), last);
      last = id_of(n);
    }
  }
}

// 100,000 delayed tasks pending on one thread, then dropped by join(): no recursion on
// the thread either, and every callable destroyed there.
TEST(Timer, AHundredThousandPendingTimers) {
  auto p = std::make_shared<probe>();
  ste::thread t = thread_with_postlude(p);
  std::size_t const n = 100'000;
  std::vector<ste::timer> timers;
  timers.reserve(n);
  for (std::size_t i = 0; i < n; ++i)
    timers.push_back(t.post_after(std::chrono::hours(1 + static_cast<int>(i % 1000)), tracked(p)));
  t.submit([] {});
  for (std::size_t i = 0; i < n; i += 2) EXPECT_TRUE(timers[i].cancel());
  t.join();
  EXPECT_EQ(p->runs.load(), 0);
  EXPECT_EQ(p->destroyed_at_postlude.load(), static_cast<int>(n));
}

}  // namespace
