// SPDX-License-Identifier: MIT
// Comebacks of coroutines to their origin thread (include/ste/detail/comebacks.hpp).
// Every function runs under the origin's mailbox lock.
#include "ste/detail/comebacks.hpp"

#include "ste/detail/assert.hpp"

namespace ste::detail {

void comebacks::announce(comeback_record* r) noexcept {
  ++pending_;
  if (r != nullptr) records_.push_back(*r);
}

void comebacks::settle(comeback_record* r) noexcept {
  STE_ASSERT(pending_ > 0);
  --pending_;
  if (r != nullptr) records_.remove(*r);
}

void comebacks::uncount_close_waiter() noexcept {
  STE_ASSERT(close_waiters_ > 0);
  --close_waiters_;
}

bool comebacks::unstarted_targets(core const* self, core** out, std::size_t max,
                                  std::size_t& n) const noexcept {
  bool found_self = false;
  records_.for_each([&](comeback_record const& r) {
    // acquire: pairs with the release store of the target's worker. A target that
    // blocked after starting the coroutine took the edge mutex after that store, and the
    // walk holds it, so a blocked target's `started` is never read stale.
    if (found_self || r.started.load(std::memory_order_acquire)) return;
    if (r.target == self) {
      found_self = true;
      return;
    }
    bool seen = false;
    for (std::size_t i = 0; i < n; ++i) seen = seen || out[i] == r.target;
    if (!seen && n < max) out[n++] = r.target;
  });
  return found_self;
}

}  // namespace ste::detail
