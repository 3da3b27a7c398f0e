// SPDX-License-Identifier: MIT
// The shell of a ste thread's engine: what needs more than one room (a comeback's
// announcement checks the deadlock edges; binding checks the phase), and the worker's
// own helpers for timers and bound values.
#include "ste/detail/core.hpp"

#include <sstream>

#include "ste/detail/throw.hpp"

namespace ste::detail {

core::core(thread_config config, std::uint64_t tag_id)
    : config_(std::move(config)), tag_id_(tag_id) {
  register_core(*this);
}

core::~core() { unregister_core(*this); }

void core::inherit_in_child() noexcept {
  inherited_ = true;
  mailbox_.close_in_child();
  // Owned for ever: its values belong to a thread of the parent, and nothing of it may
  // be destroyed here. Null when the last owner was destroying it at the fork: nobody
  // here refers to it then.
  keep_alive_ = weak_from_this().lock();
}

std::string core::describe() const {
  std::ostringstream out;
  out << '"' << config_.name << "\" (" << tag() << ')';
  return out.str();
}

void core::announce_comeback(comeback_record& r) {
  if (!mailbox_.announce_comeback(&r, caller())) return;
  // Threads are blocked joining this one: the coroutine must not start on one of them.
  if (!waits_for_close_of(*r.target, *this)) return;
  mailbox_.withdraw_comeback(&r);
  throw_deadlock_comeback(*this, *r.target);
}

void core::add_timer(timer_node& t) noexcept {
  STE_ASSERT(is_current());
  timers_.add(t);
}

void core::remove_timer(timer_node& t) noexcept {
  STE_ASSERT(is_current());
  timers_.remove(t);
}

void core::check_can_sleep() const {
  STE_ASSERT(is_current());
  // The worker may not have looked at the phase yet (take_work_locked reads it only
  // when it matters there): look here too.
  if (draining_seen_ || !mailbox_.accepting_from_everyone()) throw_sleep_refused(config_.name);
}

void core::ensure_can_bind() {
  STE_ASSERT(is_current());
  // Only the worker closes the thread, and this runs on the worker: the answer holds
  // until register_bound.
  if (mailbox_.closed()) throw_bind_refused(config_.name);
}

void core::register_bound(bound_entry& e) noexcept {
  STE_ASSERT(is_current());
  bound_.add(e);
}

void core::unregister_bound(bound_entry& e) noexcept {
  STE_ASSERT(is_current());
  bound_.remove(e);
}

void core::register_notifier(notifier_block& b) {
  if (inherited_) {  // its desk may be held by a thread of the parent
    notifier_block::discard(&b);
    throw_refused_task(config_.name, stop_cause::fork);
  }
  {
    guard lock(mailbox_.desk());
    // Under the desk, as the close is: registered before it, the block is destroyed by
    // join's pass; after it, refused here.
    if (mailbox_.accepts(caller())) {
      notifiers_.push_back(b);
      return;
    }
  }
  notifier_block::discard(&b);
  throw_refused_task(config_.name);
}

bool core::forget_notifier(notifier_block& b) noexcept {
  STE_ASSERT(is_current());
  guard lock(mailbox_.desk());
  mailbox_.unlink_locked(b.node());
  mailbox_.unlink_locked(b.sweep_node());
  if (!decltype(notifiers_)::is_linked(b)) return false;
  notifiers_.remove(b);
  return true;
}

}  // namespace ste::detail
