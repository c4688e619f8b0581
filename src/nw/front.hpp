// nw/front.hpp - what every front end (NadarayaWatson, BandwidthCV) does to
// its data before a backend sees it, written once: validation, centring on
// the training mean (in double), per-feature bandwidth scaling and the
// clamped 1 / h^2 (nw/backend.hpp states the backends' side of the contract).
#pragma once

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/validate.hpp"
#include "kreg/error.hpp"
#include "kreg/matrix.hpp"

namespace kreg::nw {

// "<name>[i, j] is NaN; kreg needs finite values (...)".
template <class T>
void require_finite(MatrixView<const T> m, const char* name) {
  detail::require_finite(m, name, "kreg needs finite values (drop or impute the row first)");
}

// X (n x d, n >= 1, d >= 1) and Y (n x k, k >= 1) finite, sample_weight
// empty or n finite values >= 0, not all zero. `empty_x` is the message for
// n = 0 (it says what the caller needs the points for).
template <class T>
void validate_training(MatrixView<const T> X, MatrixView<const T> Y,
                       std::span<const T> sample_weight, std::string_view empty_x) {
  if (X.rows() == 0) throw ArgumentError(std::string(empty_x));
  if (X.cols() == 0) throw ArgumentError("X has no features (0 columns)");
  if (Y.rows() != X.rows()) {
    throw ArgumentError(
        fmt::format("X has {} rows but Y has {}; they must match", X.rows(), Y.rows()));
  }
  if (Y.cols() == 0) throw ArgumentError("Y has no columns; give at least one target");
  if (!sample_weight.empty() && static_cast<index_t>(sample_weight.size()) != X.rows()) {
    throw ArgumentError(fmt::format("sample_weight has {} values but X has {} rows",
                                    sample_weight.size(), X.rows()));
  }
}

// Checked after the shapes (and, for NadarayaWatson, the bandwidth's length).
template <class T>
void validate_values(MatrixView<const T> X, MatrixView<const T> Y,
                     std::span<const T> sample_weight) {
  require_finite(X, "X");
  require_finite(Y, "Y");
  double weight_sum = 0;
  for (std::size_t i = 0; i < sample_weight.size(); ++i) {
    const T w = sample_weight[i];
    if (!std::isfinite(w) || w < 0) {
      throw ArgumentError(
          fmt::format("sample_weight[{}] is {}; weights must be finite and >= 0", i, w));
    }
    weight_sum += w;
  }
  if (!sample_weight.empty() && !(weight_sum > 0)) {
    throw ArgumentError("sample_weight is all zero; at least one weight must be > 0");
  }
}

// The mean of X's rows `rows` (all rows when empty), per feature, in double.
template <class T>
std::vector<double> column_mean(MatrixView<const T> X, std::span<const index_t> rows = {}) {
  std::vector<double> mean(static_cast<std::size_t>(X.cols()), 0.0);
  const index_t n = rows.empty() ? X.rows() : static_cast<index_t>(rows.size());
  for (index_t r = 0; r < n; ++r) {
    const index_t i = rows.empty() ? r : rows[static_cast<std::size_t>(r)];
    for (index_t f = 0; f < X.cols(); ++f) mean[f] += static_cast<double>(X(i, f));
  }
  for (double& m : mean) m /= static_cast<double>(n);
  return mean;
}

// (A(i, f) - center[f]) * factor[f] in double, rounded to T, for A's rows
// `rows` (all when empty); center empty means 0, factor empty means 1. The factors are <= 1 (the
// smallest bandwidth over each feature's), so scaled coordinates never
// overflow however small a bandwidth is.
template <class T>
Matrix<T> centred(MatrixView<const T> A, std::span<const double> center,
                  std::span<const double> factor = {}, std::span<const index_t> rows = {}) {
  const index_t m = rows.empty() ? A.rows() : static_cast<index_t>(rows.size());
  Matrix<T> out(m, A.cols());
  for (index_t r = 0; r < m; ++r) {
    const index_t i = rows.empty() ? r : rows[static_cast<std::size_t>(r)];
    for (index_t f = 0; f < A.cols(); ++f) {
      const double v = static_cast<double>(A(i, f)) - (center.empty() ? 0.0 : center[f]);
      out(r, f) = static_cast<T>(factor.empty() ? v : v * factor[f]);
    }
  }
  return out;
}

// u^2 = sum_f ((z_f - x_f) / h_f)^2 = inv_h2 * sum_f ((z_f - x_f) * h_min / h_f)^2
// with h_f = h * scale[f] (scale empty: every feature alike). Returns the
// per-feature factors h_min / h_f (empty when every feature is alike) and
// writes h_min's multiplier of h (the smallest scale, 1 when empty).
inline std::vector<double> feature_factors(std::span<const double> scale, double& scale_min) {
  scale_min = 1.0;
  if (scale.size() <= 1) {
    if (scale.size() == 1) scale_min = scale[0];
    return {};
  }
  scale_min = *std::min_element(scale.begin(), scale.end());
  std::vector<double> factor(scale.size());
  for (std::size_t f = 0; f < scale.size(); ++f) factor[f] = scale_min / scale[f];
  return factor;
}

// 1 / h^2, clamped to T's largest finite value: at such bandwidths every
// weight but the nearest point's is 0 anyway, and the engines never see an
// infinite factor.
template <class T>
double clamped_inv_h2(double h) {
  return std::min(1.0 / (h * h), static_cast<double>(std::numeric_limits<T>::max()));
}

// The largest |Y(i, c)| over rows `rows` (all when empty), in double.
template <class T>
double max_abs(MatrixView<const T> Y, std::span<const index_t> rows = {}) {
  double out = 0;
  const index_t n = rows.empty() ? Y.rows() : static_cast<index_t>(rows.size());
  for (index_t r = 0; r < n; ++r) {
    const index_t i = rows.empty() ? r : rows[static_cast<std::size_t>(r)];
    for (index_t c = 0; c < Y.cols(); ++c) out = std::max(out, std::abs(double{Y(i, c)}));
  }
  return out;
}

// A's entries times 2^-e (exact: a power of two), for the rows `rows` (all when empty).
template <class T>
Matrix<T> scaled(MatrixView<const T> A, int e, std::span<const index_t> rows = {}) {
  const index_t m = rows.empty() ? A.rows() : static_cast<index_t>(rows.size());
  Matrix<T> out(m, A.cols());
  for (index_t r = 0; r < m; ++r) {
    const index_t i = rows.empty() ? r : rows[static_cast<std::size_t>(r)];
    for (index_t c = 0; c < A.cols(); ++c) out(r, c) = std::ldexp(A(i, c), -e);
  }
  return out;
}

// Predictions back to the targets' scale (times 2^e, e > 0 only near T's
// range); the clamp keeps a weighted mean that rounded an ulp past the
// largest |y| finite.
template <class T>
void unscale(MatrixView<T> out, int e) {
  if (e == 0) return;
  const T limit = std::ldexp(std::numeric_limits<T>::max(), -e);
  for (index_t i = 0; i < out.rows(); ++i) {
    for (index_t j = 0; j < out.cols(); ++j)
      out(i, j) = std::ldexp(std::clamp(out(i, j), -limit, limit), e);
  }
}

}  // namespace kreg::nw
