/* SPDX-License-Identifier: MIT */
/*
 * notifier.pml — a Spin (Promela) model of ste::notifier (issue 12, part 2): the
 * coalescing trigger that any thread, an audio driver's real-time callback included,
 * may fire with no lock, no allocation and no blocking call.  Run it with verify/run
 * (which also runs the seeded bugs); see verify/README.md §1c.
 *
 * What is modelled (each step names the C++ it stands for; src/notifier.cpp):
 *   - NP notifying threads (other threads), NK calls of notifier::notify each.  A call:
 *       early phase check (a refused call changes nothing);
 *       one CAS on the notifier's state word, either
 *         CLAIM    (neither P nor Q): P|Q, a new generation, U and T cleared — the
 *                  caller now owns the queue node and pushes it (mailbox::push: the phase
 *                  check and the push in one CAS), then sets U ("pushed") with a CAS that
 *                  checks the generation and Q; refused (join raced the call): gives
 *                  the node back, and P too unless a coalescer set T;
 *         COALESCE (P or Q set): sets P and T; when the node is not known to be queued
 *                  (not Q&U) asks the worker for a sweep (sweep_wanted_, then the
 *                  inbox's fetch_or(N), a wake if S), then re-reads the phase for its
 *                  result.
 *   - the worker: core::take_work_locked (pop; drain when the FIFO is empty; the sweep
 *     when sweep_wanted_ was set — after the drain, which is what makes the flag
 *     visible), the node's run (pop claim: clears P,Q,U,T; runs f when P was set and
 *     not C), the sweep's run (claims P when not Q&U and not C), the close
 *     (nothing pending: FIFO, inbox, sweep request) and the destruction of every
 *     registered notifier's callable after the close (C, then D); the idle path as in
 *     ste.pml (the S-CAS refuses a word with N set; futex_wait compares the word).
 *   - one joiner (mailbox::stop_accepting: the phase CAS, a wake if S).  JOIN: 0 racing
 *     everything, 1 late (once every notifier returned or stopped AND every run owed has
 *     started: so nothing that only a join would rescue can pass), 2 either (default).
 *   - OWN: the first run of f notifies from the thread itself (accepted while draining).
 *   - STOP: notifier 0 may stop for ever at any step of a call (preempted, never
 *     scheduled again): its end is a valid end state; every other call that returned
 *     true must still get its run without join's help (late join), P7 of ste.pml.
 *   - RESET: once the notifiers returned (a handle is not used by two threads at once),
 *     the owner resets: sets C, then submits the cleanup to the thread (drain, unlink
 *     the node and the sweep node, unregister, destroy f); refused (join started), it
 *     waits until join's destruction pass destroyed f.
 *
 * Properties (assertions; an invalid end state is a thread stuck for ever):
 *   N1 every notify that returned true is followed by a claim of a run that began after
 *      the call began (covered[] >= owed[] when the worker ends, and before a late join);
 *   N2 a call decides true only while the thread is open to it (never after the worker
 *      ended): join refuses exactly;
 *   N3 the queue node is never linked twice; runs never overlap;
 *   N4 after reset() returned: f never starts again, f was destroyed exactly once, and no
 *      queue holds the node (the block may be freed);
 *   N5 nobody is stuck (end states), a stopped notifier included.
 *
 * Abstractions: the FIFO is a set (the worker pops any linked item first: an
 * over-approximation of ste.pml's FIFO, which P8 there checks); a CAS retry loop is one
 * atomic step at its successful CAS (a failed CAS only re-reads); the worker alone
 * takes the desk here (reset's cleanup runs as a task on the worker), so the desk is
 * not modelled; memory orders are Relacy's job (verify/relacy).
 */

#ifndef NP
#define NP 2
#endif
#ifndef NK
#define NK 1
#endif
#ifndef STOP
#define STOP 0
#endif
#ifndef JOIN
#define JOIN 2
#endif
#ifndef RESET
#define RESET 0
#endif
#ifndef OWN
#define OWN 0
#endif
#ifndef SPUR
#define SPUR 1
#endif
#ifndef FINAL_SWEEP
#define FINAL_SWEEP 0   /* a sweep after the close (not needed: see verify/README.md) */
#endif

#define NCALLERS (NP + 1)   /* index NP: the thread itself (OWN) */
#define NODE 1
#define CLEAN 2

/* ---- the inbox word ------------------------------------------------------------ */
byte iph = 0;        /* phase: 0 running, 1 draining, 2 closed */
bit iS = 0;          /* S: the worker sleeps on the word */
bit iN = 0;          /* N: set by every push and by a sweep request; cleared by drains */
bit in_node = 0;     /* the notifier's node is in the inbox chain */
bit in_clean = 0;    /* reset's cleanup record is in the inbox chain */
/* ---- worker side (the desk's FIFO, as a set) ------------------------------------ */
bit rd_node = 0;
bit rd_sweep = 0;
bit rd_clean = 0;
bit sweep_wanted = 0;    /* core::sweep_wanted_ */
/* ---- the notifier's state word ------------------------------------------------- */
bit sP = 0;          /* PENDING: a run is wanted and not claimed */
bit sQ = 0;          /* QUEUED: the node is owned by a pusher or linked */
bit sU = 0;          /* PUSHED: the node is linked (it will be popped) */
bit sT = 0;          /* TOUCHED: a coalescer relies on P */
bit sC = 0;          /* CLOSED: reset or join's destruction: no start any more */
byte gen = 0;        /* generation, bumped by every CLAIM */
bit registered = 1;
bit destroyed = 0;   /* f destroyed (D) */
/* ---- futex ----------------------------------------------------------------------- */
bit wwait = 0;       /* the worker is in futex_wait on the inbox word */
byte spur = 0;
/* ---- observation ----------------------------------------------------------------- */
byte begun[NCALLERS];
byte covered[NCALLERS];
byte owed[NCALLERS];
bit running = 0;
bit worker_done = 0;
bit reset_done = 0;
bit clean_done = 0;
byte finished = 0;   /* notifier threads that returned from all their calls */
bit stopped = 0;

inline WAKE() { wwait = 0 }

/* Every call that returned true has had its run claimed (a blocking condition). */
#define COV(i) (covered[i] >= owed[i])
#if NP == 1
#define ALL_COVERED (COV(0) && COV(1))
#elif NP == 2
#define ALL_COVERED (COV(0) && COV(1) && COV(2))
#elif NP == 3
#define ALL_COVERED (COV(0) && COV(1) && COV(2) && COV(3))
#else
#define ALL_COVERED (COV(0) && COV(1) && COV(2) && COV(3) && COV(4))
#endif

/* The claim of a run: the calls begun so far are covered by it. */
inline COVER() {
  i = 0;
  do
  :: i < NCALLERS -> covered[i] = begun[i]; i++
  :: else -> break
  od
}

#if STOP
/* A stopped notifier's locals are dead: cleared, so that states differing only in them
 * are one state (sound: it never runs again). */
#define STOPPOINT if :: (p == 0 && !stopped) -> \
    atomic { stopped = 1; early = 0; res = 0; sawS = 0; needsweep = 0; act = 0; mygen = 0 }; \
    goto halt :: skip fi
#else
#define STOPPOINT skip
#endif

/* notifier::notify from caller p (own: the thread itself). Sets res. */
inline NOTIFY(p, own) {
  atomic {
    begun[p]++;
    early = (iph == 0 || (iph == 1 && own));
  }
  STOPPOINT;
  if
  :: !early -> res = 0
  :: else ->
     atomic {
       if
       :: sC -> act = 0
       :: !sC && !sP && !sQ -> gen++; mygen = gen; sP = 1; sQ = 1; sU = 0; sT = 0; act = 1
       :: !sC && (sP || sQ) ->
          sP = 1; sT = 1; act = 2;
#ifdef BUG_NO_SWEEP_REQUEST
          needsweep = 0
#else
          needsweep = !(sQ && sU)
#endif
       fi
     }
     STOPPOINT;
     if
     :: act == 0 -> res = 0
     :: act == 1 ->
#ifdef BUG_U_BEFORE_PUSH
        atomic { if :: sQ && gen == mygen -> sU = 1 :: else -> skip fi }
        STOPPOINT;
#endif
        /* mailbox::push of the node (refusable) */
        atomic {
          if
          :: (iph == 0 || (iph == 1 && own)) ->
             assert(!in_node && !rd_node);   /* N3 */
             in_node = 1; iN = 1; sawS = iS; res = 1;
             assert(!worker_done)            /* N2 */
          :: else -> res = 0; sawS = 0
          fi
        }
        STOPPOINT;
        if
        :: res ->
           if :: sawS -> WAKE() :: else -> skip fi;
           STOPPOINT;
           atomic {
#ifdef BUG_NO_GEN
             if :: sQ -> sU = 1 :: else -> skip fi
#else
             if :: sQ && gen == mygen -> sU = 1 :: else -> skip fi
#endif
             owed[p] = begun[p]   /* returns true: owed from here on (a stopped call owes nothing) */
           }
        :: else ->
           atomic {
#ifdef BUG_UNDO_IGNORES_T
             sP = 0;
#else
             if :: sT -> skip :: else -> sP = 0 fi;
#endif
             sQ = 0
           }
        fi
     :: act == 2 ->
        if
        :: needsweep ->
           sweep_wanted = 1;
           STOPPOINT;
           atomic { iN = 1; sawS = iS }   /* inbox_.fetch_or(N) */
           STOPPOINT;
           if :: sawS -> WAKE() :: else -> skip fi
        :: else -> skip
        fi;
        STOPPOINT;
        atomic {
#ifdef BUG_NO_RECHECK
          res = early;
#else
          res = (iph == 0 || (iph == 1 && own));
#endif
          if
          :: res -> owed[p] = begun[p]; assert(!worker_done)   /* N2 */
          :: else -> skip
          fi
        }
     fi
  fi
}

/* Running f (core::run_one of the node or of the sweep node). */
inline RUN_F() {
  assert(!running);   /* N3: runs never overlap */
  running = 1;
#if OWN
  if
  :: !ran_own -> ran_own = 1; NOTIFY(NP, 1)
  :: else -> skip
  fi;
#endif
  running = 0
}

inline DRAIN() {
  atomic {
    if
    :: in_node || in_clean || iN ->
       rd_node = rd_node || in_node; rd_clean = rd_clean || in_clean;
       in_node = 0; in_clean = 0; iN = 0; iS = 0
    :: else -> skip
    fi
  }
}

#define CANDIDATE (sP && !(sQ && sU) && !sC)

proctype worker() {
  bit ds = 0;        /* draining_seen_ */
  bit go = 0;
  bit closed = 0;
  byte s_ph; bit s_S; bit s_N; bit s_n; bit s_c;   /* the word as last read (`seen`) */
  byte i;
  /* locals of the own-thread NOTIFY (OWN) */
  bit early; bit res; bit sawS; bit needsweep; byte act; byte mygen; bit ran_own = 0;
  byte p = NP;

loop:
  if :: iph != 0 -> ds = 1 :: else -> skip fi;
  /* mailbox::pop_locked: drain when the FIFO is empty; then the sweep request */
#ifdef BUG_SWEEP_BEFORE_DRAIN
  if
  :: sweep_wanted -> sweep_wanted = 0;
     atomic { if :: CANDIDATE && !rd_sweep -> rd_sweep = 1 :: else -> skip fi }
  :: else -> skip
  fi;
  if :: !rd_node && !rd_sweep && !rd_clean -> DRAIN() :: else -> skip fi;
#else
  if :: !rd_node && !rd_sweep && !rd_clean -> DRAIN() :: else -> skip fi;
  if
  :: sweep_wanted -> sweep_wanted = 0;
     atomic { if :: CANDIDATE && !rd_sweep -> rd_sweep = 1 :: else -> skip fi }
  :: else -> skip
  fi;
#endif
  if
  :: rd_node ->
     rd_node = 0;
     atomic {   /* the node's run: the pop claim */
#ifdef BUG_CLAIM_IGNORES_C
       go = sP;
#else
       go = sP && !sC;
#endif
       if :: go -> assert(!sC); COVER() :: else -> skip fi;   /* N4: no start once reset began */
#ifdef BUG_POP_KEEPS_Q
       sP = 0; sT = 0
#else
       sP = 0; sT = 0; sQ = 0; sU = 0
#endif
     }
     if :: go -> RUN_F() :: else -> skip fi;
     goto loop
  :: rd_sweep ->
     rd_sweep = 0;
     atomic {   /* the sweep node's run: claims a run whose node is not known queued */
       go = CANDIDATE;
       if :: go -> assert(!sC); sP = 0; sT = 0; COVER() :: else -> skip fi
     }
     if :: go -> RUN_F() :: else -> skip fi;
     goto loop
  :: rd_clean ->
     rd_clean = 0;
     /* reset's cleanup, on the thread: drain, unlink, unregister, destroy */
#ifndef BUG_RESET_NO_DRAIN
     DRAIN();
#endif
#ifndef BUG_RESET_NO_UNLINK
     rd_node = 0; rd_sweep = 0;
#endif
     registered = 0; assert(!destroyed); destroyed = 1;
     clean_done = 1;
     goto loop
  :: else -> skip
  fi;
  /* nothing taken: core::next_task's close, or wait_for_work_locked */
  if
#ifdef BUG_CLOSE_IGNORES_SWEEP
  :: ds && !in_node && !in_clean ->
#else
  :: ds && !in_node && !in_clean && !sweep_wanted ->
#endif
     atomic {   /* try_close_locked: CAS from a word with no node */
       if :: !in_node && !in_clean -> iph = 2; iS = 0; iN = 0; closed = 1
          :: else -> closed = 0
       fi
     }
     if :: closed -> goto final :: else -> goto loop fi
  :: else -> skip
  fi;
  atomic { s_ph = iph; s_S = iS; s_N = iN; s_n = in_node; s_c = in_clean }
  /* the spin (abstracted), then the re-check: join unseen, FIFO filled, a sweep asked
   * for (a notifier stopped between sweep_wanted_ and its N must not keep a draining
   * worker asleep: it would never close), word changed */
  if
#ifdef BUG_SLEEP_IGNORES_SWEEP
  :: (!ds && iph != 0) || rd_node || rd_sweep || rd_clean -> goto loop
#else
  :: (!ds && iph != 0) || rd_node || rd_sweep || rd_clean || sweep_wanted -> goto loop
#endif
  :: else -> skip
  fi;
  atomic {   /* prepare_sleep_locked: CAS seen -> seen|S, refused when N or a node */
    if
#ifdef BUG_SLEEP_WITH_N
    :: s_ph == iph && s_S == iS && s_N == iN && s_n == in_node && s_c == in_clean &&
       !in_node && !in_clean ->
#else
    :: s_ph == iph && s_S == iS && s_N == iN && s_n == in_node && s_c == in_clean &&
       !in_node && !in_clean && !iN ->
#endif
       iS = 1; s_S = 1; go = 1
    :: else -> go = 0
    fi
  }
  if :: !go -> goto loop :: else -> skip fi;
  atomic {   /* futex_wait(&inbox_, seen|S): compare and sleep in one step */
    if
    :: s_ph == iph && iS && s_N == iN && !in_node && !in_clean -> wwait = 1
    :: else -> skip
    fi
  }
  if
  :: wwait == 0 -> skip
  :: atomic { spur < SPUR && wwait == 1 -> spur++; wwait = 0 }
  fi;
  atomic { if :: iS && !in_node && !in_clean -> iS = 0 :: else -> skip fi }   /* end_sleep_locked */
  goto loop;
halt:   /* (STOPPOINT's target; the thread itself never stops) */
  assert(false);

final:
#if FINAL_SWEEP
  atomic {
    go = CANDIDATE;
    if :: go -> sP = 0; sT = 0; COVER() :: else -> skip fi
  }
  if :: go -> RUN_F() :: else -> skip fi;
#endif
  /* after the close: destroy every registered notifier's callable (C, then D) */
  if
  :: registered -> registered = 0; sC = 1; assert(!destroyed); destroyed = 1
  :: else -> skip
  fi;
  atomic {
    worker_done = 1;
    i = 0;
    do
    :: i < NCALLERS -> assert(covered[i] >= owed[i]); i++   /* N1 */
    :: else -> break
    od
  }
}

proctype notifier_thread(byte p) {
  bit early; bit res; bit sawS; bit needsweep; byte act; byte mygen;
  byte k = 0;
  do
  :: k < NK -> NOTIFY(p, 0); k++
  :: else -> break
  od;
  finished++;
  goto out;
halt:
end_halt:
  (false);   /* stopped for ever: a valid end state */
out:
  skip
}

proctype resetter() {
  bit ok; bit sawS; byte i;
  (finished + stopped == NP);   /* the handle is not used by two threads at once */
  atomic {                      /* state_.fetch_or(C): pending runs are withdrawn */
    sC = 1;
    i = 0;
    do
    :: i < NCALLERS -> covered[i] = begun[i]; i++
    :: else -> break
    od
  }
  atomic {                      /* the cleanup task: a blocking submit (refusable) */
    if
    :: iph == 0 -> in_clean = 1; iN = 1; sawS = iS; ok = 1
    :: else -> ok = 0; sawS = 0
    fi
  }
  if
  :: ok -> if :: sawS -> WAKE() :: else -> skip fi; (clean_done == 1)
  :: else -> (destroyed == 1)   /* join's destruction pass */
  fi;
  atomic {
    assert(destroyed && !registered);               /* N4 */
    assert(!in_node && !rd_node && !rd_sweep);      /* N4: no queue holds the node */
    reset_done = 1
  }
}

proctype joiner() {
  bit sawS;
#if JOIN == 1 || JOIN == 2
#if JOIN == 2
  if
  :: skip
  :: true ->
#endif
     (finished + stopped == NP);
     ALL_COVERED;   /* N1 without join's help */
#if JOIN == 2
  fi;
#endif
#endif
  atomic { if :: iph == 0 -> iph = 1; sawS = iS :: else -> sawS = 0 fi }   /* stop_accepting */
  if :: sawS -> WAKE() :: else -> skip fi;
  (worker_done)
}

init {
  byte j = 0;
  atomic {
    run worker();
    do
    :: j < NP -> run notifier_thread(j); j++
    :: else -> break
    od;
#if RESET
    run resetter();
#endif
    run joiner()
  }
}
