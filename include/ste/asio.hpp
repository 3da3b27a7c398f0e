// SPDX-License-Identifier: MIT
// ste/asio.hpp — a ste thread as a Boost.Asio executor (optional: needs Boost.Asio, from
// Boost 1.74 / Asio 1.18 on; not included by ste/ste.hpp, so Boost stays optional).
//
//   ste::thread worker = ste::spawn();
//   auto ex = ste::asio_executor(worker);
//   boost::asio::post(ex, [] { /* on the ste thread, later */ });
//   boost::asio::dispatch(ex, [] { /* inline when already on it, else queued */ });
//   socket.async_receive(buffer, boost::asio::bind_executor(ex, on_datagram));
//   boost::asio::co_spawn(ex, session(), boost::asio::detached);  // resumes on it
//
// The executor satisfies Asio's standard executor requirements
// (boost::asio::execution::is_executor) and converts to boost::asio::any_io_executor.
//
// clang with Boost 1.74 (Asio 1.18): define BOOST_ASIO_HAS_CO_AWAIT=1,
// BOOST_ASIO_HAS_STD_COROUTINE=1 (for co_spawn and awaitables) and
// BOOST_ASIO_HAS_STD_INVOKE_RESULT=1 (needed with libc++, which drops std::result_of in
// C++20) for every file that includes Boost.Asio; that Asio does not detect them there.
//
// What execute(f) does, by the blocking property:
// - blocking.possibly (the default; what asio::dispatch asks for): on the ste thread
//   itself, `f` runs inline at once and its exception reaches the caller; on any other
//   thread it is queued, as below.
// - blocking.never (asio::post, asio::defer): `f` is moved into one block (from the
//   executor's allocator) and queued on the thread, FIFO with the thread's other tasks,
//   even when called on the thread itself. An exception escaping `f` there goes to the
//   thread's on_error. Allocates once (the allocator's), otherwise as thread::post: no
//   lock on the way in.
//
// After the thread stopped accepting work (it was joined, its join() started and the
// caller is another thread, or the handle was inherited by fork()): execute destroys `f`
// unrun, on the calling thread, and returns normally — it does NOT throw stopped_error
// as thread::post does. Asio calls execute from places where an exception cannot be
// reported to anyone (another io_context's run() completing an operation whose handler
// is bound here, Asio's own reactor thread, a coroutine's resumption); an io_context that
// was stopped behaves the same way (its handlers are destroyed, never run). Callers that
// must know use thread::post, or the executor's accepts_work(). Only std::bad_alloc (or
// the allocator's exception) escapes, and then nothing was queued.
//
// Properties (asio::require / prefer / query):
// - blocking: possibly (default) or never. blocking.always is not supported.
// - relationship: fork (default) or continuation — recorded and reported; both queue
//   the same way (ste has one FIFO).
// - outstanding_work: untracked (default) or tracked — recorded and reported. A ste
//   thread needs no outstanding work to keep running: it runs until it is joined, and
//   join() drains what was accepted, so tracked work neither keeps it alive nor delays
//   join() (work guards and co_spawn's tracked executors are therefore harmless).
// - allocator: the one execute's queued block comes from (default std::allocator<void>).
// - context: boost::asio::execution_context& — ste::asio_context(), one for the process,
//   shared by every ste executor, never run and never destroyed (see asio_context()).
// - mapping: thread (tasks run on one dedicated OS thread).
//
// Equality: two executors are equal when they name the same ste thread (and have equal
// allocators); the other properties are part of the type.
//
// Lifetime: an executor keeps the thread's shared state alive, not the thread running:
// it stays valid (copyable, comparable, executing as above) after the ste::thread handle
// was joined or destroyed.
#pragma once

#include <utility>  // before Boost.Asio: Boost 1.74 with g++ 12 -std=c++20 needs it first

#include <boost/asio/execution.hpp>
#include <boost/asio/execution_context.hpp>
#include <boost/asio/version.hpp>

#include <memory>
#include <type_traits>

#include "ste/errors.hpp"
#include "ste/thread.hpp"

#if BOOST_ASIO_VERSION < 101800
#error "ste/asio.hpp needs Boost.Asio 1.18 (Boost 1.74) or later: its standard executors"
#endif

namespace ste {

/// The execution context every ste Asio executor reports (the `context` property): one
/// boost::asio::execution_context for the process, made on first use and never
/// destroyed (like ste's own state: a static ste thread may still run Asio handlers while
/// the exit handlers join it, after other statics are gone; docs/design.md §18, §19).
/// Nobody runs it: ste threads run their own loop. Asio needs it to convert an executor
/// to any_io_executor (co_spawn, use_awaitable) and to find services: an Asio I/O object
/// or timer constructed with a ste executor gets its services here (Asio then runs its
/// reactor on a thread of its own, which this context never stops, and hands each
/// completion to the handler's executor, i.e. to the ste thread). Prefer an io_context of
/// your own for I/O objects, with handlers bound to the ste executor (bind_executor), so
/// you own and stop that thread. Thread-safe; throws only std::bad_alloc on first use.
inline boost::asio::execution_context& asio_context() {
  // Allocated once, never freed: no exit-time destructor.
  static boost::asio::execution_context* const context = new boost::asio::execution_context;
  return *context;
}

namespace detail {

// The executor's properties, one bit each; all zero is the default executor.
inline constexpr unsigned asio_blocking_never = 1u;       // else blocking.possibly
inline constexpr unsigned asio_continuation = 2u;         // else relationship.fork
inline constexpr unsigned asio_tracked = 4u;              // else outstanding_work.untracked

// One queued execute(f): a task node heading a block from the executor's allocator.
template <class F, class Allocator>
struct asio_record final : task_node {
  using allocator_type =
      typename std::allocator_traits<Allocator>::template rebind_alloc<asio_record>;
  using traits = std::allocator_traits<allocator_type>;

  template <class G>
  asio_record(G&& g, allocator_type const& a) : f(std::forward<G>(g)), allocator(a) {
    invoke = &run;
  }

  static asio_record* make(F&& f, Allocator const& a) {
    allocator_type alloc(a);
    asio_record* block = traits::allocate(alloc, 1);
    try {
      traits::construct(alloc, block, std::move(f), alloc);
    } catch (...) {
      traits::deallocate(alloc, block, 1);
      throw;
    }
    return block;
  }

  static void discard(asio_record* block) noexcept {
    allocator_type alloc(block->allocator);
    traits::destroy(alloc, block);
    traits::deallocate(alloc, block, 1);
  }

  // On the worker. The function is moved out and the block freed before the call (as
  // Asio does it: the memory can be reused by whatever the call starts); an exception
  // escaping the call goes to the worker, which hands it to on_error.
  static void run(task_node* n) {
    auto* self = static_cast<asio_record*>(n);
    F local(std::move(self->f));
    discard(self);
    local();
  }

  F f;
  allocator_type allocator;
};

}  // namespace detail

template <class Allocator, unsigned Bits>
class basic_asio_executor;

/// The executor ste::asio_executor(thread) returns: blocking.possibly,
/// relationship.fork, outstanding_work.untracked, std::allocator<void>.
using asio_executor_type = basic_asio_executor<std::allocator<void>, 0>;

/// A Boost.Asio standard executor that runs function objects on one ste thread. Copy it
/// freely (a copy costs one reference-count increment); use it from any thread. Its
/// properties are part of its type: require/prefer return another basic_asio_executor.
template <class Allocator, unsigned Bits>
class basic_asio_executor {
  using never_t = boost::asio::execution::blocking_t::never_t;
  using possibly_t = boost::asio::execution::blocking_t::possibly_t;
  using fork_t = boost::asio::execution::relationship_t::fork_t;
  using continuation_t = boost::asio::execution::relationship_t::continuation_t;
  using tracked_t = boost::asio::execution::outstanding_work_t::tracked_t;
  using untracked_t = boost::asio::execution::outstanding_work_t::untracked_t;

  template <unsigned B>
  using with_bits = basic_asio_executor<Allocator, B>;

 public:
  /// Runs `f` (a nullary function object, moved or copied) on the thread: inline when
  /// blocking.possibly and already on the thread, otherwise queued (one block from the
  /// allocator). After the thread stopped accepting work, destroys `f` unrun and returns
  /// (see the top of this header). Throws only std::bad_alloc (nothing queued) and, when
  /// it runs inline, whatever `f` throws.
  template <class F>
  void execute(F&& f) const {
    using function = std::decay_t<F>;
    if constexpr ((Bits & detail::asio_blocking_never) == 0) {
      if (core_->is_current()) {
        function local(std::forward<F>(f));
        local();
        return;
      }
    }
    using record = detail::asio_record<function, Allocator>;
    function moved(std::forward<F>(f));
    record* block = record::make(std::move(moved), allocator_);
    block->where = ste::site::current();  // this header: Asio's call sites are unknown
    try {
      core_->accept(*block);
    } catch (ste::stopped_error const&) {
      record::discard(block);  // not accepted: destroyed unrun (see the top of this header)
    }
  }

  /// True when the thread still accepts work from the calling thread (a snapshot: it may
  /// stop right after). Never blocks.
  bool accepts_work() const noexcept { return core_->accepts_work(); }

  /// True when called on this executor's ste thread.
  bool running_in_this_thread() const noexcept { return core_->is_current(); }

  /// The ste thread's tag.
  ste::tag tag() const noexcept { return core_->tag(); }

  // --- require: each returns an executor with that one property changed. ---------
  with_bits<Bits | detail::asio_blocking_never> require(never_t) const noexcept {
    return {core_, allocator_};
  }
  with_bits<Bits & ~detail::asio_blocking_never> require(possibly_t) const noexcept {
    return {core_, allocator_};
  }
  with_bits<Bits & ~detail::asio_continuation> require(fork_t) const noexcept {
    return {core_, allocator_};
  }
  with_bits<Bits | detail::asio_continuation> require(continuation_t) const noexcept {
    return {core_, allocator_};
  }
  with_bits<Bits | detail::asio_tracked> require(tracked_t) const noexcept {
    return {core_, allocator_};
  }
  with_bits<Bits & ~detail::asio_tracked> require(untracked_t) const noexcept {
    return {core_, allocator_};
  }
  template <class OtherAllocator>
  basic_asio_executor<OtherAllocator, Bits> require(
      boost::asio::execution::allocator_t<OtherAllocator> const& a) const noexcept {
    return {core_, a.value()};
  }
  basic_asio_executor<std::allocator<void>, Bits> require(
      boost::asio::execution::allocator_t<void> const&) const noexcept {
    return {core_, std::allocator<void>()};
  }

  // --- query ------------------------------------------------------------------------
  boost::asio::execution::blocking_t query(
      boost::asio::execution::blocking_t) const noexcept {
    if constexpr ((Bits & detail::asio_blocking_never) != 0) {
      return boost::asio::execution::blocking.never;
    } else {
      return boost::asio::execution::blocking.possibly;
    }
  }
  boost::asio::execution::relationship_t query(
      boost::asio::execution::relationship_t) const noexcept {
    if constexpr ((Bits & detail::asio_continuation) != 0) {
      return boost::asio::execution::relationship.continuation;
    } else {
      return boost::asio::execution::relationship.fork;
    }
  }
  boost::asio::execution::outstanding_work_t query(
      boost::asio::execution::outstanding_work_t) const noexcept {
    if constexpr ((Bits & detail::asio_tracked) != 0) {
      return boost::asio::execution::outstanding_work.tracked;
    } else {
      return boost::asio::execution::outstanding_work.untracked;
    }
  }
  static constexpr boost::asio::execution::mapping_t query(
      boost::asio::execution::mapping_t) noexcept {
    return boost::asio::execution::mapping.thread;
  }
  template <class OtherAllocator>
  Allocator query(boost::asio::execution::allocator_t<OtherAllocator>) const noexcept {
    return allocator_;
  }
  Allocator query(boost::asio::execution::allocator_t<void>) const noexcept {
    return allocator_;
  }
  /// ste::asio_context(): one execution_context for the process (see there).
  boost::asio::execution_context& query(boost::asio::execution::context_t) const noexcept {
    return asio_context();
  }

  /// Equal when they name the same ste thread and their allocators are equal.
  friend bool operator==(basic_asio_executor const& a, basic_asio_executor const& b) noexcept {
    return a.core_ == b.core_ && a.allocator_ == b.allocator_;
  }
  friend bool operator!=(basic_asio_executor const& a, basic_asio_executor const& b) noexcept {
    return !(a == b);
  }

 private:
  template <class, unsigned>
  friend class basic_asio_executor;
  friend asio_executor_type asio_executor(ste::thread const& thread);

  basic_asio_executor(std::shared_ptr<detail::core> core, Allocator const& allocator) noexcept
      : core_(std::move(core)), allocator_(allocator) {}

  std::shared_ptr<detail::core> core_;  // never null
  Allocator allocator_;
};

/// An Asio executor for `thread` (blocking.possibly, relationship.fork,
/// outstanding_work.untracked, std::allocator<void>). It names the thread, not the
/// handle: it stays valid after the handle is moved, joined or destroyed. Throws
/// stopped_error for an empty handle. Does not allocate.
inline asio_executor_type asio_executor(ste::thread const& thread) {
  auto const& core = detail::thread_access::core_of(thread);
  if (!core) detail::throw_empty_handle("asio_executor");
  return asio_executor_type(core, std::allocator<void>());
}

}  // namespace ste
