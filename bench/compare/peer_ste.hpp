// SPDX-License-Identifier: MIT
// peer_ste.hpp — the system under test: ste::thread::submit (round trips), post and
// ste::notifier (the real-time hand-offs), post_every (the periodic timer).
//
// Every peer of ste_compare has the same shape (checked by the harness at compile time):
//
//   struct peer {
//     struct submitter;                // per submitting thread; outlives the worker
//     explicit peer(int worker_cpu);   // starts the worker (pinned when cpu >= 0)
//     clockid_t worker_clock() const;  // the worker thread's CPU clock
//     void round_trip(submitter&);     // one blocking hand-off of "++count" to the worker
//     std::uint64_t stop();            // joins the worker; how many tasks it ran
//   };
//
// The harness checks that stop() equals the number of round trips it made, so a peer
// that loses or duplicates a task fails the run instead of looking fast. The peers with
// a std::thread worker get all but round_trip from worker_peer (peer_base.hpp); ste's
// worker is the ste::thread itself.
#pragma once

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <stdexcept>
#include <string>

#include "handoff_base.hpp"
#include "platform.hpp"
#include "ste/ste.hpp"
#include "timer_base.hpp"

namespace bench {

class ste_peer {
 public:
  static constexpr char const* name = "ste";
  struct submitter {};

  explicit ste_peer(int worker_cpu)
      : thread_(ste::builder()
                    .name("cmp-ste")
                    .prelude([this, worker_cpu] { startup_.on_worker(worker_cpu); })
                    .build()) {
    clock_ = startup_.wait();  // build() returned after the prelude: no wait really
  }

  clockid_t worker_clock() const noexcept { return clock_; }

  void round_trip(submitter&) {
    thread_.submit([this] { ++count_; });
  }

  std::uint64_t stop() {
    thread_.join();  // join() orders the worker's writes to count_ before this read
    return count_;
  }

 private:
  task_count count_;  // worker thread only, until stop(); its own line (platform.hpp)
  worker_startup startup_;   // before thread_: its prelude writes here
  clockid_t clock_{};
  ste::thread thread_;
};

// --- The real-time hand-offs (handoffs.cpp) ------------------------------------

/// Post throughput: ste::thread::post, one heap block per task (the task's record).
class ste_post_sink {
 public:
  static constexpr char const* name = "ste post";
  ste_post_sink() : thread_(ste::builder().name("cmp-ste-post").build()) {}
  void post(count_task t) { thread_.post(t); }
  void stop() { thread_.join(); }

 private:
  ste::thread thread_;
};

/// A ste thread placed and scheduled as `c` asks, through the builder (cpu_affinity,
/// realtime): what a user of ste writes. A real-time thread that did not become one
/// would measure the wrong thing: that is fatal.
inline ste::thread make_consumer_thread(consumer_config c, char const* name, clockid_t& clock) {
  ste::builder b;
  b.name(name);
  b.prelude([&clock] {
    if (!current_thread_cpu_clock(clock)) throw std::runtime_error("no per-thread CPU clock");
  });
  if (c.cpu >= 0) b.cpu_affinity({c.cpu});
  if (c.rt_priority > 0) b.realtime({.priority = c.rt_priority});
  ste::thread t = b.build();
  if (c.rt_priority > 0 && !t.is_realtime())
    throw std::runtime_error("a realtime ste thread reports is_realtime() == false");
  return t;
}

/// Wake latency through ste::notifier: the probe is the notifier's f, made once; each
/// trigger is notify() (no allocation, no lock, at most one wake-up system call): what a
/// real-time producer is meant to call. The harness waits for each run before the next
/// trigger, so no notify coalesces and every trigger is one run (the count check holds).
class ste_notifier_wake {
 public:
  static constexpr char const* name = "ste notifier";
  ste_notifier_wake(consumer_config c, wake_probe& probe)
      : thread_(make_consumer_thread(c, "cmp-ste-notify", clock_)),
        notifier_(thread_.make_notifier([p = &probe] { p->on_run(); })) {}
  void trigger() {
    if (!notifier_.notify()) {  // only after join() began: a harness bug
      std::fputs("ste_compare: FATAL: ste::notifier::notify() returned false\n", stderr);
      std::abort();
    }
  }
  clockid_t consumer_clock() const noexcept { return clock_; }
  void stop() {
    notifier_.reset();  // f is destroyed on the thread, before it stops
    thread_.join();
  }

 private:
  clockid_t clock_{};  // written by the prelude, before build() returns
  ste::thread thread_;
  ste::notifier notifier_;  // after thread_: reset (destroyed) before the thread is
};

/// Wake latency through post: each trigger posts the probe (allocates one block; not
/// what a real-time producer should call, but the reference for "a task handed over").
class ste_post_wake {
 public:
  static constexpr char const* name = "ste post";
  ste_post_wake(consumer_config c, wake_probe& probe)
      : probe_(probe), thread_(make_consumer_thread(c, "cmp-ste-wake", clock_)) {}
  void trigger() {
    thread_.post([p = &probe_] { p->on_run(); });
  }
  clockid_t consumer_clock() const noexcept { return clock_; }
  void stop() { thread_.join(); }

 private:
  wake_probe& probe_;
  clockid_t clock_{};  // written by the prelude, before build() returns
  ste::thread thread_;
};

// --- The periodic timer (timers.cpp) ---------------------------------------------

/// ste::thread::post_every(period, f): f's deadlines are start + k·period, where start is
/// post_every's own clock read, which comes after the one start() makes here: the
/// deadlines this loop computes are at most that gap (a few ns; the conversion of the
/// period) early, so the lateness it reports is, if anything, a little too large. A run
/// late by a period or more skips the missed deadlines: after each run the next
/// deadline is the first start + k·period after the run's end, as post_every does it
/// (src/timer.cpp reads its clock a few ns after this loop's, so in the rare case that
/// a deadline falls in between, the next run would count one period late: the reported
/// lateness could only be too large, never too small).
class ste_timer_loop {
 public:
  static constexpr char const* name = "ste post_every";
  ste_timer_loop(consumer_config c, tick_log& log)
      : log_(log), thread_(make_consumer_thread(c, "cmp-ste-timer", clock_)) {}

  void start(std::int64_t period_ns) {
    period_ = period_ns;
    next_ = steady_ns() + period_ns;  // post_every publishes this to the runs
    timer_ = thread_.post_every(std::chrono::nanoseconds(period_ns), [this] { on_tick(); });
  }

  void stop() {
    if (!timer_.cancel())
      throw std::runtime_error("ste::timer::cancel() returned false for a running periodic timer");
    std::uint64_t const after = log_.runs();  // no run starts after cancel() returned
    thread_.join();
    if (log_.runs() != after)
      throw std::runtime_error("wrong count: ste post_every ran after cancel() returned (" +
                               std::to_string(log_.runs()) + " runs, " + std::to_string(after) +
                               " when cancel() returned)");
    if (after < log_.capacity())
      throw std::runtime_error("wrong count: ste post_every ran " + std::to_string(after) +
                               " times, " + std::to_string(log_.capacity()) + " expected");
  }

 private:
  void on_tick() noexcept {
    log_.record(steady_ns(), next_);
    next_ += period_;
    std::int64_t const end = steady_ns();
    while (next_ <= end) next_ += period_;  // the missed deadlines are skipped
  }

  tick_log& log_;
  std::int64_t period_ = 0;
  std::int64_t next_ = 0;  // the worker's, after start()
  clockid_t clock_{};      // written by the prelude, before build() returns
  ste::thread thread_;
  ste::timer timer_;  // after thread_; destroying it does not cancel
};

}  // namespace bench
