// SPDX-License-Identifier: MIT
// peer_asio.hpp — Boost.Asio: an io_context run by one thread, a work guard to keep it
// running while idle, and asio::post(ioc, std::packaged_task) + future.get() per call.
// That is how Asio users usually get a result back from "their" thread.
#pragma once

#include <cstdint>
#include <future>
#include <thread>
#include <utility>  // Boost 1.74's asio.hpp uses std::exchange without including it

#include <boost/asio.hpp>

#include "handoff_base.hpp"
#include "peer_base.hpp"

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
  std::uint64_t count_ = 0;  // worker thread only, until stop()
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

}  // namespace bench
