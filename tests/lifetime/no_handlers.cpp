// SPDX-License-Identifier: MIT
// std::quick_exit and _exit run no static destructor: a static ste::thread is then not
// joined — neither its queued work nor its postlude runs — and nothing waits: the
// process ends with the status given. Argument: "quick_exit-task" (from a task on the
// static thread; at_quick_exit handlers run), "quick_exit-main", "_exit-task".
#include <unistd.h>

#include <cstdlib>
#include <string_view>

#include "say.hpp"

using lifetime::say;

namespace {

lifetime::gate queued;
ste::thread worker = ste::builder().name("static").postlude([] { say("postlude"); }).build();

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) return 2;
  std::string_view const how = argv[1];
  std::at_quick_exit([] { say("at_quick_exit handler"); });
  std::atexit([] { say("atexit handler"); });
  if (how == "quick_exit-main") {
    worker.post([] { say("queued task"); });
    say("main calls quick_exit");
    std::quick_exit(8);
  }
  worker.post([how] {
    queued.wait();  // until the hand-offs below are in
    say("task ends the process");
    if (how == "_exit-task") ::_exit(9);
    std::quick_exit(8);
  });
  worker.post([] { say("task behind"); });
  queued.open();
  worker.submit([] { say("submit behind"); });  // never runs, never refused: no destructor
  say("main: submit returned");
  return 1;
}
