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
//   tests:    handoff-futex, handoff-parkinglot, bound
//   variants: none (default) or one of the names in kWeakNames below.
// Prints "RESULT <test> <variant> <SUCCESS|what Relacy found> iterations=<n>" (n: the
// schedules run, or the one that failed).  Exit status 0 when Relacy found nothing, 1
// when it found an error, 2 on bad usage.  Relacy's report goes to stderr.
//
// What each test mirrors:
//   handoff-*  core::accept / core::withdraw / core::next_task / core::stop_accepting /
//              core::wake_worker_locked / core::link_locked (src/core.cpp), the queue's
//              spin_lock (spin_lock.hpp), submit_record::run and completion
//              (task_node.hpp), core::submit_and_wait[_until] (src/core.cpp, core.hpp),
//              wait_on / wait_on_for / wake_all (src/wait.cpp): 4 threads — the worker,
//              caller A (submit, then submit_for), caller B (submit, then submit_for) and
//              a joiner racing them.  Timers, returns and bound values are left out.
//              -futex:      futex waits (the Linux path).  Relacy's futex wake needs the
//                           atomic object itself, so records are not destroyed; when its
//                           caller returns, the frame is "re-used" (overwritten), and a
//                           late touch by the worker races with that.
//              -parkinglot: the portable parking lot of src/wait.cpp (mutex + condvar
//                           buckets; a waker touches the bucket, never the word), so each
//                           record really is destroyed when its caller returns: a later
//                           touch is a race or "ACCESS TO FREED MEMORY".
//   bound      bound<T>::box::destroy_value / release (include/ste/bound.hpp),
//              core::destroy_bound_values (src/core.cpp), bound<T>::operator bool and
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
  W_PARKING_LOAD,     // src/wait.cpp parking lot wait_on: word.load(acquire)
  W_ALIVE_STORE,      // bound<T>::box::destroy_value: alive.store(false, release)
  W_ALIVE_LOAD,       // bound<T>::operator bool: alive.load(acquire)
  W_OWNERS_RELAXED,   // bound<T>::box::release: owners.fetch_sub(1, acq_rel) -> relaxed
  W_OWNERS_NO_RELEASE,  // ... -> acquire
  W_OWNERS_NO_ACQUIRE,  // ... -> release
  W_LOCK_ACQUIRE,     // spin_lock::lock: locked_.exchange(true, acquire)
  W_LOCK_RELEASE,     // spin_lock::unlock: locked_.store(false, release)
  // Seeded protocol bugs (not orders), to show the harness can see them at all:
  B_TOUCH_AFTER_SIGNAL,  // the worker reads the result slot after the exchange
  B_WAKE_WORD_LATE,      // next_task reads wake_word_ after unlocking
  B_NO_ANNOUNCE,         // park_for sleeps on kPending without the CAS to kSleeping
  W_COUNT
};

static char const* const kWeakNames[W_COUNT] = {
    "none",         "signal-exchange", "done-load",        "cas-failure",
    "cas-success",  "parking-load",    "alive-store",      "alive-load",
    "owners-relaxed", "owners-no-release", "owners-no-acquire", "lock-acquire", "lock-release",
    "bug-touch-after-signal", "bug-wake-word-late", "bug-no-announce"};

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
enum { running = 0, draining = 1, closed = 2 };    // core::phase (core.hpp)
enum { kSpin = 2 };  // spin_until's iterations (wait.hpp), kept short for the search

static bool g_parking_lot = false;  // which wait primitive (src/wait.cpp) to mirror

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

// One bucket of the portable parking lot (src/wait.cpp, "Elsewhere"): every address
// hashes to it, the worst case for stale wake-ups.
struct bucket {
  rl::mutex mutex;
  rl::condition_variable cv;
};


// ---- src/wait.cpp -------------------------------------------------------------------
struct waits {
  bucket lot;

  // wait_on(word, expected): blocks while word == expected; may return spuriously.
  void wait_on(rl::atomic<int>& word, int expected) {
    if (!g_parking_lot) {
      rl::rl_futex(&word, rl::RL_FUTEX_WAIT, expected, 0, 0, 0, $);  // FUTEX_WAIT_PRIVATE
      return;
    }
    lot.mutex.lock($);  // std::unique_lock lock(b.mutex)
    if (word.load(order(W_PARKING_LOAD, rl::mo_acquire), $) == expected) lot.cv.wait(lot.mutex, $);
    lot.mutex.unlock($);
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
struct spin_lock {
  rl::atomic<bool> locked;
  spin_lock() : locked(false) {}
  void lock(rl::debug_info_param) {
    for (;;) {
      if (!locked.exchange(true, order(W_LOCK_ACQUIRE, rl::mo_acquire), $)) return;
      while (locked.load(rl::mo_relaxed, $)) rl::yield(1, $);  // cpu_relax / yield
    }
  }
  void unlock(rl::debug_info_param) { locked.store(false, order(W_LOCK_RELEASE, rl::mo_release), $); }
};

// ---- core (core.hpp / src/core.cpp) ------------------------------------------------------
struct core {
  spin_lock queue_mutex;           // core::queue_mutex_ (a spin_lock)
  rl::var<int> queued_count;       // core::queued_count_
  rl::var<record*> head, tail;      // core::head_ / tail_
  rl::var<int> phase;               // core::phase_
  rl::var<bool> worker_sleeping;    // core::worker_sleeping_
  rl::atomic<bool> has_work;       // core::has_work_ (relaxed)
  rl::atomic<int> wake_word;       // core::wake_word_ (relaxed, under the lock)
  waits w;
  completion_ops c;
  core() : queued_count(0), head(0), tail(0), phase(running), worker_sleeping(false), has_work(false),
           wake_word(0), c(w) {}

  // core::wake_worker_locked (lock held; unlocks)
  void wake_worker_locked() {
    if (!worker_sleeping($)) {
      queue_mutex.unlock($);
      return;
    }
    worker_sleeping($) = false;
    wake_word.fetch_add(1, rl::mo_relaxed, $);
    queue_mutex.unlock($);
    w.wake_all(&wake_word);  // wake_one(&wake_word_): the worker is the only waiter
  }

  // core::link_locked
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

  // core::accept: -1 = stopped_error (callers here are plain threads), else how many
  // tasks were queued ahead
  int accept(record* n) {
    queue_mutex.lock($);
    if (phase($) != running) {
      queue_mutex.unlock($);
      return -1;
    }
    int const ahead = queued_count($);
    link_locked(n);
    wake_worker_locked();
    return ahead;
  }

  // core::withdraw
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

  // core::stop_accepting (join)
  void stop_accepting() {
    queue_mutex.lock($);
    if (phase($) == running) phase($) = draining;
    has_work.store(true, rl::mo_relaxed, $);
    wake_worker_locked();
  }

  // core::next_task(nullptr) without timers, returns and bound values
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
      if (draining_seen) {
        queue_mutex.unlock($);
        // destroy_bound_values(): see the bound test
        queue_mutex.lock($);
        if (head($) != 0) continue;
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
      // The worker, in core::destroy_bound_values (join): unregister, destroy, release.
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
  std::printf("RESULT %s %s %s iterations=%lu\n", test, kWeakNames[g_weak], kind.c_str(),
              ok ? (unsigned long)iterations : (unsigned long)p.stop_iteration);
  return ok ? 0 : 1;
}

int main(int argc, char** argv) {
  if (argc < 3) {
    std::fprintf(stderr, "usage: %s handoff-futex|handoff-parkinglot|bound <iterations> [weakening]\n",
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
  std::fprintf(stderr, "unknown test %s\n", argv[1]);
  return 2;
}
