// SPDX-License-Identifier: MIT
// A periodic "audio render" coroutine on a ste thread — the loop audio programmers
// write: wake every 10 ms on an absolute deadline, render one buffer, go back to sleep.
// It reports how late each wake-up was (jitter: min / median / p99 / max).
//
//   ./build/release/examples/ste_audio_render [periods]     (default 200 = 2 s)
//
// Why ste fits: the render state (phase, buffer) lives on one thread, so it needs no
// locks; sleep_until puts the thread to sleep in the kernel between periods (an idle
// audio thread costs nothing); other threads can still submit work to the same thread
// between periods (here: a volume change), and join() ends the loop cleanly — the
// pending sleep throws stopped_error inside the coroutine, so its cleanup runs on the
// thread.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <thread>
#include <vector>

#include <ste/ste.hpp>

namespace {

using clock_type = std::chrono::steady_clock;
constexpr auto kPeriod = std::chrono::milliseconds(10);
constexpr int kSampleRate = 48'000;
constexpr int kFrames = kSampleRate / 100;  // 10 ms of mono samples

struct render_state {
  std::vector<float> buffer = std::vector<float>(kFrames);
  double phase = 0.0;
  float volume = 0.5f;
  std::vector<double> lateness_us;  // how late each wake-up was
  int periods_wanted = 0;
  bool stopped_by_join = false;
};

// Renders a 440 Hz sine into the buffer (stands in for the real DSP work).
void render(render_state& s) {
  constexpr double kStep = 2.0 * 3.14159265358979323846 * 440.0 / kSampleRate;
  for (float& sample : s.buffer) {
    sample = s.volume * static_cast<float>(std::sin(s.phase));
    s.phase += kStep;
  }
  s.phase = std::fmod(s.phase, 2.0 * 3.14159265358979323846);
}

ste::task<void> render_loop(render_state& s) {
  auto deadline = clock_type::now() + kPeriod;
  try {
    for (int i = 0; i < s.periods_wanted; ++i) {
      co_await ste::sleep_until(deadline);  // the thread sleeps in the kernel meanwhile
      auto const late = clock_type::now() - deadline;
      s.lateness_us.push_back(std::chrono::duration<double, std::micro>(late).count());
      render(s);
      deadline += kPeriod;  // absolute deadlines: no drift from render time
    }
  } catch (ste::stopped_error const&) {
    s.stopped_by_join = true;  // join() started: clean up here, on the thread
  }
}

double percentile(std::vector<double> v, double p) {
  std::sort(v.begin(), v.end());
  auto const i = static_cast<std::size_t>(p * static_cast<double>(v.size() - 1) + 0.5);
  return v[i];
}

}  // namespace

int main(int argc, char** argv) {
  int const periods = argc > 1 ? std::atoi(argv[1]) : 200;
  if (periods <= 0) {
    std::fprintf(stderr, "usage: %s [periods > 0]\n", argv[0]);
    return 2;
  }
  render_state state;
  state.periods_wanted = periods;
  ste::thread audio = ste::builder().name("audio-render").build();

  ste::task<void> loop = render_loop(state);
  audio.spawn(std::move(loop));

  // Meanwhile another thread changes the volume: the change runs on the audio thread
  // between two periods, so the render state needs no lock.
  std::this_thread::sleep_for(kPeriod * (periods / 2));
  audio.submit([&] { state.volume = 0.25f; });

  // block_on a coroutine that waits until the loop rendered every period.
  audio.block_on([](render_state& s) -> ste::task<void> {
    while (static_cast<int>(s.lateness_us.size()) < s.periods_wanted)
      co_await ste::sleep_for(kPeriod);
  }(state));
  audio.join();

  auto const& late = state.lateness_us;
  std::printf("audio render loop: %zu periods of %lld ms on a ste thread (sleep_until)\n",
              late.size(), static_cast<long long>(kPeriod.count()));
  std::printf("wake-up lateness (µs): min %.1f  median %.1f  p99 %.1f  max %.1f\n",
              *std::min_element(late.begin(), late.end()), percentile(late, 0.5),
              percentile(late, 0.99), *std::max_element(late.begin(), late.end()));
  std::printf("volume at the end: %.2f (changed by submit from main mid-way)\n",
              static_cast<double>(state.volume));
  bool const ok = static_cast<int>(late.size()) == periods && state.volume == 0.25f;
  std::printf("%s\n", ok ? "OK" : "FAILED");
  return ok ? 0 : 1;
}
