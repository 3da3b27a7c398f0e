// SPDX-License-Identifier: MIT
// The wait primitive elsewhere (macOS...; include/ste/detail/wait.hpp): a parking lot,
// mutex + condition variable buckets hashed by address, living in static storage,
// never in the waiter's frame.
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <mutex>
#include <new>

#include "ste/detail/wait.hpp"

namespace ste::detail {

int current_cpu() noexcept { return -1; }

namespace {
struct bucket {
  std::mutex mutex;
  std::condition_variable cv;
};
constexpr std::size_t kBuckets = 64;
struct parking_lot {
  bucket buckets[kBuckets];
};
// Never destroyed: a ste thread with static storage may still wait and wake after this
// file's statics are gone. Built in place on first use (no allocation).
parking_lot& the_lot() noexcept {
  alignas(parking_lot) static unsigned char storage[sizeof(parking_lot)];
  static parking_lot* const lot = ::new (static_cast<void*>(storage)) parking_lot;
  return *lot;
}
bucket& bucket_for(void const* address) noexcept {
  auto const h = reinterpret_cast<std::uintptr_t>(address);
  return the_lot().buckets[(h >> 4) % kBuckets];
}
}  // namespace

// A waiter checks the word under its bucket's lock; a waker locks the same bucket
// after changing the word. So either the waiter sees the change, or it is already
// inside cv.wait (lock released) when the waker notifies: no lost wake-up, and the
// waker touches only the bucket, never the word's memory.
void wait_on(std::atomic<std::uint32_t> const& word, std::uint32_t expected) noexcept {
  bucket& b = bucket_for(&word);
  std::unique_lock lock(b.mutex);
  if (word.load(std::memory_order_acquire) == expected) b.cv.wait(lock);
}

bool wait_on_for(std::atomic<std::uint32_t> const& word, std::uint32_t expected,
                 std::chrono::nanoseconds timeout) noexcept {
  bucket& b = bucket_for(&word);
  std::unique_lock lock(b.mutex);
  if (word.load(std::memory_order_acquire) != expected) return true;
  return b.cv.wait_for(lock, timeout) == std::cv_status::no_timeout;
}

// Keyed by word_key, like the futex, so that wake_one(word_key(&w)) finds the bucket.
void wait_on_word(std::atomic<std::uintptr_t> const& word, std::uintptr_t expected) noexcept {
  bucket& b = bucket_for(word_key(&word));
  std::unique_lock lock(b.mutex);
  if (word.load(std::memory_order_acquire) == expected) b.cv.wait(lock);
}

bool wait_on_word_for(std::atomic<std::uintptr_t> const& word, std::uintptr_t expected,
                      std::chrono::nanoseconds timeout) noexcept {
  bucket& b = bucket_for(word_key(&word));
  std::unique_lock lock(b.mutex);
  if (word.load(std::memory_order_acquire) != expected) return true;
  return b.cv.wait_for(lock, timeout) == std::cv_status::no_timeout;
}

void wake_one(void const* address) noexcept { wake_all(address); }  // buckets are shared
void wake_all(void const* address) noexcept {
  bucket& b = bucket_for(address);
  { std::lock_guard lock(b.mutex); }
  b.cv.notify_all();
}

}  // namespace ste::detail
