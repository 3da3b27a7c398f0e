// SPDX-License-Identifier: MIT
// report.hpp — how ste_compare prints numbers: grouped integers, ratios, CSV fields.
#pragma once

#include <cmath>
#include <cstddef>
#include <cstdio>
#include <string>

namespace bench {

/// A rounded number with thousands separators ("1,080,295"); "-" for NaN.
inline std::string grouped(double v) {
  if (std::isnan(v)) return "-";
  auto const n = static_cast<long long>(std::llround(v));
  std::string digits = std::to_string(n < 0 ? -n : n);
  std::string out;
  for (std::size_t i = 0; i < digits.size(); ++i) {
    if (i != 0 && (digits.size() - i) % 3 == 0) out += ',';
    out += digits[i];
  }
  return n < 0 ? "-" + out : out;
}

/// A ratio such as "0.43x"; "-" for NaN.
inline std::string ratio_text(double v) {
  if (std::isnan(v)) return "-";
  char buf[32];
  // Two significant digits below 0.1, so a 200-fold win does not print as "0.00x".
  std::snprintf(buf, sizeof buf, v >= 10 ? "%.1fx" : v >= 0.1 ? "%.2fx" : "%.2gx", v);
  return buf;
}

/// A CSV field: six significant digits; empty for NaN.
inline std::string csv_number(double v) {
  if (std::isnan(v)) return "";
  char buf[40];
  std::snprintf(buf, sizeof buf, "%.6g", v);
  return buf;
}

}  // namespace bench
