// SPDX-License-Identifier: MIT
// ALSA on a ste thread: one second of a three-note sine chord, played from the main
// thread through `submit`.
//
//   ./build/release/examples/ste_alsa            # the "null" PCM: no sound card needed
//   ./build/release/examples/ste_alsa default    # your real sound card: you hear it
//
// Why ste fits. An ALSA PCM handle (snd_pcm_t*) is not meant to be shared between
// threads without your own locking, and audio code usually wants one dedicated thread
// for the device anyway. Here:
//   - the PCM is opened, configured, written, drained and closed on one ste thread,
//     named "audio", which runs with real-time scheduling when the OS allows it
//     (SCHED_FIFO, asked with realtime({.required = false}): otherwise it falls back to
//     normal scheduling, and the program says which it got);
//   - the snd_pcm_t* lives inside a ste::bound<pcm>, so every access is checked to
//     happen on that thread (anywhere else it throws ste::wrong_thread) and the handle
//     is closed there too, by the bound's destructor;
//   - the main thread renders the chord into a buffer on its own stack and hands each
//     buffer over with `submit`, which blocks until the audio thread wrote it, so the
//     lambda may borrow the buffer by reference and nothing is allocated per buffer;
//   - an ALSA error on the audio thread comes back to the main thread as the very
//     exception thrown there.
//
// The program checks what it claims and exits non-zero if any check fails (it is run
// by CTest under the label `example`). Note: the "null" PCM accepts audio as fast as it
// is written (one second takes ~10 ms here); a real device paces the writes.
#include <alsa/asoundlib.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <span>
#include <stdexcept>
#include <string>

#include <ste/ste.hpp>

namespace {

constexpr unsigned kRate = 48'000;                 // frames per second
constexpr unsigned kChannels = 2;                  // interleaved stereo, S16_LE
constexpr std::size_t kBlockFrames = 480;          // 10 ms per submit
constexpr std::size_t kBlocks = kRate / kBlockFrames;  // one second in all
constexpr double kPi = 3.14159265358979323846;

int g_failures = 0;

// Like assert, but also in release builds, and it keeps going to report every failure.
void check(bool ok, char const* what) {
  std::printf("  [%s] %s\n", ok ? " ok " : "FAIL", what);
  if (!ok) ++g_failures;
}

// An ALSA error code turned into an exception: what failed, and ALSA's own words.
struct alsa_error : std::runtime_error {
  alsa_error(char const* call, int rc)
      : std::runtime_error(std::string(call) + " failed: " + snd_strerror(rc)), code(rc) {}
  int code;
};

// What the audio thread reports back about the PCM's life. Written on the audio thread;
// the main thread reads it only after submit/reset returned, which orders the accesses.
struct pcm_report {
  std::size_t writes = 0;             // calls of pcm::write
  std::size_t writes_off_thread = 0;  // ...of which not on the owning thread (must be 0)
  bool closed = false;
  bool closed_on_owner_thread = false;
};

// The thread-affine resource: an open, configured ALSA playback PCM. Plain RAII: the
// constructor opens it and the destructor closes it. Made with make_bound, both run on
// the ste thread. (Copying would close the handle twice, so copies are forbidden.)
class pcm {
 public:
  pcm(char const* device, pcm_report& report)
      : owner_(ste::tag::current_thread()), report_(report) {
    if (int rc = snd_pcm_open(&handle_, device, SND_PCM_STREAM_PLAYBACK, 0); rc < 0)
      throw alsa_error("snd_pcm_open", rc);
    // 16-bit stereo at 48 kHz, interleaved, with ALSA allowed to resample, and 100 ms of
    // device buffer: the one-call configuration, enough for an example.
    if (int rc = snd_pcm_set_params(handle_, SND_PCM_FORMAT_S16_LE,
                                    SND_PCM_ACCESS_RW_INTERLEAVED, kChannels, kRate,
                                    /*soft_resample=*/1, /*latency_us=*/100'000);
        rc < 0) {
      snd_pcm_close(handle_);
      throw alsa_error("snd_pcm_set_params", rc);
    }
  }
  pcm(pcm const&) = delete;
  pcm& operator=(pcm const&) = delete;

  ~pcm() {
    report_.closed = true;
    report_.closed_on_owner_thread = owner_.is_on_thread();
    snd_pcm_close(handle_);
  }

  // Writes interleaved frames, recovering from an underrun (EPIPE) the usual way.
  // Returns the number of frames written.
  std::size_t write(std::span<std::int16_t const> samples) {
    ++report_.writes;
    if (!owner_.is_on_thread()) ++report_.writes_off_thread;
    std::size_t frames = samples.size() / kChannels;
    std::size_t done = 0;
    while (done < frames) {
      snd_pcm_sframes_t n = snd_pcm_writei(handle_, samples.data() + done * kChannels,
                                           frames - done);
      if (n < 0) n = snd_pcm_recover(handle_, static_cast<int>(n), /*silent=*/1);
      if (n < 0) throw alsa_error("snd_pcm_writei", static_cast<int>(n));
      done += static_cast<std::size_t>(n);
    }
    return done;
  }

  // Blocks until the device played everything written so far.
  void drain() {
    if (int rc = snd_pcm_drain(handle_); rc < 0) throw alsa_error("snd_pcm_drain", rc);
  }

  snd_pcm_state_t state() const { return snd_pcm_state(handle_); }

 private:
  snd_pcm_t* handle_ = nullptr;
  ste::tag owner_;  // the thread that opened it: the only one allowed to touch it
  pcm_report& report_;
};

// The chord: A major (A4, C#5, E5). Renders `frames` frames starting at frame `start`
// into interleaved stereo, with a 10 ms fade in and out so a real device does not click.
void render_chord(std::span<std::int16_t> out, std::size_t start) {
  constexpr std::array<double, 3> kNotes{440.00, 554.37, 659.25};
  constexpr double kFade = kRate / 100.0;
  std::size_t const frames = out.size() / kChannels;
  for (std::size_t i = 0; i < frames; ++i) {
    double const t = static_cast<double>(start + i);
    double sample = 0.0;
    for (double f : kNotes) sample += 0.25 * std::sin(2.0 * kPi * f * t / kRate);
    double const from_end = static_cast<double>(kRate) - 1.0 - t;
    double const gain = std::min({1.0, t / kFade, from_end / kFade});
    auto const s = static_cast<std::int16_t>(std::lround(sample * gain * 32767.0));
    for (unsigned c = 0; c < kChannels; ++c) out[i * kChannels + c] = s;
  }
}

// ALSA prints its own diagnostics to stderr; silence them while we provoke an error on
// purpose (the exception carries the message anyway).
void quiet_alsa(char const*, int, char const*, int, char const*, ...) {}

}  // namespace

int main(int argc, char** argv) {
  char const* const device = argc > 1 ? argv[1] : "null";
  std::printf("ste ALSA example: 1 s of an A major chord on PCM \"%s\"\n", device);

  // 1. The audio thread. Nothing ALSA-specific is needed to start it. It asks for
  //    real-time scheduling (SCHED_FIFO at ste's audio default, 88) before anything runs
  //    on it; `.required = false` means: if the OS refuses (no RLIMIT_RTPRIO, no
  //    CAP_SYS_NICE), run anyway with normal scheduling instead of failing.
  ste::thread audio = ste::builder().name("audio").realtime({.required = false}).build();
  std::printf("  the audio thread runs with %s scheduling\n",
              audio.is_realtime() ? "real-time (SCHED_FIFO 88)" : "normal (real-time refused)");

  // 2. Open and configure the PCM *on* the audio thread: make_bound constructs the pcm
  //    there (blocking, like submit) and hands back a handle that confines it there.
  pcm_report report;
  ste::bound<pcm> out = audio.make_bound<pcm>(device, report);
  check(out.tag() == audio.tag(), "the PCM belongs to the audio thread");

  // 3. Play: the main thread renders each 10 ms block into a buffer on its own stack,
  //    and submit hands the block over. The lambda borrows `block` by reference; submit
  //    returns only once the audio thread wrote it, so the buffer can be reused at once.
  std::array<std::int16_t, kBlockFrames * kChannels> block{};
  std::size_t frames_written = 0;
  for (std::size_t b = 0; b < kBlocks; ++b) {
    render_chord(block, b * kBlockFrames);
    frames_written += audio.submit([&] { return out->write(block); });
  }
  audio.submit([&] { out->drain(); });
  check(frames_written == kRate, "48000 frames (one second) were written");
  check(report.writes == kBlocks, "one write per submitted block");
  check(report.writes_off_thread == 0, "every write ran on the audio thread");
  snd_pcm_state_t const state = audio.submit([&] { return out->state(); });
  std::printf("  PCM state after drain: %s\n", snd_pcm_state_name(state));
  check(state == SND_PCM_STATE_SETUP, "the drained PCM is back in the SETUP state");

  // 4. The handle refuses to be used anywhere but on its thread.
  bool refused = false;
  try {
    (void)out->state();  // on the main thread: not allowed
  } catch (ste::wrong_thread const& e) {
    refused = true;
    std::printf("  off the audio thread, out-> threw ste::wrong_thread:\n    %s\n", e.what());
  }
  check(refused, "using the PCM from the main thread throws ste::wrong_thread");

  // 5. Errors come back: opening a device that does not exist fails inside the pcm
  //    constructor on the audio thread, and the same exception reaches us here.
  pcm_report unused;
  bool came_back = false;
  snd_lib_error_set_handler(&quiet_alsa);
  try {
    (void)audio.make_bound<pcm>("ste-no-such-device", unused);
  } catch (alsa_error const& e) {
    came_back = e.code < 0;
    std::printf("  opening a missing device threw, as expected: %s\n", e.what());
  }
  snd_lib_error_set_handler(nullptr);
  check(came_back, "an ALSA error on the audio thread is rethrown on the main thread");

  // 6. Close the PCM: reset() destroys the pcm on its own thread (a blocking hand-off).
  //    Forgetting this would be fine too: audio.join() destroys what bound handles still
  //    hold, on the thread, before the thread exits.
  out.reset();
  check(report.closed && report.closed_on_owner_thread,
        "the PCM was closed on the audio thread");
  audio.join();

  std::printf("%s\n", g_failures == 0 ? "OK" : "FAILED");
  return g_failures == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
