// SPDX-License-Identifier: MIT
// ste/detail/comebacks.hpp — coroutines announced to come back to a ste thread.
//
// A coroutine on thread O that awaits submit_async on thread T will come back to O.
// O must not close before it does, so the comeback is announced (counted) before the
// coroutine leaves, and settled when it is linked into O's queue or withdrawn. A
// comeback_record says where the coroutine starts meanwhile, so that the deadlock walk
// can tell what O's close is waiting for.
//
// Part of the mailbox: its state shares the mailbox lock, and every member here runs
// with that lock held (the mailbox's *_locked callers say so to the compiler).
#pragma once

#include "ste/export.hpp"

#include <atomic>
#include <cstddef>

#include "ste/detail/intrusive_list.hpp"

namespace ste::detail {

class core;

/// Lives in the awaiting coroutine's frame (submit_async_awaiter) while the comeback is
/// pending.
struct comeback_record {
  list_hook<comeback_record> hook;  // in the origin's list: guarded by its mailbox lock
  core* target = nullptr;           // where the coroutine starts
  // Set by the target's worker just before it starts the coroutine. release/acquire,
  // and the edge mutex orders it before any wait edge the target records later.
  std::atomic<bool> started{false};
};

class STE_API comebacks {
 public:
  /// Counts one more announced comeback, with its record if it has one.
  void announce(comeback_record* r) noexcept;
  /// The announced comeback arrived (linked) or was withdrawn.
  void settle(comeback_record* r) noexcept;
  bool none_pending() const noexcept { return pending_ == 0; }

  /// Ste threads blocked joining this one (their deadlock walk found no cycle). A
  /// comeback with a record must check that it does not start on one of them.
  void count_close_waiter() noexcept { ++close_waiters_; }
  void uncount_close_waiter() noexcept;
  bool any_close_waiters() const noexcept { return close_waiters_ != 0; }

  /// Targets of records whose coroutine has not started: true if one is `self`; else
  /// up to `max` distinct others in `out`, counted in `n`.
  bool unstarted_targets(core const* self, core** out, std::size_t max,
                         std::size_t& n) const noexcept;

 private:
  std::size_t pending_ = 0;  // announced and not yet settled
  intrusive_list<comeback_record, &comeback_record::hook> records_;
  std::size_t close_waiters_ = 0;
};

}  // namespace ste::detail
