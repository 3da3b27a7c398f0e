// SPDX-License-Identifier: MIT
// std::exit called from a task on a static ste::thread: the exit handlers run on that
// very thread, so its own destructor runs there. It must not wait for itself: it stops
// accepting work and returns, the other handlers run, and the process ends with the
// status passed to exit. The exiting task never returns, so the tasks queued behind it
// and the postlude do not run; a bound<T> of the thread destroyed by the handlers is
// destroyed there, on its thread.
#include <cstdlib>

#include "say.hpp"

using lifetime::say;

namespace {

struct value {
  ste::tag owner;
  ~value() { say(owner.is_on_thread() ? "value destroyed on its thread" : "value destroyed OFF its thread"); }
};

lifetime::gate queued;

ste::thread worker =
    ste::builder().name("exiting").postlude([] { say("postlude"); }).build();
ste::bound<value> held;  // after the thread: destroyed before it, by the exiting thread

}  // namespace

int main() {
  held = worker.make_bound<value>(worker.tag());
  std::atexit([] {
    say(worker.tag().is_on_thread() ? "exit handlers run on the ste thread"
                                    : "exit handlers run OFF the ste thread");
  });
  worker.post([] {
    queued.wait();  // until the hand-offs below are in: once it exits, they are refused
    say("exiting task");
    std::exit(5);
  });
  worker.post([] { say("task behind the exit"); });
  queued.open();
  try {
    // Behind the exit: never runs; the process ends while this waits (or, if the
    // exit's destructor came first, it is refused).
    worker.submit([] { say("submit behind the exit"); });
    say("main: submit returned");
  } catch (ste::stopped_error const&) {
  }
  lifetime::wait_for_the_end();
}
