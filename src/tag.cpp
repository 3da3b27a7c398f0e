// SPDX-License-Identifier: MIT
#include "ste/tag.hpp"

#include <ostream>

#include "ste/detail/core.hpp"
#include "ste/detail/throw.hpp"

namespace ste {

tag tag::current_thread() {
  detail::core const* c = detail::current_core();
  if (c == nullptr) detail::throw_not_on_ste_thread();
  return c->tag();
}

bool tag::is_on_thread() const noexcept {
  detail::core const* c = detail::current_core();
  return id_ != 0 && c != nullptr && c->tag().id_ == id_;
}

void tag::ensure_on_thread() const {
  if (is_on_thread()) return;
  detail::core const* c = detail::current_core();
  detail::throw_wrong_thread(*this, c != nullptr ? c->tag() : tag{});
}

std::ostream& operator<<(std::ostream& os, tag t) {
  if (t.value() == 0) return os << "ste::tag(null)";
  return os << "ste::tag(" << t.value() << ')';
}

}  // namespace ste
