// SPDX-License-Identifier: MIT
// ste/detail/mailbox.hpp — where work for one ste thread arrives, and how its worker
// waits for it.
//
// Two parts (docs/design.md §2–§4 has the argument, verify/ the proofs):
//
// - The inbox: one atomic word, pushed to by producers — any thread — with one CAS and
//   no lock. It holds the newest pushed node (the chain runs newest-first through
//   task_node::inbox_next), the phase (running → draining → closed) and the worker's
//   sleep flag. The phase travels in the same word as the push, so a push and join()'s
//   phase change are ordered by one CAS each: refusal after join() is exact.
// - The desk: the worker-side FIFO (in acceptance order), the announced comebacks and
//   the close waiters, behind a priority-inheriting mutex. Taken by the worker, by a
//   timed submitter withdrawing its record, and by a joiner's deadlock walk — never by a
//   producer. A drain (under the desk) moves the inbox chain to the back of the FIFO.
//
// The wake-up protocol: the worker, about to sleep, sets the sleep flag S with a CAS
// that also checks that nothing arrived, then sleeps on the word. Every producer that
// sees S wakes it after its own push; producers never clear S (only the worker does,
// once awake), so a producer stopped between its push and its wake delays no one else:
// the next push, or join(), still sees S. Every push sets bit N ("not empty"; a drain
// clears it), so the word's low 32 bits — all a Linux futex compares — differ from the
// empty word the worker sleeps on after any push, whatever the node's address.
#pragma once

#include "ste/export.hpp"

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <string>

#include "ste/detail/comebacks.hpp"
#include "ste/detail/pi_mutex.hpp"
#include "ste/detail/task_node.hpp"
#include "ste/detail/throw.hpp"
#include "ste/detail/tsa.hpp"

namespace ste::detail {

class STE_API mailbox {
 public:
  enum class phase : std::uint8_t {
    running = 0,   // accepts work from everyone
    draining = 1,  // join() started: accepts work from the thread itself only
    closed = 2,    // the postlude started: accepts nothing
  };
  /// Who hands work in: the ste thread itself may still do so while it drains.
  enum class caller : std::uint8_t { own_thread, other_thread };

  /// `thread_name` names the thread in refusal messages; it outlives the mailbox.
  explicit mailbox(std::string const& thread_name) noexcept : name_(thread_name) {}
  mailbox(mailbox const&) = delete;
  mailbox& operator=(mailbox const&) = delete;

  pi_mutex& desk() noexcept STE_RETURN_CAPABILITY(desk_) { return desk_; }

  // --- Producers: any thread; no lock. ----------------------------------------------

  /// Pushes `n`: accepted, it runs exactly once. Returns the inbox word the push
  /// replaced (for ahead_hint). Throws stopped_error (nothing pushed) when closed to
  /// `who`. Touches nothing of the core after the push.
  std::uintptr_t link_task(task_node& n, caller who);
  /// How many tasks were queued ahead of a node whose push replaced `before` (a hint for
  /// the waiting strategy). Only for a caller that keeps the core alive (a blocking
  /// submitter holds its handle).
  std::size_t ahead_hint(std::uintptr_t before) const noexcept;
  /// As link_task for a coroutine moving here (schedule); its refusal is the
  /// stopped_error a spawned coroutine may end on quietly.
  void link_coroutine(task_node& n, caller who);
  /// Pushes the node of an announced comeback (`r`: its record, if any); the worker
  /// settles the comeback when it takes the node. Never refused: the thread cannot close
  /// while a comeback is announced.
  void link_comeback(task_node& n, comeback_record* r) noexcept;
  /// Pushes the completion of a block_on on the thread itself. Never refused: the
  /// thread is inside that block_on, so it cannot have closed.
  void link_completion(task_node& n) noexcept;
  /// Whether the thread accepts work from `who` now. seq_cst: ordered with join()'s
  /// phase change and the sweep request in one total order (notifier, design.md §12).
  bool accepts(caller who) const noexcept {
    return open_to(phase_of(inbox_.load(std::memory_order_seq_cst)), who);
  }
  /// Pushes `n`; false (nothing pushed) when closed to `who` (a notifier's node, a
  /// cancelled timer's cleanup).
  bool try_link(task_node& n, caller who) noexcept {
    n.comeback = false;
    return push(n, who, true);
  }
  /// Asks the worker to sweep the notifiers: sets the request, then N on the inbox word
  /// (so that a worker about to sleep on it sees news) and wakes it if it sleeps. No
  /// lock, at most one wake-up call.
  void request_sweep() noexcept;
  /// running → draining; wakes a sleeping worker so that it drains now. Then records
  /// when join() began (stop_time).
  void stop_accepting() noexcept;
  /// When join() began, for the delayed tasks it still runs: the clock read just after
  /// the phase change, by whoever needs it first (the joiner, or the worker that saw the
  /// change before the joiner got to it); one value for everyone. Only once the phase
  /// left running.
  std::chrono::steady_clock::time_point stop_time() noexcept;
  /// Whether the postlude has started (nothing can be bound any more).
  bool closed() const noexcept { return phase_of(load_acquire()) == phase::closed; }
  /// Why the thread no longer accepts work (for refusal messages): join unless
  /// end_by(exit) or close_in_child said otherwise.
  stop_cause cause() const noexcept { return cause_.load(std::memory_order_relaxed); }
  /// The worker, before its own stop_accepting, when a task ended the OS thread.
  void end_by(stop_cause cause) noexcept { cause_.store(cause, std::memory_order_relaxed); }
  /// The child's fork handler (one thread in the process, none of the parent's threads
  /// exists): closed for good, the pushed nodes (parent threads' records) forgotten.
  void close_in_child() noexcept {
    cause_.store(stop_cause::fork, std::memory_order_relaxed);
    inbox_.store(static_cast<std::uintptr_t>(phase::closed), std::memory_order_relaxed);
  }

  // --- A timed submitter whose deadline passed: takes the desk. ----------------------

  /// Unlinks `n` if the worker has not started it: true then, and it never runs.
  bool withdraw(task_node& n) noexcept STE_EXCLUDES(desk_);

  // --- The thread itself: comebacks (each takes the desk). ---------------------------

  /// Announces a comeback (with its record, if any). Throws stopped_error when closed to
  /// `who`. Returns whether ste threads are blocked joining this one: then the caller
  /// must check that the coroutine does not start on one of them.
  bool announce_comeback(comeback_record* r, caller who) STE_EXCLUDES(desk_);
  /// As announce_comeback without a record; false (nothing counted) when closed.
  bool try_announce_comeback(caller who) noexcept STE_EXCLUDES(desk_);
  /// Withdraws an announced comeback that will not arrive.
  void withdraw_comeback(comeback_record* r) noexcept STE_EXCLUDES(desk_);

  /// For the deadlock walk (src/deadlock.cpp): any thread, takes the desk.
  void count_close_waiter() noexcept STE_EXCLUDES(desk_);
  void uncount_close_waiter() noexcept STE_EXCLUDES(desk_);
  bool unstarted_comeback_targets(core const* self, core** out, std::size_t max,
                                  std::size_t& n) noexcept STE_EXCLUDES(desk_);

  /// Tasks accepted so far (thread::stats()), counted where no producer pays for it: a
  /// pushed task (task_accounting::by_mailbox) by the drain that moves it to the FIFO — this call
  /// drains first — and a task the worker counts itself (count_accepted_by_worker). A
  /// task withdrawn unstarted is uncounted. Takes the desk (held by others only for a
  /// few pointer writes). A reader that saw a task completed sees it counted: its drain
  /// preceded its run.
  std::uint64_t accepted() noexcept STE_EXCLUDES(desk_);
  /// The worker (the only writer): a task it counts itself (a timer's or notifier's run,
  /// a coroutine resumed from the timer heap), or uncounts (a submit_for record reached
  /// after its deadline).
  void count_accepted_by_worker() noexcept {
    worker_accepted_.store(worker_accepted_.load(std::memory_order_relaxed) + 1,
                           std::memory_order_relaxed);
  }
  void uncount_accepted_by_worker() noexcept {
    worker_accepted_.store(worker_accepted_.load(std::memory_order_relaxed) - 1,
                           std::memory_order_relaxed);
  }

  /// The CPU the worker last ran on (a hint for a submitter's waiting strategy).
  int worker_cpu() const noexcept { return worker_cpu_.load(std::memory_order_relaxed); }

  // --- The worker, with the desk held. -----------------------------------------------

  bool accepting_from_everyone() const noexcept {
    return phase_of(inbox_.load(std::memory_order_seq_cst)) == phase::running;
  }
  /// Takes the sweep request (seq_cst: see accepts()).
  bool take_sweep_request_locked() noexcept STE_REQUIRES(desk_) {
    return sweep_wanted_.load(std::memory_order_relaxed) &&
           sweep_wanted_.exchange(false, std::memory_order_seq_cst);
  }
  /// Appends a node to the FIFO (the worker's sweep).
  void append_locked(task_node& n) noexcept STE_REQUIRES(desk_);
  /// Drains the inbox, then unlinks `n` from the FIFO if it is there.
  void unlink_locked(task_node& n) noexcept STE_REQUIRES(desk_);
  /// The next task in acceptance order, unlinked ("started": a withdrawal fails from
  /// here on), or nullptr. Drains the inbox when the FIFO is empty.
  task_node* pop_locked() noexcept STE_REQUIRES(desk_);
  /// How many drained tasks wait in the FIFO (peak_queued: the worker's view at a take).
  std::size_t ready_count_locked() const noexcept STE_REQUIRES(desk_) { return ready_.size(); }
  /// Nothing queued (inbox or FIFO), no comeback announced, no sweep asked for.
  bool nothing_pending_locked() const noexcept STE_REQUIRES(desk_);
  /// draining → closed if nothing was pushed meanwhile; false (still open) otherwise.
  bool try_close_locked() noexcept STE_REQUIRES(desk_);
  /// The inbox word, for spinning on a change (nothing was queued when it was read).
  std::uintptr_t word() const noexcept { return inbox_.load(std::memory_order_relaxed); }
  /// Work the worker has not taken yet (a withdrawer may have drained it into the FIFO;
  /// `seen` itself may hold N without a node: a sweep request).
  bool has_news_locked(std::uintptr_t seen) const noexcept STE_REQUIRES(desk_);
  /// Announces the sleep (sets S) if the word is still `seen`; then `seen` is the value
  /// to sleep on. False when something changed: look again instead.
  bool prepare_sleep_locked(std::uintptr_t& seen) noexcept STE_REQUIRES(desk_);
  /// After a sleep: clears S if nothing was pushed (a push leaves it to the next drain).
  void end_sleep_locked() noexcept STE_REQUIRES(desk_);

  // --- The worker, without the desk. -------------------------------------------------

  /// The bounded spin (at most `budget`) before the worker sleeps, until the word
  /// changes from `seen` (spin_end::spent: it did not).
  /// `yield_start`: as spin_wait's.
  spin_end spin_for_work(std::uintptr_t seen, std::chrono::nanoseconds budget,
                         std::chrono::steady_clock::time_point& yield_start) noexcept;
  /// Sleeps until woken (or spuriously) while the word is still `seen`; with a deadline,
  /// until then at the latest.
  void sleep(std::uintptr_t seen) noexcept;
  void sleep_until(std::uintptr_t seen, std::chrono::steady_clock::time_point deadline) noexcept;

 private:
  // The inbox word: [ node address | N | S | phase (2 bits) ]. N without a node: a
  // sweep request (request_sweep); drains clear it like any N.
  static constexpr std::uintptr_t kPhaseMask = 3;
  static constexpr std::uintptr_t kSleeping = 4;  // S: the worker sleeps on the word
  static constexpr std::uintptr_t kNonEmpty = 8;  // N: set by every push, cleared by drains
  static constexpr std::uintptr_t kFlagBits = 15;
  static_assert(alignof(task_node) > kFlagBits, "the flags live below a node's address");

  static task_node* top_of(std::uintptr_t w) noexcept {
    return reinterpret_cast<task_node*>(w & ~kFlagBits);
  }
  static phase phase_of(std::uintptr_t w) noexcept { return static_cast<phase>(w & kPhaseMask); }
  static bool open_to(phase p, caller who) noexcept {
    return p == phase::running || (p == phase::draining && who == caller::own_thread);
  }
  std::uintptr_t load_acquire() const noexcept { return inbox_.load(std::memory_order_acquire); }

  /// Publishes the FIFO's length for the producers' hint (ready_size_), saturated at
  /// kReadyHintCap and stored only when that value changes: a store on every pop would
  /// pull the producers' line (where the inbox word is) to the worker once per task.
  void publish_ready_size() noexcept STE_REQUIRES(desk_) {
    std::size_t const n = ready_.size() < kReadyHintCap ? ready_.size() : kReadyHintCap;
    if (n == published_ready_size_) return;
    published_ready_size_ = n;
    ready_size_.store(n, std::memory_order_relaxed);
  }

  /// A producer records its CPU (the worker's spin policy reads it).
  void note_submitter_cpu() noexcept;

  /// The one CAS of a hand-off; false (nothing pushed) when refused. `before`, if given,
  /// receives the word the CAS replaced.
  bool push(task_node& n, caller who, bool refusable, std::uintptr_t* before = nullptr) noexcept;
  /// Moves the inbox chain to the back of the FIFO, oldest first, and clears S; a
  /// withdrawer (not `by_worker`) that took a chain from a sleeping worker wakes it.
  void drain_locked(bool by_worker) noexcept STE_REQUIRES(desk_);

  std::string const& name_;

  // Two cache lines, so that a hand-off moves as few as possible between the CPUs.
  // The producers' line: the inbox word and every hint a producer reads or writes on
  // its way in (it holds the line for its CAS anyway); the worker touches it to drain
  // and to spin. The desk's line(s): the worker's own, so the producers' CASes never
  // take them away from it between its lock and its unlock.

  // Pushed to by every producer; drained under the desk. Only ever changed by
  // read-modify-writes, so that the pushes form one release sequence: one acquire of the
  // latest value sees every pushed node (see push and drain_locked).
  alignas(64) std::atomic<std::uintptr_t> inbox_{static_cast<std::uintptr_t>(phase::running)};
  // A hint only (relaxed; a stale value costs a little speed, never correctness): how
  // many drained tasks wait, up to kReadyHintCap (written by the desk's holders when it
  // changes, read by producers right after their push, for their spin policy).
  std::atomic<std::size_t> ready_size_{0};
  // A notifier asked for a sweep (set before its N on the inbox word, so a drain that
  // clears that N sees it; taken by the worker after a drain that found nothing).
  std::atomic<bool> sweep_wanted_{false};
  // Why the phase left running (refusal messages only): written before the phase change
  // by end_by (the worker) or while the child of a fork has one thread; read relaxed
  // after a refusal. A stale read can only name join, the usual cause: a message, never
  // a decision, depends on it.
  std::atomic<stop_cause> cause_{stop_cause::join};

  // When join() began: written once (a CAS from unset), after the phase change, by the
  // first one to need it; acq_rel / acquire so that every reader sees the winner's.
  static constexpr std::chrono::steady_clock::rep kNoStopTime =
      std::numeric_limits<std::chrono::steady_clock::rep>::min();
  std::atomic<std::chrono::steady_clock::rep> stop_time_{kNoStopTime};

  // Hints only, on a line of their own that stays shared between the CPUs: where the
  // two sides last ran (current_cpu()), so that each can tell whether the other shares
  // its CPU and should be yielded to, not spun on. Each is stored only when it changes,
  // so a round trip between two threads that stay where they are moves this line never
  // (on the inbox word's line, every read of them after the other side's CAS was a miss).
  alignas(64) std::atomic<int> worker_cpu_{-1};     // written by the worker before it spins
  std::atomic<int> submitter_cpu_{-1};  // written by a producer before its push

  alignas(64) pi_mutex desk_;
  task_queue ready_ STE_GUARDED_BY(desk_);  // drained, not started, in acceptance order
  // The value last stored to ready_size_ (the desk's holders' own copy: no load of the
  // producers' line to compare with).
  static constexpr std::size_t kReadyHintCap = 16;
  std::size_t published_ready_size_ STE_GUARDED_BY(desk_) = 0;
  // Tasks accepted (stats()), counted off the producers' path: a producer's own count
  // (an RMW before each push, as before) cost 4 producers a contended line per post.
  // drained_accepted_: pushed tasks the drains moved, less those withdrawn (the desk's
  // holders); worker_accepted_: the worker's own count, read by accepted() under the
  // desk (unsigned: it may wrap below zero; the sum does not).
  std::uint64_t drained_accepted_ STE_GUARDED_BY(desk_) = 0;
  std::atomic<std::uint64_t> worker_accepted_{0};
  comebacks comebacks_ STE_GUARDED_BY(desk_);
};

}  // namespace ste::detail
