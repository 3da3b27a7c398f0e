// SPDX-License-Identifier: MIT
// ste/detail/tsa.hpp — Clang thread-safety annotations, empty elsewhere.
//
// Each lock of ste is a capability; each field a lock guards says so (STE_GUARDED_BY),
// and each function that must be called with a lock held says so (STE_REQUIRES). The
// clang presets build with -Werror=thread-safety, so a field touched without its lock
// does not compile. Atomics read outside their lock are not annotated: their comments
// give the ordering argument instead.
#pragma once

#if defined(__clang__)
#define STE_TSA(x) __attribute__((x))
#else
#define STE_TSA(x)
#endif

#define STE_CAPABILITY(name) STE_TSA(capability(name))
#define STE_SCOPED_CAPABILITY STE_TSA(scoped_lockable)
#define STE_GUARDED_BY(lock) STE_TSA(guarded_by(lock))
#define STE_PT_GUARDED_BY(lock) STE_TSA(pt_guarded_by(lock))
#define STE_REQUIRES(...) STE_TSA(requires_capability(__VA_ARGS__))
#define STE_EXCLUDES(...) STE_TSA(locks_excluded(__VA_ARGS__))
#define STE_ACQUIRE(...) STE_TSA(acquire_capability(__VA_ARGS__))
#define STE_RELEASE(...) STE_TSA(release_capability(__VA_ARGS__))
#define STE_TRY_ACQUIRE(...) STE_TSA(try_acquire_capability(__VA_ARGS__))
#define STE_RETURN_CAPABILITY(x) STE_TSA(lock_returned(x))
#define STE_NO_THREAD_SAFETY_ANALYSIS STE_TSA(no_thread_safety_analysis)
