// SPDX-License-Identifier: MIT
// peer_asio.hpp — Boost.Asio: an io_context run by one thread, a work guard to keep it
// running while idle, and asio::post(ioc, std::packaged_task) + future.get() per call.
// That is how Asio users usually get a result back from "their" thread. Also the
// periodic-timer peer: the classic steady_timer loop.
#pragma once

#include <chrono>
#include <cstdint>
#include <future>
#include <latch>
#include <stdexcept>
#include <string>
#include <thread>
#include <utility>  // Boost 1.74's asio.hpp uses std::exchange without including it

#include <boost/asio.hpp>

#include "handoff_base.hpp"
#include "peer_base.hpp"
#include "timer_base.hpp"

namespace bench {

class asio_core {
 public:
  static constexpr char const* name = "asio";
  struct submitter {
    std::uint64_t last = 0;  // keeps the future's value observable
  };

  void round_trip(submitter& s) {
    std::packaged_task<std::uint64_t()> task([this] { return ++count_; });
    // With a packaged_task as the completion token, post() returns its future; calling
    // get_future() ourselves first would make post() throw (future_already_retrieved).
    std::future<std::uint64_t> result = boost::asio::post(ioc_, std::move(task));
    s.last = result.get();
  }

  void serve() { ioc_.run(); }

  void request_stop() { guard_.reset(); }  // run() returns once the context is drained
  std::uint64_t tasks_run() const noexcept { return count_; }

 private:
  task_count count_;  // worker thread only, until stop(); its own line (platform.hpp)
  // Concurrency hint 1: the context is run by one thread, which lets Asio skip some
  // locking on that thread's side — Asio's best configuration for this job.
  boost::asio::io_context ioc_{1};
  // Keeps run() from returning while the queue is empty between round trips.
  boost::asio::executor_work_guard<boost::asio::io_context::executor_type> guard_{
      boost::asio::make_work_guard(ioc_)};
};

using asio_peer = worker_peer<asio_core>;

/// Post throughput: asio::post(ioc, task) to an io_context run by one thread.
class asio_post_sink {
 public:
  static constexpr char const* name = "asio post";
  void post(count_task t) { boost::asio::post(ioc_, t); }
  void stop() {
    guard_.reset();
    worker_.join();
  }

 private:
  boost::asio::io_context ioc_{1};
  boost::asio::executor_work_guard<boost::asio::io_context::executor_type> guard_{
      boost::asio::make_work_guard(ioc_)};
  std::thread worker_{[this] { ioc_.run(); }};  // last
};

/// The periodic timer: a steady_timer on an io_context (concurrency hint 1) run by one
/// thread with a work guard; the classic async_wait handler that re-arms with
/// expires_at(its expiry + period), so the deadlines are start + k·period exactly (and
/// a late run is followed by back-to-back runs that catch up, unlike post_every). The
/// first arming is posted to the io_context thread, with start = the clock read in
/// start() on the harness thread, as for ste.
class asio_timer_loop {
 public:
  static constexpr char const* name = "asio steady_timer";
  asio_timer_loop(consumer_config c, tick_log& log)
      : log_(log), worker_([this, c] {
          apply_consumer_config(c);
          started_.count_down();
          ioc_.run();
        }) {
    started_.wait();
  }
  asio_timer_loop(asio_timer_loop const&) = delete;
  asio_timer_loop& operator=(asio_timer_loop const&) = delete;
  ~asio_timer_loop() {
    if (worker_.joinable()) {
      guard_.reset();
      ioc_.stop();
      worker_.join();
    }
  }

  void start(std::int64_t period_ns) {
    period_ = std::chrono::nanoseconds(period_ns);
    auto const first = std::chrono::steady_clock::now() + period_;
    boost::asio::post(ioc_, [this, first] {
      timer_.expires_at(first);
      timer_.async_wait([this](boost::system::error_code const& ec) { on_tick(ec); });
    });
  }

  void stop() {
    guard_.reset();  // run() returns: the last run did not re-arm
    worker_.join();
    if (log_.runs() != log_.capacity())
      throw std::runtime_error("wrong count: asio steady_timer ran " +
                               std::to_string(log_.runs()) + " times, " +
                               std::to_string(log_.capacity()) + " expected");
  }

 private:
  void on_tick(boost::system::error_code const& ec) {
    std::int64_t const t = steady_ns();
    if (ec) return;
    auto const deadline = timer_.expiry();
    log_.record(t, std::chrono::duration_cast<std::chrono::nanoseconds>(
                       deadline.time_since_epoch())
                       .count());
    if (log_.full()) return;
    timer_.expires_at(deadline + period_);
    timer_.async_wait([this](boost::system::error_code const& e) { on_tick(e); });
  }

  tick_log& log_;
  std::chrono::nanoseconds period_{};
  boost::asio::io_context ioc_{1};
  boost::asio::executor_work_guard<boost::asio::io_context::executor_type> guard_{
      boost::asio::make_work_guard(ioc_)};
  boost::asio::steady_timer timer_{ioc_};  // the io_context thread's, after start()
  std::latch started_{1};
  std::thread worker_;  // last
};

}  // namespace bench
