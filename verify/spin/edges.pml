/* SPDX-License-Identifier: MIT */
/*
 * edges.pml — a Spin (Promela) model of the deadlock edges WITHOUT the edge mutex on
 * the common path: the protocol the next change to src/deadlock.cpp is to implement
 * (issue 12: "No lock on the way in" for a submit from one ste thread to another).
 * TODAY'S CODE STILL TAKES THE EDGE MUTEX for every edge; this model comes first, as
 * verify/README.md asks of a protocol change. verify/README.md §1h has the properties,
 * the seeded bugs and what the model leaves out.
 *
 * The protocol (task-kind edges: submit, destroy, make_bound, block_on from a ste thread):
 *   wait_edge(target), on ste thread i:
 *     P  publish: edge[i] = target                         (seq_cst store)
 *     C  check:   e = edge[target]                         (seq_cst load)
 *        e == none: no cycle through target now; wait (no lock at all).
 *        else the slow path:
 *     S  walkers++ (seq_cst), lock the edge mutex, walk from target (every edge a seq_cst
 *        load), unlock, walkers--. Reaching i: a cycle; retract (below) and throw
 *        deadlock_error.
 *   ~wait_edge (the wait ended, or the throw):
 *     R  edge[i] = none (seq_cst), then if walkers != 0 (seq_cst load): lock and unlock
 *        the edge mutex (wait for the walk in progress), then let go of the target.
 * Why it works:
 *   - Detection (D1): of the edges of a cycle, the one published last in the total
 *     order S has a check that reads after every other publication: its check sees its
 *     target's edge (not none), so it walks, and its walk sees the whole cycle (edges
 *     are cleared only by threads whose wait ended or that threw).
 *   - Lifetime (W1): a walk reaches core c only through an edge x -> c it read after
 *     its walkers++ (the walk starts again from its own target, held by its own
 *     handle). x clears that edge after the read (else the walk would not have read
 *     it), so x's walkers load comes after the walk's increment in S and sees it: x
 *     waits for the edge mutex, which the walk holds until it has read everything, and
 *     only then lets go of c.
 *
 * What is modelled: NT ste threads (2..4); thread i waits on tgt[i] (chosen by init
 * among all graphs: none or one other thread each) at most once; a wait ends once its
 * target is not waiting itself (its edge is none: its worker is free to run the task);
 * a thread ends once nobody holds its core (holds[i] == 0), and its core is destroyed
 * then (alive[i] = 0). A waiter holds its target from before P until after R (its
 * handle). Every statement is one atomic step (sequentially consistent, as the seq_cst
 * operations above are).
 * Left out (the next change must still cover them, see verify/README.md §1h): close
 * edges (join) and the comeback hop of a walk (they keep the edge mutex), the blocked
 * list's replacement by the registry of live cores, the fork child.
 *
 * Seeded bugs (-D...), each must fail:
 *   BUG_CHECK_FIRST        C before P                       -> invalid end state (D1)
 *   BUG_NO_HANDSHAKE       R without the walkers check      -> assert alive (W1)
 *   BUG_CLEAR_AFTER_LOOK   R reads walkers before clearing  -> assert alive (W1)
 *   BUG_WALK_FROM_CHECK    the walk starts from C's value   -> assert alive (W1)
 */

#ifndef NT
#define NT 3
#endif
#define NONE 255

byte tgt[NT];      /* the configuration: whom thread i waits on, or NONE */
byte edge[NT];     /* wait_state::edge of core i: the core it waits on, or NONE */
byte walkers;      /* walks in progress (they read other cores' edges) */
bool mutex_held;   /* the edge mutex */
byte holds[NT];    /* waiters holding core i (their handles) */
bool alive[NT];    /* core i not destroyed */
bool threw[NT];    /* thread i's wait_edge threw deadlock_error */
bool ready;        /* init chose the configuration */

inline lock_mutex() { atomic { !mutex_held -> mutex_held = 1 } }
inline unlock_mutex() { mutex_held = 0 }

proctype ste_thread(byte i) {
  byte t, e, c, hops;
  bool cycle, saw;
  ready;
  t = tgt[i];
  if
  :: t == NONE -> goto serve
  :: else -> skip
  fi;

  /* --- wait_edge(t) --- */
#ifdef BUG_CHECK_FIRST
  e = edge[t];          /* C */
  edge[i] = t;          /* P */
#else
  edge[i] = t;          /* P: publish first */
  e = edge[t];          /* C */
#endif
  if
  :: e == NONE -> goto waiting   /* the fast path: no lock */
  :: else -> skip
  fi;
  /* S: the slow path */
#ifdef BUG_WALK_FROM_CHECK
  c = e;                /* BUG: starts from the value C read, before walkers++ */
  walkers++;
  lock_mutex();
  hops = 1;
#else
  walkers++;
  lock_mutex();
  c = t;                /* from its own target: held by its own handle */
  hops = 0;
#endif
  cycle = 0;
  do
  :: c == i -> cycle = 1; break
  :: c != i && hops > NT -> break
  :: c != i && hops <= NT ->
       assert(alive[c]);   /* W1: a walk reads only live cores */
       e = edge[c];
       if
       :: e == NONE -> break
       :: else -> c = e; hops++
       fi
  od;
  unlock_mutex();
  walkers--;
  if
  :: cycle -> threw[i] = 1; goto retract
  :: else -> skip
  fi;

waiting:
  /* the wait: t's worker runs our task once it is not waiting itself */
  edge[t] == NONE;

retract:
  /* --- ~wait_edge --- R */
#ifdef BUG_CLEAR_AFTER_LOOK
  saw = (walkers != 0);
  edge[i] = NONE;
  if
  :: saw -> lock_mutex(); unlock_mutex()
  :: else -> skip
  fi;
#else
  edge[i] = NONE;
#ifndef BUG_NO_HANDSHAKE
  if
  :: walkers != 0 -> lock_mutex(); unlock_mutex()
  :: else -> skip
  fi;
#endif
#endif
  holds[t]--;           /* the handle goes: t may be destroyed from here on */

serve:
  /* the worker runs others' tasks until nobody holds its core; then the core goes */
  holds[i] == 0;
  alive[i] = 0
}

init {
  byte i, j;
  atomic {
    i = 0;
    do
    :: i < NT ->
         edge[i] = NONE;
         alive[i] = 1;
         /* tgt[i]: NONE or any other thread */
         j = 0;
         if
         :: tgt[i] = NONE
         :: true ->
              do
              :: j < NT && j != i -> tgt[i] = j; break
              :: j < NT -> j++
              :: j >= NT -> tgt[i] = NONE; break
              od
         fi;
         i++
    :: i >= NT -> break
    od;
    i = 0;
    do
    :: i < NT ->
         if
         :: tgt[i] != NONE -> holds[tgt[i]]++
         :: else -> skip
         fi;
         i++
    :: i >= NT -> break
    od;
    i = 0;
    do
    :: i < NT -> run ste_thread(i); i++
    :: i >= NT -> break
    od;
    ready = 1
  }
}
