// SPDX-License-Identifier: MIT
// The stall watchdog (include/ste/detail/watchdog.hpp): one plain thread for the process.
#include "ste/detail/watchdog.hpp"

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <thread>
#include <vector>

#include "ste/detail/core.hpp"

namespace ste::detail {

namespace {

using clock = std::chrono::steady_clock;

// How often the watchdog looks: four times per (smallest) threshold, within bounds, so a
// task is reported at most about a quarter threshold after it crossed it.
constexpr std::chrono::nanoseconds kFastest = std::chrono::microseconds(250);
constexpr std::chrono::nanoseconds kSlowest = std::chrono::seconds(1);

struct watched {
  core* c;
  std::uint64_t reported;  // the serial of the last task reported (each task once)
};

class watchdog {
 public:
  void watch(core& c) {
    std::unique_lock lock(mutex_);
    if (thread_.joinable() && thread_epoch_ != epoch_) {
      // The previous watchdog was told to stop (by a handler that ended the last watched
      // thread): it is ending, or ended; out of the way first, so there is never more
      // than one looking.
      std::thread old = std::move(thread_);
      lock.unlock();
      if (old.get_id() == std::this_thread::get_id())
        old.detach();  // a handler of that very watchdog starts a watched thread
      else
        old.join();
      lock.lock();
    }
    list_.push_back({&c, 0});  // may throw bad_alloc: nothing changed then
    if (!thread_.joinable()) {
      try {
        std::uint64_t const mine = epoch_;
        thread_ = std::thread([this, mine] { loop(mine); });
        thread_epoch_ = mine;
      } catch (...) {
        list_.pop_back();
        throw;  // std::system_error: build() reports it
      }
    }
    changed_.notify_all();
  }

  void unwatch(core& c) noexcept {
    std::unique_lock lock(mutex_);
    bool const on_watchdog = std::this_thread::get_id() == thread_.get_id();
    // Not while its handler runs (the report reads the core), unless that handler is us.
    if (!on_watchdog) idle_.wait(lock, [&] { return calling_ != &c; });
    list_.erase(std::remove_if(list_.begin(), list_.end(),
                               [&](watched const& w) { return w.c == &c; }),
                list_.end());
    if (!list_.empty() || !thread_.joinable() || thread_epoch_ != epoch_) return;
    ++epoch_;  // the loop of thread_epoch_ ends
    changed_.notify_all();
    if (on_watchdog) return;  // a handler ended the last thread: the loop exits after it
    std::thread t = std::move(thread_);
    lock.unlock();
    t.join();
  }

 private:
  void loop(std::uint64_t mine) {
    std::unique_lock lock(mutex_);
    while (epoch_ == mine) {
      auto interval = kSlowest;
      for (watched const& w : list_) interval = std::min(interval, w.c->stall_threshold() / 4);
      interval = std::max(interval, kFastest);
      look(lock, mine);
      if (epoch_ != mine) break;
      changed_.wait_for(lock, interval);
    }
  }

  // One look at every watched thread; each report outside the lock, one at a time.
  void look(std::unique_lock<std::mutex>& lock, std::uint64_t mine) {
    for (std::size_t i = 0; i < list_.size() && epoch_ == mine; ++i) {
      watched& w = list_[i];
      running_task const t = w.c->current_task();
      if (t.serial == 0 || t.serial == w.reported) continue;
      auto const elapsed = clock::now() - t.since;
      if (elapsed < w.c->stall_threshold()) continue;
      w.reported = t.serial;
      core* const c = w.c;
      calling_ = c;
      lock.unlock();
      c->report_stall(ste::stall_info{
          c->name(), c->tag(), t.where,
          std::chrono::duration_cast<std::chrono::nanoseconds>(elapsed)});
      lock.lock();
      calling_ = nullptr;
      idle_.notify_all();
      // The list may have changed meanwhile: look again from the start (a task is still
      // reported once: its entry keeps `reported`).
      i = static_cast<std::size_t>(-1);
    }
  }

  std::mutex mutex_;
  std::condition_variable changed_;  // the list changed, or a stop
  std::condition_variable idle_;     // a report ended
  std::vector<watched> list_;
  std::thread thread_;
  std::uint64_t epoch_ = 0;         // a stop moves it on: the running loop's ends
  std::uint64_t thread_epoch_ = 0;  // the epoch thread_'s loop runs in
  core* calling_ = nullptr;         // whose handler runs now
};

// Never destroyed: a ste thread with static storage may end after other statics.
// Replaced (the old one leaked) only in the child of a fork, while it has one thread.
watchdog*& the_watchdog_pointer() {
  static watchdog* w = new watchdog;
  return w;
}

watchdog& the_watchdog() { return *the_watchdog_pointer(); }

}  // namespace

void forget_watchdog_in_child() noexcept {
  // Its mutex or list may be in the middle of a change by a thread that does not exist
  // here, and its thread is gone: a new one, or none if that cannot be allocated (then
  // the old one stays, usable only if it was idle — the best left to do).
  try {
    the_watchdog_pointer() = new watchdog;
  } catch (...) {
  }
}

void watch(core& c) { the_watchdog().watch(c); }
void unwatch(core& c) noexcept { the_watchdog().unwatch(c); }

void core::report_stall(ste::stall_info const& info) noexcept {
  try {
    config_.on_stall(info);
  } catch (...) {
    stall_handler_threw();  // nobody could receive it: says so, then terminates
  }
}

}  // namespace ste::detail
