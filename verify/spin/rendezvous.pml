/* SPDX-License-Identifier: MIT */
/*
 * rendezvous.pml — a Spin (Promela) model of the task<T> rendezvous, as built:
 * promise_base::start_awaited / finish_awaited (include/ste/task.hpp) and the core calls
 * they make (mailbox::try_announce_comeback / withdraw_comeback / link_comeback, and the worker
 * loop core::next_task, src/mailbox.cpp, src/worker.cpp).  Run it with verify/run; see verify/README.md.
 *
 * Every step names the C++ it stands for as "task.hpp:LINE" / "core.cpp:FUNCTION"
 * (line numbers of include/ste/task.hpp as of commit 77ad714) and quotes the statement.
 *
 * The scene.  A coroutine (the awaiter) on thread A does `co_await t` for a task t.
 * task::awaiter::await_suspend calls start_awaited, which resumes t inside the awaiter's
 * await_suspend (task.hpp:112 `self.resume()`).  t then either
 *   K_INLINE    finishes inside that resume(), on A  (its final suspend marks
 *               kFinishedInline; the awaiter just continues), or
 *   suspends and finishes on another thread F, concurrently with the rest of A's
 *   start_awaited (the window between resume() returning and A's CAS):
 *   K_STE       F = ste thread B, inside its worker loop (t got there, e.g., by
 *               `co_await B.schedule()`): B announces the awaiter's return to itself
 *               (try_announce_comeback) and goes on serving; the awaiter links back_ into B's
 *               queue; B's worker runs it.  A join() of B races all of it.
 *   K_POSTLUDE  F = ste thread B past its worker loop (closed, in its postlude):
 *               try_announce_comeback refuses, so B takes the waiting path below.
 *   K_PLAIN     F = plain thread P: it CASes kFinisherWaiting and sleeps (spin, then
 *               futex) until the awaiter stores kAwaiterSuspended and wakes it.
 * init picks the kind nondeterministically (KINDS restricts it), so one search covers
 * them all.  A finisher running on A itself *after* the awaiter suspended behaves like
 * K_STE/K_PLAIN (its inline test, task.hpp:145, reads kAwaiterSuspended).
 *
 * Lifetime.  `plive` says the task frame -- the promise with rendezvous_, finisher_,
 * continuation_ and back_ -- is alive.  The resumed awaiter destroys it at once
 * (await_resume reads the result, then ~task() -> handle_.destroy()): the worst case,
 * so every later access to the promise by anyone is ACCESS = assert(plive) failing.
 * Waking a futex by address (wake_all(key), wake_one(&wake_word_)) is not an access.
 *
 * Properties (Spin's safety search):
 *   R1 once     : the awaiting coroutine continues exactly once (assert at each
 *                 resumption; resumed == 1 at the end).
 *   R2 lifetime : nobody touches the promise after the awaiter was resumed, i.e. the
 *                 awaiter is never resumed before its await_suspend made its last access
 *                 (ACCESS assertions on every access, by A, by F and by B's worker).
 *   R3 no hang  : no lost wake-up, no deadlock: every process ends (invalid end state
 *                 check; futex waits may return spuriously SPUR times in total).
 *   R4 where    : the awaiter continues on the thread where the task finished
 *                 (assert at each resumption).
 *   R5 open     : nothing is linked into a closed thread: back_ is linked only while B
 *                 is not closed (assert in link_comeback), and B closes only with an
 *                 empty queue and no announced return (asserts at its exit).
 *   R6 no wait  : (-DSTALL) a ste-thread finisher never waits for the awaiter: the
 *                 awaiter may stop for ever at any point between its steps (preempted
 *                 for good); finish_awaited on B must still return -- B's worker may
 *                 then only be idle in its loop (a valid end state there), never blocked
 *                 inside finish_awaited.  Only K_STE (the plain path waits by design).
 *
 * Abstractions (as in ste.pml, whose comments argue them): B's mailbox::lock_ sections are
 * d_step blocks (the three-state spin_lock is still mutual exclusion; its own progress
 * and orders are Relacy's job); spin_until's repeated loads are folded into the next
 * check; Spin's executions are sequentially consistent -- the memory orders of
 * rendezvous_ are checked by Relacy (verify/relacy, tests rendezvous-*).  Only back_
 * can be in B's queue (other tasks do not change the protocol); no timers.
 *
 * Seeded bugs (each must make Spin fail; see verify/run):
 *   BUG_LINK_UNANNOUNCED      the finisher does not announce (no try_announce_comeback /
 *                             withdraw_comeback) and the awaiter links back_ unannounced:
 *                             B may close in between                        -> R5
 *   BUG_PLAIN_NO_WAIT         the waiting finisher returns continuation_ right after
 *                             its CAS, without waiting for kAwaiterSuspended -> R2
 *   BUG_AWAITER_NO_WAKE       the awaiter stores kAwaiterSuspended, no wake_all -> R3
 *   BUG_YIELD_SPIN            the finisher before this design: `while (load() !=
 *                             kAwaiterSuspended) yield();` (with -DSTALL)     -> R6
 *   BUG_CONTINUE_HERE         the awaiter, seeing kFinishedOnThread, continues on A
 *                             (returns false) instead of linking back_       -> R4
 *   BUG_NO_CANCEL             the ste finisher's CAS fails, no withdraw_comeback:
 *                             B never closes, join() hangs                  -> R3
 *   BUG_AWAITER_TOUCH_AFTER_LINK  the awaiter reads the promise after link_comeback
 *                                 (say, to return finisher_)                -> R2
 * Not a bug (checked: no error): B touching the promise after its successful CAS to
 * kFinishedOnThread, as long as finish_awaited has not returned -- the awaiter can only
 * continue on B's own queue, which B serves after run_one returns.
 *
 * -DSTALL checks K_STE only; -DSTALL -DSTALL_KINDS=8 (K_PLAIN) shows that a plain
 * finisher does wait for the awaiter (by design: it has no queue to send it to).
 */

#ifndef SPUR
#define SPUR 1        /* spurious futex wake-ups allowed in one run, in total */
#endif
#ifdef STALL
#ifndef STALL_KINDS
#define STALL_KINDS 2 /* K_STE */
#endif
#undef KINDS
#define KINDS STALL_KINDS
#endif
#ifndef KINDS
#define KINDS 15      /* bit set of the kinds of finisher init may choose */
#endif

/* promise_base::rendezvous_ (task.hpp:193-199) */
#define kRunning          0
#define kFinishedInline   1
#define kAwaiterSuspended 2
#define kFinishedOnThread 3
#define kFinisherWaiting  4

/* threads, as &tls_identity names them (ghost ids) */
#define T_A 1         /* the awaiter's thread */
#define T_B 2         /* ste thread B */
#define T_P 3         /* plain thread P */

/* where the task finishes */
#define K_INLINE   1
#define K_STE      2
#define K_POSTLUDE 4
#define K_PLAIN    8

/* mailbox::phase (core.hpp) */
#define RUNNING  0
#define DRAINING 1
#define CLOSED   2

/* B's worker: what next_task decided (worker-local) */
#define A_RUN     1
#define A_DRAINED 2
#define A_IDLE    3
#define A_SLEEP   4
#define A_WAIT    5
#define A_EXIT    6

/* ---- the task frame (promise_base) ------------------------------------------------- */
byte rv = kRunning;   /* rendezvous_ */
byte fin_core;        /* finisher_ (0: null, T_B) */
bit  plive = 1;       /* the frame is alive */

/* ---- ste thread B's core, guarded by mailbox::lock_ ------------------------------------ */
bit  mtx;             /* mailbox::lock_ */
byte qlen;            /* the queue (only back_ can be in it) */
byte phase = RUNNING; /* phase_ */
bit  wsleep;          /* worker_sleeping_ */
byte ww;              /* wake_word_ */
bit  has_work;        /* has_work_ (relaxed hint) */
byte pret;            /* comebacks_.pending_ */

/* ---- futex wait queues (keyed by address) --------------------------------------------- */
bit  wwait;           /* B's worker sleeps in wait_on(wake_word_, seen) */
bit  fwait;           /* the finisher sleeps in wait_on(rendezvous_, kFinisherWaiting) */
byte spur = SPUR;     /* spurious wake-ups left */

/* ---- ghosts ------------------------------------------------------------------------- */
byte kind;            /* K_*: where the task finishes */
byte fin_thread;      /* the thread it finishes on */
byte resumed;         /* times the awaiting coroutine continued */
bit  aw_done;         /* the awaiter's await_suspend returned */
bit  fin_done;        /* the finisher is done (P returned; B's thread ended) */
bit  worker_exited;   /* B's core::run returned */

#define ACCESS assert(plive)   /* R2: the promise is still alive */

/* The awaiting coroutine continues on thread t (by symmetric transfer to continuation_,
 * by resume_node::run of back_, or by start_awaited returning false):
 * task::awaiter::await_resume -> promise.take() reads the result; then the task
 * temporary dies: ~task() -> handle_.destroy() frees the frame.  Used inside d_step. */
inline RESUME(t) {
  ACCESS;                    /* take(): reads value_ / error_ */
  assert(resumed == 0);      /* R1: never twice */
  resumed = 1;
  assert(t == fin_thread);   /* R4: where the task finished */
  plive = 0                  /* ~task(): the frame is gone */
}

/* mailbox::wake_key_locked (core.cpp), lock held; unlocks.  The caller then does
 * wake_one(&wake_word_) outside the atomic step when wk == 1. */
inline WAKE_LOCKED(wk) {
  if
  :: wsleep -> wsleep = 0; ww++; wk = 1      /* worker_sleeping_ = false; fetch_add(1) */
  :: else -> wk = 0
  fi;
  mtx = 0                                    /* lock.unlock() */
}

#ifdef STALL
/* The awaiter may stop here for ever (preempted for good, R6). */
#define STALL_POINT  if :: goto stalled :: skip fi
#else
#define STALL_POINT  skip
#endif

/* ==================================================================================== */
proctype awaiter()
{
  byte st;        /* `state`: what the CAS found */
  byte target;    /* `core* const target` */
  bit  wk;

  /* task.hpp:110 `continuation_ = awaiting;`  task.hpp:111 `starter_ = &tls_identity;`
   * task.hpp:112 `self.resume();` -- t runs here until it suspends (handing itself to
   * its finisher, which may run it at once) or, K_INLINE, until it finishes here: */
  if
  :: kind == K_INLINE ->
     /* final_awaiter::await_suspend -> finish_awaited() on A, inside resume():
      * task.hpp:145 `starter_ == &tls_identity && rendezvous_.load(relaxed) == kRunning`
      * task.hpp:148 `rendezvous_.store(kFinishedInline, relaxed); return noop` */
     d_step { ACCESS; assert(rv == kRunning); rv = kFinishedInline }
  :: else -> skip
  fi;
  /* resume() returned */
  STALL_POINT;
  /* task.hpp:113 `state = kRunning;`
   * task.hpp:117 `if (rendezvous_.compare_exchange_strong(state, kAwaiterSuspended, acq_rel))` */
  d_step {
    ACCESS;
    if
    :: rv == kRunning -> rv = kAwaiterSuspended; st = kRunning
    :: else -> st = rv
    fi
  };
  if
  :: st == kRunning -> skip                      /* task.hpp:119 `return true;` (last touch: the CAS) */
  :: st == kFinishedInline ->                    /* task.hpp:121-122 `return false;`: continue here */
     d_step { RESUME(T_A) }
  :: st == kFinishedOnThread ->                  /* task.hpp:123 */
     STALL_POINT;
#ifdef BUG_CONTINUE_HERE
     d_step { RESUME(T_A) }                      /* BUG: `return false`, i.e. continue on A */
#else
     d_step {
       ACCESS;
       target = fin_core;                        /* task.hpp:126 `core* const target = finisher_;` */
       assert(target == T_B)                     /*   (published by B's CAS) */
     };
     STALL_POINT;
     d_step { ACCESS };                          /* task.hpp:127 `back_.handle = awaiting;` */
     STALL_POINT;
     /* task.hpp:128 `target->link_comeback(back_, announced = true);` -> core.cpp:link_comeback */
     d_step {
       mtx == 0 -> mtx = 1;                      /* std::unique_lock lock(mailbox::lock_) */
#ifndef BUG_LINK_UNANNOUNCED
       pret--;                                   /* if (announced) --comebacks_.pending_ */
#endif
       /* link_locked(back_): n.next = nullptr; n.prev = tail_; n.queued = true; ... */
       ACCESS;                                   /*   writes back_ (in the promise) */
       assert(phase != CLOSED);                  /* R5: never into a closed thread */
       qlen++;
       has_work = 1;                             /*   has_work_.store(true, relaxed) */
       WAKE_LOCKED(wk)                           /* wake_key_locked(lock) */
     };
#ifdef BUG_AWAITER_TOUCH_AFTER_LINK
     ACCESS;                                     /* BUG: a read of the promise after it */
#endif
     STALL_POINT;
     if
     :: wk -> wwait = 0                          /* wake_one(&wake_word_): B's word, a key */
     :: else -> skip
     fi                                          /* task.hpp:129 `return true;` */
#endif
  :: st == kFinisherWaiting ->                   /* task.hpp:131 `default:` */
     STALL_POINT;
     /* task.hpp:132 `key = &rendezvous_;`  task.hpp:135 `rendezvous_.store(kAwaiterSuspended, release);` */
     d_step { ACCESS; rv = kAwaiterSuspended };
     STALL_POINT;
#ifndef BUG_AWAITER_NO_WAKE
     fwait = 0                                   /* task.hpp:136 `wake_all(key);`: by address, not an access */
#else
     skip                                        /* BUG: no wake */
#endif
  fi;
  aw_done = 1;
  goto done;
stalled:
end_stalled:
  (0);                                           /* (STALL) preempted for ever: a valid end */
done:
  skip
}

/* ==================================================================================== */
/* task.hpp:171-177: the waiting path of finish_awaited (a plain thread, or B past its
 * postlude).  Uses the caller's local `st`. */
inline WAIT_FOR_AWAITER() {
  /* task.hpp:171 `if (rendezvous_.compare_exchange_strong(state, kFinisherWaiting, acq_rel))` */
  d_step {
    ACCESS;
    if
    :: rv == kRunning -> rv = kFinisherWaiting; st = kRunning
    :: else -> st = rv
    fi
  };
  if
  :: st == kRunning ->
#ifdef BUG_PLAIN_NO_WAIT
     skip                                        /* BUG: no wait at all */
#else
     /* task.hpp:175 `if (!spin_until(suspended))` task.hpp:176 `while (!suspended())
      * wait_on(rendezvous_, kFinisherWaiting);` -- spin_until's loads of suspended()
      * (task.hpp:173 `rendezvous_.load(acquire) == kAwaiterSuspended`) fold into the
      * loop's own test. */
     do
     :: d_step { ACCESS; st = rv };             /* suspended() */
        if
        :: st == kAwaiterSuspended -> break
        :: else -> skip
        fi;
        /* wait_on(rendezvous_, kFinisherWaiting): the kernel compares and sleeps
         * atomically (EAGAIN when the word changed) */
        d_step {
          if
          :: rv == kFinisherWaiting -> fwait = 1
          :: else -> skip
          fi
        };
        if
        :: fwait == 0 -> skip                    /* woken, or EAGAIN */
        :: d_step { fwait == 1 && spur > 0 -> spur--; fwait = 0 }   /* spurious / EINTR */
        fi
     od
#endif
  :: else -> skip                                /* the awaiter suspended meanwhile */
  fi
  /* task.hpp:178 `return continuation_;` */
}

/* ==================================================================================== */
/* core::next_task (core.cpp): one pass of the `for (;;)` body from its top, lock held;
 * decides, and unlocks.  No timers; only back_ can be queued. */
inline TOP() {
  if
  :: phase != RUNNING -> dseen = 1               /* draining_seen_ = true */
  :: else -> skip
  fi;
  if
  :: qlen > 0 ->                                 /* if (task_node* n = head_) */
     ACCESS;                                     /* head_ = n->next; n->queued = false: back_ */
     qlen = 0;
     has_work = 0;                               /* has_work_.store(head_ != nullptr) */
     mtx = 0; act = A_RUN
  :: qlen == 0 && dseen && pret == 0 ->          /* drained, no announced return */
     mtx = 0; act = A_DRAINED
  :: else ->                                     /* idle */
     has_work = 0;                               /* has_work_.store(false, relaxed) */
     mtx = 0; act = A_IDLE
  fi
}

/* Ste thread B's worker.  It starts in core::run_one(n) for the node that carries t to
 * B (e.g. schedule_awaiter), so the task has just resumed here and runs to co_return:
 * final_awaiter::await_suspend, on_done_ is null -> finish_awaited() (task.hpp:143).
 * K_POSTLUDE: the worker loop is over (B is closed) and t finishes in the postlude. */
proctype ste_worker()
{
  byte st;
  bit  open;
  bit  wk;
  bit  dseen;   /* draining_seen_ */
  bit  more;
  byte seen;
  byte act;

  /* task.hpp:145 `starter_ == &tls_identity` is false on B: no load.
   * task.hpp:152 `if (rendezvous_.load(acquire) == kAwaiterSuspended) return continuation_;` */
  d_step { ACCESS; st = rv };
  if
  :: st == kAwaiterSuspended -> goto here
  :: else -> skip
  fi;
#ifdef BUG_YIELD_SPIN
  /* BUG (the code before this design): `while (rendezvous_.load(acquire) !=
   * kAwaiterSuspended) std::this_thread::yield(); return continuation_;` -- a busy wait
   * is, for termination, a wait: a guard. */
  rv == kAwaiterSuspended;
  goto here;
#endif
  /* task.hpp:157 `if (here != nullptr && here->try_announce_comeback())` -> core.cpp:try_announce_comeback */
#ifdef BUG_LINK_UNANNOUNCED
  open = 1;                                      /* BUG: no announcement */
#else
  d_step {
    mtx == 0 -> mtx = 1;                         /* std::lock_guard lock(mailbox::lock_) */
    open = (phase != CLOSED);                    /* running || (draining && is_current()) */
    if
    :: open -> pret++                            /* if (open) ++comebacks_.pending_ */
    :: else -> skip
    fi;
    mtx = 0
  };
#endif
  if
  :: open ->
     d_step { ACCESS; fin_core = T_B };          /* task.hpp:160 `finisher_ = here;` */
     /* task.hpp:163 `if (rendezvous_.compare_exchange_strong(state, kFinishedOnThread, acq_rel))` */
     d_step {
       ACCESS;
       if
       :: rv == kRunning -> rv = kFinishedOnThread; st = kRunning
       :: else -> st = rv
       fi
     };
     if
     :: st == kRunning ->                        /* task.hpp:165 `return std::noop_coroutine();` */
#ifdef FINISHER_TOUCH_AFTER_CAS
        ACCESS;                                  /* (not a bug: see the header) */
#endif
        goto loop                                /* run_one returns: back to next_task */
     :: else ->
#ifndef BUG_NO_CANCEL
        /* task.hpp:166 `here->withdraw_comeback();` -> core.cpp:withdraw_comeback */
        d_step {
          mtx == 0 -> mtx = 1;
          pret--;                                /* --comebacks_.pending_ */
          has_work = 1;                          /* has_work_.store(true, relaxed) */
          WAKE_LOCKED(wk)                        /* wake_key_locked (B is busy: no-op) */
        };
        if
        :: wk -> wwait = 0
        :: else -> skip
        fi;
#endif
        goto here                                /* task.hpp:167 `return continuation_;` */
     fi
  :: else -> skip                                /* refused: B is closed (its postlude) */
  fi;
  WAIT_FOR_AWAITER();
here:
  skip;
  /* `return continuation_;`: symmetric transfer, the awaiter continues on B */
  d_step { ACCESS; RESUME(T_B) };
  if
  :: kind == K_POSTLUDE -> goto exit             /* the postlude returns; the thread ends */
  :: else -> skip
  fi;

loop:
  skip;
  /* core::run: run_one returned; next_task(nullptr): std::unique_lock lock(mailbox::lock_) */
  d_step { mtx == 0 -> mtx = 1; TOP() };
#ifdef STALL
end_idle:                                        /* (STALL) idle for ever is fine here */
#endif
  do
  :: d_step {
       act == A_RUN ->
       /* run_one(back_) -> resume_node::run: `handle.resume()` (reads back_.handle) */
       RESUME(T_B);
       mtx == 0 -> mtx = 1; TOP()                /* run_one returns; next_task again */
     }
  :: d_step {
       act == A_DRAINED ->
       /* lock.unlock(); destroy_bound_values(); lock.lock();
        * if (head_ || !timers_.empty() || comebacks_.pending_) continue; phase_ = closed; */
       mtx == 0 -> mtx = 1;
       if
       :: qlen > 0 || pret > 0 -> TOP()
       :: else -> phase = CLOSED; mtx = 0; act = A_EXIT
       fi
     }
  :: act == A_IDLE ->
     /* more = spin_until(has_work_.load(relaxed)): may see it, or give up */
     if
     :: more = has_work
     :: more = 0
     fi;
     d_step {
       mtx == 0 -> mtx = 1;                      /* lock.lock() */
       if
       :: more || qlen > 0 || (phase != RUNNING && !dseen) -> TOP()   /* continue */
       :: else ->
          wsleep = 1;                            /* worker_sleeping_ = true */
          seen = ww;                             /* seen = wake_word_.load(relaxed) */
          mtx = 0; act = A_SLEEP                 /* lock.unlock() */
       fi;
       more = 0
     }
  :: d_step {
       act == A_SLEEP ->
       /* wait_on(wake_word_, seen): FUTEX_WAIT compares and sleeps atomically */
       if
       :: ww == seen -> wwait = 1
       :: else -> skip                           /* EAGAIN */
       fi;
       seen = 0; act = A_WAIT
     }
  :: d_step { act == A_WAIT && wwait == 1 && spur > 0 -> spur--; wwait = 0 }   /* spurious */
  :: d_step {
       act == A_WAIT && wwait == 0 ->            /* woken: wait_on returns */
       mtx == 0 -> mtx = 1; wsleep = 0; TOP()    /* lock.lock(); worker_sleeping_ = false */
     }
  :: act == A_EXIT -> break                      /* next_task returned nullptr */
  od;
exit:
  skip;
  /* core::run: the postlude ran; the OS thread ends */
  d_step {
    assert(qlen == 0 && pret == 0);              /* R5: nothing left behind */
    worker_exited = 1; fin_done = 1
  }
}

/* ==================================================================================== */
/* Plain thread P: t resumes here (it awaited something P completes), runs to co_return;
 * final_awaiter::await_suspend -> finish_awaited(). */
proctype plain_finisher()
{
  byte st;
  /* task.hpp:145: not the starting thread.
   * task.hpp:152 `if (rendezvous_.load(acquire) == kAwaiterSuspended) return continuation_;` */
  d_step { ACCESS; st = rv };
  if
  :: st == kAwaiterSuspended -> goto here
  :: else -> skip
  fi;
#ifdef BUG_YIELD_SPIN
  rv == kAwaiterSuspended;                       /* BUG: the old spin (see ste_worker) */
  goto here;
#endif
  /* task.hpp:157: current_core() == nullptr */
  WAIT_FOR_AWAITER();
here:
  skip;
  d_step { ACCESS; RESUME(T_P) };                /* `return continuation_;`: continues on P */
  fin_done = 1
}

/* ==================================================================================== */
/* join() of B: core::join -> mailbox::stop_accepting (core.cpp), then waits for the thread. */
proctype joiner()
{
  bit wk;
  d_step {
    mtx == 0 -> mtx = 1;
    if
    :: phase == RUNNING -> phase = DRAINING
    :: else -> skip
    fi;
    has_work = 1;                                /* has_work_.store(true, relaxed) */
    WAKE_LOCKED(wk)
  };
  if
  :: wk -> wwait = 0                             /* wake_one(&wake_word_) */
  :: else -> skip
  fi;
  worker_exited == 1                             /* os_thread_->join() */
}

/* ==================================================================================== */
init
{
  atomic {
    if
#if KINDS & K_INLINE
    :: kind = K_INLINE; fin_thread = T_A
#endif
#if KINDS & K_STE
    :: kind = K_STE; fin_thread = T_B
#endif
#if KINDS & K_POSTLUDE
    :: kind = K_POSTLUDE; fin_thread = T_B; phase = CLOSED
#endif
#if KINDS & K_PLAIN
    :: kind = K_PLAIN; fin_thread = T_P
#endif
    fi;
    run awaiter();
    if
    :: kind == K_STE ->
       run ste_worker();
#ifndef STALL
       run joiner()                              /* (STALL: join() would wait for the
                                                  * stalled awaiter's return, by design) */
#endif
    :: kind == K_POSTLUDE -> run ste_worker()
    :: kind == K_PLAIN -> run plain_finisher()
    :: kind == K_INLINE -> skip
    fi
  };
#ifndef STALL
  /* everyone is done */
  aw_done && (kind == K_INLINE || fin_done);
  assert(resumed == 1 && !plive);                /* R1: continued exactly once */
  if
  :: kind == K_STE -> assert(phase == CLOSED && qlen == 0 && pret == 0)   /* R5 */
  :: else -> skip
  fi
#endif
}
