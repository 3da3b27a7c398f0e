// SPDX-License-Identifier: MIT
// The real-time checker's definitions (tests/realtime_checker.hpp has what it counts and
// why it works). Every function below with C linkage replaces the C library's for the
// whole process; each counts into the checker of its thread, if any, and forwards.
//
// Rules every definition here keeps, because it may run on any thread at any moment
// (before main, inside the allocator's callers, in a signal handler):
// - count first, then forward, and touch nothing else: no allocation, no lock, no call
//   that is itself counted;
// - forward to the C library's own function with the same arguments, so behaviour
//   (errno, cancellation points, return values) is the C library's.

// The fortified inline wrappers of read/poll would collide with the definitions here.
#undef _FORTIFY_SOURCE

#include "realtime_checker.hpp"

#include <dlfcn.h>
#include <linux/futex.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <semaphore.h>
#include <sys/epoll.h>
#include <sys/select.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstdarg>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <new>
#include <ostream>

// glibc's allocator under its own names (exported for exactly this use: a program that
// replaces malloc and still wants glibc's). They need no dlsym, so no bootstrap heap.
extern "C" {
void* __libc_malloc(std::size_t size) noexcept;
void* __libc_calloc(std::size_t count, std::size_t size) noexcept;
void* __libc_realloc(void* p, std::size_t size) noexcept;
void* __libc_memalign(std::size_t alignment, std::size_t size) noexcept;
void* __libc_valloc(std::size_t size) noexcept;
void* __libc_pvalloc(std::size_t size) noexcept;
void __libc_free(void* p) noexcept;
}

namespace ste_test {

namespace {
// The checker the calling thread counts into; null when it is not watched. Constant-
// initialised and trivially destructible: no TLS wrapper, no lazy initialisation, no
// allocation on first use in a new thread.
thread_local rt_checker* t_watched = nullptr;
}  // namespace

// The one place that touches rt_checker's counters (a friend).
struct rt_counting {
  using counter = std::atomic<std::uint64_t> rt_checker::*;
  static void add(counter field) noexcept {
    // relaxed: the counts are read after the watched thread is done (join, or any other
    // synchronisation the test has); fetch_add, not load+store, so that a signal handler
    // counting on the same thread in between loses nothing.
    if (rt_checker* const c = t_watched) (c->*field).fetch_add(1, std::memory_order_relaxed);
  }
  static constexpr counter allocations = &rt_checker::allocations_;
  static constexpr counter frees = &rt_checker::frees_;
  static constexpr counter mutex_locks = &rt_checker::mutex_locks_;
  static constexpr counter cond_waits = &rt_checker::cond_waits_;
  static constexpr counter futex_waits = &rt_checker::futex_waits_;
  static constexpr counter sleeps = &rt_checker::sleeps_;
  static constexpr counter other_blocking = &rt_checker::other_blocking_;
  static constexpr counter wakes = &rt_checker::wakes_;
  static constexpr counter yields = &rt_checker::yields_;
  static constexpr counter other_syscalls = &rt_checker::other_syscalls_;
};

namespace {

// The C library's definition of one function, found with dlsym(RTLD_NEXT) — the next
// definition after the executable's own, i.e. the C library's. Found once; a call made
// before resolve_all() ran (static initialisers of other objects) looks it up itself,
// with counting paused so that dlsym's own work is never counted.
template <class Fn>
class next_definition {
 public:
  explicit constexpr next_definition(char const* name) noexcept : name_(name) {}
  Fn* get() noexcept {
    void* p = address_.load(std::memory_order_acquire);
    if (p == nullptr) p = resolve();
    return reinterpret_cast<Fn*>(p);
  }

 private:
  // Never inlined: its write() is a cancellation point (not noexcept), so inlined it
  // would give every forwarding definition below an exception table, and a noexcept
  // function with one terminates when a forced unwind passes through it: a thread
  // cancelled asynchronously while it waits in the forwarded call (libjack cancels its
  // process thread that way, in a futex wait through syscall(), on jack_client_close).
  [[gnu::noinline]] void* resolve() noexcept {
    rt_checker* const watched = t_watched;
    t_watched = nullptr;
    void* const p = dlsym(RTLD_NEXT, name_);
    t_watched = watched;
    if (p == nullptr) {
      // Nothing to forward to: carrying on would call through a null pointer.
      static char const message[] =
          "realtime_checker: dlsym(RTLD_NEXT) found no C library "
          "definition to forward to\n";
      [[maybe_unused]] auto const ignored = ::write(2, message, sizeof message - 1);
      std::abort();
    }
    // Racing resolvers store the same address.
    address_.store(p, std::memory_order_release);
    return p;
  }

  char const* name_;
  std::atomic<void*> address_{nullptr};
};

// clang-format off
// One next_definition per forwarded function, named after it. (decltype drops the
// declarations' nonnull attributes, which is what the warning says and what is meant.)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wignored-attributes"
#define STE_RT_NEXT(fn) next_definition<decltype(::fn)> next_##fn{#fn}
STE_RT_NEXT(pthread_mutex_lock); STE_RT_NEXT(pthread_mutex_trylock);
STE_RT_NEXT(pthread_mutex_timedlock); STE_RT_NEXT(pthread_mutex_clocklock);
STE_RT_NEXT(pthread_rwlock_rdlock); STE_RT_NEXT(pthread_rwlock_tryrdlock);
STE_RT_NEXT(pthread_rwlock_timedrdlock); STE_RT_NEXT(pthread_rwlock_clockrdlock);
STE_RT_NEXT(pthread_rwlock_wrlock); STE_RT_NEXT(pthread_rwlock_trywrlock);
STE_RT_NEXT(pthread_rwlock_timedwrlock); STE_RT_NEXT(pthread_rwlock_clockwrlock);
STE_RT_NEXT(pthread_spin_lock); STE_RT_NEXT(pthread_spin_trylock);
STE_RT_NEXT(sem_wait); STE_RT_NEXT(sem_trywait); STE_RT_NEXT(sem_timedwait);
STE_RT_NEXT(sem_clockwait);
STE_RT_NEXT(pthread_cond_wait); STE_RT_NEXT(pthread_cond_timedwait);
STE_RT_NEXT(pthread_cond_clockwait);
STE_RT_NEXT(nanosleep); STE_RT_NEXT(clock_nanosleep); STE_RT_NEXT(usleep); STE_RT_NEXT(sleep);
STE_RT_NEXT(poll); STE_RT_NEXT(ppoll); STE_RT_NEXT(select); STE_RT_NEXT(pselect);
STE_RT_NEXT(epoll_wait); STE_RT_NEXT(epoll_pwait); STE_RT_NEXT(read);
STE_RT_NEXT(pthread_join); STE_RT_NEXT(pthread_barrier_wait);
STE_RT_NEXT(sigwait); STE_RT_NEXT(sigwaitinfo); STE_RT_NEXT(sigtimedwait); STE_RT_NEXT(pause);
STE_RT_NEXT(sched_yield); STE_RT_NEXT(syscall);
#undef STE_RT_NEXT
#pragma GCC diagnostic pop
// clang-format on

// Before main, so that the watched code never pays for (nor counts) a look-up. The
// allocator needs none (the __libc_* entry points).
// clang-format off
[[gnu::constructor]] void resolve_all() noexcept {
  next_pthread_mutex_lock.get(); next_pthread_mutex_trylock.get();
  next_pthread_mutex_timedlock.get(); next_pthread_mutex_clocklock.get();
  next_pthread_rwlock_rdlock.get(); next_pthread_rwlock_tryrdlock.get();
  next_pthread_rwlock_timedrdlock.get(); next_pthread_rwlock_clockrdlock.get();
  next_pthread_rwlock_wrlock.get(); next_pthread_rwlock_trywrlock.get();
  next_pthread_rwlock_timedwrlock.get(); next_pthread_rwlock_clockwrlock.get();
  next_pthread_spin_lock.get(); next_pthread_spin_trylock.get();
  next_sem_wait.get(); next_sem_trywait.get(); next_sem_timedwait.get();
  next_sem_clockwait.get();
  next_pthread_cond_wait.get(); next_pthread_cond_timedwait.get();
  next_pthread_cond_clockwait.get();
  next_nanosleep.get(); next_clock_nanosleep.get(); next_usleep.get(); next_sleep.get();
  next_poll.get(); next_ppoll.get(); next_select.get(); next_pselect.get();
  next_epoll_wait.get(); next_epoll_pwait.get(); next_read.get();
  next_pthread_join.get(); next_pthread_barrier_wait.get();
  next_sigwait.get(); next_sigwaitinfo.get(); next_sigtimedwait.get(); next_pause.get();
  next_sched_yield.get(); next_syscall.get();
}
// clang-format on

// The command of a futex operation, without the private and clock flags.
#ifndef FUTEX_LOCK_PI2
#define FUTEX_LOCK_PI2 13  // Linux 5.14; older headers lack the name
#endif
rt_counting::counter classify_futex(int op) noexcept {
  switch (op & FUTEX_CMD_MASK) {
    case FUTEX_WAIT:
    case FUTEX_WAIT_BITSET:
    case FUTEX_LOCK_PI:
    case FUTEX_LOCK_PI2:
    case FUTEX_WAIT_REQUEUE_PI:
      return rt_counting::futex_waits;
    case FUTEX_WAKE:
    case FUTEX_WAKE_BITSET:
    case FUTEX_WAKE_OP:
    case FUTEX_REQUEUE:
    case FUTEX_CMP_REQUEUE:
    case FUTEX_CMP_REQUEUE_PI:
    case FUTEX_UNLOCK_PI:
      return rt_counting::wakes;
    default:
      return rt_counting::other_syscalls;  // e.g. FUTEX_TRYLOCK_PI: never sleeps
  }
}

rt_counting::counter classify_syscall(long number, long first_argument) noexcept {
  switch (number) {
    case SYS_futex:
      // The operation is an int; the upper half of its register is undefined.
      return classify_futex(static_cast<int>(first_argument));
#ifdef SYS_futex_waitv
    case SYS_futex_waitv:
      return rt_counting::futex_waits;
#endif
    case SYS_nanosleep:
    case SYS_clock_nanosleep:
      return rt_counting::sleeps;
    case SYS_sched_yield:
      return rt_counting::yields;
    case SYS_poll:
    case SYS_ppoll:
    case SYS_select:
    case SYS_pselect6:
    case SYS_epoll_wait:
    case SYS_epoll_pwait:
    case SYS_read:
    case SYS_pause:
      return rt_counting::other_blocking;
    default:
      return rt_counting::other_syscalls;
  }
}

void* count_allocation(void* p) noexcept {
  // Counted whether or not it succeeded: a failed allocation still went to the allocator.
  rt_counting::add(rt_counting::allocations);
  return p;
}

void count_free(void* p) noexcept {
  if (p != nullptr) rt_counting::add(rt_counting::frees);
}

bool is_power_of_two(std::size_t n) noexcept {
  return n != 0 && (n & (n - 1)) == 0;
}

void* checked_new(void* p) {
  if (p == nullptr) throw std::bad_alloc();
  return p;
}

// operator new(0) must return a unique pointer; malloc(0) may return null.
std::size_t at_least_one(std::size_t n) noexcept {
  return n == 0 ? 1 : n;
}

}  // namespace

// --- rt_watch / rt_checker ------------------------------------------------------------

rt_watch::rt_watch(rt_checker& c) noexcept : previous_(t_watched) {
  t_watched = &c;
}
rt_watch::~rt_watch() {
  t_watched = previous_;
}

rt_counts rt_checker::counts() const noexcept {
  auto const r = [](std::atomic<std::uint64_t> const& a) {
    return a.load(std::memory_order_relaxed);
  };
  rt_counts c;
  c.allocations = r(allocations_);
  c.frees = r(frees_);
  c.mutex_locks = r(mutex_locks_);
  c.cond_waits = r(cond_waits_);
  c.futex_waits = r(futex_waits_);
  c.sleeps = r(sleeps_);
  c.other_blocking = r(other_blocking_);
  c.wakes = r(wakes_);
  c.yields = r(yields_);
  c.other_syscalls = r(other_syscalls_);
  return c;
}

void rt_checker::reset() noexcept {
  for (auto* a : {&allocations_, &frees_, &mutex_locks_, &cond_waits_, &futex_waits_, &sleeps_,
                  &other_blocking_, &wakes_, &yields_, &other_syscalls_})
    a->store(0, std::memory_order_relaxed);
}

namespace {
// Escapes the probes of interposition_works from the optimiser.
void* volatile g_probe = nullptr;
}  // namespace

bool rt_checker::interposition_works() {
  rt_checker c;
  {
    auto watching = c.watch_this_thread();
    g_probe = std::malloc(16);  // the C library's allocator
    std::free(g_probe);
    // A wake with nobody waiting returns at once: the futex path through syscall().
    static std::uint32_t word = 0;
    ::syscall(SYS_futex, &word, FUTEX_WAKE_PRIVATE, 1, nullptr, nullptr, 0);
    ::sched_yield();
  }
  rt_counts const n = c.counts();
  return n.allocations == 1 && n.frees == 1 && n.wakes == 1 && n.yields == 1;
}

std::ostream& operator<<(std::ostream& out, rt_counts const& c) {
  return out << "allocations=" << c.allocations << " frees=" << c.frees
             << " mutex_locks=" << c.mutex_locks << " cond_waits=" << c.cond_waits
             << " futex_waits=" << c.futex_waits << " sleeps=" << c.sleeps
             << " other_blocking=" << c.other_blocking << " wakes=" << c.wakes
             << " yields=" << c.yields << " other_syscalls=" << c.other_syscalls;
}

}  // namespace ste_test

// --- The interposed definitions ------------------------------------------------------

using ste_test::count_allocation;
using ste_test::count_free;
using ste_test::rt_counting;

// The allocator. realloc counts as one allocation (whatever it does underneath).
extern "C" {
void* malloc(std::size_t size) noexcept {
  return count_allocation(__libc_malloc(size));
}
void* calloc(std::size_t count, std::size_t size) noexcept {
  return count_allocation(__libc_calloc(count, size));
}
void* realloc(void* p, std::size_t size) noexcept {
  return count_allocation(__libc_realloc(p, size));
}
void* reallocarray(void* p, std::size_t count, std::size_t size) noexcept {
  std::size_t bytes = 0;
  if (__builtin_mul_overflow(count, size, &bytes)) {
    rt_counting::add(rt_counting::allocations);
    errno = ENOMEM;
    return nullptr;
  }
  return count_allocation(__libc_realloc(p, bytes));
}
void* aligned_alloc(std::size_t alignment, std::size_t size) noexcept {
  if (!ste_test::is_power_of_two(alignment)) {
    rt_counting::add(rt_counting::allocations);
    errno = EINVAL;
    return nullptr;
  }
  return count_allocation(__libc_memalign(alignment, size));
}
int posix_memalign(void** out, std::size_t alignment, std::size_t size) noexcept {
  rt_counting::add(rt_counting::allocations);
  if (!ste_test::is_power_of_two(alignment) || alignment % sizeof(void*) != 0) return EINVAL;
  void* const p = __libc_memalign(alignment, size);
  if (p == nullptr) return ENOMEM;
  *out = p;
  return 0;
}
void* memalign(std::size_t alignment, std::size_t size) noexcept {
  return count_allocation(__libc_memalign(alignment, size));
}
void* valloc(std::size_t size) noexcept {
  return count_allocation(__libc_valloc(size));
}
void* pvalloc(std::size_t size) noexcept {
  return count_allocation(__libc_pvalloc(size));
}
void free(void* p) noexcept {
  count_free(p);
  __libc_free(p);
}
}  // extern "C"

// Every replaceable operator new and delete, straight to glibc's allocator (not through
// malloc above, so that one `new` counts once).
// clang-format off
void* operator new(std::size_t n) { return ste_test::checked_new(count_allocation(__libc_malloc(ste_test::at_least_one(n)))); }
void* operator new[](std::size_t n) { return ste_test::checked_new(count_allocation(__libc_malloc(ste_test::at_least_one(n)))); }
void* operator new(std::size_t n, std::nothrow_t const&) noexcept { return count_allocation(__libc_malloc(ste_test::at_least_one(n))); }
void* operator new[](std::size_t n, std::nothrow_t const&) noexcept { return count_allocation(__libc_malloc(ste_test::at_least_one(n))); }
void* operator new(std::size_t n, std::align_val_t a) { return ste_test::checked_new(count_allocation(__libc_memalign(static_cast<std::size_t>(a), ste_test::at_least_one(n)))); }
void* operator new[](std::size_t n, std::align_val_t a) { return ste_test::checked_new(count_allocation(__libc_memalign(static_cast<std::size_t>(a), ste_test::at_least_one(n)))); }
void* operator new(std::size_t n, std::align_val_t a, std::nothrow_t const&) noexcept { return count_allocation(__libc_memalign(static_cast<std::size_t>(a), ste_test::at_least_one(n))); }
void* operator new[](std::size_t n, std::align_val_t a, std::nothrow_t const&) noexcept { return count_allocation(__libc_memalign(static_cast<std::size_t>(a), ste_test::at_least_one(n))); }
void operator delete(void* p) noexcept { count_free(p); __libc_free(p); }
void operator delete[](void* p) noexcept { count_free(p); __libc_free(p); }
void operator delete(void* p, std::size_t) noexcept { count_free(p); __libc_free(p); }
void operator delete[](void* p, std::size_t) noexcept { count_free(p); __libc_free(p); }
void operator delete(void* p, std::align_val_t) noexcept { count_free(p); __libc_free(p); }
void operator delete[](void* p, std::align_val_t) noexcept { count_free(p); __libc_free(p); }
void operator delete(void* p, std::size_t, std::align_val_t) noexcept { count_free(p); __libc_free(p); }
void operator delete[](void* p, std::size_t, std::align_val_t) noexcept { count_free(p); __libc_free(p); }
void operator delete(void* p, std::nothrow_t const&) noexcept { count_free(p); __libc_free(p); }
void operator delete[](void* p, std::nothrow_t const&) noexcept { count_free(p); __libc_free(p); }
void operator delete(void* p, std::align_val_t, std::nothrow_t const&) noexcept { count_free(p); __libc_free(p); }
void operator delete[](void* p, std::align_val_t, std::nothrow_t const&) noexcept { count_free(p); __libc_free(p); }
// clang-format on

// Locks, waits and sleeps: count, then forward with the same arguments. NOEXCEPT
// repeats the C library's own declaration (glibc marks the calls that are no
// cancellation points __THROW, which is noexcept in C++).
// clang-format off
#define STE_RT_FORWARD(kind, ret, fn, params, args, ...) \
  extern "C" ret fn params __VA_ARGS__ {                 \
    rt_counting::add(rt_counting::kind);                 \
    return ste_test::next_##fn.get() args;               \
  }
STE_RT_FORWARD(mutex_locks, int, pthread_mutex_lock, (pthread_mutex_t* m), (m), noexcept)
STE_RT_FORWARD(mutex_locks, int, pthread_mutex_trylock, (pthread_mutex_t* m), (m), noexcept)
STE_RT_FORWARD(mutex_locks, int, pthread_mutex_timedlock, (pthread_mutex_t* __restrict m, timespec const* __restrict t), (m, t), noexcept)
STE_RT_FORWARD(mutex_locks, int, pthread_mutex_clocklock, (pthread_mutex_t* __restrict m, clockid_t c, timespec const* __restrict t), (m, c, t), noexcept)
STE_RT_FORWARD(mutex_locks, int, pthread_rwlock_rdlock, (pthread_rwlock_t* l), (l), noexcept)
STE_RT_FORWARD(mutex_locks, int, pthread_rwlock_tryrdlock, (pthread_rwlock_t* l), (l), noexcept)
STE_RT_FORWARD(mutex_locks, int, pthread_rwlock_timedrdlock, (pthread_rwlock_t* __restrict l, timespec const* __restrict t), (l, t), noexcept)
STE_RT_FORWARD(mutex_locks, int, pthread_rwlock_clockrdlock, (pthread_rwlock_t* __restrict l, clockid_t c, timespec const* __restrict t), (l, c, t), noexcept)
STE_RT_FORWARD(mutex_locks, int, pthread_rwlock_wrlock, (pthread_rwlock_t* l), (l), noexcept)
STE_RT_FORWARD(mutex_locks, int, pthread_rwlock_trywrlock, (pthread_rwlock_t* l), (l), noexcept)
STE_RT_FORWARD(mutex_locks, int, pthread_rwlock_timedwrlock, (pthread_rwlock_t* __restrict l, timespec const* __restrict t), (l, t), noexcept)
STE_RT_FORWARD(mutex_locks, int, pthread_rwlock_clockwrlock, (pthread_rwlock_t* __restrict l, clockid_t c, timespec const* __restrict t), (l, c, t), noexcept)
STE_RT_FORWARD(mutex_locks, int, pthread_spin_lock, (pthread_spinlock_t* l), (l), noexcept)
STE_RT_FORWARD(mutex_locks, int, pthread_spin_trylock, (pthread_spinlock_t* l), (l), noexcept)
STE_RT_FORWARD(mutex_locks, int, sem_wait, (sem_t* s), (s))
STE_RT_FORWARD(mutex_locks, int, sem_trywait, (sem_t* s), (s), noexcept)
STE_RT_FORWARD(mutex_locks, int, sem_timedwait, (sem_t* __restrict s, timespec const* __restrict t), (s, t))
STE_RT_FORWARD(mutex_locks, int, sem_clockwait, (sem_t* __restrict s, clockid_t c, timespec const* __restrict t), (s, c, t))
STE_RT_FORWARD(cond_waits, int, pthread_cond_wait, (pthread_cond_t* __restrict cv, pthread_mutex_t* __restrict m), (cv, m))
STE_RT_FORWARD(cond_waits, int, pthread_cond_timedwait, (pthread_cond_t* __restrict cv, pthread_mutex_t* __restrict m, timespec const* __restrict t), (cv, m, t))
STE_RT_FORWARD(cond_waits, int, pthread_cond_clockwait, (pthread_cond_t* __restrict cv, pthread_mutex_t* __restrict m, clockid_t c, timespec const* __restrict t), (cv, m, c, t))
STE_RT_FORWARD(sleeps, int, nanosleep, (timespec const* r, timespec* left), (r, left))
STE_RT_FORWARD(sleeps, int, clock_nanosleep, (clockid_t c, int flags, timespec const* r, timespec* left), (c, flags, r, left))
STE_RT_FORWARD(sleeps, int, usleep, (useconds_t us), (us))
STE_RT_FORWARD(sleeps, unsigned, sleep, (unsigned s), (s))
STE_RT_FORWARD(other_blocking, int, poll, (pollfd* fds, nfds_t n, int timeout), (fds, n, timeout))
STE_RT_FORWARD(other_blocking, int, ppoll, (pollfd* fds, nfds_t n, timespec const* t, sigset_t const* mask), (fds, n, t, mask))
STE_RT_FORWARD(other_blocking, int, select, (int n, fd_set* __restrict r, fd_set* __restrict w, fd_set* __restrict e, timeval* __restrict t), (n, r, w, e, t))
STE_RT_FORWARD(other_blocking, int, pselect, (int n, fd_set* __restrict r, fd_set* __restrict w, fd_set* __restrict e, timespec const* __restrict t, sigset_t const* __restrict mask), (n, r, w, e, t, mask))
STE_RT_FORWARD(other_blocking, int, epoll_wait, (int fd, epoll_event* events, int max, int timeout), (fd, events, max, timeout))
STE_RT_FORWARD(other_blocking, int, epoll_pwait, (int fd, epoll_event* events, int max, int timeout, sigset_t const* mask), (fd, events, max, timeout, mask))
STE_RT_FORWARD(other_blocking, ssize_t, read, (int fd, void* buffer, std::size_t n), (fd, buffer, n))
STE_RT_FORWARD(other_blocking, int, pthread_join, (pthread_t t, void** result), (t, result))
STE_RT_FORWARD(other_blocking, int, pthread_barrier_wait, (pthread_barrier_t* b), (b), noexcept)
STE_RT_FORWARD(other_blocking, int, sigwait, (sigset_t const* __restrict set, int* __restrict sig), (set, sig))
STE_RT_FORWARD(other_blocking, int, sigwaitinfo, (sigset_t const* __restrict set, siginfo_t* __restrict info), (set, info))
STE_RT_FORWARD(other_blocking, int, sigtimedwait, (sigset_t const* __restrict set, siginfo_t* __restrict info, timespec const* __restrict t), (set, info, t))
STE_RT_FORWARD(other_blocking, int, pause, (), ())
STE_RT_FORWARD(yields, int, sched_yield, (), (), noexcept)
#undef STE_RT_FORWARD
// clang-format on

// syscall(2) is variadic: read the six argument registers the kernel takes (as glibc's
// own syscall does, whatever the caller passed), classify, forward all six.
extern "C" long syscall(long number, ...) noexcept {
  va_list ap;
  va_start(ap, number);
  long a[6];
  for (long& x : a) x = va_arg(ap, long);
  va_end(ap);
  rt_counting::add(ste_test::classify_syscall(number, a[1]));
  return ste_test::next_syscall.get()(number, a[0], a[1], a[2], a[3], a[4], a[5]);
}
