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

std::size_t mailbox::link_task(task_node& n, caller who) {
  guard lock(lock_);
  // Refused: the message is composed before the unlock (the throw unwinds through the
  // guard), since a refused caller must not touch the core once it unlocked.
  if (!open_to_locked(who)) throw_refused_task(name_);
  std::size_t const ahead = queue_.size();
  submitter_cpu_.store(current_cpu(), std::memory_order_relaxed);
  link_locked(n);
  void const* const wake = wake_key_locked();
  lock.unlock();
  if (wake != nullptr) wake_one(wake);
  return ahead;
}

void mailbox::link_coroutine(task_node& n, caller who) {
  guard lock(lock_);
  if (!open_to_locked(who)) throw_refused_coroutine(name_);
  submitter_cpu_.store(current_cpu(), std::memory_order_relaxed);
  link_locked(n);
  void const* const wake = wake_key_locked();
  lock.unlock();
  if (wake != nullptr) wake_one(wake);
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
  guard lock(lock_);
  if (phase_ == phase::running) set_phase_locked(phase::draining);
  // A spinning worker watches has_work_ only: raise it so that it looks now, instead of
  // finishing its spin budget first.
  has_work_.store(true, std::memory_order_relaxed);
  void const* const wake = wake_key_locked();
  lock.unlock();
  if (wake != nullptr) wake_one(wake);
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
  guard lock(lock_);
  comebacks_.settle(r);
  // The worker may be idle only because of this comeback (draining): make a spinning
  // worker look again (it re-reads has_work_ under the lock before it sleeps), and
  // wake a sleeping one. Withdrawn from another thread, this links nothing.
  has_work_.store(true, std::memory_order_relaxed);
  void const* const wake = wake_key_locked();
  lock.unlock();
  if (wake != nullptr) wake_one(wake);
}

void mailbox::link_comeback(task_node& n, comeback_record* r) noexcept {
  guard lock(lock_);
  STE_ASSERT(phase_ != phase::closed);  // an announced comeback keeps the thread open
  comebacks_.settle(r);
  link_locked(n);
  void const* const wake = wake_key_locked();
  lock.unlock();
  if (wake != nullptr) wake_one(wake);
}

void mailbox::link_completion(task_node& n) noexcept {
  guard lock(lock_);
  STE_ASSERT(phase_ != phase::closed);  // its thread waits inside that block_on
  link_locked(n);
  void const* const wake = wake_key_locked();
  lock.unlock();
  if (wake != nullptr) wake_one(wake);
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
