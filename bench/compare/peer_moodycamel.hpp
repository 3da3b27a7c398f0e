// SPDX-License-Identifier: MIT
// peer_moodycamel.hpp — moodycamel's lock-free queue (Debian libconcurrentqueue-dev),
// used the way its README shows for handing work to one consumer thread:
// - post throughput: BlockingConcurrentQueue<std::function<void()>>, producers call
//   enqueue(f) (implicit per-thread producer queues, no tokens), one consumer thread
//   loops on wait_dequeue(f) and calls f(). std::function because that is what a user
//   writes for "run these closures over there"; the benchmark's closure is one pointer,
//   inside libstdc++'s small buffer, so the function itself never allocates (the queue
//   allocates blocks, and recycles them).
// - wake latency: the same queue, one closure per trigger (the counterpart of ste's
//   post), and LightweightSemaphore signal()/wait() (the counterpart of a notifier: a
//   counting semaphore that spins up to 10,000 times before it sleeps on a POSIX sem).
// enqueue may allocate (a new block) and is lock-free otherwise; signal() makes a
// system call only when the consumer sleeps.
#pragma once

#include <atomic>
#include <functional>
#include <thread>

#include "handoff_base.hpp"
#include "peer_base.hpp"

#include <concurrentqueue/blockingconcurrentqueue.h>
#include <concurrentqueue/lightweightsemaphore.h>

namespace bench {

/// The consumer loop: an empty std::function is the stop signal. It is enqueued only
/// after every other item ran, so moodycamel's per-producer (not global) FIFO cannot
/// let it overtake one.
inline void moodycamel_serve(moodycamel::BlockingConcurrentQueue<std::function<void()>>& q) {
  std::function<void()> f;
  for (;;) {
    q.wait_dequeue(f);
    if (!f) return;
    f();
  }
}

/// Post throughput.
class moodycamel_post_sink {
 public:
  static constexpr char const* name = "moodycamel";
  void post(count_task t) { queue_.enqueue(std::function<void()>(t)); }
  void stop() {
    queue_.enqueue(std::function<void()>());
    worker_.join();
  }

 private:
  moodycamel::BlockingConcurrentQueue<std::function<void()>> queue_;
  std::thread worker_{[this] { moodycamel_serve(queue_); }};  // last
};

/// Wake latency: one closure per trigger through the blocking queue.
class moodycamel_queue_core {
 public:
  static constexpr char const* name = "mc queue";
  explicit moodycamel_queue_core(wake_probe& probe) : probe_(probe) {}
  void trigger() {
    queue_.enqueue([p = &probe_] { p->on_run(); });
  }
  void serve() { moodycamel_serve(queue_); }
  void request_stop() { queue_.enqueue(std::function<void()>()); }

 private:
  wake_probe& probe_;
  moodycamel::BlockingConcurrentQueue<std::function<void()>> queue_;
};

/// Wake latency: LightweightSemaphore, the consumer runs the probe after each wait().
class moodycamel_sema_core {
 public:
  static constexpr char const* name = "mc sema";
  explicit moodycamel_sema_core(wake_probe& probe) : probe_(probe) {}
  void trigger() noexcept { sema_.signal(); }
  void serve() {
    for (;;) {
      while (!sema_.wait()) {
      }
      if (stopping_.load(std::memory_order_acquire)) return;
      probe_.on_run();
    }
  }
  void request_stop() {
    stopping_.store(true, std::memory_order_release);
    sema_.signal();
  }

 private:
  wake_probe& probe_;
  moodycamel::LightweightSemaphore sema_;
  std::atomic<bool> stopping_{false};
};

using moodycamel_queue_wake = wake_peer<moodycamel_queue_core>;
using moodycamel_sema_wake = wake_peer<moodycamel_sema_core>;

}  // namespace bench
