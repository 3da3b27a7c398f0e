// SPDX-License-Identifier: MIT
// ste::bound<T>: constructed, used and destroyed on its thread; join() destroys what is
// left; misuse throws; reset racing join destroys exactly once.
#include <gtest/gtest.h>

#include <atomic>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "ste/ste.hpp"
#include "test_support.hpp"

namespace {

// A stand-in for a thread-affine handle: remembers where it was made and destroyed.
struct affine {
  explicit affine(int v, std::shared_ptr<std::vector<std::string>> events = nullptr)
      : value(v), made_on(ste::tag::current_thread()), log(std::move(events)) {
    if (log) log->push_back("made");
  }
  affine(affine const&) = delete;
  ~affine() {
    destroyed_on_owner = made_on.is_on_thread();
    if (log) log->push_back(destroyed_on_owner ? "destroyed on owner" : "destroyed ELSEWHERE");
  }
  int value;
  ste::tag made_on;
  std::shared_ptr<std::vector<std::string>> log;
  bool destroyed_on_owner = false;
};

TEST(Bound, ConstructedOnTheThread) {
  auto thread = ste::spawn();
  ste::bound<affine> b = thread.make_bound<affine>(3);
  EXPECT_TRUE(static_cast<bool>(b));
  EXPECT_EQ(b.tag(), thread.tag());
  EXPECT_EQ(thread.submit([&] { return b->made_on; }), thread.tag());
  EXPECT_EQ(thread.submit([&] { return b.get().value; }), 3);
  EXPECT_EQ(thread.submit([&] { return (*b).value; }), 3);
}

TEST(Bound, AccessOffTheThreadThrowsWrongThread) {
  auto thread = ste::spawn();
  auto other = ste::spawn();
  auto b = thread.make_bound<affine>(1);
  EXPECT_THROW(b.get(), ste::wrong_thread);
  EXPECT_THROW(*b, ste::wrong_thread);
  EXPECT_THROW((void)b->value, ste::wrong_thread);
  EXPECT_THROW(other.submit([&] { return b->value; }), ste::wrong_thread);
}

TEST(Bound, ResetDestroysOnTheThreadFromAnywhere) {
  auto thread = ste::spawn();
  auto log = std::make_shared<std::vector<std::string>>();
  auto b = thread.make_bound<affine>(1, log);
  b.reset();
  EXPECT_FALSE(static_cast<bool>(b));
  EXPECT_EQ(*log, (std::vector<std::string>{"made", "destroyed on owner"}));
  b.reset();  // no-op
}

TEST(Bound, ResetOnTheThreadIsInline) {
  auto thread = ste::spawn();
  auto log = std::make_shared<std::vector<std::string>>();
  auto b = thread.make_bound<affine>(1, log);
  thread.submit([&] { b.reset(); });
  EXPECT_EQ(*log, (std::vector<std::string>{"made", "destroyed on owner"}));
}

TEST(Bound, DestructorDestroysOnTheThread) {
  auto thread = ste::spawn();
  auto log = std::make_shared<std::vector<std::string>>();
  { auto b = thread.make_bound<affine>(1, log); }
  EXPECT_EQ(*log, (std::vector<std::string>{"made", "destroyed on owner"}));
}

TEST(Bound, JoinDestroysValuesBeforeThePostludeAndEmptiesHandles) {
  auto log = std::make_shared<std::vector<std::string>>();
  auto thread = ste::builder().postlude([log] { log->push_back("postlude"); }).build();
  auto a = thread.make_bound<affine>(1, log);
  auto b = thread.make_bound<affine>(2, log);
  thread.join();
  EXPECT_EQ(*log, (std::vector<std::string>{"made", "made", "destroyed on owner",
                                            "destroyed on owner", "postlude"}));
  EXPECT_FALSE(static_cast<bool>(a));
  EXPECT_FALSE(static_cast<bool>(b));
  EXPECT_THROW(a.get(), ste::wrong_thread);
  a.reset();  // nothing left to do
}  // b's destructor after join: nothing to destroy, no hang

TEST(Bound, MovesBetweenThreadsAndMovedFromIsEmpty) {
  auto thread = ste::spawn();
  auto b = thread.make_bound<affine>(9);
  ste::bound<affine> moved;
  std::thread([&] { moved = std::move(b); }).join();
  EXPECT_FALSE(static_cast<bool>(b));  // NOLINT(bugprone-use-after-move)
  EXPECT_THROW(thread.submit([&] { return b->value; }), ste::wrong_thread);
  EXPECT_EQ(thread.submit([&] { return moved->value; }), 9);
}

TEST(Bound, EmptyHandleThrowsAClearError) {
  ste::bound<int> empty;
  EXPECT_FALSE(static_cast<bool>(empty));
  EXPECT_EQ(empty.tag(), ste::tag{});
  try {
    empty.get();
    FAIL();
  } catch (ste::wrong_thread const& e) {
    EXPECT_NE(std::string(e.what()).find("empty"), std::string::npos) << e.what();
  }
}

TEST(Bound, ConstructorExceptionReachesTheCaller) {
  struct fails {
    fails() { throw std::runtime_error("device busy"); }
  };
  auto thread = ste::spawn();
  EXPECT_THROW(thread.make_bound<fails>(), std::runtime_error);
  thread.join();
}

TEST(Bound, MakeBoundAfterJoinThrowsStoppedError) {
  auto thread = ste::spawn();
  thread.join();
  EXPECT_THROW(thread.make_bound<int>(1), ste::stopped_error);
}

std::atomic<int> postlude_values_made{0};
std::atomic<int> postlude_values_destroyed{0};
struct postlude_value {
  postlude_value() { ++postlude_values_made; }
  postlude_value(postlude_value const&) = delete;
  ~postlude_value() { ++postlude_values_destroyed; }
};

TEST(Bound, PostludeLeakBug_MakeBoundRefusedInThePostludeNeverConstructsTheValue) {
  std::optional<ste::thread> thread;
  std::atomic<bool> refused{false};
  thread.emplace(ste::builder()
                     .postlude([&] {
                       try {
                         auto b = thread->make_bound<postlude_value>();
                       } catch (ste::stopped_error const&) {
                         refused = true;
                       }
                     })
                     .build());
  thread->join();
  EXPECT_TRUE(refused.load());
  EXPECT_EQ(postlude_values_made.load(), 0);
  EXPECT_EQ(postlude_values_destroyed.load(), 0);
}

TEST(Bound, MoveAssignmentDestroysTheOldValueOnItsThread) {
  auto thread = ste::spawn();
  auto log = std::make_shared<std::vector<std::string>>();
  auto a = thread.make_bound<affine>(1, log);
  a = thread.make_bound<affine>(2, log);
  EXPECT_EQ(*log, (std::vector<std::string>{"made", "made", "destroyed on owner"}));
  EXPECT_EQ(thread.submit([&] { return a->value; }), 2);
}

// reset() racing join(): the value is destroyed exactly once, on its thread.
TEST(Bound, ResetRacingJoinDestroysExactlyOnce) {
  for (std::size_t round = 0; round < ste_test::scaled(300); ++round) {
    std::atomic<int> destroyed{0}, on_owner{0};
    struct counted {
      std::atomic<int>* destroyed;
      std::atomic<int>* on_owner;
      ste::tag owner = ste::tag::current_thread();
      ~counted() {
        ++*destroyed;
        if (owner.is_on_thread()) ++*on_owner;
      }
    };
    auto thread = ste::spawn();
    auto b = thread.make_bound<counted>(&destroyed, &on_owner);
    std::thread resetter([&] { b.reset(); });
    thread.join();
    resetter.join();
    EXPECT_EQ(destroyed.load(), 1);
    EXPECT_EQ(on_owner.load(), 1);
  }
}

}  // namespace
