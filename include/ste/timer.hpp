// SPDX-License-Identifier: MIT
// ste/timer.hpp — the handle of a delayed or periodic task (post_after / post_at /
// post_every on ste::thread).
//
//   ste::thread ui = ste::builder().name("ui").build();
//   ste::timer meter = ui.post_every(30ms, [&] { redraw_meter(); });
//   ui.post_after(2s, [&] { end_fade(); });   // the handle may be dropped: it runs anyway
//   ...
//   meter.cancel();   // no run starts after this; a run in progress is waited for
//
// join() does not wait for deadlines: a one-shot still pending when join() starts never
// runs (its callable is destroyed on the thread), one already due runs; periodic timers
// start no run once join() started.
//
// Memory ordering: what the caller of post_* did before is visible to every run of f.
// A cancel() that waited for a run in progress sees everything that run did.
#pragma once

#include "ste/export.hpp"

#include <utility>

#include "ste/detail/timer_block.hpp"

namespace ste {

class thread;

/// A move-only handle to a delayed or periodic task. Destroying it does not cancel.
class STE_API timer {
 public:
  /// An empty handle: cancel() returns false.
  timer() noexcept = default;
  timer(timer&& other) noexcept : block_(std::exchange(other.block_, nullptr)) {}
  /// Lets go of this handle's timer (without cancelling it), then takes `other`'s.
  timer& operator=(timer&& other) noexcept {
    if (this != &other) {
      let_go();
      block_ = std::exchange(other.block_, nullptr);
    }
    return *this;
  }
  timer(timer const&) = delete;
  timer& operator=(timer const&) = delete;
  /// Does not cancel: the timer runs on as if the handle were still there.
  ~timer() { let_go(); }

  /// Afterwards f does not start again. Returns true when this prevented a run: a
  /// one-shot that had not started, or a periodic timer not cancelled before; false
  /// otherwise — a one-shot that ran or is running, a timer already cancelled, one that
  /// join() dropped, an empty handle. Off the thread, a run in progress is waited for
  /// (on the thread itself, e.g. from inside f, it is not). f is destroyed on the
  /// thread. Any thread; concurrent calls are safe. Does not allocate. Throws
  /// ste::deadlock_error when waiting for the run in progress would close a cycle of
  /// ste threads (that run waits on the caller's thread); the timer is cancelled then
  /// all the same.
  bool cancel() const;

  /// Whether the handle has a timer (not default-constructed or moved from).
  explicit operator bool() const noexcept { return block_ != nullptr; }

 private:
  friend class thread;
  explicit timer(detail::timer_block* b) noexcept : block_(b) {}
  void let_go() noexcept;

  detail::timer_block* block_ = nullptr;
};

}  // namespace ste
