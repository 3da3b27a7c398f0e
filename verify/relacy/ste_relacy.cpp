// SPDX-License-Identifier: MIT
// ste_relacy.cpp — Relacy tests of ste's hand-off atomics, with the memory orders the
// code uses, and variants with one order weakened (or one seeded bug) that Relacy must
// catch.  Relacy (relacy-dev) explores random schedules of a test under the C++11 memory
// model: relaxed/acquire loads may return older stores, and a non-atomic access
// (rl::var) that is not ordered by happens-before with a conflicting one is a DATA RACE.
//
// Relacy needs its own atomic, lock and variable types, so the protocol is re-expressed
// here in a small harness, step by step; every step names the C++ it mirrors.  Build:
// g++ -std=c++11 -O2 ste_relacy.cpp (verify/run does it).  (relacy_std.hpp clashes with
// libstdc++ 12's <atomic>, so the rl:: names are used.)
//
// The hand-off mirrored here is the lock-free inbox of issue 12 (the protocol of
// "The lock-free inbox", verify/README.md §2): producers push onto one atomic word
// (mailbox::push), the worker and timed submitters take the whole chain under the desk
// (mailbox::drain_locked) into the worker-side FIFO ready_; the worker sleeps on the
// word itself (core::next_task -> wait_for_work_locked / sleep_until_woken_locked).
// The desk is a priority-inheriting pthread mutex in the code (not ste's own lock), so
// it is an rl::mutex here: its orders are the mutex's, not something to check.
//
// Usage: ste_relacy <test> <iterations> [<variant>]
//   tests:    handoff-futex, handoff-parkinglot, inbox-push-drain, inbox-release-sequence,
//             inbox-join-refusal, inbox-withdraw, inbox-sleep-wake, bound, rendezvous-ste,
//             rendezvous-ste-parkinglot, rendezvous-plain, rendezvous-plain-parkinglot
//   variants: none (default) or one of the names in kWeakNames below.
// Prints "RESULT <test> <variant> <SUCCESS|what Relacy found> iterations=<n> <stats>"
// (n: the schedules run, or the one that failed; stats: how often the worker really
// slept on the inbox word, how often a producer (or joiner, or withdrawer) issued a wake
// because it saw S, how many drains took more than one node, how many pushes were
// refused, how many withdrawals unlinked their record or came too late, and for the
// rendezvous tests how often each branch of the protocol was taken).  Exit status 0 when Relacy
// found nothing, 1 when it found an error, 2 on bad usage.  Relacy's report goes to
// stderr.
//
// What each test mirrors:
//   handoff-*  mailbox::push / mailbox::drain_locked / mailbox::withdraw /
//              core::next_task (wait_for_work_locked, sleep_until_woken_locked) /
//              mailbox::stop_accepting (src/mailbox.cpp, src/worker.cpp),
//              submit_record::run and completion (task_node.hpp),
//              core::submit_and_wait[_until], wait_on / wait_on_for / wake_one /
//              wake_all (src/wait_futex.cpp, src/wait_parking_lot.cpp): 4 threads — the
//              worker, caller A (submit, then submit_for), caller B (submit, then
//              submit_for) and a joiner racing them.  Timers, comebacks and bound values
//              are left out.
//              -futex:      futex waits (the Linux path).  Relacy's futex wake needs the
//                           atomic object itself, so records are not destroyed; when its
//                           caller returns, the frame is "re-used" (overwritten), and a
//                           late touch by the worker or a drainer races with that.
//              -parkinglot: the portable parking lot (mutex + condvar buckets; a waker
//                           touches the bucket, never the word), so each record really
//                           is destroyed when its caller returns: a later touch is a race
//                           or "ACCESS TO FREED MEMORY".
//   inbox-push-drain        the same pieces, 2 callers x 2 submit, no racing join: the
//              last caller to return joins, so nothing rescues a lost wake-up (a
//              submitter left waiting is a DEADLOCK); FIFO (P8) asserted.
//   inbox-release-sequence  3 producers push on top of each other; the worker then takes
//              all three with one drain (one acquire CAS on the last value) and reads
//              every node's inbox_next and contents.
//   inbox-join-refusal      2 callers x 2 submit + a joiner at a random moment: an
//              accepted task runs exactly once, a refused one never, and no push is
//              accepted after join's phase CAS in the word's modification order.
//   inbox-withdraw          caller A: 2 submit; caller B: 2 submit_for (deadlines at
//              Relacy's choice: withdraw under the desk); the last caller to return joins.
//   inbox-sleep-wake        2 callers x 2 submit, each push delayed by a random number of
//              turns so that the worker is idle / asleep when it arrives; last one joins.
//   rendezvous-*  the task<T> rendezvous: promise_base::start_awaited / finish_awaited
//              (include/ste/task.hpp) with mailbox::try_announce_comeback /
//              withdraw_comeback / link_comeback (a never-refused push) and the worker
//              loop; see namespace rendezvous below.
//   bound      bound<T>::box::destroy_value / release (include/ste/bound.hpp),
//              bound_registry::destroy_all, bound<T>::operator bool and drop(): join()
//              destroys the value on the worker while the handle, whose reset was
//              refused, looks at it from another thread and drops its reference.

#include <relacy/relacy.hpp>

#include <climits>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <string>

// --------------------------------------------------------------------------------------
// Weakening switch: each hand-off order has an id; the one selected becomes relaxed
// (or loses half of acq_rel).

enum weak_id {
  W_NONE,
  W_SIGNAL_EXCHANGE,  // completion::signal: state_.exchange(kDone, release)
  W_DONE_LOAD,        // completion::done: state_.load(acquire)
  W_CAS_FAILURE,      // completion::park_for: CAS(acquire): the failure order
  W_CAS_SUCCESS,      // completion::park_for: CAS(acquire): the success order
  W_PARKING_LOAD,     // parking lot wait_on: word.load(acquire)
  W_ALIVE_STORE,      // bound<T>::box::destroy_value: alive.store(false, release)
  W_ALIVE_LOAD,       // bound<T>::operator bool: alive.load(acquire)
  W_OWNERS_RELAXED,   // bound<T>::box::release: owners.fetch_sub(1, acq_rel) -> relaxed
  W_OWNERS_NO_RELEASE,  // ... -> acquire
  W_OWNERS_NO_ACQUIRE,  // ... -> release
  // The inbox (mailbox::push / drain_locked / stop_accepting / the worker's sleep):
  W_PUSH_RELEASE,     // mailbox::push: CAS success order release -> relaxed (every push)
  W_PUSH_RELEASE_ONE, // ... only the pushes of caller 0 (producer 0) relaxed
  W_DRAIN_ACQUIRE,    // mailbox::drain_locked: CAS success order acquire -> relaxed
  W_JOIN_CAS,         // mailbox::stop_accepting: phase CAS acq_rel -> relaxed
  W_SLEEP_CAS,        // sleep_until_woken_locked: the S CAS acq_rel -> relaxed
  // Seeded protocol bugs (not orders), to show the harness can see them at all:
  B_TOUCH_AFTER_SIGNAL,  // the worker reads the result slot after the exchange
  B_NO_ANNOUNCE,         // park_for sleeps on kPending without the CAS to kSleeping
  B_PUSH_STALE_S,        // push decides to wake from its first load, not the replaced value
  B_WORKER_NO_S,         // the worker sleeps on the word without setting S
  B_SLEEP_NO_RECHECK,    // the worker sets S on whatever the word holds, sleeps on that
  B_PUSH_NO_RECHECK,     // push checks the phase on its first load only, not after a retry
  B_DRAIN_NO_REVERSE,    // drain appends the LIFO chain as it is (newest first)
  B_PRODUCER_CLEARS_S,   // push clears S in its CAS (only the first producer wakes)
  // The protocol exactly as /tmp/inbox-protocol.md (2026-12-01) writes it, where it
  // differs from what this harness mirrors (see verify/README.md §2, "Found"):
  B_SPEC_WITHDRAW_KEEPS_S,  // F1: a withdrawer's drain keeps S and does not wake
  B_SPEC_TOGGLE_T,          // F2: bit 3 toggled by every push (T), not "non-empty" (N)
  B_SPEC_CLOSE_STRICT,      // F3: the close CAS expects S clear (null|draining|T)
  B_SPEC_TOGGLE_T_LOW_ADDR, // T as written, but node addresses with non-zero low 32 bits
  // The task<T> rendezvous (include/ste/task.hpp, promise_base), test rendezvous-*:
  W_RV_AWAITER_CAS,          // start_awaited: CAS kRunning->kAwaiterSuspended acq_rel -> relaxed
  W_RV_AWAITER_CAS_ACQUIRE,  // ... acq_rel -> acquire (no release)
  W_RV_AWAITER_CAS_RELEASE,  // ... acq_rel -> release (failure order relaxed: no acquire)
  W_RV_AWAITER_CAS_SUCCESS,  // ... success order without acquire: (release, acquire)
  W_RV_AWAITER_STORE,        // start_awaited: store(kAwaiterSuspended, release) -> relaxed
  W_RV_FIN_LOAD,             // finish_awaited: load(acquire) == kAwaiterSuspended -> relaxed
  W_RV_FIN_CAS,              // finish_awaited: CAS kRunning->kFinishedOnThread acq_rel -> relaxed
  W_RV_FIN_CAS_ACQUIRE,      // ... acq_rel -> acquire (no release: finisher_ unpublished)
  W_RV_FIN_CAS_RELEASE,      // ... acq_rel -> release (failure order relaxed)
  W_RV_FIN_CAS_SUCCESS,      // ... success order without acquire: (release, acquire)
  W_RV_WAIT_CAS,             // finish_awaited: CAS kRunning->kFinisherWaiting acq_rel -> relaxed
  W_RV_WAIT_CAS_ACQUIRE,     // ... acq_rel -> acquire (no release)
  W_RV_WAIT_LOAD,            // finish_awaited: suspended(): load(acquire) -> relaxed
  B_RV_PLAIN_NO_WAIT,        // the plain finisher resumes the awaiter without waiting
  B_RV_NO_WAKE,              // the awaiter stores kAwaiterSuspended but does not wake
  // ste::notifier (src/notifier.cpp), test notifier-*:
  W_NT_COALESCE,             // notify: the coalescing CAS seq_cst -> relaxed
  W_NT_CLAIM,                // run_node: the pop claim CAS seq_cst -> relaxed
  W_NT_RECHECK,              // notify: the decisive phase load seq_cst -> relaxed
  W_NT_FLAG,                 // request_sweep: sweep_wanted_ store seq_cst -> relaxed
  W_COUNT
};

static char const* const kWeakNames[] = {
    "none",         "signal-exchange", "done-load",        "cas-failure",
    "cas-success",  "parking-load",    "alive-store",      "alive-load",
    "owners-relaxed", "owners-no-release", "owners-no-acquire",
    "push-release", "push-release-one", "drain-acquire", "join-cas", "sleep-cas",
    "bug-touch-after-signal", "bug-no-announce", "bug-push-stale-s", "bug-worker-no-s",
    "bug-sleep-no-recheck", "bug-push-no-recheck", "bug-drain-no-reverse",
    "bug-producer-clears-s", "spec-withdraw-keeps-s", "spec-toggle-t", "spec-close-strict", "spec-toggle-t-low-addr",
    "awaiter-cas", "awaiter-cas-acquire", "awaiter-cas-release", "awaiter-cas-success",
    "awaiter-store", "finisher-load", "finisher-cas", "finisher-cas-acquire",
    "finisher-cas-release", "finisher-cas-success", "waiting-cas", "waiting-cas-acquire",
    "waiting-load", "bug-plain-no-wait", "bug-awaiter-no-wake",
    "nt-coalesce", "nt-claim", "nt-recheck", "nt-flag"};

static_assert(sizeof(kWeakNames) / sizeof(kWeakNames[0]) == W_COUNT, "a name per variant");

static int g_weak = W_NONE;

// The order used at site `id`: `o` as in the code, relaxed when this site is weakened.
static rl::memory_order order(int id, rl::memory_order o) {
  return g_weak == id ? rl::mo_relaxed : o;
}

static rl::memory_order owners_order() {
  switch (g_weak) {
    case W_OWNERS_RELAXED: return rl::mo_relaxed;
    case W_OWNERS_NO_RELEASE: return rl::mo_acquire;
    case W_OWNERS_NO_ACQUIRE: return rl::mo_release;
    default: return rl::mo_acq_rel;
  }
}

// --------------------------------------------------------------------------------------
// The hand-off: inbox, desk, worker, completion, withdrawal, join.

namespace handoff {

enum { kPending = 0, kSleeping = 1, kDone = 2 };  // completion::state_ (task_node.hpp)
enum { running = 0, draining = 1, closed = 2 };    // mailbox phase, bits 0-1 of inbox_
enum { kSpin = 2 };  // spin_until's iterations (wait.hpp), kept short for the search

static bool g_parking_lot = false;  // which wait primitive to mirror
// Ghost statistics (plain counters: Relacy runs one fiber at a time).
static unsigned long g_sleeps = 0;    // the worker really slept on the inbox word
static unsigned long g_wakes = 0;     // wake_one(&inbox_) issued (someone saw S)
static unsigned long g_batches = 0;   // drains that took more than one node
static unsigned long g_refused = 0;   // pushes refused (stopped_error)
static unsigned long g_withdrawn = 0; // withdrawals that unlinked the record
static unsigned long g_too_late = 0;  // withdrawals that found it popped (the worker decides)
// Ghost statistics of the rendezvous tests: how often each branch was taken.
enum { P_INLINE, P_AWAITER_FIRST, P_FIN_SAW_SUSPENDED, P_ON_THREAD, P_FIN_CAS_FAILED, P_WAITING,
       P_WAIT_SLEPT, P_WAIT_CAS_FAILED, P_COUNT };
static unsigned long g_paths[P_COUNT];
static char const* const kPathNames[P_COUNT] = {
    "inline", "awaiter-cas-first", "finisher-saw-suspended", "on-thread", "finisher-cas-failed",
    "finisher-waiting", "waiter-slept", "waiting-cas-failed"};

// task_node (task_node.hpp) + submit_record<F>.
struct record {
  rl::var<record*> inbox_next;  // task_node::inbox_next: written by the pusher before
                                // its CAS, read by a drainer after its acquire CAS
  rl::var<record*> next;        // task_node::queue_hook (in ready_; the desk)
  rl::var<record*> prev;        // task_node::queue_hook (the desk)
  rl::var<bool> linked;         // queue_hook linked: accepted and not started (the desk)
  rl::var<int> invoke;          // task_node::invoke: read by the worker before running
  rl::var<bool> comeback;       // task_node comeback marker: settled when popped
  rl::atomic<int> state;        // completion::state_
  rl::var<rl::var<int>*> f;     // submit_record::f: the callable in the caller's frame
  rl::var<int> result;          // submit_record::result (result_slot)
  int id;                       // ghost: which call this is
  unsigned slot;                // ghost: its "address" in the inbox word (see encode)
  unsigned seq;                 // ghost: position of its accepting CAS (P8)
  record()
      : inbox_next(0), next(0), prev(0), linked(false), invoke(1), comeback(false),
        state(kPending), f(0), result(0), id(-1), slot(0), seq(0) {}
};

// ---- the inbox word (mailbox::inbox_, a std::atomic<std::uintptr_t>) -------------------
// bits 0-1 phase, bit 2 S, bit 3 N (this harness; see F2) or T (the written protocol),
// the rest the newest node.  Node "addresses" are slot numbers shifted left by 32: every
// node address has zero low 32 bits, the worst case for a futex that compares 32 bits
// (with real alignas(16) addresses the low bits are usually, not always, non-zero;
// variant spec-toggle-t-low-addr shifts by 4 instead: every address has non-zero low
// 32 bits).
typedef unsigned long word_t;  // std::uintptr_t on the 64-bit targets
enum { kMaxSlots = 8 };
static word_t const kPhaseMask = 3, kS = 4, kBit3 = 8;
static int g_addr_shift = 32;
static record* g_slots[kMaxSlots + 1];  // ghost: slot -> record (the pointer's target)

static inline int phase_of(word_t w) { return (int)(w & kPhaseMask); }
static inline bool s_of(word_t w) { return (w & kS) != 0; }
static inline unsigned slot_of(word_t w) { return (unsigned)(w >> g_addr_shift); }
static inline record* ptr_of(word_t w) { return g_slots[slot_of(w)]; }  // slot 0: null
static inline word_t encode(record* n) { return (word_t)n->slot << g_addr_shift; }
static inline unsigned low32(word_t w) { return (unsigned)(w & 0xffffffffu); }
static void bind_slot(record* n, unsigned slot) {
  RL_ASSERT(slot >= 1 && slot <= kMaxSlots);
  n->slot = slot;
  g_slots[slot] = n;
}

// One bucket of the portable parking lot: every address hashes to it, the worst case
// for stale wake-ups.
struct bucket {
  rl::mutex mutex;
  rl::condition_variable cv;
};

// ---- src/wait_futex.cpp, src/wait_parking_lot.cpp --------------------------------------
struct waits {
  bucket lot;

  // wait_on(word, expected): blocks while word == expected; may return spuriously.
  // (Returns whether it really slept: a ghost, for the statistics.)
  bool wait_on(rl::atomic<int>& word, int expected) {
    if (!g_parking_lot) {
      int const rc = rl::rl_futex(&word, rl::RL_FUTEX_WAIT, expected, 0, 0, 0, $);  // FUTEX_WAIT_PRIVATE
      return rc == 0 || rc == rl::RL_EINTR;
    }
    lot.mutex.lock($);  // std::unique_lock lock(b.mutex)
    bool const slept = word.load(order(W_PARKING_LOAD, rl::mo_acquire), $) == expected;
    if (slept) lot.cv.wait(lot.mutex, $);
    lot.mutex.unlock($);
    return slept;
  }

  // wait_on_for(word, expected, timeout): as wait_on; may also time out.
  void wait_on_for(rl::atomic<int>& word, int expected) {
    if (!g_parking_lot) {
      struct timespec ts = {0, 1};
      rl::rl_futex(&word, rl::RL_FUTEX_WAIT, expected, &ts, 0, 0, $);
      return;
    }
    lot.mutex.lock($);
    if (word.load(order(W_PARKING_LOAD, rl::mo_acquire), $) == expected)
      lot.cv.wait_for(lot.mutex, 1, $);
    lot.mutex.unlock($);
  }

  // The worker's sleep on the inbox word: futex_wait(low 32 bits of inbox_, expected).
  // Relacy's rl_futex takes an atomic<int> only, so the futex is emulated on the 64-bit
  // word the way Relacy emulates it on an int: a seq_cst fence, the compare (of the low
  // 32 bits, as the kernel reads them) and the park in one step no waker can split (the
  // kernel's bucket lock); a wake after the park unparks it and synchronises with it;
  // spurious returns are allowed.  Parking-lot flavour: the compare under the bucket
  // mutex, the condvar wait.  Returns whether it really slept (ghost).
  bool wait_on_word(rl::atomic<word_t>& word, unsigned expected) {
    if (!g_parking_lot) {
      rl::context& c = rl::ctx();
      c.sched();
      c.atomic_thread_fence_seq_cst();
      word_t v;
      {
        rl::preemption_disabler pd(c);
        v = word.load(rl::mo_acquire, $);
      }
      if (low32(v) != expected) return false;  // EAGAIN
      rl::unpark_reason const r = word.wait(c, false, true, $);
      return r == rl::unpark_reason_normal || r == rl::unpark_reason_spurious;
    }
    lot.mutex.lock($);
    bool const slept = low32(word.load(rl::mo_relaxed, $)) == expected;
    if (slept) lot.cv.wait(lot.mutex, $);
    lot.mutex.unlock($);
    return slept;
  }
  // wake_one(&inbox_): the address is a key only (the core may be gone by now).
  void wake_word(rl::atomic<word_t>* address) {
    ++g_wakes;
    if (!g_parking_lot) {
      rl::context& c = rl::ctx();
      c.sched();
      c.atomic_thread_fence_seq_cst();
      address->wake(c, 1, $);
      return;
    }
    (void)address;  // bucket_for(address): never dereferenced
    lot.mutex.lock($);
    lot.mutex.unlock($);
    lot.cv.notify_all($);
  }

  // wake_all(address) / wake_one(address): the address is a key only.  With futexes
  // Relacy needs the atomic object itself (the kernel only hashes the address).
  void wake_all(rl::atomic<int>* address) {
    if (!g_parking_lot) {
      rl::rl_futex(address, rl::RL_FUTEX_WAKE, INT_MAX, 0, 0, 0, $);
      return;
    }
    (void)address;  // bucket_for(address): never dereferenced
    lot.mutex.lock($);
    lot.mutex.unlock($);
    lot.cv.notify_all($);
  }
};

// ---- completion (task_node.hpp): unchanged by the inbox --------------------------------
struct completion_ops {
  waits& w;
  explicit completion_ops(waits& w_) : w(w_) {}

  // completion::signal: the worker's last touch of the record.
  void signal(record* r) {
    rl::atomic<int>* const key = &r->state;  // computed before the exchange
    // release: publishes the result (and everything the task did) to the caller's
    // acquire in done() / park_for's CAS.
    if (r->state.exchange((int)kDone, order(W_SIGNAL_EXCHANGE, rl::mo_release), $) == kSleeping)
      w.wake_all(key);  // the address as a key only
  }

  // completion::done: acquire pairs with signal's release (the result is readable).
  bool done(record* r) { return r->state.load(order(W_DONE_LOAD, rl::mo_acquire), $) == kDone; }

  // completion::park_for: announce the sleep (CAS acquire, also on failure), sleep.
  bool park_for(record* r, bool timed) {
    int expected = kPending;
    if (g_weak == B_NO_ANNOUNCE) {
      // BUG: sleeps on kPending; the worker wakes only when it saw kSleeping.
      expected = r->state.load(rl::mo_acquire, $);
      if (expected == kDone) return true;
      if (timed) w.wait_on_for(r->state, kPending); else w.wait_on(r->state, kPending);
      return done(r);
    }
    bool announced;
    if (g_weak == W_CAS_SUCCESS) {
      // compare_exchange_strong(expected, kSleeping, relaxed, acquire) is C++17; Relacy
      // (C++11) forces the failure order to be no stronger than the success order, so
      // this is expressed as a relaxed CAS followed, on failure, by an acquire fence.
      announced = r->state.compare_exchange_strong(expected, (int)kSleeping, rl::mo_relaxed, $);
      if (!announced) rl::atomic_thread_fence(rl::mo_acquire, $);
    } else {
      // failure acquire: a failed CAS that reads kDone pairs with signal's release.
      rl::memory_order const failure = g_weak == W_CAS_FAILURE ? rl::mo_relaxed : rl::mo_acquire;
      announced = r->state.compare_exchange_strong(expected, (int)kSleeping, rl::mo_acquire, $,
                                                   failure, $);
    }
    if (!announced && expected == kDone) return true;
    if (timed)
      w.wait_on_for(r->state, kSleeping);
    else
      w.wait_on(r->state, kSleeping);
    return done(r);
  }

  // spin_until(done) (wait.hpp), bounded.
  bool spin(record* r) {
    for (int i = 0; i < kSpin; ++i)
      if (done(r)) return true;
    return done(r);
  }

  // completion::wait(ahead): no spin when several tasks are ahead
  void wait(record* r, int ahead) {
    if (ahead < 2 && spin(r)) return;
    while (!park_for(r, false)) {
    }
  }

  // completion::wait_until: the deadline passes at a point Relacy chooses.
  bool wait_until(record* r) {
    if (done(r)) return true;
    if (rl::rand(3) == 0) return false;  // now >= deadline
    for (int i = 0; i < kSpin; ++i) {
      if (done(r)) return true;
      if (rl::rand(3) == 0) return done(r);  // the deadline passed while spinning
    }
    for (;;) {
      if (rl::rand(2) == 0) return done(r);  // left <= 0
      if (park_for(r, true)) return true;
    }
  }
};

// Gives the other threads up to n-1 turns (a preemption point Relacy would not see:
// Relacy switches threads only at synchronisation operations).
static void preempt(int n) {
  for (int i = (int)rl::rand(n); i != 0; --i) rl::yield(1, $);
}

// ---- core: the mailbox (src/mailbox.cpp) and the worker's loop (src/worker.cpp) -------
struct core {
  waits w;
  rl::atomic<word_t> inbox;        // mailbox::inbox_
  rl::mutex desk;                  // mailbox::desk_ (PTHREAD_PRIO_INHERIT in the code)
  rl::var<record*> head, tail;     // mailbox::ready_ (the desk)
  rl::var<int> ready_count;        // ready_.size() (the desk)
  rl::atomic<int> ready_size_hint; // mailbox::ready_size_hint_ (relaxed: a hint)
  rl::var<int> pending;            // comebacks_ announced, not yet settled (the desk)
  completion_ops c;
  // Ghosts (Relacy runs one fiber at a time; an RMW's success is its place in the
  // word's modification order, so a counter bumped right after it counts that order).
  unsigned cas_seq;        // successful pushes and phase changes so far
  unsigned join_seq;       // position of join's phase CAS (0: not yet)
  unsigned last_appended;  // seq of the last node appended to ready_
  unsigned last_started;   // seq of the last node popped
  core()
      : inbox(0), head(0), tail(0), ready_count(0), ready_size_hint(0), pending(0), c(w),
        cas_seq(0), join_seq(0), last_appended(0), last_started(0) {}

  // What bit 3 becomes on a push / a drain: N ("non-empty": set by every push, cleared by
  // every drain) in this harness; the written protocol's T toggles on every push and is
  // kept by a drain (variant spec-toggle-t).
  static word_t bit3_after_push(word_t w) {
    return toggle_t() ? (w & kBit3) ^ kBit3 : kBit3;
  }
  static word_t bit3_after_drain(word_t w) { return toggle_t() ? (w & kBit3) : 0; }
  static bool toggle_t() { return g_weak == B_SPEC_TOGGLE_T || g_weak == B_SPEC_TOGGLE_T_LOW_ADDR; }

  static rl::memory_order push_order(record* n) {
    if (g_weak == W_PUSH_RELEASE || (g_weak == W_PUSH_RELEASE_ONE && n->id == 0))
      return rl::mo_relaxed;
    return rl::mo_release;
  }

  // mailbox::push(n, who, refusable): -1 = stopped_error (every caller here is off the
  // thread: open only while running), else the "ahead" hint.
  int push(record* n, bool refusable) {
    // The first CAS starts from a guessed value, as the code's does (running, empty, no
    // S: what a producer finds most often), not from a load; a wrong guess fails the CAS,
    // which reads the word (relaxed) like the load did. bug-push-stale-s keeps a first
    // load, since its bug is deciding the wake from that load.
    word_t w = g_weak == B_PUSH_STALE_S ? inbox.load(rl::mo_relaxed, $) : (word_t)running;
    bool const first_s = s_of(w);  // (for bug-push-stale-s only)
    bool checked = false;
    for (;;) {
      if (refusable && !(checked && g_weak == B_PUSH_NO_RECHECK) && phase_of(w) != running) {
        RL_ASSERT(join_seq != 0);  // it read join's phase (or later): refused after join
        ++g_refused;
        return -1;                 // throw stopped_error: nothing linked
      }
      checked = true;
      if (!refusable) RL_ASSERT(phase_of(w) != closed);  // never-refused: never meets closed
      n->inbox_next($) = ptr_of(w);  // plain: published by the CAS below
      word_t s = w & kS;             // producers never clear S ...
      if (g_weak == B_PRODUCER_CLEARS_S) s = 0;  // (BUG: ... but this one does)
      word_t const nw = encode(n) | (word_t)phase_of(w) | s | bit3_after_push(w);
      // success release: heads a release sequence (every later modification of inbox_ is
      // an RMW) that the drainer's acquire CAS reads from: inbox_next and the record's
      // contents (invoke, f, what f refers to) happen-before the drainer reads them.
      // failure relaxed: w is reloaded and the loop retries; nothing is read through it.
      if (inbox.compare_exchange_weak(w, nw, push_order(n), $, rl::mo_relaxed, $)) break;
    }
    n->seq = ++cas_seq;  // ghost: accepted here, in the word's modification order
    if (refusable) RL_ASSERT(join_seq == 0);  // exact refusal: no accept after join's CAS
    // w is the value the CAS replaced: if it had S the worker sleeps (or is about to) on
    // a value this push changed: wake it.  Address only.
    bool const wake = g_weak == B_PUSH_STALE_S ? first_s : s_of(w);
    if (wake) w_wake();  // inbox_ only as a key
    // The hint is read after the CAS, as a blocking submitter does (mailbox::ahead_hint;
    // its handle keeps the core alive; relaxed: a hint).
    int const hint = ready_size_hint.load(rl::mo_relaxed, $);
    return hint + (slot_of(w) != 0 ? 1 : 0);
  }

  // ready_.push_back (the desk)
  void append_locked(record* n) {
    RL_ASSERT(n->seq > last_appended);  // P8: ready_ is in CAS order
    last_appended = n->seq;
    n->next($) = 0;
    n->prev($) = tail($);
    n->linked($) = true;
    if (tail($) != 0) tail($)->next($) = n; else head($) = n;
    tail($) = n;
    ready_count($) = ready_count($) + 1;
    ready_size_hint.store(ready_count($), rl::mo_relaxed, $);
  }

  // ready_.remove (the desk)
  void unlink_locked(record* n) {
    record* const p = n->prev($);
    record* const x = n->next($);
    if (p != 0) p->next($) = x; else head($) = x;
    if (x != 0) x->prev($) = p; else tail($) = p;
    n->linked($) = false;
    ready_count($) = ready_count($) - 1;
    ready_size_hint.store(ready_count($), rl::mo_relaxed, $);
  }

  // mailbox::drain_locked(by_worker): move the inbox chain to the back of ready_.
  void drain_locked(bool by_worker) {
    word_t w = inbox.load(rl::mo_relaxed, $);  // relaxed: the CAS re-reads it
    while (slot_of(w) != 0) {
      // Only the worker may clear S when it drains: it is awake.  A withdrawer that takes
      // a chain while S is set clears S too and wakes the worker before it drops the desk
      // (F1): the nodes it moved are the worker's work now, and S cleared makes the word
      // differ from every value the worker compares against (those all have S).
      // (spec-withdraw-keeps-s: the written protocol, which keeps S and does not wake.)
      bool const keep_s = !by_worker && g_weak == B_SPEC_WITHDRAW_KEEPS_S && s_of(w);
      word_t const nw = (word_t)phase_of(w) | (keep_s ? kS : 0) | bit3_after_drain(w);
      // success acquire: reads the last push's value, so it synchronises with every push
      // before it (one release sequence): every node's inbox_next and contents are
      // visible.  failure relaxed: w is reloaded and the loop retries.
      if (inbox.compare_exchange_weak(w, nw, order(W_DRAIN_ACQUIRE, rl::mo_acquire), $,
                                      rl::mo_relaxed, $)) {
        record* chain[kMaxSlots];
        int n = 0;
        for (record* p = ptr_of(w); p != 0; p = p->inbox_next($)) {  // newest first
          RL_ASSERT(n < kMaxSlots);
          chain[n++] = p;
        }
        if (n > 1) ++g_batches;
        if (g_weak == B_DRAIN_NO_REVERSE)  // BUG: the LIFO order as it is
          for (int i = 0; i < n; ++i) append_locked(chain[i]);
        else  // reversed: oldest first, ready_ stays in CAS order
          for (int i = n - 1; i >= 0; --i) append_locked(chain[i]);
        if (!by_worker && s_of(w) && !keep_s) w_wake();
        return;
      }
    }
  }
  void w_wake() { w.wake_word(&inbox); }

  // mailbox::withdraw(n) (a timed submitter whose deadline passed)
  bool withdraw(record* n) {
    desk.lock($);
    drain_locked(false);  // everything pushed so far (n too) is in ready_ now
    if (n->linked($)) {   // not started: withdrawn, never runs
      unlink_locked(n);
      desk.unlock($);
      ++g_withdrawn;
      return true;
    }
    ++g_too_late;
    desk.unlock($);  // the worker popped it: it runs (or expires) and signals
    return false;
  }

  // mailbox::try_announce_comeback, called on the thread itself (open unless closed)
  bool try_announce_comeback() {
    desk.lock($);
    bool const open = phase_of(inbox.load(rl::mo_relaxed, $)) != closed;
    if (open) pending($) = pending($) + 1;
    desk.unlock($);
    return open;
  }

  // mailbox::withdraw_comeback (on the thread itself: the worker is awake, no wake)
  void withdraw_comeback() {
    desk.lock($);
    pending($) = pending($) - 1;
    desk.unlock($);
  }

  // mailbox::link_comeback(n, r): a never-refused push of a comeback node
  void link_comeback(record* n) {
    n->comeback($) = true;
    push(n, false);
  }

  // mailbox::stop_accepting (join)
  void stop_accepting() {
    word_t w = inbox.load(rl::mo_relaxed, $);
    bool changed = false;
    while (phase_of(w) == running) {
      // acq_rel, as written; what it orders is argued in verify/README.md §2 (join-cas).
      // The refusal needs no order: the pushes and this CAS are all RMWs on one word, so
      // a push after it in the modification order reads draining.
      if (inbox.compare_exchange_weak(w, (w & ~kPhaseMask) | (word_t)draining,
                                      order(W_JOIN_CAS, rl::mo_acq_rel), $, rl::mo_relaxed, $)) {
        changed = true;
        break;
      }
    }
    if (changed) join_seq = ++cas_seq;
    if (s_of(w)) w_wake();  // the worker sleeps on a value this CAS changed
  }

  // core::next_task (no timers, no bound values): the desk is held throughout, except
  // where dropped below.  nullptr: drained and closed.
  record* next_task() {
    desk.lock($);
    for (;;) {
      if (head($) == 0) drain_locked(true);
      if (record* n = head($)) {  // ready_.pop_front(): unlinked = started
        unlink_locked(n);
        RL_ASSERT(n->seq > last_started);  // P8: started in CAS order
        last_started = n->seq;
        if (n->comeback($)) pending($) = pending($) - 1;  // comebacks_.settle
        desk.unlock($);
        return n;
      }
      word_t const cur = inbox.load(rl::mo_relaxed, $);  // relaxed: re-read by the CASes below
      if (slot_of(cur) != 0) continue;  // pushed since the drain: take it
      if (phase_of(cur) != running && pending($) == 0) {
        // close: bound values are destroyed with the desk dropped, then re-checked
        desk.unlock($);
        desk.lock($);
        if (head($) != 0 || pending($) != 0) continue;
        word_t e = inbox.load(rl::mo_relaxed, $);
        if (slot_of(e) != 0) continue;
        RL_ASSERT(phase_of(e) == draining);
        // CAS(e -> null|closed|T), from the value as loaded, S whatever it is (F3: the
        // written CAS(null|draining|T -> null|closed|T) expects S clear, but S can be set
        // here -- the worker's one clear CAS after waking lost against join's phase CAS --
        // and then it fails for ever: the worker loops at full speed and never exits).
        // relaxed: nothing is published or read through it; a failure means something was
        // pushed (a never-refused link): loop and take it.
        if (g_weak == B_SPEC_CLOSE_STRICT) e &= ~kS;
        if (!inbox.compare_exchange_strong(e, (e & kBit3) | (word_t)closed, rl::mo_relaxed, $))
          continue;
        desk.unlock($);
        return 0;
      }
      // wait_for_work_locked: nothing taken, ptr null.
      word_t const seen = cur;
      desk.unlock($);
      for (int i = 0; i < kSpin; ++i)  // spin (<= 50 us) until the word changes
        if (inbox.load(rl::mo_relaxed, $) != seen) break;
      desk.lock($);
      word_t const now = inbox.load(rl::mo_relaxed, $);
      word_t expected = seen;
      if (g_weak == B_SLEEP_NO_RECHECK) {
        expected = now;  // BUG: no re-check; sets S on whatever is there
      } else if (head($) != 0 || slot_of(now) != 0 || phase_of(now) != phase_of(seen)) {
        continue;  // work arrived (a withdrawer drained, a push, or join): loop
      }
      // sleep_until_woken_locked: announce the sleep in the word.  A failure means the
      // word changed since `seen`: loop (failure relaxed: nothing read through it).
      // acq_rel, as written (sleep-cas shows what Relacy makes of it).
      if (g_weak != B_WORKER_NO_S) {
        if (!inbox.compare_exchange_strong(expected, expected | kS, order(W_SLEEP_CAS, rl::mo_acq_rel), $,
                                           rl::mo_relaxed, $))
          continue;
        expected |= kS;
      }
      desk.unlock($);
      // Every later push (or join, or withdrawer's drain) sees S in the value its RMW
      // replaces and wakes after it; if that comes before this wait, the compare fails.
      if (w.wait_on_word(inbox, low32(expected))) ++g_sleeps;
      desk.lock($);
      // clear S if the word still has it with a null pointer: one CAS (relaxed: S is a
      // hint to the producers; nothing is published or read through it).  It can fail (a
      // push came: the next drain clears S; or join's phase CAS came: S stays set while
      // the worker is awake -- harmless, see the close above, F3).
      word_t x = inbox.load(rl::mo_relaxed, $);
      if (s_of(x) && slot_of(x) == 0) inbox.compare_exchange_strong(x, x & ~kS, rl::mo_relaxed, $);
    }
  }
};

// ---- the hand-off tests ---------------------------------------------------------------
enum { kMaxCalls = 4 };
enum { kNone = 0, kValue = 1, kTimeout = 2, kStopped = 3 };  // how a call returned

// A test's shape: callers (threads 1..), their calls (submit or submit_for), whether a
// separate joiner races them (else the last caller to return joins), and how many turns
// a caller may be delayed before each push.
struct shape {
  int callers;
  int calls;           // per caller
  bool timed[2][2];    // [caller][call]: submit_for
  bool racing_join;
  int delay;           // preempt(delay) before each push (1: none)
  int join_delay;      // the racing joiner: preempt(join_delay) before stop_accepting
};
static shape g_shape;

template <int Threads>
struct handoff_test : rl::test_suite<handoff_test<Threads>, Threads> {
  core c;
  // The callers' frames: the callable's data (f refers to the caller's local `input`)
  // and the record, for each call.  Kept in the test object so that a late touch reads
  // a destroyed object (caught), not memory Relacy reclaimed.
  struct frame {
    alignas(rl::var<int>) unsigned char input_buf[sizeof(rl::var<int>)];
    alignas(record) unsigned char record_buf[sizeof(record)];
    rl::var<int>* input;
    record* rec;
  } frames[kMaxCalls];
  // Ghost bookkeeping (plain ints: Relacy runs one fiber at a time).
  int ran[kMaxCalls];
  int outcome[kMaxCalls];
  int returned;  // callers done
  bool worker_done;

  int ncalls() const { return g_shape.callers * g_shape.calls; }

  void before() {
    for (int i = 0; i < kMaxCalls; ++i) ran[i] = outcome[i] = 0, frames[i].rec = 0, frames[i].input = 0;
    for (int i = 0; i <= kMaxSlots; ++i) g_slots[i] = 0;
    returned = 0;
    worker_done = false;
  }

  void after() {
    RL_ASSERT(worker_done);
    for (int i = 0; i < ncalls(); ++i) {
      RL_ASSERT(outcome[i] != kNone);                    // every call returned
      if (outcome[i] == kValue) RL_ASSERT(ran[i] == 1);  // ran exactly once
      else RL_ASSERT(ran[i] == 0);                       // withdrawn / refused: never ran
      if (!g_parking_lot) {                              // futex flavour: frames die now
        frames[i].rec->~record();
        frames[i].input->~var();
      }
    }
  }

  // ---- the worker: core::run -----------------------------------------------------------
  void worker() {
    while (record* n = c.next_task()) {
      // core::run_one -> n->invoke(n) -> submit_record::run
      RL_ASSERT(n->invoke($) == 1);               // reads n->invoke
      rl::var<int>* const in = n->f($);           // self->f: the caller's callable
      int const id = n->id;
      int const v = (*in)($);                     // f reads the caller's local by reference
      RL_ASSERT(ran[id] == 0);
      ++ran[id];
      n->result($) = v * 10 + 7;                  // result_slot::run: value_.emplace(...)
      c.c.signal(n);                              // the last touch of *n
      // The OS may preempt the worker anywhere, in particular here, so give the caller
      // its chance to return (and its frame to die) before the worker goes on.
      rl::yield(1, $);
      if (g_weak == B_TOUCH_AFTER_SIGNAL) RL_ASSERT(n->result($) != 12345);  // BUG: a touch after it
    }
    // core::run after the loop: drained and closed
    c.desk.lock($);
    word_t const w = c.inbox.load(rl::mo_relaxed, $);
    RL_ASSERT(c.head($) == 0 && c.ready_count($) == 0 && slot_of(w) == 0 && phase_of(w) == closed);
    c.desk.unlock($);
    worker_done = true;
  }

  // ---- a caller: thread::submit / submit_for (thread.hpp) ------------------------------
  void call(int id, bool timed) {
    frame& fr = frames[id];
    fr.input = new (fr.input_buf) rl::var<int>(id + 1);    // the caller's local
    record* const r = new (fr.record_buf) record();        // submit_record<F> record(f)
    fr.rec = r;
    r->f($) = fr.input;
    r->id = id;
    bind_slot(r, (unsigned)id + 1);
    preempt(g_shape.delay);
    int const ahead = c.push(r, true);
    if (ahead < 0) {                                       // stopped_error: never ran
      outcome[id] = kStopped;
    } else if (!timed) {                                   // core::submit_and_wait
      c.c.wait(r, ahead);                                  // n.done.wait(ahead)
      outcome[id] = kValue;
    } else if (c.c.wait_until(r)) {                        // core::submit_and_wait_until
      outcome[id] = kValue;
    } else if (c.withdraw(r)) {
      outcome[id] = kTimeout;                              // timeout_error: never runs
    } else {
      c.c.wait(r, 0);                                      // started: runs to completion
      outcome[id] = kValue;
    }
    if (outcome[id] == kValue) {
      int const res = r->result($);                        // record.result.take()
      RL_ASSERT(res == (id + 1) * 10 + 7);
    }
    // The caller returns: its frame is gone.
    if (g_parking_lot) {
      r->~record();                                        // any later touch: freed memory
      fr.input->~var();
    } else {
      r->result($) = -1;                                   // the frame is re-used: a late
      r->f($) = 0;                                         // touch races with these writes
      r->inbox_next($) = 0;
      r->linked($) = false;
      (*fr.input)($) = -1;
    }
  }

  void thread(unsigned index) {
    int const k = g_shape.callers;
    if (index == 0) {
      worker();
    } else if ((int)index <= k) {
      int const caller = (int)index - 1;
      for (int j = 0; j < g_shape.calls; ++j) call(caller * g_shape.calls + j, g_shape.timed[caller][j]);
      // Without a racing joiner, the last caller to return joins: nothing else wakes a
      // worker that missed a push, so a lost wake-up leaves a caller (and the worker)
      // blocked for ever: Relacy reports a DEADLOCK.
      if (++returned == k && !g_shape.racing_join) c.stop_accepting();
    } else {
      preempt(g_shape.join_delay);  // core::join -> stop_accepting, at a random moment
      c.stop_accepting();
    }
  }
};

// inbox-release-sequence: 3 producers push one record each; the worker waits until all
// three CASes happened (a ghost count), then drains once: one acquire CAS that reads the
// last push's value must make all three records readable.
struct release_sequence_test : rl::test_suite<release_sequence_test, 4> {
  core c;
  record recs[3];
  rl::var<int> inputs[3];  // the producers' locals the callables refer to
  int pushed;              // ghost

  void before() {
    for (int i = 0; i <= kMaxSlots; ++i) g_slots[i] = 0;
    for (int i = 0; i < 3; ++i) {
      recs[i].id = i;
      bind_slot(&recs[i], (unsigned)i + 1);
    }
    pushed = 0;
  }

  void thread(unsigned index) {
    if (index < 3) {
      // a producer: fill the record (plain writes), push it.  mailbox::push
      inputs[index]($) = 100 + (int)index;
      recs[index].f($) = &inputs[index];
      recs[index].invoke($) = 1;
      RL_ASSERT(c.push(&recs[index], true) >= 0);
      ++pushed;
      return;
    }
    while (pushed < 3) rl::yield(1, $);  // the worker comes late (ghost wait: no sync)
    c.desk.lock($);
    c.drain_locked(true);  // one acquire CAS on the word
    RL_ASSERT(c.ready_count($) == 3);
    unsigned last = 0;
    for (int i = 0; i < 3; ++i) {  // core::next_task pops; submit_record::run reads
      record* const n = c.head($);
      c.unlink_locked(n);
      RL_ASSERT(n->seq > last);  // P8
      last = n->seq;
      RL_ASSERT(n->invoke($) == 1);
      RL_ASSERT((*n->f($))($) == 100 + n->id);
    }
    c.desk.unlock($);
  }
};

}  // namespace handoff


// --------------------------------------------------------------------------------------
// The task<T> rendezvous (include/ste/task.hpp: promise_base::start_awaited and
// finish_awaited).  An awaiter on thread A starts the task (`co_await task`); the task
// suspends inside A's resume() and goes to another thread, where it finishes:
//   rendezvous-ste    a ste thread B (`co_await B.schedule()`): B's inbox (the schedule
//                     node is a refusable push, back_ a never-refused comeback push),
//                     its desk, comebacks_ (try_announce_comeback / withdraw_comeback on
//                     B itself, settled when the worker pops back_), its worker loop, and
//                     a join of B racing it all (the schedule may then be refused: the
//                     task finishes inline on A).
//   rendezvous-plain  a plain thread P (the task awaited something P completes): P
//                     sleeps until the awaiter has suspended.
// -parkinglot: the same with the portable parking lot (the frame is really freed).
// The resumed awaiter destroys the task frame at once (~task), so any access to the
// promise not ordered before it is a data race (or, freed, an access to freed memory).

namespace rendezvous {

using handoff::core;
using handoff::record;
using handoff::waits;
using handoff::bind_slot;
using handoff::word_t;
using handoff::g_parking_lot;

enum { kRunning = 0, kFinishedInline = 1, kAwaiterSuspended = 2, kFinishedOnThread = 3,
       kFinisherWaiting = 4 };                      // promise_base::rendezvous_ states
enum { kThreadA = 1, kThreadB = 2, kThreadP = 3 };  // what &tls_identity names
enum { kAwaitingHandle = 77 };                      // the awaiting coroutine's handle
enum { kStartNode = 1, kBackNode = 2 };             // ghost ids of the frame's queue nodes
enum { kValue = 42, kError = -7 };

// The task's coroutine frame: promise<int> (with promise_base) and a local of its body.
struct frame {
  record start;                // schedule_awaiter (co_await B.schedule()): a queue node
  rl::var<int> local;          // a local of the task's body
  rl::var<int> continuation;   // promise_base::continuation_
  rl::var<int> starter;        // promise_base::starter_
  rl::atomic<int> rendezvous;  // promise_base::rendezvous_
  // Ghost: the bytes of rendezvous_.  Every access to rendezvous_ also reads it and the
  // frame's destruction writes it, so an access that does not happen-before the
  // destruction is a DATA RACE -- as in C++, where it is an access to freed memory.
  // (Relacy's atomics alone never race.)
  rl::var<int> rv_bytes;
  rl::var<core*> finisher;     // promise_base::finisher_
  record back;                 // promise_base::back_ (a resume_node): its links
  rl::var<int> back_handle;    // ... resume_node::handle
  rl::var<int> value;          // promise<int>::value_ (or error_)
  frame()
      : local(0), continuation(0), starter(0), rendezvous(kRunning), rv_bytes(0), finisher(0),
        back_handle(0), value(0) {
    start.id = kStartNode;
    back.id = kBackNode;
  }
  // handle_.destroy(): the promise and the frame die; the block is freed or re-used.
  void die() {
    local($) = -1;
    continuation($) = -1;
    starter($) = -1;
    rv_bytes($) = -1;
    finisher($) = 0;
    back_handle($) = -1;
    value($) = -1;
    back.next($) = 0;
    start.next($) = 0;
    back.inbox_next($) = 0;
    start.inbox_next($) = 0;
  }
};

// An access to rendezvous_ also reads its bytes (the ghost; see frame::rv_bytes).
static void touch(frame* f) {
  int const bytes = f->rv_bytes($);
  (void)bytes;
}

// A compare_exchange_strong(expected, desired, acq_rel) of the code, weakened by variant:
// `relaxed_id` -> relaxed, `acquire_id` -> acquire (no release), `release_id` -> release
// (whose failure order is relaxed: no acquire), `success_id` -> (release, acquire), the
// C++17 form, expressed as a release CAS followed on failure by an acquire fence.
static bool cas(rl::atomic<int>& a, int& expected, int desired, int relaxed_id, int acquire_id,
                int release_id, int success_id) {
  if (g_weak == relaxed_id) return a.compare_exchange_strong(expected, desired, rl::mo_relaxed, $);
  if (g_weak == acquire_id) return a.compare_exchange_strong(expected, desired, rl::mo_acquire, $);
  if (g_weak == release_id) return a.compare_exchange_strong(expected, desired, rl::mo_release, $);
  if (g_weak == success_id) {
    bool const ok = a.compare_exchange_strong(expected, desired, rl::mo_release, $);
    if (!ok) rl::atomic_thread_fence(rl::mo_acquire, $);
    return ok;
  }
  return a.compare_exchange_strong(expected, desired, rl::mo_acq_rel, $);
}

// What both tests share: the frame, the awaiter's side, the resumption, the plain wait.
using handoff::preempt;

struct rv {
  alignas(frame) unsigned char buf[sizeof(frame)];
  frame* fr;
  rl::var<int> awaiting_local;  // a local of the awaiting coroutine (its own frame)
  waits w;                      // wait_on / wake_all on rendezvous_ (src/wait_futex.cpp, wait_parking_lot.cpp)
  int resumed;                  // ghost: times the awaiting coroutine continued
  int finished_on;              // ghost: the thread the task finished on
  bool dead;                    // ghost: the frame was destroyed

  void init() {
    fr = g_parking_lot ? new frame() : new (buf) frame();
    bind_slot(&fr->start, 1);  // the nodes' "addresses" in B's inbox word
    bind_slot(&fr->back, 2);
    resumed = 0;
    finished_on = 0;
    dead = false;
  }
  void fini() {
    RL_ASSERT(resumed == 1);  // the awaiting coroutine continued exactly once
    RL_ASSERT(dead);
    if (!g_parking_lot) fr->~frame();
  }

  // The awaiting coroutine continues on `thread` (by symmetric transfer to `h`, by
  // resume_node::run, or by start_awaited returning false): task::awaiter::await_resume
  // -> promise.take() reads the result; then the task temporary dies: ~task() destroys
  // the frame.
  void resume_awaiting(int thread, int h) {
    RL_ASSERT(h == kAwaitingHandle);
    RL_ASSERT(resumed == 0);              // never twice
    ++resumed;
    RL_ASSERT(thread == finished_on);     // it continues where the task finished
    int const v = fr->value($);           // take()
    RL_ASSERT(v == kValue || v == kError);
    RL_ASSERT(awaiting_local($) == 5);    // its own frame, written on A before co_await
    fr->die();                            // ~task(): handle_.destroy()
    dead = true;
    if (g_parking_lot) delete fr;
  }

  // start_awaited(self, awaiting) on thread A, up to self.resume().
  void start(int thread) {
    awaiting_local($) = 5;                // the awaiting coroutine's state before co_await
    fr->continuation($) = kAwaitingHandle;  // continuation_ = awaiting
    fr->starter($) = thread;              // starter_ = &tls_identity
    // self.resume(): the task's body runs here until it suspends (the caller does that)
    fr->local($) = 1;
  }

  // finish_awaited's first test, inside A's resume(): the task finished on A itself.
  void finish_inline(int thread) {
    finished_on = thread;
    // if (starter_ == &tls_identity && rendezvous_.load(relaxed) == kRunning)
    RL_ASSERT(fr->starter($) == thread);
    touch(fr);
    RL_ASSERT(fr->rendezvous.load(rl::mo_relaxed, $) == kRunning);
    fr->rendezvous.store((int)kFinishedInline, rl::mo_relaxed, $);  // return noop_coroutine()
  }

  // start_awaited after self.resume() returned, on thread A.
  void after_resume() {
    // Relacy switches threads only at synchronisation operations; the OS may preempt the
    // awaiter anywhere, in particular between resume() returning and its CAS (the window
    // this protocol is about): let Relacy delay it there by a random number of turns.
    preempt(8);
    frame* const f = fr;
    int state = kRunning;
    touch(f);
    if (cas(f->rendezvous, state, kAwaiterSuspended, W_RV_AWAITER_CAS, W_RV_AWAITER_CAS_ACQUIRE,
            W_RV_AWAITER_CAS_RELEASE, W_RV_AWAITER_CAS_SUCCESS))
      return (void)++handoff::g_paths[handoff::P_AWAITER_FIRST];  // return true: suspended;
                                                                 // the CAS was the last touch
    switch (state) {
      case kFinishedInline:  // return false: the awaiter continues here
        ++handoff::g_paths[handoff::P_INLINE];
        resume_awaiting(kThreadA, kAwaitingHandle);
        return;
      case kFinishedOnThread: {
        ++handoff::g_paths[handoff::P_ON_THREAD];
        core* const target = f->finisher($);  // core* const target = finisher_
        f->back_handle($) = kAwaitingHandle;  // back_.handle = awaiting
        target->link_comeback(&f->back);      // link_comeback(back_, true): last touch
        return;
      }
      default: {  // kFinisherWaiting
        RL_ASSERT(state == kFinisherWaiting);
        ++handoff::g_paths[handoff::P_WAITING];
        rl::atomic<int>* const key = &f->rendezvous;
        touch(f);
        f->rendezvous.store((int)kAwaiterSuspended, order(W_RV_AWAITER_STORE, rl::mo_release), $);
        if (g_weak != B_RV_NO_WAKE) w.wake_all(key);  // wake_all(key): the address only
        return;
      }
    }
  }

  // finish_awaited's first test off the starting thread: the awaiter already suspended?
  bool suspended_at_finish() {
    RL_ASSERT(fr->starter($) == kThreadA);  // starter_ != &tls_identity: no inline test
    touch(fr);
    bool const s = fr->rendezvous.load(order(W_RV_FIN_LOAD, rl::mo_acquire), $) == kAwaiterSuspended;
    if (s) ++handoff::g_paths[handoff::P_FIN_SAW_SUSPENDED];
    return s;
  }

  // suspended(): rendezvous_.load(acquire) == kAwaiterSuspended
  bool suspended(frame* f) {
    touch(f);
    return f->rendezvous.load(order(W_RV_WAIT_LOAD, rl::mo_acquire), $) == kAwaiterSuspended;
  }

  // finish_awaited's plain-thread path: CAS to kFinisherWaiting, then spin_until and
  // sleep until the awaiter stored kAwaiterSuspended; then resume it here.
  void finish_waiting(int thread) {
    frame* const f = fr;
    int state = kRunning;
    touch(f);
    if (cas(f->rendezvous, state, kFinisherWaiting, W_RV_WAIT_CAS, W_RV_WAIT_CAS_ACQUIRE, -1, -1) &&
        g_weak != B_RV_PLAIN_NO_WAIT) {
      bool ok = false;
      for (int i = 0; i < handoff::kSpin && !ok; ++i) ok = suspended(f);  // spin_until
      while (!ok) {
        // wait_on(rendezvous_, kFinisherWaiting)
        if (w.wait_on(f->rendezvous, kFinisherWaiting)) ++handoff::g_paths[handoff::P_WAIT_SLEPT];
        ok = suspended(f);
      }
    } else if (state != kRunning) {
      ++handoff::g_paths[handoff::P_WAIT_CAS_FAILED];
    }
    resume_awaiting(thread, f->continuation($));  // return continuation_
  }
};

struct ste_test : rl::test_suite<ste_test, 3> {
  core c;  // ste thread B
  rv r;
  bool worker_done;

  void before() {
    r.init();
    worker_done = false;
  }
  void after() {
    RL_ASSERT(worker_done);
    r.fini();
  }

  // finish_awaited on B's worker (a ste thread): never waits for the awaiter.
  void finish_on_ste() {
    frame* const f = r.fr;
    if (r.suspended_at_finish()) {
      r.resume_awaiting(kThreadB, f->continuation($));  // return continuation_
      return;
    }
    if (c.try_announce_comeback()) {  // here->try_announce_comeback()
      f->finisher($) = &c;       // finisher_ = here
      int state = kRunning;
      touch(f);
      if (cas(f->rendezvous, state, kFinishedOnThread, W_RV_FIN_CAS, W_RV_FIN_CAS_ACQUIRE,
              W_RV_FIN_CAS_RELEASE, W_RV_FIN_CAS_SUCCESS))
        return;  // return noop_coroutine(): back to the worker loop
      ++handoff::g_paths[handoff::P_FIN_CAS_FAILED];
      c.withdraw_comeback();  // here->withdraw_comeback()
      r.resume_awaiting(kThreadB, f->continuation($));
      return;
    }
    r.finish_waiting(kThreadB);  // (B closed: not reachable from B's loop)
  }

  void thread(unsigned index) {
    if (index == 0) {
      // Thread A: co_await task -> task::awaiter::await_suspend -> start_awaited
      r.start(kThreadA);
      // ... the body reaches co_await B.schedule(): schedule_awaiter::await_suspend
      if (c.push(&r.fr->start, true) < 0) {  // mailbox::push (refusable, off the thread)
        // stopped_error (B is being joined), rethrown in the task: it ends here, inside
        // resume(): unhandled_exception stores it, final_awaiter -> finish_awaited
        r.fr->value($) = kError;
        r.finish_inline(kThreadA);
      }
      r.after_resume();  // resume() returned
    } else if (index == 1) {
      // Thread B's worker: core::run
      while (record* n = c.next_task()) {
        if (n->id == kStartNode) {
          // resume_node::run of schedule_awaiter: the task resumes on B and finishes
          RL_ASSERT(r.fr->local($) == 1);
          r.fr->value($) = kValue;  // co_return 42: return_value
          r.finished_on = kThreadB;
          finish_on_ste();          // final_awaiter::await_suspend -> finish_awaited
        } else {
          RL_ASSERT(n->id == kBackNode);
          int const h = r.fr->back_handle($);  // resume_node::run: handle.resume()
          r.resume_awaiting(kThreadB, h);
        }
      }
      c.desk.lock($);
      word_t const w = c.inbox.load(rl::mo_relaxed, $);
      RL_ASSERT(c.head($) == 0 && c.pending($) == 0 && handoff::slot_of(w) == 0 &&
                handoff::phase_of(w) == handoff::closed);
      c.desk.unlock($);
      worker_done = true;
    } else {
      preempt(8);          // join() of B at a random moment,
      c.stop_accepting();  // racing everything
    }
  }
};

struct plain_test : rl::test_suite<plain_test, 2> {
  rv r;
  // The user's mechanism that hands the suspended task to P (release/acquire).
  rl::atomic<int> handed;

  void before() {
    r.init();
    handed.store(0, rl::mo_relaxed, $);
  }
  void after() { r.fini(); }

  void thread(unsigned index) {
    if (index == 0) {
      r.start(kThreadA);
      handed.store(1, rl::mo_release, $);  // the task suspends; P will resume it
      r.after_resume();                    // resume() returned
    } else {
      while (handed.load(rl::mo_acquire, $) == 0) rl::yield(1, $);
      // The task resumes on P, a plain thread, and finishes.
      RL_ASSERT(r.fr->local($) == 1);
      r.fr->value($) = kValue;
      r.finished_on = kThreadP;
      if (r.suspended_at_finish()) {
        r.resume_awaiting(kThreadP, r.fr->continuation($));
        return;
      }
      r.finish_waiting(kThreadP);  // current_core() == nullptr: wait for the awaiter
    }
  }
};

}  // namespace rendezvous

// --------------------------------------------------------------------------------------
// bound<T>: join() destroys the value on the worker; the handle, whose reset was refused
// (stopped_error), looks at it from another thread and drops its reference.

namespace boundt {

// bound<T>::box (include/ste/bound.hpp): a bound_entry with the T and the owner count.
struct box {
  rl::var<int> vptr;        // the vtable pointer every virtual call reads (release, destroy_value)
  rl::var<int> storage;     // the T
  rl::atomic<bool> alive;  // bound_entry::alive
  rl::atomic<int> owners;  // box::owners
  box() : vptr(1), storage(42), alive(true), owners(2) {}
  ~box() {
    // `delete this` frees the block: the allocator may write anywhere in it.
    vptr($) = 0;
    storage($) = 0;
  }
};

struct bound_test : rl::test_suite<bound_test, 2> {
  box* b;
  rl::var<int> device_closed;  // what T's destructor does to the outside world
  int deletes;

  void before() {
    b = new box();             // make_bound: constructed on the thread, handed over by
    deletes = 0;               // the completion (tested above); both threads see it
    device_closed($) = 0;
  }
  void after() { RL_ASSERT(deletes == 1); }

  // box::release: drops one reference; the last one frees the block.
  void release(box* x) {
    RL_ASSERT(x->vptr($) == 1);  // the virtual call reads the vtable pointer
    if (x->owners.fetch_sub(1, owners_order(), $) == 1) {
      ++deletes;
      delete x;
    }
  }

  void thread(unsigned index) {
    box* const x = b;
    if (index == 0) {
      // The worker, in bound_registry::destroy_all (join): unregister, destroy, release.
      RL_ASSERT(x->vptr($) == 1);                         // e->destroy_value() (virtual)
      RL_ASSERT(x->storage($) == 42);
      x->storage($) = -1;                                 // value()->~T()
      device_closed($) = 1;                               //   ... closes the device
      x->alive.store(false, order(W_ALIVE_STORE, rl::mo_release), $);
      release(x);                                         // e->release(): the registry's ref
    } else {
      // The handle off the thread: reset() was refused (join() started), so
      // destroy_bound_value returned false; the user looks at the handle, then drop().
      if (!x->alive.load(order(W_ALIVE_LOAD, rl::mo_acquire), $)) {  // explicit operator bool
        RL_ASSERT(device_closed($) == 1);                 // "T is gone": its effects visible
      }
      release(x);                                         // drop(): box_->release()
    }
  }
};

}  // namespace boundt


// --------------------------------------------------------------------------------------

// --------------------------------------------------------------------------------------
// ste::notifier (src/notifier.cpp, include/ste/detail/notifier_block.hpp).  Threads: the
// worker, two producers notifying twice each (each writes its input once, before its
// first notify), and a joiner at a random moment.  The inbox is reduced to what the
// notifier uses: the phase, N, and whether the notifier's one node is in the chain; the
// worker drains, pops, sweeps and closes as core::take_work_locked / next_task do, but
// spins instead of sleeping (the sleep is ste.pml's and notifier.pml's business).
//   - a run reads the input of every producer whose state RMW preceded the run's claim
//     in the state word's modification order: a DATA RACE unless the coalescing CAS
//     (release) and the claim (acquire) synchronise;
//   - N1: every notify that returned true is covered by a later claim (ghosts, as in
//     notifier.pml), checked once all threads finished; N2: no true once closed.
namespace nt {

enum : unsigned { P = 1, Q = 2, U = 4, T = 8, C = 16, FLAGS = 127, GEN = 128 };
enum : unsigned { PH = 3, RUNNING = 0, DRAINING = 1, CLOSED = 2, NBIT = 4, NODE = 8 };

struct notifier_test : rl::test_suite<notifier_test, 4> {
  rl::atomic<unsigned> inbox;   // [ NODE | N | phase ]
  rl::atomic<unsigned> state;   // notifier_block::state_
  rl::atomic<bool> sweep;       // mailbox::sweep_wanted_
  rl::var<int> input[2];
  // ghosts (plain: no synchronisation, no race detection)
  bool rmw_done[2];
  int begun[2], owed[2], covered[2];
  bool closed, worker_done;

  void before() {
    inbox($) = RUNNING;
    state($) = 0;
    sweep($) = false;
    for (int p = 0; p < 2; ++p) rmw_done[p] = false, begun[p] = owed[p] = covered[p] = 0;
    closed = worker_done = false;
  }
  void after() {
    for (int p = 0; p < 2; ++p) RL_ASSERT(covered[p] >= owed[p]);  // N1
  }

  static bool open(unsigned w) { return (w & PH) == RUNNING; }  // other threads only

  void request_sweep() {
    sweep.store(true, order(W_NT_FLAG, rl::mo_seq_cst), $);
    inbox.fetch_or(NBIT, rl::mo_seq_cst, $);
  }

  bool push_claimed(int p, unsigned claimed) {  // notifier_block::push_claimed
    unsigned w = inbox.load(rl::mo_relaxed, $);
    for (;;) {
      if (!open(w)) break;
      if (inbox.compare_exchange_weak(w, w | NODE | NBIT, rl::mo_release, $, rl::mo_relaxed, $)) {
        RL_ASSERT(!closed);  // N2: accepted (decided here, by the push)
        unsigned s = state.load(rl::mo_relaxed, $);
        while ((s & (Q | U)) == Q && (s & ~FLAGS) == (claimed & ~FLAGS) &&
               !state.compare_exchange_weak(s, s | U, rl::mo_seq_cst, $, rl::mo_relaxed, $)) {
        }
        owed[p] = begun[p];
        return true;
      }
    }
    unsigned s = state.load(rl::mo_relaxed, $);
    for (;;) {
      unsigned next = s & ~Q;
      if ((s & T) == 0) next &= ~P;
      if (state.compare_exchange_weak(s, next, rl::mo_seq_cst, $, rl::mo_relaxed, $)) return false;
    }
  }

  bool notify(int p) {  // notifier_block::notify
    ++begun[p];
    if (!open(inbox.load(rl::mo_seq_cst, $))) return false;
    unsigned s = state.load(rl::mo_relaxed, $);
    for (;;) {
      if (s & C) return false;
      if ((s & (P | Q)) == 0) {
        unsigned const claimed = ((s & ~FLAGS) + GEN) | P | Q;
        if (state.compare_exchange_weak(s, claimed, rl::mo_seq_cst, $, rl::mo_relaxed, $)) {
          rmw_done[p] = true;
          return push_claimed(p, claimed);
        }
        continue;
      }
      unsigned const touched = s | P | T;
      if (!state.compare_exchange_weak(s, touched, order(W_NT_COALESCE, rl::mo_seq_cst), $, rl::mo_relaxed, $))
        continue;
      rmw_done[p] = true;
      if ((touched & (Q | U)) != (Q | U)) request_sweep();
      bool const r = open(inbox.load(order(W_NT_RECHECK, rl::mo_seq_cst), $));
      if (r) {
        RL_ASSERT(!closed);  // N2
        owed[p] = begun[p];
      }
      return r;
    }
  }

  void claimed_run() {  // the claim just happened: cover, then run f
    bool reads[2];
    for (int p = 0; p < 2; ++p) covered[p] = begun[p], reads[p] = rmw_done[p];
    for (int p = 0; p < 2; ++p)
      if (reads[p]) RL_ASSERT(input[p]($) == 100 + p);
  }

  void worker() {
    bool ready_node = false, ready_sweep = false;
    for (;;) {
      if (!ready_node && !ready_sweep) {  // mailbox::drain_locked
        unsigned w = inbox.load(rl::mo_relaxed, $);
        while ((w & NBIT) != 0 &&
               !inbox.compare_exchange_weak(w, w & PH, rl::mo_acquire, $, rl::mo_relaxed, $)) {
        }
        if (w & NODE) ready_node = true;
      }
      if (!ready_node && !ready_sweep && sweep.load(rl::mo_relaxed, $) &&
          sweep.exchange(false, rl::mo_seq_cst, $)) {  // the sweep
        unsigned const s = state.load(rl::mo_seq_cst, $);
        if ((s & P) && !(s & C) && (s & (Q | U)) != (Q | U)) ready_sweep = true;
      }
      if (ready_node) {  // notifier_block::run_node: the pop claim
        ready_node = false;
        unsigned s = state.load(rl::mo_relaxed, $);
        bool run;
        do {
          run = (s & P) && !(s & C);
        } while (!state.compare_exchange_weak(s, s & ~(P | Q | U | T),
                                              order(W_NT_CLAIM, rl::mo_seq_cst), $, rl::mo_relaxed, $));
        if (run) claimed_run();
        continue;
      }
      if (ready_sweep) {  // notifier_block::run_sweep
        ready_sweep = false;
        unsigned s = state.load(rl::mo_relaxed, $);
        bool run = true;
        do {
          if (!(s & P) || (s & C) || (s & (Q | U)) == (Q | U)) { run = false; break; }
        } while (!state.compare_exchange_weak(s, s & ~(P | T), rl::mo_seq_cst, $, rl::mo_relaxed, $));
        if (run) claimed_run();
        continue;
      }
      // nothing taken: close once join began and nothing is pending (try_close_locked)
      unsigned w = inbox.load(rl::mo_seq_cst, $);
      if ((w & PH) == DRAINING && !(w & NODE) && !sweep.load(rl::mo_seq_cst, $)) {
        if (inbox.compare_exchange_strong(w, (unsigned)CLOSED, rl::mo_seq_cst, $, rl::mo_relaxed, $)) break;
        continue;
      }
      rl::yield(1, $);
    }
    closed = true;
    worker_done = true;
  }

  void thread(unsigned index) {
    if (index == 0) return worker();
    if (index <= 2) {
      int const p = (int)index - 1;
      input[p]($) = 100 + p;
      notify(p);
      notify(p);
      return;
    }
    // the joiner (mailbox::stop_accepting), at a random moment
    for (unsigned k = rl::rand(24); k > 0; --k) rl::yield(1, $);
    unsigned w = inbox.load(rl::mo_relaxed, $);
    while ((w & PH) == RUNNING &&
           !inbox.compare_exchange_weak(w, (w & ~PH) | DRAINING, rl::mo_seq_cst, $, rl::mo_relaxed, $)) {
    }
    while (!worker_done) rl::yield(1, $);
  }
};

}  // namespace nt

template <class Test>
static int run(char const* test, unsigned long iterations) {
  rl::test_params p;
  p.iteration_count = iterations;
  p.search_type = rl::random_scheduler_type;
  p.execution_depth_limit = 20000;
  // Relacy's own report (and, on failure, the history of the failing schedule) goes to
  // stderr; a std::ostringstream cannot be used (Relacy replaces operator new/delete).
  p.output_stream = &std::cerr;
  p.progress_stream = &std::cerr;
  rl::simulate<Test>(p);
  bool const ok = p.test_result == rl::test_result_success;
  std::string const kind = rl::test_result_str(p.test_result);
  std::printf("RESULT %s %s %s iterations=%lu sleeps=%lu wakes=%lu batches=%lu refused=%lu "
              "withdrawn=%lu too-late=%lu", test, kWeakNames[g_weak], kind.c_str(),
              ok ? (unsigned long)iterations : (unsigned long)p.stop_iteration,
              handoff::g_sleeps, handoff::g_wakes, handoff::g_batches, handoff::g_refused,
              handoff::g_withdrawn, handoff::g_too_late);
  if (std::strncmp(test, "rendezvous", 10) == 0)
    for (int i = 0; i < handoff::P_COUNT; ++i)
      std::printf(" %s=%lu", handoff::kPathNames[i], handoff::g_paths[i]);
  std::printf("\n");
  return ok ? 0 : 1;
}

int main(int argc, char** argv) {
  if (argc < 3) {
    std::fprintf(stderr, "usage: %s handoff-futex|handoff-parkinglot|inbox-push-drain|"
                 "inbox-release-sequence|inbox-join-refusal|inbox-withdraw|inbox-sleep-wake|"
                 "bound|rendezvous-ste[-parkinglot]|rendezvous-plain[-parkinglot] "
                 "<iterations> [variant]\n",
                 argv[0]);
    return 2;
  }
  std::string const test = argv[1];
  unsigned long const iterations = std::strtoul(argv[2], 0, 10);
  if (argc > 3) {
    g_weak = -1;
    for (int i = 0; i < W_COUNT; ++i)
      if (std::strcmp(argv[3], kWeakNames[i]) == 0) g_weak = i;
    if (g_weak < 0) {
      std::fprintf(stderr, "unknown variant %s\n", argv[3]);
      return 2;
    }
  }
  if (g_weak == B_SPEC_TOGGLE_T_LOW_ADDR) handoff::g_addr_shift = 4;
  using handoff::g_shape;
  using handoff::shape;
  // {callers, calls per caller, submit_for? [caller][call], racing joiner, delay,
  //  joiner's delay}
  static shape const kHandoff = {2, 2, {{false, true}, {false, true}}, true, 1, 40};
  static shape const kPushDrain = {2, 2, {{false, false}, {false, false}}, false, 1, 1};
  static shape const kJoinRefusal = {2, 2, {{false, false}, {false, false}}, true, 3, 24};
  static shape const kWithdraw = {2, 2, {{false, false}, {true, true}}, false, 1, 1};
  static shape const kSleepWake = {2, 2, {{false, false}, {false, false}}, false, 6, 1};
  if (test == "handoff-futex" || test == "handoff-parkinglot") {
    handoff::g_parking_lot = test == "handoff-parkinglot";
    g_shape = kHandoff;
    return run<handoff::handoff_test<4> >(argv[1], iterations);
  }
  if (test == "inbox-push-drain") {
    g_shape = kPushDrain;
    return run<handoff::handoff_test<3> >(argv[1], iterations);
  }
  if (test == "inbox-join-refusal") {
    g_shape = kJoinRefusal;
    return run<handoff::handoff_test<4> >(argv[1], iterations);
  }
  if (test == "inbox-withdraw" || test == "inbox-withdraw-parkinglot") {
    handoff::g_parking_lot = test != "inbox-withdraw";
    g_shape = kWithdraw;
    return run<handoff::handoff_test<3> >(argv[1], iterations);
  }
  if (test == "inbox-sleep-wake" || test == "inbox-sleep-wake-parkinglot") {
    handoff::g_parking_lot = test != "inbox-sleep-wake";
    g_shape = kSleepWake;
    return run<handoff::handoff_test<3> >(argv[1], iterations);
  }
  if (test == "inbox-release-sequence") return run<handoff::release_sequence_test>(argv[1], iterations);
  if (test == "bound") return run<boundt::bound_test>(argv[1], iterations);
  if (test == "notifier") return run<nt::notifier_test>(argv[1], iterations);
  if (test == "rendezvous-ste" || test == "rendezvous-ste-parkinglot") {
    handoff::g_parking_lot = test != "rendezvous-ste";
    return run<rendezvous::ste_test>(argv[1], iterations);
  }
  if (test == "rendezvous-plain" || test == "rendezvous-plain-parkinglot") {
    handoff::g_parking_lot = test != "rendezvous-plain";
    return run<rendezvous::plain_test>(argv[1], iterations);
  }
  std::fprintf(stderr, "unknown test %s\n", argv[1]);
  return 2;
}
