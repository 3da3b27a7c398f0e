// SPDX-License-Identifier: MIT
// ste/detail/forced_unwind.hpp — telling the unwind of a thread's own end from an
// exception. Not public API.
//
// On glibc, pthread_exit and thread cancellation unwind the thread's stack with a special
// exception, abi::__forced_unwind. A catch (...) catches it too but must rethrow it
// (glibc aborts otherwise: "FATAL: exception not rethrown"), and every noexcept frame it
// reaches calls std::terminate. So every place where ste runs user code on its thread
// and catches everything asks, in its catch (...), whether this is the thread's end;
// if so it finishes what it owes (signals the submitter, frees the block, ends the
// timer's run) and rethrows, and the worker runs what join() would have
// (docs/design.md §16).
//
// How it asks: the unwind carries no C++ object, so std::current_exception() is empty
// inside its handler (libstdc++ returns an empty pointer for every exception that is not
// a C++ one; a foreign exception is let through the same way). Catching
// abi::__forced_unwind& instead would bind a reference to no object: UBSan reports
// "reference binding to null pointer" at every such handler.
#pragma once

#include <cstddef>  // defines __GLIBCXX__ and, on glibc, __GLIBC__
#include <exception>

#if defined(__GLIBCXX__) && defined(__GLIBC__)
#define STE_HAS_FORCED_UNWIND 1
#else
#define STE_HAS_FORCED_UNWIND 0
#endif

namespace ste::detail {

/// Inside a catch (...), given std::current_exception(): true when what is being
/// handled is not a C++ exception — the unwind of the thread's own end — which must be
/// rethrown.
inline bool is_thread_end(std::exception_ptr const& handled) noexcept { return !handled; }

}  // namespace ste::detail
