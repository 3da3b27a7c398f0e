#include "ste/tag.hpp"

#include <ostream>

#include "ste/detail/core.hpp"
#include "ste/errors.hpp"

namespace ste {

tag tag::current_thread() {
  detail::core const* c = detail::current_core();
  if (c == nullptr)
    throw wrong_thread(
        "ste::tag::current_thread() called on a thread that is not a ste thread; call it "
        "from code running on a ste::thread (a task, its prelude or a coroutine there)");
  return c->tag();
}

bool tag::is_on_thread() const noexcept {
  detail::core const* c = detail::current_core();
  return id_ != 0 && c != nullptr && c->tag().id_ == id_;
}

void tag::ensure_on_thread() const {
  if (is_on_thread()) return;
  detail::core const* c = detail::current_core();
  throw wrong_thread(*this, c != nullptr ? c->tag() : tag{});
}

std::ostream& operator<<(std::ostream& os, tag t) {
  if (t.value() == 0) return os << "ste::tag(null)";
  return os << "ste::tag(" << t.value() << ')';
}

}  // namespace ste
