// SPDX-License-Identifier: MIT
// handoff_base.hpp — what the real-time hand-off measurements (handoffs.cpp) share with
// their peers: the consumer thread's placement, the post-throughput counter task, the
// wake-latency probe, and the std::thread scaffolding of the peers that need one.
//
// A post sink (throughput of fire-and-forget hand-offs) has the shape
//
//   struct sink {
//     static constexpr char const* name;
//     sink();                      // starts the consumer thread
//     void post(count_task t);     // from any producer thread: queue t, run it there
//     void stop();                 // after every posted task ran: joins the consumer
//   };
//
// and a wake system (trigger -> run latency) the shape
//
//   struct wake {
//     static constexpr char const* name;
//     wake(consumer_config, wake_probe&);  // starts the consumer, placed as asked
//     void trigger();              // producer: make the consumer run probe.on_run() once
//     clockid_t consumer_clock();  // the consumer thread's CPU clock
//     void stop();                 // no trigger in flight: joins the consumer
//   };
#pragma once

#include <atomic>
#include <cstdint>
#include <cstdlib>
#include <latch>
#include <thread>

#include "platform.hpp"

namespace bench {

/// Where the consumer thread runs and at which priority.
struct consumer_config {
  int cpu = -1;          // -1: the OS decides
  int rt_priority = 0;   // 0: normal scheduling; else SCHED_FIFO at this priority
};

/// Applies `c` to the calling thread; a refusal is fatal (see pin_current_thread).
inline void apply_consumer_config(consumer_config c) noexcept {
  if (c.cpu >= 0) pin_current_thread(c.cpu);
  if (c.rt_priority > 0) set_fifo_current_thread(c.rt_priority);
}

/// The post-throughput state: the consumer counts tasks; the one that reaches `target`
/// reads the clock and raises `done`.
struct post_counter {
  std::uint64_t count = 0;   // consumer only (read by the harness after done)
  std::uint64_t target = 0;  // written by the harness while no task is queued
  std::int64_t end_ns = 0;   // written by the task that reaches target, before done
  std::atomic<bool> done{false};
};

/// The posted task: `++count` on the consumer. One pointer: it fits every small-buffer
/// optimisation (std::function's too), so no peer allocates for the callable itself
/// beyond what its queue does.
struct count_task {
  post_counter* c;
  void operator()() const noexcept {
    if (++c->count != c->target) return;
    c->end_ns = now_ns();
    c->done.store(true, std::memory_order_release);
    c->done.notify_one();
  }
};

/// What the consumer runs on each trigger: reads the clock first, then counts the run
/// (release: the producer reads run_ns after it saw the count).
struct wake_probe {
  std::atomic<std::int64_t> run_ns{0};
  std::atomic<std::uint64_t> runs{0};
  void on_run() noexcept {
    run_ns.store(now_ns(), std::memory_order_relaxed);
    runs.fetch_add(1, std::memory_order_release);
  }
};

/// A wake system on a std::thread consumer. Core:
///   static constexpr char const* name;
///   explicit core(wake_probe&);
///   void trigger();        // producer side
///   void serve();          // consumer loop; returns once stopped
///   void request_stop();   // no trigger in flight; serve() is to return
template <class Core>
class wake_peer {
 public:
  static constexpr char const* name = Core::name;

  wake_peer(consumer_config c, wake_probe& probe)
      : core_(probe), worker_([this, c] {
          apply_consumer_config(c);
          if (!current_thread_cpu_clock(clock_)) std::abort();
          started_.count_down();
          core_.serve();
        }) {
    started_.wait();
  }
  wake_peer(wake_peer const&) = delete;
  wake_peer& operator=(wake_peer const&) = delete;
  ~wake_peer() {
    if (worker_.joinable()) stop();
  }

  void trigger() { core_.trigger(); }
  clockid_t consumer_clock() const noexcept { return clock_; }
  void stop() {
    core_.request_stop();
    worker_.join();
  }

 private:
  Core core_;  // first: built before the worker starts, gone after it ends
  clockid_t clock_{};  // written before started_ counts down
  std::latch started_{1};
  std::thread worker_;  // last
};

}  // namespace bench
