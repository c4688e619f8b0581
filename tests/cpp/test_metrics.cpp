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
  EXPECT_EQ(r2(D{5, 5}, D{5, 5}), 1.0);
  EXPECT_EQ(r2(D{5, 5}, D{5, 4}), 0.0);
}

TEST(Metrics, R2OfOneSampleIsUndefined) {
  // scikit-learn: "R^2 score is not well-defined with less than two samples"
  // (UndefinedMetricWarning) and NaN, even for an exact prediction.
  EXPECT_TRUE(std::isnan(r2(D{5}, D{4})));
  EXPECT_TRUE(std::isnan(r2(D{5}, D{5})));
  EXPECT_TRUE(std::isnan(kreg::r2_score<float>(F{1.0F}, F{1.0F})));
  // The other scores are defined for one sample.
  EXPECT_EQ(mse(D{5}, D{4}), 1.0);
  EXPECT_EQ(mae(D{5}, D{4}), 1.0);
}

// Finite input gives a finite score, or a clear error where the true value is
// beyond double's range; never inf or NaN.
TEST(Metrics, ValuesNearDoubleMax) {
  const double big = std::numeric_limits<double>::max();
  const D t = {1e308, -1e308, 1.5e308, big};
  const D p = {1.2e308, -0.9e308, 1.4e308, big};
  // R^2 is scale-free: the same as for the values divided by 2^1000.
  D ts, ps;
  for (const double v : t) ts.push_back(std::ldexp(v, -1000));
  for (const double v : p) ps.push_back(std::ldexp(v, -1000));
  EXPECT_TRUE(std::isfinite(r2(t, p)));
  EXPECT_DOUBLE_EQ(r2(t, p), r2(ts, ps));
  // Squares beyond double, mean inside it.
  const long double e = 1.5e154L;
  EXPECT_DOUBLE_EQ(mse(D{1.5e154, 0, 0, 0}, D{0, 0, 0, 0}), static_cast<double>(e * e / 4));
  EXPECT_DOUBLE_EQ(mae(D{big, 0}, D{-big, 0}), big);
  const double f = 3e38F;  // squares beyond float's range: the result is a double
  EXPECT_DOUBLE_EQ(kreg::mean_squared_error<float>(F{3e38F, 0}, F{-3e38F, 0}), 2 * f * f);
  expect_argument_error(
      [] { mse(D{1e200}, D{-1e200}); },
      "mean_squared_error: the mean squared error is beyond the range of double (1.8e308): the "
      "values are too large for it; divide them by a power of ten first");
  expect_argument_error(
      [&] {
        mae(D{big, big}, D{-big, -big});
      },
      "mean_absolute_error: the mean absolute error is beyond the range of double (1.8e308): the "
      "values are too large for it; divide them by a power of ten first");
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
