// SPDX-License-Identifier: MIT
// Single-CPU SCHED_FIFO fault workload (not a test by itself; sched_fifo_driver.sh runs
// it pinned to one CPU under `chrt -f 50`, with a watchdog outside that CPU and above
// that priority). Expected: no hang, every result correct.
//
//   sched_fifo_workload same        every thread at the priority it inherited (FIFO 50)
//   sched_fifo_workload MODE [ROUNDS [KINDS]]   KINDS: digits of the operation kinds to
//                                   use (default all, "0123456789"; see client())
//   sched_fifo_workload rt-worker   the ste workers raise themselves in their prelude to
//                                   FIFO (inherited + 10), above their submitters: the
//                                   audio set-up (a real-time worker, ordinary callers)
//
// Each round starts two ste threads, lets three clients hand them work of every kind
// (submit, submit_for, post, destroy, bound<T>, block_on with hops and sleeps,
// submit_async, spawn, and a plain-thread coroutine awaiting a task that hops), then
// joins them, sometimes while the clients are still at it. Progress goes to stderr, so
// a hang shows where it stopped.
#include <pthread.h>
#include <sched.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <coroutine>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "ste/ste.hpp"
#include "test_support.hpp"

namespace {

using namespace std::chrono_literals;
using ste_test::eager;
using ste_test::gate;

std::atomic<long> g_wrong{0};

void check(bool ok, char const* what) {
  if (!ok) {
    ++g_wrong;
    std::fprintf(stderr, "sched_fifo_workload: WRONG: %s\n", what);
  }
}

std::string describe_self() {
  int policy = 0;
  sched_param p{};
  pthread_getschedparam(pthread_self(), &policy, &p);
  cpu_set_t set;
  CPU_ZERO(&set);
  sched_getaffinity(0, sizeof set, &set);
  std::string cpus;
  for (std::size_t c = 0; c < CPU_SETSIZE; ++c) {
    if (!CPU_ISSET(c, &set)) continue;
    if (!cpus.empty()) cpus += ',';
    cpus += std::to_string(c);
  }
  return std::string(policy == SCHED_FIFO ? "SCHED_FIFO"
                     : policy == SCHED_RR ? "SCHED_RR"
                                          : "SCHED_OTHER") +
         " priority " + std::to_string(p.sched_priority) + ", CPUs " + cpus;
}

ste::task<int> hop_to(ste::thread const* t, int v) {
  co_await t->schedule();
  co_return v;
}

struct tallies {
  std::atomic<long> ops{0}, posted{0}, posted_ran{0}, spawned{0}, spawned_ran{0}, stopped{0},
      timed_out{0};
};

std::string g_kinds = "0123456789";  // the operation kinds clients pick from

void client(ste::thread const& a, ste::thread const& b, tallies& t, unsigned seed, int ops) {
  unsigned r = seed;
  auto next = [&r] {
    r = r * 1103515245u + 12345u;
    return (r >> 16) & 0x7FFF;
  };
  for (int i = 0; i < ops; ++i) {
    ste::thread const& x = next() % 2 ? a : b;
    ste::thread const& y = &x == &a ? b : a;
    int const v = static_cast<int>(next());
    ++t.ops;
    try {
      switch (g_kinds[next() % g_kinds.size()] - '0') {
        case 0:
          check(x.submit([v] { return v; }) == v, "submit value");
          break;
        case 1:
          try {
            check(x.submit_for(std::chrono::microseconds(next() % 100), [v] { return v; }) == v,
                  "submit_for value");
          } catch (ste::timeout_error const&) {
            ++t.timed_out;
          }
          break;
        case 2:
          x.post([&t] { ++t.posted_ran; });
          ++t.posted;
          break;
        case 3:
          x.destroy(std::string(100, 'd'));
          break;
        case 4: {
          auto bv = x.make_bound<std::vector<int>>(std::size_t{10}, v);
          check(x.submit([&] { return bv->at(3); }) == v, "bound value");
          bv.reset();
          break;
        }
        case 5: {  // hop and sleep: the worker wakes up from its timers
          auto co = [](ste::thread const* to, int val) -> ste::task<int> {
            co_await to->schedule();
            co_await ste::sleep_for(20us);
            co_return val;
          };
          check(x.block_on(co(&y, v)) == v, "block_on value");
          break;
        }
        case 6: {
          auto co = [](ste::thread const* there, int val) -> ste::task<int> {
            co_return co_await there->submit_async(hop_to(there, val));
          };
          check(x.block_on(co(&y, v)) == v, "submit_async value");
          break;
        }
        case 7:
          x.spawn([](tallies* tt, std::chrono::microseconds d) -> ste::task<void> {
            try {
              co_await ste::sleep_for(d);
            } catch (ste::stopped_error const&) {
            }
            ++tt->spawned_ran;
          }(&t, std::chrono::microseconds(next() % 50)));
          ++t.spawned;
          break;
        case 8: {  // a coroutine on this plain thread awaits a task that hops to x
          gate done;
          int got = -1;
          bool refused = false;
          [](ste::thread const* to, int val, int& out, bool& ref, gate& g) -> eager {
            try {
              out = co_await hop_to(to, val);  // finishes on x: the awaiter continues there
            } catch (ste::stopped_error const&) {
              ref = true;
            }
            g.open();
          }(&x, v, got, refused, done);
          done.wait();
          if (refused)
            ++t.stopped;
          else
            check(got == v, "co_await of a hopping task");
          break;
        }
        default:
          check(x.submit([&x] { return x.tag().is_on_thread(); }), "submit runs on the thread");
          break;
      }
    } catch (ste::stopped_error const&) {
      ++t.stopped;  // the round's join began: fine, the task did not run
    }
  }
}

}  // namespace

int main(int argc, char** argv) {
  std::string const mode = argc > 1 ? argv[1] : "same";
  if (mode != "same" && mode != "rt-worker") {
    std::fprintf(stderr, "usage: sched_fifo_workload same|rt-worker [rounds [kinds]]\n");
    return 2;
  }
  int const rounds = argc > 2 ? std::atoi(argv[2]) : 100;
  if (argc > 3) g_kinds = argv[3];  // e.g. "8": only co_await of a hopping task
  int policy = 0;
  sched_param inherited{};
  pthread_getschedparam(pthread_self(), &policy, &inherited);
  std::fprintf(stderr, "sched_fifo_workload %s: main thread %s\n", mode.c_str(),
               describe_self().c_str());
  tallies t;
  std::atomic<int> raised{0};
  auto make = [&](char const* name) {
    ste::builder b;
    b.name(name);
    if (mode == "rt-worker")
      b.prelude([&] {
        sched_param p{};
        p.sched_priority = (policy == SCHED_FIFO ? inherited.sched_priority : 40) + 10;
        if (pthread_setschedparam(pthread_self(), SCHED_FIFO, &p) == 0) ++raised;
      });
    return b.build();
  };
  for (int round = 0; round < rounds; ++round) {
    auto a = make("fifo-a");
    auto b = make("fifo-b");
    if (round == 0)
      std::fprintf(stderr, "sched_fifo_workload: worker %s\n",
                   a.submit([] { return describe_self(); }).c_str());
    std::vector<std::thread> clients;
    for (unsigned c = 0; c < 3; ++c)
      clients.emplace_back(client, std::cref(a), std::cref(b), std::ref(t),
                           static_cast<unsigned>(round) * 7u + c, 60);
    if (round % 3 == 0) {  // join while the clients are still at it
      std::this_thread::sleep_for(std::chrono::microseconds(200));
      a.join();
      b.join();
    }
    for (auto& c : clients) c.join();
    a.join();
    b.join();
    if (round % 20 == 19)
      std::fprintf(stderr, "sched_fifo_workload: %d rounds, %ld operations\n", round + 1,
                   t.ops.load());
  }
  check(t.posted_ran.load() == t.posted.load(), "every accepted post ran");
  check(t.spawned_ran.load() == t.spawned.load(), "every accepted spawn finished");
  std::printf(
      "sched_fifo_workload %s: %d rounds, %ld operations (%ld refused by a join, %ld "
      "timed out), %d workers raised, %ld wrong\n",
      mode.c_str(), rounds, t.ops.load(), t.stopped.load(), t.timed_out.load(), raised.load(),
      g_wrong.load());
  return g_wrong.load() == 0 ? 0 : 1;
}
