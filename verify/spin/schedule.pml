/* SPDX-License-Identifier: MIT */
/*
 * schedule.pml — a Spin (Promela) model of the P2300 scheduler's operation state
 * (include/ste/execution.hpp, docs/design.md §20): one `schedule(ste::scheduler)`
 * operation between the thread that starts it, the thread that requests a stop, the
 * ste thread's worker and, optionally, a joiner.  The operation state IS the queue node,
 * and its receiver may destroy it inside any completion.  Run it with verify/run (which
 * also runs the seeded bugs); see verify/README.md §1g.
 *
 * What is modelled (each step names the C++ it stands for):
 *   - the starter S, schedule_operation::start():
 *       S1 `token.stop_requested()` already: set_stopped at once;
 *       S2 `callback_.emplace(token, on_stop{this})`: registration; if the stop was
 *          already requested it runs the callback synchronously, here, on S;
 *       S3 `core_->accept(*this)`: mailbox::link_task, one CAS pushing the node onto the
 *          inbox chain, refused once join closed the inbox; refused: `callback_.reset()`
 *          then set_error(stopped_error);
 *       after a successful accept S touches nothing (the operation may be gone).
 *   - the requester R, inplace_stop_source::request_stop(): the flag, then the
 *     registered callback if it has neither run nor been deregistered, on R.  R may also
 *     never ask (NOSTOP choice).
 *   - the callback, withdraw_on_stop(): core::withdraw = mailbox::withdraw under the desk
 *     (drain the inbox chain into the FIFO, then unlink the node if still linked); true:
 *     set_stopped; false: nothing more.
 *   - the worker W: under the desk, core::next_task (drain, pop = "started"), then
 *     outside it schedule_operation::run: `callback_.reset()` (waits while the callback
 *     runs on another thread; a callback that has not run never will), then
 *     set_stopped if `stop_requested()`, else set_value.
 *   - the joiner J (JOIN=1): mailbox::stop_accepting at any moment: a later accept is
 *     refused.  The worker still takes what was linked before (join drains).
 *   - the receiver: every completion destroys the operation at once (`freed`): the most
 *     demanding receiver, as sync_wait's and when_any's can be.
 *
 * Stop-callback semantics (std::stop_callback, stdexec::inplace_stop_callback): runs at
 * most once; a registration after the stop runs it in the registering thread; a
 * deregistration from another thread waits for a running callback to return; one of a
 * callback that has not run prevents it from running.
 *
 * Properties (assertions; an invalid end state is a thread stuck for ever):
 *   P1 the receiver is completed exactly once (`ncomp==0` at each completion; 1 at the
 *      end);
 *   P2 nobody touches the operation (node, callback, receiver) after it was destroyed:
 *      `assert(!freed)` on every access by S, R's callback and W;
 *   P3 a withdrawn node is never run, a run node never withdrawn;
 *   P4 a stop requested before the worker started the node ends in set_stopped (or in
 *      set_error, when the push was refused);
 *   P5 no thread is stuck (end states), and the worker takes every node linked.
 */

#define NONE    0
#define REG     1
#define RUNNING 2
#define RAN     3
#define DEREG   4

#define VALUE   1
#define STOPPED 2
#define ERROR   3

#ifndef JOIN
#define JOIN 1
#endif

bool stopreq = 0;        /* the stop source's flag */
byte cb = NONE;          /* the stop callback's registration */
byte runner = 0;         /* who runs it: 1 = S, 2 = R */

bool chain = 0;          /* the node is in the inbox chain (pushed, not drained) */
bool fifo = 0;           /* the node is in the worker-side FIFO (drained, linked) */
bool popped = 0;         /* the worker unlinked it: started */
bool withdrawn = 0;      /* a withdrawal unlinked it */
bool stopbp = 0;         /* the stop was requested when the worker popped it */
bool closed = 0;         /* join's phase change: pushes refused */
bool desk = 0;           /* the desk mutex */
bool sdone = 0;          /* S returned from start() */

byte ncomp = 0;          /* completions */
byte how = 0;            /* the first completion */
bool freed = 0;          /* the receiver destroyed the operation */

/* A completion: the receiver destroys the operation at once. */
inline complete(kind) {
  atomic {
    assert(!freed);
    assert(ncomp == 0);
    ncomp++;
    how = kind;
    freed = 1
  }
}

/* mailbox::withdraw under the desk, then set_stopped if it unlinked the node. */
inline withdraw_on_stop() {
  assert(!freed);                      /* reads core_ and the node */
  atomic { desk == 0 -> desk = 1 }
  assert(!freed);
#ifdef BUG_NO_DRAIN
  /* seeded: no drain; a node still in the chain taken for withdrawn, left there */
  if
  :: chain -> res = 1
  :: fifo -> fifo = 0; withdrawn = 1; res = 1
  :: else -> res = 0
  fi;
#else
  if
  :: chain -> chain = 0; fifo = 1     /* drain_locked */
  :: else -> skip
  fi;
  if
  :: fifo -> fifo = 0; withdrawn = 1; res = 1
  :: else -> res = 0
  fi;
#endif
  desk = 0;
#ifdef BUG_COMPLETE_ON_FALSE
  complete(STOPPED)                    /* seeded: completes whatever withdraw said */
#else
  if
  :: res -> complete(STOPPED)
  :: else -> skip
  fi
#endif
}

/* callback_.reset() from thread `me`: waits while another thread runs the callback. */
inline deregister() {
  atomic {
    (cb != RUNNING) ->
    if
    :: cb == REG -> cb = DEREG
    :: else -> skip
    fi
  }
}

inline register() {
  atomic {
    assert(!freed);
    if
    :: stopreq -> cb = RUNNING; runner = 1   /* registered after the stop: runs here */
    :: else -> cb = REG
    fi
  };
  if
  :: runner == 1 -> withdraw_on_stop(); cb = RAN
  :: else -> skip
  fi
}

inline accept() {
  atomic {
    assert(!freed);
    if
    :: closed -> refused = 1
    :: else -> chain = 1                     /* the CAS: linked */
    fi
  }
}

proctype Starter() {
  bool res = 0;
  bool refused = 0;
  /* S1 */
  atomic {
    assert(!freed);
    if
    :: stopreq -> skip
    :: else -> goto s2
    fi
  };
  complete(STOPPED);
  goto sdone_;
s2:
#ifdef BUG_REGISTER_AFTER
  accept();                              /* seeded: the push before the registration */
  if
  :: refused -> complete(ERROR); goto sdone_
  :: else -> skip
  fi;
  register();
#else
  register();
  accept();
  if
  :: refused -> deregister(); complete(ERROR)
  :: else -> skip                        /* from here on S touches nothing */
  fi;
#endif
sdone_:
  sdone = 1
}

proctype Requester() {
  bool res = 0;
  bool mine = 0;
  if
  :: skip                                /* never asks */
  :: atomic {
       stopreq = 1;
       if
       :: cb == REG -> cb = RUNNING; runner = 2; mine = 1
       :: else -> skip
       fi
     };
     if
     :: mine -> withdraw_on_stop(); cb = RAN
     :: else -> skip
     fi
  fi
}

proctype Joiner() {
  closed = 1
}

proctype Worker() {
  /* core::next_task: under the desk, drain then pop. */
  do
  :: atomic { desk == 0 && (chain || fifo) -> desk = 1 };
     if
     :: chain -> assert(!freed); chain = 0; fifo = 1
     :: else -> skip
     fi;
     if
     :: fifo -> assert(!freed); fifo = 0; popped = 1; stopbp = stopreq
     :: else -> skip
     fi;
#ifdef BUG_RUN_UNDER_DESK
     if
     :: popped -> goto wrun                /* seeded: runs the task holding the desk */
     :: else -> skip
     fi;
#endif
     desk = 0;
     if
     :: popped -> goto wrun
     :: else -> skip
     fi
  :: atomic { sdone && !chain && !fifo -> goto wend }  /* nothing linked any more */
  od;
wrun:
  /* schedule_operation::run */
  assert(!freed);
#ifndef BUG_NO_DEREG
  deregister();
#endif
  assert(!freed);
#ifdef BUG_NO_STOP_CHECK
  complete(VALUE);
#else
  if
  :: stopreq -> complete(STOPPED)
  :: else -> complete(VALUE)
  fi;
#endif
#ifdef BUG_RUN_UNDER_DESK
  desk = 0;
#endif
wend:
  skip
}

init {
  atomic {
    run Starter();
    run Requester();
    run Worker();
#if JOIN
    run Joiner();
#endif
  };
  (_nr_pr == 1);
  /* P1, P5: exactly one completion; P3; P4 */
  assert(ncomp == 1);
  assert(!(popped && withdrawn));
  assert(!popped || !stopbp || how == STOPPED);
  assert(!chain && !fifo)
}
