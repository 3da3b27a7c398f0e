// SPDX-License-Identifier: MIT
// Shutdown races: join against submitters and posters, looped (after stdexec's
// run_loop_finish_repro). Every call either completes (its task ran exactly once) or
// throws stopped_error (its task never ran); nothing hangs.
#include <gtest/gtest.h>

#include <atomic>
#include <thread>
#include <vector>

#include "ste/ste.hpp"
#include "test_support.hpp"

namespace {

struct tally {
  std::atomic<long> ran{0};       // tasks that ran on the ste thread
  std::atomic<long> returned{0};  // calls that returned normally (accepted)
  std::atomic<long> refused{0};   // calls that threw stopped_error
};

// One round: submitters and posters hammer a thread while the main thread joins it at
// an arbitrary point. Returns when everyone finished (a hang fails by CTest timeout).
void race_round(tally& t, int submitters, int posters) {
  auto thread = ste::spawn();
  std::atomic<int> started{0};
  std::vector<std::thread> workers;
  for (int i = 0; i < submitters + posters; ++i) {
    bool const posting = i >= submitters;
    workers.emplace_back([&, posting] {
      ++started;
      for (;;) {
        try {
          if (posting)
            thread.post([&] { ++t.ran; });
          else
            thread.submit([&] { ++t.ran; });
          ++t.returned;
        } catch (ste::stopped_error const&) {
          ++t.refused;
          return;
        }
      }
    });
  }
  while (started.load() < submitters + posters) std::this_thread::yield();
  thread.join();  // posts that returned before this must have run: join drains
  long const ran_at_join = t.ran.load();
  for (auto& w : workers) w.join();
  EXPECT_EQ(t.ran.load(), ran_at_join) << "a task ran after join() returned";
}

TEST(Shutdown, JoinRacingSubmittersLoopedNothingLostNothingHangs) {
  std::size_t const rounds = ste_test::scaled(200);
  tally t;
  for (std::size_t r = 0; r < rounds; ++r) race_round(t, 3, 0);
  EXPECT_EQ(t.ran.load(), t.returned.load());
  EXPECT_EQ(t.refused.load(), static_cast<long>(rounds) * 3);
}

TEST(Shutdown, JoinRacingPostersAndSubmittersLooped) {
  std::size_t const rounds = ste_test::scaled(200);
  tally t;
  for (std::size_t r = 0; r < rounds; ++r) race_round(t, 2, 2);
  EXPECT_EQ(t.ran.load(), t.returned.load());
}

// Submitters are inside submit (queued behind a task that waits on a gate, or arriving
// late) when join starts. Each either completes or gets stopped_error; none hangs.
TEST(Shutdown, JoinWhileSubmittersAreBlockedCompletesOrRefusesEach) {
  for (std::size_t round = 0; round < ste_test::scaled(50); ++round) {
    auto thread = ste::spawn();
    ste_test::gate release, busy;
    thread.post([&] {
      busy.open();
      release.wait();
    });
    busy.wait();
    std::atomic<int> ran{0}, completed{0}, refused{0};
    std::vector<std::thread> submitters;
    for (int i = 0; i < 4; ++i)
      submitters.emplace_back([&] {
        try {
          thread.submit([&] { ++ran; });
          ++completed;
        } catch (ste::stopped_error const&) {
          ++refused;
        }
      });
    std::thread joiner([&] { thread.join(); });
    release.open();
    joiner.join();
    for (auto& s : submitters) s.join();
    EXPECT_EQ(completed.load() + refused.load(), 4);
    EXPECT_EQ(ran.load(), completed.load());
  }
}

}  // namespace
