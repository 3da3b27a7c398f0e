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

builder& builder::realtime(realtime_options options) {
  config_.realtime = options;
  return *this;
}

builder& builder::cpu_affinity(std::initializer_list<int> cpus) {
  return cpu_affinity(std::span<int const>(cpus.begin(), cpus.size()));
}

builder& builder::cpu_affinity(std::span<int const> cpus) {
  config_.cpus.assign(cpus.begin(), cpus.end());
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
