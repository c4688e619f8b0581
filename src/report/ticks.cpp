// report/ticks.cpp - 1-2-5 steps and decades for chart axes (report/ticks.hpp).
// Numbers go through fmt and from_chars, so the ticks and their labels do not
// depend on the locale.
#include "report/ticks.hpp"

#include <fmt/format.h>

#include <charconv>
#include <cmath>
#include <string>

#include "kreg/error.hpp"

namespace kreg::report {
namespace {

// The double nearest to mantissa x 10^exponent (mantissa an integer value),
// so 3 x 10^-1 gives 0.3 exactly as the literal does.
double decimal(double mantissa, int exponent) {
  const std::string s = fmt::format("{:.0f}e{}", mantissa, exponent);
  double v = 0.0;
  std::from_chars(s.data(), s.data() + s.size(), v);
  return v;
}

// Integer division rounding down and up (b > 0).
int floor_div(int a, int b) { return a / b - (a % b != 0 && a < 0 ? 1 : 0); }
int ceil_div(int a, int b) { return a / b + (a % b != 0 && a > 0 ? 1 : 0); }

void check_tick_count(const char* function, int max_count) {
  if (max_count < 2) {
    throw ArgumentError(fmt::format("{}: max_count is {}; need at least 2", function, max_count));
  }
}

}  // namespace

AxisTicks linear_ticks(double lo, double hi, int max_count) {
  if (!(std::isfinite(lo) && std::isfinite(hi) && lo <= hi)) {
    throw ArgumentError(fmt::format("linear_ticks: need finite lo <= hi, got [{}, {}]", lo, hi));
  }
  check_tick_count("linear_ticks", max_count);
  if (lo == hi) return {{lo}, {}};
  // Start a decade below the step that would give max_count ticks and walk
  // up 1, 2, 5, 10, ...; halves keep the span finite for [-max, max].
  const double half_span = hi * 0.5 - lo * 0.5;
  if (!(half_span > 0.0)) return {{lo, hi}, {}};  // adjacent subnormals
  int exponent = static_cast<int>(std::floor(std::log10(half_span) + std::log10(2.0 / max_count)));
  --exponent;
  for (; exponent <= 310; ++exponent) {
    for (const int m : {1, 2, 5}) {
      const double step = decimal(m, exponent);
      if (step == 0.0) continue;
      // The 1e-9 slack keeps ticks on the ends that division rounds away
      // (0.7 / 0.1 = 6.999999999999999).
      const double first = std::ceil(lo / step - 1e-9);
      const double last = std::floor(hi / step + 1e-9);
      if (last - first + 1.0 > max_count) continue;
      // Counting with an int: past 2^53, ++i on a double can stop moving.
      AxisTicks ticks;
      const int n = static_cast<int>(last - first) + 1;
      for (int k = 0; k < n; ++k) {
        const double i = first + k;
        const double v = i == 0.0 ? 0.0 : decimal(i * m, exponent);
        if (ticks.major.empty() || v != ticks.major.back()) ticks.major.push_back(v);
      }
      return ticks;
    }
  }
  return {{lo, hi}, {}};  // unreachable: a step beyond the doubles gives one tick
}

AxisTicks log_ticks(double lo, double hi, int max_count) {
  if (!(std::isfinite(lo) && std::isfinite(hi) && lo > 0.0 && lo <= hi)) {
    throw ArgumentError(fmt::format("log_ticks: need finite 0 < lo <= hi, got [{}, {}]", lo, hi));
  }
  check_tick_count("log_ticks", max_count);
  // Powers of ten inside [lo, hi]; the slack keeps 1000 when log10 rounds.
  const int k_lo = static_cast<int>(std::ceil(std::log10(lo) - 1e-9));
  const int k_hi = static_cast<int>(std::floor(std::log10(hi) + 1e-9));
  const auto inside = [&](double v) { return v >= lo * (1.0 - 1e-9) && v <= hi * (1.0 + 1e-9); };
  AxisTicks ticks;
  if (k_hi - k_lo + 1 >= 3) {
    int every = 1;
    for (const int d : {1, 2, 5, 10, 20, 50, 100, 200, 500, 1000}) {
      every = d;
      if (floor_div(k_hi, d) - ceil_div(k_lo, d) + 1 <= max_count) break;
    }
    for (int k = ceil_div(k_lo, every) * every; k <= k_hi; k += every) {
      ticks.major.push_back(decimal(1, k));
    }
    if (every == 1) {
      for (int k = k_lo - 1; k <= k_hi; ++k) {
        for (int m = 2; m <= 9; ++m) {
          if (inside(decimal(m, k))) ticks.minor.push_back(decimal(m, k));
        }
      }
    }
    return ticks;
  }
  // Fewer than three decades: label 1, 2 and 5 x 10^k, mark the other digits.
  for (int k = k_lo - 1; k <= k_hi; ++k) {
    for (int m = 1; m <= 9; ++m) {
      const double v = decimal(m, k);
      if (!inside(v)) continue;
      (m == 1 || m == 2 || m == 5 ? ticks.major : ticks.minor).push_back(v);
    }
  }
  if (static_cast<int>(ticks.major.size()) > max_count) {
    ticks.major.clear();
    for (int k = k_lo; k <= k_hi; ++k) ticks.major.push_back(decimal(1, k));
  }
  if (ticks.major.size() >= 2) return ticks;
  // Within about a decade: ordinary steps read better than one lone label.
  return linear_ticks(lo, hi, max_count);
}

std::string format_tick(double value) {
  if (value == 0.0) return "0";
  if (!std::isfinite(value)) return fmt::format("{}", value);
  const double magnitude = std::fabs(value);
  // fmt's "{}" is the shortest round-trip text, fixed in this range.
  if (magnitude >= 1e-4 && magnitude < 1e6) return fmt::format("{}", value);
  for (int digits = 0; digits < 17; ++digits) {
    std::string s = fmt::format("{:.{}e}", value, digits);
    double back = 0.0;
    std::from_chars(s.data(), s.data() + s.size(), back);
    if (back == value) return s;
  }
  return fmt::format("{:.16e}", value);
}

}  // namespace kreg::report
