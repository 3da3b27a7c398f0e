// SPDX-License-Identifier: MIT
#include "ste/thread.hpp"

#include <string>

namespace ste {

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
    if (core_) core_->join_or_detach();
    core_ = std::move(other.core_);
  }
  return *this;
}

thread::~thread() {
  if (core_) core_->join_or_detach();
}

void thread::join() {
  if (core_) core_->join();
}

}  // namespace ste
