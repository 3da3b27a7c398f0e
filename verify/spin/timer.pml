/* SPDX-License-Identifier: MIT */
/*
 * timer.pml — a Spin (Promela) model of the ste::timer protocol (post_after / post_at /
 * post_every / cancel; /tmp/timer-protocol.md, 2026-12): one timer block between the
 * worker (the ste thread's loop), its owner (another thread: post, cancel, the handle's
 * release), a joiner and the clock.  Run it with verify/run (which also runs the seeded
 * bugs); see verify/README.md §1d.
 *
 * What is modelled (each step names the protocol step it stands for):
 *   - the block: state_ (phase QUEUED/ARMED/RUNNING/DONE in bits 0-1, CANCELLED bit 2,
 *     WAITER bit 3; every change one atomic RMW), refs_ (2 = handle + thread side, +1
 *     while a cleanup message is in flight; whoever takes it to 0 frees), the one task
 *     node `msg` (in the inbox or not), the worker-only fields armed_, in_heap_,
 *     finished_, and the callable f (destroyed once, on the worker).
 *   - post: off the thread (POSTON=0, the owner): QUEUED, refs 2, the refusable push of
 *     the arm message (refused once join's phase change happened: nothing scheduled);
 *     on the thread (POSTON=1, a task on the worker): refused if join started, else
 *     ARMED, armed_ (see U1 in verify/README.md §1d), straight into the heap.
 *   - the worker: W-arm, W-cleanup, W-expire (due, or every entry once it saw join:
 *     `stopped`), f's run, the periodic re-arm (CAS RUNNING -> ARMED, next deadline),
 *     the done path (destroy f, fetch_or(DONE), wake if WAITER, finished_, ref) and
 *     finish(); the close once it saw join and the heap and the inbox are empty.  The
 *     heap holds this one timer (in_heap_); the inbox is a set (the worker pops the
 *     message, or expires the heap entry, in any order: an over-approximation).
 *   - the owner's off-thread cancel() (CANCEL=1 or 3): the state machine of the brief,
 *     the cleanup message with its ref (refused: the ref given back), the WAITER CAS and
 *     the futex wait on state_ (compare-and-sleep atomic, a wake by address, SPUR
 *     spurious returns in total), NCANCEL calls in a row, each optional; THROW: the
 *     deadlock check may throw after the CANCELLED CAS of a running timer (no wait).
 *     Then the handle's release (refs -1; it does not cancel).
 *   - the on-thread cancel (CANCEL=2): the handle belongs to a task on the worker that
 *     cancels (or not) and releases it — either inside f (any run) or as another task at
 *     any step of the worker loop (before the close: it sits in the inbox).  CANCEL=3:
 *     f cancels its own timer on the thread while the owner cancels off the thread.
 *   - the joiner: the phase change running -> draining (every push refused from now
 *     on), then records its start time (`jdue`: the deadline was due then or not) unless
 *     the worker recorded it first (it does when it needs it; U3), then waits for the
 *     worker's close.  JOIN: 0 racing, 1 late (once the owner returned or
 *     stopped: nothing only join rescues can pass), 2 either (default).
 *   - the clock: the deadline may pass at any moment (`due`), never with FAR=1; a
 *     periodic's re-arm sets a new deadline (not due), at most NRUNS deadlines pass.
 *   - STOP: the owner may stop for ever at each of its steps (preempted, never scheduled
 *     again): its end is a valid end state; the worker and join must still complete.
 *
 * Properties (assertions; an invalid end state is a thread stuck for ever):
 *   T1 no run starts after any cancel() call returned (or threw after its CAS);
 *   T2 a one-shot never both ran and had a cancel() return true; cancel true at most once;
 *   T3 an off-thread cancel() returns only when no run is in progress;
 *   T4 f destroyed exactly once, on the worker, after its last run ended, never run
 *      after; a cancel() that sees DONE finds f destroyed (what "destroy f first" is
 *      for); the block freed exactly once; nothing touches it after the free
 *      (`assert(!freed)` on every access of a block field by anyone: state_, refs_,
 *      the node's hook, the worker's fields, f);
 *   T5 nobody stuck (end states); at the close every accepted timer is finished; once
 *      the handle let go the block is freed; a one-shot accepted with its deadline due
 *      at join's phase change ran or was cancelled; a one-shot whose deadline had not
 *      passed at join's recorded start never runs (STRICT_T5: "at the phase change"
 *      instead: fails by design, see verify/README.md §1d);
 *   T6 cancel() never returns true once the timer became DONE without a cancel (ran
 *      for good, or dropped by join).
 *
 * Found (verify/README.md §1d): U2 — W-expire as written ("not stopped" from
 * draining_seen_, "accepting" from a fresh load) drops a one-shot that was due before
 * join started; the model's default is the fix (stopped := draining_seen_ ||
 * !accepting), -DPROTO_ACCEPT_FRESH the text as written, -DPROTO_ACCEPT_SEEN the wrong
 * fix ("accepting" := !draining_seen_); both must fail.  U1 — post_* on the worker must
 * set armed_ (-DBUG_ONTHREAD_POST_NOT_ARMED).
 *
 * Abstractions: a CAS retry loop is one atomic step at its successful CAS (a failed CAS
 * only re-reads; where a load decides before a separate CAS the model keeps two steps);
 * the worker's own fields need no atomicity (one thread) but every access asserts the
 * block alive; the inbox's own protocol (wake-ups, FIFO, refusal) is ste.pml's: here a
 * push is one step that is refused exactly when the phase left running, and the
 * worker's idle sleep is a blocking guard (it wakes when a message, a due deadline or
 * join's phase change is there); time is one bit per deadline; memory orders are not
 * modelled (every step here is seq_cst in the code).
 */

#ifndef PERIODIC
#define PERIODIC 0
#endif
#ifndef NRUNS
#define NRUNS 2       /* periodic: at most NRUNS deadlines pass */
#endif
#ifndef FAR
#define FAR 0         /* 1: the deadline never passes */
#endif
#ifndef CANCEL
#define CANCEL 1      /* 0 none, 1 off-thread, 2 on-thread, 3 both (f and the owner) */
#endif
#ifndef NCANCEL
#define NCANCEL 1     /* off-thread cancel() calls in a row */
#endif
#ifndef POSTON
#define POSTON 0      /* 1: posted by a task on the worker itself */
#endif
#ifndef JOIN
#define JOIN 2
#endif
#ifndef STOP
#define STOP 0
#endif
#ifndef SPUR
#define SPUR 1
#endif
#ifndef THROW
#define THROW 0
#endif
#ifndef HELPER
#define HELPER 0      /* 1: a second thread cancels once, concurrently with the owner */
#endif

#define QUEUED  0
#define ARMED   1
#define RUNNING 2
#define DONE    3
#define CB      4     /* CANCELLED */
#define WB      8     /* WAITER */
#define PH(x)   ((x) & 3)

#define OFFCANCEL (CANCEL == 1 || CANCEL == 3)
#define ONTASK    (CANCEL == 2)           /* the handle lives on the worker */
#define FCANCEL   (CANCEL == 2 || CANCEL == 3)

/* ---- the block ------------------------------------------------------------------ */
byte st = 0;          /* state_ */
byte refs = 0;        /* refs_ */
bit msg_in = 0;       /* the node is in the inbox (arm or cleanup message) */
bit armed = 0;        /* armed_    (worker-only) */
bit in_heap = 0;      /* in_heap_  (worker-only) */
bit finished = 0;     /* finished_ (worker-only) */
/* ---- the thread ------------------------------------------------------------------ */
byte iph = 0;         /* inbox phase: 0 running, 1 draining, 2 closed */
bit due = 0;          /* the block's current deadline has passed */
bit jstart = 0;       /* join recorded its start time ... */
bit jdue = 0;         /* ... and the deadline had passed then */
bit jcas = 0;         /* join's phase change happened ... */
bit jcasdue = 0;      /* ... and the deadline had passed then */
/* ---- futex on state_ ----------------------------------------------------------- */
bit cwait[2];         /* canceller [who] sleeps in futex_wait(&state_) */
byte spur = 0;
/* ---- observation ------------------------------------------------------------------ */
bit posted = 0;       /* post() has been called (accepted or refused) */
bit accepted = 0;     /* ... and accepted */
bit freed = 0;
byte destroyed = 0;   /* f destroyed (count) */
bit running = 0;      /* f is executing */
byte runs = 0;
bit cret = 0;         /* some cancel() returned */
bit cthrew = 0;       /* some cancel() threw after its CANCELLED CAS */
byte ctrue = 0;       /* cancel() calls that returned true */
bit cflag = 0;        /* CANCELLED set by a cancel() */
bit dnc = 0;          /* DONE was set with CANCELLED clear (ran for good or dropped) */
bit hrel = 0;         /* the handle was released */
bit htask = 0;        /* ONTASK/FCANCEL: the on-thread handle task has run */
bit owner_done = 0;
bit helper_done = 0;
bit stopped = 0;
bit worker_done = 0;

#define TOUCH assert(!freed)

/* join's start time (mailbox::stop_time_): recorded once, after the phase change, by
 * the joiner right after its CAS or by the worker that needs it first (a CAS from
 * unset: both read the clock after the phase change; the first one wins). */
inline RECORD_STOP_TIME() {
  atomic { if :: !jstart -> jstart = 1; jdue = due :: else -> skip fi }
}

inline UNREF() {
  atomic {
    TOUCH; assert(refs > 0);
    refs--;
    if :: refs == 0 -> freed = 1 :: else -> skip fi
  }
}

/* A run starts (the successful CAS ARMED -> RUNNING). */
inline RUN_START() {
  assert(!cret && !cthrew);         /* T1 */
  assert(PERIODIC || ctrue == 0);   /* T2 */
  assert(destroyed == 0);           /* T4 */
  assert(!running);
#if !PERIODIC
  assert(!jstart || jdue);          /* T5: not due at join's recorded start: never runs */
#ifdef STRICT_T5
  assert(!jcas || jcasdue);         /* T5 read as "at join's phase change" */
#endif
#endif
  running = 1; runs++
}

/* A cancel() returns res (on or off the thread). */
inline CANCEL_RETURNS() {
  atomic {
    cret = 1;
    if
    :: res ->
       ctrue++;
       assert(PERIODIC || runs == 0);   /* T2 */
       assert(ctrue <= 1);              /* T2 */
       assert(!dnc)                     /* T6 */
    :: else -> skip
    fi
  }
}

/* ---- the worker's steps ---------------------------------------------------------- */

/* Destroying f (the block holds it): on the worker, once, after the last run. */
inline DESTROY_F() {
  atomic { TOUCH; assert(destroyed == 0 && !running); destroyed++ }
}

/* finish() (not running): destroy f, fetch_or(DONE), finished_, the thread ref. */
inline FINISH() {
  DESTROY_F();
  atomic {
    TOUCH;
    old = st;
#ifdef BUG_JOIN_DROP_NO_DONE
    if :: stp && !(old & CB) -> skip   /* join's drop leaves the phase as it was */
       :: else -> st = st | DONE
    fi;
#else
    st = st | DONE;
#endif
    if :: !(old & CB) -> dnc = 1 :: else -> skip fi;
    assert(!(old & WB))   /* WAITER is only ever set on a running timer */
  }
  finished = 1;
  UNREF()   /* the thread ref */
}

/* The done path after a run. */
inline DONE_PATH() {
#if !defined(BUG_DONE_BEFORE_DESTROY) && !defined(BUG_RELEASE_BEFORE_DESTROY)
  DESTROY_F();   /* FIRST: a waiting canceller keeps waiting while f dies */
#endif
  atomic {
    TOUCH;
    old = st; st = st | DONE;
    if :: !(old & CB) -> dnc = 1 :: else -> skip fi
  }
#ifdef BUG_DONE_BEFORE_DESTROY
  DESTROY_F();
#endif
#ifndef BUG_NO_WAKE
  if :: (old & WB) -> cwait[0] = 0; cwait[1] = 0 :: else -> skip fi;   /* wake_all(&state_): an address */
#endif
  finished = 1;
  UNREF();
#ifdef BUG_RELEASE_BEFORE_DESTROY
  DESTROY_F();
#endif
  skip
}

/* The on-thread cancel() (inside f, or another task on the worker). */
inline CANCEL_ON() {
  atomic {
    TOUCH;
    s = st; gofin = 0;
    if
    :: PH(s) == DONE || (s & CB) -> res = 0
    :: else ->
       st = s | CB; cflag = 1;
       if
       :: PH(s) == QUEUED -> res = 1
       :: PH(s) == ARMED -> res = 1; gofin = 1; assert(in_heap && !running)
       :: PH(s) == RUNNING -> assert(running); res = PERIODIC   /* from inside f: no wait */
       fi
    fi;
    s = 0
  }
#ifdef BUG_CANCEL_WAITS_ON_THREAD
  (PH(st) != RUNNING);   /* waits for the run it is part of */
#endif
  if
  :: gofin ->
#ifdef BUG_ONTHREAD_CANCEL_KEEPS_HEAP
     skip;
#else
     TOUCH; in_heap = 0;   /* removed from the heap now */
#endif
     FINISH(); gofin = 0
  :: else -> skip
  fi;
  CANCEL_RETURNS();
  res = 0
}

/* The handle's task on the worker: cancel (or not), then release the handle. */
inline HANDLE_TASK() {
  htask = 1;
  if
  :: CANCEL_ON()
  :: skip
  fi;
#if ONTASK
  UNREF(); hrel = 1
#endif
}

/* f's run: CANCEL=2/3 lets f cancel its own timer (once). */
inline RUN_F() {
#if FCANCEL
  if
#if ONTASK
  :: !htask -> HANDLE_TASK()
#else
  :: !htask && !hrel -> htask = 1; CANCEL_ON()   /* the owner's handle, used by f */
#endif
  :: skip
  fi;
#endif
  running = 0   /* f returned */
}

proctype worker() {
  byte s, old;
  bit ds = 0;     /* the worker saw join's phase change (draining_seen_) */
  bit acc, stp, go, res, gofin;

  do
  :: iph != 0 && !ds -> ds = 1

#if POSTON
  :: !posted ->   /* post_* on the worker thread itself */
     atomic {
       if
       :: iph == 0 ->
          st = ARMED; refs = 2;
#ifndef BUG_ONTHREAD_POST_NOT_ARMED
          armed = 1;
#endif
          in_heap = 1; accepted = 1
       :: else -> skip   /* refused: stopped_error, the block freed unseen */
       fi;
       posted = 1
     }
#endif

#if ONTASK
  :: accepted && !htask -> HANDLE_TASK()   /* another task on the worker */
#endif

  :: msg_in ->
     atomic { TOUCH; msg_in = 0 }   /* popped */
     TOUCH;
     if
     :: !armed ->   /* W-arm */
        armed = 1;
        atomic {
          TOUCH;
#ifdef BUG_ARM_IGNORES_CANCEL
          st = ARMED; go = 1
#else
          if :: st == QUEUED -> st = ARMED; go = 1 :: else -> go = 0 fi
#endif
        }
        if
        :: go -> in_heap = 1
        :: else -> FINISH()
        fi;
        go = 0
     :: else ->     /* W-cleanup */
        if
#ifdef BUG_CLEANUP_NO_FINISHED_CHECK
        :: true ->
#else
        :: !finished ->
#endif
           in_heap = 0; FINISH()
        :: else -> skip
        fi;
        UNREF()   /* the message's ref */
     fi;
     old = 0

  :: in_heap && (due || ds) ->   /* W-expire */
     atomic { TOUCH; in_heap = 0; stp = ds }
#ifdef PROTO_ACCEPT_SEEN
     acc = !ds;          /* fix U2, other form: "accepting" = join not seen, no fresh load */
#else
     acc = (iph == 0);   /* the thread still accepts from everyone (a fresh load) */
#endif
#if !defined(PROTO_ACCEPT_FRESH) && !defined(PROTO_ACCEPT_SEEN)
     stp = stp || !acc;  /* fix U2: not accepting any more = stopped (the stopped rule) */
#endif
#ifndef PROTO_STOP_TIME_BEFORE
     if :: stp -> RECORD_STOP_TIME() :: else -> skip fi;  /* join_started_at() */
#endif
#ifdef BUG_RUN_NO_CAS
     atomic {
       TOUCH; s = st;
       go = !(s & CB) && PH(s) == ARMED &&
            ((!stp && acc) || (stp && !PERIODIC && jdue))
     }
     if
     :: go -> atomic { TOUCH; st = RUNNING; RUN_START() }
     :: else -> skip
     fi;
#else
     atomic {
       TOUCH; s = st;
#ifdef BUG_STOPPED_RUNS_ALL
       go = (s == ARMED) && ((!stp && acc) || (stp && !PERIODIC));
#else
       go = (s == ARMED) && ((!stp && acc) || (stp && !PERIODIC && jdue));
#endif
       if :: go -> st = RUNNING; RUN_START() :: else -> skip fi
     }
#endif
     s = 0;
     if
     :: go ->
        RUN_F();
#if PERIODIC
#ifdef BUG_REARM_IGNORES_JOIN
        acc = 1;
#else
        acc = (iph == 0);
#endif
        atomic {
          TOUCH;
#ifdef BUG_REARM_IGNORES_CANCEL
          if :: acc -> st = ARMED; go = 1 :: else -> go = 0 fi;
#else
          if :: acc && st == RUNNING -> st = ARMED; go = 1 :: else -> go = 0 fi;
#endif
          if :: go -> due = 0 :: else -> skip fi   /* the next deadline */
        }
        if
        :: go -> in_heap = 1
        :: else -> DONE_PATH()
        fi
#else
        DONE_PATH()
#endif
     :: else -> FINISH()
     fi;
     go = 0; acc = 0; stp = 0; old = 0

  :: ds && !msg_in && !in_heap && (POSTON == 0 || posted) && !(ONTASK && accepted && !htask) ->
     atomic {   /* the close: heap and inbox empty */
       iph = 2;
       assert(!accepted || finished);   /* T5: every accepted timer finished */
       worker_done = 1
     }
     break
  od
}

/* ---- the owner (another thread) ------------------------------------------------- */

#if STOP
/* A stopped owner's locals are dead: cleared (it never runs again). */
#define STOPPOINT if :: who == 0 && !stopped -> \
    atomic { stopped = 1; s = 0; res = 0; act = 0; go = 0; refused = 0; k = 0 }; \
    goto halt :: skip fi
#else
#define STOPPOINT skip
#endif

/* The WAITER CAS and the futex wait while the phase is RUNNING. */
inline WAIT_RUN() {
  atomic {   /* CAS s -> s|WAITER; a failed CAS reloads: no longer RUNNING, no wait */
    TOUCH;
#ifdef BUG_NO_WAITER
    go = (PH(st) == RUNNING)
#else
    if :: PH(st) == RUNNING -> st = st | WB; go = 1 :: else -> go = 0 fi
#endif
  }
  do
  :: go ->
     STOPPOINT;
     atomic {   /* futex_wait(&state_, s|WAITER): compare and sleep */
       TOUCH;
       if :: PH(st) == RUNNING -> cwait[who] = 1 :: else -> go = 0 fi
     }
     if
     :: go ->
        if
        :: cwait[who] == 0 -> skip
        :: atomic { spur < SPUR && cwait[who] -> spur++; cwait[who] = 0 }
        fi
     :: else -> skip
     fi
  :: else -> break
  od
}

/* cancel() off the worker thread; sets res. */
inline CANCEL_OFF() {
  res = 0;
  atomic {   /* the load and the CAS that decides */
    TOUCH;
    s = st;
    if
    :: PH(s) == DONE -> act = 0; assert(destroyed > 0)   /* T4: DONE => f destroyed */
    :: PH(s) != DONE && (s & CB) ->
       if :: PH(s) == RUNNING -> act = 4 :: else -> act = 0 fi
    :: PH(s) == QUEUED && !(s & CB) -> st = s | CB; cflag = 1; act = 1
    :: PH(s) == ARMED && !(s & CB) -> st = s | CB; cflag = 1; act = 2
    :: PH(s) == RUNNING && !(s & CB) -> st = s | CB; cflag = 1; act = 3
    fi;
    s = 0
  }
  if
  :: act == 0 -> skip
  :: act == 1 -> res = 1
  :: act == 2 ->
     STOPPOINT;
#ifndef BUG_MSG_NO_REF
     atomic { TOUCH; refs++ }
     STOPPOINT;
#endif
     atomic {   /* push the cleanup message (refusable) */
       TOUCH;
       if
       :: iph == 0 -> assert(!msg_in); msg_in = 1; refused = 0
       :: else -> refused = 1
       fi
     }
     STOPPOINT;
#if !defined(BUG_MSG_NO_REF) && !defined(BUG_REFUSED_KEEPS_REF)
     if :: refused -> UNREF() :: else -> skip fi;
#endif
     refused = 0;
     res = 1
  :: act == 3 ->
     STOPPOINT;
#if THROW
     if
     :: cthrew = 1; goto threw   /* the deadlock check throws: CANCELLED stays, no wait */
     :: skip
     fi;
#endif
#ifndef BUG_CANCEL_NO_WAIT
     WAIT_RUN();
#endif
     res = PERIODIC
  :: act == 4 -> WAIT_RUN(); res = 0
  fi;
  STOPPOINT;
  atomic {   /* returns after a wait: DONE or not running; T4 */
    TOUCH;
    if :: PH(st) == DONE && act >= 3 -> assert(destroyed > 0) :: else -> skip fi;
    assert(running == 0)   /* T3: an off-thread cancel returns with no run in progress */
  }
  CANCEL_RETURNS();
  act = 0; go = 0
}

proctype owner() {
  byte s; byte act; bit res, go, refused; byte k = 0; byte who = 0;

  STOPPOINT;
#if POSTON
  (posted);   /* the handle comes from the worker's post (refused: none) */
#else
  atomic {    /* post: QUEUED, refs 2, push the arm message (refusable) */
    if
    :: iph == 0 -> st = QUEUED; refs = 2; msg_in = 1; accepted = 1
    :: else -> skip   /* refused: the block freed, stopped_error */
    fi;
    posted = 1
  }
#endif
  if :: !accepted -> goto out :: else -> skip fi;
#if OFFCANCEL
  STOPPOINT;
  do
  :: k < NCANCEL -> CANCEL_OFF(); k++
  :: break
  od;
  k = 0;
#endif
#if !ONTASK
  STOPPOINT;
#if HELPER
  (helper_done);   /* the handle outlives the helper's use of it */
#endif
  atomic { TOUCH; hrel = 1 }   /* f (CANCEL=3) no longer uses the handle */
  UNREF();                      /* ~timer: refs -1, no cancel */
#endif
  goto out;
#if THROW
threw:
  STOPPOINT;
#if !ONTASK
#if HELPER
  (helper_done);
#endif
  atomic { TOUCH; hrel = 1 }
  UNREF();
#endif
  goto out;
#endif
halt:
end_halt:
  (false);   /* stopped for ever: a valid end state */
out:
  owner_done = 1
}

/* HELPER: another thread with access to the handle cancels once (concurrently). */
proctype helper() {
  byte s; byte act; bit res, go, refused; byte k = 0; byte who = 1;
end_unposted:
  (posted);   /* (a valid end state when the stopped owner never posts) */
  if :: accepted -> CANCEL_OFF() :: else -> skip fi;
  goto out;
#if THROW
threw:
  goto out;
#endif
halt:      /* (STOPPOINT's target; only the owner stops) */
  assert(false);
out:
  helper_done = 1
}

proctype joiner() {
#if JOIN == 1 || JOIN == 2
#if JOIN == 2
  if
  :: skip
  :: true ->
#endif
     (owner_done || stopped) && (!HELPER || helper_done || !posted);
#if JOIN == 2
  fi;
#endif
#endif
#ifdef PROTO_STOP_TIME_BEFORE
  atomic { jstart = 1; jdue = due }          /* join's start time, read before ... */
  atomic { iph = 1; jcas = 1; jcasdue = due } /* ... running -> draining: pushes refused */
#else
  atomic { iph = 1; jcas = 1; jcasdue = due } /* running -> draining: pushes refused */
  RECORD_STOP_TIME()                          /* then join's start time (first one wins) */
#endif
  (worker_done);
  (owner_done || stopped);
  atomic {
    assert(!accepted || destroyed == 1);                       /* T4 */
    assert(!(accepted && hrel) || freed);                      /* T5: freed once let go */
    assert(PERIODIC || !accepted || !jcasdue || runs > 0 || cflag) /* T5: due at join's phase change: ran or cancelled */
  }
}

active proctype clock() {
end_tick:
  do
  :: atomic { !due && !FAR && (!PERIODIC || runs < NRUNS) -> due = 1 }
  od
}

init {
  atomic {
    run worker();
    run owner();
#if HELPER
    run helper();
#endif
    run joiner()
  }
}
