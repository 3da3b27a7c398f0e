// SPDX-License-Identifier: MIT
// ste/detail/bound_registry.hpp — the values bound<T> handles hold on one ste thread.
//
// join() destroys the values still registered, on the thread, before the postlude.
// Worker thread only: no lock.
#pragma once

#include "ste/export.hpp"

#include <atomic>

#include "ste/detail/intrusive_list.hpp"

namespace ste::detail {

class core;

/// Base of every value held by a bound<T>: registered with its thread while alive,
/// destroyed on the thread.
struct bound_entry {
  list_hook<bound_entry> registry_hook;  // worker thread only
  // True until the value is destroyed. Written only on the owning thread (release), so
  // reads there need no ordering; reads elsewhere use acquire.
  std::atomic<bool> alive{true};
  virtual void destroy_value() noexcept = 0;  // destroys T; runs on the owning thread
  virtual void drop_owner() noexcept = 0;     // one of the two owners lets go of the block
 protected:
  ~bound_entry() = default;
};

class STE_API bound_registry {
 public:
  void add(bound_entry& e) noexcept { entries_.push_front(e); }
  void remove(bound_entry& e) noexcept { entries_.remove(e); }
  /// Destroys every value still registered, the newest first (a destructor may bind or
  /// destroy more).
  void destroy_all() noexcept;

 private:
  intrusive_list<bound_entry, &bound_entry::registry_hook> entries_;
};

/// Destroys `entry`'s value on its thread `c` (inline when already there, else a
/// blocking hand-off). False when `c` no longer accepts work: join() destroys it then.
/// Throws deadlock_error (value untouched) when the hand-off would deadlock.
STE_API bool destroy_bound_value(core& c, bound_entry& entry);

}  // namespace ste::detail
