// SPDX-License-Identifier: MIT
// peer_ste.hpp — the system under test: ste::thread::submit.
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

#include <cstdint>

#include "platform.hpp"
#include "ste/ste.hpp"

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
  std::uint64_t count_ = 0;  // worker thread only, until stop()
  worker_startup startup_;   // before thread_: its prelude writes here
  clockid_t clock_{};
  ste::thread thread_;
};

}  // namespace bench
