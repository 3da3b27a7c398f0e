// SPDX-License-Identifier: MIT
// Fault matrix: the OS refuses a thread, and the prelude throws.
//
// Thread creation is made to fail by wrapping pthread_create for this test binary
// (linked with -Wl,--wrap=pthread_create, so ste's call lands in __wrap_pthread_create
// below, which either fails with a chosen errno or forwards to the real one). Expected:
// build() throws std::system_error carrying that errno, no thread is left behind, the
// prelude never ran, and later builds work. RLIMIT_NPROC, the real-world cause, is
// covered by nproc_helper.cpp under setpriv (see CMakeLists.txt).
#include <gtest/gtest.h>
#include <pthread.h>

#include <atomic>
#include <cerrno>
#include <string>
#include <system_error>
#include <thread>
#include <unordered_set>
#include <vector>

#include "fault_support.hpp"
#include "ste/ste.hpp"

namespace {
std::atomic<int> g_fail_with{0};  // 0: forward to the real pthread_create
std::atomic<long> g_calls{0};
}  // namespace

extern "C" {
int __real_pthread_create(pthread_t* thread, pthread_attr_t const* attr, void* (*start)(void*),
                          void* arg);
int __wrap_pthread_create(pthread_t* thread, pthread_attr_t const* attr, void* (*start)(void*),
                          void* arg) {
  g_calls.fetch_add(1);
  if (int const e = g_fail_with.load(); e != 0) return e;
  return __real_pthread_create(thread, attr, start, arg);
}
}

namespace {

// Arms the failure for one scope.
struct refuse_threads {
  explicit refuse_threads(int e) { g_fail_with.store(e); }
  ~refuse_threads() { g_fail_with.store(0); }
  refuse_threads(refuse_threads const&) = delete;
  refuse_threads& operator=(refuse_threads const&) = delete;
};

TEST(ThreadCreationFault, TheWrapperSeesStesCalls) {
  long const before = g_calls.load();
  auto t = ste::spawn();
  ASSERT_GT(g_calls.load(), before)
      << "ste's pthread_create call was not wrapped: is ste a shared library? "
         "(-Wl,--wrap only reaches code linked statically into the test)";
}

TEST(ThreadCreationFault, RefusedThreadThrowsSystemErrorWithTheErrnoAndLaterBuildsWork) {
  auto const warm = ste::spawn();  // any lazily created runtime threads exist by now
  std::size_t const threads_at_start = ste_fault::thread_count();
  for (int const e : {EAGAIN, EPERM, ENOMEM, EINVAL}) {
    std::vector<pid_t> const threads_before = ste_fault::thread_ids();
    bool prelude_ran = false, on_error_ran = false;
    {
      refuse_threads refuse(e);
      try {
        auto t = ste::builder()
                     .name("refused")
                     .prelude([&] { prelude_ran = true; })
                     .on_error([&](std::exception_ptr) { on_error_ran = true; })
                     .build();
        ADD_FAILURE() << "build() returned although pthread_create failed with " << e;
      } catch (std::system_error const& x) {
        EXPECT_EQ(x.code(), std::error_code(e, std::generic_category())) << x.what();
        EXPECT_NE(std::string(x.what()).find("pthread_create"), std::string::npos) << x.what();
      }
    }
    EXPECT_FALSE(prelude_ran);
    EXPECT_FALSE(on_error_ran);
    EXPECT_EQ(ste_fault::threads_not_in(threads_before), std::vector<std::string>{})
        << "a refused build left a thread";
    auto later = ste::spawn();  // the switch is off again: building works
    EXPECT_EQ(later.submit([] { return 5; }), 5);
  }
  // Every `later` was joined: the count drops back once the kernel has reaped them.
  EXPECT_EQ(ste_fault::thread_count_settles_at(threads_at_start), threads_at_start);
}

TEST(ThreadCreationFault, RefusedWithAStackSizeThrowsSystemError) {
  refuse_threads refuse(EAGAIN);
  try {
    auto t = ste::builder().stack_size(1 << 20).build();
    FAIL() << "build() returned although pthread_create failed";
  } catch (std::system_error const& x) {
    EXPECT_EQ(x.code(), std::error_code(EAGAIN, std::generic_category())) << x.what();
  }
}

// EAGAIN from pthread_create means the thread limit (RLIMIT_NPROC) or no memory for the
// stack; it cannot tell which. With a stack size set, the message names both causes
// instead of blaming the stack alone (it once said "cannot provide a thread stack").
TEST(ThreadCreationFault, ThreadLimitWithAStackSizeIsNotBlamedOnTheStackSizeAlone) {
  refuse_threads refuse(EAGAIN);
  try {
    auto t = ste::builder().stack_size(64 * 1024).build();
    FAIL() << "build() returned although pthread_create failed";
  } catch (std::system_error const& x) {
    EXPECT_EQ(x.code(), std::error_code(EAGAIN, std::generic_category()));
    std::string const what = x.what();
    EXPECT_EQ(what.find("cannot provide a thread stack"), std::string::npos) << what;
    EXPECT_NE(what.find("thread limit"), std::string::npos) << what;
    EXPECT_NE(what.find("65536"), std::string::npos) << what;
  }
}

// Failures interleaved with successes, while another ste thread keeps serving: nothing
// leaks (ASan/LSan), the running thread is unaffected, tags stay unique.
TEST(ThreadCreationFault, FailuresWhileOtherThreadsServeLeakNothing) {
  auto serving = ste::spawn();
  std::atomic<bool> stop{false};
  std::atomic<long> served{0};
  std::thread client([&] {
    while (!stop.load()) served += serving.submit([] { return 1; });
  });
  std::unordered_set<ste::tag> tags{serving.tag()};
  int refused = 0, built = 0;
  for (int i = 0; i < 400; ++i) {
    if (i % 2 == 0) {
      refuse_threads refuse(EAGAIN);
      EXPECT_THROW((void)ste::spawn(), std::system_error);
      ++refused;
    } else {
      auto t = ste::spawn();
      EXPECT_TRUE(tags.insert(t.tag()).second) << "tag re-used: " << t.tag();
      EXPECT_EQ(t.submit([] { return ste::tag::current_thread(); }), t.tag());
      ++built;
    }
  }
  stop = true;
  client.join();
  EXPECT_EQ(refused, 200);
  EXPECT_EQ(built, 200);
  EXPECT_GT(served.load(), 0);
  EXPECT_EQ(serving.submit([] { return 7; }), 7);
}

// ---------------------------------------------------------------------------------
// The prelude throws: build() rethrows that very exception object, joins the thread,
// never runs the postlude; nothing is left running; later builds work.

struct prelude_failure {
  int round;
};

TEST(PreludeFault, ThrowingPreludeIsRethrownByBuildAndLeavesNothingRunning) {
  auto const warm = ste::spawn();
  std::size_t const threads_before = ste_fault::thread_count();
  for (int round = 0; round < 200; ++round) {
    void const* thrown_at = nullptr;
    bool postlude_ran = false, on_error_ran = false;
    try {
      auto t = ste::builder()
                   .prelude([&] {
                     try {
                       throw prelude_failure{round};
                     } catch (prelude_failure const& e) {
                       thrown_at = &e;
                       throw;
                     }
                   })
                   .postlude([&] { postlude_ran = true; })
                   .on_error([&](std::exception_ptr) { on_error_ran = true; })
                   .build();
      FAIL() << "build() returned although the prelude threw";
    } catch (prelude_failure const& e) {
      EXPECT_EQ(&e, static_cast<void const*>(thrown_at)) << "not the very object thrown";
      EXPECT_EQ(e.round, round);
    }
    EXPECT_FALSE(postlude_ran);
    EXPECT_FALSE(on_error_ran);
  }
  // build() joined each failed thread before rethrowing.
  EXPECT_EQ(ste_fault::thread_count_settles_at(threads_before), threads_before);
  auto later = ste::spawn();
  EXPECT_EQ(later.submit([] { return 3; }), 3);
}

TEST(PreludeFault, NonStdExceptionFromThePreludeIsRethrownToo) {
  EXPECT_THROW(ste::builder().prelude([] { throw 42; }).build(), int);
  auto later = ste::spawn();
  EXPECT_EQ(later.submit([] { return 4; }), 4);
}

}  // namespace
