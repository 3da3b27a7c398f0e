// SPDX-License-Identifier: MIT
// The timers of one ste thread (include/ste/detail/timer_heap.hpp). Worker only.
#include "ste/detail/timer_heap.hpp"

#include <algorithm>

namespace ste::detail {

namespace {
// Min-heap order for std::*_heap (which builds max-heaps): "a after b".
bool after(timer_node const* a, timer_node const* b) noexcept {
  if (a->deadline != b->deadline) return a->deadline > b->deadline;
  return a->sequence > b->sequence;
}
}  // namespace

void timer_heap::add(timer_node& t) {
  t.sequence = sequence_++;
  t.stopped = false;
  heap_.push_back(&t);  // may throw bad_alloc: then t is not added
  std::push_heap(heap_.begin(), heap_.end(), &after);
}

timer_node* timer_heap::pop() noexcept {
  std::pop_heap(heap_.begin(), heap_.end(), &after);
  timer_node* const t = heap_.back();
  heap_.pop_back();
  return t;
}

timer_node* timer_heap::take_due() noexcept { return has_due() ? pop() : nullptr; }

timer_node* timer_heap::take_stopped() noexcept {
  if (heap_.empty()) return nullptr;
  timer_node* const t = pop();
  t->stopped = true;
  return t;
}

}  // namespace ste::detail
