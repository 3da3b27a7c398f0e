// SPDX-License-Identifier: MIT
// The real-time checker checks itself: it sees each kind of call the watched thread
// makes, exactly once per call, and nothing that any other thread makes meanwhile.
// Every probe's result goes through a volatile, so the optimiser cannot drop the call
// (a new/delete pair or a malloc/free pair may otherwise be elided).
#include <gtest/gtest.h>

#include <linux/futex.h>
#include <malloc.h>
#include <pthread.h>
#include <sched.h>
#include <semaphore.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <cstdlib>
#include <mutex>
#include <new>
#include <shared_mutex>
#include <thread>

#include "realtime_checker.hpp"

namespace {

using ste_test::rt_checker;
using ste_test::rt_counts;

void* volatile g_sink = nullptr;
volatile long g_long_sink = 0;
volatile unsigned long g_arithmetic_sink = 0;

template <class F>
rt_counts counted(F&& body) {
  rt_checker checker;
  {
    auto watching = checker.watch_this_thread();
    body();
  }
  return checker.counts();
}

struct alignas(64) over_aligned {
  char bytes[64];
};

TEST(RealTimeCheckerSelfTest, InterpositionWorks) {
  ASSERT_TRUE(rt_checker::interposition_works());
}

TEST(RealTimeCheckerSelfTest, SeesEveryAllocationForm) {
  auto const one_each = [](auto&& alloc, auto&& release) {
    rt_counts const c = counted([&] {
      g_sink = alloc();
      release(g_sink);
    });
    EXPECT_EQ(c.allocations, 1u) << c;
    EXPECT_EQ(c.frees, 1u) << c;
    EXPECT_EQ(c.total(), 2u) << c;
  };
  one_each([] { return std::malloc(24); }, [](void* p) { std::free(p); });
  one_each([] { return std::calloc(3, 8); }, [](void* p) { std::free(p); });
  one_each([] { return std::realloc(nullptr, 40); }, [](void* p) { std::free(p); });
  one_each([] { return std::aligned_alloc(64, 128); }, [](void* p) { std::free(p); });
  one_each([] { return ::memalign(64, 128); }, [](void* p) { std::free(p); });
  one_each([] { return ::valloc(100); }, [](void* p) { std::free(p); });
  one_each(
      [] {
        void* p = nullptr;
        return ::posix_memalign(&p, 64, 100) == 0 ? p : nullptr;
      },
      [](void* p) { std::free(p); });
  one_each([] { return new int(1); }, [](void* p) { delete static_cast<int*>(p); });
  one_each([] { return new int[5]; }, [](void* p) { delete[] static_cast<int*>(p); });
  one_each([] { return new (std::nothrow) int(2); }, [](void* p) { delete static_cast<int*>(p); });
  one_each([] { return new (std::nothrow) int[3]; },
           [](void* p) { delete[] static_cast<int*>(p); });
  one_each([] { return new over_aligned; }, [](void* p) { delete static_cast<over_aligned*>(p); });
  one_each([] { return new over_aligned[2]; },
           [](void* p) { delete[] static_cast<over_aligned*>(p); });
  one_each([] { return new (std::nothrow) over_aligned; },
           [](void* p) { delete static_cast<over_aligned*>(p); });
  one_each([] { return ::operator new (32, std::align_val_t{128}, std::nothrow); },
           [](void* p) { ::operator delete (p, std::align_val_t{128}, std::nothrow); });

  // realloc of a live block: one allocation (whatever it does underneath), no free.
  g_sink = std::malloc(8);
  rt_counts const grown = counted([] { g_sink = std::realloc(g_sink, 4096); });
  std::free(g_sink);
  EXPECT_EQ(grown.allocations, 1u) << grown;
  EXPECT_EQ(grown.frees, 0u) << grown;
  // free(nullptr) is no free.
  EXPECT_EQ(counted([] {
              void* volatile null = nullptr;  // free(0) would be folded away
              std::free(null);
            }).total(),
            0u);
}

TEST(RealTimeCheckerSelfTest, SeesMutexLocksOfEveryKind) {
  std::mutex m;
  rt_counts c = counted([&] {
    m.lock();
    m.unlock();
  });
  EXPECT_EQ(c.mutex_locks, 1u) << c;
  EXPECT_EQ(c.total(), 1u) << c;

  c = counted([&] {
    if (m.try_lock()) m.unlock();
  });
  EXPECT_EQ(c.mutex_locks, 1u) << c;

  // What the standard library makes of these differs, and the checker shows it:
  // libstdc++ maps timed_mutex and shared_mutex onto pthread's timed mutex and rwlock
  // (one call per lock); libc++ builds both from a mutex and a condition variable, whose
  // mutex it locks in unlock() too.
#if defined(_LIBCPP_VERSION)
  constexpr std::uint64_t kPerLockAndUnlock = 2;
#else
  constexpr std::uint64_t kPerLockAndUnlock = 1;
#endif
  std::timed_mutex tm;
  c = counted([&] {
    if (tm.try_lock_for(std::chrono::seconds(1))) tm.unlock();
  });
  EXPECT_EQ(c.mutex_locks, kPerLockAndUnlock) << c;

  std::shared_mutex sm;
  c = counted([&] {
    sm.lock_shared();
    sm.unlock_shared();
    sm.lock();
    sm.unlock();
  });
  EXPECT_EQ(c.mutex_locks, 2 * kPerLockAndUnlock) << c;

  pthread_spinlock_t spin;
  pthread_spin_init(&spin, PTHREAD_PROCESS_PRIVATE);
  c = counted([&] {
    pthread_spin_lock(&spin);
    pthread_spin_unlock(&spin);
  });
  pthread_spin_destroy(&spin);
  EXPECT_EQ(c.mutex_locks, 1u) << c;

  sem_t sem;
  sem_init(&sem, 0, 1);
  c = counted([&] {
    sem_wait(&sem);
    sem_post(&sem);
  });
  sem_destroy(&sem);
  EXPECT_EQ(c.mutex_locks, 1u) << c;
  EXPECT_EQ(c.total(), 1u) << c;
}

TEST(RealTimeCheckerSelfTest, SeesConditionVariableWaitWithTimeout) {
  std::mutex m;
  std::condition_variable cv;
  bool never = false;
  rt_counts const c = counted([&] {
    std::unique_lock lock(m);
    // Times out (nobody notifies): one wait however long it takes. The predicate-less
    // form waits exactly once.
    g_long_sink = cv.wait_for(lock, std::chrono::microseconds(100)) == std::cv_status::timeout;
    g_long_sink = never;
  });
  EXPECT_EQ(c.mutex_locks, 1u) << c;  // the unique_lock; the re-lock inside the wait is libc's
  EXPECT_EQ(c.cond_waits, 1u) << c;
  EXPECT_EQ(c.allocations, 0u) << c;
}

TEST(RealTimeCheckerSelfTest, SeesFutexWaitsAndWakes) {
  alignas(4) static std::uint32_t word = 0;
  rt_counts c = counted([] {
    // The word is 0, not 1: the kernel refuses at once (EAGAIN). It still asked to sleep.
    g_long_sink = ::syscall(SYS_futex, &word, FUTEX_WAIT_PRIVATE, 1, nullptr, nullptr, 0);
  });
  EXPECT_EQ(c.futex_waits, 1u) << c;
  EXPECT_EQ(c.total(), 1u) << c;

  c = counted([] {
    g_long_sink = ::syscall(SYS_futex, &word, FUTEX_WAIT_BITSET | FUTEX_PRIVATE_FLAG, 1, nullptr,
                            nullptr, FUTEX_BITSET_MATCH_ANY);
  });
  EXPECT_EQ(c.futex_waits, 1u) << c;

  c = counted([] {
    g_long_sink = ::syscall(SYS_futex, &word, FUTEX_WAKE_PRIVATE, 1, nullptr, nullptr, 0);
    g_long_sink = ::syscall(SYS_futex, &word, FUTEX_WAKE, 1, nullptr, nullptr, 0);
  });
  EXPECT_EQ(c.wakes, 2u) << c;
  EXPECT_EQ(c.total(), 2u) << c;

  // std::atomic::wait goes to the same futex when it sleeps; here it returns at once
  // (the value differs), so it need not call anything: only "no allocation" is asserted.
  std::atomic<int> a{0};
  c = counted([&] { a.wait(1); });
  EXPECT_EQ(c.allocations, 0u) << c;
}

// A thread cancelled asynchronously while it waits in a forwarded call is unwound
// through the checker's definition, which must let the forced unwind pass (a noexcept
// function with an exception table terminates the process instead). libjack stops its
// process thread this way, waiting in syscall(SYS_futex), on jack_client_close.
TEST(RealTimeCheckerSelfTest, AsynchronousCancellationUnwindsThroughTheForwardedCalls) {
  struct waiter {
    std::atomic<bool> ready{false};
    pthread_mutex_t* held = nullptr;  // when set, wait in pthread_mutex_lock on it
  };
  auto const body = [](void* arg) -> void* {
    auto& w = *static_cast<waiter*>(arg);
    ::pthread_setcanceltype(PTHREAD_CANCEL_ASYNCHRONOUS, nullptr);
    w.ready.store(true);
    alignas(4) static std::uint32_t word = 0;  // stays 0: FUTEX_WAIT sleeps
    if (w.held != nullptr) ::pthread_mutex_lock(w.held);
    for (;;) ::syscall(SYS_futex, &word, FUTEX_WAIT_PRIVATE, 0, nullptr, nullptr, 0);
  };
  pthread_mutex_t m = PTHREAD_MUTEX_INITIALIZER;
  ASSERT_EQ(::pthread_mutex_lock(&m), 0);
  for (pthread_mutex_t* held : {static_cast<pthread_mutex_t*>(nullptr), &m}) {
    waiter w;
    w.held = held;
    pthread_t t{};
    ASSERT_EQ(::pthread_create(&t, nullptr, body, &w), 0);
    while (!w.ready.load()) std::this_thread::yield();
    std::this_thread::sleep_for(std::chrono::milliseconds(20));  // in its wait by now
    ASSERT_EQ(::pthread_cancel(t), 0);
    void* result = nullptr;
    ASSERT_EQ(::pthread_join(t, &result), 0);
    EXPECT_EQ(result, PTHREAD_CANCELED) << (held != nullptr ? "mutex lock" : "futex wait");
  }
  ::pthread_mutex_unlock(&m);
}

TEST(RealTimeCheckerSelfTest, SeesYieldsSleepsAndOtherSystemCalls) {
  rt_counts c = counted([] {
    ::sched_yield();
    std::this_thread::yield();
  });
  EXPECT_EQ(c.yields, 2u) << c;
  EXPECT_EQ(c.blocking_waits(), 0u) << c;  // yielding is not blocking: separate kinds

  c = counted([] { g_long_sink = ::syscall(SYS_sched_yield); });
  EXPECT_EQ(c.yields, 1u) << c;

  c = counted([] {
    timespec const t{0, 1000};
    ::nanosleep(&t, nullptr);
    std::this_thread::sleep_for(std::chrono::microseconds(1));  // in the shared C++ runtime
  });
  EXPECT_EQ(c.sleeps, 2u) << c;
  EXPECT_EQ(c.blocking_waits(), 2u) << c;

  c = counted([] { g_long_sink = ::syscall(SYS_getpid); });
  EXPECT_EQ(c.other_syscalls, 1u) << c;
  EXPECT_EQ(c.total(), 1u) << c;
}

TEST(RealTimeCheckerSelfTest, ArithmeticCountsNothing) {
  rt_counts const c = counted([] {
    unsigned long x = 1;
    for (unsigned long i = 0; i < 1'000'000; ++i) x = x * 6364136223846793005UL + i;
    g_arithmetic_sink = x;
  });
  EXPECT_EQ(c.total(), 0u) << c;
}

TEST(RealTimeCheckerSelfTest, NestedWatchesCountIntoTheInnermost) {
  rt_checker outer, inner;
  {
    auto w1 = outer.watch_this_thread();
    g_sink = std::malloc(1);
    {
      auto w2 = inner.watch_this_thread();
      std::free(g_sink);
    }
    ::sched_yield();
  }
  EXPECT_EQ(outer.counts().allocations, 1u);
  EXPECT_EQ(outer.counts().yields, 1u);
  EXPECT_EQ(outer.counts().frees, 0u);
  EXPECT_EQ(inner.counts().frees, 1u);
  EXPECT_EQ(inner.counts().total(), 1u);
}

// The watched thread does only arithmetic while another thread, unwatched, does every
// kind of call: none of those may show up. The two meet through atomics only (no call
// the checker counts), and the busy thread repeats its round until the watched thread
// has seen at least one whole round during its watch — so the overlap is certain, not
// a matter of timing.
TEST(RealTimeCheckerSelfTest, SeesNothingOfOtherThreads) {
  rt_checker checker;
  std::atomic<int> watching{0};  // 1: the watch started; 2: the watch ended
  std::atomic<long> rounds{0};
  std::thread busy([&] {
    std::mutex m;
    std::condition_variable cv;
    alignas(4) static std::uint32_t word = 0;
    while (watching.load() != 2) {
      g_sink = std::malloc(32);
      std::free(g_sink);
      g_sink = new int(3);
      delete static_cast<int*>(g_sink);
      {
        std::unique_lock lock(m);
        cv.wait_for(lock, std::chrono::microseconds(1));
      }
      ::syscall(SYS_futex, &word, FUTEX_WAIT_PRIVATE, 1, nullptr, nullptr, 0);
      ::syscall(SYS_futex, &word, FUTEX_WAKE_PRIVATE, 1, nullptr, nullptr, 0);
      ::sched_yield();
      if (watching.load() == 1) rounds.fetch_add(1);
    }
  });
  {
    auto w = checker.watch_this_thread();
    watching.store(1);
    unsigned long x = 7;
    // Arithmetic until two rounds completed entirely inside the watch.
    while (rounds.load() < 2) x = x * 31 + 1;
    g_arithmetic_sink = x;
    watching.store(2);
  }
  busy.join();
  EXPECT_EQ(checker.counts().total(), 0u) << checker.counts();
}

}  // namespace
