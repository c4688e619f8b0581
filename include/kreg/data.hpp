// kreg/data.hpp - data sets and splits: the tutorial's generate_data and
// scikit-learn's train_test_split, KFold, StratifiedKFold and StandardScaler,
// with the same results for the same seeds.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "kreg/matrix.hpp"

namespace kreg {

// The tutorial's synthetic regression data, before its split:
//   np.random.seed(seed)
//   X = normal(size=(n, d)); coef = normal(size=d); intercept = normal()
//   y = X @ coef + intercept + normal(size=n)
// X is n x d, y is n x 1. X, coef and intercept are numpy's numbers bit for
// bit; y agrees to rounding (numpy forms X @ coef with BLAS, whose summation
// order depends on the CPU).
struct RegressionData {
  Matrix<double> X;
  Matrix<double> y;
  std::vector<double> coef;
  double intercept = 0.0;
};
RegressionData generate_data(index_t n, index_t d, std::uint32_t seed);

// Row indices of one split.
struct Split {
  std::vector<index_t> train;
  std::vector<index_t> test;
};

// scikit-learn's train_test_split(..., test_size, random_state=seed,
// shuffle=True): the test set has ceil(test_size * n) rows, the same rows in
// the same order as scikit-learn's. 0 < test_size < 1; both sides non-empty.
Split train_test_split(index_t n, double test_size, std::uint32_t seed);

// scikit-learn's KFold(n_splits=k, shuffle, random_state=seed): k splits,
// the first n % k folds one row larger. 2 <= k <= n.
std::vector<Split> kfold(index_t n, index_t k, bool shuffle, std::uint32_t seed);

// scikit-learn's StratifiedKFold(n_splits=k, shuffle, random_state=seed):
// each fold keeps the class proportions of `labels`. Throws ArgumentError when
// k < 2 or when every class has fewer than k members.
std::vector<Split> stratified_kfold(std::span<const double> labels, index_t k, bool shuffle,
                                    std::uint32_t seed);

// Rows `rows` of `m`, in that order.
template <class T>
Matrix<T> take_rows(MatrixView<const T> m, std::span<const index_t> rows);

// scikit-learn's StandardScaler: fit learns each column's mean and standard
// deviation (ddof = 0) on training data; transform applies (x - mean) / scale
// to any data with the same column count. A constant column gets scale 1.
template <class T>
class StandardScaler {
 public:
  StandardScaler& fit(MatrixView<const T> X);
  Matrix<T> transform(MatrixView<const T> X) const;
  Matrix<T> fit_transform(MatrixView<const T> X) { return fit(X).transform(X); }
  const std::vector<double>& mean() const { return mean_; }
  const std::vector<double>& scale() const { return scale_; }

 private:
  std::vector<double> mean_;
  std::vector<double> scale_;
};

}  // namespace kreg
