#include "ste/thread.hpp"

#include <string>

namespace ste {

namespace detail {
void throw_timeout() {
  throw timeout_error(
      "ste: submit_for/submit_until: the thread did not start the task before the deadline; "
      "it was withdrawn and will not run (the thread is busy or blocked)");
}

void throw_empty_handle(std::string_view operation) {
  throw stopped_error("ste::thread::" + std::string(operation) +
                      " called on an empty handle (default-constructed or moved-from); "
                      "start a thread with ste::spawn() or ste::builder().build()");
}

void throw_empty_bound() {
  throw wrong_thread(
      "ste::bound<T> is empty (default-constructed, moved-from or reset); it holds no value "
      "on any thread");
}

void throw_bound_destroyed_by_join() {
  throw wrong_thread(
      "ste::bound<T>: its value was already destroyed by join() of its thread; the handle is "
      "empty");
}
}  // namespace detail

builder::builder() = default;

builder& builder::name(std::string_view name) {
  config_.name = std::string(name);
  return *this;
}

builder& builder::stack_size(std::size_t bytes) noexcept {
  config_.stack_size = bytes;
  return *this;
}

thread builder::build() {
  detail::thread_config config = std::exchange(config_, detail::thread_config{});
  return thread(detail::core::start(std::move(config)));
}

thread spawn() { return builder().build(); }

thread& thread::operator=(thread&& other) noexcept {
  if (this != &other) {
    if (core_) core_->release_handle();
    core_ = std::move(other.core_);
  }
  return *this;
}

thread::~thread() {
  if (core_) core_->release_handle();
}

void thread::join() {
  if (core_) core_->join();
}

}  // namespace ste
