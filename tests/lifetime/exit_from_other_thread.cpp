// SPDX-License-Identifier: MIT
// std::exit called from a task on one ste thread (main's, never joined) while a static
// ste::thread is joined by the exit handlers running there: the static thread drains
// and runs its postlude. Its postlude's submit to the exiting thread — which waits for
// it to close — throws deadlock_error instead of hanging.
#include <cstdlib>

#include "say.hpp"

using lifetime::say;

namespace {

lifetime::gate exit_began;
ste::thread* exiting = nullptr;  // main's thread, which calls exit

ste::thread static_thread = ste::builder()
                                .name("static")
                                .postlude([] {
                                  try {
                                    exiting->submit([] { say("postlude's submit ran"); });
                                    say("postlude's submit returned");
                                  } catch (ste::deadlock_error const&) {
                                    say("postlude's submit: deadlock_error");
                                  }
                                  say("static postlude");
                                })
                                .build();

}  // namespace

int main() {
  ste::thread other = ste::builder().name("other").build();
  exiting = &other;
  static_thread.post([] {
    exit_began.wait();
    say("static task 0");
  });
  for (int i = 1; i < 4; ++i) static_thread.post([i] { say("static task %d", i); });
  std::atexit([] {
    say(exiting->tag().is_on_thread() ? "exit begins on the other thread"
                                      : "exit begins OFF the other thread");
    exit_began.open();
  });
  other.post([] {
    say("other calls exit");
    std::exit(7);
  });
  // Queued behind the exit: never runs, and the process ends while this waits.
  other.submit([] { say("submit behind the exit"); });
  say("main: submit returned");
  return 1;
}
