// SPDX-License-Identifier: MIT
// RLIMIT_NPROC fault helper (not a test by itself; nproc_driver.sh runs it as an
// unprivileged user under `prlimit --nproc=N:`). Expected: ste::spawn() throws
// std::system_error with EAGAIN once the limit is reached; the threads already running
// keep serving; after one is joined, or the soft limit is raised, building works again.
// Exit status: 0 pass, 1 fail, 77 skipped (printed loudly).
#include <sys/resource.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <string>
#include <system_error>
#include <thread>
#include <vector>

#include "ste/ste.hpp"

namespace {
int fail(std::string const& why) {
  std::printf("nproc_helper: FAIL: %s\n", why.c_str());
  return 1;
}

// After join() the kernel may still count the exited thread for a moment (it is released
// after pthread_join returns): retry for up to a second.
bool spawn_eventually(std::vector<ste::thread>& into) {
  for (int i = 0; i < 1000; ++i) {
    try {
      into.push_back(ste::spawn());
      return true;
    } catch (std::system_error const&) {
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
  }
  return false;
}
}  // namespace

int main() {
  if (geteuid() == 0) {
    std::printf(
        "nproc_helper: *** SKIPPED: running as root, which ignores RLIMIT_NPROC; run "
        "it through nproc_driver.sh (setpriv to an unprivileged user) ***\n");
    return 77;
  }
  rlimit lim{};
  getrlimit(RLIMIT_NPROC, &lim);
  if (lim.rlim_cur == RLIM_INFINITY) return fail("no RLIMIT_NPROC soft limit is set");
  std::printf(
      "nproc_helper: uid %d, RLIMIT_NPROC soft %llu hard %llu\n", static_cast<int>(getuid()),
      static_cast<unsigned long long>(lim.rlim_cur),
      lim.rlim_max == RLIM_INFINITY ? ~0ull : static_cast<unsigned long long>(lim.rlim_max));

  std::vector<ste::thread> threads;
  std::error_code refused;
  std::string message;
  for (int i = 0; i < 4096 && !refused; ++i) {
    try {
      threads.push_back(ste::spawn());
    } catch (std::system_error const& e) {
      refused = e.code();
      message = e.what();
    }
  }
  if (!refused) return fail("4096 threads started: RLIMIT_NPROC was not enforced");
  std::printf("nproc_helper: refused after %zu ste threads: std::system_error %d (%s): %s\n",
              threads.size(), refused.value(), refused.message().c_str(), message.c_str());
  if (refused != std::error_code(EAGAIN, std::generic_category()))
    return fail("expected EAGAIN (resource_unavailable_try_again)");
  // A stack size does not change the outcome: still a std::system_error.
  try {
    auto t = ste::builder().stack_size(1 << 20).build();
    threads.push_back(std::move(t));
    std::printf("nproc_helper: (a thread with a stack size slipped in)\n");
  } catch (std::system_error const& e) {
    std::printf("nproc_helper: with stack_size(1 MiB): std::system_error %d: %s\n",
                e.code().value(), e.what());
  }

  for (auto& t : threads)
    if (t.submit([] { return 11; }) != 11) return fail("a running thread stopped serving");

  if (!threads.empty()) {
    threads.back().join();
    threads.pop_back();
    if (!spawn_eventually(threads)) return fail("no build worked after a thread was joined");
    std::printf("nproc_helper: after joining one thread, build() works again\n");
  }
  if (lim.rlim_max > lim.rlim_cur) {
    rlimit raised = lim;
    raised.rlim_cur = lim.rlim_max == RLIM_INFINITY ? lim.rlim_cur + 64 : lim.rlim_max;
    if (setrlimit(RLIMIT_NPROC, &raised) != 0) return fail("could not raise the soft limit");
    for (int i = 0; i < 8; ++i)
      if (!spawn_eventually(threads)) return fail("no build worked after raising the limit");
    std::printf("nproc_helper: after raising the soft limit, 8 more builds work\n");
  }
  for (auto& t : threads) t.join();
  std::printf("nproc_helper: PASS\n");
  return 0;
}
