// SPDX-License-Identifier: MIT
// ste/detail/deadlock.hpp — blocking calls that would wait for ever become errors.
//
// A ste thread that blocks on another ste thread (submit*, destroy, make_bound, bound
// reset, block_on, join) records an edge "I wait on T" for the time of the call; before
// it does, it walks the edges from T and throws deadlock_error when they lead back to
// itself. Plain threads cannot be part of a cycle and skip all of it. The walks and
// every edge are guarded by one process-wide mutex, under which every edge points to a
// live core (a waiter holds its target alive and clears its edge before it returns).
// docs/design.md "Deadlock detection" has the protocol, including the cycles that pass
// through coroutine comebacks and block_on chains.
#pragma once

#include "ste/export.hpp"

#include <cstdint>

#include "ste/detail/intrusive_list.hpp"
#include "ste/detail/mutex.hpp"
#include "ste/detail/tsa.hpp"

namespace ste::detail {

class core;

/// Guards every core's wait_state and the list of blocked threads. A function-local
/// static: initialised on first use, so ste threads made during static initialisation
/// find it ready.
STE_API mutex& edge_mutex() noexcept;
/// The child's fork handler, with the edge mutex held: the blocked threads of the parent
/// do not exist here (docs/design.md §15).
STE_API void forget_blocked_in_child() noexcept STE_REQUIRES(edge_mutex());

enum class wait_kind : std::uint8_t {
  task,   // waits for a task (or coroutine) to run on the target
  close,  // waits for the target to close (join)
};

/// What one ste thread is blocked on, if anything. Lives in its core.
struct wait_state {
  core* waiting_on STE_GUARDED_BY(edge_mutex()) = nullptr;
  wait_kind kind STE_GUARDED_BY(edge_mutex()) = wait_kind::task;
  // In the list of blocked threads while waiting_on is set: membership proves the core
  // alive (its own thread is blocked in a call that holds it).
  list_hook<wait_state> blocked_hook;
  core* const owner;
  explicit wait_state(core* c) noexcept : owner(c) {}
};

/// RAII deadlock edge: while alive, the calling ste thread is recorded as waiting on
/// `target`. Construction throws deadlock_error when `target` is (transitively) waiting
/// on the caller's own thread. Free for callers that are not ste threads.
class STE_API wait_edge {
 public:
  explicit wait_edge(core& target, wait_kind kind = wait_kind::task);
  wait_edge(wait_edge const&) = delete;
  wait_edge& operator=(wait_edge const&) = delete;
  ~wait_edge();

 private:
  core* self_;
  core* close_target_ = nullptr;  // counted among its close waiters
};

/// Whether the ste thread `c` is blocked, directly or through a chain of waits, until
/// `origin` closes (a wait on `origin` for a task does not count: only a join).
STE_API bool waits_for_close_of(core const& c, core const& origin) STE_EXCLUDES(edge_mutex());

/// Throws deadlock_error when a coroutine chain that `blocked` waits for (in block_on)
/// moving to `target` could never run there: `target` is `blocked`, or is blocked
/// itself, through other ste threads, on `blocked`. Free when `blocked` is nullptr.
STE_API void check_chain_can_move(core& target, core const* blocked) STE_EXCLUDES(edge_mutex());

}  // namespace ste::detail
