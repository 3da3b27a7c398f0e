// SPDX-License-Identifier: MIT
// The desk lock on POSIX (include/ste/detail/pi_mutex.hpp): a PTHREAD_PRIO_INHERIT mutex.
// Uncontended, lock and unlock are one compare-and-swap each in user space (glibc); a
// contended lock sleeps in the kernel (Linux: FUTEX_LOCK_PI), which boosts the holder to
// the waiter's priority until it unlocks.
#include <pthread.h>

#include <cstdlib>
#include <new>

#include "ste/detail/pi_mutex.hpp"

namespace ste::detail {

namespace {
pthread_mutex_t* native(unsigned char* storage) noexcept {
  return std::launder(reinterpret_cast<pthread_mutex_t*>(storage));
}
}  // namespace

pi_mutex::pi_mutex() noexcept {
  static_assert(sizeof(pthread_mutex_t) <= sizeof storage_);
  static_assert(alignof(pthread_mutex_t) <= alignof(pi_mutex));
  pthread_mutexattr_t attr;
  pthread_mutexattr_init(&attr);
  // Where the platform lacks the protocol (it is optional in POSIX) the mutex stays a
  // plain one: still correct, only without the priority loan.
  (void)pthread_mutexattr_setprotocol(&attr, PTHREAD_PRIO_INHERIT);
  pthread_mutex_t* const m = new (storage_) pthread_mutex_t;
  if (pthread_mutex_init(m, &attr) != 0) std::abort();  // only ENOMEM/EAGAIN: no way on
  pthread_mutexattr_destroy(&attr);
}

pi_mutex::~pi_mutex() { pthread_mutex_destroy(native(storage_)); }

// A PI mutex fails to lock only for misuse (EDEADLK on a relock, EINVAL): a bug in ste.
void pi_mutex::lock() noexcept {
  if (pthread_mutex_lock(native(storage_)) != 0) std::abort();
}

void pi_mutex::unlock() noexcept { pthread_mutex_unlock(native(storage_)); }

}  // namespace ste::detail
