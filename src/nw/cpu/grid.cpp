// nw/cpu/grid.cpp - many bandwidths in one pass: the engine behind bandwidth
// sweeps, leave-one-out and k-fold cross-validation.
//
// The fused engine's scheme (nw/cpu/fused.cpp) with B bandwidths at once. Per
// group of queries and tile of training points, the squared distances s are
// formed once; then, per query, t = s - m (m: the smallest s so far, the
// Gaussian's shift, shared by every bandwidth because it lives in d^2 space)
// is formed once, and each bandwidth b sums w = 2^(-t alpha_b) and w y over
// the tile. A tile whose nearest point is already negligible for bandwidth b
// (weight below 2^-kSkipExp2 relative), or outside a compact kernel's
// support, is skipped for that b: its weights could not change the sums,
// whose shift point contributes exactly 1. A narrow bandwidth likewise sums
// only the tile's vectors that hold a lane above that weight.
//
// Wide bandwidths share one pass: when a tile's t values lie within
// t0 +- rho and c_b rho is small for several bandwidths b (w = e^(-t c_b)),
// the tile's power sums M_j = sum xi^j and sum xi^j y, with xi = c (t - t0)
// for the largest c_b among them, give every one of those bandwidths' sums as
// e^(-c_b t0) sum_j (-c_b / c)^j / j! M_j: one pass of a few operations per
// power instead of one exponential (or Taylor polynomial) per bandwidth.
// Only the moments up to a degree K are summed; the higher ones the Taylor
// series needs are estimated from them (Chebyshev economisation), and both
// errors stay below 2e-12 relative in double and 2e-7 in float, the full
// exponential's own error (MomentTables). Per tile and query a cost model
// picks the widest bandwidths for which this is cheaper (PowerSumBandwidths).
//
// Leave-one-out skips the query's own training point by index: its distance
// is set to +inf and its lane masked to weight 0, so duplicate points (a real
// distance 0) still count.
//
// Compiled once per SIMD target (Highway's foreach_target.h).
#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "nw/cpu/grid.cpp"
#include <hwy/foreach_target.h>  // IWYU pragma: keep
// foreach_target.h must come first.
#include <hwy/aligned_allocator.h>
#include <hwy/highway.h>

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <limits>
#include <span>
#include <type_traits>
#include <vector>

#include "nw/cpu/fused-inl.h"
#include "nw/cpu/grid.hpp"

HWY_BEFORE_NAMESPACE();
namespace kreg::nw::grid {
namespace HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;
using fused::HWY_NAMESPACE::Distances;
using fused::HWY_NAMESPACE::EpanechnikovWeight;
using fused::HWY_NAMESPACE::Exp2Scaled;
using fused::HWY_NAMESPACE::kGroup;
using fused::HWY_NAMESPACE::TricubeWeight;
using fused::HWY_NAMESPACE::UniformWeight;

// The weights of lanes [p, p + L): weight(t) (times the sample weight when
// kWeighted), 0 past `valid` and at lane `skip`.
template <bool kWeighted, class D, class WeightFn, class T = hn::TFromD<D>>
HWY_INLINE hn::Vec<D> WeightsAt(D d, const T* HWY_RESTRICT t, const T* HWY_RESTRICT sw, index_t p,
                                index_t valid, index_t skip, const WeightFn& weight) {
  const auto L = static_cast<index_t>(hn::Lanes(d));
  hn::Vec<D> w = weight(hn::Load(d, t + p));
  if constexpr (kWeighted) w = hn::Mul(w, hn::Load(d, sw + p));
  if (p + L > valid) [[unlikely]] {
    w = hn::IfThenElseZero(hn::FirstN(d, static_cast<std::size_t>(valid - p)), w);
  }
  if (skip >= p && skip < p + L) [[unlikely]] {
    w = hn::IfThenZeroElse(hn::Eq(hn::Iota(d, static_cast<T>(p)), hn::Set(d, static_cast<T>(skip))),
                           w);
  }
  return w;
}

// sums[0] = sum_p w_p and sums[1 + c] = sum_p w_p y[c][p] over the `valid`
// lanes of a tile with w_p = weight(t_p) (times the sample weight when
// kWeighted); lane `skip` (or none, -1) gets weight 0. k > 1 keeps the
// weights in `wbuf`.
template <bool kWeighted, class D, class WeightFn, class T = hn::TFromD<D>>
HWY_INLINE void TileSums(D d, const T* HWY_RESTRICT t, index_t valid, index_t skip, index_t k,
                         index_t tile, const T* HWY_RESTRICT y, const T* HWY_RESTRICT sw,
                         T* HWY_RESTRICT wbuf, const WeightFn& weight, T* sums) {
  using V = hn::Vec<D>;
  const auto L = static_cast<index_t>(hn::Lanes(d));
  if (k == 1) {
    V den0 = hn::Zero(d), den1 = hn::Zero(d), num0 = hn::Zero(d), num1 = hn::Zero(d);
    index_t p = 0;
    for (; p + 2 * L <= valid; p += 2 * L) {
      const V w0 = WeightsAt<kWeighted>(d, t, sw, p, valid, skip, weight);
      const V w1 = WeightsAt<kWeighted>(d, t, sw, p + L, valid, skip, weight);
      den0 = hn::Add(den0, w0);
      den1 = hn::Add(den1, w1);
      num0 = hn::MulAdd(w0, hn::Load(d, y + p), num0);
      num1 = hn::MulAdd(w1, hn::Load(d, y + p + L), num1);
    }
    for (; p < valid; p += L) {
      const V w = WeightsAt<kWeighted>(d, t, sw, p, valid, skip, weight);
      den0 = hn::Add(den0, w);
      num0 = hn::MulAdd(w, hn::Load(d, y + p), num0);
    }
    sums[0] = hn::GetLane(hn::SumOfLanes(d, hn::Add(den0, den1)));
    sums[1] = hn::GetLane(hn::SumOfLanes(d, hn::Add(num0, num1)));
    return;
  }
  V den = hn::Zero(d);
  for (index_t p = 0; p < valid; p += L) {
    const V w = WeightsAt<kWeighted>(d, t, sw, p, valid, skip, weight);
    hn::Store(w, d, wbuf + p);
    den = hn::Add(den, w);
  }
  sums[0] = hn::GetLane(hn::SumOfLanes(d, den));
  for (index_t c = 0; c < k; ++c) {
    const T* HWY_RESTRICT yc = y + c * tile;
    V num = hn::Zero(d);
    for (index_t p = 0; p < valid; p += L) {
      num = hn::MulAdd(hn::Load(d, wbuf + p), hn::Load(d, yc + p), num);
    }
    sums[1 + c] = hn::GetLane(hn::SumOfLanes(d, num));
  }
}

// The vectors of t with a lane below thr, as lane offsets p (multiples of L):
// from the `n` offsets in `in` (or every vector of the first n * L lanes when
// in is null) into `out`. Returns how many. Branch-free: which vectors are
// near is data-dependent.
template <class D, class T = hn::TFromD<D>>
HWY_INLINE index_t NearVectors(D d, T thr, const T* HWY_RESTRICT t, const index_t* HWY_RESTRICT in,
                               index_t n, index_t* HWY_RESTRICT out) {
  const auto L = static_cast<index_t>(hn::Lanes(d));
  const hn::Vec<D> vthr = hn::Set(d, thr);
  index_t count = 0;
  for (index_t i = 0; i < n; ++i) {
    const index_t p = in != nullptr ? in[i] : i * L;
    out[count] = p;
    count += hn::AllFalse(d, hn::Lt(hn::Load(d, t + p), vthr)) ? 0 : 1;
  }
  return count;
}

// TileSums over the vectors at lane offsets list[0, n) only.
template <bool kWeighted, class D, class WeightFn, class T = hn::TFromD<D>>
HWY_INLINE void TileSumsAt(D d, const T* HWY_RESTRICT t, const index_t* list, index_t n,
                           index_t valid, index_t skip, index_t k, index_t tile,
                           const T* HWY_RESTRICT y, const T* HWY_RESTRICT sw, T* HWY_RESTRICT wbuf,
                           const WeightFn& weight, T* sums) {
  using V = hn::Vec<D>;
  const auto L = static_cast<index_t>(hn::Lanes(d));
  if (k == 1) {
    V den0 = hn::Zero(d), den1 = hn::Zero(d), num0 = hn::Zero(d), num1 = hn::Zero(d);
    index_t i = 0;
    for (; i + 2 <= n; i += 2) {
      const index_t p0 = list[i], p1 = list[i + 1];
      const V w0 = WeightsAt<kWeighted>(d, t, sw, p0, valid, skip, weight);
      const V w1 = WeightsAt<kWeighted>(d, t, sw, p1, valid, skip, weight);
      den0 = hn::Add(den0, w0);
      den1 = hn::Add(den1, w1);
      num0 = hn::MulAdd(w0, hn::Load(d, y + p0), num0);
      num1 = hn::MulAdd(w1, hn::Load(d, y + p1), num1);
    }
    if (i < n) {
      const V w = WeightsAt<kWeighted>(d, t, sw, list[i], valid, skip, weight);
      den0 = hn::Add(den0, w);
      num0 = hn::MulAdd(w, hn::Load(d, y + list[i]), num0);
    }
    sums[0] = hn::GetLane(hn::SumOfLanes(d, hn::Add(den0, den1)));
    sums[1] = hn::GetLane(hn::SumOfLanes(d, hn::Add(num0, num1)));
    return;
  }
  V den = hn::Zero(d);
  for (index_t i = 0; i < n; ++i) {
    const V w = WeightsAt<kWeighted>(d, t, sw, list[i], valid, skip, weight);
    hn::Store(w, d, wbuf + i * L);
    den = hn::Add(den, w);
  }
  sums[0] = hn::GetLane(hn::SumOfLanes(d, den));
  for (index_t c = 0; c < k; ++c) {
    const T* HWY_RESTRICT yc = y + c * tile;
    V num = hn::Zero(d);
    for (index_t i = 0; i < n; ++i) {
      num = hn::MulAdd(hn::Load(d, wbuf + i * L), hn::Load(d, yc + list[i]), num);
    }
    sums[1 + c] = hn::GetLane(hn::SumOfLanes(d, num));
  }
}

// Power sums over one tile: out[s][j] = sum_p a_s[p] xi[p]^j for j = 0..K
// and kSeries series a_s. Four powers a block keep 4 kSeries accumulators in
// registers; between blocks a_s xi^j is kept in a_s (overwritten). The first
// block takes xi and the a_s from first(p, x, a) instead of the arrays (which
// it must write: x to xi, and the a_s need not be stored). `n` is a multiple
// of the vector length and lanes to ignore hold a_s = xi = 0.
template <int kSeries, class D, class First, class T = hn::TFromD<D>>
HWY_INLINE void PowerSums(D d, const T* HWY_RESTRICT xi, T* const* a, index_t n, int K,
                          double* const* out, const First& first) {
  using V = hn::Vec<D>;
  const auto L = static_cast<index_t>(hn::Lanes(d));
  constexpr int kBlock = 4;
  auto block = [&](int j0, const auto& load) {
    const int nj = std::min(kBlock, K + 1 - j0);
    V acc[kSeries][kBlock];
    for (int s = 0; s < kSeries; ++s) {
      for (int j = 0; j < kBlock; ++j) acc[s][j] = hn::Zero(d);
    }
    for (index_t p = 0; p < n; p += L) {
      V x;
      V pw[kSeries];
      load(p, x, pw);
      for (int s = 0; s < kSeries; ++s) {
        for (int j = 0; j < kBlock; ++j) {
          acc[s][j] = hn::Add(acc[s][j], pw[s]);
          pw[s] = hn::Mul(pw[s], x);
        }
        hn::Store(pw[s], d, a[s] + p);
      }
    }
    for (int s = 0; s < kSeries; ++s) {
      for (int j = 0; j < nj; ++j) {
        out[s][j0 + j] = static_cast<double>(hn::GetLane(hn::SumOfLanes(d, acc[s][j])));
      }
    }
  };
  block(0, first);
  for (int j0 = kBlock; j0 <= K; j0 += kBlock) {
    block(j0, [&](index_t p, V& x, V* pw) {
      x = hn::Load(d, xi + p);
      for (int s = 0; s < kSeries; ++s) pw[s] = hn::Load(d, a[s] + p);
    });
  }
}

// The same with every block's xi and a_s from the arrays.
template <int kSeries, class D, class T = hn::TFromD<D>>
HWY_INLINE void PowerSums(D d, const T* HWY_RESTRICT xi, T* const* a, index_t n, int K,
                          double* const* out) {
  using V = hn::Vec<D>;
  PowerSums<kSeries>(d, xi, a, n, K, out, [&](index_t p, V& x, V* pw) {
    x = hn::Load(d, xi + p);
    for (int s = 0; s < kSeries; ++s) pw[s] = hn::Load(d, a[s] + p);
  });
}

// Which power sums serve x = c rho (xi = c (t - t0) in [-x, x]), by
// bisection on bounds that grow with x, relative to the smallest weight
// e^(-x) (hence the factor e^(2x)); half of eps each for:
//
// - Truncation: e^(-xi) = sum_{i<=KT} (-xi)^i / i! up to x^(KT+1) / (KT+1)!
//   e^x. taylor_x[KT] is the largest x degree KT serves.
// - Economisation: only the moments of degree <= K are summed over the
//   tile; those of degree K < i <= KT are estimated from them as the
//   moments of the Chebyshev truncation of xi^i to degree K on [-x, x]
//   (xi^i = x^i u^i with u^i = sum_k beta_ik T_k(u), beta_ik >= 0, so the
//   truncation errs by at most x^i sum_{k>K} beta_ik). econ_x[K] is the
//   largest x for which these errors, weighted by 1 / i!, stay within bound.
//   At x = 2.5 this takes K from 23 to 18; at x = 1, from 15 to 12.
//
// estimate(K, i) holds the monomial coefficients j <= K of that truncation
// of u^i (zero unless j = i mod 2).
constexpr int kMaxMomentDegree = 24;
class MomentTables {
 public:
  static constexpr int kN = kMaxMomentDegree + 1;
  double taylor_x[kN];
  double econ_x[kN];

  MomentTables(double eps, double cap) {
    // Chebyshev polynomials' monomial coefficients (exact integers) and
    // beta_ik: u^i = 2^(1-i) sum_{k = i mod 2} C(i, (i-k)/2) T_k, halved at k = 0.
    long double cheb[kN][kN] = {};
    cheb[0][0] = 1;
    cheb[1][1] = 1;
    for (int k = 2; k < kN; ++k) {
      for (int j = 0; j < kN; ++j) {
        cheb[k][j] = -cheb[k - 2][j] + (j > 0 ? 2 * cheb[k - 1][j - 1] : 0);
      }
    }
    long double binom[kN][kN] = {};
    for (int i = 0; i < kN; ++i) {
      binom[i][0] = 1;
      for (int j = 1; j <= i; ++j)
        binom[i][j] = binom[i - 1][j - 1] + (j < i ? binom[i - 1][j] : 0);
    }
    long double beta[kN][kN] = {};
    for (int i = 0; i < kN; ++i) {
      for (int k = i % 2; k <= i; k += 2) {
        beta[i][k] = std::ldexp(binom[i][(i - k) / 2], 1 - i) / (k == 0 ? 2 : 1);
      }
    }
    // The truncation of u^i to degree K is u^i - sum_{k>K} beta_ik T_k(u); tail[i][K]
    // bounds it on [-1, 1].
    double tail[kN][kN] = {};
    for (int K = 0; K < kN; ++K) {
      for (int i = K + 1; i < kN; ++i) {
        for (int j = 0; j <= K; ++j) {
          long double e = 0;
          for (int k = K + 1; k <= i; ++k) e -= beta[i][k] * cheb[k][j];
          estimate_[K][i][j] = static_cast<double>(e);
        }
        for (int k = K + 1; k <= i; ++k) tail[i][K] += static_cast<double>(beta[i][k]);
      }
    }

    auto largest = [cap](const auto& bound, double budget) {
      double lo = 0, hi = 8;
      for (int it = 0; it < 60; ++it) {
        const double mid = 0.5 * (lo + hi);
        (bound(mid) <= budget ? lo : hi) = mid;
      }
      return std::min(lo, cap);
    };
    auto term = [](double x, int i) {  // x^i / i!
      double v = 1;
      for (int j = 1; j <= i; ++j) v *= x / j;
      return v;
    };
    for (int KT = 0; KT < kN; ++KT) {
      taylor_x[KT] =
          largest([&](double x) { return term(x, KT + 1) * std::exp(2 * x); }, 0.5 * eps);
    }
    for (int K = 0; K < kN; ++K) {
      econ_x[K] = largest(
          [&](double x) {
            double sum = 0;
            for (int i = K + 1; i <= std::min(TaylorDegree(x), kN - 1); ++i) {
              sum += term(x, i) * tail[i][K];
            }
            return sum * std::exp(2 * x);
          },
          0.5 * eps);
    }
  }

  // The smallest Taylor degree that serves x (kN when none does).
  int TaylorDegree(double x) const {
    int KT = 0;
    while (KT < kN && x > taylor_x[KT]) ++KT;
    return KT;
  }
  const double* estimate(int K, int i) const { return estimate_[K][i]; }

 private:
  double estimate_[kN][kN][kN] = {};
};

// The Taylor polynomial of e^-x of degree k is good to a relative 2e-14
// (double; 1e-8 float) for x <= kX[k]: x^(k+1) / (k+1)! below that.
template <class T>
struct TaylorMax {
  static constexpr bool kFloat = std::numeric_limits<T>::digits == 24;
  static constexpr double kX[] = {0,
                                  0,
                                  kFloat ? 2.9e-4 : 3.6e-5,
                                  kFloat ? 3.3e-3 : 4.6e-4,
                                  kFloat ? 1.3e-2 : 2.5e-3,
                                  kFloat ? 3.4e-2 : 8.3e-3,
                                  kFloat ? 6.9e-2 : 2.0e-2,
                                  kFloat ? 0.12 : 4.0e-2,
                                  kFloat ? 0.19 : 7.0e-2};
};

// The wide bandwidths of one tile and query from power sums (see the top of
// this file). Built once per block of queries: the bandwidths' constants in
// ascending c (the driver's order), padded to whole vectors, the tile buffers.
template <class T>
class PowerSumBandwidths {
  using D = hn::ScalableTag<T>;
  using V = hn::Vec<D>;
  static constexpr bool kFloat = std::numeric_limits<T>::digits == 24;
  static constexpr index_t kChains = 4;  // independent Horner chains in flight

 public:
  // neg_alpha[b] = -c_b log2(e), neg_c[b] = -c_b, t_skip[b]: as in
  // ProcessBlock; order and rank: as grid::Job's; k outputs, tiles of P points.
  PowerSumBandwidths(const double* inv_h2, const T* neg_alpha, const T* neg_c, const T* t_skip,
                     const index_t* order, const index_t* rank, index_t B, index_t P, index_t k)
      : inv_h2_(inv_h2),
        t_skip_(t_skip),
        B_(B),
        P_(P),
        k_(k),
        order_(order, static_cast<std::size_t>(B)),
        rank_(rank),
        series_(static_cast<std::size_t>(1 + k)),
        rows_(static_cast<std::size_t>(1 + k)),
        moments_(static_cast<std::size_t>((1 + k) * (kMaxMomentDegree + 1))) {
    const auto L = static_cast<index_t>(hn::Lanes(D()));
    const index_t pad = (B + kChains * L - 1) / (kChains * L) * (kChains * L);
    sorted_ = hwy::AllocateAligned<T>(static_cast<std::size_t>(4 * pad));
    neg_alpha_ = sorted_.get();
    neg_c_ = neg_alpha_ + pad;
    scale_ = neg_c_ + pad;
    out_ = scale_ + pad;
    for (index_t i = 0; i < pad; ++i) {  // padding: c = 0, harmless
      const index_t b = i < B ? order_[static_cast<std::size_t>(i)] : -1;
      neg_alpha_[i] = b >= 0 ? neg_alpha[b] : T{0};
      neg_c_[i] = b >= 0 ? neg_c[b] : T{0};
    }
    xi_ = hwy::AllocateAligned<T>(static_cast<std::size_t>(P));
    terms_ = hwy::AllocateAligned<T>(static_cast<std::size_t>((1 + k) * P));
    for (index_t c = 0; c <= k; ++c) {
      series_[static_cast<std::size_t>(c)] = terms_.get() + c * P;
      rows_[static_cast<std::size_t>(c)] = moments_.data() + c * (kMaxMomentDegree + 1);
    }
    coef_ = hwy::AllocateAligned<T>(static_cast<std::size_t>(kMaxMomentDegree + 1));
    inv_fact_[0] = 1.0;
    for (int j = 1; j <= kMaxMomentDegree; ++j) inv_fact_[j] = inv_fact_[j - 1] / j;
  }

  // Whether the last Run since Clear took bandwidth b (the first `taken_` of
  // order_).
  void Clear() { taken_ = 0; }
  bool taken(index_t b) const { return rank_[b] < taken_; }
  // The bandwidths by ascending c (widest first).
  std::span<const index_t> order() const { return order_; }

  // t: the tile's t = s - m (+inf where a lane does not count), finite ones
  // in [t_lo, t_hi]; y the tile's outputs, sw its sample weights or null.
  // Adds the sums of the bandwidths it takes to den[b], num[b * k + c].
  void Run(const T* HWY_RESTRICT t, index_t valid, double t_lo, double t_hi,
           const T* HWY_RESTRICT y, const T* HWY_RESTRICT sw, double* den, double* num) {
    const D d;
    const auto L = static_cast<index_t>(hn::Lanes(d));
    // Which of the widest bandwidths to take, around t0 = the middle of the
    // range: the prefix of order_ that saves the most, counting vector
    // operations per vector of the tile (a Taylor polynomial of degree j
    // j + 4, a full exponential 19, a power 1.6 a series; then the per-tile
    // reductions and evaluations spread over its vectors). Measured on the
    // tutorial's grid, an exponential costs as much as about six powers of
    // two series; 1.6 was 1.3% faster there than 2.5, and 3 was 2% slower.
    const double rho = 0.5 * (t_hi - t_lo);
    const index_t nvec = (valid + L - 1) / L;
    const auto series_n = static_cast<double>(1 + k_);
    const double per_vec = series_n / static_cast<double>(nvec);
    const double* taylor = TaylorMax<T>::kX;
    const MomentTables& tables = Tables();
    double alt = 0, best_gain = 0;
    index_t end = 0;
    int K = 0, KT = 0, degree = 0, taylor_degree = 0;
    for (index_t i = 0; i < B_; ++i) {
      const index_t b = order_[static_cast<std::size_t>(i)];
      if (t_lo >= static_cast<double>(t_skip_[b])) break;  // and every narrower one
      const double c = 0.5 * inv_h2_[b];
      while (degree <= kMaxMomentDegree && c * rho > tables.econ_x[degree]) ++degree;
      while (taylor_degree <= kMaxMomentDegree && c * rho > tables.taylor_x[taylor_degree]) {
        ++taylor_degree;
      }
      if (degree > kMaxMomentDegree || taylor_degree > kMaxMomentDegree) break;
      const double x = t_hi * c;
      alt += x <= taylor[2]   ? 6
             : x <= taylor[4] ? 8
             : x <= taylor[6] ? 10
             : x <= taylor[8] ? 12
                              : 19;
      // The estimated moments: (taylor_degree - degree) (degree + 1) / 2
      // scalar operations a series.
      const double cost = 4 + 2 * series_n + 1.6 * (degree + 1) * series_n +
                          (5 * (degree + 1) + 0.5 * (taylor_degree - degree) * (degree + 1) +
                           static_cast<double>(i + 1) * (0.5 * taylor_degree + 12)) *
                              per_vec;
      if (alt - cost > best_gain) {
        best_gain = alt - cost;
        end = i + 1;
        K = degree;
        KT = std::max(degree, taylor_degree);
      }
    }
    if (end == 0) return;

    // xi = cm (t - t0) for the widest c taken, in [-x, x]; the series' first
    // terms are formed in the first pass of the power sums.
    const T cm = static_cast<T>(0.5 * inv_h2_[order_[static_cast<std::size_t>(end - 1)]]);
    const double x_range = static_cast<double>(cm) * rho;
    const V vc = hn::Set(d, cm), vt0 = hn::Set(d, static_cast<T>(t_lo + rho));
    const V inf = hn::Set(d, std::numeric_limits<T>::infinity());
    const index_t k = k_, P = P_;
    T* HWY_RESTRICT xi = xi_.get();
    T* const* series = series_.data();
    PowerSums<2>(d, xi, series, nvec * L, K, rows_.data(), [&](index_t p, V& x, V* a) {
      const V tv = hn::Load(d, t + p);
      const auto counts = hn::Lt(tv, inf);
      x = hn::IfThenElseZero(counts, hn::Mul(hn::Sub(tv, vt0), vc));
      hn::Store(x, d, xi + p);
      a[0] = hn::IfThenElseZero(counts, sw ? hn::Load(d, sw + p) : hn::Set(d, T{1}));
      a[1] = hn::Mul(a[0], hn::Load(d, y + p));
      for (index_t c = 1; c < k; ++c) {
        hn::Store(hn::Mul(a[0], hn::Load(d, y + c * P + p)), d, series[1 + c] + p);
      }
    });
    for (index_t c = 1; c < k; ++c) {
      PowerSums<1>(d, xi, series + 1 + c, nvec * L, K, rows_.data() + 1 + c);
    }
    // The moments of degree K < i <= KT, estimated (see MomentTables).
    if (KT > K) {
      double xp[kMaxMomentDegree + 1];
      xp[0] = 1;
      for (int j = 1; j <= KT; ++j) xp[j] = xp[j - 1] * x_range;
      for (index_t sr = 0; sr <= k; ++sr) {
        double* mo = rows_[static_cast<std::size_t>(sr)];
        for (int i = K + 1; i <= KT; ++i) {
          const double* e = tables.estimate(K, i);
          double v = 0;
          for (int j = i % 2; j <= K; j += 2) v += e[j] * xp[i - j] * mo[j];
          mo[i] = v;
        }
      }
    }

    // Per series, L bandwidths at a time: e^(-c t0) sum_j M_j / j! (-c / cm)^j,
    // by Horner in -c / cm; the factors e^(-c t0) = 2^(-alpha t0) once.
    for (index_t i = 0; i < end; i += L) {
      hn::Store(Exp2Scaled(d, vt0, hn::Load(d, neg_alpha_ + i)), d, scale_ + i);
    }
    const V inv_cm = hn::Set(d, static_cast<T>(1.0 / static_cast<double>(cm)));
    for (index_t sr = 0; sr <= k_; ++sr) {
      const double* mo = rows_[static_cast<std::size_t>(sr)];
      for (int j = 0; j <= KT; ++j) coef_[j] = static_cast<T>(mo[j] * inv_fact_[j]);
      for (index_t i0 = 0; i0 < end; i0 += kChains * L) {
        V ratio[kChains], acc[kChains];
        for (index_t u = 0; u < kChains; ++u) {
          ratio[u] = hn::Mul(hn::Load(d, neg_c_ + i0 + u * L), inv_cm);
          acc[u] = hn::Set(d, coef_[KT]);
        }
        for (int j = KT - 1; j >= 0; --j) {
          const V cj = hn::Set(d, coef_[j]);
          for (index_t u = 0; u < kChains; ++u) acc[u] = hn::MulAdd(acc[u], ratio[u], cj);
        }
        for (index_t u = 0; u < kChains; ++u) {
          const index_t i = i0 + u * L;
          hn::Store(hn::Mul(acc[u], hn::Load(d, scale_ + i)), d, out_ + i);
        }
      }
      for (index_t i = 0; i < end; ++i) {
        const index_t b = order_[static_cast<std::size_t>(i)];
        const auto v = static_cast<double>(out_[i]);
        if (sr == 0) {
          den[b] += v;
        } else {
          num[b * k_ + sr - 1] += v;
        }
      }
    }
    taken_ = end;
  }

 private:
  // Truncation: eps matches the full exponential's own error (2e-12 in
  // double, 2e-7 in float). Rounding: the power sums alternate in sign for
  // -c, so their sum loses up to e^(2x) (K + 1) units in the last place; x is
  // capped so that this stays below 1e-12 relative in double (x <= 2.5:
  // e^5 25 2^-53 = 4e-13) and 1e-5 in float (x <= 1: e^2 25 2^-24 = 1.1e-5).
  static const MomentTables& Tables() {
    static const MomentTables tables(kFloat ? 2e-7 : 2e-12, kFloat ? 1.0 : 2.5);
    return tables;
  }

  const double* inv_h2_;
  const T* t_skip_;
  index_t B_, P_, k_;
  std::span<const index_t> order_;  // bandwidths by ascending c
  const index_t* rank_;             // and back
  index_t taken_ = 0;
  hwy::AlignedFreeUniquePtr<T[]> sorted_, xi_, terms_, coef_;
  T* neg_alpha_ = nullptr;
  T* neg_c_ = nullptr;
  T* scale_ = nullptr;
  T* out_ = nullptr;
  std::vector<T*> series_;
  std::vector<double*> rows_;
  std::vector<double> moments_;
  double inv_fact_[kMaxMomentDegree + 1];
};

// e^(-t c) for t c in [0, x_max] by its Taylor polynomial of degree kDegree
// (Horner in y = -t c): no range reduction, so a large bandwidth costs
// kDegree + 1 operations a vector instead of the full exponential's ~14.
template <int kDegree, class D, class V = hn::Vec<D>>
HWY_INLINE V ExpTaylor(D d, V t, V neg_c) {
  using T = hn::TFromD<D>;
  const V y = hn::Mul(t, neg_c);
  double coef = 1.0;
  for (int j = 2; j <= kDegree; ++j) coef /= j;
  V q = hn::Set(d, static_cast<T>(coef));
  for (int j = kDegree - 1; j >= 0; --j) {
    coef *= j + 1;
    q = hn::MulAdd(q, y, hn::Set(d, static_cast<T>(coef)));
  }
  return q;
}

template <class T>
void ProcessBlock(const Job<T>& job, index_t q0, index_t q1) {
  using D = hn::ScalableTag<T>;
  using V = hn::Vec<D>;
  const D d;
  const auto L = static_cast<index_t>(hn::Lanes(d));
  const fused::Tiles<T>& tl = job.tiles;
  const index_t P = tl.tile, dim = tl.d, k = tl.k, B = job.B;
  const bool gaussian = job.kernel == Kernel::gaussian;
  constexpr T kMax = std::numeric_limits<T>::max();
  constexpr T kInf = std::numeric_limits<T>::infinity();
  constexpr double kMinExp2 = fused::kMinExp2<T>;
  // Unweighted, a tile is skipped for bandwidth b when its nearest point's
  // weight is below 2^-kSkipExp2 relative to the shift point's 1 (negligible,
  // nw/cpu/fused.hpp). With sample weights, whose ratios are unbounded, only
  // weights already clamped at 2^-kMinExp2 are skipped.
  constexpr double kSkipExp2 = fused::kSkipExp2<T>;
  const double skip_exp2 = job.tiles.weighted ? kMinExp2 : kSkipExp2;

  // Per bandwidth: the Gaussian's -alpha and clamp t_lim (as nw/cpu/fused.cpp), or
  // a compact kernel's inv_h2, all clamped to T's range.
  auto consts = hwy::AllocateAligned<T>(static_cast<std::size_t>(5 * B));
  T* neg_alpha = consts.get();
  T* t_lim = neg_alpha + B;
  T* ih2 = t_lim + B;
  T* t_skip = ih2 + B;
  T* neg_c = t_skip + B;  // -inv_h2 / 2: the Gaussian's e^(-t c)
  for (index_t b = 0; b < B; ++b) {
    const double alpha = 0.5 * job.inv_h2[b] * 1.4426950408889634074;
    neg_alpha[b] = static_cast<T>(-std::min(alpha, static_cast<double>(kMax)));
    t_lim[b] = static_cast<T>(std::min(kMinExp2 / alpha, static_cast<double>(kMax)));
    ih2[b] = static_cast<T>(std::min(job.inv_h2[b], static_cast<double>(kMax)));
    t_skip[b] = static_cast<T>(std::min(skip_exp2 / alpha, static_cast<double>(kMax)));
    neg_c[b] = static_cast<T>(-std::min(0.5 * job.inv_h2[b], static_cast<double>(kMax)));
  }
  constexpr const double* kTaylorMax = TaylorMax<T>::kX;

  PowerSumBandwidths<T> wide(job.inv_h2, neg_alpha, neg_c, t_skip, job.order, job.rank, B, P, k);

  auto buf = hwy::AllocateAligned<T>(static_cast<std::size_t>(kGroup * P));
  auto tbuf = hwy::AllocateAligned<T>(static_cast<std::size_t>(P));
  auto wbuf = hwy::AllocateAligned<T>(static_cast<std::size_t>(P));
  auto sums = hwy::AllocateAligned<T>(static_cast<std::size_t>(1 + k));
  // The vectors that hold near lanes for the narrow bandwidths (NearVectors),
  // in two buffers: each list is built from the previous one (filtering in
  // place, which stores where the next loads read, was 1% slower overall).
  std::vector<index_t> near_buf(static_cast<std::size_t>(2 * (P / L)));

  for (index_t t = 0; t < tl.count; ++t) {
    const T* xt = tl.data + t * tl.stride;
    const T* yt = xt + dim * P;
    const T* sw = tl.weighted ? yt + k * P : nullptr;
    const index_t valid = t + 1 == tl.count ? tl.last_valid : P;
    const index_t tile_start = (job.first_tile + t) * P;  // packed position of lane 0
    for (index_t g = q0; g < q1; g += kGroup) {
      const index_t nq = std::min<index_t>(kGroup, q1 - g);
      const T* z[kGroup];
      for (index_t r = 0; r < kGroup; ++r) z[r] = job.z + (g + std::min(r, nq - 1)) * job.ldz;
      T tmin[kGroup];
      Distances(d, xt, P, dim, valid, z, buf.get(), tmin);

      for (index_t r = 0; r < nq; ++r) {
        if (job.cancelled()) return;  // once per query and tile (grid::kCancelStride)
        const index_t q = g + r;
        T* s = buf.get() + r * P;
        index_t skip = -1;
        if (job.exclude != nullptr) {
          const index_t e = job.exclude[q] - tile_start;
          if (e >= 0 && e < valid) {
            skip = e;
            s[e] = kInf;
            // The tile minimum without the own point (four chains: the
            // pass is as long as the tile, once per query).
            V mn0 = hn::Set(d, kInf), mn1 = mn0, mn2 = mn0, mn3 = mn0;
            index_t p = 0;
            for (; p + 4 * L <= valid; p += 4 * L) {
              mn0 = hn::Min(mn0, hn::Load(d, s + p));
              mn1 = hn::Min(mn1, hn::Load(d, s + p + L));
              mn2 = hn::Min(mn2, hn::Load(d, s + p + 2 * L));
              mn3 = hn::Min(mn3, hn::Load(d, s + p + 3 * L));
            }
            for (; p < valid; p += L) mn0 = hn::Min(mn0, hn::Load(d, s + p));
            tmin[r] = hn::GetLane(hn::MinOfLanes(d, hn::Min(hn::Min(mn0, mn1), hn::Min(mn2, mn3))));
          }
        }
        double* den = job.den + q * B;
        double* num = job.num + q * B * k;
        T& nearest = job.nearest[q];
        // Sums of weight(src) over the tile for bandwidth b.
        auto run = [&](index_t b, const T* src, const auto& w) {
          if (sw) {
            TileSums<true>(d, src, valid, skip, k, P, yt, sw, wbuf.get(), w, sums.get());
          } else {
            TileSums<false>(d, src, valid, skip, k, P, yt, sw, wbuf.get(), w, sums.get());
          }
          den[b] += static_cast<double>(sums[0]);
          for (index_t c = 0; c < k; ++c) num[b * k + c] += static_cast<double>(sums[1 + c]);
        };
        // The same over the n vectors listed in `near`.
        const index_t* near = nullptr;
        auto run_near = [&](index_t b, index_t n, const auto& w) {
          if (sw) {
            TileSumsAt<true>(d, tbuf.get(), near, n, valid, skip, k, P, yt, sw, wbuf.get(), w,
                             sums.get());
          } else {
            TileSumsAt<false>(d, tbuf.get(), near, n, valid, skip, k, P, yt, sw, wbuf.get(), w,
                              sums.get());
          }
          den[b] += static_cast<double>(sums[0]);
          for (index_t c = 0; c < k; ++c) num[b * k + c] += static_cast<double>(sums[1 + c]);
        };
        if (gaussian) {
          if (tmin[r] < nearest) {  // a nearer point: move the shift, rescale the sums
            if (!std::isinf(nearest)) {
              const double gap = static_cast<double>(nearest) - tmin[r];
              for (index_t b = 0; b < B; ++b) {
                if (!(den[b] > 0)) continue;
                const double scale = std::exp(-0.5 * job.inv_h2[b] * gap);
                den[b] *= scale;
                for (index_t c = 0; c < k; ++c) num[b * k + c] *= scale;
              }
            }
            nearest = tmin[r];
          }
          // All distances so far infinite: equal weights, as nw/cpu/fused.cpp.
          const T m = std::isinf(nearest) ? T{0} : nearest;
          const V vm = hn::Set(d, m);
          // The tile's largest finite t (padding and skipped lanes are inf),
          // in two chains, and how many lanes are inf.
          const V inf = hn::Set(d, kInf), one = hn::Set(d, T{1});
          V vmax0 = hn::Zero(d), vmax1 = hn::Zero(d), ninf = hn::Zero(d);
          index_t p = 0;
          for (; p + 2 * L <= valid; p += 2 * L) {
            const V t0 = hn::Sub(hn::Load(d, s + p), vm);
            const V t1 = hn::Sub(hn::Load(d, s + p + L), vm);
            hn::Store(t0, d, tbuf.get() + p);
            hn::Store(t1, d, tbuf.get() + p + L);
            const auto f0 = hn::Lt(t0, inf), f1 = hn::Lt(t1, inf);
            vmax0 = hn::Max(vmax0, hn::IfThenElseZero(f0, t0));
            vmax1 = hn::Max(vmax1, hn::IfThenElseZero(f1, t1));
            ninf = hn::Add(ninf, hn::Add(hn::IfThenZeroElse(f0, one), hn::IfThenZeroElse(f1, one)));
          }
          for (; p < valid; p += L) {
            const V tv = hn::Sub(hn::Load(d, s + p), vm);
            hn::Store(tv, d, tbuf.get() + p);
            const auto f = hn::Lt(tv, inf);
            vmax0 = hn::Max(vmax0, hn::IfThenElseZero(f, tv));
            ninf = hn::Add(ninf, hn::IfThenZeroElse(f, one));
          }
          const double tmax =
              static_cast<double>(hn::GetLane(hn::MaxOfLanes(d, hn::Max(vmax0, vmax1))));
          // Every t finite but the padding's and the skipped lane's (which
          // TileSums masks): then a bandwidth whose clamp lies beyond tmax
          // needs none.
          const bool all_finite = static_cast<index_t>(hn::GetLane(hn::SumOfLanes(d, ninf))) ==
                                  p - valid + (skip >= 0 ? 1 : 0);
          const T gap = tmin[r] - m;  // >= 0; +inf when the tile holds nothing
          wide.Clear();
          if (!std::isinf(nearest) && !std::isinf(gap)) {
            wide.Run(tbuf.get(), valid, static_cast<double>(gap), tmax, yt, sw, den, num);
          }
          T near_thr = kInf;  // the vectors listed in `near`: some t < near_thr
          index_t n_near = 0;
          // Widest first, so that the sparse ones narrow the near list step
          // by step.
          index_t unpolled = 0;
          for (const index_t b : wide.order()) {
            if (++unpolled == kCancelStride) {
              unpolled = 0;
              if (job.cancelled()) return;
            }
            if (wide.taken(b)) continue;
            if (gap >= t_skip[b] && !std::isinf(nearest)) continue;  // every weight negligible
            const V nc = hn::Set(d, neg_c[b]);
            // A narrow bandwidth sums only the vectors with a lane nearer
            // than t_skip (NearVectors; the list narrows from one bandwidth
            // to the next narrower). Listing costs about a quarter of a pass
            // of exponentials, so it pays where few vectors are near. On the
            // tutorial's grid the cut at t_skip = tmax / 4 took the holdout
            // search from 166 to 149 ms (1 thread); tmax / 2 gave 157 and
            // tmax / 6, 148.
            const bool sparse = t_skip[b] < 0.25 * tmax && !std::isinf(nearest);
            const double x_max = tmax * 0.5 * job.inv_h2[b];  // the largest t c in the tile
            const V va = hn::Set(d, neg_alpha[b]);
            const V vlim = hn::Set(d, t_lim[b]);
            auto clamped = [&](V tv) { return Exp2Scaled(d, hn::Min(tv, vlim), va); };
            auto taylor = [&](auto degree) {
              run(b, tbuf.get(),
                  [&](V tv) { return ExpTaylor<decltype(degree)::value>(d, tv, nc); });
            };
            // (A Taylor polynomial needs every t finite: at an overflowed
            // distance the clamped exponential gives the negligible weight.)
            if (!all_finite) {
              run(b, tbuf.get(), clamped);
            } else if (x_max <= kTaylorMax[2]) {
              taylor(std::integral_constant<int, 2>());
            } else if (x_max <= kTaylorMax[4]) {
              taylor(std::integral_constant<int, 4>());
            } else if (x_max <= kTaylorMax[6]) {
              taylor(std::integral_constant<int, 6>());
            } else if (x_max <= kTaylorMax[8]) {
              taylor(std::integral_constant<int, 8>());
            } else {
              if (sparse) {
                if (t_skip[b] < near_thr) {
                  index_t* next = near_buf.data() + (near == near_buf.data() ? P / L : 0);
                  n_near = NearVectors(d, t_skip[b], tbuf.get(), near_thr == kInf ? nullptr : near,
                                       near_thr == kInf ? p / L : n_near, next);
                  near = next;
                  near_thr = t_skip[b];
                }
                run_near(b, n_near, clamped);
              } else if (tmax < static_cast<double>(t_lim[b])) {  // and all_finite
                run(b, tbuf.get(), [&](V tv) { return Exp2Scaled(d, tv, va); });
              } else {
                run(b, tbuf.get(), clamped);
              }
            }
          }
        } else {
          if (tmin[r] <= nearest) {  // the nearest point(s) so far, for isolated queries
            if (tmin[r] < nearest) {
              nearest = tmin[r];
              job.tie_w[q] = 0;
              for (index_t c = 0; c < k; ++c) job.tie_y[q * k + c] = 0;
            }
            for (index_t p = 0; p < valid; ++p) {
              if (s[p] != nearest || p == skip) continue;
              const double wp = sw ? static_cast<double>(sw[p]) : 1.0;
              job.tie_w[q] += wp;
              for (index_t c = 0; c < k; ++c) job.tie_y[q * k + c] += wp * yt[c * P + p];
            }
          }
          for (index_t b = 0; b < B; ++b) {
            if (b % kCancelStride == kCancelStride - 1 && job.cancelled()) return;
            const double u2_min = static_cast<double>(tmin[r]) * job.inv_h2[b];
            const V vih2 = hn::Set(d, ih2[b]);
            switch (job.kernel) {
              case Kernel::epanechnikov:  // 1 - u^2 for u < 1
                if (u2_min >= 1) break;
                run(b, s, [&](V sv) { return EpanechnikovWeight(d, sv, vih2); });
                break;
              case Kernel::tricube:  // (1 - u^3)^3 for u < 1
                if (u2_min >= 1) break;
                run(b, s, [&](V sv) { return TricubeWeight(d, sv, vih2); });
                break;
              default:  // uniform: 1 for u <= 1
                if (u2_min > 1) break;
                run(b, s, [&](V sv) { return UniformWeight(d, sv, vih2); });
                break;
            }
          }
        }
      }
    }
  }

  if (!job.finish) return;
  std::vector<index_t> isolated(static_cast<std::size_t>(B), 0);
  for (index_t q = q0; q < q1; ++q) {
    T* o = job.out + q * job.ldo;
    for (index_t b = 0; b < B; ++b) {
      const double den = job.den[q * B + b];
      const double* num = job.num + (q * B + b) * k;
      if (den > 0) {
        for (index_t c = 0; c < k; ++c) o[c * B + b] = static_cast<T>(num[c] / den);
      } else {  // nothing inside the support: the mean y of the nearest point(s)
        ++isolated[static_cast<std::size_t>(b)];
        for (index_t c = 0; c < k; ++c) {
          o[c * B + b] = static_cast<T>(job.tie_y[q * k + c] / job.tie_w[q]);
        }
      }
    }
  }
  for (index_t b = 0; b < B; ++b) {
    if (isolated[static_cast<std::size_t>(b)] > 0) {
      job.isolated[b].fetch_add(isolated[static_cast<std::size_t>(b)], std::memory_order_relaxed);
    }
  }
}

void GridBlockF32(const Job<float>& job, index_t q0, index_t q1) { ProcessBlock(job, q0, q1); }
void GridBlockF64(const Job<double>& job, index_t q0, index_t q1) { ProcessBlock(job, q0, q1); }

}  // namespace HWY_NAMESPACE
}  // namespace kreg::nw::grid
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
#include <type_traits>
#include <vector>

#include "core/parallel.hpp"
#include "kreg/error.hpp"
#include "nw/cpu/engines.hpp"
#include "system/simd_target.hpp"

namespace kreg::nw {

namespace grid {
HWY_EXPORT(GridBlockF32);
HWY_EXPORT(GridBlockF64);
}  // namespace grid

template <class T>
void predict_grid(const Problem<T>& p, MatrixView<const T> Z, std::span<const double> inv_h2,
                  std::span<const index_t> exclude, MatrixView<T> out, std::span<index_t> isolated,
                  int n_threads, const CancelToken* cancel, index_t tile_bytes) {
  using namespace fused;  // NOLINT(google-build-using-namespace)
  detail::use_simd_target();
  const index_t m = Z.rows(), d = p.X.cols(), k = p.Y.cols();
  const auto B = static_cast<index_t>(inv_h2.size());
  if (B == 0) throw ArgumentError("predict_grid: no bandwidths");
  if (out.rows() != m || out.cols() != k * B || static_cast<index_t>(isolated.size()) != B ||
      (!exclude.empty() && static_cast<index_t>(exclude.size()) != m)) {
    throw ArgumentError("predict_grid: output, isolated or exclude sizes do not match");
  }
  if (m == 0) return;
  const bool weighted = !p.weights.empty();

  // Points of zero sample weight never contribute (nor count as nearest);
  // `position` maps a row of X to its packed position (-1: dropped).
  std::vector<index_t> keep;
  std::vector<index_t> position;
  if (weighted && std::any_of(p.weights.begin(), p.weights.end(), [](T w) { return !(w > 0); })) {
    position.assign(static_cast<std::size_t>(p.X.rows()), -1);
    for (index_t j = 0; j < p.X.rows(); ++j) {
      if (p.weights[static_cast<std::size_t>(j)] > 0) {
        position[static_cast<std::size_t>(j)] = static_cast<index_t>(keep.size());
        keep.push_back(j);
      }
    }
  }
  const index_t n = keep.empty() ? p.X.rows() : static_cast<index_t>(keep.size());
  if (n == 0) throw ArgumentError("predict_grid: no training point has a positive weight");
  std::vector<index_t> skip;
  if (!exclude.empty()) {
    skip.resize(static_cast<std::size_t>(m));
    for (index_t q = 0; q < m; ++q) {
      const index_t row = exclude[static_cast<std::size_t>(q)];
      skip[static_cast<std::size_t>(q)] =
          row < 0 || position.empty() ? row : position[static_cast<std::size_t>(row)];
    }
  }

  const index_t tile =
      tile_points<T>(d, tile_bytes > 0 ? tile_bytes : grid::kGridTileBytes, grid::kGridMaxTile);
  const index_t stride = (d + k + (weighted ? 1 : 0)) * tile;
  const index_t n_tiles = (n + tile - 1) / tile;
  const index_t chunk_tiles =
      std::clamp<index_t>(kChunkBytes / (stride * static_cast<index_t>(sizeof(T))), 1, n_tiles);
  auto packed = hwy::AllocateAligned<T>(static_cast<std::size_t>(chunk_tiles * stride));

  const auto mu = static_cast<std::size_t>(m), mk = static_cast<std::size_t>(m * k);
  const auto mb = static_cast<std::size_t>(m * B);
  std::vector<T> nearest(mu, std::numeric_limits<T>::infinity());
  std::vector<double> den(mb, 0.0), num(mb * static_cast<std::size_t>(k), 0.0);
  std::vector<double> tie_w(mu, 0.0), tie_y(mk, 0.0);
  std::vector<std::atomic<index_t>> iso(static_cast<std::size_t>(B));
  for (auto& a : iso) a.store(0);

  // The bandwidths by ascending inv_h2 (widest first, ties in input order),
  // and back: the power sums' order (PowerSumBandwidths).
  std::vector<index_t> order(static_cast<std::size_t>(B)), rank(static_cast<std::size_t>(B));
  for (index_t b = 0; b < B; ++b) order[static_cast<std::size_t>(b)] = b;
  std::stable_sort(order.begin(), order.end(), [&](index_t a, index_t b) {
    return inv_h2[static_cast<std::size_t>(a)] < inv_h2[static_cast<std::size_t>(b)];
  });
  for (index_t i = 0; i < B; ++i) {
    rank[static_cast<std::size_t>(order[static_cast<std::size_t>(i)])] = i;
  }
  throw_if_cancelled(cancel);

  grid::Job<T> job;
  job.B = B;
  job.inv_h2 = inv_h2.data();
  job.order = order.data();
  job.rank = rank.data();
  job.cancel = cancel;
  job.kernel = p.kernel;
  job.z = Z.data();
  job.ldz = Z.ld();
  job.exclude = skip.empty() ? nullptr : skip.data();
  job.nearest = nearest.data();
  job.den = den.data();
  job.num = num.data();
  job.tie_w = tie_w.data();
  job.tie_y = tie_y.data();
  job.out = out.data();
  job.ldo = out.ld();
  job.isolated = iso.data();

  for (index_t t0 = 0; t0 < n_tiles; t0 += chunk_tiles) {
    const index_t t1 = std::min(n_tiles, t0 + chunk_tiles);
    const index_t first = t0 * tile, count = std::min(n, t1 * tile) - first;
    pack(p, keep, first, count, tile, stride, packed.get());
    job.tiles = {packed.get(), stride, tile, t1 - t0, count - (t1 - t0 - 1) * tile, d, k, weighted};
    job.first_tile = t0;
    job.finish = t1 == n_tiles;
    detail::parallel_blocks(n_threads, m, kGrain, [&](index_t begin, index_t end) {
      if (job.cancelled()) return;
      if constexpr (std::is_same_v<T, float>) {
        HWY_DYNAMIC_DISPATCH(grid::GridBlockF32)(job, begin, end);
      } else {
        HWY_DYNAMIC_DISPATCH(grid::GridBlockF64)(job, begin, end);
      }
    });
    throw_if_cancelled(cancel);
  }
  for (index_t b = 0; b < B; ++b)
    isolated[static_cast<std::size_t>(b)] += iso[static_cast<std::size_t>(b)].load();
}

template void predict_grid<float>(const Problem<float>&, MatrixView<const float>,
                                  std::span<const double>, std::span<const index_t>,
                                  MatrixView<float>, std::span<index_t>, int, const CancelToken*,
                                  index_t);
template void predict_grid<double>(const Problem<double>&, MatrixView<const double>,
                                   std::span<const double>, std::span<const index_t>,
                                   MatrixView<double>, std::span<index_t>, int, const CancelToken*,
                                   index_t);

}  // namespace kreg::nw
#endif  // HWY_ONCE
