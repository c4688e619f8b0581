// The CPU engines at high d (pixels: d = 784) and at the crossover where the
// fused engine switches to its high-d blocking (tiles sized for L2, larger
// query blocks: nw/cpu/tiled.hpp, high_d and block_grain). Every engine must
// match the long-double reference within the harness's tolerance
// (|pred - ref| <= rtol max|y|, rtol 1e-4 in float, 1e-9 in double) and give
// the same bits for n_jobs = 1, 2 and 3, whose query blocks differ.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "kreg/device.hpp"
#include "kreg/matrix.hpp"
#include "kreg/nw.hpp"
#include "nw/backend.hpp"
#include "nw/cpu/tiled.hpp"

namespace {

using kreg::Engine;
using kreg::index_t;
using kreg::Kernel;
using kreg::Matrix;
using kreg::MatrixView;
namespace nw = kreg::nw;

template <class T>
constexpr double rtol() {
  return sizeof(T) == 4 ? 1e-4 : 1e-9;
}

template <class T>
struct Data {
  Matrix<T> X, Y, Z;
  std::vector<T> weights;
};

// Pixel-like data: 10 prototypes uniform in [0, 1]^d, each point a prototype
// plus N(0, 0.1^2) noise, y_c a smooth function of the prototype plus noise;
// so at h of 1-5 a query's weight sits on its own prototype's points. Every
// 9th query is a training point; every 11th lies three times as far from the
// origin, which puts it past the norm form's error bound in double (it takes
// direct differences while its group's other queries take the norm form).
template <class T>
Data<T> pixels(index_t n, index_t m, index_t d, index_t k, bool weighted, std::uint32_t seed) {
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<double> unit(0.0, 1.0), weight(0.05, 2.0);
  std::normal_distribution<double> noise(0.0, 0.1);
  constexpr int kProto = 10;
  std::vector<double> proto(static_cast<std::size_t>(kProto * d));
  for (double& v : proto) v = unit(rng);
  Data<T> data{Matrix<T>(n, d), Matrix<T>(n, k), Matrix<T>(m, d), {}};
  for (index_t i = 0; i < n; ++i) {
    const auto c = static_cast<index_t>(rng() % kProto);
    for (index_t f = 0; f < d; ++f) {
      data.X(i, f) = static_cast<T>(proto[static_cast<std::size_t>(c * d + f)] + noise(rng));
    }
    for (index_t o = 0; o < k; ++o) {
      data.Y(i, o) = static_cast<T>(std::sin(static_cast<double>(c + o)) + 0.1 * noise(rng));
    }
    if (weighted) data.weights.push_back(i % 6 == 5 ? T{0} : static_cast<T>(weight(rng)));
  }
  for (index_t i = 0; i < m; ++i) {
    const auto c = static_cast<index_t>(rng() % kProto);
    const double scale = i % 11 == 10 ? 3.0 : 1.0;
    for (index_t f = 0; f < d; ++f) {
      data.Z(i, f) =
          i % 9 == 0
              ? data.X((i * 37) % n, f)
              : static_cast<T>(scale * proto[static_cast<std::size_t>(c * d + f)] + noise(rng));
    }
  }
  return data;
}

template <class T>
Matrix<T> predict(const Data<T>& data, Kernel kernel, double h, Engine engine, int n_jobs,
                  index_t* isolated = nullptr) {
  kreg::NadarayaWatsonOptions options{kernel, {h}, engine, n_jobs};
  kreg::NadarayaWatson<T> model(options);
  model.fit(data.X, data.Y, data.weights);
  kreg::PredictReport report;
  Matrix<T> out = model.predict(data.Z, &report);
  if (isolated != nullptr) *isolated = report.isolated;
  return out;
}

template <class T>
void expect_close(const Matrix<T>& got, const Matrix<T>& want, const Matrix<T>& Y,
                  const std::string& what) {
  ASSERT_EQ(got.size(), want.size()) << what;
  double ymax = 1e-300;
  for (index_t i = 0; i < Y.size(); ++i) ymax = std::max(ymax, std::abs(double{Y.data()[i]}));
  double worst = 0;
  index_t at = 0;
  for (index_t i = 0; i < got.size(); ++i) {
    ASSERT_TRUE(std::isfinite(double{got.data()[i]})) << what << ": element " << i;
    const double err = std::abs(double{got.data()[i]} - double{want.data()[i]});
    if (err > worst) {
      worst = err;
      at = i;
    }
  }
  EXPECT_LE(worst, rtol<T>() * ymax) << what << ": worst at element " << at << " (got "
                                     << got.data()[at] << ", reference " << want.data()[at] << ")";
}

template <class T>
bool same_bits(const Matrix<T>& a, const Matrix<T>& b) {
  return a.size() == b.size() &&
         std::memcmp(a.data(), b.data(), static_cast<std::size_t>(a.size()) * sizeof(T)) == 0;
}

// Each engine against the reference, and its bits for n_jobs 1, 2, 3.
template <class T>
void check(const Data<T>& data, Kernel kernel, double h, const std::string& label) {
  index_t ref_isolated = 0;
  const Matrix<T> ref = predict(data, kernel, h, Engine::reference, 1, &ref_isolated);
  for (const Engine engine : {Engine::fused, Engine::vectorized, Engine::automatic}) {
    const std::string what = label + " " + std::string(kreg::to_string(engine)) + " " +
                             std::string(kreg::to_string(kernel)) + " h=" + std::to_string(h);
    index_t isolated = 0;
    const Matrix<T> one = predict(data, kernel, h, engine, 1, &isolated);
    expect_close(one, ref, data.Y, what);
    EXPECT_EQ(isolated, ref_isolated) << what;
    for (const int jobs : {2, 3}) {
      EXPECT_TRUE(same_bits(predict(data, kernel, h, engine, jobs), one))
          << what << ": n_jobs=" << jobs << " differs in its bits from n_jobs=1";
    }
  }
}

template <class T>
class NwHighD : public ::testing::Test {};
using Types = ::testing::Types<float, double>;
TYPED_TEST_SUITE(NwHighD, Types);

// d = 784 (Fashion-MNIST's pixels): several tiles and several query blocks,
// with and without sample weights.
TYPED_TEST(NwHighD, PixelsMatchTheReference) {
  using T = TypeParam;
  for (const bool weighted : {false, true}) {
    const Data<T> data = pixels<T>(700, 320, 784, 3, weighted, weighted ? 7 : 5);
    const std::string label = weighted ? "d=784 weighted" : "d=784";
    for (const double h : {1.0, 2.0, 5.0}) check(data, Kernel::gaussian, h, label);
    check(data, Kernel::epanechnikov, 6.0, label);
  }
}

// Both sides of the crossover (high_d: a 64-point tile's features overflow
// 32 KiB, so d > 128 in float and d > 64 in double).
TYPED_TEST(NwHighD, BothSidesOfTheCrossover) {
  using T = TypeParam;
  const index_t first = 32 * 1024 / (64 * static_cast<index_t>(sizeof(T))) + 1;
  ASSERT_FALSE(kreg::nw::tiled::high_d<T>(first - 1));
  ASSERT_TRUE(kreg::nw::tiled::high_d<T>(first));
  for (const index_t d : {first - 1, first}) {
    const Data<T> data = pixels<T>(300, 300, d, 2, false, static_cast<std::uint32_t>(d));
    for (const double h : {0.7, 2.0}) check(data, Kernel::gaussian, h, "d=" + std::to_string(d));
  }
}

// The query blocks at high d: up to kHighDGrain queries, at least
// kHighDBlocksPerThread blocks a thread, never below kGrain; low d and many
// bandwidths keep kGrain.
TEST(NwHighDBlocks, GrainFromQueriesAndThreads) {
  using kreg::nw::tiled::block_grain;
  using kreg::nw::tiled::kGrain;
  using kreg::nw::tiled::kHighDGrain;
  EXPECT_EQ(block_grain<float>(true, 10, 100000, 1), kGrain);
  EXPECT_EQ(block_grain<double>(true, 64, 100000, 1), kGrain);
  EXPECT_EQ(block_grain<float>(false, 784, 100000, 1), kGrain);
  EXPECT_EQ(block_grain<double>(true, 65, 100000, 1), kHighDGrain);
  EXPECT_EQ(block_grain<float>(true, 784, 1000, 1), 256);
  EXPECT_EQ(block_grain<float>(true, 784, 1000, 2), 128);  // 8 blocks: 4 a thread
  EXPECT_EQ(block_grain<float>(true, 784, 1000, 3), 88);
  EXPECT_EQ(block_grain<float>(true, 784, 100, 2), kGrain);
  EXPECT_EQ(block_grain<double>(true, 784, 1000, 0), 256);
}

// A CPU backend with a set cost estimate (NaN: none) that predicts with the
// reference engine.
class Costed final : public nw::TypedBackend<Costed> {
 public:
  explicit Costed(double seconds) : seconds_(seconds) {}
  std::string_view name() const override { return "costed"; }
  std::string_view device() const override { return "cpu"; }
  bool supports(const nw::Request& r, std::string*) const override {
    return r.operation == nw::Operation::predict;
  }
  double cost(const nw::Request&) const override { return seconds_; }
  template <class T>
  class Kept final : public nw::Fitted<T> {
   public:
    explicit Kept(nw::TrainingSet<T> training) : t(std::move(training)) {}
    index_t rows() const override { return t.X.rows(); }
    nw::TrainingSet<T> t;
  };
  template <class T>
  std::unique_ptr<nw::Fitted<T>> prepare_typed(nw::TrainingSet<T> t) const {
    return std::make_unique<Kept<T>>(std::move(t));
  }
  template <class T>
  index_t predict_typed(const nw::Fitted<T>& f, MatrixView<const T> Z, MatrixView<T> out,
                        int n_threads, const kreg::CancelToken* cancel) const {
    const auto& t = static_cast<const Kept<T>&>(f).t;
    return nw::predict_reference<T>({t.X, t.Y, t.weights, t.kernel, t.inv_h2}, Z, out, n_threads,
                                    cancel);
  }
  template <class T>
  void predict_grid_typed(const nw::Fitted<T>&, MatrixView<const T>, std::span<const double>,
                          nw::Exclusion, std::span<const index_t>, MatrixView<T>,
                          std::span<index_t>, int, const kreg::CancelToken*) const {
    ADD_FAILURE() << "predict_grid called on a backend that declines it";
  }

 private:
  double seconds_;
};

nw::Request pixel_request(nw::Dtype dtype, index_t d) {
  nw::Request r;
  r.dtype = dtype;
  r.n = 60000;
  r.d = d;
  r.k = 10;
  return r;
}

// auto ranks the engines that estimate their cost by the estimate: a cheaper
// one registered first wins, a dearer one loses to fused; one without an
// estimate keeps its place in the preference order.
TEST(NwAutoCost, RanksByEstimate) {
  const kreg::Device cpu = kreg::Device::cpu();
  for (const nw::Dtype dtype : {nw::Dtype::f32, nw::Dtype::f64}) {
    for (const index_t d : {1, 10, 129, 784, 4096}) {
      const nw::Request r = pixel_request(dtype, d);
      const std::string what = "d=" + std::to_string(d);
      {
        const Costed cheap(0.0);
        const nw::ScopedBackend registered(cheap, /*first=*/true);
        EXPECT_EQ(nw::choose(r, Engine::automatic, cpu).name(), "costed") << what;
      }
      {
        const Costed dear(1e30);
        const nw::ScopedBackend registered(dear, /*first=*/true);
        EXPECT_EQ(nw::choose(r, Engine::automatic, cpu).name(), "fused") << what;
      }
      {
        const Costed unknown(std::nan(""));
        const nw::ScopedBackend registered(unknown, /*first=*/true);
        EXPECT_EQ(nw::choose(r, Engine::automatic, cpu).name(), "costed") << what;
      }
      {
        const Costed behind(0.0);  // after the reference engine, which gives no estimate
        const nw::ScopedBackend registered(behind, /*first=*/false);
        EXPECT_EQ(nw::choose(r, Engine::automatic, cpu).name(), "fused") << what;
      }
    }
  }
}

// The calibrated model itself: fused is cheaper than vectorized at every d
// (its per-pair and its per-feature costs are both lower), so auto runs it
// on the CPU; the estimates grow with n and d.
TEST(NwAutoCost, CalibratedModelPicksFused) {
  const nw::Backend* fused = nullptr;
  const nw::Backend* vectorized = nullptr;
  for (const nw::Backend* b : nw::backends()) {
    if (b->name() == "fused") fused = b;
    if (b->name() == "vectorized") vectorized = b;
  }
  ASSERT_NE(fused, nullptr);
  ASSERT_NE(vectorized, nullptr);
  for (const nw::Dtype dtype : {nw::Dtype::f32, nw::Dtype::f64}) {
    for (const index_t d : {1, 10, 784, 4096}) {
      const nw::Request r = pixel_request(dtype, d);
      EXPECT_LT(fused->cost(r), vectorized->cost(r)) << "d=" << d;
      EXPECT_GT(fused->cost(r), 0.0);
      EXPECT_LT(fused->cost(pixel_request(dtype, d)), fused->cost(pixel_request(dtype, d + 1)));
      EXPECT_EQ(nw::choose(r, Engine::automatic, kreg::Device::cpu()).name(), "fused");
    }
  }
}

}  // namespace
