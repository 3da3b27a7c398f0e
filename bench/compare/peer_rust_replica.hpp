// SPDX-License-Identifier: MIT
// peer_rust_replica.hpp — a C++ replica of the Rust crate `ste` 0.1's hand-off, the
// algorithm this library set out to beat:
// - the submitter's task node lives on its stack and is linked at the back of an
//   intrusive list guarded by one mutex; the submitter wakes the worker when it made the
//   list non-empty, then parks;
// - the worker pops nodes under the mutex, runs each, and unparks its submitter; with
//   the list empty it parks;
// - a parker tries sched_yield three times, checking its flag in between, and then
//   waits on a condition variable.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <thread>

#include "peer_base.hpp"

namespace bench {

namespace replica {

/// A one-bit "you may go on" token: unpark() sets it, park() consumes it, waiting first
/// with three sched_yield()s and then on a condition variable.
class parker {
 public:
  void park() {
    for (int i = 0; i < 3; ++i) {
      if (try_consume()) return;
      std::this_thread::yield();
    }
    if (try_consume()) return;
    std::unique_lock lock(mutex_);
    std::uint32_t expected = kEmpty;
    // Announced under the mutex: unpark() takes the mutex before notifying, so it
    // cannot notify in the gap between this announcement and wait() below.
    if (!state_.compare_exchange_strong(expected, kParked, std::memory_order_acquire)) {
      state_.store(kEmpty, std::memory_order_relaxed);  // it was kNotified: consume it
      return;
    }
    do {
      cv_.wait(lock);  // spurious wake-ups loop
    } while (!try_consume());
  }

  void unpark() {
    // release: what the unparker wrote before (the task's effects) is visible to the
    // parked side once it consumes the token (acquire).
    if (state_.exchange(kNotified, std::memory_order_release) != kParked) return;
    { std::lock_guard lock(mutex_); }
    cv_.notify_one();
  }

 private:
  bool try_consume() noexcept {
    std::uint32_t expected = kNotified;
    return state_.compare_exchange_strong(expected, kEmpty, std::memory_order_acquire);
  }

  static constexpr std::uint32_t kEmpty = 0;
  static constexpr std::uint32_t kParked = 1;
  static constexpr std::uint32_t kNotified = 2;
  std::atomic<std::uint32_t> state_{kEmpty};
  std::mutex mutex_;
  std::condition_variable cv_;
};

struct node {
  node* next = nullptr;
  void (*run)(node*) = nullptr;
  parker* waiter = nullptr;
};

}  // namespace replica

class rust_replica_core {
 public:
  static constexpr char const* name = "rust-ste-0.1";
  // Each submitting thread parks on its own parker. It lives in the harness, which
  // outlives the worker: unpark() still touches the parker's mutex after the submitter
  // may already have seen the token and returned, so it must not die with the frame.
  // (The Rust crate reached it through a reference-counted handle; keeping it here
  // instead costs the replica nothing and keeps it sound.)
  struct submitter {
    replica::parker parker;
  };

  void round_trip(submitter& s) {
    struct task : replica::node {
      rust_replica_core* self;
    } t;
    t.self = this;
    t.waiter = &s.parker;
    t.run = [](replica::node* n) { ++static_cast<task*>(n)->self->count_; };
    bool first = false;
    {
      std::lock_guard lock(mutex_);
      first = head_ == nullptr;
      (first ? head_ : tail_->next) = &t;
      tail_ = &t;
    }
    if (first) worker_parker_.unpark();
    s.parker.park();
  }

  void serve() {
    for (;;) {
      replica::node* n = nullptr;
      bool stopping = false;
      {
        std::lock_guard lock(mutex_);
        n = head_;
        if (n != nullptr) {
          head_ = n->next;
          if (head_ == nullptr) tail_ = nullptr;
        }
        stopping = stopping_;
      }
      if (n == nullptr) {
        if (stopping) return;
        worker_parker_.park();
        continue;
      }
      n->run(n);
      // Last touch of the node: once the token is set, its submitter may return and
      // the node (in the submitter's frame) is gone.
      n->waiter->unpark();
    }
  }

  void request_stop() {
    raise_stop_flag(mutex_, stopping_);
    worker_parker_.unpark();
  }

  std::uint64_t tasks_run() const noexcept { return count_; }

 private:
  task_count count_;  // worker thread only, until stop(); its own line (platform.hpp)
  std::mutex mutex_;
  replica::node* head_ = nullptr;  // guarded by mutex_
  replica::node* tail_ = nullptr;  // guarded by mutex_
  bool stopping_ = false;          // guarded by mutex_
  replica::parker worker_parker_;
};

using rust_replica_peer = worker_peer<rust_replica_core>;

}  // namespace bench
