// peer_ste.hpp — the system under test: ste::thread::submit.
//
// Every peer of ste_compare has the same shape (checked by the harness at compile time):
//
//   struct peer {
//     struct submitter;                // per submitting thread; outlives the worker
//     explicit peer(int worker_cpu);   // starts the worker (pinned when cpu >= 0)
//     void round_trip(submitter&);     // one blocking hand-off of "++count" to the worker
//     std::uint64_t stop();            // joins the worker; how many tasks it ran
//   };
//
// The harness checks that stop() equals the number of round trips it made, so a peer
// that loses or duplicates a task fails the run instead of looking fast.
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
                    .prelude([worker_cpu] {
                      if (worker_cpu >= 0) pin_current_thread(worker_cpu);
                    })
                    .build()) {}

  void round_trip(submitter&) {
    thread_.submit([this] { ++count_; });
  }

  std::uint64_t stop() {
    thread_.join();  // join() orders the worker's writes to count_ before this read
    return count_;
  }

 private:
  std::uint64_t count_ = 0;  // worker thread only, until stop()
  ste::thread thread_;
};

}  // namespace bench
