// ste_bench — Google Benchmark microbenchmarks of ste's hot paths. The peer comparison
// (ste against Asio, a condition-variable queue, the Rust crate's algorithm and the
// spinning floor) is ste_compare; see bench/README.md.
#include <benchmark/benchmark.h>

#include <cstdint>
#include <thread>

#include "ste/ste.hpp"

namespace {

// One ste thread shared by every benchmark thread of a multi-submitter run. It lives
// until exit: Google Benchmark starts and stops its own threads per run, and a ste
// thread joined in between would make the next run's submits throw stopped_error.
ste::thread const& shared_thread() {
  static ste::thread const thread = ste::builder().name("bench-shared").build();
  return thread;
}

std::uint64_t shared_count = 0;  // touched on shared_thread() only

// submit of a counter increment: the blocking round trip, from 1..8 threads at once.
// Time is wall-clock per round trip of one submitter; items/s counts all submitters.
void submit_round_trip(benchmark::State& state) {
  ste::thread const& thread = shared_thread();
  for (auto _ : state) thread.submit([] { ++shared_count; });
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(submit_round_trip)->ThreadRange(1, 8)->UseRealTime();

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
