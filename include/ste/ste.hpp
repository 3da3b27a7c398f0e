// SPDX-License-Identifier: MIT
// ste/ste.hpp — the umbrella header: everything ste offers.
//
//   #include <ste/ste.hpp>
//
//   auto thread = ste::spawn();
//   int n = 10;
//   thread.submit([&] { n += 10; });
//   thread.join();
#pragma once

#include "ste/bound.hpp"
#include "ste/errors.hpp"
#include "ste/notifier.hpp"
#include "ste/site.hpp"
#include "ste/timer.hpp"
#include "ste/tag.hpp"
#include "ste/task.hpp"
#include "ste/thread.hpp"
#include "ste/version.hpp"
