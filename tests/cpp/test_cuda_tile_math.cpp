// The CUDA engine's per-query arithmetic (src/cuda/tile_math.hpp), compiled
// by g++ and run on the CPU on any machine: a host emulation of the kernels'
// algorithm (src/cuda/kernels.cu: the training set cut into splits, each
// summed tile by tile with the online shift, the splits merged in order) is
// checked against the long-double reference engine and, with exclusions,
// against the CPU's tiled engine:
//
//   |pred - ref| <= tol * std(y)   (tol 1e-9 for double; 1e-5 for float)
//
// over every kernel, bandwidths from 1e-8 to 1e8, data shifted by 1e6 (and
// centred as the front does), sample weights (with zeros), k > 1, and 1, 3
// and 7 splits. The emulation mirrors the kernels loop for loop; only the
// threads are missing.
#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

#include "cuda/tile_math.hpp"
#include "kreg/matrix.hpp"
#include "nw/cpu/engines.hpp"
#include "nw_training_data.hpp"

namespace {

using kreg::index_t;
using kreg::Kernel;
using kreg::Matrix;
using kreg::MatrixView;
namespace cu = kreg::cuda;

constexpr int kTile = 32;  // the kernels' kTile (src/cuda/kernels.hpp)
constexpr int kGroup = 4;  // and their kGroup

cu::KernelKind kind_of(Kernel k) { return static_cast<cu::KernelKind>(static_cast<int>(k)); }

// One query's state over training points [j_begin, j_end) of X (kept points
// only), outputs [c0, c0 + kc), skipping point `skip`: partial_kernel's body.
template <class T, int K>
cu::State<T, K> sum_split(const Matrix<T>& X, const Matrix<T>& Y, const std::vector<T>& w,
                          const T* z, index_t j_begin, index_t j_end, index_t skip,
                          cu::KernelKind kernel, const cu::Bandwidth<T>& bw, int c0, int kc) {
  const index_t d = X.cols();
  cu::State<T, K> st;
  cu::reset(st);
  for (index_t j0 = j_begin; j0 < j_end; j0 += kTile) {
    const int valid = static_cast<int>(std::min<index_t>(kTile, j_end - j0));
    T acc[kTile];
    T ys[kTile][K];
    T ws[kTile];
    for (int p = 0; p < kTile; ++p) {
      acc[p] = 0;
      for (int c = 0; c < K; ++c) ys[p][c] = p < valid && c < kc ? Y(j0 + p, c0 + c) : T(0);
      ws[p] = p < valid && !w.empty() ? w[static_cast<std::size_t>(j0 + p)] : T(1);
    }
    for (index_t f = 0; f < d; ++f) {
      for (int p = 0; p < valid; ++p) {
        const T diff = z[f] - X(j0 + p, f);
        acc[p] = std::fma(diff, diff, acc[p]);
      }
    }
    T tmin = static_cast<T>(INFINITY);
    for (int p = 0; p < valid; ++p) {
      if (j0 + p != skip && acc[p] < tmin) tmin = acc[p];
    }
    T den = 0;
    T num[K] = {};
    if (kernel == cu::KernelKind::gaussian) {
      cu::move_shift(st, tmin, bw.half_inv_h2);
      for (int p = 0; p < valid; ++p) {
        if (j0 + p == skip) continue;
        const T wt = cu::gaussian_weight(acc[p], st.nearest, bw) * ws[p];
        den += wt;
        for (int c = 0; c < K; ++c) num[c] = std::fma(wt, ys[p][c], num[c]);
      }
    } else {
      for (int p = 0; p < valid; ++p) {
        if (j0 + p == skip) continue;
        cu::track_nearest(st, acc[p], static_cast<double>(ws[p]), ys[p]);
        const T wt = cu::compact_weight(kernel, acc[p], bw.inv_h2) * ws[p];
        den += wt;
        for (int c = 0; c < K; ++c) num[c] = std::fma(wt, ys[p][c], num[c]);
      }
    }
    cu::add_tile(st, den, num);
  }
  return st;
}

// Predictions (m x k) of the emulated kernels: points of zero weight dropped
// (as prepare does), the kept points cut into `splits` parts of whole tiles,
// each part's state merged in order (combine_kernel). exclude: per query a
// row of X to skip, or -1; or empty.
template <class T>
Matrix<T> emulate(const kreg::test::TrainingData<T>& t, const Matrix<T>& Z, Kernel kernel,
                  double inv_h2, int splits, const std::vector<index_t>& exclude,
                  index_t* isolated) {
  std::vector<index_t> position(static_cast<std::size_t>(t.X.rows()), -1);
  std::vector<index_t> keep;
  for (index_t j = 0; j < t.X.rows(); ++j) {
    if (!t.w.empty() && !(t.w[static_cast<std::size_t>(j)] > 0)) continue;
    position[static_cast<std::size_t>(j)] = static_cast<index_t>(keep.size());
    keep.push_back(j);
  }
  const auto n = static_cast<index_t>(keep.size());
  Matrix<T> X(n, t.X.cols()), Y(n, t.Y.cols());
  std::vector<T> w;
  for (index_t i = 0; i < n; ++i) {
    const index_t j = keep[static_cast<std::size_t>(i)];
    for (index_t f = 0; f < X.cols(); ++f) X(i, f) = t.X(j, f);
    for (index_t c = 0; c < Y.cols(); ++c) Y(i, c) = t.Y(j, c);
    if (!t.w.empty()) w.push_back(t.w[static_cast<std::size_t>(j)]);
  }
  const index_t tiles = (n + kTile - 1) / kTile;
  const index_t chunk = ((tiles + splits - 1) / splits) * kTile;
  const auto parts = static_cast<int>((n + chunk - 1) / chunk);
  const cu::KernelKind kk = kind_of(kernel);
  const cu::Bandwidth<T> bw = cu::make_bandwidth<T>(inv_h2);
  const index_t k = Y.cols();
  Matrix<T> out(Z.rows(), k);
  *isolated = 0;
  for (index_t q = 0; q < Z.rows(); ++q) {
    const index_t row = exclude.empty() ? -1 : exclude[static_cast<std::size_t>(q)];
    const index_t skip = row < 0 ? -1 : position[static_cast<std::size_t>(row)];
    for (index_t c0 = 0; c0 < k; c0 += kGroup) {
      const int kc = static_cast<int>(std::min<index_t>(kGroup, k - c0));
      cu::State<T, kGroup> s{};
      for (int i = 0; i < parts; ++i) {
        const cu::State<T, kGroup> part =
            sum_split<T, kGroup>(X, Y, w, &Z(q, 0), i * chunk, std::min(n, (i + 1) * chunk), skip,
                                 kk, bw, static_cast<int>(c0), kc);
        if (i == 0) {
          s = part;
        } else {
          cu::merge(s, part, kk == cu::KernelKind::gaussian, bw.half_inv_h2);
        }
      }
      const bool iso = cu::finish(s, kc, &out(q, c0), 1);
      if (c0 == 0 && iso) ++*isolated;
    }
  }
  return out;
}

double std_of(const Matrix<double>& Y) {
  double mean = 0, sq = 0;
  for (index_t i = 0; i < Y.size(); ++i) mean += Y.data()[i];
  mean /= static_cast<double>(Y.size());
  for (index_t i = 0; i < Y.size(); ++i) sq += (Y.data()[i] - mean) * (Y.data()[i] - mean);
  return std::sqrt(sq / static_cast<double>(Y.size()));
}

template <class T>
double std_of(const Matrix<T>& Y) {
  Matrix<double> y(Y.rows(), Y.cols());
  for (index_t i = 0; i < Y.size(); ++i) y.data()[i] = Y.data()[i];
  return std_of(y);
}

template <class T>
void expect_near_all(const Matrix<T>& got, const Matrix<T>& want, double bound,
                     const std::string& what) {
  ASSERT_EQ(got.rows(), want.rows());
  ASSERT_EQ(got.cols(), want.cols());
  for (index_t i = 0; i < got.size(); ++i) {
    const double g = got.data()[i], r = want.data()[i];
    ASSERT_TRUE(std::isfinite(g)) << what << ": entry " << i << " is " << g;
    ASSERT_LE(std::abs(g - r), bound) << what << ": entry " << i << " " << g << " vs " << r;
  }
}

// The training set shifted by `shift` and centred on its mean in double, as
// the front (nw/front.hpp) does; the queries the same way.
template <class T>
void shift_and_centre(kreg::test::TrainingData<T>& t, Matrix<T>& Z, double shift) {
  const index_t d = t.X.cols();
  for (index_t f = 0; f < d; ++f) {
    std::vector<double> col(static_cast<std::size_t>(t.X.rows()));
    double mean = 0;
    for (index_t j = 0; j < t.X.rows(); ++j) {
      col[static_cast<std::size_t>(j)] = static_cast<double>(static_cast<T>(t.X(j, f) + shift));
      mean += col[static_cast<std::size_t>(j)];
    }
    mean /= static_cast<double>(t.X.rows());
    for (index_t j = 0; j < t.X.rows(); ++j) {
      t.X(j, f) = static_cast<T>(col[static_cast<std::size_t>(j)] - mean);
    }
    for (index_t q = 0; q < Z.rows(); ++q) {
      Z(q, f) = static_cast<T>(static_cast<double>(static_cast<T>(Z(q, f) + shift)) - mean);
    }
  }
}

template <class T>
Matrix<T> queries(const kreg::test::TrainingData<T>& t, index_t m, unsigned seed) {
  const kreg::test::TrainingData<T> other =
      kreg::test::make_training<T>(m, t.X.cols(), 1, false, seed);
  Matrix<T> Z(m, t.X.cols());
  for (index_t q = 0; q < m; ++q) {
    for (index_t f = 0; f < Z.cols(); ++f) {
      // Every 5th query is a training point: distance 0 for the compact kernels.
      Z(q, f) = q % 5 == 0 ? t.X((q * 7) % t.X.rows(), f) : other.X(q, f);
    }
  }
  return Z;
}

template <class T>
constexpr double tol() {
  return sizeof(T) == 4 ? 1e-5 : 1e-9;
}

struct Case {
  index_t n, m, d, k;
  bool weighted;
  double h, shift;
};

template <class T>
void check_against_reference(const Case& c) {
  for (const Kernel kernel :
       {Kernel::gaussian, Kernel::epanechnikov, Kernel::tricube, Kernel::uniform}) {
    kreg::test::TrainingData<T> t =
        kreg::test::make_training<T>(c.n, c.d, c.k, c.weighted, 17, c.weighted ? 4 : 0);
    Matrix<T> Z = queries(t, c.m, 29);
    shift_and_centre(t, Z, c.shift);
    const double inv_h2 = 1.0 / (c.h * c.h);
    const kreg::nw::Problem<T> p{t.X, t.Y, t.w, kernel, inv_h2};
    Matrix<T> ref(c.m, c.k);
    const index_t ref_iso = kreg::nw::predict_reference<T>(p, Z, ref, 1);
    const double bound = tol<T>() * std::max(std_of(t.Y), 1e-300);
    for (const int splits : {1, 3, 7}) {
      index_t iso = 0;
      const Matrix<T> got = emulate(t, Z, kernel, inv_h2, splits, {}, &iso);
      const std::string what = std::string(kreg::to_string(kernel)) + " n=" + std::to_string(c.n) +
                               " d=" + std::to_string(c.d) + " k=" + std::to_string(c.k) +
                               " h=" + std::to_string(c.h) + " shift=" + std::to_string(c.shift) +
                               (c.weighted ? " weighted" : "") +
                               " splits=" + std::to_string(splits);
      expect_near_all(got, ref, bound, what);
      EXPECT_EQ(iso, ref_iso) << what;
    }
  }
}

template <class T>
class CudaTileMath : public ::testing::Test {};
using Types = ::testing::Types<float, double>;
TYPED_TEST_SUITE(CudaTileMath, Types);

TYPED_TEST(CudaTileMath, MatchesTheReferenceOnOrdinaryData) {
  check_against_reference<TypeParam>({300, 41, 3, 1, false, 0.5, 0.0});
  check_against_reference<TypeParam>({257, 33, 1, 3, true, 0.3, 0.0});   // k > 1, weights, d = 1
  check_against_reference<TypeParam>({97, 20, 40, 6, false, 3.0, 0.0});  // d > kFeat, k > kGroup
}

TYPED_TEST(CudaTileMath, MatchesTheReferenceAtExtremeBandwidths) {
  // h -> 0: the nearest point's y; h -> infinity: the mean of y.
  check_against_reference<TypeParam>({200, 30, 3, 2, true, 1e-8, 0.0});
  check_against_reference<TypeParam>({200, 30, 3, 2, true, 1e8, 0.0});
  check_against_reference<TypeParam>({150, 25, 2, 1, false, 1e-8, 0.0});
  check_against_reference<TypeParam>({150, 25, 2, 1, false, 1e8, 0.0});
}

TYPED_TEST(CudaTileMath, MatchesTheReferenceFarFromTheOrigin) {
  check_against_reference<TypeParam>({200, 30, 3, 1, false, 0.5, 1e6});
  // Wide enough that no query is isolated: in float, 1e6 + x is a multiple
  // of 1/16, so which points tie for nearest would be decided by rounding.
  check_against_reference<TypeParam>({200, 30, 3, 2, true, 2.0, 1e6});
}

// Exclusions (leave-one-out by row, k-fold's -1 for none) against the CPU's
// tiled engine, which the engine tests check against the reference.
TYPED_TEST(CudaTileMath, ExclusionsMatchTheCpuEngine) {
  using T = TypeParam;
  for (const Kernel kernel : {Kernel::gaussian, Kernel::epanechnikov, Kernel::uniform}) {
    for (const bool weighted : {false, true}) {
      const kreg::test::TrainingData<T> t =
          kreg::test::make_training<T>(150, 2, 2, weighted, 5, weighted ? 3 : 0);
      const Matrix<T>& Z = t.X;  // leave-one-out: the queries are the training rows
      std::vector<index_t> exclude(static_cast<std::size_t>(Z.rows()));
      for (index_t q = 0; q < Z.rows(); ++q)
        exclude[static_cast<std::size_t>(q)] = q % 4 == 3 ? -1 : q;
      const double inv_h2 = 1.0 / (0.4 * 0.4);
      const kreg::nw::Problem<T> p{t.X, t.Y, t.w, kernel, inv_h2};
      const double ih2[] = {inv_h2};
      Matrix<T> cpu(Z.rows(), 2);
      index_t cpu_iso[] = {0};
      kreg::nw::predict_grid<T>(p, Z, ih2, exclude, cpu, cpu_iso, 1);
      index_t iso = 0;
      const Matrix<T> got = emulate(t, Z, kernel, inv_h2, 3, exclude, &iso);
      const std::string what = std::string(kreg::to_string(kernel)) + (weighted ? " weighted" : "");
      expect_near_all(got, cpu, tol<T>() * std_of(t.Y), what);
      EXPECT_EQ(iso, cpu_iso[0]) << what;
    }
  }
}

// The merge is the one of the whole: the splits' states combined give the
// unsplit state, also when the nearest point lies in a later split (the
// earlier sums are rescaled) and when a split holds nothing (its state is the
// reset one).
TEST(CudaTileMathMerge, CombiningSplitsEqualsSummingAtOnce) {
  const cu::Bandwidth<double> bw = cu::make_bandwidth<double>(4.0);
  const double y[] = {1.0, 2.0, 3.0, 4.0};
  const double s[] = {2.0, 0.5, 0.1, 3.0};
  auto sum_points = [&](int begin, int end) {
    cu::State<double, 1> st;
    cu::reset(st);
    for (int i = begin; i < end; ++i) {
      cu::move_shift(st, s[i], bw.half_inv_h2);
      const double w = cu::gaussian_weight(s[i], st.nearest, bw);
      cu::add_tile(st, w, &(std::array<double, 1>{w * y[i]})[0]);
    }
    return st;
  };
  const cu::State<double, 1> whole = sum_points(0, 4);
  cu::State<double, 1> merged = sum_points(0, 2);
  cu::merge(merged, sum_points(2, 4), true, bw.half_inv_h2);
  cu::merge(merged, sum_points(4, 4), true, bw.half_inv_h2);  // an empty split
  EXPECT_EQ(merged.nearest, 0.1);
  EXPECT_NEAR(merged.den, whole.den, 1e-15);
  EXPECT_NEAR(merged.num[0], whole.num[0], 1e-15);
  double want_num = 0, want_den = 0;
  for (int i = 0; i < 4; ++i) {
    const double w = std::exp(-0.5 * 4.0 * (s[i] - 0.1));
    want_den += w;
    want_num += w * y[i];
  }
  double out = 0;
  EXPECT_FALSE(cu::finish(merged, 1, &out, 1));
  EXPECT_NEAR(out, want_num / want_den, 1e-14);
}

// Weights at the limits: the largest inv_h2 the front gives (T's max) gives
// the shift point exactly 1 and the others the clamped floor, never 0 / 0; a
// compact kernel's u^2 overflowing to +inf gives 0.
TEST(CudaTileMathWeights, HugeInverseBandwidthsStayFinite) {
  const cu::Bandwidth<float> bw = cu::make_bandwidth<float>(3.4028234663852886e38);
  EXPECT_EQ(cu::gaussian_weight(1.0f, 1.0f, bw), 1.0f);
  const float far = cu::gaussian_weight(2.0f, 1.0f, bw);
  EXPECT_GT(far, 0.0f);
  EXPECT_LE(far, 1.001f * std::exp2(-100.0f));  // the floor, up to rounding of t_lim
  EXPECT_EQ(cu::compact_weight(cu::KernelKind::epanechnikov, 1.0f, bw.inv_h2), 0.0f);
  EXPECT_EQ(cu::compact_weight(cu::KernelKind::uniform, 0.0f, bw.inv_h2), 1.0f);
  // Every distance so far infinite: equal weights, none zero.
  const float inf = INFINITY;
  EXPECT_GT(cu::gaussian_weight(inf, inf, cu::make_bandwidth<float>(1.0)), 0.0f);
}

}  // namespace
