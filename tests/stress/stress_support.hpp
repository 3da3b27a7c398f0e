// SPDX-License-Identifier: MIT
// Shared by the stress tests: the scale knob, a small deterministic PRNG, a per-task
// ledger (the oracle), values that record where they die, and the sanitizer probe.
#pragma once

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <utility>

#include "ste/ste.hpp"

// ASan's quarantine delays address re-use: tag uniqueness is only meaningful without it.
#if defined(__SANITIZE_ADDRESS__)
#define STE_STRESS_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define STE_STRESS_ASAN 1
#endif
#endif
#ifndef STE_STRESS_ASAN
#define STE_STRESS_ASAN 0
#endif

namespace ste_stress {

/// STE_STRESS_SCALE (default 1): multiplies every loop count of the stress tests.
/// 1 is the CI scale (seconds per test, also under TSan on 2 vCPUs); the nightly scale
/// is 100 (>= 10M submit attempts, 4,000 join races).
inline std::size_t scale() {
  char const* s = std::getenv("STE_STRESS_SCALE");
  if (s == nullptr || *s == '\0') return 1;
  long const k = std::strtol(s, nullptr, 10);
  return k > 0 ? static_cast<std::size_t>(k) : 1;
}

/// STE_STRESS_SEED (default: from the clock): the seed of every PRNG, printed so a
/// failing run can be repeated (as far as thread interleavings allow).
inline std::uint64_t seed() {
  if (char const* s = std::getenv("STE_STRESS_SEED"); s != nullptr && *s != '\0')
    return std::strtoull(s, nullptr, 0);
  return static_cast<std::uint64_t>(std::chrono::steady_clock::now().time_since_epoch().count());
}

/// xorshift64*: cheap, deterministic, good enough to pick operations.
class rng {
 public:
  explicit rng(std::uint64_t s) noexcept : s_(s * 0x9E3779B97F4A7C15ull + 1) {}
  std::uint64_t next() noexcept {
    s_ ^= s_ >> 12;
    s_ ^= s_ << 25;
    s_ ^= s_ >> 27;
    return s_ * 0x2545F4914F6CDD1Dull;
  }
  /// Uniform-ish in [0, n).
  std::uint32_t below(std::uint32_t n) noexcept {
    return static_cast<std::uint32_t>((next() >> 32) % n);
  }

 private:
  std::uint64_t s_;
};

/// The oracle. Every task gets a fresh id. Wherever the task runs it counts itself in
/// ran(id); an exception handed to on_error counts in reported(id); the caller writes
/// what must be true once everything was joined in expect_*(id). check() compares.
class ledger {
 public:
  explicit ledger(std::size_t capacity)
      : capacity_(capacity),
        ran_(new std::atomic<std::uint8_t>[capacity]),
        reported_(new std::atomic<std::uint8_t>[capacity]),
        expect_ran_(new std::uint8_t[capacity]),
        expect_reported_(new std::uint8_t[capacity]) {
    for (std::size_t i = 0; i < capacity; ++i) {
      ran_[i].store(0, std::memory_order_relaxed);
      reported_[i].store(0, std::memory_order_relaxed);
      expect_ran_[i] = 0;
      expect_reported_[i] = 0;
    }
  }

  /// A fresh id; throws std::length_error when the ledger is full (a test bug).
  std::size_t next_id() {
    std::size_t const id = next_.fetch_add(1, std::memory_order_relaxed);
    if (id >= capacity_) throw std::length_error("ste_stress::ledger: capacity exceeded");
    return id;
  }
  std::size_t used() const noexcept {
    std::size_t const n = next_.load(std::memory_order_relaxed);
    return n < capacity_ ? n : capacity_;
  }

  void ran(std::size_t id) noexcept { ran_[id].fetch_add(1, std::memory_order_relaxed); }
  void reported(std::size_t id) noexcept { reported_[id].fetch_add(1, std::memory_order_relaxed); }
  /// Written only by the thread that owns `id` (the one that took it).
  void expect_ran(std::size_t id, std::uint8_t n = 1) noexcept { expect_ran_[id] = n; }
  void expect_reported(std::size_t id) noexcept { expect_reported_[id] = 1; }
  std::uint8_t ran_count(std::size_t id) const noexcept {
    return ran_[id].load(std::memory_order_relaxed);
  }

  /// Compares everything; returns a description of the first few mismatches ("" if none).
  /// Call only once every thread that touched the ledger was joined.
  std::string check(std::size_t from, std::size_t to) const {
    std::string out;
    std::size_t bad = 0;
    for (std::size_t id = from; id < to; ++id) {
      unsigned const r = ran_[id].load(std::memory_order_relaxed);
      unsigned const e = expect_ran_[id];
      unsigned const rep = reported_[id].load(std::memory_order_relaxed);
      unsigned const erep = expect_reported_[id];
      if (r != e || rep != erep) {
        if (++bad <= 8)
          out += "id " + std::to_string(id) + ": ran " + std::to_string(r) + " (expected " +
                 std::to_string(e) + "), reported to on_error " + std::to_string(rep) +
                 " (expected " + std::to_string(erep) + ")\n";
      }
    }
    if (bad > 8) out += "... " + std::to_string(bad) + " mismatching ids in all\n";
    return out;
  }

 private:
  std::size_t capacity_;
  std::atomic<std::size_t> next_{0};
  std::unique_ptr<std::atomic<std::uint8_t>[]> ran_;
  std::unique_ptr<std::atomic<std::uint8_t>[]> reported_;
  std::unique_ptr<std::uint8_t[]> expect_ran_;
  std::unique_ptr<std::uint8_t[]> expect_reported_;
};

/// The exception the stress tasks throw: carries its task id, so the catcher can check
/// it received its own exception and not a neighbour's.
struct boom {
  std::size_t id;
};

/// Counts violations that are not per-id (a value destroyed on the wrong thread, an
/// exception of the wrong kind...) and keeps the first message.
class faults {
 public:
  void add(std::string const& what) {
    std::lock_guard lock(mutex_);
    if (count_++ == 0) first_ = what;
  }
  std::size_t count() {
    std::lock_guard lock(mutex_);
    return count_;
  }
  std::string first() {
    std::lock_guard lock(mutex_);
    return first_;
  }

 private:
  std::mutex mutex_;
  std::size_t count_ = 0;
  std::string first_;
};

/// A value that must die exactly once, on its home thread (destroy, bound<T>): its
/// destructor counts ran(id) and checks the thread. Moved-from copies count nothing.
struct tracked {
  tracked(ledger* l, faults* f, std::size_t id, ste::tag home, bool fail_construction = false)
      : l_(l), f_(f), id_(id), home_(home) {
    if (fail_construction) throw boom{id};
  }
  tracked(tracked&& o) noexcept
      : l_(o.l_), f_(o.f_), id_(o.id_), home_(o.home_), live_(std::exchange(o.live_, false)) {}
  tracked(tracked const&) = delete;
  tracked& operator=(tracked const&) = delete;
  tracked& operator=(tracked&&) = delete;
  ~tracked() {
    if (!live_) return;
    l_->ran(id_);
    if (home_ != ste::tag{} && !home_.is_on_thread())
      f_->add("tracked value " + std::to_string(id_) + " destroyed off its home thread");
  }
  /// The value will die on the caller's thread instead (its hand-off was refused).
  void rehome() noexcept { home_ = ste::tag{}; }
  std::size_t id() const noexcept { return id_; }

 private:
  ledger* l_;
  faults* f_;
  std::size_t id_;
  ste::tag home_;
  bool live_ = true;
};

/// Busy-waits about `us` microseconds (to move a join to an arbitrary point of a race).
inline void spin_for_us(std::uint32_t us) {
  auto const until = std::chrono::steady_clock::now() + std::chrono::microseconds(us);
  while (std::chrono::steady_clock::now() < until) {
  }
}

}  // namespace ste_stress
