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
#include <cstdio>
#include <cstring>
#include <random>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "cuda/tf32.hpp"
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
constexpr int kBands = 8;  // and their kBands

cu::KernelKind kind_of(Kernel k) { return static_cast<cu::KernelKind>(static_cast<int>(k)); }

// One query's states for nb <= NB bandwidths over training points
// [j_begin, j_end) of X (kept points only), outputs [c0, c0 + kc), skipping
// point `skip`: partial_kernel's body, with its per-tile arithmetic
// (cu::update_tile, cu::share_nearest) the kernels' own.
template <class T, int K, int NB>
void sum_split(cu::State<T, K> (&st)[NB], int nb, const cu::Bandwidth<T>* bw, const Matrix<T>& X,
               const Matrix<T>& Y, const std::vector<T>& w, const T* z, index_t j_begin,
               index_t j_end, index_t skip, cu::KernelKind kernel, int c0, int kc,
               bool tensor_cores) {
  const index_t d = X.cols();
  for (int b = 0; b < NB; ++b) cu::reset(st[b]);
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
    if constexpr (std::is_same_v<T, float>) {
      if (tensor_cores) {  // partial_tc_kernel: 3xTF32 dot products, the norm form
        float zz = 0;
        for (index_t f = 0; f < d; ++f) zz = std::fma(z[f], z[f], zz);
        for (int p = 0; p < valid; ++p) {
          float xx = 0, dot = 0;
          for (index_t f = 0; f < d; ++f) {
            xx = std::fma(X(j0 + p, f), X(j0 + p, f), xx);
            dot = cu::dot3_tf32_add(dot, cu::split_tf32(z[f]), cu::split_tf32(X(j0 + p, f)));
          }
          acc[p] = cu::norm_form_distance(zz, xx, dot);
        }
      }
    }
    for (index_t f = 0; f < d && !tensor_cores; ++f) {
      for (int p = 0; p < valid; ++p) {
        const T diff = z[f] - X(j0 + p, f);
        acc[p] = std::fma(diff, diff, acc[p]);
      }
    }
    const int skip_p = skip >= j0 && skip < j0 + kTile ? static_cast<int>(skip - j0) : -1;
    cu::update_tile<T, K, NB, kTile>(st, nb, bw, kernel, acc, ws, ys, valid, skip_p);
  }
  cu::share_nearest(st, nb, kernel);
}

// The training set as prepare uploads it: points of zero weight dropped.
template <class T>
struct Kept {
  Matrix<T> X, Y;
  std::vector<T> w;
  std::vector<index_t> position;  // row -> kept position, -1: dropped
};

template <class T>
Kept<T> keep_positive(const kreg::test::TrainingData<T>& t) {
  Kept<T> kp;
  kp.position.assign(static_cast<std::size_t>(t.X.rows()), -1);
  std::vector<index_t> keep;
  for (index_t j = 0; j < t.X.rows(); ++j) {
    if (!t.w.empty() && !(t.w[static_cast<std::size_t>(j)] > 0)) continue;
    kp.position[static_cast<std::size_t>(j)] = static_cast<index_t>(keep.size());
    keep.push_back(j);
  }
  const auto n = static_cast<index_t>(keep.size());
  kp.X = Matrix<T>(n, t.X.cols());
  kp.Y = Matrix<T>(n, t.Y.cols());
  for (index_t i = 0; i < n; ++i) {
    const index_t j = keep[static_cast<std::size_t>(i)];
    for (index_t f = 0; f < t.X.cols(); ++f) kp.X(i, f) = t.X(j, f);
    for (index_t c = 0; c < t.Y.cols(); ++c) kp.Y(i, c) = t.Y(j, c);
    if (!t.w.empty()) kp.w.push_back(t.w[static_cast<std::size_t>(j)]);
  }
  return kp;
}

// Predictions (m x k B, out(q, c B + b) as predict_grid lays them out) of
// the emulated kernels: the kept points cut into `splits` parts of whole
// tiles, each part summed for NB bandwidths at a time (K = 1 outputs when
// k = 1, else kGroup: the kernels' choice), the parts' states merged in
// order (combine_kernel). exclude: per query a row of X to skip, or -1; or
// empty. isolated[b] counts bandwidth b's isolated queries.
template <class T, int K, int NB>
void emulate_into(const Kept<T>& kp, const Matrix<T>& Z, Kernel kernel,
                  const std::vector<double>& inv_h2, int splits,
                  const std::vector<index_t>& exclude, Matrix<T>& out,
                  std::vector<index_t>& isolated, bool tensor_cores) {
  const index_t n = kp.X.rows(), k = kp.Y.cols();
  const auto B = static_cast<index_t>(inv_h2.size());
  const index_t tiles = (n + kTile - 1) / kTile;
  const index_t chunk = ((tiles + splits - 1) / splits) * kTile;
  const auto parts = static_cast<int>((n + chunk - 1) / chunk);
  const cu::KernelKind kk = kind_of(kernel);
  isolated.assign(static_cast<std::size_t>(B), 0);
  for (index_t q = 0; q < Z.rows(); ++q) {
    const index_t row = exclude.empty() ? -1 : exclude[static_cast<std::size_t>(q)];
    const index_t skip = row < 0 ? -1 : kp.position[static_cast<std::size_t>(row)];
    for (index_t b0 = 0; b0 < B; b0 += NB) {
      const int nb = static_cast<int>(std::min<index_t>(NB, B - b0));
      cu::Bandwidth<T> bw[NB];
      for (int b = 0; b < nb; ++b) bw[b] = cu::make_bandwidth<T>(inv_h2[b0 + b]);
      for (index_t c0 = 0; c0 < k; c0 += K) {
        const int kc = static_cast<int>(std::min<index_t>(K, k - c0));
        cu::State<T, K> s[NB], part[NB];
        for (int i = 0; i < parts; ++i) {
          sum_split<T, K, NB>(i == 0 ? s : part, nb, bw, kp.X, kp.Y, kp.w, &Z(q, 0), i * chunk,
                              std::min(n, (i + 1) * chunk), skip, kk, static_cast<int>(c0), kc,
                              tensor_cores);
          if (i == 0) continue;
          for (int b = 0; b < nb; ++b) {
            cu::merge(s[b], part[b], kk == cu::KernelKind::gaussian, bw[b].half_inv_h2);
          }
        }
        for (int b = 0; b < nb; ++b) {
          const bool iso = cu::finish(s[b], kc, &out(q, c0 * B + b0 + b), B);
          if (c0 == 0 && iso) ++isolated[static_cast<std::size_t>(b0 + b)];
        }
      }
    }
  }
}

template <class T, int NB>
Matrix<T> emulate_grid(const kreg::test::TrainingData<T>& t, const Matrix<T>& Z, Kernel kernel,
                       const std::vector<double>& inv_h2, int splits,
                       const std::vector<index_t>& exclude, std::vector<index_t>& isolated,
                       bool tensor_cores = false) {
  const Kept<T> kp = keep_positive(t);
  Matrix<T> out(Z.rows(), kp.Y.cols() * static_cast<index_t>(inv_h2.size()));
  if (kp.Y.cols() == 1) {
    emulate_into<T, 1, NB>(kp, Z, kernel, inv_h2, splits, exclude, out, isolated, tensor_cores);
  } else {
    emulate_into<T, kGroup, NB>(kp, Z, kernel, inv_h2, splits, exclude, out, isolated,
                                tensor_cores);
  }
  return out;
}

// One bandwidth, as a predict runs it.
template <class T>
Matrix<T> emulate(const kreg::test::TrainingData<T>& t, const Matrix<T>& Z, Kernel kernel,
                  double inv_h2, int splits, const std::vector<index_t>& exclude, index_t* isolated,
                  bool tensor_cores = false) {
  std::vector<index_t> iso;
  Matrix<T> out = emulate_grid<T, 1>(t, Z, kernel, {inv_h2}, splits, exclude, iso, tensor_cores);
  *isolated = iso[0];
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
  bool tensor_cores = false;  // float: partial_tc_kernel's distances
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
      const Matrix<T> got = emulate(t, Z, kernel, inv_h2, splits, {}, &iso, c.tensor_cores);
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

// partial_tc_kernel's distances (3xTF32 dot products, the norm form, on
// centred data), emulated with the kernels' per-tile update: within 1e-5
// std(y) of the reference at d = 784 (also shifted by 1e6) and d = 40, wide
// enough that no point sits on a compact kernel's edge (the device shapes).
// At h = 8 the Gaussian's weights spread over e^-10 or so: one TF32 pass
// (no split) misses the bound there.
TEST(CudaTileMathTensorCores, MatchesTheReference) {
  check_against_reference<float>({300, 40, 784, 2, false, 8.0, 0.0, true});
  check_against_reference<float>({300, 40, 784, 1, true, 30.0, 1e6, true});
  check_against_reference<float>({500, 77, 40, 1, true, 20.0, 0.0, true});
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

template <class T>
Matrix<T> column_block(const Matrix<T>& grid, index_t B, index_t b) {
  Matrix<T> out(grid.rows(), grid.cols() / B);
  for (index_t q = 0; q < grid.rows(); ++q) {
    for (index_t c = 0; c < out.cols(); ++c) out(q, c) = grid(q, c * B + b);
  }
  return out;
}

// predict_grid's many-bandwidth pass (kBands bandwidths a pass, each squared
// distance formed once for all of them; 11 bandwidths: a full pass and one
// of 3) against the long-double reference at each bandwidth, against the
// CPU's fused grid with leave-one-out (self) and k-fold (rows) exclusions,
// and bit for bit equal to one pass per bandwidth. (The device runs float
// this way; double takes one bandwidth a pass there, and the arithmetic is
// checked here for both.)
TYPED_TEST(CudaTileMath, ManyBandwidthsAtOnceMatchTheReferenceAndTheCpuGrid) {
  using T = TypeParam;
  std::vector<double> inv_h2;
  for (const double h : {1e-8, 0.05, 0.1, 0.2, 0.3, 0.5, 0.8, 1.2, 2.0, 5.0, 1e8}) {
    inv_h2.push_back(1.0 / (h * h));
  }
  const auto B = static_cast<index_t>(inv_h2.size());
  for (const Kernel kernel :
       {Kernel::gaussian, Kernel::epanechnikov, Kernel::tricube, Kernel::uniform}) {
    for (const auto& [k, weighted] : {std::pair<index_t, bool>{1, false}, {1, true}, {3, true}}) {
      const kreg::test::TrainingData<T> t =
          kreg::test::make_training<T>(263, 3, k, weighted, 23, weighted ? 4 : 0);
      const std::string what = std::string(kreg::to_string(kernel)) + " k=" + std::to_string(k) +
                               (weighted ? " weighted" : "");
      const double bound = tol<T>() * std_of(t.Y);
      // No exclusions: each bandwidth against the reference.
      const Matrix<T> Z = queries(t, 37, 31);
      std::vector<index_t> iso, iso_one;
      const Matrix<T> got = emulate_grid<T, kBands>(t, Z, kernel, inv_h2, 3, {}, iso);
      for (index_t b = 0; b < B; ++b) {
        const kreg::nw::Problem<T> p{t.X, t.Y, t.w, kernel, inv_h2[static_cast<std::size_t>(b)]};
        Matrix<T> ref(Z.rows(), k);
        const index_t ref_iso = kreg::nw::predict_reference<T>(p, Z, ref, 1);
        const std::string at = what + " bandwidth " + std::to_string(b);
        expect_near_all(column_block(got, B, b), ref, bound, at);
        EXPECT_EQ(iso[static_cast<std::size_t>(b)], ref_iso) << at;
      }
      const Matrix<T> one = emulate_grid<T, 1>(t, Z, kernel, inv_h2, 3, {}, iso_one);
      EXPECT_EQ(
          std::memcmp(got.data(), one.data(), static_cast<std::size_t>(got.size()) * sizeof(T)), 0)
          << what << ": the many-bandwidth pass differs from one pass per bandwidth";
      EXPECT_EQ(iso, iso_one) << what;
      // Leave-one-out and k-fold: the queries are the training rows.
      for (const bool self : {true, false}) {
        std::vector<index_t> exclude(static_cast<std::size_t>(t.X.rows()));
        for (index_t q = 0; q < t.X.rows(); ++q) {
          exclude[static_cast<std::size_t>(q)] = self || q % 4 != 3 ? q : -1;
        }
        const kreg::nw::Problem<T> p{t.X, t.Y, t.w, kernel, inv_h2[0]};
        Matrix<T> cpu(t.X.rows(), k * B);
        std::vector<index_t> cpu_iso(static_cast<std::size_t>(B), 0);
        kreg::nw::predict_grid<T>(p, t.X, inv_h2, exclude, cpu, cpu_iso, 1);
        const Matrix<T> loo = emulate_grid<T, kBands>(t, t.X, kernel, inv_h2, 3, exclude, iso);
        const std::string at = what + (self ? " leave-one-out" : " k-fold rows");
        expect_near_all(loo, cpu, bound, at);
        EXPECT_EQ(iso, cpu_iso) << at;
      }
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

// TF32 rounding as the tensor cores' cvt.rna: 10 explicit mantissa bits, to
// nearest, ties away from zero; the split a = hi + lo exact to 2^-22.
TEST(CudaTf32, RoundsAndSplitsAsTheTensorCoresNeed) {
  EXPECT_EQ(cu::round_tf32(1.0f + std::ldexp(1.0f, -12)), 1.0f);
  EXPECT_EQ(cu::round_tf32(1.0f + std::ldexp(1.0f, -11)), 1.0f + std::ldexp(1.0f, -10));  // tie
  EXPECT_EQ(cu::round_tf32(-1.0f - std::ldexp(1.0f, -11)), -1.0f - std::ldexp(1.0f, -10));
  EXPECT_EQ(cu::round_tf32(INFINITY), INFINITY);
  EXPECT_TRUE(std::isnan(cu::round_tf32(NAN)));
  const float a = 1.0f + std::ldexp(1.0f, -20) + std::ldexp(1.0f, -3);
  const cu::Tf32Split sp = cu::split_tf32(a);
  EXPECT_EQ(sp.hi, 1.0f + std::ldexp(1.0f, -3));
  EXPECT_EQ(sp.lo, std::ldexp(1.0f, -20));
  EXPECT_EQ(cu::round_tf32(sp.lo), sp.lo);
  EXPECT_EQ(cu::norm_form_distance(1.0f, 1.0f, 1.0000001f), 0.0f);  // clamped, not negative
}

// The 3xTF32 dot product, emulated as the tensor-core passes form it, on
// centred pixel-like data (d = 784, values k / 255, each class brightening
// its own rows): within 2e-6 of the double dot product relative to
// sqrt(||z||^2 ||x||^2) (the dot product's scale: centred data makes the dot
// product itself near 0 for unrelated images), and the squared distance in
// the norm form within 2e-6 of (||z||^2 + ||x||^2) of the exact one. One
// TF32 pass (no split) misses the bound by orders of magnitude: the test
// tells the split from none.
TEST(CudaTf32, TheSplitDotProductKeepsFloatPrecisionOnCentredPixels) {
  constexpr int d = 784, n = 120, m = 24;
  std::mt19937 rng(7);
  std::uniform_int_distribution<int> noise(0, 60), cls(0, 9);
  auto image = [&] {
    std::vector<float> x(d);
    const int c = cls(rng);
    for (int f = 0; f < d; ++f) {
      const int row = f / 28;
      const int v = noise(rng) + (row >= 2 * c && row < 2 * c + 3 ? 150 : 0);
      x[static_cast<std::size_t>(f)] = static_cast<float>(std::min(v, 255)) / 255.0f;
    }
    return x;
  };
  std::vector<std::vector<float>> X(n), Z(m);
  for (auto& x : X) x = image();
  for (auto& z : Z) z = image();
  for (int f = 0; f < d; ++f) {  // centred on the training mean, as the front does
    double mean = 0;
    for (const auto& x : X) mean += x[static_cast<std::size_t>(f)];
    mean /= n;
    for (auto& x : X) {
      x[static_cast<std::size_t>(f)] = static_cast<float>(x[static_cast<std::size_t>(f)] - mean);
    }
    for (auto& z : Z) {
      z[static_cast<std::size_t>(f)] = static_cast<float>(z[static_cast<std::size_t>(f)] - mean);
    }
  }
  double worst3 = 0, worst1 = 0, worstf = 0, worst_s = 0;
  for (const auto& z : Z) {
    for (const auto& x : X) {
      double dot = 0, zz = 0, xx = 0, s = 0;
      float dot3 = 0, dot1 = 0, dotf = 0, zzf = 0, xxf = 0;
      for (int f = 0; f < d; ++f) {
        const float a = z[static_cast<std::size_t>(f)], b = x[static_cast<std::size_t>(f)];
        dot += static_cast<double>(a) * b;
        zz += static_cast<double>(a) * a;
        xx += static_cast<double>(b) * b;
        s += (static_cast<double>(a) - b) * (static_cast<double>(a) - b);
        const cu::Tf32Split sa = cu::split_tf32(a), sb = cu::split_tf32(b);
        dot3 = cu::dot3_tf32_add(dot3, sa, sb);
        dot1 = std::fma(sa.hi, sb.hi, dot1);
        dotf = std::fma(a, b, dotf);
        zzf = std::fma(a, a, zzf);
        xxf = std::fma(b, b, xxf);
      }
      const double scale = std::sqrt(zz * xx);
      worst3 = std::max(worst3, std::abs(dot3 - dot) / scale);
      worst1 = std::max(worst1, std::abs(dot1 - dot) / scale);
      worstf = std::max(worstf, std::abs(dotf - dot) / scale);
      worst_s = std::max(worst_s, std::abs(cu::norm_form_distance(zzf, xxf, dot3) - s) / (zz + xx));
    }
  }
  EXPECT_LE(worst3, 4e-6);
  EXPECT_LE(worst_s, 4e-6);
  EXPECT_LE(worst3, 2 * worstf + 1e-7) << "the split is not as accurate as float FMAs";
  EXPECT_GE(worst1, 10 * worst3) << "one TF32 pass came out as accurate as the split";
  std::printf(
      "worst relative error: 3xTF32 dot %.2e, float FMA dot %.2e, 1xTF32 %.2e; norm-form "
      "distance %.2e\n",
      worst3, worstf, worst1, worst_s);
}

}  // namespace
