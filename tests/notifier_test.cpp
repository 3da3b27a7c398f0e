// SPDX-License-Identifier: MIT
// ste::notifier, one test per sentence of SPEC.md "Real-time use" about it. Timing never
// decides a result: every wait is for a condition (a gate, a counter, a join).
#include <gtest/gtest.h>

#include <atomic>
#include <cstddef>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "ste/ste.hpp"
#include "test_support.hpp"

namespace {

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

// Records the thread a value was destroyed on.
struct destruction_probe {
  std::shared_ptr<std::atomic<int>> count = std::make_shared<std::atomic<int>>(0);
  std::shared_ptr<ste::tag> where = std::make_shared<ste::tag>();
  std::shared_ptr<std::atomic<bool>> on_ste_thread = std::make_shared<std::atomic<bool>>(false);
};

struct tracked_callable {
  destruction_probe probe;
  std::shared_ptr<std::atomic<int>> runs;
  bool armed = true;  // false once moved from
  tracked_callable(destruction_probe p, std::shared_ptr<std::atomic<int>> r)
      : probe(std::move(p)), runs(std::move(r)) {}
  tracked_callable(tracked_callable&& o) noexcept
      : probe(o.probe), runs(o.runs), armed(std::exchange(o.armed, false)) {}
  ~tracked_callable() {
    if (!armed) return;
    probe.count->fetch_add(1);
    bool on = false;
    try {
      *probe.where = ste::tag::current_thread();
      on = true;
    } catch (ste::wrong_thread const&) {
    }
    probe.on_ste_thread->store(on);
  }
  void operator()() const { runs->fetch_add(1); }
};

TEST(Notifier, RunsOnTheThread) {
  ste::thread t = ste::spawn();
  counter ran;
  std::atomic<bool> on_thread{false};
  ste::notifier n = t.make_notifier([&] {
    on_thread = t.tag().is_on_thread();
    ran.arrive();
  });
  EXPECT_TRUE(static_cast<bool>(n));
  EXPECT_TRUE(n.notify());
  ran.wait_for(1);
  EXPECT_TRUE(on_thread.load());
}

TEST(Notifier, EmptyHandleReturnsFalse) {
  ste::notifier n;
  EXPECT_FALSE(static_cast<bool>(n));
  EXPECT_FALSE(n.notify());
  n.reset();  // a no-op
  EXPECT_FALSE(n.notify());
}

TEST(Notifier, NotifiesBeforeTheStartAreCoalesced) {
  ste::thread t = ste::spawn();
  std::atomic<int> runs{0};
  ste::notifier n = t.make_notifier([&] { ++runs; });
  auto g = block(t);
  for (int i = 0; i < 100; ++i) EXPECT_TRUE(n.notify());
  g->open();
  t.submit([] {});  // FIFO: after the one pending run
  EXPECT_EQ(runs.load(), 1);
}

TEST(Notifier, NotifyDuringARunRunsItOnceMore) {
  ste::thread t = ste::spawn();
  gate running, release;
  std::atomic<int> runs{0};
  ste::notifier n = t.make_notifier([&] {
    if (++runs == 1) {
      running.open();
      release.wait();
    }
  });
  EXPECT_TRUE(n.notify());
  running.wait();
  EXPECT_TRUE(n.notify());
  EXPECT_TRUE(n.notify());
  EXPECT_TRUE(n.notify());
  release.open();
  t.submit([] {});  // after the second run, queued by the notifies above
  EXPECT_EQ(runs.load(), 2);
}

TEST(Notifier, APendingRunKeepsItsFifoPlace) {
  ste::thread t = ste::spawn();
  std::vector<std::string> order;  // written on the thread only
  ste::notifier n = t.make_notifier([&] { order.push_back("n"); });
  auto g = block(t);
  t.post([&] { order.push_back("a"); });
  EXPECT_TRUE(n.notify());  // pending from here: after a
  t.post([&] { order.push_back("b"); });
  EXPECT_TRUE(n.notify());  // coalesced: keeps the place it had
  t.post([&] { order.push_back("c"); });
  g->open();
  t.submit([] {});
  EXPECT_EQ(order, (std::vector<std::string>{"a", "n", "b", "c"}));
}

TEST(Notifier, NotifyAfterJoinReturnsFalseAndDoesNotRun) {
  ste::thread t = ste::spawn();
  std::atomic<int> runs{0};
  ste::notifier n = t.make_notifier([&] { ++runs; });
  t.join();
  EXPECT_FALSE(n.notify());
  EXPECT_EQ(runs.load(), 0);
}

TEST(Notifier, WhileJoinDrainsOnlyTheThreadItselfIsAccepted) {
  ste::thread t = ste::spawn();
  std::atomic<int> runs{0};
  ste::notifier n = t.make_notifier([&] { ++runs; });
  ste::notifier probe = t.make_notifier([] {});
  gate release;
  std::atomic<bool> own_result{false};
  t.post([&] {
    release.wait();
    own_result = n.notify();  // draining: the thread itself is still accepted
  });
  std::thread joiner([&] { t.join(); });
  while (probe.notify()) std::this_thread::yield();  // until join() began
  EXPECT_FALSE(n.notify());                          // another thread: refused
  release.open();
  joiner.join();
  EXPECT_TRUE(own_result.load());
  EXPECT_EQ(runs.load(), 1);  // the accepted one ran, during the drain
}

TEST(Notifier, JoinRunsAPendingRun) {
  ste::thread t = ste::spawn();
  std::atomic<int> runs{0};
  ste::notifier n = t.make_notifier([&] { ++runs; });
  auto g = block(t);
  EXPECT_TRUE(n.notify());
  std::thread opener([g] { g->open(); });
  t.join();
  opener.join();
  EXPECT_EQ(runs.load(), 1);
}

TEST(Notifier, NotifyFromTheCallableRunsItAgain) {
  ste::thread t = ste::spawn();
  counter runs;
  ste::notifier n;
  std::atomic<int> count{0};
  n = t.make_notifier([&] {
    runs.arrive();
    if (++count < 3) {
      EXPECT_TRUE(n.notify());
    }
  });
  EXPECT_TRUE(n.notify());
  runs.wait_for(3);
  t.submit([] {});
  EXPECT_EQ(count.load(), 3);
}

TEST(Notifier, AnExceptionGoesToOnErrorAndTheThreadGoesOn) {
  std::mutex m;
  std::vector<std::string> errors;
  ste::thread t = ste::builder()
                      .on_error([&](std::exception_ptr e) {
                        try {
                          std::rethrow_exception(e);
                        } catch (std::exception const& x) {
                          std::lock_guard lock(m);
                          errors.emplace_back(x.what());
                        }
                      })
                      .build();
  std::atomic<int> runs{0};
  ste::notifier n = t.make_notifier([&] {
    ++runs;
    throw std::runtime_error("meter overflow");
  });
  EXPECT_TRUE(n.notify());
  t.submit([] {});
  EXPECT_TRUE(n.notify());
  t.submit([] {});
  EXPECT_EQ(runs.load(), 2);
  std::lock_guard lock(m);
  EXPECT_EQ(errors, (std::vector<std::string>{"meter overflow", "meter overflow"}));
}

TEST(Notifier, ResetOnTheThreadWithdrawsAPendingRun) {
  ste::thread t = ste::spawn();
  destruction_probe probe;
  auto runs = std::make_shared<std::atomic<int>>(0);
  ste::notifier n = t.make_notifier(tracked_callable(probe, runs));
  gate release;
  t.post([&] {
    release.wait();
    EXPECT_TRUE(n.notify());  // pending
    n.reset();                // withdrawn; f destroyed here, on the thread
    EXPECT_EQ(probe.count->load(), 1);
  });
  release.open();
  t.submit([] {});
  EXPECT_EQ(runs->load(), 0);
  EXPECT_TRUE(probe.on_ste_thread->load());
  EXPECT_EQ(*probe.where, t.tag());
  EXPECT_FALSE(static_cast<bool>(n));
}

TEST(Notifier, ResetOffTheThreadWaitsForARunInProgress) {
  ste::thread t = ste::spawn();
  gate running, release;
  std::atomic<bool> finished{false};
  std::atomic<int> runs{0};
  ste::notifier n = t.make_notifier([&] {
    ++runs;
    running.open();
    release.wait();
    finished = true;
  });
  EXPECT_TRUE(n.notify());
  running.wait();
  EXPECT_TRUE(n.notify());  // pending behind the run in progress: withdrawn by reset
  std::thread opener([&] { release.open(); });
  n.reset();
  EXPECT_TRUE(finished.load());  // the run in progress was waited for
  opener.join();
  t.submit([] {});
  EXPECT_LE(runs.load(), 2);
  int const after_reset = runs.load();
  t.submit([] {});
  EXPECT_EQ(runs.load(), after_reset);  // nothing starts after reset returned
}

TEST(Notifier, ResetDestroysTheCallableOnTheThread) {
  ste::thread t = ste::spawn();
  destruction_probe probe;
  auto runs = std::make_shared<std::atomic<int>>(0);
  {
    ste::notifier n = t.make_notifier(tracked_callable(probe, runs));
    EXPECT_TRUE(n.notify());
  }  // ~notifier: reset
  EXPECT_EQ(probe.count->load(), 1);
  EXPECT_TRUE(probe.on_ste_thread->load());
  EXPECT_EQ(*probe.where, t.tag());
}

TEST(Notifier, JoinDestroysTheCallableFirstThenResetReturnsAtOnce) {
  ste::thread t = ste::spawn();
  destruction_probe probe;
  auto runs = std::make_shared<std::atomic<int>>(0);
  ste::notifier n = t.make_notifier(tracked_callable(probe, runs));
  ste::tag const where = t.tag();
  t.join();
  EXPECT_EQ(probe.count->load(), 1);  // destroyed by join(), on the thread
  EXPECT_TRUE(probe.on_ste_thread->load());
  EXPECT_EQ(*probe.where, where);
  EXPECT_FALSE(n.notify());
  n.reset();
  EXPECT_EQ(probe.count->load(), 1);
}

TEST(Notifier, ResetFromInsideTheCallable) {
  ste::thread t = ste::spawn();
  destruction_probe probe;
  auto runs = std::make_shared<std::atomic<int>>(0);
  ste::notifier n;
  struct self_resetting {
    tracked_callable inner;
    ste::notifier* handle;
    void operator()() const {
      inner();
      handle->reset();  // on the thread, during its own run: f outlives the run
    }
  };
  n = t.make_notifier(self_resetting{tracked_callable(probe, runs), &n});
  EXPECT_TRUE(n.notify());
  t.submit([] {});
  EXPECT_EQ(runs->load(), 1);
  EXPECT_EQ(probe.count->load(), 1);
  EXPECT_TRUE(probe.on_ste_thread->load());
  t.submit([&] { EXPECT_FALSE(n.notify()); });
}

TEST(Notifier, ResetRacingJoinDestroysTheCallableOnceOnTheThread) {
  for (int round = 0; round < static_cast<int>(ste_test::scaled(200)); ++round) {
    ste::thread t = ste::spawn();
    destruction_probe probe;
    auto runs = std::make_shared<std::atomic<int>>(0);
    ste::notifier n = t.make_notifier(tracked_callable(probe, runs));
    EXPECT_TRUE(n.notify());
    std::thread resetter([&] { n.reset(); });
    t.join();
    resetter.join();
    ASSERT_EQ(probe.count->load(), 1) << "round " << round;
    ASSERT_TRUE(probe.on_ste_thread->load()) << "round " << round;
  }
}

TEST(Notifier, MoveLeavesAnEmptyHandle) {
  ste::thread t = ste::spawn();
  counter ran;
  ste::notifier a = t.make_notifier([&] { ran.arrive(); });
  ste::notifier b = std::move(a);
  EXPECT_FALSE(static_cast<bool>(a));  // NOLINT(bugprone-use-after-move): the point
  EXPECT_FALSE(a.notify());            // NOLINT(bugprone-use-after-move)
  EXPECT_TRUE(b.notify());
  ran.wait_for(1);
  ste::notifier c;
  c = std::move(b);
  EXPECT_TRUE(c.notify());
  ran.wait_for(2);
}

TEST(Notifier, MakeNotifierAfterJoinThrowsStoppedError) {
  ste::thread t = ste::spawn();
  t.join();
  EXPECT_THROW((void)t.make_notifier([] {}), ste::stopped_error);
  ste::thread empty;
  EXPECT_THROW((void)empty.make_notifier([] {}), ste::stopped_error);
}

// Every notify that returned true is followed by a run that began after the call began
// (each producer's last accepted call is covered), and runs never overlap.
TEST(Notifier, ConcurrentNotifiesAreNeverLostAndRunsNeverOverlap) {
  constexpr int kProducers = 4;
  int const calls = static_cast<int>(ste_test::scaled(20000));
  ste::thread t = ste::spawn();
  std::atomic<long> begun[kProducers] = {};
  long covered[kProducers] = {};  // written by the runs (on the thread)
  std::atomic<bool> in_run{false};
  std::atomic<bool> overlapped{false};
  ste::notifier n = t.make_notifier([&] {
    if (in_run.exchange(true)) overlapped = true;
    for (int p = 0; p < kProducers; ++p) covered[p] = begun[p].load();
    in_run = false;
  });
  long owed[kProducers] = {};
  std::vector<std::thread> producers;
  for (int p = 0; p < kProducers; ++p)
    producers.emplace_back([&, p] {
      for (int i = 1; i <= calls; ++i) {
        begun[p].store(i);
        if (n.notify()) owed[p] = i;
      }
    });
  for (auto& th : producers) th.join();
  t.join();  // every accepted run ran
  EXPECT_FALSE(overlapped.load());
  for (int p = 0; p < kProducers; ++p) {
    EXPECT_EQ(owed[p], calls) << "producer " << p;  // all accepted: nobody joined
    EXPECT_GE(covered[p], owed[p]) << "producer " << p;
  }
}

// As above, with join() racing the producers: a call that returned true is covered; once
// join() began, calls from these threads return false.
TEST(Notifier, NotifiesRacingJoinAreExact) {
  constexpr int kProducers = 3;
  for (int round = 0; round < static_cast<int>(ste_test::scaled(100)); ++round) {
    ste::thread t = ste::spawn();
    std::atomic<long> begun[kProducers] = {};
    long covered[kProducers] = {};
    ste::notifier n = t.make_notifier([&] {
      for (int p = 0; p < kProducers; ++p) covered[p] = begun[p].load();
    });
    long owed[kProducers] = {};
    std::atomic<int> refused_then_accepted{0};
    std::vector<std::thread> producers;
    for (int p = 0; p < kProducers; ++p)
      producers.emplace_back([&, p] {
        bool refused = false;
        for (int i = 1; i <= 2000; ++i) {
          begun[p].store(i);
          bool const accepted = n.notify();
          if (accepted) owed[p] = i;
          if (accepted && refused) ++refused_then_accepted;
          refused = refused || !accepted;
        }
      });
    t.join();
    for (auto& th : producers) th.join();
    EXPECT_EQ(refused_then_accepted.load(), 0) << "round " << round;
    for (int p = 0; p < kProducers; ++p)
      ASSERT_GE(covered[p], owed[p]) << "round " << round << ", producer " << p;
  }
}

}  // namespace
