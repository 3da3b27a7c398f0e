// SPDX-License-Identifier: MIT
// A std::execution (P2300, here NVIDIA's stdexec) pipeline with a ste thread in it.
//
// The picture: a thread pool measures blocks of audio (the RMS level of each block, pure
// work that may run anywhere), and a ste thread owns the meter's state — a plain struct
// with no lock, which only the ste thread ever touches. Senders move the results to the
// ste thread with continues_on, read the state there with starts_on, and a when_any
// gives up on a ste hand-off that is still queued behind a busy thread: the queued
// schedule is withdrawn and never runs.
//
//   ste_execution_pipeline [blocks]     (default 64; exits non-zero if anything is off)
//
// Built only with -DSTE_STDEXEC_INCLUDE=<stdexec checkout>/include (DEVELOPERS.md).
#include <atomic>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <thread>
#include <tuple>

#include <exec/static_thread_pool.hpp>
#include <exec/when_any.hpp>
#include <stdexec/execution.hpp>

#include "ste/execution.hpp"
#include "ste/ste.hpp"

namespace ex = stdexec;

namespace {

// The meter's state: owned by the ste thread; no lock, no atomics.
struct meter {
  std::thread::id owner;
  std::size_t blocks = 0;
  double peak_rms = 0.0;
  bool touched_elsewhere = false;

  void add(double rms) {
    touched_elsewhere |= std::this_thread::get_id() != owner;
    ++blocks;
    if (rms > peak_rms) peak_rms = rms;
  }
};

// Block i: a sine of amplitude (i + 1) / blocks. Its RMS is amplitude / sqrt(2).
double rms_of_block(std::size_t i, std::size_t blocks) {
  constexpr std::size_t frames = 256;
  double const amplitude = static_cast<double>(i + 1) / static_cast<double>(blocks);
  double sum = 0.0;
  for (std::size_t n = 0; n < frames; ++n) {
    double const s = amplitude * std::sin(2.0 * 3.14159265358979323846 * static_cast<double>(n) /
                                          static_cast<double>(frames));
    sum += s * s;
  }
  return std::sqrt(sum / static_cast<double>(frames));
}

int fail(char const* what) {
  std::fprintf(stderr, "execution_pipeline: FAILED: %s\n", what);
  return 1;
}

}  // namespace

int main(int argc, char** argv) {
  std::size_t const blocks = argc > 1 ? std::strtoul(argv[1], nullptr, 10) : 64;
  if (blocks == 0) return fail("blocks must be at least 1");

  exec::static_thread_pool pool(2);
  ste::thread audio = ste::builder().name("meter").build();
  ste::scheduler on_audio = ste::get_scheduler(audio);

  meter state;  // from here on, only the ste thread touches it
  ex::sync_wait(ex::starts_on(on_audio, ex::just() | ex::then([&] {
                                          state.owner = std::this_thread::get_id();
                                        })));

  // Measure each block on the pool, then fold it into the state on the ste thread.
  for (std::size_t i = 0; i < blocks; ++i) {
    auto one = ex::starts_on(pool.get_scheduler(),
                             ex::just(i) | ex::then([&](std::size_t b) {
                               return rms_of_block(b, blocks);
                             })) |
               ex::continues_on(on_audio) | ex::then([&](double rms) { state.add(rms); });
    ex::sync_wait(std::move(one));
  }

  // Read the state where it lives.
  auto [summary] =
      ex::sync_wait(ex::starts_on(on_audio, ex::just() | ex::then([&] {
                                              return std::tuple(state.blocks, state.peak_rms,
                                                                state.touched_elsewhere);
                                            })))
          .value();
  auto [count, peak, elsewhere] = summary;
  std::printf("execution_pipeline: %zu blocks metered on the ste thread, peak RMS %.4f\n",
              count, peak);
  if (count != blocks) return fail("a block was lost");
  if (elsewhere) return fail("the state was touched off its thread");
  if (std::fabs(peak - 1.0 / std::sqrt(2.0)) > 1e-9) return fail("wrong peak RMS");

  // The ste thread is busy (a long task); a reading that would queue behind it loses a
  // when_any against a fallback: its schedule is withdrawn and never runs.
  std::atomic<bool> busy{false}, release{false}, late_read_ran{false};
  audio.post([&] {
    busy = true;
    while (!release) std::this_thread::yield();
  });
  while (!busy) std::this_thread::yield();
  auto reading = exec::when_any(ex::schedule(on_audio) | ex::then([&] {
                                  late_read_ran = true;
                                  return std::string("live");
                                }),
                                ex::just(std::string("cached")));
  auto [source] = ex::sync_wait(std::move(reading)).value();
  release = true;
  audio.join();  // drains: had the withdrawn reading still been queued, it would run here
  std::printf("execution_pipeline: the busy thread's reading came from the %s value\n",
              source.c_str());
  if (source != "cached") return fail("when_any did not take the fallback");
  if (late_read_ran) return fail("the withdrawn schedule ran");

  // After join the scheduler still makes senders; they fail with ste::stopped_error.
  try {
    ex::sync_wait(ex::schedule(on_audio));
    return fail("a schedule after join completed");
  } catch (ste::stopped_error const& e) {
    std::printf("execution_pipeline: after join: %s\n", e.what());
  }
  std::printf("execution_pipeline: OK\n");
  return 0;
}
