// SPDX-License-Identifier: MIT
// peer_cv_queue.hpp — the textbook hand-off: a std::deque of std::function behind a
// std::mutex, a std::condition_variable to wake the worker, and a std::promise per call
// for the answer. What most code bases write by hand.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <future>
#include <mutex>
#include <thread>
#include <utility>

#include "handoff_base.hpp"
#include "peer_base.hpp"

namespace bench {

class cv_queue_core {
 public:
  static constexpr char const* name = "cv+promise";
  struct submitter {};

  void round_trip(submitter&) {
    job j{[this] { ++count_; }, {}};
    std::future<void> done = j.done.get_future();
    {
      std::lock_guard lock(mutex_);
      jobs_.push_back(std::move(j));
    }
    wake_.notify_one();
    done.get();
  }

  void serve() {
    for (;;) {
      std::unique_lock lock(mutex_);
      wake_.wait(lock, [this] { return stopping_ || !jobs_.empty(); });
      if (jobs_.empty()) return;  // stopping and drained
      job j = std::move(jobs_.front());
      jobs_.pop_front();
      lock.unlock();
      j.fn();
      j.done.set_value();
    }
  }

  void request_stop() {
    raise_stop_flag(mutex_, stopping_);
    wake_.notify_one();
  }

  std::uint64_t tasks_run() const noexcept { return count_; }

 private:
  // The promise travels with the job and the worker owns it while calling set_value:
  // a promise left in the submitter's frame could be destroyed by the returning
  // submitter while set_value is still running on the worker.
  struct job {
    std::function<void()> fn;
    std::promise<void> done;
  };

  task_count count_;  // worker thread only, until stop(); its own line (platform.hpp)
  std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<job> jobs_;   // guarded by mutex_
  bool stopping_ = false;  // guarded by mutex_
};

using cv_queue_peer = worker_peer<cv_queue_core>;

/// Post throughput: the same textbook queue, fire and forget (no promise); the producer
/// notifies after every push, the worker pops one task per lock.
class cv_queue_post_sink {
 public:
  static constexpr char const* name = "cv queue post";
  void post(count_task t) {
    {
      std::lock_guard lock(mutex_);
      jobs_.emplace_back(t);
    }
    wake_.notify_one();
  }
  void stop() {
    raise_stop_flag(mutex_, stopping_);
    wake_.notify_one();
    worker_.join();
  }

 private:
  void serve() {
    for (;;) {
      std::unique_lock lock(mutex_);
      wake_.wait(lock, [this] { return stopping_ || !jobs_.empty(); });
      if (jobs_.empty()) return;  // stopping and drained
      std::function<void()> fn = std::move(jobs_.front());
      jobs_.pop_front();
      lock.unlock();
      fn();
    }
  }

  std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<std::function<void()>> jobs_;  // guarded by mutex_
  bool stopping_ = false;                   // guarded by mutex_
  std::thread worker_{[this] { serve(); }};  // last
};

}  // namespace bench
