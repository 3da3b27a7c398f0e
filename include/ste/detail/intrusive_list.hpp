// SPDX-License-Identifier: MIT
// ste/detail/intrusive_list.hpp — the one list ste uses: doubly linked, intrusive.
//
// The nodes own their links (a list_hook member), so linking never allocates; the list
// is parameterised by the member it links through, so one object may sit in several
// lists at once. Every list in ste is guarded by a lock or owned by one thread; the
// list itself does no locking.
//
//   struct job { list_hook<job> hook; };
//   intrusive_list<job, &job::hook> jobs;
//   jobs.push_back(j);  …  jobs.remove(j);  // O(1), from anywhere in the list
#pragma once

#include <cstddef>

#include "ste/detail/assert.hpp"

namespace ste::detail {

template <class T>
struct list_hook {
  T* next = nullptr;
  T* prev = nullptr;
  bool linked = false;  // in a list now; a node is linked into at most one list per hook
};

template <class T, list_hook<T> T::*Hook>
class intrusive_list {
 public:
  intrusive_list() noexcept = default;
  intrusive_list(intrusive_list const&) = delete;
  intrusive_list& operator=(intrusive_list const&) = delete;

  bool empty() const noexcept { return head_ == nullptr; }
  std::size_t size() const noexcept { return size_; }
  T* front() const noexcept { return head_; }
  static bool is_linked(T const& n) noexcept { return hook(n).linked; }

  void push_back(T& n) noexcept {
    STE_ASSERT(!hook(n).linked);
    hook(n) = {nullptr, tail_, true};
    (tail_ != nullptr ? hook(*tail_).next : head_) = &n;
    tail_ = &n;
    ++size_;
    STE_ASSERT(consistent());
  }

  void push_front(T& n) noexcept {
    STE_ASSERT(!hook(n).linked);
    hook(n) = {head_, nullptr, true};
    (head_ != nullptr ? hook(*head_).prev : tail_) = &n;
    head_ = &n;
    ++size_;
    STE_ASSERT(consistent());
  }

  /// Appends a chain linked newest-first through `older` (each node's member pointing
  /// to the node pushed before it, nullptr after the oldest), oldest first: the list
  /// ends in the chain's push order. One pass, each node touched once (a drained inbox
  /// chain arrives from other CPUs' caches: a second walk would miss again). Calls
  /// visit(node) for each, newest first, in the same pass. Returns the number appended.
  template <T* T::*Older, class Visit>
  std::size_t push_back_reversed(T* newest, Visit&& visit) noexcept {
    if (newest == nullptr) return 0;
    T* const old_tail = tail_;
    T* newer = nullptr;
    T* n = newest;
    std::size_t count = 0;
    for (;;) {
      STE_ASSERT(!hook(*n).linked);
      T* const older = n->*Older;
      visit(*n);
      ++count;
      if (older == nullptr) {
        hook(*n) = {newer, old_tail, true};
        break;
      }
      hook(*n) = {newer, older, true};
      newer = n;
      n = older;
    }
    (old_tail != nullptr ? hook(*old_tail).next : head_) = n;  // n: the oldest
    tail_ = newest;
    size_ += count;
    STE_ASSERT(consistent());
    return count;
  }

  /// Unlinks and returns the first node, or nullptr when empty.
  T* pop_front() noexcept {
    T* const n = head_;
    if (n != nullptr) remove(*n);
    return n;
  }

  /// Unlinks `n`, which must be linked in this list.
  void remove(T& n) noexcept {
    STE_ASSERT(hook(n).linked);
    list_hook<T>& h = hook(n);
    (h.prev != nullptr ? hook(*h.prev).next : head_) = h.next;
    (h.next != nullptr ? hook(*h.next).prev : tail_) = h.prev;
    h = {};
    STE_ASSERT(size_ > 0);
    --size_;
    STE_ASSERT(consistent());
  }

  /// Calls f(node) for each node, front to back; f must not unlink anything.
  template <class F>
  void for_each(F&& f) const {
    for (T* n = head_; n != nullptr; n = hook(*n).next) f(*n);
  }

 private:
  static list_hook<T>& hook(T& n) noexcept { return n.*Hook; }
  static list_hook<T> const& hook(T const& n) noexcept { return n.*Hook; }

  // The count matches the links (walked only for short lists, to keep checked builds
  // linear on long queues).
  bool consistent() const noexcept {
    if ((size_ == 0) != (head_ == nullptr) || (head_ == nullptr) != (tail_ == nullptr))
      return false;
    if (size_ > 64) return true;
    std::size_t n = 0;
    for (T const* p = head_; p != nullptr; p = hook(*p).next) ++n;
    return n == size_;
  }

  T* head_ = nullptr;
  T* tail_ = nullptr;
  std::size_t size_ = 0;
};

}  // namespace ste::detail
