// SPDX-License-Identifier: MIT
// stats.hpp — medians and percentiles over samples. Copies; never reorders the input.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <vector>

namespace bench {

/// The median (mean of the two middle values for an even count); NaN when empty.
inline double median(std::vector<double> v) {
  if (v.empty()) return std::nan("");
  auto const mid = v.begin() + static_cast<std::ptrdiff_t>(v.size() / 2);
  std::nth_element(v.begin(), mid, v.end());
  double const upper = *mid;
  if (v.size() % 2 == 1) return upper;
  double const lower = *std::max_element(v.begin(), mid);
  return (lower + upper) / 2;
}

/// The nearest-rank percentile `p` (0 < p <= 100) of `sorted`, which must be sorted.
template <class T>
double percentile_of_sorted(std::vector<T> const& sorted, double p) {
  if (sorted.empty()) return std::nan("");
  auto rank = static_cast<std::size_t>(std::ceil(p / 100.0 * static_cast<double>(sorted.size())));
  rank = std::clamp<std::size_t>(rank, 1, sorted.size());
  return static_cast<double>(sorted[rank - 1]);
}

}  // namespace bench
