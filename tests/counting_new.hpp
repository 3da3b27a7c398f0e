// SPDX-License-Identifier: MIT
// A counting global operator new for the test binaries that link counting_new.cpp
// (allocation_test, execution_test): every form (plain, array, nothrow, aligned) is
// replaced, and allocations() tells how many were made so far, on every thread.
#pragma once

namespace ste_test {

/// How many allocations operator new made in this process so far.
long allocations() noexcept;

/// How many allocations `body()` made (on any thread, while it ran).
template <class F>
long allocations_during(F&& body) {
  long const before = allocations();
  body();
  return allocations() - before;
}

}  // namespace ste_test
