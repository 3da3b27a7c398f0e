// SPDX-License-Identifier: MIT
// bound<T> values of one ste thread (include/ste/detail/bound_registry.hpp).
#include "ste/detail/bound_registry.hpp"

#include "ste/detail/core.hpp"
#include "ste/errors.hpp"

namespace ste::detail {

void bound_registry::destroy_all() noexcept {
  while (bound_entry* e = entries_.pop_front()) {
    e->destroy_value();
    e->drop_owner();  // the registry's reference
  }
}

bool destroy_bound_value(core& c, bound_entry& entry) {
  auto destroy_here = [&c, &entry] {
    if (!entry.alive.load(std::memory_order_relaxed)) return;  // join() got there first
    c.unregister_bound(entry);
    entry.destroy_value();
    entry.drop_owner();  // the registry's reference; the handle still holds its own
  };
  if (c.is_current()) {
    destroy_here();
    return true;
  }
  submit_record<decltype(destroy_here)&> record(destroy_here);
  try {
    c.submit_and_wait(record);
  } catch (stopped_error const&) {
    return false;  // join() has started: it destroys the value before the postlude
  }
  record.result.take();
  return true;
}

}  // namespace ste::detail
