// SPDX-License-Identifier: MIT
// ste/notifier.hpp — a coalescing, real-time-safe trigger for a callable on a ste thread.
//
// For an audio driver's real-time callback that must tell the ste thread "there is
// something for you" without ever blocking: notify() takes no lock, allocates nothing,
// throws nothing and makes at most one wake-up system call (only when the ste thread
// sleeps). Notifies that arrive before the run starts are coalesced into it.
//
//   ste::thread meter = ste::builder().name("meter").build();
//   std::atomic<float> peak{0};
//   ste::notifier redraw = meter.make_notifier([&] { draw(peak.load()); });  // allocates
//   // in the audio callback (any thread, SCHED_FIFO included):
//   peak.store(level, std::memory_order_relaxed);
//   redraw.notify();            // the ste thread runs draw() soon, once per burst
//   ...
//   redraw.reset();             // blocks: not for real-time threads
//
// Memory ordering: what the caller did before a notify() that returned true is visible
// to the run of f that it caused or coalesced into.
#pragma once

#include "ste/export.hpp"

#include <utility>

#include "ste/detail/notifier_block.hpp"

namespace ste {

class thread;

/// A move-only handle to a callable `f` that runs on one ste thread whenever notified.
/// Runs of one notifier never overlap; a notify that arrives while f runs makes it run
/// once more afterwards. The handle is not synchronised with itself beyond notify(): one
/// thread may reset or move it while no other thread calls notify() on it.
class STE_API notifier {
 public:
  /// An empty handle: notify() returns false.
  notifier() noexcept = default;
  notifier(notifier&& other) noexcept : block_(std::exchange(other.block_, nullptr)) {}
  /// Resets this handle (see reset()), then takes `other`'s.
  notifier& operator=(notifier&& other) noexcept {
    if (this != &other) {
      reset();
      block_ = std::exchange(other.block_, nullptr);
    }
    return *this;
  }
  notifier(notifier const&) = delete;
  notifier& operator=(notifier const&) = delete;
  /// As reset().
  ~notifier() { reset(); }

  /// From any thread, including threads the program did not create: asks for a run of
  /// f on the thread. True when accepted: f starts on the thread at least once after
  /// this call began (notifies that arrive before that start share it). False — and f
  /// does not run for this call — when the handle is empty or the thread no longer
  /// accepts work from the caller (after join() began; from the thread itself, not
  /// before its postlude). Takes no lock, does not allocate, throws nothing, never
  /// blocks; makes at most one wake-up system call, only when the thread sleeps.
  /// Lock-free: its retry loop repeats only when another thread made progress.
  bool notify() const noexcept { return block_ != nullptr && block_->notify(); }

  /// Afterwards f does not start again: a pending run is withdrawn, a run in progress is
  /// waited for (not when called on the thread itself, e.g. from f), and f is destroyed
  /// on the thread — by join() if the thread stopped first, which reset() then waits
  /// for. Blocks (not for real-time threads). Never throws: where waiting would close a
  /// cycle of ste threads (deadlock), f is left to the thread, destroyed there by join()
  /// at the latest. An exception from f's destructor goes to on_error. Does nothing on
  /// an empty handle.
  void reset() noexcept {
    if (block_ != nullptr) detail::notifier_block::release(std::exchange(block_, nullptr));
  }

  /// True until reset() or a move emptied the handle.
  explicit operator bool() const noexcept { return block_ != nullptr; }

 private:
  friend class thread;
  explicit notifier(detail::notifier_block* block) noexcept : block_(block) {}

  detail::notifier_block* block_ = nullptr;
};

}  // namespace ste
