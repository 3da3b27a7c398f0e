// SPDX-License-Identifier: MIT
// ste/bound.hpp — a value confined to one ste thread.
//
// bound<T> is for thread-affine handles (an ALSA PCM, a COM object in a single-threaded
// apartment, an OpenGL context, a SQLite connection opened without mutexes): the T is
// constructed on the thread, every access is checked to happen there, and it is
// destroyed there — by reset(), by the handle's destructor, or by join() at the latest.
//
//   auto thread = ste::spawn();
//   ste::bound<db> conn = thread.make_bound<db>("app.sqlite");  // constructed there
//   thread.submit([&] { conn->exec("VACUUM"); });                  // OK: on its thread
//   conn->exec("VACUUM");                                          // throws wrong_thread
//   conn.reset();                                                  // destroyed there
//
// The handle itself is move-only and may move freely between threads. Its members are
// not synchronised with each other (like std::unique_ptr): one handle, one user at a time.
#pragma once

#include <atomic>
#include <memory>
#include <new>
#include <string>
#include <type_traits>
#include <utility>

#include "ste/detail/core.hpp"
#include "ste/errors.hpp"
#include "ste/tag.hpp"

namespace ste {

class thread;

template <class T>
class bound {
 public:
  /// An empty handle.
  bound() noexcept = default;
  bound(bound&& other) noexcept
      : core_(std::move(other.core_)), box_(std::exchange(other.box_, nullptr)) {}
  /// Resets this handle (destroying its value on its thread), then takes `other`'s.
  bound& operator=(bound&& other) noexcept {
    if (this != &other) {
      reset_quietly();
      core_ = std::move(other.core_);
      box_ = std::exchange(other.box_, nullptr);
    }
    return *this;
  }
  bound(bound const&) = delete;
  bound& operator=(bound const&) = delete;

  /// Destroys the value on its thread (see reset()). Never throws: if handing the
  /// destruction over would deadlock, the value is left to the thread (it is destroyed
  /// there by join() at the latest).
  ~bound() { reset_quietly(); }

  /// The value. Throws ste::wrong_thread off the owning thread, or when the handle is
  /// empty (moved-from, reset, or its value was destroyed by join()).
  T& get() const {
    if (box_ == nullptr) detail::throw_empty_bound();
    core_->tag().ensure_on_thread();
    // On the owning thread now: `alive` is only ever written by this very thread.
    if (!box_->alive.load(std::memory_order_relaxed)) detail::throw_bound_destroyed_by_join();
    return *box_->value();
  }
  T& operator*() const { return get(); }
  T* operator->() const { return std::addressof(get()); }

  /// True while the handle holds a value that join() has not destroyed yet.
  explicit operator bool() const noexcept {
    // acquire pairs with the worker's release store when join() destroyed the value.
    return box_ != nullptr && box_->alive.load(std::memory_order_acquire);
  }

  /// The tag of the owning thread (the null tag for an empty handle).
  ste::tag tag() const noexcept { return core_ ? core_->tag() : ste::tag{}; }

  /// Destroys the value on its owning thread: inline when called there, otherwise by a
  /// blocking hand-off (no allocation). A no-op for an empty handle or when join()
  /// already destroyed the value. Throws deadlock_error when the hand-off would
  /// deadlock (the handle is then unchanged). Afterwards the handle is empty.
  ///
  /// Memory ordering: when the thread still accepts work, T's destructor has run and its
  /// effects are visible to the caller once reset returns. Once join() has started, the
  /// value is destroyed by join() instead (on the thread, before the postlude): its
  /// effects are visible to whoever join() returns to.
  void reset() {
    if (box_ == nullptr) return;
    detail::destroy_bound_value(*core_, *box_);  // may throw deadlock_error: unchanged
    drop();
  }

 private:
  friend class thread;

  // One block per value, owned by two parties: this handle and the thread's registry.
  // Each releases its reference once; the last frees the block (the T is destroyed
  // earlier, always on the owning thread).
  struct box final : detail::bound_entry {
    template <class... Args>
    explicit box(Args&&... args) {
      if constexpr (std::is_constructible_v<T, Args&&...>)
        ::new (static_cast<void*>(storage)) T(std::forward<Args>(args)...);
      else  // an aggregate: clang < 16 has no parenthesised aggregate init (P0960)
        ::new (static_cast<void*>(storage)) T{std::forward<Args>(args)...};
    }
    T* value() noexcept { return std::launder(reinterpret_cast<T*>(storage)); }
    void destroy_value() noexcept override {
      value()->~T();
      // release: a handle that sees alive == false off the thread also sees T gone.
      alive.store(false, std::memory_order_release);
    }
    void drop_owner() noexcept override {
      // acq_rel: the last owner sees every write of the other before freeing.
      if (owners.fetch_sub(1, std::memory_order_acq_rel) == 1) delete this;
    }
    alignas(T) unsigned char storage[sizeof(T)];
    std::atomic<int> owners{2};
  };

  // Runs on the owning thread (inside make_bound's submit).
  template <class... Args>
  static box* make_box(detail::core& c, Args&&... args) {
    // Checked before T exists: a refused value is never constructed, so never leaked.
    // Only the worker closes the thread, and this runs on the worker: the answer holds
    // until register_bound.
    c.ensure_can_bind();  // throws stopped_error once the postlude started
    auto owned = std::make_unique<box>(std::forward<Args>(args)...);
    c.register_bound(*owned);
    return owned.release();
  }

  bound(std::shared_ptr<detail::core> c, box* b) noexcept : core_(std::move(c)), box_(b) {}

  void drop() noexcept {
    std::exchange(box_, nullptr)->drop_owner();
    core_.reset();
  }

  // What the destructor and move assignment do: reset(), but a deadlock leaves the value
  // to its thread instead of throwing.
  void reset_quietly() noexcept {
    if (box_ == nullptr) return;
    try {
      detail::destroy_bound_value(*core_, *box_);
    } catch (...) {
      // Only deadlock_error reaches here: the value stays registered with its thread,
      // which destroys it by join() at the latest (still exactly once, still there).
    }
    drop();
  }

  std::shared_ptr<detail::core> core_;
  box* box_ = nullptr;
};

}  // namespace ste
