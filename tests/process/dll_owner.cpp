// SPDX-License-Identifier: MIT
// A DLL that owns ste threads (ste is linked into it), for dll_host.cpp: one in a
// static (`owned`, destroyed by the C runtime after DllMain's DLL_PROCESS_DETACH) and
// one that DllMain itself destroys on DLL_PROCESS_DETACH (`in_dllmain`). On request it
// also calls join(), build() and ~thread from DllMain's DLL_THREAD_ATTACH, where the
// calling thread holds the loader lock (docs/design.md §17).
//
// Everything it reports goes straight to the standard output handle (WriteFile): at
// process exit nothing buffered would be flushed any more.
#include <atomic>
#include <cstdlib>
#include <cstring>
#include <string>
#include <system_error>

#ifndef NOMINMAX
#define NOMINMAX
#endif
#include <windows.h>

#include "ste/thread.hpp"

#define DLL_OWNER_API extern "C" __declspec(dllexport)

namespace {

void say(char const* text) noexcept {
  DWORD written = 0;
  WriteFile(GetStdHandle(STD_OUTPUT_HANDLE), text, static_cast<DWORD>(std::strlen(text)),
            &written, nullptr);
}

// Destroyed after `owned` (built before it): its message says the static ste::thread's
// destructor returned.
struct last_word {
  ~last_word() { say("dll_owner: statics destroyed\n"); }
} const last;

ste::thread owned;                 // a static ste::thread
ste::thread* in_dllmain = nullptr;  // destroyed by DllMain on DLL_PROCESS_DETACH
std::atomic<long> owned_count{0};

// The DLL_THREAD_ATTACH probe (dll_arm_probe). Set by the host's thread, read and run
// by the next thread that attaches.
std::atomic<int> probe_mode{0};
HANDLE probe_done = nullptr;
std::string probe_report;
ste::thread already_joined;     // mode 1: join() of a joined thread is a no-op there too
ste::thread* victim = nullptr;  // mode 2: destroyed under the loader lock
std::atomic<long> victim_count{0};
std::atomic<long> victim_seen{-1};  // victim_count when the victim's postlude ran

constexpr int queued = 100;

std::string what_join_threw() {
  try {
    owned.join();
    return "join: returned\n";
  } catch (std::system_error const& e) {
    return std::string("join: system_error ") +
           (e.code() == std::errc::resource_deadlock_would_occur ? "resource_deadlock_would_occur"
                                                                 : e.code().message()) +
           ": " + e.what() + "\n";
  } catch (...) {
    return "join: another exception\n";
  }
}

std::string what_build_threw() {
  try {
    ste::thread t = ste::builder().name("dll-late").build();
    return "build: returned\n";
  } catch (std::system_error const& e) {
    return std::string("build: system_error ") +
           (e.code() == std::errc::resource_deadlock_would_occur ? "resource_deadlock_would_occur"
                                                                 : e.code().message()) +
           ": " + e.what() + "\n";
  } catch (...) {
    return "build: another exception\n";
  }
}

std::string what_rejoin_did() {
  try {
    already_joined.join();
    return "rejoin: returned\n";
  } catch (...) {
    return "rejoin: threw\n";
  }
}

// Runs inside DllMain (DLL_THREAD_ATTACH): this thread holds the loader lock.
void run_probe(int mode) noexcept {
  try {
    if (mode == 1) {
      probe_report = what_join_threw() + what_build_threw() + what_rejoin_did();
    } else {
      delete victim;  // its worker is blocked in its first task: this must not wait
      victim = nullptr;
      probe_report = "destroy: returned\n";
    }
  } catch (...) {
    probe_report = "probe: threw\n";
  }
  SetEvent(probe_done);
}

}  // namespace

/// Builds both ste threads. `owned` runs, in order: a task that waits for `gate` (none
/// if null), `queued` increments, a task that sets `done`. Returns 0, or -1 if it threw.
DLL_OWNER_API int dll_start(HANDLE gate, HANDLE done) {
  try {
    owned = ste::builder().name("dll-owned").build();
    in_dllmain = new ste::thread(ste::builder().name("dll-in-dllmain").build());
    if (gate != nullptr) owned.post([gate] { WaitForSingleObject(gate, INFINITE); });
    for (int i = 0; i < queued; ++i) owned.post([] { ++owned_count; });
    owned.post([done] { SetEvent(done); });
    in_dllmain->post([] {});
    return 0;
  } catch (...) {
    return -1;
  }
}

/// Posts `n` more increments to `owned`. Returns 0, or -1 if it threw.
DLL_OWNER_API int dll_post(int n) {
  try {
    for (int i = 0; i < n; ++i) owned.post([] { ++owned_count; });
    return 0;
  } catch (...) {
    return -1;
  }
}

/// Joins both threads (the way to use a DLL's ste threads: before FreeLibrary).
/// Returns how many increments `owned` ran, or -1 if join threw.
DLL_OWNER_API long dll_stop() {
  try {
    owned.join();
    delete in_dllmain;
    in_dllmain = nullptr;
    return owned_count.load();
  } catch (...) {
    return -1;
  }
}

/// Joins `owned` (from a thread of the host's). Returns 0, or -1 if join threw.
DLL_OWNER_API int dll_join_owned() {
  try {
    owned.join();
    return 0;
  } catch (...) {
    return -1;
  }
}

/// Posts std::exit(0) to `owned`: the process exits from the DLL's own ste thread.
DLL_OWNER_API void dll_exit_from_task() {
  owned.post([] { std::exit(0); });
}

/// Arms the probe the next thread that attaches runs inside DllMain, then sets `done`.
/// Mode 1: join() of `owned`, build(), join() of a thread joined before.
/// Mode 2: destroys `victim`, built here: its first task waits for `gate`, then
/// `queued` increments follow; its postlude records the count and sets `postlude_done`.
/// Returns 0, or -1 if it threw.
DLL_OWNER_API int dll_arm_probe(int mode, HANDLE done, HANDLE gate, HANDLE postlude_done) {
  try {
    probe_done = done;
    if (mode == 1) {
      already_joined = ste::spawn();
      already_joined.join();
    } else {
      victim = new ste::thread(ste::builder()
                                   .name("dll-victim")
                                   .postlude([postlude_done] {
                                     victim_seen = victim_count.load();
                                     SetEvent(postlude_done);
                                   })
                                   .build());
      victim->post([gate] { WaitForSingleObject(gate, INFINITE); });
      for (int i = 0; i < queued; ++i) victim->post([] { ++victim_count; });
    }
    probe_mode = mode;
    return 0;
  } catch (...) {
    return -1;
  }
}

DLL_OWNER_API char const* dll_probe_report() { return probe_report.c_str(); }
DLL_OWNER_API long dll_victim_seen() { return victim_seen.load(); }

extern "C" BOOL WINAPI DllMain(HINSTANCE, DWORD reason, LPVOID reserved) {
  switch (reason) {
    case DLL_THREAD_ATTACH:
      if (int const mode = probe_mode.exchange(0)) run_probe(mode);
      break;
    case DLL_PROCESS_DETACH:
      say(reserved != nullptr ? "dll_owner: DLL_PROCESS_DETACH (process exit)\n"
                              : "dll_owner: DLL_PROCESS_DETACH (FreeLibrary)\n");
      delete in_dllmain;
      in_dllmain = nullptr;
      say("dll_owner: DllMain destroyed its ste::thread\n");
      break;
    default:
      break;
  }
  return TRUE;
}
