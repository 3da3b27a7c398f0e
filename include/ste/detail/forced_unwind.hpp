// SPDX-License-Identifier: MIT
// ste/detail/forced_unwind.hpp — the exception a thread's own end unwinds it with.
// Not public API.
//
// On glibc, pthread_exit and thread cancellation unwind the thread's stack with a special
// exception, abi::__forced_unwind. A catch (...) catches it too but must rethrow it
// (glibc aborts otherwise: "FATAL: exception not rethrown"), and every noexcept frame it
// reaches calls std::terminate. So every place where ste runs user code on its thread
// and catches everything catches this one first, finishes what it owes (signals the
// submitter, frees the block, ends the timer's run), and rethrows; the worker then runs
// what join() would have (docs/design.md §16, "A task that ends the thread").
// Elsewhere the type is a placeholder that is never thrown: the handlers are dead code.
#pragma once

#include <cstddef>  // defines __GLIBCXX__ and, on glibc, __GLIBC__

#if defined(__GLIBCXX__) && defined(__GLIBC__)
#include <cxxabi.h>
#define STE_HAS_FORCED_UNWIND 1
namespace ste::detail {
using forced_unwind = abi::__forced_unwind;
}  // namespace ste::detail
#else
#define STE_HAS_FORCED_UNWIND 0
namespace ste::detail {
struct forced_unwind {};  // never thrown here
}  // namespace ste::detail
#endif
