// SPDX-License-Identifier: MIT
// ste/detail/core.hpp — one ste thread's engine: a small shell that composes its rooms.
// Not public API.
//
//   mailbox          (mailbox.hpp, src/mailbox.cpp)   the lock-free inbox (with the phase
//                                                      and the wake-up) and the desk: the
//                                                      worker-side FIFO and comebacks
//   worker loop      (src/worker.cpp)                  next task, idle spin, sleep, drain
//   lifecycle        (lifecycle.hpp, src/lifecycle.cpp) start, join, join_or_detach
//   timers           (timer_heap.hpp)                  worker thread only; delayed tasks
//                    (timer_block.hpp, src/timer.cpp)  blocks arrive by message
//   bound registry   (bound_registry.hpp)              worker thread only
//   deadlock edges   (deadlock.hpp, src/deadlock.cpp)  the process-wide edge mutex
//
// A core is owned jointly (std::shared_ptr) by the ste::thread handle, the worker
// thread itself, and every bound<T> and spawned coroutine made on it, so it outlives
// whichever goes last.
#pragma once

#include "ste/export.hpp"

#include <chrono>
#include <coroutine>
#include <cstddef>
#include <cstdint>
#include <exception>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "ste/detail/assert.hpp"
#include "ste/detail/bound_registry.hpp"
#include "ste/detail/comebacks.hpp"
#include "ste/detail/deadlock.hpp"
#include "ste/detail/function.hpp"
#include "ste/detail/lifecycle.hpp"
#include "ste/detail/mailbox.hpp"
#include "ste/detail/notifier_block.hpp"
#include "ste/detail/process.hpp"
#include "ste/detail/guard.hpp"
#include "ste/detail/task_node.hpp"
#include "ste/detail/task_stats.hpp"
#include "ste/detail/throw.hpp"
#include "ste/detail/timer_block.hpp"
#include "ste/detail/timer_heap.hpp"
#include "ste/realtime.hpp"
#include "ste/tag.hpp"

namespace ste::detail {

struct thread_config {
  std::string name = "ste-thread";
  unique_function<void()> prelude;
  unique_function<void()> postlude;
  unique_function<void(std::exception_ptr, ste::task_info const&)> on_error;
  // on_stall: tasks longer than this are reported to the handler by the watchdog; zero:
  // no task is timed (src/watchdog.cpp).
  std::chrono::nanoseconds stall_threshold{0};
  unique_function<void(ste::stall_info const&)> on_stall;
  std::size_t stack_size = 0;
  // Applied by the new thread to itself before the prelude (src/realtime_*.cpp).
  std::optional<ste::realtime_options> realtime;  // empty: normal scheduling
  std::vector<int> cpus;                          // empty: no CPU restriction
};

class core;

/// The core of the ste thread running the caller, or nullptr off every ste thread.
STE_API core* current_core() noexcept;
/// The child's fork handler: the thread that called fork() runs no core in the child,
/// even if it was a ste thread in the parent (its tasks' bound<T> accesses then throw).
STE_API void forget_current_core_in_child() noexcept;

class STE_API core : public std::enable_shared_from_this<core> {
 public:
  /// Starts the OS thread, runs the prelude there, and returns once it finished.
  /// Rethrows the prelude's exception (after joining the thread); std::system_error
  /// when the OS refuses the thread.
  static std::shared_ptr<core> start(thread_config config);

  core(thread_config config, std::uint64_t tag_id);
  core(core const&) = delete;
  core& operator=(core const&) = delete;
  ~core();

  ste::tag tag() const noexcept { return tag_access::make(tag_id_); }
  bool is_current() const noexcept { return current_core() == this; }
  std::string const& name() const noexcept { return config_.name; }
  /// Whether the thread got the real-time scheduling it asked for (set before start()
  /// returns, never changed afterwards).
  bool is_realtime() const noexcept { return lifecycle_.realtime(); }
  /// `"name" (ste::tag(N))`: how error messages name a thread.
  std::string describe() const;

  // --- Handing work over: any thread. ----------------------------------------------

  /// Links `n`: accepted, it runs exactly once. Throws stopped_error (nothing linked)
  /// when the thread no longer accepts work from the caller. Never allocates; takes no
  /// lock (one CAS on the inbox word); touches nothing of the core after that CAS.
  void accept(task_node& n) { (void)mailbox_.link_task(n, caller()); }
  /// Unlinks `n`, accepted earlier, if the worker has not started it: true then, and
  /// it never runs (nor counts). Any thread; takes the desk lock (docs/design.md §4).
  /// The caller must keep `n` alive for the call: the P2300 scheduler's stop callback
  /// (ste/execution.hpp, §20) relies on the worker waiting for it before completing.
  bool withdraw(task_node& n) noexcept { return mailbox_.withdraw(n); }
  /// As accept, for a coroutine moving here (schedule): the refusal is the stopped_error
  /// a spawned coroutine may end on quietly.
  void accept_coroutine(task_node& n) { mailbox_.link_coroutine(n, caller()); }

  /// The blocking hand-off behind submit/destroy/make_bound/block_on: accept, then wait
  /// for the worker's signal. Throws stopped_error or deadlock_error (then `n` never ran).
  void submit_and_wait(blocking_node& n) {
    wait_edge edge(*this);
    // The caller keeps the core alive (its handle) for the whole wait: the hints may be
    // read after the push.
    std::uintptr_t const before = mailbox_.link_task(n, caller());
    n.done.wait(mailbox_.ahead_hint(before), mailbox_.worker_cpu());
  }

  /// As submit_and_wait, but `n` never starts after its deadline: returns false when the
  /// deadline passed first (already at the call: nothing is queued; later: `n` is
  /// withdrawn, or the worker reached it too late and did not start it).
  template <class F, class Clock, class Duration>
  bool submit_and_wait_until(submit_record<F, deadline_on<Clock, Duration>>& n) {
    if (n.deadline.passed()) return false;
    wait_edge edge(*this);
    accept(n);
    if (!n.done.wait_until(n.deadline.when)) {
      if (mailbox_.withdraw(n)) return false;
      n.done.wait();  // unlinked by the worker first: it decides, and signals either way
    }
    return !n.expired;
  }

  // --- Notifiers (src/notifier.cpp). ------------------------------------------------

  /// Whether the thread accepts work from the caller now (seq_cst: notify's decisive
  /// check, ordered with join's phase change; docs/design.md §12).
  bool accepts_work() const noexcept { return mailbox_.accepts(caller()); }
  /// Pushes a notifier's node; false (nothing pushed) when closed to the caller.
  bool push_notifier(task_node& n) noexcept { return mailbox_.try_link(n, caller()); }
  /// Asks the worker to sweep the notifiers (a run whose node is not known to be linked).
  void request_sweep() noexcept { mailbox_.request_sweep(); }
  /// Registers a new notifier's block (join's pass destroys what is still registered).
  /// Throws stopped_error when the thread no longer accepts work from the caller; then
  /// the block is freed.
  void register_notifier(notifier_block& b);
  /// On the thread: unlinks the block's nodes and unregisters it. False when join's pass
  /// took it first.
  bool forget_notifier(notifier_block& b) noexcept;

  // --- Delayed tasks (src/timer.cpp). -----------------------------------------------

  /// Hands a new timer block to the thread: off the thread, its arm message (refused
  /// once join() started); on it, straight into the heap (refused once join() started,
  /// here too). Throws stopped_error; then the block is discarded (nothing scheduled).
  void schedule_timer(timer_block& b, char const* operation);
  /// Pushes a cancelled timer's cleanup message; false (nothing pushed) once join()
  /// started (its drop of the heap then finishes the timer).
  bool push_timer_cleanup(task_node& n) noexcept {
    return mailbox_.try_link(n, mailbox::caller::other_thread);
  }
  /// Whether join() has not started yet (seq_cst).
  bool accepting_from_everyone() const noexcept { return mailbox_.accepting_from_everyone(); }
  /// When join() started (once it has: see mailbox::stop_time).
  std::chrono::steady_clock::time_point join_started_at() noexcept {
    return mailbox_.stop_time();
  }

  // --- Coroutines coming back (include/ste/task.hpp). -------------------------------

  /// Announces that a coroutine leaving with `r` (submit_async to r.target) will come
  /// back: until it does, the thread does not close. Throws stopped_error when the
  /// thread no longer accepts work from the caller, and deadlock_error when r.target is
  /// blocked until this thread closes (it joins it) and so could never start it.
  void announce_comeback(comeback_record& r);
  /// As announce_comeback with no record (the task<T> rendezvous); false when refused.
  bool try_announce_comeback() noexcept { return mailbox_.try_announce_comeback(caller()); }
  /// Withdraws an announced comeback that will not arrive (`r`: its record, if any).
  void withdraw_comeback(comeback_record* r) noexcept {
    STE_ASSERT(is_current());  // always inside the task that announced it
    mailbox_.withdraw_comeback(r);
  }
  /// Links the node of an announced comeback (`r`: its record, if any). Never refused.
  void link_comeback(task_node& n, comeback_record* r) noexcept { mailbox_.link_comeback(n, r); }
  /// Links the completion of a block_on running on this thread. Never refused.
  void link_completion(task_node& n) noexcept { mailbox_.link_completion(n); }

  // --- The process (src/process.cpp; docs/design.md §15). ---------------------------

  /// Whether this core was copied into a child process by fork(): its thread exists in
  /// the parent only. Then every operation is refused or returns at once, none waits,
  /// and nothing it holds is destroyed. Never changes in the process that made it.
  bool inherited() const noexcept { return inherited_; }
  /// The child's fork handler only (the child has one thread).
  void inherit_in_child() noexcept;
  /// The registry's link (guarded by its mutex).
  list_hook<core> process_hook;

  // --- Lifecycle (src/lifecycle.cpp). -------------------------------------------------

  /// Stops accepting work, drains, runs the postlude and joins the OS thread.
  /// Idempotent. Throws std::system_error when called on the thread itself and
  /// deadlock_error when the thread is (transitively) waiting on the caller.
  void join();
  /// What ~thread does: join, or — on the thread itself, or when joining would
  /// deadlock — stop accepting work and let the thread finish on its own. Never throws.
  void join_or_detach() noexcept;

  // --- The worker thread only. ------------------------------------------------------

  /// Adds a timer (a sleeping coroutine's, a delayed task's) to the heap. Never fails.
  void add_timer(timer_node& t) noexcept;
  /// Takes a timer out of the heap (it must be there).
  void remove_timer(timer_node& t) noexcept;
  /// Throws stopped_error once the worker has seen join() start.
  void check_can_sleep() const;
  /// Runs tasks and timers on the thread itself until `completed` becomes true (the
  /// nested loop behind block_on on the thread itself).
  /// Not noexcept: a task that ends the OS thread (forced_unwind.hpp) unwinds through it
  /// once the thread is finished.
  void run_nested(bool const& completed);
  /// Hands an exception nobody waits for to on_error (on the calling thread), with
  /// where its task was handed over (empty for the postlude).
  void report_error(std::exception_ptr e, error_source source, ste::site const& where) noexcept;

  // --- Task accounting (stats(), the watchdog; src/worker.cpp). ----------------------

  /// One task the worker runs, from its start to its end (by the destructor, or earlier
  /// by end(): a blocking record's signal ends it before its submitter is released).
  /// Nested tasks (a nested loop inside a task) nest their scopes. Worker only.
  class task_scope {
   public:
    /// `count_accepted`: the worker made this task itself (nobody pushed it).
    /// `borrow_site`: `where` stays readable for as long as anyone may ask for it (a
    /// blocking record: its invoke lets nothing but a thread end out, so the site is
    /// never asked for after the record is gone); otherwise it is copied.
    task_scope(core& c, ste::site const& where, bool count_accepted,
               bool borrow_site = false) noexcept;
    ~task_scope() { close(); }
    task_scope(task_scope const&) = delete;
    task_scope& operator=(task_scope const&) = delete;
    /// The task ends now (idempotent); `ran`: false for one that never started.
    void end(bool ran) noexcept;
    ste::site const& where() const noexcept { return *where_; }
    /// Ends the task and leaves it (idempotent; the destructor does it otherwise).
    void close() noexcept;

   private:

    core& core_;
    // The copy, unless the site is borrowed (a copy reads the record's second cache
    // line, which its submitter is spinning on: a transfer per round trip for nothing).
    ste::site kept_;
    ste::site const* where_;
    task_scope* const outer_;
    bool const outermost_;
    bool open_ = true;
    task_stats::clock::time_point started_;
  };
  /// The innermost task in progress on this worker, or nullptr.
  task_scope* open_task() noexcept { return open_task_; }
  /// A task the worker makes itself is accepted (withdrawn: uncounted).
  void uncount_accepted() noexcept { mailbox_.uncount_accepted_by_worker(); }
  /// thread::stats(): any thread; takes the desk for a moment (mailbox::accepted).
  ste::thread_stats stats() const noexcept;
  /// For the watchdog (on_stall threads): the outermost task in progress.
  running_task current_task() const noexcept { return stats_.current(); }
  std::chrono::nanoseconds stall_threshold() const noexcept { return config_.stall_threshold; }
  void report_stall(ste::stall_info const& info) noexcept;

  /// bound<T> values: ensure_can_bind throws stopped_error once the postlude started
  /// (join() could no longer destroy a value bound then); then register it.
  void ensure_can_bind();
  void register_bound(bound_entry& e) noexcept;
  void unregister_bound(bound_entry& e) noexcept;

  // --- The rooms, for the deadlock walk (src/deadlock.cpp). -------------------------
  mailbox& box() noexcept { return mailbox_; }
  wait_state& waits() noexcept { return waits_; }
  wait_state const& waits() const noexcept { return waits_; }

 private:
  enum class postlude_policy : std::uint8_t { run, skip };

  mailbox::caller caller() const noexcept {
    return is_current() ? mailbox::caller::own_thread : mailbox::caller::other_thread;
  }

  // The worker loop (src/worker.cpp), in named steps.
  // Not noexcept (thread_main, run, run_one, run_postlude): a task, the prelude or the
  // postlude that ends the OS thread unwinds through them (forced_unwind.hpp).
  static void thread_main(void* startup);
  void run(postlude_policy postlude);
  task_node* next_task() noexcept;
  task_node* next_nested_task(bool const& completed) noexcept;
  // With the desk held; the last three drop and retake it inside.
  task_node* take_work_locked() noexcept STE_REQUIRES(mailbox_.desk());
  bool close_if_drained_locked() noexcept STE_REQUIRES(mailbox_.desk());
  void wait_for_work_locked() noexcept STE_REQUIRES(mailbox_.desk());
  void sleep_until_woken_locked(std::uintptr_t seen) noexcept STE_REQUIRES(mailbox_.desk());
  void adapt_idle_spin(std::chrono::nanoseconds idle) noexcept;
  void run_one(task_node* n);
  void run_postlude();
  // A task ended the OS thread: still on the worker's stack, do what join() would.
  void finish_after_exit();
  void sweep_notifiers_locked() noexcept STE_REQUIRES(mailbox_.desk());
  void destroy_notifiers() noexcept;

  thread_config config_;
  std::uint64_t const tag_id_;
  lifecycle lifecycle_;
  mailbox mailbox_{config_.name};

  // --- The worker thread only. ------------------------------------------------------
  timer_heap timers_;
  bool draining_seen_ = false;  // the worker saw join() start (the phase left running)
  bool exiting_ = false;        // a task ended the OS thread: finish_after_exit runs
  postlude_policy postlude_ = postlude_policy::run;  // what run() was asked to do
  // How long the worker spins when idle before it sleeps (adapt_idle_spin).
  std::chrono::nanoseconds idle_spin_ = wait_policy::spin_budget;
  bound_registry bound_;
  task_scope* open_task_ = nullptr;  // the innermost task in progress (task_scope)
  std::uint64_t queued_at_take_ = 0;  // the FIFO's length when the last task was taken
  // Its own cache line: the worker writes it for every task; producers never touch it.
  alignas(64) task_stats stats_{config_.stall_threshold > std::chrono::nanoseconds::zero()};

  // --- Guarded by the desk (registered by any thread, swept and destroyed by the worker).
  intrusive_list<notifier_block, &notifier_block::registry_hook> notifiers_
      STE_GUARDED_BY(mailbox_.desk());

  // --- Deadlock edges: guarded by edge_mutex. ---------------------------------------
  wait_state waits_{this};

  // --- The process: written only by the child's fork handler, while the child has one
  // thread (threads started later see it through pthread_create); in the process that
  // made the core, never written after construction, so reads need no order.
  bool inherited_ = false;
  std::shared_ptr<core> keep_alive_;  // in the child: the core is never destroyed there
};

}  // namespace ste::detail
