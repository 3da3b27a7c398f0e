// SPDX-License-Identifier: MIT
// A ste thread whose task, prelude or postlude ends the OS thread (pthread_exit, thread
// cancellation): nothing hangs. The thread does what join() would — runs what it had
// accepted, destroys its values, runs its postlude — and every later hand-off throws
// stopped_error saying the thread has exited (docs/design.md §16; verify/spin/ste.pml
// -DEXIT=1). glibc with libstdc++ only: elsewhere these ends do not unwind the stack
// (see include/ste/detail/forced_unwind.hpp), and the tests say so.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include "ste/detail/forced_unwind.hpp"
#include "ste/ste.hpp"
#include "test_support.hpp"

#if STE_HAS_FORCED_UNWIND
#include <pthread.h>
#endif

namespace {

using namespace std::chrono_literals;

#if STE_HAS_FORCED_UNWIND

[[noreturn]] void end_os_thread() { ::pthread_exit(nullptr); }

[[noreturn]] void cancel_os_thread() {
  ::pthread_cancel(::pthread_self());
  for (;;) ::pthread_testcancel();  // deferred cancellation acts here
}

bool mentions(std::exception const& e, char const* text) {
  return std::strstr(e.what(), text) != nullptr;
}

// Each later hand-off is refused, and says the thread has exited.
void expect_refused_as_exited(ste::thread const& t) {
  try {
    t.submit([] {});
    ADD_FAILURE() << "submit after the thread exited was accepted";
  } catch (ste::stopped_error const& e) {
    EXPECT_TRUE(mentions(e, "has exited")) << e.what();
  }
  EXPECT_THROW(t.post([] {}), ste::stopped_error);
  EXPECT_THROW((void)t.post_after(0ms, [] {}), ste::stopped_error);
}

struct counted_value {
  std::atomic<int>* destroyed;
  std::thread::id owner;
  ~counted_value() {
    if (std::this_thread::get_id() == owner) destroyed->fetch_add(1);
  }
};

void task_ends_thread(void (*end)()) {
  std::atomic<bool> postlude{false};
  ste::thread t = ste::builder().postlude([&] { postlude.store(true); }).build();
  std::atomic<int> destroyed{0};
  std::thread::id const worker = t.submit([] { return std::this_thread::get_id(); });
  ste::bound<counted_value> value = t.make_bound<counted_value>(&destroyed, worker);
  std::atomic<int> ran{0};
  ste_test::gate release;
  // Accepted ahead of the end: they all run.
  t.post([&] { release.wait(); });
  t.post([end] { end(); });
  for (int i = 0; i < 10; ++i) t.post([&] { ran.fetch_add(1); });
  release.open();
  // The thread has ended, or is ending: either this submit is accepted before the end's
  // phase change (and runs) or refused — never waits for ever.
  try {
    t.submit([&] { ran.fetch_add(100); });
  } catch (ste::stopped_error const& e) {
    EXPECT_TRUE(mentions(e, "has exited")) << e.what();
  }
  t.join();
  EXPECT_TRUE(ran.load() == 10 || ran.load() == 110) << ran.load();
  EXPECT_EQ(destroyed.load(), 1);  // on the thread, by its end
  EXPECT_TRUE(postlude.load());
  expect_refused_as_exited(t);
}

TEST(ThreadExit, APostedTaskCallingPthreadExitFinishesTheThreadLikeJoin) {
  task_ends_thread(&end_os_thread);
}

TEST(ThreadExit, ATaskCancellingItsThreadFinishesTheThreadLikeJoin) {
  task_ends_thread(&cancel_os_thread);
}

TEST(ThreadExit, ASubmitWhoseTaskEndsTheThreadThrowsStoppedError) {
  ste::thread t = ste::spawn();
  try {
    t.submit([] { end_os_thread(); });
    ADD_FAILURE() << "submit returned normally";
  } catch (ste::stopped_error const& e) {
    EXPECT_TRUE(mentions(e, "ended the OS thread")) << e.what();
  }
  expect_refused_as_exited(t);
  t.join();
}

TEST(ThreadExit, SubmittersWaitingWhenTheThreadEndsAllReturn) {
  ste::thread t = ste::spawn();
  ste_test::gate release;
  t.post([&] { release.wait(); });
  t.post([] { end_os_thread(); });
  std::atomic<int> done{0};
  std::atomic<int> refused{0};
  std::vector<std::thread> submitters;
  for (int i = 0; i < 4; ++i) {
    submitters.emplace_back([&] {
      for (int k = 0; k < 50; ++k) {
        try {
          t.submit([] {});
          done.fetch_add(1);
        } catch (ste::stopped_error const&) {
          refused.fetch_add(1);
        }
      }
    });
  }
  release.open();
  for (std::thread& s : submitters) s.join();
  EXPECT_EQ(done.load() + refused.load(), 200);
  t.join();
}

TEST(ThreadExit, APreludeCallingPthreadExitMakesBuildThrowStoppedError) {
  std::atomic<bool> postlude{false};
  try {
    (void)ste::builder()
        .prelude([] { end_os_thread(); })
        .postlude([&] { postlude.store(true); })
        .build();
    ADD_FAILURE() << "build() returned a thread";
  } catch (ste::stopped_error const& e) {
    EXPECT_TRUE(mentions(e, "prelude ended the OS thread")) << e.what();
  }
  EXPECT_FALSE(postlude.load());  // the postlude pairs with a prelude that finished
}

TEST(ThreadExit, APostludeCallingPthreadExitDoesNotHangJoin) {
  std::atomic<int> ran{0};
  ste::thread t = ste::builder().postlude([] { end_os_thread(); }).build();
  for (int i = 0; i < 10; ++i) t.post([&] { ran.fetch_add(1); });
  t.join();
  EXPECT_EQ(ran.load(), 10);
}

TEST(ThreadExit, ATimerEndingTheThreadEndsItsRunAndCancelReturns) {
  ste::thread t = ste::spawn();
  ste_test::gate started;
  ste::timer periodic = t.post_every(1ms, [&] {
    started.open();
    end_os_thread();
  });
  started.wait();
  t.join();
  EXPECT_FALSE(periodic.cancel());  // done: it will not run again
  expect_refused_as_exited(t);
}

TEST(ThreadExit, ANotifierEndingTheThreadMakesNotifyReturnFalse) {
  ste::thread t = ste::spawn();
  ste::notifier n = t.make_notifier([] { end_os_thread(); });
  EXPECT_TRUE(n.notify());
  t.join();
  EXPECT_FALSE(n.notify());
  n.reset();
}

TEST(ThreadExit, ATaskEndingTheThreadInsideANestedLoopFinishesOnce) {
  ste::thread t = ste::spawn();
  std::atomic<int> ran{0};
  auto inner = [&]() -> ste::task<int> {
    t.post([] { end_os_thread(); });  // runs inside the nested loop of block_on below
    t.post([&] { ran.fetch_add(1); });
    co_await t.schedule();
    co_return 1;
  };
  try {
    t.submit([&] { return t.block_on(inner()); });
  } catch (ste::stopped_error const& e) {
    EXPECT_TRUE(mentions(e, "ended the OS thread")) << e.what();
  }
  t.join();
  EXPECT_EQ(ran.load(), 1);
  expect_refused_as_exited(t);
}

#else

TEST(ThreadExit, NotOnThisPlatform) {
  GTEST_SKIP() << "pthread_exit and thread cancellation unwind the stack only on glibc with "
                  "libstdc++ (include/ste/detail/forced_unwind.hpp)";
}

#endif

}  // namespace
