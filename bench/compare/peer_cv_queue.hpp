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

#include "platform.hpp"

namespace bench {

class cv_queue_peer {
 public:
  static constexpr char const* name = "cv+promise";
  struct submitter {};

  explicit cv_queue_peer(int worker_cpu) : worker_([this, worker_cpu] { run(worker_cpu); }) {
    clock_ = startup_.wait();
  }

  clockid_t worker_clock() const noexcept { return clock_; }

  cv_queue_peer(cv_queue_peer const&) = delete;
  cv_queue_peer& operator=(cv_queue_peer const&) = delete;
  ~cv_queue_peer() {
    if (worker_.joinable()) stop();
  }

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

  std::uint64_t stop() {
    {
      std::lock_guard lock(mutex_);
      stopping_ = true;
    }
    wake_.notify_one();
    worker_.join();
    return count_;
  }

 private:
  // The promise travels with the job and the worker owns it while calling set_value:
  // a promise left in the submitter's frame could be destroyed by the returning
  // submitter while set_value is still running on the worker.
  struct job {
    std::function<void()> fn;
    std::promise<void> done;
  };

  void run(int worker_cpu) {
    startup_.on_worker(worker_cpu);
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

  std::uint64_t count_ = 0;  // worker thread only, until stop()
  std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<job> jobs_;    // guarded by mutex_
  bool stopping_ = false;   // guarded by mutex_
  worker_startup startup_;  // before worker_, which uses it at once
  clockid_t clock_{};
  std::thread worker_;  // last: starts after everything it uses exists
};

}  // namespace bench
