// SPDX-License-Identifier: MIT
// ste_relacy.cpp — Relacy tests of ste's hand-off atomics, with the memory orders the
// code uses, and variants with one order weakened (or one seeded bug) that Relacy must
// catch.  Relacy (relacy-dev) explores random schedules of a test under the C++11 memory
// model: relaxed/acquire loads may return older stores, and a non-atomic access
// (rl::var) that is not ordered by happens-before with a conflicting one is a DATA RACE.
//
// Relacy needs its own atomic, lock and variable types, so the protocol is re-expressed
// here in a small harness, step by step; every step names the C++ it mirrors
// (file:function).  Build: g++ -std=c++11 -O2 ste_relacy.cpp (verify/run does it).
// (relacy_std.hpp clashes with libstdc++ 12's <atomic>, so the rl:: names are used.)
//
// Usage: ste_relacy <test> <iterations> [<variant>]
//   tests:    handoff-futex, handoff-parkinglot, bound, rendezvous-ste,
//             rendezvous-ste-parkinglot, rendezvous-plain, rendezvous-plain-parkinglot
//   variants: none (default) or one of the names in kWeakNames below.
// Prints "RESULT <test> <variant> <SUCCESS|what Relacy found> iterations=<n> <stats>"
// (n: the schedules run, or the one that failed; stats: lock_sleeps=, how often a thread
// really slept in the queue's spin_lock, and for the rendezvous tests how often each
// branch of the protocol was taken).  Exit status 0 when Relacy found nothing, 1 when it
// found an error, 2 on bad usage.  Relacy's report goes to stderr.
//
// What each test mirrors:
//   handoff-*  mailbox::link_task / mailbox::withdraw / core::next_task / mailbox::stop_accepting /
//              mailbox::wake_key_locked / mailbox::link_locked (src/mailbox.cpp, src/worker.cpp), the queue's
//              three-state spin_lock (spin_lock.hpp: lock / lock_contended / unlock, its
//              sleeping path through wait_on / wake_one), submit_record::run and
//              completion (task_node.hpp), core::submit_and_wait[_until] (src/mailbox.cpp, src/worker.cpp,
//              core.hpp), wait_on / wait_on_for / wake_one / wake_all (src/wait_futex.cpp, wait_parking_lot.cpp):
//              4 threads — the worker,
//              caller A (submit, then submit_for), caller B (submit, then submit_for) and
//              a joiner racing them.  Timers, returns and bound values are left out.
//              -futex:      futex waits (the Linux path).  Relacy's futex wake needs the
//                           atomic object itself, so records are not destroyed; when its
//                           caller returns, the frame is "re-used" (overwritten), and a
//                           late touch by the worker races with that.
//              -parkinglot: the portable parking lot of src/wait_futex.cpp, wait_parking_lot.cpp (mutex + condvar
//                           buckets; a waker touches the bucket, never the word), so each
//                           record really is destroyed when its caller returns: a later
//                           touch is a race or "ACCESS TO FREED MEMORY".
//   rendezvous-*  the task<T> rendezvous: promise_base::start_awaited / finish_awaited
//              (include/ste/task.hpp) with mailbox::try_announce_comeback / withdraw_comeback /
//              link_comeback and the worker loop (src/mailbox.cpp, src/worker.cpp); see namespace
//              rendezvous below.
//   bound      bound<T>::box::destroy_value / release (include/ste/bound.hpp),
//              bound_registry::destroy_all (src/mailbox.cpp, src/worker.cpp), bound<T>::operator bool and
//              drop(): join() destroys the value on the worker while the handle, whose
//              reset was refused, looks at it from another thread and drops its reference.

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
  W_PARKING_LOAD,     // src/wait_futex.cpp, wait_parking_lot.cpp parking lot wait_on: word.load(acquire)
  W_ALIVE_STORE,      // bound<T>::box::destroy_value: alive.store(false, release)
  W_ALIVE_LOAD,       // bound<T>::operator bool: alive.load(acquire)
  W_OWNERS_RELAXED,   // bound<T>::box::release: owners.fetch_sub(1, acq_rel) -> relaxed
  W_OWNERS_NO_RELEASE,  // ... -> acquire
  W_OWNERS_NO_ACQUIRE,  // ... -> release
  W_LOCK_ACQUIRE,     // spin_lock::lock / lock_contended: every acquire of state_ (the
                      // fast-path CAS, the spin's CAS, the sleeping exchange(kSleepers))
  W_LOCK_SLEEP_ACQUIRE,  // spin_lock::lock_contended: exchange(kSleepers, acquire) only
  W_LOCK_RELEASE,     // spin_lock::unlock: state_.exchange(kFree, release)
  // Seeded protocol bugs (not orders), to show the harness can see them at all:
  B_TOUCH_AFTER_SIGNAL,  // the worker reads the result slot after the exchange
  B_WAKE_WORD_LATE,      // next_task reads wake_word_ after unlocking
  B_NO_ANNOUNCE,         // park_for sleeps on kPending without the CAS to kSleeping
  B_LOCK_NO_WAKE,        // spin_lock::unlock stores kFree and never wakes a sleeper
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
  W_COUNT
};

static char const* const kWeakNames[] = {
    "none",         "signal-exchange", "done-load",        "cas-failure",
    "cas-success",  "parking-load",    "alive-store",      "alive-load",
    "owners-relaxed", "owners-no-release", "owners-no-acquire", "lock-acquire",
    "lock-sleep-acquire", "lock-release",
    "bug-touch-after-signal", "bug-wake-word-late", "bug-no-announce", "bug-lock-no-wake",
    "awaiter-cas", "awaiter-cas-acquire", "awaiter-cas-release", "awaiter-cas-success",
    "awaiter-store", "finisher-load", "finisher-cas", "finisher-cas-acquire",
    "finisher-cas-release", "finisher-cas-success", "waiting-cas", "waiting-cas-acquire",
    "waiting-load", "bug-plain-no-wait", "bug-awaiter-no-wake"};

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
// The hand-off: queue, worker, completion, withdrawal, join.

namespace handoff {

enum { kPending = 0, kSleeping = 1, kDone = 2 };  // completion::state_ (task_node.hpp)
enum { running = 0, draining = 1, closed = 2 };    // mailbox::phase (core.hpp)
enum { kSpin = 2 };  // spin_until's iterations (wait.hpp), kept short for the search

static bool g_parking_lot = false;  // which wait primitive (src/wait_futex.cpp, wait_parking_lot.cpp) to mirror
static unsigned long g_lock_sleeps = 0;  // ghost: times a thread really slept in spin_lock
// Ghost statistics of the rendezvous tests: how often each branch was taken.
enum { P_INLINE, P_AWAITER_FIRST, P_FIN_SAW_SUSPENDED, P_ON_THREAD, P_FIN_CAS_FAILED, P_WAITING,
       P_WAIT_SLEPT, P_WAIT_CAS_FAILED, P_COUNT };
static unsigned long g_paths[P_COUNT];
static char const* const kPathNames[P_COUNT] = {
    "inline", "awaiter-cas-first", "finisher-saw-suspended", "on-thread", "finisher-cas-failed",
    "finisher-waiting", "waiter-slept", "waiting-cas-failed"};

// task_node (task_node.hpp) + submit_record<F> (the only kind of node in this test).
struct record {
  rl::var<record*> next;   // task_node::next   (queue lock)
  rl::var<record*> prev;   // task_node::prev   (queue lock)
  rl::var<bool> queued;    // task_node::queued (queue lock)
  rl::var<int> invoke;     // task_node::invoke: read by the worker before running
  rl::atomic<int> state;  // completion::state_
  rl::var<rl::var<int>*> f;  // submit_record::f: the callable in the caller's frame
  rl::var<int> result;     // submit_record::result (result_slot)
  int id;                  // ghost: which call this is (not part of the record's memory)
  record() : next(0), prev(0), queued(false), invoke(1), state(kPending), f(0), result(0), id(-1) {}
};

// One bucket of the portable parking lot (src/wait_futex.cpp, wait_parking_lot.cpp, "Elsewhere"): every address
// hashes to it, the worst case for stale wake-ups.
struct bucket {
  rl::mutex mutex;
  rl::condition_variable cv;
};


// ---- src/wait_futex.cpp, wait_parking_lot.cpp -------------------------------------------------------------------
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

  // wake_all(address) / wake_one(address): the address is a key only.  With futexes
  // Relacy needs the atomic object itself (the kernel only hashes the address).
  void wake_one(rl::atomic<int>* address) {
    if (!g_parking_lot) {
      rl::rl_futex(address, rl::RL_FUTEX_WAKE, 1, 0, 0, 0, $);  // FUTEX_WAKE_PRIVATE, 1
      return;
    }
    wake_all(address);  // src/wait_futex.cpp, wait_parking_lot.cpp: the buckets are shared, so wake_one is wake_all
  }
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

// ---- completion (task_node.hpp) ----------------------------------------------------------
struct completion_ops {
  waits& w;
  explicit completion_ops(waits& w_) : w(w_) {}

  // completion::signal: the worker's last touch of the record.
  void signal(record* r) {
    rl::atomic<int>* const key = &r->state;  // computed before the exchange
    if (r->state.exchange((int)kDone, order(W_SIGNAL_EXCHANGE, rl::mo_release), $) == kSleeping)
      w.wake_all(key);  // the address as a key only
  }

  // completion::done
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

// ---- spin_lock (include/ste/detail/spin_lock.hpp): the queue lock ----------------------
// A three-state lock: a CAS fast path, a bounded spin, then sleeping on the lock word
// (wait_on / wake_one of src/wait_futex.cpp, wait_parking_lot.cpp: the futex, or the parking lot) as kSleepers.
enum { kFree = 0, kHeld = 1, kSleepers = 2 };  // spin_lock::kFree / kHeld / kSleepers
// kPauses + kYields (128 + 16 in the code): each iteration only re-reads the word, so
// fewer iterations are a subset of the code's interleavings; 2 keeps the sleeping path
// (which is what needs checking) frequent in the random schedules.
enum { kLockSpins = 2 };

static rl::memory_order lock_sleep_order() {
  return g_weak == W_LOCK_ACQUIRE || g_weak == W_LOCK_SLEEP_ACQUIRE ? rl::mo_relaxed
                                                                    : rl::mo_acquire;
}

struct spin_lock {
  rl::atomic<int> state;  // spin_lock::state_
  waits* w;               // the wait primitive (src/wait_futex.cpp, wait_parking_lot.cpp)
  explicit spin_lock(waits* w_) : state(kFree), w(w_) {}
  // spin_lock::lock
  void lock(rl::debug_info_param) {
    int expected = kFree;
    if (state.compare_exchange_strong(expected, (int)kHeld, order(W_LOCK_ACQUIRE, rl::mo_acquire), $))
      return;
    lock_contended();
  }
  // spin_lock::lock_contended
  void lock_contended() {
    for (int spins = 0; spins < kLockSpins; ++spins) {
      if (state.load(rl::mo_relaxed, $) == kFree) {
        int expected = kFree;
        if (state.compare_exchange_strong(expected, (int)kHeld, order(W_LOCK_ACQUIRE, rl::mo_acquire), $))
          return;
      }
      rl::yield(1, $);  // cpu_relax() / std::this_thread::yield()
    }
    // while (state_.exchange(kSleepers, acquire) != kFree) wait_on(state_, kSleepers);
    while (state.exchange((int)kSleepers, lock_sleep_order(), $) != kFree)
      if (w->wait_on(state, kSleepers)) ++g_lock_sleeps;
  }
  // spin_lock::unlock
  void unlock(rl::debug_info_param) {
    if (g_weak == B_LOCK_NO_WAKE) {  // BUG: frees the lock, never wakes a sleeper
      state.store((int)kFree, rl::mo_release, $);
      return;
    }
    // if (state_.exchange(kFree, release) == kSleepers) wake_one(&state_);
    if (state.exchange((int)kFree, order(W_LOCK_RELEASE, rl::mo_release), $) == kSleepers) w->wake_one(&state);
  }
};

// ---- core (core.hpp / src/mailbox.cpp, src/worker.cpp) ------------------------------------------------------
struct core {
  waits w;                         // (declared first: the lock sleeps through it)
  spin_lock queue_mutex;           // mailbox::lock_ (a spin_lock)
  rl::var<int> queued_count;       // mailbox::queue_.size()
  rl::var<record*> head, tail;      // mailbox::queue_ / tail_
  rl::var<int> phase;               // mailbox::phase_
  rl::var<bool> worker_sleeping;    // mailbox::worker_sleeping_
  rl::atomic<bool> has_work;       // mailbox::has_work_ (relaxed)
  rl::atomic<int> wake_word;       // mailbox::wake_word_ (relaxed, under the lock)
  rl::var<int> pending_returns;     // comebacks::pending_ (0 in the handoff tests)
  completion_ops c;
  core() : queue_mutex(&w), queued_count(0), head(0), tail(0), phase(running), worker_sleeping(false),
           has_work(false), wake_word(0), pending_returns(0), c(w) {}

  // mailbox::wake_key_locked (lock held; unlocks)
  void wake_key_locked() {
    if (!worker_sleeping($)) {
      queue_mutex.unlock($);
      return;
    }
    worker_sleeping($) = false;
    wake_word.fetch_add(1, rl::mo_relaxed, $);
    queue_mutex.unlock($);
    w.wake_all(&wake_word);  // wake_one(&wake_word_): the worker is the only waiter
  }

  // mailbox::link_locked
  void link_locked(record* n) {
    n->next($) = 0;
    n->prev($) = tail($);
    n->queued($) = true;
    if (tail($) != 0)
      tail($)->next($) = n;
    else
      head($) = n;
    tail($) = n;
    queued_count($) = queued_count($) + 1;
    has_work.store(true, rl::mo_relaxed, $);
  }

  // mailbox::link_task: -1 = stopped_error (callers here are plain threads), else how many
  // tasks were queued ahead
  int accept(record* n) {
    queue_mutex.lock($);
    if (phase($) != running) {
      queue_mutex.unlock($);
      return -1;
    }
    int const ahead = queued_count($);
    link_locked(n);
    wake_key_locked();
    return ahead;
  }

  // mailbox::withdraw
  bool withdraw(record* n) {
    queue_mutex.lock($);
    if (!n->queued($)) {
      queue_mutex.unlock($);
      return false;
    }
    record* const p = n->prev($);
    record* const x = n->next($);
    if (p != 0) p->next($) = x; else head($) = x;
    if (x != 0) x->prev($) = p; else tail($) = p;
    n->queued($) = false;
    queued_count($) = queued_count($) - 1;
    has_work.store(head($) != 0, rl::mo_relaxed, $);
    queue_mutex.unlock($);
    return true;
  }

  // mailbox::try_announce_comeback, called on the thread itself (open while draining)
  bool try_announce_comeback() {
    queue_mutex.lock($);
    bool const open = phase($) != closed;  // running || (draining && is_current())
    if (open) pending_returns($) = pending_returns($) + 1;
    queue_mutex.unlock($);
    return open;
  }

  // mailbox::withdraw_comeback (without a record)
  void withdraw_comeback() {
    queue_mutex.lock($);
    pending_returns($) = pending_returns($) - 1;
    has_work.store(true, rl::mo_relaxed, $);
    wake_key_locked();
  }

  // mailbox::link_comeback(n, /*announced=*/true) (without a record): never refused
  void link_comeback(record* n) {
    queue_mutex.lock($);
    RL_ASSERT(phase($) != closed);  // an announced return keeps the thread open
    pending_returns($) = pending_returns($) - 1;
    link_locked(n);
    wake_key_locked();
  }

  // mailbox::stop_accepting (join)
  void stop_accepting() {
    queue_mutex.lock($);
    if (phase($) == running) phase($) = draining;
    has_work.store(true, rl::mo_relaxed, $);
    wake_key_locked();
  }

  // core::next_task(nullptr) without timers and bound values
  record* next_task(bool& draining_seen) {
    queue_mutex.lock($);
    for (;;) {
      if (phase($) != running) draining_seen = true;
      if (record* n = head($)) {
        head($) = n->next($);
        if (head($) != 0) head($)->prev($) = 0; else tail($) = 0;
        n->queued($) = false;
        queued_count($) = queued_count($) - 1;
        has_work.store(head($) != 0, rl::mo_relaxed, $);
        queue_mutex.unlock($);
        return n;
      }
      if (draining_seen && pending_returns($) == 0) {
        queue_mutex.unlock($);
        // destroy_bound_values(): see the bound test
        queue_mutex.lock($);
        if (head($) != 0 || pending_returns($) != 0) continue;
        phase($) = closed;
        queue_mutex.unlock($);
        return 0;
      }
      has_work.store(false, rl::mo_relaxed, $);
      queue_mutex.unlock($);
      bool more = false;
      for (int i = 0; i < kSpin && !more; ++i) more = has_work.load(rl::mo_relaxed, $);
      queue_mutex.lock($);
      if (more || head($) != 0 || (phase($) != running && !draining_seen)) continue;
      worker_sleeping($) = true;
      int seen = 0;
      if (g_weak != B_WAKE_WORD_LATE) seen = wake_word.load(rl::mo_relaxed, $);
      queue_mutex.unlock($);
      if (g_weak == B_WAKE_WORD_LATE) seen = wake_word.load(rl::mo_relaxed, $);  // BUG
      w.wait_on(wake_word, seen);
      queue_mutex.lock($);
      worker_sleeping($) = false;
    }
  }
};

enum { kCalls = 4 };  // 0: A's submit, 1: A's submit_for, 2: B's submit, 3: B's submit_for
enum { kNone = 0, kValue = 1, kTimeout = 2, kStopped = 3 };  // how a call returned

struct handoff_test : rl::test_suite<handoff_test, 4> {
  core c;
  // The callers' frames: the callable's data (f refers to the caller's local `input`)
  // and the record, for each call.  Kept in the test object so that a late touch reads
  // a destroyed object (caught), not memory Relacy reclaimed.
  struct frame {
    alignas(rl::var<int>) unsigned char input_buf[sizeof(rl::var<int>)];
    alignas(record) unsigned char record_buf[sizeof(record)];
    rl::var<int>* input;
    record* rec;
  } frames[kCalls];
  // Ghost bookkeeping (plain ints: Relacy runs one fiber at a time).
  int ran[kCalls];
  int outcome[kCalls];
  bool worker_done;

  void before() {
    for (int i = 0; i < kCalls; ++i) ran[i] = outcome[i] = 0, frames[i].rec = 0, frames[i].input = 0;
    worker_done = false;
  }

  void after() {
    RL_ASSERT(worker_done);
    for (int i = 0; i < kCalls; ++i) {
      RL_ASSERT(outcome[i] != kNone);                    // every call returned
      if (outcome[i] == kValue) RL_ASSERT(ran[i] == 1);  // ran exactly once
      else RL_ASSERT(ran[i] == 0);                       // withdrawn / refused: never ran
      if (!g_parking_lot) {                              // futex flavour: frames die now
        frames[i].rec->~record();
        frames[i].input->~var();
      }
    }
  }

  // ---- the worker: core::run ---------------------------------------------------------
  void worker() {
    bool draining_seen = false;                   // core::draining_seen_
    while (record* n = c.next_task(draining_seen)) {
      // core::run_one -> n->invoke(n) -> submit_record::run
      RL_ASSERT(n->invoke($) == 1);               // reads n->invoke
      rl::var<int>* const in = n->f($);           // self->f: the caller's callable
      int const id = n->id;
      int const v = (*in)($);                     // f reads the caller's local by reference
      RL_ASSERT(ran[id] == 0);
      ++ran[id];
      n->result($) = v * 10 + 7;                  // result_slot::run: value_.emplace(...)
      c.c.signal(n);                              // the last touch of *n
      // Relacy switches threads only at synchronisation operations; the OS may preempt
      // the worker anywhere, in particular here, so give the caller its chance to
      // return (and its frame to die) before the worker goes on.
      rl::yield(1, $);
      if (g_weak == B_TOUCH_AFTER_SIGNAL) RL_ASSERT(n->result($) != 12345);  // BUG: a touch after it
    }
    // core::run after the loop: drained and closed
    c.queue_mutex.lock($);
    RL_ASSERT(c.head($) == 0 && c.phase($) == closed && c.queued_count($) == 0);
    c.queue_mutex.unlock($);
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
    int const ahead = c.accept(r);
    if (ahead < 0) {                                       // stopped_error: never ran
      outcome[id] = kStopped;
    } else if (!timed) {                                   // core::submit_and_wait
      c.c.wait(r, ahead);                                  // n.done.wait(accept(n))
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
      (*fr.input)($) = -1;
    }
  }

  void thread(unsigned index) {
    switch (index) {
      case 0: worker(); break;
      case 1: call(0, false); call(1, true); break;
      case 2: call(2, false); call(3, true); break;
      case 3: c.stop_accepting(); break;                   // core::join -> stop_accepting
    }
  }
};

}  // namespace handoff

// --------------------------------------------------------------------------------------
// The task<T> rendezvous (include/ste/task.hpp: promise_base::start_awaited and
// finish_awaited).  An awaiter on thread A starts the task (`co_await task`); the task
// suspends inside A's resume() and goes to another thread, where it finishes:
//   rendezvous-ste    a ste thread B (`co_await B.schedule()`): B's queue, spin_lock,
//                     comebacks_.pending_ (try_announce_comeback / withdraw_comeback /
//                     link_comeback), its worker loop, and a join of B racing it all (the
//                     schedule may then be refused: the task finishes inline on A).
//   rendezvous-plain  a plain thread P (the task awaited something P completes): P
//                     sleeps until the awaiter has suspended.
// -parkinglot: the same with the portable parking lot (the frame is really freed).
// The resumed awaiter destroys the task frame at once (~task), so any access to the
// promise not ordered before it is a data race (or, freed, an access to freed memory).

namespace rendezvous {

using handoff::core;
using handoff::record;
using handoff::waits;
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
// Gives the other threads up to n-1 turns (a preemption point Relacy would not see).
static void preempt(int n) {
  for (int i = (int)rl::rand(n); i != 0; --i) rl::yield(1, $);
}

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
      if (c.accept(&r.fr->start) < 0) {
        // stopped_error (B is being joined), rethrown in the task: it ends here, inside
        // resume(): unhandled_exception stores it, final_awaiter -> finish_awaited
        r.fr->value($) = kError;
        r.finish_inline(kThreadA);
      }
      r.after_resume();  // resume() returned
    } else if (index == 1) {
      // Thread B's worker: core::run
      bool draining_seen = false;
      while (record* n = c.next_task(draining_seen)) {
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
      c.queue_mutex.lock($);
      RL_ASSERT(c.head($) == 0 && c.pending_returns($) == 0 && c.phase($) == handoff::closed);
      c.queue_mutex.unlock($);
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
  std::printf("RESULT %s %s %s iterations=%lu lock_sleeps=%lu", test, kWeakNames[g_weak],
              kind.c_str(), ok ? (unsigned long)iterations : (unsigned long)p.stop_iteration,
              handoff::g_lock_sleeps);
  if (std::strncmp(test, "rendezvous", 10) == 0)
    for (int i = 0; i < handoff::P_COUNT; ++i)
      std::printf(" %s=%lu", handoff::kPathNames[i], handoff::g_paths[i]);
  std::printf("\n");
  return ok ? 0 : 1;
}

int main(int argc, char** argv) {
  if (argc < 3) {
    std::fprintf(stderr, "usage: %s handoff-futex|handoff-parkinglot|bound|rendezvous-ste[-parkinglot]|"
                 "rendezvous-plain[-parkinglot] <iterations> [weakening]\n",
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
      std::fprintf(stderr, "unknown weakening %s\n", argv[3]);
      return 2;
    }
  }
  if (test == "handoff-futex") {
    handoff::g_parking_lot = false;
    return run<handoff::handoff_test>(argv[1], iterations);
  }
  if (test == "handoff-parkinglot") {
    handoff::g_parking_lot = true;
    return run<handoff::handoff_test>(argv[1], iterations);
  }
  if (test == "bound") return run<boundt::bound_test>(argv[1], iterations);
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
