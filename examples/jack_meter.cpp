// SPDX-License-Identifier: MIT
// A real JACK client: a peak meter. JACK's real-time process callback measures the
// level of the client's input and hands it to a ste thread with `notifier.notify()` —
// no lock, no allocation, no blocking call on the real-time thread.
//
//   jackd -R -P 70 -n demo -d dummy -r 48000 -p 128 &   # a JACK server, no sound card
//   ./build/release/examples/ste_jack_meter --server demo 2000   # 2000 periods ≈ 5.3 s
//
// Without --server it uses JACK's default server ($JACK_DEFAULT_SERVER or "default");
// it never starts one. Under CTest, examples/jack_fixture.sh starts a private server.
//
// The signal path. The dummy backend has no real input, so the client makes its own:
// its process callback writes a 1 kHz sine (amplitude 0.5, -6 dBFS) to its output port
// "out", and jack_connect wires "out" to its own input port "in". Each period the
// callback first meters "in" (which carries the previous period's "out"), then renders
// the next period into "out". What is metered really went through JACK's graph.
//
// Who does what:
//   - JACK's process thread (SCHED_FIFO, created by libjack, not by this program) runs
//     on_process() once per period. It only touches the input and output buffers, its
//     own oscillator state, and a few lock-free atomics in `rt_shared`; then it calls
//     notifier.notify(), which takes no lock, allocates nothing and never blocks (at
//     most one wake-up system call, when the meter thread sleeps).
//   - The ste thread "meter" owns the meter state (a ste::bound<level_meter>: every
//     access is checked to happen on that thread). The notifier's function runs there:
//     it takes the peak since its last run, keeps the maximum, prints a meter line
//     twice a second and counts its runs. Notifies that arrive while a run is pending
//     are coalesced into it, so there are usually fewer runs than notifies — and no
//     peak is lost, because the slot keeps the maximum until the meter takes it.
//   - The main thread sets everything up, waits until the meter has seen the number of
//     periods asked for, closes the client, then checks what happened.
//
// Checks (the program exits non-zero when one fails; xruns are counted, never checked:
// the dummy backend reports some whenever the machine is busy):
//   (a) the notifier ran at least once, and at most once per accepted notify;
//   (b) every notify() from the process callback returned true (the thread ran all along);
//   (c) every run of the notifier's function was on the meter thread (tag.is_on_thread());
//   (d) the measured peak is the generated amplitude (within 1 %);
//   (e) JACK ran the callback for every period asked for, and the meter's last run saw
//       the last period: notify() promises a run that starts after the call began.
//
// ste_jack_meter_rt is this program built a second time with STE_JACK_METER_RT_CHECK
// (examples/CMakeLists.txt): ste's real-time checker (tests/realtime_checker.hpp)
// counts what the process callback calls, and the program fails unless there is no
// allocation, lock, wait or system call there but at most one wake-up per notify. A
// program of its own because the checker replaces malloc, operator new and the pthread
// locks for the whole process. The three `#ifdef STE_JACK_METER_RT_CHECK` blocks below
// are all it adds.
#include <jack/jack.h>
#include <jack/thread.h>  // jack_client_real_time_priority

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <future>
#include <memory>
#include <string>
#include <thread>

#include <ste/ste.hpp>

#ifdef STE_JACK_METER_RT_CHECK  // ste_jack_meter_rt only (see the top of this file)
#include "realtime_checker.hpp"
namespace {
// Counts every call made on JACK's process thread inside on_process (a watch per call).
ste_test::rt_checker g_rt_checker;
}  // namespace
#endif

namespace {

constexpr double kPi = 3.14159265358979323846;
constexpr float kAmplitude = 0.5f;  // the generated sine's peak: -6.0 dBFS
constexpr double kFrequency = 1000.0;

int g_failures = 0;

// Like assert, but also in release builds, and it keeps going to report every failure.
void check(bool ok, char const* what) {
  std::printf("  [%s] %s\n", ok ? " ok " : "FAIL", what);
  if (!ok) ++g_failures;
}

double to_dbfs(float peak) {
  return peak > 0.0f ? 20.0 * std::log10(static_cast<double>(peak)) : -INFINITY;
}

// The process callback's atomics must never fall back to a hidden lock.
static_assert(std::atomic<float>::is_always_lock_free);
static_assert(std::atomic<std::uint64_t>::is_always_lock_free);

// Everything the real-time side shares with other threads. Written before
// jack_activate (which starts JACK's threads, so those writes are visible there), then:
struct rt_shared {
  // The lock-free slot: the highest |sample| seen since the meter last took it.
  // Raised by the process callback (compare-exchange), emptied by the meter (exchange).
  std::atomic<float> peak{0.0f};
  // Written by the process callback only; read by the meter and, at the end, by main.
  std::atomic<std::uint64_t> callbacks{0};
  std::atomic<std::uint64_t> frames{0};
  // Counted by every caller of notify(): the process callback and the shutdown callback.
  std::atomic<std::uint64_t> notifies_accepted{0};
  std::atomic<std::uint64_t> notifies_refused{0};
  // Written by libjack's other threads (xrun and shutdown notifications).
  std::atomic<std::uint64_t> xruns{0};
  std::atomic<bool> server_gone{false};

  // Set once before jack_activate, never changed while JACK's threads run.
  ste::notifier notifier;
  jack_port_t* in = nullptr;
  jack_port_t* out = nullptr;

  // The oscillator: touched by the process callback only.
  double phase = 0.0;
  double phase_step = 0.0;  // 2π·f / sample rate
};

// Calls notify() and counts its answer. Lock-free, allocation-free, never blocks: safe in
// the process callback and in JACK's async-signal-like shutdown callback.
void notify_meter(rt_shared& s) noexcept {
  if (s.notifier.notify())
    s.notifies_accepted.fetch_add(1, std::memory_order_relaxed);
  else
    s.notifies_refused.fetch_add(1, std::memory_order_relaxed);
}

// JACK's process callback, on its SCHED_FIFO thread, once per period. The rules of that
// thread: no lock, no allocation, no system call that can block, no I/O. Everything
// below is arithmetic on the two port buffers and atomics on rt_shared.
int on_process(jack_nframes_t nframes, void* arg) {
#ifdef STE_JACK_METER_RT_CHECK  // ste_jack_meter_rt: count this call's calls, all of them:
  // ste's notify() and libjack's jack_port_get_buffer (which calls nothing counted).
  // The watch only sets a thread_local pointer of the executable (static TLS, no lazy
  // initialisation): it neither allocates nor locks.
  auto const rt_watching = g_rt_checker.watch_this_thread();
#endif
  rt_shared& s = *static_cast<rt_shared*>(arg);
  auto const* in = static_cast<float const*>(jack_port_get_buffer(s.in, nframes));
  auto* out = static_cast<float*>(jack_port_get_buffer(s.out, nframes));

  // 1. Meter the input first: with "out" connected to "in", JACK may hand both ports
  //    the same buffer, and "in" must be read before "out" is overwritten.
  float peak = 0.0f;
  for (jack_nframes_t i = 0; i < nframes; ++i) peak = std::max(peak, std::fabs(in[i]));

  // 2. Render the next period of the sine into the output.
  for (jack_nframes_t i = 0; i < nframes; ++i) {
    out[i] = kAmplitude * static_cast<float>(std::sin(s.phase));
    s.phase += s.phase_step;
    if (s.phase >= 2.0 * kPi) s.phase -= 2.0 * kPi;
  }

  // 3. Publish: raise the slot to this period's peak unless it already holds a higher
  //    one. It retries only when the meter emptied the slot in between (or on a
  //    spurious failure of the weak CAS): lock-free. release: pairs with the meter's
  //    acquire.
  float held = s.peak.load(std::memory_order_relaxed);
  while (peak > held &&
         !s.peak.compare_exchange_weak(held, peak, std::memory_order_release,
                                       std::memory_order_relaxed)) {
  }
  s.frames.fetch_add(nframes, std::memory_order_relaxed);
  s.callbacks.fetch_add(1, std::memory_order_release);

  // 4. Wake the meter thread (or coalesce into its pending run).
  notify_meter(s);
  return 0;
}

// Called by libjack (from its notification thread) after each xrun the server reports.
int on_xrun(void* arg) {
  static_cast<rt_shared*>(arg)->xruns.fetch_add(1, std::memory_order_relaxed);
  return 0;
}

// Called by libjack when the server goes away while the client is open. JACK says to
// treat it like a signal handler; an atomic store and notify() are fine there.
void on_shutdown(jack_status_t, char const* reason, void* arg) {
  rt_shared& s = *static_cast<rt_shared*>(arg);
  s.server_gone.store(true, std::memory_order_release);
  notify_meter(s);
  (void)reason;  // printing it here would not be async-signal-safe
}

// What the meter reports when asked, on its thread.
struct meter_report {
  std::uint64_t runs = 0;
  std::uint64_t runs_on_thread = 0;  // runs during which meter_tag.is_on_thread() held
  float max_peak = 0.0f;             // the highest peak any run took from the slot
  std::uint64_t callbacks_seen = 0;  // rt_shared::callbacks as of the last run
};

// The meter's state. Constructed, used and destroyed on the meter thread only (it lives
// in a ste::bound), so none of it needs a lock or an atomic.
class level_meter {
 public:
  level_meter(rt_shared const& shared, std::uint64_t periods_wanted, double sample_rate)
      : shared_(shared),
        periods_wanted_(periods_wanted),
        print_every_frames_(static_cast<std::uint64_t>(sample_rate / 2)),  // 0.5 s
        sample_rate_(sample_rate) {}

  // Called by the notifier's function, on the meter thread, once for one or more
  // notifies, with the peak it took from the slot.
  void on_notify(float peak, ste::tag meter_tag) {
    ++report_.runs;
    if (meter_tag.is_on_thread()) ++report_.runs_on_thread;
    report_.callbacks_seen = shared_.callbacks.load(std::memory_order_acquire);
    std::uint64_t const frames = shared_.frames.load(std::memory_order_relaxed);
    report_.max_peak = std::max(report_.max_peak, peak);
    window_peak_ = std::max(window_peak_, peak);

    if (frames >= next_print_frames_) {  // a meter line twice a second of audio
      print_line(frames);
      next_print_frames_ = frames + print_every_frames_;
      window_peak_ = 0.0f;
    }
    // Tell main once: when enough periods went through, or when the server went away.
    bool const enough = report_.callbacks_seen >= periods_wanted_;
    if (!told_main_ && (enough || shared_.server_gone.load(std::memory_order_acquire))) {
      told_main_ = true;
      done_.set_value();  // not real-time code: this thread may take the promise's lock
    }
  }

  std::future<void> done() { return done_.get_future(); }
  meter_report report() const { return report_; }

 private:
  void print_line(std::uint64_t frames) const {
    constexpr int kWidth = 40;  // one '#' per 1.5 dB, from -60 dBFS to 0 dBFS
    double const db = to_dbfs(window_peak_);
    int const bars = std::clamp(static_cast<int>((db + 60.0) / 60.0 * kWidth), 0, kWidth);
    char bar[kWidth + 1];
    for (int i = 0; i < kWidth; ++i) bar[i] = i < bars ? '#' : ' ';
    bar[kWidth] = '\0';
    std::printf("  %5.1f s  %6.1f dBFS  |%s|  runs %llu, callbacks %llu\n",
                static_cast<double>(frames) / sample_rate_, db, bar,
                static_cast<unsigned long long>(report_.runs),
                static_cast<unsigned long long>(report_.callbacks_seen));
    std::fflush(stdout);
  }

  rt_shared const& shared_;
  std::uint64_t const periods_wanted_;
  std::uint64_t const print_every_frames_;
  double const sample_rate_;
  std::uint64_t next_print_frames_ = print_every_frames_;
  float window_peak_ = 0.0f;  // the highest peak since the last printed line
  meter_report report_;
  std::promise<void> done_;
  bool told_main_ = false;
};

// jack_client_close for a std::unique_ptr, so that an early return closes the client.
struct jack_client_closer {
  void operator()(jack_client_t* c) const noexcept { jack_client_close(c); }
};
using jack_client_ptr = std::unique_ptr<jack_client_t, jack_client_closer>;

// libjack prints its errors to stderr itself; prefix them so they are easy to spot.
void on_jack_error(char const* message) { std::fprintf(stderr, "  libjack: %s\n", message); }

int usage(char const* argv0) {
  std::fprintf(stderr, "usage: %s [--server NAME] [periods > 0, default 2000]\n", argv0);
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  char const* server = nullptr;  // nullptr: JACK's default server
  std::uint64_t periods = 2000;
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--server") == 0 && i + 1 < argc) {
      server = argv[++i];
    } else {
      char* end = nullptr;
      long long const n = std::strtoll(argv[i], &end, 10);
      if (end == argv[i] || *end != '\0' || n <= 0) return usage(argv[0]);
      periods = static_cast<std::uint64_t>(n);
    }
  }
  jack_set_error_function(&on_jack_error);

  // 1. The meter thread. It asks for SCHED_FIFO 60: below JACK's process thread (65
  //    under `jackd -P 70`), so that printing a meter line can never delay the audio.
  //    `.required = false`: without the right to real-time scheduling, it runs anyway.
  ste::thread meter_thread =
      ste::builder().name("meter").realtime({.priority = 60, .required = false}).build();
  ste::tag const meter_tag = meter_thread.tag();

  // 2. The state shared with JACK's threads. Declared before the client, so that it
  //    outlives the client on every path out of main.
  rt_shared shared;

  // 3. Open a client of a running server. JackNoStartServer: never start one behind
  //    the user's back; the server must be up already (the CTest fixture waits for it).
  jack_status_t status{};
  int const options = JackNoStartServer | (server != nullptr ? JackServerName : 0);
  jack_client_ptr client(
      jack_client_open("ste_meter", static_cast<jack_options_t>(options), &status, server));
  if (!client) {
    std::fprintf(stderr, "ste_jack_meter: cannot open a client of JACK server \"%s\" "
                         "(status 0x%x%s). Is one running? For example:\n"
                         "  jackd -R -P 70 -n demo -d dummy -r 48000 -p 128 &\n"
                         "  %s --server demo\n",
                 server != nullptr ? server : "default", static_cast<unsigned>(status),
                 (status & JackServerFailed) != 0 ? ", JackServerFailed: no such server" : "",
                 argv[0]);
    return EXIT_FAILURE;
  }
  double const rate = jack_get_sample_rate(client.get());
  jack_nframes_t const period_frames = jack_get_buffer_size(client.get());
  std::printf("ste JACK meter: client \"%s\" of server \"%s\", %.0f Hz, %u frames per "
              "period, %llu periods (%.1f s)\n",
              jack_get_client_name(client.get()), server != nullptr ? server : "default",
              rate, period_frames, static_cast<unsigned long long>(periods),
              static_cast<double>(periods) * period_frames / rate);
  std::printf("  the meter thread runs with %s scheduling\n",
              meter_thread.is_realtime() ? "real-time (SCHED_FIFO 60)"
                                         : "normal (real-time refused)");

  // 4. The ports, the meter and the notifier — all before jack_activate, so that the
  //    process callback never sees them half made.
  shared.phase_step = 2.0 * kPi * kFrequency / rate;
  shared.in = jack_port_register(client.get(), "in", JACK_DEFAULT_AUDIO_TYPE,
                                 JackPortIsInput, 0);
  shared.out = jack_port_register(client.get(), "out", JACK_DEFAULT_AUDIO_TYPE,
                                  JackPortIsOutput, 0);
  if (shared.in == nullptr || shared.out == nullptr) {
    std::fprintf(stderr, "ste_jack_meter: jack_port_register failed\n");
    return EXIT_FAILURE;
  }
  ste::bound<level_meter> meter =
      meter_thread.make_bound<level_meter>(shared, periods, rate);  // made on its thread
  std::future<void> enough =
      meter_thread.submit([&] { return meter->done(); });  // meter's members: there only
  // The notifier's function runs on the meter thread. make_notifier allocates its one
  // block here, never later on JACK's thread.
  shared.notifier = meter_thread.make_notifier([&] {
    // The peak since the last run; none is lost, the slot kept the maximum. acquire:
    // pairs with the process callback's release (the counts read next are as new).
    float const peak = shared.peak.exchange(0.0f, std::memory_order_acquire);
    meter->on_notify(peak, meter_tag);  // meter->: checked to be on the meter thread
  });

  jack_set_process_callback(client.get(), &on_process, &shared);
  jack_set_xrun_callback(client.get(), &on_xrun, &shared);
  jack_on_info_shutdown(client.get(), &on_shutdown, &shared);

  // 5. Go: JACK starts calling on_process. Then wire out -> in through the server.
  if (int rc = jack_activate(client.get()); rc != 0) {
    std::fprintf(stderr, "ste_jack_meter: jack_activate failed (%d)\n", rc);
    return EXIT_FAILURE;
  }
  std::printf("  JACK's process thread is %s (priority %d)\n",
              jack_is_realtime(client.get()) != 0 ? "real-time" : "not real-time",
              jack_client_real_time_priority(client.get()));
  std::string const out_name = jack_port_name(shared.out);
  std::string const in_name = jack_port_name(shared.in);
  int const connected = jack_connect(client.get(), out_name.c_str(), in_name.c_str());
  check(connected == 0, "jack_connect wired the client's output to its own input");
  std::printf("  %s -> %s: a %.0f Hz sine at %.2f (%.1f dBFS)\n", out_name.c_str(),
              in_name.c_str(), kFrequency, static_cast<double>(kAmplitude),
              to_dbfs(kAmplitude));

  // 6. Wait until the meter has seen `periods` callbacks. The bound is generous (ten
  //    times the audio time, plus 30 s) and only there so that a server that stops
  //    running the client makes the program fail instead of hang.
  auto const guard = std::chrono::duration<double>(
      30.0 + 10.0 * static_cast<double>(periods) * period_frames / rate);
  bool const finished = enough.wait_for(guard) == std::future_status::ready;
  check(finished, "the meter saw every period asked for (or the server went away)");
  check(!shared.server_gone.load(), "the JACK server stayed up");

  // 7. Shut down in dependency order: once jack_client_close returns, JACK calls none
  //    of our callbacks any more, so `callbacks` is final. The last callback counted
  //    itself before its notify(), which was accepted, so a run starts after it and
  //    reads the final count: wait (bounded) until the meter has seen it. Then reset()
  //    withdraws a pending run (or waits for one in progress) and destroys the
  //    notifier's function on the meter thread; then the meter's final report, and the
  //    meter thread is joined.
  client.reset();
  std::uint64_t const callbacks = shared.callbacks.load(std::memory_order_acquire);
  auto const seen_by_meter = [&] {
    return meter_thread.submit([&] { return meter->report().callbacks_seen; });
  };
  for (auto const give_up = std::chrono::steady_clock::now() + std::chrono::seconds(10);
       seen_by_meter() != callbacks && std::chrono::steady_clock::now() < give_up;)
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  shared.notifier.reset();
  meter_report const r = meter_thread.submit([&] { return meter->report(); });
  meter.reset();
  meter_thread.join();

  std::uint64_t const accepted = shared.notifies_accepted.load();
  std::uint64_t const refused = shared.notifies_refused.load();
  std::printf("  callbacks %llu, notifies accepted %llu (refused %llu), runs %llu "
              "(%llu notifies coalesced), xruns %llu\n",
              static_cast<unsigned long long>(callbacks),
              static_cast<unsigned long long>(accepted),
              static_cast<unsigned long long>(refused),
              static_cast<unsigned long long>(r.runs),
              static_cast<unsigned long long>(accepted - std::min(accepted, r.runs)),
              static_cast<unsigned long long>(shared.xruns.load()));
  std::printf("  peak measured %.4f (%.2f dBFS), generated %.4f\n",
              static_cast<double>(r.max_peak), to_dbfs(r.max_peak),
              static_cast<double>(kAmplitude));

  check(callbacks >= periods, "(e) JACK ran the process callback for every period asked for");
  check(r.runs >= 1 && r.runs <= accepted,
        "(a) the notifier ran at least once, and at most once per accepted notify");
  std::uint64_t const from_shutdown = shared.server_gone.load() ? 1 : 0;
  check(refused == 0 && accepted == callbacks + from_shutdown,
        "(b) every notify() from the process callback returned true");
  check(r.runs_on_thread == r.runs, "(c) every run was on the meter thread");
  check(std::fabs(r.max_peak - kAmplitude) <= 0.01f * kAmplitude,
        "(d) the measured peak is the generated amplitude (within 1 %)");
  std::printf("  the meter's last run saw callback %llu of %llu\n",
              static_cast<unsigned long long>(r.callbacks_seen),
              static_cast<unsigned long long>(callbacks));
  check(r.callbacks_seen == callbacks,
        "(e) the last notify was seen: the meter's last run came after the last callback");

#ifdef STE_JACK_METER_RT_CHECK  // ste_jack_meter_rt: what on_process called, summed
  // over every callback (JACK's thread is gone: jack_client_close joined it).
  ste_test::rt_counts const c = g_rt_checker.counts();
  std::printf("  real-time checker, inside on_process (%llu callbacks): allocations %llu, "
              "frees %llu, mutex_locks %llu, cond_waits %llu, blocking_waits %llu, "
              "wakes %llu, yields %llu, other_syscalls %llu\n",
              static_cast<unsigned long long>(callbacks),
              static_cast<unsigned long long>(c.allocations),
              static_cast<unsigned long long>(c.frees),
              static_cast<unsigned long long>(c.mutex_locks),
              static_cast<unsigned long long>(c.cond_waits),
              static_cast<unsigned long long>(c.blocking_waits()),
              static_cast<unsigned long long>(c.wakes),
              static_cast<unsigned long long>(c.yields),
              static_cast<unsigned long long>(c.other_syscalls));
  check(ste_test::rt_checker::interposition_works(),
        "(rt) the checker's definitions are the ones the program calls");
  check(c.allocations == 0 && c.frees == 0, "(rt) no allocation, no free");
  check(c.mutex_locks == 0 && c.cond_waits == 0, "(rt) no lock, no condition-variable wait");
  check(c.blocking_waits() == 0, "(rt) no blocking call (futex wait, sleep, poll, read, ...)");
  check(c.yields == 0 && c.other_syscalls == 0, "(rt) no yield, no other system call");
  check(c.wakes <= accepted, "(rt) at most one wake-up call per accepted notify");
#endif

  std::printf("%s\n", g_failures == 0 ? "OK" : "FAILED");
  return g_failures == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
