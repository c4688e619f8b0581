// The symmetric leave-one-out engine (nw::predict_loo_symmetric) against a
// long-double brute force that shifts each point by its own nearest
// neighbour: both types, one or several outputs, with and without sample
// weights, tile counts from one to many with a partial last tile, bandwidths
// from tiny to huge. Points whose weights all fall out of the shift-free
// range (an outlier, or everybody at a tiny bandwidth) must still come out
// right (the engine predicts them again by the many-bandwidth engine); any
// thread count gives the same bits; the cases it declines say so.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <random>
#include <vector>

#include "kreg/error.hpp"
#include "kreg/interrupt.hpp"
#include "kreg/nw.hpp"
#include "nw/cpu/engines.hpp"
#include "nw_training_data.hpp"

namespace {

using kreg::index_t;
using kreg::Matrix;

template <class T>
using Data = kreg::test::TrainingData<T>;

template <class T>
Data<T> make(index_t n, index_t d, index_t k, bool weighted, unsigned seed) {
  return kreg::test::make_training<T>(n, d, k, weighted, seed);
}

// Point i predicted from all others, in long double, each point's weights
// relative to its own nearest neighbour.
template <class T>
Matrix<double> brute_force(const Data<T>& data, double h) {
  const index_t n = data.X.rows(), d = data.X.cols(), k = data.Y.cols();
  const long double c = 0.5L / (static_cast<long double>(h) * h);
  Matrix<double> out(n, k);
  std::vector<long double> t(static_cast<std::size_t>(n));
  for (index_t i = 0; i < n; ++i) {
    long double m = INFINITY;
    for (index_t j = 0; j < n; ++j) {
      long double s = 0;
      for (index_t f = 0; f < d; ++f) {
        const long double e = static_cast<long double>(data.X(i, f)) - data.X(j, f);
        s += e * e;
      }
      t[j] = s;
      if (j != i) m = std::min(m, s);
    }
    long double den = 0;
    std::vector<long double> num(static_cast<std::size_t>(k), 0);
    for (index_t j = 0; j < n; ++j) {
      if (j == i) continue;
      const long double w =
          std::exp(-c * (t[j] - m)) * (data.w.empty() ? 1.0L : static_cast<long double>(data.w[j]));
      den += w;
      for (index_t c2 = 0; c2 < k; ++c2) num[c2] += w * data.Y(j, c2);
    }
    for (index_t c2 = 0; c2 < k; ++c2) out(i, c2) = static_cast<double>(num[c2] / den);
  }
  return out;
}

template <class T>
constexpr double rtol() {
  return sizeof(T) == 4 ? 1e-4 : 1e-10;
}

// Runs the engine on 1, 2, 3 and 8 threads (same bits) and checks it
// against brute force, relative to the largest |y|.
template <class T>
void check(const Data<T>& data, double h) {
  const index_t n = data.X.rows(), k = data.Y.cols();
  SCOPED_TRACE(testing::Message() << "T=" << (sizeof(T) == 4 ? "f32" : "f64") << " n=" << n
                                  << " d=" << data.X.cols() << " k=" << k
                                  << " weighted=" << !data.w.empty() << " h=" << h);
  const kreg::nw::Problem<T> p{data.X, data.Y, data.w, kreg::Kernel::gaussian, 1.0};
  Matrix<T> first(n, k);
  ASSERT_TRUE(kreg::nw::predict_loo_symmetric<T>(p, 1.0 / (h * h), first, 1));
  for (const int jobs : {2, 3, 8}) {
    Matrix<T> out(n, k);
    ASSERT_TRUE(kreg::nw::predict_loo_symmetric<T>(p, 1.0 / (h * h), out, jobs));
    ASSERT_EQ(0, std::memcmp(out.data(), first.data(), sizeof(T) * n * k))
        << "n_jobs = " << jobs << " changed the bits";
  }
  const Matrix<double> ref = brute_force(data, h);
  double scale = 1;
  for (index_t i = 0; i < n; ++i) {
    for (index_t c = 0; c < k; ++c) scale = std::max(scale, std::abs(ref(i, c)));
  }
  for (index_t i = 0; i < n; ++i) {
    for (index_t c = 0; c < k; ++c) {
      ASSERT_NEAR(first(i, c), ref(i, c), rtol<T>() * scale) << "point " << i << " output " << c;
    }
  }
}

TEST(NwLoo, MatchesBruteForce) {
  // n = 2 and 3: one tile; 65: two, the second holding one point; 300 and
  // 2100: many tiles of 64 and 128 points, the last one partial.
  for (const bool weighted : {false, true}) {
    for (const index_t n : {2, 3, 65, 300}) {
      for (const index_t d : {1, 3}) {
        for (const index_t k : {1, 3}) {
          for (const double h : {0.05, 0.3, 1.0, 10.0, 1e4}) {
            check(make<double>(n, d, k, weighted, 11), h);
            check(make<float>(n, d, k, weighted, 11), h);
          }
        }
      }
    }
    for (const double h : {0.1, 0.5}) {
      check(make<double>(2100, 2, 1, weighted, 12), h);
      check(make<float>(2100, 2, 1, weighted, 12), h);
      check(make<double>(700, 10, 2, weighted, 13), 3 * h);
    }
  }
}

// Weights that leave the shift-free range: an outlier far from the rest
// (its nearest neighbour's weight is about 2^-990 at shift 0), and every point at
// a tiny bandwidth, where the duplicate pair predicts each other's y.
TEST(NwLoo, PointsOutOfRangeArePredictedAgain) {
  for (const bool weighted : {false, true}) {
    auto data = make<double>(200, 2, 1, weighted, 21);
    data.X(57, 0) = 40.0;
    check(data, 1.0);
    auto fdata = make<float>(200, 2, 1, weighted, 21);
    fdata.X(57, 0) = 12.0f;
    check(fdata, 1.0);
    check(make<double>(200, 2, 2, weighted, 22), 1e-4);
    check(make<float>(200, 2, 2, weighted, 22), 1e-3);
  }
  const auto data = make<double>(100, 3, 1, false, 23);
  const kreg::nw::Problem<double> p{data.X, data.Y, {}, kreg::Kernel::gaussian, 1.0};
  Matrix<double> out(100, 1);
  ASSERT_TRUE(kreg::nw::predict_loo_symmetric<double>(p, 1e12, out, 2));
  EXPECT_EQ(out(0, 0), data.Y(1, 0));
  EXPECT_EQ(out(1, 0), data.Y(0, 0));
}

// What it declines (the caller then uses predict_grid): other kernels, a
// sample weight of 0, a single point.
TEST(NwLoo, DeclinesWhatItCannotDo) {
  const auto data = make<double>(50, 2, 1, true, 31);
  Matrix<double> out(50, 1);
  for (const kreg::Kernel kernel :
       {kreg::Kernel::epanechnikov, kreg::Kernel::tricube, kreg::Kernel::uniform}) {
    const kreg::nw::Problem<double> p{data.X, data.Y, {}, kernel, 1.0};
    EXPECT_FALSE(kreg::nw::predict_loo_symmetric<double>(p, 1.0, out, 1));
  }
  std::vector<double> w = data.w;
  w[7] = 0;
  const kreg::nw::Problem<double> zero{data.X, data.Y, w, kreg::Kernel::gaussian, 1.0};
  EXPECT_FALSE(kreg::nw::predict_loo_symmetric<double>(zero, 1.0, out, 1));
  const auto one = make<double>(1, 2, 1, false, 32);
  Matrix<double> out1(1, 1);
  const kreg::nw::Problem<double> single{one.X, one.Y, {}, kreg::Kernel::gaussian, 1.0};
  EXPECT_FALSE(kreg::nw::predict_loo_symmetric<double>(single, 1.0, out1, 1));
  const kreg::nw::Problem<double> p{data.X, data.Y, {}, kreg::Kernel::gaussian, 1.0};
  EXPECT_THROW(kreg::nw::predict_loo_symmetric<double>(p, 1.0, out1, 1), kreg::ArgumentError);
}

TEST(NwLoo, Cancels) {
  const auto data = make<double>(500, 2, 1, false, 41);
  const kreg::nw::Problem<double> p{data.X, data.Y, {}, kreg::Kernel::gaussian, 1.0};
  Matrix<double> out(500, 1);
  kreg::CancelToken cancel;
  cancel.request();
  EXPECT_THROW(kreg::nw::predict_loo_symmetric<double>(p, 1.0, out, 2, &cancel), kreg::Cancelled);
}

}  // namespace
