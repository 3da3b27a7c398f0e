/* SPDX-License-Identifier: MIT */
/*
 * schedule.pml — a Spin (Promela) model of the stop protocol of the P2300 scheduler's
 * schedule() operation (<ste/execution.hpp>: ste::get_scheduler(thread).schedule()),
 * as the design brief has it (2026-12): the operation state IS the queue node (a
 * task_node in the op state, no allocation), and holds the receiver, an
 * optional<stop_callback> registered on the receiver's stop token and the core
 * pointer.  Run it with verify/run (which also runs the seeded bugs); see
 * verify/README.md §1g.
 *
 * What is modelled (each step names the C++ function it stands for):
 *   - NOPS operation states (1..3), each started by a thread of its own (starter i),
 *     all on one stop source (a when_all of NOPS schedules: one request_stop runs every
 *     registered callback in turn).  start(): (1) get_stop_token(env).stop_requested()
 *     -> set_stopped at once; (2) callback_.emplace(token, on_stop{this}): registered,
 *     or, if stop was already requested, run synchronously right here on the starter;
 *     (3) core->accept(*this) = mailbox::link_task = mailbox::push: one CAS of the inbox
 *     word, refused once join() moved the phase (stopped_error, caught in start()):
 *     then callback_.reset() and set_error(rcvr, stopped_error); (4) after an accepted
 *     push start() touches nothing of the op state.
 *   - on_stop::operator() (the stop callback), on whichever thread runs it:
 *     `if (core->withdraw(*op)) set_stopped(rcvr);` — mailbox::withdraw under the
 *     desk: drain_locked (the chain into the FIFO), then unlink the node if it is
 *     linked (true) or not (false).  After false it touches nothing more.
 *   - the worker (core::next_task / take_work_locked / mailbox::pop_locked under the
 *     desk: drain when the FIFO is empty, pop = "started"; then, without the desk,
 *     run_one -> the node's invoke = the op's run()): (a) callback_.reset(), which
 *     blocks while the callback runs on another thread; (b) stop_requested() ?
 *     set_stopped : set_value.  The close (core::close_if_drained_locked /
 *     mailbox::try_close_locked) once join() started and nothing is queued; then the
 *     worker ends.
 *   - the joiner: core::join -> mailbox::stop_accepting (running -> draining: every
 *     later push from another thread refused) at any moment, then it waits for the
 *     worker's end.
 *   - request_stop(), once, at any moment (or never), on a thread of its own (REQ=1),
 *     from a task on the worker (REQ=2), or either (REQ=3, the default: init chooses).
 *   - the stop state, with the semantics std::stop_source/std::stop_callback
 *     (libstdc++'s _Stop_state_t) and stdexec's inplace_stop_source share:
 *       request_stop: under the state's lock set the flag (a second call returns
 *         false) and take the first registered callback; then, for each one (LIFO:
 *         the latest registered first), mark it running on this thread, unlock, run
 *         it, then — unless it was destroyed during its own run — mark it done
 *         (_M_done.release(): a touch of the callback object, which is in the op
 *         state), re-lock, take the next;
 *       registration: under the lock; if the flag is set, run the callback at once
 *         on the registering thread, not registered;
 *       deregistration (~stop_callback, optional::reset): registered and never run
 *         -> removed, it never runs; running on another thread -> waits until it
 *         returned; running on this thread (destroyed inside its own run) -> no
 *         wait, and the library does not touch it afterwards; ran or removed -> no-op.
 *   - the receiver: any completion may destroy the op state at once (worst case: it
 *     always does).  freed[i] is then set, and every access to op i by anyone — start()
 *     (its own fields, the node before the push), the stop machinery (the callback
 *     object), the callback (op->core, the node's hook in withdraw), the drains and the
 *     pop (the node's hooks), the worker's run() (the callback, the token, the
 *     receiver) — is TOUCH(i): an assertion that it is not freed.
 *   - STALL: the requesting thread may stop for ever (preempted, never scheduled
 *     again) at each of its steps; its stop is a valid end state.  By design the worker
 *     then waits for ever in (a) if it stopped inside a callback of an op the worker
 *     popped (verify/README.md §1g, D1): verify/run checks that this fails.
 *
 * Properties (assertions; an invalid end state is a thread stuck for ever):
 *   E1 exactly one completion (value, stopped or error) per started op: at each
 *      completion none came before; at the end every op has one.
 *   E2 no access to the op state (node, callback, receiver) by anyone after it was
 *      freed (TOUCH on every access, start() after its push included).
 *   E3 every completion happens with the stop callback deregistered, or returned, or
 *      it is the completing thread's own running callback: the receiver's environment,
 *      and its stop token, need only live until the completion (P2300; an
 *      inplace_stop_token has no reference count), and the op state's destruction then
 *      has nothing left to deregister.
 *   E4 one decision under the desk: a withdrawn node is never popped (and so never run
 *      by the worker); withdraw never takes a node the worker popped.
 *   E5 a stop requested before the worker popped the node ends in set_stopped (by the
 *      callback's withdrawal or by (b)); set_value only if no stop came before the pop.
 *   E6 no deadlock: every thread ends (Spin's invalid end states).
 *   E7 no lost operation: when everyone ended (the worker drained and closed), every
 *      started op has completed.
 *   E8 withdraw decides on the node as it is: a callback that runs while the node is
 *      in the inbox chain or the FIFO (accepted, not popped) withdraws it (true) and
 *      completes it itself, without waiting for the worker.
 *   STRICT_PROMPT (by design, must fail: README D2): "every callback finds the node
 *      accepted or popped" — a stop requested between start()'s check (1) and its push
 *      runs the callback (synchronously in (2), or on the requesting thread) on a node
 *      not yet in the inbox: withdraw says false, start() then pushes it, the op waits
 *      in the queue and the worker completes it with set_stopped in (b).
 *
 * Seeded bugs (-D..., each must make Spin fail; verify/run checks which property):
 *   BUG_NO_DEREGISTER            run() skips (a): completes with the callback
 *                                registered (or running elsewhere)               -> E3
 *   BUG_RESET_NO_WAIT            (a) does not wait for a callback running on another
 *                                thread (a hand-made callback list)               -> E3
 *   BUG_REFUSED_NO_RESET         a refused start() calls set_error without
 *                                callback_.reset()                                -> E3
 *   BUG_REGISTER_AFTER_ACCEPT    start() registers the callback after the push: the
 *                                worker's reset may come first, and the op is
 *                                completed and freed under the late callback     -> E3/E2
 *   BUG_NO_STOP_CHECK            run() skips (b): always set_value                  -> E5
 *   BUG_WITHDRAW_NO_UNLINK       withdraw returns true but leaves the node linked   -> E4
 *   BUG_WITHDRAW_NO_DRAIN        withdraw looks in the FIFO only: a node still in the
 *                                chain is "not found" (false)                       -> E8
 *                                (E1-E7 still hold: (b) makes it set_stopped)
 *   BUG_CALLBACK_COMPLETES_ON_FALSE  the callback calls set_stopped after a false
 *                                withdraw too                                      -> E1/E2
 *   BUG_CHECK_BEFORE_RESET       run() reads stop_requested() before (a): SAFE (no
 *                                error expected): a stop after the pop may end in
 *                                set_value either way, and (a) still precedes the
 *                                completion.
 *
 * Variant (README D2): RECHECK — start() reads stop_requested() again after (2) and,
 *   if set, resets the callback (waiting for it if it runs elsewhere) and completes
 *   set_stopped itself without pushing.  E1-E8 hold with it; STRICT_PROMPT still fails
 *   (the window between that read and the push stays).
 *
 * Abstractions:
 *   - The inbox protocol itself (the word's bits, the worker's sleep and wake-ups, FIFO
 *     order, the close CAS, refusal) is ste.pml's (P1-P8): here a push is one step
 *     refused exactly when the phase left running, the node's place is one of
 *     none/chain/FIFO/popped/withdrawn, the worker's idle wait is a blocking guard, the
 *     pop takes the oldest FIFO node (draining first if the FIFO is empty), and a desk
 *     section (withdraw, the pop, the close) is one atomic step (ste.pml's argument).
 *   - The stop state's lock sections are atomic steps; its memory orders, like the
 *     inbox's, are not Spin's (every step here is sequentially consistent).
 *   - The starters are threads other than the worker (a schedule() started on the ste
 *     thread itself during its drain may still push: not modelled); the core outlives
 *     everything (README D4 on its lifetime).
 *   - Local steps are merged into the next visible one.
 */

#ifndef NOPS
#define NOPS 2        /* operation states, 1..3, each started by its own thread */
#endif
#ifndef REQ
#define REQ 3         /* request_stop: 0 never, 1 a thread of its own, 2 a task on the worker, 3 either */
#endif
#ifndef STALL
#define STALL 0       /* 1: the requesting thread may stop for ever at any step */
#endif

#define MAXOPS 3
#define NONE 255
#define W 4           /* the worker's thread id (starter i is thread i) */
#define R 5           /* the requesting thread's id */

/* where the node is (the inbox chain, the FIFO behind the desk) */
#define L_NONE      0
#define L_CHAIN     1
#define L_FIFO      2
#define L_POPPED    3
#define L_WITHDRAWN 4

/* the stop callback (the optional<stop_callback> in the op state) */
#define CB_NONE  0    /* not (yet) constructed */
#define CB_REG   1    /* registered, not run */
#define CB_RUN   2    /* running, on thread cbthr[i] */
#define CB_DONE  3    /* ran and returned */
#define CB_DEREG 4    /* deregistered without running */

/* completions */
#define C_VALUE   1
#define C_STOPPED 2
#define C_ERROR   3

/* ---- the ste thread ----------------------------------------------------------------- */
byte iph = 0;            /* inbox phase: 0 running, 1 draining (join started), 2 closed */
byte loc[MAXOPS];        /* the node's place */
byte pseq[MAXOPS];       /* acceptance order (the FIFO's order) */
byte pushes = 0;
bit withdrawn[MAXOPS];   /* withdraw returned true for it */
bit worker_done = 0;
/* ---- the stop state ------------------------------------------------------------------ */
bit sreq = 0;            /* stop_requested() */
byte cbst[MAXOPS];
byte cbthr[MAXOPS];
byte cbseq[MAXOPS];      /* registration order (LIFO run order) */
byte regs = 0;
bit cbgone[MAXOPS];      /* destroyed during its own run (libstdc++'s _M_destroyed) */
byte reqon = 0;          /* who calls request_stop: 1 the requester thread, 2 a task on the worker */
bit reqdone = 0;
bit rstalled = 0;
/* ---- observation ---------------------------------------------------------------------- */
bit freed[MAXOPS];
byte ncompl[MAXOPS];
byte how[MAXOPS];
bit stopb4pop[MAXOPS];   /* the stop was requested when the worker popped the node */
#ifdef STRICT_PROMPT
bit early[MAXOPS];       /* a withdraw of the node came before its push */
#endif

#define TOUCH(i) assert(!freed[i])

/* A completion: set_value / set_stopped / set_error(stopped_error) on the receiver, by
 * thread `me`; the receiver destroys the op state at once. */
inline COMPLETE(ci, cc, cme) {
  atomic {
    assert(ncompl[ci] == 0);                                            /* E1 */
    assert(!freed[ci]);                                                 /* E2: the receiver */
    assert(cbst[ci] != CB_REG && !(cbst[ci] == CB_RUN && cbthr[ci] != cme)); /* E3 */
    assert(cc != C_VALUE || !stopb4pop[ci]);                             /* E5 */
    /* ~op_state: ~optional<stop_callback>.  Inside its own run on the completing thread: no wait, the
     * library will not touch it afterwards (libstdc++ *_M_destroyed = true). */
    if :: cbst[ci] == CB_RUN && cbthr[ci] == cme -> cbgone[ci] = 1 :: else -> skip fi;
    ncompl[ci]++; how[ci] = cc; freed[ci] = 1
  }
}

/* mailbox::drain_locked: the chain into the FIFO, oldest first (reads inbox_next and
 * writes the hooks of each node).  Inside a desk section. */
inline DRAIN() {
  k = 0;
  do
  :: k < NOPS -> if :: loc[k] == L_CHAIN -> TOUCH(k); loc[k] = L_FIFO :: else -> skip fi; k++
  :: else -> break
  od;
  k = 0
}

/* mailbox::withdraw(*op), under the desk (one step); sets res. */
inline WITHDRAW(wi) {
  atomic {
    TOUCH(wi);   /* op->core_, then the node's hook */
    wasin = (loc[wi] == L_CHAIN || loc[wi] == L_FIFO);
#ifdef STRICT_PROMPT
    if :: loc[wi] == L_NONE -> early[wi] = 1 :: else -> skip fi;   /* before its push */
#endif
#ifndef BUG_WITHDRAW_NO_DRAIN
    DRAIN();
#endif
    if
    :: loc[wi] == L_FIFO ->
#ifndef BUG_WITHDRAW_NO_UNLINK
       loc[wi] = L_WITHDRAWN;
#endif
       withdrawn[wi] = 1; res = 1
    :: else -> res = 0
    fi;
    assert(!wasin || res);   /* E8: accepted and not popped -> withdrawn */
    wasin = 0
  }
}

/* on_stop::operator(): if (core->withdraw(*op)) set_stopped(rcvr); on thread `me`. */
inline CALLBACK(bi, bme) {
  WITHDRAW(bi);
  if
  :: res -> COMPLETE(bi, C_STOPPED, bme)
  :: else ->
#ifdef BUG_CALLBACK_COMPLETES_ON_FALSE
     COMPLETE(bi, C_STOPPED, bme)
#else
     skip   /* touches nothing more */
#endif
  fi;
  res = 0
}

/* The stop machinery after a callback returned: _M_done.release() on the callback
 * object, unless it was destroyed during its run. */
inline CALLBACK_RETURNED(ri) {
  atomic { if :: !cbgone[ri] -> TOUCH(ri); cbst[ri] = CB_DONE :: else -> skip fi }
}

/* Under the stop state's lock: the latest registered callback (LIFO), marked running on
 * `me`; cur = NONE if none is left. */
inline TAKE_CALLBACK(tme) {
  cur = NONE; k = 0;
  do
  :: k < NOPS ->
     if :: cbst[k] == CB_REG && (cur == NONE || cbseq[k] > cbseq[cur]) -> cur = k :: else -> skip fi;
     k++
  :: else -> break
  od;
  k = 0;
  if :: cur != NONE -> TOUCH(cur); cbst[cur] = CB_RUN; cbthr[cur] = tme :: else -> skip fi
}

#if STALL
#define STALLPOINT if :: rme == R && !rstalled -> rstalled = 1; goto halt :: else -> skip fi
#else
#define STALLPOINT skip
#endif

/* stop_source::request_stop() on thread `me` (once in the model). */
inline REQUEST_STOP(rme) {
  atomic {   /* lock; set the flag; take the first callback */
    reqdone = 1;
    if
    :: sreq -> cur = NONE     /* already requested: returns false */
    :: else -> sreq = 1; TAKE_CALLBACK(rme)
    fi
  }
  do
  :: cur != NONE ->
     STALLPOINT;              /* unlocked, about to run it (the worker's (a) now waits) */
     CALLBACK(cur, rme);
     STALLPOINT;              /* the callback returned false, not yet marked done */
     CALLBACK_RETURNED(cur);
     STALLPOINT;
     atomic { TAKE_CALLBACK(rme) }   /* re-lock, the next one */
  :: else -> break
  od
}

/* callback_.reset() / ~stop_callback on thread `me`. */
inline RESET(xi, xme) {
  atomic {
    TOUCH(xi);
    if
    :: cbst[xi] == CB_REG -> cbst[xi] = CB_DEREG; wait = 0   /* removed: it never runs */
    :: cbst[xi] == CB_RUN && cbthr[xi] != xme ->
#ifdef BUG_RESET_NO_WAIT
       wait = 0
#else
       wait = 1
#endif
    :: cbst[xi] == CB_RUN && cbthr[xi] == xme -> assert(false)   /* no reset from inside its own callback here */
    :: else -> wait = 0       /* never constructed, ran, or removed */
    fi
  }
  if
  :: wait -> atomic { cbst[xi] == CB_DONE -> wait = 0 }   /* _M_done.acquire(): until it returned */
  :: else -> skip
  fi
}

/* callback_.emplace(token, on_stop{this}) on thread `me`. */
inline REGISTER(gi, gme) {
  atomic {
    TOUCH(gi);
    if
    :: sreq -> cbst[gi] = CB_RUN; cbthr[gi] = gme; sync = 1   /* stop already requested: runs here */
    :: else -> regs++; cbseq[gi] = regs; cbst[gi] = CB_REG; sync = 0
    fi
  }
  if
  :: sync -> CALLBACK(gi, gme); CALLBACK_RETURNED(gi); sync = 0
  :: else -> skip
  fi
}

/* ---- start() on thread i --------------------------------------------------------------- */
proctype starter(byte i) {
  bit s, res, wait, sync, refused, wasin;
  byte k, cur;

  atomic { TOUCH(i); s = sreq }   /* (1) get_stop_token(get_env(rcvr_)).stop_requested() */
  if
  :: s -> COMPLETE(i, C_STOPPED, i); goto out
  :: else -> skip
  fi;
#ifndef BUG_REGISTER_AFTER_ACCEPT
  REGISTER(i, i);                 /* (2) */
#ifdef RECHECK
  atomic { TOUCH(i); s = sreq }   /* (2') stop_requested() again: the callback ran or runs */
  if
  :: s -> RESET(i, i); COMPLETE(i, C_STOPPED, i); goto out
  :: else -> skip
  fi;
#endif
#endif
  atomic {                        /* (3) core->accept(*this): mailbox::link_task -> push */
    TOUCH(i);                     /* n.comeback, n.inbox_next: written before the CAS */
    if
    :: iph == 0 ->
#ifdef STRICT_PROMPT
       assert(!early[i]);   /* a callback already looked for this node: false */
#endif
       pushes++; pseq[i] = pushes; loc[i] = L_CHAIN; refused = 0
    :: else -> refused = 1        /* stopped_error (nothing pushed), caught in start() */
    fi
  }
#ifdef BUG_REGISTER_AFTER_ACCEPT
  REGISTER(i, i);
#endif
  if
  :: refused ->
#ifndef BUG_REFUSED_NO_RESET
     RESET(i, i);
#endif
     COMPLETE(i, C_ERROR, i)      /* set_error(rcvr, stopped_error) */
  :: else -> skip                 /* (4) accepted: nothing of the op is touched any more */
  fi;
out:
  skip
}

/* ---- the worker ------------------------------------------------------------------------ */
proctype worker() {
  bit s, res, wait, wasin;
  byte k, cur, n;

  do
  :: atomic {   /* core::next_task: take_work_locked -> mailbox::pop_locked, under the desk */
       (loc[0] == L_CHAIN || loc[0] == L_FIFO || loc[1] == L_CHAIN || loc[1] == L_FIFO ||
        loc[2] == L_CHAIN || loc[2] == L_FIFO) ->
       if
       :: loc[0] != L_FIFO && loc[1] != L_FIFO && loc[2] != L_FIFO -> DRAIN()
       :: else -> skip
       fi;
       n = NONE; k = 0;
       do
       :: k < NOPS ->
          if :: loc[k] == L_FIFO && (n == NONE || pseq[k] < pseq[n]) -> n = k :: else -> skip fi;
          k++
       :: else -> break
       od;
       k = 0;
       assert(!withdrawn[n]);   /* E4: a withdrawn node is never popped */
       TOUCH(n);
       loc[n] = L_POPPED;       /* unlinked: "started", a withdrawal fails from here on */
       stopb4pop[n] = sreq
     }
     /* the desk released; run_one -> invoke: the op's run() */
#ifdef BUG_CHECK_BEFORE_RESET
     atomic { TOUCH(n); s = sreq }   /* (b) first ... */
     RESET(n, W);                    /* ... then (a) */
#else
#ifndef BUG_NO_DEREGISTER
     RESET(n, W);                    /* (a) callback_.reset() */
#endif
#ifdef BUG_NO_STOP_CHECK
     TOUCH(n); s = 0;
#else
     atomic { TOUCH(n); s = sreq }   /* (b) stop_requested() */
#endif
#endif
     if
     :: s -> COMPLETE(n, C_STOPPED, W)
     :: else -> COMPLETE(n, C_VALUE, W)
     fi;
     n = NONE; s = 0
  :: reqon == 2 && !reqdone && iph != 2 ->   /* a task on the worker calls request_stop */
     REQUEST_STOP(W)
  :: atomic {   /* core::close_if_drained_locked: join seen, nothing queued -> closed */
       iph == 1 && loc[0] != L_CHAIN && loc[0] != L_FIFO && loc[1] != L_CHAIN &&
       loc[1] != L_FIFO && loc[2] != L_CHAIN && loc[2] != L_FIFO ->
       iph = 2; worker_done = 1
     }
     break
  od;
  goto out;
halt:       /* (STALLPOINT's target; only the requester thread stalls) */
  assert(false);
out:
  skip
}

/* ---- request_stop on a thread of its own -------------------------------------------- */
proctype requester() {
  bit res, wasin;
  byte k, cur;
  byte me = R;

  if
  :: reqon == 1 -> REQUEST_STOP(R)
  :: skip                        /* never requests */
  fi;
  goto out;
halt:
end_halt:
  (false);                       /* stopped for ever: a valid end state */
out:
  skip
}

/* ---- join() ------------------------------------------------------------------------------ */
proctype joiner() {
  atomic { iph == 0 -> iph = 1 }   /* mailbox::stop_accepting: running -> draining */
  (worker_done)                    /* waits for the worker's end */
}

init {
  byte i;
  atomic {
    if
    :: (REQ & 1) -> reqon = 1
    :: (REQ & 2) -> reqon = 2
    :: REQ == 0 -> reqon = 0
    fi;
    i = NOPS; do :: i < MAXOPS -> freed[i] = 1; loc[i] = L_NONE; i++ :: else -> break od;
    run worker(); run requester(); run joiner();
    i = 0; do :: i < NOPS -> run starter(i); i++ :: else -> break od;
    i = 0
  }
  (_nr_pr == 1 + rstalled);   /* everyone ended (a stalled requester excepted) */
  atomic {
    assert(worker_done);
    i = 0;
    do
    :: i < NOPS -> assert(ncompl[i] == 1); i++   /* E1, E7 */
    :: else -> break
    od
  }
}
