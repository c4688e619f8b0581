// generate_data, train_test_split, kfold, stratified_kfold, take_rows and
// StandardScaler. Expected index lists and numbers were printed by numpy 2.4
// and scikit-learn 1.9; tests/python/test_data_sklearn.py compares many more
// cases against them directly.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <functional>
#include <limits>
#include <map>
#include <numeric>
#include <set>
#include <string>
#include <vector>

#include "kreg/data.hpp"
#include "kreg/error.hpp"
#include "kreg/random.hpp"
#include "test_support.hpp"

namespace {

using kreg::ArgumentError;
using kreg::index_t;
using kreg::Matrix;
using kreg::Split;
using Indices = std::vector<index_t>;

// Runs f, which must throw ArgumentError with exactly `message`.
const auto expect_argument_error = kreg::test::expect_error<kreg::ArgumentError>;

// Each split's train and test are disjoint and together cover 0..n-1.
void expect_partition(const Split& s, index_t n) {
  std::vector<int> seen(static_cast<std::size_t>(n), 0);
  for (index_t i : s.train) {
    ASSERT_GE(i, 0);
    ASSERT_LT(i, n);
    ++seen[static_cast<std::size_t>(i)];
  }
  for (index_t i : s.test) {
    ASSERT_GE(i, 0);
    ASSERT_LT(i, n);
    ++seen[static_cast<std::size_t>(i)];
  }
  for (index_t i = 0; i < n; ++i) EXPECT_EQ(seen[static_cast<std::size_t>(i)], 1) << "index " << i;
}

// The folds' test sets partition 0..n-1; each split partitions it too, and
// both lists are in increasing order as scikit-learn yields them.
void expect_folds(const std::vector<Split>& folds, index_t n, index_t k) {
  ASSERT_EQ(static_cast<index_t>(folds.size()), k);
  std::vector<int> in_test(static_cast<std::size_t>(n), 0);
  for (const Split& s : folds) {
    expect_partition(s, n);
    EXPECT_TRUE(std::is_sorted(s.train.begin(), s.train.end()));
    EXPECT_TRUE(std::is_sorted(s.test.begin(), s.test.end()));
    EXPECT_FALSE(s.test.empty());
    for (index_t i : s.test) ++in_test[static_cast<std::size_t>(i)];
  }
  for (index_t i = 0; i < n; ++i) EXPECT_EQ(in_test[static_cast<std::size_t>(i)], 1);
}

// ---------------------------------------------------------------- generate

TEST(GenerateData, Shapes) {
  const kreg::RegressionData data = kreg::generate_data(50, 7, 1);
  EXPECT_EQ(data.X.rows(), 50);
  EXPECT_EQ(data.X.cols(), 7);
  EXPECT_EQ(data.y.rows(), 50);
  EXPECT_EQ(data.y.cols(), 1);
  EXPECT_EQ(data.coef.size(), 7U);
}

TEST(GenerateData, MatchesNumpy) {
  // np.random.seed(123); X = normal(size=(4, 3)); coef = normal(size=3);
  // intercept = normal(); y = X @ coef + intercept + normal(size=4)
  const kreg::RegressionData data = kreg::generate_data(4, 3, 123);
  const std::vector<std::vector<double>> X = {
      {-1.0856306033005612, 0.9973454465835858, 0.28297849805199204},
      {-1.506294713918092, -0.5786002519685364, 1.651436537097151},
      {-2.426679243393074, -0.42891262885617726, 1.265936258705534},
      {-0.8667404022651017, -0.6788861516220543, -0.09470896893689112}};
  for (index_t i = 0; i < 4; ++i) {
    for (index_t j = 0; j < 3; ++j) {
      EXPECT_EQ(data.X(i, j), X[static_cast<std::size_t>(i)][static_cast<std::size_t>(j)]);
    }
  }
  const std::vector<double> coef = {1.4913896261242878, -0.638901996684651, -0.44398195964606546};
  EXPECT_EQ(data.coef, coef);
  EXPECT_EQ(data.intercept, -0.43435127561851733);
  const std::vector<double> y = {-0.6103627577679922, -0.8575766705745904, -3.3374413532148246,
                                 -0.8650217295070777};
  for (index_t i = 0; i < 4; ++i) {
    EXPECT_NEAR(data.y(i, 0), y[static_cast<std::size_t>(i)], 1e-14);
  }
}

TEST(GenerateData, DrawOrderIsXCoefInterceptNoise) {
  const index_t n = 5;
  const index_t d = 3;
  const kreg::RegressionData data = kreg::generate_data(n, d, 77);
  kreg::LegacyRandom rng(77);
  for (index_t i = 0; i < n; ++i) {
    for (index_t j = 0; j < d; ++j) EXPECT_EQ(data.X(i, j), rng.normal());
  }
  for (double c : data.coef) EXPECT_EQ(c, rng.normal());
  EXPECT_EQ(data.intercept, rng.normal());
  for (index_t i = 0; i < n; ++i) {
    double dot = 0.0;
    for (index_t j = 0; j < d; ++j) dot += data.X(i, j) * data.coef[static_cast<std::size_t>(j)];
    EXPECT_EQ(data.y(i, 0), dot + data.intercept + rng.normal());
  }
}

TEST(GenerateData, ReproducibleAndSeedDependent) {
  const auto a = kreg::generate_data(20, 2, 5);
  const auto b = kreg::generate_data(20, 2, 5);
  const auto c = kreg::generate_data(20, 2, 6);
  EXPECT_TRUE(std::equal(a.X.data(), a.X.data() + a.X.size(), b.X.data()));
  EXPECT_TRUE(std::equal(a.y.data(), a.y.data() + a.y.size(), b.y.data()));
  EXPECT_FALSE(std::equal(a.X.data(), a.X.data() + a.X.size(), c.X.data()));
}

TEST(GenerateData, Errors) {
  expect_argument_error([] { kreg::generate_data(0, 3, 1); },
                        "generate_data: n must be >= 1, got 0");
  expect_argument_error([] { kreg::generate_data(-4, 3, 1); },
                        "generate_data: n must be >= 1, got -4");
  expect_argument_error([] { kreg::generate_data(10, 0, 1); },
                        "generate_data: d must be >= 1, got 0");
}

// -------------------------------------------------------- train_test_split

TEST(TrainTestSplit, MatchesScikitLearn) {
  // train_test_split(np.arange(10), test_size=0.3, random_state=42)
  const Split s = kreg::train_test_split(10, 0.3, 42);
  EXPECT_EQ(s.train, (Indices{0, 7, 2, 9, 4, 3, 6}));
  EXPECT_EQ(s.test, (Indices{8, 1, 5}));
  // train_test_split(np.arange(7), test_size=0.25, random_state=0): ceil(1.75) = 2
  const Split t = kreg::train_test_split(7, 0.25, 0);
  EXPECT_EQ(t.train, (Indices{1, 3, 0, 5, 4}));
  EXPECT_EQ(t.test, (Indices{6, 2}));
}

TEST(TrainTestSplit, SizesAndPartition) {
  for (index_t n : {2, 3, 10, 101, 10000}) {
    for (double ts : {0.01, 0.2, 0.5, 0.75}) {
      const auto n_test = static_cast<index_t>(std::ceil(ts * static_cast<double>(n)));
      if (n_test >= n) continue;
      const Split s = kreg::train_test_split(n, ts, 3);
      EXPECT_EQ(static_cast<index_t>(s.test.size()), n_test);
      EXPECT_EQ(static_cast<index_t>(s.train.size()), n - n_test);
      expect_partition(s, n);
    }
  }
}

TEST(TrainTestSplit, TutorialSizes) {
  const Split s = kreg::train_test_split(10000, 0.2, 42);
  EXPECT_EQ(s.test.size(), 2000U);
  EXPECT_EQ(s.train.size(), 8000U);
  expect_partition(s, 10000);
}

TEST(TrainTestSplit, Errors) {
  expect_argument_error([] { kreg::train_test_split(10, 0.0, 1); },
                        "train_test_split: test_size must be in (0, 1), got 0");
  expect_argument_error([] { kreg::train_test_split(10, 1.0, 1); },
                        "train_test_split: test_size must be in (0, 1), got 1");
  expect_argument_error([] { kreg::train_test_split(10, -0.5, 1); },
                        "train_test_split: test_size must be in (0, 1), got -0.5");
  expect_argument_error(
      [] { kreg::train_test_split(10, std::numeric_limits<double>::quiet_NaN(), 1); },
      "train_test_split: test_size must be in (0, 1), got nan");
  expect_argument_error([] { kreg::train_test_split(1, 0.5, 1); },
                        "train_test_split: n must be >= 2 (one train and one test row), got 1");
  expect_argument_error([] { kreg::train_test_split(0, 0.5, 1); },
                        "train_test_split: n must be >= 2 (one train and one test row), got 0");
  expect_argument_error([] { kreg::train_test_split(4, 0.9, 1); },
                        "train_test_split: test_size = 0.9 with n = 4 leaves the train set "
                        "empty; use a smaller test_size");
}

// ------------------------------------------------------------------- kfold

TEST(KFold, MatchesScikitLearnUnshuffled) {
  // KFold(3).split(np.zeros(10))
  const auto folds = kreg::kfold(10, 3, false, 0);
  expect_folds(folds, 10, 3);
  EXPECT_EQ(folds[0].test, (Indices{0, 1, 2, 3}));
  EXPECT_EQ(folds[0].train, (Indices{4, 5, 6, 7, 8, 9}));
  EXPECT_EQ(folds[1].test, (Indices{4, 5, 6}));
  EXPECT_EQ(folds[1].train, (Indices{0, 1, 2, 3, 7, 8, 9}));
  EXPECT_EQ(folds[2].test, (Indices{7, 8, 9}));
  EXPECT_EQ(folds[2].train, (Indices{0, 1, 2, 3, 4, 5, 6}));
}

TEST(KFold, MatchesScikitLearnShuffled) {
  // KFold(3, shuffle=True, random_state=0).split(np.zeros(10))
  const auto folds = kreg::kfold(10, 3, true, 0);
  expect_folds(folds, 10, 3);
  EXPECT_EQ(folds[0].test, (Indices{2, 4, 8, 9}));
  EXPECT_EQ(folds[0].train, (Indices{0, 1, 3, 5, 6, 7}));
  EXPECT_EQ(folds[1].test, (Indices{1, 6, 7}));
  EXPECT_EQ(folds[1].train, (Indices{0, 2, 3, 4, 5, 8, 9}));
  EXPECT_EQ(folds[2].test, (Indices{0, 3, 5}));
  EXPECT_EQ(folds[2].train, (Indices{1, 2, 4, 6, 7, 8, 9}));
}

TEST(KFold, FoldSizes) {
  for (index_t n : {2, 5, 10, 11, 99, 1000}) {
    for (index_t k : {2, 3, 5, 7}) {
      if (k > n) continue;
      for (bool shuffle : {false, true}) {
        const auto folds = kreg::kfold(n, k, shuffle, 9);
        expect_folds(folds, n, k);
        for (index_t f = 0; f < k; ++f) {
          const index_t expected = n / k + (f < n % k ? 1 : 0);
          EXPECT_EQ(static_cast<index_t>(folds[static_cast<std::size_t>(f)].test.size()), expected);
        }
      }
    }
  }
}

TEST(KFold, UnshuffledIgnoresSeed) {
  const auto a = kreg::kfold(17, 4, false, 1);
  const auto b = kreg::kfold(17, 4, false, 12345);
  for (std::size_t f = 0; f < a.size(); ++f) {
    EXPECT_EQ(a[f].test, b[f].test);
    EXPECT_EQ(a[f].train, b[f].train);
  }
}

TEST(KFold, LeaveOneOut) {
  const auto folds = kreg::kfold(4, 4, false, 0);
  expect_folds(folds, 4, 4);
  for (index_t f = 0; f < 4; ++f) EXPECT_EQ(folds[static_cast<std::size_t>(f)].test, Indices{f});
}

TEST(KFold, Errors) {
  expect_argument_error([] { kreg::kfold(10, 1, false, 0); },
                        "kfold: k must be >= 2 (at least two folds), got 1");
  expect_argument_error([] { kreg::kfold(10, 0, true, 0); },
                        "kfold: k must be >= 2 (at least two folds), got 0");
  expect_argument_error([] { kreg::kfold(3, 5, false, 0); },
                        "kfold: k must be <= the number of samples, got k = 5 with 3 samples");
  expect_argument_error([] { kreg::kfold(0, 2, false, 0); }, "kfold: n must be >= 1, got 0");
  expect_argument_error([] { kreg::kfold(-3, 2, false, 0); }, "kfold: n must be >= 1, got -3");
}

// -------------------------------------------------------- stratified_kfold

TEST(StratifiedKFold, MatchesScikitLearn) {
  // StratifiedKFold(3[, shuffle=True, random_state=1]).split(np.zeros(12), y)
  const std::vector<double> y = {0, 0, 1, 1, 1, 0, 2, 1, 1, 0, 2, 1};
  const auto plain = kreg::stratified_kfold(y, 3, false, 0);
  expect_folds(plain, 12, 3);
  EXPECT_EQ(plain[0].test, (Indices{0, 1, 2, 3}));
  EXPECT_EQ(plain[1].test, (Indices{4, 5, 6, 7}));
  EXPECT_EQ(plain[2].test, (Indices{8, 9, 10, 11}));
  EXPECT_EQ(plain[1].train, (Indices{0, 1, 2, 3, 8, 9, 10, 11}));
  const auto shuffled = kreg::stratified_kfold(y, 3, true, 1);
  expect_folds(shuffled, 12, 3);
  EXPECT_EQ(shuffled[0].test, (Indices{4, 5, 9, 11}));
  EXPECT_EQ(shuffled[0].train, (Indices{0, 1, 2, 3, 6, 7, 8, 10}));
  EXPECT_EQ(shuffled[1].test, (Indices{1, 3, 6, 8}));
  EXPECT_EQ(shuffled[2].test, (Indices{0, 2, 7, 10}));
}

TEST(StratifiedKFold, KeepsClassProportions) {
  // 60 / 30 / 10 members: each of 5 folds gets 12 / 6 / 2.
  std::vector<double> y;
  kreg::LegacyRandom rng(4);
  for (int i = 0; i < 60; ++i) y.push_back(1.0);
  for (int i = 0; i < 30; ++i) y.push_back(-2.5);
  for (int i = 0; i < 10; ++i) y.push_back(7.0);
  std::vector<index_t> order(y.size());
  std::iota(order.begin(), order.end(), 0);
  rng.shuffle(order);
  std::vector<double> mixed(y.size());
  for (std::size_t i = 0; i < y.size(); ++i) mixed[i] = y[static_cast<std::size_t>(order[i])];
  for (bool shuffle : {false, true}) {
    const auto folds = kreg::stratified_kfold(mixed, 5, shuffle, 2);
    expect_folds(folds, 100, 5);
    for (const Split& s : folds) {
      std::map<double, int> counts;
      for (index_t i : s.test) ++counts[mixed[static_cast<std::size_t>(i)]];
      EXPECT_EQ(counts[1.0], 12);
      EXPECT_EQ(counts[-2.5], 6);
      EXPECT_EQ(counts[7.0], 2);
    }
  }
}

TEST(StratifiedKFold, UnevenClassesDifferByAtMostOne) {
  std::vector<double> y;
  for (int i = 0; i < 103; ++i) y.push_back(i % 7 == 0 ? 1.0 : (i % 3 == 0 ? 2.0 : 0.0));
  const auto folds = kreg::stratified_kfold(y, 4, true, 8);
  expect_folds(folds, 103, 4);
  for (double label : {0.0, 1.0, 2.0}) {
    int lo = 1 << 30;
    int hi = 0;
    for (const Split& s : folds) {
      const auto c = static_cast<int>(std::count_if(s.test.begin(), s.test.end(), [&](index_t i) {
        return y[static_cast<std::size_t>(i)] == label;
      }));
      lo = std::min(lo, c);
      hi = std::max(hi, c);
    }
    EXPECT_LE(hi - lo, 1) << "label " << label;
  }
}

TEST(StratifiedKFold, SmallClassIsAllowed) {
  // scikit-learn only warns when some (not every) class is smaller than k.
  const std::vector<double> y = {0, 0, 0, 0, 0, 1};
  const auto folds = kreg::stratified_kfold(y, 3, false, 0);
  expect_folds(folds, 6, 3);
}

TEST(StratifiedKFold, SingleClass) {
  const std::vector<double> y(9, 4.0);
  const auto folds = kreg::stratified_kfold(y, 3, false, 0);
  expect_folds(folds, 9, 3);
  EXPECT_EQ(folds[0].test, (Indices{0, 1, 2}));
}

TEST(StratifiedKFold, Errors) {
  const std::vector<double> y = {0, 0, 1, 1, 2, 2};
  expect_argument_error([&] { kreg::stratified_kfold(y, 1, false, 0); },
                        "stratified_kfold: k must be >= 2 (at least two folds), got 1");
  expect_argument_error([&] { kreg::stratified_kfold(y, 3, false, 0); },
                        "stratified_kfold: k = 3 is greater than the number of members of "
                        "every class (the largest class has 2); use k <= 2");
  expect_argument_error(
      [&] { kreg::stratified_kfold(y, 7, false, 0); },
      "stratified_kfold: k must be <= the number of samples, got k = 7 with 6 samples");
  expect_argument_error([] { kreg::stratified_kfold(std::vector<double>{}, 2, false, 0); },
                        "stratified_kfold: labels is empty; need at least one label");
  const std::vector<double> with_nan = {0, 1, std::numeric_limits<double>::quiet_NaN(), 1};
  expect_argument_error([&] { kreg::stratified_kfold(with_nan, 2, false, 0); },
                        "stratified_kfold: labels[2] is NaN");
}

// -------------------------------------------------------------- take_rows

TEST(TakeRows, CopiesRowsInOrder) {
  Matrix<double> m(4, 2);
  for (index_t i = 0; i < 4; ++i) {
    m(i, 0) = static_cast<double>(i);
    m(i, 1) = 10.0 * static_cast<double>(i);
  }
  const Indices rows = {3, 0, 3};
  const Matrix<double> t = kreg::take_rows<double>(m.view(), rows);
  ASSERT_EQ(t.rows(), 3);
  ASSERT_EQ(t.cols(), 2);
  EXPECT_EQ(t(0, 0), 3.0);
  EXPECT_EQ(t(0, 1), 30.0);
  EXPECT_EQ(t(1, 1), 0.0);
  EXPECT_EQ(t(2, 0), 3.0);
}

TEST(TakeRows, HonoursLeadingDimension) {
  std::vector<float> buffer = {1, 2, 99, 3, 4, 99, 5, 6, 99};
  const kreg::MatrixView<const float> v(buffer.data(), 3, 2, 3);
  const Indices rows = {2, 1};
  const Matrix<float> t = kreg::take_rows<float>(v, rows);
  EXPECT_EQ(t(0, 0), 5.0F);
  EXPECT_EQ(t(0, 1), 6.0F);
  EXPECT_EQ(t(1, 0), 3.0F);
  EXPECT_EQ(t(1, 1), 4.0F);
}

TEST(TakeRows, Bytes) {
  std::vector<std::uint8_t> buffer = {1, 2, 3, 4, 5, 6};
  const kreg::MatrixView<const std::uint8_t> v(buffer.data(), 3, 2);
  const Matrix<std::uint8_t> t = kreg::take_rows<std::uint8_t>(v, Indices{1});
  ASSERT_EQ(t.rows(), 1);
  EXPECT_EQ(t(0, 0), 3);
  EXPECT_EQ(t(0, 1), 4);
  EXPECT_EQ(kreg::take_rows<std::uint8_t>(v, Indices{}).rows(), 0);
}

TEST(TakeRows, Errors) {
  Matrix<double> m(3, 2);
  expect_argument_error(
      [&] {
        kreg::take_rows<double>(m.view(), Indices{0, 3});
      },
      "take_rows: rows[1] = 3 is out of range for a matrix with 3 rows");
  expect_argument_error([&] { kreg::take_rows<double>(m.view(), Indices{-1}); },
                        "take_rows: rows[0] = -1 is out of range for a matrix with 3 rows");
}

// --------------------------------------------------------- StandardScaler

TEST(StandardScaler, MatchesScikitLearn) {
  // StandardScaler().fit(A): the third column is constant, so its scale is 1.
  Matrix<double> a(4, 3);
  const double values[4][3] = {{1, 10, 5}, {2, 20, 5}, {4, 30, 5}, {5, 40, 5}};
  for (index_t i = 0; i < 4; ++i) {
    for (index_t j = 0; j < 3; ++j) a(i, j) = values[i][j];
  }
  kreg::StandardScaler<double> scaler;
  const Matrix<double> t = scaler.fit_transform(a.view());
  EXPECT_EQ(scaler.mean(), (std::vector<double>{3.0, 25.0, 5.0}));
  EXPECT_DOUBLE_EQ(scaler.scale()[0], 1.5811388300841898);
  EXPECT_DOUBLE_EQ(scaler.scale()[1], 11.180339887498949);
  EXPECT_EQ(scaler.scale()[2], 1.0);
  EXPECT_DOUBLE_EQ(t(0, 0), -1.2649110640673518);
  EXPECT_DOUBLE_EQ(t(1, 1), -0.4472135954999579);
  EXPECT_DOUBLE_EQ(t(3, 0), 1.2649110640673518);
  for (index_t i = 0; i < 4; ++i) EXPECT_EQ(t(i, 2), 0.0);

  Matrix<double> b(1, 3);
  b(0, 0) = 3.0;
  b(0, 1) = 25.0;
  b(0, 2) = 6.0;
  const Matrix<double> u = scaler.transform(b.view());
  EXPECT_EQ(u(0, 0), 0.0);
  EXPECT_EQ(u(0, 1), 0.0);
  EXPECT_EQ(u(0, 2), 1.0);
}

TEST(StandardScaler, StandardisesColumns) {
  const kreg::RegressionData data = kreg::generate_data(500, 4, 3);
  Matrix<float> x(500, 4);
  for (index_t i = 0; i < 500; ++i) {
    for (index_t j = 0; j < 4; ++j) x(i, j) = static_cast<float>(3.0 * data.X(i, j) + j);
  }
  kreg::StandardScaler<float> scaler;
  const Matrix<float> t = scaler.fit_transform(x.view());
  for (index_t j = 0; j < 4; ++j) {
    double sum = 0.0;
    double sum2 = 0.0;
    for (index_t i = 0; i < 500; ++i) {
      sum += t(i, j);
      sum2 += static_cast<double>(t(i, j)) * t(i, j);
    }
    EXPECT_NEAR(sum / 500, 0.0, 1e-5);
    EXPECT_NEAR(sum2 / 500, 1.0, 1e-5);
  }
}

TEST(StandardScaler, NearConstantColumnGetsScaleOne) {
  // Variance at rounding level relative to the mean (scikit-learn's
  // _is_constant_feature): treated as constant.
  Matrix<double> a(3, 1);
  a(0, 0) = 1e8;
  a(1, 0) = 1e8;
  a(2, 0) = std::nextafter(1e8, 2e8);
  kreg::StandardScaler<double> scaler;
  scaler.fit(a.view());
  EXPECT_EQ(scaler.scale()[0], 1.0);
}

TEST(StandardScaler, RefitReplacesStatistics) {
  Matrix<double> a(2, 1);
  a(0, 0) = 0.0;
  a(1, 0) = 2.0;
  Matrix<double> b(2, 2);
  b(0, 0) = 1.0;
  b(1, 0) = 1.0;
  b(0, 1) = -1.0;
  b(1, 1) = 1.0;
  kreg::StandardScaler<double> scaler;
  scaler.fit(a.view());
  EXPECT_EQ(scaler.mean(), std::vector<double>{1.0});
  EXPECT_EQ(scaler.scale(), std::vector<double>{1.0});
  scaler.fit(b.view());
  EXPECT_EQ(scaler.mean(), (std::vector<double>{1.0, 0.0}));
  EXPECT_EQ(scaler.scale(), (std::vector<double>{1.0, 1.0}));
}

TEST(StandardScaler, Errors) {
  kreg::StandardScaler<double> scaler;
  Matrix<double> a(3, 2);
  expect_argument_error([&] { (void)scaler.transform(a.view()); },
                        "StandardScaler.transform: the scaler is not fitted; call fit first");
  scaler.fit(a.view());
  Matrix<double> b(3, 5);
  expect_argument_error([&] { (void)scaler.transform(b.view()); },
                        "StandardScaler was fitted with 2 features but X has 5");
  Matrix<double> empty(0, 2);
  expect_argument_error([&] { scaler.fit(empty.view()); },
                        "StandardScaler.fit: X must have at least 1 row and 1 column, got 0 x 2");
}

}  // namespace
