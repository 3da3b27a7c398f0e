// SPDX-License-Identifier: MIT
// std::exit called on a static ste::thread while main is inside that thread's join():
// from a task it drains (argument "task"), or from its postlude ("postlude"). The exit
// handlers run on the thread and destroy its static handle there, while main holds the
// join and waits for the thread to end — which it never does, the process ends first.
// The destructor must return without waiting for the join (nor for itself).
#include <chrono>
#include <cstdlib>
#include <cstring>

#include "say.hpp"

using lifetime::say;
using namespace std::chrono_literals;

namespace {

bool exit_in_postlude = false;  // set before the thread's first task

ste::thread worker = ste::builder()
                         .name("joined")
                         .postlude([] {
                           say("postlude");
                           if (exit_in_postlude) std::exit(6);
                         })
                         .build();

// On the thread: whether join() has begun (delayed tasks are refused from then on, even
// on the thread itself).
bool join_began() {
  try {
    ste::timer t = worker.post_after(1h, [] {});
    t.cancel();
    return false;
  } catch (ste::stopped_error const&) {
    return true;
  }
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) return 2;
  exit_in_postlude = std::strcmp(argv[1], "postlude") == 0;
  std::atexit([] { say("exit handler"); });
  worker.post([] {
    while (!join_began()) std::this_thread::yield();
    say("task sees join");
    if (!exit_in_postlude) std::exit(6);
  });
  worker.post([] { say("task behind"); });
  say("main joins");
  worker.join();
  say("main: join returned");
  return 1;
}
