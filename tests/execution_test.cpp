// SPDX-License-Identifier: MIT
// <ste/execution.hpp> against stdexec: ste::get_scheduler(thread) as a P2300 scheduler.
// Built only with -DSTE_STDEXEC_INCLUDE=<stdexec checkout>/include (DEVELOPERS.md).
#include <gtest/gtest.h>

#include <atomic>
#include <exception>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include <exec/when_any.hpp>
#include <stdexec/execution.hpp>

#include "counting_new.hpp"
#include "ste/execution.hpp"
#include "ste/ste.hpp"
#include "test_support.hpp"

namespace {

namespace ex = stdexec;

static_assert(ex::scheduler<ste::scheduler>);
static_assert(ex::sender<ste::scheduler::sender>);
static_assert(ex::sender_of<ste::scheduler::sender, ex::set_value_t()>);
static_assert(std::is_nothrow_copy_constructible_v<ste::scheduler>);

// How one operation ended, seen by the receiver below.
enum class ending { none, value, error, stopped };

struct probe {
  std::atomic<ending> how{ending::none};
  std::atomic<int> completions{0};
  std::exception_ptr error;
  std::thread::id where;
  ste_test::gate done;
};

// A receiver whose stop token is `token` (an inplace_stop_token; a never_stop_token when
// `Unstoppable`), and that records how and where it was completed.
template <bool Unstoppable = false>
struct probe_receiver {
  using receiver_concept = ex::receiver_t;

  struct env {
    ex::inplace_stop_token token;
    auto query(ex::get_stop_token_t) const noexcept {
      if constexpr (Unstoppable) {
        return ex::never_stop_token{};
      } else {
        return token;
      }
    }
  };

  probe* p;
  ex::inplace_stop_token token{};

  void finish(ending e) noexcept {
    p->where = std::this_thread::get_id();
    p->completions.fetch_add(1);
    p->how.store(e);
    p->done.open();
  }
  void set_value() noexcept { finish(ending::value); }
  void set_error(std::exception_ptr e) noexcept {
    p->error = std::move(e);
    finish(ending::error);
  }
  void set_stopped() noexcept { finish(ending::stopped); }
  env get_env() const noexcept { return {token}; }
};

// Keeps `worker` busy until the returned gate is opened (the gate must outlive the task).
void hold(ste::thread& worker, ste_test::gate& release, ste_test::gate& holding) {
  worker.post([&] {
    holding.open();
    release.wait();
  });
  holding.wait();
}

std::thread::id id_of(ste::thread& worker) {
  return worker.submit([] { return std::this_thread::get_id(); });
}

TEST(Execution, ReadmeExample) {
  // README: begin execution example
  ste::thread worker = ste::spawn();
  ste::scheduler sch = ste::get_scheduler(worker);  // a P2300 scheduler

  auto work = stdexec::starts_on(sch, stdexec::just(21) | stdexec::then([&](int x) {
                                        worker.tag().ensure_on_thread();  // on the ste thread
                                        return 2 * x;
                                      }));
  auto [answer] = stdexec::sync_wait(std::move(work)).value();  // 42
  // README: end execution example
  EXPECT_EQ(answer, 42);
}

TEST(Execution, ScheduleCompletesWithValueOnTheThread) {
  ste::thread worker = ste::spawn();
  ste::scheduler sch = ste::get_scheduler(worker);
  auto result = ex::sync_wait(ex::schedule(sch) | ex::then([&] {
                                return std::make_pair(sch.running_in_this_thread(),
                                                      std::this_thread::get_id());
                              }));
  ASSERT_TRUE(result.has_value());
  auto [pair] = *result;
  EXPECT_TRUE(pair.first);
  EXPECT_EQ(pair.second, id_of(worker));
}

TEST(Execution, StartsOnRunsTheWholeSenderOnTheThread) {
  ste::thread worker = ste::spawn();
  auto sch = ste::get_scheduler(worker);
  auto const worker_id = id_of(worker);
  auto work = ex::starts_on(sch, ex::just(21) | ex::then([&](int x) {
                                   EXPECT_EQ(std::this_thread::get_id(), worker_id);
                                   return 2 * x;
                                 }));
  auto [answer] = ex::sync_wait(std::move(work)).value();
  EXPECT_EQ(answer, 42);
}

TEST(Execution, ContinuesOnMovesTheRestOfThePipelineToTheThread) {
  ste::thread worker = ste::spawn();
  auto sch = ste::get_scheduler(worker);
  auto const worker_id = id_of(worker);
  auto const main_id = std::this_thread::get_id();
  auto work = ex::just(std::string("ste")) | ex::then([&](std::string s) {
                EXPECT_EQ(std::this_thread::get_id(), main_id);  // sync_wait's thread
                return s + "!";
              }) |
              ex::continues_on(sch) | ex::then([&](std::string s) {
                EXPECT_EQ(std::this_thread::get_id(), worker_id);
                return s.size();
              });
  auto [size] = ex::sync_wait(std::move(work)).value();
  EXPECT_EQ(size, 4u);
}

TEST(Execution, SchedulersCompareByThreadAndReportTheirCompletionScheduler) {
  ste::thread a = ste::spawn();
  ste::thread b = ste::spawn();
  EXPECT_EQ(ste::get_scheduler(a), ste::get_scheduler(a));
  EXPECT_NE(ste::get_scheduler(a), ste::get_scheduler(b));
  auto sender = ex::schedule(ste::get_scheduler(a));
  EXPECT_EQ(ex::get_completion_scheduler<ex::set_value_t>(ex::get_env(sender)),
            ste::get_scheduler(a));
  EXPECT_EQ(ex::get_forward_progress_guarantee(ste::get_scheduler(a)),
            ex::forward_progress_guarantee::parallel);
  EXPECT_EQ(ste::get_scheduler(a).tag(), a.tag());
}

TEST(Execution, ScheduleQueuesFifoWithTheThreadsOtherTasks) {
  ste::thread worker = ste::spawn();
  auto sch = ste::get_scheduler(worker);
  ste_test::gate release, holding;
  hold(worker, release, holding);
  std::vector<int> order;  // written only on the worker
  worker.post([&] { order.push_back(1); });
  probe p;
  auto op = ex::connect(ex::schedule(sch) | ex::then([&] { order.push_back(2); }),
                        probe_receiver<>{&p});
  ex::start(op);
  worker.post([&] { order.push_back(3); });
  release.open();
  p.done.wait();
  worker.join();
  EXPECT_EQ(order, (std::vector<int>{1, 2, 3}));
}

TEST(Execution, AStopBeforeStartCompletesWithStoppedInsideStart) {
  ste::thread worker = ste::spawn();
  ex::inplace_stop_source source;
  source.request_stop();
  probe p;
  auto op = ex::connect(ex::schedule(ste::get_scheduler(worker)),
                        probe_receiver<>{&p, source.get_token()});
  ex::start(op);
  EXPECT_EQ(p.how.load(), ending::stopped);  // already, on this thread
  EXPECT_EQ(p.where, std::this_thread::get_id());
  worker.join();
  EXPECT_EQ(p.completions.load(), 1);
}

TEST(Execution, AStopWhileQueuedWithdrawsItAtOnceOnTheRequestingThread) {
  ste::thread worker = ste::spawn();
  ste_test::gate release, holding;
  hold(worker, release, holding);
  std::uint64_t const accepted_before = worker.stats().accepted;
  ex::inplace_stop_source source;
  probe p;
  auto op = ex::connect(ex::schedule(ste::get_scheduler(worker)),
                        probe_receiver<>{&p, source.get_token()});
  ex::start(op);
  EXPECT_EQ(worker.stats().queued, 1u);
  EXPECT_EQ(p.how.load(), ending::none);
  source.request_stop();  // the worker is still held: only the withdrawal can end it
  EXPECT_EQ(p.how.load(), ending::stopped);
  EXPECT_EQ(p.where, std::this_thread::get_id());
  EXPECT_EQ(worker.stats().queued, 0u);
  EXPECT_EQ(worker.stats().accepted, accepted_before);  // withdrawn: not counted
  release.open();
  worker.join();
  EXPECT_EQ(p.completions.load(), 1);
}

TEST(Execution, AStopFromATaskOnTheThreadItselfWithdrawsTheQueuedSchedule) {
  ste::thread worker = ste::spawn();
  ste_test::gate release, holding;
  ex::inplace_stop_source source;
  probe p;
  // The held task requests the stop on the worker, with our schedule queued behind it.
  worker.post([&] {
    holding.open();
    release.wait();
    source.request_stop();
  });
  holding.wait();
  auto op = ex::connect(ex::schedule(ste::get_scheduler(worker)),
                        probe_receiver<>{&p, source.get_token()});
  ex::start(op);
  release.open();
  p.done.wait();
  EXPECT_EQ(p.how.load(), ending::stopped);
  EXPECT_EQ(p.where, id_of(worker));
  worker.join();
  EXPECT_EQ(p.completions.load(), 1);
}

TEST(Execution, WhenAnyCancelsAQueuedSchedule) {
  ste::thread worker = ste::spawn();
  ste_test::gate release, holding;
  hold(worker, release, holding);
  std::atomic<bool> ran{false};
  // just() wins; when_any requests stop on the schedule branch, queued behind the held
  // task: withdrawn, it never runs, and sync_wait returns while the worker is still held.
  auto winner = exec::when_any(ex::schedule(ste::get_scheduler(worker)) |
                                   ex::then([&] {
                                     ran = true;
                                     return 0;
                                   }),
                               ex::just(7));
  auto [value] = ex::sync_wait(std::move(winner)).value();
  EXPECT_EQ(value, 7);
  EXPECT_EQ(worker.stats().queued, 0u);
  release.open();
  worker.join();
  EXPECT_FALSE(ran.load());
}

TEST(Execution, AfterJoinScheduleCompletesWithStoppedError) {
  ste::thread worker = ste::builder().name("gone").build();
  auto sch = ste::get_scheduler(worker);
  worker.join();
  EXPECT_FALSE(sch.accepts_work());
  probe p;
  auto op = ex::connect(ex::schedule(sch), probe_receiver<>{&p});
  ex::start(op);
  ASSERT_EQ(p.how.load(), ending::error);  // at once, inside start()
  try {
    std::rethrow_exception(p.error);
  } catch (ste::stopped_error const& e) {
    EXPECT_NE(std::string(e.what()).find("gone"), std::string::npos) << e.what();
  }
  EXPECT_THROW(ex::sync_wait(ex::schedule(sch)), ste::stopped_error);
}

TEST(Execution, AnEmptyHandleHasNoScheduler) {
  ste::thread worker = ste::spawn();
  ste::thread moved = std::move(worker);
  EXPECT_THROW((void)ste::get_scheduler(worker), ste::stopped_error);  // NOLINT: moved-from
}

TEST(Execution, TheSchedulerKeepsTheThreadsStateNotTheThread) {
  std::optional<ste::scheduler> sch;
  {
    ste::thread worker = ste::spawn();
    sch = ste::get_scheduler(worker);
  }  // joined here
  EXPECT_THROW(ex::sync_wait(ex::schedule(*sch)), ste::stopped_error);
}

// The operation state is the queue node: connect, start, completion, withdrawal and
// refusal allocate nothing, on any thread.
TEST(Execution, ScheduleAllocatesNothing) {
  ste::thread worker = ste::spawn();
  auto sch = ste::get_scheduler(worker);
  (void)worker.stats();  // warm up whatever the first call makes
  EXPECT_EQ(ste_test::allocations_during([&] {
              probe p;
              auto op = ex::connect(ex::schedule(sch), probe_receiver<>{&p});
              ex::start(op);
              p.done.wait();
            }),
            0);
  EXPECT_EQ(ste_test::allocations_during([&] {
              probe p;
              auto op = ex::connect(ex::schedule(sch), probe_receiver<true>{&p});
              ex::start(op);
              p.done.wait();
            }),
            0);
  ste_test::gate release, holding;
  hold(worker, release, holding);
  EXPECT_EQ(ste_test::allocations_during([&] {
              ex::inplace_stop_source source;
              probe p;
              auto op = ex::connect(ex::schedule(sch), probe_receiver<>{&p, source.get_token()});
              ex::start(op);
              source.request_stop();
              EXPECT_EQ(p.how.load(), ending::stopped);
            }),
            0);
  release.open();
  EXPECT_EQ(ste_test::allocations_during([&] {
              auto [n] = ex::sync_wait(ex::schedule(sch) | ex::then([] { return 1; })).value();
              EXPECT_EQ(n, 1);
            }),
            0);
  worker.join();
}

// Stops racing the thread: whichever side wins, the receiver is completed exactly once,
// with value or stopped, and a stopped one never ran on the thread after the stop.
TEST(Execution, StopsRacingTheThreadCompleteEachOperationOnce) {
  ste::thread worker = ste::spawn();
  auto sch = ste::get_scheduler(worker);
  std::size_t const rounds = ste_test::scaled(2000);
  std::size_t values = 0, stops = 0;
  for (std::size_t i = 0; i < rounds; ++i) {
    ex::inplace_stop_source source;
    probe p;
    {
      auto op = ex::connect(ex::schedule(sch), probe_receiver<>{&p, source.get_token()});
      std::thread stopper([&] { source.request_stop(); });
      ex::start(op);
      stopper.join();
      p.done.wait();  // the op outlives its completion, as P2300 requires
    }
    ASSERT_EQ(p.completions.load(), 1) << "round " << i;
    ending const how = p.how.load();
    ASSERT_TRUE(how == ending::value || how == ending::stopped) << "round " << i;
    (how == ending::value ? values : stops) += 1;
  }
  worker.join();
  EXPECT_EQ(values + stops, rounds);
}

// An operation destroyed by its receiver inside the completion (the usual P2300 case):
// the thread and the stop callback never touch it again (ASan watches).
struct freeing_slot {
  void* op = nullptr;
  void (*destroy)(void*) = nullptr;
  ste_test::gate finished;
};

struct self_freeing {
  using receiver_concept = ex::receiver_t;
  struct env {
    ex::inplace_stop_token token;
    ex::inplace_stop_token query(ex::get_stop_token_t) const noexcept { return token; }
  };
  freeing_slot* slot;
  ex::inplace_stop_token token;
  void end() noexcept {
    freeing_slot* const s = slot;  // *this lives in the operation: read before it goes
    s->destroy(s->op);             // the operation goes away inside its own completion
    s->op = nullptr;
    s->finished.open();
  }
  void set_value() noexcept { end(); }
  void set_error(std::exception_ptr) noexcept { end(); }
  void set_stopped() noexcept { end(); }
  env get_env() const noexcept { return {token}; }
};

TEST(Execution, AnOperationFreedByItsOwnCompletionIsNotTouchedAgain) {
  using op_type = decltype(ex::connect(ex::schedule(std::declval<ste::scheduler>()),
                                       std::declval<self_freeing>()));
  ste::thread worker = ste::spawn();
  auto sch = ste::get_scheduler(worker);
  std::size_t const rounds = ste_test::scaled(500);
  for (std::size_t i = 0; i < rounds; ++i) {
    ex::inplace_stop_source source;
    freeing_slot slot;
    slot.destroy = [](void* op) { delete static_cast<op_type*>(op); };
    auto* op = new op_type(ex::connect(ex::schedule(sch), self_freeing{&slot, source.get_token()}));
    slot.op = op;
    std::thread stopper([&] { source.request_stop(); });
    ex::start(*op);  // *op may be gone once start() returns
    stopper.join();
    slot.finished.wait();
    EXPECT_EQ(slot.op, nullptr);
  }
  worker.join();
}

}  // namespace
