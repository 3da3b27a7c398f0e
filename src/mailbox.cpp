// SPDX-License-Identifier: MIT
// The mailbox: producers link under the lock and wake a sleeping worker; the worker's
// *_locked steps run under the same lock (include/ste/detail/mailbox.hpp has the
// protocol; docs/design.md §2–§4 the argument).
#include "ste/detail/mailbox.hpp"

#include "ste/detail/throw.hpp"

namespace ste::detail {

bool mailbox::open_to_locked(caller who) const noexcept {
  return phase_ == phase::running || (phase_ == phase::draining && who == caller::own_thread);
}

void mailbox::set_phase_locked(phase p) noexcept {
  STE_ASSERT(p > phase_);  // the phase only moves forward
  phase_ = p;
}

void mailbox::link_locked(task_node& n) noexcept {
  queue_.push_back(n);
  has_work_.store(true, std::memory_order_relaxed);
}

void const* mailbox::wake_key_locked() noexcept {
  if (!worker_sleeping_) return nullptr;
  worker_sleeping_ = false;
  wake_word_.fetch_add(1, std::memory_order_relaxed);  // relaxed: see wake_word_
  // After the unlock the worker may drain and close, and the mailbox may be freed
  // before the wake (a comeback linked from another thread): the address is a key only.
  return &wake_word_;
}

// A producer's critical section. Holds the lock; once the producer has linked or
// announced something, wake_worker() arms a wake-up, which the destructor performs after
// unlocking. A refusal throws before arming: its message is composed while the lock is
// still held (the throw unwinds through here), since a refused caller must not touch the
// core once it has unlocked.
class STE_SCOPED_CAPABILITY mailbox::producer_lock {
 public:
  explicit producer_lock(mailbox& m) STE_ACQUIRE(m.lock_) : m_(m) { m_.lock_.lock(); }
  producer_lock(producer_lock const&) = delete;
  producer_lock& operator=(producer_lock const&) = delete;
  ~producer_lock() STE_RELEASE() {
    m_.lock_.unlock();
    if (wake_ != nullptr) wake_one(wake_);
  }
  void wake_worker() noexcept STE_NO_THREAD_SAFETY_ANALYSIS { wake_ = m_.wake_key_locked(); }

 private:
  mailbox& m_;
  void const* wake_ = nullptr;
};

std::size_t mailbox::link_task(task_node& n, caller who) {
  producer_lock lock(*this);
  if (!open_to_locked(who)) throw_refused_task(name_);
  std::size_t const ahead = queue_.size();
  submitter_cpu_.store(current_cpu(), std::memory_order_relaxed);
  link_locked(n);
  lock.wake_worker();
  return ahead;
}

void mailbox::link_coroutine(task_node& n, caller who) {
  producer_lock lock(*this);
  if (!open_to_locked(who)) throw_refused_coroutine(name_);
  submitter_cpu_.store(current_cpu(), std::memory_order_relaxed);
  link_locked(n);
  lock.wake_worker();
}

bool mailbox::withdraw(task_node& n) noexcept {
  guard lock(lock_);
  // The one decision: the worker unlinks under this same lock before it starts a task.
  // Still linked means not started, and unlinking it here means it never will be.
  if (!task_queue::is_linked(n)) return false;
  queue_.remove(n);
  has_work_.store(!queue_.empty(), std::memory_order_relaxed);
  return true;
}

void mailbox::stop_accepting() noexcept {
  producer_lock lock(*this);
  if (phase_ == phase::running) set_phase_locked(phase::draining);
  // A spinning worker watches has_work_ only: raise it so that it looks now, instead of
  // finishing its spin budget first.
  has_work_.store(true, std::memory_order_relaxed);
  lock.wake_worker();
}

bool mailbox::closed() noexcept {
  guard lock(lock_);
  return phase_ == phase::closed;
}

bool mailbox::announce_comeback(comeback_record* r, caller who) {
  guard lock(lock_);
  if (!open_to_locked(who)) throw_refused_comeback(name_);
  comebacks_.announce(r);
  // Read with the link in one critical section: a joiner counts itself here before its
  // walk reads our records, so either it sees r or we see it.
  return r != nullptr && comebacks_.any_close_waiters();
}

bool mailbox::try_announce_comeback(caller who) noexcept {
  guard lock(lock_);
  if (!open_to_locked(who)) return false;
  comebacks_.announce(nullptr);
  return true;
}

void mailbox::withdraw_comeback(comeback_record* r) noexcept {
  producer_lock lock(*this);
  comebacks_.settle(r);
  // The worker may be idle only because of this comeback (draining): make a spinning
  // worker look again (it re-reads has_work_ under the lock before it sleeps), and
  // wake a sleeping one. Withdrawn from another thread, this links nothing.
  has_work_.store(true, std::memory_order_relaxed);
  lock.wake_worker();
}

void mailbox::link_comeback(task_node& n, comeback_record* r) noexcept {
  producer_lock lock(*this);
  STE_ASSERT(phase_ != phase::closed);  // an announced comeback keeps the thread open
  comebacks_.settle(r);
  link_locked(n);
  lock.wake_worker();
}

void mailbox::link_completion(task_node& n) noexcept {
  producer_lock lock(*this);
  STE_ASSERT(phase_ != phase::closed);  // its thread waits inside that block_on
  link_locked(n);
  lock.wake_worker();
}

void mailbox::count_close_waiter() noexcept {
  guard lock(lock_);
  comebacks_.count_close_waiter();
}

void mailbox::uncount_close_waiter() noexcept {
  guard lock(lock_);
  comebacks_.uncount_close_waiter();
}

bool mailbox::unstarted_comeback_targets(core const* self, core** out, std::size_t max,
                                         std::size_t& n) noexcept {
  guard lock(lock_);
  return comebacks_.unstarted_targets(self, out, max, n);
}

task_node* mailbox::pop_locked() noexcept {
  task_node* const n = queue_.pop_front();  // unlinked: "started", a withdrawal now fails
  if (n != nullptr) has_work_.store(!queue_.empty(), std::memory_order_relaxed);
  return n;
}

void mailbox::close_locked() noexcept {
  STE_ASSERT(nothing_pending_locked());
  set_phase_locked(phase::closed);
}

bool mailbox::has_news_locked() const noexcept {
  // has_work_ is re-read under the lock (its writers hold it): the spin's last read may
  // predate a change such as withdraw_comeback's, which links nothing.
  return has_work_.load(std::memory_order_relaxed) || !queue_.empty();
}

std::uint32_t mailbox::prepare_sleep_locked() noexcept {
  worker_sleeping_ = true;
  // Any producer after the unlock bumps wake_word_ (it sees worker_sleeping_), so the
  // futex compare fails or the wake reaches the worker: no lost wake-up.
  return wake_word_.load(std::memory_order_relaxed);
}

bool mailbox::spin_for_work() noexcept {
  worker_cpu_.store(current_cpu(), std::memory_order_relaxed);
  return spin_until([this] { return has_work_.load(std::memory_order_relaxed); },
                    submitter_cpu_.load(std::memory_order_relaxed));
}

void mailbox::sleep(std::uint32_t seen) noexcept { wait_on(wake_word_, seen); }

void mailbox::sleep_until(std::uint32_t seen,
                          std::chrono::steady_clock::time_point deadline) noexcept {
  wait_on_for(wake_word_, seen, sleep_slice(deadline - std::chrono::steady_clock::now()));
}

}  // namespace ste::detail
