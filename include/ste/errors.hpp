// SPDX-License-Identifier: MIT
// ste/errors.hpp — the exceptions ste throws.
//
// Every ste error says what happened and what to do about it:
//
//   try {
//     thread.submit([] { /* ... */ });
//   } catch (ste::stopped_error const& e) {
//     // The thread was joined (or is being joined): the task did not run.
//   }
//
// - stopped_error   (std::runtime_error): the thread no longer accepts work; the task
//                    was not accepted and did not run.
// - timeout_error   (std::runtime_error): submit_for/submit_until withdrew the task
//                    before the thread started it; it did not run and never will.
// - wrong_thread    (std::logic_error): a thread-affine value or operation was used off
//                    the ste thread it belongs to (or an empty bound<T> was used).
// - deadlock_error  (std::logic_error): a blocking call would have waited on a chain of
//                    ste threads leading back to the caller's own thread.
#pragma once

#include "ste/export.hpp"

#include <stdexcept>
#include <string>

namespace ste {

class tag;

/// The ste thread no longer accepts work (joined, being joined, or an empty handle).
class STE_API stopped_error : public std::runtime_error {
 public:
  explicit stopped_error(std::string const& what_arg);
};

/// A timed submit reached its deadline before the thread started the task.
class STE_API timeout_error : public std::runtime_error {
 public:
  explicit timeout_error(std::string const& what_arg);
};

/// A thread-affine value or operation was used on the wrong thread.
class STE_API wrong_thread : public std::logic_error {
 public:
  explicit wrong_thread(std::string const& what_arg);
  /// Message names both tags exactly as `operator<<(std::ostream&, tag)` writes them.
  wrong_thread(tag expected, tag actual);
};

/// A blocking call would have waited on a cycle of ste threads (a certain deadlock).
class STE_API deadlock_error : public std::logic_error {
 public:
  explicit deadlock_error(std::string const& what_arg);
};

}  // namespace ste
