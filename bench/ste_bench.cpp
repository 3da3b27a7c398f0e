// SPDX-License-Identifier: MIT
// ste_bench — Google Benchmark microbenchmarks of ste's hot paths. The peer comparison
// (ste against Asio, a condition-variable queue, the Rust crate's algorithm and the
// spinning floor) is ste_compare; see bench/README.md.
#include <benchmark/benchmark.h>

#include <barrier>
#include <cstdint>
#include <thread>
#include <vector>

#include "ste/ste.hpp"

namespace {

// submit of a counter increment from 1, 2, 4 or 8 submitter threads at once, each
// making kBatch round trips per iteration: an iteration is the wall time of one whole
// batch, so items_per_second is the true combined throughput and `round_trip` the mean
// round trip of one submitter. (Google Benchmark's own ->Threads(n) times each thread
// from when *it* starts running; on an oversubscribed machine the threads then take
// turns and the combined rate comes out several times too high.)
void submit_round_trip(benchmark::State& state) {
  constexpr int kBatch = 1000;
  auto const submitters = static_cast<int>(state.range(0));
  auto thread = ste::spawn();
  std::uint64_t count = 0;  // touched on the ste thread only
  std::barrier sync(submitters + 1);
  bool done = false;  // written before a barrier phase, read after it
  std::vector<std::thread> team;
  for (int i = 0; i < submitters; ++i) {
    team.emplace_back([&] {
      for (;;) {
        sync.arrive_and_wait();  // a batch starts (or the benchmark ends)
        if (done) return;
        for (int k = 0; k < kBatch; ++k) thread.submit([&count] { ++count; });
        sync.arrive_and_wait();  // the batch is done
      }
    });
  }
  for (auto _ : state) {
    sync.arrive_and_wait();
    sync.arrive_and_wait();
  }
  done = true;
  sync.arrive_and_wait();
  for (auto& t : team) t.join();
  auto const per_submitter = static_cast<double>(state.iterations()) * kBatch;
  state.SetItemsProcessed(state.iterations() * submitters * kBatch);
  state.counters["round_trip"] =
      benchmark::Counter(per_submitter, benchmark::Counter::kIsRate | benchmark::Counter::kInvert);
  benchmark::DoNotOptimize(thread.submit([&count] { return count; }));
}
BENCHMARK(submit_round_trip)
    ->ArgName("submitters")
    ->Arg(1)
    ->Arg(2)
    ->Arg(4)
    ->Arg(8)
    ->UseRealTime()
    ->Unit(benchmark::kMicrosecond);

// post of a counter increment, batched: each iteration posts `range(0)` tasks and then
// waits for all of them with one submit, so the time covers running them too.
void post_throughput(benchmark::State& state) {
  auto thread = ste::spawn();
  std::uint64_t count = 0;  // touched on the thread only
  auto const batch = state.range(0);
  for (auto _ : state) {
    for (std::int64_t i = 0; i < batch; ++i) thread.post([&count] { ++count; });
    thread.submit([] {});
  }
  state.SetItemsProcessed(state.iterations() * batch);
  benchmark::DoNotOptimize(thread.submit([&count] { return count; }));
}
BENCHMARK(post_throughput)->Arg(1)->Arg(64)->Arg(1024)->UseRealTime();

// submit on the thread itself runs the function inline: the cost of that check.
void submit_inline(benchmark::State& state) {
  auto thread = ste::spawn();
  thread.submit([&] {
    std::uint64_t n = 0;
    for (auto _ : state) thread.submit([&n] { ++n; });
    benchmark::DoNotOptimize(n);
  });
}
BENCHMARK(submit_inline)->UseRealTime();

// The state loops below run on the ste thread (inside one submit), so their CPU time is
// not the benchmark thread's: UseRealTime.
void tag_is_on_thread_on(benchmark::State& state) {
  auto thread = ste::spawn();
  ste::tag const tag = thread.tag();
  thread.submit([&] {
    for (auto _ : state) benchmark::DoNotOptimize(tag.is_on_thread());
  });
}
BENCHMARK(tag_is_on_thread_on)->UseRealTime();

void tag_is_on_thread_off(benchmark::State& state) {
  auto thread = ste::spawn();
  ste::tag const tag = thread.tag();
  for (auto _ : state) benchmark::DoNotOptimize(tag.is_on_thread());
}
BENCHMARK(tag_is_on_thread_off);

void tag_current_thread_on(benchmark::State& state) {
  auto thread = ste::spawn();
  thread.submit([&] {
    for (auto _ : state) benchmark::DoNotOptimize(ste::tag::current_thread());
  });
}
BENCHMARK(tag_current_thread_on)->UseRealTime();

void tag_ensure_on_thread_on(benchmark::State& state) {
  auto thread = ste::spawn();
  ste::tag const tag = thread.tag();
  thread.submit([&] {
    for (auto _ : state) tag.ensure_on_thread();
  });
}
BENCHMARK(tag_ensure_on_thread_on)->UseRealTime();

// spawn + join of a ste thread against a bare std::thread create + join.
void spawn_join(benchmark::State& state) {
  for (auto _ : state) {
    auto thread = ste::spawn();
    thread.join();
  }
}
BENCHMARK(spawn_join)->UseRealTime();

void std_thread_create_join(benchmark::State& state) {
  for (auto _ : state) {
    std::thread thread([] {});
    thread.join();
  }
}
BENCHMARK(std_thread_create_join)->UseRealTime();

}  // namespace

BENCHMARK_MAIN();
