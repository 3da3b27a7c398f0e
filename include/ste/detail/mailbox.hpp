// SPDX-License-Identifier: MIT
// ste/detail/mailbox.hpp — where work for one ste thread arrives, and how its worker
// waits for it.
//
// Everything here shares one lock (a spin_lock, held only for a few pointer writes):
// the FIFO of task records, the phase (running → draining → closed), the announced
// comebacks of coroutines, and the worker's sleep announcement. Producers — any thread
// — link, withdraw and announce through the public members, which take the lock. The
// worker's loop (core, src/worker.cpp) holds the lock itself and calls the *_locked
// members in between.
//
// The wake-up protocol: the worker, about to sleep, sets worker_sleeping_ and reads
// wake_word_ under the lock, then sleeps on the word with the value it read. A producer
// that links work under the lock and sees worker_sleeping_ bumps the word before it
// unlocks, and wakes the worker after: a bump after the worker's read is never missed.
#pragma once

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>

#include "ste/detail/comebacks.hpp"
#include "ste/detail/spin_lock.hpp"
#include "ste/detail/task_node.hpp"
#include "ste/detail/tsa.hpp"

namespace ste::detail {

class core;

class mailbox {
 public:
  enum class phase : std::uint8_t {
    running,   // accepts work from everyone
    draining,  // join() started: accepts work from the thread itself only
    closed,    // the postlude started: accepts nothing
  };
  /// Who hands work in: the ste thread itself may still do so while it drains.
  enum class caller : std::uint8_t { own_thread, other_thread };

  /// `thread_name` names the thread in refusal messages; it outlives the mailbox.
  explicit mailbox(std::string const& thread_name) noexcept : name_(thread_name) {}
  mailbox(mailbox const&) = delete;
  mailbox& operator=(mailbox const&) = delete;

  spin_lock& lock() noexcept STE_RETURN_CAPABILITY(lock_) { return lock_; }

  // --- Producers: any thread; each takes the lock. ----------------------------------

  /// Links `n` at the back: accepted, it runs exactly once. Returns how many tasks were
  /// queued ahead of it. Throws stopped_error (nothing linked) when closed to `who`.
  std::size_t link_task(task_node& n, caller who) STE_EXCLUDES(lock_);
  /// As link_task for a coroutine moving here (schedule); its refusal is the
  /// stopped_error a spawned coroutine may end on quietly.
  void link_coroutine(task_node& n, caller who) STE_EXCLUDES(lock_);
  /// Unlinks `n` if the worker has not started it: true then, and it never runs.
  bool withdraw(task_node& n) noexcept STE_EXCLUDES(lock_);
  /// running → draining; wakes an idle worker so that it drains now.
  void stop_accepting() noexcept STE_EXCLUDES(lock_);
  /// Whether the postlude has started (nothing can be bound any more).
  bool closed() noexcept STE_EXCLUDES(lock_);

  /// Announces a comeback (with its record, if any). Throws stopped_error when closed to
  /// `who`. Returns whether ste threads are blocked joining this one: then the caller
  /// must check that the coroutine does not start on one of them.
  bool announce_comeback(comeback_record* r, caller who) STE_EXCLUDES(lock_);
  /// As announce_comeback without a record; false (nothing counted) when closed.
  bool try_announce_comeback(caller who) noexcept STE_EXCLUDES(lock_);
  /// Withdraws an announced comeback that will not arrive; wakes the worker, which may
  /// have been waiting only for it.
  void withdraw_comeback(comeback_record* r) noexcept STE_EXCLUDES(lock_);
  /// Links the node of an announced comeback. Never refused: the thread cannot close
  /// while a comeback is announced.
  void link_comeback(task_node& n, comeback_record* r) noexcept STE_EXCLUDES(lock_);
  /// Links the completion of a block_on on the thread itself. Never refused: the
  /// thread is inside that block_on, so it cannot have closed.
  void link_completion(task_node& n) noexcept STE_EXCLUDES(lock_);

  /// For the deadlock walk (src/deadlock.cpp).
  void count_close_waiter() noexcept STE_EXCLUDES(lock_);
  void uncount_close_waiter() noexcept STE_EXCLUDES(lock_);
  bool unstarted_comeback_targets(core const* self, core** out, std::size_t max,
                                  std::size_t& n) noexcept STE_EXCLUDES(lock_);

  /// The CPU the worker last ran on (a hint for a submitter's waiting strategy).
  int worker_cpu() const noexcept { return worker_cpu_.load(std::memory_order_relaxed); }

  // --- The worker, with the lock held. ------------------------------------------------

  bool accepting_from_everyone_locked() const noexcept STE_REQUIRES(lock_) {
    return phase_ == phase::running;
  }
  /// The next task, unlinked ("started": a withdrawal fails from here on), or nullptr.
  task_node* pop_locked() noexcept STE_REQUIRES(lock_);
  /// Nothing queued and no comeback announced.
  bool nothing_pending_locked() const noexcept STE_REQUIRES(lock_) {
    return queue_.empty() && comebacks_.none_pending();
  }
  /// Drained for good: from here on nothing is accepted.
  void close_locked() noexcept STE_REQUIRES(lock_);
  /// The worker looked at everything: producers must raise the hint again.
  void clear_work_hint_locked() noexcept STE_REQUIRES(lock_) {
    has_work_.store(false, std::memory_order_relaxed);
  }
  /// Work arrived that the worker has not looked at.
  bool has_news_locked() const noexcept STE_REQUIRES(lock_);
  /// Announces the sleep; returns the wake word to sleep on.
  std::uint32_t prepare_sleep_locked() noexcept STE_REQUIRES(lock_);
  void end_sleep_locked() noexcept STE_REQUIRES(lock_) { worker_sleeping_ = false; }

  // --- The worker, without the lock. --------------------------------------------------

  /// The bounded spin on the work hint before the worker sleeps; true when work came.
  bool spin_for_work() noexcept;
  /// Sleeps until woken (or spuriously) when the word still reads `seen`; with a
  /// deadline, until then at the latest.
  void sleep(std::uint32_t seen) noexcept;
  void sleep_until(std::uint32_t seen, std::chrono::steady_clock::time_point deadline) noexcept;

 private:
  bool open_to_locked(caller who) const noexcept STE_REQUIRES(lock_);
  void link_locked(task_node& n) noexcept STE_REQUIRES(lock_);
  void set_phase_locked(phase p) noexcept STE_REQUIRES(lock_);
  /// If the worker sleeps: ends its sleep announcement and returns the address to wake
  /// once the lock is released (a key only); else nullptr.
  void const* wake_key_locked() noexcept STE_REQUIRES(lock_);

  class producer_lock;  // a producer's critical section (src/mailbox.cpp)

  std::string const& name_;
  spin_lock lock_;
  task_queue queue_ STE_GUARDED_BY(lock_);
  phase phase_ STE_GUARDED_BY(lock_) = phase::running;
  comebacks comebacks_ STE_GUARDED_BY(lock_);
  bool worker_sleeping_ STE_GUARDED_BY(lock_) = false;  // the worker sleeps on wake_word_
  // "Worker, look under the lock": raised when work is linked, a comeback withdrawn or
  // join() starts; cleared when the worker has looked at everything. Written under
  // lock_, read relaxed by the worker's spin (the lock taken afterwards synchronises).
  std::atomic<bool> has_work_{false};
  // Bumped under lock_ to wake the sleeping worker; the worker sleeps on it with the
  // value it read under the lock. relaxed: the kernel compares the word, the lock
  // orders everything else.
  std::atomic<std::uint32_t> wake_word_{0};
  // Where the two sides last ran (current_cpu()), so that each can tell whether the
  // other shares its CPU and should be yielded to rather than spun on. Hints only:
  // relaxed, and a stale value costs a little speed, never correctness.
  std::atomic<int> worker_cpu_{-1};     // written by the worker before it waits
  std::atomic<int> submitter_cpu_{-1};  // written by a producer, under the lock
};

}  // namespace ste::detail
