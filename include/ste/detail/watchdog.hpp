// SPDX-License-Identifier: MIT
// ste/detail/watchdog.hpp — the process's stall watchdog (builder::on_stall).
//
// One plain thread for the whole process, started when the first thread built with
// on_stall starts and joined when the last one ends. It never touches a task record:
// it reads what each watched worker publishes about its task in progress (task_stats,
// behind a sequence lock) and reports each task once, while it still runs.
#pragma once

#include "ste/export.hpp"

namespace ste::detail {

class core;

/// Registers `c` (built with on_stall), starting the watchdog if it is the first.
/// Throws std::system_error when the watchdog thread cannot be started.
STE_API void watch(core& c);
/// Unregisters `c` — after any report in progress for it returned — and, for the last
/// one, stops and joins the watchdog (the watchdog thread itself, from a handler, only
/// tells it to stop). Never throws.
STE_API void unwatch(core& c) noexcept;
/// The child's fork handler: the watchdog thread does not exist there. The next watch()
/// starts a new one (the old watchdog is left as it was, never touched again).
STE_API void forget_watchdog_in_child() noexcept;

}  // namespace ste::detail
