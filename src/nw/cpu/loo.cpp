// nw/cpu/loo.cpp - leave-one-out at one bandwidth with the Gaussian kernel, each
// pair's weight computed once for both of its points.
//
// The per-feature cv_ls search (`kreg tune --optimize per-feature`) runs
// leave-one-out ~70 times, one bandwidth each time. Every pair (i, j) then
// counts twice, in point i's sums and in point j's, with the same weight
// w = e^(-c t) (c = inv_h2 / 2, t the pair's squared distance). So one
// exponential serves both: i sums w s_j and w s_j y_j, j sums w s_i and
// w s_i y_i (s: sample weights).
//
// That needs one shift for everybody, and it is 0: no weight exceeds 1 and
// no pass for nearest neighbours is needed. The cost is range: the
// exponential is clamped at 2^-kMinExp2 (2^-1000 in double, 2^-100 in
// float), so a point whose weights are all tiny would be summed wrongly. Its
// sum of weights tells: when it is at least n 2^-(kMinExp2 - kSkipExp2), the
// largest weight is at least 2^-(kMinExp2 - kSkipExp2) and the clamped ones
// are below 2^-kSkipExp2 relative to it (2^-64 in double, 2^-40 in float),
// the same negligible share the many-bandwidth engine skips. Points that
// fail (far from every other point relative to the bandwidth: outliers, or
// every point at a tiny bandwidth) are predicted again by the many-bandwidth
// engine (predict_grid, nw/cpu/tiled.cpp), which shifts each query by its
// own nearest point.
//
// The pass walks the upper triangle of tile pairs (I, J >= I) with the rows
// of tile I as queries; a diagonal pair (I, I) is done one way, over all its
// ordered pairs. Task I keeps its rows' own sums and writes what it adds to
// each later tile's rows into its own slice of a buffer; a final step adds
// the slices in tile order. Nothing depends on which thread ran which task:
// the same bits for any n_jobs.
//
// Compiled once per SIMD target (Highway's foreach_target.h).
#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "nw/cpu/loo.cpp"
#include <hwy/foreach_target.h>  // IWYU pragma: keep
// foreach_target.h must come first.
#include <hwy/aligned_allocator.h>
#include <hwy/highway.h>

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <limits>

#include "nw/cpu/loo.hpp"
#include "nw/cpu/simd/distances-inl.h"
#include "nw/cpu/simd/exp2-inl.h"
#include "nw/cpu/simd/weights-inl.h"

HWY_BEFORE_NAMESPACE();
namespace kreg::nw::loo {
namespace HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;
using tiled::HWY_NAMESPACE::Exp2Scaled;
using tiled::HWY_NAMESPACE::GroupDistances;
using tiled::HWY_NAMESPACE::kGroup;
using tiled::HWY_NAMESPACE::WeightsAt;

constexpr double kLog2e = 1.4426950408889634074;

// w = e^(-c s) for lanes [p, p + L) of one row's squared distances s: 0 past
// `valid` and at lane `skip` (the point itself, or -1). The sample weights
// enter the sums separately (a pair's weight serves both of its points).
template <class D, class V = hn::Vec<D>, class T = hn::TFromD<D>>
HWY_INLINE V Weight(D d, const T* HWY_RESTRICT s, index_t p, V va, V vlim, index_t valid,
                    index_t skip) {
  return WeightsAt<false, true, true>(d, s, static_cast<const T*>(nullptr), p, valid, skip,
                                      [&](V sv) { return Exp2Scaled(d, hn::Min(sv, vlim), va); });
}

// One output; kRows consecutive rows i, i + 1, ... against one tile: their
// own sums, and (off the diagonal, skip < 0) their shares of the tile's
// column sums col[p] and col[P + p]. s: the rows' squared distances, P
// apart; on the diagonal, row r skips lane skip + r.
template <bool kWeighted, int kRows, class D, class T = hn::TFromD<D>>
HWY_INLINE void RowsK1(D d, const Job<T>& job, index_t i, const T* HWY_RESTRICT s, index_t P,
                       index_t valid, index_t skip, const T* HWY_RESTRICT y,
                       const T* HWY_RESTRICT sw, T* HWY_RESTRICT col) {
  using V = hn::Vec<D>;
  const auto L = static_cast<index_t>(hn::Lanes(d));
  const double alpha = 0.5 * job.inv_h2 * kLog2e;
  const V va = hn::Set(d, static_cast<T>(-alpha));
  const V vlim = hn::Set(d, static_cast<T>(tiled::kMinExp2<T> / alpha));
  const bool diagonal = skip >= 0;
  V vs[kRows], vsy[kRows], den[kRows], num[kRows];
  for (int r = 0; r < kRows; ++r) {
    vs[r] = hn::Set(d, job.sy[(i + r) * 2]);
    vsy[r] = hn::Set(d, job.sy[(i + r) * 2 + 1]);
    den[r] = hn::Zero(d);
    num[r] = hn::Zero(d);
  }
  for (index_t p = 0; p < valid; p += L) {
    V w[kRows];
    for (int r = 0; r < kRows; ++r) {
      w[r] = Weight(d, s + r * P, p, va, vlim, valid, diagonal ? skip + r : -1);
    }
    if (!diagonal) {
      V cd = hn::Load(d, col + p), cn = hn::Load(d, col + P + p);
      for (int r = 0; r < kRows; ++r) {
        cd = kWeighted ? hn::MulAdd(w[r], vs[r], cd) : hn::Add(w[r], cd);
        cn = hn::MulAdd(w[r], vsy[r], cn);
      }
      hn::Store(cd, d, col + p);
      hn::Store(cn, d, col + P + p);
    }
    const V yv = hn::Load(d, y + p);
    const V swv = kWeighted ? hn::Load(d, sw + p) : hn::Zero(d);
    for (int r = 0; r < kRows; ++r) {
      const V ws = kWeighted ? hn::Mul(w[r], swv) : w[r];
      den[r] = hn::Add(den[r], ws);
      num[r] = hn::MulAdd(ws, yv, num[r]);
    }
  }
  for (int r = 0; r < kRows; ++r) {
    double* rs = job.row_sums + (i + r) * 2;
    rs[0] += static_cast<double>(hn::GetLane(hn::SumOfLanes(d, den[r])));
    rs[1] += static_cast<double>(hn::GetLane(hn::SumOfLanes(d, num[r])));
  }
}

// Any number of outputs, one row i against one tile; the weights go through
// wbuf.
template <bool kWeighted, class D, class T = hn::TFromD<D>>
HWY_INLINE void RowK(D d, const Job<T>& job, index_t i, const T* HWY_RESTRICT s, index_t P,
                     index_t valid, index_t skip, const T* HWY_RESTRICT y, const T* HWY_RESTRICT sw,
                     T* HWY_RESTRICT col, T* HWY_RESTRICT wbuf) {
  using V = hn::Vec<D>;
  const auto L = static_cast<index_t>(hn::Lanes(d));
  const index_t k = job.tiles.k, e1 = 1 + k;
  const double alpha = 0.5 * job.inv_h2 * kLog2e;
  const V va = hn::Set(d, static_cast<T>(-alpha));
  const V vlim = hn::Set(d, static_cast<T>(tiled::kMinExp2<T> / alpha));
  const bool diagonal = skip >= 0;
  double* rs = job.row_sums + i * e1;
  const V vs = hn::Set(d, job.sy[i * e1]);
  V den = hn::Zero(d);
  for (index_t p = 0; p < valid; p += L) {
    const V w = Weight(d, s, p, va, vlim, valid, skip);
    hn::Store(w, d, wbuf + p);
    if (!diagonal) hn::Store(hn::MulAdd(w, vs, hn::Load(d, col + p)), d, col + p);
    den = hn::Add(den, kWeighted ? hn::Mul(w, hn::Load(d, sw + p)) : w);
  }
  rs[0] += static_cast<double>(hn::GetLane(hn::SumOfLanes(d, den)));
  for (index_t c = 0; c < k; ++c) {
    const T* yc = y + c * P;
    T* colc = col + (1 + c) * P;
    const V vsy = hn::Set(d, job.sy[i * e1 + 1 + c]);
    V num = hn::Zero(d);
    for (index_t p = 0; p < valid; p += L) {
      const V w = hn::Load(d, wbuf + p);
      if (!diagonal) hn::Store(hn::MulAdd(w, vsy, hn::Load(d, colc + p)), d, colc + p);
      const V ws = kWeighted ? hn::Mul(w, hn::Load(d, sw + p)) : w;
      num = hn::MulAdd(ws, hn::Load(d, yc + p), num);
    }
    rs[1 + c] += static_cast<double>(hn::GetLane(hn::SumOfLanes(d, num)));
  }
}

// Task I: the sums over the tile pairs (I, J >= I). kK1: one output.
template <bool kWeighted, bool kK1, class T>
void SumsTask(const Job<T>& job, index_t I) {
  using D = hn::ScalableTag<T>;
  const D d;
  const tiled::Tiles<T>& tl = job.tiles;
  const index_t P = tl.tile, k = tl.k, e1 = 1 + k;
  const index_t i0 = I * P, rows = I + 1 == tl.count ? tl.last_valid : P;
  auto buf = hwy::AllocateAligned<T>(static_cast<std::size_t>(kGroup * P));
  auto spare = hwy::AllocateAligned<T>(static_cast<std::size_t>(tl.norms ? kGroup * P : 1));
  auto zbuf = hwy::AllocateAligned<T>(static_cast<std::size_t>(tl.norms ? rows * tl.d : 1));
  tiled::scaled_queries(tl.norms, job.z + i0 * job.ldz, job.ldz, rows, tl.d, zbuf.get());
  auto wbuf = hwy::AllocateAligned<T>(static_cast<std::size_t>(P));
  auto col = hwy::AllocateAligned<T>(static_cast<std::size_t>(e1 * P));  // col[e * P + p]
  std::fill_n(job.row_sums + i0 * e1, rows * e1, 0.0);
  for (index_t J = I; J < tl.count; ++J) {
    const T* xt = tl.data + J * tl.stride;
    const T* xn = tl.norm_row(xt);
    const T* yt = xt + tl.d * P;
    const T* sw = kWeighted ? yt + k * P : nullptr;
    const index_t valid = J + 1 == tl.count ? tl.last_valid : P;
    const bool diagonal = J == I;
    std::fill_n(col.get(), e1 * P, T{0});
    for (index_t g = 0; g < rows; g += kGroup) {
      if (job.cancelled()) return;
      const index_t nq = std::min<index_t>(kGroup, rows - g);
      const T* z[kGroup];
      const T* zm2[kGroup];
      T zn[kGroup];
      for (index_t r = 0; r < kGroup; ++r) {
        const index_t i = i0 + g + std::min(r, nq - 1);
        z[r] = job.z + i * job.ldz;
        zm2[r] = job.zn != nullptr ? zbuf.get() + (i - i0) * tl.d : nullptr;
        zn[r] = job.zn != nullptr ? job.zn[i] : std::numeric_limits<T>::quiet_NaN();
      }
      T tmin[kGroup];
      GroupDistances(d, xt, xn, P, tl.d, valid, z, zm2, zn, buf.get(), spare.get(), tmin);
      if (kK1 && nq == kGroup) {  // four exponentials in flight, one pass over col
        RowsK1<kWeighted, kGroup>(d, job, i0 + g, buf.get(), P, valid, diagonal ? g : -1, yt, sw,
                                  col.get());
        continue;
      }
      for (index_t r = 0; r < nq; ++r) {
        const T* s = buf.get() + r * P;
        const index_t skip = diagonal ? g + r : -1;
        if constexpr (kK1) {
          RowsK1<kWeighted, 1>(d, job, i0 + g + r, s, P, valid, skip, yt, sw, col.get());
        } else {
          RowK<kWeighted>(d, job, i0 + g + r, s, P, valid, skip, yt, sw, col.get(), wbuf.get());
        }
      }
    }
    if (!diagonal) {
      double* cs = job.col_sums + (I * job.n + J * P) * e1;
      for (index_t p = 0; p < valid; ++p) {
        for (index_t e = 0; e < e1; ++e) cs[p * e1 + e] = static_cast<double>(col[e * P + p]);
      }
    }
  }
}

template <class T>
void Sums(const Job<T>& job, index_t I) {
  if (job.tiles.weighted) {
    job.tiles.k == 1 ? SumsTask<true, true>(job, I) : SumsTask<true, false>(job, I);
  } else {
    job.tiles.k == 1 ? SumsTask<false, true>(job, I) : SumsTask<false, false>(job, I);
  }
}
void SumsF32(const Job<float>& job, index_t I) { Sums(job, I); }
void SumsF64(const Job<double>& job, index_t I) { Sums(job, I); }

}  // namespace HWY_NAMESPACE
}  // namespace kreg::nw::loo
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
#include <type_traits>
#include <vector>

#include "core/parallel.hpp"
#include "kreg/error.hpp"
#include "nw/cpu/engines.hpp"
#include "system/simd_target.hpp"

namespace kreg::nw {
namespace loo {
HWY_EXPORT(SumsF32);
HWY_EXPORT(SumsF64);

// The most bytes of per-task column sums.
constexpr double kMaxBufferBytes = 256.0 * (1 << 20);
}  // namespace loo

template <class T>
bool predict_loo_symmetric(const Problem<T>& p, double inv_h2, MatrixView<T> out, int n_threads,
                           const CancelToken* cancel) {
  detail::use_simd_target();
  const index_t n = p.X.rows(), d = p.X.cols(), k = p.Y.cols();
  if (out.rows() != n || out.cols() != k) {
    throw ArgumentError("predict_loo_symmetric: output size does not match");
  }
  const bool weighted = !p.weights.empty();
  if (p.kernel != Kernel::gaussian || n < 2 || !(inv_h2 > 0) || !std::isfinite(inv_h2) ||
      (weighted && std::any_of(p.weights.begin(), p.weights.end(), [](T w) { return !(w > 0); }))) {
    return false;
  }
  // 32 to 64 tiles of 64 to 256 points: smaller tiles cost more per pair,
  // fewer leave more of the work on the diagonal, which is done one way.
  index_t tile = tiled::kMinTile;
  while (tile < tiled::kMaxTile && tile * 32 <= n) tile *= 2;
  const index_t n_tiles = (n + tile - 1) / tile;
  const index_t e1 = 1 + k;
  if (static_cast<double>(n_tiles) * static_cast<double>(n * e1) * sizeof(double) >
      loo::kMaxBufferBytes) {
    return false;
  }
  // The norm form of distances for the points whose error bound allows it
  // (tiled::norm_form_fits).
  const tiled::QueryNorms<T> qn =
      tiled::query_norms<T>(p.X, tiled::max_squared_norm<T>(p.X, {}), inv_h2);
  const bool norms = qn.any();
  const index_t stride = (d + k + (weighted ? 1 : 0) + (norms ? 1 : 0)) * tile;
  auto packed = hwy::AllocateAligned<T>(static_cast<std::size_t>(n_tiles * stride));
  tiled::pack(p, {}, 0, n, tile, stride, norms, packed.get());
  std::vector<T> sy(static_cast<std::size_t>(n * e1));
  for (index_t i = 0; i < n; ++i) {
    const T s = weighted ? p.weights[static_cast<std::size_t>(i)] : T{1};
    sy[static_cast<std::size_t>(i * e1)] = s;
    for (index_t c = 0; c < k; ++c) sy[static_cast<std::size_t>(i * e1 + 1 + c)] = s * p.Y(i, c);
  }
  std::vector<double> row_sums(static_cast<std::size_t>(n * e1));
  std::vector<double> col_sums(static_cast<std::size_t>(n_tiles * n * e1));

  loo::Job<T> job;
  job.tiles = {packed.get(), stride, tile, n_tiles, n - (n_tiles - 1) * tile, d, k,
               weighted,     norms};
  job.zn = norms ? qn.zn.data() : nullptr;
  job.n = n;
  job.z = p.X.data();
  job.ldz = p.X.ld();
  job.inv_h2 = inv_h2;
  job.sy = sy.data();
  job.row_sums = row_sums.data();
  job.col_sums = col_sums.data();
  job.cancel = cancel;
  detail::parallel_blocks(n_threads, n_tiles, 1, [&](index_t begin, index_t end) {
    for (index_t I = begin; I < end; ++I) {
      if (job.cancelled()) return;
      if constexpr (std::is_same_v<T, float>) {
        HWY_DYNAMIC_DISPATCH(loo::SumsF32)(job, I);
      } else {
        HWY_DYNAMIC_DISPATCH(loo::SumsF64)(job, I);
      }
    }
  });
  throw_if_cancelled(cancel);

  // Each point's own sums, then what earlier tiles added, in tile order.
  // Points whose weights are out of range (see the top of this file) go to
  // the many-bandwidth engine.
  const double min_den = static_cast<double>(n) * std::exp2(-loo::kRangeExp2<T>);
  std::vector<index_t> again;
  std::vector<double> sums(static_cast<std::size_t>(e1));
  for (index_t i = 0; i < n; ++i) {
    for (index_t e = 0; e < e1; ++e) sums[e] = row_sums[i * e1 + e];
    for (index_t I = 0; I < i / tile; ++I) {
      for (index_t e = 0; e < e1; ++e) sums[e] += col_sums[(I * n + i) * e1 + e];
    }
    if (!(sums[0] >= min_den)) {
      again.push_back(i);
      continue;
    }
    for (index_t c = 0; c < k; ++c) out(i, c) = static_cast<T>(sums[1 + c] / sums[0]);
  }
  if (!again.empty()) {
    const auto m = static_cast<index_t>(again.size());
    Matrix<T> Z(m, d), pred(m, k);
    for (index_t r = 0; r < m; ++r) {
      for (index_t f = 0; f < d; ++f) Z(r, f) = p.X(again[r], f);
    }
    std::vector<index_t> isolated(1, 0);
    const double h2[] = {inv_h2};
    predict_grid<T>(p, Z, h2, again, pred, isolated, n_threads, cancel);
    for (index_t r = 0; r < m; ++r) {
      for (index_t c = 0; c < k; ++c) out(again[r], c) = pred(r, c);
    }
  }
  return true;
}

template bool predict_loo_symmetric<float>(const Problem<float>&, double, MatrixView<float>, int,
                                           const CancelToken*);
template bool predict_loo_symmetric<double>(const Problem<double>&, double, MatrixView<double>, int,
                                            const CancelToken*);

}  // namespace kreg::nw
#endif  // HWY_ONCE
