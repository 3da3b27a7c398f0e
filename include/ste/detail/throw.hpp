// SPDX-License-Identifier: MIT
// ste/detail/throw.hpp — every exception ste throws, composed in one place
// (src/errors.cpp), so that each message says what happened and what to do in the same
// voice. Not public API.
#pragma once

#include "ste/export.hpp"

#include "ste/site.hpp"

#include <cstddef>
#include <cstdint>
#include <exception>
#include <string>
#include <string_view>
#include <system_error>

#include "ste/tag.hpp"

namespace ste::detail {

class core;
enum class wait_kind : std::uint8_t;

// Why a thread no longer accepts work: the refusal messages say which.
enum class stop_cause : std::uint8_t {
  join,  // join() (or the last handle) stopped it: the usual end
  exit,  // one of its tasks ended the OS thread (pthread_exit, cancellation)
  fork,  // this process is a child made by fork(): the thread exists in the parent only
};

// --- Handing work over ------------------------------------------------------------
[[noreturn]] STE_API void throw_empty_handle(std::string_view operation);
[[noreturn]] STE_API void throw_refused_task(std::string const& thread_name,
                                     stop_cause cause = stop_cause::join);
[[noreturn]] STE_API void throw_refused_coroutine(std::string const& thread_name,
                                          stop_cause cause = stop_cause::join);
[[noreturn]] STE_API void throw_refused_comeback(std::string const& thread_name,
                                         stop_cause cause = stop_cause::join);
[[noreturn]] STE_API void throw_timeout();
[[noreturn]] STE_API void throw_nan_duration();
[[noreturn]] STE_API void throw_refused_timer(std::string const& thread_name, char const* operation,
                                      stop_cause cause = stop_cause::join);
/// The stopped_error a submitter gets when its own task ended the OS thread.
STE_API std::exception_ptr task_ended_thread(std::string const& thread_name) noexcept;
/// The stopped_error build() throws when the prelude ended the OS thread.
STE_API std::exception_ptr prelude_ended_thread(std::string const& thread_name) noexcept;
[[noreturn]] STE_API void throw_bad_period(char const* why);
[[noreturn]] STE_API void throw_bad_threshold(char const* why);
[[noreturn]] STE_API void throw_cancel_deadlock(std::string const& thread_name);

// --- Coroutines -------------------------------------------------------------------
[[noreturn]] STE_API void throw_empty_task(char const* operation);
[[noreturn]] STE_API void throw_sleep_off_thread();
[[noreturn]] STE_API void throw_sleep_refused(std::string const& thread_name);
[[noreturn]] STE_API void throw_sleep_stopped();
/// True when `e` is the stopped_error that join() makes a pending sleep or a schedule()
/// throw: a coroutine that ends on it was told to stop.
STE_API bool is_stop_from_join(std::exception_ptr const& e) noexcept;

// --- Thread affinity and bound<T> ------------------------------------------------
[[noreturn]] STE_API void throw_not_on_ste_thread();
[[noreturn]] STE_API void throw_wrong_thread(tag expected, tag actual);
[[noreturn]] STE_API void throw_empty_bound();
[[noreturn]] STE_API void throw_bound_destroyed_by_join();
[[noreturn]] STE_API void throw_bind_refused(std::string const& thread_name);

// --- Lifecycle ----------------------------------------------------------------------
[[noreturn]] STE_API void throw_join_on_itself();
/// Windows: join() or build() inside DllMain, where the caller holds the loader lock
/// (`process_exit` false), or while ExitProcess detaches the DLLs (true).
[[noreturn]] STE_API void throw_join_under_loader_lock(bool process_exit);
[[noreturn]] STE_API void throw_build_under_loader_lock(bool process_exit);
[[noreturn]] STE_API void throw_thread_refused(int error, std::size_t stack_size, char const* os_call);
[[noreturn]] STE_API void throw_stack_refused(int error, std::size_t stack_size);
[[noreturn]] STE_API void throw_thread_attributes(int error);

// --- Real-time scheduling and CPU affinity (builder::realtime, cpu_affinity) -------
[[noreturn]] STE_API void throw_invalid_priority(int priority);
[[noreturn]] STE_API void throw_negative_cpu(int cpu);
[[noreturn]] STE_API void throw_cpu_missing(int cpu, long cpu_count);
/// `allowed`: the CPUs the process may use, as a list ("0-3,6").
[[noreturn]] STE_API void throw_cpu_not_allowed(int cpu, std::string const& allowed);
[[noreturn]] STE_API void throw_affinity_refused(std::error_code error, std::string const& thread_name,
                                         char const* os_call);
[[noreturn]] STE_API void throw_affinity_unsupported();
/// Linux: SCHED_FIFO at `priority` was refused.
[[noreturn]] STE_API void throw_sched_fifo_refused(std::error_code error, std::string const& thread_name,
                                           int priority, char const* os_call);
/// Windows: the MMCSS task "Pro Audio" (at `avrt_priority`) was refused.
[[noreturn]] STE_API void throw_mmcss_refused(std::error_code error, std::string const& thread_name,
                                      int priority, char const* avrt_priority, char const* os_call);
/// macOS: the time-constraint policy was refused.
[[noreturn]] STE_API void throw_time_constraint_refused(int kern_return, std::string const& thread_name,
                                                long long period_ns, long long computation_ns);
[[noreturn]] STE_API void throw_realtime_unsupported(std::string const& thread_name);

// --- Deadlocks ----------------------------------------------------------------------
[[noreturn]] STE_API void throw_deadlock_wait(core const& self, core const& target, wait_kind kind);
[[noreturn]] STE_API void throw_deadlock_comeback(core const& origin, core const& target);
[[noreturn]] STE_API void throw_deadlock_chain_move(core const& blocked, core const& target);

// --- Reports nobody catches ---------------------------------------------------------
/// Where an exception that nobody waits for came from (the default on_error says so).
enum class error_source : std::uint8_t { posted_task, spawned_coroutine, postlude, notifier, timer };
/// The default on_error: prints the exception, its source and the thread's name to
/// stderr, then terminates.
[[noreturn]] STE_API void default_on_error(std::string const& thread_name, std::exception_ptr const& e,
                                   error_source source, ste::site const& where) noexcept;
/// An on_error handler threw: says so, then terminates.
[[noreturn]] STE_API void on_error_threw() noexcept;
/// An on_stall handler threw: says so, then terminates.
[[noreturn]] STE_API void stall_handler_threw() noexcept;

}  // namespace ste::detail
