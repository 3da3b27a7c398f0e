// SPDX-License-Identifier: MIT
// ste/tag.hpp — which ste thread a value belongs to.
//
// A tag names one ste thread for the life of the process: tags come from a process-wide
// 64-bit counter and are never re-used, not even after the thread is joined and
// another one is spawned (the Rust original used an address, which can be re-used).
//
//   struct foo {
//     ste::tag tag = ste::tag::current_thread();  // throws off every ste thread
//     void say_hello() const {
//       tag.ensure_on_thread();                    // throws ste::wrong_thread elsewhere
//       std::puts("Hello World!");
//     }
//   };
//   auto thread = ste::spawn();
//   auto f = thread.submit([] { return foo{}; });
//   thread.submit([&] { f.say_hello(); });        // OK: on the owning thread
//   f.say_hello();                                // throws ste::wrong_thread
//
// A default-constructed tag is the null tag: it belongs to no thread.
// tag is trivially copyable; every member is thread-safe and none allocates, except
// that the exceptions thrown allocate their message.
#pragma once

#include "ste/export.hpp"

#include <cstdint>
#include <functional>
#include <iosfwd>

namespace ste {

namespace detail {
struct tag_access;
}  // namespace detail

class STE_API tag {
 public:
  /// The null tag: on no thread.
  constexpr tag() noexcept = default;

  /// The tag of the ste thread running the caller.
  /// Throws ste::wrong_thread when the caller is not running on a ste thread.
  static tag current_thread();

  /// True when the caller runs on the ste thread this tag names. Never true for the
  /// null tag. Does not allocate.
  bool is_on_thread() const noexcept;

  /// Throws ste::wrong_thread, naming this tag and the caller's, unless is_on_thread().
  void ensure_on_thread() const;

  /// The raw 64-bit value (0 for the null tag); unique for the life of the process.
  constexpr std::uint64_t value() const noexcept { return id_; }

  friend constexpr bool operator==(tag, tag) noexcept = default;

 private:
  friend struct detail::tag_access;
  explicit constexpr tag(std::uint64_t id) noexcept : id_(id) {}
  std::uint64_t id_ = 0;
};

/// Writes `ste::tag(N)`, or `ste::tag(null)` for the null tag.
STE_API std::ostream& operator<<(std::ostream& os, tag t);


namespace detail {
/// How ste's own code mints tags. Not public API.
struct tag_access {
  static constexpr tag make(std::uint64_t id) noexcept { return tag(id); }
};
}  // namespace detail

}  // namespace ste

template <>
struct std::hash<ste::tag> {
  std::size_t operator()(ste::tag t) const noexcept {
    return std::hash<std::uint64_t>{}(t.value());
  }
};
