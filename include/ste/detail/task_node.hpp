// SPDX-License-Identifier: MIT
// ste/detail/task_node.hpp — the task records that travel through a ste thread's queue.
//
// A task_node is intrusive: it is embedded in whatever owns the task. For submit it
// lives in the submitter's stack frame (no allocation); for post it is the head of one
// heap block; for coroutines it is the awaiter inside the coroutine frame.
//
// Ownership of a node over its life (details and proofs: docs/design.md §2–§5):
// 1. Owner fills it in, then mailbox::push links it into the inbox with one CAS
//    (release: publishes everything written to the node before).
// 2. A drain (the worker, or a withdrawing timed submitter, under the desk lock) moves
//    it from the inbox chain into the worker-side FIFO. The worker unlinks it from there
//    under the desk ("started"), or a timed submitter unlinks it first ("withdrawn"):
//    whoever unlinks it decides, exactly once.
// 3. The worker calls invoke(); for a blocking record invoke ends with
//    completion::signal(), after which the worker never touches the record again.
#pragma once

#include "ste/export.hpp"

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <exception>
#include <functional>
#include <memory>
#include <new>
#include <optional>
#include <type_traits>
#include <utility>

#include "ste/detail/forced_unwind.hpp"
#include "ste/detail/intrusive_list.hpp"
#include "ste/site.hpp"
#include "ste/detail/wait.hpp"
#include "ste/detail/wait_policy.hpp"

namespace ste::detail {

struct comeback_record;

/// Who counts a task for thread::stats() (task_stats.hpp): the mailbox when it accepts
/// the push (most tasks), the worker when it takes the node (a coroutine resumed by a
/// timer), or the node's own code when it really runs user work (a timer's entry and
/// message, a notifier's nodes; a nested block_on's completion never counts).
enum class task_accounting : std::uint8_t { by_mailbox, by_worker, by_node };

/// The worker's bookkeeping hooks (src/worker.cpp), for the thread running the caller;
/// no-ops off ste threads and outside a task. note_task_end: the task in progress ends
/// now (completion::signal calls it first, so a submitter released sees its task
/// completed). note_task_withdrawn: it ends without having run (a submit_for reached
/// after its deadline), and it is no longer counted as accepted.
STE_API void note_task_end() noexcept;
STE_API void note_task_withdrawn() noexcept;

// Aligned so that the inbox word can keep its phase and flag bits below a node's address
// (mailbox.hpp): 4 bits. Coroutine frames and post's blocks come from operator new,
// which aligns this much by default where ste runs.
//
// The fields come in the order the worker uses them: what it reads and writes for every
// task (the chain, the FIFO hook, invoke, the flags) fills the first 48 bytes, so that a
// blocking record (blocking_node, 64-aligned, with one word before the node) keeps all
// of it on one cache line; what it rarely reads (comeback_of, only for a comeback; the
// site, only on an error or on a timed thread) comes last.
struct alignas(16) task_node {
  // The inbox chain (newest first): written by the pusher before its CAS, read by the
  // drain that takes the chain (the CAS's release/acquire orders the two).
  task_node* inbox_next = nullptr;
  // The worker-side FIFO, guarded by the desk lock. `linked` is true from the drain that
  // moved the node there until the worker (start) or a withdrawal unlinks it.
  list_hook<task_node> queue_hook;
  // Runs the task on the worker thread. May throw only for fire-and-forget tasks (the
  // worker hands such exceptions to on_error); blocking records catch their own.
  void (*invoke)(task_node*) = nullptr;
  // A coroutine coming back (mailbox::link_comeback): the worker settles the announced
  // comeback (with its record, if any) when it takes this node. Written by the pusher.
  bool comeback = false;
  task_accounting accounting = task_accounting::by_mailbox;
  // invoke lets no exception out but the end of the OS thread, and the node stays alive
  // until invoke's last step (a blocking record: its completion signal). Then the worker
  // never needs the site after invoke, and reads it in place instead of copying it
  // first: the site is on the record's second line, which the submitter spins on.
  bool quiet_invoke = false;
  comeback_record* comeback_of = nullptr;
  // Where the task was handed over (submit*, post*, spawn, make_notifier, …): three
  // words kept with the task, for on_error, stats() and the stall watchdog.
  ste::site where;
};

static_assert(__STDCPP_DEFAULT_NEW_ALIGNMENT__ >= alignof(task_node),
              "ste keeps task records in coroutine frames and in blocks from plain "
              "operator new: both must be aligned as task_node is (16 bytes)");

using task_queue = intrusive_list<task_node, &task_node::queue_hook>;

/// The caller-side "done" flag of a blocking record, with the last-touch rule built in.
class completion {
 public:
  /// Worker side. After this returns the record may already be gone: nothing of it is
  /// read or written afterwards (wake_all uses the address as a key only).
  void signal() noexcept {
    note_task_end();  // counted completed before the caller can look
    void const* const key = &state_;
    // release: publishes the result (or exception) written before signal() to the
    // caller's acquire in done(). Nothing after this exchange touches *this.
    if (state_.exchange(kDone, std::memory_order_release) == kSleeping) wake_all(key);
  }

  /// Caller side: true once the worker signalled. acquire pairs with signal()'s release.
  bool done() const noexcept { return state_.load(std::memory_order_acquire) == kDone; }

  /// Caller side: blocks until signalled (bounded spin, then sleep in the kernel).
  /// `ahead` is how many tasks were queued in front of ours when it was accepted: with
  /// several ahead the wait will be long, so spinning would only take CPU from the worker.
  void wait(std::size_t ahead = 0, int worker_cpu = -1) noexcept {
    if (ahead < wait_policy::spin_when_ahead_below &&
        spin_until([this] { return done(); }, worker_cpu))
      return;
    while (!park_for(std::chrono::nanoseconds::max())) {
    }
  }

  /// Caller side: blocks until signalled or `deadline`; false when the deadline passed.
  template <class Clock, class Duration>
  bool wait_until(std::chrono::time_point<Clock, Duration> const& deadline) noexcept {
    if (done()) return true;
    if (Clock::now() >= deadline) return false;
    if (spin_until([&] { return done() || Clock::now() >= deadline; })) {
      if (done()) return true;
      return false;
    }
    for (;;) {
      auto const left = deadline - Clock::now();
      if (left <= decltype(left)::zero()) return done();
      if (park_for(sleep_slice(left))) return true;
    }
  }

 private:
  static constexpr std::uint32_t kPending = 0;
  static constexpr std::uint32_t kSleeping = 1;  // the caller is (about to be) in the kernel
  static constexpr std::uint32_t kDone = 2;

  // Announces the sleep, then sleeps while nothing changed. True once done.
  bool park_for(std::chrono::nanoseconds timeout) noexcept {
    std::uint32_t expected = kPending;
    // acquire on failure: a kDone read here must see the result like done() does.
    if (!state_.compare_exchange_strong(expected, kSleeping, std::memory_order_acquire) &&
        expected == kDone)
      return true;
    if (timeout == std::chrono::nanoseconds::max())
      wait_on(state_, kSleeping);
    else
      wait_on_for(state_, kSleeping, timeout);
    return done();
  }

  // kPending -> kSleeping (caller only) -> kDone (worker only, exactly once).
  std::atomic<std::uint32_t> state_{kPending};
};

/// The stopped_error a submitter gets when its own task ended the OS thread of the ste
/// thread running the caller (pthread_exit, cancellation: see forced_unwind.hpp).
STE_API std::exception_ptr task_ended_thread_error() noexcept;

/// Where a blocking call's result waits for its caller: a value, a reference, nothing
/// (void), or the exception the task threw. No allocation of its own.
template <class R>
class result_slot {
 public:
  /// Runs f; its exception is kept for take(). A forced unwind (f ended the OS thread)
  /// leaves a stopped_error and goes on.
  template <class F>
  void run(F&& f) {
    try {
      if constexpr (std::is_void_v<R>) {
        std::invoke(f);  // nothing to keep: take() only looks for an exception
      } else if constexpr (std::is_reference_v<R>) {
        value_ = std::addressof(static_cast<R>(std::invoke(f)));
      } else {
        value_.emplace(std::invoke(f));
      }
    } catch (...) {
      error_ = std::current_exception();
      if (is_thread_end(error_)) {
        error_ = task_ended_thread_error();
        throw;
      }
    }
  }

  /// Returns the result, or rethrows the very exception object the task threw.
  R take() {
    if (error_) std::rethrow_exception(std::move(error_));
    if constexpr (std::is_void_v<R>) {
      return;
    } else if constexpr (std::is_reference_v<R>) {
      return static_cast<R>(*value_);
    } else {
      return std::move(*value_);
    }
  }

 private:
  struct no_value {};
  using storage = std::conditional_t<
      std::is_void_v<R>, no_value,
      std::conditional_t<std::is_reference_v<R>, std::remove_reference_t<R>*, std::optional<R>>>;
  storage value_{};
  std::exception_ptr error_;
};

/// What a blocking record keeps in front of its node: 16 bytes for the record's own use
/// (submit_record: the callable, or its address), read by the worker with the node. The
/// node's alignment pads the head to 16 bytes anyway.
struct blocking_head {
  alignas(void*) std::byte payload[16];
};

/// The record of one blocking submit, living in the submitter's frame (a stack object:
/// its alignment costs no allocation). 64-aligned, laid out for the two CPUs:
/// - line 1, the head and the node's first 48 bytes: written by the submitter before
///   its push, then read and written (the FIFO hook) by the worker only;
/// - line 2, from the node's rarely read tail on: the completion flag, which the
///   submitter spins on while the worker writes line 1, and which the worker writes once.
/// So the spinning submitter never pulls back the line the worker is working in, and a
/// round trip moves each of the two lines (and the inbox word's) as few times as it can.
struct alignas(64) blocking_node : blocking_head, task_node {
  blocking_node() noexcept { quiet_invoke = true; }
  completion done;
};
static_assert(sizeof(blocking_head) + offsetof(task_node, comeback_of) <= 64,
              "the worker's per-task fields of a blocking record must fit one cache line");

/// The deadline of a plain submit: none.
struct no_deadline {
  static constexpr bool passed() noexcept { return false; }
};

/// The deadline of submit_until, on the caller's own clock (read again by the worker, so
/// a clock other than steady_clock is never converted).
template <class Clock, class Duration>
struct deadline_on {
  std::chrono::time_point<Clock, Duration> when;
  bool passed() const noexcept { return Clock::now() >= when; }
};

/// The record of one blocking submit of `F&&` (F as deduced by submit's forwarding
/// reference), living in the submitter's frame next to the callable it points to.
///
/// With a deadline (submit_until), the worker that unlinked the record decides whether
/// it starts: once the deadline has passed it does not start `f`, marks the record
/// `expired` and signals, so `f` never starts after its deadline, whichever side wins.
template <class F, class Deadline = no_deadline>
struct submit_record final : blocking_node {
  using result_type = std::invoke_result_t<F>;

  using callable_type = std::remove_reference_t<F>;

  /// Whether the record runs a copy of the callable, kept in the head: the worker then
  /// reads it from the node's line instead of the caller's frame (one line less to move
  /// per round trip). Only where nobody can tell: an rvalue (a temporary, or an object
  /// the caller gave away with std::move) of a small trivially copyable type whose call
  /// does not need a mutable object (invocable as const: a mutable lambda is not
  /// copied, so what its call does to its own state stays visible where it lives).
  /// Trivially copyable also means trivially destructible: the copy needs no cleanup.
  static constexpr bool runs_copy = [] {
    if constexpr (std::is_reference_v<F> || !std::is_object_v<callable_type>) {
      return false;  // an lvalue, or a function: run where it is
    } else {
      // Trivially copy-constructible too: a trivially copyable type may still have no
      // copy constructor (only a move one), and the copy is made from `fn` as it is.
      return std::is_trivially_copyable_v<callable_type> &&
             std::is_trivially_copy_constructible_v<callable_type> &&
             sizeof(callable_type) <= sizeof(blocking_head::payload) &&
             alignof(callable_type) <= alignof(blocking_head) &&
             std::is_invocable_v<callable_type const&>;
    }
  }();

  explicit submit_record(callable_type& fn, Deadline d = {}) noexcept : deadline(d) {
    // The callable (or its address) goes in the head, on the node's line, which the
    // worker reads anyway; callable() gives it back with its exact type.
    if constexpr (runs_copy)
      ::new (static_cast<void*>(payload)) std::remove_cv_t<callable_type>(fn);
    else
      ::new (static_cast<void*>(payload)) callable_type*(std::addressof(fn));
    invoke = &run;
  }

  callable_type* callable() noexcept {
    if constexpr (runs_copy)
      return std::launder(reinterpret_cast<callable_type*>(payload));
    else
      return *std::launder(reinterpret_cast<callable_type**>(payload));
  }

  static void run(task_node* n) {
    auto* self = static_cast<submit_record*>(n);
    if (self->deadline.passed()) {
      note_task_withdrawn();  // it never runs: not counted
      self->expired = true;   // published by signal()'s release, like a result
    } else {
      try {
        self->result.run(
            [self]() -> result_type { return std::invoke(static_cast<F&&>(*self->callable())); });
      } catch (...) {
        // Only the thread's own end leaves run() (it keeps every other exception):
        self->done.signal();  // its submitter gets stopped_error; the last touch
        throw;                // the worker finishes the thread (core::run_one)
      }
    }
    self->done.signal();  // the last touch: *self may be gone after this line
  }

  [[no_unique_address]] Deadline deadline;
  bool expired = false;  // the worker reached the record after its deadline: f never ran
  result_slot<result_type> result;
};

/// Hands an exception from a posted task to the on_error of the ste thread running the
/// caller (the worker). For the rare second exception of one task; the first one
/// reaches on_error by propagating out of invoke.
STE_API void report_posted_error(std::exception_ptr e) noexcept;

/// A fire-and-forget task: the node heads one heap block holding the callable.
template <class F>
struct posted_record final : task_node {
  template <class G>
  explicit posted_record(G&& g) : f(std::forward<G>(g)) {
    invoke = &run;
  }

  static void run(task_node* n) {
    // Owned from here on: freed even when f throws (the worker reports to on_error), and
    // f's destructor may throw too (reported like an exception from the call; the block
    // is freed regardless: a delete-expression deallocates even when the destructor
    // throws). When both throw, the call's exception is reported first.
    auto* self = static_cast<posted_record*>(n);
    std::exception_ptr call_error;
    try {
      std::invoke(std::move(self->f));
    } catch (...) {
      call_error = std::current_exception();
      if (is_thread_end(call_error)) {
        // f ended the OS thread: the block goes, then the worker finishes the thread.
        try {
          delete self;
        } catch (...) {  // f's destructor threw too: nobody can be told any more
        }
        throw;
      }
    }
    if (!call_error) {
      delete self;
      return;
    }
    try {
      delete self;
    } catch (...) {
      report_posted_error(std::move(call_error));
      throw;
    }
    std::rethrow_exception(std::move(call_error));
  }

  F f;
};

}  // namespace ste::detail
