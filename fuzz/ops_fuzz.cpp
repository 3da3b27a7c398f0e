// SPDX-License-Identifier: MIT
// libFuzzer harness: turns bytes into sequences of operations that several driver
// threads perform at once on up to three ste threads, and checks an oracle after each
// input:
// - nothing lost: every accepted task ran, by the time its thread was joined;
// - nothing run twice, and nothing refused (stopped_error), withdrawn (timeout_error) or
//   not started because of a deadlock_error ever runs;
// - exceptions reach their callers (submit: the very object), or the on_error of the
//   right thread (post, spawn);
// - values handed over (destroy, bound<T>) die exactly once, on their thread;
// - no hand-off is accepted by a thread whose join() had already returned; tags are
//   unique;
// - delayed and periodic tasks (post_after / post_at / post_every, timer::cancel,
//   dropped handles): a one-shot runs at most once; nothing runs after a cancel() that
//   returned, nor after its thread's join() returned; a one-shot whose cancel() returned
//   true never ran; at the end, a one-shot with deadline 0 that no cancel() stopped has
//   run (it was due before join() could start: its post was accepted), one with a
//   deadline 1 h away never ran; a periodic timer's exceptions are one per run; every
//   accepted timer's callable is destroyed exactly once, on its thread (a refused one's
//   on the caller); cancel() on an empty handle, or after join() returned, is false.
// A violation prints what happened and aborts (libFuzzer saves the input).
//
// Input: byte 0 picks the number of ste threads (1-3), of drivers (1-3) and whether
// thread 0 has a prelude; then each pair of bytes (opcode, argument) is one operation,
// dealt to the drivers in turn. At most kMaxOps operations per input. Each operation is
// one member function of `driver`; `driver::dispatch` maps opcodes to them.
//
// Built two ways (fuzz/CMakeLists.txt): with -fsanitize=fuzzer (clang), and as a plain
// program with replay_main.cpp, which runs every file of the corpus (under TSan too).
#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <coroutine>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <memory>
#include <mutex>
#include <string>
#include <system_error>
#include <thread>
#include <utility>
#include <vector>

#include "ste/ste.hpp"
#include "test_support.hpp"

#if defined(__linux__)
#include <dirent.h>
#endif
#if !defined(_WIN32)
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#endif

#if defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define STE_FUZZ_TSAN 1
#endif
#endif
#if defined(__SANITIZE_THREAD__)
#define STE_FUZZ_TSAN 1
#endif
#if defined(STE_FUZZ_TSAN)
// TSan cannot follow a thread started in the child of a multi-threaded fork
// (tests/fork_test.cpp says why): there the fork operation's child checks the inherited
// handles only.
constexpr bool kThreadsInChild = false;
#else
constexpr bool kThreadsInChild = true;
#endif

#if defined(__has_feature)
#if __has_feature(address_sanitizer)
#define STE_FUZZ_ASAN 1
#endif
#endif
#if defined(__SANITIZE_ADDRESS__)
#define STE_FUZZ_ASAN 1
#endif
#if defined(STE_FUZZ_ASAN) || defined(STE_FUZZ_TSAN) || defined(_LIBCPP_VERSION)
// ASan's allocator takes no lock around fork(): a child's malloc can wait for ever on an
// allocator mutex another driver held at the fork (tests/fork_test.cpp, where it was
// seen). The other drivers allocate all the time, so under ASan (the fuzz preset, the
// asan workflow's replay) the fork operation does nothing. Nor under TSan: clang 14's
// hung a child of this harness the same way (the clang-tsan replay, killed by its alarm).
// Nor with libc++: LLVM's unwinder takes glibc's loader lock, which fork does not reset,
// and the other drivers throw all the time (tests/fork_test.cpp).
constexpr bool kForkSafe = false;
#else
constexpr bool kForkSafe = true;
#endif

namespace {

using namespace std::chrono_literals;
using ste_test::eager;
using ste_test::gate;

constexpr std::size_t kMaxSlots = 3;
constexpr std::size_t kMaxDrivers = 3;
constexpr std::size_t kMaxOps = 160;
constexpr std::size_t kIdsPerOp = 4;
constexpr std::size_t kNoSlot = 0xFF;

// Threads of this process now (Linux: /proc/self/task), or 0 where unknown.
std::size_t thread_count() {
  std::size_t n = 0;
#if defined(__linux__)
  if (DIR* d = opendir("/proc/self/task")) {
    while (dirent* e = readdir(d))
      if (e->d_name[0] != '.') ++n;
    closedir(d);
  }
#endif
  return n;
}

[[noreturn]] void violation(std::string const& what) {
  std::fprintf(stderr, "ste fuzz: ORACLE VIOLATION: %s\n", what.c_str());
  std::fflush(stderr);
  std::abort();
}

struct boom {
  std::size_t id;
};

/// Thrown by a timer's callable: counted apart (a periodic one throws once per run).
struct timer_boom {
  std::size_t id;
};

/// One delayed or periodic task, written by the driver that posted it (read after the
/// drivers ended).
struct timer_rec {
  bool used = false;
  bool accepted = false;     // post_* returned a handle (not refused)
  bool periodic = false;
  bool far = false;          // deadline or period 1 h away: never runs
  bool fail = false;         // f throws
  std::size_t slot = 0;      // the thread it was posted to
  bool cancelled = false;    // a cancel() returned true
  bool frozen = false;       // a cancel() returned: no run after it
  std::uint32_t frozen_runs = 0;
};

/// The state of one input: the ste threads, the ledger and the expectations.
struct world {
  explicit world(std::size_t ids)
      : ran(ids), reported(ids), reporter(ids), expect_ran(ids, 0), expect_reporter(ids, kNoSlot),
        timer_runs(ids), timer_reported(ids), timer_reporter(ids), timer_made(ids), timer_destroyed(ids),
        timer_destroyed_off(ids), timers(ids) {
    for (auto& r : reporter) r.store(kNoSlot, std::memory_order_relaxed);
    for (auto& r : timer_reporter) r.store(kNoSlot, std::memory_order_relaxed);
  }

  std::size_t slots = 1;
  std::array<ste::thread, kMaxSlots> thread;
  std::array<std::mutex, kMaxSlots> join_mutex;       // one joiner per handle at a time
  std::array<std::atomic<bool>, kMaxSlots> joined{};  // set once join() returned

  // The ledger: ran[id] counts runs, wherever they happen; reported[id] counts
  // exceptions that reached an on_error, reporter[id] whose.
  std::vector<std::atomic<std::uint8_t>> ran;
  std::vector<std::atomic<std::uint8_t>> reported;
  std::vector<std::atomic<std::uint8_t>> reporter;
  // Expectations, each written by the driver that owns the id.
  std::vector<std::uint8_t> expect_ran;
  std::vector<std::uint8_t> expect_reporter;

  std::mutex tags_mutex;
  std::vector<ste::tag> tags;

  // The timers' ledger (by id): runs, exceptions that reached on_error (and whose),
  // destructions of the callable (and those off its thread); and the records.
  std::vector<std::atomic<std::uint32_t>> timer_runs;
  std::vector<std::atomic<std::uint32_t>> timer_reported;
  std::vector<std::atomic<std::uint8_t>> timer_reporter;
  std::vector<std::atomic<std::uint8_t>> timer_made;  // callables made (not moves)
  std::vector<std::atomic<std::uint8_t>> timer_destroyed;
  std::vector<std::atomic<std::uint8_t>> timer_destroyed_off;
  std::vector<timer_rec> timers;

  void run(std::size_t id) { ran[id].fetch_add(1, std::memory_order_relaxed); }
  void add_tag(ste::tag t) {
    std::lock_guard lock(tags_mutex);
    tags.push_back(t);
  }
  void on_error(std::size_t slot, std::exception_ptr e) {
    try {
      std::rethrow_exception(e);
    } catch (boom const& b) {
      reported[b.id].fetch_add(1, std::memory_order_relaxed);
      reporter[b.id].store(static_cast<std::uint8_t>(slot), std::memory_order_relaxed);
    } catch (timer_boom const& b) {
      timer_reported[b.id].fetch_add(1, std::memory_order_relaxed);
      timer_reporter[b.id].store(static_cast<std::uint8_t>(slot), std::memory_order_relaxed);
    } catch (std::exception const& x) {
      violation(std::string("on_error of thread ") + std::to_string(slot) +
                " received an unexpected exception: " + x.what());
    } catch (...) {
      violation("on_error received an unexpected non-std exception");
    }
  }
};

/// A value that must die exactly once, on its home thread.
struct tracked {
  tracked(world* w, std::size_t id, ste::tag home, bool fail = false)
      : w_(w), id_(id), home_(home) {
    if (fail) throw boom{id};
  }
  tracked(tracked&& o) noexcept
      : w_(o.w_), id_(o.id_), home_(o.home_), live_(std::exchange(o.live_, false)) {}
  tracked(tracked const&) = delete;
  tracked& operator=(tracked const&) = delete;
  tracked& operator=(tracked&&) = delete;
  ~tracked() {
    if (!live_) return;
    w_->run(id_);
    if (home_ != ste::tag{} && !home_.is_on_thread())
      violation("a value handed to its thread died elsewhere (id " + std::to_string(id_) + ")");
  }
  void rehome() noexcept { home_ = ste::tag{}; }
  std::size_t id() const noexcept { return id_; }

 private:
  world* w_;
  std::size_t id_;
  ste::tag home_;
  bool live_ = true;
};

/// A timer's callable: counts its runs, on its thread; may throw; counts its own
/// destruction (and whether it happened off its thread).
struct timer_fn {
  timer_fn(world* w, std::size_t id, ste::tag home, bool fail)
      : w_(w), id_(id), home_(home), fail_(fail) {
    w_->timer_made[id_].fetch_add(1, std::memory_order_relaxed);
  }
  timer_fn(timer_fn&& o) noexcept
      : w_(o.w_), id_(o.id_), home_(o.home_), fail_(o.fail_),
        live_(std::exchange(o.live_, false)) {}
  timer_fn(timer_fn const&) = delete;
  timer_fn& operator=(timer_fn const&) = delete;
  timer_fn& operator=(timer_fn&&) = delete;
  ~timer_fn() {
    if (!live_) return;
    w_->timer_destroyed[id_].fetch_add(1, std::memory_order_relaxed);
    if (!home_.is_on_thread()) w_->timer_destroyed_off[id_].fetch_add(1, std::memory_order_relaxed);
  }
  void operator()() {
    if (!home_.is_on_thread()) violation("a timer ran off its thread (id " + std::to_string(id_) + ")");
    w_->timer_runs[id_].fetch_add(1, std::memory_order_relaxed);
    if (fail_) throw timer_boom{id_};
  }

 private:
  world* w_;
  std::size_t id_;
  ste::tag home_;
  bool fail_;
  bool live_ = true;
};

// ---------------------------------------------------------------------------------
// Coroutines (free functions: parameters live in the frame)

// Starts where block_on put it, hops to `to` (a refused hop stays put), may sleep (a
// sleep ended by join() is fine), counts itself once, may throw.
ste::task<std::size_t> hop(world* w, ste::thread const* to, std::size_t id, std::uint32_t us,
                           bool fail) {
  try {
    co_await to->schedule();
    if (!to->tag().is_on_thread()) violation("schedule() did not continue on its thread");
  } catch (ste::stopped_error const&) {
  }
  if (us != 0) {
    try {
      co_await ste::sleep_for(std::chrono::microseconds(us));
    } catch (ste::stopped_error const&) {
    }
  }
  w->run(id);
  if (fail) throw boom{id};
  co_return id;
}

ste::task<std::size_t> body(world* w, ste::tag where, std::size_t id, bool fail) {
  if (!where.is_on_thread()) violation("submit_async ran its awaitable off the target");
  w->run(id);
  if (fail) throw boom{id};
  co_return id;
}

// On a ste thread: submit_async to `there` and back. A refused submit_async (stopped, or
// deadlock_error because `there` is joining us) counts the id here instead (the body
// never started).
ste::task<std::size_t> round_trip(world* w, ste::thread const* there, std::size_t id, bool fail) {
  ste::tag const home = ste::tag::current_thread();
  try {
    std::size_t const v = co_await there->submit_async(body(w, there->tag(), id, fail));
    if (!home.is_on_thread()) violation("submit_async did not resume on the origin thread");
    co_return v;
  } catch (ste::stopped_error const&) {
    w->run(id);
    co_return id;
  } catch (ste::deadlock_error const&) {
    // `there` is blocked joining our thread: refused, the body never started.
    w->run(id);
    co_return id;
  } catch (boom const&) {
    if (!home.is_on_thread()) violation("submit_async's exception resumed off the origin");
    throw;
  }
}

ste::task<void> detached(world* w, ste::thread const* to, std::size_t id,
                         std::chrono::microseconds sleep, bool fail) {
  if (to != nullptr) {
    try {
      co_await to->schedule();
    } catch (ste::stopped_error const&) {
    }
  }
  if (sleep.count() != 0) {
    try {
      co_await ste::sleep_for(sleep);
    } catch (ste::stopped_error const&) {
    }
  }
  w->run(id);
  if (fail) throw boom{id};
}

// On a plain thread: an eager coroutine that awaits submit_async to `there` (the body
// counts the id there), then opens `done`. `refused`: `there` refused (stopped).
eager submit_async_from_plain(world* w, ste::thread const* there, std::size_t id, bool& refused,
                              gate& done) {
  try {
    (void)co_await there->submit_async(body(w, there->tag(), id, false));
    if (!there->tag().is_on_thread())
      violation("submit_async from a plain thread did not resume on the target");
  } catch (ste::stopped_error const&) {
    refused = true;
  }
  done.open();
}

// On a plain thread: an eager coroutine that hops onto `to` and counts the id there, then
// opens `done`. `refused`: `to` refused the hop (stopped).
eager schedule_from_plain(world* w, ste::thread const* to, std::size_t id, bool& refused,
                          gate& done) {
  try {
    co_await to->schedule();
    if (!to->tag().is_on_thread()) violation("schedule() did not continue there");
    w->run(id);
  } catch (ste::stopped_error const&) {
    refused = true;
  }
  done.open();
}

// ---------------------------------------------------------------------------------
// The drivers

enum op : std::uint8_t {
  op_submit,
  op_submit_throw,
  op_submit_throw_int,
  op_post,
  op_post_throw,
  op_busy,
  op_submit_for,
  op_submit_until,
  op_destroy,
  op_join,
  op_join_in_task,
  op_bound_make,
  op_bound_reset,
  op_bound_get,
  op_local_thread,
  op_nested,
  op_block_on,
  op_submit_async,
  op_submit_async_plain,
  op_spawn,
  op_schedule_plain,
  op_empty_handle,
  op_tags,
  op_post_after,
  op_post_every,
  op_timer_cancel,
  op_timer_drop,
  op_fork,
  op_count
};

struct step {
  std::uint8_t code;
  std::uint8_t arg;
  std::size_t index;  // position in the input: ids index*kIdsPerOp ... +kIdsPerOp-1
};

/// What one step works on, decoded from its argument byte.
struct operands {
  std::uint8_t arg;
  std::size_t x;         // the target slot
  std::size_t y;         // a second slot
  ste::thread const& t;  // thread x
  ste::thread const& u;  // thread y
  std::size_t id;        // the step's first id
  bool fail;             // the task, value or coroutine throws
  bool joined_before;    // thread x's join() had returned before the step began
};

struct held {
  ste::bound<tracked> value;
  std::size_t id = 0;
  std::size_t owner = 0;
};

enum class ending : std::uint8_t { returns, throws };       // of a posted task
enum class deadline : std::uint8_t { relative, absolute };  // submit_for, submit_until

struct held_timer {
  ste::timer handle;
  std::size_t id = 0;
};

class driver {
 public:
  driver(world& w, std::vector<step> steps) : w_(w), steps_(std::move(steps)) {}

  void run() {
    for (step const& s : steps_) perform(s);
    // Remaining bound values die here (~bound), on their thread or by its join().
  }

 private:
  void expect(std::size_t id, std::uint8_t n = 1) { w_.expect_ran[id] = n; }
  void expect_report(std::size_t id, std::size_t slot) {
    w_.expect_reporter[id] = static_cast<std::uint8_t>(slot);
  }
  // An accepted hand-off to a thread whose join() had returned before we started.
  static void accepted(std::size_t slot, bool joined_before, char const* what) {
    if (joined_before)
      violation(std::string(what) + " was accepted by thread " + std::to_string(slot) +
                " after its join() had returned");
  }

  operands decode(step const& s) const {
    std::size_t const x = s.arg % w_.slots;
    std::size_t const y = (s.arg / 4) % w_.slots;
    return {s.arg,
            x,
            y,
            w_.thread[x],
            w_.thread[y],
            s.index * kIdsPerOp,
            (s.arg & 0x80) != 0,
            w_.joined[x].load(std::memory_order_acquire)};
  }

  void perform(step const& s) {
    operands const o = decode(s);
    try {
      dispatch(static_cast<op>(s.code % op_count), o);
    } catch (ste::stopped_error const&) {
      // Refused: the task did not run (expectations stay 0).
    } catch (ste::deadlock_error const&) {
      // Refused before anything was enqueued (a task of x was waiting on us).
    } catch (std::exception const& e) {
      violation(std::string("unexpected exception in a driver: ") + e.what());
    }
  }

  // One line an operation, in the order of `op`; -Wswitch reports a missing one.
  void dispatch(op code, operands const& o) {
    // clang-format off
    switch (code) {
      case op_submit: return submit(o);
      case op_submit_throw: return submit_throw(o);
      case op_submit_throw_int: return submit_throw_int(o);
      case op_post: return post(o, ending::returns);
      case op_post_throw: return post(o, ending::throws);
      case op_busy: return busy(o);
      case op_submit_for: return submit_timed(o, deadline::relative);
      case op_submit_until: return submit_timed(o, deadline::absolute);
      case op_destroy: return destroy(o);
      case op_join: return join(o);
      case op_join_in_task: return join_in_task(o);
      case op_bound_make: return bound_make(o);
      case op_bound_reset: return reset(bound_at(o));
      case op_bound_get: return bound_get(o);
      case op_local_thread: return local_thread(o);
      case op_nested: return nested(o);
      case op_block_on: return block_on(o);
      case op_submit_async: return submit_async(o);
      case op_submit_async_plain: return from_plain(o, &submit_async_from_plain, "submit_async");
      case op_spawn: return spawn(o);
      case op_schedule_plain: return from_plain(o, &schedule_from_plain, "schedule");
      case op_empty_handle: return empty_handle(o);
      case op_tags: return tags(o);
      case op_post_after: return post_timer(o, false);
      case op_post_every: return post_timer(o, true);
      case op_timer_cancel: return timer_cancel(o);
      case op_timer_drop: return timer_drop(o);
      case op_fork: return fork_child(o);
      case op_count: return;  // not an operation: codes are taken modulo op_count
    }
    // clang-format on
  }

  // --- submit, post, destroy ----------------------------------------------------------

  void submit(operands const& o) {
    std::size_t const v = o.t.submit([&] {
      w_.run(o.id);
      return o.id * 3 + 1;
    });
    if (v != o.id * 3 + 1) violation("submit returned a wrong value");
    accepted(o.x, o.joined_before, "submit");
    expect(o.id);
  }

  void submit_throw(operands const& o) {
    boom const* thrown = nullptr;
    try {
      o.t.submit([&] {
        w_.run(o.id);
        try {
          throw boom{o.id};
        } catch (boom const& e) {
          thrown = &e;
          throw;
        }
      });
      violation("submit: the task's exception did not reach the caller");
    } catch (boom const& e) {
      if (e.id != o.id || &e != thrown)
        violation("submit: the caller caught another exception object");
    }
    accepted(o.x, o.joined_before, "submit");
    expect(o.id);
  }

  void submit_throw_int(operands const& o) {
    try {
      o.t.submit([&] {
        w_.run(o.id);
        throw static_cast<int>(o.id);
      });
      violation("submit: a non-std exception did not reach the caller");
    } catch (int v) {
      if (static_cast<std::size_t>(v) != o.id) violation("submit: wrong int caught");
    }
    accepted(o.x, o.joined_before, "submit");
    expect(o.id);
  }

  void post(operands const& o, ending end) {
    bool const throws = end == ending::throws;
    world* w = &w_;
    std::size_t const id = o.id;
    o.t.post([w, id, throws] {
      w->run(id);
      if (throws) throw boom{id};
    });
    accepted(o.x, o.joined_before, "post");
    expect(id);
    if (throws) expect_report(id, o.x);
  }

  void busy(operands const& o) {  // keeps the thread busy for up to ~500 µs: deadlines expire
    world* w = &w_;
    std::size_t const id = o.id;
    std::uint32_t const us = 2u * (o.arg & 0x7F) + 2;
    o.t.post([w, id, us] {
      auto const until = std::chrono::steady_clock::now() + std::chrono::microseconds(us);
      while (std::chrono::steady_clock::now() < until) {
      }
      w->run(id);
    });
    accepted(o.x, o.joined_before, "post");
    expect(id);
  }

  void submit_timed(operands const& o, deadline kind) {
    auto const d = std::chrono::microseconds(o.arg);
    auto task = [&] {
      w_.run(o.id);
      return o.id;
    };
    try {
      std::size_t const v = kind == deadline::relative
                                ? o.t.submit_for(d, task)
                                : o.t.submit_until(std::chrono::steady_clock::now() + d, task);
      if (v != o.id) violation("submit_for/until returned a wrong value");
      accepted(o.x, o.joined_before, "submit_for");
      expect(o.id);
    } catch (ste::timeout_error const&) {
      // Withdrawn: must never run (expect 0).
    }
  }

  void destroy(operands const& o) {
    tracked v(&w_, o.id, o.t.tag());
    try {
      o.t.destroy(std::move(v));
      accepted(o.x, o.joined_before, "destroy");
    } catch (ste::stopped_error const&) {
      v.rehome();  // refused, so not moved from: dies here
    }
    expect(o.id);
  }

  // --- join ---------------------------------------------------------------------------

  void join(operands const& o) {
    std::lock_guard lock(w_.join_mutex[o.x]);
    w_.thread[o.x].join();
    w_.joined[o.x].store(true, std::memory_order_release);
  }

  void join_in_task(operands const& o) {  // a task on x joins y (x == y: system_error)
    world* w = &w_;
    std::size_t const x = o.x;
    std::size_t const y = o.y;
    o.t.submit([w, x, y] {
      if (x == y) return join_self(*w, y);
      // try_lock: a task must never wait for a driver (that wait is invisible to ste's
      // deadlock detection).
      std::unique_lock lock(w->join_mutex[y], std::try_to_lock);
      if (!lock.owns_lock()) return;
      try {
        w->thread[y].join();
        w->joined[y].store(true, std::memory_order_release);
      } catch (ste::deadlock_error const&) {
        // y is (transitively) waiting on x: refused before anything changed.
      }
    });
  }

  // On thread `slot`, from one of its tasks.
  static void join_self(world& w, std::size_t slot) {
    try {
      w.thread[slot].join();
      violation("join on the thread itself did not throw");
    } catch (std::system_error const& e) {
      if (e.code() != std::errc::resource_deadlock_would_occur)
        violation("join on the thread itself: wrong error code");
    }
  }

  // --- bound<T> -----------------------------------------------------------------------

  held& bound_at(operands const& o) { return bounds_[o.arg % bounds_.size()]; }

  void bound_make(operands const& o) {  // on a slot that holds a value: resets it
    held& h = bound_at(o);
    if (h.value) return reset(h);
    try {
      h.value = o.t.make_bound<tracked>(&w_, o.id, o.t.tag(), o.fail);
      if (o.fail) violation("make_bound: the constructor's exception was lost");
      accepted(o.x, o.joined_before, "make_bound");
      h.id = o.id;
      h.owner = o.x;
      expect(o.id);  // dies by reset, ~bound or join, exactly once, on x
    } catch (boom const& e) {
      if (!o.fail || e.id != o.id) violation("make_bound: wrong exception");
    }
  }

  void bound_get(operands const& o) {  // on an empty slot: resets it
    held& h = bound_at(o);
    if (!h.value) return reset(h);
    try {
      (void)h.value.get();
      violation("bound::get off its thread did not throw");
    } catch (ste::wrong_thread const&) {
    }
    ste::thread const& owner = w_.thread[h.owner];
    // Accepted means join() has not destroyed the value yet: it must be there.
    if (owner.submit([&] { return h.value->id(); }) != h.id)
      violation("bound::get on its thread returned another value");
  }

  static void reset(held& h) {
    h.value.reset();
    if (h.value) violation("bound::reset left a value");
  }

  // --- nested submits and coroutines --------------------------------------------------

  void nested(operands const& o) {  // a task on x submits to y: may be a deadlock_error
    try {
      std::size_t const v = o.t.submit([&] {
        return o.u.submit([&] {
          w_.run(o.id);
          return o.id;
        });
      });
      if (v != o.id) violation("nested submit returned a wrong value");
      expect(o.id);
    } catch (ste::deadlock_error const&) {
      if (o.x == o.y) violation("a submit to the thread itself reported a deadlock");
    }
  }

  void block_on(operands const& o) {
    std::uint32_t const us = (o.arg & 0x40) != 0 ? (o.arg & 0x3F) * 4u : 0u;
    try {
      if (o.t.block_on(hop(&w_, &o.u, o.id, us, o.fail)) != o.id)
        violation("block_on returned a wrong value");
      if (o.fail) violation("block_on: the coroutine's exception was lost");
    } catch (boom const& e) {
      if (!o.fail || e.id != o.id) violation("block_on: wrong exception");
    }
    accepted(o.x, o.joined_before, "block_on");
    expect(o.id);
  }

  void submit_async(operands const& o) {
    try {
      if (o.t.block_on(round_trip(&w_, &o.u, o.id, o.fail)) != o.id)
        violation("submit_async returned a wrong value");
    } catch (boom const& e) {
      if (e.id != o.id) violation("submit_async: wrong exception");
    }
    accepted(o.x, o.joined_before, "block_on");
    expect(o.id);
  }

  using plain_coroutine = eager (*)(world*, ste::thread const*, std::size_t, bool&, gate&);

  // Starts `coroutine` on this plain thread, aimed at thread x, and waits until it is
  // done; its id is expected to run unless x refused it.
  void from_plain(operands const& o, plain_coroutine coroutine, char const* what) {
    gate done;
    bool refused = false;
    coroutine(&w_, &o.t, o.id, refused, done);
    done.wait();
    if (refused) return;
    accepted(o.x, o.joined_before, what);
    expect(o.id);
  }

  void spawn(operands const& o) {
    auto const sleep = (o.arg & 0x60) == 0x60 ? std::chrono::microseconds(3'600'000'000LL)
                       : (o.arg & 0x40) != 0  ? std::chrono::microseconds(o.arg & 0x1F)
                                              : std::chrono::microseconds(0);
    o.t.spawn(detached(&w_, (o.arg & 0x10) != 0 ? &o.u : nullptr, o.id, sleep, o.fail));
    accepted(o.x, o.joined_before, "spawn");
    expect(o.id);
    if (o.fail) expect_report(o.id, o.x);  // the spawning thread's on_error, even after a hop
  }

  // --- delayed and periodic tasks -----------------------------------------------------

  held_timer& timer_at(operands const& o) { return timers_[(o.arg >> 2) % timers_.size()]; }

  // arg: 0x80 f throws; 0x40 1 h away (else deadline 0 / a short period); 0x20 drop the
  // handle at once; 0x10 posted from a task on the thread itself; 0x08 post_at on
  // system_clock instead of post_after (one-shots); the low 3 bits pick the period
  // (1 .. 8 ms); bits 2-3 the handle's slot (as timer_cancel's). At most
  // kMaxPeriodicPerDriver periodic timers per driver (later post_every steps do
  // nothing): dozens of short periods that throw, under ASan, kept a thread busy with
  // timer runs for tens of seconds (a libFuzzer timeout, not a hang).
  void post_timer(operands const& o, bool periodic) {
    if (periodic && periodic_posted_++ >= kMaxPeriodicPerDriver) return;
    bool const far = (o.arg & 0x40) != 0;
    bool const from_task = (o.arg & 0x10) != 0;
    bool const at = (o.arg & 0x08) != 0;
    timer_rec& rec = w_.timers[o.id];
    rec.used = true;
    rec.periodic = periodic;
    rec.far = far;
    rec.fail = o.fail;
    rec.slot = o.x;
    auto const d = far ? std::chrono::nanoseconds(1h)
                       : periodic ? std::chrono::nanoseconds(1ms * (1 + (o.arg & 7)))
                                  : std::chrono::nanoseconds(0);
    ste::thread const& t = o.t;
    auto make = [&] { return timer_fn(&w_, o.id, t.tag(), o.fail); };
    auto post = [&]() -> ste::timer {
      if (periodic) return t.post_every(d, make());
      if (at) return t.post_at(std::chrono::system_clock::now() + d, make());
      return t.post_after(d, make());
    };
    ste::timer h = from_task ? t.submit(post) : post();  // refused: stopped_error
    if (!h) violation("post_* returned an empty handle");
    accepted(o.x, o.joined_before, periodic ? "post_every" : "post_after");
    rec.accepted = true;
    if ((o.arg & 0x20) != 0) return;  // dropped: runs as if the handle were there
    held_timer& slot = timer_at(o);
    slot.handle = std::move(h);  // lets go of the one there (does not cancel it)
    slot.id = o.id;
  }

  // arg: 0x40 cancel from a task on thread x (on the timer's own thread: never waits).
  void timer_cancel(operands const& o) {
    held_timer& slot = timer_at(o);
    bool const on_thread = (o.arg & 0x40) != 0;
    if (!slot.handle) {
      if (slot.handle.cancel()) violation("cancel() on an empty handle returned true");
      return;
    }
    timer_rec& rec = w_.timers[slot.id];
    bool const joined_before = w_.joined[rec.slot].load(std::memory_order_acquire);
    bool r = false;
    try {
      r = on_thread ? o.t.submit([&] { return slot.handle.cancel(); }) : slot.handle.cancel();
    } catch (ste::stopped_error const&) {
      return;  // the submit was refused: nothing was cancelled
    } catch (ste::deadlock_error const&) {
      violation("cancel() threw deadlock_error, but no timer's f waits on anything");
    }
    std::uint32_t const runs = w_.timer_runs[slot.id].load(std::memory_order_relaxed);
    std::string const what = " (timer id " + std::to_string(slot.id) + ")";
    if (r && rec.frozen) violation("a second cancel() returned true" + what);
    if (r && !rec.periodic && runs != 0) violation("cancel() returned true for a one-shot that ran" + what);
    if (r && joined_before) violation("cancel() returned true after its thread's join() returned" + what);
    if (rec.frozen && runs != rec.frozen_runs)
      violation("a timer ran after a cancel() returned" + what);
    if (!rec.periodic && runs > 1) violation("a one-shot ran twice" + what);
    rec.cancelled = rec.cancelled || r;
    rec.frozen = true;
    rec.frozen_runs = runs;
  }

  // Lets go of the handle: the timer runs on as if it were there.
  void timer_drop(operands const& o) { timer_at(o).handle = ste::timer{}; }

  // --- fork ---------------------------------------------------------------------------

  // The child of a fork taken while the other drivers are in the middle of their
  // operations: no ste thread exists there (SPEC "Process lifetime"). It checks every
  // inherited handle — hand-offs refused saying the thread belongs to the parent, join()
  // at once, bound values throw wrong_thread (and are not destroyed: the child leaves
  // with _exit, and a destruction there would be a hand-off), cancel() false — and that
  // a new ste thread works, then leaves. A violation aborts the child; the parent reports
  // it. The child runs under an alarm: a hang there ends it with SIGALRM, reported too.
  // At most kMaxForksPerDriver per driver (a fork of a big process costs ~1 ms).
  void fork_child([[maybe_unused]] operands const& o) {
#if !defined(_WIN32)
    if (!kForkSafe || forks_++ >= kMaxForksPerDriver) return;
    pid_t const pid = ::fork();
    if (pid < 0) return;  // no process to spare: nothing to check
    if (pid == 0) {
      ::alarm(60);
      check_in_child(o);
      ::_exit(0);
    }
    int status = 0;
    while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    if (WIFEXITED(status) && WEXITSTATUS(status) == 0) return;
    violation("fork: the child " +
              (WIFSIGNALED(status) ? "was killed by signal " + std::to_string(WTERMSIG(status)) +
                                         (WTERMSIG(status) == SIGALRM ? " (it hung)" : "")
                                   : "exited with status " + std::to_string(WEXITSTATUS(status))));
#endif
  }

#if !defined(_WIN32)
  void check_in_child(operands const& o) {
    for (std::size_t i = 0; i < w_.slots; ++i) {
      ste::thread const& t = w_.thread[i];
      if (!refused_as_parents([&] { t.submit([] {}); }))
        violation("fork child: submit to an inherited thread was not refused as the parent's");
      if (!refused_as_parents([&] { t.post([] {}); }))
        violation("fork child: post to an inherited thread was not refused as the parent's");
      if (!refused_as_parents([&] { (void)t.post_after(0ms, [] {}); }))
        violation("fork child: post_after to an inherited thread was not refused");
      if (t.stats().accepted != 0) violation("fork child: stats() of an inherited thread not zero");
      w_.thread[i].join();  // at once
    }
    for (held& h : bounds_) {
      if (!h.value) continue;
      try {
        (void)h.value.get();
        violation("fork child: an inherited bound value was accessible");
      } catch (ste::wrong_thread const&) {
      }
    }
    for (held_timer& h : timers_)
      if (h.handle.cancel()) violation("fork child: cancel() of an inherited timer returned true");
    if (!kThreadsInChild) return;
    ste::thread fresh = ste::spawn();
    if (fresh.submit([&] { return o.id + 1; }) != o.id + 1)
      violation("fork child: a new thread's submit returned a wrong value");
    fresh.join();
  }

  template <class F>
  static bool refused_as_parents(F&& f) {
    try {
      f();
    } catch (ste::stopped_error const& e) {
      return std::strstr(e.what(), "parent process") != nullptr;
    }
    return false;
  }
#endif

  // --- handles and tags ---------------------------------------------------------------

  void empty_handle(operands const& o) {
    ste::thread empty;
    try {
      empty.submit([&] { w_.run(o.id); });
      violation("submit on an empty handle did not throw");
    } catch (ste::stopped_error const&) {
    }
    try {
      empty.post([] {});
      violation("post on an empty handle did not throw");
    } catch (ste::stopped_error const&) {
    }
    if (empty.tag() != ste::tag{}) violation("an empty handle has a non-null tag");
  }

  static void tags(operands const& o) {
    try {
      (void)ste::tag::current_thread();
      violation("tag::current_thread() off every ste thread did not throw");
    } catch (ste::wrong_thread const&) {
    }
    if (o.t.submit([] { return ste::tag::current_thread(); }) != o.t.tag())
      violation("tag::current_thread() on the thread differs from thread::tag()");
    if (o.t.tag().is_on_thread()) violation("is_on_thread() true off the thread");
  }

  // --- short-lived threads of our own -------------------------------------------------

  // Spawn, use, then join / drop / let go inside a task (detach), or a prelude that
  // throws.
  void local_thread(operands const& o) {
    switch (o.arg % 4) {
      case 0:
        return local_joined(o);
      case 1:
        return local_prelude_throws(o);
      case 2:
        return local_dropped(o);
      default:
        return local_self_released(o);
    }
  }

  void local_joined(operands const& o) {
    std::size_t const id = o.id;
    auto t = ste::builder().name(std::string(o.arg % 40, 'n')).build();
    w_.add_tag(t.tag());
    t.post([this, id] { w_.run(id); });
    expect(id);
    if (t.submit([] { return ste::tag::current_thread(); }) != t.tag())
      violation("a local thread's tag disagrees");
    t.join();
    try {
      t.submit([] {});
      violation("submit after join did not throw");
    } catch (ste::stopped_error const&) {
    }
  }

  void local_prelude_throws(operands const& o) {  // build() rethrows the very object
    std::size_t const id = o.id;
    boom const* thrown = nullptr;
    world* w = &w_;
    try {
      auto t = ste::builder()
                   .prelude([w, id, &thrown] {
                     w->add_tag(ste::tag::current_thread());
                     try {
                       throw boom{id};
                     } catch (boom const& e) {
                       thrown = &e;
                       throw;
                     }
                   })
                   .postlude([] { violation("the postlude ran after a failed prelude"); })
                   .build();
      violation("build() returned although the prelude threw");
    } catch (boom const& e) {
      if (e.id != id || &e != thrown) violation("build() rethrew another exception object");
    }
  }

  void local_dropped(operands const& o) {  // ~thread joins, postlude after every task
    std::size_t const id = o.id;
    bool postlude = false;
    {
      auto t = ste::builder().postlude([&] { postlude = true; }).build();
      w_.add_tag(t.tag());
      t.post([this, id] { w_.run(id); });
      expect(id);
    }
    if (!postlude) violation("~thread did not run the postlude");
    if (w_.ran[id].load() != 1) violation("~thread did not drain");
  }

  // Opens a gate when destroyed: held by the postlude, so by the core that owns it.
  struct on_destroy {
    explicit on_destroy(gate* g) : g_(g) {}
    on_destroy(on_destroy const&) = delete;
    on_destroy& operator=(on_destroy const&) = delete;
    ~on_destroy() { g_->open(); }
    gate* g_;
  };

  // The last handle is let go inside a task: the thread detaches itself. Waiting for
  // `released` checks that a self-released thread frees everything, and keeps
  // libFuzzer's leak check from running while the detached thread still exits.
  void local_self_released(operands const& o) {
    std::size_t const id = o.id;
    gate finished, released;
    auto token = std::make_shared<on_destroy>(&released);
    auto h = std::make_shared<ste::thread>(
        ste::builder()
            .postlude([&finished, token = std::move(token)] { finished.open(); })
            .build());
    w_.add_tag(h->tag());
    world* w = &w_;
    h->post([w, id] { w->run(id); });
    h->post([h2 = h]() mutable { h2.reset(); });  // may be the last owner
    h.reset();
    expect(id);
    finished.wait();  // the postlude ran: everything accepted ran before it
    if (w_.ran[id].load() != 1) violation("a self-released thread lost a task");
    released.wait();  // a hang here would be a leaked core
  }

  world& w_;
  std::vector<step> steps_;
  std::array<held, 3> bounds_;
  std::array<held_timer, 3> timers_;  // handles die with the driver: that does not cancel
  std::size_t forks_ = 0;
  static constexpr std::size_t kMaxPeriodicPerDriver = 2;
  static constexpr std::size_t kMaxForksPerDriver = 2;
  std::size_t periodic_posted_ = 0;
};

// ---------------------------------------------------------------------------------
// One input: start the threads, drive them, join them, check the oracle

/// Byte 0 of an input.
struct config {
  std::size_t slots;    // ste threads, 1-3
  std::size_t drivers;  // driver threads, 1-3
  bool prelude_posts;   // thread 0 has a prelude that counts an id
};

config decode_config(std::uint8_t byte) {
  return {1 + (byte & 3u) % kMaxSlots, 1 + ((byte >> 2) & 3u) % kMaxDrivers, (byte & 0x10) != 0};
}

void start_threads(world& w, bool prelude_posts, std::size_t prelude_id) {
  for (std::size_t i = 0; i < w.slots; ++i) {
    ste::builder b;
    b.name("fuzz-" + std::to_string(i));
    b.on_error([&w, i](std::exception_ptr e) { w.on_error(i, std::move(e)); });
    if (i == 0 && prelude_posts)
      b.prelude([&w, prelude_id] {
        // Runs on the new thread before any task; a submit from here would run inline.
        if (ste::tag::current_thread() == ste::tag{}) violation("prelude off its thread");
        w.run(prelude_id);
      });
    w.thread[i] = b.build();
    w.add_tag(w.thread[i].tag());
  }
  if (prelude_posts) w.expect_ran[prelude_id] = 1;
}

// Deals the operations to the drivers in turn and runs the drivers at once.
void drive(world& w, std::uint8_t const* data, std::size_t ops, std::size_t drivers) {
  std::vector<std::vector<step>> plan(drivers);
  for (std::size_t i = 0; i < ops; ++i)
    plan[i % drivers].push_back(step{data[1 + 2 * i], data[2 + 2 * i], i});
  std::vector<std::thread> threads;
  for (std::size_t d = 0; d < drivers; ++d)
    threads.emplace_back(
        [&w, steps = std::move(plan[d])]() mutable { driver(w, std::move(steps)).run(); });
  for (auto& t : threads) t.join();
}

void join_all(world& w) {
  for (std::size_t i = 0; i < w.slots; ++i) {
    std::lock_guard lock(w.join_mutex[i]);
    w.thread[i].join();
  }
}

void check_ledger(world const& w) {
  for (std::size_t id = 0; id < w.expect_ran.size(); ++id) {
    unsigned const r = w.ran[id].load();
    unsigned const e = w.expect_ran[id];
    if (r != e)
      violation("task " + std::to_string(id) + " (operation " + std::to_string(id / kIdsPerOp) +
                ") ran " + std::to_string(r) + " times, expected " + std::to_string(e));
    unsigned const rep = w.reported[id].load();
    std::uint8_t const want = w.expect_reporter[id];
    if (want == kNoSlot ? rep != 0 : (rep != 1 || w.reporter[id].load() != want))
      violation("task " + std::to_string(id) + ": its exception reached on_error " +
                std::to_string(rep) + " times (of thread " + std::to_string(w.reporter[id].load()) +
                "), expected " +
                (want == kNoSlot ? "0" : "once, of thread " + std::to_string(want)));
  }
}

// After every join(): the timers' ledger against their records.
void check_timers(world const& w) {
  for (std::size_t id = 0; id < w.timers.size(); ++id) {
    timer_rec const& rec = w.timers[id];
    std::uint32_t const runs = w.timer_runs[id].load();
    std::uint32_t const reported = w.timer_reported[id].load();
    unsigned const made = w.timer_made[id].load();
    unsigned const destroyed = w.timer_destroyed[id].load();
    unsigned const off = w.timer_destroyed_off[id].load();
    std::string const what = " (timer id " + std::to_string(id) + ", operation " +
                             std::to_string(id / kIdsPerOp) + ")";
    if (!rec.used) {
      if (runs != 0 || made != 0 || destroyed != 0) violation("an unused timer id was touched" + what);
      continue;
    }
    // Not made at all when the submit that was to post it was refused.
    if (made > 1 || destroyed != made || (rec.accepted && made != 1))
      violation("a timer's callable was made " + std::to_string(made) + " and destroyed " +
                std::to_string(destroyed) + " times" + what);
    if (!rec.accepted) {
      if (runs != 0) violation("a refused timer ran" + what);
      continue;
    }
    if (off != 0) violation("an accepted timer's callable was destroyed off its thread" + what);
    if (rec.frozen && runs != rec.frozen_runs)
      violation("a timer ran after a cancel() returned: " + std::to_string(runs) + " runs, " +
                std::to_string(rec.frozen_runs) + " when cancel() returned" + what);
    if (rec.far && runs != 0) violation("a timer 1 h away ran" + what);
    if (!rec.periodic) {
      if (runs > 1) violation("a one-shot ran " + std::to_string(runs) + " times" + what);
      if (rec.cancelled && runs != 0) violation("a one-shot cancelled (true) also ran" + what);
      if (!rec.far && !rec.cancelled && runs != 1)
        violation("a one-shot with deadline 0, accepted and not cancelled, never ran" + what);
    }
    std::uint32_t const want = rec.fail ? runs : 0;
    if (reported != want ||
        (want != 0 && w.timer_reporter[id].load() != static_cast<std::uint8_t>(rec.slot)))
      violation("a timer's exceptions reached on_error " + std::to_string(reported) +
                " times (of thread " + std::to_string(w.timer_reporter[id].load()) + ") for " +
                std::to_string(runs) + " runs" + what);
  }
}

void check_tags(world const& w) {
  for (std::size_t i = 0; i < w.tags.size(); ++i)
    for (std::size_t j = i + 1; j < w.tags.size(); ++j)
      if (w.tags[i] == w.tags[j]) violation("two threads got the same tag");
}

// Self-released (detached) threads may still be exiting, between destroying their core
// and freeing its block: libFuzzer's leak check right after this input would call that
// a leak. Waits (up to 2 s) until they are gone from /proc.
void wait_for_detached_threads(std::size_t threads_before) {
  for (int i = 0; i < 20'000 && thread_count() > threads_before; ++i)
    std::this_thread::sleep_for(std::chrono::microseconds(100));
}

void run_input(std::uint8_t const* data, std::size_t size) {
  if (size < 1) return;
  config const c = decode_config(data[0]);
  std::size_t const ops = std::min((size - 1) / 2, kMaxOps);
  std::size_t const threads_before = thread_count();

  world w(ops * kIdsPerOp + kIdsPerOp);
  w.slots = c.slots;
  start_threads(w, c.prelude_posts, ops * kIdsPerOp);
  drive(w, data, ops, c.drivers);
  join_all(w);

  check_ledger(w);
  check_timers(w);
  check_tags(w);
  wait_for_detached_threads(threads_before);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(std::uint8_t const* data, std::size_t size) {
  run_input(data, size);
  return 0;
}
