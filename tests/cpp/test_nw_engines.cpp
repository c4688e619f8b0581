// The engine consistency harness (like ggml's test-backend-ops): every
// registered engine but the oracle (src/nw/backend.hpp's registry: fused and
// vectorized here, CUDA where built) and auto x type x kernel, over a sample of shapes,
// bandwidths and sample weights that covers each axis, against
// Engine::reference through NadarayaWatson<T>:
//
//   |pred - ref| <= rtol * max_j |y_j|   (rtol 1e-9 for double, 1e-4 for float)
//
// the same isolated count as the reference, and bit-identical predictions for
// n_jobs = 1, 2, 3 and 8. Then the limits: data far from the origin, tiny and
// huge bandwidths, ties, every SIMD target this CPU runs, a training set
// larger than the fused engine packs at once, and n = 100,000 in float.
#include <gtest/gtest.h>
#include <hwy/targets.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <ostream>
#include <random>
#include <span>
#include <string>
#include <vector>

#include "kreg/matrix.hpp"
#include "kreg/nw.hpp"
#include "kreg/system.hpp"
#include "nw/backend.hpp"

namespace {

using kreg::Engine;
using kreg::index_t;
using kreg::Kernel;
using kreg::Matrix;

constexpr Kernel kKernels[] = {Kernel::gaussian, Kernel::epanechnikov, Kernel::tricube,
                               Kernel::uniform};
constexpr int kJobs[] = {1, 2, 3, 8};
// The oracle runs on the calling thread: its thread count does not matter, and
// under TSan (with Debian's uninstrumented oneTBB) every read of data handed
// to a worker is reported, which makes the reference's n x d loops crawl.
constexpr int kRefJobs = 1;

template <class T>
constexpr double rtol() {
  return sizeof(T) == 4 ? 1e-4 : 1e-9;
}

template <class T>
struct Data {
  Matrix<T> X, Y, Z;
  std::vector<T> weights;  // empty: unweighted
};

// X, Z ~ N(0, 1) + shift; y_c = sum_f sin(x_f + c) + c + noise. The first
// query (and every 7th) is a copy of a training point, so compact kernels see
// distance 0; when weighted, weights are uniform in [0.05, 2] and every 5th is
// 0 (the model drops those points).
template <class T>
Data<T> make_data(index_t n, index_t m, index_t d, index_t k, bool weighted, double shift,
                  std::uint32_t seed) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<double> normal(0.0, 1.0);
  std::uniform_real_distribution<double> uniform(0.05, 2.0);
  Data<T> data{Matrix<T>(n, d), Matrix<T>(n, k), Matrix<T>(m, d), {}};
  for (index_t i = 0; i < n; ++i) {
    double base = 0;
    for (index_t f = 0; f < d; ++f) {
      const double x = normal(rng);
      data.X(i, f) = static_cast<T>(x + shift);
      base += std::sin(x);
    }
    for (index_t c = 0; c < k; ++c) {
      data.Y(i, c) = static_cast<T>(base * (1.0 + 0.5 * static_cast<double>(c)) +
                                    static_cast<double>(c) + 0.1 * normal(rng));
    }
  }
  for (index_t i = 0; i < m; ++i) {
    const index_t copy = i % 7 == 0 ? (i * 31) % n : -1;
    for (index_t f = 0; f < d; ++f) {
      data.Z(i, f) = copy >= 0 ? data.X(copy, f) : static_cast<T>(normal(rng) + shift);
    }
  }
  if (weighted) {
    for (index_t i = 0; i < n; ++i) {
      data.weights.push_back(i % 5 == 4 && n > 1 ? T{0} : static_cast<T>(uniform(rng)));
    }
  }
  return data;
}

template <class T>
struct Result {
  Matrix<T> pred;
  kreg::PredictReport report;
};

template <class T>
Result<T> predict(const Data<T>& data, Kernel kernel, std::vector<double> h, Engine engine,
                  int n_jobs) {
  kreg::NadarayaWatsonOptions options{kernel, std::move(h), engine, n_jobs};
  kreg::NadarayaWatson<T> model(options);
  model.fit(data.X, data.Y, data.weights);
  Result<T> r;
  r.pred = model.predict(data.Z, &r.report);
  return r;
}

template <class T>
double max_abs(const Matrix<T>& m) {
  double v = 0;
  for (index_t i = 0; i < m.size(); ++i)
    v = std::max(v, std::abs(static_cast<double>(m.data()[i])));
  return v;
}

// |got - want| <= tol * max|y| everywhere, and everything finite.
template <class T>
void expect_close(const Matrix<T>& got, const Matrix<T>& want, const Matrix<T>& Y, double tol,
                  const std::string& what) {
  ASSERT_EQ(got.rows(), want.rows()) << what;
  ASSERT_EQ(got.cols(), want.cols()) << what;
  const double bound = tol * std::max(max_abs(Y), 1e-300);
  double worst = 0;
  index_t worst_at = 0;
  for (index_t i = 0; i < got.size(); ++i) {
    const double g = got.data()[i], w = want.data()[i];
    ASSERT_TRUE(std::isfinite(g)) << what << ": prediction " << i << " is " << g;
    const double err = std::abs(g - w);
    if (!(err <= worst)) {
      worst = err;
      worst_at = i;
    }
  }
  EXPECT_LE(worst, bound) << what << ": worst at element " << worst_at << " (got "
                          << got.data()[worst_at] << ", reference " << want.data()[worst_at]
                          << "), " << worst / bound << " x the bound";
}

template <class T>
bool bitwise_equal(const Matrix<T>& a, const Matrix<T>& b) {
  return a.rows() == b.rows() && a.cols() == b.cols() &&
         std::memcmp(a.data(), b.data(), static_cast<std::size_t>(a.size()) * sizeof(T)) == 0;
}

// ------------------------------------------------------------------ harness

struct Case {
  Engine engine;
  bool f32;
  Kernel kernel;
  index_t n, m, d, k;
  double h;
  bool weighted;
};

std::string case_string(const Case& c) {
  std::string h = std::to_string(c.h);
  h.erase(h.find_last_not_of('0') + 1);
  if (h.back() == '.') h.pop_back();
  std::replace(h.begin(), h.end(), '.', 'p');
  return std::string(kreg::to_string(c.engine)) + (c.f32 ? "_f32_" : "_f64_") +
         std::string(kreg::to_string(c.kernel)) + "_n" + std::to_string(c.n) + "_m" +
         std::to_string(c.m) + "_d" + std::to_string(c.d) + "_k" + std::to_string(c.k) + "_h" + h +
         (c.weighted ? "_weighted" : "");
}

std::string case_name(const ::testing::TestParamInfo<Case>& info) {
  return case_string(info.param);
}

void PrintTo(const Case& c, std::ostream* os) { *os << case_string(c); }

// A sample of the cross product in which every engine x type x kernel sees
// each n, m, d, k and bandwidth, each bandwidth with and without weights.
std::vector<Case> harness_cases() {
  constexpr index_t ns[] = {1, 7, 64, 257, 1000};
  constexpr index_t ms[] = {1, 13, 300};
  constexpr index_t ds[] = {1, 3, 10, 33};
  constexpr index_t ks[] = {1, 3};
  constexpr double hs[] = {1e-3, 0.3, 1.0, 10.0, 1e4};
  // Every registered engine that predicts, then auto: a new backend joins by registering.
  std::vector<Engine> engines;
  kreg::nw::Request predict;
  for (const kreg::nw::Backend* b : kreg::nw::backends()) {
    if (b->name() != Engine::reference.name() && b->supports(predict)) {
      engines.emplace_back(b->name());
    }
  }
  engines.push_back(Engine::automatic);
  std::vector<Case> cases;
  for (const Engine engine : engines) {
    for (const bool f32 : {false, true}) {
      for (int kern = 0; kern < 4; ++kern) {
        for (int i = 0; i < 10; ++i) {
          const int t = i + kern + (f32 ? 1 : 0);
          cases.push_back({engine, f32, kKernels[kern], ns[t % 5], ms[(i + kern) % 3],
                           ds[(t + i / 5) % 4], ks[(i + i / 5 + kern) % 2], hs[i % 5], i >= 5});
        }
      }
    }
  }
  return cases;
}

// The engine auto picks to predict: the first registered that can (the CUDA
// engine declines where there is no device).
Engine first_predicting() {
  for (const kreg::nw::Backend* b : kreg::nw::backends()) {
    if (b->supports(kreg::nw::Request{})) return Engine(b->name());
  }
  return Engine::automatic;
}

class NwEngines : public ::testing::TestWithParam<Case> {
 protected:
  template <class T>
  void check() {
    const Case& c = GetParam();
    const auto seed = static_cast<std::uint32_t>(c.n * 131 + c.m * 17 + c.d * 7 + c.k);
    const Data<T> data = make_data<T>(c.n, c.m, c.d, c.k, c.weighted, 0.0, seed);
    const Result<T> ref = predict(data, c.kernel, {c.h}, Engine::reference, kRefJobs);
    std::vector<Result<T>> runs;
    for (const int jobs : kJobs) {
      runs.push_back(predict(data, c.kernel, {c.h}, c.engine, jobs));
      const Result<T>& r = runs.back();
      const std::string what = "n_jobs=" + std::to_string(jobs);
      EXPECT_EQ(r.report.engine, c.engine == Engine::automatic ? first_predicting() : c.engine);
      expect_close(r.pred, ref.pred, data.Y, rtol<T>(), what);
      EXPECT_EQ(r.report.isolated, ref.report.isolated) << what;
      EXPECT_TRUE(bitwise_equal(r.pred, runs.front().pred))
          << what << " differs in its bits from n_jobs=1";
    }
    if (c.engine == Engine::automatic) {  // auto is the first engine, bit for bit
      const Engine first = first_predicting();
      EXPECT_TRUE(bitwise_equal(runs.front().pred, predict(data, c.kernel, {c.h}, first, 1).pred));
    }
  }
};

TEST_P(NwEngines, MatchesReferenceWithAnyThreadCount) {
  if (GetParam().f32) {
    check<float>();
  } else {
    check<double>();
  }
}

INSTANTIATE_TEST_SUITE_P(Sample, NwEngines, ::testing::ValuesIn(harness_cases()), case_name);

// ----------------------------------------------------------------- limits

template <class T>
class NwEngineLimits : public ::testing::Test {};
using Types = ::testing::Types<float, double>;
TYPED_TEST_SUITE(NwEngineLimits, Types);

// Data a million away from the origin: the model centres it in double first,
// so every engine still matches the reference.
TYPED_TEST(NwEngineLimits, FarFromTheOrigin) {
  using T = TypeParam;
  const Data<T> data = make_data<T>(500, 40, 4, 2, true, 1e6, 3);
  for (const Kernel kernel : kKernels) {
    for (const double h : {0.05, 0.3, 1.0}) {
      const Result<T> ref = predict(data, kernel, {h}, Engine::reference, kRefJobs);
      for (const Engine engine : {Engine::vectorized, Engine::fused}) {
        const Result<T> r = predict(data, kernel, {h}, engine, 2);
        const std::string what = std::string(kreg::to_string(engine)) + " " +
                                 std::string(kreg::to_string(kernel)) + " h=" + std::to_string(h);
        expect_close(r.pred, ref.pred, data.Y, rtol<T>(), what);
        EXPECT_EQ(r.report.isolated, ref.report.isolated) << what;
      }
    }
  }
}

// Mean y of the points selected by `pick` (sample-weighted).
template <class T, class Pick>
std::vector<double> weighted_mean(const Data<T>& data, Pick pick) {
  std::vector<double> mean(static_cast<std::size_t>(data.Y.cols()), 0.0);
  double total = 0;
  for (index_t j = 0; j < data.X.rows(); ++j) {
    const double w = data.weights.empty() ? 1.0 : static_cast<double>(data.weights[j]);
    if (!(w > 0) || !pick(j)) continue;
    total += w;
    for (index_t c = 0; c < data.Y.cols(); ++c) mean[c] += w * static_cast<double>(data.Y(j, c));
  }
  for (double& v : mean) v /= total;
  return mean;
}

// h = 1e-8: every kernel gives the mean y of the nearest training point(s)
// (compact kernels count every query that is not on a training point as
// isolated); h = 1e8: every kernel gives the mean of y.
TYPED_TEST(NwEngineLimits, TinyAndHugeBandwidths) {
  using T = TypeParam;
  const Data<T> data = make_data<T>(300, 30, 3, 2, true, 0.0, 5);
  for (const Kernel kernel : kKernels) {
    const std::string name(kreg::to_string(kernel));
    const Result<T> tiny = predict(data, kernel, {1e-8}, Engine::fused, 2);
    const Result<T> tiny_ref = predict(data, kernel, {1e-8}, Engine::reference, kRefJobs);
    expect_close(tiny.pred, tiny_ref.pred, data.Y, rtol<T>(), name + " h=1e-8");
    EXPECT_EQ(tiny.report.isolated, tiny_ref.report.isolated) << name;
    index_t on_a_point = 0;
    for (index_t i = 0; i < data.Z.rows(); ++i) {
      // The nearest training point(s), by squared distance in double.
      std::vector<double> dist(static_cast<std::size_t>(data.X.rows()));
      double best = INFINITY;
      for (index_t j = 0; j < data.X.rows(); ++j) {
        double s = 0;
        for (index_t f = 0; f < data.X.cols(); ++f) {
          const double e = static_cast<double>(data.Z(i, f)) - static_cast<double>(data.X(j, f));
          s += e * e;
        }
        dist[j] = s;
        if (s < best && data.weights[j] > 0) best = s;
      }
      on_a_point += best == 0;
      const std::vector<double> want =
          weighted_mean(data, [&](index_t j) { return dist[j] == best; });
      for (index_t c = 0; c < data.Y.cols(); ++c) {
        EXPECT_NEAR(tiny.pred(i, c), want[c], rtol<T>() * max_abs(data.Y))
            << name << " query " << i;
      }
    }
    EXPECT_EQ(tiny.report.isolated, kernel == Kernel::gaussian ? 0 : data.Z.rows() - on_a_point)
        << name;

    const Result<T> huge = predict(data, kernel, {1e8}, Engine::fused, 2);
    const std::vector<double> mean = weighted_mean(data, [](index_t) { return true; });
    for (index_t i = 0; i < data.Z.rows(); ++i) {
      for (index_t c = 0; c < data.Y.cols(); ++c) {
        EXPECT_NEAR(huge.pred(i, c), mean[c], rtol<T>() * max_abs(data.Y)) << name << " h=1e8";
      }
    }
    EXPECT_EQ(huge.report.isolated, 0) << name;
  }
}

// Every decade of bandwidth from 1e-8 to 1e8, one per feature too: finite and
// equal to the reference.
TYPED_TEST(NwEngineLimits, BandwidthSweep) {
  using T = TypeParam;
  const Data<T> data = make_data<T>(200, 20, 2, 1, false, 0.0, 9);
  for (const Kernel kernel : kKernels) {
    for (int e = -8; e <= 8; ++e) {
      const double h = std::pow(10.0, e);
      for (const std::vector<double>& bw :
           {std::vector<double>{h}, std::vector<double>{h, 3 * h}}) {
        const Result<T> r = predict(data, kernel, bw, Engine::fused, 2);
        const Result<T> ref = predict(data, kernel, bw, Engine::reference, kRefJobs);
        const std::string what = std::string(kreg::to_string(kernel)) + " h=" + std::to_string(h) +
                                 (bw.size() > 1 ? " per feature" : "");
        expect_close(r.pred, ref.pred, data.Y, rtol<T>(), what);
        EXPECT_EQ(r.report.isolated, ref.report.isolated) << what;
      }
    }
  }
}

// Three copies of one training point with different y and weights: a query
// on them, or nearest to them outside every support, gets their weighted mean.
TYPED_TEST(NwEngineLimits, TiesAtTheNearestPoint) {
  using T = TypeParam;
  Data<T> data{Matrix<T>(5, 2), Matrix<T>(5, 1), Matrix<T>(3, 2), {1, 1, 2, 1, 1}};
  const double xs[5][2] = {{1, 1}, {1, 1}, {1, 1}, {5, 5}, {-4, 2}};
  const double ys[5] = {1, 2, 6, 100, -100};
  for (index_t j = 0; j < 5; ++j) {
    data.X(j, 0) = static_cast<T>(xs[j][0]);
    data.X(j, 1) = static_cast<T>(xs[j][1]);
    data.Y(j, 0) = static_cast<T>(ys[j]);
  }
  const double zs[3][2] = {{1, 1}, {1.5, 1}, {2, 2.5}};
  for (index_t i = 0; i < 3; ++i) {
    data.Z(i, 0) = static_cast<T>(zs[i][0]);
    data.Z(i, 1) = static_cast<T>(zs[i][1]);
  }
  const double want = (1 + 2 + 12) / 4.0;
  for (const Kernel kernel : kKernels) {
    const Result<T> r = predict(data, kernel, {0.01}, Engine::fused, 3);
    for (index_t i = 0; i < 3; ++i) {
      EXPECT_NEAR(r.pred(i, 0), want, 1e-5) << kreg::to_string(kernel) << " query " << i;
    }
    EXPECT_EQ(r.report.isolated, kernel == Kernel::gaussian ? 0 : 2) << kreg::to_string(kernel);
  }
}

// The fused engine on every SIMD target this CPU runs (Highway's dynamic
// dispatch picks only the best one otherwise).
TYPED_TEST(NwEngineLimits, EverySimdTarget) {
  using T = TypeParam;
  const Data<T> data = make_data<T>(301, 37, 5, 2, true, 0.0, 13);
  std::vector<Result<T>> refs;
  for (const Kernel kernel : kKernels) {
    refs.push_back(predict(data, kernel, {0.7}, Engine::reference, kRefJobs));
  }
  // kreg applies KREG_SIMD_TARGET before the mock below can hide the CPU's
  // targets from it; when the variable is set, only its target is left.
  (void)kreg::simd_active_target();
  const std::vector<std::int64_t> targets = hwy::SupportedAndGeneratedTargets();
  ASSERT_FALSE(targets.empty());
  for (const std::int64_t target : targets) {
    hwy::SetSupportedTargetsForTest(target);
    for (std::size_t i = 0; i < std::size(kKernels); ++i) {
      const Result<T> r = predict(data, kKernels[i], {0.7}, Engine::fused, 2);
      const std::string what =
          std::string(hwy::TargetName(target)) + " " + std::string(kreg::to_string(kKernels[i]));
      expect_close(r.pred, refs[i].pred, data.Y, rtol<T>(), what);
      EXPECT_EQ(r.report.isolated, refs[i].report.isolated) << what;
    }
  }
  hwy::SetSupportedTargetsForTest(0);
}

// A training set larger than the fused engine packs at once (32 MB of
// tiles): the running sums carry over from one chunk to the next.
TEST(NwEngineChunks, TrainingSetInSeveralChunks) {
  const Data<float> data = make_data<float>(12000, 4, 784, 1, false, 0.0, 17);
  for (const Kernel kernel : {Kernel::gaussian, Kernel::epanechnikov}) {
    const Result<float> ref = predict(data, kernel, {30.0}, Engine::reference, kRefJobs);
    const Result<float> r = predict(data, kernel, {30.0}, Engine::fused, 2);
    expect_close(r.pred, ref.pred, data.Y, 1e-4, std::string(kreg::to_string(kernel)));
    EXPECT_EQ(r.report.isolated, ref.report.isolated);
  }
}

// n = 100,000 in float: the tile sums go into double accumulators, so the
// error stays at float rounding of the weights, well inside the contract.
TEST(NwEngineChunks, HundredThousandPointsInFloat) {
  const Data<float> data = make_data<float>(100000, 16, 3, 1, false, 0.0, 19);
  const Result<float> ref = predict(data, Kernel::gaussian, {2.0}, Engine::reference, kRefJobs);
  const Result<float> r = predict(data, Kernel::gaussian, {2.0}, Engine::fused, 2);
  expect_close(r.pred, ref.pred, data.Y, 1e-5, "n=100000");
}

}  // namespace
