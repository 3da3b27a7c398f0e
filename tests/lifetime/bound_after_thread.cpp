// SPDX-License-Identifier: MIT
// A static bound<T> whose thread is joined first: at namespace scope, defined before its
// thread (so destroyed after it), and function-local, of a thread main joined already.
// join() destroys each value on its thread (before the postlude); the handle's
// destructor then finds the thread closed and only lets go of its block: no second
// destruction, nothing destroyed off the thread, no crash, no hang, nothing leaked.
#include <atomic>
#include <cstdlib>

#include "say.hpp"

using lifetime::say;

namespace {

struct value {
  char const* name;
  ste::tag owner;
  ~value() { say("%s destroyed %s its thread", name, owner.is_on_thread() ? "on" : "OFF"); }
};

// Registered before any handle below exists: runs after all of them are destroyed.
int const last_words = std::atexit([] { say("last exit handler"); });

ste::bound<value> early;  // before its thread: destroyed after it
ste::thread worker = ste::builder().name("static").postlude([] { say("static postlude"); }).build();

}  // namespace

int main() {
  early = worker.make_bound<value>("early", worker.tag());
  {
    ste::thread joined = ste::builder().name("joined").postlude([] { say("joined postlude"); }).build();
    static ste::bound<value> local = joined.make_bound<value>("local", joined.tag());
    joined.join();
    say("joined thread joined");
  }
  say("main returns");
  return 0;
}
