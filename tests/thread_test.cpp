// SPDX-License-Identifier: MIT
// ste::builder and ste::thread: naming, prelude/postlude, stack size, on_error, join,
// the destructor and move assignment, and their misuse.
#include <gtest/gtest.h>

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <system_error>
#include <thread>
#include <utility>
#include <vector>

#if defined(__linux__)
#include <pthread.h>
#endif

#include "ste/ste.hpp"
#include "test_support.hpp"

namespace {

#if defined(__linux__)
std::string os_name_of_current_thread() {
  char buf[64] = {};
  pthread_getname_np(pthread_self(), buf, sizeof buf);
  return buf;
}

TEST(Builder, DefaultNameIsSteThread) {
  auto thread = ste::spawn();
  EXPECT_EQ(thread.submit(os_name_of_current_thread), "ste-thread");
}

TEST(Builder, NameIsSetAndTruncatedToTheOsLimit) {
  auto thread = ste::builder().name("audio").build();
  EXPECT_EQ(thread.submit(os_name_of_current_thread), "audio");
  auto long_named = ste::builder().name("a-very-long-thread-name-indeed").build();
  EXPECT_EQ(long_named.submit(os_name_of_current_thread), "a-very-long-thr");
  // Never split a UTF-8 sequence: "é" is two bytes straddling the 15-byte limit.
  auto utf8 = ste::builder().name("abcdefghijklmn\xC3\xA9xyz").build();
  EXPECT_EQ(utf8.submit(os_name_of_current_thread), "abcdefghijklmn");
}
#endif

TEST(Builder, PreludeRunsOnTheThreadBeforeAnyTask) {
  std::vector<std::string> events;
  ste::tag prelude_tag;
  auto thread = ste::builder()
                    .prelude([&] {
                      prelude_tag = ste::tag::current_thread();
                      events.push_back("prelude");
                    })
                    .build();
  // build() returned after the prelude finished: reading its effects here is safe.
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(prelude_tag, thread.tag());
  thread.submit([&] { events.push_back("task"); });
  EXPECT_EQ(events, (std::vector<std::string>{"prelude", "task"}));
}

struct prelude_failure {
  int code;
};

TEST(Builder, PreludeExceptionIsRethrownByBuild) {
  void const* thrown_at = nullptr;
  bool postlude_ran = false;
  try {
    ste::builder()
        .prelude([&] {
          try {
            throw prelude_failure{7};
          } catch (prelude_failure& e) {
            thrown_at = &e;
            throw;
          }
        })
        .postlude([&] { postlude_ran = true; })
        .build();
    FAIL() << "build() did not throw";
  } catch (prelude_failure& e) {
    EXPECT_EQ(e.code, 7);
    EXPECT_EQ(static_cast<void const*>(&e), thrown_at);  // the same object
  }
  // The thread was joined before build() rethrew: writes from it are visible now.
  EXPECT_FALSE(postlude_ran);
}

TEST(Builder, PostludeRunsOnTheThreadAfterTheLastTask) {
  std::vector<std::string> events;
  ste::tag postlude_tag;
  auto thread = ste::builder()
                    .postlude([&] {
                      postlude_tag = ste::tag::current_thread();
                      events.push_back("postlude");
                    })
                    .build();
  ste::tag const t = thread.tag();
  thread.post([&] { events.push_back("posted"); });
  thread.join();
  EXPECT_EQ(events, (std::vector<std::string>{"posted", "postlude"}));
  EXPECT_EQ(postlude_tag, t);
}

TEST(Builder, PostludeCannotPostAnyMore) {
  bool threw = false;
  ste::thread const* self = nullptr;
  auto thread = ste::builder()
                    .postlude([&] {
                      try {
                        self->post([] {});
                      } catch (ste::stopped_error const&) {
                        threw = true;
                      }
                    })
                    .build();
  self = &thread;
  thread.join();
  EXPECT_TRUE(threw);
}

TEST(Builder, PostludeExceptionGoesToOnError) {
  std::string seen;
  auto thread = ste::builder()
                    .postlude([] { throw std::runtime_error("close failed"); })
                    .on_error([&](std::exception_ptr e) {
                      try {
                        std::rethrow_exception(e);
                      } catch (std::exception const& ex) {
                        seen = ex.what();
                      }
                    })
                    .build();
  thread.join();
  EXPECT_EQ(seen, "close failed");
}

// Records what on_error received, in order.
struct error_log {
  std::mutex mutex;
  std::vector<std::string> messages;
  ste_test::counter arrivals;
  auto handler() {
    return [this](std::exception_ptr e) {
      std::string what;
      try {
        std::rethrow_exception(e);
      } catch (std::exception const& ex) {
        what = ex.what();
      }
      {
        std::lock_guard lock(mutex);
        messages.push_back(what);
      }
      arrivals.arrive();
    };
  }
};

// A callable whose destructor throws (once armed; moving disarms the source).
struct throws_when_destroyed {
  bool armed = true;
  bool call_throws = false;
  throws_when_destroyed() = default;
  throws_when_destroyed(throws_when_destroyed&& o) noexcept
      : armed(std::exchange(o.armed, false)), call_throws(o.call_throws) {}
  ~throws_when_destroyed() noexcept(false) {
    if (armed) throw std::runtime_error("destructor");
  }
  void operator()() const {
    if (call_throws) throw std::runtime_error("call");
  }
};

TEST(Post, ThrowingDestructorBug_APostedCallablesDestructorExceptionReachesOnError) {
  error_log log;
  auto thread = ste::builder().on_error(log.handler()).build();
  thread.post(throws_when_destroyed{});
  log.arrivals.wait_for(1);
  throws_when_destroyed both;
  both.call_throws = true;
  thread.post(std::move(both));
  log.arrivals.wait_for(3);
  EXPECT_EQ(thread.submit([] { return 7; }), 7);  // the thread goes on
  thread.join();
  std::lock_guard lock(log.mutex);
  EXPECT_EQ(log.messages, (std::vector<std::string>{"destructor", "call", "destructor"}));
}

#if GTEST_HAS_DEATH_TEST && defined(__linux__)
// The default on_error says where the exception came from, then terminates.
TEST(OnErrorDeathTest, DefaultHandlerSaysWhichKindOfWorkThrew) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_DEATH(
      {
        auto t = ste::spawn();
        t.post([] { throw std::runtime_error("boom"); });
        t.join();
      },
      "from a posted task");
  EXPECT_DEATH(
      {
        auto t = ste::builder().postlude([] { throw std::runtime_error("boom"); }).build();
        t.join();
      },
      "from the postlude");
  EXPECT_DEATH(
      {
        auto t = ste::spawn();
        t.spawn([]() -> ste::task<void> {
          throw std::runtime_error("boom");
          co_return;
        }());
        t.join();
      },
      "from a spawned coroutine");
}
#endif

TEST(Builder, StackSizeZeroTinyAndLargeWork) {
  for (std::size_t size : {std::size_t{0}, std::size_t{1}, std::size_t{100'000},
                           std::size_t{8} << 20}) {
    auto thread = ste::builder().stack_size(size).build();
    EXPECT_EQ(thread.submit([] { return 1; }), 1) << size;
  }
}

TEST(Builder, StackSizeTheOsCannotProvideThrowsSystemError) {
  EXPECT_THROW(ste::builder().stack_size(SIZE_MAX).build(), std::system_error);
  EXPECT_THROW(ste::builder().stack_size(SIZE_MAX / 2).build(), std::system_error);
  // ...and later builds still work.
  EXPECT_EQ(ste::spawn().submit([] { return 2; }), 2);
}

TEST(Builder, BuildConsumesTheSettings) {
  int preludes = 0;
  ste::builder b;
  b.name("once").prelude([&] { ++preludes; });
  auto first = b.build();
  auto second = b.build();
  EXPECT_EQ(preludes, 1);
  EXPECT_NE(first.tag(), second.tag());
}

// ---------------------------------------------------------------------------------
// join, destructor, move

TEST(Join, IsIdempotentAndEmptyHandlesAreNoOps) {
  auto thread = ste::spawn();
  thread.join();
  thread.join();
  ste::thread empty;
  empty.join();
}

TEST(Join, FromTheThreadItselfThrowsSystemError) {
  auto thread = ste::spawn();
  auto code = thread.submit([&] {
    try {
      thread.join();
    } catch (std::system_error const& e) {
      return e.code();
    }
    return std::error_code();
  });
  EXPECT_EQ(code, std::errc::resource_deadlock_would_occur);
  EXPECT_EQ(thread.submit([] { return 3; }), 3);  // unaffected
}

TEST(Join, DrainsEveryAcceptedTask) {
  std::atomic<int> ran{0};
  auto thread = ste::spawn();
  for (int i = 0; i < 1000; ++i) thread.post([&] { ++ran; });
  thread.join();
  EXPECT_EQ(ran.load(), 1000);
}

TEST(Join, TheThreadMayStillPostWhileDraining) {
  std::vector<int> order;
  auto thread = ste::spawn();
  ste::thread const* self = &thread;
  thread.post([&] {
    order.push_back(1);
    self->post([&] {
      order.push_back(2);
      self->post([&] { order.push_back(3); });
    });
  });
  thread.join();
  EXPECT_EQ(order, (std::vector<int>{1, 2, 3}));
}

TEST(Join, DestructorJoins) {
  bool postlude_ran = false;
  {
    auto thread = ste::builder().postlude([&] { postlude_ran = true; }).build();
    thread.post([] {});
  }
  EXPECT_TRUE(postlude_ran);
}

TEST(Join, MoveAssignmentJoinsTheThreadItStillOwns) {
  bool first_done = false;
  auto thread = ste::builder().postlude([&] { first_done = true; }).build();
  thread = ste::spawn();
  EXPECT_TRUE(first_done);
  EXPECT_EQ(thread.submit([] { return 4; }), 4);
  ste::thread other;
  other = std::move(thread);
  EXPECT_EQ(other.submit([] { return 5; }), 5);
}

// The last owner lets go inside a task: ~thread runs on the thread itself. It must not
// deadlock; the thread stops accepting, drains and exits on its own.
TEST(Join, DestructorOnTheThreadItselfDetaches) {
  ste_test::gate finished;
  auto holder = std::make_shared<ste::thread>(
      ste::builder().postlude([&] { finished.open(); }).build());
  ste::thread* raw = holder.get();
  std::atomic<int> later{0};
  raw->post([&later] { ++later; });  // accepted before the handle goes: must still run
  raw->post([h = std::move(holder)]() mutable { h.reset(); });
  finished.wait();
  EXPECT_EQ(later.load(), 1);
}

TEST(Join, ConcurrentWithSubmittersNeverHangs) {
  auto thread = ste::spawn();
  std::atomic<bool> go{false};
  std::atomic<int> ran{0}, returned{0}, stopped{0};
  std::vector<std::thread> submitters;
  for (int s = 0; s < 3; ++s) {
    submitters.emplace_back([&] {
      while (!go) std::this_thread::yield();
      for (;;) {
        try {
          thread.submit([&] { ++ran; });
          ++returned;
        } catch (ste::stopped_error const&) {
          ++stopped;
          return;
        }
      }
    });
  }
  go = true;
  while (returned.load() < 100) std::this_thread::yield();
  thread.join();
  for (auto& t : submitters) t.join();
  EXPECT_EQ(ran.load(), returned.load());
  EXPECT_EQ(stopped.load(), 3);
}

}  // namespace
