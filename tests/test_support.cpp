// SPDX-License-Identifier: MIT
#include "test_support.hpp"

#include <cstdlib>
#include <string>

namespace ste_test {
std::size_t scaled(std::size_t n) {
  char const* s = std::getenv("STE_TEST_SCALE");
  if (s == nullptr) return n;
  long const k = std::strtol(s, nullptr, 10);
  return k > 0 ? n * static_cast<std::size_t>(k) : n;
}
}  // namespace ste_test
