// SPDX-License-Identifier: MIT
// ste/detail/process.hpp — the process around the ste threads: the registry of every
// live core, and what fork() does to them (src/process.cpp; docs/design.md §15;
// verify/spin/fork.pml). Not public API.
//
// fork() copies the process but only the thread that called it. In the child every ste
// thread of the parent is gone, yet its core, its handles and every lock in ste's
// globals were copied as they were at that instant — possibly held by a thread that
// does not exist there. pthread_atfork handlers make that safe:
//   prepare (the forking thread): takes the edge mutex, then the registry's mutex, so
//     that no other thread is inside either when the copy is made;
//   parent: releases both;
//   child (the only thread): marks every registered core inherited (closed for good,
//     never destroyed, never waited for), forgets the blocked list and the watchdog
//     (their threads do not exist), forgets that the forking thread ran a core, then
//     releases both locks. New ste threads then work normally.
#pragma once

#include "ste/export.hpp"

#include "ste/detail/intrusive_list.hpp"

namespace ste::detail {

class core;

/// Adds a new core to the registry; installs the fork handlers the first time (POSIX).
/// Throws std::system_error when they cannot be installed.
STE_API void register_core(core& c);
/// Takes a core out of the registry (its destructor).
STE_API void unregister_core(core& c) noexcept;

}  // namespace ste::detail
