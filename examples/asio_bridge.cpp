// SPDX-License-Identifier: MIT
// asio_bridge: Boost.Asio does the I/O, a ste thread owns the state.
//
// An io_context thread receives datagrams on a loopback UDP socket. Each receive's
// completion handler is bound to the ste thread's executor (asio::bind_executor), so
// Asio hands every datagram to the ste thread, where the program's state lives in a
// ste::bound<totals>: no lock guards it, and any access off its thread would throw
// ste::wrong_thread. The ste thread then asks the io_context thread to receive the next
// one, so the socket is only ever touched by the io_context thread.
//
// The main thread sends N datagrams ("datagram <i>") with a small window (it never has
// more than 16 in flight, so the kernel's receive buffer cannot overflow and drop any),
// waits until all N arrived, prints a summary and exits 0 — or 1 if a datagram went
// missing, arrived twice, or was handled off the ste thread. Run: ste_asio_bridge [N]
#include <utility>  // before Boost.Asio (Boost 1.74 with g++ 12 -std=c++20)

#include <boost/asio.hpp>

#include <array>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "ste/asio.hpp"
#include "ste/ste.hpp"

namespace asio = boost::asio;
using asio::ip::udp;

namespace {

// The state the ste thread owns. Touched only there (bound<T> checks it).
struct totals {
  explicit totals(std::size_t expected) : seen(expected, false) {}
  std::size_t datagrams = 0;
  std::size_t bytes = 0;
  std::size_t malformed = 0;    // unexpected contents, or an index seen twice
  std::vector<bool> seen;       // which indices arrived
};

// How many datagrams the ste thread has handled, for the sender's window and the final
// wait. A hang guard, not a timing check: if nothing arrives for 30 s the program fails.
class progress {
 public:
  void arrived() {
    std::lock_guard lock(mutex_);
    ++count_;
    changed_.notify_all();
  }
  // Waits until at least `n` arrived; false when nothing moved for `guard`.
  bool wait_for(std::size_t n, std::chrono::seconds guard) {
    std::unique_lock lock(mutex_);
    while (count_ < n) {
      std::size_t const before = count_;
      if (!changed_.wait_for(lock, guard, [&] { return count_ != before; })) return false;
    }
    return true;
  }

 private:
  std::mutex mutex_;
  std::condition_variable changed_;
  std::size_t count_ = 0;
};

}  // namespace

int main(int argc, char** argv) {
  std::size_t const count = argc > 1 ? std::strtoul(argv[1], nullptr, 10) : 1000;
  std::size_t const window = 16;
  auto const hang_guard = std::chrono::seconds(30);

  ste::thread owner = ste::builder().name("state-owner").build();
  ste::bound<totals> state = owner.make_bound<totals>(count);
  auto const ex = ste::asio_executor(owner);  // where the completions run

  asio::io_context io;
  auto keep_running = asio::make_work_guard(io);
  udp::socket receiver(io, udp::endpoint(asio::ip::address_v4::loopback(), 0));
  udp::endpoint const target = receiver.local_endpoint();

  // The receive buffer: written by the kernel/Asio during a receive, read by the ste
  // thread in the completion handler; the next receive starts only after that (the
  // handler posts it), so the two never overlap.
  std::array<char, 1500> buffer{};
  udp::endpoint from;
  progress arrivals;
  std::atomic<std::size_t> off_thread{0};  // handlers that ran elsewhere (must stay 0)

  // on_datagram runs on the ste thread (bind_executor); receive_next on the io thread.
  std::function<void()> receive_next;
  auto on_datagram = [&](boost::system::error_code ec, std::size_t size) {
    if (ec) {
      std::fprintf(stderr, "asio_bridge: receive failed: %s\n", ec.message().c_str());
      std::exit(1);
    }
    if (!owner.tag().is_on_thread()) {  // never: bind_executor runs us on the ste thread
      off_thread.fetch_add(1);
      return;                          // (and *state would throw ste::wrong_thread here)
    }
    totals& t = *state;
    ++t.datagrams;
    t.bytes += size;
    std::string const text(buffer.data(), size);
    std::size_t index = 0;
    if (std::sscanf(text.c_str(), "datagram %zu", &index) == 1 && index < t.seen.size() &&
        !t.seen[index]) {
      t.seen[index] = true;
    } else {
      ++t.malformed;
    }
    bool const more = t.datagrams < count;
    arrivals.arrived();
    if (more) asio::post(io, receive_next);  // the socket stays on the io thread
  };
  receive_next = [&] {
    receiver.async_receive_from(asio::buffer(buffer), from, asio::bind_executor(ex, on_datagram));
  };

  asio::post(io, receive_next);
  std::thread io_thread([&] { io.run(); });

  // Send from the main thread on a socket of its own (synchronous sends).
  udp::socket sender(io, udp::endpoint(asio::ip::address_v4::loopback(), 0));
  bool stuck = false;
  for (std::size_t i = 0; i < count && !stuck; ++i) {
    if (i >= window && !arrivals.wait_for(i - window + 1, hang_guard)) stuck = true;
    if (stuck) break;
    std::string const text = "datagram " + std::to_string(i);
    sender.send_to(asio::buffer(text), target);
  }
  if (!stuck && !arrivals.wait_for(count, hang_guard)) stuck = true;

  keep_running.reset();
  io.stop();
  io_thread.join();

  if (stuck) {
    std::fprintf(stderr,
                 "asio_bridge: FAILED: no datagram reached the ste thread for %lld s "
                 "(hang guard)\n",
                 static_cast<long long>(hang_guard.count()));
    return 1;
  }

  // Read the totals where they live.
  totals const result = owner.submit([&] { return *state; });
  std::size_t missing = 0;
  for (bool s : result.seen) missing += s ? 0 : 1;
  std::printf(
      "asio_bridge: %zu datagrams, %zu bytes received by the io_context thread and handled "
      "on ste thread %s\n"
      "  off the ste thread: %zu, malformed or repeated: %zu, missing: %zu\n",
      result.datagrams, result.bytes, "state-owner", off_thread.load(), result.malformed,
      missing);
  bool const ok = result.datagrams == count && off_thread.load() == 0 &&
                  result.malformed == 0 && missing == 0;
  std::puts(ok ? "asio_bridge: OK" : "asio_bridge: FAILED");
  return ok ? 0 : 1;
}
