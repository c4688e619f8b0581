// The reference engine (Engine::reference) and, through it, the numerical
// contract of NadarayaWatson: agreement with the textbook formula, the
// tutorial's R^2, the limits of tiny and huge bandwidths, data far from the
// origin, compact kernels' isolated queries, thread-count invariance, and
// Fashion-MNIST pixels over sixteen decades of bandwidth.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <limits>
#include <numeric>
#include <span>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "kreg/data.hpp"
#include "kreg/io/idx.hpp"
#include "kreg/matrix.hpp"
#include "kreg/metrics.hpp"
#include "kreg/nw.hpp"
#include "kreg/random.hpp"
#include "nw/cpu/engines.hpp"

namespace {

using kreg::Engine;
using kreg::index_t;
using kreg::Kernel;
using kreg::Matrix;
using kreg::MatrixView;
using real = long double;

constexpr Kernel kKernels[] = {Kernel::gaussian, Kernel::epanechnikov, Kernel::tricube,
                               Kernel::uniform};
constexpr double kBandwidths[] = {1e-8, 1e-4, 1e-2, 1, 1e2, 1e4, 1e8};

template <class T>
Matrix<T> cast(const Matrix<double>& m) {
  return Matrix<T>::from(m.view());
}

template <class T>
std::vector<T> cast(const std::vector<double>& v) {
  return std::vector<T>(v.begin(), v.end());
}

// rows x cols standard normal values.
Matrix<double> normal_matrix(kreg::LegacyRandom& rng, index_t rows, index_t cols) {
  Matrix<double> m(rows, cols);
  for (index_t i = 0; i < rows; ++i) {
    for (index_t j = 0; j < cols; ++j) m(i, j) = rng.normal();
  }
  return m;
}

kreg::NadarayaWatsonOptions reference_options(Kernel kernel, std::vector<double> bandwidth,
                                              int n_jobs = 1) {
  return {kernel, std::move(bandwidth), Engine::reference, n_jobs};
}

// Fits on (X, Y[, w]) converted to T and predicts Z.
template <class T>
Matrix<T> fit_predict(const kreg::NadarayaWatsonOptions& options, const Matrix<double>& X,
                      const Matrix<double>& Y, const Matrix<double>& Z,
                      const std::vector<double>& weights = {},
                      kreg::PredictReport* report = nullptr) {
  const Matrix<T> Xt = cast<T>(X), Yt = cast<T>(Y), Zt = cast<T>(Z);
  const std::vector<T> wt = cast<T>(weights);
  kreg::NadarayaWatson<T> model(options);
  model.fit(Xt, Yt, wt);
  return model.predict(Zt, report);
}

// The textbook Gaussian Nadaraya-Watson estimate, straight from its
// definition: sum_j s_j exp(-||(z - x_j) / h||^2 / 2) y_j / sum_j s_j exp(...),
// in long double on the T values of the inputs (no centring, no shift).
template <class T>
Matrix<double> textbook(const Matrix<T>& X, const Matrix<T>& Y, const Matrix<T>& Z,
                        const std::vector<double>& h, const std::vector<T>& weights) {
  Matrix<double> out(Z.rows(), Y.cols());
  for (index_t i = 0; i < Z.rows(); ++i) {
    real den = 0;
    std::vector<real> num(static_cast<std::size_t>(Y.cols()), 0);
    for (index_t j = 0; j < X.rows(); ++j) {
      real u2 = 0;
      for (index_t f = 0; f < X.cols(); ++f) {
        const real hf = h.size() == 1 ? h[0] : h[static_cast<std::size_t>(f)];
        const real t = (static_cast<real>(Z(i, f)) - static_cast<real>(X(j, f))) / hf;
        u2 += t * t;
      }
      const real w = (weights.empty() ? 1 : static_cast<real>(weights[j])) * std::exp(-u2 / 2);
      den += w;
      for (index_t c = 0; c < Y.cols(); ++c) num[c] += w * static_cast<real>(Y(j, c));
    }
    for (index_t c = 0; c < Y.cols(); ++c) out(i, c) = static_cast<double>(num[c] / den);
  }
  return out;
}

// |a - b| <= tol * max(1, |b|) for every element.
template <class T>
void expect_close(const Matrix<T>& a, const Matrix<double>& b, double tol,
                  const std::string& what) {
  ASSERT_EQ(a.rows(), b.rows()) << what;
  ASSERT_EQ(a.cols(), b.cols()) << what;
  for (index_t i = 0; i < a.rows(); ++i) {
    for (index_t c = 0; c < a.cols(); ++c) {
      const double x = static_cast<double>(a(i, c));
      EXPECT_LE(std::abs(x - b(i, c)), tol * std::max(1.0, std::abs(b(i, c))))
          << what << " at (" << i << ", " << c << "): " << x << " vs " << b(i, c);
    }
  }
}

template <class T>
void expect_all_finite(const Matrix<T>& a, const std::string& what) {
  index_t bad = 0;
  for (index_t i = 0; i < a.size(); ++i) bad += std::isfinite(a.data()[i]) ? 0 : 1;
  EXPECT_EQ(bad, 0) << what << ": " << bad << " non-finite predictions";
}

template <class T>
double tolerance() {
  return std::is_same_v<T, float> ? 5e-6 : 1e-13;
}

// ---------------------------------------------------------------------------
// Hand-computed cases (one feature, bandwidth 1).

struct Hand {
  std::vector<double> x, y;
  double z;
};

template <class T>
T predict_1d(Kernel kernel, const Hand& c, kreg::PredictReport* report = nullptr) {
  const auto n = static_cast<index_t>(c.x.size());
  Matrix<double> X(n, 1), Y(n, 1), Z(1, 1);
  for (index_t j = 0; j < n; ++j) X(j, 0) = c.x[j], Y(j, 0) = c.y[j];
  Z(0, 0) = c.z;
  return fit_predict<T>(reference_options(kernel, {1.0}), X, Y, Z, {}, report)(0, 0);
}

template <class T>
class NwReferenceTyped : public ::testing::Test {};
using Types = ::testing::Types<float, double>;
TYPED_TEST_SUITE(NwReferenceTyped, Types);

TYPED_TEST(NwReferenceTyped, HandComputedKernels) {
  using T = TypeParam;
  // Gaussian, symmetric: the midpoint of two points is their mean.
  EXPECT_EQ(predict_1d<T>(Kernel::gaussian, {{0, 1}, {0, 1}, 0.5}), T(0.5));
  // Gaussian, u = 0 and 1: weights 1 and exp(-1/2).
  const real g = std::exp(-0.5L);
  EXPECT_NEAR(predict_1d<T>(Kernel::gaussian, {{0, 1}, {2, 6}, 0}),
              static_cast<double>((2 + 6 * g) / (1 + g)), tolerance<T>() * 6);
  // Epanechnikov: u^2 = 0.25, 0.25, 20.25 -> weights 0.75, 0.75, 0. (The
  // training means here are exact, so centring rounds nothing.)
  EXPECT_EQ(predict_1d<T>(Kernel::epanechnikov, {{0, 1, 5}, {1, 2, 10}, 0.5}), T(1.5));
  // Epanechnikov, u^2 = 0.25 and 2.25 -> weights 0.75 and 0.
  EXPECT_EQ(predict_1d<T>(Kernel::epanechnikov, {{0, 2}, {3, 7}, 0.5}), T(3));
  // Tricube: u = 0.25 and 0.75 -> weights (63/64)^3 and (37/64)^3.
  const real a = 63.0L * 63 * 63, b = 37.0L * 37 * 37;
  EXPECT_NEAR(predict_1d<T>(Kernel::tricube, {{0, 1}, {1, 2}, 0.25}),
              static_cast<double>((a + 2 * b) / (a + b)), tolerance<T>());
  // Uniform: u = 0.5 and 1.5 -> only the first counts.
  EXPECT_EQ(predict_1d<T>(Kernel::uniform, {{0, 2}, {5, 9}, 0.5}), T(5));
  // Uniform includes u == 1 exactly; the other compact kernels give it 0,
  // so the query is isolated and gets the mean of its two nearest points.
  kreg::PredictReport report;
  EXPECT_EQ(predict_1d<T>(Kernel::uniform, {{0, 2}, {5, 9}, 1}, &report), T(7));
  EXPECT_EQ(report.isolated, 0);
  EXPECT_EQ(report.engine, Engine::reference);
  for (const Kernel kernel : {Kernel::epanechnikov, Kernel::tricube}) {
    EXPECT_EQ(predict_1d<T>(kernel, {{0, 2, 7}, {5, 9, 100}, 1}, &report), T(7));
    EXPECT_EQ(report.isolated, 1) << to_string(kernel);
  }
}

// ---------------------------------------------------------------------------
// Against the textbook formula.

struct Problem {
  Matrix<double> X, Y, Z;
  std::vector<double> weights;
};

Problem random_problem(std::uint32_t seed, index_t n, index_t d, index_t k, index_t m) {
  kreg::LegacyRandom rng(seed);
  Problem p{normal_matrix(rng, n, d), normal_matrix(rng, n, k), normal_matrix(rng, m, d), {}};
  // Move the data away from the origin a little, and give the targets an
  // offset, so that centring and the output columns are all exercised.
  for (index_t j = 0; j < n; ++j) {
    for (index_t f = 0; f < d; ++f) p.X(j, f) += 3.0 + static_cast<double>(f);
    for (index_t c = 0; c < k; ++c) p.Y(j, c) = p.Y(j, c) * (1.0 + c) + 10.0 * c;
  }
  for (index_t i = 0; i < m; ++i) {
    for (index_t f = 0; f < d; ++f) p.Z(i, f) = 1.5 * p.Z(i, f) + 3.0 + static_cast<double>(f);
  }
  for (index_t j = 0; j < n; ++j) p.weights.push_back(0.1 + 2 * rng.uniform());
  p.weights[3] = 0;  // a zero weight is allowed and removes the point
  return p;
}

TYPED_TEST(NwReferenceTyped, MatchesTextbookFormula) {
  using T = TypeParam;
  const Problem p = random_problem(7, 50, 3, 3, 20);
  const Matrix<T> Xt = cast<T>(p.X), Yt = cast<T>(p.Y), Zt = cast<T>(p.Z);
  const std::vector<T> wt = cast<T>(p.weights);
  for (const double h : {0.3, 0.7, 1.5, 4.0}) {
    const std::string what = fmt::format("h = {}", h);
    expect_close(fit_predict<T>(reference_options(Kernel::gaussian, {h}), p.X, p.Y, p.Z),
                 textbook(Xt, Yt, Zt, {h}, {}), tolerance<T>(), what);
    expect_close(fit_predict<T>(reference_options(Kernel::gaussian, {h}), p.X, p.Y, p.Z, p.weights),
                 textbook(Xt, Yt, Zt, {h}, wt), tolerance<T>(), what + ", sample weights");
  }
}

TYPED_TEST(NwReferenceTyped, PerFeatureBandwidth) {
  using T = TypeParam;
  const Problem p = random_problem(11, 50, 3, 3, 20);
  const std::vector<double> h = {0.4, 1.0, 2.5};
  const Matrix<T> Xt = cast<T>(p.X), Yt = cast<T>(p.Y), Zt = cast<T>(p.Z);
  const std::vector<T> wt = cast<T>(p.weights);
  const auto options = reference_options(Kernel::gaussian, h);
  const Matrix<T> per_feature = fit_predict<T>(options, p.X, p.Y, p.Z, p.weights);
  expect_close(per_feature, textbook(Xt, Yt, Zt, h, wt), tolerance<T>(), "per-feature h");

  // The same as dividing feature f by h_f and using bandwidth 1.
  Matrix<double> Xs = p.X, Zs = p.Z;
  for (index_t f = 0; f < 3; ++f) {
    for (index_t j = 0; j < Xs.rows(); ++j) Xs(j, f) /= h[f];
    for (index_t i = 0; i < Zs.rows(); ++i) Zs(i, f) /= h[f];
  }
  const Matrix<T> scaled =
      fit_predict<T>(reference_options(Kernel::gaussian, {1.0}), Xs, p.Y, Zs, p.weights);
  expect_close(per_feature, Matrix<double>::from(scaled.view()), tolerance<T>(),
               "per-feature h vs scaled features");

  // And a per-feature bandwidth with equal values is the scalar one.
  for (const Kernel kernel : kKernels) {
    expect_close(fit_predict<T>(reference_options(kernel, {0.8, 0.8, 0.8}), p.X, p.Y, p.Z),
                 Matrix<double>::from(
                     fit_predict<T>(reference_options(kernel, {0.8}), p.X, p.Y, p.Z).view()),
                 tolerance<T>(), fmt::format("{}: equal per-feature h", to_string(kernel)));
  }
}

// ---------------------------------------------------------------------------
// The tutorial: generate_data(10000, 10, seed 123), an 80/20 split (seed 42),
// Gaussian kernel, bandwidth 0.5.

struct Tutorial {
  Matrix<double> X_train, y_train, X_test, y_test;
};

const Tutorial& tutorial() {
  static const Tutorial t = [] {
    const kreg::RegressionData data = kreg::generate_data(10000, 10, 123);
    const kreg::Split split = kreg::train_test_split(10000, 0.2, 42);
    return Tutorial{
        kreg::take_rows<double>(data.X, split.train), kreg::take_rows<double>(data.y, split.train),
        kreg::take_rows<double>(data.X, split.test), kreg::take_rows<double>(data.y, split.test)};
  }();
  return t;
}

TEST(NwReference, TutorialR2) {
  const Tutorial& t = tutorial();
  ASSERT_EQ(t.X_train.rows(), 8000);
  ASSERT_EQ(t.X_test.rows(), 2000);
  kreg::PredictReport report;
  const Matrix<double> yhat = fit_predict<double>(reference_options(Kernel::gaussian, {0.5}, -1),
                                                  t.X_train, t.y_train, t.X_test, {}, &report);
  EXPECT_EQ(report.isolated, 0);
  const auto n = static_cast<std::size_t>(t.y_test.rows());
  const double r2 =
      kreg::r2_score<double>(std::span(t.y_test.data(), n), std::span(yhat.data(), n));
  std::printf("tutorial R^2 (reference engine): %.16g\n", r2);
  EXPECT_EQ(fmt::format("{:.6f}", r2), "0.788018");
  EXPECT_LT(std::abs(r2 - 0.7880181382483237), 1e-9) << fmt::format("{:.17g}", r2);
}

// ---------------------------------------------------------------------------
// Limits of the bandwidth.

// Index of the nearest row of X to row i of Z, and the gap to the second
// nearest in squared distance.
std::pair<index_t, double> nearest(const Matrix<double>& X, const Matrix<double>& Z, index_t i) {
  double best = std::numeric_limits<double>::infinity(), second = best;
  index_t arg = -1;
  for (index_t j = 0; j < X.rows(); ++j) {
    double d2 = 0;
    for (index_t f = 0; f < X.cols(); ++f) d2 += (Z(i, f) - X(j, f)) * (Z(i, f) - X(j, f));
    if (d2 < best) {
      second = best, best = d2, arg = j;
    } else if (d2 < second) {
      second = d2;
    }
  }
  return {arg, second - best};
}

TYPED_TEST(NwReferenceTyped, TinyBandwidthGivesNearestY) {
  using T = TypeParam;
  Problem p = random_problem(13, 60, 3, 2, 40);
  // Keep only the queries whose nearest training point is well separated.
  std::vector<index_t> rows, nn;
  for (index_t i = 0; i < p.Z.rows(); ++i) {
    const auto [j, gap] = nearest(p.X, p.Z, i);
    if (gap > 1e-3) rows.push_back(i), nn.push_back(j);
  }
  ASSERT_GE(rows.size(), 30U);
  const Matrix<double> Z = kreg::take_rows<double>(p.Z, rows);
  for (const Kernel kernel : kKernels) {
    kreg::PredictReport report;
    const Matrix<T> yhat =
        fit_predict<T>(reference_options(kernel, {1e-8}), p.X, p.Y, Z, {}, &report);
    for (std::size_t r = 0; r < rows.size(); ++r) {
      for (index_t c = 0; c < 2; ++c) {
        EXPECT_EQ(yhat(static_cast<index_t>(r), c), static_cast<T>(p.Y(nn[r], c)))
            << to_string(kernel) << " query " << rows[r];
      }
    }
    // No query sits on a training point: compact kernels see nothing.
    EXPECT_EQ(report.isolated, kernel == Kernel::gaussian ? 0 : Z.rows()) << to_string(kernel);
  }
}

TYPED_TEST(NwReferenceTyped, TinyBandwidthAveragesTiedNearestPoints) {
  using T = TypeParam;
  // Three copies of (1, 1) with different y, two copies of (5, 5), one (9, 1).
  Matrix<double> X(6, 2), Y(6, 1), Z(3, 2);
  const double xs[6][2] = {{1, 1}, {5, 5}, {1, 1}, {9, 1}, {5, 5}, {1, 1}};
  const double ys[6] = {1, 10, 2, 100, 20, 4};
  for (index_t j = 0; j < 6; ++j) X(j, 0) = xs[j][0], X(j, 1) = xs[j][1], Y(j, 0) = ys[j];
  const double zs[3][2] = {{1.25, 0.75}, {1, 1}, {5.5, 4}};
  for (index_t i = 0; i < 3; ++i) Z(i, 0) = zs[i][0], Z(i, 1) = zs[i][1];
  const std::vector<double> w = {1, 3, 2, 1, 1, 1};
  for (const Kernel kernel : kKernels) {
    kreg::PredictReport report;
    const Matrix<T> yhat = fit_predict<T>(reference_options(kernel, {1e-8}), X, Y, Z, {}, &report);
    EXPECT_EQ(yhat(0, 0), static_cast<T>(7.0L / 3)) << to_string(kernel);
    EXPECT_EQ(yhat(1, 0), static_cast<T>(7.0L / 3)) << to_string(kernel);
    EXPECT_EQ(yhat(2, 0), T(15)) << to_string(kernel);
    // The query on (1, 1) is inside every kernel's support.
    EXPECT_EQ(report.isolated, kernel == Kernel::gaussian ? 0 : 2) << to_string(kernel);
    const Matrix<T> weighted = fit_predict<T>(reference_options(kernel, {1e-8}), X, Y, Z, w);
    EXPECT_EQ(weighted(0, 0), T(2.25)) << to_string(kernel);  // (1 + 2*2 + 4) / 4
    EXPECT_EQ(weighted(1, 0), T(2.25)) << to_string(kernel);
    EXPECT_EQ(weighted(2, 0), T(12.5)) << to_string(kernel);  // (3*10 + 20) / 4
  }
}

TYPED_TEST(NwReferenceTyped, HugeBandwidthGivesMeanY) {
  using T = TypeParam;
  const Problem p = random_problem(17, 50, 3, 3, 10);
  const Matrix<T> Yt = cast<T>(p.Y);
  const std::vector<T> wt = cast<T>(p.weights);
  Matrix<double> mean(p.Z.rows(), 3), wmean(p.Z.rows(), 3);
  for (index_t c = 0; c < 3; ++c) {
    real s = 0, ws = 0, wsum = 0;
    for (index_t j = 0; j < p.Y.rows(); ++j) {
      s += Yt(j, c), ws += static_cast<real>(wt[j]) * Yt(j, c), wsum += wt[j];
    }
    for (index_t i = 0; i < p.Z.rows(); ++i) {
      mean(i, c) = static_cast<double>(s / p.Y.rows());
      wmean(i, c) = static_cast<double>(ws / wsum);
    }
  }
  const double tol = std::is_same_v<T, float> ? 1e-6 : 1e-12;
  for (const Kernel kernel : kKernels) {
    for (const double h : {1e8, 1e200}) {
      const auto options = reference_options(kernel, {h});
      const std::string what = fmt::format("{}, h = {}", to_string(kernel), h);
      expect_close(fit_predict<T>(options, p.X, p.Y, p.Z), mean, tol, what);
      expect_close(fit_predict<T>(options, p.X, p.Y, p.Z, p.weights), wmean, tol,
                   what + ", weighted");
    }
  }
}

// A bandwidth whose square underflows (1/h^2 is infinite in double) is still
// the limit h -> 0: the nearest point's y, never NaN.
TEST(NwReference, BandwidthWhoseSquareUnderflows) {
  const Problem p = random_problem(19, 40, 2, 1, 20);
  for (const Kernel kernel : kKernels) {
    const Matrix<double> yhat =
        fit_predict<double>(reference_options(kernel, {1e-170}), p.X, p.Y, p.Z);
    for (index_t i = 0; i < p.Z.rows(); ++i) {
      EXPECT_EQ(yhat(i, 0), p.Y(nearest(p.X, p.Z, i).first, 0)) << to_string(kernel) << " " << i;
    }
  }
}

// The tutorial's first 2000 training points and 200 test points.
struct Subsample {
  Matrix<double> X, Y, Z;
};

const Subsample& subsample() {
  static const Subsample s = [] {
    const Tutorial& t = tutorial();
    std::vector<index_t> train(2000), test(200);
    std::iota(train.begin(), train.end(), 0);
    std::iota(test.begin(), test.end(), 0);
    return Subsample{kreg::take_rows<double>(t.X_train, train),
                     kreg::take_rows<double>(t.y_train, train),
                     kreg::take_rows<double>(t.X_test, test)};
  }();
  return s;
}

TYPED_TEST(NwReferenceTyped, FiniteForEveryBandwidth) {
  using T = TypeParam;
  const Subsample& s = subsample();
  for (const Kernel kernel : kKernels) {
    for (const double h : kBandwidths) {
      expect_all_finite(fit_predict<T>(reference_options(kernel, {h}, -1), s.X, s.Y, s.Z),
                        fmt::format("{}, h = {}", to_string(kernel), h));
    }
  }
}

// Shifting by 1e6 rounds every input by up to ulp(1e6) / 2 = 5.8e-11 before
// kreg sees it; that alone moves the Gaussian's predictions at h = 1 by about
// 1e-10 (relative), well inside 1e-9. Distances formed by the norm expansion
// (||z||^2 + ||x||^2 - 2 z.x) on uncentred values would be off by about 1e-3.
TEST(NwReference, DataFarFromTheOrigin) {
  const Subsample& s = subsample();
  Matrix<double> X = s.X, Z = s.Z;
  for (index_t i = 0; i < X.size(); ++i) X.data()[i] += 1e6;
  for (index_t i = 0; i < Z.size(); ++i) Z.data()[i] += 1e6;
  for (const Kernel kernel : kKernels) {
    for (const double h : kBandwidths) {
      const auto options = reference_options(kernel, {h}, -1);
      const std::string what = fmt::format("{}, h = {}", to_string(kernel), h);
      const Matrix<double> shifted = fit_predict<double>(options, X, s.Y, Z);
      expect_all_finite(shifted, what);
      expect_close(shifted, fit_predict<double>(options, s.X, s.Y, s.Z), 1e-9, what);
    }
  }
}

// ---------------------------------------------------------------------------
// Compact kernels: isolated queries.

TYPED_TEST(NwReferenceTyped, CompactKernelIsolatedQueries) {
  using T = TypeParam;
  // 30 training points in the unit square; y = 1 + x0 + 10 x1 (+ 100 on the
  // second output).
  kreg::LegacyRandom rng(23);
  Matrix<double> X(30, 2), Y(30, 2);
  for (index_t j = 0; j < 30; ++j) {
    X(j, 0) = rng.uniform(), X(j, 1) = rng.uniform();
    Y(j, 0) = 1 + X(j, 0) + 10 * X(j, 1);
    Y(j, 1) = Y(j, 0) + 100;
  }
  // Queries: 4 far away, 3 inside the cloud (on training points).
  Matrix<double> Z(7, 2);
  const double far[4][2] = {{100, 100}, {-50, 0.5}, {0.5, -1e5}, {3, 3}};
  for (index_t i = 0; i < 4; ++i) Z(i, 0) = far[i][0], Z(i, 1) = far[i][1];
  for (index_t i = 4; i < 7; ++i) Z(i, 0) = X(i, 0), Z(i, 1) = X(i, 1);
  for (const Kernel kernel : {Kernel::epanechnikov, Kernel::tricube, Kernel::uniform}) {
    kreg::PredictReport report;
    const Matrix<T> yhat = fit_predict<T>(reference_options(kernel, {0.5}), X, Y, Z, {}, &report);
    EXPECT_EQ(report.isolated, 4) << to_string(kernel);
    for (index_t i = 0; i < 4; ++i) {
      const index_t j = nearest(X, Z, i).first;
      EXPECT_EQ(yhat(i, 0), static_cast<T>(Y(j, 0))) << to_string(kernel) << " query " << i;
      EXPECT_EQ(yhat(i, 1), static_cast<T>(Y(j, 1))) << to_string(kernel) << " query " << i;
    }
    for (index_t i = 4; i < 7; ++i) {
      EXPECT_TRUE(std::isfinite(yhat(i, 0)));
      EXPECT_GT(yhat(i, 1), yhat(i, 0));
    }
    // With every query inside the support, none is isolated.
    const Matrix<double> inside = kreg::take_rows<double>(Z, std::vector<index_t>{4, 5, 6});
    fit_predict<T>(reference_options(kernel, {0.5}), X, Y, inside, {}, &report);
    EXPECT_EQ(report.isolated, 0) << to_string(kernel);
  }
  // The Gaussian never isolates a query.
  kreg::PredictReport report;
  expect_all_finite(
      fit_predict<T>(reference_options(Kernel::gaussian, {0.5}), X, Y, Z, {}, &report), "gaussian");
  EXPECT_EQ(report.isolated, 0);
}

// ---------------------------------------------------------------------------
// The thread count never changes a bit.

TYPED_TEST(NwReferenceTyped, ThreadCountDoesNotChangeResults) {
  using T = TypeParam;
  Problem p = random_problem(29, 300, 4, 2, 101);
  for (index_t i = 0; i < 10; ++i) p.Z(i, 0) += 50;  // isolated for compact kernels
  for (const Kernel kernel : kKernels) {
    for (const bool weighted : {false, true}) {
      const std::vector<double> w = weighted ? p.weights : std::vector<double>{};
      kreg::PredictReport first_report;
      const Matrix<T> first =
          fit_predict<T>(reference_options(kernel, {0.6}, 1), p.X, p.Y, p.Z, w, &first_report);
      if (kernel == Kernel::gaussian) {
        EXPECT_EQ(first_report.isolated, 0);
      } else {
        EXPECT_GE(first_report.isolated, 10);
      }
      for (const int n_jobs : {2, 3, 8}) {
        kreg::PredictReport report;
        const Matrix<T> other =
            fit_predict<T>(reference_options(kernel, {0.6}, n_jobs), p.X, p.Y, p.Z, w, &report);
        EXPECT_EQ(report.isolated, first_report.isolated);
        ASSERT_EQ(other.size(), first.size());
        for (index_t i = 0; i < first.size(); ++i) {
          // Bitwise: EXPECT_EQ on the values (NaN would fail too).
          ASSERT_EQ(other.data()[i], first.data()[i])
              << to_string(kernel) << (weighted ? " weighted" : "") << " n_jobs = " << n_jobs
              << " element " << i;
        }
      }
    }
  }
}

// ---------------------------------------------------------------------------
// The engine entry point itself, on a prepared problem.

TEST(NwReference, EngineIgnoresZeroWeightPoints) {
  // A zero-weight point nearest to the query must not become "the nearest
  // point" of an isolated query, nor shift the Gaussian.
  Matrix<double> X(3, 1), Y(3, 1), Z(1, 1), out(1, 1);
  X(0, 0) = 0, X(1, 0) = 10, X(2, 0) = 20;
  Y(0, 0) = 1, Y(1, 0) = 2, Y(2, 0) = 3;
  Z(0, 0) = 0.1;
  const std::vector<double> w = {0, 1, 1};
  for (const Kernel kernel : kKernels) {
    const kreg::nw::Problem<double> problem{X, Y, w, kernel, 1.0};
    const index_t isolated = kreg::nw::predict_reference<double>(problem, Z, out, 1);
    EXPECT_EQ(out(0, 0), 2.0) << to_string(kernel);
    EXPECT_EQ(isolated, kernel == Kernel::gaussian ? 0 : 1) << to_string(kernel);
  }
}

// ---------------------------------------------------------------------------
// Fashion-MNIST pixels: d = 784, values 0-255, squared distances up to 5e7.

TEST(NwReference, FashionMnistEveryBandwidth) {
  const std::string dir = "/usr/share/datasets/fashion-mnist/";
  for (const char* f :
       {"train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz", "t10k-images-idx3-ubyte.gz"}) {
    if (!std::filesystem::exists(dir + f)) {
      GTEST_SKIP() << "Fashion-MNIST not installed (apt-get install dataset-fashion-mnist)";
    }
  }
  std::vector<index_t> train(200), test(50);
  std::iota(train.begin(), train.end(), 0);
  std::iota(test.begin(), test.end(), 0);
  const Matrix<double> X = kreg::take_rows<double>(
      kreg::io::read_idx<double>(dir + "train-images-idx3-ubyte.gz"), train);
  const Matrix<double> Y = kreg::take_rows<double>(
      kreg::io::read_idx<double>(dir + "train-labels-idx1-ubyte.gz"), train);
  const Matrix<double> Z =
      kreg::take_rows<double>(kreg::io::read_idx<double>(dir + "t10k-images-idx3-ubyte.gz"), test);
  ASSERT_EQ(X.cols(), 784);
  ASSERT_EQ(Y.cols(), 1);

  // Squared distances are integers: the nearest image is unique when the
  // gap to the second is at least 1, and then h = 1e-8 must give its label.
  double mean = 0;
  for (index_t j = 0; j < Y.rows(); ++j) mean += Y(j, 0) / static_cast<double>(Y.rows());
  for (const Kernel kernel : kKernels) {
    for (int e = -8; e <= 8; ++e) {
      const double h = std::pow(10.0, e);
      const std::string what = fmt::format("{}, h = {}", to_string(kernel), h);
      const Matrix<double> yhat = fit_predict<double>(reference_options(kernel, {h}, -1), X, Y, Z);
      expect_all_finite(yhat, what);
      expect_all_finite(fit_predict<float>(reference_options(kernel, {h}, -1), X, Y, Z),
                        what + " (float)");
      if (e == -8) {
        int unique = 0;
        for (index_t i = 0; i < Z.rows(); ++i) {
          const auto [j, gap] = nearest(X, Z, i);
          if (gap >= 1) {
            ++unique;
            EXPECT_EQ(yhat(i, 0), Y(j, 0)) << what << " query " << i;
          }
        }
        EXPECT_GE(unique, 40);
      }
      if (e == 8) {
        for (index_t i = 0; i < Z.rows(); ++i) {
          EXPECT_NEAR(yhat(i, 0), mean, 1e-7 * mean) << what << " query " << i;
        }
      }
    }
  }
}

}  // namespace
