/* SPDX-License-Identifier: MIT */
/*
 * ste.pml — a Spin (Promela) model of ste's hand-off protocol: the lock-free inbox
 * (issue 12, part 1).  Run it with verify/run (which also runs the seeded bugs); see
 * verify/README.md §1.
 *
 * What is modelled (each step names the C++ function it stands for):
 *   - NS submitter threads (plain threads), each making NK blocking hand-offs one after
 *     the other, the task record in the submitter's stack frame.  Each hand-off is
 *     thread::submit or, when TIMED, nondeterministically thread::submit_for (its
 *     deadline may pass at any moment).  The way in is mailbox::push: read the inbox
 *     word, check the phase, write inbox_next, CAS; then wake the worker if S was set.
 *     Producers never take the desk and never clear S.
 *   - the worker thread: core::run / core::next_task / core::take_work_locked
 *     (mailbox::drain_locked: move the LIFO chain, reversed, to the back of ready_;
 *     pop = start), core::close_if_drained_locked (the close CAS), the idle path
 *     core::wait_for_work_locked / core::sleep_until_woken_locked (spin on the word,
 *     re-check under the desk, the S-CAS, futex_wait on the word with the value it
 *     CASed in, clear S), core::run_one / submit_record::run / completion::signal.
 *   - one joiner: core::join -> mailbox::stop_accepting (the phase CAS, then a wake if
 *     it saw S), then joining the OS thread.  JOIN says when it comes: 0 at any moment
 *     (racing everything), 1 only once every submitter returned (or stopped; the
 *     program's main thread joining at the end), 2 either (chosen nondeterministically;
 *     the default).  A racing join is itself a wake-up (its phase CAS changes the word
 *     and it wakes when it sees S), so it can hide a submitter's lost wake-up; the late
 *     join cannot, which is why both are searched.
 *   - a timed submitter whose deadline passed: mailbox::withdraw under the desk (drain,
 *     then unlink if still in ready_).
 *   - optionally RETURNS coroutine returns: a task on the worker announces one with
 *     core::announce_comeback (on the worker's own thread, under the desk), another
 *     thread comes back with mailbox::link_comeback (a never-refused push of a comeback
 *     node); the worker settles the comeback (comebacks_.settle) when it pops that node.
 *     With CANCEL the announcing task may withdraw the comeback itself
 *     (mailbox::withdraw_comeback, on the origin's own thread, as the code asserts).
 *   - futexes (src/wait_futex.cpp, wait_parking_lot.cpp): wait_on(word, expected) blocks
 *     while word == expected (compare and sleep are one atomic step, as in the kernel);
 *     wake_one/wake_all take an ADDRESS (a key) and never touch the record or the core.
 *     The kernel compares 32 bits: with TRUNC32 (the default) the worker's futex_wait
 *     compares the low half of the inbox word, where a non-null node pointer may read as
 *     zero above its flag bits (a node at a multiple of 4 GiB): the compare may then
 *     succeed whatever node the pointer names.  Every untimed futex wait may also return
 *     spuriously (EINTR, or a stale wake of a re-used stack address), SPUR times in
 *     total; timed waits may time out at any moment.
 *   - EXIT (-DEXIT=1): a task ends the OS thread (pthread_exit, or the thread is
 *     cancelled; forced_unwind.hpp).  Nondeterministically, any one submit record the
 *     worker starts may be the one: its result_slot stores stopped_error and
 *     submit_record::run signals its submitter (the last touch) and rethrows; run_one's
 *     handler calls core::finish_after_exit, which does what join() does, on the worker
 *     itself: mailbox::end_by(exit), mailbox::stop_accepting (the same CAS running ->
 *     draining as join's, then a wake if it saw S), then core::run again -- the same
 *     loop: drain everything accepted (comebacks too), close with the close CAS,
 *     postlude -- and then the unwind goes on and the OS thread ends (worker_exited:
 *     lifecycle's join waits for exactly that).  The joiner (racing or late) may come
 *     before, during or after the exit; its stop_accepting then finds draining or closed
 *     and changes nothing.  EXIT=2: a second task, run by that drain, ends the thread
 *     too; the code's finish_after_exit returns at once then (exiting_), so the unwind
 *     cuts the drain short: a finding (verify/README.md §1e, X1), not the protocol.
 *   - STOP: submitter 0 may stop for ever at any of its steps (preempted and never
 *     scheduled again): before its read of the word, between the read and the CAS
 *     (the same state: the read is invisible, see "Abstractions"), after the CAS before
 *     its wake, or while waiting for its result.  Its end label is a valid end state;
 *     everyone else must still finish, and its record, if pushed, must still run (P7).
 *
 * The inbox word (inbox_) is ch[]/chlen (the chain: ch[chlen-1] is the pointer, ch[i]'s
 * inbox_next is ch[i-1], so ch[] lists it oldest first), iph (phase bits), iS (S) and,
 * with PROTO_T_TOGGLE, iT (the T bit as /tmp/inbox-protocol.md has it).  By default bit 3
 * is N = "the pointer is non-null" instead (FIX F2 below); it is not stored, it is
 * chlen > 0.  Node ids stand for addresses; a slot's later record is a new id, so an
 * old pointer to a re-used slot fails P2 instead of passing silently (stricter than the
 * hardware; a push-only stack emptied by exchange has no harmful ABA: a push's next is
 * whatever the CAS compared).
 *
 * FIXES (the model found two lost wake-ups in the protocol as written; the defaults
 * follow the fixes, -DPROTO_DRAIN_KEEPS_S / -DPROTO_T_TOGGLE restore the text):
 *   F1  a drain by a thread other than the worker (a withdrawal) that finds S set in the
 *       word it CASes clears S in that CAS and wakes the worker (address only, under the
 *       desk).  As written it kept S: the worker, between its S-CAS and futex_wait,
 *       compares the value it CASed in (null | phase | S | T); two pushes (T toggled
 *       twice; both pushers' wakes land before futex_wait) and a withdrawer's drain
 *       (pointer null again, S kept, T unchanged) give exactly that value back: the
 *       worker sleeps with the other pusher's task in ready_ and nobody wakes it.
 *   F2  bit 3 is N (set while the pointer is non-null) instead of the T toggle.  T makes
 *       the low half differ after one push, but after two the toggle is back, and if the
 *       second node's address has zero low 32 bits (above bit 3) the kernel compare
 *       succeeds: a lost wake-up.  With N the low half differs whenever the chain is
 *       non-empty; with F1 no other event gives the slept-on value back (the phase only
 *       moves forward, only the worker sets S).
 *
 * Record lifetime.  A submitter has one stack slot, re-used by each of its hand-offs (as
 * the real frame would be).  live[s]/gen[s] say which record (generation) the slot holds
 * right now; the record dies when the submitter "returns" (value, exception,
 * stopped_error or timeout_error).  Every read or write of a record by anyone other than
 * its owner -- a drainer reading its inbox_next and writing its queue_hook, the append
 * writing the old tail's hook, the worker popping, settling, running and signalling it,
 * a withdrawer unlinking a neighbour -- is ACCESS(r): an assertion that record r is
 * still the live one in its slot.  The futex wake after signal() is not an access (the
 * kernel hashes the address).
 *
 * Properties checked (all safety properties; Spin's default search):
 *   P1 exactly once : an accepted task runs exactly once; a withdrawn or refused one
 *                     never (assertions on ran[] in the worker and at each return); a
 *                     failed withdrawal means the worker unlinked it ("n was pushed
 *                     before the withdrawal, so after the drain it is in ready_ or
 *                     already popped": assertion !inch).
 *   P2 no late touch: nobody reads or writes a record after its submitter returned
 *                     (ACCESS assertions).
 *   P3 no lost wake : no invalid end state: no thread sleeps forever, every submitter
 *                     returns, join() returns (Spin's deadlock check; spurious wake-ups
 *                     are bounded by SPUR so that they cannot hide a lost wake-up; the
 *                     late join, so that join's own wake-up cannot hide one either).
 *   P4 join drains  : when the worker exits ready_ and the inbox are empty, no comeback
 *                     is pending, the thread is closed, and every linked comeback ran;
 *                     nothing is pushed into a closed inbox (link_comeback's assertion).
 *   P5 result       : a submitter that returns normally sees its result written.
 *   P6 deadline     : a timed task never starts once its deadline has passed (the ghost
 *                     expired[s]; time only moves forward, so it is never cleared for
 *                     that record).
 *   P7 stop-proof   : with STOP, the stopped submitter's end is a valid end state, all
 *                     others finish (P3 as above), and its record, if pushed, ran (or
 *                     was expired by the worker): assertion in init.
 *   P8 FIFO         : records are started in the order of their accepting CAS: the ghost
 *                     fq[] lists accepted, not yet started, not withdrawn nodes in CAS
 *                     order; the worker's pop must take fq[0] (assertion fq[0]==n).
 *
 * Abstractions (each sound for these properties; the argument is next to the code):
 *   - Desk critical sections (desk_ is a mutex) are single atomic steps.  What they
 *     touch is either guarded by the desk (ready_, comebacks_, queue hooks) or is the
 *     inbox word, which a section changes with one CAS at most (the drain's, the S-CAS,
 *     the close CAS, the clear of S); its loads before that CAS only feed the CAS's
 *     expected value and the section's decision, and a CAS that fails because a
 *     producer got in between loops back to a fresh load -- the same as the section
 *     running after that producer.  Records a section reads (inbox_next, hooks) were
 *     written before their push's release CAS and change only under the desk; a record
 *     in the chain or in ready_ dies only after a withdrawal (desk) or its run (the
 *     worker), so its death cannot fall inside a section.  Contention on the desk
 *     (worker, withdrawers) is one more interleaving point, which the atomic step has;
 *     that it is a fair, priority-inheriting mutex is not Spin's to check.
 *   - A push's load of the word, its phase check and its write of inbox_next are one
 *     step with the CAS: they are invisible (the node is its own until the CAS), and a
 *     failed CAS changes nothing and reloads; a stale load is an older value, whose
 *     phase is at most as far along (phase only moves forward) and which fails the CAS.
 *     So every execution is equivalent to one where the successful CAS directly follows
 *     its load, and a refusal is decided on the current phase.  For the same reason
 *     "stopped after its read, before the CAS" is the state "stopped before its read".
 *     (BUG_PUSH_PHASE_STALE splits the two, since its CAS does not compare the phase.)
 *   - Spin explores sequentially consistent executions.  The memory orders (the
 *     release sequence of pushes and the drain's acquire, the completion's orders) are
 *     Relacy's job (verify/relacy).  Where a stale value of a relaxed load matters (the
 *     worker's spin on the word, done() before a withdrawal) the model lets the load
 *     return the older value too: the spin may end at any moment, whatever it saw.
 *   - Purely local steps and reads that commute (a futex wait returning, a spin's
 *     repeated reads that the next CAS repeats) are merged into the next visible step.
 *   - DEADLINE=0 (where a search would be too large or slow): the worker starts every
 *     record it pops.  Expiring a timed record instead is the same protocol step as running it
 *     with an empty f -- the same exchange(kDone, release), the same last touch, the
 *     same wake -- so P1-P5, P7, P8 carry over; the deadline decision itself (P6) is
 *     checked exhaustively in every configuration built with DEADLINE=1.
 * Not modelled: timers (a timed futex wait of the worker only adds wake-ups; the untimed
 * one is the stricter check), post()/schedule/spawn (pushes like submit's), bound<T>
 * values (destroy_bound_values is a no-op here; see the Relacy bound test), deadlock
 * edges and the joiner's walk (a desk section that reads the comeback records only),
 * block_on's nested loop and link_completion, the inline path of a submit on the thread
 * itself, join_mutex_ (one joiner), the ahead hint (a relaxed read only).
 *
 * Seeded bugs (each must make Spin fail; see verify/run and the README): -DBUG_...
 *   BUG_PUSH_PHASE_STALE          push checks the phase on its read, its CAS compares
 *                                 the pointer only: accepted into a closed inbox   -> P3/P4
 *   BUG_PRODUCER_CLEARS_S         producers clear S in their CAS, only the clearing one
 *                                 wakes (with STOP: it stops before its wake)      -> P7
 *   BUG_NO_T_TOGGLE               the push leaves bit 3 alone (no T toggle / no N):
 *                                 with TRUNC32 the worker's compare passes          -> P3
 *   BUG_WITHDRAW_NO_DRAIN         withdraw looks in ready_ only: a record still in the
 *                                 chain is "not found", treated as started          -> P1
 *   BUG_DRAIN_NO_REVERSE          the drain appends the chain newest first          -> P8
 *   BUG_DRAIN_PREPEND             the drain puts the batch before ready_'s contents  -> P8
 *   BUG_WORKER_SLEEPS_WITHOUT_S_CAS  the worker sets S with a plain store of the word
 *                                 it re-checked (a push in between is overwritten)  -> P3
 *   BUG_JOIN_NO_WAKE              stop_accepting's phase CAS without the wake        -> P3
 *   BUG_CLOSE_NO_CAS              close by a check, then a plain store of closed    (see README)
 *   BUG_SETTLE_AT_LINK            link_comeback settles the comeback (pending--) before
 *                                 its push, from the other thread                   -> P4
 *   BUG_CANCEL_OFF_THREAD         withdraw_comeback from another thread (what the
 *                                 on-thread assertion forbids): nothing wakes the
 *                                 worker that waits for it while draining           -> P3
 *   BUG_SLEEP_NO_RECHECK          the idle re-check ignores ready_ (a withdrawer's
 *                                 drain moved others' tasks there)                  -> P3
 *   BUG_TOUCH_AFTER_SIGNAL        worker reads the record after the exchange        -> P2
 *   BUG_SIGNAL_BEFORE_RESULT      exchange(kDone) before the result is stored        -> P5
 *   BUG_WITHDRAW_NO_QUEUED_CHECK  withdraw unlinks without looking at is_linked      -> P1/P2
 *   BUG_POP_KEEPS_QUEUED          pop does not unlink the hook (is_linked stays true)-> P1/P2
 *   BUG_CALLER_NO_ANNOUNCE        caller sleeps on kPending without the CAS to
 *                                 kSleeping (worker then never wakes it)             -> P3
 *   BUG_CLOSE_EARLY               worker closes once draining, before it drained     -> P4
 *   BUG_CLOSE_IGNORES_RETURNS     worker closes with comebacks pending (RETURNS >= 1)-> P4
 *   BUG_WORKER_NO_DEADLINE_CHECK  the worker starts a timed record after its deadline-> P6
 *   BUG_EXPIRED_AS_VALUE          the submitter of a record the worker expired
 *                                 returns normally instead of timeout_error         -> P5
 *   with EXIT (a task ends the OS thread; core::finish_after_exit):
 *   BUG_EXIT_NO_DRAIN             the exit path ends the thread right after its phase
 *                                 CAS, without the drain: accepted tasks lost       -> P1/P4
 *   BUG_EXIT_NO_PHASE_CAS         the exit path skips stop_accepting and closes by a
 *                                 plain store once it found nothing (as close_in_child
 *                                 does): a push in between is neither refused nor run -> P3
 *   BUG_EXIT_NO_SIGNAL            the exiting task's record is not signalled during the
 *                                 unwind (no catch in submit_record::run)            -> P3
 * The protocol as written (must fail, see FIXES): PROTO_DRAIN_KEEPS_S, PROTO_T_TOGGLE.
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
#define RETURNS 0     /* coroutine returns (announce_comeback / link_comeback) */
#endif
#ifndef CANCEL
#define CANCEL 0      /* 1: an announced comeback may be withdrawn on the thread itself */
#endif
#ifndef DEADLINE
#define DEADLINE 1    /* 1: model the deadline decision (P6); 0: a timed record is started
                       * like any other (see "Abstractions") */
#endif
#ifndef JOIN
#define JOIN 2        /* 0 racing join, 1 late join, 2 either */
#endif
#ifndef STOP
#define STOP 0        /* 1: submitter 0 may stop for ever at any of its steps (P7) */
#endif
#ifndef TRUNC32
#define TRUNC32 1     /* 1: the futex compares the low 32 bits only */
#endif
#ifndef EXIT
#define EXIT 0        /* how many tasks may end the OS thread (0: none; 1: one, any of
                       * them; 2: a second one during the exit drain -- finding X1) */
#endif

#define NR (NS * NK)          /* submit records: id r = s * NK + k */
#define NT (NR + RETURNS)     /* all nodes: comeback nodes are NR .. NT-1 */
#define NONE 255

/* completion::state_ (include/ste/detail/task_node.hpp) */
#define kPending  0
#define kSleeping 1
#define kDone     2

/* the phase bits of inbox_ (mailbox::phase) */
#define RUNNING  0
#define DRAINING 1
#define CLOSED   2

/* what next_task decided (worker-local) */
#define A_RUN       1
#define A_DRAINED   2
#define A_IDLE      3
#define A_SLEEP     4
#define A_EXIT      5
#define A_WAIT      6
#define A_SIGNALLED 7
#define A_RAN       8
#define A_SSTORE    9   /* (BUG_WORKER_SLEEPS_WITHOUT_S_CAS only) */
#define A_CLOSING  10   /* (BUG_CLOSE_NO_CAS, BUG_EXIT_NO_PHASE_CAS only) */
#define A_XSIGNALLED 11 /* EXIT: the ending task's record signalled, the unwind under way */
#define A_XUNWIND  12   /* EXIT: in run_one's catch (forced_unwind&): finish_after_exit */
#define A_XRUN     13   /* EXIT: stop_accepting done; core::run again */
#define A_GONE     14   /* EXIT: the unwind ends the OS thread without a close */

/* ---- inbox_: one atomic word ---------------------------------------------------- */
byte ch[NT];              /* the chain, oldest first; ch[chlen-1] = ptr(inbox_) */
byte chlen;
byte iph = RUNNING;       /* phase bits */
bit  iS;                  /* S: the worker sleeps (or is about to) on this word */
#ifdef PROTO_T_TOGGLE
bit  iT;                  /* T, toggled by every push (the protocol as written) */
#define FLAGV iT
#else
#define FLAGV (chlen > 0) /* N (FIX F2): set exactly while the pointer is non-null */
#endif
#ifdef BUG_NO_T_TOGGLE
#define CMPFLAG 0         /* BUG: bit 3 does not change on a push */
#else
#define CMPFLAG FLAGV
#endif

/* ---- worker side, guarded by desk_ ------------------------------------------------- */
byte q[NT];               /* ready_: the FIFO, q[0] is its front */
byte qlen;
byte pret;                /* comebacks_: announced, not yet settled */

/* ---- futex wait queues (kernel state, keyed by address) ---------------------------- */
bit  wwait;               /* the worker sleeps in futex_wait(&inbox_, seen) */
bit  swait[NS];           /* submitter s sleeps in wait_on(its record's state_, kSleeping) */
byte spur = SPUR;         /* spurious wake-ups left */

/* ---- the submitters' stack slots: the record currently in each frame --------------- */
bit  live[NS];            /* the slot holds a live record ... */
byte gen[NS];             /* ... of this generation (k) */
byte cs[NS];              /* completion::state_ of that record */
bit  queued[NS];          /* queue_hook linked: in ready_ (accepted, not started) */
bit  result[NS];          /* result_slot written */
bit  tmd[NS];             /* the record has a deadline (submit_for) */
bit  wexp[NS];            /* the worker expired it instead of starting it (timed_record) */
bit  expired[NS];         /* ghost: that record's deadline has passed (monotone) */
bit  rlive[RETURNS + 1];  /* the coroutine frame holding comeback node NR+i is live */
bit  rcan[RETURNS + 1];   /* comeback i will be withdrawn on the thread (CANCEL) */
byte rbegun;              /* comebacks announced so far (announce_comeback) */

/* ---- ghost bookkeeping ------------------------------------------------------------- */
bit  ran[NS];             /* the worker invoked the record now in slot s (reset per record) */
bit  racc[RETURNS + 1];   /* comeback node NR+i was pushed by link_comeback */
bit  rran[RETURNS + 1];   /* ... and resumed by the worker */
byte fq[NT];              /* P8: accepted, not started, not withdrawn, in CAS order */
byte fqlen;
bit  stopped;             /* STOP: submitter 0 stopped for ever */
bit  acc0;                /* STOP: submitter 0's current record was pushed */
bit  worker_exited;       /* core::run returned (postlude ran; the OS thread ends) */
#if EXIT
bit  exiting;             /* core::exiting_ (finish_after_exit has begun) */
byte nexit;               /* tasks that ended the OS thread so far */
bit  xend[NS];            /* the record now in slot s ended the thread: its result_slot
                           * holds stopped_error (task_ended_thread_error) */
#define XEND_RESET(s) ; xend[s] = 0   /* (appended to a statement: no step of its own) */
#else
#define XEND_RESET(s)
#endif
bit  joined;              /* core::join returned */
byte finished;            /* submitters and joiner that have finished */

#define VALID(r) (((r) < NR) -> (live[(r) / NK] && gen[(r) / NK] == (r) % NK) : rlive[(r) - NR])
#define ACCESS(r) assert(VALID(r))   /* P2: the record is still its submitter's */
#define HEAD ((chlen > 0) -> ch[chlen - 1] : NONE)

/* mailbox::push, the successful CAS (caller checked the phase if refusable):
 * n.inbox_next = ptr(w) (implicit: ch[] is the chain); CAS(w -> &n | phase | S | T^T),
 * release.  Returns (in wk) whether S was set: then the caller wakes. */
inline PUSH(r) {
  ch[chlen] = r; chlen++;
#if defined(PROTO_T_TOGGLE) && !defined(BUG_NO_T_TOGGLE)
  iT = 1 - iT;
#endif
  fq[fqlen] = r; fqlen++;                  /* (ghost: the CAS order) */
#ifdef BUG_PRODUCER_CLEARS_S
  wk = iS; iS = 0                          /* BUG: the CAS clears S; only this one wakes */
#else
  wk = iS                                  /* producers never clear S */
#endif
}

inline LINKED(r) {                         /* queue_hook: linked into ready_ */
  if
  :: (r) < NR -> queued[(r) / NK] = 1
  :: else -> skip
  fi
}

/* mailbox::drain_locked (desk held): w = load; while ptr(w) != null:
 * CAS(w -> null | phase | keep_S | T) [acquire]; reverse the chain from ptr(w) (via
 * inbox_next) and append it to ready_ in that order.  byworker: the worker clears S
 * (keep_S = 0); anyone else keeps it -- FIX F1: clears it and wakes the worker. */
inline DRAIN(byworker, x) {
  if
  :: chlen > 0 ->
     if
     :: byworker -> iS = 0
     :: else ->
#ifdef PROTO_DRAIN_KEEPS_S
        skip                                 /* as written: keep_S = S(w) */
#else
        if                                   /* F1: S cleared by this CAS, and */
        :: iS -> iS = 0; wwait = 0           /* wake_one(&inbox_) (address only) */
        :: else -> skip
        fi
#endif
     fi;
     /* the reversal walks the chain from ptr(w), reading each node's inbox_next */
     x = chlen;
     do
     :: x > 0 -> x--; ACCESS(ch[x])
     :: else -> break
     od;
#ifdef BUG_DRAIN_PREPEND
     /* BUG: the batch goes in front of what ready_ holds */
     if
     :: qlen > 0 -> ACCESS(q[0])             /* the old front's hook (prev) */
     :: else -> skip
     fi;
     x = qlen;
     do
     :: x > 0 -> x--; q[x + chlen] = q[x]
     :: else -> break
     od;
     x = 0;
     do
     :: x < chlen -> q[x] = ch[x]; LINKED(ch[x]); ch[x] = NONE; x++
     :: else -> break
     od;
     qlen = qlen + chlen;
#else
     if
     :: qlen > 0 -> ACCESS(q[qlen - 1])      /* the old tail's hook (next) */
     :: else -> skip
     fi;
#ifdef BUG_DRAIN_NO_REVERSE
     x = chlen;                              /* BUG: appended newest first */
     do
     :: x > 0 -> x--; q[qlen] = ch[x]; qlen++; LINKED(ch[x]); ch[x] = NONE
     :: else -> break
     od;
#else
     x = 0;                                  /* oldest first: the reversed chain */
     do
     :: x < chlen -> q[qlen] = ch[x]; qlen++; LINKED(ch[x]); ch[x] = NONE; x++
     :: else -> break
     od;
#endif
#endif
     chlen = 0; x = 0
  :: else -> skip                            /* nothing pushed: no CAS */
  fi
}

/* core::take_work_locked -> mailbox::pop_locked: n = ready_.pop_front() (unlinked =
 * started: a withdrawal fails from here on); a comeback node: comebacks_.settle. */
inline POP() {
  n = q[0];
  ACCESS(n);                                 /* reads n's hook (next), n's marker */
  if
  :: qlen > 1 -> ACCESS(q[1])                /* the new front's hook (prev) */
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
  :: n < NR -> queued[n / NK] = 0
  :: else -> skip
  fi;
#endif
  assert(fq[0] == n);                        /* P8: started in CAS order */
  i = 0;
  do
  :: i + 1 < fqlen -> fq[i] = fq[i + 1]; i++
  :: else -> break
  od;
  fqlen--; fq[fqlen] = NONE;
#ifndef BUG_SETTLE_AT_LINK
  if
  :: n >= NR -> pret--                       /* comebacks_.settle(n.record) */
  :: else -> skip
  fi;
#endif
  i = 0
}

/* core::next_task, one pass of its loop from the top, desk held (a fresh section):
 * take_work_locked (phase -> draining_seen_ when ready_ is empty — the code reads the
 * phase only then, or with timers, which this model has none of; if ready_ empty:
 * drain; pop), else the close decision (draining_seen_ && nothing pending), else idle.
 * Every branch ends the section (unlock). */
inline TAKE() {
  if
  :: iph != RUNNING && qlen == 0 -> dseen = 1   /* draining_seen_ = true */
  :: else -> skip
  fi;
  if
#ifdef BUG_CLOSE_EARLY
  :: dseen && pret == 0 -> act = A_DRAINED   /* BUG: closes before draining */
  :: !(dseen && pret == 0) ->
#else
  :: true ->
#endif
     if
     :: qlen == 0 -> DRAIN(1, i)
     :: else -> skip
     fi;
     if
     :: qlen > 0 -> POP(); act = A_RUN
#ifdef BUG_CLOSE_IGNORES_RETURNS
     :: qlen == 0 && dseen -> act = A_DRAINED                /* BUG: pending ignored */
#else
     :: qlen == 0 && dseen && pret == 0 -> act = A_DRAINED   /* nothing_pending_locked */
#endif
     :: else -> act = A_IDLE                 /* wait_for_work_locked: seen = load; unlock */
     fi
  fi
}

/* ================================================================================== */
proctype worker()
{
  byte n = NONE;   /* the node next_task returned */
  byte act;        /* next_task's decision: where the worker is */
  bit  dseen;      /* core::draining_seen_ */
  byte prev;       /* the value exchange(kDone) returned */
  byte i;
  byte sph;        /* the phase bits of the value the S-CAS wrote (futex_wait's value) */
  bit  sT;         /* ... its bit 3 */
  byte wd;         /* CANCEL: 1 + the comeback this task will withdraw */

  /* core::run: while (task_node* n = next_task()) run_one(n); */
  d_step { TAKE() };
  do
  :: atomic {
       act == A_RUN && rbegun < RETURNS && wd == 0 ->
       /* The task about to run is a coroutine that leaves with
        * co_await other.submit_async(t): submit_async_awaiter::await_suspend calls
        * core::announce_comeback() here, on this thread, under the desk (refused only
        * once closed; the worker is not closed). */
       assert(iph != CLOSED);
       pret++; rlive[rbegun] = 1;
       if
       :: skip                                         /* the other thread links it */
#if CANCEL
       :: rcan[rbegun] = 1; wd = rbegun + 1            /* the hop fails: withdrawn here */
#endif
       fi;
       rbegun++
     }
#if CANCEL
  :: d_step {
       act == A_RUN && wd > 0 ->
       /* mailbox::withdraw_comeback, on the origin's own thread (await_suspend's catch),
        * still inside the task that announced: under the desk, comebacks_.settle. */
       pret--; rlive[wd - 1] = 0; wd = 0
     }
#endif
#if defined(BUG_WORKER_NO_DEADLINE_CHECK) || !DEADLINE
  :: d_step {
       act == A_RUN && wd == 0 && n < NR ->           /* BUG (or !DEADLINE): starts it */
#else
  :: d_step {
       /* The deadline check (submit_record::run): the worker popped n, so the decision
        * is its own; it starts a timed record only while its deadline has not passed.
        * Reading the clock and starting are one step here. */
       act == A_RUN && wd == 0 && n < NR && !(tmd[n / NK] && expired[n / NK]) ->
#endif
       /* core::run_one: n->invoke(n) -> submit_record::run: runs f, stores the result,
        * then completion::signal: key = &state_; prev = exchange(kDone, release).  The
        * caller reads nothing the run writes before it sees kDone, so running and
        * signalling are one step here (two with BUG_SIGNAL_BEFORE_RESULT). */
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
     ; ACCESS(n)                                       /* BUG: e.g. re-reads state_ */
#endif
#if !defined(BUG_WORKER_NO_DEADLINE_CHECK) && DEADLINE
  :: d_step {
       /* The deadline has passed (the submitter saw it already, or time passes right
        * now): the worker does not start f; it marks the record expired and signals,
        * exactly as a run would (same release exchange, same last touch). */
       act == A_RUN && wd == 0 && n < NR && tmd[n / NK] ->
       ACCESS(n);
       expired[n / NK] = 1;
       wexp[n / NK] = 1;
       prev = cs[n / NK]; cs[n / NK] = kDone;          /* exchange(kDone, release) */
       act = A_SIGNALLED
     }
#endif
#if EXIT
  :: d_step {
       /* EXIT: the task ends the OS thread (pthread_exit / cancellation) instead of
        * returning: result_slot::run's catch (forced_unwind&) stores stopped_error and
        * rethrows; submit_record::run's catch signals (the same exchange(kDone,
        * release), the last touch) and rethrows.  Starting it is the same decision as
        * for a run (the deadline check).  EXIT=1: once; EXIT=2: a second time too. */
       act == A_RUN && wd == 0 && n < NR && nexit < EXIT && (EXIT > 1 || !exiting) &&
       (!DEADLINE || !(tmd[n / NK] && expired[n / NK])) ->
       ACCESS(n);
       assert(!ran[n / NK]);                           /* P1: never twice */
       ran[n / NK] = 1; nexit++;
#ifdef BUG_EXIT_NO_SIGNAL
       act = A_XUNWIND                                 /* BUG: the unwind skips signal() */
#else
       result[n / NK] = 1; xend[n / NK] = 1;           /* error_ = task_ended_thread_error() */
       prev = cs[n / NK]; cs[n / NK] = kDone;          /* exchange(kDone, release) */
       act = A_XSIGNALLED
#endif
     }
  :: d_step {
       act == A_XSIGNALLED ->
       /* completion::signal: if (prev == kSleeping) wake_all(key), address only; then
        * `throw;` unwinds into core::run_one's catch (forced_unwind&): scope.close() */
       if
       :: prev == kSleeping -> swait[n / NK] = 0
       :: else -> skip
       fi;
       prev = 0; n = NONE; act = A_XUNWIND
     }
  :: d_step {
       act == A_XUNWIND ->
       /* core::finish_after_exit: if (exiting_) return; (then `throw;`: the unwind goes
        * on through this run() and ends the OS thread -- EXIT=2 only) */
       n = NONE;
       if
       :: exiting -> act = A_GONE
       :: else ->
          exiting = 1;                                 /* exiting_ = true; end_by(exit) */
#ifdef BUG_EXIT_NO_PHASE_CAS
          dseen = 1; act = A_XRUN                      /* BUG: no stop_accepting */
#else
          /* mailbox::stop_accepting: CAS running -> draining (keeping S), the same as
           * join's; if it saw S: wake_one(&inbox_) -- the worker itself: nobody waits */
          if
          :: iph == RUNNING -> iph = DRAINING
          :: else -> skip                              /* join() came first */
          fi;
#ifdef BUG_EXIT_NO_DRAIN
          act = A_GONE                                 /* BUG: the unwind goes on at once */
#else
          act = A_XRUN
#endif
#endif
       fi
     }
  :: d_step {
       act == A_XRUN ->
       /* finish_after_exit: run(postlude_) -> next_task: the same loop as before */
       TAKE()
     }
  :: act == A_GONE -> break                            /* the OS thread ends, not closed */
#endif
  :: d_step {
       act == A_SIGNALLED && prev == kSleeping ->
       /* if (prev == kSleeping) wake_all(key): by address only, NOT an access */
       swait[n / NK] = 0;
       prev = 0; n = NONE; act = A_RAN
     }
  :: d_step {
       (act == A_RAN || (act == A_SIGNALLED && prev != kSleeping)) ->
       /* run_one returns; next_task locks the desk again */
       prev = 0; n = NONE;
       TAKE()
     }
  :: d_step {
       act == A_RUN && wd == 0 && n >= NR ->
       /* a comeback node (settled at the pop): handle.resume().  The resumed coroutine
        * may finish and free its frame before resume() returns: not touched after. */
       ACCESS(n); assert(!rran[n - NR]); rran[n - NR] = 1; rlive[n - NR] = 0; n = NONE;
       TAKE()                                          /* next_task again */
     }
  :: d_step {
       act == A_DRAINED ->
       /* core::close_if_drained_locked: unlock; destroy_bound_values(); lock; if
        * something is pending: loop; else CAS(inbox_, null|draining|T,
        * null|closed|T) -- its failure (a push got in) loops too. */
#ifdef BUG_CLOSE_EARLY
       iph = CLOSED; act = A_EXIT
#else
       if
#ifdef BUG_CLOSE_IGNORES_RETURNS
       :: qlen > 0 || chlen > 0 -> TAKE()
#else
       :: qlen > 0 || chlen > 0 || pret > 0 -> TAKE()
#endif
#ifdef BUG_CLOSE_NO_CAS
       :: else -> act = A_CLOSING                      /* BUG: checked; stores later */
#elif defined(BUG_EXIT_NO_PHASE_CAS)
       :: !(qlen > 0 || chlen > 0 || pret > 0) && exiting ->
          act = A_CLOSING                              /* BUG: found nothing; stores later */
       :: !(qlen > 0 || chlen > 0 || pret > 0) && !exiting ->
          iph = CLOSED; act = A_EXIT
#else
       :: else -> iph = CLOSED; act = A_EXIT           /* the close CAS succeeds */
#endif
       fi
#endif
     }
#if defined(BUG_CLOSE_NO_CAS) || defined(BUG_EXIT_NO_PHASE_CAS)
  :: d_step {
       act == A_CLOSING ->                             /* BUG: inbox_.store(closed) */
       i = 0;
       do
       :: i < chlen -> ch[i] = NONE; i++               /* (a push in between is lost) */
       :: else -> break
       od;
       chlen = 0; iph = CLOSED; iS = 0; i = 0; act = A_EXIT
     }
#endif
  :: d_step {
       act == A_IDLE ->
       /* core::wait_for_work_locked: the spin (desk unlocked) ends when the word
        * changed or its budget ran out (any moment: a relaxed load may be stale); lock
        * the desk; if ready_ non-empty or ptr non-null or the phase changed (join
        * unseen): loop; else CAS(inbox_, w, w | S) [acq_rel] (fails -> loop); unlock. */
       if
#ifdef BUG_SLEEP_NO_RECHECK
       :: chlen > 0 || (iph != RUNNING && !dseen) -> TAKE()   /* BUG: ready_ not looked at */
#else
       :: qlen > 0 || chlen > 0 || (iph != RUNNING && !dseen) -> TAKE()
#endif
       :: else ->
#ifdef BUG_WORKER_SLEEPS_WITHOUT_S_CAS
          sph = iph; sT = CMPFLAG; act = A_SSTORE     /* BUG: read now, store later */
#else
          iS = 1; sph = iph; sT = CMPFLAG; act = A_SLEEP   /* the S-CAS; unlock */
#endif
       fi
     }
#ifdef BUG_WORKER_SLEEPS_WITHOUT_S_CAS
  :: d_step {
       act == A_SSTORE ->                              /* BUG: inbox_.store(w | S) */
       i = 0;
       do
       :: i < chlen -> ch[i] = NONE; i++               /* (a push in between is lost) */
       :: else -> break
       od;
       chlen = 0; iph = sph; iS = 1; i = 0;
#ifdef PROTO_T_TOGGLE
       iT = sT;
#endif
       act = A_SLEEP
     }
#endif
  :: atomic {
       act == A_SLEEP ->
       /* core::sleep_until_woken_locked: futex_wait(low 32 bits of inbox_, low32(w|S)):
        * the kernel compares and sleeps atomically.  TRUNC32: a non-null pointer's low
        * half may be zero, so only phase, S and bit 3 are sure to be compared. */
       if
       :: iS && iph == sph && CMPFLAG == sT && chlen == 0 -> wwait = 1
#if TRUNC32
       :: iS && iph == sph && CMPFLAG == sT && chlen > 0 -> wwait = 1   /* low half equal */
#endif
       :: !(iS && iph == sph && CMPFLAG == sT && chlen == 0) -> skip     /* EAGAIN */
       fi;
       sph = 0; sT = 0; act = A_WAIT
     }
  :: d_step {
       act == A_WAIT && wwait == 1 && spur > 0 -> spur--; wwait = 0   /* spurious / EINTR */
     }
  :: d_step {
       act == A_WAIT && wwait == 0 ->
       /* woken (or EAGAIN): lock the desk; clear S if the word still has it with a
        * null pointer (CAS(x, x & ~S), retried while that holds); loop */
       if
       :: iS && chlen == 0 -> iS = 0
       :: else -> skip
       fi;
       TAKE()
     }
  :: act == A_EXIT -> break                            /* next_task returned nullptr */
  od;
  /* core::run: the postlude runs; the OS thread ends. */
  skip;
  d_step {
    assert(qlen == 0 && chlen == 0 && pret == 0);      /* P4: join drains */
#if EXIT
    assert(iph == CLOSED);                             /* P4: ... and closes, exit or not */
#endif
    worker_exited = 1
  }
}

/* ================================================================================== */
#define OUT_VALUE   0   /* returned the result (or rethrew the task's exception) */
#define OUT_TIMEOUT 1   /* timeout_error: withdrawn */
#define OUT_STOPPED 2   /* stopped_error: refused */

/* The CAS of completion::park_for: compare_exchange_strong(kPending -> kSleeping, acquire) */
inline CAS() {
  if
  :: cs[s] == kPending -> cs[s] = kSleeping; casr = kPending
  :: else -> casr = cs[s]
  fi
}

#ifndef NK0
#define NK0 NK        /* STOP: hand-offs of submitter 0, the one that may stop */
#endif
#if STOP
#define KMAX ((s == 0) -> NK0 : NK)
#else
#define KMAX NK
#endif

/* STOP: submitter 0 may stop here for ever (never scheduled again). */
#if STOP
#define STOPPOINT :: s == 0 -> stopped = 1; goto end_stopped
#else
#define STOPPOINT
#endif

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
  bit  inch;       /* (withdraw: the record is still in the chain) */
#ifdef BUG_PUSH_PHASE_STALE
  byte wptr;       /* the pointer of the word the push read */
#endif

  do
  :: k == KMAX -> break
  :: k < KMAX ->
     /* thread.hpp: thread::submit / submit_for: `detail::submit_record<F> record(f);`
      * the record is built in this frame (the same stack slot every time); then
      * mailbox::push(record, other_thread, refusable).  One step (see Abstractions):
      * building the record, the load, the phase check, inbox_next and the CAS. */
     atomic {
       if
       STOPPOINT                                       /* before its read (or after) */
       :: true -> skip
       fi;
       r = s * NK + k;
       gen[s] = k; live[s] = 1; cs[s] = kPending; queued[s] = 0; result[s] = 0; ran[s] = 0;
       wexp[s] = 0; expired[s] = 0 XEND_RESET(s);
#if TIMED
       if
       :: timed = 0                                    /* submit -> core::submit_and_wait */
       :: timed = 1                                    /* submit_for -> submit_and_wait_until */
#if DEADLINE
       :: timed = 1; expired[s] = 1;                   /* the deadline already passed at the call: */
          out = OUT_TIMEOUT; goto ret                  /* timeout_error, never pushed */
#endif
       fi;
       tmd[s] = timed;
#endif
#ifdef BUG_PUSH_PHASE_STALE
       goto pread
     };
pread:
     atomic {                                          /* w = inbox_.load(relaxed); phase check */
       if
       STOPPOINT
       :: iph == RUNNING -> ok = 1; wptr = HEAD
       :: iph != RUNNING -> ok = 0; out = OUT_STOPPED; goto ret
       fi
     };
     atomic {
       if
       STOPPOINT                                       /* after its read, before the CAS */
       :: HEAD == wptr -> PUSH(r)                      /* BUG: the CAS ignores the phase bits */
       :: HEAD != wptr -> goto pread                   /* failure reloads w */
       fi;
       wptr = 0;
#else
       if
       :: iph == RUNNING -> ok = 1; PUSH(r)            /* open(phase(w), other): CAS */
       :: else -> ok = 0                               /* throw stopped_error: nothing linked */
       fi;
#endif
       if
       :: s == 0 && ok && STOP -> acc0 = 1
       :: else -> skip
       fi;
       if
       :: !ok -> out = OUT_STOPPED; goto ret           /* refused: never linked, never runs */
       :: ok && !wk && timed -> goto tloop
       :: ok && !wk && !timed -> goto park
       :: ok && wk -> skip
       fi
     };
     atomic {
       if
       STOPPOINT                                       /* after the CAS, before its wake */
       :: true -> skip
       fi;
       wwait = 0; wk = 0;                              /* if S(w): wake_one(&inbox_) */
       if
       :: timed -> goto tloop
       :: else -> goto park
       fi
     };

     /* ---- completion::wait(ahead) (task_node.hpp) -----------------------------------
      * spin_until(done()) only reads state_; the CAS in park_for reads it too and
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
#if STOP
     :: atomic { s == 0 -> stopped = 1; goto end_stopped }   /* stops while waiting */
#endif
     fi;
     /* wait_on(state_, kSleeping): the kernel compares and sleeps atomically */
#ifdef BUG_CALLER_NO_ANNOUNCE
     d_step { if :: cs[s] == kPending -> swait[s] = 1 :: else -> skip fi };
#else
     d_step { if :: cs[s] == kSleeping -> swait[s] = 1 :: else -> skip fi };   /* else EAGAIN */
#endif
     goto park;

     /* ---- completion::wait_until(deadline) ------------------------------------------
      * Its reads of state_ all have the same shape: read state_; kDone -> return true;
      * else, if the deadline passed -> return false.  The acquire load may return a
      * stale value, so "deadline passed" is allowed even when state_ is already kDone:
      * withdraw() then fails and wait() finds kDone.  The timed futex wait may return at
      * any moment (ETIMEDOUT), which subsumes its wake-ups: a plain delay (no swait). */
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
#if STOP
     :: atomic { s == 0 -> stopped = 1; goto end_stopped }   /* stops while waiting */
#endif
     :: d_step {                                       /* deadline: return false, so */
#if DEADLINE
          expired[s] = 1;                              /* (time has passed the deadline) */
#endif
          /* mailbox::withdraw(n), under the desk: drain_locked(), then
           * if (ready_.is_linked(n)) { ready_.remove(n); return true; } return false; */
#ifndef BUG_WITHDRAW_NO_DRAIN
          DRAIN(0, j);
#endif
#ifdef BUG_WITHDRAW_NO_QUEUED_CHECK
          if :: true ->                                /* BUG: no is_linked(n) check */
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
                :: j > 0 -> ACCESS(q[j - 1])           /* n.prev's hook (next) */
                :: else -> skip
                fi;
                if
                :: j + 1 < qlen -> ACCESS(q[j + 1])    /* n.next's hook (prev) */
                :: else -> skip
                fi;
                do
                :: j + 1 < qlen -> q[j] = q[j + 1]; j++
                :: else -> break
                od;
                qlen--; q[qlen] = NONE
             :: else -> skip                           /* (only with the BUG: not linked) */
             fi;
             j = 0;                                    /* (ghost: no longer accepted) */
             do
             :: j < fqlen && fq[j] != r -> j++
             :: else -> break
             od;
             if
             :: j < fqlen ->
                do
                :: j + 1 < fqlen -> fq[j] = fq[j + 1]; j++
                :: else -> break
                od;
                fqlen--; fq[fqlen] = NONE
             :: else -> skip
             fi;
             queued[s] = 0;                            /* unlinked */
             ok = 1
#ifndef BUG_WITHDRAW_NO_QUEUED_CHECK
          :: else ->                                   /* the worker popped it */
             j = 0;
             do
             :: j < chlen && ch[j] != r -> j++
             :: else -> break
             od;
             inch = (j < chlen);
             assert(!inch);                            /* P1: so it was popped, really */
             ok = 0
#endif
          fi;
          j = 0
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
       :: out == OUT_VALUE -> assert(result[s] && ran[s])   /* P5 + P1: it ran, result visible
                                                             * (EXIT: xend[s]: take() rethrows
                                                             * the stopped_error it holds) */
       :: else -> assert(!ran[s])                            /* P1: refused/withdrawn: never ran */
       fi;
       live[s] = 0; k++;
       if
       :: k == KMAX -> finished++                     /* (ghost: this thread is done) */
       :: else -> skip
       fi;
       out = 0; ok = 0; timed = 0; r = 0; tmd[s] = 0; wexp[s] = 0; expired[s] = 0
       XEND_RESET(s);
       if
       :: s == 0 -> acc0 = 0
       :: else -> skip
       fi
     }
  od;
#if STOP
  goto fin;
end_stopped:                                           /* P7: stopped for ever: a valid end */
  (0);
fin:
#endif
  skip
}

/* ================================================================================== */
proctype joiner()
{
  bit wk;
#if JOIN == 1
  finished + stopped == NS;                            /* joins after the others returned */
#elif JOIN == 2
  if                                                   /* (the choice is made first) */
  :: skip                                              /* at any moment */
  :: true -> finished + stopped == NS                  /* or only after the others returned */
  fi;
#endif
  /* core::join -> mailbox::stop_accepting: w = load; do { if phase(w) != running:
   * break } while (!CAS(w -> ptr(w) | draining | S(w) | T(w))); if S(w): wake_one */
  d_step {
    if
    :: iph == RUNNING -> iph = DRAINING; wk = iS
    :: else -> wk = 0
    fi;
#ifdef BUG_JOIN_NO_WAKE
    wk = 0
#endif
  };
  if
  :: wk -> wwait = 0                                   /* wake_one(&inbox_) */
  :: else -> skip
  fi;
  worker_exited == 1;                                  /* os_thread_->join() */
  d_step { joined = 1; finished++ }
}

/* ================================================================================== */
/* Coroutine comebacks (include/ste/task.hpp, submit_async_awaiter).  A coroutine on
 * this thread does `co_await other.submit_async(t)`: await_suspend announces on this
 * thread (the worker, see its announce step); when `t` finishes on the other thread,
 * done() calls mailbox::link_comeback(back_, r) from there: this process.  Comebacks
 * withdrawn on the thread (CANCEL) are never linked (rcan). */
proctype returner(byte i)
{
  byte r = NR + i;
  bit wk;
end_unannounced:                                       /* (never announced: a valid end) */
  rbegun > i && !rcan[i];                              /* announce_comeback() happened */
#ifdef BUG_CANCEL_OFF_THREAD
  if
  :: skip
  :: d_step {                                          /* BUG: mailbox::withdraw_comeback */
       pret--; rlive[i] = 0                            /* from this thread, under the desk */
     };
     goto end_withdrawn
  fi;
#endif
#ifdef BUG_SETTLE_AT_LINK
  d_step { pret-- };                                   /* BUG: settled by the linker, first */
#endif
  atomic {
    /* mailbox::link_comeback(n, r): push, never refused; the comeback keeps the thread
     * open until the worker pops n (STE_ASSERT(phase != closed)) */
    assert(iph != CLOSED);
    PUSH(r); racc[i] = 1
  };
  if
  :: wk -> wwait = 0                                   /* if S(w): wake_one(&inbox_) */
  :: else -> skip
  fi;
#ifdef BUG_CANCEL_OFF_THREAD
end_withdrawn:
#endif
  skip
}

/* ================================================================================== */
init
{
  byte x;
  atomic {
    x = 0;
    do
    :: x < NT -> q[x] = NONE; ch[x] = NONE; fq[x] = NONE; x++
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
  worker_exited && finished + stopped == NS + 1;
  /* Submitters checked their own outcome when they returned.  Comebacks: linked <=> ran. */
  x = 0;
  do
  :: x < RETURNS -> assert(racc[x] == rran[x]); x++
  :: else -> break
  od;
  assert(qlen == 0 && chlen == 0 && fqlen == 0 && joined && iph == CLOSED);   /* P4 */
  assert(!stopped || !acc0 || ran[0] || wexp[0])       /* P7: the stopped one's record ran */
}
