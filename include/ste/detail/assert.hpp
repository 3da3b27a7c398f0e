// SPDX-License-Identifier: MIT
// ste/detail/assert.hpp — STE_ASSERT: the engine's invariants, checked where they hold.
//
// On when STE_ASSERTIONS is 1 (the CMake option STE_ASSERTIONS, on in the dev, asan and
// tsan presets), compiled out otherwise: then the condition is not evaluated at all, so
// it may be as costly as a check needs to be, but must have no side effects. A failed
// assertion prints the condition and where it is, then aborts: it is a bug in ste, never
// a misuse (misuse throws).
#pragma once

#include "ste/export.hpp"

#ifndef STE_ASSERTIONS
#define STE_ASSERTIONS 0
#endif

namespace ste::detail {
[[noreturn]] STE_API void assertion_failed(char const* condition, char const* file, int line) noexcept;
}  // namespace ste::detail

#if STE_ASSERTIONS
#define STE_ASSERT(condition) \
  ((condition) ? static_cast<void>(0) : ::ste::detail::assertion_failed(#condition, __FILE__, __LINE__))
#else
#define STE_ASSERT(condition) static_cast<void>(0)
#endif
