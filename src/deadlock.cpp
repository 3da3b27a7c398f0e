// SPDX-License-Identifier: MIT
// Deadlock detection (include/ste/detail/deadlock.hpp; docs/design.md §7).
#include "ste/detail/deadlock.hpp"

#include <new>
#include <type_traits>

#include "ste/detail/core.hpp"
#include "ste/detail/throw.hpp"

namespace ste::detail {

// Never destroyed: a ste thread with static storage may be joined after this file's
// statics are gone, and its drain may still wait on other ste threads. Built in place
// on first use (no allocation; std::mutex is not trivially destructible everywhere).
mutex& edge_mutex() noexcept {
  alignas(mutex) static unsigned char storage[sizeof(mutex)];
  static mutex* const m = ::new (static_cast<void*>(storage)) mutex;
  return *m;
}

namespace {

// The ste threads blocked in a wait_edge. Guarded by edge_mutex. Trivially destructible,
// so never destroyed either (see edge_mutex).
intrusive_list<wait_state, &wait_state::blocked_hook> blocked STE_GUARDED_BY(edge_mutex());
static_assert(std::is_trivially_destructible_v<decltype(blocked)>);

// Hops a deadlock walk may take: far more than any real chain of threads, and a bound
// so that a stale cycle between other threads cannot trap a walk.
constexpr int kWalkBudget = 4096;

}  // namespace

void forget_blocked_in_child() noexcept {
  // The edges go too: a walk from a thread made in the child must not follow an
  // inherited core's edge into a desk held by a thread that is gone (verify/README.md
  // §1f, X2; wait_edge does not start a walk at an inherited core either).
  while (wait_state* w = blocked.pop_front()) {
    w->waiting_on = nullptr;
    w->kind = wait_kind::task;
  }
}

namespace {

bool is_blocked(core const* c) STE_REQUIRES(edge_mutex()) {
  bool found = false;
  blocked.for_each([&](wait_state const& w) { found = found || w.owner == c; });
  return found;
}

bool leads_to(core* c, wait_kind kind, core const* self, int& budget) STE_REQUIRES(edge_mutex());

// `c` is waited on for its close, which also waits for its announced comebacks. One
// whose coroutine has not started needs its target to start it: if that is `self`, a
// cycle; if the target is itself blocked, the walk continues from what it waits on (a
// target is dereferenced only when it is in the blocked list, which proves it alive).
// Comebacks whose coroutine already started are not followed: where such a coroutine
// is now is not tracked.
bool comebacks_lead_to(core& c, core const* self, int& budget) STE_REQUIRES(edge_mutex()) {
  constexpr std::size_t kMax = 8;
  core* targets[kMax];
  std::size_t n = 0;
  if (c.box().unstarted_comeback_targets(self, targets, kMax, n)) return true;
  for (std::size_t i = 0; i < n; ++i) {
    wait_state& t = targets[i]->waits();
    if (is_blocked(targets[i]) && leads_to(t.waiting_on, t.kind, self, budget)) return true;
  }
  return false;
}

// Walks the waits from `c`; reaching `self` closes a cycle. Every edge points to a live
// core (the edge mutex is held; a waiter clears its edge before it returns).
bool leads_to(core* c, wait_kind kind, core const* self, int& budget) {
  for (; c != nullptr && budget > 0; --budget) {
    if (c == self) return true;
    if (kind == wait_kind::close && comebacks_lead_to(*c, self, budget)) return true;
    kind = c->waits().kind;
    c = c->waits().waiting_on;
  }
  return false;
}

}  // namespace

wait_edge::wait_edge(core& target, wait_kind kind)
    // The child of a fork: a core inherited from the parent refuses every hand-off, so
    // no wait on it can last, and the walk must not start there: its edges are the
    // parent's, and reading its comebacks takes a desk a parent's thread may hold.
    : self_(target.inherited() ? nullptr : current_core()) {
  if (self_ == nullptr) return;  // plain threads cannot be part of a cycle
  guard lock(edge_mutex());
  if (kind == wait_kind::close) {
    // Counted before the walk reads the target's comebacks (see announce_comeback).
    target.box().count_close_waiter();
    close_target_ = &target;
  }
  int budget = kWalkBudget;
  if (leads_to(&target, kind, self_, budget)) {
    if (close_target_ != nullptr) target.box().uncount_close_waiter();
    throw_deadlock_wait(*self_, target, kind);
  }
  wait_state& w = self_->waits();
  w.waiting_on = &target;
  w.kind = kind;
  blocked.push_back(w);
}

wait_edge::~wait_edge() {
  if (self_ == nullptr) return;
  guard lock(edge_mutex());
  wait_state& w = self_->waits();
  w.waiting_on = nullptr;
  w.kind = wait_kind::task;
  blocked.remove(w);
  if (close_target_ != nullptr) close_target_->box().uncount_close_waiter();
}

bool waits_for_close_of(core const& c, core const& origin) {
  guard lock(edge_mutex());
  core const* p = &c;
  for (int hops = 0; p != nullptr && hops < kWalkBudget; ++hops) {
    if (p->waits().waiting_on == &origin) return p->waits().kind == wait_kind::close;
    p = p->waits().waiting_on;
  }
  return false;
}

void check_chain_can_move(core& target, core const* blocked_thread) {
  if (blocked_thread == nullptr) return;
  bool stuck = false;
  {
    // `target` is alive (the mover holds it); every edge followed points to a live core.
    guard lock(edge_mutex());
    core const* c = &target;
    for (int hops = 0; c != nullptr && hops < kWalkBudget && !stuck; ++hops) {
      stuck = c == blocked_thread;
      c = c->waits().waiting_on;
    }
  }
  if (stuck) throw_deadlock_chain_move(*blocked_thread, target);
}

}  // namespace ste::detail
