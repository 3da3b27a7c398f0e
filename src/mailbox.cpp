// SPDX-License-Identifier: MIT
// The mailbox: producers push onto the inbox word with one CAS and wake a sleeping
// worker; drains, pops, withdrawals and comebacks run under the desk
// (include/ste/detail/mailbox.hpp has the protocol; docs/design.md §2–§5 the argument;
// verify/spin/ste.pml and verify/relacy/ste_relacy.cpp check it).
#include "ste/detail/mailbox.hpp"

#include "ste/detail/guard.hpp"
#include "ste/detail/throw.hpp"
#include "ste/detail/wait.hpp"

namespace ste::detail {

bool mailbox::push(task_node& n, caller who, bool refusable, std::uintptr_t* before) noexcept {
  // No load first: the first CAS starts from the value the word has most often when a
  // producer comes — drained, running, the worker awake. A load would bring the line in
  // shared and the CAS would then have to take it once more, exclusively: two transfers
  // between the CPUs instead of one. A wrong guess costs nothing more: the failed CAS
  // brings the real value (and the line), and the loop goes on exactly as if that value
  // had been loaded. (A CAS that succeeds from the guess is a load that read the guess.)
  std::uintptr_t w = static_cast<std::uintptr_t>(phase::running);
  for (;;) {
    // The phase is read from the very value the CAS below replaces: if join() changes
    // it first, the CAS fails and the next round sees it. So a push either precedes the
    // phase change in the word's modification order (accepted: the drain will see it)
    // or follows it (refused).
    if (refusable && !open_to(phase_of(w), who)) return false;
    n.inbox_next = top_of(w);
    std::uintptr_t const next =
        reinterpret_cast<std::uintptr_t>(&n) | (w & (kPhaseMask | kSleeping)) | kNonEmpty;
    // release: publishes the node (and everything its owner wrote before) to the drain's
    // acquire. A failed CAS only re-reads the word (relaxed): nothing was published.
    if (inbox_.compare_exchange_weak(w, next, std::memory_order_release,
                                     std::memory_order_relaxed))
      break;
  }
  if (before != nullptr) *before = w;
  // S stays set (only the worker clears it): whoever pushes after us wakes the worker
  // too, so a producer stopped right here delays no one but itself. From here on the
  // core may be gone (a comeback from another thread): the wake uses an address only.
  if ((w & kSleeping) != 0) wake_one(word_key(&inbox_));
  return true;
}

void mailbox::note_submitter_cpu() noexcept {
  // Stored only when it changed: the hints' line then stays shared between the CPUs.
  int const cpu = current_cpu();
  if (submitter_cpu_.load(std::memory_order_relaxed) != cpu)
    submitter_cpu_.store(cpu, std::memory_order_relaxed);
}

std::uintptr_t mailbox::link_task(task_node& n, caller who) {
  note_submitter_cpu();
  n.comeback = false;
  // Counted by the drain (by_mailbox). Nothing of the core is touched after the push:
  // some callers (a submit_async's first hop, a P2300 operation) hold no reference to
  // the core once their node is in, and the core may go as soon as it ran.
  std::uintptr_t before = 0;
  if (!push(n, who, true, &before)) throw_refused_task(name_, cause());
  return before;
}

std::size_t mailbox::ahead_hint(std::uintptr_t before) const noexcept {
  static_assert(kReadyHintCap >= wait_policy::spin_when_ahead_below,
                "the saturated hint must still tell the spin policy's cases apart");
  // Read after the push, from the line the CAS just took (reading it first would fetch
  // that line once more). A value the worker changed meanwhile is as good a hint as the
  // one before (relaxed: a stale value costs a little speed, never a task).
  return ready_size_.load(std::memory_order_relaxed) + (top_of(before) != nullptr);
}

void mailbox::link_coroutine(task_node& n, caller who) {
  note_submitter_cpu();
  n.comeback = false;
  if (!push(n, who, true)) throw_refused_coroutine(name_, cause());
}

void mailbox::link_comeback(task_node& n, comeback_record* r) noexcept {
  n.comeback = true;
  n.comeback_of = r;
  bool const pushed = push(n, caller::other_thread, false);
  STE_ASSERT(pushed);  // an announced comeback keeps the thread open
  (void)pushed;
}

void mailbox::link_completion(task_node& n) noexcept {
  n.comeback = false;
  bool const pushed = push(n, caller::other_thread, false);
  STE_ASSERT(pushed);  // its thread waits inside that block_on
  (void)pushed;
}

void mailbox::request_sweep() noexcept {
  // seq_cst, both: a worker that then sees join's phase change and finds the request
  // cleared is ordered after it (design.md §12). The RMW keeps the word's release
  // sequence: the drain that clears this N acquires the request.
  sweep_wanted_.store(true, std::memory_order_seq_cst);
  std::uintptr_t const w = inbox_.fetch_or(kNonEmpty, std::memory_order_seq_cst);
  if ((w & kSleeping) != 0) wake_one(word_key(&inbox_));
}

void mailbox::stop_accepting() noexcept {
  std::uintptr_t w = inbox_.load(std::memory_order_relaxed);
  // seq_cst (an acq_rel RMW at least): ordered with the pushes in the word's
  // modification order (the release sequence of the pushes before it stays intact: this
  // is a read-modify-write too), and with notify's decisive phase check.
  while (phase_of(w) == phase::running &&
         !inbox_.compare_exchange_weak(
             w, (w & ~kPhaseMask) | static_cast<std::uintptr_t>(phase::draining),
             std::memory_order_seq_cst, std::memory_order_relaxed)) {
  }
  // When join() began, for the delayed tasks it still runs: read after the phase change
  // (so every post accepted before it, its deadline read before its push, counts as
  // due: verify/spin/timer.pml U3), and only if nobody recorded one yet.
  (void)stop_time();
  // A sleeping worker must see the phase now to drain and close.
  if ((w & kSleeping) != 0) wake_one(word_key(&inbox_));
}

std::chrono::steady_clock::time_point mailbox::stop_time() noexcept {
  using clock = std::chrono::steady_clock;
  clock::rep t = stop_time_.load(std::memory_order_acquire);
  if (t == kNoStopTime) {
    // The first one to need it records it (the joiner right after its phase change, or
    // the worker that saw the change first): every reader uses that one value.
    clock::rep const now = clock::now().time_since_epoch().count();
    t = stop_time_.compare_exchange_strong(t, now, std::memory_order_acq_rel,
                                           std::memory_order_acquire)
            ? now
            : t;
  }
  return clock::time_point(clock::duration(t));
}

bool mailbox::withdraw(task_node& n) noexcept {
  guard lock(desk_);
  // Everything pushed before this call — n too — is in the FIFO after the drain, unless
  // the worker already took it. The one decision: the worker unlinks under this same
  // desk before it starts a task. Still linked means not started, and unlinking it here
  // means it never will be.
  drain_locked(false);
  if (!task_queue::is_linked(n)) return false;
  ready_.remove(n);
  publish_ready_size();
  --drained_accepted_;  // withdrawn unstarted: not counted (stats())
  return true;
}

bool mailbox::announce_comeback(comeback_record* r, caller who) {
  guard lock(desk_);
  if (!open_to(phase_of(load_acquire()), who)) throw_refused_comeback(name_, cause());
  comebacks_.announce(r);
  // Read with the announcement in one critical section: a joiner counts itself here
  // before its walk reads our records, so either it sees r or we see it.
  return r != nullptr && comebacks_.any_close_waiters();
}

bool mailbox::try_announce_comeback(caller who) noexcept {
  guard lock(desk_);
  if (!open_to(phase_of(load_acquire()), who)) return false;
  comebacks_.announce(nullptr);
  return true;
}

void mailbox::withdraw_comeback(comeback_record* r) noexcept {
  // Called on the thread itself (core::withdraw_comeback asserts it), inside the task
  // that announced: the worker is busy, so no wake-up is needed.
  guard lock(desk_);
  comebacks_.settle(r);
}

void mailbox::count_close_waiter() noexcept {
  guard lock(desk_);
  comebacks_.count_close_waiter();
}

void mailbox::uncount_close_waiter() noexcept {
  guard lock(desk_);
  comebacks_.uncount_close_waiter();
}

bool mailbox::unstarted_comeback_targets(core const* self, core** out, std::size_t max,
                                         std::size_t& n) noexcept {
  guard lock(desk_);
  return comebacks_.unstarted_targets(self, out, max, n);
}

void mailbox::drain_locked(bool by_worker) noexcept {
  std::uintptr_t w = inbox_.load(std::memory_order_relaxed);
  // acquire: pairs with every push's release (they form one release sequence, every
  // change of the word being a read-modify-write), so each node of the chain, and what
  // its owner wrote before pushing it, is visible here. The drain leaves the phase and
  // clears N (empty again) and S.
  while ((w & kNonEmpty) != 0 &&
         !inbox_.compare_exchange_weak(w, w & kPhaseMask, std::memory_order_acquire,
                                       std::memory_order_relaxed)) {
  }
  // A withdrawer that took a chain while S was set must wake the worker itself: the
  // pushers' wakes may all have come before the worker's futex call, and the word is
  // back to the very value the worker compares against (verify/README.md: Relacy found
  // this, `spec-withdraw-keeps-s`). Clearing S above makes that compare fail; the wake
  // reaches a worker already asleep. The worker re-checks the FIFO, not only the word.
  if (!by_worker && (w & kNonEmpty) != 0 && (w & kSleeping) != 0) wake_one(word_key(&inbox_));
  // Append the newest-first chain oldest first, in one pass: the FIFO is in the order
  // of the pushes' CASes. Nodes are safe to touch here: a drained node is withdrawn or
  // started only under the desk, which we hold.
  // The mailbox counts the tasks whose node says so (task_accounting::by_mailbox); the
  // others are counted by the worker or by their own code.
  std::uint64_t counted = 0;
  auto const count = [&counted](task_node const& n) {
    counted += n.accounting == task_accounting::by_mailbox;
  };
  if (ready_.push_back_reversed<&task_node::inbox_next>(top_of(w), count) != 0)
    publish_ready_size();
  drained_accepted_ += counted;
}

std::uint64_t mailbox::accepted() noexcept {
  guard lock(desk_);
  // Pushed tasks count once drained: drain now (as a withdrawer does; it wakes a
  // sleeping worker whose chain it took). The worker's own count is read under the desk
  // too: its decrement for a task follows the drain that counted it, so a reader never
  // sees the one without the other.
  drain_locked(false);
  return drained_accepted_ + worker_accepted_.load(std::memory_order_relaxed);
}

void mailbox::append_locked(task_node& n) noexcept {
  ready_.push_back(n);
  publish_ready_size();
}

void mailbox::unlink_locked(task_node& n) noexcept {
  drain_locked(true);  // n may still be in the chain (pushed by the thread itself)
  if (!task_queue::is_linked(n)) return;
  ready_.remove(n);
  publish_ready_size();
}

task_node* mailbox::pop_locked() noexcept {
  if (ready_.empty()) drain_locked(true);
  task_node* const n = ready_.pop_front();  // unlinked: "started", a withdrawal now fails
  if (n == nullptr) return nullptr;
  publish_ready_size();
  // A comeback is settled when its node is taken: until then the thread must not close
  // (the node has yet to run), and from here on it runs like any task.
  if (n->comeback) comebacks_.settle(n->comeback_of);
  return n;
}

bool mailbox::nothing_pending_locked() const noexcept {
  return ready_.empty() && top_of(inbox_.load(std::memory_order_relaxed)) == nullptr &&
         comebacks_.none_pending() && !sweep_wanted_.load(std::memory_order_seq_cst);
}

bool mailbox::try_close_locked() noexcept {
  STE_ASSERT(ready_.empty() && comebacks_.none_pending());
  std::uintptr_t w = inbox_.load(std::memory_order_relaxed);
  STE_ASSERT(phase_of(w) == phase::draining);
  // A CAS, not a store: a never-refused push (a comeback, a completion) that slipped in
  // makes it fail, and the worker takes that node first. Refused pushes change nothing.
  // From the value as loaded, whatever S is (a clear of S may have lost to join's CAS).
  std::uintptr_t const closed_word = static_cast<std::uintptr_t>(phase::closed);
  return top_of(w) == nullptr &&
         inbox_.compare_exchange_strong(w, closed_word, std::memory_order_seq_cst,
                                        std::memory_order_relaxed);
}

bool mailbox::has_news_locked(std::uintptr_t seen) const noexcept {
  return !ready_.empty() || (seen & kNonEmpty) != 0 ||
         sweep_wanted_.load(std::memory_order_seq_cst) ||
         inbox_.load(std::memory_order_relaxed) != seen;
}

bool mailbox::prepare_sleep_locked(std::uintptr_t& seen) noexcept {
  // N (a node, or a sweep request) is news: take it before sleeping.
  if (!ready_.empty() || (seen & kNonEmpty) != 0) return false;
  // The CAS both announces the sleep and checks that nothing changed since `seen`: a
  // push after it sees S (the word's modification order) and wakes us after its own
  // CAS; a push before the futex compares makes the compare fail (it set N).
  // acq_rel: keeps the announcement in the word's release sequence.
  std::uintptr_t const sleeping = seen | kSleeping;
  if (!inbox_.compare_exchange_strong(seen, sleeping, std::memory_order_acq_rel,
                                      std::memory_order_relaxed))
    return false;
  seen = sleeping;
  return true;
}

void mailbox::end_sleep_locked() noexcept {
  std::uintptr_t w = inbox_.load(std::memory_order_relaxed);
  while ((w & kSleeping) != 0 && top_of(w) == nullptr &&
         !inbox_.compare_exchange_weak(w, w & ~kSleeping, std::memory_order_acq_rel,
                                       std::memory_order_relaxed)) {
  }
}

spin_end mailbox::spin_for_work(std::uintptr_t seen, std::chrono::nanoseconds budget,
                                std::chrono::steady_clock::time_point& yield_start) noexcept {
  // Stored only when it changed: a hint the producers read before their push.
  int const cpu = current_cpu();
  if (worker_cpu_.load(std::memory_order_relaxed) != cpu)
    worker_cpu_.store(cpu, std::memory_order_relaxed);
  return spin_wait(
      [this, seen] {
        std::uintptr_t const w = inbox_.load(std::memory_order_relaxed);
        if (w == seen) return false;
        // The newest node's line is the next one the worker reads and writes (the drain
        // links it, the task signals in it): ask for it now, for writing, so that its
        // transfer from the producer's CPU overlaps the desk and the drain's CAS. A
        // prefetch is only a hint: it never faults, even should the node be gone
        // already (withdrawn), and it reads nothing the program sees.
        prefetch_for_write(top_of(w));
        return true;
      },
      submitter_cpu_.load(std::memory_order_relaxed), budget, &yield_start);
}

void mailbox::sleep(std::uintptr_t seen) noexcept { wait_on_word(inbox_, seen); }

void mailbox::sleep_until(std::uintptr_t seen,
                          std::chrono::steady_clock::time_point deadline) noexcept {
  wait_on_word_for(inbox_, seen, sleep_slice(deadline - std::chrono::steady_clock::now()));
}

}  // namespace ste::detail
