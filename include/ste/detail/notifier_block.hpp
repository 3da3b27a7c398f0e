// SPDX-License-Identifier: MIT
// ste/detail/notifier_block.hpp — the one heap block behind a ste::notifier.
//
// The block holds the callable, the queue node that carries a run through the thread's
// FIFO, and one atomic state word. notify() — from any thread, a real-time callback
// included — is a CAS on that word, plus, for the caller that made the run pending, one
// push of the node onto the inbox (docs/design.md §12 has the protocol; the Spin model
// verify/spin/notifier.pml checks it, seeded bugs included).
//
// The state word: [ generation | D | C | T | U | Q | P ]
//   P pending: a run is wanted and not yet claimed by the worker
//   Q queued:  the node is owned by a pusher, or linked (inbox or FIFO)
//   U pushed:  the node is linked: it will be popped (set by the pusher after its push,
//              with a CAS that checks the generation, so a late one cannot mark a newer
//              claim as pushed)
//   T touched: a coalescing notify relies on P (a refused pusher leaves P set then)
//   C closed:  reset() or join() began: no run starts any more
//   D done:    the callable was destroyed (by join()'s pass; reset() waits for it)
//   A abandoned (in the same word): the handle let go without waiting; whoever of the
//              handle and join()'s pass comes second frees the block
// A run that is pending while its node is not known to be linked (P and not Q&U: its
// pusher may have stopped for ever between its claim and its push) is run by the
// worker's sweep instead, out of FIFO order: so no notify waits on another thread.
#pragma once

#include "ste/export.hpp"

#include <atomic>
#include <cstdint>
#include <memory>
#include <optional>
#include <utility>

#include "ste/detail/intrusive_list.hpp"
#include "ste/detail/task_node.hpp"

namespace ste::detail {

class core;
class notifier_block;

/// A queue node that knows its block.
struct block_node : task_node {
  notifier_block* block = nullptr;
};

class STE_API notifier_block {
 public:
  static constexpr std::uintptr_t kPending = 1;
  static constexpr std::uintptr_t kQueued = 2;
  static constexpr std::uintptr_t kPushed = 4;
  static constexpr std::uintptr_t kTouched = 8;
  static constexpr std::uintptr_t kClosed = 16;
  static constexpr std::uintptr_t kDone = 32;
  static constexpr std::uintptr_t kAbandoned = 64;
  static constexpr std::uintptr_t kFlags = 127;
  static constexpr std::uintptr_t kGeneration = 128;  // one step of the generation

  notifier_block(notifier_block const&) = delete;
  notifier_block& operator=(notifier_block const&) = delete;

  /// notifier::notify: any thread; no lock, no allocation, at most one wake-up call.
  bool notify() const noexcept;
  /// notifier::reset: the handle lets go of the block (which may be freed before this
  /// returns). Blocks off the thread; never throws.
  static void release(notifier_block* b) noexcept;
  /// Frees a block that was never registered (make_notifier refused).
  static void discard(notifier_block* b) noexcept;

  // --- The worker (src/notifier.cpp, core's sweep and destruction pass). -------------

  /// A pending run whose node is not known to be linked (the sweep runs it).
  bool wants_sweep() const noexcept;
  /// The FIFO run's node (pushed by notify) and the sweep's node (linked into the FIFO
  /// by the worker only, under the desk).
  task_node& node() noexcept { return node_; }
  task_node& sweep_node() noexcept { return sweep_node_; }
  /// join()'s pass, after the close: no run starts any more; destroys the callable
  /// (exceptions go to on_error) and frees the block if the handle abandoned it.
  void destroy_by_join() noexcept;

  list_hook<notifier_block> registry_hook;  // core's registry, guarded by the desk

 protected:
  using call_fn = void (*)(notifier_block*);
  using destroy_fn = void (*)(notifier_block*, bool free_block);

  notifier_block(std::shared_ptr<core> owner, call_fn call, destroy_fn destroy,
                 ste::site const& where) noexcept;
  ~notifier_block() = default;

 private:
  static void run_node(task_node* n);
  static void run_sweep(task_node* n);
  bool push_claimed(std::uintptr_t claimed) const noexcept;
  void run_claimed();
  bool cleanup_on_thread() noexcept;
  void destroy_callable() noexcept;
  void free_block() { destroy_(this, true); }
  void free_block_quietly() noexcept;

  std::shared_ptr<core> const core_;
  call_fn const call_;        // runs the callable
  destroy_fn const destroy_;  // destroys the callable (and, when asked, frees the block)

  // Every change is a read-modify-write (seq_cst: the refusal argument in design.md §12
  // orders these with the inbox word's phase changes in one total order).
  mutable std::atomic<std::uintptr_t> state_{0};
  mutable block_node node_;  // the FIFO run: pushed by the notify that made it pending
  block_node sweep_node_;    // the sweep's run: linked by the worker

  // The worker thread only.
  bool running_ = false;   // the callable runs now (reset on the thread must not free)
  bool orphaned_ = false;  // reset on the thread during a run: freed after it
};

/// The block for a callable of type F.
template <class F>
class notifier_of final : public notifier_block {
 public:
  template <class G>
  notifier_of(std::shared_ptr<core> owner, ste::site const& where, G&& g)
      : notifier_block(std::move(owner), &call, &destroy, where), f_(std::forward<G>(g)) {}

 private:
  ~notifier_of() = default;
  static void call(notifier_block* b) { static_cast<notifier_of*>(b)->f_.value()(); }
  static void destroy(notifier_block* b, bool free_block) {
    auto* self = static_cast<notifier_of*>(b);
    if (free_block) {
      delete self;
      return;
    }
    self->f_.reset();
  }

  std::optional<F> f_;
};

}  // namespace ste::detail
