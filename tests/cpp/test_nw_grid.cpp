// The many-bandwidth engine (nw::predict_grid) against the reference engine,
// one bandwidth at a time: every type x kernel, weighted or not, bandwidths
// from far below to far above the data's scale, at the engine's tiles (any thread
// count giving the same bits) and at tiles of 64 points (many, the last one
// partial); leave-one-out skipping by index (duplicates still count); no
// NaN at extreme bandwidths far from the origin; cancellation.
#include <gtest/gtest.h>

#include <chrono>
#include <cmath>
#include <cstring>
#include <random>
#include <vector>

#include "kreg/error.hpp"
#include "kreg/interrupt.hpp"
#include "kreg/nw.hpp"
#include "nw/cpu/engines.hpp"
#include "test_support.hpp"

namespace {

using kreg::index_t;
using kreg::Kernel;
using kreg::Matrix;
using kreg::MatrixView;

constexpr Kernel kKernels[] = {Kernel::gaussian, Kernel::epanechnikov, Kernel::tricube,
                               Kernel::uniform};

template <class T>
constexpr double rtol() {
  return sizeof(T) == 4 ? 1e-4 : 1e-9;
}

template <class T>
struct Data {
  Matrix<T> X, Y, Z;
  std::vector<T> w;
};

// X, Z ~ N(0, 1) + shift, y_c = sum_f sin(x_f) (1 + c) + noise; row 1 of X
// duplicates row 0 (a real distance 0 between two training points); every
// 5th query copies a training point; weights in [0.1, 2] with every 4th 0.
template <class T>
Data<T> make(index_t n, index_t m, index_t d, index_t k, bool weighted, double shift,
             unsigned seed) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<double> normal;
  std::uniform_real_distribution<double> uniform(0.1, 2.0);
  Data<T> data{Matrix<T>(n, d), Matrix<T>(n, k), Matrix<T>(m, d), {}};
  for (index_t i = 0; i < n; ++i) {
    double base = 0;
    for (index_t f = 0; f < d; ++f) {
      const double x = i == 1 ? static_cast<double>(data.X(0, f)) - shift : normal(rng);
      data.X(i, f) = static_cast<T>(x + shift);
      base += std::sin(x);
    }
    for (index_t c = 0; c < k; ++c) {
      data.Y(i, c) = static_cast<T>(base * (1.0 + static_cast<double>(c)) + 0.1 * normal(rng));
    }
    if (weighted) data.w.push_back(i % 4 == 3 ? T{0} : static_cast<T>(uniform(rng)));
  }
  for (index_t i = 0; i < m; ++i) {
    for (index_t f = 0; f < d; ++f) {
      data.Z(i, f) = i % 5 == 0 ? data.X((i * 7) % n, f) : static_cast<T>(normal(rng) + shift);
    }
  }
  return data;
}

double max_abs(const Matrix<double>& y) {
  double v = 0;
  for (index_t i = 0; i < y.rows(); ++i) {
    for (index_t c = 0; c < y.cols(); ++c) v = std::max(v, std::abs(y(i, c)));
  }
  return v;
}

// Reference predictions (long double engine) at one bandwidth.
template <class T>
Matrix<T> reference(const Data<T>& data, const Matrix<T>& Z, Kernel kernel, double h,
                    index_t* isolated) {
  kreg::NadarayaWatson<T> model({kernel, {h}, kreg::Engine::reference, 1});
  model.fit(data.X, data.Y, data.w);
  kreg::PredictReport report;
  auto out = model.predict(Z, &report);
  *isolated = report.isolated;
  return out;
}

const std::vector<double> kSomeBandwidths = {1e-3, 0.05, 0.3, 0.7, 1.5, 10.0, 1e3};

// The tutorial's grid, logspace(-1, 3, 30): many wide bandwidths at once, which
// the engine takes from power sums of the tile's distances.
std::vector<double> tutorial_grid() {
  std::vector<double> h;
  for (int i = 0; i < 30; ++i) h.push_back(std::pow(10.0, -1.0 + 4.0 * i / 29.0));
  return h;
}

template <class T>
void check_against_reference(index_t n, index_t m, index_t d, index_t k, bool weighted,
                             Kernel kernel, const std::vector<double>& h = kSomeBandwidths) {
  SCOPED_TRACE(testing::Message() << "T=" << (sizeof(T) == 4 ? "f32" : "f64") << " n=" << n << " m="
                                  << m << " d=" << d << " k=" << k << " weighted=" << weighted
                                  << " kernel=" << kreg::to_string(kernel) << " B=" << h.size());
  const auto data = make<T>(n, m, d, k, weighted, 0.0, 17);
  const auto B = static_cast<index_t>(h.size());
  std::vector<double> inv_h2;
  for (const double v : h) inv_h2.push_back(1.0 / (v * v));
  kreg::nw::Problem<T> p{data.X, data.Y, data.w, kernel, 1.0};

  // The engine's own tiles at several thread counts (the same bits), then
  // tiles of 64 points: many tiles, the last one partial.
  std::vector<Matrix<T>> outs;
  std::vector<std::vector<index_t>> isolated;
  for (const int jobs : {1, 2, 3, 8, -1}) {
    Matrix<T> out(m, k * B);
    std::vector<index_t> iso(static_cast<std::size_t>(B), 0);
    kreg::nw::predict_grid<T>(p, data.Z, inv_h2, {}, out, iso, jobs < 0 ? 2 : jobs, nullptr,
                              jobs < 0 ? 1 : 0);
    if (jobs > 1) {
      ASSERT_EQ(0, std::memcmp(out.data(), outs[0].data(), sizeof(T) * m * k * B))
          << "n_jobs = " << jobs << " changed the bits";
      continue;
    }
    outs.push_back(std::move(out));
    isolated.push_back(std::move(iso));
  }
  for (index_t b = 0; b < B; ++b) {
    index_t ref_isolated = 0;
    const auto ref = reference(data, data.Z, kernel, h[b], &ref_isolated);
    Matrix<double> refd(m, k);
    for (index_t i = 0; i < m; ++i) {
      for (index_t c = 0; c < k; ++c) refd(i, c) = ref(i, c);
    }
    const double tol = rtol<T>() * std::max(1.0, max_abs(refd));
    for (std::size_t v = 0; v < outs.size(); ++v) {
      SCOPED_TRACE(v == 0 ? "the engine's tiles" : "tiles of 64 points");
      EXPECT_EQ(isolated[v][b], ref_isolated) << "h = " << h[b];
      for (index_t i = 0; i < m; ++i) {
        for (index_t c = 0; c < k; ++c) {
          ASSERT_NEAR(outs[v](i, c * B + b), ref(i, c), tol)
              << "query " << i << " output " << c << " h = " << h[b];
        }
      }
    }
  }
}

TEST(NwGrid, MatchesReferencePerBandwidth) {
  for (const Kernel kernel : kKernels) {
    for (const bool weighted : {false, true}) {
      check_against_reference<double>(150, 37, 3, 1, weighted, kernel);
      check_against_reference<float>(150, 37, 3, 1, weighted, kernel);
      check_against_reference<double>(300, 45, 5, 3, weighted, kernel);
      check_against_reference<float>(70, 9, 1, 2, weighted, kernel);
    }
  }
  // Wide data.
  check_against_reference<double>(1000, 40, 20, 1, false, Kernel::gaussian);
  check_against_reference<float>(1000, 40, 20, 2, true, Kernel::gaussian);
}

// Wide bandwidths by power sums (d = 3 and 10), one and two outputs (the
// second output takes the single-series path), sample weights with zeros.
TEST(NwGrid, ManyWideBandwidthsMatchReference) {
  const auto h = tutorial_grid();
  for (const bool weighted : {false, true}) {
    for (const index_t k : {1, 2}) {
      check_against_reference<double>(2500, 40, 3, k, weighted, Kernel::gaussian, h);
      check_against_reference<float>(2500, 40, 3, k, weighted, Kernel::gaussian, h);
    }
    check_against_reference<double>(600, 30, 10, 1, weighted, Kernel::gaussian, h);
    check_against_reference<float>(600, 30, 10, 1, weighted, Kernel::gaussian, h);
  }
}

// The power sums are as accurate as the full exponential (truncation 2e-12
// relative in double, 2e-7 in float, before the sums' rounding), far inside the engines'
// contract that the tests above check: many wide bandwidths, finely spaced so
// that every degree of the power sums and of their estimated higher moments
// is taken, on the tutorial's kind of data (d = 10). tile_points > 0 sets the
// tile size (else the engine's: 4096 points in float, 2048 in double here).
template <class T>
double max_wide_error(bool weighted, index_t tile_points = 0) {
  const index_t n = 3000, m = 40, d = 10;
  const auto data = make<T>(n, m, d, 1, weighted, 0.0, 23);
  std::vector<double> h, inv_h2;
  for (int i = 0; i < 60; ++i) h.push_back(std::pow(10.0, 0.3 + 3.0 * i / 59.0));
  for (const double v : h) inv_h2.push_back(1.0 / (v * v));
  const auto B = static_cast<index_t>(h.size());
  kreg::nw::Problem<T> p{data.X, data.Y, data.w, Kernel::gaussian, 1.0};
  Matrix<T> out(m, B);
  std::vector<index_t> isolated(static_cast<std::size_t>(B), 0);
  const index_t tile_bytes = tile_points * d * static_cast<index_t>(sizeof(T));
  kreg::nw::predict_grid<T>(p, data.Z, inv_h2, {}, out, isolated, 2, nullptr, tile_bytes);
  double worst = 0;
  for (index_t b = 0; b < B; ++b) {
    index_t iso = 0;
    const auto ref = reference(data, data.Z, Kernel::gaussian, h[b], &iso);
    for (index_t i = 0; i < m; ++i) {
      const double r = static_cast<double>(ref(i, 0));
      worst = std::max(worst,
                       std::abs(static_cast<double>(out(i, b)) - r) / std::max(1.0, std::abs(r)));
    }
  }
  return worst;
}

// In float the sums' rounding grows with the terms each float lane adds up,
// a tile's points over the lanes: 4096 at the engine's tile on Highway's
// one-lane SCALAR target, 1024 on SSE4, 256 on AVX3. The float check uses
// tiles of 1024 points, so that no lane adds up more than 1024 terms on any
// target and the bound tests the power sums, not the lane count.
TEST(NwGrid, WideBandwidthsKeepTheExponentialsAccuracy) {
  for (const bool weighted : {false, true}) {
    EXPECT_LT(max_wide_error<double>(weighted), 1e-12) << "weighted = " << weighted;
    EXPECT_LT(max_wide_error<float>(weighted, 1024), 1e-6) << "weighted = " << weighted;
  }
}

// Leave-one-out: query i = training row i, skipped by index, against a brute
// force refit without row i. Row 1 duplicates row 0, so at a tiny bandwidth
// row 0's prediction is row 1's y (distance 0 still counts), not its own.
template <class T>
void check_leave_one_out(Kernel kernel, bool weighted,
                         const std::vector<double>& h = {1e-6, 0.2, 0.8, 5.0}) {
  SCOPED_TRACE(testing::Message() << "T=" << (sizeof(T) == 4 ? "f32" : "f64")
                                  << " kernel=" << kreg::to_string(kernel)
                                  << " weighted=" << weighted << " B=" << h.size());
  const index_t n = 150, d = 2, k = 2;  // tiles of 64 points: the own one in each
  const auto data = make<T>(n, 1, d, k, weighted, 0.0, 5);
  const auto B = static_cast<index_t>(h.size());
  std::vector<double> inv_h2;
  for (const double v : h) inv_h2.push_back(1.0 / (v * v));
  std::vector<index_t> exclude;
  for (index_t i = 0; i < n; ++i) exclude.push_back(i);
  kreg::nw::Problem<T> p{data.X, data.Y, data.w, kernel, 1.0};
  Matrix<T> out(n, k * B);
  std::vector<index_t> isolated(static_cast<std::size_t>(B), 0);
  kreg::nw::predict_grid<T>(p, data.X, inv_h2, exclude, out, isolated, 3, nullptr, 1);

  for (index_t i = 0; i < n; ++i) {
    Data<T> rest{Matrix<T>(n - 1, d), Matrix<T>(n - 1, k), Matrix<T>(1, d), {}};
    for (index_t j = 0, r = 0; j < n; ++j) {
      if (j == i) continue;
      for (index_t f = 0; f < d; ++f) rest.X(r, f) = data.X(j, f);
      for (index_t c = 0; c < k; ++c) rest.Y(r, c) = data.Y(j, c);
      if (weighted) rest.w.push_back(data.w[j]);
      ++r;
    }
    for (index_t f = 0; f < d; ++f) rest.Z(0, f) = data.X(i, f);
    for (index_t b = 0; b < B; ++b) {
      index_t iso = 0;
      const auto ref = reference(rest, rest.Z, kernel, h[b], &iso);
      for (index_t c = 0; c < k; ++c) {
        ASSERT_NEAR(out(i, c * B + b), ref(0, c), rtol<T>() * 10)
            << "row " << i << " output " << c << " h = " << h[b];
      }
    }
  }
  if (!weighted) {
    // Rows 0 and 1 coincide: at h = 1e-6 each one's prediction is the other's y.
    EXPECT_EQ(out(0, 0), data.Y(1, 0));
    EXPECT_EQ(out(1, 0), data.Y(0, 0));
  }
}

TEST(NwGrid, LeaveOneOutSkipsByIndex) {
  for (const Kernel kernel : kKernels) {
    for (const bool weighted : {false, true}) {
      check_leave_one_out<double>(kernel, weighted);
      check_leave_one_out<float>(kernel, weighted);
    }
  }
  // The own point inside tiles taken from power sums.
  std::vector<double> h = tutorial_grid();
  h.insert(h.begin(), 1e-6);
  for (const bool weighted : {false, true}) {
    check_leave_one_out<double>(Kernel::gaussian, weighted, h);
    check_leave_one_out<float>(Kernel::gaussian, weighted, h);
  }
}

// Narrow bandwidths sum only the vectors that hold a near lane, the list
// narrowing from one bandwidth to the next: many narrow bandwidths in one grid
// (in no order), several tiles, one and two outputs (the two take different
// code), sample weights with zeros; leave-one-out puts the own lane inside
// listed vectors.
TEST(NwGrid, ManyNarrowBandwidthsMatchReference) {
  std::vector<double> h;
  for (int i = 0; i < 16; ++i) h.push_back(std::pow(10.0, -1.3 + 1.2 * ((i * 7) % 16) / 15.0));
  std::vector<double> h_loo = h;  // h_loo[0]: duplicates predict each other's y
  h_loo.insert(h_loo.begin(), 1e-6);
  for (const bool weighted : {false, true}) {
    for (const index_t k : {1, 2}) {
      check_against_reference<double>(2500, 40, 3, k, weighted, Kernel::gaussian, h);
      check_against_reference<float>(2500, 40, 3, k, weighted, Kernel::gaussian, h);
    }
    check_against_reference<double>(600, 30, 10, 1, weighted, Kernel::gaussian, h);
    check_leave_one_out<double>(Kernel::gaussian, weighted, h_loo);
    check_leave_one_out<float>(Kernel::gaussian, weighted, h_loo);
  }
}

// Bandwidths from 1e-8 to 1e8 on data 1e6 from the origin (centred first, as
// the model does): every prediction finite and within the range of y.
TEST(NwGrid, ExtremeBandwidthsStayFinite) {
  const auto data = make<double>(500, 50, 4, 1, false, 1e6, 9);
  Matrix<double> Xc(500, 4), Zc(50, 4);
  for (index_t i = 0; i < 500; ++i) {
    for (index_t f = 0; f < 4; ++f) Xc(i, f) = data.X(i, f) - 1e6;
  }
  for (index_t i = 0; i < 50; ++i) {
    for (index_t f = 0; f < 4; ++f) Zc(i, f) = data.Z(i, f) - 1e6;
  }
  std::vector<double> inv_h2;
  for (int e = -8; e <= 8; ++e) inv_h2.push_back(std::pow(10.0, -2.0 * e));
  const auto B = static_cast<index_t>(inv_h2.size());
  double lo = data.Y(0, 0), hi = data.Y(0, 0);
  for (index_t i = 0; i < 500; ++i) {
    lo = std::min(lo, data.Y(i, 0));
    hi = std::max(hi, data.Y(i, 0));
  }
  for (const Kernel kernel : kKernels) {
    kreg::nw::Problem<double> p{Xc, data.Y, {}, kernel, 1.0};
    Matrix<double> out(50, B);
    std::vector<index_t> isolated(static_cast<std::size_t>(B), 0);
    kreg::nw::predict_grid<double>(p, Zc, inv_h2, {}, out, isolated, 2);
    for (index_t i = 0; i < 50; ++i) {
      for (index_t b = 0; b < B; ++b) {
        ASSERT_TRUE(std::isfinite(out(i, b))) << kreg::to_string(kernel) << " query " << i;
        ASSERT_GE(out(i, b), lo);
        ASSERT_LE(out(i, b), hi);
      }
    }
  }
}

// Squared distances that overflow to +inf (float data 3e19 apart) weigh
// nothing rather than poisoning the sums: half the training points near the
// queries, half 3e19 away.
TEST(NwGrid, OverflowingDistancesWeighNothing) {
  const index_t n = 300, m = 20;
  std::mt19937_64 rng(3);
  std::normal_distribution<double> normal;
  Data<float> data{Matrix<float>(n, 1), Matrix<float>(n, 1), Matrix<float>(m, 1), {}};
  for (index_t i = 0; i < n; ++i) {
    const double x = normal(rng);
    data.X(i, 0) = static_cast<float>(i % 2 == 0 ? x : 3e19 + 1e18 * std::abs(x));
    data.Y(i, 0) = static_cast<float>(i % 2 == 0 ? std::sin(x) : 100.0);
  }
  for (index_t i = 0; i < m; ++i) data.Z(i, 0) = static_cast<float>(normal(rng));
  const std::vector<double> h = {0.3, 1.0, 3.0, 30.0};
  std::vector<double> inv_h2;
  for (const double v : h) inv_h2.push_back(1.0 / (v * v));
  kreg::nw::Problem<float> p{data.X, data.Y, {}, Kernel::gaussian, 1.0};
  Matrix<float> out(m, 4);
  std::vector<index_t> isolated(4, 0);
  kreg::nw::predict_grid<float>(p, data.Z, inv_h2, {}, out, isolated, 2);
  // The far points' weights underflow: the sums over the near ones, in long
  // double (the model's reference engine would centre the data first, which
  // in float merges the near points).
  for (index_t b = 0; b < 4; ++b) {
    for (index_t i = 0; i < m; ++i) {
      long double num = 0, den = 0;
      for (index_t j = 0; j < n; j += 2) {
        const long double u = (static_cast<long double>(data.X(j, 0)) - data.Z(i, 0)) / h[b];
        const long double w = std::exp(-0.5L * u * u);
        num += w * data.Y(j, 0);
        den += w;
      }
      ASSERT_TRUE(std::isfinite(out(i, b))) << "query " << i << " h = " << h[b];
      ASSERT_NEAR(out(i, b), static_cast<double>(num / den), 1e-4)
          << "query " << i << " h = " << h[b];
    }
  }
}

TEST(NwGrid, CancelledDuringAHugeGridStops) {
  // 10^5 bandwidths over 2000 x 512 pairs would take minutes; a request from
  // another thread once the grid runs must end it with Cancelled. (Before
  // the engine polled within a block, one block of 32 queries did every
  // bandwidth over every tile before looking.)
  const auto data = make<double>(2000, 512, 3, 1, false, 0.0, 4);
  kreg::nw::Problem<double> p{data.X, data.Y, {}, Kernel::gaussian, 1.0};
  std::vector<double> inv_h2;
  for (int b = 0; b < 100000; ++b) inv_h2.push_back(std::pow(10.0, -6.0 + 8.0 * b / 99999));
  Matrix<double> out(data.Z.rows(), static_cast<index_t>(inv_h2.size()));
  std::vector<index_t> isolated(inv_h2.size(), 0);
  kreg::CancelToken token;
  const kreg::test::RequestAfter soon(token, std::chrono::milliseconds(50));
  EXPECT_THROW(kreg::nw::predict_grid<double>(p, data.Z, inv_h2, {}, out, isolated, 2, &token),
               kreg::Cancelled);
}

TEST(NwGrid, CancelledBeforeStartThrows) {
  const auto data = make<double>(100, 10, 2, 1, false, 0.0, 1);
  kreg::nw::Problem<double> p{data.X, data.Y, {}, Kernel::gaussian, 1.0};
  const std::vector<double> inv_h2 = {1.0};
  Matrix<double> out(10, 1);
  std::vector<index_t> isolated(1, 0);
  kreg::CancelToken token;
  token.request();
  EXPECT_THROW(kreg::nw::predict_grid<double>(p, data.Z, inv_h2, {}, out, isolated, 2, &token),
               kreg::Cancelled);
}

}  // namespace
