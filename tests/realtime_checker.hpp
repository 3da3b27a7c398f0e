// SPDX-License-Identifier: MIT
// A real-time checker for tests: counts, on the threads that ask for it, every
// allocation, mutex lock, condition-variable wait and blocking or waking system call
// they make — whoever makes it (the test, ste, the standard library).
//
//   ste_test::rt_checker checker;
//   {
//     auto watching = checker.watch_this_thread();  // counts this thread's calls from here
//     thread.submit([&] { ++n; });
//   }                                               // ... to here
//   EXPECT_EQ(checker.counts().allocations, 0u);
//
// How: realtime_checker.cpp defines the calls themselves (malloc and its family, every
// operator new and delete, pthread_mutex_lock and the other locks, pthread_cond_*wait,
// syscall, nanosleep, poll, sched_yield, ...) in the test executable, which the dynamic
// linker then binds ahead of the C library's: calls from the executable, from ste
// (a static library linked into it) and from the shared C++ runtime (libstdc++ or
// libc++, e.g. std::mutex::lock inside libc++.so) all arrive there. Each counts when
// its thread is watched and forwards to the C library. Calls the C library makes to
// itself internally (pthread_cond_wait re-taking its mutex, usleep's nanosleep) are not
// seen: what is counted is what the program asked for.
//
// Hazards it is built around:
// - The counters must not allocate, lock or call anything that is counted: a watched
//   thread is marked by one thread_local pointer (static TLS in the executable: no
//   allocation, no lazy initialisation), and counting is a relaxed atomic increment,
//   which is also async-signal-safe (a signal handler on a watched thread is counted
//   like the thread).
// - The malloc family forwards to glibc's __libc_* entry points, not to dlsym(RTLD_NEXT,
//   "malloc"): dlsym itself may allocate, so that would need a bootstrap heap.
// - A thread cancelled asynchronously (PTHREAD_CANCEL_ASYNCHRONOUS: libjack's process
//   thread, on jack_client_close) is unwound through the definition it waits in. Those
//   the C library declares noexcept (syscall, the locks) are noexcept here too, so they
//   must have no exception table (the forced unwind would end in std::terminate): the
//   look-up's slow path, which calls write(), is kept out of line.
//   RealTimeCheckerSelfTest.AsynchronousCancellationUnwindsThroughTheForwardedCalls.
// - The other calls find the C library's versions with dlsym(RTLD_NEXT, ...) once,
//   before main (and lazily for a call made before that, with counting paused, so the
//   look-up's own calls are never counted).
//
// Limits (say so where a test relies on it):
// - Linux with glibc only. Not with AddressSanitizer or ThreadSanitizer: their runtimes
//   define the same functions, so the definitions here would collide with theirs or be
//   bypassed; the header refuses to compile there (tests/CMakeLists.txt does not build
//   it for those presets and says so).
// - One executable, one checker: it replaces the global operator new, so it cannot be
//   linked into a test that has its own counting operator new (allocation_test).
// - Locks that never call into the C library are invisible: an uncontended std::atomic
//   spin lock (ste's own detail::spin_lock) costs no call; only its contended path,
//   which sleeps with a futex wait through syscall(), is seen (as a futex wait).
// - vDSO calls (clock_gettime, sched_getcpu) are not system calls and are not counted.
#pragma once

#include <atomic>
#include <cstdint>
#include <iosfwd>

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#error "realtime_checker interposes malloc, pthread and syscall; ASan/TSan do too (not built there)"
#endif
#if defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
#error "realtime_checker interposes malloc, pthread and syscall; ASan/TSan do too (not built there)"
#endif
#endif
#if !defined(__linux__) || !defined(__GLIBC__)
#error "realtime_checker needs Linux and glibc (its __libc_* allocator entry points)"
#endif

namespace ste_test {

/// What the watched threads called, by kind. A plain snapshot (rt_checker::counts()).
struct rt_counts {
  // malloc, calloc, realloc (also realloc(nullptr, n)), reallocarray, aligned_alloc,
  // posix_memalign, memalign, valloc, pvalloc, every operator new / new[] (plain,
  // nothrow, aligned, aligned nothrow).
  std::uint64_t allocations = 0;
  // free, operator delete / delete[] of non-null pointers (any form). realloc counts as
  // an allocation only.
  std::uint64_t frees = 0;
  // pthread_mutex_lock/trylock/timedlock/clocklock, pthread_rwlock_*lock (read and
  // write, try, timed, clock), pthread_spin_lock/trylock, sem_wait/trywait/timedwait/
  // clockwait, C11 mtx_lock/trylock/timedlock: so std::mutex, std::shared_mutex,
  // std::timed_mutex, std::counting_semaphore where it uses sem_t, ...
  std::uint64_t mutex_locks = 0;
  // pthread_cond_wait/timedwait/clockwait, C11 cnd_wait/timedwait: so
  // std::condition_variable(_any) waits.
  std::uint64_t cond_waits = 0;
  // syscall(SYS_futex) with FUTEX_WAIT, FUTEX_WAIT_BITSET, FUTEX_LOCK_PI(2),
  // FUTEX_WAIT_REQUEUE_PI; syscall(SYS_futex_waitv). Each call counts, also one that
  // returns at once (EAGAIN: the word had changed): it asked to sleep.
  std::uint64_t futex_waits = 0;
  // nanosleep, clock_nanosleep, usleep, sleep (and syscall() of the first two): so
  // std::this_thread::sleep_for/until.
  std::uint64_t sleeps = 0;
  // Other calls that can put the thread to sleep: poll, ppoll, select, pselect,
  // epoll_wait, epoll_pwait, read, pthread_join, pthread_barrier_wait, sigwait,
  // sigtimedwait, sigwaitinfo, pause.
  std::uint64_t other_blocking = 0;
  // syscall(SYS_futex) with FUTEX_WAKE, FUTEX_WAKE_BITSET, FUTEX_WAKE_OP, FUTEX_REQUEUE,
  // FUTEX_CMP_REQUEUE(_PI), FUTEX_UNLOCK_PI. Not blocking; each is one system call.
  std::uint64_t wakes = 0;
  // sched_yield (and syscall(SYS_sched_yield)): not blocking, but a system call that
  // hands the CPU over (to threads of the same priority only, under SCHED_FIFO).
  std::uint64_t yields = 0;
  // Any other syscall() (and a futex op not listed above, e.g. FUTEX_TRYLOCK_PI).
  std::uint64_t other_syscalls = 0;

  /// Every call that asked to sleep: futex waits, sleeps and the other blocking calls.
  std::uint64_t blocking_waits() const noexcept { return futex_waits + sleeps + other_blocking; }
  /// Everything counted, of every kind.
  std::uint64_t total() const noexcept {
    return allocations + frees + mutex_locks + cond_waits + blocking_waits() + wakes + yields +
           other_syscalls;
  }
};

/// `allocations=1 frees=0 ...`: every field, for test logs and failure messages.
std::ostream& operator<<(std::ostream& out, rt_counts const& c);

class rt_checker;

/// While alive, the thread that made it counts into its checker (made by
/// rt_checker::watch_this_thread; must be destroyed on that same thread). Nests: an
/// inner watch counts into its own checker and gives the thread back to the outer one.
class [[nodiscard]] rt_watch {
 public:
  rt_watch(rt_watch const&) = delete;
  rt_watch& operator=(rt_watch const&) = delete;
  ~rt_watch();

 private:
  friend class rt_checker;
  explicit rt_watch(rt_checker& c) noexcept;
  rt_checker* previous_;
};

/// Counters shared by the threads that watch themselves into it. Reading them while a
/// watched thread still runs gives a snapshot (each counter relaxed, on its own).
class rt_checker {
 public:
  rt_checker() = default;
  rt_checker(rt_checker const&) = delete;
  rt_checker& operator=(rt_checker const&) = delete;

  /// Counts the calling thread's calls into this checker until the result is destroyed.
  /// Itself makes no counted call. Does not allocate.
  rt_watch watch_this_thread() noexcept { return rt_watch(*this); }

  rt_counts counts() const noexcept;
  void reset() noexcept;

  /// Whether the interposed definitions are the ones the program calls (the checker
  /// allocates, locks and futex-waits once on a fresh watch and looks). A test that
  /// relies on the counts should ASSERT this first: a build where another definition
  /// won would otherwise read as "nothing happened".
  static bool interposition_works();

 private:
  friend struct rt_counting;  // realtime_checker.cpp
  std::atomic<std::uint64_t> allocations_{0}, frees_{0}, mutex_locks_{0}, cond_waits_{0},
      futex_waits_{0}, sleeps_{0}, other_blocking_{0}, wakes_{0}, yields_{0}, other_syscalls_{0};
};

}  // namespace ste_test
