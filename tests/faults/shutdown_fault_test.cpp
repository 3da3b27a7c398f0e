// SPDX-License-Identifier: MIT
// Fault matrix: join() and destruction of the handle while submitters of every kind are
// blocked in their calls. Expected: each call completes (its task ran exactly once) or
// throws stopped_error (its task never ran); values handed over die exactly once on the
// thread; nothing hangs.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "fault_support.hpp"
#include "ste/ste.hpp"
#include "test_support.hpp"

namespace {

using namespace std::chrono_literals;
using ste_fault::counted;

enum class outcome { none, completed, stopped, other };

// What one blocked caller does; returns whether its task ran (per its own evidence).
struct round_state {
  std::atomic<int> ran{0};        // tasks that ran on t
  std::atomic<int> destroyed{0};  // counted values destroyed
  std::atomic<int> misplaced{0};  // ... off their thread
  std::atomic<int> postludes{0};
  int ran_at_postlude = -1;
};

constexpr int kKinds = 10;
char const* const kKindNames[kKinds] = {
    "submit",       "submit_for(1h)", "destroy", "make_bound",        "block_on",
    "bound::reset", "post",           "spawn",   "schedule (helper)", "submit_async (helper)"};

// Performs blocking call `kind` on `t` and reports its outcome.
outcome call(int kind, ste::thread const& t, ste::thread const& helper, round_state& st,
             ste::bound<counted>* own, std::vector<ste::bound<counted>>& made,
             int& expected_destroyed) {
  try {
    switch (kind) {
      case 0:
        t.submit([&] { ++st.ran; });
        break;
      case 1:
        t.submit_for(1h, [&] { ++st.ran; });
        break;
      case 2: {
        counted v(&st.destroyed, t.tag(), &st.misplaced);
        ++expected_destroyed;
        try {
          t.destroy(std::move(v));
        } catch (ste::stopped_error const&) {
          v.home = ste::tag{};  // refused: not moved from, dies here
          throw;
        }
        break;
      }
      case 3:
        made.push_back(t.make_bound<counted>(&st.destroyed, t.tag(), &st.misplaced));
        ++expected_destroyed;  // by reset, ~bound or join
        break;
      case 4: {
        auto co = [](round_state* s) -> ste::task<int> {
          ++s->ran;
          co_return 1;
        };
        t.block_on(co(&st));
        break;
      }
      case 5:
        own->reset();  // blocks; or join() destroyed it already: either way exactly once
        break;
      case 6:
        t.post([&] { ++st.ran; });
        break;
      case 7:
        t.spawn([](round_state* s) -> ste::task<void> {
          ++s->ran;
          co_return;
        }(&st));
        break;
      case 8: {
        auto co = [](ste::thread const* to, round_state* s) -> ste::task<bool> {
          try {
            co_await to->schedule();
          } catch (ste::stopped_error const&) {
            co_return false;
          }
          ++s->ran;
          co_return true;
        };
        if (!helper.block_on(co(&t, &st))) return outcome::stopped;
        break;
      }
      default: {
        auto co = [](ste::thread const* to, round_state* s) -> ste::task<bool> {
          auto body = [](round_state* s2) -> ste::task<void> {
            ++s2->ran;
            co_return;
          };
          try {
            co_await to->submit_async(body(s));
          } catch (ste::stopped_error const&) {
            co_return false;
          }
          co_return true;
        };
        if (!helper.block_on(co(&t, &st))) return outcome::stopped;
        break;
      }
    }
    return outcome::completed;
  } catch (ste::stopped_error const&) {
    return outcome::stopped;
  } catch (...) {
    return outcome::other;
  }
}

// Tasks a completed call of `kind` put on t (bound::reset and make_bound run destroy /
// construct tasks, counted through `destroyed`, not `ran`).
int runs_of(int kind) {
  return (kind == 2 || kind == 3 || kind == 5) ? 0 : 1;
}

TEST(ShutdownFault, JoinWhileSubmittersOfEveryKindAreBlocked) {
  auto helper = ste::spawn();
  std::size_t const rounds = ste_test::scaled(100);
  int completed_total = 0, stopped_total = 0;
  for (std::size_t round = 0; round < rounds; ++round) {
    round_state st;
    int expected_destroyed = 0;
    auto t = ste::builder()
                 .postlude([&] {
                   ++st.postludes;
                   st.ran_at_postlude = st.ran.load();
                 })
                 .build();
    std::vector<ste::bound<counted>> own(2 * kKinds);  // one handle per caller
    for (auto& b : own) b = t.make_bound<counted>(&st.destroyed, t.tag(), &st.misplaced);
    expected_destroyed += 2 * kKinds;
    ste_test::gate busy, release;
    t.post([&] {
      busy.open();
      release.wait();
    });
    busy.wait();
    std::vector<outcome> outcomes(2 * kKinds, outcome::none);
    std::vector<std::vector<ste::bound<counted>>> made(2 * kKinds);
    std::vector<int> destroys(2 * kKinds, 0);
    std::atomic<int> entered{0};
    std::vector<std::thread> callers;
    auto start_caller = [&](int i) {
      callers.emplace_back([&, i] {
        ++entered;
        int const kind = i % kKinds;
        outcomes[static_cast<std::size_t>(i)] =
            call(kind, t, helper, st, &own[static_cast<std::size_t>(i)],
                 made[static_cast<std::size_t>(i)], destroys[static_cast<std::size_t>(i)]);
      });
    };
    // The first wave is (mostly) blocked behind the gate when join() starts; the second
    // wave races it.
    for (int i = 0; i < kKinds; ++i) start_caller(i);
    while (entered.load() < kKinds) std::this_thread::yield();
    std::thread joiner([&] { t.join(); });
    for (int i = kKinds; i < 2 * kKinds; ++i) start_caller(i);
    std::this_thread::sleep_for(std::chrono::microseconds(200 * (round % 5)));
    release.open();
    joiner.join();
    int const ran_at_join = st.ran.load();
    for (auto& c : callers) c.join();
    // Everything accepted ran before join() returned; nothing ran afterwards.
    int expected_ran = 0;  // (the gate task does not count)
    for (int i = 0; i < 2 * kKinds; ++i) {
      outcome const o = outcomes[static_cast<std::size_t>(i)];
      ASSERT_TRUE(o == outcome::completed || o == outcome::stopped)
          << kKindNames[i % kKinds] << ": neither completed nor stopped_error";
      if (o == outcome::completed) {
        expected_ran += runs_of(i % kKinds);
        ++completed_total;
      } else {
        ++stopped_total;
      }
      expected_destroyed += destroys[static_cast<std::size_t>(i)];
    }
    EXPECT_EQ(st.ran.load(), ran_at_join) << "a task ran after join() returned";
    EXPECT_EQ(st.ran.load(), expected_ran) << "round " << round;
    EXPECT_EQ(st.postludes.load(), 1);
    EXPECT_EQ(st.ran_at_postlude, ran_at_join);
    for (auto& v : made)
      for (auto& b : v) EXPECT_FALSE(b) << "join() left a bound value alive";
    made.clear();
    own.clear();
    // A refused make_bound made nothing; a refused destroy() kept its value, which died
    // at the caller: both are in expected_destroyed accordingly.
    EXPECT_EQ(st.destroyed.load(), expected_destroyed) << "round " << round;
    EXPECT_EQ(st.misplaced.load(), 0);
  }
  std::printf(
      "[ faults   ] join while blocked: %zu rounds, %d calls completed, %d got "
      "stopped_error\n",
      rounds, completed_total, stopped_total);
  std::fflush(stdout);
}

// The handle itself is destroyed (~thread joins) while callers are blocked inside
// submit, submit_for, destroy, make_bound, block_on and bound::reset. Each caller is
// first seen asleep in futex() on a word of its own stack (its task record), so it is
// inside the call and no longer reads the handle being destroyed. Late callers use only
// their own bound<T> handles, which stay valid.
TEST(ShutdownFault, HandleDestroyedWhileSubmittersAreBlocked) {
  std::size_t const rounds = ste_test::scaled(30);
  auto helper = ste::spawn();
  for (std::size_t round = 0; round < rounds; ++round) {
    round_state st;
    auto handle = std::make_unique<ste::thread>(ste::builder()
                                                    .postlude([&] {
                                                      ++st.postludes;
                                                      st.ran_at_postlude = st.ran.load();
                                                    })
                                                    .build());
    ste::thread const& t = *handle;
    constexpr int kBlocking = 6;  // kinds 0..5: the calls that block their caller
    std::vector<ste::bound<counted>> own(2 * kBlocking);
    for (auto& b : own) b = t.make_bound<counted>(&st.destroyed, t.tag(), &st.misplaced);
    ste_test::gate busy, release;
    t.post([&] {
      busy.open();
      release.wait();
    });
    busy.wait();
    struct caller_info {
      std::atomic<pid_t> tid{0};
      ste_fault::stack_range stack;
    };
    std::vector<caller_info> info(kBlocking);
    std::vector<outcome> outcomes(2 * kBlocking, outcome::none);
    std::vector<std::vector<ste::bound<counted>>> made(2 * kBlocking);
    std::vector<int> destroys(2 * kBlocking, 0);
    std::vector<std::thread> callers;
    for (int i = 0; i < kBlocking; ++i)
      callers.emplace_back([&, i] {
        auto& me = info[static_cast<std::size_t>(i)];
        me.stack = ste_fault::current_stack();
        me.tid = ste_fault::current_tid();
        outcomes[static_cast<std::size_t>(i)] =
            call(i, t, helper, st, &own[static_cast<std::size_t>(i)],
                 made[static_cast<std::size_t>(i)], destroys[static_cast<std::size_t>(i)]);
      });
    auto const give_up = std::chrono::steady_clock::now() + 20s;
    bool all_inside = true;
    for (auto& me : info) {
      while (all_inside && (me.tid.load() == 0 ||
                            !ste_fault::blocked_in_futex_on_own_stack(me.tid.load(), me.stack))) {
        if (std::chrono::steady_clock::now() > give_up) all_inside = false;
        std::this_thread::sleep_for(100us);
      }
    }
    if (!all_inside) {  // clean up without destroying the handle under anyone's feet
      release.open();
      for (auto& c : callers) c.join();
      FAIL() << "a caller was never seen asleep inside its ste call (futex on its own stack)";
    }
    std::atomic<bool> destroying{false};
    std::thread destroyer([&] {
      destroying = true;
      handle.reset();  // ~thread: joins, waiting for the gate
    });
    while (!destroying.load()) std::this_thread::yield();
    // Late callers: bound::reset through their own handles, racing the destruction.
    for (int i = kBlocking; i < 2 * kBlocking; ++i)
      callers.emplace_back([&, i] {
        outcomes[static_cast<std::size_t>(i)] =
            call(5, t, helper, st, &own[static_cast<std::size_t>(i)],
                 made[static_cast<std::size_t>(i)], destroys[static_cast<std::size_t>(i)]);
      });
    std::this_thread::sleep_for(std::chrono::microseconds(100 * (round % 4)));
    release.open();
    destroyer.join();
    for (auto& c : callers) c.join();
    int expected_ran = 0;
    int expected_destroyed = 2 * kBlocking;  // every `own` value
    for (int i = 0; i < 2 * kBlocking; ++i) {
      outcome const o = outcomes[static_cast<std::size_t>(i)];
      int const kind = i < kBlocking ? i : 5;
      // The blocked callers were accepted before the destruction began: they complete.
      EXPECT_EQ(o, outcome::completed) << kKindNames[kind] << " (caller " << i << ")";
      if (o == outcome::completed) expected_ran += runs_of(kind);
      expected_destroyed += destroys[static_cast<std::size_t>(i)];
    }
    EXPECT_EQ(st.ran.load(), expected_ran);
    EXPECT_EQ(st.postludes.load(), 1);
    EXPECT_EQ(st.ran_at_postlude, st.ran.load());
    for (auto& v : made)
      for (auto& b : v) EXPECT_FALSE(b);
    made.clear();
    own.clear();
    EXPECT_EQ(st.destroyed.load(), expected_destroyed);
    EXPECT_EQ(st.misplaced.load(), 0);
  }
}

}  // namespace
