// scikit-learn's StandardScaler (with_mean=True, with_std=True).
//
// fit: each column's mean and population variance (ddof = 0), two passes with
// long double accumulators. A column whose variance is indistinguishable from
// 0 by scikit-learn's test (_is_constant_feature: var <= n*eps*var +
// (n*mean*eps)^2) gets scale 1; the others get sqrt(var).
// transform: (x - mean) / scale with mean and scale first rounded to T, as
// scikit-learn does (X -= mean_.astype(X.dtype); X /= scale_.astype(X.dtype)).
#include <cmath>
#include <limits>
#include <utility>
#include <vector>

#include <fmt/format.h>

#include "kreg/data.hpp"
#include "kreg/error.hpp"

namespace kreg {

template <class T>
StandardScaler<T>& StandardScaler<T>::fit(MatrixView<const T> X) {
  if (X.rows() < 1 || X.cols() < 1) {
    throw ArgumentError(
        fmt::format("StandardScaler.fit: X must have at least 1 row and 1 column, got {} x {}",
                    X.rows(), X.cols()));
  }
  const index_t n = X.rows();
  const index_t d = X.cols();
  std::vector<long double> sum(static_cast<std::size_t>(d), 0.0L);
  for (index_t i = 0; i < n; ++i) {
    for (index_t j = 0; j < d; ++j) sum[static_cast<std::size_t>(j)] += X(i, j);
  }
  std::vector<long double> mean(static_cast<std::size_t>(d));
  for (index_t j = 0; j < d; ++j) {
    mean[static_cast<std::size_t>(j)] = sum[static_cast<std::size_t>(j)] / n;
  }
  std::vector<long double> ss(static_cast<std::size_t>(d), 0.0L);
  for (index_t i = 0; i < n; ++i) {
    for (index_t j = 0; j < d; ++j) {
      const long double dev = X(i, j) - mean[static_cast<std::size_t>(j)];
      ss[static_cast<std::size_t>(j)] += dev * dev;
    }
  }
  constexpr double eps = std::numeric_limits<double>::epsilon();
  const auto count = static_cast<double>(n);
  std::vector<double> new_mean(static_cast<std::size_t>(d));
  std::vector<double> new_scale(static_cast<std::size_t>(d));
  for (index_t j = 0; j < d; ++j) {
    const auto m = static_cast<double>(mean[static_cast<std::size_t>(j)]);
    const auto var = static_cast<double>(ss[static_cast<std::size_t>(j)] / n);
    const double bound = count * eps * var + (count * m * eps) * (count * m * eps);
    new_mean[static_cast<std::size_t>(j)] = m;
    new_scale[static_cast<std::size_t>(j)] = var <= bound ? 1.0 : std::sqrt(var);
  }
  mean_ = std::move(new_mean);
  scale_ = std::move(new_scale);
  return *this;
}

template <class T>
Matrix<T> StandardScaler<T>::transform(MatrixView<const T> X) const {
  if (scale_.empty()) {
    throw ArgumentError("StandardScaler.transform: the scaler is not fitted; call fit first");
  }
  const auto d = static_cast<index_t>(mean_.size());
  if (X.cols() != d) {
    throw ArgumentError(
        fmt::format("StandardScaler was fitted with {} features but X has {}", d, X.cols()));
  }
  std::vector<T> mean(mean_.size());
  std::vector<T> scale(scale_.size());
  for (std::size_t j = 0; j < mean_.size(); ++j) {
    mean[j] = static_cast<T>(mean_[j]);
    scale[j] = static_cast<T>(scale_[j]);
  }
  Matrix<T> out(X.rows(), d);
  for (index_t i = 0; i < X.rows(); ++i) {
    for (index_t j = 0; j < d; ++j) {
      out(i, j) =
          (X(i, j) - mean[static_cast<std::size_t>(j)]) / scale[static_cast<std::size_t>(j)];
    }
  }
  return out;
}

template class StandardScaler<float>;
template class StandardScaler<double>;

}  // namespace kreg
