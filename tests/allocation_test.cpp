// SPDX-License-Identifier: MIT
// Zero allocation: submit, submit_for, submit_until and destroy allocate nothing on any
// thread; post allocates exactly once. Shown with a counting global operator new that
// replaces every form (plain, array, nothrow, aligned): tests/counting_new.cpp.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <new>
#include <string>
#include <thread>
#include <vector>

#include "counting_new.hpp"
#include "ste/ste.hpp"

namespace {

struct alignas(64) over_aligned {
  int v = 0;
};

using ste_test::allocations_during;

// Optimisers may elide a new/delete pair; routing the pointer through a volatile keeps
// these allocations real.
void* volatile g_sink = nullptr;

TEST(Allocation, TheCounterSeesEveryForm) {
  EXPECT_EQ(allocations_during([] {
              g_sink = new int(1);
              delete static_cast<int*>(g_sink);
            }),
            1);
  EXPECT_EQ(allocations_during([] {
              g_sink = new over_aligned;
              delete static_cast<over_aligned*>(g_sink);
            }),
            1);
  EXPECT_EQ(allocations_during([] {
              g_sink = new int[3];
              delete[] static_cast<int*>(g_sink);
            }),
            1);
  EXPECT_EQ(allocations_during([] {
              g_sink = new (std::nothrow) int(2);
              delete static_cast<int*>(g_sink);
            }),
            1);
}

TEST(Allocation, SubmitAllocatesNothing) {
  auto thread = ste::spawn();
  thread.submit([] {});  // warm-up: first-use costs of the runtime, not of submit
  int n = 0;
  long const count = allocations_during([&] {
    for (int i = 0; i < 10'000; ++i) n += thread.submit([i] { return i & 1; });
  });
  EXPECT_EQ(count, 0);
  EXPECT_EQ(n, 5'000);
}

TEST(Allocation, MakeNotifierAllocatesOneBlockAndNotifyNothing) {
  auto thread = ste::spawn();
  thread.submit([] {});
  std::atomic<long> runs{0};
  ste::notifier n;
  EXPECT_EQ(allocations_during([&] { n = thread.make_notifier([&runs] { ++runs; }); }), 1);
  long accepted = 0;
  // Counted on every thread: the runs on the ste thread allocate nothing either.
  long const count = allocations_during([&] {
    for (int i = 0; i < 10'000; ++i) accepted += n.notify() ? 1 : 0;
    thread.submit([] {});
  });
  EXPECT_EQ(count, 0);
  EXPECT_EQ(accepted, 10'000);
  EXPECT_GE(runs.load(), 1);
}

TEST(Allocation, SubmitOfLargeCapturesAndResultsAllocatesNothing) {
  auto thread = ste::spawn();
  thread.submit([] {});
  over_aligned big{};
  long const count = allocations_during([&] {
    for (int i = 0; i < 1000; ++i) {
      over_aligned r = thread.submit([&big, i] {
        over_aligned o = big;
        o.v = i;
        return o;
      });
      big.v += r.v & 0;
    }
  });
  EXPECT_EQ(count, 0);
}

TEST(Allocation, ConcurrentSubmittersAllocateNothing) {
  auto thread = ste::spawn();
  thread.submit([] {});
  std::vector<std::thread> submitters;
  submitters.reserve(4);
  std::atomic<bool> go{false};
  std::atomic<long> sum{0};
  long before = 0;
  for (int s = 0; s < 4; ++s)
    submitters.emplace_back([&] {
      while (!go.load()) std::this_thread::yield();
      for (int i = 0; i < 2000; ++i) sum += thread.submit([] { return 1L; });
    });
  before = ste_test::allocations();
  go = true;
  for (auto& t : submitters) t.join();
  EXPECT_EQ(ste_test::allocations() - before, 0);
  EXPECT_EQ(sum.load(), 8000);
}

TEST(Allocation, SubmitForAndSubmitUntilAllocateNothing) {
  auto thread = ste::spawn();
  thread.submit([] {});
  long const count = allocations_during([&] {
    for (int i = 0; i < 1000; ++i) {
      thread.submit_for(std::chrono::hours(1), [] {});
      thread.submit_until(std::chrono::steady_clock::now() + std::chrono::hours(1), [] {});
    }
  });
  EXPECT_EQ(count, 0);
}

TEST(Allocation, DestroyAllocatesNothing) {
  auto thread = ste::spawn();
  thread.submit([] {});
  std::vector<std::vector<int>> values(100, std::vector<int>(10));
  long const count = allocations_during([&] {
    for (auto& v : values) thread.destroy(std::move(v));
  });
  EXPECT_EQ(count, 0);
}

TEST(Allocation, ExceptionsComeBackWithoutAllocationsOfSteItself) {
  auto thread = ste::spawn();
  thread.submit([] {});
  // The runtime allocates the exception object itself (__cxa_allocate_exception does
  // not go through operator new); ste adds nothing on top.
  long const count = allocations_during([&] {
    for (int i = 0; i < 100; ++i) {
      try {
        thread.submit([] { throw 5; });
      } catch (int) {
      }
    }
  });
  EXPECT_EQ(count, 0);
}

TEST(Allocation, PostAllocatesExactlyOnce) {
  auto thread = ste::spawn();
  thread.submit([] {});
  std::atomic<int> ran{0};
  long const count = allocations_during([&] {
    for (int i = 0; i < 100; ++i) thread.post([&ran] { ++ran; });
    thread.submit([] {});  // after it, all posts ran (FIFO)
  });
  EXPECT_EQ(count, 100);
  EXPECT_EQ(ran.load(), 100);
}

// Observability: capturing a site, keeping it with the task, timing tasks on an
// on_stall thread and reading stats() allocate nothing.
TEST(Allocation, SiteCaptureTimingAndStatsAllocateNothing) {
  auto plain = ste::spawn();
  auto watched =
      ste::builder().on_stall(std::chrono::hours(1), [](ste::stall_info const&) {}).build();
  plain.submit([] {});
  watched.submit([] {});
  std::uint64_t sum = 0;
  long const count = allocations_during([&] {
    for (int i = 0; i < 1000; ++i) {
      ste::site const here = ste::site::current();
      plain.submit([] {}, here);
      watched.submit([] {});
      watched.submit_for(std::chrono::hours(1), [] {}, here);
      ste::thread_stats const a = plain.stats();
      ste::thread_stats const b = watched.stats();
      sum += a.completed + b.completed + b.longest_site.line();
    }
  });
  EXPECT_EQ(count, 0);
  EXPECT_GT(sum, 0u);
  EXPECT_EQ(plain.stats().completed, 1001u);
  EXPECT_EQ(watched.stats().completed, 2001u);
}

}  // namespace

// --- Delayed and periodic tasks (SPEC "Delayed and periodic tasks"): one block per
// post_*, nothing else — the timer heap is intrusive, so it never grows by allocating;
// cancel() and the runs allocate nothing; coroutine sleeps allocate nothing.

namespace {

TEST(Allocation, TimerPostsAllocateOneBlockEach) {
  using namespace std::chrono_literals;
  auto thread = ste::spawn();
  thread.submit([] {});
  std::atomic<int> ran{0};
  std::vector<ste::timer> timers;
  timers.reserve(400);
  long const count = allocations_during([&] {
    for (int i = 0; i < 100; ++i) {
      timers.push_back(thread.post_after(1h, [&ran] { ++ran; }));
      timers.push_back(thread.post_at(std::chrono::steady_clock::now() + 1h, [&ran] { ++ran; }));
      timers.push_back(thread.post_at(std::chrono::system_clock::now() + 1h, [&ran] { ++ran; }));
      timers.push_back(thread.post_every(1h, [&ran] { ++ran; }));
    }
    thread.submit([] {});  // every arm message taken: all 400 in the heap
  });
  EXPECT_EQ(count, 400);
  EXPECT_EQ(allocations_during([&] {
              for (auto& t : timers) EXPECT_TRUE(t.cancel());
              thread.submit([] {});  // the cleanups ran (and freed the blocks)
            }),
            0);
  EXPECT_EQ(ran.load(), 0);
}

TEST(Allocation, TimerRunsAndTheirCancelAllocateNothingBeyondTheBlock) {
  using namespace std::chrono_literals;
  auto thread = ste::spawn();
  thread.submit([] {});
  std::atomic<int> ran{0};
  long const count = allocations_during([&] {
    for (int i = 0; i < 100; ++i) (void)thread.post_after(0s, [&ran] { ++ran; });
    while (ran.load() < 100) std::this_thread::yield();
    thread.submit([] {});
  });
  EXPECT_EQ(count, 100);
  std::atomic<int> runs{0};
  ste::timer periodic;
  EXPECT_EQ(allocations_during([&] { periodic = thread.post_every(100us, [&runs] { ++runs; }); }),
            1);
  // The runs and the re-arming in between allocate nothing, nor does a cancel that
  // waits for a run (or finds it armed), nor the handle's release.
  EXPECT_EQ(allocations_during([&] {
              while (runs.load() < 20) std::this_thread::yield();
              EXPECT_TRUE(periodic.cancel());
              thread.submit([] {});
              periodic = ste::timer();
            }),
            0);
}

TEST(Allocation, TenThousandPendingTimersCostTenThousandBlocks) {
  using namespace std::chrono_literals;
  auto thread = ste::spawn();
  thread.submit([] {});
  std::vector<ste::timer> timers;
  timers.reserve(10'000);
  long const count = allocations_during([&] {
    for (int i = 0; i < 10'000; ++i)
      timers.push_back(thread.post_after(std::chrono::minutes(60 + i % 97), [] {}));
    thread.submit([] {});
  });
  EXPECT_EQ(count, 10'000);  // the heap never allocated
  EXPECT_EQ(allocations_during([&] { thread.join(); }), 0);  // dropped: freed, nothing new
}

ste::task<void> sleep_many(int n) {
  using namespace std::chrono_literals;
  for (int i = 0; i < n; ++i) {
    co_await ste::sleep_for(0s);
    co_await ste::sleep_until(std::chrono::steady_clock::now() + 10us);
  }
}

TEST(Allocation, CoroutineSleepsAllocateNothing) {
  auto thread = ste::spawn();
  thread.submit([] {});
  ste::task<void> t = sleep_many(200);  // the frame: made before counting
  EXPECT_EQ(allocations_during([&] { thread.block_on(std::move(t)); }), 0);
}

ste::task<void> sleep_long() {
  using namespace std::chrono_literals;
  co_await ste::sleep_for(1h);  // join() ends it (quietly, in a spawned coroutine)
}
ste::task<void> no_sleep() { co_return; }

TEST(Allocation, ManyPendingCoroutineSleepsAllocateNothing) {
  auto thread = ste::spawn();
  thread.submit([] {});
  // What a spawn itself costs (its frame made before counting).
  ste::task<void> one = no_sleep();
  long const per_spawn = allocations_during([&] {
    thread.spawn(std::move(one));
    thread.submit([] {});
  });
  std::vector<ste::task<void>> sleepers;
  sleepers.reserve(1000);
  for (int i = 0; i < 1000; ++i) sleepers.push_back(sleep_long());
  long const count = allocations_during([&] {
    for (auto& s : sleepers) thread.spawn(std::move(s));
    thread.submit([] {});  // all 1000 sleeping on the heap
  });
  EXPECT_EQ(count, 1000 * per_spawn);
  thread.join();
}

}  // namespace
