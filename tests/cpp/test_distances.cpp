// pairwise_sq_distances against a long double direct-difference loop, and the
// vectorized engine (predict_vectorized) against the reference engine.
//
// Error bound checked for pairwise_sq_distances: |D - D*| <= rtol * D* for
// every entry (D* the exact distance of the stored inputs, summed in long
// double), rtol = 1e-4 for float and 1e-10 for double; D* = 0 must give
// exactly 0. That is stronger than "rtol of max(D*, scale)" and holds because:
//   * with c the column mean of X, both sets are centred on c, so the norm
//     trick's error is bounded by about (2d + 3) u (|z - c|^2 + |x - c|^2)
//     (u = 2^-24 float, 2^-53 double; gemm dot products, the norms, the two
//     additions; plus the rounding of the centred copies), whatever the
//     offset of the data from the origin (1e6 below);
//   * an entry is kept from the trick only if it is above tau = 1/16 of
//     those norms (tau >= 4 (d + 5) u), so it is at least tau / 2 of them
//     and its relative error is at most 32 (2d + 3) u + O(u): 5.2e-5 for
//     float with d <= 12, 1e-13 for double;
//   * the other entries are summed in double from the input differences:
//     relative error <= (d + 2) 2^-53 + u;
// and identical points (true distance 0) always fall in the second group,
// where the differences are exactly 0.
#include <dlfcn.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <random>
#include <string>
#include <type_traits>
#include <vector>

#include "kreg/error.hpp"
#include "kreg/matrix.hpp"
#include "kreg/nw.hpp"
#include "nw/cpu/engines.hpp"

namespace {

using kreg::Engine;
using kreg::index_t;
using kreg::Kernel;
using kreg::Matrix;
using kreg::MatrixView;

// A rows x cols matrix stored with ld = cols + pad; the padding holds NaN, so
// reading it (a wrong stride) shows up as an error or a NaN result.
template <class T>
struct Strided {
  std::vector<T> data;
  index_t rows = 0, cols = 0, ld = 0;

  Strided(index_t r, index_t c, index_t pad)
      : data(static_cast<std::size_t>(std::max<index_t>(r * (c + pad), 1)),
             std::numeric_limits<T>::quiet_NaN()),
        rows(r),
        cols(c),
        ld(c + pad) {}
  T& operator()(index_t i, index_t j) { return data[static_cast<std::size_t>(i * ld + j)]; }
  T operator()(index_t i, index_t j) const { return data[static_cast<std::size_t>(i * ld + j)]; }
  MatrixView<const T> view() const { return {data.data(), rows, cols, ld}; }
  MatrixView<T> mview() { return {data.data(), rows, cols, ld}; }
};

template <class T>
Strided<T> random_strided(std::mt19937_64& rng, index_t rows, index_t cols, index_t pad,
                          double shift, double spread) {
  std::normal_distribution<double> normal;
  Strided<T> s(rows, cols, pad);
  for (index_t i = 0; i < rows; ++i) {
    for (index_t j = 0; j < cols; ++j) {
      s(i, j) = static_cast<T>(shift + static_cast<double>(j) + spread * normal(rng));
    }
  }
  return s;
}

template <class T>
long double exact_sq_distance(MatrixView<const T> Z, index_t i, MatrixView<const T> X, index_t j) {
  long double s = 0;
  for (index_t f = 0; f < Z.cols(); ++f) {
    const long double t = static_cast<long double>(Z(i, f)) - static_cast<long double>(X(j, f));
    s += t * t;
  }
  return s;
}

// The largest |D - D*| / D* over all entries (infinity where D* = 0 and D != 0).
template <class T>
double worst_relative_error(MatrixView<const T> Z, MatrixView<const T> X, const Matrix<T>& D) {
  EXPECT_EQ(D.rows(), Z.rows());
  EXPECT_EQ(D.cols(), X.rows());
  double worst = 0;
  for (index_t i = 0; i < Z.rows(); ++i) {
    for (index_t j = 0; j < X.rows(); ++j) {
      const long double ref = exact_sq_distance(Z, i, X, j);
      const long double err = std::fabs(static_cast<long double>(D(i, j)) - ref);
      double rel = 0;
      if (!std::isfinite(D(i, j))) {
        rel = std::numeric_limits<double>::infinity();
      } else if (ref == 0) {
        rel = err == 0 ? 0.0 : std::numeric_limits<double>::infinity();
      } else {
        rel = static_cast<double>(err / ref);
      }
      worst = std::max(worst, rel);
    }
  }
  return worst;
}

template <class T>
constexpr double distance_rtol() {
  return std::is_same_v<T, float> ? 1e-4 : 1e-10;
}

template <class T>
class PairwiseSqDistances : public ::testing::Test {};
using Precisions = ::testing::Types<float, double>;
TYPED_TEST_SUITE(PairwiseSqDistances, Precisions);

TYPED_TEST(PairwiseSqDistances, RandomShapesAndStridedViews) {
  using T = TypeParam;
  std::mt19937_64 rng(20240601);
  std::uniform_int_distribution<index_t> size(1, 40);
  std::uniform_int_distribution<index_t> features(1, 12);
  std::uniform_int_distribution<index_t> pad(0, 3);
  for (int trial = 0; trial < 60; ++trial) {
    const index_t m = size(rng);
    const index_t n = size(rng);
    const index_t d = features(rng);
    const auto Z = random_strided<T>(rng, m, d, pad(rng), 0.5, 2.0);
    const auto X = random_strided<T>(rng, n, d, pad(rng), 0.0, 1.0);
    const Matrix<T> D = kreg::pairwise_sq_distances<T>(Z.view(), X.view());
    EXPECT_LE(worst_relative_error(Z.view(), X.view(), D), distance_rtol<T>())
        << "trial " << trial << ": m=" << m << " n=" << n << " d=" << d;
  }
}

TYPED_TEST(PairwiseSqDistances, FarFromTheOrigin) {
  // Offset 1e6: without centring, the norm trick's cancellation error (about
  // d u 1e12) would swamp distances of order d.
  using T = TypeParam;
  std::mt19937_64 rng(7);
  for (const double spread : {1.0, 100.0}) {
    const auto Z = random_strided<T>(rng, 33, 6, 2, 1e6, spread);
    const auto X = random_strided<T>(rng, 47, 6, 1, 1e6, spread);
    const Matrix<T> D = kreg::pairwise_sq_distances<T>(Z.view(), X.view());
    EXPECT_LE(worst_relative_error(Z.view(), X.view(), D), distance_rtol<T>())
        << "spread " << spread;
  }
}

TYPED_TEST(PairwiseSqDistances, TightClustersFarFromTheMean) {
  // Two clusters of width 1e-3 at +-100: within a cluster D ~ 1e-6 while the
  // centred norms are ~1e4, a ratio the norm trick alone cannot resolve.
  using T = TypeParam;
  std::mt19937_64 rng(11);
  std::normal_distribution<double> normal;
  Strided<T> X(60, 2, 1);
  Strided<T> Z(25, 2, 0);
  for (index_t i = 0; i < X.rows; ++i) {
    for (index_t f = 0; f < 2; ++f)
      X(i, f) = static_cast<T>((i % 2 ? 100 : -100) + 1e-3 * normal(rng));
  }
  for (index_t i = 0; i < Z.rows; ++i) {
    for (index_t f = 0; f < 2; ++f)
      Z(i, f) = static_cast<T>((i % 2 ? 100 : -100) + 1e-3 * normal(rng));
  }
  const Matrix<T> D = kreg::pairwise_sq_distances<T>(Z.view(), X.view());
  EXPECT_LE(worst_relative_error(Z.view(), X.view(), D), distance_rtol<T>());
}

TYPED_TEST(PairwiseSqDistances, IdenticalPointsGiveExactlyZero) {
  using T = TypeParam;
  std::mt19937_64 rng(3);
  for (const double shift : {0.0, 1e6}) {
    const auto X = random_strided<T>(rng, 50, 7, 2, shift, 1.0);
    // Z: rows 0, 7, 14, ... of X, in a differently strided buffer.
    Strided<T> Z(8, 7, 5);
    for (index_t i = 0; i < Z.rows; ++i) {
      for (index_t f = 0; f < 7; ++f) Z(i, f) = X(7 * i, f);
    }
    const Matrix<T> D = kreg::pairwise_sq_distances<T>(Z.view(), X.view());
    for (index_t i = 0; i < Z.rows; ++i) {
      EXPECT_EQ(D(i, 7 * i), T(0)) << "shift " << shift << " row " << i;
    }
    const Matrix<T> S = kreg::pairwise_sq_distances<T>(X.view(), X.view());
    for (index_t i = 0; i < X.rows; ++i) EXPECT_EQ(S(i, i), T(0)) << "shift " << shift;
    EXPECT_LE(worst_relative_error(X.view(), X.view(), S), distance_rtol<T>());
  }
}

TYPED_TEST(PairwiseSqDistances, EmptyInputs) {
  using T = TypeParam;
  const std::vector<T> buf(12, T(1));
  const Matrix<T> a = kreg::pairwise_sq_distances<T>({buf.data(), 0, 3}, {buf.data(), 4, 3});
  EXPECT_EQ(a.rows(), 0);
  EXPECT_EQ(a.cols(), 4);
  const Matrix<T> b = kreg::pairwise_sq_distances<T>({buf.data(), 2, 3}, {buf.data(), 0, 3});
  EXPECT_EQ(b.rows(), 2);
  EXPECT_EQ(b.cols(), 0);
  // No features: every point is at distance 0 from every other.
  const Matrix<T> c = kreg::pairwise_sq_distances<T>({buf.data(), 2, 0}, {buf.data(), 3, 0});
  ASSERT_EQ(c.rows(), 2);
  ASSERT_EQ(c.cols(), 3);
  for (index_t i = 0; i < 2; ++i) {
    for (index_t j = 0; j < 3; ++j) EXPECT_EQ(c(i, j), T(0));
  }
}

TYPED_TEST(PairwiseSqDistances, Errors) {
  using T = TypeParam;
  std::vector<T> z(12, T(1));
  std::vector<T> x(12, T(2));
  try {
    kreg::pairwise_sq_distances<T>({z.data(), 4, 3}, {x.data(), 3, 4});
    ADD_FAILURE() << "no ArgumentError for 3 vs 4 features";
  } catch (const kreg::ArgumentError& e) {
    EXPECT_EQ(std::string(e.what()), "Z has 3 features but X has 4");
  }
  z[5] = std::numeric_limits<T>::quiet_NaN();
  try {
    kreg::pairwise_sq_distances<T>({z.data(), 4, 3}, {x.data(), 4, 3});
    ADD_FAILURE() << "no ArgumentError for NaN";
  } catch (const kreg::ArgumentError& e) {
    EXPECT_NE(std::string(e.what()).find("Z[1, 2] is NaN"), std::string::npos) << e.what();
  }
  z[5] = T(1);
  x[7] = -std::numeric_limits<T>::infinity();
  try {
    kreg::pairwise_sq_distances<T>({z.data(), 4, 3}, {x.data(), 4, 3});
    ADD_FAILURE() << "no ArgumentError for -inf";
  } catch (const kreg::ArgumentError& e) {
    EXPECT_NE(std::string(e.what()).find("X[2, 1] is infinite"), std::string::npos) << e.what();
  }
  // z[3] is row 1, column 0 with ld 3 (an error) but padding with ld 4 (no error).
  x[7] = T(2);
  z[3] = std::numeric_limits<T>::quiet_NaN();
  EXPECT_THROW(kreg::pairwise_sq_distances<T>({z.data(), 4, 3}, {x.data(), 4, 3}),
               kreg::ArgumentError);
  EXPECT_NO_THROW(kreg::pairwise_sq_distances<T>({z.data(), 3, 3, 4}, {x.data(), 4, 3}));
}

// --- predict_vectorized against predict_reference --------------------------

template <class T>
constexpr double engine_rtol() {
  return std::is_same_v<T, float> ? 1e-4 : 1e-9;
}

template <class T>
struct Problem {
  Matrix<T> X, Y, Z;
  std::vector<T> weights;
};

template <class T>
Problem<T> random_problem(std::mt19937_64& rng, index_t n, index_t m, index_t d, index_t k,
                          bool weighted) {
  std::normal_distribution<double> normal;
  std::uniform_real_distribution<double> uniform(0.1, 2.0);
  Problem<T> p{Matrix<T>(n, d), Matrix<T>(n, k), Matrix<T>(m, d), {}};
  for (index_t i = 0; i < n; ++i) {
    for (index_t f = 0; f < d; ++f) p.X(i, f) = static_cast<T>(normal(rng));
    for (index_t c = 0; c < k; ++c) {
      p.Y(i, c) = static_cast<T>(std::sin(2.0 * p.X(i, 0)) + 3.0 * c + 0.1 * normal(rng));
    }
    if (weighted) p.weights.push_back(static_cast<T>(uniform(rng)));
  }
  for (index_t i = 0; i < m; ++i) {
    for (index_t f = 0; f < d; ++f) p.Z(i, f) = static_cast<T>(1.3 * normal(rng));
  }
  return p;
}

template <class T>
Matrix<T> predict(const Problem<T>& p, kreg::NadarayaWatsonOptions options, Engine engine,
                  int n_jobs, kreg::PredictReport* report) {
  options.engine = engine;
  options.n_jobs = n_jobs;
  kreg::NadarayaWatson<T> model(options);
  model.fit(p.X, p.Y, p.weights);
  return model.predict(p.Z, report);
}

// |vectorized - reference| <= rtol * max |y| everywhere, same isolated count.
template <class T>
void expect_matches_reference(const Problem<T>& p, const kreg::NadarayaWatsonOptions& options,
                              const std::string& label) {
  kreg::PredictReport rep_ref;
  kreg::PredictReport rep_vec;
  const Matrix<T> ref = predict(p, options, Engine::reference, 2, &rep_ref);
  const Matrix<T> vec = predict(p, options, Engine::vectorized, 2, &rep_vec);
  ASSERT_EQ(vec.rows(), ref.rows()) << label;
  ASSERT_EQ(vec.cols(), ref.cols()) << label;
  double ymax = 0;
  for (index_t i = 0; i < p.Y.rows(); ++i) {
    for (index_t c = 0; c < p.Y.cols(); ++c) ymax = std::max(ymax, std::fabs(double(p.Y(i, c))));
  }
  double worst = 0;
  index_t bad = 0;
  for (index_t i = 0; i < ref.rows(); ++i) {
    for (index_t c = 0; c < ref.cols(); ++c) {
      const double err = std::fabs(double(vec(i, c)) - double(ref(i, c)));
      if (!(err <= engine_rtol<T>() * ymax)) ++bad;
      if (std::isfinite(err)) worst = std::max(worst, err);
    }
  }
  EXPECT_EQ(bad, 0) << label << ": worst |vectorized - reference| = " << worst
                    << ", max |y| = " << ymax;
  EXPECT_EQ(rep_vec.isolated, rep_ref.isolated) << label;
  EXPECT_EQ(rep_vec.engine, Engine::vectorized) << label;
}

template <class T>
class VectorizedEngine : public ::testing::Test {};
TYPED_TEST_SUITE(VectorizedEngine, Precisions);

constexpr Kernel kKernels[] = {Kernel::gaussian, Kernel::epanechnikov, Kernel::tricube,
                               Kernel::uniform};

TYPED_TEST(VectorizedEngine, MatchesReferenceOnRandomData) {
  using T = TypeParam;
  struct Shape {
    index_t n, m, d, k;
    double h;
  };
  // The uniform kernel is left to the grid test: its step at u = 1 turns a
  // last-bit difference in a distance into a whole training point.
  const Shape shapes[] = {{53, 37, 1, 1, 0.3}, {200, 300, 5, 3, 1.5}, {700, 20, 12, 2, 4.0}};
  std::mt19937_64 rng(42);
  for (const auto& s : shapes) {
    for (const bool weighted : {false, true}) {
      const Problem<T> p = random_problem<T>(rng, s.n, s.m, s.d, s.k, weighted);
      for (const Kernel kernel : {Kernel::gaussian, Kernel::epanechnikov, Kernel::tricube}) {
        for (const bool per_feature : {false, true}) {
          kreg::NadarayaWatsonOptions options;
          options.kernel = kernel;
          options.bandwidth = {s.h};
          if (per_feature) {
            options.bandwidth.clear();
            for (index_t f = 0; f < s.d; ++f) {
              options.bandwidth.push_back(s.h * (0.6 + 0.8 * double(f) / double(s.d)));
            }
          }
          expect_matches_reference(
              p, options,
              "n=" + std::to_string(s.n) + " m=" + std::to_string(s.m) +
                  " d=" + std::to_string(s.d) + " kernel=" + std::string(kreg::to_string(kernel)) +
                  (weighted ? " weighted" : "") + (per_feature ? " per-feature h" : ""));
        }
      }
    }
  }
}

// Training points on the integer grid {-3..3}^2 (mean exactly 0), queries on
// the half-integer grid [-8, 8]^2: every distance is exact in both engines,
// and many queries are isolated with tied
// nearest points (a half-integer query sits between two or four of them).
TYPED_TEST(VectorizedEngine, MatchesReferenceOnAGridWithIsolatedQueries) {
  using T = TypeParam;
  Problem<T> p{Matrix<T>(49, 2), Matrix<T>(49, 2), Matrix<T>(33 * 33, 2), {}};
  std::mt19937_64 rng(5);
  std::uniform_real_distribution<double> uniform(0.25, 4.0);
  for (index_t i = 0; i < 49; ++i) {
    p.X(i, 0) = static_cast<T>(i / 7 - 3);
    p.X(i, 1) = static_cast<T>(i % 7 - 3);
    p.Y(i, 0) = static_cast<T>(uniform(rng));
    p.Y(i, 1) = static_cast<T>(-10 * uniform(rng));
    p.weights.push_back(static_cast<T>(uniform(rng)));
  }
  for (index_t i = 0; i < 33 * 33; ++i) {
    p.Z(i, 0) = static_cast<T>(0.5 * double(i / 33) - 8);
    p.Z(i, 1) = static_cast<T>(0.5 * double(i % 33) - 8);
  }
  for (const bool weighted : {false, true}) {
    Problem<T> q = p;
    if (!weighted) q.weights.clear();
    for (const Kernel kernel : kKernels) {
      for (const double h : {0.4, 1.0, 1.1}) {  // h = 1: points exactly on the support's edge
        kreg::NadarayaWatsonOptions options;
        options.kernel = kernel;
        options.bandwidth = {h};
        expect_matches_reference(q, options,
                                 std::string(kreg::to_string(kernel)) + " h=" + std::to_string(h) +
                                     (weighted ? " weighted" : ""));
      }
    }
  }
  // The expected isolated count for h = 0.4, checked independently of the
  // reference: a query is inside the support only on a training point.
  kreg::NadarayaWatsonOptions options;
  options.kernel = Kernel::epanechnikov;
  options.bandwidth = {0.4};
  kreg::PredictReport report;
  const Matrix<T> out = predict(p, options, Engine::vectorized, 3, &report);
  EXPECT_EQ(report.isolated, 33 * 33 - 49);
  // Query (0.5, 0) is isolated and halfway between (0, 0) and (1, 0).
  const index_t query = 17 * 33 + 16;  // (0.5, 0)
  ASSERT_EQ(p.Z(query, 0), T(0.5));
  ASSERT_EQ(p.Z(query, 1), T(0));
  const index_t a = 3 * 7 + 3;  // (0, 0)
  const index_t b = 4 * 7 + 3;  // (1, 0)
  const double wa = p.weights[a];
  const double wb = p.weights[b];
  for (index_t c = 0; c < 2; ++c) {
    const double expected = (wa * double(p.Y(a, c)) + wb * double(p.Y(b, c))) / (wa + wb);
    EXPECT_NEAR(out(query, c), expected, engine_rtol<T>() * 40) << "column " << c;
  }
}

TYPED_TEST(VectorizedEngine, TinyAndHugeBandwidths) {
  // Gaussian: a tiny bandwidth gives the nearest point's y, a huge one the
  // mean of y; neither may give NaN (exp underflow, 0 * inf).
  using T = TypeParam;
  std::mt19937_64 rng(9);
  const Problem<T> p = random_problem<T>(rng, 30, 12, 3, 1, false);
  for (const double h : {1e-30, 1e-200, 1e30, 1e200}) {
    kreg::NadarayaWatsonOptions options;
    options.bandwidth = {h};
    kreg::PredictReport report;
    const Matrix<T> out = predict(p, options, Engine::vectorized, 2, &report);
    EXPECT_EQ(report.isolated, 0) << "h=" << h << ": the shifted Gaussian never isolates a query";
    for (index_t i = 0; i < p.Z.rows(); ++i) {
      double expected = 0;
      if (h < 1) {
        index_t best = 0;
        long double best_d2 = std::numeric_limits<long double>::infinity();
        for (index_t j = 0; j < p.X.rows(); ++j) {
          const long double d2 = exact_sq_distance<T>(p.Z, i, p.X, j);
          if (d2 < best_d2) {
            best_d2 = d2;
            best = j;
          }
        }
        expected = p.Y(best, 0);
      } else {
        for (index_t j = 0; j < p.X.rows(); ++j) expected += p.Y(j, 0);
        expected /= double(p.X.rows());
      }
      EXPECT_NEAR(out(i, 0), expected, 1e-5) << "h=" << h << " query " << i;
    }
  }
}

TYPED_TEST(VectorizedEngine, QueriesOnTrainingPointsStayInsideTinySupports) {
  // A query equal to a training point is at u = 0 for any bandwidth, so a
  // compact kernel gives it that point's y and does not count it isolated;
  // the norm trick alone would leave a rounding residue in its distance that
  // a tiny bandwidth blows up past u = 1. Data 1e3 from the origin, d = 20.
  using T = TypeParam;
  std::mt19937_64 rng(31);
  const index_t n = 120;
  const index_t m = 40;
  const index_t d = 20;
  const auto X = random_strided<T>(rng, n, d, 0, 1e3, 1.0);
  const auto queries = random_strided<T>(rng, m, d, 0, 1e3, 1.0);
  Problem<T> p{Matrix<T>::from(X.view()), Matrix<T>(n, 1), Matrix<T>::from(queries.view()), {}};
  for (index_t j = 0; j < n; ++j) {
    p.Y(j, 0) = static_cast<T>(std::cos(double(j)));
    p.weights.push_back(static_cast<T>(0.5 + double(j % 3)));
  }
  for (index_t i = 0; i < m; i += 2) {  // even queries: copies of training points 3i
    for (index_t f = 0; f < d; ++f) p.Z(i, f) = p.X(3 * i, f);
  }
  for (const Kernel kernel : {Kernel::epanechnikov, Kernel::tricube, Kernel::uniform}) {
    for (const double h : {1e-3, 1e-8}) {
      kreg::NadarayaWatsonOptions options;
      options.kernel = kernel;
      options.bandwidth = {h};
      kreg::PredictReport report;
      const Matrix<T> out = predict(p, options, Engine::vectorized, 2, &report);
      EXPECT_EQ(report.isolated, m / 2) << kreg::to_string(kernel) << " h=" << h;
      for (index_t i = 0; i < m; i += 2) {
        EXPECT_NEAR(out(i, 0), p.Y(3 * i, 0), 1e-6) << kreg::to_string(kernel) << " h=" << h;
      }
    }
  }
}

TYPED_TEST(VectorizedEngine, BitwiseIdenticalForAnyThreadCount) {
  // m = 700 and n = 500 make three blocks of query rows.
  using T = TypeParam;
  std::mt19937_64 rng(123);
  const Problem<T> p = random_problem<T>(rng, 500, 700, 4, 2, true);
  for (const Kernel kernel : kKernels) {
    kreg::NadarayaWatsonOptions options;
    options.kernel = kernel;
    options.bandwidth = {0.7};
    kreg::PredictReport base_report;
    const Matrix<T> base = predict(p, options, Engine::vectorized, 1, &base_report);
    for (const int jobs : {2, 3, 8}) {
      kreg::PredictReport report;
      const Matrix<T> out = predict(p, options, Engine::vectorized, jobs, &report);
      ASSERT_EQ(out.size(), base.size());
      EXPECT_EQ(std::memcmp(out.data(), base.data(), sizeof(T) * std::size_t(base.size())), 0)
          << kreg::to_string(kernel) << " n_jobs=" << jobs;
      EXPECT_EQ(report.isolated, base_report.isolated);
    }
  }
}

TYPED_TEST(VectorizedEngine, EngineHonoursStridesAndRestoresBlasThreads) {
  // predict_vectorized called directly on strided views (X, Y, Z, out), with
  // sample weights, against predict_reference on the same problem; BLAS's
  // thread count is back to its value afterwards.
  using T = TypeParam;
  std::mt19937_64 rng(77);
  const auto X = random_strided<T>(rng, 90, 3, 2, 0.0, 1.0);
  const auto Y = random_strided<T>(rng, 90, 2, 3, 0.0, 1.0);
  const auto Z = random_strided<T>(rng, 300, 3, 1, 0.0, 1.0);
  std::vector<T> w(90);
  // Every 7th weight is 0: those points must count as absent (only a direct
  // engine call can pass them; the model drops them).
  for (index_t j = 0; j < 90; ++j)
    w[j] = j % 7 == 0 ? T(0) : static_cast<T>(0.5 + 0.01 * double(j));
  using SetThreads = void (*)(int);
  using GetThreads = int (*)();
  auto set_threads = reinterpret_cast<SetThreads>(dlsym(RTLD_DEFAULT, "openblas_set_num_threads"));
  auto get_threads = reinterpret_cast<GetThreads>(dlsym(RTLD_DEFAULT, "openblas_get_num_threads"));
  ASSERT_NE(set_threads, nullptr);
  ASSERT_NE(get_threads, nullptr);
  set_threads(2);
  for (const Kernel kernel : kKernels) {
    const kreg::nw::Problem<T> prob{X.view(), Y.view(), w, kernel, 1.0 / 0.8};
    Strided<T> ref(300, 2, 2);
    Strided<T> vec(300, 2, 2);
    const index_t iso_ref = kreg::nw::predict_reference<T>(prob, Z.view(), ref.mview(), 2);
    const index_t iso_vec = kreg::nw::predict_vectorized<T>(prob, Z.view(), vec.mview(), 2);
    EXPECT_EQ(iso_vec, iso_ref) << kreg::to_string(kernel);
    double ymax = 0;
    for (index_t j = 0; j < 90; ++j) {
      ymax = std::max({ymax, std::fabs(double(Y(j, 0))), std::fabs(double(Y(j, 1)))});
    }
    for (index_t i = 0; i < 300; ++i) {
      for (index_t c = 0; c < 2; ++c) {
        EXPECT_LE(std::fabs(double(vec(i, c)) - double(ref(i, c))), engine_rtol<T>() * ymax)
            << kreg::to_string(kernel) << " row " << i;
      }
      for (index_t c = 2; c < 4; ++c) EXPECT_TRUE(std::isnan(vec(i, c))) << "padding written";
    }
    EXPECT_EQ(get_threads(), 2) << "BLAS thread count not restored";
  }
}

}  // namespace
