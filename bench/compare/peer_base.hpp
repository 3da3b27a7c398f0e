// SPDX-License-Identifier: MIT
// peer_base.hpp — the worker scaffolding every std::thread peer shares: start the worker
// (pinned when asked), hand the harness its CPU clock, join it on stop() or destruction.
// A peer file writes only its hand-off, as a core:
//
//   struct core {
//     static constexpr char const* name;  // in the table and the CSV
//     struct submitter;                   // per submitting thread; outlives the worker
//     void round_trip(submitter&);        // one blocking hand-off of "++count" to the worker
//     void serve();                       // the worker's loop; returns once stopped and drained
//     void request_stop();                // no round trip in flight; serve() is to return
//     std::uint64_t tasks_run() const;    // read after the worker has been joined
//   };
//
// and names its peer `worker_peer<core>`.
// - The core is constructed before the worker starts and destroyed after it was joined,
//   so serve() never sees a half-built or dead core.
// - round_trip() calls the core's directly (no virtual call, inlined), so the harness
//   times exactly the core's hand-off.
#pragma once

#include <cstdint>
#include <mutex>
#include <thread>

#include "platform.hpp"

namespace bench {

/// Sets a stop flag that the worker reads under `mutex`; wake the worker after it. Set
/// under that same mutex: otherwise the write races with the worker's read, and a worker
/// waiting on a condition variable that has just read it as false misses the wake-up.
inline void raise_stop_flag(std::mutex& mutex, bool& flag) {
  std::lock_guard lock(mutex);
  flag = true;
}

template <class Core>
class worker_peer {
 public:
  static constexpr char const* name = Core::name;
  using submitter = typename Core::submitter;

  explicit worker_peer(int worker_cpu) : worker_([this, worker_cpu] { serve(worker_cpu); }) {
    clock_ = startup_.wait();
  }

  worker_peer(worker_peer const&) = delete;
  worker_peer& operator=(worker_peer const&) = delete;
  ~worker_peer() {
    if (worker_.joinable()) stop();
  }

  clockid_t worker_clock() const noexcept { return clock_; }

  void round_trip(submitter& s) { core_.round_trip(s); }

  std::uint64_t stop() {
    core_.request_stop();
    worker_.join();  // orders the worker's writes to the core's count before the read
    return core_.tasks_run();
  }

 private:
  void serve(int worker_cpu) {
    startup_.on_worker(worker_cpu);
    core_.serve();
  }

  Core core_;               // first: built before the worker starts, gone after it ends
  worker_startup startup_;  // before worker_, which uses it at once
  clockid_t clock_{};
  std::thread worker_;  // last: starts after everything it uses exists
};

}  // namespace bench
