// SPDX-License-Identifier: MIT
// The consumer: a program that uses ste the way an application would, built against ste
// in one of four ways (see CMakeLists.txt beside this file). It exits non-zero if
// anything is off, including the version it was promised.
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include <ste/ste.hpp>      // the umbrella header...
#include <ste/version.hpp>  // ...and the generated version header, both installed

#ifndef STE_CONSUMER_MODE
#error "STE_CONSUMER_MODE must be defined by CMakeLists.txt"
#endif

int main() {
  int failures = 0;
  auto check = [&](bool ok, char const* what) {
    std::printf("  [%s] %s\n", ok ? " ok " : "FAIL", what);
    if (!ok) ++failures;
  };
  std::printf("ste consumer (%s), ste %s\n", STE_CONSUMER_MODE, STE_VERSION_STRING);
  check(std::strcmp(STE_VERSION_STRING, STE_CONSUMER_EXPECTED_VERSION) == 0,
        "the headers carry the version of the ste that was built");

  ste::thread thread = ste::builder().name("consumer").build();
  int n = 1;
  thread.submit([&] { n += 41; });  // borrows n
  check(n == 42, "submit ran the task on the thread");

  ste::bound<std::string> text = thread.make_bound<std::string>("bound");
  bool refused = false;
  try {
    (void)text->size();
  } catch (ste::wrong_thread const&) {
    refused = true;
  }
  check(refused, "bound<T> refuses access off its thread");
  check(thread.submit([&] { return *text; }) == "bound", "bound<T> works on its thread");

  thread.join();
  check(!text, "join() destroyed the bound value");
  std::printf("%s\n", failures == 0 ? "OK" : "FAILED");
  return failures == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
