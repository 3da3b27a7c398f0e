/* SPDX-License-Identifier: MIT */
/*
 * fork.pml — a Spin (Promela) model of what fork() does to ste (src/process.cpp,
 * include/ste/detail/process.hpp, mailbox::close_in_child, core::inherit_in_child).
 * Run it with verify/run (which also runs the seeded bugs); see verify/README.md §1f.
 *
 * fork() copies the process with one thread in it, the caller; every lock in the copy
 * is as it was at that instant, possibly held by a thread that does not exist in the
 * child and so never lets go.  The pthread_atfork handlers:
 *   prepare (the forking thread): edge_mutex().lock(); the_registry().lock.lock();
 *   parent:                        registry unlock; edge unlock;
 *   child (its only thread):       for every registered core c.inherit_in_child()
 *                                  (inherited_ = true; mailbox::close_in_child: the
 *                                  inbox word stored = phase closed, cause fork; the
 *                                  core kept alive); forget_blocked_in_child();
 *                                  forget_watchdog_in_child() (a new watchdog);
 *                                  forget_current_core_in_child(); registry unlock;
 *                                  edge unlock.
 *
 * The parent's threads, racing the fork in every interleaving:
 *   - T0, the worker of core 0: a desk section, then a task on it that joins core 1
 *     (core::join: the join mutex L1, then wait_edge(core 1, close): the edge mutex E,
 *     then under it core 1's desk (count_close_waiter, and the walk's
 *     comebacks_lead_to -> unstarted_comeback_targets), its edge recorded (waits[0] =
 *     {1, close}, in the blocked list), E released; mailbox::stop_accepting (core 1
 *     draining); it waits for core 1 to end; ~wait_edge: E, clear, core 1's desk
 *     (uncount_close_waiter), E released; L1 released), then a desk section.
 *   - T1, the worker of core 1: NDESK desk sections (lock, unlock D1: next_task, a
 *     withdrawal, ...), then it closes and its thread_end unwatches (the watchdog's
 *     mutex WD).
 *   - C: makes core 2 (register_core: the registry mutex R) and destroys it
 *     (unregister_core: R).
 *   - X: holds the edge mutex while the last handle of core 3 goes, so that ~core
 *     unregisters under it: E then R, the order process.cpp declares ("the edge mutex
 *     first ... the registry's holder takes nothing else").
 *   - the watchdog's own thread: a section under WD.
 *   - F, the forking thread (a plain thread): prepare, the fork, the parent handler.
 * The fork copies, in one step, every lock owner, every core's registration, inbox
 * phase and wait edge; the child process (proctype child) then runs on that copy
 * alone: a lock owned by a thread other than F there is owned by a thread that does not
 * exist, and taking it never succeeds (a plain mutex never becomes free; for a
 * priority-inheriting one, such as a desk, glibc 2.36 was seen to abort the child in
 * pthread_mutex_lock: "The futex facility returned an unexpected error code").  The
 * model blocks there: either way the child does not go on.
 *
 * The child's thread, after the handler, does what a child may do with what it
 * inherited (in this order; one thread):
 *   - for every core registered at the fork (a handle to it may be in the child; a
 *     core gets registered before its first handle exists and unregistered after its
 *     last is gone): a hand-off (mailbox::push from a plain thread: refused by the
 *     phase, or accepted and then waiting for a worker that does not exist), and
 *     join() (returns at once when inherited_, else the join mutex and the OS thread);
 *   - makes a new ste thread N (register_core: R; watch: the new watchdog's WD);
 *   - a task on N hands off to a new ste thread M (wait_edge: E, a walk over new cores);
 *   - CHILDSTE=1: a task on N hands off to every inherited core: submit_and_wait's
 *     wait_edge(c, task) walks from c along the wait edges copied from the parent
 *     (leads_to), taking the desk of every core the walk reaches through a close edge
 *     (comebacks_lead_to); then the push is refused;
 *   - N's thread ends (unregister_core: R).
 *
 * Properties (Spin's default safety search: assertions and invalid end states):
 *   K1 no deadlock in the parent: every parent thread finishes (the locks the prepare
 *      handler takes, in its order, against every other nesting of E and R);
 *   K2 the child never blocks on a lock held by a thread that does not exist: E, R and
 *      WD are free after the handler (the child takes each again), and nothing the child
 *      does takes an inherited core's desk or join mutex;
 *   K3 every inherited core refuses a hand-off from the child (its word is closed: the
 *      hand-off would otherwise wait for ever for a worker that is not there);
 *   K4 join() of an inherited core returns at once.
 *   K2-K4 fail as a child thread that never ends: an invalid end state.
 *
 * Abstractions: a mutex is its owner (0 free); lock = wait until free, then own; a
 * mutex's own futex and a thread's place inside its lock() call are one step (a thread
 * blocked in lock() at the fork does not exist in the child and owns nothing).  Only the
 * locks are modelled, not what they guard (the registry list is a bit per core, the
 * blocked list and wait edges what the walk reads).  Desk sections are one lock and one
 * unlock (what is inside them is ste.pml's).  The thread-local current core is not
 * modelled (no lock): the child's join of an inherited core returns before its
 * is_current() check.
 *
 * Finding X2 (verify/README.md §1f): forget_blocked_in_child() empties the blocked list
 * but leaves each blocked core's wait_state (waiting_on, kind) as it was.  With
 * CHILDSTE=1 the walk of a ste thread made in the child follows T0's stale close edge
 * into core 1 and takes core 1's desk, which T1 (gone) may hold: the child blocks.
 * -DFIX_FORGET_EDGES clears the edges of the blocked threads in the child handler (what
 * the code would need); the model then passes.
 *
 * Seeded bugs (each must make Spin fail; verify/run):
 *   BUG_PREPARE_ONLY_EDGE      prepare takes the edge mutex only: R held by C or X at
 *                              the fork, the child's register_core blocks          -> K2
 *   BUG_PREPARE_ONLY_REGISTRY  prepare takes the registry mutex only: E held by T0 or
 *                              X at the fork, the child's wait_edge blocks          -> K2
 *   BUG_PREPARE_WRONG_ORDER    prepare takes R, then E: deadlock with X (E, then R) -> K1
 *   BUG_CHILD_NO_CLOSE         inherit_in_child sets inherited_ but leaves the word:
 *                              the child's hand-off is accepted and waits           -> K3
 *   BUG_CHILD_KEEPS_WATCHDOG   no new watchdog in the child: its mutex may be held by
 *                              the parent's watchdog thread or T1's unwatch         -> K2
 *   BUG_CHILD_JOIN_WAITS       join() ignores inherited_: the join mutex (T0 may hold
 *                              L1) and the OS thread, which is gone                  -> K4
 */

#ifndef NDESK
#define NDESK 2       /* T1's desk sections */
#endif
#ifndef CHILDSTE
#define CHILDSTE 0    /* 1: a ste thread made in the child hands off to inherited cores */
#endif

#define NC 4          /* cores 0..3 */
#define NONE 255
#define K_TASK  0     /* wait_kind::task */
#define K_CLOSE 1     /* wait_kind::close */
#define RUNNING  0
#define DRAINING 1
#define CLOSED   2

/* thread ids (lock owners); 0 = free */
#define F   1         /* the forking thread: the child's only thread */
#define T0  2
#define T1  3
#define TC  4
#define TX  5
#define TW  6         /* the watchdog's thread */

/* ---- the parent process ------------------------------------------------------------ */
byte E;               /* edge_mutex() */
byte R;               /* the_registry().lock */
byte WD;              /* the watchdog's mutex */
byte D[2];            /* the desks of cores 0 and 1 (cores 2, 3 have no busy worker) */
byte L[2];            /* the join mutexes (lifecycle_.lock()) of cores 0 and 1 */
bit  reg[NC];         /* registered (in the_registry().cores) */
byte ph[NC];          /* the inbox word's phase */
byte won[NC];         /* wait_state::waiting_on (NONE: not waiting) */
bit  wkind[NC];       /* wait_state::kind */
bit  blk[NC];         /* in the blocked list */
bit  t1closed;        /* core 1's worker closed (the end join() waits for) */
bit  forked;
byte ended;           /* parent threads that ran to their end */

/* ---- the child process: the copy made by fork() ------------------------------------ */
byte cE; byte cR; byte cWD; byte cD[2]; byte cL[2];
bit  creg[NC]; byte cph[NC]; byte cwon[NC]; bit cwkind[NC]; bit cblk[NC];
bit  cinh[NC];        /* core::inherited_ */
bit  cdone;           /* the child's thread got to its end */

inline lock(m, me)   { atomic { m == 0 -> m = me } }
inline unlock(m, me) { d_step { assert(m == me); m = 0 } }

/* ================================================================================== */
proctype worker0()
{
  lock(D[0], T0); unlock(D[0], T0);                   /* a desk section (next_task) */
  /* a task on core 0: other.join() -> core::join */
  lock(L[1], T0);                                      /* guard lock(lifecycle_.lock()) */
  lock(E, T0);                                         /* wait_edge: guard(edge_mutex()) */
  lock(D[1], T0); unlock(D[1], T0);                    /* count_close_waiter (desk) */
  lock(D[1], T0); unlock(D[1], T0);                    /* leads_to -> comebacks_lead_to */
  d_step { won[0] = 1; wkind[0] = K_CLOSE; blk[0] = 1 };   /* the edge; blocked.push_back */
  unlock(E, T0);
  d_step { if :: ph[1] == RUNNING -> ph[1] = DRAINING :: else -> skip fi };  /* stop_accepting */
  t1closed;                                            /* lifecycle_.join_locked() */
  lock(E, T0);                                         /* ~wait_edge */
  d_step { won[0] = NONE; wkind[0] = K_TASK; blk[0] = 0 };
  lock(D[1], T0); unlock(D[1], T0);                    /* uncount_close_waiter (desk) */
  unlock(E, T0);
  unlock(L[1], T0);
  lock(D[0], T0); unlock(D[0], T0);                    /* the next next_task */
  ended++
}

proctype worker1()
{
  byte k = 0;
  do
  :: k < NDESK -> lock(D[1], T1); unlock(D[1], T1); k++   /* desk sections */
  :: k == NDESK -> break
  od;
  /* drained once join() started: the close (a desk section), the postlude */
  ph[1] == DRAINING;
  lock(D[1], T1);
  ph[1] = CLOSED;
  unlock(D[1], T1);
  lock(WD, T1); unlock(WD, T1);                        /* thread_end: unwatch(c) */
  t1closed = 1;
  ended++
}

proctype maker()                                       /* C: core 2 made and destroyed */
{
  lock(R, TC); reg[2] = 1; unlock(R, TC);              /* core::core -> register_core */
  lock(R, TC); reg[2] = 0; unlock(R, TC);              /* core::~core -> unregister_core */
  ended++
}

proctype edge_destroyer()                              /* X: E held, then ~core (R) */
{
  lock(E, TX);
  lock(R, TX); reg[3] = 0; unlock(R, TX);              /* the last handle of core 3 */
  unlock(E, TX);
  ended++
}

proctype watchdog()
{
  lock(WD, TW); unlock(WD, TW);                        /* one round of its loop */
  ended++
}

/* ================================================================================== */
proctype child()
{
  byte c;
  byte hop;
  bit  k;

  /* The child works on the copy only, which no parent thread touches: its steps commute
   * with theirs, so the whole child is one atomic sequence (a lock it finds held
   * blocks it for ever: atomicity is lost there, and it never runs again). */
  atomic {
  /* after_fork_in_child: the registry's cores, each inherit_in_child() */
  d_step {
    c = 0;
    do
    :: c < NC ->
       if
       :: creg[c] ->
          cinh[c] = 1;
#ifndef BUG_CHILD_NO_CLOSE
          cph[c] = CLOSED                              /* mailbox::close_in_child */
#endif
       :: else -> skip
       fi;
       c++
    :: else -> break
    od;
    c = 0;
    do                                                 /* forget_blocked_in_child */
    :: c < NC ->
#ifdef FIX_FORGET_EDGES
       if
       :: cblk[c] -> cwon[c] = NONE; cwkind[c] = K_TASK
       :: else -> skip
       fi;
#endif
       cblk[c] = 0; c++
    :: else -> break
    od;
    c = 0
  };
#ifndef BUG_CHILD_KEEPS_WATCHDOG
  cWD = 0;                                             /* forget_watchdog_in_child: new one */
#endif
#ifndef BUG_PREPARE_ONLY_EDGE
  unlock(cR, F);                                       /* r.lock.unlock() */
#endif
#ifndef BUG_PREPARE_ONLY_REGISTRY
  unlock(cE, F);                                       /* edge_mutex().unlock() */
#endif

  /* What the child does with what it inherited: every core it may hold a handle to. */
  c = 0;
  do
  :: c < NC && !creg[c] -> c++
  :: c < NC && creg[c] ->
     /* a hand-off from this (plain) thread: mailbox::push, refusable, other_thread */
     if
     :: cph[c] == RUNNING -> (0)                       /* accepted: waits for ever (K3) */
     :: else -> skip                                   /* refused: stopped_error */
     fi;
     /* join(): core::join */
#ifdef BUG_CHILD_JOIN_WAITS
     if
     :: c < 2 -> lock(cL[c], F); (0)                   /* the OS thread never ends (K4) */
     :: else -> skip
     fi;
#else
     cinh[c];                                          /* if (inherited_) return; */
#endif
     c++
  :: c == NC -> break
  od;

  /* a new ste thread N: core::core -> register_core; watch() */
  lock(cR, F); unlock(cR, F);
  lock(cWD, F); unlock(cWD, F);
  /* a task on N hands off to another new thread M: wait_edge(M, task) */
  lock(cE, F); unlock(cE, F);
#if CHILDSTE
  /* a task on N hands off to every inherited core: wait_edge(c, task) with self_ = N:
   * leads_to(c, task, N) follows the wait edges; a hop reached through a close edge has
   * its comebacks read under its desk (comebacks_lead_to); then accept() is refused. */
  c = 0;
  do
  :: c < NC && !creg[c] -> c++
  :: c < NC && creg[c] ->
     lock(cE, F);
     hop = c; k = K_TASK;
     do
     :: hop == NONE -> break
     :: hop != NONE ->
        if
        :: k == K_CLOSE && hop < 2 -> lock(cD[hop], F); unlock(cD[hop], F)
        :: else -> skip
        fi;
        k = cwkind[hop]; hop = cwon[hop]
     od;
     unlock(cE, F);
     c++
  :: c == NC -> break
  od;
#endif
  /* N's thread ends, its core goes: unregister_core */
  lock(cR, F); unlock(cR, F);
  cdone = 1
  }
}

/* ================================================================================== */
proctype forker()
{
  byte c;
  /* prepare_fork */
#if defined(BUG_PREPARE_WRONG_ORDER)
  lock(R, F); lock(E, F);
#elif defined(BUG_PREPARE_ONLY_EDGE)
  lock(E, F);
#elif defined(BUG_PREPARE_ONLY_REGISTRY)
  lock(R, F);
#else
  lock(E, F); lock(R, F);
#endif
  /* fork(): the child is a copy of this instant, with this thread only */
  atomic {
    cE = E; cR = R; cWD = WD; cD[0] = D[0]; cD[1] = D[1]; cL[0] = L[0]; cL[1] = L[1];
    c = 0;
    do
    :: c < NC ->
       creg[c] = reg[c]; cph[c] = ph[c]; cwon[c] = won[c]; cwkind[c] = wkind[c];
       cblk[c] = blk[c]; c++
    :: else -> break
    od;
    c = 0;
    forked = 1;
    run child()
  };
  /* after_fork_in_parent */
#if defined(BUG_PREPARE_WRONG_ORDER)
  unlock(E, F); unlock(R, F)
#elif defined(BUG_PREPARE_ONLY_EDGE)
  unlock(E, F)
#elif defined(BUG_PREPARE_ONLY_REGISTRY)
  unlock(R, F)
#else
  unlock(R, F); unlock(E, F)
#endif
  ;
  ended++
}

init
{
  atomic {
    reg[0] = 1; reg[1] = 1; reg[3] = 1;                /* cores 0, 1, 3 live; 2 not yet */
    won[0] = NONE; won[1] = NONE; won[2] = NONE; won[3] = NONE;
    run worker0(); run worker1(); run maker(); run edge_destroyer(); run watchdog();
    run forker()
  };
  /* K1: the parent's threads all end (the invalid-end-state check); the child too. */
  ended == 6 && cdone;
  assert(E == 0 && R == 0 && WD == 0 && D[0] == 0 && D[1] == 0 && L[0] == 0 && L[1] == 0)
}
