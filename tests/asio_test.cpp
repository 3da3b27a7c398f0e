// SPDX-License-Identifier: MIT
// ste/asio.hpp: a ste thread as a Boost.Asio standard executor. Built only where
// Boost.Asio is found (tests/CMakeLists.txt says so loudly otherwise). No test decides
// on timing: each waits for the event it checks (a gate), never for a duration.
#include "ste/asio.hpp"  // first: the header is self-contained

#include <gtest/gtest.h>

#include <utility>  // before Boost.Asio (Boost 1.74 with g++ 12 -std=c++20)

#include <boost/asio.hpp>

#include <atomic>
#include <chrono>
#include <memory>
#include <optional>
#include <stdexcept>
#include <thread>
#include <type_traits>
#include <vector>

#include "ste/ste.hpp"
#include "test_support.hpp"

namespace asio = boost::asio;
namespace execution = boost::asio::execution;

namespace {

using namespace std::chrono_literals;

// --- The type: what Asio's concepts say about it -------------------------------------

static_assert(execution::is_executor<ste::asio_executor_type>::value);
static_assert(std::is_nothrow_copy_constructible_v<ste::asio_executor_type>);
static_assert(std::is_convertible_v<ste::asio_executor_type, asio::any_io_executor>);
static_assert(asio::can_require<ste::asio_executor_type, execution::blocking_t::never_t>::value);
static_assert(asio::can_require<ste::asio_executor_type, execution::blocking_t::possibly_t>::value);
static_assert(asio::can_prefer<ste::asio_executor_type, execution::outstanding_work_t::tracked_t>::value);
static_assert(asio::can_prefer<ste::asio_executor_type, execution::relationship_t::continuation_t>::value);
static_assert(asio::can_query<ste::asio_executor_type, execution::context_t>::value);
static_assert(asio::can_query<ste::asio_executor_type, execution::allocator_t<void>>::value);
static_assert(execution::is_executor<decltype(asio::require(
                  std::declval<ste::asio_executor_type>(), execution::blocking.never))>::value);

// --- post, dispatch, defer ----------------------------------------------------------

TEST(Asio, PostRunsOnTheThread) {
  ste::thread worker = ste::spawn();
  auto ex = ste::asio_executor(worker);
  ste_test::gate ran;
  bool on_thread = false;
  asio::post(ex, [&] {
    on_thread = worker.tag().is_on_thread();
    ran.open();
  });
  ran.wait();
  EXPECT_TRUE(on_thread);
}

TEST(Asio, PostOnTheThreadIsQueuedNotInline) {
  ste::thread worker = ste::spawn();
  auto ex = ste::asio_executor(worker);
  std::vector<int> order;  // touched on the worker only
  worker.submit([&] {
    asio::post(ex, [&] { order.push_back(2); });
    order.push_back(1);  // the posted function has not run yet: it is queued
  });
  worker.submit([] {});  // FIFO: the posted function ran before this one
  EXPECT_EQ(order, (std::vector<int>{1, 2}));
}

TEST(Asio, PostIsFifoWithTheThreadsOwnTasks) {
  ste::thread worker = ste::spawn();
  auto ex = ste::asio_executor(worker);
  std::vector<int> order;
  worker.post([&] { order.push_back(1); });
  asio::post(ex, [&] { order.push_back(2); });
  worker.post([&] { order.push_back(3); });
  asio::defer(ex, [&] { order.push_back(4); });
  worker.submit([] {});
  EXPECT_EQ(order, (std::vector<int>{1, 2, 3, 4}));
}

TEST(Asio, DispatchRunsInlineOnTheThread) {
  ste::thread worker = ste::spawn();
  auto ex = ste::asio_executor(worker);
  bool ran_inline = false;
  worker.submit([&] {
    bool ran = false;
    asio::dispatch(ex, [&] { ran = true; });
    ran_inline = ran;  // dispatch returned after running it
  });
  EXPECT_TRUE(ran_inline);
}

TEST(Asio, DispatchOffTheThreadIsQueuedThere) {
  ste::thread worker = ste::spawn();
  auto ex = ste::asio_executor(worker);
  ste_test::gate ran;
  bool on_thread = false;
  asio::dispatch(ex, [&] {
    on_thread = worker.tag().is_on_thread();
    ran.open();
  });
  ran.wait();
  EXPECT_TRUE(on_thread);
}

TEST(Asio, DispatchInlineExceptionReachesTheCaller) {
  ste::thread worker = ste::spawn();
  auto ex = ste::asio_executor(worker);
  EXPECT_THROW(worker.submit([&] { asio::dispatch(ex, [] { throw std::out_of_range("x"); }); }),
               std::out_of_range);
}

TEST(Asio, DeferOnTheThreadIsQueuedNotInline) {
  ste::thread worker = ste::spawn();
  auto ex = ste::asio_executor(worker);
  std::vector<int> order;
  worker.submit([&] {
    asio::defer(ex, [&] {
      order.push_back(worker.tag().is_on_thread() ? 2 : -2);
    });
    order.push_back(1);
  });
  worker.submit([] {});
  EXPECT_EQ(order, (std::vector<int>{1, 2}));
}

TEST(Asio, PostedExceptionGoesToOnError) {
  ste_test::gate reported;
  std::exception_ptr seen;
  ste::thread worker = ste::builder()
                           .on_error([&](std::exception_ptr e) {
                             seen = e;
                             reported.open();
                           })
                           .build();
  asio::post(ste::asio_executor(worker), [] { throw std::out_of_range("from asio::post"); });
  reported.wait();
  EXPECT_THROW(std::rethrow_exception(seen), std::out_of_range);
}

// --- bind_executor: an io_context's completion handed to the ste thread -------------

TEST(Asio, BindExecutorHandsAnIoContextCompletionToTheThread) {
  ste::thread worker = ste::spawn();
  auto ex = ste::asio_executor(worker);
  asio::io_context io;
  ste_test::gate ran;
  bool on_thread = false;
  bool bound_post_on_thread = false;
  asio::steady_timer timer(io, std::chrono::steady_clock::now());  // already due
  timer.async_wait(asio::bind_executor(ex, [&](boost::system::error_code ec) {
    EXPECT_FALSE(ec);
    on_thread = worker.tag().is_on_thread();
    ran.open();
  }));
  asio::post(io, asio::bind_executor(ex, [&] { bound_post_on_thread = worker.tag().is_on_thread(); }));
  io.run();  // on this thread; returns once both operations were handed over
  ran.wait();
  worker.submit([] {});  // the bound post has run too (FIFO)
  EXPECT_TRUE(on_thread);
  EXPECT_TRUE(bound_post_on_thread);
}

// An I/O object made directly on the executor: its services live in ste::asio_context()
// (Asio runs their reactor on a thread of its own); the completion runs on the ste thread.
TEST(Asio, TimerMadeOnTheExecutorCompletesOnTheThread) {
  ste::thread worker = ste::spawn();
  ste_test::gate ran;
  bool on_thread = false;
  {
    asio::steady_timer timer(ste::asio_executor(worker), std::chrono::steady_clock::now());
    timer.async_wait([&](boost::system::error_code ec) {
      EXPECT_FALSE(ec);
      on_thread = worker.tag().is_on_thread();
      ran.open();
    });
    ran.wait();
    worker.submit([] {});  // the handler has returned: the timer may go
  }
  EXPECT_TRUE(on_thread);
}

// --- co_spawn: an Asio coroutine on the ste thread ----------------------------------

#if defined(BOOST_ASIO_HAS_CO_AWAIT)
asio::awaitable<void> hop_around(ste::tag home, asio::io_context& other,
                                 std::vector<bool>& on_home, ste_test::gate& done) {
  on_home.push_back(home.is_on_thread());
  auto ex = co_await asio::this_coro::executor;
  co_await asio::post(ex, asio::use_awaitable);  // through the ste thread's queue
  on_home.push_back(home.is_on_thread());
  {
    asio::steady_timer timer(other, std::chrono::steady_clock::now());  // another loop's
    co_await timer.async_wait(asio::use_awaitable);
  }
  on_home.push_back(home.is_on_thread());  // resumed on the ste thread, not on `other`
  co_await asio::post(other.get_executor(), asio::use_awaitable);  // there and back
  on_home.push_back(home.is_on_thread());
  co_await asio::dispatch(ex, asio::use_awaitable);
  on_home.push_back(home.is_on_thread());
  done.open();
}

TEST(Asio, CoSpawnDetachedResumesOnTheThreadEveryTime) {
  asio::io_context other;
  auto guard = asio::make_work_guard(other);
  std::thread other_runner([&] { other.run(); });
  std::vector<bool> on_home;  // the coroutine's; read after `done`
  ste_test::gate done;
  {
    ste::thread worker = ste::spawn();
    asio::co_spawn(ste::asio_executor(worker), hop_around(worker.tag(), other, on_home, done),
                   asio::detached);
    done.wait();
    worker.join();  // the coroutine's frame is gone before `other` stops
  }
  guard.reset();
  other_runner.join();
  EXPECT_EQ(on_home, (std::vector<bool>{true, true, true, true, true}));
}
#else
TEST(Asio, CoSpawnDetachedResumesOnTheThreadEveryTime) {
  GTEST_SKIP() << "SKIPPED: this Boost.Asio has no C++20 coroutine support with this compiler "
                  "and standard library (BOOST_ASIO_HAS_CO_AWAIT is not defined)";
}
#endif

// --- make_work_guard ----------------------------------------------------------------

TEST(Asio, MakeWorkGuardAcceptsTheExecutor) {
  ste::thread worker = ste::spawn();
  auto ex = ste::asio_executor(worker);
  auto guard = asio::make_work_guard(ex);
  EXPECT_TRUE(guard.owns_work());
  EXPECT_TRUE(guard.get_executor() == ex);
  ste_test::gate ran;
  asio::post(guard.get_executor(), [&] { ran.open(); });
  ran.wait();
  guard.reset();
  EXPECT_FALSE(guard.owns_work());
  // Tracked work does not keep a ste thread alive or delay join(): join() returns.
  auto kept = asio::make_work_guard(ex);
  worker.join();
  EXPECT_TRUE(kept.owns_work());
}

// --- equality -----------------------------------------------------------------------

TEST(Asio, EqualWhenTheyNameTheSameThread) {
  ste::thread a = ste::spawn();
  ste::thread b = ste::spawn();
  auto ea = ste::asio_executor(a);
  auto ea2 = ste::asio_executor(a);
  auto copy = ea;
  EXPECT_TRUE(ea == ea2);
  EXPECT_TRUE(ea == copy);
  EXPECT_FALSE(ea != ea2);
  EXPECT_TRUE(ea != ste::asio_executor(b));
  ste::thread moved = std::move(a);
  EXPECT_TRUE(ste::asio_executor(moved) == ea);  // names the thread, not the handle
  asio::any_io_executor any1 = ea, any2 = ea2, any3 = ste::asio_executor(b);
  EXPECT_TRUE(any1 == any2);
  EXPECT_FALSE(any1 == any3);
}

// --- properties ---------------------------------------------------------------------

template <class T>
struct counting_allocator {
  using value_type = T;
  std::atomic<int>* allocations;
  explicit counting_allocator(std::atomic<int>* n) noexcept : allocations(n) {}
  template <class U>
  counting_allocator(counting_allocator<U> const& other) noexcept  // NOLINT: rebinding
      : allocations(other.allocations) {}
  T* allocate(std::size_t n) {
    ++*allocations;
    return std::allocator<T>().allocate(n);
  }
  void deallocate(T* p, std::size_t n) noexcept { std::allocator<T>().deallocate(p, n); }
  template <class U>
  bool operator==(counting_allocator<U> const& other) const noexcept {
    return allocations == other.allocations;
  }
};

TEST(Asio, PropertiesCanBeQueriedRequiredAndPreferred) {
  ste::thread worker = ste::spawn();
  auto ex = ste::asio_executor(worker);
  EXPECT_EQ(asio::query(ex, execution::blocking), execution::blocking.possibly);
  EXPECT_EQ(asio::query(ex, execution::relationship), execution::relationship.fork);
  EXPECT_EQ(asio::query(ex, execution::outstanding_work), execution::outstanding_work.untracked);
  EXPECT_EQ(asio::query(ex, execution::mapping), execution::mapping.thread);
  EXPECT_EQ(&asio::query(ex, execution::context), &ste::asio_context());
  EXPECT_TRUE(asio::query(ex, execution::allocator) == std::allocator<void>());

  auto never = asio::require(ex, execution::blocking.never);
  EXPECT_EQ(asio::query(never, execution::blocking), execution::blocking.never);
  auto possibly = asio::prefer(never, execution::blocking.possibly);
  EXPECT_EQ(asio::query(possibly, execution::blocking), execution::blocking.possibly);
  static_assert(std::is_same_v<decltype(possibly), ste::asio_executor_type>);

  auto cont = asio::prefer(ex, execution::relationship.continuation);
  EXPECT_EQ(asio::query(cont, execution::relationship), execution::relationship.continuation);
  EXPECT_EQ(asio::query(asio::require(cont, execution::relationship.fork), execution::relationship),
            execution::relationship.fork);

  auto tracked = asio::require(ex, execution::outstanding_work.tracked);
  EXPECT_EQ(asio::query(tracked, execution::outstanding_work), execution::outstanding_work.tracked);
  EXPECT_EQ(asio::query(asio::prefer(tracked, execution::outstanding_work.untracked),
                        execution::outstanding_work),
            execution::outstanding_work.untracked);

  // Every variant still names the same thread and the same context.
  EXPECT_EQ(&asio::query(tracked, execution::context), &ste::asio_context());
  EXPECT_TRUE(asio::require(never, execution::blocking.possibly) == ex);
  EXPECT_TRUE(never.tag() == worker.tag());
}

TEST(Asio, BlockingNeverQueuesEvenOnTheThread) {
  ste::thread worker = ste::spawn();
  auto never = asio::require(ste::asio_executor(worker), execution::blocking.never);
  std::vector<int> order;
  worker.submit([&] {
    never.execute([&] { order.push_back(2); });
    order.push_back(1);
  });
  worker.submit([] {});
  EXPECT_EQ(order, (std::vector<int>{1, 2}));
}

TEST(Asio, QueuedFunctionsComeFromTheAllocatorProperty) {
  ste::thread worker = ste::spawn();
  std::atomic<int> allocations{0};
  auto ex = asio::require(ste::asio_executor(worker),
                          execution::allocator(counting_allocator<void>(&allocations)));
  EXPECT_TRUE(asio::query(ex, execution::allocator) == counting_allocator<void>(&allocations));
  ste_test::gate ran;
  ex.execute([&] { ran.open(); });  // off the thread: queued, one block from the allocator
  ran.wait();
  EXPECT_EQ(allocations.load(), 1);
  auto back = asio::require(ex, execution::allocator);
  static_assert(std::is_same_v<decltype(back), ste::asio_executor_type>);
  EXPECT_TRUE(back == ste::asio_executor(worker));
}

// --- after join: the work is destroyed unrun, and nothing throws ------------------

TEST(Asio, AfterJoinWorkIsDestroyedUnrunWithoutThrowing) {
  ste::thread worker = ste::spawn();
  auto ex = ste::asio_executor(worker);
  EXPECT_TRUE(ex.accepts_work());
  worker.join();
  EXPECT_FALSE(ex.accepts_work());
  auto witness = std::make_shared<int>(0);
  bool ran = false;
  EXPECT_NO_THROW(asio::post(ex, [&ran, w = witness] { ran = true; }));
  EXPECT_NO_THROW(asio::dispatch(ex, [&ran, w = witness] { ran = true; }));
  EXPECT_NO_THROW(asio::defer(ex, [&ran, w = witness] { ran = true; }));
  EXPECT_NO_THROW(ex.execute([&ran, w = witness] { ran = true; }));
  EXPECT_FALSE(ran);
  EXPECT_EQ(witness.use_count(), 1);  // every copy was destroyed, here, at the call
  // The thread's own post still says so.
  EXPECT_THROW(worker.post([] {}), ste::stopped_error);
}

TEST(Asio, ExecutorOutlivesTheHandle) {
  std::optional<ste::asio_executor_type> ex;
  {
    ste::thread worker = ste::spawn();
    ex = ste::asio_executor(worker);
  }  // joined here
  auto witness = std::make_shared<int>(0);
  EXPECT_NO_THROW(asio::post(*ex, [w = witness] {}));
  EXPECT_EQ(witness.use_count(), 1);
  EXPECT_FALSE(ex->accepts_work());
}

TEST(Asio, JoinDrainsWhatWasPosted) {
  ste::thread worker = ste::spawn();
  auto ex = ste::asio_executor(worker);
  int count = 0;
  worker.post([] { std::this_thread::yield(); });
  for (int i = 0; i < 100; ++i) asio::post(ex, [&count] { ++count; });
  worker.join();
  EXPECT_EQ(count, 100);
}

TEST(Asio, EmptyHandleThrowsStoppedError) {
  ste::thread empty;
  try {
    (void)ste::asio_executor(empty);
    FAIL() << "asio_executor accepted an empty handle";
  } catch (ste::stopped_error const& e) {
    EXPECT_NE(std::string(e.what()).find("asio_executor"), std::string::npos) << e.what();
  }
}

// --- The README's example ------------------------------------------------------------

TEST(Asio, ReadmeExample) {
  asio::io_context io;
  // README: begin asio example
  ste::thread worker = ste::spawn();
  auto ex = ste::asio_executor(worker);  // an Asio executor for the ste thread

  asio::steady_timer timer(io, std::chrono::steady_clock::now());
  timer.async_wait(asio::bind_executor(ex, [&](boost::system::error_code) {
    worker.tag().ensure_on_thread();  // the completion runs on the ste thread
  }));
  asio::post(ex, [] { /* queued on the ste thread */ });
  io.run();
  // README: end asio example
  worker.join();
}

}  // namespace
