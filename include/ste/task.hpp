// SPDX-License-Identifier: MIT
// ste/task.hpp — C++20 coroutines on ste threads: task<T>, sleep_for/sleep_until, and
// the awaiters behind thread.schedule(), thread.block_on(), thread.submit_async() and
// thread.spawn().
//
//   ste::task<int> render(ste::thread const& audio) {
//     co_await audio.schedule();                 // continue on the audio thread
//     co_await ste::sleep_for(10ms);             // a timer of that thread
//     co_return 42;
//   }
//   auto audio = ste::spawn();
//   int v = audio.block_on(render(audio));       // blocks until the coroutine finished
//   audio.spawn(loop(audio));                    // detached; exceptions go to on_error
//
// task<T> is lazily started (nothing runs until it is awaited, block_on'd or spawned),
// move-only, and awaitable from other coroutines. Awaiting a task that finishes at once
// does not grow the stack (a one-flag rendezvous, so this holds on every compiler and
// optimisation level), and a task finishing later resumes its awaiter where it finished,
// without either side ever spinning on the other. An exception escaping the coroutine travels to
// whoever awaits it. A task must be awaited (or handed to block_on / spawn) at most once.
#pragma once

#include "ste/export.hpp"

#include <atomic>
#include <cstdint>
#include <chrono>
#include <coroutine>
#include <exception>
#include <memory>
#include <optional>
#include <type_traits>
#include <utility>

#include "ste/detail/core.hpp"
#include "ste/detail/wait.hpp"
#include "ste/errors.hpp"

namespace ste {

template <class T = void>
class task;

namespace detail {

// ---------------------------------------------------------------------------------
// Awaitable plumbing

template <class A>
decltype(auto) get_awaiter(A&& a) {
  if constexpr (requires { std::forward<A>(a).operator co_await(); })
    return std::forward<A>(a).operator co_await();
  else if constexpr (requires { operator co_await(std::forward<A>(a)); })
    return operator co_await(std::forward<A>(a));
  else
    return std::forward<A>(a);
}

template <class A>
using await_result_t = decltype(get_awaiter(std::declval<A>()).await_resume());

template <class A>
concept awaitable = requires(A&& a) { get_awaiter(std::forward<A>(a)).await_ready(); };

/// What a finished coroutine does when it has no awaiting coroutine: run a callback
/// (block_on, submit_async, spawn). The callback runs while the coroutine is suspended at
/// its final point, and may destroy the frame; it returns the coroutine to transfer to.
struct done_callback {
  std::coroutine_handle<> (*fn)(void* context) noexcept = nullptr;
  void* context = nullptr;
};

/// A queue node that resumes one coroutine on the worker.
struct resume_node : task_node {
  std::coroutine_handle<> handle;
  resume_node() noexcept { invoke = &run; }
  static void run(task_node* n) { static_cast<resume_node*>(n)->handle.resume(); }
};

class promise_base;

/// The ste thread blocked until the coroutine chain of `p` completes (see
/// promise_base::blocked_thread), or nullptr; nullptr for coroutine types other than
/// ste::task.
template <class Promise>
core* blocked_thread_of(std::coroutine_handle<Promise> h) noexcept {
  if constexpr (std::is_base_of_v<promise_base, Promise>)
    return h.promise().blocked_thread();
  else
    return nullptr;
}

class STE_API promise_base {
 public:
  std::suspend_always initial_suspend() const noexcept { return {}; }

  struct final_awaiter {
    bool await_ready() const noexcept { return false; }
    template <class Promise>
    std::coroutine_handle<> await_suspend(std::coroutine_handle<Promise> h) const noexcept {
      promise_base& p = h.promise();
      if (p.on_done_.fn != nullptr) {
        done_callback const cb = p.on_done_;  // copy: the callback may free the frame
        return cb.fn(cb.context);
      }
      return p.finish_awaited();
    }
    void await_resume() const noexcept {}
  };
  final_awaiter final_suspend() const noexcept { return {}; }

  void unhandled_exception() noexcept { error_ = std::current_exception(); }

  /// Starts the coroutine for an awaiter (`awaiting`) and reports whether the awaiter
  /// must suspend (false: it finished synchronously; continue at once).
  ///
  /// The awaiter resumes us inside its await_suspend. If we finish during that call, on
  /// that thread, the awaiter simply continues: no nested resume, so loops of co_await
  /// stay flat without relying on the compiler turning symmetric transfer into a tail
  /// call (g++ does not at -O0/-O1 or with sanitizers). If we suspend and finish later
  /// — on any thread — the awaiter continues where we finished: deterministic, like
  /// plain symmetric transfer. Nobody ever spins on the other side (docs/design.md §9,
  /// verify/spin/rendezvous.pml).
  bool start_awaited(std::coroutine_handle<> self, std::coroutine_handle<> awaiting) noexcept {
    continuation_ = awaiting;
    starter_ = &tls_identity;
    self.resume();
    std::uint32_t state = kRunning;
    // Success (release): publishes that this side stopped touching the promise; the
    // finisher's acquire load/CAS then resumes the awaiter. Failure (acquire): sees what
    // the finisher wrote before its own CAS (finisher_, the result).
    if (rendezvous_.compare_exchange_strong(state, kAwaiterSuspended,
                                            std::memory_order_acq_rel))
      return true;
    switch (state) {
      case kFinishedInline:  // finished inside resume(), on this thread: continue here
        return false;
      case kFinishedOnThread: {
        // Finished on ste thread finisher_ while we were still here. It announced our
        // return (so it cannot close) and went on: send the awaiter there.
        core* const target = finisher_;
        back_.handle = awaiting;
        target->link_comeback(back_, nullptr);  // last touch of the promise
        return true;
      }
      default: {  // kFinisherWaiting: a plain thread finished and waits for us
        void const* const key = &rendezvous_;
        // release: as the successful CAS above. After it the finisher may resume the
        // awaiter and free the promise: the wake uses the address as a key only.
        rendezvous_.store(kAwaiterSuspended, std::memory_order_release);
        wake_all(key);
        return true;
      }
    }
  }

  /// The final suspend's half: the coroutine to transfer to.
  std::coroutine_handle<> finish_awaited() noexcept {
    if (starter_ == nullptr) return std::noop_coroutine();  // never awaited (empty start)
    if (starter_ == &tls_identity &&
        rendezvous_.load(std::memory_order_relaxed) == kRunning) {
      // Still inside the awaiter's resume() on its own thread: it continues by itself.
      rendezvous_.store(kFinishedInline, std::memory_order_relaxed);
      return std::noop_coroutine();
    }
    // acquire: pairs with the awaiter's release (its CAS or store to kAwaiterSuspended).
    if (rendezvous_.load(std::memory_order_acquire) == kAwaiterSuspended) return continuation_;
    // The awaiter, on another thread, has not yet left its await_suspend (it is a few
    // instructions after its resume() returned, or preempted there). Never spin on it:
    // it may be a lower-priority thread on this very CPU.
    std::uint32_t state = kRunning;
    if (core* const here = current_core(); here != nullptr && here->try_announce_comeback()) {
      // A ste thread: announce the awaiter's return to this thread and go on serving;
      // the awaiter links back_ into our queue and continues here.
      finisher_ = here;
      // release: publishes finisher_ (and the result) to the awaiter's failing CAS.
      // acquire on failure: the awaiter's CAS to kAwaiterSuspended (stopped touching).
      if (rendezvous_.compare_exchange_strong(state, kFinishedOnThread,
                                              std::memory_order_acq_rel))
        return std::noop_coroutine();
      here->withdraw_comeback(nullptr);  // the awaiter suspended meanwhile: resume it here
      return continuation_;
    }
    // A plain thread (or a ste thread past its postlude): wait for the awaiter, a short
    // spin then asleep in the kernel, so a preempted awaiter gets the CPU.
    if (rendezvous_.compare_exchange_strong(state, kFinisherWaiting, std::memory_order_acq_rel)) {
      auto suspended = [this] {
        return rendezvous_.load(std::memory_order_acquire) == kAwaiterSuspended;
      };
      if (!spin_until(suspended))
        while (!suspended()) wait_on(rendezvous_, kFinisherWaiting);
    }
    return continuation_;
  }
  void set_done_callback(done_callback cb) noexcept { on_done_ = cb; }
  std::exception_ptr const& error() const noexcept { return error_; }

  /// The ste thread blocked in block_on until this coroutine chain completes: set by
  /// block_on called from another ste thread, inherited by every task the chain awaits
  /// (task, submit_async). That thread serves nothing until then, so the chain must
  /// never move to it (schedule, submit_async): that would wait for ever.
  core* blocked_thread() const noexcept { return blocked_thread_; }
  void set_blocked_thread(core* c) noexcept { blocked_thread_ = c; }

 protected:
  void rethrow_if_failed() {
    if (error_) std::rethrow_exception(error_);
  }

 private:
  std::coroutine_handle<> continuation_;
  done_callback on_done_;
  std::exception_ptr error_;
  // The rendezvous between the awaiter (start_awaited) and the finisher (finish_awaited).
  static constexpr std::uint32_t kRunning = 0;           // started, awaiter inside resume()
  static constexpr std::uint32_t kFinishedInline = 1;    // finished inside that resume()
  static constexpr std::uint32_t kAwaiterSuspended = 2;  // the awaiter has suspended
  static constexpr std::uint32_t kFinishedOnThread = 3;  // finished on ste thread finisher_
  static constexpr std::uint32_t kFinisherWaiting = 4;   // a plain thread waits for the awaiter
  static inline thread_local char tls_identity = 0;      // its address names a thread
  std::atomic<std::uint32_t> rendezvous_{kRunning};
  char const* starter_ = nullptr;  // the thread that started us for an awaiter
  core* finisher_ = nullptr;       // kFinishedOnThread: where the awaiter continues
  resume_node back_;               // kFinishedOnThread: the awaiter's way there
  core* blocked_thread_ = nullptr; // see blocked_thread(); written before the start
};

template <class T>
class promise final : public promise_base {
 public:
  task<T> get_return_object() noexcept;

  template <class U>
    requires std::is_convertible_v<U&&, T>
  void return_value(U&& v) noexcept(std::is_nothrow_constructible_v<T, U&&>) {
    if constexpr (std::is_reference_v<T>)
      value_ = std::addressof(static_cast<T>(std::forward<U>(v)));
    else
      value_.emplace(std::forward<U>(v));
  }

  T take() {
    rethrow_if_failed();
    if constexpr (std::is_reference_v<T>)
      return static_cast<T>(*value_);
    else
      return std::move(*value_);
  }

 private:
  std::conditional_t<std::is_reference_v<T>, std::remove_reference_t<T>*, std::optional<T>>
      value_{};
};

template <>
class promise<void> final : public promise_base {
 public:
  task<void> get_return_object() noexcept;
  void return_void() const noexcept {}
  void take() { rethrow_if_failed(); }
};

template <class T>
class task_access;

}  // namespace detail

/// A lazily started coroutine returning T (value, reference or void).
template <class T>
class [[nodiscard]] task {
 public:
  using promise_type = detail::promise<T>;
  using value_type = T;

  task() noexcept = default;
  task(task&& other) noexcept : handle_(std::exchange(other.handle_, nullptr)) {}
  task& operator=(task&& other) noexcept {
    if (this != &other) {
      if (handle_) handle_.destroy();
      handle_ = std::exchange(other.handle_, nullptr);
    }
    return *this;
  }
  task(task const&) = delete;
  task& operator=(task const&) = delete;
  /// Destroys the coroutine frame (a task not yet started never runs).
  ~task() {
    if (handle_) handle_.destroy();
  }

  /// True when this object holds a coroutine.
  explicit operator bool() const noexcept { return static_cast<bool>(handle_); }

  /// Starts the coroutine (symmetric transfer) and resumes the awaiter with its result,
  /// or rethrows its exception. Awaiting an empty task throws std::invalid_argument.
  auto operator co_await() & noexcept { return awaiter{handle_}; }
  auto operator co_await() && noexcept { return awaiter{handle_}; }

 private:
  friend class detail::promise<T>;
  friend class detail::task_access<T>;
  explicit task(std::coroutine_handle<promise_type> h) noexcept : handle_(h) {}

  struct awaiter {
    std::coroutine_handle<promise_type> handle;
    bool await_ready() const noexcept { return !handle || handle.done(); }
    template <class Promise>
    bool await_suspend(std::coroutine_handle<Promise> awaiting) noexcept {
      handle.promise().set_blocked_thread(detail::blocked_thread_of(awaiting));
      return handle.promise().start_awaited(handle, awaiting);
    }
    T await_resume() {
      if (!handle) detail::throw_empty_task("co_await");
      return handle.promise().take();
    }
  };

  std::coroutine_handle<promise_type> handle_;
};

namespace detail {

template <class T>
task<T> promise<T>::get_return_object() noexcept {
  return task<T>(std::coroutine_handle<promise<T>>::from_promise(*this));
}
inline task<void> promise<void>::get_return_object() noexcept {
  return task<void>(std::coroutine_handle<promise<void>>::from_promise(*this));
}

/// Internal access to a task's coroutine handle.
template <class T>
class task_access {
 public:
  static std::coroutine_handle<promise<T>> handle(task<T> const& t) noexcept {
    return t.handle_;
  }
  static std::coroutine_handle<promise<T>> take_handle(task<T>& t) noexcept {
    return std::exchange(t.handle_, nullptr);
  }
};

template <class R, class A>
task<R> wrap_awaitable(A aw) {
  // `A` is a value type for rvalue arguments (kept in this frame) and an lvalue
  // reference for lvalues (the caller keeps it alive while it waits).
  co_return co_await static_cast<A&&>(aw);
}

template <class A>
inline constexpr bool is_task_v = false;
template <class T>
inline constexpr bool is_task_v<task<T>> = true;

/// Any awaitable as a task<R>: a task<R> rvalue as itself, anything else wrapped in
/// one coroutine frame. An empty task throws std::invalid_argument (for `operation`),
/// before anything is started or allocated.
template <class A>
auto as_task(A&& aw, char const* operation) {
  if constexpr (is_task_v<std::remove_cvref_t<A>>) {
    if (!aw) throw_empty_task(operation);
  }
  using R = await_result_t<A>;
  if constexpr (std::is_same_v<std::remove_cvref_t<A>, task<R>> && !std::is_lvalue_reference_v<A>)
    return task<R>(std::move(aw));
  else
    return wrap_awaitable<R, A>(std::forward<A>(aw));
}

// ---------------------------------------------------------------------------------
// Queue nodes that resume coroutines

/// `co_await thread.schedule()`: the awaiter is the queue node, so nothing is allocated.
class schedule_awaiter : resume_node {
 public:
  schedule_awaiter(core& c, ste::site const& at) noexcept : core_(&c) { where = at; }
  bool await_ready() const noexcept { return false; }  // always through the queue
  template <class Promise>
  void await_suspend(std::coroutine_handle<Promise> h) {
    check_chain_can_move(*core_, blocked_thread_of(h));  // deadlock_error
    handle = h;
    // From here on the worker may resume h (and destroy *this) at any moment: accept's
    // last touch of *this is linking it under the lock.
    core_->accept_coroutine(*this);  // stopped_error is rethrown inside the coroutine
  }
  void await_resume() const noexcept {}

 private:
  core* core_;
};

/// A timer of the current ste thread (sleep_for / sleep_until).
class sleep_awaiter : public timer_node {
 public:
  sleep_awaiter(std::chrono::steady_clock::time_point when, ste::site const& at) noexcept {
    deadline = when;
    where = at;  // the resumption's site (stats, on_stall): where it slept
    invoke = &run;
    accounting = task_accounting::by_worker;  // a resumption the worker counts
  }
  bool await_ready() {
    core_ = current_core();
    if (core_ == nullptr) throw_sleep_off_thread();
    core_->check_can_sleep();  // stopped_error once join() started
    return false;              // even a past deadline yields once, through the timers
  }
  void await_suspend(std::coroutine_handle<> h) {
    handle_ = h;
    core_->add_timer(*this);
  }
  void await_resume() const {
    if (stopped) throw_sleep_stopped();
  }

 private:
  static void run(task_node* n) { static_cast<sleep_awaiter*>(n)->handle_.resume(); }

  core* core_ = nullptr;
  std::coroutine_handle<> handle_;
};

/// block_on from another thread: the record lives in the caller's frame; its node
/// starts the coroutine on the thread, and the coroutine's completion signals it.
template <class R>
struct block_on_record final : blocking_node {
  explicit block_on_record(std::coroutine_handle<promise<R>> h) noexcept : handle(h) {
    invoke = &run;
    h.promise().set_done_callback({&on_coroutine_done, this});
    h.promise().set_blocked_thread(current_core());  // the caller, if a ste thread
  }
  static void run(task_node* n) { static_cast<block_on_record*>(n)->handle.resume(); }
  static std::coroutine_handle<> on_coroutine_done(void* context) noexcept {
    static_cast<block_on_record*>(context)->done.signal();  // last touch of the record
    return std::noop_coroutine();
  }
  std::coroutine_handle<promise<R>> handle;
};

/// block_on on the thread itself: the coroutine starts inline and a nested loop runs
/// until it finished. If it finishes on another thread, the news comes back through the
/// queue (this node), so the loop can sleep in the kernel meanwhile.
template <class R>
struct nested_block_on final : task_node {
  nested_block_on(core& c, std::coroutine_handle<promise<R>> h) noexcept : owner(&c) {
    invoke = &run;
    accounting = task_accounting::by_node;  // a completion notice, not a task
    h.promise().set_done_callback({&on_coroutine_done, this});
  }
  static void run(task_node* n) { static_cast<nested_block_on*>(n)->completed = true; }
  static std::coroutine_handle<> on_coroutine_done(void* context) noexcept {
    auto* self = static_cast<nested_block_on*>(context);
    if (self->owner->is_current())
      self->completed = true;
    else
      self->owner->link_completion(*self);
    return std::noop_coroutine();
  }
  core* owner;
  bool completed = false;  // the nested loop runs until this is true
};

/// `co_await thread.submit_async(awaitable)`: lives in the awaiting coroutine's frame.
template <class R>
class submit_async_awaiter {
 public:
  submit_async_awaiter(core& target, task<R> t) noexcept : target_(&target), task_(std::move(t)) {}
  submit_async_awaiter(submit_async_awaiter&&) = delete;

  bool await_ready() const noexcept { return false; }

  template <class Promise>
  bool await_suspend(std::coroutine_handle<Promise> awaiting) {
    auto const h = task_access<R>::handle(task_);
    core* const blocked = blocked_thread_of(awaiting);
    h.promise().set_blocked_thread(blocked);
    origin_ = current_core();
    if (origin_ == target_)  // already there: run it inline, as co_await on a task does
      return h.promise().start_awaited(h, awaiting);
    check_chain_can_move(*target_, blocked);  // deadlock_error
    awaiting_ = awaiting;
    h.promise().set_done_callback({&on_coroutine_done, this});
    record_.target = target_;
    // The origin waits for our comeback (its join too); deadlock_error if target_ is
    // blocked joining the origin and so could never start us.
    if (origin_ != nullptr) origin_->announce_comeback(record_);
    start_.handle = h;
    start_.record = origin_ != nullptr ? &record_ : nullptr;
    try {
      target_->accept(start_);  // from here on *this may be gone at any moment
    } catch (...) {
      if (origin_ != nullptr) origin_->withdraw_comeback(&record_);
      throw;  // rethrown inside the awaiting coroutine
    }
    return true;
  }

  R await_resume() { return task_access<R>::handle(task_).promise().take(); }

 private:
  static std::coroutine_handle<> on_coroutine_done(void* context) noexcept {
    auto* self = static_cast<submit_async_awaiter*>(context);
    core* const origin = self->origin_;
    if (origin == nullptr) return self->awaiting_;  // from a plain thread: resume here
    if (origin->is_current()) {                     // finished back home already
      origin->withdraw_comeback(&self->record_);
      return self->awaiting_;
    }
    self->back_.handle = self->awaiting_;
    origin->link_comeback(self->back_, &self->record_);  // the last touch
    return std::noop_coroutine();
  }

  // Starts the coroutine on the target, first marking the origin's record as started.
  struct start_node : task_node {
    std::coroutine_handle<> handle;
    comeback_record* record = nullptr;
    start_node() noexcept { invoke = &run; }
    static void run(task_node* n) {
      auto* self = static_cast<start_node*>(n);
      // release: see comeback_record::started (read by a deadlock walk).
      if (self->record != nullptr) self->record->started.store(true, std::memory_order_release);
      self->handle.resume();
    }
  };

  core* target_;
  core* origin_ = nullptr;
  task<R> task_;
  std::coroutine_handle<> awaiting_;
  comeback_record record_;
  start_node start_;
  resume_node back_;
};

/// A detached coroutine started by thread.spawn(): one small block that owns the frame.
struct spawn_record final : task_node {
  spawn_record(std::shared_ptr<core> c, std::coroutine_handle<promise<void>> h) noexcept
      : owner(std::move(c)), handle(h) {
    invoke = &run;
    h.promise().set_done_callback({&on_coroutine_done, this});
  }
  static void run(task_node* n) { static_cast<spawn_record*>(n)->handle.resume(); }
  static std::coroutine_handle<> on_coroutine_done(void* context) noexcept {
    std::unique_ptr<spawn_record> self(static_cast<spawn_record*>(context));
    std::exception_ptr error = self->handle.promise().error();
    self->handle.destroy();  // suspended at its final point: safe to destroy here
    // The stopped_error join() made a sleep or schedule() throw means "stop": ending on
    // it is the coroutine's expected way out, not an error.
    if (error && !is_stop_from_join(error))
      self->owner->report_error(std::move(error), error_source::spawned_coroutine, self->where);
    return std::noop_coroutine();
  }
  std::shared_ptr<core> owner;
  std::coroutine_handle<promise<void>> handle;
};

/// `now + d`, saturating at time_point::max() instead of overflowing; zero and negative
/// durations give `now`. A NaN duration throws std::invalid_argument (it has no
/// meaning, and converting it to an integer count would be undefined behaviour).
template <class Rep, class Period>
std::chrono::steady_clock::time_point deadline_after(std::chrono::duration<Rep, Period> d) {
  using clock = std::chrono::steady_clock;
  if constexpr (std::is_floating_point_v<Rep>) {
    if (d.count() != d.count()) throw_nan_duration();
  }
  auto const now = clock::now();
  if (d <= d.zero()) return now;
  if (std::chrono::duration<long double>(d) >=
      std::chrono::duration<long double>(clock::time_point::max() - now))
    return clock::time_point::max();
  return now + std::chrono::ceil<clock::duration>(d);
}

/// `t` (on any clock) as a steady_clock deadline, converted once, now: the time left is
/// computed in long double nanoseconds, so neither the subtraction nor a coarse
/// duration's conversion can overflow (time_point::min() of any clock is simply past,
/// max() saturates). A NaN time point throws std::invalid_argument.
template <class Clock, class Duration>
std::chrono::steady_clock::time_point deadline_at(std::chrono::time_point<Clock, Duration> t) {
  if constexpr (std::is_same_v<Clock, std::chrono::steady_clock> &&
                std::is_same_v<Duration, std::chrono::steady_clock::duration>) {
    return t;
  } else {
    using exact = std::chrono::duration<long double, std::nano>;
    return deadline_after(exact(t.time_since_epoch()) - exact(Clock::now().time_since_epoch()));
  }
}

/// A periodic timer's period as steady_clock ticks, rounded up (at least one tick), far
/// ones saturating. Zero, negative and NaN periods throw std::invalid_argument.
template <class Rep, class Period>
std::chrono::steady_clock::duration period_of(std::chrono::duration<Rep, Period> d) {
  using tick = std::chrono::steady_clock::duration;
  if constexpr (std::is_floating_point_v<Rep>) {
    if (d.count() != d.count()) throw_bad_period("NaN");
  }
  if (d <= d.zero()) throw_bad_period(d == d.zero() ? "zero" : "negative");
  if (std::chrono::duration<long double>(d) >= std::chrono::duration<long double>(tick::max()))
    return tick::max();
  return std::chrono::ceil<tick>(d);
}

/// An on_stall threshold in nanoseconds, rounded up, far ones saturating. Zero, negative
/// and NaN thresholds throw std::invalid_argument.
template <class Rep, class Period>
std::chrono::nanoseconds stall_threshold_of(std::chrono::duration<Rep, Period> d) {
  using ns = std::chrono::nanoseconds;
  if constexpr (std::is_floating_point_v<Rep>) {
    if (d.count() != d.count()) throw_bad_threshold("NaN");
  }
  if (d <= d.zero()) throw_bad_threshold(d == d.zero() ? "zero" : "negative");
  if (std::chrono::duration<long double>(d) >= std::chrono::duration<long double>(ns::max()))
    return ns::max();
  return std::chrono::ceil<ns>(d);
}

/// `now + p`, saturating at time_point::max().
inline std::chrono::steady_clock::time_point saturating_after(
    std::chrono::steady_clock::duration p) noexcept {
  using clock = std::chrono::steady_clock;
  auto const now = clock::now();
  if (clock::time_point::max() - now < p) return clock::time_point::max();
  return now + p;
}

}  // namespace detail

/// Suspends the calling coroutine for `d` on the timers of the ste thread it runs on;
/// the thread serves other work meanwhile and sleeps in the kernel when only timers are
/// pending. Throws ste::wrong_thread off every ste thread, and ste::stopped_error (inside
/// the coroutine, on the thread) when join() starts before the deadline. No allocation
/// (the timer heap is intrusive). A NaN duration throws std::invalid_argument.
template <class Rep, class Period>
detail::sleep_awaiter sleep_for(std::chrono::duration<Rep, Period> d,
                                ste::site where = ste::site::current()) {
  return detail::sleep_awaiter(detail::deadline_after(d), where);
}

/// As sleep_for, until `t` (any clock; converted to steady_clock once, now).
template <class Clock, class Duration>
detail::sleep_awaiter sleep_until(std::chrono::time_point<Clock, Duration> t,
                                  ste::site where = ste::site::current()) {
  return detail::sleep_awaiter(detail::deadline_at(t), where);
}

}  // namespace ste
