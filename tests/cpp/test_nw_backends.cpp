// The backend registry (src/nw/backend.hpp): a backend registered only here,
// which declines everything but predict with k = 1 and the Gaussian kernel,
// proves that "auto" falls back to the next engine and reports the one that
// ran; that a named engine that cannot do a call says why; that a registered
// backend is selectable by name and joins the consistency checks; and that
// every registered engine that predicts many bandwidths at once agrees with
// the reference engine, for k-fold style exclusions and whole leave-one-out.
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "kreg/error.hpp"
#include "kreg/nw.hpp"
#include "kreg/select.hpp"
#include "nw/backend.hpp"
#include "test_support.hpp"

namespace {

using kreg::Engine;
using kreg::index_t;
using kreg::Kernel;
using kreg::Matrix;
using kreg::MatrixView;
namespace nw = kreg::nw;

// Predicts with the reference engine, but only k = 1 Gaussian; counts its calls.
class K1GaussianOnly final : public nw::TypedBackend<K1GaussianOnly> {
 public:
  std::string_view name() const override { return "k1-gaussian-only"; }
  std::string_view device() const override { return "cpu"; }
  bool supports(const nw::Request& r, std::string* why) const override {
    const bool ok =
        r.operation == nw::Operation::predict && r.k == 1 && r.kernel == Kernel::gaussian;
    if (!ok && why != nullptr) *why = "it predicts one output with the Gaussian kernel only";
    return ok;
  }
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
    ++calls;
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
  mutable std::atomic<int> calls{0};
};

template <class T>
struct Data {
  Matrix<T> X, Y, Z;
};

template <class T>
Data<T> make_data(index_t n, index_t m, index_t d, index_t k, std::uint32_t seed) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<double> normal(0.0, 1.0);
  Data<T> data{Matrix<T>(n, d), Matrix<T>(n, k), Matrix<T>(m, d)};
  for (index_t i = 0; i < n; ++i) {
    for (index_t f = 0; f < d; ++f) data.X(i, f) = static_cast<T>(normal(rng));
    for (index_t c = 0; c < k; ++c) {
      data.Y(i, c) = static_cast<T>(std::sin(data.X(i, 0)) + static_cast<double>(c));
    }
  }
  for (index_t i = 0; i < m; ++i) {
    for (index_t f = 0; f < d; ++f) data.Z(i, f) = static_cast<T>(normal(rng));
  }
  return data;
}

template <class T>
Matrix<T> predict(const Data<T>& data, Kernel kernel, Engine engine, kreg::PredictReport* report) {
  kreg::NadarayaWatson<T> model({kernel, {0.7}, engine, 2});
  model.fit(data.X, data.Y);
  return model.predict(data.Z, report);
}

template <class T>
bool same_bits(const Matrix<T>& a, const Matrix<T>& b) {
  return a.rows() == b.rows() && a.cols() == b.cols() &&
         std::memcmp(a.data(), b.data(), static_cast<std::size_t>(a.size()) * sizeof(T)) == 0;
}

template <class T>
class NwBackends : public ::testing::Test {};
using Types = ::testing::Types<float, double>;
TYPED_TEST_SUITE(NwBackends, Types);

TYPED_TEST(NwBackends, AutoFallsBackAndReportsTheEngineThatRan) {
  using T = TypeParam;
  const K1GaussianOnly backend;
  const nw::ScopedBackend registered(backend, /*first=*/true);
  ASSERT_EQ(nw::backends().front()->name(), "k1-gaussian-only");

  // k = 1 Gaussian: the test backend, first in the order, runs; it is the
  // reference engine inside, so the bits are the reference's.
  const Data<T> one = make_data<T>(200, 30, 3, 1, 1);
  kreg::PredictReport report;
  const Matrix<T> got = predict(one, Kernel::gaussian, Engine::automatic, &report);
  EXPECT_EQ(report.engine.name(), "k1-gaussian-only");
  EXPECT_EQ(backend.calls.load(), 1);
  EXPECT_TRUE(same_bits(got, predict(one, Kernel::gaussian, Engine::reference, nullptr)));

  // Two outputs, or another kernel: declined, so auto takes the next engine
  // (fused; the CUDA engine where a device is present).
  nw::Request next;
  next.k = 2;
  const Engine after(nw::choose(next, Engine::automatic).name());
  EXPECT_NE(after.name(), "k1-gaussian-only");
  const Data<T> two = make_data<T>(200, 30, 3, 2, 2);
  const Matrix<T> fell = predict(two, Kernel::gaussian, Engine::automatic, &report);
  EXPECT_EQ(report.engine, after);
  EXPECT_TRUE(same_bits(fell, predict(two, Kernel::gaussian, after, nullptr)));
  predict(one, Kernel::tricube, Engine::automatic, &report);
  EXPECT_EQ(report.engine, after);
  EXPECT_EQ(backend.calls.load(), 1);

  // A search predicts many bandwidths at once: declined too.
  kreg::CvOptions cv;
  cv.cv = kreg::parse_cv("3");
  cv.n_jobs = 1;
  const kreg::BandwidthCV<T> search(one.X, one.Y, {}, cv);
  const kreg::CvScores scores = search.score({{}, {0.3, 1.0}});
  EXPECT_EQ(backend.calls.load(), 1);
  EXPECT_EQ(scores.mean.size(), 2U);
}

TYPED_TEST(NwBackends, ARegisteredBackendIsSelectableByName) {
  using T = TypeParam;
  const Data<T> one = make_data<T>(50, 10, 2, 1, 3);
  const Data<T> two = make_data<T>(50, 10, 2, 2, 4);
  {
    const K1GaussianOnly backend;
    const nw::ScopedBackend registered(backend, /*first=*/false);
    EXPECT_EQ(nw::backends().back()->name(), "k1-gaussian-only");
    const Engine named = kreg::parse_engine("k1-gaussian-only");
    kreg::PredictReport report;
    predict(one, Kernel::gaussian, named, &report);
    EXPECT_EQ(report.engine, named);
    EXPECT_EQ(backend.calls.load(), 1);
    // auto prefers the engines registered before it.
    predict(one, Kernel::gaussian, Engine::automatic, &report);
    EXPECT_EQ(report.engine.name(), nw::choose(nw::Request{}, Engine::automatic).name());
    EXPECT_NE(report.engine.name(), "k1-gaussian-only");
    // Named, it cannot be bypassed: a call it declines is an error that says why.
    kreg::test::expect_error<kreg::ArgumentError>(
        [&] { predict(two, Kernel::gaussian, named, nullptr); },
        "engine 'k1-gaussian-only' cannot predict here: it predicts one output with the "
        "Gaussian kernel only; use engine 'auto'");
  }
  // Unregistered with the scope.
  kreg::test::expect_error<kreg::ArgumentError>(
      [&] { kreg::parse_engine("k1-gaussian-only"); },
      std::string("unknown engine 'k1-gaussian-only'; choose auto, ") +
          (kreg::cuda_built() ? "cuda, " : "") + "fused, vectorized or reference");
}

TEST(NwBackendsRegistry, RefusesTwoEnginesOfOneName) {
  const K1GaussianOnly a, b;
  const nw::ScopedBackend registered(a, true);
  kreg::test::expect_error<kreg::ArgumentError>(
      [&] { nw::register_backend(&b, false); },
      "register_backend: an engine named 'k1-gaussian-only' is already registered");
}

TEST(NwBackendsRegistry, ASearchRefusesAnEngineThatCannotScoreIt) {
  const Data<double> data = make_data<double>(40, 1, 2, 1, 5);
  kreg::CvOptions cv;
  cv.cv = kreg::parse_cv("loo");
  cv.engine = Engine::vectorized;
  kreg::test::expect_error<kreg::ArgumentError>(
      [&] { kreg::BandwidthCV<double>(data.X, data.Y, {}, cv); },
      "engine 'vectorized' cannot predict at many bandwidths here: it predicts at one "
      "bandwidth, without excluded rows; use engine 'auto'");
}

// Every registered engine that predicts many bandwidths at once, against the
// reference engine one bandwidth at a time: plain, with k-fold style
// exclusions (rows), and a whole leave-one-out (self, where the CPU takes its
// symmetric scheme at one bandwidth).
template <class T>
void check_grid(const nw::Backend& backend, Kernel kernel) {
  const index_t n = 150, d = 3, k = 2;
  const Data<T> data = make_data<T>(n, n, d, k, 6);
  const std::vector<double> hs = {0.2, 0.6, 2.0};
  const double tol = sizeof(T) == 4 ? 1e-4 : 1e-9;
  for (const nw::Exclusion exclusion :
       {nw::Exclusion::none, nw::Exclusion::rows, nw::Exclusion::self}) {
    for (const std::size_t B : {std::size_t{1}, hs.size()}) {
      nw::Request request;
      request.operation = nw::Operation::predict_grid;
      request.kernel = kernel;
      request.dtype = nw::dtype_of<T>();
      request.bandwidths = static_cast<index_t>(B);
      request.exclusion = exclusion;
      request.n = n;
      request.d = d;
      request.k = k;
      if (!backend.supports(request)) continue;
      const std::span<const double> h(hs.data(), B);
      std::vector<double> inv_h2;
      for (const double v : h) inv_h2.push_back(1.0 / (v * v));
      // rows: every third query skips training row (3 q) % n; self: row q.
      std::vector<index_t> exclude;
      if (exclusion == nw::Exclusion::rows) {
        for (index_t q = 0; q < n; ++q) exclude.push_back(q % 3 == 0 ? (3 * q) % n : -1);
      }
      const MatrixView<const T> Z =
          exclusion == nw::Exclusion::self ? data.X.view() : data.Z.view();
      const auto fitted = backend.prepare(nw::TrainingSet<T>{
          Matrix<T>::from(data.X.view()), Matrix<T>::from(data.Y.view()), {}, kernel});
      Matrix<T> out(n, k * static_cast<index_t>(B));
      std::vector<index_t> isolated(B, 0);
      backend.predict_grid(*fitted, Z, inv_h2, exclusion, exclude, out, isolated, 2, nullptr);
      for (std::size_t b = 0; b < B; ++b) {
        for (index_t q = 0; q < n; ++q) {
          // The reference on the training set without the excluded row.
          index_t skip = -1;
          if (exclusion == nw::Exclusion::self) skip = q;
          if (exclusion == nw::Exclusion::rows) skip = exclude[q];
          Matrix<T> X(n - (skip >= 0 ? 1 : 0), d), Y(X.rows(), k);
          for (index_t i = 0, r = 0; i < n; ++i) {
            if (i == skip) continue;
            for (index_t f = 0; f < d; ++f) X(r, f) = data.X(i, f);
            for (index_t c = 0; c < k; ++c) Y(r, c) = data.Y(i, c);
            ++r;
          }
          kreg::NadarayaWatson<T> ref({kernel, {h[b]}, Engine::reference, 1});
          ref.fit(X, Y);
          const Matrix<T> want = ref.predict(Z.rows_between(q, q + 1));
          for (index_t c = 0; c < k; ++c) {
            ASSERT_NEAR(out(q, c * static_cast<index_t>(B) + static_cast<index_t>(b)), want(0, c),
                        tol * 3.0)
                << backend.name() << " " << kreg::to_string(kernel) << " exclusion "
                << static_cast<int>(exclusion) << " B " << B << " h " << h[b] << " q " << q;
          }
        }
      }
    }
  }
}

TYPED_TEST(NwBackends, EveryGridEngineMatchesTheReference) {
  int checked = 0;
  for (const nw::Backend* backend : nw::backends()) {
    nw::Request grid;
    grid.operation = nw::Operation::predict_grid;
    grid.bandwidths = 3;
    if (!backend->supports(grid)) continue;
    for (const Kernel kernel : {Kernel::gaussian, Kernel::epanechnikov}) {
      check_grid<TypeParam>(*backend, kernel);
    }
    ++checked;
  }
  EXPECT_GE(checked, 1) << "no registered engine predicts many bandwidths at once";
}

}  // namespace

namespace {

TEST(NwBackendsRegistry, AvailableEnginesFollowTheRegistry) {
  // The CPU's engines, after the CUDA engine where kreg is built with it.
  std::vector<std::string> names;
  for (const auto& e : kreg::available_engines()) {
    if (e.device == "cuda") {
      EXPECT_EQ(e.engine.name(), "cuda");
      EXPECT_TRUE(names.empty()) << "the CUDA engine comes first";
      continue;
    }
    names.emplace_back(e.engine.name());
    EXPECT_EQ(e.device, "cpu");
  }
  EXPECT_EQ(names, (std::vector<std::string>{"fused", "vectorized", "reference"}));
  const std::size_t before = kreg::available_engines().size();
  EXPECT_EQ(before, kreg::cuda_built() ? 4U : 3U);
  const K1GaussianOnly backend;
  const nw::ScopedBackend registered(backend, /*first=*/true);
  EXPECT_EQ(kreg::available_engines().front().engine.name(), "k1-gaussian-only");
  EXPECT_EQ(kreg::available_engines().size(), before + 1);
}

}  // namespace
