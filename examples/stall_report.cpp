// SPDX-License-Identifier: MIT
// A stall report: which task hogged the thread, and who handed it over.
//
// An audio thread must never run a task for long. builder::on_stall asks ste's watchdog
// (one thread for the whole process) to report every task that has run longer than a
// threshold — while it still runs, with the file and line where it was handed over.
// stats() then tells how busy the thread was and which task was the longest.
//
//   cmake --preset release && cmake --build build/release --target ste_stall_report
//   ./build/release/examples/ste_stall_report
//
// The program checks its own outcome: it exits non-zero if the report did not come or
// named the wrong place.
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <mutex>
#include <string>

#include <ste/ste.hpp>

namespace {

// What the handler saw, copied out of the stall_info (its name is only valid while the
// thread's handle lives; the site's strings are string literals and live for ever).
struct report {
  std::mutex mutex;
  std::condition_variable cv;
  int count = 0;
  ste::site site;
  std::string thread_name;
  std::chrono::nanoseconds elapsed{0};
};

void print_stats(char const* label, ste::thread_stats const& s) {
  using std::chrono::duration_cast;
  using us = std::chrono::microseconds;
  std::printf("[main ] %s: accepted %llu, completed %llu, queued %llu (peak %llu),\n", label,
              static_cast<unsigned long long>(s.accepted),
              static_cast<unsigned long long>(s.completed),
              static_cast<unsigned long long>(s.queued),
              static_cast<unsigned long long>(s.peak_queued));
  std::printf("        busy %lld us, longest %lld us at %s:%lu\n",
              static_cast<long long>(duration_cast<us>(s.busy).count()),
              static_cast<long long>(duration_cast<us>(s.longest).count()),
              s.longest_site.file(), static_cast<unsigned long>(s.longest_site.line()));
}

}  // namespace

int main() {
  using namespace std::chrono_literals;
  report seen;

  // 1. A thread whose tasks are watched: any task running longer than 5 ms is reported.
  //    The handler runs on the watchdog thread: keep it short, never wait in it for the
  //    watched thread.
  ste::thread audio = ste::builder()
                          .name("audio")
                          .on_stall(5ms,
                                    [&seen](ste::stall_info const& info) {
                                      std::lock_guard lock(seen.mutex);
                                      ++seen.count;
                                      seen.site = info.site;
                                      seen.thread_name = std::string(info.name);
                                      seen.elapsed = info.elapsed;
                                      seen.cv.notify_all();
                                    })
                          .build();

  // 2. Well-behaved work: short tasks are never reported.
  for (int i = 0; i < 100; ++i) audio.post([] {});
  audio.submit([] {});

  // 3. A task that blocks too long. Here it blocks until the report came, so the
  //    example cannot race the watchdog; a real one would be a slow device call or a
  //    lock. The site recorded is the line of this submit call.
  std::uint_least32_t const stall_line = __LINE__ + 1;
  audio.submit([&seen] {
    std::unique_lock lock(seen.mutex);
    seen.cv.wait(lock, [&] { return seen.count > 0; });
  });

  // 4. The report: thread, site, and how long the task had run when the watchdog saw it.
  {
    std::lock_guard lock(seen.mutex);
    std::printf("[watchdog] thread \"%s\": a task has run for %lld us (threshold 5 ms)\n",
                seen.thread_name.c_str(),
                static_cast<long long>(
                    std::chrono::duration_cast<std::chrono::microseconds>(seen.elapsed).count()));
    std::printf("[watchdog]   it was handed over at %s:%lu, in %s\n", seen.site.file(),
                static_cast<unsigned long>(seen.site.line()), seen.site.function());
  }

  // 5. The counters since the thread started: exact now, as nothing is queued or running.
  ste::thread_stats const stats = audio.stats();
  print_stats("stats", stats);
  audio.join();

  // 6. Check the outcome.
  int failures = 0;
  auto const check = [&failures](bool ok, char const* what) {
    if (!ok) {
      std::fprintf(stderr, "stall_report: FAILED: %s\n", what);
      ++failures;
    }
  };
  std::lock_guard lock(seen.mutex);
  check(seen.count == 1, "exactly one stall report");
  check(seen.thread_name == "audio", "the report names the thread");
  check(seen.site.line() == stall_line, "the report names the line of the stalling submit");
  check(std::strcmp(seen.site.file(), __FILE__) == 0, "the report names this file");
  check(seen.elapsed >= 5ms, "the reported task had run at least the threshold");
  check(stats.accepted == 102 && stats.completed == 102 && stats.queued == 0,
        "stats() counts the 102 tasks");
  check(stats.longest >= seen.elapsed, "the longest task ran at least as long as reported");
  check(stats.busy >= stats.longest, "busy time covers the longest task");
  if (failures == 0) std::puts("[main ] ok");
  return failures == 0 ? 0 : 1;
}
