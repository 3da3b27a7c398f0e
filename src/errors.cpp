// SPDX-License-Identifier: MIT
// Every exception ste throws and every message it prints, composed here
// (include/ste/detail/throw.hpp), so each says what happened and what to do.
#include "ste/errors.hpp"

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <sstream>
#include <stdexcept>
#include <string>
#include <system_error>
#include <typeinfo>

#include "ste/detail/assert.hpp"
#include "ste/detail/core.hpp"
#include "ste/detail/deadlock.hpp"
#include "ste/detail/throw.hpp"
#include "ste/realtime.hpp"
#include "ste/tag.hpp"

namespace ste {

namespace {
std::string wrong_thread_message(tag expected, tag actual) {
  std::ostringstream out;
  out << "ste::wrong_thread: this value or operation belongs to " << expected
      << ", but the caller runs on " << actual
      << "; hand the work to its thread (thread.submit) instead of touching it here";
  return out.str();
}
}  // namespace

stopped_error::stopped_error(std::string const& what_arg) : std::runtime_error(what_arg) {}
timeout_error::timeout_error(std::string const& what_arg) : std::runtime_error(what_arg) {}
wrong_thread::wrong_thread(std::string const& what_arg) : std::logic_error(what_arg) {}
wrong_thread::wrong_thread(tag expected, tag actual)
    : std::logic_error(wrong_thread_message(expected, actual)) {}
deadlock_error::deadlock_error(std::string const& what_arg) : std::logic_error(what_arg) {}

namespace detail {

namespace {
// The stopped_error join() makes a pending sleep or a schedule() throw: its own type, so
// that a spawned coroutine ending on exactly this one can be told apart from a
// stopped_error the program threw itself.
class stopped_by_join final : public stopped_error {
 public:
  using stopped_error::stopped_error;
};

std::string quoted(std::string const& name) { return "\"" + name + "\""; }
}  // namespace

// --- Handing work over --------------------------------------------------------------

void throw_empty_handle(std::string_view operation) {
  throw stopped_error("ste::thread::" + std::string(operation) +
                      " called on an empty handle (default-constructed or moved-from); "
                      "start a thread with ste::spawn() or ste::builder().build()");
}

namespace {
// "the thread "x" no longer accepts work (why)": the common start of every refusal.
std::string no_longer_accepts(std::string const& thread_name, stop_cause cause) {
  std::string const start = "ste: the thread " + quoted(thread_name);
  switch (cause) {
    case stop_cause::exit:
      return start + " has exited and no longer accepts work (one of its tasks ended the OS "
                     "thread: pthread_exit or thread cancellation; start a new ste thread)";
    case stop_cause::fork:
      return start + " belongs to the parent process and does not run here: this process "
                     "is a child made by fork(), which copies no thread (start a new ste "
                     "thread in the child)";
    case stop_cause::join:
      break;
  }
  return start + " no longer accepts work (it was joined or is being joined)";
}
}  // namespace

void throw_refused_task(std::string const& thread_name, stop_cause cause) {
  throw stopped_error(no_longer_accepts(thread_name, cause) + "; the task did not run");
}

void throw_refused_coroutine(std::string const& thread_name, stop_cause cause) {
  std::string what = no_longer_accepts(thread_name, cause) + "; the coroutine cannot move to it";
  // Only join's refusal is the quiet end of a spawned coroutine.
  if (cause == stop_cause::join) throw stopped_by_join(what);
  throw stopped_error(what);
}

void throw_refused_comeback(std::string const& thread_name, stop_cause cause) {
  throw stopped_error(no_longer_accepts(thread_name, cause) +
                      "; the coroutine cannot come back to it");
}

std::exception_ptr task_ended_thread(std::string const& thread_name) noexcept {
  try {
    throw stopped_error("ste: the task ended the OS thread of " + quoted(thread_name) +
                        " (pthread_exit or thread cancellation) before it returned; the "
                        "thread ran what it had accepted and stopped: start a new ste thread");
  } catch (...) {
    return std::current_exception();  // std::bad_alloc, if composing the message failed
  }
}

std::exception_ptr prelude_ended_thread(std::string const& thread_name) noexcept {
  try {
    throw stopped_error("ste::builder::build: the prelude ended the OS thread of " +
                        quoted(thread_name) +
                        " (pthread_exit or thread cancellation); no thread was started");
  } catch (...) {
    return std::current_exception();
  }
}

void throw_timeout() {
  throw timeout_error(
      "ste: submit_for/submit_until: the thread did not start the task before the deadline; "
      "it was withdrawn and will not run (the thread is busy or blocked)");
}

void throw_nan_duration() {
  throw std::invalid_argument(
      "ste: the duration is NaN, which names no point in time; pass a finite duration");
}

void throw_refused_timer(std::string const& thread_name, char const* operation,
                         stop_cause cause) {
  if (cause != stop_cause::join)
    throw stopped_error(no_longer_accepts(thread_name, cause) + "; " + operation +
                        " scheduled nothing");
  throw stopped_error(std::string("ste: ") + operation + " refused: the thread " +
                      quoted(thread_name) +
                      " is being joined or was joined, and join() does not wait for "
                      "deadlines, so no delayed task is accepted once it starts (not even "
                      "from the thread itself); nothing was scheduled");
}

void throw_bad_threshold(char const* why) {
  throw std::invalid_argument(std::string("ste: builder::on_stall: the threshold is ") + why +
                              "; pass a positive duration");
}

void throw_bad_period(char const* why) {
  throw std::invalid_argument(std::string("ste: post_every: the period is ") + why +
                              "; pass a positive period (nothing was scheduled)");
}

void throw_cancel_deadlock(std::string const& thread_name) {
  throw deadlock_error("ste: timer::cancel: the timer is cancelled (it starts no run any "
                       "more), but its run in progress on thread " + quoted(thread_name) +
                       " waits, through a chain of ste threads, on the thread calling "
                       "cancel(), so cancel() cannot wait for that run to end; wait for it "
                       "elsewhere, or cancel from a thread the run does not wait on");
}

// --- Coroutines -------------------------------------------------------------------

void throw_empty_task(char const* operation) {
  throw std::invalid_argument(std::string("ste: ") + operation +
                              ": the ste::task is empty (default-constructed or moved-from); "
                              "nothing was started; pass a task made by calling a coroutine");
}

void throw_sleep_off_thread() {
  throw wrong_thread(
      "ste::sleep_for/sleep_until awaited off every ste thread: they use the timers of the "
      "ste thread the coroutine runs on; co_await thread.schedule() first");
}

void throw_sleep_refused(std::string const& thread_name) {
  throw stopped_by_join("ste: sleep on thread " + quoted(thread_name) +
                        " refused: the thread is being joined; finish up instead of sleeping");
}

void throw_sleep_stopped() {
  throw stopped_by_join(
      "ste: sleep ended early: the thread is being joined; the coroutine should finish");
}

bool is_stop_from_join(std::exception_ptr const& e) noexcept {
  try {
    std::rethrow_exception(e);
  } catch (stopped_by_join const&) {
    return true;
  } catch (...) {
    return false;
  }
}

// --- Thread affinity and bound<T> ------------------------------------------------

void throw_not_on_ste_thread() {
  throw wrong_thread(
      "ste::tag::current_thread() called on a thread that is not a ste thread; call it "
      "from code running on a ste::thread (a task, its prelude or a coroutine there)");
}

void throw_wrong_thread(tag expected, tag actual) { throw wrong_thread(expected, actual); }

void throw_empty_bound() {
  throw wrong_thread(
      "ste::bound<T> is empty (default-constructed, moved-from or reset); it holds no value "
      "on any thread");
}

void throw_bound_destroyed_by_join() {
  throw wrong_thread(
      "ste::bound<T>: its value was already destroyed by join() of its thread; the handle is "
      "empty");
}

void throw_bind_refused(std::string const& thread_name) {
  throw stopped_error("ste: make_bound on thread " + quoted(thread_name) +
                      " after its postlude started; nothing can be bound any more (the "
                      "value was not constructed)");
}

// --- Lifecycle ----------------------------------------------------------------------

void throw_join_on_itself() {
  throw std::system_error(std::make_error_code(std::errc::resource_deadlock_would_occur),
                          "ste::thread::join called on the thread itself; join it from "
                          "another thread, or let the handle go (the thread then exits "
                          "after draining)");
}

void throw_join_under_loader_lock(bool process_exit) {
  throw std::system_error(
      std::make_error_code(std::errc::resource_deadlock_would_occur),
      process_exit
          ? "ste::thread::join called while the process exits (inside DllMain at "
            "ExitProcess, e.g. from a DLL's static destructor): Windows has already ended "
            "the ste thread, so its queued tasks and postlude will not run; join it before "
            "the process exits (before main returns or exit is called)"
          : "ste::thread::join called under the Windows loader lock (inside DllMain, e.g. "
            "from a DLL's static destructor during FreeLibrary): the ste thread cannot exit "
            "until the lock is released, so joining would deadlock; join it before "
            "FreeLibrary (say, from a shutdown function the DLL exports and its host calls "
            "first), or let the handle go (the thread then drains and exits on its own)");
}

void throw_build_under_loader_lock(bool process_exit) {
  throw std::system_error(
      std::make_error_code(std::errc::resource_deadlock_would_occur),
      process_exit
          ? "ste::builder::build called while the process exits (inside DllMain at "
            "ExitProcess): no new thread can run any more; start ste threads before "
            "the process exits"
          : "ste::builder::build called under the Windows loader lock (inside DllMain, "
            "e.g. from a DLL's static constructor during LoadLibrary): the new thread "
            "cannot start until the lock is released, so waiting for it would deadlock; "
            "build it after LoadLibrary returned (say, from an init function the DLL "
            "exports, or on first use)");
}

void throw_thread_refused(int error, std::size_t stack_size, char const* os_call) {
  // EAGAIN is ambiguous: the per-user or system thread limit, or no memory for the
  // stack (glibc reports a failed stack mapping as EAGAIN too). Name both.
  std::string what = std::string("ste: the OS refused to create a thread (") + os_call + ")";
  if (error == EAGAIN || error == ENOMEM) {
    what += ": the thread limit (RLIMIT_NPROC, /proc/sys/kernel/threads-max) is reached or "
            "there is no memory for ";
    what += stack_size != 0 ? "its stack of " + std::to_string(stack_size) + " bytes"
                            : "its stack";
    what += "; end some threads, raise the limit";
    if (stack_size != 0) what += ", or choose a smaller builder::stack_size";
  }
  throw std::system_error(error, std::generic_category(), what);
}

void throw_stack_refused(int error, std::size_t stack_size) {
  throw std::system_error(error, std::generic_category(),
                          "ste: the OS cannot provide a thread stack of " +
                              std::to_string(stack_size) +
                              " bytes; choose a smaller builder::stack_size (0 = default)");
}

void throw_thread_attributes(int error) {
  throw std::system_error(error, std::generic_category(),
                          "ste: the OS could not prepare the attributes of a new thread "
                          "(pthread_attr_init); the system is out of resources");
}

// --- Real-time scheduling and CPU affinity ------------------------------------------

void throw_invalid_priority(int priority) {
  throw std::invalid_argument(
      "ste: builder::realtime: priority " + std::to_string(priority) +
      " is outside 0..99; real-time priorities run from 1 (lowest) to 99 (highest), as "
      "Linux numbers SCHED_FIFO priorities, and 0 asks for ste's audio default (" +
      std::to_string(realtime_options::default_priority) + "); no thread was started");
}

void throw_negative_cpu(int cpu) {
  throw std::invalid_argument("ste: builder::cpu_affinity: CPU " + std::to_string(cpu) +
                              " is negative; CPUs are numbered from 0 as the OS numbers "
                              "them; no thread was started");
}

void throw_cpu_missing(int cpu, long cpu_count) {
  throw std::system_error(std::make_error_code(std::errc::invalid_argument),
                          "ste: builder::cpu_affinity: CPU " + std::to_string(cpu) +
                              " does not exist: this machine has " + std::to_string(cpu_count) +
                              " CPUs, numbered 0 to " + std::to_string(cpu_count - 1) +
                              "; no thread was started");
}

void throw_cpu_not_allowed(int cpu, std::string const& allowed) {
  throw std::system_error(
      std::make_error_code(std::errc::invalid_argument),
      "ste: builder::cpu_affinity: CPU " + std::to_string(cpu) +
          " is outside the set of CPUs this process may run on (" + allowed +
          "; its affinity, as taskset or a cpuset set it); choose CPUs from that set; no "
          "thread was started");
}

void throw_affinity_refused(std::error_code error, std::string const& thread_name,
                            char const* os_call) {
  throw std::system_error(error, "ste: the OS refused to restrict the thread " +
                                     quoted(thread_name) +
                                     " to the CPUs of builder::cpu_affinity; no thread was "
                                     "left running. " + os_call + " said");
}

void throw_affinity_unsupported() {
  throw std::system_error(std::make_error_code(std::errc::operation_not_supported),
                          "ste: builder::cpu_affinity is not supported on this platform "
                          "(ste can restrict threads to CPUs on Linux and Windows only); "
                          "leave the CPU list empty here; no thread was started");
}

void throw_sched_fifo_refused(std::error_code error, std::string const& thread_name, int priority,
                              char const* os_call) {
  std::string const p = std::to_string(priority);
  throw std::system_error(
      error, "ste: the OS refused real-time scheduling for the thread " + quoted(thread_name) +
                 ": SCHED_FIFO at priority " + p +
                 "; no thread was left running. To allow it, do one of: raise the process's "
                 "RLIMIT_RTPRIO to at least " +
                 p + " (`ulimit -r " + p +
                 "` in the shell that starts it, or a line such as `@audio - rtprio 95` in "
                 "/etc/security/limits.d/ for a group the user is in); give the program "
                 "CAP_SYS_NICE (`setcap cap_sys_nice+ep PROGRAM`, or run it as root); or have "
                 "rtkit raise the thread (ste does not ask rtkit itself: pass "
                 "realtime({.required = false}) and call rtkit from the prelude). Or pass "
                 "realtime({.required = false}) to run with normal scheduling instead. " +
                 os_call + " said");
}

void throw_mmcss_refused(std::error_code error, std::string const& thread_name, int priority,
                         char const* avrt_priority, char const* os_call) {
  throw std::system_error(
      error, "ste: the OS refused real-time scheduling for the thread " + quoted(thread_name) +
                 ": the MMCSS task \"Pro Audio\" at " + avrt_priority + " (realtime priority " +
                 std::to_string(priority) +
                 "); no thread was left running. To allow it, make sure the Multimedia Class "
                 "Scheduler service (MMCSS) runs and that the task \"Pro Audio\" exists under "
                 "HKLM\\SOFTWARE\\Microsoft\\Windows NT\\CurrentVersion\\Multimedia\\SystemProfile"
                 "\\Tasks; or pass realtime({.required = false}) to run with normal scheduling "
                 "instead. " +
                 os_call + " said");
}

void throw_time_constraint_refused(int kern_return, std::string const& thread_name,
                                   long long period_ns, long long computation_ns) {
  throw std::system_error(
      std::make_error_code(std::errc::operation_not_permitted),
      "ste: the OS refused real-time scheduling for the thread " + quoted(thread_name) +
          ": THREAD_TIME_CONSTRAINT_POLICY with a period of " + std::to_string(period_ns) +
          " ns and a computation of " + std::to_string(computation_ns) +
          " ns (thread_policy_set returned " + std::to_string(kern_return) +
          "). The computation must lie between 50 us and 50 ms and not exceed the period: "
          "adjust realtime_options::period / computation, or pass "
          "realtime({.required = false}) to run with normal scheduling instead. No thread "
          "was left running");
}

void throw_realtime_unsupported(std::string const& thread_name) {
  throw std::system_error(
      std::make_error_code(std::errc::operation_not_supported),
      "ste: real-time scheduling is not supported here (ste knows Linux SCHED_FIFO, "
      "Windows MMCSS and the macOS time-constraint policy), so the thread " +
          quoted(thread_name) +
          " cannot get it; pass realtime({.required = false}) to run with normal "
          "scheduling instead. No thread was left running");
}

// --- Deadlocks ----------------------------------------------------------------------

void throw_deadlock_wait(core const& self, core const& target, wait_kind kind) {
  throw deadlock_error(
      "ste: deadlock avoided: thread " + self.describe() + " would block " +
      (kind == wait_kind::close ? "joining" : "waiting on") + " thread " + target.describe() +
      ", which is itself (directly, through other ste threads, or through a coroutine that "
      "awaits submit_async) waiting on " + self.describe() +
      "; use post() or a coroutine instead of a blocking call in one direction");
}

void throw_deadlock_comeback(core const& origin, core const& target) {
  throw deadlock_error(
      "ste: deadlock avoided: a coroutine on thread " + origin.describe() +
      " awaited submit_async on thread " + target.describe() + ", which is blocked joining " +
      origin.describe() +
      " (directly or through other ste threads) and could never run it; finish or cancel "
      "such coroutines before joining their thread from a ste thread");
}

void throw_deadlock_chain_move(core const& blocked, core const& target) {
  throw deadlock_error(
      "ste: deadlock avoided: a coroutine run by block_on from thread " + blocked.describe() +
      " tried to move to thread " + target.describe() + ", which " +
      (&target == &blocked ? "is" : "waits (through other ste threads) on the thread") +
      " blocked in that block_on until the coroutine completes, and so could never run it; "
      "post() the work there instead, or do not block_on from that thread");
}

// --- Reports nobody catches ---------------------------------------------------------

namespace {
char const* source_name(error_source source) noexcept {
  switch (source) {
    case error_source::posted_task: return "a posted task";
    case error_source::spawned_coroutine: return "a spawned coroutine";
    case error_source::postlude: return "the postlude";
    case error_source::notifier: return "a notifier's callable";
    case error_source::timer: return "a delayed task (post_after / post_at / post_every)";
  }
  return "a task";
}
}  // namespace

void default_on_error(std::string const& thread_name, std::exception_ptr const& e,
                      error_source source, ste::site const& where) noexcept {
  char const* const from = source_name(source);
  try {
    std::rethrow_exception(e);
  } catch (std::exception const& ex) {
    std::fprintf(stderr, "ste: uncaught exception from %s on ste thread \"%s\": %s: %s\n", from,
                 thread_name.c_str(), typeid(ex).name(), ex.what());
  } catch (...) {
    std::fprintf(stderr, "ste: uncaught non-std exception from %s on ste thread \"%s\"\n", from,
                 thread_name.c_str());
  }
  if (!where.empty())
    std::fprintf(stderr, "ste: the task was handed over at %s:%lu, in %s\n", where.file(),
                 static_cast<unsigned long>(where.line()), where.function());
  std::fprintf(stderr, "ste: install builder::on_error to handle exceptions from %s\n", from);
  std::terminate();
}

void stall_handler_threw() noexcept {
  std::fputs("ste: an on_stall handler threw; terminating (it runs on the watchdog thread, "
             "where nobody could receive the exception: catch inside the handler)\n",
             stderr);
  std::terminate();
}

void on_error_threw() noexcept {
  std::fputs("ste: on_error threw; terminating\n", stderr);
  std::terminate();
}

void assertion_failed(char const* condition, char const* file, int line) noexcept {
  std::fprintf(stderr, "ste: internal invariant violated: %s (%s:%d); please report this bug\n",
               condition, file, line);
  std::abort();
}

}  // namespace detail
}  // namespace ste
