// SPDX-License-Identifier: MIT
// ste/thread.hpp — one dedicated background thread that other threads hand work to.
//
//   ste::thread thread = ste::spawn();
//   int n = 10;
//   thread.submit([&] { n += 10; });   // blocks until it ran there; may borrow `n`
//   assert(n == 20);
//   thread.post([] { std::puts("later, on the thread"); });  // fire and forget
//   thread.join();                     // drains, runs the postlude, joins
//
// Threads: every member that hands work over is const and thread-safe; any number of
// threads may call them at once. Tasks run one at a time on the ste thread, in the order
// they were accepted (FIFO across submit and post alike).
//
// Allocation: submit, submit_for, submit_until and destroy never allocate (the task
// record lives in the caller's frame); post allocates exactly one block.
#pragma once

#include "ste/export.hpp"

#include <chrono>
#include <cstddef>
#include <functional>
#include <initializer_list>
#include <memory>
#include <span>
#include <string_view>
#include <type_traits>
#include <utility>

#include "ste/bound.hpp"
#include "ste/detail/core.hpp"
#include "ste/errors.hpp"
#include "ste/notifier.hpp"
#include "ste/timer.hpp"
#include "ste/realtime.hpp"
#include "ste/site.hpp"
#include "ste/tag.hpp"
#include "ste/task.hpp"

namespace ste {

class thread;

namespace detail {
template <class F>
concept nullary_task = std::is_invocable_v<F>;
struct thread_access;
}  // namespace detail

/// Fluent configuration of a ste thread. Each setter returns *this.
///
///   auto audio = ste::builder()
///       .name("audio")
///       .realtime({.priority = 70})  // SCHED_FIFO 70 (Linux), already in the prelude
///       .prelude([] { open_device(); })
///       .on_error([](std::exception_ptr e) { log(e); })
///       .build();
class STE_API builder {
 public:
  builder();

  /// The OS thread name (default "ste-thread"); truncated to the platform's limit
  /// (15 bytes on Linux) without splitting a UTF-8 sequence.
  builder& name(std::string_view name);

  /// Runs on the new thread before any task. If it throws, build() joins the thread and
  /// rethrows that same exception object.
  template <class F>
  builder& prelude(F&& f) {
    config_.prelude = std::forward<F>(f);
    return *this;
  }

  /// Runs on the thread after the last task, just before it exits. Its exception goes
  /// to on_error. Nothing is accepted any more while it runs (submit on the thread
  /// itself still runs inline).
  template <class F>
  builder& postlude(F&& f) {
    config_.postlude = std::forward<F>(f);
    return *this;
  }

  /// The new thread's stack size in bytes: 0 means the platform default; sizes below the
  /// platform minimum are rounded up; a size the OS cannot provide makes build() throw
  /// std::system_error.
  builder& stack_size(std::size_t bytes) noexcept;

  /// The thread runs with real-time scheduling (ste/realtime.hpp says what each platform
  /// does), set by the new thread on itself before its prelude, so the prelude already
  /// runs real-time. build() throws std::invalid_argument for a priority outside 0..99
  /// (nothing started). If the OS refuses and options.required is true, build() throws
  /// std::system_error naming the policy and priority and how to allow them (Linux:
  /// RLIMIT_RTPRIO / `ulimit -r`, CAP_SYS_NICE, rtkit), after joining the thread; if it is
  /// false, the thread runs with normal scheduling (thread::is_realtime() says which).
  builder& realtime(realtime_options options = {});

  /// The thread runs only on these CPUs (numbered from 0 as the OS numbers them), from
  /// before its prelude. Empty, the default: no restriction (the thread inherits the
  /// affinity of the thread calling build()). Before anything is started, build() throws
  /// std::invalid_argument for a negative number and std::system_error naming a CPU that
  /// does not exist or that the process may not use (outside its affinity or cpuset).
  /// Linux and Windows (the first 64 CPUs); elsewhere a non-empty list makes build()
  /// throw std::system_error. The numbers are copied.
  builder& cpu_affinity(std::initializer_list<int> cpus);
  builder& cpu_affinity(std::span<int const> cpus);

  /// Receives, on the ste thread, exceptions that escape posted tasks, delayed tasks,
  /// notifier runs, spawned coroutines and the postlude: `F` is
  /// `void(std::exception_ptr, ste::task_info const&)` — the info names where the task
  /// was handed over (empty for the postlude), the thread's tag and name — or
  /// `void(std::exception_ptr)`. Default: print the exception, the site and the
  /// thread's name to stderr, then std::terminate(). An exception escaping the handler
  /// terminates.
  template <class F>
    requires std::is_invocable_v<F&, std::exception_ptr, ste::task_info const&> ||
             std::is_invocable_v<F&, std::exception_ptr>
  builder& on_error(F&& f) {
    if constexpr (std::is_invocable_v<F&, std::exception_ptr, ste::task_info const&>) {
      config_.on_error = std::forward<F>(f);
    } else {
      config_.on_error = [g = std::decay_t<F>(std::forward<F>(f))](
                             std::exception_ptr e, ste::task_info const&) mutable {
        g(std::move(e));
      };
    }
    return *this;
  }

  /// Watches the thread's tasks: `handler` (`void(ste::stall_info const&)`) is called
  /// once for each task that has run longer than `threshold`, while it still runs, from
  /// a watchdog thread (one for the process, started when the first thread built with
  /// on_stall starts, gone when the last one is joined). Only such threads time their
  /// tasks (then stats() has busy, longest and longest_site). The watchdog looks about
  /// four times per threshold (at least every 250 µs, at most every second); the
  /// handler runs on it, so keep it short and never wait in it for the watched thread.
  /// A threshold that is not positive throws std::invalid_argument.
  template <class Rep, class Period, class F>
    requires std::is_invocable_v<F&, ste::stall_info const&>
  builder& on_stall(std::chrono::duration<Rep, Period> threshold, F&& handler) {
    config_.stall_threshold = detail::stall_threshold_of(threshold);
    config_.on_stall = std::forward<F>(handler);
    return *this;
  }

  /// Starts the thread; returns once it runs and its prelude finished. Throws
  /// std::system_error when the OS refuses a thread, or the prelude's exception.
  /// Windows: inside DllMain (a DLL's static constructor, LoadLibrary) the new thread
  /// could not start, so it throws std::system_error (resource_deadlock_would_occur)
  /// and starts nothing. Consumes the settings: the builder is back to its defaults
  /// afterwards.
  thread build();

 private:
  detail::thread_config config_;
};

/// A move-only handle to one ste thread. Destroying it joins the thread.
class STE_API thread {
 public:
  /// An empty handle: hands nothing over (stopped_error), tag() is the null tag.
  thread() noexcept = default;
  thread(thread&& other) noexcept = default;
  /// Joins the thread this handle still owns (as ~thread does), then takes `other`'s.
  thread& operator=(thread&& other) noexcept;
  thread(thread const&) = delete;
  thread& operator=(thread const&) = delete;

  /// As join(), but never throws. Run on the thread itself (the last owner let go
  /// inside a task), or where joining would deadlock (Windows: inside DllMain, where
  /// the thread cannot exit), it stops accepting work and lets the thread drain and
  /// exit on its own (detach) instead; it never waits there. Windows, while ExitProcess
  /// detaches the DLLs (a DLL's static destructor at exit): the OS has already ended
  /// the thread; returns at once, and what it had queued never runs.
  ///
  /// Static storage: the exit handlers join the thread like this — posted work drains,
  /// the postlude runs. When std::exit is called from a task on this very thread, the
  /// handlers (this destructor among them) run on it: it stops accepting work and
  /// returns, and the process ends inside that task — the tasks queued behind it and
  /// the postlude do not run. quick_exit and _exit run no destructor (docs/design.md §18).
  ~thread();

  /// Stops accepting work, runs every task already accepted, destroys the values still
  /// held by bound<T> handles of this thread (on the thread), runs the postlude and
  /// joins the OS thread. Idempotent; a no-op on an empty handle. Safe while other
  /// threads are inside submit/post: each of those completes or throws stopped_error.
  /// Throws std::system_error (resource_deadlock_would_occur) on the thread itself and
  /// ste::deadlock_error when the thread is (transitively) blocked on the caller.
  /// Windows: inside DllMain (a DLL's static destructor, FreeLibrary, ExitProcess) the
  /// thread cannot exit, so it throws std::system_error (resource_deadlock_would_occur)
  /// and changes nothing, unless the thread was joined already: join before FreeLibrary
  /// and before the process exits.
  ///
  /// Memory ordering: everything every task, coroutine, value destructor and the
  /// postlude of this thread did is visible to the caller once join() returns.
  void join();

  /// The thread's counters since it started: tasks accepted, completed, queued now and at
  /// most; on threads built with on_stall also the time spent in tasks and the longest
  /// one with its site. A task is every piece of work the thread runs (a submitted or
  /// posted callable, a notifier or timer run, a coroutine resumed by the thread); a
  /// withdrawn submit_for is not counted. Exact whenever no task is queued or running
  /// (a task counts as completed before its submitter's submit returns); any thread, at
  /// any time, never waiting for the worker. All zero for an empty handle.
  ste::thread_stats stats() const noexcept { return core_ ? core_->stats() : ste::thread_stats{}; }

  /// The tag of this thread (the null tag for an empty handle). Does not allocate.
  ste::tag tag() const noexcept { return core_ ? core_->tag() : ste::tag{}; }

  /// True when the thread runs with the real-time scheduling builder::realtime asked for
  /// (as set up before its prelude); false for an empty handle, a thread built without
  /// realtime(), and one whose optional request (required = false) the OS refused.
  bool is_realtime() const noexcept { return core_ && core_->is_realtime(); }

  /// Runs `f` on the thread and blocks until it ran; returns its result (value,
  /// reference, void or move-only) or rethrows the very exception object it threw.
  /// `f` may borrow the caller's locals. On the thread itself `f` runs inline.
  /// Throws stopped_error (f did not run) when the thread no longer accepts work, and
  /// deadlock_error (f did not run) when waiting would close a cycle of ste threads.
  /// Does not allocate.
  ///
  /// Memory ordering: what the caller did before submit is visible to `f`; what `f`
  /// did (its result, its writes to the caller's locals) is visible to the caller once
  /// submit returns or throws f's exception.
  template <class F>
    requires detail::nullary_task<F>
  std::invoke_result_t<F> submit(F&& f, ste::site where = ste::site::current()) const {
    detail::core& c = checked_core("submit");
    if (c.is_current()) return std::invoke(std::forward<F>(f));
    detail::submit_record<F> record(f);
    record.where = where;
    c.submit_and_wait(record);
    return record.result.take();
  }

  /// As submit, but if the thread has not *started* `f` by `deadline`, `f` is withdrawn
  /// and ste::timeout_error is thrown (f never runs). `f` never starts after its
  /// deadline: a deadline already past at the call throws at once, nothing queued. Once
  /// started, f runs to completion and the call returns normally, however long it takes.
  /// On the thread itself `f` runs inline (there is no wait to time out). Does not
  /// allocate.
  template <class Clock, class Duration, class F>
    requires detail::nullary_task<F>
  std::invoke_result_t<F> submit_until(std::chrono::time_point<Clock, Duration> const& deadline,
                                       F&& f, ste::site where = ste::site::current()) const {
    detail::core& c = checked_core("submit_for/submit_until");
    if (c.is_current()) return std::invoke(std::forward<F>(f));
    detail::submit_record<F, detail::deadline_on<Clock, Duration>> record(f, {deadline});
    record.where = where;
    if (!c.submit_and_wait_until(record)) detail::throw_timeout();
    return record.result.take();
  }

  /// submit_until(steady_clock::now() + timeout, f); far timeouts saturate, zero and
  /// negative ones are past at once. A NaN timeout throws std::invalid_argument.
  template <class Rep, class Period, class F>
    requires detail::nullary_task<F>
  std::invoke_result_t<F> submit_for(std::chrono::duration<Rep, Period> const& timeout,
                                     F&& f, ste::site where = ste::site::current()) const {
    return submit_until(detail::deadline_after(timeout), std::forward<F>(f), where);
  }

  /// Fire and forget: moves `f` into one heap block and queues it. An exception escaping
  /// `f` goes to the thread's on_error. Throws stopped_error or std::bad_alloc, in which
  /// case nothing was queued. Allocates once.
  ///
  /// Memory ordering: what the caller did before post is visible to `f` when it runs.
  /// Nothing flows back: to see what `f` did, synchronise on your own (or submit after
  /// it — tasks run in FIFO order, so a later submit sees every earlier task's writes).
  template <class F>
    requires std::is_invocable_v<std::decay_t<F>>
  void post(F&& f, ste::site where = ste::site::current()) const {
    detail::core& c = checked_core("post");
    auto record = std::make_unique<detail::posted_record<std::decay_t<F>>>(std::forward<F>(f));
    record->where = where;
    c.accept(*record);
    record.release();  // owned by the queue now; the worker frees it after running it
  }

  /// Moves `value` onto the thread and destroys it there; blocks until done. Rvalues
  /// only. Throws as submit (then `value` was not moved from). Does not allocate.
  ///
  /// Memory ordering: as submit — the destructor's effects are visible to the caller
  /// once destroy returns.
  template <class T>
    requires(!std::is_lvalue_reference_v<T>)
  void destroy(T&& value, ste::site where = ste::site::current()) const {
    submit([&value] { [[maybe_unused]] std::remove_cv_t<T> dying(std::move(value)); }, where);
  }

  // --- Coroutines ------------------------------------------------------------------

  /// `co_await thread.schedule()` continues the awaiting coroutine on this thread,
  /// always through the queue (a yield point even on the thread itself). Throws
  /// stopped_error inside the coroutine when the thread no longer accepts work. The
  /// awaiter is the queue node: no allocation.
  [[nodiscard]] detail::schedule_awaiter schedule(ste::site where = ste::site::current()) const {
    return detail::schedule_awaiter(checked_core("schedule"), where);
  }

  /// Runs `awaitable` on this thread and blocks the caller until it completed; returns
  /// its result or rethrows its exception (the coroutine counterpart of submit, so it may
  /// borrow the caller's locals). A ste::task costs no allocation beyond its own frame;
  /// any other awaitable costs one wrapper frame. Called on this thread itself it runs a
  /// nested loop (queued tasks and timers run meanwhile — beware of re-entrancy) until
  /// the awaitable completed. Throws stopped_error (not started) and deadlock_error; an
  /// empty ste::task throws std::invalid_argument (nothing started). Called from another
  /// ste thread, the coroutine must not move to that (blocked) thread: such a move
  /// throws deadlock_error inside the coroutine.
  ///
  /// Memory ordering: as submit — what the caller did before is visible to the
  /// awaitable, and everything it did, on whichever threads it ran, is visible to the
  /// caller once block_on returns or throws.
  template <class A>
    requires detail::awaitable<A>
  detail::await_result_t<A> block_on(A&& awaitable) const {
    detail::core& c = checked_core("block_on");
    using R = detail::await_result_t<A>;
    task<R> t = detail::as_task(std::forward<A>(awaitable), "block_on");
    auto const h = detail::task_access<R>::handle(t);
    if (c.is_current()) {
      detail::nested_block_on<R> state(c, h);
      h.resume();
      c.run_nested(state.completed);
    } else {
      detail::block_on_record<R> record(h);
      c.submit_and_wait(record);
    }
    return h.promise().take();
  }

  /// `co_await thread.submit_async(awaitable)` runs `awaitable` on this thread. The
  /// awaiting coroutine then resumes on the ste thread it was running on when it
  /// awaited; a coroutine from any other thread resumes on this thread. Throws
  /// stopped_error inside the coroutine when this thread no longer accepts work, and
  /// std::invalid_argument for an empty ste::task (nothing started). The
  /// awaiter lives in the awaiting frame; a non-task awaitable costs one wrapper frame.
  template <class A>
    requires detail::awaitable<A>
  [[nodiscard]] detail::submit_async_awaiter<detail::await_result_t<A>> submit_async(
      A&& awaitable) const {
    return {checked_core("submit_async"),
            detail::as_task(std::forward<A>(awaitable), "submit_async")};
  }

  /// Starts `t` on this thread, detached. An exception escaping it goes to this thread's
  /// on_error (called on the thread where the coroutine finished) — except the
  /// stopped_error that join() makes a pending sleep or schedule() throw: ending on that
  /// one is quiet. Throws stopped_error (then `t` is destroyed unstarted) and
  /// std::invalid_argument for an empty task. Allocates one small block.
  void spawn(task<void> t, ste::site where = ste::site::current()) const {
    detail::core& c = checked_core("spawn");
    auto const h = detail::task_access<void>::handle(t);
    if (!h) detail::throw_empty_task("spawn");
    auto record = std::make_unique<detail::spawn_record>(c.shared_from_this(), h);
    record->where = where;
    c.accept(*record);  // throws stopped_error: t still owns (and destroys) the frame
    detail::task_access<void>::take_handle(t);
    record.release();  // owned by the coroutine now: freed when it finishes
  }

  /// A coalescing, real-time-safe trigger for `f` (`void()`, run on the thread): see
  /// ste/notifier.hpp. Allocates the notifier's one block, here and only here (notify()
  /// never allocates). Throws stopped_error (nothing made) when the thread no longer
  /// accepts work from the caller, std::bad_alloc.
  template <class F>
    requires std::is_invocable_r_v<void, F&>
  notifier make_notifier(F f, ste::site where = ste::site::current()) const {
    detail::core& c = checked_core("make_notifier");
    auto* block = new detail::notifier_of<F>(c.shared_from_this(), where, std::move(f));
    c.register_notifier(*block);  // frees the block when it throws
    return notifier(block);
  }

  // --- Delayed and periodic tasks (ste/timer.hpp) ----------------------------------

  /// Runs `f` on the thread once `d` has passed (zero and negative: as soon as the thread
  /// gets to it; far ones saturate). FIFO among equal deadlines, with coroutine sleeps
  /// too, in the order the thread received them. Allocates one block (the callable
  /// lives in it; the timer heap is intrusive). An exception escaping `f` goes to
  /// on_error. Throws stopped_error once join() has started — even on the thread itself:
  /// join() does not wait for deadlines — and std::bad_alloc; then nothing is scheduled.
  /// A NaN duration throws std::invalid_argument.
  ///
  /// Memory ordering: what the caller did before is visible to `f` when it runs.
  template <class Rep, class Period, class F>
    requires std::is_invocable_v<std::decay_t<F>&>
  timer post_after(std::chrono::duration<Rep, Period> d, F&& f, ste::site where = ste::site::current()) const {
    return post_timer("post_after", detail::deadline_after(d), {}, where, std::forward<F>(f));
  }

  /// As post_after, until `t` on any clock (other clocks than steady_clock are converted
  /// once, at the call: a later change of the system clock does not move the deadline).
  template <class Clock, class Duration, class F>
    requires std::is_invocable_v<std::decay_t<F>&>
  timer post_at(std::chrono::time_point<Clock, Duration> t, F&& f, ste::site where = ste::site::current()) const {
    return post_timer("post_at", detail::deadline_at(t), {}, where, std::forward<F>(f));
  }

  /// Runs `f` on the thread at start + k·period, k = 1, 2, … (start: now). A run late by
  /// a period or more skips the deadlines it missed (never back-to-back runs to catch
  /// up). Runs never overlap; an exception escaping `f` goes to on_error and the timer
  /// goes on. Stops at cancel() or when join() starts (no run starts after that).
  /// A zero, negative or NaN period throws std::invalid_argument; otherwise as post_after.
  template <class Rep, class Period, class F>
    requires std::is_invocable_v<std::decay_t<F>&>
  timer post_every(std::chrono::duration<Rep, Period> period, F&& f, ste::site where = ste::site::current()) const {
    auto const p = detail::period_of(period);
    return post_timer("post_every", detail::saturating_after(p), p, where, std::forward<F>(f));
  }

  /// Constructs a T on the thread from `args` (blocking, as submit) and returns the
  /// handle that confines it there. Allocates the T's block (on the thread).
  template <class T, class... Args>
  bound<T> make_bound(Args&&... args) const {
    detail::core& c = checked_core("make_bound");
    auto* box = submit([&] { return bound<T>::make_box(c, std::forward<Args>(args)...); });
    return bound<T>(c.shared_from_this(), box);
  }

 private:
  friend class builder;
  friend struct detail::thread_access;
  explicit thread(std::shared_ptr<detail::core> core) noexcept : core_(std::move(core)) {}
  template <class F>
  timer post_timer(char const* operation, std::chrono::steady_clock::time_point first,
                   std::chrono::steady_clock::duration period, ste::site const& where,
                   F&& f) const {
    detail::core& c = checked_core(operation);
    auto* block = new detail::timer_of<std::decay_t<F>>(c.shared_from_this(), first, period,
                                                        where, std::forward<F>(f));
    c.schedule_timer(*block, operation);  // discards the block when it throws
    return timer(block);
  }
  detail::core& checked_core(std::string_view operation) const {
    if (!core_) detail::throw_empty_handle(operation);
    return *core_;
  }

  std::shared_ptr<detail::core> core_;
};

/// Starts a ste thread with default settings: ste::builder().build().
STE_API thread spawn();

namespace detail {
/// The core behind a handle, for ste's optional interop headers (ste/asio.hpp), which
/// keep the core alive beyond the handle. Not public API.
struct thread_access {
  static std::shared_ptr<core> const& core_of(ste::thread const& t) noexcept { return t.core_; }
};
}  // namespace detail

}  // namespace ste
