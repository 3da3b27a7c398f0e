// SPDX-License-Identifier: MIT
// Static ste::threads built before any of ste's own process-wide state is first used
// (the deadlock edges, timers, notifiers): were that state in ordinary
// statics, it would be destroyed before these threads at exit. Their drain at exit uses
// all of it — a submit from one ste thread to another, a thread watched for stalls —
// and must still work.
#include <chrono>
#include <cstdlib>

#include "say.hpp"

using lifetime::say;
using namespace std::chrono_literals;

namespace {

lifetime::gate exit_began;

// Destroyed in the reverse order: second (whose drain uses the others), first, watched.
ste::thread watched = ste::builder()
                          .name("watched")
                          .on_stall(1h, [](ste::stall_info const&) { say("stall?"); })
                          .postlude([] { say("watched postlude"); })
                          .build();
ste::thread first = ste::builder().name("first").postlude([] { say("first postlude"); }).build();
ste::thread second = ste::builder().name("second").postlude([] { say("second postlude"); }).build();

}  // namespace

int main() {
  // First uses, after the threads above exist.
  second.submit([] { first.submit([] {}); });  // a ste thread waits on a ste thread
  second.submit([] { watched.submit([] {}); });
  (void)first.post_after(1h, [] {});           // a timer (cancelled by the join)
  ste::notifier n = first.make_notifier([] {});
  n.notify();
  // The drain at exit does it all again.
  second.post([] {
    exit_began.wait();
    first.submit([] { say("second's submit to first ran"); });
    watched.submit([] { say("second's submit to watched ran"); });
  });
  std::atexit([] {
    say("exit begins");
    exit_began.open();
  });
  say("main returns");
  return 0;
}
