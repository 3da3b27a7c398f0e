// SPDX-License-Identifier: MIT
// ste/execution.hpp — a ste thread as a P2300 (std::execution) scheduler. Optional: it
// needs NVIDIA's stdexec (<stdexec/execution.hpp> on the include path) or a standard
// library whose <execution> has senders (__cpp_lib_senders); not included by
// ste/ste.hpp, so neither is ever required.
//
//   ste::thread worker = ste::spawn();
//   ste::scheduler sch = ste::get_scheduler(worker);
//   auto work = stdexec::starts_on(sch, stdexec::just(21) | stdexec::then(twice));
//   auto [answer] = stdexec::sync_wait(std::move(work)).value();  // twice ran on worker
//
// What `schedule(sch)` does, once its operation is started:
// - it is queued on the thread, FIFO with the thread's other tasks (even when started
//   on the thread itself), and completes there with set_value();
// - if the receiver's stop token is triggered before the thread started it, it is
//   withdrawn from the queue by the stop callback and completes with set_stopped() on
//   the thread that asked for the stop; if the thread reaches it in the same instant, it
//   completes with set_stopped() on the thread. Either way the receiver is completed
//   exactly once;
// - if the thread no longer accepts work from the caller (joined, its join() started and
//   the caller is another thread, or the handle was inherited by fork()), it completes at
//   once, inside start(), with set_error(std::exception_ptr) holding ste::stopped_error.
//
// No allocation: the operation state returned by connect() is the queue node itself
// (tests/execution_test.cpp counts). start() takes no lock (one CAS, as thread::post);
// a stop request takes the thread's desk lock to withdraw, as submit_for's deadline does.
//
// The protocol between start(), the stop callback and the thread, and why no one touches
// an operation state after its receiver may have destroyed it: docs/design.md §20,
// checked by verify/spin/schedule.pml.
//
// A receiver's completion (set_value, set_stopped) that calls pthread_exit or is
// cancelled ends the process (std::terminate): completions are noexcept in P2300.
//
// Real-time threads: before it completes an operation the thread deregisters the stop
// callback, and that waits while another thread is running the callback. A requester
// preempted inside request_stop() thus delays the thread (verify/README.md §1g, D1). A
// receiver whose stop token is unstoppable (never_stop_token) registers no callback, and
// this wait never happens.
#pragma once

#if __has_include(<stdexec/execution.hpp>)
#include <stdexec/execution.hpp>
#define STE_EXECUTION_STDEXEC 1
#else
#include <version>
#if defined(__cpp_lib_senders)
#include <execution>
#include <stop_token>
#define STE_EXECUTION_STDEXEC 0
#else
#error "ste/execution.hpp needs P2300 senders: NVIDIA stdexec (<stdexec/execution.hpp> on the include path; ste's CMake option STE_STDEXEC_INCLUDE) or a standard library with __cpp_lib_senders"
#endif
#endif

#include <exception>
#include <memory>
#include <optional>
#include <type_traits>
#include <utility>

#include "ste/errors.hpp"
#include "ste/thread.hpp"

namespace ste {

namespace detail::p2300 {
// The names this header uses, from stdexec or from the standard library (where C++26
// put the stop-token names in std and the rest in std::execution).
#if STE_EXECUTION_STDEXEC
namespace ns = ::stdexec;
using ::stdexec::get_stop_token;
using ::stdexec::stop_callback_for_t;
using ::stdexec::stop_token_of_t;
using ::stdexec::unstoppable_token;
#else
namespace ns = ::std::execution;
using ::std::get_stop_token;
using ::std::stop_callback_for_t;
using ::std::stop_token_of_t;
using ::std::unstoppable_token;
#endif
using ns::completion_signatures;
using ns::env_of_t;
using ns::forward_progress_guarantee;
using ns::get_completion_scheduler_t;
using ns::get_env;
using ns::get_forward_progress_guarantee_t;
using ns::scheduler_t;
using ns::sender_t;
using ns::set_error;
using ns::set_error_t;
using ns::set_stopped;
using ns::set_stopped_t;
using ns::set_value;
using ns::set_value_t;
}  // namespace detail::p2300

class scheduler;

namespace detail {

struct no_stop_callback {};

/// The operation state of `schedule(ste::scheduler)`: it is the queue node. Immovable
/// (the queue links it by address), made in place by connect().
template <class Receiver>
class schedule_operation final : task_node {
  using token_type = p2300::stop_token_of_t<p2300::env_of_t<Receiver>>;
  static constexpr bool stoppable = !p2300::unstoppable_token<token_type>;

  struct on_stop {
    schedule_operation* self;
    void operator()() const noexcept { self->withdraw_on_stop(); }
  };
  using callback_slot =
      std::conditional_t<stoppable,
                         std::optional<p2300::stop_callback_for_t<token_type, on_stop>>,
                         no_stop_callback>;

 public:
  schedule_operation(std::shared_ptr<core> c, Receiver r) noexcept(
      std::is_nothrow_move_constructible_v<Receiver>)
      : core_(std::move(c)), receiver_(std::move(r)) {
    invoke = &run;
    where = ste::site::current();  // this header: the sender algorithm's site is unknown
  }
  schedule_operation(schedule_operation const&) = delete;
  schedule_operation& operator=(schedule_operation const&) = delete;

  void start() & noexcept {
    if constexpr (stoppable) {
      token_type token = p2300::get_stop_token(p2300::get_env(receiver_));
      if (token.stop_requested()) {
        p2300::set_stopped(std::move(receiver_));
        return;
      }
      // Registered before the node is linked: the thread may complete the operation as
      // soon as accept's CAS is done, and its first step is to deregister (run). A stop
      // requested from here on runs withdraw_on_stop, which finds nothing linked yet.
      callback_.emplace(token, on_stop{this});
      // So look again (schedule.pml's RECHECK, verify/README.md §1g D2): a stop that
      // came meanwhile ends the operation here, unqueued. reset waits for the callback
      // if it runs on another thread. A stop between this check and the push still
      // finds nothing to withdraw: the thread then completes it, set_stopped, in turn.
      if (token.stop_requested()) {
        callback_.reset();
        p2300::set_stopped(std::move(receiver_));
        return;
      }
    }
    try {
      core_->accept(*this);  // one CAS; from here on *this may be gone: no access
    } catch (...) {
      // Refused: nothing was linked, so the thread never saw us. A concurrent stop
      // callback withdraws nothing; reset waits for it before we complete.
      if constexpr (stoppable) callback_.reset();
      p2300::set_error(std::move(receiver_), std::current_exception());
    }
  }

 private:
  // The thread, after it unlinked the node under its desk ("started": a withdrawal fails
  // from now on).
  static void run(task_node* n) noexcept {
    auto* self = static_cast<schedule_operation*>(n);
    if constexpr (stoppable) {
      // Deregistering waits for a stop callback running on another thread (its withdraw
      // fails: the node is unlinked), so it never touches the operation after the
      // receiver below may have destroyed it. It cannot be running on this thread.
      self->callback_.reset();
      // A stop requested before the node was linked found nothing to withdraw.
      if (p2300::get_stop_token(p2300::get_env(self->receiver_)).stop_requested()) {
        p2300::set_stopped(std::move(self->receiver_));
        return;
      }
    }
    p2300::set_value(std::move(self->receiver_));  // last touch: *self may be gone
  }

  // The stop callback: on the thread that requested the stop (any thread, the ste
  // thread included). Whoever unlinks the node decides, exactly once, under the desk.
  void withdraw_on_stop() noexcept {
    if (core_->withdraw(*this)) p2300::set_stopped(std::move(receiver_));
  }

  std::shared_ptr<core> core_;  // never null; keeps the core alive while connected
  Receiver receiver_;
  [[no_unique_address]] callback_slot callback_;
};

}  // namespace detail

/// A ste thread as a P2300 scheduler (ste::get_scheduler). Copyable, cheap (one
/// shared_ptr); two schedulers are equal when they name the same thread. Like an Asio
/// executor of ste's, it keeps the thread's shared state alive, not the thread running:
/// after join, schedule() still makes senders, which complete with set_error.
class scheduler {
 public:
  using scheduler_concept = detail::p2300::scheduler_t;

  /// The environment of schedule()'s sender: completes on this scheduler.
  class env {
   public:
    // set_value only: set_stopped may come on the thread that asked for the stop, and
    // set_error inside start() on the caller's.
    scheduler query(
        detail::p2300::get_completion_scheduler_t<detail::p2300::set_value_t>) const noexcept {
      return scheduler(core_);
    }

   private:
    friend scheduler;
    explicit env(std::shared_ptr<detail::core> c) noexcept : core_(std::move(c)) {}
    std::shared_ptr<detail::core> core_;
  };

  /// The sender of schedule(): set_value() on the thread; set_stopped() when stopped
  /// before it started; set_error(stopped_error) when the thread no longer accepts work.
  class sender {
   public:
    using sender_concept = detail::p2300::sender_t;
    using completion_signatures =
        detail::p2300::completion_signatures<detail::p2300::set_value_t(),
                                             detail::p2300::set_error_t(std::exception_ptr),
                                             detail::p2300::set_stopped_t()>;

    template <class Receiver>
    detail::schedule_operation<std::decay_t<Receiver>> connect(Receiver&& r) const& noexcept(
        std::is_nothrow_constructible_v<std::decay_t<Receiver>, Receiver>) {
      return {core_, std::forward<Receiver>(r)};
    }
    template <class Receiver>
    detail::schedule_operation<std::decay_t<Receiver>> connect(Receiver&& r) && noexcept(
        std::is_nothrow_constructible_v<std::decay_t<Receiver>, Receiver>) {
      return {std::move(core_), std::forward<Receiver>(r)};
    }

    env get_env() const noexcept { return env(core_); }

   private:
    friend scheduler;
    explicit sender(std::shared_ptr<detail::core> c) noexcept : core_(std::move(c)) {}
    std::shared_ptr<detail::core> core_;
  };

  sender schedule() const noexcept { return sender(core_); }

  /// One dedicated OS thread runs the work: once started it makes progress.
  static constexpr detail::p2300::forward_progress_guarantee query(
      detail::p2300::get_forward_progress_guarantee_t) noexcept {
    return detail::p2300::forward_progress_guarantee::parallel;
  }

  /// True on the scheduler's thread (where work started by it runs).
  bool running_in_this_thread() const noexcept { return core_->is_current(); }
  /// Whether schedule() would be accepted from the calling thread now.
  bool accepts_work() const noexcept { return core_->accepts_work(); }
  ste::tag tag() const noexcept { return core_->tag(); }

  friend bool operator==(scheduler const& a, scheduler const& b) noexcept {
    return a.core_ == b.core_;
  }

 private:
  friend scheduler get_scheduler(ste::thread const& thread);
  explicit scheduler(std::shared_ptr<detail::core> c) noexcept : core_(std::move(c)) {}

  std::shared_ptr<detail::core> core_;  // never null
};

/// The P2300 scheduler of `thread`. Throws stopped_error for an empty handle (a
/// default-constructed or moved-from ste::thread).
inline scheduler get_scheduler(ste::thread const& thread) {
  auto const& core = detail::thread_access::core_of(thread);
  if (!core) detail::throw_empty_handle("get_scheduler");
  return scheduler(core);
}

}  // namespace ste
