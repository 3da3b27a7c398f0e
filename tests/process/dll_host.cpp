// SPDX-License-Identifier: MIT
// Loads dll_owner.dll (a DLL with ste linked in that owns ste threads) and runs one
// scenario of a DLL's ste threads meeting the Windows loader lock (docs/design.md §17):
//
//   dll_host <scenario>
//
// Each scenario checks what it can itself and prints "dll_host: <scenario>: ok" at its
// end; what happens after main returns (DLL_PROCESS_DETACH at process exit) is reported
// by the DLL, and run_host.cmake checks that output and the exit code. Every step must
// finish: a watchdog thread ends the process with exit code 99 if the scenario has not
// finished after a long while. That is a hang guard, not a timing check; it cannot see
// a hang after main returned (ExitProcess ends it first): run_host.cmake's timeout does.
#include <atomic>
#include <cstdio>
#include <cstring>
#include <string>

#ifndef NOMINMAX
#define NOMINMAX
#endif
#include <windows.h>

namespace {

constexpr long queued = 100;  // dll_owner.cpp: the increments dll_start posts
constexpr DWORD hang_ms = 120'000;

std::atomic<char const*> step{"starting"};
HANDLE finished = nullptr;

void say(std::string const& text) {
  std::fputs(("dll_host: " + text + "\n").c_str(), stdout);
  std::fflush(stdout);
}

// TerminateProcess, not ExitProcess: a thread that is stuck may hold the loader lock,
// which ExitProcess would wait for; and no DLL is to run its detach after a failure.
[[noreturn]] void end_now(UINT code) {
  std::fflush(stdout);
  TerminateProcess(GetCurrentProcess(), code);
  for (;;) Sleep(INFINITE);
}

void check(bool ok, char const* what) {
  if (ok) {
    say(std::string("checked: ") + what);
    return;
  }
  say(std::string("FAIL: ") + what);
  end_now(1);
}

DWORD WINAPI watchdog(void*) {
  if (WaitForSingleObject(finished, hang_ms) == WAIT_TIMEOUT) {
    say(std::string("HANG: no progress after ") + std::to_string(hang_ms / 1000) + " s in: " +
        step.load());
    end_now(99);
  }
  return 0;
}

void at(char const* what) {
  step = what;
  say(what);
}

HANDLE new_event() {
  HANDLE e = CreateEventW(nullptr, TRUE, FALSE, nullptr);
  check(e != nullptr, "CreateEventW");
  return e;
}

void wait_for(HANDLE h) { WaitForSingleObject(h, INFINITE); }  // the watchdog guards it

DWORD WINAPI nothing(void*) { return 0; }

// Starts a thread and waits for its end: its DLL_THREAD_ATTACH runs dll_owner's probe.
void attach_a_thread() {
  HANDLE t = CreateThread(nullptr, 0, &nothing, nullptr, 0, nullptr);
  check(t != nullptr, "CreateThread");
  wait_for(t);
  CloseHandle(t);
}

bool dll_loaded() { return GetModuleHandleW(L"dll_owner.dll") != nullptr; }

struct dll {
  HMODULE module = nullptr;
  int (*start)(HANDLE gate, HANDLE done) = nullptr;
  int (*post)(int n) = nullptr;
  long (*stop)() = nullptr;
  int (*join_owned)() = nullptr;
  void (*exit_from_task)() = nullptr;
  int (*arm_probe)(int mode, HANDLE done, HANDLE gate, HANDLE postlude_done) = nullptr;
  char const* (*probe_report)() = nullptr;
  long (*victim_seen)() = nullptr;

  template <class F>
  void get(F& f, char const* name) {
    f = reinterpret_cast<F>(reinterpret_cast<void (*)()>(GetProcAddress(module, name)));
    if (f == nullptr) check(false, name);
  }

  dll() {
    at("LoadLibrary");
    module = LoadLibraryW(L"dll_owner.dll");
    check(module != nullptr, "LoadLibraryW(dll_owner.dll)");
    get(start, "dll_start");
    get(post, "dll_post");
    get(stop, "dll_stop");
    get(join_owned, "dll_join_owned");
    get(exit_from_task, "dll_exit_from_task");
    get(arm_probe, "dll_arm_probe");
    get(probe_report, "dll_probe_report");
    get(victim_seen, "dll_victim_seen");
  }

  void free() {
    at("FreeLibrary");
    check(FreeLibrary(module) != 0, "FreeLibrary returned");
  }
};

// The way to use it: join the DLL's ste threads, then FreeLibrary. Twice, so the DLL
// is loaded again after a real unload.
void unload_after_join() {
  for (int round = 0; round < 2; ++round) {
    dll d;
    HANDLE done = new_event();
    check(d.start(nullptr, done) == 0, "dll_start");
    wait_for(done);
    at("dll_stop: join the DLL's ste threads");
    check(d.stop() == queued, "join drained every task");
    d.free();
    check(!dll_loaded(),
          "the DLL is unloaded: its joined workers let go of their module reference");
    CloseHandle(done);
  }
}

// FreeLibrary while a ste thread of the DLL runs (blocked in a task, 100 queued): the
// worker's module reference keeps the DLL loaded, and its work runs after FreeLibrary.
// Then the process exits with it still running.
void free_while_running() {
  dll d;
  HANDLE gate = new_event();
  HANDLE done = new_event();
  check(d.start(gate, done) == 0, "dll_start (worker blocked in a task)");
  d.free();
  check(dll_loaded(), "the DLL stays loaded while its ste threads live");
  at("open the gate: the work queued before FreeLibrary runs");
  SetEvent(gate);
  wait_for(done);
  check(true, "work queued before FreeLibrary ran after it");
}

// Return from main with the DLL loaded and its ste thread blocked in a task, 100 tasks
// queued: the DLL's DllMain and its statics destroy ste threads Windows has ended.
void exit_while_running() {
  dll d;
  HANDLE gate = new_event();  // never opened
  HANDLE done = new_event();
  check(d.start(gate, done) == 0, "dll_start (worker blocked in a task)");
  at("return from main with the DLL loaded");
}

DWORD WINAPI join_owned(void* f) {
  reinterpret_cast<int (*)()>(f)();
  return 0;
}

// Return from main while a thread of the host is inside join() of the DLL's ste thread
// (its worker blocked in a task): Windows ends that joiner holding ste's join mutex, and
// the static ste::thread's destructor must not wait for that mutex.
void exit_while_joining() {
  dll d;
  HANDLE gate = new_event();  // never opened
  HANDLE done = new_event();
  check(d.start(gate, done) == 0, "dll_start (worker blocked in a task)");
  HANDLE joiner = CreateThread(nullptr, 0, &join_owned, reinterpret_cast<void*>(d.join_owned),
                               0, nullptr);
  check(joiner != nullptr, "CreateThread (the joiner)");
  at("wait until join() stopped accepting work (it then holds the join mutex)");
  while (d.post(1) == 0) Sleep(1);  // a condition, polled; the watchdog guards it
  check(true, "join() is under way");
  at("return from main while join() waits");
}

// std::exit from a task on the DLL's own ste thread: the DLL's detach then runs on that
// very thread.
[[noreturn]] void exit_from_task() {
  dll d;
  HANDLE done = new_event();
  check(d.start(nullptr, done) == 0, "dll_start");
  wait_for(done);
  at("std::exit from a task on the DLL's ste thread");
  d.exit_from_task();
  for (;;) Sleep(INFINITE);  // ended by that exit (or by the watchdog)
}

bool has(std::string const& text, char const* part) {
  return text.find(part) != std::string::npos;
}

// join() and build() inside DllMain (DLL_THREAD_ATTACH: the loader lock is held) throw
// system_error(resource_deadlock_would_occur) and change nothing; join() of a joined
// thread is still a no-op there.
void join_under_loader_lock() {
  dll d;
  HANDLE done = new_event();
  HANDLE probe_done = new_event();
  check(d.start(nullptr, done) == 0, "dll_start");
  wait_for(done);
  check(d.arm_probe(1, probe_done, nullptr, nullptr) == 0, "dll_arm_probe(1)");
  at("join and build inside DllMain (DLL_THREAD_ATTACH)");
  attach_a_thread();
  wait_for(probe_done);
  std::string const report = d.probe_report();
  std::fputs(report.c_str(), stdout);
  check(has(report, "join: system_error resource_deadlock_would_occur: ste::thread::join "
                    "called under the Windows loader lock"),
        "join under the loader lock threw resource_deadlock_would_occur, saying why");
  check(has(report, "join it before FreeLibrary"), "its message says what to do");
  check(has(report, "build: system_error resource_deadlock_would_occur: ste::builder::build "
                    "called under the Windows loader lock"),
        "build under the loader lock threw resource_deadlock_would_occur, saying why");
  check(has(report, "rejoin: returned"), "join of a joined thread returned there");
  check(d.post(10) == 0, "the thread still accepts work after the refused join");
  at("dll_stop: join the DLL's ste threads");
  check(d.stop() == queued + 10, "join drained every task");
  d.free();
  check(!dll_loaded(), "the DLL is unloaded");
}

// The last handle of a ste thread destroyed inside DllMain (the loader lock is held)
// while its worker is blocked in a task with 100 queued: the destructor returns at
// once; the thread drains, runs its postlude and exits on its own afterwards.
void destroy_under_loader_lock() {
  dll d;
  HANDLE done = new_event();
  HANDLE probe_done = new_event();
  HANDLE gate = new_event();
  HANDLE postlude_done = new_event();
  check(d.start(nullptr, done) == 0, "dll_start");
  wait_for(done);
  check(d.arm_probe(2, probe_done, gate, postlude_done) == 0, "dll_arm_probe(2)");
  at("destroy a ste::thread inside DllMain (DLL_THREAD_ATTACH)");
  attach_a_thread();
  wait_for(probe_done);
  std::string const report = d.probe_report();
  std::fputs(report.c_str(), stdout);
  check(has(report, "destroy: returned"),
        "~thread under the loader lock returned while its worker was busy");
  at("open the gate: the destroyed thread drains on its own");
  SetEvent(gate);
  wait_for(postlude_done);
  check(d.victim_seen() == queued, "it ran every queued task, then its postlude");
  at("dll_stop: join the DLL's ste threads");
  check(d.stop() == queued, "join drained every task");
  d.free();
}

}  // namespace

int main(int argc, char** argv) {
  std::string const scenario = argc > 1 ? argv[1] : "";
  finished = CreateEventW(nullptr, TRUE, FALSE, nullptr);
  HANDLE guard = CreateThread(nullptr, 0, &watchdog, nullptr, 0, nullptr);
  if (finished == nullptr || guard == nullptr) return 2;
  if (scenario == "unload_after_join") {
    unload_after_join();
  } else if (scenario == "free_while_running") {
    free_while_running();
  } else if (scenario == "exit_while_running") {
    exit_while_running();
  } else if (scenario == "exit_while_joining") {
    exit_while_joining();
  } else if (scenario == "exit_from_task") {
    exit_from_task();
  } else if (scenario == "join_under_loader_lock") {
    join_under_loader_lock();
  } else if (scenario == "destroy_under_loader_lock") {
    destroy_under_loader_lock();
  } else {
    say("usage: dll_host unload_after_join | free_while_running | exit_while_running | "
        "exit_while_joining | exit_from_task | join_under_loader_lock | destroy_under_loader_lock");
    return 2;
  }
  SetEvent(finished);
  wait_for(guard);
  say(scenario + ": ok");
  return 0;
}
