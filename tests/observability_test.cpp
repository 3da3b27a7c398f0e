// SPDX-License-Identifier: MIT
// Observability: ste::site, on_error with ste::task_info, thread::stats() and
// builder::on_stall — one test (or more) per sentence of SPEC.md "Observability".
// Timing never decides a result: every wait is for a condition (a gate, a counter, a
// join, a count in stats()); durations are only ever checked as lower bounds of sleeps
// the test itself made, and "never reported" uses a threshold (10 s) no task here nears.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <string_view>
#include <thread>
#include <type_traits>
#include <utility>
#include <vector>

#include "ste/ste.hpp"
#include "test_support.hpp"

namespace {

using namespace std::chrono_literals;
using ste_test::counter;
using ste_test::gate;

constexpr auto kNever = 10s;  // an on_stall threshold no task of these tests reaches

bool contains(std::string_view haystack, std::string_view needle) {
  return haystack.find(needle) != std::string_view::npos;
}

// Blocks the ste thread until the returned gate opens (a posted task that waits on it);
// returns once that task runs.
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

// Opens a gate when it goes out of scope (declared after the thread it unblocks).
struct opens_on_exit {
  std::shared_ptr<gate> g;
  ~opens_on_exit() { g->open(); }
};

// A site copied into owned strings (a handler's site may be compared after the fact).
struct site_copy {
  std::string file;
  std::string function;
  std::uint_least32_t line = 0;
  site_copy() = default;
  explicit site_copy(ste::site const& s) : file(s.file()), function(s.function()), line(s.line()) {}
};

// Records what a two-argument on_error received, in order.
struct error_log {
  struct entry {
    std::string what;
    site_copy site;
    ste::tag tag;
    std::string name;
  };
  std::mutex mutex;
  std::vector<entry> entries;
  counter arrivals;

  auto handler() {
    return [this](std::exception_ptr e, ste::task_info const& info) {
      std::string what = "?";
      try {
        std::rethrow_exception(e);
      } catch (std::exception const& ex) {
        what = ex.what();
      } catch (...) {
      }
      {
        std::lock_guard lock(mutex);
        entries.push_back({what, site_copy(info.site), info.tag, std::string(info.name)});
      }
      arrivals.arrive();
    };
  }
  entry at(std::size_t i) {
    std::lock_guard lock(mutex);
    return entries.at(i);
  }
  std::size_t size() {
    std::lock_guard lock(mutex);
    return entries.size();
  }
};

// Records what an on_stall handler received.
struct stall_log {
  struct entry {
    site_copy site;
    ste::tag tag;
    std::string name;
    std::chrono::nanoseconds elapsed{0};
  };
  std::mutex mutex;
  std::vector<entry> entries;
  gate reported;  // opened by the first report

  auto handler() {
    return [this](ste::stall_info const& info) {
      {
        std::lock_guard lock(mutex);
        entries.push_back({site_copy(info.site), info.tag, std::string(info.name), info.elapsed});
      }
      reported.open();
    };
  }
  std::vector<entry> all() {
    std::lock_guard lock(mutex);
    return entries;
  }
};

void expect_site_here(site_copy const& s, std::uint_least32_t line) {
  EXPECT_EQ(s.file, __FILE__);
  EXPECT_EQ(s.line, line);
  EXPECT_TRUE(contains(s.function, "TestBody")) << s.function;
}

// ---------------------------------------------------------------------------------
// ste::site

ste::site a_named_function() { return ste::site::current(); }
constexpr std::uint_least32_t kNamedFunctionLine = __LINE__ - 1;

TEST(Site, CurrentNamesTheFileLineAndEnclosingFunction) {
  ste::site const here = ste::site::current(); std::uint_least32_t const line = __LINE__;
  EXPECT_EQ(std::string_view(here.file()), __FILE__);
  EXPECT_EQ(here.line(), line);
  EXPECT_TRUE(contains(here.function(), "TestBody")) << here.function();
  EXPECT_FALSE(here.empty());

  ste::site const there = a_named_function();
  EXPECT_EQ(std::string_view(there.file()), __FILE__);
  EXPECT_EQ(there.line(), kNamedFunctionLine);
  EXPECT_TRUE(contains(there.function(), "a_named_function")) << there.function();
}

TEST(Site, DefaultConstructedIsEmptyAndByHandKeepsWhatItWasGiven) {
  ste::site const none;
  EXPECT_TRUE(none.empty());
  EXPECT_EQ(none.line(), 0u);
  EXPECT_EQ(std::string_view(none.file()), "");
  EXPECT_EQ(std::string_view(none.function()), "");
  ste::site const given("a.cpp", 7, "f");
  EXPECT_EQ(std::string_view(given.file()), "a.cpp");
  EXPECT_EQ(given.line(), 7u);
  EXPECT_EQ(std::string_view(given.function()), "f");
  ste::site const nulls(nullptr, 3, nullptr);
  EXPECT_EQ(std::string_view(nulls.file()), "");
  EXPECT_EQ(std::string_view(nulls.function()), "");
  static_assert(std::is_trivially_copyable_v<ste::site>);
  constexpr ste::site at_compile_time = ste::site::current();
  static_assert(at_compile_time.line() == __LINE__ - 1);
}

// ---------------------------------------------------------------------------------
// The site travels with the task: on_error (posted, delayed, notifier, coroutine)

TEST(SiteOfTask, PostedTaskReachesOnErrorWithItsSiteTagAndName) {
  error_log log;
  auto t = ste::builder().name("poster").on_error(log.handler()).build();
  std::uint_least32_t const line = __LINE__; t.post([] { throw std::runtime_error("posted"); });
  log.arrivals.wait_for(1);
  auto const e = log.at(0);
  EXPECT_EQ(e.what, "posted");
  expect_site_here(e.site, line);
  EXPECT_EQ(e.tag, t.tag());
  EXPECT_EQ(e.name, "poster");
}

TEST(SiteOfTask, DelayedTasksReachOnErrorWithTheirSites) {
  error_log log;
  auto t = ste::builder().name("timers").on_error(log.handler()).build();
  std::uint_least32_t const after = __LINE__; t.post_after(0ms, [] { throw std::runtime_error("after"); });
  log.arrivals.wait_for(1);
  std::uint_least32_t const at = __LINE__; t.post_at(std::chrono::steady_clock::now(), [] { throw std::runtime_error("at"); });
  log.arrivals.wait_for(2);
  std::uint_least32_t const at_system = __LINE__; t.post_at(std::chrono::system_clock::now(), [] { throw std::runtime_error("at system"); });
  log.arrivals.wait_for(3);
  std::uint_least32_t const every = __LINE__; ste::timer periodic = t.post_every(1ms, [] { throw std::runtime_error("every"); });
  log.arrivals.wait_for(5);  // a periodic timer goes on after an exception
  periodic.cancel();
  t.join();
  ASSERT_GE(log.size(), 5u);
  std::pair<std::size_t, std::uint_least32_t> const expected[] = {
      {0, after}, {1, at}, {2, at_system}, {3, every}, {4, every}};
  for (auto const& [i, line] : expected) {
    auto const e = log.at(i);
    SCOPED_TRACE(e.what);
    expect_site_here(e.site, line);
    EXPECT_EQ(e.tag, t.tag());
    EXPECT_EQ(e.name, "timers");
  }
  for (std::size_t i = 3; i < log.size(); ++i) EXPECT_EQ(log.at(i).what, "every");
}

TEST(SiteOfTask, NotifierRunReachesOnErrorWithTheMakeNotifierSite) {
  error_log log;
  auto t = ste::builder().name("notified").on_error(log.handler()).build();
  std::uint_least32_t const line = __LINE__; ste::notifier n = t.make_notifier([] { throw std::runtime_error("notified"); });
  ASSERT_TRUE(n.notify());
  log.arrivals.wait_for(1);
  ASSERT_TRUE(n.notify());
  log.arrivals.wait_for(2);
  for (std::size_t i = 0; i < 2; ++i) {
    auto const e = log.at(i);
    EXPECT_EQ(e.what, "notified");
    expect_site_here(e.site, line);
    EXPECT_EQ(e.tag, t.tag());
    EXPECT_EQ(e.name, "notified");
  }
}

ste::task<void> throw_at_once() {
  throw std::runtime_error("at once");
  co_return;
}

ste::task<void> throw_after_hops(ste::thread const& t) {
  co_await t.schedule();
  co_await ste::sleep_for(0ms);
  co_await t.schedule();
  throw std::runtime_error("after hops");
}

TEST(SiteOfTask, SpawnedCoroutineReachesOnErrorWithTheSpawnSite) {
  error_log log;
  auto t = ste::builder().name("spawner").on_error(log.handler()).build();
  std::uint_least32_t const first = __LINE__; t.spawn(throw_at_once());
  log.arrivals.wait_for(1);
  // Resumed from the queue and by a timer first: still the site of the spawn.
  std::uint_least32_t const second = __LINE__; t.spawn(throw_after_hops(t));
  log.arrivals.wait_for(2);
  auto const a = log.at(0);
  EXPECT_EQ(a.what, "at once");
  expect_site_here(a.site, first);
  auto const b = log.at(1);
  EXPECT_EQ(b.what, "after hops");
  expect_site_here(b.site, second);
  for (auto const& e : {a, b}) {
    EXPECT_EQ(e.tag, t.tag());
    EXPECT_EQ(e.name, "spawner");
  }
}

// A wrapper of the program's own passes its caller's site on.
template <class F>
void post_logged(ste::thread const& t, F&& f, ste::site where = ste::site::current()) {
  t.post(std::forward<F>(f), where);
}

TEST(SiteOfTask, AWrapperPassesItsCallersSiteOn) {
  error_log log;
  auto t = ste::builder().on_error(log.handler()).build();
  std::uint_least32_t const line = __LINE__; post_logged(t, [] { throw std::runtime_error("wrapped"); });
  log.arrivals.wait_for(1);
  auto const e = log.at(0);
  expect_site_here(e.site, line);
  EXPECT_FALSE(contains(e.site.function, "post_logged")) << e.site.function;
  // An explicit site is kept as given.
  t.post([] { throw std::runtime_error("given"); }, ste::site("given.cpp", 42, "given_function"));
  log.arrivals.wait_for(2);
  auto const g = log.at(1);
  EXPECT_EQ(g.site.file, "given.cpp");
  EXPECT_EQ(g.site.line, 42u);
  EXPECT_EQ(g.site.function, "given_function");
}

TEST(OnError, TheOneArgumentFormStillWorks) {
  std::mutex mutex;
  std::vector<std::string> seen;
  counter arrivals;
  auto t = ste::builder()
               .on_error([&](std::exception_ptr e) {
                 try {
                   std::rethrow_exception(e);
                 } catch (std::exception const& ex) {
                   std::lock_guard lock(mutex);
                   seen.emplace_back(ex.what());
                 }
                 arrivals.arrive();
               })
               .build();
  t.post([] { throw std::runtime_error("one"); });
  t.spawn(throw_at_once());
  arrivals.wait_for(2);
  std::lock_guard lock(mutex);
  EXPECT_EQ(seen, (std::vector<std::string>{"one", "at once"}));
}

TEST(OnError, PostludeExceptionHasAnEmptySite) {
  error_log log;
  auto t = ste::builder()
               .name("closing")
               .on_error(log.handler())
               .postlude([] { throw std::runtime_error("postlude"); })
               .build();
  ste::tag const tag = t.tag();
  t.join();
  ASSERT_EQ(log.size(), 1u);
  auto const e = log.at(0);
  EXPECT_EQ(e.what, "postlude");
  EXPECT_EQ(e.site.line, 0u);
  EXPECT_EQ(e.site.file, "");
  EXPECT_EQ(e.site.function, "");
  EXPECT_EQ(e.tag, tag);
  EXPECT_EQ(e.name, "closing");
}

#if GTEST_HAS_DEATH_TEST && defined(__linux__)
// The default handler prints the site (and the thread's name and the exception).
void die_in_a_posted_task() {
  auto t = ste::builder().name("dying").build();
  t.post([] { throw std::runtime_error("boom"); });
  t.join();
}
constexpr std::uint_least32_t kDyingPostLine = __LINE__ - 3;

void die_in_a_spawned_coroutine() {
  auto t = ste::builder().name("dying").build();
  t.spawn(throw_at_once());
  t.join();
}
constexpr std::uint_least32_t kDyingSpawnLine = __LINE__ - 3;

TEST(OnErrorDeathTest, TheDefaultHandlerPrintsTheSite) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_DEATH(die_in_a_posted_task(),
               "\"dying\".*boom(.|\n)*observability_test.cpp:" + std::to_string(kDyingPostLine) +
                   ", in .*die_in_a_posted_task");
  EXPECT_DEATH(die_in_a_spawned_coroutine(),
               "observability_test.cpp:" + std::to_string(kDyingSpawnLine) +
                   ", in .*die_in_a_spawned_coroutine");
}
#endif

// ---------------------------------------------------------------------------------
// The site of a blocking hand-off: stats().longest_site (its only task) and on_stall

TEST(SiteOfTask, SubmitsAndDestroyKeepTheirSites) {
  // Each thread runs exactly one task, which sleeps (so it measures longer than zero):
  // that task is the longest, and longest_site is its site.
  auto const check = [](ste::thread const& t, std::uint_least32_t line) {
    auto const s = t.stats();
    EXPECT_EQ(s.completed, 1u);
    EXPECT_GE(s.longest, 1ms);
    expect_site_here(site_copy(s.longest_site), line);
  };
  auto const nap = [] { std::this_thread::sleep_for(1ms); };
  {
    auto t = ste::builder().on_stall(kNever, [](ste::stall_info const&) {}).build();
    std::uint_least32_t const line = __LINE__; t.submit(nap);
    check(t, line);
  }
  {
    auto t = ste::builder().on_stall(kNever, [](ste::stall_info const&) {}).build();
    std::uint_least32_t const line = __LINE__; t.submit_for(1h, nap);
    check(t, line);
  }
  {
    auto t = ste::builder().on_stall(kNever, [](ste::stall_info const&) {}).build();
    std::uint_least32_t const line = __LINE__; t.submit_until(std::chrono::steady_clock::now() + 1h, nap);
    check(t, line);
  }
  {
    struct slow_to_die {
      bool armed = true;
      slow_to_die() = default;
      slow_to_die(slow_to_die&& o) noexcept : armed(std::exchange(o.armed, false)) {}
      ~slow_to_die() {
        if (armed) std::this_thread::sleep_for(1ms);
      }
    };
    auto t = ste::builder().on_stall(kNever, [](ste::stall_info const&) {}).build();
    std::uint_least32_t const line = __LINE__; t.destroy(slow_to_die{});
    check(t, line);
  }
}

// ---------------------------------------------------------------------------------
// stats(): counts

TEST(Stats, AFreshThreadAndAnEmptyHandleCountNothing) {
  auto t = ste::spawn();
  auto const s = t.stats();
  EXPECT_EQ(s.accepted, 0u);
  EXPECT_EQ(s.completed, 0u);
  EXPECT_EQ(s.queued, 0u);
  EXPECT_EQ(s.peak_queued, 0u);
  ste::thread empty;
  auto const e = empty.stats();
  EXPECT_EQ(e.accepted, 0u);
  EXPECT_EQ(e.completed, 0u);
  EXPECT_TRUE(e.longest_site.empty());
}

void expect_idle_counts(ste::thread const& t, std::uint64_t n) {
  auto const s = t.stats();
  EXPECT_EQ(s.accepted, n);
  EXPECT_EQ(s.completed, n);
  EXPECT_EQ(s.queued, 0u);
}

TEST(Stats, ASubmitIsCountedCompletedBeforeItReturns) {
  auto t = ste::spawn();
  for (std::uint64_t n = 1; n <= ste_test::scaled(2000); ++n) {
    t.submit([] {});
    auto const s = t.stats();
    ASSERT_EQ(s.completed, n);
    ASSERT_EQ(s.accepted, n);
    ASSERT_EQ(s.queued, 0u);
  }
  std::uint64_t n = t.stats().completed;
  for (int i = 0; i < 100; ++i) {
    t.submit_for(1h, [] {});
    t.submit_until(std::chrono::steady_clock::now() + 1h, [] {});
    t.destroy(std::vector<int>(3));
    n += 3;
    ASSERT_EQ(t.stats().completed, n);
  }
  expect_idle_counts(t, n);
  // A submit that throws is a task that ran, too.
  EXPECT_THROW(t.submit([] { throw std::runtime_error("x"); }), std::runtime_error);
  expect_idle_counts(t, n + 1);
  // Inline on the thread itself: no hand-over, no task of its own.
  t.submit([&] { t.submit([] {}); });
  expect_idle_counts(t, n + 2);
}

TEST(Stats, PostsTimersNotifierRunsAndCoroutineResumptionsAreTasks) {
  auto t = ste::spawn();
  std::uint64_t n = 0;
  // Posts: k of them, then a submit after them (FIFO: they completed when it returns).
  for (int i = 0; i < 10; ++i) t.post([] {});
  t.submit([] {});
  n += 11;
  expect_idle_counts(t, n);

  // A one-shot timer: one task, counted when it runs.
  counter timer_runs;
  t.post_after(0ms, [&] { timer_runs.arrive(); });
  timer_runs.wait_for(1);
  t.submit([] {});  // the timer's run ended before this one started
  n += 2;
  expect_idle_counts(t, n);

  // A periodic timer: one task per run.
  std::atomic<std::uint64_t> periodic_runs{0};
  counter periodic_arrivals;
  ste::timer p = t.post_every(1ms, [&] {
    ++periodic_runs;
    periodic_arrivals.arrive();
  });
  periodic_arrivals.wait_for(3);
  EXPECT_TRUE(p.cancel());  // waits for a run in progress: no run after this
  t.submit([] {});
  n += periodic_runs.load() + 1;
  expect_idle_counts(t, n);

  // Notifier runs: one task per run (coalesced notifies make fewer runs).
  std::atomic<std::uint64_t> notifier_runs{0};
  counter notifier_arrivals;
  ste::notifier nt = t.make_notifier([&] {
    ++notifier_runs;
    notifier_arrivals.arrive();
  });
  for (std::size_t i = 1; i <= 5; ++i) {
    ASSERT_TRUE(nt.notify());
    notifier_arrivals.wait_for(i);
  }
  t.submit([] {});
  EXPECT_EQ(notifier_runs.load(), 5u);
  n += 5 + 1;
  expect_idle_counts(t, n);
  // (nt stays alive to the end: a reset() from another thread submits the callable's
  // destruction to the thread, which the SPEC's list of tasks does not settle.)

  // A spawned coroutine: its start, two resumptions from the queue (schedule) and one by
  // a timer (sleep_for) — four tasks.
  counter coroutine_done;
  auto hopper = [](ste::thread const& th, counter& done) -> ste::task<void> {
    co_await th.schedule();
    co_await th.schedule();
    co_await ste::sleep_for(0ms);
    done.arrive();
  };
  t.spawn(hopper(t, coroutine_done));
  coroutine_done.wait_for(1);
  t.submit([] {});
  n += 4 + 1;
  expect_idle_counts(t, n);

  // block_on from another thread: the coroutine's start, then one resumption from the
  // queue.
  auto once = [](ste::thread const& th) -> ste::task<int> {
    co_await th.schedule();
    co_return 7;
  };
  EXPECT_EQ(t.block_on(once(t)), 7);
  n += 2;
  expect_idle_counts(t, n);
}

// Pushed tasks are counted by the drain that moves them to the FIFO; stats() drains
// first, so a post the worker has not looked at yet is already accepted and queued.
TEST(Stats, PostsTheWorkerHasNotTakenYetAreAcceptedAndQueued) {
  auto t = ste::spawn();
  auto release = block(t);  // task 1, running
  for (int i = 0; i < 5; ++i) t.post([] {});
  auto const s = t.stats();
  EXPECT_EQ(s.accepted, 6u);
  EXPECT_EQ(s.queued, 5u);
  auto const again = t.stats();  // its drain finds nothing new: nothing counted twice
  EXPECT_EQ(again.accepted, 6u);
  EXPECT_EQ(again.queued, 5u);
  release->open();
  t.submit([] {});
  expect_idle_counts(t, 7);
}

// Readers drain while producers push and the worker takes: every count a reader sees
// only grows, and the end is exact.
TEST(Stats, ReadersDrainingWhileProducersPostSeeCountsThatOnlyGrow) {
  auto t = ste::spawn();
  int const producers = 3;
  std::uint64_t const per = ste_test::scaled(3000);
  std::atomic<bool> done{false};
  std::atomic<int> went_down{0};
  std::vector<std::thread> readers;
  for (int r = 0; r < 2; ++r)
    readers.emplace_back([&] {
      std::uint64_t last_accepted = 0, last_completed = 0;
      while (!done.load(std::memory_order_acquire)) {
        auto const s = t.stats();
        if (s.accepted < last_accepted || s.completed < last_completed || s.accepted < s.completed)
          went_down.fetch_add(1);
        last_accepted = s.accepted;
        last_completed = s.completed;
      }
    });
  std::vector<std::thread> posters;
  for (int p = 0; p < producers; ++p)
    posters.emplace_back([&] {
      for (std::uint64_t i = 0; i < per; ++i) t.post([] {});
    });
  for (auto& p : posters) p.join();
  t.submit([] {});  // after every post (FIFO): all have run
  done.store(true, std::memory_order_release);
  for (auto& r : readers) r.join();
  EXPECT_EQ(went_down.load(), 0);
  expect_idle_counts(t, per * producers + 1);
}

TEST(Stats, AWithdrawnSubmitForIsNotCounted) {
  auto t = ste::spawn();
  auto release = block(t);  // task 1, running
  EXPECT_THROW(t.submit_for(1ms, [] {}), ste::timeout_error);
  EXPECT_THROW(t.submit_for(-1s, [] {}), ste::timeout_error);  // past at the call
  EXPECT_THROW(t.submit_until(std::chrono::steady_clock::now() - 1s, [] {}), ste::timeout_error);
  auto const blocked = t.stats();
  EXPECT_EQ(blocked.accepted, 1u);
  EXPECT_EQ(blocked.queued, 0u);
  release->open();
  t.submit([] {});
  expect_idle_counts(t, 2);
}

// The withdrawal races the start: the worker may take the record after its deadline
// (it then skips it) or start it in time (it runs). Either way the counts agree with
// what the caller was told.
TEST(Stats, ASubmitForThatRacesItsDeadlineIsCountedExactlyWhenItRan) {
  auto t = ste::spawn();
  std::uint64_t expected = 0;
  for (std::size_t round = 0; round < ste_test::scaled(200); ++round) {
    auto release = block(t);
    ++expected;
    bool ran = false;  // written by the worker, read after caller.join()
    std::atomic<bool> finished{false};
    std::thread caller([&] {
      try {
        t.submit_for(std::chrono::microseconds(50 + 10 * (round % 20)), [&] { ran = true; });
      } catch (ste::timeout_error const&) {
      }
      finished = true;
    });
    // Odd rounds let the worker go at once; even ones once the record is queued (or the
    // call already gave up).
    if (round % 2 == 0)
      while (!finished.load() && t.stats().queued == 0) std::this_thread::yield();
    release->open();
    caller.join();
    if (ran) ++expected;
    t.submit([] {});
    ++expected;
    auto const s = t.stats();
    ASSERT_EQ(s.accepted, expected) << "round " << round << (ran ? " (ran)" : " (withdrawn)");
    ASSERT_EQ(s.completed, expected);
    ASSERT_EQ(s.queued, 0u);
  }
}

TEST(Stats, QueuedCountsAcceptedTasksWhileTheThreadIsBlocked) {
  auto t = ste::spawn();
  auto release = block(t);
  opens_on_exit const unblock{release};  // a failed ASSERT must not leave join() waiting
  constexpr std::uint64_t kN = 50;
  for (std::uint64_t i = 1; i <= kN; ++i) {
    t.post([] {});
    auto const s = t.stats();  // counted at acceptance: exact while the worker waits
    ASSERT_EQ(s.queued, i);
    ASSERT_EQ(s.accepted, i + 1);
    ASSERT_EQ(s.completed, 0u);
  }
  release->open();
  t.submit([] {});
  auto const s = t.stats();
  EXPECT_EQ(s.accepted, kN + 2);
  EXPECT_EQ(s.completed, kN + 2);
  EXPECT_EQ(s.queued, 0u);
  EXPECT_GE(s.peak_queued, kN);
  EXPECT_LE(s.peak_queued, kN + 1);  // the most ever accepted and not started
}

// ---------------------------------------------------------------------------------
// stats(): timing (on_stall threads only)

TEST(Stats, NothingIsTimedWithoutOnStall) {
  auto t = ste::spawn();
  t.submit([] { std::this_thread::sleep_for(2ms); });
  t.post([] { std::this_thread::sleep_for(1ms); });
  t.submit([] {});
  auto const s = t.stats();
  EXPECT_EQ(s.completed, 3u);
  EXPECT_EQ(s.busy, 0ns);
  EXPECT_EQ(s.longest, 0ns);
  EXPECT_TRUE(s.longest_site.empty());
}

TEST(Stats, WithOnStallTheLongestTaskAndItsSiteAreKept) {
  auto t = ste::builder().on_stall(kNever, [](ste::stall_info const&) {}).build();
  for (int i = 0; i < 20; ++i) t.post([] {});
  t.submit([] {});
  // This task outlasts every earlier one by at least 3 ms (it reads their longest first),
  // and nothing runs after it: it is the longest.
  auto const outlast = [&t] { std::this_thread::sleep_for(t.stats().longest + 3ms); };
  std::uint_least32_t const line = __LINE__; t.submit(outlast);
  auto const s = t.stats();
  EXPECT_EQ(s.completed, 22u);
  EXPECT_GE(s.longest, 3ms);
  expect_site_here(site_copy(s.longest_site), line);
  EXPECT_GE(s.busy, s.longest);
  // Busy time grows by at least each task's own sleep.
  auto const before = s.busy;
  t.submit([] { std::this_thread::sleep_for(2ms); });
  EXPECT_GE(t.stats().busy, before + 2ms);
}

TEST(Stats, ReadableFromManyThreadsWhileTasksRun) {
  for (bool timed : {false, true}) {
    SCOPED_TRACE(timed ? "with on_stall" : "without on_stall");
    ste::builder b;
    if (timed) b.on_stall(kNever, [](ste::stall_info const&) {});
    auto t = b.build();
    std::atomic<bool> stop{false};
    std::atomic<long> violations{0};
    std::vector<std::thread> readers;
    for (int r = 0; r < 2; ++r)
      readers.emplace_back([&] {
        std::uint64_t last_completed = 0;
        std::chrono::nanoseconds last_busy{0};
        while (!stop.load()) {
          auto const s = t.stats();
          bool ok = s.completed <= s.accepted && s.queued <= s.accepted - s.completed &&
                    s.peak_queued >= s.queued && s.completed >= last_completed &&
                    s.busy >= last_busy && s.busy >= s.longest;
          if (!ok) ++violations;
          last_completed = s.completed;
          last_busy = s.busy;
          std::this_thread::yield();  // 2 CPUs here: leave room for the worker
        }
      });
    std::vector<std::thread> producers;
    std::size_t const per_producer = ste_test::scaled(1000);
    for (int p = 0; p < 2; ++p)
      producers.emplace_back([&, p] {
        for (std::size_t i = 0; i < per_producer; ++i) {
          if ((i + static_cast<std::size_t>(p)) % 2 == 0)
            t.submit([] {});
          else
            t.post([] {});
        }
      });
    for (auto& p : producers) p.join();
    t.submit([] {});  // after every post
    stop = true;
    for (auto& r : readers) r.join();
    EXPECT_EQ(violations.load(), 0);
    expect_idle_counts(t, 2 * per_producer + 1);
  }
}

// ---------------------------------------------------------------------------------
// on_stall

TEST(OnStall, AStalledTaskIsReportedOnceWithItsSiteElapsedNameAndTag) {
  stall_log log;
  auto t = ste::builder().name("stalling").on_stall(5ms, log.handler()).build();
  // The task blocks until the report came (so it cannot end first), then runs on for a
  // while: it is still reported once.
  auto const stall = [&log] {
    log.reported.wait();
    std::this_thread::sleep_for(20ms);
  };
  std::uint_least32_t const line = __LINE__; t.submit(stall);
  ste::tag const tag = t.tag();
  t.join();  // (no other task: a short one preempted past 5 ms would be reported too)  // no report is in progress once join() returned
  auto const all = log.all();
  ASSERT_EQ(all.size(), 1u);
  expect_site_here(all[0].site, line);
  EXPECT_GE(all[0].elapsed, 5ms);
  EXPECT_EQ(all[0].name, "stalling");
  EXPECT_EQ(all[0].tag, tag);
  // The reported task is the longest, and it ran at least as long as reported.
  auto const s = t.stats();
  EXPECT_GE(s.longest, all[0].elapsed);
  expect_site_here(site_copy(s.longest_site), line);
}

TEST(OnStall, EachStalledTaskIsReportedOnceAndOfPostedTasksToo) {
  stall_log log;
  counter reports;
  auto t = ste::builder()
               .on_stall(2ms,
                         [&](ste::stall_info const& info) {
                           log.handler()(info);
                           reports.arrive();
                         })
               .build();
  constexpr std::size_t kTasks = 5;
  std::uint_least32_t const line = __LINE__; for (std::size_t i = 1; i <= kTasks; ++i) t.post([&reports, i] { reports.wait_for(i); });
  t.join();  // drains; no other task runs (a short one preempted past 2 ms would count)
  auto const all = log.all();
  ASSERT_EQ(all.size(), kTasks);
  for (auto const& e : all) expect_site_here(e.site, line);
}

TEST(OnStall, ShortTasksAreNeverReported) {
  std::atomic<int> reports{0};
  auto t = ste::builder().on_stall(kNever, [&](ste::stall_info const&) { ++reports; }).build();
  for (int i = 0; i < 1000; ++i) {
    t.submit([] {});
    t.post([] {});
  }
  t.submit([] { std::this_thread::sleep_for(5ms); });
  t.join();
  EXPECT_EQ(reports.load(), 0);
}

TEST(OnStall, AStalledCoroutineResumptionIsReported) {
  stall_log log;
  auto t = ste::builder().name("coro").on_stall(3ms, log.handler()).build();
  counter done;
  // Stalls in its first run (the spawn's task), then in a resumption from the queue,
  // then in one by a timer: three reports.
  auto stalls = [](ste::thread const& th, stall_log& l, counter& d) -> ste::task<void> {
    auto const until_reports = [&l](std::size_t n) {
      while (l.all().size() < n) std::this_thread::sleep_for(1ms);
    };
    until_reports(1);
    co_await th.schedule();
    until_reports(2);
    co_await ste::sleep_for(0ms);
    until_reports(3);
    d.arrive();
  };
  std::uint_least32_t const line = __LINE__; t.spawn(stalls(t, log, done));
  done.wait_for(1);
  ste::tag const tag = t.tag();
  t.join();
  auto const all = log.all();
  ASSERT_EQ(all.size(), 3u);
  expect_site_here(all[0].site, line);  // the spawn's own task
  for (auto const& e : all) {
    EXPECT_EQ(e.name, "coro");
    EXPECT_EQ(e.tag, tag);
    EXPECT_GE(e.elapsed, 3ms);
  }
}

TEST(OnStall, SeveralWatchedThreadsAreEachReported) {
  constexpr int kThreads = 3;
  std::vector<std::unique_ptr<stall_log>> logs;
  std::vector<ste::thread> threads;
  for (int i = 0; i < kThreads; ++i) {
    logs.push_back(std::make_unique<stall_log>());
    threads.push_back(ste::builder()
                          .name("watched-" + std::to_string(i))
                          .on_stall(2ms + std::chrono::milliseconds(i), logs.back()->handler())
                          .build());
  }
  // One more thread without on_stall: nothing of it is timed.
  auto plain = ste::spawn();
  for (int i = 0; i < kThreads; ++i) {
    stall_log& l = *logs[static_cast<std::size_t>(i)];
    threads[static_cast<std::size_t>(i)].post([&l] { l.reported.wait(); });
  }
  plain.submit([] { std::this_thread::sleep_for(5ms); });
  for (int i = 0; i < kThreads; ++i) {
    auto& th = threads[static_cast<std::size_t>(i)];
    ste::tag const tag = th.tag();
    th.join();
    auto const all = logs[static_cast<std::size_t>(i)]->all();
    ASSERT_EQ(all.size(), 1u);
    EXPECT_EQ(all[0].name, "watched-" + std::to_string(i));
    EXPECT_EQ(all[0].tag, tag);
  }
  EXPECT_EQ(plain.stats().longest, 0ns);
}

TEST(OnStall, ANonPositiveOrNaNThresholdThrowsInvalidArgument) {
  auto const handler = [](ste::stall_info const&) {};
  ste::builder b;
  EXPECT_THROW(b.on_stall(0ms, handler), std::invalid_argument);
  EXPECT_THROW(b.on_stall(-1ns, handler), std::invalid_argument);
  EXPECT_THROW(b.on_stall(std::chrono::duration<double>(-0.5), handler), std::invalid_argument);
  EXPECT_THROW(b.on_stall(std::chrono::duration<double>(std::numeric_limits<double>::quiet_NaN()),
                          handler),
               std::invalid_argument);
  // Far thresholds saturate; the builder still builds.
  b.on_stall(std::chrono::hours::max(), handler);
  auto t = b.build();
  EXPECT_EQ(t.submit([] { return 3; }), 3);
}

// The watchdog starts with the first watched thread and stops with the last: builds and
// joins racing each other, many times; never a hang, every report delivered once, and no
// report after join() returned (the handler's state is destroyed right after it).
TEST(OnStall, WatchdogStartAndStopRaceJoin) {
  std::size_t const rounds = ste_test::scaled(500);
  for (std::size_t round = 0; round < rounds; ++round) {
    std::thread racers[2];
    std::atomic<int> bad{0};
    for (int r = 0; r < 2; ++r)
      racers[r] = std::thread([&bad, r] {
        auto log = std::make_unique<stall_log>();
        auto reports = std::make_shared<std::atomic<int>>(0);
        stall_log* const l = log.get();
        auto t = ste::builder()
                     .on_stall(1ms,
                               [l, reports](ste::stall_info const& info) {
                                 ++*reports;
                                 l->handler()(info);
                               })
                     .build();
        if (r == 0) t.submit([l] { l->reported.wait(); });  // one report, surely
        t.join();
        int const after_join = reports->load();
        log.reset();  // a report after join() would touch freed memory (asan)
        if (r == 0 && after_join != 1) ++bad;
        if (r == 1 && after_join != 0) ++bad;  // it ran no task
        if (reports->load() != after_join) ++bad;
      });
    for (auto& racer : racers) racer.join();
    ASSERT_EQ(bad.load(), 0) << "round " << round;
  }
}

// A handler may build and join watched threads of its own (the watchdog then stops and
// restarts around it) without hanging.
TEST(OnStall, AHandlerMayStartAndJoinAWatchedThread) {
  gate inner_done;
  stall_log outer_log;
  auto t = ste::builder()
               .on_stall(2ms,
                         [&](ste::stall_info const& info) {
                           auto inner =
                               ste::builder().on_stall(kNever, [](ste::stall_info const&) {}).build();
                           inner.submit([] {});
                           inner.join();
                           outer_log.handler()(info);
                           inner_done.open();
                         })
               .build();
  t.submit([&] { inner_done.wait(); });
  t.join();
  EXPECT_EQ(outer_log.all().size(), 1u);
}

}  // namespace
