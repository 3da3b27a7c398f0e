// SPDX-License-Identifier: MIT
// std::exit called from main (main's locals are not destroyed): the static ste::thread
// is joined by the exit handlers like on a return from main — its posted work drains and
// its postlude runs — while a ste::thread local to main is still running, never joined.
#include <cstdlib>

#include "say.hpp"

using lifetime::say;

namespace {

lifetime::gate exit_began;

ste::thread static_thread =
    ste::builder().name("static").postlude([] { say("static postlude"); }).build();

}  // namespace

int main() {
  ste::thread local = ste::builder().name("local").postlude([] { say("local postlude"); }).build();
  local.submit([] { say("local thread runs"); });
  static_thread.post([] {
    exit_began.wait();
    say("static task 0");
  });
  for (int i = 1; i < 4; ++i) static_thread.post([i] { say("static task %d", i); });
  std::atexit([] {
    say("exit begins");
    exit_began.open();
  });
  say("main calls exit");
  std::exit(3);
}
