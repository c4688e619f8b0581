// NadarayaWatson's public API: every bad input is an ArgumentError with its
// exact message, the name parsers and printers, resolve_n_jobs, and the
// shapes of what predict returns. Predictions use Engine::reference.
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <functional>
#include <limits>
#include <random>
#include <span>
#include <string>
#include <thread>
#include <vector>

#include "kreg/error.hpp"
#include "kreg/interrupt.hpp"
#include "kreg/matrix.hpp"
#include "kreg/nw.hpp"
#include "kreg/par.hpp"
#include "test_support.hpp"

namespace {

using kreg::Engine;
using kreg::index_t;
using kreg::Kernel;
using kreg::Matrix;
using kreg::NadarayaWatson;
using kreg::NadarayaWatsonOptions;

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
constexpr double kInf = std::numeric_limits<double>::infinity();

const auto expect_argument_error = kreg::test::expect_error<kreg::ArgumentError>;

template <class T>
Matrix<T> make(index_t rows, index_t cols, std::initializer_list<double> values) {
  Matrix<T> m(rows, cols);
  EXPECT_EQ(static_cast<index_t>(values.size()), rows * cols);
  std::transform(values.begin(), values.end(), m.data(),
                 [](double v) { return static_cast<T>(v); });
  return m;
}

NadarayaWatsonOptions options(std::vector<double> bandwidth = {1.0},
                              Kernel kernel = Kernel::gaussian) {
  return {kernel, std::move(bandwidth), Engine::reference, 1};
}

template <class T>
class NwApi : public ::testing::Test {
 protected:
  // 4 points in 2 features, 2 targets.
  Matrix<T> X0 = make<T>(4, 2, {0, 0, 1, 0, 0, 1, 2, 2});
  Matrix<T> Y0 = make<T>(4, 2, {1, 10, 2, 20, 3, 30, 4, 40});
};
using Types = ::testing::Types<float, double>;
TYPED_TEST_SUITE(NwApi, Types);

// ---------------------------------------------------------------------------
// Non-finite data.

TYPED_TEST(NwApi, NonFiniteX) {
  using T = TypeParam;
  NadarayaWatson<T> model(options());
  Matrix<T> X = this->X0;
  X(2, 1) = static_cast<T>(kNaN);
  expect_argument_error([&] { model.fit(X, this->Y0); },
                        "X[2, 1] is NaN; kreg needs finite values (drop or impute the row first)");
  X(2, 1) = 0;
  X(3, 0) = static_cast<T>(-kInf);
  expect_argument_error(
      [&] { model.fit(X, this->Y0); },
      "X[3, 0] is infinite; kreg needs finite values (drop or impute the row first)");
  EXPECT_FALSE(model.fitted());
}

TYPED_TEST(NwApi, NonFiniteY) {
  using T = TypeParam;
  NadarayaWatson<T> model(options());
  Matrix<T> Y = this->Y0;
  Y(0, 1) = static_cast<T>(kInf);
  expect_argument_error(
      [&] { model.fit(this->X0, Y); },
      "Y[0, 1] is infinite; kreg needs finite values (drop or impute the row first)");
  Y(0, 1) = 0;
  Y(1, 0) = static_cast<T>(kNaN);
  expect_argument_error([&] { model.fit(this->X0, Y); },
                        "Y[1, 0] is NaN; kreg needs finite values (drop or impute the row first)");
}

TYPED_TEST(NwApi, NonFiniteZ) {
  using T = TypeParam;
  NadarayaWatson<T> model(options());
  model.fit(this->X0, this->Y0);
  Matrix<T> Z = make<T>(3, 2, {0, 0, 1, 1, 2, 2});
  Z(1, 1) = static_cast<T>(kNaN);
  expect_argument_error([&] { model.predict(Z); },
                        "Z[1, 1] is NaN; kreg needs finite values (drop or impute the row first)");
  Z(1, 1) = 0;
  Z(2, 0) = static_cast<T>(kInf);
  expect_argument_error(
      [&] { model.predict(Z); },
      "Z[2, 0] is infinite; kreg needs finite values (drop or impute the row first)");
}

// ---------------------------------------------------------------------------
// Shapes.

TYPED_TEST(NwApi, ShapeErrors) {
  using T = TypeParam;
  NadarayaWatson<T> model(options());
  const Matrix<T> Y3 = make<T>(3, 1, {1, 2, 3});
  expect_argument_error([&] { model.fit(this->X0, Y3); },
                        "X has 4 rows but Y has 3; they must match");
  const Matrix<T> empty_x(0, 2), empty_y(0, 1);
  expect_argument_error([&] { model.fit(empty_x, empty_y); },
                        "X is empty: fit needs at least one training point");
  const Matrix<T> no_features(4, 0);
  expect_argument_error([&] { model.fit(no_features, this->Y0); }, "X has no features (0 columns)");
  const Matrix<T> no_targets(4, 0);
  expect_argument_error([&] { model.fit(this->X0, no_targets); },
                        "Y has no columns; give at least one target");
  EXPECT_FALSE(model.fitted());
}

TYPED_TEST(NwApi, PredictBeforeFit) {
  using T = TypeParam;
  const NadarayaWatson<T> model(options());
  EXPECT_FALSE(model.fitted());
  expect_argument_error(
      [&] {
        model.predict(make<T>(1, 2, {0, 0}));
      },
      "predict called before fit; call fit(X, Y) first");
}

TYPED_TEST(NwApi, FeatureCountDiffersBetweenFitAndPredict) {
  using T = TypeParam;
  NadarayaWatson<T> model(options());
  model.fit(this->X0, this->Y0);
  expect_argument_error(
      [&] {
        model.predict(make<T>(1, 3, {0, 0, 0}));
      },
      "the queries have 3 features but the model was fitted with 2");
  expect_argument_error(
      [&] {
        model.predict(make<T>(2, 1, {0, 0}));
      },
      "the queries have 1 features but the model was fitted with 2");
}

// ---------------------------------------------------------------------------
// Options.

TEST(NwApiOptions, BadBandwidth) {
  for (const auto make_model : {+[](NadarayaWatsonOptions o) { NadarayaWatson<double> m(o); },
                                +[](NadarayaWatsonOptions o) { NadarayaWatson<float> m(o); }}) {
    expect_argument_error([&] { make_model(options({0.0})); },
                          "bandwidth must be a finite number > 0, got 0");
    expect_argument_error([&] { make_model(options({-0.5})); },
                          "bandwidth must be a finite number > 0, got -0.5");
    expect_argument_error([&] { make_model(options({kNaN})); },
                          "bandwidth must be a finite number > 0, got nan");
    expect_argument_error([&] { make_model(options({kInf})); },
                          "bandwidth must be a finite number > 0, got inf");
    expect_argument_error([&] { make_model(options({})); },
                          "bandwidth is empty; give one value, or one per feature");
    expect_argument_error(
        [&] {
          make_model(options({1.0, -2.0, 3.0}));
        },
        "bandwidth[1] must be a finite number > 0, got -2");
    expect_argument_error(
        [&] {
          make_model(options({1.0, 2.0, kNaN}));
        },
        "bandwidth[2] must be a finite number > 0, got nan");
    expect_argument_error(
        [&] {
          make_model(options({-kInf, 2.0}));
        },
        "bandwidth[0] must be a finite number > 0, got -inf");
  }
  // The smallest positive values are valid.
  EXPECT_NO_THROW(NadarayaWatson<double>(options({std::numeric_limits<double>::denorm_min()})));
}

TYPED_TEST(NwApi, BandwidthLengthDiffersFromFeatures) {
  using T = TypeParam;
  NadarayaWatson<T> model(options({0.5, 1.0, 2.0}));
  expect_argument_error(
      [&] { model.fit(this->X0, this->Y0); },
      "bandwidth has 3 values but X has 2 features; give one value, or one per feature");
  NadarayaWatson<T> ok(options({0.5, 1.0}));
  EXPECT_NO_THROW(ok.fit(this->X0, this->Y0));
}

TEST(NwApiOptions, NJobsZero) {
  const std::string message =
      "n_jobs = 0 is not valid; use a positive thread count, -1 for all cores or -2 for all but "
      "one";
  expect_argument_error([] { kreg::resolve_n_jobs(0); }, message);
  expect_argument_error(
      [] {
        NadarayaWatson<double>({Kernel::gaussian, {1.0}, Engine::reference, 0});
      },
      message);
  expect_argument_error(
      [] {
        NadarayaWatson<float>({Kernel::uniform, {1.0}, Engine::fused, 0});
      },
      message);
}

TEST(NwApiOptions, ResolveNJobs) {
  const int cores = std::max(1, static_cast<int>(std::thread::hardware_concurrency()));
  EXPECT_EQ(kreg::resolve_n_jobs(-1), cores);
  EXPECT_EQ(kreg::resolve_n_jobs(-2), std::max(1, cores - 1));
  EXPECT_EQ(kreg::resolve_n_jobs(-1000000), 1);
  EXPECT_EQ(kreg::resolve_n_jobs(5), 5);
  EXPECT_EQ(kreg::resolve_n_jobs(1), 1);
  EXPECT_EQ(kreg::resolve_n_jobs(1000), 1000);  // more than the cores is allowed
}

// Ten million threads crashed inside oneTBB's arena at predict time; the model
// refuses them when it is made.
TEST(NwApiOptions, NJobsBeyondTheCap) {
  const int jobs = 10'000'000;
  const std::string message = fmt::format(
      "n_jobs = {} is more threads than kreg starts (at most {}: 1024 or the core count, "
      "whichever is larger); use -1 for all cores, or a count from 1 to {}",
      jobs, kreg::max_n_jobs(), kreg::max_n_jobs());
  expect_argument_error([&] { kreg::resolve_n_jobs(jobs); }, message);
  expect_argument_error(
      [&] {
        NadarayaWatson<double>({Kernel::gaussian, {1.0}, Engine::fused, jobs});
      },
      message);
  expect_argument_error(
      [&] {
        NadarayaWatson<float>({Kernel::gaussian, {1.0}, Engine::reference, jobs});
      },
      message);
}

TEST(NwApiOptions, Defaults) {
  const NadarayaWatson<double> model;
  EXPECT_EQ(model.options().kernel, Kernel::gaussian);
  EXPECT_EQ(model.options().bandwidth, std::vector<double>{1.0});
  EXPECT_EQ(model.options().engine, Engine::automatic);
  EXPECT_EQ(model.options().n_jobs, -1);
  EXPECT_FALSE(model.fitted());
  EXPECT_EQ(model.n_features(), 0);
  EXPECT_EQ(model.n_outputs(), 0);
}

// ---------------------------------------------------------------------------
// Sample weights.

TYPED_TEST(NwApi, BadSampleWeights) {
  using T = TypeParam;
  NadarayaWatson<T> model(options());
  auto fit = [&](std::vector<T> w) { model.fit(this->X0, this->Y0, w); };
  expect_argument_error(
      [&] {
        fit({1, -1, 1, 1});
      },
      "sample_weight[1] is -1; weights must be finite and >= 0");
  expect_argument_error(
      [&] {
        fit({1, 1, 1, static_cast<T>(-0.25)});
      },
      "sample_weight[3] is -0.25; weights must be finite and >= 0");
  expect_argument_error(
      [&] {
        fit({static_cast<T>(kNaN), 1, 1, 1});
      },
      "sample_weight[0] is nan; weights must be finite and >= 0");
  expect_argument_error(
      [&] {
        fit({1, 1, static_cast<T>(kInf), 1});
      },
      "sample_weight[2] is inf; weights must be finite and >= 0");
  expect_argument_error(
      [&] {
        fit({0, 0, 0, 0});
      },
      "sample_weight is all zero; at least one weight must be > 0");
  expect_argument_error([&] { fit({1, 1}); }, "sample_weight has 2 values but X has 4 rows");
  expect_argument_error(
      [&] {
        fit({1, 1, 1, 1, 1});
      },
      "sample_weight has 5 values but X has 4 rows");
  EXPECT_FALSE(model.fitted());
  EXPECT_NO_THROW(fit({0, 0, 0, 1}));
  EXPECT_TRUE(model.fitted());
}

TYPED_TEST(NwApi, ZeroSampleWeightRemovesThePoint) {
  using T = TypeParam;
  const Matrix<T> Z = make<T>(5, 2, {0, 0, 0.5, 0.5, 1, 0, 3, 3, -2, 7});
  // Point 1 removed by a zero weight, or left out of the data.
  const Matrix<T> X3 = make<T>(3, 2, {0, 0, 0, 1, 2, 2});
  const Matrix<T> Y3 = make<T>(3, 2, {1, 10, 3, 30, 4, 40});
  for (const Kernel kernel :
       {Kernel::gaussian, Kernel::epanechnikov, Kernel::tricube, Kernel::uniform}) {
    NadarayaWatson<T> weighted(options({0.7}, kernel)), dropped(options({0.7}, kernel));
    weighted.fit(this->X0, this->Y0, std::vector<T>{1, 0, 1, 1});
    dropped.fit(X3, Y3);
    kreg::PredictReport rw, rd;
    const Matrix<T> a = weighted.predict(Z, &rw);
    const Matrix<T> b = dropped.predict(Z, &rd);
    // Without the point, query (1, 0) has no neighbour within 0.7 for compact
    // kernels, so the isolated counts must agree too.
    EXPECT_EQ(rw.isolated, rd.isolated) << to_string(kernel);
    for (index_t i = 0; i < a.size(); ++i) {
      EXPECT_EQ(a.data()[i], b.data()[i]) << to_string(kernel) << " element " << i;
    }
  }
}

TYPED_TEST(NwApi, UnitSampleWeightsChangeNothing) {
  using T = TypeParam;
  const Matrix<T> Z = make<T>(2, 2, {0.2, 0.1, 1, 1.5});
  NadarayaWatson<T> plain(options()), weighted(options());
  plain.fit(this->X0, this->Y0);
  weighted.fit(this->X0, this->Y0, std::vector<T>{1, 1, 1, 1});
  const Matrix<T> a = plain.predict(Z), b = weighted.predict(Z);
  for (index_t i = 0; i < a.size(); ++i) EXPECT_EQ(a.data()[i], b.data()[i]);
}

// ---------------------------------------------------------------------------
// Targets and sample weights near T's largest value.

// n points in 2 features with 2 targets in (-1, 1), and weights in [1/2, 2).
template <class T>
struct Wide {
  Matrix<T> X, Y, Z;
  std::vector<T> w;
};
template <class T>
Wide<T> wide_problem(index_t n) {
  std::mt19937_64 rng(17);
  std::normal_distribution<double> normal;
  std::uniform_real_distribution<double> unit(-1.0, 1.0), weight(0.5, 2.0);
  Wide<T> p{Matrix<T>(n, 2), Matrix<T>(n, 2), Matrix<T>(n / 2, 2), {}};
  for (index_t i = 0; i < p.X.size(); ++i) p.X.data()[i] = static_cast<T>(normal(rng));
  for (index_t i = 0; i < p.Y.size(); ++i) p.Y.data()[i] = static_cast<T>(unit(rng));
  for (index_t i = 0; i < p.Z.size(); ++i) p.Z.data()[i] = static_cast<T>(1.3 * normal(rng));
  for (index_t i = 0; i < n; ++i) p.w.push_back(static_cast<T>(weight(rng)));
  return p;
}

template <class T>
Matrix<T> ldexp_of(const Matrix<T>& m, int e) {
  Matrix<T> out(m.rows(), m.cols());
  for (index_t i = 0; i < m.size(); ++i) out.data()[i] = std::ldexp(m.data()[i], e);
  return out;
}
template <class T>
std::vector<T> ldexp_of(const std::vector<T>& v, int e) {
  std::vector<T> out;
  for (const T x : v) out.push_back(std::ldexp(x, e));
  return out;
}

// y or sample weights near T's largest value overflowed the engines' sums to
// inf, and predictions to inf or NaN. The front scales them by powers of two,
// which is exact: every engine and kernel predicts, bit for bit, what it
// predicts for the same data in the ordinary range, scaled back.
TYPED_TEST(NwApi, TargetsAndWeightsNearTheLargestValue) {
  using T = TypeParam;
  constexpr int emax = std::numeric_limits<T>::max_exponent;  // T's max is just below 2^emax
  const Wide<T> p = wide_problem<T>(300);
  // y up to 2^(emax - 1) (float: 1.7e38, double: 9e307); weights up to 2^emax * 0.99.
  const Matrix<T> Y_big = ldexp_of(p.Y, emax - 1);
  const Matrix<T> Y_mid = ldexp_of(p.Y, emax / 3);  // ordinary: never scaled
  std::vector<T> w_big;
  for (const T w : p.w) w_big.push_back(std::ldexp(static_cast<T>(w * T(0.495)), emax));
  for (const Engine engine :
       {Engine::reference, Engine::vectorized, Engine::fused, Engine::automatic}) {
    for (const Kernel kernel :
         {Kernel::gaussian, Kernel::epanechnikov, Kernel::tricube, Kernel::uniform}) {
      SCOPED_TRACE(fmt::format("{} {}", to_string(engine), to_string(kernel)));
      auto predict = [&](const Matrix<T>& Y, std::span<const T> w) {
        NadarayaWatson<T> model({kernel, {0.6}, engine, 2});
        model.fit(p.X, Y, w);
        return model.predict(p.Z);
      };
      const Matrix<T> big = predict(Y_big, {});
      const Matrix<T> mid = ldexp_of(predict(Y_mid, {}), emax - 1 - emax / 3);
      const Matrix<T> heavy = predict(p.Y, w_big);
      const Matrix<T> light = predict(p.Y, ldexp_of(w_big, -emax));
      const Matrix<T> both = predict(Y_big, w_big);
      for (index_t i = 0; i < big.size(); ++i) {
        ASSERT_TRUE(std::isfinite(big.data()[i])) << "element " << i;
        ASSERT_TRUE(std::isfinite(heavy.data()[i])) << "element " << i;
        ASSERT_TRUE(std::isfinite(both.data()[i])) << "element " << i;
        EXPECT_EQ(big.data()[i], mid.data()[i]) << "element " << i;
        EXPECT_EQ(heavy.data()[i], light.data()[i]) << "element " << i;
        EXPECT_EQ(both.data()[i], std::ldexp(light.data()[i], emax - 1)) << "element " << i;
      }
    }
  }
}

// Weights so small that their products with a compact kernel's factors
// underflow (subnormal weights) are scaled up: the same predictions as the
// same weights in the ordinary range.
TYPED_TEST(NwApi, SubnormalWeights) {
  using T = TypeParam;
  constexpr int shift = std::numeric_limits<T>::min_exponent - 10;  // below the normal range
  const Wide<T> p = wide_problem<T>(120);
  const std::vector<T> tiny = ldexp_of(p.w, shift);    // rounded to the subnormals' few bits
  const std::vector<T> same = ldexp_of(tiny, -shift);  // those bits, in the ordinary range
  for (const Engine engine : {Engine::reference, Engine::vectorized, Engine::fused}) {
    for (const Kernel kernel : {Kernel::gaussian, Kernel::epanechnikov, Kernel::uniform}) {
      SCOPED_TRACE(fmt::format("{} {}", to_string(engine), to_string(kernel)));
      auto predict = [&](std::span<const T> w) {
        NadarayaWatson<T> model({kernel, {0.6}, engine, 1});
        model.fit(p.X, p.Y, w);
        return model.predict(p.Z);
      };
      const Matrix<T> a = predict(tiny), b = predict(same);
      for (index_t i = 0; i < a.size(); ++i) {
        ASSERT_TRUE(std::isfinite(a.data()[i])) << "element " << i;
        EXPECT_EQ(a.data()[i], b.data()[i]) << "element " << i;
      }
    }
  }
}

// ---------------------------------------------------------------------------
// What predict returns.

TYPED_TEST(NwApi, NoQueriesGiveAnEmptyMatrix) {
  using T = TypeParam;
  for (const Engine engine : {Engine::reference, Engine::automatic}) {
    NadarayaWatson<T> model({Kernel::gaussian, {1.0}, engine, 1});
    model.fit(this->X0, this->Y0);
    kreg::PredictReport report;
    report.isolated = 99;
    const Matrix<T> out = model.predict(Matrix<T>(0, 2), &report);
    EXPECT_EQ(out.rows(), 0);
    EXPECT_EQ(out.cols(), 2);
    EXPECT_EQ(report.isolated, 0);
    // automatic resolves to the fused engine today (nw.hpp).
    EXPECT_EQ(report.engine, engine == Engine::automatic ? Engine::fused : Engine::reference);
  }
}

TYPED_TEST(NwApi, EveryOutputColumnIsPredicted) {
  using T = TypeParam;
  // Y columns: y0, 10 * y0, y0 + 5 -> predictions keep those relations
  // (weights are shared by all columns).
  const Matrix<T> Y = make<T>(4, 3, {1, 10, 6, 2, 20, 7, 3, 30, 8, 4, 40, 9});
  NadarayaWatson<T> model(options({0.8}));
  model.fit(this->X0, Y);
  EXPECT_EQ(model.n_features(), 2);
  EXPECT_EQ(model.n_outputs(), 3);
  const Matrix<T> Z = make<T>(3, 2, {0.3, 0.2, 1.5, 1.5, -1, 4});
  const Matrix<T> out = model.predict(Z);
  ASSERT_EQ(out.rows(), 3);
  ASSERT_EQ(out.cols(), 3);
  const double tol = std::is_same_v<T, float> ? 1e-5 : 1e-13;
  for (index_t i = 0; i < 3; ++i) {
    EXPECT_NEAR(out(i, 1), 10 * out(i, 0), tol * 40);
    EXPECT_NEAR(out(i, 2), out(i, 0) + 5, tol * 10);
    // Each column on its own gives the same numbers.
    for (index_t c = 0; c < 3; ++c) {
      Matrix<T> Yc(4, 1);
      for (index_t j = 0; j < 4; ++j) Yc(j, 0) = Y(j, c);
      NadarayaWatson<T> single(options({0.8}));
      single.fit(this->X0, Yc);
      EXPECT_EQ(single.predict(Z)(i, 0), out(i, c)) << "column " << c;
    }
  }
}

TYPED_TEST(NwApi, StridedViewsAndRefit) {
  using T = TypeParam;
  // A view with ld > cols reads only its own columns.
  Matrix<T> wide = make<T>(4, 3, {0, 0, kNaN, 1, 0, kNaN, 0, 1, kNaN, 2, 2, kNaN});
  const kreg::MatrixView<const T> X(wide.data(), 4, 2, 3);
  NadarayaWatson<T> a(options()), b(options());
  a.fit(X, this->Y0);
  b.fit(this->X0, this->Y0);
  const Matrix<T> Z = make<T>(2, 2, {0.5, 0.5, 1, 2});
  const Matrix<T> pa = a.predict(Z), pb = b.predict(Z);
  for (index_t i = 0; i < pa.size(); ++i) EXPECT_EQ(pa.data()[i], pb.data()[i]);
  // Fitting again replaces the training set, even its shape.
  a.fit(make<T>(2, 1, {0, 1}), make<T>(2, 1, {5, 5}));
  EXPECT_EQ(a.n_features(), 1);
  EXPECT_EQ(a.n_outputs(), 1);
  EXPECT_EQ(a.predict(make<T>(1, 1, {0.3}))(0, 0), T(5));
  // A failed fit leaves the previous model in place.
  expect_argument_error([&] { a.fit(this->X0, make<T>(1, 1, {1})); },
                        "X has 4 rows but Y has 1; they must match");
  EXPECT_EQ(a.n_features(), 1);
  EXPECT_EQ(a.predict(make<T>(1, 1, {0.3}))(0, 0), T(5));
}

// ---------------------------------------------------------------------------
// Names.

TEST(NwApiNames, ParseAndPrint) {
  const std::pair<const char*, Kernel> kernels[] = {{"gaussian", Kernel::gaussian},
                                                    {"epanechnikov", Kernel::epanechnikov},
                                                    {"tricube", Kernel::tricube},
                                                    {"uniform", Kernel::uniform}};
  for (const auto& [name, kernel] : kernels) {
    EXPECT_EQ(kreg::parse_kernel(name), kernel);
    EXPECT_EQ(kreg::to_string(kernel), name);
    EXPECT_EQ(kreg::parse_kernel(kreg::to_string(kernel)), kernel);
  }
  const std::pair<const char*, Engine> engines[] = {{"auto", Engine::automatic},
                                                    {"reference", Engine::reference},
                                                    {"vectorized", Engine::vectorized},
                                                    {"fused", Engine::fused}};
  for (const auto& [name, engine] : engines) {
    EXPECT_EQ(kreg::parse_engine(name), engine);
    EXPECT_EQ(kreg::to_string(engine), name);
    EXPECT_EQ(kreg::parse_engine(kreg::to_string(engine)), engine);
  }
}

TEST(NwApiNames, UnknownNames) {
  for (const char* bad : {"", "Gaussian", "gauss", "epanechnikov ", "box"}) {
    expect_argument_error([&] { kreg::parse_kernel(bad); },
                          std::string("unknown kernel '") + bad +
                              "'; choose gaussian, epanechnikov, tricube or uniform");
  }
  for (const char* bad : {"", "automatic", "Fused", "blas", "reference2"}) {
    expect_argument_error([&] { kreg::parse_engine(bad); },
                          std::string("unknown engine '") + bad + "'; choose auto, " +
                              (kreg::cuda_built() ? "cuda, " : "") +
                              "fused, vectorized or reference");
  }
}

}  // namespace

namespace {

// A training set on a grid and queries between its points.
template <class T>
struct Cancellable {
  Matrix<T> X, Y, Z;
  Cancellable(index_t n, index_t m) : X(n, 2), Y(n, 1), Z(m, 2) {
    for (index_t i = 0; i < n; ++i) {
      X(i, 0) = static_cast<T>(i % 97);
      X(i, 1) = static_cast<T>(i / 97);
      Y(i, 0) = static_cast<T>(std::sin(0.1 * static_cast<double>(i)));
    }
    for (index_t i = 0; i < m; ++i) {
      Z(i, 0) = static_cast<T>(0.5 + static_cast<double>(i % 89));
      Z(i, 1) = static_cast<T>(0.25 * static_cast<double>(i % 31));
    }
  }
};

template <class T>
void expect_predict_cancels() {
  const Cancellable<T> data(500, 300);
  for (const Engine engine :
       {Engine::automatic, Engine::reference, Engine::vectorized, Engine::fused}) {
    NadarayaWatson<T> model({Kernel::gaussian, {1.5}, engine, 2});
    model.fit(data.X, data.Y);
    kreg::CancelToken token;
    // An unrequested token changes nothing.
    const Matrix<T> plain = model.predict(data.Z);
    const Matrix<T> with_token = model.predict(data.Z, nullptr, &token);
    EXPECT_TRUE(std::equal(plain.data(), plain.data() + plain.size(), with_token.data()))
        << kreg::to_string(engine);
    token.request();
    EXPECT_THROW(model.predict(data.Z, nullptr, &token), kreg::Cancelled)
        << kreg::to_string(engine);
  }
}

TEST(NwApiCancel, RequestedTokenStopsEveryEngine) {
  expect_predict_cancels<double>();
  expect_predict_cancels<float>();
}

TEST(NwApiCancel, RequestFromAnotherThreadStopsALongPredict) {
  // 200000 x 100000 pairs: many seconds on any machine; the request comes
  // once predict runs, and predict must end with Cancelled, not finish.
  const Cancellable<double> data(100000, 200000);
  NadarayaWatson<double> model({Kernel::gaussian, {1.5}, Engine::fused, 2});
  model.fit(data.X, data.Y);
  kreg::CancelToken token;
  const kreg::test::RequestAfter soon(token, std::chrono::milliseconds(50));
  EXPECT_THROW(model.predict(data.Z, nullptr, &token), kreg::Cancelled);
}

}  // namespace

namespace {

// A fitted model predicts from several threads at once: the fused engine's
// first predict packs the model's tiles while the others wait, and every
// thread gets the bits of a predict on its own (TSan checks the packing).
TEST(NadarayaWatsonApi, ConcurrentFirstPredictsShareOneModel) {
  std::mt19937_64 rng(21);
  std::normal_distribution<double> normal;
  const index_t n = 3000, m = 200, d = 5;
  Matrix<double> X(n, d), Y(n, 1), Z(m, d);
  for (index_t i = 0; i < n; ++i) {
    for (index_t f = 0; f < d; ++f) X(i, f) = normal(rng);
    Y(i, 0) = std::sin(X(i, 0)) + X(i, 1);
  }
  for (index_t i = 0; i < m; ++i) {
    for (index_t f = 0; f < d; ++f) Z(i, f) = normal(rng);
  }
  NadarayaWatsonOptions o;
  o.bandwidth = {0.8};
  o.engine = Engine::fused;
  o.n_jobs = 1;
  NadarayaWatson<double> shared(o), alone(o);
  shared.fit(X.view(), Y.view());
  alone.fit(X.view(), Y.view());
  const Matrix<double> want = alone.predict(Z.view());
  std::vector<Matrix<double>> got(4);
  std::vector<std::thread> threads;
  for (std::size_t t = 0; t < got.size(); ++t) {
    threads.emplace_back([&, t] { got[t] = shared.predict(Z.view()); });
  }
  for (std::thread& t : threads) t.join();
  for (const Matrix<double>& g : got) {
    ASSERT_EQ(g.rows(), m);
    for (index_t i = 0; i < m; ++i) EXPECT_EQ(g(i, 0), want(i, 0)) << "query " << i;
  }
}

}  // namespace
