// SPDX-License-Identifier: MIT
// The timers of one ste thread (include/ste/detail/timer_heap.hpp): an intrusive pairing
// heap. Worker only.
#include "ste/detail/timer_heap.hpp"

#include "ste/detail/assert.hpp"

namespace ste::detail {

namespace {

// (deadline, sequence): the earlier deadline first, then the one added first.
bool before(timer_node const* a, timer_node const* b) noexcept {
  if (a->deadline != b->deadline) return a->deadline < b->deadline;
  return a->sequence < b->sequence;
}

// Two roots (no parent, no siblings) into one: the later becomes the earlier's first child.
timer_node* meld(timer_node* a, timer_node* b) noexcept {
  if (before(b, a)) {
    timer_node* const t = a;
    a = b;
    b = t;
  }
  b->heap_prev = a;
  b->heap_next = a->heap_child;
  if (a->heap_child != nullptr) a->heap_child->heap_prev = b;
  a->heap_child = b;
  return a;
}

// The two-pass merge of a sibling list into one root: meld neighbours pairwise from the
// left, then meld the pairs into one from the right. Iterative: the list may be long.
timer_node* merge_siblings(timer_node* first) noexcept {
  if (first == nullptr) return nullptr;
  timer_node* pairs = nullptr;  // the melded pairs, newest first, through heap_next
  while (first != nullptr) {
    timer_node* const a = first;
    timer_node* const b = a->heap_next;
    first = b != nullptr ? b->heap_next : nullptr;
    a->heap_prev = a->heap_next = nullptr;
    timer_node* m = a;
    if (b != nullptr) {
      b->heap_prev = b->heap_next = nullptr;
      m = meld(a, b);
    }
    m->heap_next = pairs;
    pairs = m;
  }
  timer_node* root = pairs;
  timer_node* rest = root->heap_next;
  root->heap_next = nullptr;
  while (rest != nullptr) {
    timer_node* const n = rest;
    rest = n->heap_next;
    n->heap_next = nullptr;
    root = meld(root, n);
  }
  return root;
}

}  // namespace

void timer_heap::add(timer_node& t) noexcept {
  t.sequence = sequence_++;
  t.stopped = false;
  t.heap_child = t.heap_next = t.heap_prev = nullptr;
  root_ = root_ == nullptr ? &t : meld(root_, &t);
  ++size_;
}

timer_node* timer_heap::pop() noexcept {
  timer_node* const t = root_;
  root_ = merge_siblings(t->heap_child);
  t->heap_child = nullptr;
  --size_;
  return t;
}

void timer_heap::remove(timer_node& t) noexcept {
  STE_ASSERT(size_ > 0);
  if (&t == root_) {
    pop();
    return;
  }
  STE_ASSERT(t.heap_prev != nullptr);  // in the heap, below the root
  // Out of its sibling list (its predecessor is its parent when it is a first child).
  if (t.heap_prev->heap_child == &t)
    t.heap_prev->heap_child = t.heap_next;
  else
    t.heap_prev->heap_next = t.heap_next;
  if (t.heap_next != nullptr) t.heap_next->heap_prev = t.heap_prev;
  t.heap_prev = t.heap_next = nullptr;
  // Its children, merged, go back under the root.
  if (timer_node* const sub = merge_siblings(t.heap_child)) root_ = meld(root_, sub);
  t.heap_child = nullptr;
  --size_;
}

timer_node* timer_heap::take_due() noexcept { return has_due() ? pop() : nullptr; }

timer_node* timer_heap::take_stopped() noexcept {
  if (root_ == nullptr) return nullptr;
  timer_node* const t = pop();
  t->stopped = true;
  return t;
}

}  // namespace ste::detail
