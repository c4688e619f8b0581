// nw/cpu/simd/power_sums-inl.h - wide bandwidths from power sums: per tile
// and query, the moments of the shifted distances serve several wide
// bandwidths at once instead of one exponential per lane and bandwidth.
//
// When a tile's t values lie within t0 +- rho and c_b rho is small for
// several bandwidths b (w = e^(-t c_b)), the tile's power sums M_j = sum xi^j
// and sum xi^j y, with xi = c (t - t0) for the largest c_b among them, give
// every one of those bandwidths' sums as e^(-c_b t0) sum_j (-c_b / c)^j / j!
// M_j: one pass of a few operations per power instead of one exponential (or
// Taylor polynomial) per bandwidth. Only the moments up to a degree K are
// summed; the higher ones the Taylor series needs are estimated from them
// (Chebyshev economisation), and both errors stay below 2e-12 relative in
// double and 2e-7 in float, within the full exponential's own error (2.1e-12
// and 2.9e-6; MomentTables).
// Per tile and query a cost model picks the widest bandwidths for which this
// is cheaper (PowerSumBandwidths).
//
// Included once per SIMD target from a file that uses Highway's
// foreach_target.h; the toggle below is Highway's per-target include guard.
#if defined(KREG_NW_SIMD_POWER_SUMS_INL_H_) == defined(HWY_TARGET_TOGGLE)
#ifdef KREG_NW_SIMD_POWER_SUMS_INL_H_
#undef KREG_NW_SIMD_POWER_SUMS_INL_H_
#else
#define KREG_NW_SIMD_POWER_SUMS_INL_H_
#endif

#include <hwy/aligned_allocator.h>
#include <hwy/highway.h>

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <limits>
#include <span>
#include <type_traits>
#include <vector>

#include "kreg/matrix.hpp"
#include "nw/cpu/simd/exp2-inl.h"

HWY_BEFORE_NAMESPACE();
namespace kreg::nw::tiled {
namespace HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;

// Power sums over one tile: out[s][j] = sum_p a_s[p] xi[p]^j for j = 0..K
// and kSeries series a_s. Four powers a block keep 4 kSeries accumulators in
// registers; between blocks a_s xi^j is kept in a_s (overwritten). The first
// block takes xi and the a_s from first(p, x, a) instead of the arrays (which
// it must write: x to xi, and the a_s need not be stored). The last block
// forms only the powers it sums (1 to 4) and stores nothing. `n` is a
// multiple of the vector length and lanes to ignore hold a_s = xi = 0.
template <int kSeries, class D, class First, class T = hn::TFromD<D>>
HWY_INLINE void PowerSums(D d, const T* HWY_RESTRICT xi, T* const* a, index_t n, int K,
                          double* const* out, const First& first) {
  using V = hn::Vec<D>;
  const auto L = static_cast<index_t>(hn::Lanes(d));
  constexpr int kBlock = 4;
  // Powers j0 .. j0 + kNj - 1; kStore: a later block reads a_s xi^(j0 + kNj).
  auto block = [&](int j0, auto nj, auto store, const auto& load) {
    constexpr int kNj = decltype(nj)::value;
    constexpr bool kStore = decltype(store)::value;
    V acc[kSeries][kNj];
    for (int s = 0; s < kSeries; ++s) {
      for (int j = 0; j < kNj; ++j) acc[s][j] = hn::Zero(d);
    }
    for (index_t p = 0; p < n; p += L) {
      V x;
      V pw[kSeries];
      load(p, x, pw);
      for (int s = 0; s < kSeries; ++s) {
        for (int j = 0; j < kNj; ++j) {
          acc[s][j] = hn::Add(acc[s][j], pw[s]);
          if (kStore || j + 1 < kNj) pw[s] = hn::Mul(pw[s], x);
        }
        if constexpr (kStore) hn::Store(pw[s], d, a[s] + p);
      }
    }
    for (int s = 0; s < kSeries; ++s) {
      for (int j = 0; j < kNj; ++j) {
        out[s][j0 + j] = static_cast<double>(hn::GetLane(hn::SumOfLanes(d, acc[s][j])));
      }
    }
  };
  // The block of powers j0.. : the last one (no store) when j0 + kBlock > K.
  auto run = [&](int j0, const auto& load) {
    using Yes = std::true_type;
    using No = std::false_type;
    if (j0 + kBlock <= K) return block(j0, std::integral_constant<int, kBlock>(), Yes(), load);
    switch (K + 1 - j0) {
      case 1:
        return block(j0, std::integral_constant<int, 1>(), No(), load);
      case 2:
        return block(j0, std::integral_constant<int, 2>(), No(), load);
      case 3:
        return block(j0, std::integral_constant<int, 3>(), No(), load);
      default:
        return block(j0, std::integral_constant<int, 4>(), No(), load);
    }
  };
  run(0, first);
  for (int j0 = kBlock; j0 <= K; j0 += kBlock) {
    run(j0, [&](index_t p, V& x, V* pw) {
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
// Estimate(K, i) holds the monomial coefficients j <= K of that truncation
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
  const double* Estimate(int K, int i) const { return estimate_[K][i]; }

 private:
  double estimate_[kN][kN][kN] = {};
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
  // BandwidthConstants; order and rank: as Job's; k outputs, tiles of P points.
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
  bool Taken(index_t b) const { return rank_[b] < taken_; }
  // The bandwidths by ascending c (widest first).
  std::span<const index_t> Order() const { return order_; }

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
    // reductions and evaluations spread over its vectors). The weight 1.6
    // of a power is fitted, not derived: docs/benchmarks.md, "Why the engine
    // constants are what they are".
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
          const double* e = tables.Estimate(K, i);
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
  // Truncation: eps is within the full exponential's own error (2e-12
  // against 2.1e-12 in double, 2e-7 against 2.9e-6 in float). Rounding: the
  // power sums alternate in sign for -c, so their sum loses up to
  // e^(2x) (K + 1) units in the last place; x is capped so that this stays
  // below 1e-12 relative in double (x <= 2.5: e^5 25 2^-53 = 4e-13) and 1e-5
  // in float (x <= 1: e^2 25 2^-24 = 1.1e-5).
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

}  // namespace HWY_NAMESPACE
}  // namespace kreg::nw::tiled
HWY_AFTER_NAMESPACE();

#endif  // KREG_NW_SIMD_POWER_SUMS_INL_H_
