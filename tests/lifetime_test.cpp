// SPDX-License-Identifier: MIT
// Exit and static threads (SPEC "Process lifetime"; docs/design.md §18). Each scenario is
// a small program in tests/lifetime/ that sets it up and prints lines; this test runs it
// as a child process (fork + exec, under alarm(60): a hang ends as SIGALRM, never as a
// hung suite) and checks the lines it printed and how it ended. The helpers' paths come
// from compile definitions (tests/CMakeLists.txt).
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <csignal>
#include <cstring>
#include <string>
#include <vector>

namespace {

struct outcome {
  int status = -1000;  // the exit status, or -signal when a signal ended the child
  std::vector<std::string> lines;
  std::string output;  // all of it (stdout and stderr), for the failure messages

  std::size_t count(std::string const& line) const {
    return static_cast<std::size_t>(std::count(lines.begin(), lines.end(), line));
  }
  bool has(std::string const& line) const { return count(line) > 0; }
  // Each line printed exactly once, and in this order (other lines may come between).
  bool in_order(std::vector<std::string> const& expected) const {
    auto at = lines.begin();
    for (std::string const& e : expected) {
      if (count(e) != 1) return false;
      at = std::find(at, lines.end(), e);
      if (at == lines.end()) return false;
    }
    return true;
  }
};

// Runs the helper at `path` with `argument` (if any); its stdout and stderr are read
// through one pipe until it closes, then the child is reaped.
outcome run(char const* path, char const* argument = nullptr) {
  outcome out;
  int fds[2];
  if (::pipe(fds) != 0) return out;
  pid_t const pid = ::fork();
  if (pid < 0) return out;
  if (pid == 0) {
    ::dup2(fds[1], 1);
    ::dup2(fds[1], 2);
    ::close(fds[0]);
    ::close(fds[1]);
    ::alarm(60);  // kept across exec: a hang ends the child with SIGALRM
    char* argv[] = {const_cast<char*>(path), const_cast<char*>(argument), nullptr};
    ::execv(path, argv);
    ::_exit(127);
  }
  ::close(fds[1]);
  char buffer[4096];
  for (;;) {
    ssize_t const n = ::read(fds[0], buffer, sizeof buffer);
    if (n > 0) {
      out.output.append(buffer, static_cast<std::size_t>(n));
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    break;
  }
  ::close(fds[0]);
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  out.status = WIFEXITED(status) ? WEXITSTATUS(status) : -WTERMSIG(status);
  std::size_t begin = 0;
  for (std::size_t end; (end = out.output.find('\n', begin)) != std::string::npos; begin = end + 1)
    out.lines.push_back(out.output.substr(begin, end - begin));
  return out;
}

#define EXPECT_ENDED_WITH(o, code) \
  EXPECT_EQ((o).status, (code)) << "(-14 is SIGALRM: it hung)\n" << (o).output

// main returns: a namespace-scope and a function-local static ste::thread are joined by
// the exit handlers — the work queued when main returned runs, then each postlude.
TEST(Lifetime, StaticThreadsDrainAndRunPostludeAfterMainReturns) {
  outcome const o = run(STE_LIFETIME_STATIC_DRAIN);
  EXPECT_ENDED_WITH(o, 0);
  EXPECT_TRUE(o.in_order({"main returns", "exit begins", "namespace task 0", "namespace task 1",
                          "namespace task 2", "namespace task 3", "namespace postlude"}))
      << o.output;
  EXPECT_TRUE(o.in_order({"exit begins", "local task 0", "local task 1", "local task 2",
                          "local task 3", "local postlude"}))
      << o.output;
}

// std::exit from main: the static thread drains and runs its postlude; a thread local
// to main (not destroyed by exit) keeps running and is not joined: no postlude.
TEST(Lifetime, ExitFromMainDrainsStaticThread) {
  outcome const o = run(STE_LIFETIME_EXIT_FROM_MAIN);
  EXPECT_ENDED_WITH(o, 3);
  EXPECT_TRUE(o.in_order({"local thread runs", "main calls exit", "exit begins", "static task 0",
                          "static task 1", "static task 2", "static task 3", "static postlude"}))
      << o.output;
  EXPECT_FALSE(o.has("local postlude")) << o.output;
}

// std::exit from a task on the static thread itself: the handlers run on that thread,
// its handle's destructor returns without waiting for itself, the process ends with the
// status given. A static bound<T> destroyed by the handlers is destroyed there (on its
// thread); what is queued behind the exiting task and the postlude never run.
TEST(Lifetime, ExitFromTaskOnTheStaticThreadItselfDoesNotHang) {
  outcome const o = run(STE_LIFETIME_EXIT_FROM_OWN_TASK);
  EXPECT_ENDED_WITH(o, 5);
  EXPECT_TRUE(o.in_order({"exiting task", "exit handlers run on the ste thread",
                          "value destroyed on its thread"}))
      << o.output;
  EXPECT_FALSE(o.has("task behind the exit")) << o.output;
  EXPECT_FALSE(o.has("submit behind the exit")) << o.output;
  EXPECT_FALSE(o.has("main: submit returned")) << o.output;
  EXPECT_FALSE(o.has("postlude")) << o.output;
}

// Regression (the destructor on the thread took the join mutex, held by main's join()
// while it waited for that very thread: it hung): std::exit from a task the join drains.
TEST(Lifetime, ExitFromTaskDuringJoinDoesNotHang) {
  outcome const o = run(STE_LIFETIME_EXIT_DURING_JOIN, "task");
  EXPECT_ENDED_WITH(o, 6);
  EXPECT_TRUE(o.in_order({"main joins", "task sees join", "exit handler"})) << o.output;
  EXPECT_FALSE(o.has("task behind")) << o.output;
  EXPECT_FALSE(o.has("postlude")) << o.output;
  EXPECT_FALSE(o.has("main: join returned")) << o.output;
}

// The same from the postlude: everything was drained before it.
TEST(Lifetime, ExitFromPostludeDuringJoinDoesNotHang) {
  outcome const o = run(STE_LIFETIME_EXIT_DURING_JOIN, "postlude");
  EXPECT_ENDED_WITH(o, 6);
  EXPECT_TRUE(o.in_order({"main joins", "task sees join", "task behind", "postlude", "exit handler"}))
      << o.output;
  EXPECT_FALSE(o.has("main: join returned")) << o.output;
}

// std::exit from a task on another ste thread: the static thread is joined from there
// (drains, runs its postlude); the postlude's submit back to the exiting thread, which
// waits for it to close, throws deadlock_error instead of hanging; a static thread
// whose task waits on the exiting thread is left detached (or its submit throws
// deadlock_error, if the join came first): no hang either way.
TEST(Lifetime, ExitFromTaskOnAnotherThreadJoinsStaticThread) {
  outcome const o = run(STE_LIFETIME_EXIT_FROM_OTHER_THREAD);
  EXPECT_ENDED_WITH(o, 7);
  EXPECT_TRUE(o.in_order({"other calls exit", "exit begins on the other thread", "static task 0",
                          "static task 1", "static task 2", "static task 3",
                          "postlude's submit: deadlock_error", "static postlude"}))
      << o.output;
  EXPECT_FALSE(o.has("submit behind the exit")) << o.output;
  EXPECT_FALSE(o.has("main: submit returned")) << o.output;
  EXPECT_FALSE(o.has("waiter's submit ran")) << o.output;
}

// A static bound<T> destroyed after its thread was joined: join() destroyed the value on
// the thread, before the postlude; the handle's destructor then only lets go.
TEST(Lifetime, StaticBoundAfterItsThreadIsHarmless) {
  outcome const o = run(STE_LIFETIME_BOUND_AFTER_THREAD);
  EXPECT_ENDED_WITH(o, 0);
  EXPECT_TRUE(o.in_order({"local destroyed on its thread", "joined postlude", "joined thread joined",
                          "main returns", "early destroyed on its thread", "static postlude",
                          "last exit handler"}))
      << o.output;
  EXPECT_EQ(o.output.find("OFF"), std::string::npos) << o.output;
}

// Static threads built before ste's process-wide state was first used: their drain at
// exit still uses it (ste threads waiting on ste threads, a watched thread).
TEST(Lifetime, StaticThreadsOutliveSteOwnState) {
  outcome const o = run(STE_LIFETIME_STATICS_ORDER);
  EXPECT_ENDED_WITH(o, 0);
  EXPECT_TRUE(o.in_order({"main returns", "exit begins", "second's submit to first ran",
                          "second's submit to watched ran", "second postlude", "first postlude",
                          "watched postlude"}))
      << o.output;
  EXPECT_FALSE(o.has("stall?")) << o.output;
}

// quick_exit and _exit run no static destructor: the static thread is not joined, its
// postlude never runs, and nothing waits.
TEST(Lifetime, QuickExitFromTaskJoinsNothing) {
  outcome const o = run(STE_LIFETIME_NO_HANDLERS, "quick_exit-task");
  EXPECT_ENDED_WITH(o, 8);
  EXPECT_TRUE(o.in_order({"task ends the process", "at_quick_exit handler"})) << o.output;
  EXPECT_FALSE(o.has("atexit handler")) << o.output;
  EXPECT_FALSE(o.has("task behind")) << o.output;
  EXPECT_FALSE(o.has("postlude")) << o.output;
}

TEST(Lifetime, QuickExitFromMainJoinsNothing) {
  outcome const o = run(STE_LIFETIME_NO_HANDLERS, "quick_exit-main");
  EXPECT_ENDED_WITH(o, 8);
  EXPECT_TRUE(o.in_order({"main calls quick_exit", "at_quick_exit handler"})) << o.output;
  EXPECT_FALSE(o.has("atexit handler")) << o.output;
  EXPECT_FALSE(o.has("postlude")) << o.output;
}

TEST(Lifetime, UnderscoreExitFromTaskJoinsNothing) {
  outcome const o = run(STE_LIFETIME_NO_HANDLERS, "_exit-task");
  EXPECT_ENDED_WITH(o, 9);
  EXPECT_TRUE(o.has("task ends the process")) << o.output;
  EXPECT_FALSE(o.has("at_quick_exit handler")) << o.output;
  EXPECT_FALSE(o.has("atexit handler")) << o.output;
  EXPECT_FALSE(o.has("postlude")) << o.output;
}

}  // namespace
