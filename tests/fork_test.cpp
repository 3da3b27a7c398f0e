// SPDX-License-Identifier: MIT
// fork(): in the child no ste thread exists. Handles inherited from the parent never hang
// there, their values are not destroyed, and new ste threads work (SPEC "Process
// lifetime"; docs/design.md §15; verify/spin/fork.pml). Every child runs under an alarm
// and reports through its exit status: 0 is success, any other value names the check
// that failed (written to stderr too).
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include "ste/ste.hpp"
#include "test_support.hpp"

#if defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define STE_TEST_TSAN 1
#endif
#endif
#if defined(__SANITIZE_THREAD__)
#define STE_TEST_TSAN 1
#endif
#if defined(STE_TEST_TSAN)
// TSan cannot follow a thread started in the child of a multi-threaded fork: by default
// it ends such a child, and with die_after_fork=0 its registry still holds the parent's
// threads, so a new thread on a stack glibc reclaimed from one of them aborts the child
// ("ThreadSanitizer: dup thread with used id", exit 66, seen here). So under TSan the
// children check the inherited handles only; the other builds (release, ASan, clang,
// libc++) check that new threads work there too.
constexpr bool kThreadsInChild = false;
#else
constexpr bool kThreadsInChild = true;
#endif

#if defined(__has_feature)
#if __has_feature(address_sanitizer)
#define STE_TEST_ASAN 1
#endif
#endif
#if defined(__SANITIZE_ADDRESS__)
#define STE_TEST_ASAN 1
#endif
#if defined(STE_TEST_ASAN)
// ASan's allocator (GCC 12, clang 14) takes no lock around fork(): a child's malloc can
// wait for ever on an allocator mutex a parent's thread held at the fork. Seen here,
// with gdb: a child throwing stopped_error, and with a load that allocates nothing
// (submit, nested submit, notify) a child starting a thread, each in
// SizeClassAllocator64::GetFromAllocator. So under ASan the forks under load are not
// taken (the test says SKIPPED); the other fork tests, whose parents are idle at the
// fork, run, and the release, TSan, clang and libc++ builds take the forks under load.
constexpr bool kForksUnderLoad = false;
#elif defined(_LIBCPP_VERSION)
// libc++ throws through LLVM's libunwind, which finds frames with dl_iterate_phdr: that
// takes glibc's loader lock, and fork() does not reset it. A child's throw then waits
// for ever if a parent's thread was throwing at the fork (seen with gdb: the child's
// stopped_error, in dl_iterate_phdr). GCC's unwinder uses the lock-free
// _dl_find_object. So with libc++ the forks under load are not taken either.
constexpr bool kForksUnderLoad = false;
#else
constexpr bool kForksUnderLoad = true;
#endif

namespace {

using namespace std::chrono_literals;

// In a child: report the failed check and leave at once (no static destructor, no
// atexit handler of the parent's copy runs).
[[noreturn]] void child_fails(int code, char const* what) {
  char line[256];
  int const n = std::snprintf(line, sizeof line, "fork child: check %d failed: %s\n", code, what);
  if (n > 0) (void)!::write(2, line, static_cast<std::size_t>(n));
  ::_exit(code);
}

void child_check(bool ok, int code, char const* what) {
  if (!ok) child_fails(code, what);
}

// Runs `child` in a forked child under an alarm; returns its exit status (-signal if it
// was killed: an alarm means it hung).
template <class F>
int in_child(F&& child) {
  pid_t const pid = ::fork();
  if (pid < 0) return -1000;
  if (pid == 0) {
    ::alarm(60);
    child();
    ::_exit(0);
  }
  int status = 0;
  // A hang guard, not a timing check: a child still there after 45 s (its alarm ends it
  // at 60) gets its threads' stacks printed, if gdb is installed, so that a hang seen
  // once on a loaded machine says where it was.
  auto const hung_after = std::chrono::steady_clock::now() + 45s;
  bool dumped = false;
  for (;;) {
    pid_t const r = ::waitpid(pid, &status, WNOHANG);
    if (r == pid) break;
    if (r < 0 && errno != EINTR) return -1001;
    if (!dumped && std::chrono::steady_clock::now() >= hung_after) {
      dumped = true;
      std::string const cmd = "gdb -p " + std::to_string(pid) +
                              " -batch -ex 'thread apply all bt' 1>&2 2>/dev/null";
      std::fprintf(stderr, "fork child %d still running after 45 s; its stacks:\n", pid);
      (void)!std::system(cmd.c_str());
    }
    std::this_thread::sleep_for(1ms);
  }
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  return -WTERMSIG(status);
}

bool says_parent_process(ste::stopped_error const& e) {
  return std::strstr(e.what(), "parent process") != nullptr;
}

template <class F>
bool refused_for_fork(F&& f) {
  try {
    f();
  } catch (ste::stopped_error const& e) {
    return says_parent_process(e);
  } catch (...) {
    return false;
  }
  return false;
}

// A value whose destruction in the child is a failure.
struct parent_value {
  pid_t owner = ::getpid();
  ~parent_value() {
    if (::getpid() != owner) child_fails(40, "a value of the parent was destroyed in the child");
  }
};

// What every child checks on a handle it inherited (`t` ran in the parent).
void check_inherited(ste::thread& t, ste::bound<parent_value>& value, ste::notifier& n,
                     ste::timer& periodic) {
  child_check(refused_for_fork([&] { t.submit([] {}); }), 1, "submit is refused");
  child_check(refused_for_fork([&] { t.submit_for(1h, [] {}); }), 2, "submit_for is refused");
  child_check(refused_for_fork([&] { t.post([] {}); }), 3, "post is refused");
  child_check(refused_for_fork([&] { (void)t.post_after(0ms, [] {}); }), 4,
              "post_after is refused");
  child_check(refused_for_fork([&] { (void)t.make_notifier([] {}); }), 5,
              "make_notifier is refused");
  child_check(refused_for_fork([&] { (void)t.make_bound<int>(1); }), 6, "make_bound is refused");
  child_check(!n.notify(), 7, "notify returns false");
  child_check(!periodic.cancel(), 8, "cancel returns false");
  bool wrong = false;
  try {
    (void)value.get();
  } catch (ste::wrong_thread const&) {
    wrong = true;
  }
  child_check(wrong, 9, "bound<T> access throws wrong_thread");
  child_check(t.stats().accepted == 0, 10, "stats() is all zero");
  t.join();  // returns at once
  t.join();
}

// New ste threads in the child work normally: hand-offs, values, notifiers, timers,
// coroutines, the watchdog.
void check_new_threads_work() {
  ste::thread fresh = ste::builder().name("child").on_stall(1h, [](ste::stall_info const&) {}).build();
  child_check(fresh.submit([] { return 42; }) == 42, 20, "submit on a new thread");
  ste::bound<int> v = fresh.make_bound<int>(7);
  child_check(fresh.submit([&] { return *v; }) == 7, 21, "bound<T> on a new thread");
  std::atomic<int> notified{0};
  ste::notifier n = fresh.make_notifier([&] { notified.fetch_add(1); });
  child_check(n.notify(), 22, "notify on a new thread");
  std::atomic<bool> fired{false};
  ste::timer tm = fresh.post_after(0ms, [&] { fired.store(true); });
  auto coroutine = [&]() -> ste::task<int> { co_return 5; };
  child_check(fresh.block_on(coroutine()) == 5, 23, "block_on on a new thread");
  while (!fired.load()) fresh.submit([] {});  // due at once: runs between these submits
  child_check(notified.load() >= 1, 24, "the notifier ran");
  n.reset();
  fresh.join();
  child_check(fresh.stats().completed >= 3, 25, "stats() on a new thread");
}

// Threads of the parent, each in a loop of one kind of hand-off, on several ste threads.
class parent_load {
 public:
  parent_load() {
    for (int i = 0; i < 2; ++i) targets_.push_back(ste::builder().name("target").build());
    // keep(body): a thread calling body until the end; allocating(body): the same, for
    // a body that allocates (the reason ASan cannot take these forks: kForksUnderLoad).
    auto keep = [this](auto&& body) {
      loops_.emplace_back([this, body] {
        while (!stop_.load(std::memory_order_relaxed)) body();
      });
    };
    auto allocating = [&keep](auto&& body) { keep(body); };
    ste::thread const& a = targets_[0];
    ste::thread const& b = targets_[1];
    keep([&a] { a.submit([] {}); });
    keep([&b] { b.submit([] {}); });
    allocating([&a] {  // the timeout_error thrown
      try {
        a.submit_for(1us, [] {});
      } catch (ste::timeout_error const&) {
      }
    });
    allocating([&a, this] {
      // Bounded: a producer that posts without ever waiting outruns the worker, and the
      // backlog grows without end (23 GB and the OOM killer, on a loaded machine; every
      // child then copies that process).
      if (posted_.load(std::memory_order_relaxed) - ran_.load(std::memory_order_relaxed) >= 256) {
        std::this_thread::yield();
        return;
      }
      posted_.fetch_add(1, std::memory_order_relaxed);
      a.post([this] { ran_.fetch_add(1, std::memory_order_relaxed); });
    });
    allocating([&b, this] {
      ste::timer t = b.post_after(0us, [] {});
      (void)t.cancel();
    });
    notifier_ = a.make_notifier([] {});
    keep([this] { (void)notifier_.notify(); });
    keep([&a, &b] {
      // A ste thread blocked on another: the deadlock edges (the edge mutex) in use.
      a.submit([&b] { b.submit([] {}); });
    });
    allocating([] {
      // Threads born and joined: the registry and the join mutex in use.
      ste::thread t = ste::spawn();
      t.post([] {});
    });
    allocating([&b] {  // the coroutine's frame
      auto hop = [&b]() -> ste::task<void> { co_await b.schedule(); };
      b.block_on(hop());
    });
    allocating([&a] {
      ste::bound<int> v = a.make_bound<int>(1);
      a.submit([&v] { ++*v; });
    });
  }

  ~parent_load() {
    stop_.store(true);
    for (std::thread& t : loops_) t.join();
    notifier_.reset();
  }

  ste::thread& target(std::size_t i) { return targets_[i]; }

 private:
  std::vector<ste::thread> targets_;
  ste::notifier notifier_;
  std::atomic<bool> stop_{false};
  std::atomic<std::uint64_t> posted_{0};  // by the posting loop
  std::atomic<std::uint64_t> ran_{0};     // by those posted tasks
  std::vector<std::thread> loops_;
};

TEST(Fork, InheritedHandlesAreRefusedAndNewThreadsWork) {
  ste::thread t = ste::spawn();
  ste::bound<parent_value> value = t.make_bound<parent_value>();
  ste::notifier n = t.make_notifier([] {});
  ste::timer periodic = t.post_every(1h, [] {});
  int const status = in_child([&] {
    check_inherited(t, value, n, periodic);
    if (!kThreadsInChild) return;
    check_new_threads_work();
    // From a new ste thread too: refused, never a deadlock walk into the parent's edges.
    ste::thread fresh = ste::spawn();
    child_check(fresh.submit([&] { return refused_for_fork([&] { t.submit([] {}); }); }), 11,
                "a new thread's submit to an inherited one is refused");
    fresh.submit([&] { t.join(); });
    fresh.join();
    // The handles go out of scope in the child: destructors return at once, values
    // stay (parent_value's destructor would fail the child).
  });
  EXPECT_EQ(status, 0);
  // The parent's thread is untouched.
  EXPECT_EQ(t.submit([&] { return value->owner; }), ::getpid());
  EXPECT_TRUE(n.notify());
  EXPECT_TRUE(periodic.cancel());
}

TEST(Fork, HandlesGoingOutOfScopeInTheChildReturnAtOnce) {
  auto* t = new ste::thread(ste::spawn());
  auto* value = new ste::bound<parent_value>(t->make_bound<parent_value>());
  int const status = in_child([&] {
    delete value;  // not destroyed: its thread is in the parent
    delete t;      // returns at once
  });
  EXPECT_EQ(status, 0);
  delete value;
  delete t;
}

TEST(Fork, ForksTakenInTheMiddleOfEveryKindOfHandOff) {
  if (!kForksUnderLoad)
    GTEST_SKIP() << "SKIPPED under ASan and with libc++: the allocator, or the unwinder "
                    "(dl_iterate_phdr), is not fork-safe (a child waits for ever on a lock "
                    "a parent's thread held; see kForksUnderLoad)";
  parent_load load;
  std::size_t const forks = std::max<std::size_t>(200, ste_test::scaled(200));
  for (std::size_t i = 0; i < forks; ++i) {
    int const status = in_child([&] {
      for (std::size_t k = 0; k < 2; ++k) {
        ste::thread& t = load.target(k);
        child_check(refused_for_fork([&] { t.submit([] {}); }), 30, "submit is refused");
        child_check(refused_for_fork([&] { t.post([] {}); }), 31, "post is refused");
        child_check(t.stats().accepted == 0, 32, "stats() is all zero");
        t.join();
      }
      if (kThreadsInChild && i % 8 == 0) check_new_threads_work();
    });
    ASSERT_EQ(status, 0) << "fork " << i;
  }
}

TEST(Fork, ForkFromATaskEndsTheCopiedLoop) {
  ste::thread t = ste::spawn();
  ste::bound<int> value = t.make_bound<int>(1);
  pid_t const parent = ::getpid();
  std::atomic<pid_t> child{0};
  // The child is made inside a task; after it, the copied loop must run nothing more:
  // the task posted behind it ends the child with 3 if it runs there.
  t.post([] {});
  t.submit([&] {
    t.post([parent] {
      if (::getpid() != parent) ::_exit(3);
    });
    pid_t const pid = ::fork();
    if (pid != 0) {
      child.store(pid);
      return;
    }
    ::alarm(60);
    bool wrong = false;
    try {
      (void)*value;  // its own thread's value: no thread is current in the child
    } catch (ste::wrong_thread const&) {
      wrong = true;
    }
    if (!wrong) ::_exit(4);
    if (!refused_for_fork([&] { t.post([] {}); })) ::_exit(5);
    // Back into the copied loop: it ends the thread, the child's last; the process exits
    // with status 0 (our handler first, before the copies of the parent's).
    std::atexit([] { ::_exit(0); });
  });
  int status = 0;
  while (::waitpid(child.load(), &status, 0) < 0) {
  }
  ASSERT_TRUE(WIFEXITED(status)) << "signal " << (WIFSIGNALED(status) ? WTERMSIG(status) : 0);
  EXPECT_EQ(WEXITSTATUS(status), 0);
  EXPECT_EQ(t.submit([&] { return *value; }), 1);  // the parent's thread goes on
}

}  // namespace
