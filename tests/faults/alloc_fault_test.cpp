// SPDX-License-Identifier: MIT
// Fault matrix: allocation failures. This binary replaces the global operator new (every
// form) with one that fails on demand:
// - fail_on_this_thread(n): the n-th next allocation of the calling thread throws;
// - fail_anywhere(n): the n-th next allocation of any thread throws.
// Expected: std::bad_alloc from post reaches its caller and nothing is queued; bad_alloc
// inside a task reaches the submitter (or on_error for a posted task); a sweep that
// fails each allocation of a whole scenario in turn never crashes, hangs, leaks (LSan in
// the asan preset) or loses an accepted task.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <new>
#include <string>
#include <thread>
#include <vector>

#include "ste/ste.hpp"
#include "test_support.hpp"

namespace {
thread_local long t_countdown = 0;  // > 0: allocations left before one fails
std::atomic<long> g_countdown{0};   // the same for every thread
std::atomic<long> g_failures{0};    // allocations failed on purpose so far

bool should_fail() noexcept {
  if (t_countdown > 0 && --t_countdown == 0) return true;
  long c = g_countdown.load(std::memory_order_relaxed);
  while (c > 0) {
    if (g_countdown.compare_exchange_weak(c, c - 1, std::memory_order_relaxed)) return c == 1;
  }
  return false;
}

void* allocate(std::size_t size, std::size_t align, bool nothrow) {
  if (should_fail()) {
    g_failures.fetch_add(1, std::memory_order_relaxed);
    if (nothrow) return nullptr;
    throw std::bad_alloc();
  }
  if (size == 0) size = 1;
  void* p = align > alignof(std::max_align_t)
                ? std::aligned_alloc(align, (size + align - 1) / align * align)
                : std::malloc(size);
  if (p == nullptr && !nothrow) throw std::bad_alloc();
  return p;
}

/// The n-th next allocation on the calling thread fails (n >= 1).
void fail_on_this_thread(long n) {
  t_countdown = n;
}
/// The n-th next allocation on any thread fails (n >= 1); 0 disarms.
void fail_anywhere(long n) {
  g_countdown.store(n);
}
}  // namespace

#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
#endif
// clang-format off
void* operator new(std::size_t n) { return allocate(n, 0, false); }
void* operator new[](std::size_t n) { return allocate(n, 0, false); }
void* operator new(std::size_t n, std::nothrow_t const&) noexcept { try { return allocate(n, 0, true); } catch (...) { return nullptr; } }
void* operator new[](std::size_t n, std::nothrow_t const&) noexcept { try { return allocate(n, 0, true); } catch (...) { return nullptr; } }
void* operator new(std::size_t n, std::align_val_t a) { return allocate(n, static_cast<std::size_t>(a), false); }
void* operator new[](std::size_t n, std::align_val_t a) { return allocate(n, static_cast<std::size_t>(a), false); }
void* operator new(std::size_t n, std::align_val_t a, std::nothrow_t const&) noexcept { try { return allocate(n, static_cast<std::size_t>(a), true); } catch (...) { return nullptr; } }
void* operator new[](std::size_t n, std::align_val_t a, std::nothrow_t const&) noexcept { try { return allocate(n, static_cast<std::size_t>(a), true); } catch (...) { return nullptr; } }
void operator delete(void* p) noexcept { std::free(p); }
void operator delete[](void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }
void operator delete[](void* p, std::size_t) noexcept { std::free(p); }
void operator delete(void* p, std::align_val_t) noexcept { std::free(p); }
void operator delete[](void* p, std::align_val_t) noexcept { std::free(p); }
void operator delete(void* p, std::size_t, std::align_val_t) noexcept { std::free(p); }
void operator delete[](void* p, std::size_t, std::align_val_t) noexcept { std::free(p); }
void operator delete(void* p, std::nothrow_t const&) noexcept { std::free(p); }
void operator delete[](void* p, std::nothrow_t const&) noexcept { std::free(p); }
void operator delete(void* p, std::align_val_t, std::nothrow_t const&) noexcept { std::free(p); }
void operator delete[](void* p, std::align_val_t, std::nothrow_t const&) noexcept { std::free(p); }
// clang-format on

namespace {

void* volatile g_sink = nullptr;
void allocate_something() {
  g_sink = new int(1);
  delete static_cast<int*>(g_sink);
}

TEST(AllocFault, TheSwitchWorks) {
  fail_on_this_thread(1);
  EXPECT_THROW(allocate_something(), std::bad_alloc);
  allocate_something();  // one failure only
  fail_anywhere(1);
  EXPECT_THROW(allocate_something(), std::bad_alloc);
  allocate_something();
}

// post(): the one allocation fails -> the caller gets bad_alloc, nothing was queued,
// and the callable was not consumed (it still owns what it captured).
TEST(AllocFault, BadAllocInPostReachesTheCallerAndNothingIsQueued) {
  auto thread = ste::spawn();
  for (int round = 0; round < 1000; ++round) {
    auto token = std::make_shared<int>(round);
    bool ran = false;
    auto task = [token, &ran] { ran = true; };
    fail_on_this_thread(1);
    EXPECT_THROW(thread.post(std::move(task)), std::bad_alloc);
    EXPECT_EQ(token.use_count(), 2) << "the callable was consumed although post failed";
    // FIFO: had the post been queued, it would have run before this submit.
    EXPECT_EQ(thread.submit([] { return 1; }), 1);
    EXPECT_FALSE(ran) << "a post that threw bad_alloc ran anyway";
  }
  // Large captures take the same path.
  std::vector<char> big(1 << 16, 'x');
  fail_on_this_thread(1);
  EXPECT_THROW(thread.post([big] { (void)big.size(); }), std::bad_alloc);
  EXPECT_EQ(thread.submit([] { return 2; }), 2);
}

// post_after / post_at / post_every: the one block fails -> bad_alloc at the caller,
// nothing scheduled (SPEC "Delayed and periodic tasks"), the callable not consumed.
TEST(AllocFault, BadAllocInATimerPostReachesTheCallerAndNothingIsScheduled) {
  using namespace std::chrono_literals;
  auto thread = ste::spawn();
  for (int round = 0; round < 300; ++round) {
    auto token = std::make_shared<int>(round);
    std::atomic<int> ran{0};
    auto task = [token, &ran] { ++ran; };
    fail_on_this_thread(1);
    EXPECT_THROW((void)thread.post_after(0s, std::move(task)), std::bad_alloc);
    fail_on_this_thread(1);
    EXPECT_THROW((void)thread.post_at(std::chrono::system_clock::now(), std::move(task)),
                 std::bad_alloc);
    fail_on_this_thread(1);
    EXPECT_THROW((void)thread.post_every(1us, std::move(task)), std::bad_alloc);
    EXPECT_EQ(token.use_count(), 2) << "the callable was consumed although the post failed";
    // A marker with a later deadline: had a due post been scheduled, it would run first.
    std::atomic<bool> marker{false};
    (void)thread.post_after(1us, [&] { marker = true; });
    while (!marker.load()) std::this_thread::yield();
    EXPECT_EQ(thread.submit([] { return 1; }), 1);
    EXPECT_EQ(ran.load(), 0) << "a timer post that threw bad_alloc ran anyway";
  }
  // On the thread itself too.
  std::atomic<int> ran{0};
  thread.submit([&] {
    fail_on_this_thread(1);
    EXPECT_THROW((void)thread.post_after(0s, [&] { ++ran; }), std::bad_alloc);
  });
  thread.submit([] {});
  EXPECT_EQ(ran.load(), 0);
}

// spawn(): its one small block fails -> bad_alloc, the coroutine is destroyed unstarted.
TEST(AllocFault, BadAllocInSpawnReachesTheCallerAndTheTaskNeverStarts) {
  auto thread = ste::spawn();
  bool started = false;
  auto token = std::make_shared<int>(1);
  std::weak_ptr<int> watch = token;
  auto co = [](bool& s, std::shared_ptr<int>) -> ste::task<void> {
    s = true;
    co_return;
  };
  auto t = co(started, std::move(token));  // the frame is allocated here, not armed yet
  fail_on_this_thread(1);
  EXPECT_THROW(thread.spawn(std::move(t)), std::bad_alloc);
  EXPECT_EQ(thread.submit([] { return 1; }), 1);
  EXPECT_FALSE(started);
  t = ste::task<void>{};  // spawn() took it by value: the failed call destroyed it already
  EXPECT_TRUE(watch.expired());
}

struct allocates_when_made {
  allocates_when_made() {
    fail_on_this_thread(1);
    allocate_something();
  }
};
struct allocates_when_moved {
  std::unique_ptr<int> p = std::make_unique<int>(1);
  allocates_when_moved() = default;
  allocates_when_moved(allocates_when_moved&& o) {
    fail_on_this_thread(1);  // runs on the ste thread, inside destroy()'s task
    p = std::make_unique<int>(*o.p);
  }
};

// An allocation inside a task fails -> the very bad_alloc reaches the submitter, and
// the thread goes on serving.
TEST(AllocFault, BadAllocInsideATaskReachesTheCaller) {
  std::atomic<int> reported{0};
  auto thread = ste::builder()
                    .on_error([&](std::exception_ptr e) {
                      try {
                        std::rethrow_exception(e);
                      } catch (std::bad_alloc const&) {
                        ++reported;
                      } catch (...) {
                      }
                    })
                    .build();
  for (int round = 0; round < 200; ++round) {
    EXPECT_THROW(thread.submit([] {
      fail_on_this_thread(1);  // on the worker
      allocate_something();
    }),
                 std::bad_alloc);
    EXPECT_THROW(thread.submit_for(std::chrono::seconds(10),
                                   [] {
                                     fail_on_this_thread(1);
                                     return std::make_unique<int>(3);
                                   }),
                 std::bad_alloc);
    // A bound<T> whose constructor allocates (on the thread): the block is made, then the
    // constructor fails; bad_alloc reaches make_bound's caller.
    EXPECT_THROW((void)thread.make_bound<allocates_when_made>(), std::bad_alloc);
    EXPECT_EQ(thread.submit([] { return 9; }), 9);
  }
  // destroy(): the value is moved on the thread, and that move fails.
  allocates_when_moved v;
  EXPECT_THROW(thread.destroy(std::move(v)), std::bad_alloc);
  EXPECT_TRUE(v.p != nullptr) << "the value was consumed although destroy() failed";
  // Coroutines: a failing allocation inside a block_on'd coroutine.
  auto co = []() -> ste::task<int> {
    fail_on_this_thread(1);
    allocate_something();
    co_return 1;
  };
  EXPECT_THROW(thread.block_on(co()), std::bad_alloc);
  // A posted task: its bad_alloc goes to on_error.
  for (int i = 0; i < 10; ++i)
    thread.post([] {
      fail_on_this_thread(1);
      allocate_something();
    });
  thread.join();
  EXPECT_EQ(reported.load(), 10);
}

// The sweep: fail the 1st, 2nd, 3rd... allocation of a whole scenario, on whichever
// thread it happens, until the scenario runs through without meeting the failure.
// Every outcome must be a clean one: success, or bad_alloc at the caller (or at
// on_error); tasks that were accepted ran exactly once; nothing crashes, hangs or leaks.
struct sweep_result {
  bool completed = false;  // the scenario ran to its end without meeting the failure
  int bad_allocs = 0;      // bad_alloc seen by callers or on_error
  std::string problem;
};

sweep_result scenario(long fail_at) {
  sweep_result r;
  std::atomic<int> ran_posted{0}, accepted_posts{0}, on_error_bad_alloc{0}, on_error_other{0};
  int step = 0;
  auto note = [&](char const* what) { r.problem += std::string(what) + "; "; };
  fail_anywhere(fail_at);
  try {
    auto thread = ste::builder()
                      .name("a-rather-long-thread-name-that-gets-truncated")
                      .on_error([&](std::exception_ptr e) {
                        try {
                          std::rethrow_exception(e);
                        } catch (std::bad_alloc const&) {
                          ++on_error_bad_alloc;
                        } catch (...) {
                          ++on_error_other;
                        }
                      })
                      .postlude([] {})
                      .build();
    ++step;
    for (int i = 0; i < 3; ++i) {
      try {
        thread.post([&] { ++ran_posted; });
        ++accepted_posts;
      } catch (std::bad_alloc const&) {
        ++r.bad_allocs;
      }
    }
    ++step;
    try {
      // Due at once: it runs before join() (join() runs what was due when it began).
      (void)thread.post_after(std::chrono::seconds(0), [&] { ++ran_posted; });
      ++accepted_posts;
    } catch (std::bad_alloc const&) {
      ++r.bad_allocs;
    }
    try {
      ste::timer periodic = thread.post_every(std::chrono::hours(1), [&] { note("periodic ran"); });
      if (!periodic.cancel()) note("periodic cancel");
    } catch (std::bad_alloc const&) {
      ++r.bad_allocs;
    }
    ++step;
    try {
      if (thread.submit([] { return std::string(100, 'z'); }).size() != 100) note("submit value");
    } catch (std::bad_alloc const&) {
      ++r.bad_allocs;
    }
    ++step;
    try {
      auto b = thread.make_bound<std::vector<int>>(std::size_t{100}, 1);
      if (thread.submit([&] { return b->size(); }) != 100) note("bound value");
      b.reset();
    } catch (std::bad_alloc const&) {
      ++r.bad_allocs;
    }
    ++step;
    try {
      auto co = [](ste::thread const* t) -> ste::task<int> {
        co_await t->schedule();
        co_await ste::sleep_for(std::chrono::microseconds(10));  // the timer heap grows
        co_return 5;
      };
      if (thread.block_on(co(&thread)) != 5) note("block_on value");
    } catch (std::bad_alloc const&) {
      ++r.bad_allocs;
    }
    ++step;
    try {
      auto helper = ste::spawn();
      auto co = [](ste::thread const* there) -> ste::task<int> {
        auto body = []() -> ste::task<int> { co_return 6; };
        co_return co_await there->submit_async(body());
      };
      if (helper.block_on(co(&thread)) != 6) note("submit_async value");
    } catch (std::bad_alloc const&) {
      ++r.bad_allocs;
    }
    ++step;
    try {
      thread.spawn([](std::atomic<int>* n) -> ste::task<void> {
        co_await ste::sleep_for(std::chrono::hours(1));  // ended by join()
        ++*n;
      }(&ran_posted));
    } catch (std::bad_alloc const&) {
      ++r.bad_allocs;
    } catch (ste::stopped_error const&) {
      note("spawn refused");
    }
    ++step;
    thread.join();
    r.completed = g_countdown.load() > 0;  // the failure point was never reached
    fail_anywhere(0);
    if (ran_posted.load() != accepted_posts.load())
      note("an accepted post did not run exactly once");
    r.bad_allocs += on_error_bad_alloc.load();
    // A spawned sleeper ended by join() throws stopped_error into on_error.
  } catch (std::bad_alloc const&) {
    ++r.bad_allocs;  // build() itself
  }
  fail_anywhere(0);
  (void)step;
  return r;
}

TEST(AllocFault, FailingEachAllocationOfAScenarioInTurnIsAlwaysClean) {
  long points = 0, bad_allocs = 0;
  for (long k = 1; k < 5000; ++k) {
    sweep_result const r = scenario(k);
    EXPECT_EQ(r.problem, "") << "failing allocation #" << k;
    bad_allocs += r.bad_allocs;
    if (r.completed) break;
    ++points;
  }
  std::printf(
      "[ faults   ] %ld allocation points of the scenario failed in turn; %ld bad_alloc "
      "reached callers or on_error\n",
      points, bad_allocs);
  std::fflush(stdout);
  EXPECT_GT(points, 10);
}

}  // namespace
