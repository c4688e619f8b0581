// Scores with scikit-learn's definitions, accumulated in long double.
//
//   r2_score            1 - SS_res / SS_tot; when SS_tot == 0: 1 if SS_res == 0,
//                       else 0 (scikit-learn's force_finite=True); NaN for a
//                       single sample, where it is undefined (scikit-learn
//                       returns NaN with an UndefinedMetricWarning)
//   mean_squared_error  mean((y_true - y_pred)^2)
//   mean_absolute_error mean(|y_true - y_pred|)
//   accuracy_score      fraction of positions where y_true == y_pred exactly
//
// Both inputs must have the same non-zero length and hold no NaN or infinity
// (scikit-learn rejects those too); otherwise ArgumentError. Values near
// double's range are scaled by a power of two before they are squared, so
// finite input gives a finite score; an MSE or MAE whose true value is beyond
// double's range is an ArgumentError, never inf.
#include "kreg/metrics.hpp"

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <limits>

#include <fmt/format.h>

#include "kreg/error.hpp"

namespace kreg {
namespace {

template <class T>
void check_values(const char* function, const char* name, std::span<const T> values) {
  for (std::size_t i = 0; i < values.size(); ++i) {
    if (std::isnan(values[i])) {
      throw ArgumentError(fmt::format("{}: {}[{}] is NaN", function, name, i));
    }
    if (std::isinf(values[i])) {
      throw ArgumentError(fmt::format("{}: {}[{}] is infinite", function, name, i));
    }
  }
}

template <class T>
void check_inputs(const char* function, std::span<const T> y_true, std::span<const T> y_pred) {
  if (y_true.size() != y_pred.size()) {
    throw ArgumentError(fmt::format("{}: y_true has {} values but y_pred has {}", function,
                                    y_true.size(), y_pred.size()));
  }
  if (y_true.empty()) {
    throw ArgumentError(
        fmt::format("{}: y_true and y_pred are empty; need at least one value", function));
  }
  check_values(function, "y_true", y_true);
  check_values(function, "y_pred", y_pred);
}

// A power of two e with |y_true|, |y_pred| * 2^-e small enough that n
// squared differences cannot overflow when summed, even in a long double no
// wider than double; 0 (no scaling) for all but values near double's range.
// Scaling by 2^-e is exact, so the scores keep their bits.
template <class T>
int residual_exp(std::span<const T> y_true, std::span<const T> y_pred) {
  long double largest = 0;
  for (std::size_t i = 0; i < y_true.size(); ++i) {
    largest = std::max({largest, std::fabs(static_cast<long double>(y_true[i])),
                        std::fabs(static_cast<long double>(y_pred[i]))});
  }
  if (largest == 0) return 0;
  const int free_bits = std::numeric_limits<double>::max_exponent - 3;
  const int need =
      2 * (std::ilogb(largest) + 2) + std::ilogb(static_cast<double>(y_true.size())) + 1;
  return need > free_bits ? (need - free_bits + 1) / 2 : 0;
}

// value * 2^exp as a double; an ArgumentError where that is beyond double.
double unscaled(const char* function, const char* what, long double value, int exp) {
  const long double v = std::ldexp(value, exp);
  if (!(v <= std::numeric_limits<double>::max())) {
    throw ArgumentError(fmt::format(
        "{}: the {} is beyond the range of double (1.8e308): the values are too large for it; "
        "divide them by a power of ten first",
        function, what));
  }
  return static_cast<double>(v);
}

}  // namespace

template <class T>
double r2_score(std::span<const T> y_true, std::span<const T> y_pred) {
  check_inputs("r2_score", y_true, y_pred);
  const std::size_t n = y_true.size();
  // Undefined for one sample: NaN, as scikit-learn's r2_score (which warns).
  if (n < 2) return std::numeric_limits<double>::quiet_NaN();
  const long double unit = std::ldexp(1.0L, -residual_exp(y_true, y_pred));
  long double sum = 0.0L;
  bool constant = true;
  for (std::size_t i = 0; i < n; ++i) {
    sum += static_cast<long double>(y_true[i]) * unit;
    constant = constant && y_true[i] == y_true[0];
  }
  const long double mean = sum / static_cast<long double>(n);
  long double ss_res = 0.0L;
  long double ss_tot = 0.0L;
  for (std::size_t i = 0; i < n; ++i) {
    const long double res =
        static_cast<long double>(y_true[i]) * unit - static_cast<long double>(y_pred[i]) * unit;
    ss_res += res * res;
    const long double dev = static_cast<long double>(y_true[i]) * unit - mean;
    ss_tot += dev * dev;
  }
  // A constant y_true has SS_tot = 0 exactly, whatever rounding the mean had.
  if (constant) ss_tot = 0.0L;
  if (ss_tot == 0.0L) return ss_res == 0.0L ? 1.0 : 0.0;
  if (ss_res == 0.0L) return 1.0;
  return static_cast<double>(1.0L - ss_res / ss_tot);
}

template <class T>
double mean_squared_error(std::span<const T> y_true, std::span<const T> y_pred) {
  check_inputs("mean_squared_error", y_true, y_pred);
  const int e = residual_exp(y_true, y_pred);
  const long double unit = std::ldexp(1.0L, -e);
  long double sum = 0.0L;
  for (std::size_t i = 0; i < y_true.size(); ++i) {
    const long double res =
        static_cast<long double>(y_true[i]) * unit - static_cast<long double>(y_pred[i]) * unit;
    sum += res * res;
  }
  return unscaled("mean_squared_error", "mean squared error",
                  sum / static_cast<long double>(y_true.size()), 2 * e);
}

template <class T>
double mean_absolute_error(std::span<const T> y_true, std::span<const T> y_pred) {
  check_inputs("mean_absolute_error", y_true, y_pred);
  const int e = residual_exp(y_true, y_pred);
  const long double unit = std::ldexp(1.0L, -e);
  long double sum = 0.0L;
  for (std::size_t i = 0; i < y_true.size(); ++i) {
    sum += std::fabs(static_cast<long double>(y_true[i]) * unit -
                     static_cast<long double>(y_pred[i]) * unit);
  }
  return unscaled("mean_absolute_error", "mean absolute error",
                  sum / static_cast<long double>(y_true.size()), e);
}

template <class T>
double accuracy_score(std::span<const T> y_true, std::span<const T> y_pred) {
  check_inputs("accuracy_score", y_true, y_pred);
  std::size_t equal = 0;
  for (std::size_t i = 0; i < y_true.size(); ++i) {
    if (y_true[i] == y_pred[i]) ++equal;
  }
  return static_cast<double>(equal) / static_cast<double>(y_true.size());
}

#define KREG_INSTANTIATE_METRICS(T)                                               \
  template double r2_score<T>(std::span<const T>, std::span<const T>);            \
  template double mean_squared_error<T>(std::span<const T>, std::span<const T>);  \
  template double mean_absolute_error<T>(std::span<const T>, std::span<const T>); \
  template double accuracy_score<T>(std::span<const T>, std::span<const T>);

KREG_INSTANTIATE_METRICS(float)
KREG_INSTANTIATE_METRICS(double)
#undef KREG_INSTANTIATE_METRICS

}  // namespace kreg
