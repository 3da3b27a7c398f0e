// SPDX-License-Identifier: MIT
// A ste::thread with static storage — one at namespace scope, one function-local — is
// joined at exit when main returns: the work posted before the exit drains, then the
// postlude runs. The first task of each thread waits until the exit has begun (an
// atexit handler registered after both threads runs before their destructors), so the
// work is still queued when main returns.
#include "say.hpp"

using lifetime::say;

namespace {

lifetime::gate exit_began;  // trivially destructible: outlives the threads

ste::thread namespace_thread = ste::builder()
                                   .name("ns-static")
                                   .postlude([] { say("namespace postlude"); })
                                   .build();

ste::thread& local_thread() {
  static ste::thread t =
      ste::builder().name("local-static").postlude([] { say("local postlude"); }).build();
  return t;
}

}  // namespace

int main() {
  namespace_thread.post([] {
    exit_began.wait();
    say("namespace task 0");
  });
  for (int i = 1; i < 4; ++i) namespace_thread.post([i] { say("namespace task %d", i); });
  local_thread().post([] {
    exit_began.wait();
    say("local task 0");
  });
  for (int i = 1; i < 4; ++i) local_thread().post([i] { say("local task %d", i); });
  std::atexit([] {
    say("exit begins");
    exit_began.open();
  });
  say("main returns");
  return 0;
}
