// nw/cpu/one_bandwidth.cpp - the tiled engine's block kernel for one
// bandwidth: tiled SIMD that never materialises the m x n weight matrix.
//
// Like fused attention, but for a softmax over -u^2/2. A block of queries
// walks the packed tiles (nw/cpu/tiled.hpp) in order and, for each group of
// kGroup queries (kWideGroup at high d: Job::wide), one tile at a time:
//
//   1. squared distances, with the tile minimum (GroupDistances): by the
//      norm form ||x||^2 + ||z||^2 - 2 x.z where its error bound allows
//      (the driver decides per query), else by direct differences;
//   2. per query: the Gaussian's running shift m (the smallest distance so
//      far) moves down when the tile holds a nearer point, rescaling the
//      running sums (MoveShift); then w = 2^(-(s - m) alpha) (times the
//      sample weight) is summed over the tile in SIMD lanes (TileSums), and
//      the tile's lane sums are added to the query's double accumulators.
//      Compact kernels need no shift and no exp; they track the nearest
//      point(s) instead, for queries with nothing inside the support.
//
// A tile adds nothing for a query when all its weights are negligible (the
// Gaussian's below 2^-kSkipExp2 relative to the shift point's 1, as the
// many-bandwidth kernel rules) or 0 (outside a compact kernel's support):
// it is skipped after the distances, which at narrow bandwidths is most tiles.
//
// The exponential (nw/cpu/simd/exp2-inl.h) is clamped at 2^-kMinExp2, so the
// running sums never see subnormals. A query's own training point (leave-one-
// out) is skipped by index in the one tile that holds it.
//
// Determinism: a query's sums run over tiles in order, over lanes in a fixed
// order and end in a fixed horizontal reduction; none of it depends on the
// block or thread the query lands in, nor on the other queries of its group.
//
// Compiled once per SIMD target (Highway's foreach_target.h);
// HWY_DYNAMIC_DISPATCH picks the best target for this CPU.
#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "nw/cpu/one_bandwidth.cpp"
#include <hwy/foreach_target.h>  // IWYU pragma: keep
// foreach_target.h must come first.
#include <hwy/aligned_allocator.h>
#include <hwy/highway.h>

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <limits>

#include "nw/cpu/simd/distances-inl.h"
#include "nw/cpu/simd/exp2-inl.h"
#include "nw/cpu/simd/weights-inl.h"
#include "nw/cpu/tiled.hpp"

HWY_BEFORE_NAMESPACE();
namespace kreg::nw::tiled {
namespace HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;

// kExclude: job.exclude is set. Without it no exclusion code is compiled in,
// so that predict_fused's hot path carries nothing of leave-one-out.
template <int G, bool kExclude, class T>
void OneBandwidth(const Job<T>& job, index_t q0, index_t q1) {
  using D = hn::ScalableTag<T>;
  using V = hn::Vec<D>;
  const D d;
  const Tiles<T>& tl = job.tiles;
  const QueryState<T>& st = job.state;
  const index_t P = tl.tile, dim = tl.d, k = tl.k;
  const bool gaussian = job.kernel == Kernel::gaussian;
  const double inv_h2 = job.inv_h2[0];
  const BandwidthConstants<T> bc(inv_h2, tl.weighted);
  const V va = hn::Set(d, bc.neg_alpha);
  const V vlim = hn::Set(d, bc.t_lim);
  const V vih2 = hn::Set(d, bc.inv_h2);

  auto buf = hwy::AllocateAligned<T>(static_cast<std::size_t>(G * P));
  auto spare = hwy::AllocateAligned<T>(static_cast<std::size_t>(tl.norms ? G * P : 1));
  auto zbuf = hwy::AllocateAligned<T>(static_cast<std::size_t>(tl.norms ? (q1 - q0) * dim : 1));
  scaled_queries(tl.norms, job.z + q0 * job.ldz, job.ldz, q1 - q0, dim, zbuf.get());
  auto wbuf = hwy::AllocateAligned<T>(static_cast<std::size_t>(P));
  auto sums = hwy::AllocateAligned<T>(static_cast<std::size_t>(1 + k));

  for (index_t t = 0; t < tl.count; ++t) {
    const T* xt = tl.data + t * tl.stride;
    const T* xn = tl.norm_row(xt);
    TileTargets<T> tt;
    tt.y = xt + dim * P;
    tt.sw = tl.weighted ? tt.y + k * P : nullptr;
    tt.valid = t + 1 == tl.count ? tl.last_valid : P;
    tt.tile = P;
    tt.k = k;
    const EveryVector all = AllVectors(d, tt.valid);
    const index_t tile_start = (job.first_tile + t) * P;  // packed position of lane 0
    for (index_t g = q0; g < q1; g += G) {
      if (job.cancelled()) return;
      const index_t nq = std::min<index_t>(G, q1 - g);
      const T* z[G];
      const T* zm2[G];
      T zn[G];
      job.template group<G>(g, nq, q0, zbuf.get(), z, zm2, zn);
      T tmin[G];
      GroupDistances<G>(d, xt, xn, P, dim, tt.valid, z, zm2, zn, buf.get(), spare.get(), tmin);

      for (index_t r = 0; r < nq; ++r) {
        const index_t q = g + r;
        T* s = buf.get() + r * P;
        index_t skip = -1;
        if constexpr (kExclude) {
          const index_t e = job.exclude[q] - tile_start;
          if (e >= 0 && e < tt.valid) {
            skip = e;
            tmin[r] = MinWithout(d, s, tt.valid, e);
          }
        }
        double* den = st.den + q;
        double* num = st.num + q * k;
        T& nearest = st.nearest[q];
        // Only the one tile that holds a query's own point checks for it.
        auto run = [&](const auto& w) {
          if (kExclude && skip >= 0) [[unlikely]] {
            SumTile<kExclude>(d, s, all, skip, tt, wbuf.get(), w, sums.get());
          } else {
            SumTile<false>(d, s, all, skip, tt, wbuf.get(), w, sums.get());
          }
        };
        if (gaussian) {
          if (tmin[r] < nearest) {  // a nearer point: move the shift, rescale the sums
            MoveShift(static_cast<double>(nearest) - tmin[r], &inv_h2, 1, k, den, num);
            nearest = tmin[r];
          }
          // Every weight of the tile negligible (see the top of this file).
          if (!std::isinf(nearest) && tmin[r] - nearest >= bc.t_skip) continue;
          // Every s so far infinite (coordinates near the type's limit): equal
          // weights, as the reference gives; a finite s later rescales them to 0.
          const V vm = hn::Set(d, std::isinf(nearest) ? T{0} : nearest);
          auto w = [&](V sv) { return Exp2Scaled(d, hn::Min(hn::Sub(sv, vm), vlim), va); };
          // Not through `run`: the hot path stays inlined in this function.
          if (kExclude && skip >= 0) [[unlikely]] {
            SumTile<kExclude>(d, s, all, skip, tt, wbuf.get(), w, sums.get());
          } else {
            SumTile<false>(d, s, all, skip, tt, wbuf.get(), w, sums.get());
          }
        } else {
          TrackNearest(s, tmin[r], skip, tt, nearest, st.tie_w[q], st.tie_y + q * k);
          // A weight that is 0 at the tile's nearest point is 0 on the whole
          // tile (it never grows with s): nothing to sum.
          auto run_compact = [&](const auto& w) {
            if (hn::GetLane(w(hn::Set(d, tmin[r]))) == T{0}) return false;
            run(w);
            return true;
          };
          bool summed = false;
          switch (job.kernel) {
            case Kernel::epanechnikov:  // 1 - u^2 for u < 1
              summed = run_compact([&](V sv) { return EpanechnikovWeight(d, sv, vih2); });
              break;
            case Kernel::tricube:  // (1 - u^3)^3 for u < 1
              summed = run_compact([&](V sv) { return TricubeWeight(d, sv, vih2); });
              break;
            default:  // uniform: 1 for u <= 1
              summed = run_compact([&](V sv) { return UniformWeight(d, sv, vih2); });
              break;
          }
          if (!summed) continue;
        }
        den[0] += static_cast<double>(sums[0]);
        for (index_t c = 0; c < k; ++c) num[c] += static_cast<double>(sums[1 + c]);
      }
    }
  }
}

template <class T>
void OneBandwidthFor(const Job<T>& job, index_t q0, index_t q1) {
  if (job.exclude != nullptr) {
    OneBandwidth<kGroup, true>(job, q0, q1);
  } else if (job.wide) {
    OneBandwidth<kWideGroup, false>(job, q0, q1);
  } else {
    OneBandwidth<kGroup, false>(job, q0, q1);
  }
}
void OneBandwidthF32(const Job<float>& job, index_t q0, index_t q1) {
  OneBandwidthFor(job, q0, q1);
}
void OneBandwidthF64(const Job<double>& job, index_t q0, index_t q1) {
  OneBandwidthFor(job, q0, q1);
}

}  // namespace HWY_NAMESPACE
}  // namespace kreg::nw::tiled
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
#include <type_traits>

namespace kreg::nw::tiled {

HWY_EXPORT(OneBandwidthF32);
HWY_EXPORT(OneBandwidthF64);

template <class T>
void sum_one_bandwidth(const Job<T>& job, index_t q0, index_t q1) {
  if constexpr (std::is_same_v<T, float>) {
    HWY_DYNAMIC_DISPATCH(OneBandwidthF32)(job, q0, q1);
  } else {
    HWY_DYNAMIC_DISPATCH(OneBandwidthF64)(job, q0, q1);
  }
}

template void sum_one_bandwidth<float>(const Job<float>&, index_t, index_t);
template void sum_one_bandwidth<double>(const Job<double>&, index_t, index_t);

}  // namespace kreg::nw::tiled
#endif  // HWY_ONCE
