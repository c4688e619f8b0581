// nw/cpu/many_bandwidths.cpp - the tiled engine's block kernel for B
// bandwidths in one pass: the engine behind bandwidth sweeps, leave-one-out
// and k-fold cross-validation.
//
// The one-bandwidth kernel's scheme (nw/cpu/one_bandwidth.cpp) with B
// bandwidths at once. Per group of queries and tile of training points, the
// squared distances s are formed once; then, per query, t = s - m (m: the
// smallest s so far, the Gaussian's shift, shared by every bandwidth because
// it lives in d^2 space) is formed once, and each bandwidth b sums
// w = 2^(-t alpha_b) and w y over the tile. A tile whose nearest point is
// already negligible for bandwidth b (weight below 2^-kSkipExp2 relative), or
// outside a compact kernel's support, is skipped for that b: its weights could
// not change the sums, whose shift point contributes exactly 1. A narrow
// bandwidth likewise sums only the tile's vectors that hold a lane above that
// weight (NearVectors); wide ones share one pass of power sums
// (nw/cpu/simd/power_sums-inl.h) or take a short Taylor polynomial in place
// of the exponential.
//
// Leave-one-out skips the query's own training point by index: its distance
// is set to +inf and its lane masked to weight 0, so duplicate points (a real
// distance 0) still count.
//
// Compiled once per SIMD target (Highway's foreach_target.h).
#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "nw/cpu/many_bandwidths.cpp"
#include <hwy/foreach_target.h>  // IWYU pragma: keep
// foreach_target.h must come first.
#include <hwy/aligned_allocator.h>
#include <hwy/highway.h>

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <limits>
#include <type_traits>
#include <vector>

#include "nw/cpu/simd/distances-inl.h"
#include "nw/cpu/simd/exp2-inl.h"
#include "nw/cpu/simd/power_sums-inl.h"
#include "nw/cpu/simd/weights-inl.h"
#include "nw/cpu/tiled.hpp"

HWY_BEFORE_NAMESPACE();
namespace kreg::nw::tiled {
namespace HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;

template <class T>
void ManyBandwidths(const Job<T>& job, index_t q0, index_t q1) {
  using D = hn::ScalableTag<T>;
  using V = hn::Vec<D>;
  const D d;
  const auto L = static_cast<index_t>(hn::Lanes(d));
  const Tiles<T>& tl = job.tiles;
  const QueryState<T>& st = job.state;
  const index_t P = tl.tile, dim = tl.d, k = tl.k, B = job.B;
  const bool gaussian = job.kernel == Kernel::gaussian;
  constexpr T kInf = std::numeric_limits<T>::infinity();

  // Per bandwidth, the constants of BandwidthConstants as arrays.
  auto consts = hwy::AllocateAligned<T>(static_cast<std::size_t>(5 * B));
  T* neg_alpha = consts.get();
  T* t_lim = neg_alpha + B;
  T* ih2 = t_lim + B;
  T* t_skip = ih2 + B;
  T* neg_c = t_skip + B;
  for (index_t b = 0; b < B; ++b) {
    const BandwidthConstants<T> bc(job.inv_h2[b], tl.weighted);
    neg_alpha[b] = bc.neg_alpha;
    t_lim[b] = bc.t_lim;
    ih2[b] = bc.inv_h2;
    t_skip[b] = bc.t_skip;
    neg_c[b] = bc.neg_c;
  }
  constexpr const double* kTaylorMax = TaylorMax<T>::kX;

  PowerSumBandwidths<T> wide(job.inv_h2, neg_alpha, neg_c, t_skip, job.order, job.rank, B, P, k);

  auto buf = hwy::AllocateAligned<T>(static_cast<std::size_t>(kGroup * P));
  auto spare = hwy::AllocateAligned<T>(static_cast<std::size_t>(tl.norms ? kGroup * P : 1));
  auto zbuf = hwy::AllocateAligned<T>(static_cast<std::size_t>(tl.norms ? (q1 - q0) * dim : 1));
  scaled_queries(tl.norms, job.z + q0 * job.ldz, job.ldz, q1 - q0, dim, zbuf.get());
  auto tbuf = hwy::AllocateAligned<T>(static_cast<std::size_t>(P));
  auto wbuf = hwy::AllocateAligned<T>(static_cast<std::size_t>(P));
  auto sums = hwy::AllocateAligned<T>(static_cast<std::size_t>(1 + k));
  // The vectors that hold near lanes for the narrow bandwidths (NearVectors),
  // in two buffers: each list is built from the previous one, never filtered
  // in place (stores where the next loads read).
  std::vector<index_t> near_buf(static_cast<std::size_t>(2 * (P / L)));

  for (index_t t = 0; t < tl.count; ++t) {
    const T* xt = tl.data + t * tl.stride;
    const T* xn = tl.norm_row(xt);
    TileTargets<T> tt;
    tt.y = xt + dim * P;
    tt.sw = tl.weighted ? tt.y + k * P : nullptr;
    tt.valid = t + 1 == tl.count ? tl.last_valid : P;
    tt.tile = P;
    tt.k = k;
    const index_t valid = tt.valid;
    const EveryVector all = AllVectors(d, valid);
    const index_t tile_start = (job.first_tile + t) * P;  // packed position of lane 0
    for (index_t g = q0; g < q1; g += kGroup) {
      const index_t nq = std::min<index_t>(kGroup, q1 - g);
      const T* z[kGroup];
      const T* zm2[kGroup];
      T zn[kGroup];
      job.template group<kGroup>(g, nq, q0, zbuf.get(), z, zm2, zn);
      T tmin[kGroup];
      GroupDistances(d, xt, xn, P, dim, valid, z, zm2, zn, buf.get(), spare.get(), tmin);

      for (index_t r = 0; r < nq; ++r) {
        if (job.cancelled()) return;  // once per query and tile (kCancelStride)
        const index_t q = g + r;
        T* s = buf.get() + r * P;
        index_t skip = -1;
        if (job.exclude != nullptr) {
          const index_t e = job.exclude[q] - tile_start;
          if (e >= 0 && e < valid) {
            skip = e;
            tmin[r] = MinWithout(d, s, valid, e);
          }
        }
        double* den = st.den + q * B;
        double* num = st.num + q * B * k;
        T& nearest = st.nearest[q];
        // Sums of w over the tile's lanes `vectors` of src for bandwidth b.
        auto run = [&](index_t b, const T* src, const auto& vectors, const auto& w) {
          SumTile<true>(d, src, vectors, skip, tt, wbuf.get(), w, sums.get());
          den[b] += static_cast<double>(sums[0]);
          for (index_t c = 0; c < k; ++c) num[b * k + c] += static_cast<double>(sums[1 + c]);
        };
        if (!gaussian) {
          TrackNearest(s, tmin[r], skip, tt, nearest, st.tie_w[q], st.tie_y + q * k);
          for (index_t b = 0; b < B; ++b) {
            if (b % kCancelStride == kCancelStride - 1 && job.cancelled()) return;
            const double u2_min = static_cast<double>(tmin[r]) * job.inv_h2[b];
            const V vih2 = hn::Set(d, ih2[b]);
            switch (job.kernel) {
              case Kernel::epanechnikov:  // 1 - u^2 for u < 1
                if (u2_min >= 1) break;
                run(b, s, all, [&](V sv) { return EpanechnikovWeight(d, sv, vih2); });
                break;
              case Kernel::tricube:  // (1 - u^3)^3 for u < 1
                if (u2_min >= 1) break;
                run(b, s, all, [&](V sv) { return TricubeWeight(d, sv, vih2); });
                break;
              default:  // uniform: 1 for u <= 1
                if (u2_min > 1) break;
                run(b, s, all, [&](V sv) { return UniformWeight(d, sv, vih2); });
                break;
            }
          }
          continue;
        }

        if (tmin[r] < nearest) {  // a nearer point: move the shift, rescale the sums
          MoveShift(static_cast<double>(nearest) - tmin[r], job.inv_h2, B, k, den, num);
          nearest = tmin[r];
        }
        // All distances so far infinite: equal weights, as one_bandwidth.cpp.
        const T m = std::isinf(nearest) ? T{0} : nearest;
        const V vm = hn::Set(d, m);
        // t = s - m into tbuf; the tile's largest finite t (padding and
        // skipped lanes are inf), in two chains, and how many lanes are inf.
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
          wide.Run(tbuf.get(), valid, static_cast<double>(gap), tmax, tt.y, tt.sw, den, num);
        }
        const index_t* near = nullptr;
        T near_thr = kInf;  // the vectors listed in `near`: some t < near_thr
        index_t n_near = 0;
        // Widest first, so that the sparse ones narrow the near list step
        // by step.
        index_t unpolled = 0;
        for (const index_t b : wide.Order()) {
          if (++unpolled == kCancelStride) {
            unpolled = 0;
            if (job.cancelled()) return;
          }
          if (wide.Taken(b)) continue;
          if (gap >= t_skip[b] && !std::isinf(nearest)) continue;  // every weight negligible
          const V nc = hn::Set(d, neg_c[b]);
          // A narrow bandwidth sums only the vectors with a lane nearer than
          // t_skip (NearVectors; the list narrows from one bandwidth to the
          // next narrower). Listing costs about a quarter of a pass of
          // exponentials, so it pays where few vectors are near: below a
          // quarter of the tile's range (docs/benchmarks.md).
          const bool sparse = t_skip[b] < 0.25 * tmax && !std::isinf(nearest);
          const double x_max = tmax * 0.5 * job.inv_h2[b];  // the largest t c in the tile
          const V va = hn::Set(d, neg_alpha[b]);
          const V vlim = hn::Set(d, t_lim[b]);
          auto clamped = [&](V tv) { return Exp2Scaled(d, hn::Min(tv, vlim), va); };
          auto taylor = [&](auto degree) {
            run(b, tbuf.get(), all,
                [&](V tv) { return ExpTaylor<decltype(degree)::value>(d, tv, nc); });
          };
          // (A Taylor polynomial needs every t finite: at an overflowed
          // distance the clamped exponential gives the negligible weight.)
          if (!all_finite) {
            run(b, tbuf.get(), all, clamped);
          } else if (x_max <= kTaylorMax[2]) {
            taylor(std::integral_constant<int, 2>());
          } else if (x_max <= kTaylorMax[4]) {
            taylor(std::integral_constant<int, 4>());
          } else if (x_max <= kTaylorMax[6]) {
            taylor(std::integral_constant<int, 6>());
          } else if (x_max <= kTaylorMax[8]) {
            taylor(std::integral_constant<int, 8>());
          } else if (sparse) {
            if (t_skip[b] < near_thr) {
              index_t* next = near_buf.data() + (near == near_buf.data() ? P / L : 0);
              n_near = NearVectors(d, t_skip[b], tbuf.get(), near_thr == kInf ? nullptr : near,
                                   near_thr == kInf ? p / L : n_near, next);
              near = next;
              near_thr = t_skip[b];
            }
            run(b, tbuf.get(), ListedVectors{near, n_near}, clamped);
          } else if (tmax < static_cast<double>(t_lim[b])) {  // and all_finite
            run(b, tbuf.get(), all, [&](V tv) { return Exp2Scaled(d, tv, va); });
          } else {
            run(b, tbuf.get(), all, clamped);
          }
        }
      }
    }
  }
}

void ManyBandwidthsF32(const Job<float>& job, index_t q0, index_t q1) {
  ManyBandwidths(job, q0, q1);
}
void ManyBandwidthsF64(const Job<double>& job, index_t q0, index_t q1) {
  ManyBandwidths(job, q0, q1);
}

}  // namespace HWY_NAMESPACE
}  // namespace kreg::nw::tiled
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
namespace kreg::nw::tiled {

HWY_EXPORT(ManyBandwidthsF32);
HWY_EXPORT(ManyBandwidthsF64);

template <class T>
void sum_many_bandwidths(const Job<T>& job, index_t q0, index_t q1) {
  if constexpr (std::is_same_v<T, float>) {
    HWY_DYNAMIC_DISPATCH(ManyBandwidthsF32)(job, q0, q1);
  } else {
    HWY_DYNAMIC_DISPATCH(ManyBandwidthsF64)(job, q0, q1);
  }
}

template void sum_many_bandwidths<float>(const Job<float>&, index_t, index_t);
template void sum_many_bandwidths<double>(const Job<double>&, index_t, index_t);

}  // namespace kreg::nw::tiled
#endif  // HWY_ONCE
