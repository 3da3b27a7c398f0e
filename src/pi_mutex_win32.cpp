// SPDX-License-Identifier: MIT
// The desk lock on Windows (include/ste/detail/pi_mutex.hpp): an SRWLOCK. Windows has
// no priority inheritance; the desk is held only for a few pointer writes, and the
// scheduler boosts a starved ready holder (docs/design.md §2).
#include <windows.h>

#include <new>

#include "ste/detail/pi_mutex.hpp"

namespace ste::detail {

namespace {
SRWLOCK* native(unsigned char* storage) noexcept {
  return std::launder(reinterpret_cast<SRWLOCK*>(storage));
}
}  // namespace

pi_mutex::pi_mutex() noexcept {
  static_assert(sizeof(SRWLOCK) <= sizeof storage_);
  InitializeSRWLock(new (storage_) SRWLOCK);
}

pi_mutex::~pi_mutex() = default;  // an SRWLOCK needs no cleanup

void pi_mutex::lock() noexcept { AcquireSRWLockExclusive(native(storage_)); }
void pi_mutex::unlock() noexcept { ReleaseSRWLockExclusive(native(storage_)); }

}  // namespace ste::detail
