// ste/detail/core.hpp — the shared state of one ste thread: its queue, its lifecycle
// and the worker loop. Non-template; defined in src/core.cpp. Not public API.
//
// A core is owned jointly (std::shared_ptr) by the ste::thread handle, the worker
// thread itself, and every bound<T> made on it, so it outlives whichever goes last.
#pragma once

#include <atomic>
#include <chrono>
#include <coroutine>
#include <cstdint>
#include <exception>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "ste/detail/function.hpp"
#include "ste/detail/spin_lock.hpp"
#include "ste/detail/task_node.hpp"
#include "ste/tag.hpp"

namespace ste::detail {

struct thread_config {
  std::string name = "ste-thread";
  unique_function<void()> prelude;
  unique_function<void()> postlude;
  unique_function<void(std::exception_ptr)> on_error;
  std::size_t stack_size = 0;
};

class core;
class os_thread;

/// A coroutine suspended on a timer of the thread it runs on (the sleep awaiter).
/// Lives in the coroutine frame; only the worker thread touches it while it is pending.
struct timer_node : task_node {
  std::chrono::steady_clock::time_point deadline{};
  std::uint64_t sequence = 0;  // FIFO among equal deadlines
  std::coroutine_handle<> handle;
  bool stopped = false;  // set when join() ended the sleep early
  timer_node() noexcept { invoke = &run; }
  static void run(task_node* n) { static_cast<timer_node*>(n)->handle.resume(); }
};

[[noreturn]] void throw_sleep_off_thread();
[[noreturn]] void throw_sleep_stopped();

/// Where an exception that nobody waits for came from (the default on_error says so).
enum class error_source : std::uint8_t { posted_task, spawned_coroutine, postlude };

/// True when `e` is the stopped_error that join() makes a pending sleep or a schedule()
/// throw: a coroutine that ends on it was told to stop.
bool is_stop_from_join(std::exception_ptr const& e) noexcept;

/// The core of the ste thread running the caller, or nullptr off every ste thread.
core* current_core() noexcept;

/// Base of every value held by a bound<T>: linked into its core's registry, destroyed
/// on the thread. Only the worker thread touches the registry links.
struct bound_entry {
  bound_entry* next = nullptr;  // registry links: worker thread only
  bound_entry* prev = nullptr;
  // True until the value is destroyed. Written only on the owning thread (release), so
  // reads there need no ordering; reads elsewhere use acquire.
  std::atomic<bool> alive{true};
  virtual void destroy_value() noexcept = 0;  // destroys T; runs on the owning thread
  virtual void release() noexcept = 0;        // drops one of the two owners' references
 protected:
  ~bound_entry() = default;
};

/// A coroutine's announced return to its origin thread (submit_async from a ste thread),
/// linked into the origin's list while pending, so that the deadlock walk can see what
/// the origin's close waits for: the coroutine's start on `target`.
struct pending_return {
  pending_return* next = nullptr;  // the origin's list: guarded by its queue lock
  pending_return* prev = nullptr;
  core* target = nullptr;          // where the coroutine starts
  // Set by the target's worker just before it starts the coroutine. release/acquire,
  // and the edge mutex orders it before any wait edge the target records later.
  std::atomic<bool> started{false};
};

class core : public std::enable_shared_from_this<core> {
 public:
  /// Starts the OS thread, runs the prelude there, and returns once it finished.
  /// Rethrows the prelude's exception (after joining the thread); std::system_error
  /// when the OS refuses the thread.
  static std::shared_ptr<core> start(thread_config config);

  core(thread_config config, std::uint64_t tag_id);
  core(core const&) = delete;
  core& operator=(core const&) = delete;
  ~core();

  ste::tag tag() const noexcept { return detail_tag_access::make(tag_id_); }
  bool is_current() const noexcept { return current_core() == this; }
  std::string const& name() const noexcept { return config_.name; }

  /// Links `n` at the back of the queue: the task is accepted and will run exactly
  /// once. Throws stopped_error (nothing linked) when the thread no longer accepts work
  /// from the caller. Never blocks for long (one short lock), never allocates.
  /// Returns how many tasks were queued ahead of `n`.
  std::size_t accept(task_node& n);

  /// As accept, for a coroutine moving here (schedule): the refusal is the stopped_error
  /// a spawned coroutine may end on quietly (is_stop_from_join).
  void accept_coroutine(task_node& n);

  /// The CPU the worker last ran on (a hint for the caller's waiting strategy).
  int worker_cpu() const noexcept { return worker_cpu_.load(std::memory_order_relaxed); }

  /// The blocking hand-off behind submit/destroy/make_bound: accept, then wait for the
  /// worker's signal. Throws stopped_error or deadlock_error (then `n` never ran).
  void submit_and_wait(blocking_node& n);

  /// As submit_and_wait, but `n` never starts after `deadline`: returns false when the
  /// deadline passed first (already at the call: nothing is queued; later: `n` is
  /// withdrawn, or the worker reached it too late and did not start it).
  template <class F, class Clock, class Duration>
  bool submit_and_wait_until(submit_record<F, deadline_on<Clock, Duration>>& n) {
    if (n.deadline.passed()) return false;
    wait_edge edge(*this);
    accept(n);
    if (!n.done.wait_until(n.deadline.when)) {
      if (withdraw(n)) return false;
      n.done.wait();  // unlinked by the worker first: it decides, and signals either way
    }
    return !n.expired;
  }

  /// Stops accepting work, drains, runs the postlude and joins the OS thread.
  /// Idempotent. Throws std::system_error when called on the thread itself and
  /// deadlock_error when the thread is (transitively) waiting on the caller.
  void join();

  /// What ~thread does: join, or — on the thread itself, or when joining would
  /// deadlock — stop accepting work and let the thread finish on its own. Never throws.
  void release_handle() noexcept;

  // --- Coroutine support (include/ste/task.hpp) ----------------------------------

  /// Links a node that resumes a coroutine coming back to this thread (the second hop
  /// of submit_async, or block_on's completion). Accepted while draining, from any
  /// thread: the thread cannot close while such a return is announced (begin_return).
  /// `r`: the record passed to begin_return, if any.
  void accept_return(task_node& n, bool announced, pending_return* r = nullptr) noexcept;
  /// Announces a coming accept_return(n, true): until it arrives the thread does not
  /// close. Throws stopped_error when the thread no longer accepts work from the caller.
  /// With a record (the coroutine is about to start on r->target): throws
  /// deadlock_error when r->target is blocked until this thread closes (it joins it).
  void begin_return(pending_return* r = nullptr);
  /// As begin_return without a record, but reports refusal by returning false.
  bool try_begin_return() noexcept;
  /// Withdraws an announcement that will not be followed by accept_return.
  void cancel_return(pending_return* r = nullptr) noexcept;

  /// Timers: worker thread only.
  void add_timer(timer_node& t);
  void check_can_sleep() const;  // throws stopped_error once join() started

  /// Runs tasks and timers on the thread itself until `finished` becomes true (the
  /// nested loop behind block_on on the thread itself).
  void run_nested(bool const& finished) noexcept;

  /// Hands an exception nobody waits for to on_error (on the calling thread).
  void report_error(std::exception_ptr e, error_source source) noexcept;

  /// bound<T> registry; on the worker thread only. ensure_can_bind throws stopped_error
  /// once the postlude started (join() could no longer destroy a value bound then).
  void ensure_can_bind();
  void register_bound(bound_entry& e) noexcept;
  void unregister_bound(bound_entry& e) noexcept;

  /// Throws deadlock_error when a coroutine chain that `blocked` waits for (in block_on)
  /// moving to `target` could never run there: `target` is `blocked`, or is blocked
  /// itself, through other ste threads, on `blocked`. Free when `blocked` is nullptr.
  static void check_chain_can_move(core& target, core const* blocked);

  /// `"name" (ste::tag(N))`, how error messages name a thread.
  std::string describe() const;

  /// RAII deadlock edge: while alive, the calling ste thread is recorded as waiting on
  /// `target`. Construction throws deadlock_error when `target` is (transitively)
  /// waiting on the caller's own thread. Free for callers that are not ste threads.
  class wait_edge {
   public:
    /// `for_close`: the caller waits until `target` closes (join), not for a task.
    explicit wait_edge(core& target, bool for_close = false);
    wait_edge(wait_edge const&) = delete;
    wait_edge& operator=(wait_edge const&) = delete;
    ~wait_edge();

   private:
    core* self_;
    core* close_target_ = nullptr;  // counted in its close_waiters_
  };

 private:
  enum class phase : std::uint8_t {
    running,   // accepts work from everyone
    draining,  // join() started: accepts work from the thread itself only
    closed,    // the postlude started: accepts nothing
  };

  enum class arrival : std::uint8_t { task, coroutine };  // what accept links
  std::size_t link_if_open(task_node& n, arrival what);
  void run(bool run_postlude) noexcept;  // the worker thread's body
  void run_one(task_node* n) noexcept;
  // The next task or due timer; nullptr once fully drained (outer loop, `until` null)
  // or once *until is true (nested loop; never closes the thread).
  task_node* next_task(bool const* until) noexcept;
  void link_locked(task_node& n) noexcept;
  timer_node* pop_timer() noexcept;
  void destroy_bound_values() noexcept;
  bool withdraw(task_node& n) noexcept;
  void stop_accepting() noexcept;    // running -> draining; wakes an idle worker
  void wake_worker_locked(std::unique_lock<spin_lock>& lock) noexcept;

  thread_config config_;
  std::uint64_t const tag_id_;
  std::unique_ptr<os_thread> os_thread_;  // set by start(); cleared once joined/detached
  std::mutex join_mutex_;                 // serialises join/release_handle

  // --- Queue: guarded by queue_mutex_. -------------------------------------------
  spin_lock queue_mutex_;
  task_node* head_ = nullptr;
  task_node* tail_ = nullptr;
  std::size_t queued_count_ = 0;  // nodes linked in the queue
  phase phase_ = phase::running;
  bool worker_sleeping_ = false;  // the worker announced it sleeps on wake_word_
  // "Worker, look under the lock": set when a task is linked or join() starts, cleared
  // when the worker empties the queue. Polled by the worker's spin before it sleeps.
  // Written under queue_mutex_; read relaxed (the lock taken afterwards synchronises).
  std::atomic<bool> has_work_{false};
  // Where the two sides last ran (current_cpu()), so that each can tell whether the
  // other shares its CPU and should be yielded to rather than spun on. Hints only:
  // relaxed, and a stale value costs a little speed, never correctness.
  std::atomic<int> worker_cpu_{-1};     // written by the worker before it waits
  std::atomic<int> submitter_cpu_{-1};  // written by accept (under the lock)
  // Bumped under queue_mutex_ to wake the sleeping worker; the worker sleeps on it
  // with the value it read under the lock, so a bump after that read is never missed.
  std::atomic<std::uint32_t> wake_word_{0};

  // Returns announced by begin_return and not yet linked, and the records of those
  // that have one. Guarded by queue_mutex_.
  std::size_t pending_returns_ = 0;
  pending_return* returns_head_ = nullptr;
  // Ste threads blocked in join() on this thread (their walk found no cycle): a new
  // return with a record must check that it does not start on one of them.
  std::size_t close_waiters_ = 0;

  // --- Worker thread only. --------------------------------------------------------
  std::vector<timer_node*> timers_;  // min-heap on (deadline, sequence)
  std::uint64_t timer_sequence_ = 0;
  bool draining_seen_ = false;  // the worker saw phase_ != running

  // --- bound<T> values of this thread: worker thread only. -----------------------
  bound_entry* bound_head_ = nullptr;

  // --- Deadlock detection: guarded by the global edge mutex (src/core.cpp). -------
  core* waiting_on_ = nullptr;
  bool waiting_for_close_ = false;  // waiting_on_ is joined, not handed a task

  // The ste threads blocked in a wait_edge: an intrusive list guarded by the edge
  // mutex. Membership proves a core alive (its own thread is blocked in a call).
  core* blocked_next_ = nullptr;
  core* blocked_prev_ = nullptr;

  // Deadlock walks (edge mutex held; see wait_edge and begin_return in src/core.cpp).
  static bool leads_to(core* c, bool for_close, core const* self, int& budget) noexcept;
  static bool awaits_close_of(core const* c, core const* origin) noexcept;
  static bool is_blocked(core const* c) noexcept;
  // Targets of this thread's returns whose coroutine has not started (takes
  // queue_mutex_): true if one is `self`; else up to `max` others in `out`, counted in `n`.
  bool unstarted_return_targets(core const* self, core** out, std::size_t max,
                                std::size_t& n) noexcept;

  friend class os_thread;
};

}  // namespace ste::detail
