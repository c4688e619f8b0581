// r2_score, mean_squared_error, mean_absolute_error and accuracy_score on
// hand-computable cases (scikit-learn's documentation examples among them),
// edge cases and errors.
#include <gtest/gtest.h>

#include <cmath>
#include <functional>
#include <limits>
#include <span>
#include <string>
#include <vector>

#include "kreg/error.hpp"
#include "kreg/metrics.hpp"
#include "test_support.hpp"

namespace {

using D = std::vector<double>;
using F = std::vector<float>;

double r2(const D& t, const D& p) { return kreg::r2_score<double>(t, p); }
double mse(const D& t, const D& p) { return kreg::mean_squared_error<double>(t, p); }
double mae(const D& t, const D& p) { return kreg::mean_absolute_error<double>(t, p); }
double acc(const D& t, const D& p) { return kreg::accuracy_score<double>(t, p); }

const auto expect_argument_error = kreg::test::expect_error<kreg::ArgumentError>;

TEST(Metrics, ScikitLearnDocExamples) {
  // sklearn.metrics docstrings: y_true = [3, -0.5, 2, 7], y_pred = [2.5, 0.0, 2, 8]
  const D t = {3, -0.5, 2, 7};
  const D p = {2.5, 0.0, 2, 8};
  EXPECT_DOUBLE_EQ(r2(t, p), 0.9486081370449679);
  EXPECT_DOUBLE_EQ(mse(t, p), 0.375);
  EXPECT_DOUBLE_EQ(mae(t, p), 0.5);
  EXPECT_DOUBLE_EQ(acc(D{0, 1, 2, 3}, D{0, 2, 1, 3}), 0.5);
}

TEST(Metrics, HandComputed) {
  // residuals 1, -2, 0 -> SS_res = 5; mean 2 -> SS_tot = 1 + 0 + 1 = 2
  const D t = {1, 2, 3};
  const D p = {0, 4, 3};
  EXPECT_DOUBLE_EQ(r2(t, p), 1.0 - 5.0 / 2.0);
  EXPECT_DOUBLE_EQ(mse(t, p), 5.0 / 3.0);
  EXPECT_DOUBLE_EQ(mae(t, p), 1.0);
  EXPECT_DOUBLE_EQ(acc(t, p), 1.0 / 3.0);
}

TEST(Metrics, PerfectPrediction) {
  const D t = {0.1, 0.7, -3.25, 1e6};
  EXPECT_EQ(r2(t, t), 1.0);
  EXPECT_EQ(mse(t, t), 0.0);
  EXPECT_EQ(mae(t, t), 0.0);
  EXPECT_EQ(acc(t, t), 1.0);
}

TEST(Metrics, PredictingTheMeanGivesR2Zero) {
  const D t = {1, 2, 3, 6};
  EXPECT_EQ(r2(t, D(4, 3.0)), 0.0);
}

TEST(Metrics, R2CanBeNegative) { EXPECT_DOUBLE_EQ(r2(D{1, 2, 3}, D{3, 2, 1}), 1.0 - 8.0 / 2.0); }

TEST(Metrics, ConstantYTrue) {
  // SS_tot = 0: 1 when the prediction is perfect, 0 otherwise (scikit-learn's
  // force_finite). Also for values like 0.1 whose mean does not round back
  // exactly, where scikit-learn itself can return about -1e33.
  EXPECT_EQ(r2(D{3, 3, 3}, D{3, 3, 3}), 1.0);
  EXPECT_EQ(r2(D{3, 3, 3}, D{3, 3, 4}), 0.0);
  EXPECT_EQ(r2(D(3, 0.1), D(3, 0.2)), 0.0);
  EXPECT_EQ(r2(D(1000, 0.1), D(1000, 0.1)), 1.0);
  EXPECT_EQ(r2(D{5}, D{4}), 0.0);
  EXPECT_EQ(r2(D{5}, D{5}), 1.0);
}

TEST(Metrics, SingleValue) {
  EXPECT_EQ(mse(D{2}, D{5}), 9.0);
  EXPECT_EQ(mae(D{2}, D{5}), 3.0);
  EXPECT_EQ(acc(D{2}, D{5}), 0.0);
  EXPECT_EQ(acc(D{2}, D{2}), 1.0);
}

TEST(Metrics, AccuracyIsExactEquality) {
  const D t = {1.0, 2.0, 0.3};
  const D p = {1.0, std::nextafter(2.0, 3.0), 0.1 + 0.2};
  EXPECT_DOUBLE_EQ(acc(t, p), 1.0 / 3.0);
  EXPECT_EQ(acc(D{-0.0}, D{0.0}), 1.0);
}

TEST(Metrics, LongDoubleAccumulation) {
  // 1e16 + 1 + ... loses the ones in double sums; long double keeps them.
  D t(1001, 0.0);
  D p(1001, 0.0);
  t[0] = 1e8;  // squared: 1e16
  for (std::size_t i = 1; i < t.size(); ++i) t[i] = 1.0;
  EXPECT_DOUBLE_EQ(mse(t, p), (1e16 + 1000.0) / 1001.0);
  EXPECT_DOUBLE_EQ(mae(t, p), (1e8 + 1000.0) / 1001.0);
}

TEST(Metrics, Float) {
  const F t = {3.0F, -0.5F, 2.0F, 7.0F};
  const F p = {2.5F, 0.0F, 2.0F, 8.0F};
  EXPECT_DOUBLE_EQ(kreg::r2_score<float>(t, p), 0.9486081370449679);
  EXPECT_DOUBLE_EQ(kreg::mean_squared_error<float>(t, p), 0.375);
  EXPECT_DOUBLE_EQ(kreg::mean_absolute_error<float>(t, p), 0.5);
  EXPECT_DOUBLE_EQ(kreg::accuracy_score<float>(t, p), 0.25);
}

TEST(Metrics, LengthErrors) {
  expect_argument_error(
      [] {
        r2(D{1, 2, 3}, D{1, 2});
      },
      "r2_score: y_true has 3 values but y_pred has 2");
  expect_argument_error(
      [] {
        mse(D{1}, D{1, 2});
      },
      "mean_squared_error: y_true has 1 values but y_pred has 2");
  expect_argument_error([] { mae(D{}, D{1}); },
                        "mean_absolute_error: y_true has 0 values but y_pred has 1");
  expect_argument_error(
      [] {
        acc(D{1, 2}, D{});
      },
      "accuracy_score: y_true has 2 values but y_pred has 0");
  expect_argument_error([] { r2(D{}, D{}); },
                        "r2_score: y_true and y_pred are empty; need at least one value");
  expect_argument_error(
      [] { kreg::accuracy_score<float>(std::span<const float>{}, std::span<const float>{}); },
      "accuracy_score: y_true and y_pred are empty; need at least one value");
}

TEST(Metrics, NonFiniteErrors) {
  const double nan = std::numeric_limits<double>::quiet_NaN();
  const double inf = std::numeric_limits<double>::infinity();
  expect_argument_error(
      [&] {
        r2(D{0, 1, 2, 3, 4, 5}, D{0, 1, 2, 3, 4, nan});
      },
      "r2_score: y_pred[5] is NaN");
  expect_argument_error([&] { mse(D{nan, 1}, D{0, nan}); }, "mean_squared_error: y_true[0] is NaN");
  expect_argument_error(
      [&] {
        mae(D{0, -inf}, D{0, 1});
      },
      "mean_absolute_error: y_true[1] is infinite");
  expect_argument_error([&] { acc(D{0, 1}, D{inf, 1}); }, "accuracy_score: y_pred[0] is infinite");
  const F t = {1.0F, std::numeric_limits<float>::quiet_NaN()};
  expect_argument_error(
      [&] {
        kreg::r2_score<float>(t, F{1.0F, 2.0F});
      },
      "r2_score: y_true[1] is NaN");
}

}  // namespace
