// SPDX-License-Identifier: MIT
// Coroutines on ste threads: task<T>, schedule, block_on, submit_async, spawn, timers.
// No test decides on timing: sleeps are checked for order and for not blocking others,
// never for how long they took.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "ste/ste.hpp"
#include "test_support.hpp"

namespace {

using namespace std::chrono_literals;
using ste_test::eager;

ste::task<int> answer() {
  co_return 42;
}

ste::task<void> nothing() {
  co_return;
}
ste::task<int> add(int a, int b) {
  co_return co_await answer() - 42 + a + b;
}

struct marker {
  int value;
};
ste::task<int> fails(int v) {
  throw marker{v};
  co_return 0;
}

TEST(Task, LazyUntilAwaited) {
  bool started = false;
  auto make = [&]() -> ste::task<void> {
    started = true;
    co_return;
  };
  {
    auto t = make();
    EXPECT_FALSE(started);
  }  // destroyed unstarted
  EXPECT_FALSE(started);
  auto thread = ste::spawn();
  thread.block_on(make());
  EXPECT_TRUE(started);
}

TEST(Task, ValuesReferencesVoidAndMoveOnlyThroughChains) {
  auto thread = ste::spawn();
  EXPECT_EQ(thread.block_on(add(1, 2)), 3);
  thread.block_on(nothing());
  int x = 5;
  auto ref = [&]() -> ste::task<int&> { co_return x; };
  EXPECT_EQ(&thread.block_on(ref()), &x);
  auto move_only = []() -> ste::task<std::unique_ptr<int>> { co_return std::make_unique<int>(9); };
  EXPECT_EQ(*thread.block_on(move_only()), 9);
}

TEST(Task, ExceptionsTravelToTheAwaiter) {
  auto thread = ste::spawn();
  auto outer = []() -> ste::task<int> {
    try {
      co_await fails(3);
    } catch (marker const& m) {
      co_return m.value * 10;
    }
    co_return -1;
  };
  EXPECT_EQ(thread.block_on(outer()), 30);
  try {
    thread.block_on(fails(4));
    FAIL();
  } catch (marker const& m) {
    EXPECT_EQ(m.value, 4);
  }
}

// Symmetric transfer: a long chain of synchronously completing awaits must not grow
// the stack (with plain resume() this overflows a small stack quickly).
ste::task<long> chain(int depth) {
  if (depth == 0) co_return 0;
  co_return 1 + co_await chain(depth - 1);
}
ste::task<long> loop_awaits(int n) {
  long sum = 0;
  for (int i = 0; i < n; ++i) sum += co_await answer();
  co_return sum;
}

// Regression: with plain symmetric transfer, g++ at -O0 and under ASan/TSan overflowed
// a 256 KiB stack here (it does not emit the tail call).
TEST(Task, LongAwaitLoopsDoNotGrowTheStack) {
  auto thread = ste::builder().stack_size(256 * 1024).build();
  EXPECT_EQ(thread.block_on(loop_awaits(1'000'000)), 42'000'000L);
}

// Deterministic: after `co_await t`, the awaiter runs where t finished — also when t
// finishes on another thread while the awaiter is still returning from starting it.
TEST(Task, AwaiterContinuesWhereTheTaskFinished) {
  auto a = ste::spawn(), b = ste::spawn();
  auto to_b = [&]() -> ste::task<void> { co_await b.schedule(); };
  auto co = [&]() -> ste::task<int> {
    int on_b = 0;
    for (int i = 0; i < 500; ++i) {
      co_await a.schedule();
      co_await to_b();
      on_b += b.tag().is_on_thread() ? 1 : 0;
    }
    co_return on_b;
  };
  EXPECT_EQ(a.block_on(co()), 500);
}

TEST(Task, DeepChains) {
  auto thread = ste::spawn();
  EXPECT_EQ(thread.block_on(chain(1000)), 1000);
}

TEST(Task, AwaitingAnEmptyTaskThrows) {
  auto thread = ste::spawn();
  auto user = []() -> ste::task<int> {
    ste::task<int> empty;
    co_return co_await empty;
  };
  EXPECT_THROW(thread.block_on(user()), std::invalid_argument);
}

// One rule for an empty task, wherever it is handed over: std::invalid_argument, one
// message, nothing started.
std::string empty_task_message(std::function<void()> const& hand_over) {
  try {
    hand_over();
  } catch (std::invalid_argument const& e) {
    return e.what();
  }
  return "(no std::invalid_argument)";
}

TEST(Task, EmptyTaskBug_BlockOnSubmitAsyncSpawnAndCoAwaitThrowInvalidArgument) {
  auto thread = ste::spawn();
  ste::task<int> moved_from = answer();
  ste::task<int> taken = std::move(moved_from);
  std::vector<std::string> messages;
  messages.push_back(empty_task_message([&] { thread.block_on(ste::task<void>{}); }));
  messages.push_back(empty_task_message([&] { thread.block_on(std::move(moved_from)); }));
  messages.push_back(empty_task_message([&] { thread.block_on(moved_from); }));
  messages.push_back(empty_task_message([&] { thread.spawn(ste::task<void>{}); }));
  messages.push_back(empty_task_message([&] {
    thread.block_on([&]() -> ste::task<void> { co_await thread.submit_async(ste::task<void>{}); }());
  }));
  messages.push_back(empty_task_message([&] {
    thread.block_on([]() -> ste::task<void> { co_await ste::task<void>{}; }());
  }));
  for (std::string const& m : messages)
    EXPECT_NE(m.find("the ste::task is empty (default-constructed or moved-from)"),
              std::string::npos)
        << m;
  EXPECT_EQ(thread.block_on(std::move(taken)), 42);  // nothing broke
}

// ---------------------------------------------------------------------------------
// schedule

TEST(Schedule, ContinuesOnTheThread) {
  auto thread = ste::spawn();
  auto hop = [&]() -> ste::task<ste::tag> {
    co_await thread.schedule();
    co_return ste::tag::current_thread();
  };
  auto other = ste::spawn();
  EXPECT_EQ(other.block_on(hop()), thread.tag());
}

TEST(Schedule, AlwaysGoesThroughTheQueueEvenOnTheThread) {
  auto thread = ste::spawn();
  std::vector<int> order;
  auto co = [&]() -> ste::task<void> {
    order.push_back(1);
    thread.post([&] { order.push_back(2); });
    co_await thread.schedule();  // yields: the post runs first
    order.push_back(3);
  };
  thread.block_on(co());
  EXPECT_EQ(order, (std::vector<int>{1, 2, 3}));
}

TEST(Schedule, AfterJoinThrowsStoppedErrorInTheCoroutine) {
  auto target = ste::spawn();
  target.join();
  auto runner = ste::spawn();
  auto co = [&]() -> ste::task<bool> {
    try {
      co_await target.schedule();
    } catch (ste::stopped_error const&) {
      co_return true;
    }
    co_return false;
  };
  EXPECT_TRUE(runner.block_on(co()));
}

// ---------------------------------------------------------------------------------
// block_on

TEST(BlockOn, BorrowsTheCallersLocals) {
  auto thread = ste::spawn();
  std::vector<int> v{1, 2, 3};
  auto sum = [&]() -> ste::task<int> {
    int s = 0;
    for (int i : v) s += i;
    v.push_back(4);
    co_return s;
  };
  EXPECT_EQ(thread.block_on(sum()), 6);
  EXPECT_EQ(v.size(), 4u);
}

TEST(BlockOn, RunsOnTheThread) {
  auto thread = ste::spawn();
  auto where = []() -> ste::task<ste::tag> { co_return ste::tag::current_thread(); };
  EXPECT_EQ(thread.block_on(where()), thread.tag());
}

struct ready_awaitable {
  int v;
  bool await_ready() const noexcept { return true; }
  void await_suspend(std::coroutine_handle<>) const noexcept {}
  int await_resume() const noexcept { return v; }
};

TEST(BlockOn, AcceptsAnyAwaitable) {
  auto thread = ste::spawn();
  EXPECT_EQ(thread.block_on(ready_awaitable{8}), 8);
  auto t = answer();
  EXPECT_EQ(thread.block_on(t), 42);  // an lvalue task
}

TEST(BlockOn, OnTheThreadItselfRunsANestedLoop) {
  auto thread = ste::spawn();
  std::vector<int> order;
  int got = thread.submit([&] {
    thread.post([&] { order.push_back(1); });  // queued before the nested loop
    auto co = [&]() -> ste::task<int> {
      co_await thread.schedule();  // lets the post run inside the nested loop
      order.push_back(2);
      co_await ste::sleep_for(1ms);
      order.push_back(3);
      co_return 7;
    };
    return thread.block_on(co());
  });
  EXPECT_EQ(got, 7);
  EXPECT_EQ(order, (std::vector<int>{1, 2, 3}));
}

TEST(BlockOn, NestedLoopWaitsForACoroutineThatFinishesElsewhere) {
  auto a = ste::spawn();
  auto b = ste::spawn();
  auto co = [&]() -> ste::task<ste::tag> {
    co_await b.schedule();  // finishes on b
    co_return ste::tag::current_thread();
  };
  EXPECT_EQ(a.submit([&] { return a.block_on(co()); }), b.tag());
}

TEST(BlockOn, AfterJoinThrowsStoppedError) {
  auto thread = ste::spawn();
  thread.join();
  EXPECT_THROW(thread.block_on(answer()), ste::stopped_error);
}

TEST(BlockOn, DeadlockCycleThrows) {
  auto a = ste::spawn(), b = ste::spawn();
  bool caught = false;
  a.submit([&] {
    b.submit([&] {
      try {
        a.block_on(answer());
      } catch (ste::deadlock_error const&) {
        caught = true;
      }
    });
  });
  EXPECT_TRUE(caught);
}

// ---------------------------------------------------------------------------------
// submit_async

TEST(SubmitAsync, RunsOnTargetAndResumesOnTheOriginSteThread) {
  auto a = ste::spawn(), b = ste::spawn();
  auto co = [&]() -> ste::task<std::pair<ste::tag, ste::tag>> {
    auto where = []() -> ste::task<ste::tag> { co_return ste::tag::current_thread(); };
    ste::tag ran_on = co_await b.submit_async(where());
    co_return std::pair{ran_on, ste::tag::current_thread()};
  };
  auto [ran_on, resumed_on] = a.block_on(co());
  EXPECT_EQ(ran_on, b.tag());
  EXPECT_EQ(resumed_on, a.tag());
}

TEST(SubmitAsync, FromAPlainThreadResumesOnTheTarget) {
  auto b = ste::spawn();
  ste_test::gate done;
  ste::tag resumed_on;
  int value = 0;
  [](ste::thread const& target, ste::tag& where, int& v, ste_test::gate& g) -> eager {
    v = co_await target.submit_async(answer());  // started on this plain thread
    where = ste::tag::current_thread();
    g.open();
  }(b, resumed_on, value, done);
  done.wait();
  EXPECT_EQ(value, 42);
  EXPECT_EQ(resumed_on, b.tag());
}

TEST(SubmitAsync, ValuesAndExceptionsComeBack) {
  auto a = ste::spawn(), b = ste::spawn();
  auto co = [&]() -> ste::task<int> {
    int v = co_await b.submit_async(add(2, 3));
    try {
      co_await b.submit_async(fails(6));
    } catch (marker const& m) {
      v += m.value;
    }
    co_return v;
  };
  EXPECT_EQ(a.block_on(co()), 11);
}

TEST(SubmitAsync, ToTheSameThreadRunsInline) {
  auto a = ste::spawn();
  auto co = [&]() -> ste::task<ste::tag> {
    auto where = []() -> ste::task<ste::tag> { co_return ste::tag::current_thread(); };
    co_return co_await a.submit_async(where());
  };
  EXPECT_EQ(a.block_on(co()), a.tag());
}

TEST(SubmitAsync, ToAJoinedThreadThrowsStoppedErrorInTheCoroutine) {
  auto a = ste::spawn(), b = ste::spawn();
  b.join();
  auto co = [&]() -> ste::task<bool> {
    try {
      co_await b.submit_async(answer());
    } catch (ste::stopped_error const&) {
      co_return true;
    }
    co_return false;
  };
  EXPECT_TRUE(a.block_on(co()));
}

TEST(SubmitAsync, JoinOfTheOriginWaitsForTheReturn) {
  // A coroutine spawned on `a` is away on `b` when a.join() starts: join must wait for it
  // to come back and finish on `a`.
  auto a = ste::spawn(), b = ste::spawn();
  ste_test::gate on_b, release;
  std::atomic<bool> finished_on_a{false};
  auto away = [&]() -> ste::task<void> {
    on_b.open();
    release.wait();
    co_return;
  };
  auto co = [&]() -> ste::task<void> {
    co_await b.submit_async(away());
    finished_on_a = a.tag().is_on_thread();
  };
  a.spawn(co());
  on_b.wait();
  std::thread joiner([&] { a.join(); });
  release.open();
  joiner.join();
  EXPECT_TRUE(finished_on_a.load());
}

// ---------------------------------------------------------------------------------
// spawn

TEST(Spawn, RunsDetachedOnTheThread) {
  auto thread = ste::spawn();
  ste_test::gate done;
  ste::tag ran_on;
  // A coroutine lambda's captures live in the closure, not in the frame: the closure
  // must outlive a detached coroutine, so it is a named local here, not a temporary.
  auto co = [&]() -> ste::task<void> {
    ran_on = ste::tag::current_thread();
    done.open();
    co_return;
  };
  thread.spawn(co());
  done.wait();
  EXPECT_EQ(ran_on, thread.tag());
}

TEST(Spawn, EscapingExceptionGoesToOnErrorOfTheSpawningThread) {
  ste_test::gate reported;
  int seen = 0;
  auto a = ste::builder()
               .on_error([&](std::exception_ptr e) {
                 try {
                   std::rethrow_exception(e);
                 } catch (marker const& m) {
                   seen = m.value;
                 }
                 reported.open();
               })
               .build();
  auto b = ste::spawn();
  auto co = [&]() -> ste::task<void> {
    co_await b.schedule();  // moves to b, then fails there
    throw marker{13};
  };
  a.spawn(co());
  reported.wait();
  EXPECT_EQ(seen, 13);
}

TEST(Spawn, AfterJoinThrowsAndDestroysTheTaskUnstarted) {
  auto thread = ste::spawn();
  thread.join();
  bool started = false;
  auto token = std::make_shared<int>(1);
  std::weak_ptr<int> watch = token;
  auto co = [](bool& s, std::shared_ptr<int>) -> ste::task<void> {
    s = true;
    co_return;
  };
  EXPECT_THROW(thread.spawn(co(started, std::move(token))), ste::stopped_error);
  EXPECT_FALSE(started);
  EXPECT_TRUE(watch.expired());
}

TEST(Spawn, JoinStopBug_ACoroutineEndingOnJoinsStoppedErrorIsQuiet) {
  std::atomic<int> reported{0};
  ste_test::gate sleeping;
  auto thread = ste::builder().on_error([&](std::exception_ptr) { ++reported; }).build();
  auto other = ste::spawn();
  other.join();
  auto sleeper = [&]() -> ste::task<void> {
    sleeping.open();
    co_await ste::sleep_for(1h);  // join() ends it with stopped_error
  };
  auto mover = [&]() -> ste::task<void> {
    co_await other.schedule();  // other was joined: stopped_error
  };
  thread.spawn(sleeper());
  thread.spawn(mover());
  sleeping.wait();
  thread.join();
  EXPECT_EQ(reported.load(), 0);
}

TEST(Spawn, JoinStopBug_AStoppedErrorTheProgramThrowsStillReachesOnError) {
  std::atomic<int> reported{0};
  auto thread = ste::builder().on_error([&](std::exception_ptr) { ++reported; }).build();
  auto own = []() -> ste::task<void> {
    throw ste::stopped_error("the program's own");
    co_return;
  };
  auto rethrown_copy = []() -> ste::task<void> {
    try {
      co_await ste::sleep_for(1h);
    } catch (ste::stopped_error const& e) {
      throw ste::stopped_error(e.what());  // a new exception, not join's
    }
  };
  thread.spawn(own());
  thread.spawn(rethrown_copy());
  thread.submit([] {});  // `own` has run
  thread.join();
  EXPECT_EQ(reported.load(), 2);
}

// The README's coroutine example, verbatim (with the default on_error, which would
// terminate the process if join's stopped_error reached it).
struct engine {
  int rendered = 0;
  int voices = 3;
  void render() { ++rendered; }
};
ste::task<int> count_voices(engine& e) { co_return e.voices; }

// README: begin coroutine example
ste::task<void> render_loop(engine& e) {
  auto deadline = std::chrono::steady_clock::now();
  for (;;) {
    deadline += std::chrono::milliseconds(10);
    co_await ste::sleep_until(deadline);  // the thread sleeps in the kernel meanwhile
    e.render();                           // on the audio thread: no locks needed
  }                                       // join() ends the sleep with stopped_error
}
// README: end coroutine example

TEST(Spawn, JoinStopBug_TheReadmeRenderLoopEndsQuietlyAtJoin) {
  engine e;
  {
    // README: begin coroutine example
    ste::thread audio = ste::spawn();
    audio.spawn(render_loop(e));              // detached; exceptions go to on_error
    int n = audio.block_on(count_voices(e));  // blocks until the coroutine finished
    // README: end coroutine example
    EXPECT_EQ(n, 3);
  }  // the handle is dropped: join() ends the loop, quietly
}

TEST(Spawn, EmptyTaskIsRejected) {
  auto thread = ste::spawn();
  EXPECT_THROW(thread.spawn(ste::task<void>{}), std::invalid_argument);
}

// ---------------------------------------------------------------------------------
// timers

TEST(Sleep, OffEverySteThreadThrowsWrongThread) {
  bool threw_for = false, threw_until = false;
  [](bool& f, bool& u) -> eager {  // runs on this plain thread
    try {
      co_await ste::sleep_for(1ms);
    } catch (ste::wrong_thread const&) {
      f = true;
    }
    try {
      co_await ste::sleep_until(std::chrono::steady_clock::now());
    } catch (ste::wrong_thread const&) {
      u = true;
    }
  }(threw_for, threw_until);
  EXPECT_TRUE(threw_for);
  EXPECT_TRUE(threw_until);
}

TEST(Sleep, WakesInDeadlineOrder) {
  auto thread = ste::spawn();
  std::vector<int> order;
  auto sleeper = [&](int id, std::chrono::milliseconds d) -> ste::task<void> {
    co_await ste::sleep_for(d);
    order.push_back(id);
  };
  ste_test::counter done;
  auto sleeper_done = [&](int id, std::chrono::milliseconds d) -> ste::task<void> {
    co_await sleeper(id, d);
    done.arrive();
  };
  thread.spawn(sleeper_done(3, 30ms));
  thread.spawn(sleeper_done(1, 10ms));
  thread.spawn(sleeper_done(2, 20ms));
  done.wait_for(3);
  EXPECT_EQ(order, (std::vector<int>{1, 2, 3}));
}

TEST(Sleep, SleepUntilAnyClock) {
  auto thread = ste::spawn();
  auto co = []() -> ste::task<int> {
    co_await ste::sleep_until(std::chrono::steady_clock::now() + 1ms);
    co_await ste::sleep_until(std::chrono::system_clock::now() + 1ms);
    co_await ste::sleep_until(std::chrono::steady_clock::now() - 1h);  // past: yields once
    co_await ste::sleep_for(-5s);
    co_return 1;
  };
  EXPECT_EQ(thread.block_on(co()), 1);
}

TEST(Sleep, HundredsOfSleepersDoNotBlockSubmit) {
  auto thread = ste::spawn();
  std::atomic<int> woke{0};
  for (int i = 0; i < 300; ++i) {
    thread.spawn([](std::atomic<int>& w) -> ste::task<void> {
      try {
        co_await ste::sleep_for(1h);
        ++w;  // never reached: join ends the sleep with stopped_error
      } catch (ste::stopped_error const&) {
      }
    }(woke));
  }
  // Submits are served while 300 coroutines sleep on the thread's timers.
  for (int i = 0; i < 100; ++i) EXPECT_EQ(thread.submit([i] { return i; }), i);
  EXPECT_EQ(woke.load(), 0);
}

TEST(Sleep, JoinEndsPendingSleepsWithStoppedErrorOnTheThread) {
  std::atomic<int> stopped{0}, cleaned_on_thread{0};
  ste_test::counter sleeping;
  std::vector<std::string> events;
  ste::tag t;
  // Declared before the thread: the closure must outlive the coroutines (see above).
  auto co = [&]() -> ste::task<void> {
    sleeping.arrive();
    try {
      co_await ste::sleep_for(1h);
    } catch (ste::stopped_error const&) {
      ++stopped;
      if (t.is_on_thread()) ++cleaned_on_thread;
    }
    // Sleeping again during join is refused at once.
    try {
      co_await ste::sleep_for(1h);
    } catch (ste::stopped_error const&) {
      events.push_back("refused");
    }
  };
  {
    auto thread = ste::builder().postlude([&] { events.push_back("postlude"); }).build();
    t = thread.tag();
    for (int i = 0; i < 50; ++i) thread.spawn(co());
    sleeping.wait_for(50);
    thread.join();  // must not wait an hour
  }
  EXPECT_EQ(stopped.load(), 50);
  EXPECT_EQ(cleaned_on_thread.load(), 50);
  ASSERT_EQ(events.size(), 51u);
  EXPECT_EQ(events.back(), "postlude");
}

TEST(Sleep, JoinWaitsForEverySpawnedSleeper) {
  std::atomic<int> ended{0}, errors{0};
  struct count_end {
    std::atomic<int>& n;
    ~count_end() { ++n; }
  };
  {
    auto thread = ste::builder().on_error([&](std::exception_ptr) { ++errors; }).build();
    for (int i = 0; i < 20; ++i)
      thread.spawn([](std::atomic<int>& e) -> ste::task<void> {
        count_end guard{e};
        co_await ste::sleep_for(std::chrono::milliseconds(1));
      }(ended));
  }  // join: each sleeper woke normally, or ended quietly on join's stopped_error
  EXPECT_EQ(ended.load(), 20);
  EXPECT_EQ(errors.load(), 0);
}

}  // namespace
