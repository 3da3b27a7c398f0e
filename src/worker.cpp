// SPDX-License-Identifier: MIT
// The worker loop: take the next task, run it, and — when there is none — spin briefly,
// then sleep until woken; drain and close once join() started. Each step holds the
// mailbox lock only for its few pointer writes (docs/design.md §2–§4, §9).
#include <chrono>
#include <exception>

#include "ste/detail/core.hpp"
#include "ste/detail/throw.hpp"

namespace ste::detail {

void core::run(postlude_policy postlude) noexcept {
  STE_ASSERT(is_current());
  while (task_node* n = next_task()) run_one(n);
  if (postlude == postlude_policy::run) run_postlude();
}

void core::run_nested(bool const& completed) noexcept {
  STE_ASSERT(is_current());
  while (task_node* n = next_nested_task(completed)) run_one(n);
}

// The next task or due timer; nullptr once drained and closed for good.
task_node* core::next_task() noexcept {
  mailbox_.lock().lock();
  for (;;) {
    if (task_node* n = take_work_locked()) {
      mailbox_.lock().unlock();
      return n;
    }
    if (draining_seen_ && mailbox_.nothing_pending_locked()) {
      if (close_if_drained_locked()) break;
      continue;
    }
    wait_for_work_locked();
  }
  mailbox_.lock().unlock();
  return nullptr;
}

// As next_task, but nullptr as soon as `completed` is true; never closes the thread.
task_node* core::next_nested_task(bool const& completed) noexcept {
  mailbox_.lock().lock();
  task_node* n = nullptr;
  while (!completed && (n = take_work_locked()) == nullptr) wait_for_work_locked();
  mailbox_.lock().unlock();
  return n;
}

// Due timers first; once join() started, every sleep ends now, with stopped_error.
task_node* core::take_work_locked() noexcept {
  if (!mailbox_.accepting_from_everyone_locked()) draining_seen_ = true;
  if (timer_node* t = draining_seen_ ? timers_.take_stopped() : timers_.take_due()) return t;
  return mailbox_.pop_locked();
}

// Drained: values still bound to this thread go next (their destructors may still post
// from here); once that leaves nothing to do, close for good — under the lock every
// producer takes, so nothing slips in between.
bool core::close_if_drained_locked() noexcept {
  mailbox_.lock().unlock();
  bound_.destroy_all();
  mailbox_.lock().lock();
  if (!mailbox_.nothing_pending_locked() || !timers_.empty()) return false;
  mailbox_.close_locked();
  return true;
}

// Idle: spin briefly without the lock, then sleep. Everything the work hint announced
// was looked at before, so the hint is cleared first.
void core::wait_for_work_locked() noexcept {
  mailbox_.clear_work_hint_locked();
  mailbox_.lock().unlock();
  bool const more = mailbox_.spin_for_work();
  mailbox_.lock().lock();
  bool const join_unseen = !draining_seen_ && !mailbox_.accepting_from_everyone_locked();
  if (more || join_unseen || mailbox_.has_news_locked() || timers_.has_due()) return;
  sleep_until_woken_locked();
}

// Sleeps on the wake word (until the next timer's deadline, if any): a producer that
// links after the announcement bumps the word, so the wake-up is never lost.
void core::sleep_until_woken_locked() noexcept {
  std::uint32_t const seen = mailbox_.prepare_sleep_locked();
  mailbox_.lock().unlock();
  if (timers_.empty())
    mailbox_.sleep(seen);
  else
    mailbox_.sleep_until(seen, timers_.next_deadline());
  mailbox_.lock().lock();
  mailbox_.end_sleep_locked();
}

void core::run_one(task_node* n) noexcept {
  try {
    n->invoke(n);  // may free n (posted tasks) or signal its submitter: do not touch
  } catch (...) {
    // Only fire-and-forget records throw (blocking ones hand their exception back).
    report_error(std::current_exception(), error_source::posted_task);
  }
}

void core::run_postlude() noexcept {
  if (!config_.postlude) return;
  try {
    config_.postlude();
  } catch (...) {
    report_error(std::current_exception(), error_source::postlude);
  }
}

void report_posted_error(std::exception_ptr e) noexcept {
  if (core* const c = current_core()) c->report_error(std::move(e), error_source::posted_task);
}

void core::report_error(std::exception_ptr e, error_source source) noexcept {
  if (!config_.on_error) default_on_error(config_.name, e, source);
  try {
    config_.on_error(std::move(e));
  } catch (...) {
    on_error_threw();
  }
}

}  // namespace ste::detail
