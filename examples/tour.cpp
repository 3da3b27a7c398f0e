// SPDX-License-Identifier: MIT
// A tour of ste: the main job of the README. It starts a background thread, hands it
// work in every way ste offers, and prints what happens.
//
//   cmake --workflow --preset release && ./build/release/examples/ste_tour
#include <chrono>
#include <cstdio>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include <ste/ste.hpp>

namespace {

// A value that must only be used on the thread that created it, like an ALSA PCM or a
// COM object: it remembers its thread's tag and checks every use.
class affine_counter {
 public:
  affine_counter() : tag_(ste::tag::current_thread()) {}
  int bump() {
    tag_.ensure_on_thread();  // throws ste::wrong_thread anywhere else
    return ++count_;
  }

 private:
  ste::tag tag_;
  int count_ = 0;
};

}  // namespace

int main() {
  // 1. A named background thread, with a prelude and a postlude that run on it.
  ste::thread audio = ste::builder()
                          .name("audio")
                          .prelude([] { std::puts("[audio] prelude: thread started"); })
                          .postlude([] { std::puts("[audio] postlude: thread exiting"); })
                          .build();

  // 2. submit blocks until the task ran there, so it may borrow our locals; nothing is
  //    allocated: the task record lives in this stack frame.
  int n = 10;
  audio.submit([&] { n += 10; });
  std::printf("[main ] submit: n is now %d (borrowed by reference)\n", n);

  // 3. Results come back by value.
  std::string where = audio.submit([] { return std::string("computed on the ste thread"); });
  std::printf("[main ] submit returned: \"%s\"\n", where.c_str());

  // 4. An exception thrown there comes back here: the very same object.
  try {
    audio.submit([] { throw std::runtime_error("device not ready"); });
  } catch (std::runtime_error const& e) {
    std::printf("[main ] caught the task's exception: %s\n", e.what());
  }
  std::printf("[main ] ...and the thread goes on serving: 6 * 7 = %d\n",
              audio.submit([] { return 6 * 7; }));

  // 5. post is fire and forget (one allocation); tasks run in the order accepted.
  std::vector<int> order;
  for (int i = 1; i <= 3; ++i) audio.post([&order, i] { order.push_back(i); });
  audio.submit([&] {
    std::printf("[audio] posted tasks ran in order:");
    for (int i : order) std::printf(" %d", i);
    std::printf("\n");
  });

  // 6. Tags confine a thread-affine value to its thread.
  affine_counter counter = audio.submit([] { return affine_counter(); });
  std::printf("[main ] on the thread, bump() -> %d\n", audio.submit([&] { return counter.bump(); }));
  try {
    counter.bump();
  } catch (ste::wrong_thread const& e) {
    std::printf("[main ] off the thread, bump() threw ste::wrong_thread:\n        %s\n", e.what());
  }

  // 7. bound<T> does the same checks for you, and destroys T on its thread.
  ste::bound<std::vector<float>> buffer = audio.make_bound<std::vector<float>>(std::size_t{256}, 0.5f);
  std::size_t size = audio.submit([&] { return buffer->size(); });
  std::printf("[main ] bound<vector<float>> of %zu samples lives on %s\n", size,
              buffer.tag() == audio.tag() ? "the audio thread" : "?");

  // 8. A timed submit gives up if the thread cannot start the task in time.
  audio.post([] { std::this_thread::sleep_for(std::chrono::milliseconds(50)); });
  try {
    audio.submit_for(std::chrono::milliseconds(1), [] { std::puts("never printed"); });
  } catch (ste::timeout_error const& e) {
    std::printf("[main ] submit_for gave up: %s\n", e.what());
  }

  // 9. join drains, destroys bound values on the thread, runs the postlude.
  audio.join();
  std::printf("[main ] joined; bound handle is now %s\n", buffer ? "full" : "empty");
  try {
    audio.submit([] {});
  } catch (ste::stopped_error const& e) {
    std::printf("[main ] submit after join threw ste::stopped_error:\n        %s\n", e.what());
  }

  // 10. stats(): what the thread did since it started (exact now: nothing queued or
  //     running). busy/longest are measured only on threads built with on_stall.
  ste::thread_stats const stats = audio.stats();
  std::printf("[main ] stats: %llu tasks accepted, %llu completed, at most %llu queued at once\n",
              static_cast<unsigned long long>(stats.accepted),
              static_cast<unsigned long long>(stats.completed),
              static_cast<unsigned long long>(stats.peak_queued));
  return 0;
}
