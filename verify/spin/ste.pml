/* SPDX-License-Identifier: MIT */
/*
 * ste.pml — a Spin (Promela) model of ste's hand-off protocol, as built.
 * Run it with verify/run (which also runs the seeded bugs); see verify/README.md.
 *
 * What is modelled (each step names the C++ it stands for, as file:function):
 *   - NS submitter threads (plain threads), each making NK blocking hand-offs one after
 *     the other, the task record in the submitter's stack frame.  Each hand-off is
 *     thread::submit or, when TIMED, nondeterministically thread::submit_for (its
 *     deadline may pass at any moment).
 *   - the worker thread: core::run / core::next_task / core::run_one /
 *     submit_record::run / completion::signal, with its idle protocol (has_work_ spin,
 *     then worker_sleeping_ + wake_word_ futex).
 *   - one joiner racing everything: core::join -> mailbox::stop_accepting, then joining
 *     the OS thread.
 *   - optionally RETURNS coroutine returns: a task on the worker announces one with
 *     core::announce_comeback (submit_async_awaiter::await_suspend), another thread comes
 *     back with mailbox::link_comeback(n, true) (submit_async_awaiter::done): the
 *     comebacks_.pending_ counter that keeps the thread from closing.
 *   - futexes (src/wait_futex.cpp, wait_parking_lot.cpp): wait_on(word, expected) blocks while word == expected
 *     (compare and sleep are one atomic step, as in the kernel); wake_one/wake_all take
 *     an ADDRESS (a key) and never touch the record.  Every untimed futex wait may also
 *     return spuriously (EINTR, or a stale wake of a re-used stack address), SPUR times
 *     in total; timed waits may time out at any moment.
 *
 * Record lifetime.  A submitter has one stack slot, re-used by each of its hand-offs (as
 * the real frame would be).  live[s]/gen[s] say which record (generation) the slot holds
 * right now; the record dies when the submitter "returns" (value, exception,
 * stopped_error or timeout_error).  Every read or write of a record by anyone other than
 * its owner -- the worker, and other submitters unlinking neighbours -- is ACCESS(r): an
 * assertion that record r is still the live one in its slot.  The futex wake after
 * signal() is not an access (the kernel hashes the address); it wakes whatever sleeps on
 * that slot now (maybe a later record: a spurious wake-up for it).
 *
 * Properties checked (all safety properties; Spin's default search):
 *   P1 exactly once : an accepted task runs exactly once; a withdrawn or refused one
 *                     never (assertions on ran[] in the worker and at each return).
 *   P2 no late touch: nobody reads or writes a record after its submitter returned
 *                     (ACCESS assertions).
 *   P3 no lost wake : no invalid end state: no thread sleeps forever, every submitter
 *                     returns, join() returns (Spin's deadlock check; spurious wake-ups
 *                     are bounded by SPUR so that they cannot hide a lost wake-up).
 *   P4 join drains  : when the worker exits the queue is empty, the thread is closed,
 *                     and every linked return ran (asserts at worker exit and in init).
 *   P5 result       : a submitter that returns normally sees its result written.
 *   P6 deadline     : a timed task never starts once its deadline has passed (the ghost
 *                     expired[s] says the deadline of the record in slot s has passed;
 *                     time only moves forward, so it is never cleared for that record).
 *
 * Abstractions (each sound for these properties; the argument is next to the code):
 *   - mailbox::lock_ (a spin_lock) sections are d_step blocks that take `mtx`.  Inside a
 *     section everything is guarded by the lock except has_work_ (read only by the
 *     worker's spin) and wake_word_ (bumped only while the worker announced it sleeps,
 *     i.e. does not spin), so a lock-free observer sees at most one of them change in
 *     any one section, which the atomic step also allows.  ACCESS assertions inside a
 *     section stay sound because a record's death is monotone.
 *     The spin_lock is now a three-state lock (spin_lock.hpp: kFree/kHeld/kSleepers; a
 *     CAS fast path, a bounded spin, then a futex sleep on the lock word, woken by
 *     unlock()).  The abstraction stays valid: the lock is still mutual exclusion, a
 *     waiter may be overtaken by any other (the guard `mtx == 0` lets any process take
 *     it), the holder never sleeps, and its word lives in the core, not in a record, so
 *     unlock()'s wake_one(&state_) (a key only) is no record access.  That a sleeper
 *     is always woken (no lost wake-up inside the lock) and the lock's acquire/release
 *     orders are Relacy's job (verify/relacy: the spin_lock there mirrors every path,
 *     including the sleeping one, and bug-lock-no-wake must deadlock).
 *   - Spin explores sequentially consistent executions.  Where the C++ uses relaxed or
 *     acquire loads whose stale values matter (the has_work_ hint, done() before a
 *     withdrawal) the model lets the load return the older value too.  The memory
 *     orders themselves are Relacy's job (verify/relacy).
 *   - Purely local steps and reads that commute (a futex wait returning, a spin's
 *     repeated reads that the next CAS repeats) are merged into the next visible step.
 *   - DEADLINE=0 (the largest configurations only): the worker starts every record it
 *     unlinks.  Expiring a timed record instead is the same protocol step as running it
 *     with an empty f -- the same exchange(kDone, release), the same last touch, the
 *     same wake -- so P1-P5 carry over; the deadline decision itself (P6) is checked
 *     exhaustively in every configuration built with DEADLINE=1.
 * Not modelled: timers (sleep_for), post(), bound<T> values (destroy_bound_values is a
 * no-op here; see the Relacy bound test), deadlock edges, block_on's nested loop, the
 * inline path of a submit on the thread itself, join_mutex_ (one joiner).
 *
 * Seeded bugs (each must make Spin fail; see verify/run): compile with -DBUG_...
 *   BUG_TOUCH_AFTER_SIGNAL        worker reads the record after the exchange        -> P2
 *   BUG_SIGNAL_BEFORE_RESULT      exchange(kDone) before the result is stored        -> P5/P2
 *   BUG_WITHDRAW_NO_QUEUED_CHECK  withdraw() unlinks without looking at `queued`     -> P1/P2
 *   BUG_POP_KEEPS_QUEUED          next_task() does not clear `queued` when it starts -> P1/P2
 *   BUG_SLEEP_NO_RECHECK          worker trusts the has_work_ spin, sleeps without
 *                                 re-checking the queue under the lock               -> P3
 *   BUG_WAKE_WORD_READ_LATE       worker reads wake_word_ after unlocking            -> P3
 *   BUG_CALLER_NO_ANNOUNCE        caller sleeps on kPending without the CAS to
 *                                 kSleeping (worker then never wakes it)             -> P3
 *   BUG_JOIN_NO_WAKE              stop_accepting() does not wake a sleeping worker  -> P3
 *   BUG_CLOSE_EARLY               worker closes once draining, before the queue is
 *                                 empty ("join closes before draining")              -> P4
 *   BUG_ACCEPT_PHASE_OUTSIDE_LOCK accept() checks the phase, unlocks, then links     -> P4/P3
 *   BUG_CLOSE_IGNORES_RETURNS     worker closes with returns still announced
 *                                 (needs RETURNS >= 1)                               -> P4/P1
 *   BUG_CANCEL_NO_HAS_WORK        withdraw_comeback() without `has_work_ = true` (the code
 *                                 before the first W1 change; with CANCEL_OFF_THREAD) -> P3
 *   BUG_RECHECK_NO_HAS_WORK       next_task's re-check under the lock ignores has_work_
 *                                 (the code before the W1 fix: `if (more || head_ !=
 *                                 nullptr || ...)`; use with CANCEL_OFF_THREAD)    -> P3
 *   BUG_WORKER_NO_DEADLINE_CHECK  the worker starts a timed record it unlinked without
 *                                 looking at its deadline (the code before the deadline
 *                                 check: a withdrawal that lost the race to the worker
 *                                 let f start after its deadline)                 -> P6
 *   BUG_EXPIRED_AS_VALUE          the submitter of a record the worker expired
 *                                 returns normally instead of timeout_error         -> P5
 * Variant (the code as it is, called differently):
 *   CANCEL_OFF_THREAD             mailbox::withdraw_comeback() from another thread while the
 *                                 worker drains (W1 in the README: a lost wake-up until
 *                                 next_task re-read has_work_ under the lock).  Today
 *                                 every caller runs on the thread; checked anyway.
 */

#ifndef NS
#define NS 3          /* submitter threads */
#endif
#ifndef NK
#define NK 2          /* hand-offs per submitter */
#endif
#ifndef TIMED
#define TIMED 1       /* 1: each hand-off is submit or submit_for (nondeterministic) */
#endif
#ifndef SPUR
#define SPUR 1        /* spurious futex wake-ups allowed in one run, in total */
#endif
#ifndef RETURNS
#define RETURNS 0     /* coroutine returns (announce_comeback/link_comeback/withdraw_comeback) */
#endif
#ifndef DEADLINE
#define DEADLINE 1    /* 1: model the deadline decision (P6); 0: a timed record is started
                       * like any other (see "Abstractions": used where the state space
                       * would not fit, as in 3x2-timed) */
#endif

#define NR (NS * NK)          /* submit records: id r = s * NK + k */
#define NT (NR + RETURNS)     /* all nodes: return nodes are NR .. NT-1 */
#define NONE 255

/* completion::state_ (include/ste/detail/task_node.hpp) */
#define kPending  0
#define kSleeping 1
#define kDone     2

/* mailbox::phase (include/ste/detail/core.hpp) */
#define RUNNING  0
#define DRAINING 1
#define CLOSED   2

/* what next_task decided (worker-local) */
#define A_RUN     1
#define A_DRAINED 2
#define A_IDLE    3
#define A_SLEEP   4
#define A_EXIT    5
#define A_SIGNALLED 7
#define A_RAN     8

/* ---- core, guarded by mailbox::lock_ -------------------------------------------- */
bit  mtx;                 /* mailbox::lock_ */
byte q[NT];               /* head_/tail_/next/prev: the FIFO, q[0] is head_ */
byte qlen;
byte phase = RUNNING;     /* mailbox::phase_ */
bit  wsleep;              /* mailbox::worker_sleeping_ */
byte ww;                  /* mailbox::wake_word_ (relaxed atomic; mutex-ordered) */
bit  has_work;            /* mailbox::has_work_ (relaxed atomic hint) */
byte pret;                /* comebacks::pending_ */

/* ---- futex wait queues (kernel state, keyed by address) ---------------------------- */
bit  wwait;               /* the worker sleeps in wait_on(wake_word_, seen) */
bit  swait[NS];           /* submitter s sleeps in wait_on(its record's state_, kSleeping) */
byte spur = SPUR;         /* spurious wake-ups left */

/* ---- the submitters' stack slots: the record currently in each frame --------------- */
bit  live[NS];            /* the slot holds a live record ... */
byte gen[NS];             /* ... of this generation (k) */
byte cs[NS];              /* completion::state_ of that record */
bit  queued[NS];          /* task_node::queued of that record (guarded by the mutex) */
bit  result[NS];          /* result_slot written */
bit  tmd[NS];             /* the record has a deadline (submit_for: task_node::expired set) */
bit  wexp[NS];            /* the worker expired it instead of starting it (timed_record) */
bit  expired[NS];         /* ghost: that record's deadline has passed (monotone) */
bit  rlive[RETURNS + 1];  /* the coroutine frame holding return node NR+i is live */
byte rbegun;              /* returns announced so far (announce_comeback) */

/* ---- ghost bookkeeping ------------------------------------------------------------- */
bit  ran[NS];             /* the worker invoked the record now in slot s (reset per record) */
bit  racc[RETURNS + 1];   /* return node NR+i was linked by link_comeback */
bit  rran[RETURNS + 1];   /* ... and invoked by the worker */
bit  worker_exited;       /* core::run returned (postlude ran; the OS thread ends) */
bit  joined;              /* core::join returned */
byte finished;            /* submitters and joiner that have finished */

#define VALID(r) (((r) < NR) -> (live[(r) / NK] && gen[(r) / NK] == (r) % NK) : rlive[(r) - NR])
#define ACCESS(r) assert(VALID(r))   /* P2: the record is still its submitter's */

/* mailbox::link_locked (src/mailbox.cpp, src/worker.cpp), lock held */
inline LINK(r) {
  if
  :: qlen > 0 -> ACCESS(q[qlen - 1])       /* tail_->next = &n writes the old tail record */
  :: else -> skip
  fi;
  q[qlen] = r; qlen++;                     /* n.prev = tail_; tail_ = &n (head_ if empty) */
  if
  :: r < NR -> queued[r / NK] = 1          /* n.queued = true */
  :: else -> skip
  fi;
  if
  :: r >= NR -> racc[r - NR] = 1
  :: else -> skip
  fi;
  has_work = 1                             /* has_work_.store(true, relaxed) */
}

/* mailbox::wake_key_locked (src/mailbox.cpp, src/worker.cpp), lock held; releases it.  The caller then
 * does wake_one(&wake_word_) outside the atomic block when wk == 1. */
inline WAKE_LOCKED(wk) {
  if
  :: wsleep -> wsleep = 0; ww++; wk = 1    /* worker_sleeping_ = false; fetch_add(1) */
  :: else -> wk = 0
  fi;
  mtx = 0                                  /* lock.unlock() */
}

/* wake_one(&wake_word_) (src/wait_futex.cpp, wait_parking_lot.cpp): FUTEX_WAKE on the core's word; the worker is its
 * only waiter. */
#define WAKE_WORKER  wwait = 0

/* core::next_task (src/mailbox.cpp, src/worker.cpp): one pass of the `for (;;)` body from its top, lock
 * held; decides, releases the lock (every branch ends in an unlock). */
inline TOP() {
  if                                               /* if (phase_ != running) draining_seen_ = true */
  :: phase != RUNNING -> dseen = 1
  :: else -> skip
  fi;
  /* (timers_ are not modelled: always empty) */
  if
#ifdef BUG_CLOSE_EARLY
  :: dseen && pret == 0 -> mtx = 0; act = A_DRAINED          /* BUG: closes before draining */
  :: !(dseen && pret == 0) && qlen > 0 ->
#else
  :: qlen > 0 ->                                             /* if (task_node* n = head_) */
#endif
     n = q[0];
     ACCESS(n);                                              /* head_ = n->next */
     if
     :: qlen > 1 -> ACCESS(q[1])                             /* head_->prev = nullptr */
     :: else -> skip
     fi;
     i = 0;
     do
     :: i + 1 < qlen -> q[i] = q[i + 1]; i++
     :: else -> break
     od;
     qlen--; q[qlen] = NONE;
#ifndef BUG_POP_KEEPS_QUEUED
     if
     :: n < NR -> queued[n / NK] = 0                        /* n->queued = false: "started" */
     :: else -> skip
     fi;
#endif
     has_work = (qlen > 0);                                  /* has_work_.store(head_ != nullptr) */
     mtx = 0; act = A_RUN                                    /* return n (unique_lock unlocks) */
#ifndef BUG_CLOSE_EARLY
#ifdef BUG_CLOSE_IGNORES_RETURNS
  :: qlen == 0 && dseen ->
#else
  :: qlen == 0 && dseen && pret == 0 ->                      /* drained, no announced returns */
#endif
     mtx = 0; act = A_DRAINED                                /* lock.unlock(); destroy_bound_values() */
#endif
  :: else ->                                                 /* idle */
     has_work = 0;                                           /* has_work_.store(false) */
     mtx = 0; act = A_IDLE                                   /* lock.unlock() */
  fi
}

/* ================================================================================== */
#define A_WAIT    6   /* the worker sleeps in wait_on(wake_word_, seen) */

proctype worker()
{
  byte n = NONE;   /* the node next_task returned */
  byte act;        /* next_task's decision: where the worker is */
  bit  dseen;      /* core::draining_seen_ */
  bit  more;       /* spin_until's result */
  byte seen;       /* wake_word_ as read under the lock */
  byte prev;       /* the value exchange(kDone) returned */
  byte i;

  /* core::run: while (task_node* n = next_task(nullptr)) run_one(n);
   * next_task: std::unique_lock lock(mailbox::lock_); for (;;) { ... } */
  d_step { mtx == 0 -> mtx = 1; TOP() };
  do
  :: d_step {
       act == A_RUN && rbegun < RETURNS ->
       /* The task about to run is a coroutine that leaves with
        * co_await other.submit_async(t): submit_async_awaiter::await_suspend calls
        * core::announce_comeback() here, on this thread (open even while draining). */
       mtx == 0 -> mtx = 1;
       assert(phase != CLOSED);
       pret++; rlive[rbegun] = 1; rbegun++;
       mtx = 0
     }
#if defined(BUG_WORKER_NO_DEADLINE_CHECK) || !DEADLINE
  :: d_step {
       act == A_RUN && n < NR ->                       /* BUG (or !DEADLINE): starts it whatever the time */
#else
  :: d_step {
       /* The deadline check (submit_record::run): the worker unlinked n, so the
        * decision is its own; it starts a timed record only while its deadline has not
        * passed.  Reading the clock and starting are one step here: "starts" is the
        * moment of that check. */
       act == A_RUN && n < NR && !(tmd[n / NK] && expired[n / NK]) ->
#endif
       /* core::run_one: n->invoke(n) -> submit_record::run (task_node.hpp): reads invoke
        * and self->f, runs f, result_slot::run stores the value/exception, then
        * completion::signal: key = &state_ (computed first); prev = exchange(kDone,
        * release).  The caller reads nothing the run writes before it sees kDone, so
        * running and signalling are one step here (two with BUG_SIGNAL_BEFORE_RESULT). */
       ACCESS(n);
       assert(!ran[n / NK]);                           /* P1: never twice */
#if DEADLINE
       assert(!(tmd[n / NK] && expired[n / NK]));      /* P6: never after its deadline */
#endif
       ran[n / NK] = 1;
#ifndef BUG_SIGNAL_BEFORE_RESULT
       result[n / NK] = 1;
#endif
       prev = cs[n / NK]; cs[n / NK] = kDone;          /* exchange(kDone, release) */
       act = A_SIGNALLED
     }
#ifdef BUG_SIGNAL_BEFORE_RESULT
     ; d_step { ACCESS(n); result[n / NK] = 1 }        /* BUG: result stored after the signal */
#endif
#ifdef BUG_TOUCH_AFTER_SIGNAL
     ; ACCESS(n)                                       /* BUG: e.g. re-reads state_ to decide the wake */
#endif
#if !defined(BUG_WORKER_NO_DEADLINE_CHECK) && DEADLINE
  :: d_step {
       /* The deadline has passed (the submitter saw it already, or time passes right now):
        * the worker does not start f; it marks the record expired and signals, exactly
        * as a run would (same release exchange, same last touch). */
       act == A_RUN && n < NR && tmd[n / NK] ->
       ACCESS(n);
       expired[n / NK] = 1;
       wexp[n / NK] = 1;
       prev = cs[n / NK]; cs[n / NK] = kDone;          /* exchange(kDone, release) */
       act = A_SIGNALLED
     }
#endif
  :: d_step {
       act == A_SIGNALLED && prev == kSleeping ->
       /* if (prev == kSleeping) wake_all(key): FUTEX_WAKE by address only, NOT an access.
        * Whoever sleeps on that stack address now is woken (maybe a later record). */
       swait[n / NK] = 0;
       prev = 0; n = NONE; act = A_RAN
     }
  :: d_step {
       (act == A_RAN || (act == A_SIGNALLED && prev != kSleeping)) ->
       /* run_one returns; next_task(nullptr) locks again */
       prev = 0; n = NONE;
       mtx == 0 -> mtx = 1; TOP()
     }
  :: d_step {
       act == A_RUN && n >= NR ->
       /* timer_node::run / a return node: handle.resume().  The resumed coroutine may
        * finish and free its frame before resume() returns: not touched afterwards. */
       ACCESS(n); assert(!rran[n - NR]); rran[n - NR] = 1; rlive[n - NR] = 0; n = NONE;
       mtx == 0 -> mtx = 1; TOP()                      /* next_task(nullptr) again */
     }
  :: d_step {
       act == A_DRAINED ->
       /* lock.unlock(); destroy_bound_values(); lock.lock();
        * if (head_ || !timers_.empty() || comebacks_.pending_) continue;
        * phase_ = closed; return nullptr; */
       mtx == 0 -> mtx = 1;
#ifdef BUG_CLOSE_EARLY
       phase = CLOSED; mtx = 0; act = A_EXIT
#else
       if
#ifdef BUG_CLOSE_IGNORES_RETURNS
       :: qlen > 0 -> TOP()                            /* BUG: announced returns ignored */
#else
       :: qlen > 0 || pret > 0 -> TOP()
#endif
       :: else -> phase = CLOSED; mtx = 0; act = A_EXIT
       fi
#endif
     }
  :: act == A_IDLE ->
     /* more = spin_until([this] { return has_work_.load(relaxed); })
      * A relaxed hint: it may see true, or give up (also stale: false though true). */
     if
     :: more = has_work
     :: more = 0
     fi;
     d_step {
       mtx == 0 -> mtx = 1;                            /* lock.lock() */
       if
#ifdef BUG_SLEEP_NO_RECHECK
       :: more -> TOP()                                /* BUG: trusts the hint only */
#else
#ifdef BUG_RECHECK_NO_HAS_WORK
       :: more || qlen > 0 || (phase != RUNNING && !dseen) -> TOP()   /* BUG: stale `more` only */
#else
       :: more || has_work || qlen > 0 || (phase != RUNNING && !dseen) -> TOP()   /* continue (has_work_ re-read under the lock) */
#endif
#endif
       :: else ->
          wsleep = 1;                                  /* worker_sleeping_ = true */
#ifndef BUG_WAKE_WORD_READ_LATE
          seen = ww;                                   /* seen = wake_word_.load(relaxed) */
#endif
          mtx = 0; act = A_SLEEP                       /* lock.unlock() */
       fi;
       more = 0
     }
  :: act == A_SLEEP ->
#ifdef BUG_WAKE_WORD_READ_LATE
     seen = ww;                                        /* BUG: read after unlocking */
#endif
     d_step {
       /* wait_on(wake_word_, seen): FUTEX_WAIT compares and sleeps atomically */
       if
       :: ww == seen -> wwait = 1
       :: else -> skip                                 /* EAGAIN */
       fi;
       seen = 0; act = A_WAIT
     }
  :: d_step {
       act == A_WAIT && wwait == 1 && spur > 0 -> spur--; wwait = 0   /* spurious / EINTR */
     }
  :: d_step {
       act == A_WAIT && wwait == 0 ->                  /* woken (or EAGAIN): wait_on returns */
       mtx == 0 -> mtx = 1; wsleep = 0; TOP()          /* lock.lock(); worker_sleeping_ = false */
     }
  :: act == A_EXIT -> break                            /* next_task returned nullptr */
  od;
  /* core::run: the postlude runs; the OS thread ends. */
  skip;
  d_step {
    assert(qlen == 0);                                 /* P4: join drains */
    worker_exited = 1
  }
}

/* ================================================================================== */
#define OUT_VALUE   0   /* returned the result (or rethrew the task's exception) */
#define OUT_TIMEOUT 1   /* timeout_error: withdrawn */
#define OUT_STOPPED 2   /* stopped_error: refused */

/* mailbox::link_task (src/mailbox.cpp, src/worker.cpp): lock held; links, or refuses when the phase is not
 * running (a plain thread's submit is open only while running). */
inline ACCEPT_LOCKED() {
  if
  :: phase == RUNNING -> ok = 1; LINK(r); WAKE_LOCKED(wk)   /* link_locked; wake_key_locked */
  :: else -> ok = 0; mtx = 0                                /* unlock; throw stopped_error */
  fi
}

/* The CAS of completion::park_for: compare_exchange_strong(kPending -> kSleeping, acquire) */
inline CAS() {
  if
  :: cs[s] == kPending -> cs[s] = kSleeping; casr = kPending
  :: else -> casr = cs[s]
  fi
}

proctype submitter(byte s)
{
  byte k = 0;
  byte r;
  bit  timed;
  bit  ok;
  bit  wk;
  byte casr;       /* the value compare_exchange_strong found */
  byte out;
  byte j;

  do
  :: k == NK -> break
  :: k < NK ->
     /* thread.hpp: thread::submit / submit_for: `detail::submit_record<F> record(f);`
      * the record is built in this frame (the same stack slot every time); then
      * mailbox::link_task.  One step: building the record touches only this frame. */
     atomic {
       r = s * NK + k;
       gen[s] = k; live[s] = 1; cs[s] = kPending; queued[s] = 0; result[s] = 0; ran[s] = 0;
       wexp[s] = 0; expired[s] = 0;
#if TIMED
       if
       :: timed = 0                                    /* submit -> core::submit_and_wait */
       :: timed = 1                                    /* submit_for -> submit_and_wait_until */
#if DEADLINE
       :: timed = 1; expired[s] = 1;                   /* the deadline already passed at the call: */
          out = OUT_TIMEOUT; goto ret                  /* timeout_error, never linked */
#endif
       fi;
       tmd[s] = timed;
#endif
#ifdef BUG_ACCEPT_PHASE_OUTSIDE_LOCK
       mtx == 0 -> mtx = 1; ok = (phase == RUNNING); mtx = 0
     };
     if
     :: ok -> d_step { mtx == 0 -> mtx = 1; LINK(r); WAKE_LOCKED(wk) }   /* BUG: re-locked */
     :: else -> skip
     fi;
     atomic {
#else
       mtx == 0 -> mtx = 1;                            /* std::unique_lock lock(mailbox::lock_) */
       ACCEPT_LOCKED();
#endif
       if
       :: !ok -> out = OUT_STOPPED; goto ret           /* refused: never linked, never runs */
       :: ok && !wk && timed -> goto tloop
       :: ok && !wk && !timed -> goto park
       :: ok && wk -> skip
       fi
     };
     atomic {
       WAKE_WORKER; wk = 0;                            /* wake_one(&wake_word_) after unlock */
       if
       :: timed -> goto tloop
       :: else -> goto park
       fi
     };

     /* ---- completion::wait(ahead) (task_node.hpp) -----------------------------------
      * spin_until(done()) (skipped when ahead >= 2, see mailbox::link_task's queued_count_)
      * only reads state_; the CAS in park_for reads it too and
      * returns true on kDone, so the spin's reads are folded into the CAS below, and so
      * is park_for's final `return done()`.  Returning from the futex wait (swait[s]
      * back to 0) is folded into the next CAS: nobody else can set swait[s] again. */
park:                                                  /* while (!park_for(max)) {} */
     if
     :: atomic {
#ifdef BUG_CALLER_NO_ANNOUNCE
          swait[s] == 0 -> casr = cs[s];               /* BUG: no CAS, will sleep on kPending */
#else
          swait[s] == 0 -> CAS();                      /* futex returned (or first time): CAS */
#endif
          if
          :: casr == kDone -> casr = 0; goto got       /* failed, expected == kDone: true */
          :: else -> casr = 0
          fi
        }
     :: d_step { swait[s] == 1 && spur > 0 -> spur--; swait[s] = 0 }; goto park   /* spurious */
     fi;
     /* wait_on(state_, kSleeping): the kernel compares and sleeps atomically */
#ifdef BUG_CALLER_NO_ANNOUNCE
     d_step { if :: cs[s] == kPending -> swait[s] = 1 :: else -> skip fi };
#else
     d_step { if :: cs[s] == kSleeping -> swait[s] = 1 :: else -> skip fi };   /* else EAGAIN */
#endif
     goto park;

     /* ---- completion::wait_until(deadline) ------------------------------------------
      * Its reads of state_ -- `if (done()) return true`, the spin on done() || deadline,
      * and `left <= 0: return done()` at the top of the loop -- all have the same shape:
      * read state_; kDone -> return true; else, if the deadline passed -> return false.
      * The acquire load may return a stale value, so "deadline passed" is allowed even
      * when state_ is already kDone: withdraw() then fails and wait() finds kDone.
      * The timed futex wait may return at any moment (ETIMEDOUT), which subsumes its
      * wake-ups, spurious or not: it is modelled as a plain delay (no swait). */
tloop:
     if
     :: cs[s] == kDone -> goto got                     /* done(): return true */
     :: atomic {                                       /* park_for(slice): the CAS */
          CAS();
          if
          :: casr == kDone -> casr = 0; goto got
          :: else -> casr = 0; goto tloop              /* wait_on_for(...); loop */
          fi
        }
     :: d_step {                                       /* deadline: return false, so */
          mtx == 0 -> mtx = 1;                         /* mailbox::withdraw: lock_guard */
#if DEADLINE
          expired[s] = 1;                              /* (time has passed the deadline) */
#endif
#ifdef BUG_WITHDRAW_NO_QUEUED_CHECK
          if :: true ->                                /* BUG: no `if (!n.queued) return false` */
#else
          if
          :: queued[s] ->                              /* still linked: not started */
#endif
             j = 0;
             do
             :: j < qlen && q[j] != r -> j++
             :: else -> break
             od;
             if
             :: j < qlen ->
                if
                :: j > 0 -> ACCESS(q[j - 1])           /* n.prev->next = n.next */
                :: else -> skip                        /* head_ = n.next */
                fi;
                if
                :: j + 1 < qlen -> ACCESS(q[j + 1])    /* n.next->prev = n.prev */
                :: else -> skip                        /* tail_ = n.prev */
                fi;
                do
                :: j + 1 < qlen -> q[j] = q[j + 1]; j++
                :: else -> break
                od;
                qlen--; q[qlen] = NONE
             :: else -> skip                           /* (only with the BUG: not linked) */
             fi;
             queued[s] = 0;                            /* n.queued = false */
             has_work = (qlen > 0);                    /* has_work_.store(head_ != nullptr) */
             ok = 1
#ifndef BUG_WITHDRAW_NO_QUEUED_CHECK
          :: else -> ok = 0                            /* the worker started it */
#endif
          fi;
          j = 0;
          mtx = 0
        };
        if
        :: ok -> out = OUT_TIMEOUT; goto ret           /* throw timeout_error: never runs */
        :: else -> goto park                           /* n.done.wait(): it runs to the end */
        fi
     fi;

got:
#ifdef BUG_EXPIRED_AS_VALUE
     out = OUT_VALUE;                                  /* BUG: ignores the expired mark */
#else
     if                                                /* timed_record: expired -> timeout_error */
     :: wexp[s] -> out = OUT_TIMEOUT
     :: else -> out = OUT_VALUE
     fi;
#endif
ret:
     /* thread.hpp: record.result.take() (OUT_VALUE) or the throw; then the submitter
      * returns and its frame (with the record in it) is gone. */
     atomic {
       if
       :: out == OUT_VALUE -> assert(result[s] && ran[s])   /* P5 + P1: it ran, result visible */
       :: else -> assert(!ran[s])                            /* P1: refused/withdrawn: never ran */
       fi;
       live[s] = 0; k++;
       if
       :: k == NK -> finished++                       /* (ghost: this thread is done) */
       :: else -> skip
       fi;
       out = 0; ok = 0; timed = 0; r = 0; tmd[s] = 0; wexp[s] = 0; expired[s] = 0
     }
  od
}

/* ================================================================================== */
proctype joiner()
{
  bit wk;
  /* core::join -> mailbox::stop_accepting (src/mailbox.cpp, src/worker.cpp) */
  d_step {
    mtx == 0 -> mtx = 1;
    if
    :: phase == RUNNING -> phase = DRAINING
    :: else -> skip
    fi;
    has_work = 1;                                      /* has_work_.store(true, relaxed) */
#ifdef BUG_JOIN_NO_WAKE
    wk = 0; mtx = 0
#else
    WAKE_LOCKED(wk)                                    /* wake_key_locked(lock) */
#endif
  };
  if
  :: wk -> WAKE_WORKER                                 /* wake_one(&wake_word_) */
  :: else -> skip
  fi;
  worker_exited == 1;                                  /* os_thread_->join() */
  d_step { joined = 1; finished++ }
}

/* ================================================================================== */
/* Coroutine returns (include/ste/task.hpp, submit_async_awaiter).  A coroutine running
 * on this thread does `co_await other.submit_async(t)`: await_suspend calls
 * core::announce_comeback() on this thread (the worker, see the A_RUN option in the worker),
 * then hands `t` to the other thread.  When `t` finishes there, done() calls
 * mailbox::link_comeback(back_, true) from that thread: this process.  (Every withdraw_comeback
 * call site -- submit_async_awaiter::await_suspend's catch and done() when
 * origin->is_current(), announce_comeback's deadlock path, promise_base::finish_awaited after
 * its try_announce_comeback -- runs on this thread itself, inside the task that announced,
 * where ++/-- of comebacks_.pending_ within one task is invisible to the close decision;
 * with -DCANCEL_OFF_THREAD this process may instead call withdraw_comeback from the other
 * thread -- see the README, W1.)  The task<T> rendezvous's own use of
 * try_announce_comeback / link_comeback / withdraw_comeback is modelled in rendezvous.pml. */
proctype returner(byte i)
{
  byte r = NR + i;
  bit wk;
end_unannounced:                                       /* (never announced: a valid end) */
  rbegun > i;                                          /* announce_comeback() happened */
  if
  :: d_step { mtx == 0 -> mtx = 1; pret--; LINK(r); WAKE_LOCKED(wk) }  /* link_comeback(n, true) */
#ifdef CANCEL_OFF_THREAD
  :: d_step {                                          /* mailbox::withdraw_comeback() */
       mtx == 0 -> mtx = 1;                            /* std::unique_lock lock(mailbox::lock_) */
       pret--; rlive[i] = 0;                           /* --comebacks_.pending_ (the coroutine goes on elsewhere) */
#ifndef BUG_CANCEL_NO_HAS_WORK
       has_work = 1;                                   /* has_work_.store(true, relaxed) */
#endif
       WAKE_LOCKED(wk)                                 /* wake_key_locked(lock) */
     }
#endif
  fi;
  if
  :: wk -> WAKE_WORKER                                 /* wake_one(&wake_word_) */
  :: else -> skip
  fi
}

/* ================================================================================== */
init
{
  byte x;
  atomic {
    x = 0;
    do
    :: x < NT -> q[x] = NONE; x++
    :: else -> break
    od;
    run worker();
    run joiner();
    x = 0;
    do
    :: x < NS -> run submitter(x); x++
    :: else -> break
    od;
    x = 0;
    do
    :: x < RETURNS -> run returner(x); x++
    :: else -> break
    od;
    x = 0
  };
  /* Everyone else finished (returners never announced wait forever at a valid end). */
  worker_exited && finished == NS + 1;
  /* Submitters checked their own outcome when they returned.  Returns: linked <=> ran. */
  x = 0;
  do
  :: x < RETURNS -> assert(racc[x] == rran[x]); x++
  :: else -> break
  od;
  assert(qlen == 0 && joined && phase == CLOSED)       /* P4 */
}
