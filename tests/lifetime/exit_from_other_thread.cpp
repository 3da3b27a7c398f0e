// SPDX-License-Identifier: MIT
// std::exit called from a task on one ste thread (main's, never joined) while a static
// ste::thread is joined by the exit handlers running there: the static thread drains
// and runs its postlude. Its postlude's submit to the exiting thread — which waits for
// it to close — throws deadlock_error instead of hanging. A static thread that waits on
// the exiting thread is not joined (that would deadlock): the process ends anyway.
#include <cstdlib>

#include "say.hpp"

using lifetime::say;

namespace {

lifetime::gate exit_began;
lifetime::gate exit_posted;
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

// Defined after static_thread, so destroyed first. Its task waits on the exiting thread:
// joining it from there would deadlock, so the destructor leaves it (detached) instead —
// or, if the join came first, that submit throws deadlock_error. Neither hangs.
ste::thread waiter = ste::builder().name("waiter").build();

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
  // Posted before the exit task (after it, the exit may have refused it already); its
  // submit lands behind the exit task (FIFO on one thread): it never runs.
  waiter.post([] {
    exit_posted.wait();
    try {
      exiting->submit([] { say("waiter's submit ran"); });
    } catch (ste::deadlock_error const&) {
      say("waiter's submit: deadlock_error");
    }
  });
  other.post([] {
    say("other calls exit");
    std::exit(7);
  });
  exit_posted.open();
  // Queued behind the exit: never runs, and the process ends while this waits.
  other.submit([] { say("submit behind the exit"); });
  say("main: submit returned");
  lifetime::wait_for_the_end();
}
