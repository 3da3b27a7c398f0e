// SPDX-License-Identifier: MIT
// The registry of live cores and the fork handlers (include/ste/detail/process.hpp;
// docs/design.md §15; verify/spin/fork.pml).
#include "ste/detail/process.hpp"

#include <new>
#include <system_error>

#include "ste/detail/core.hpp"
#include "ste/detail/deadlock.hpp"
#include "ste/detail/guard.hpp"
#include "ste/detail/mutex.hpp"
#include "ste/detail/watchdog.hpp"

#if !defined(_WIN32)
#include <pthread.h>

#include <mutex>
#endif

namespace ste::detail {

namespace {

// Every core from its construction to its destruction. Never destroyed (a ste thread
// with static storage may be destroyed after this file's statics), and built in place:
// no allocation, so that making a core fails only where it says it may.
struct registry {
  mutex lock;
  intrusive_list<core, &core::process_hook> cores STE_GUARDED_BY(lock);
};

registry& the_registry() noexcept {
  alignas(registry) static unsigned char storage[sizeof(registry)];
  static registry* const r = ::new (static_cast<void*>(storage)) registry;
  return *r;
}

#if !defined(_WIN32)
// The lock order is the one ste keeps everywhere: the edge mutex first (a core may be
// destroyed by a thread that holds it... never the other way round: the registry's
// holder takes nothing else).
void prepare_fork() noexcept STE_NO_THREAD_SAFETY_ANALYSIS {
  edge_mutex().lock();
  the_registry().lock.lock();
}

void after_fork_in_parent() noexcept STE_NO_THREAD_SAFETY_ANALYSIS {
  the_registry().lock.unlock();
  edge_mutex().unlock();
}

// The child has one thread, this one, and no other thread of the parent exists: plain
// writes are enough, and threads started later see them through pthread_create.
void after_fork_in_child() noexcept STE_NO_THREAD_SAFETY_ANALYSIS {
  registry& r = the_registry();
  r.cores.for_each([](core& c) { c.inherit_in_child(); });
  forget_blocked_in_child();
  forget_watchdog_in_child();
  forget_current_core_in_child();
  r.lock.unlock();
  edge_mutex().unlock();
}

void install_fork_handlers() {
  static std::once_flag once;
  std::call_once(once, [] {
    if (int const e = pthread_atfork(&prepare_fork, &after_fork_in_parent, &after_fork_in_child))
      throw std::system_error(e, std::generic_category(),
                              "ste: pthread_atfork could not install ste's fork handlers");
  });
}
#endif

}  // namespace

void register_core(core& c) {
#if !defined(_WIN32)
  install_fork_handlers();
#endif
  registry& r = the_registry();
  guard lock(r.lock);
  r.cores.push_back(c);
}

void unregister_core(core& c) noexcept {
  registry& r = the_registry();
  guard lock(r.lock);
  r.cores.remove(c);
}

}  // namespace ste::detail
