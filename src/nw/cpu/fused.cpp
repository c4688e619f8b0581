// nw/cpu/fused.cpp - the fused engine: tiled SIMD + threads, never materialises
// the m x n weight matrix (the default engine).
//
// Like fused attention, but for a softmax over -u^2/2. The training set is
// re-packed once per call into tiles of P points (nw/cpu/fused.hpp), feature-major
// inside a tile so that SIMD lanes run over training points. Threads take
// blocks of queries; a block walks the tiles in order and, for each group of
// kGroup queries, one tile at a time:
//
//   1. squared distances by direct differences, s = sum_f (x_f - z_f)^2 (a sub
//      and an FMA per feature and lane; each loaded x vector serves the whole
//      group), into a small buffer, with the tile minimum;
//   2. per query: the Gaussian's running shift m (the smallest s so far) moves
//      down when the tile holds a nearer point, rescaling the running sums by
//      exp(-(m_old - m_new) inv_h2 / 2); then w = exp(-(s - m) inv_h2 / 2)
//      (times the sample weight) is summed over the tile in SIMD lanes, and
//      the tile's lane sums are added to the query's double accumulators.
//      Compact kernels need no shift and no exp; they track the nearest
//      point(s) instead, for queries with nothing inside the support.
//
// The exponential is 2^x for x <= 0 built from the exponent bits and a
// minimax polynomial on [-1/2, 1/2] (relative error 2e-7 for float, 2e-12 for
// double); arguments below -kMinExp2 are clamped there, so a weight is never
// below 2^-kMinExp2 relative to the nearest point's 1 (1e-30 for float,
// 1e-301 for double) and the running sums never see subnormals.
//
// Determinism: a query's sums run over tiles in order, over lanes in a fixed
// order and end in a fixed horizontal reduction; none of it depends on the
// block or thread the query lands in, nor on the other queries of its group.
//
// Compiled once per SIMD target (Highway's foreach_target.h);
// HWY_DYNAMIC_DISPATCH picks the best target for this CPU.
#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "nw/cpu/fused.cpp"
#include <hwy/foreach_target.h>  // IWYU pragma: keep
// foreach_target.h must come first.
#include <hwy/aligned_allocator.h>
#include <hwy/highway.h>

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <limits>

#include "nw/cpu/fused-inl.h"
#include "nw/cpu/fused.hpp"

HWY_BEFORE_NAMESPACE();
namespace kreg::nw::fused {
namespace HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;

// Pass 2: sums[0] = sum_p w_p and sums[1 + c] = sum_p w_p y[c][p] over the
// `valid` points of a tile, with w_p = weight(s_p) (times the sample weight
// when kWeighted). For k > 1 the weights are first written over `s`.
template <bool kWeighted, class D, class WeightFn, class T = hn::TFromD<D>>
HWY_INLINE void TileSums(D d, T* HWY_RESTRICT s, index_t tile, index_t valid, index_t k,
                         const T* HWY_RESTRICT y, const T* HWY_RESTRICT sw, const WeightFn& weight,
                         T* sums) {
  using V = hn::Vec<D>;
  const auto L = static_cast<index_t>(hn::Lanes(d));
  auto w_at = [&](index_t p) {
    V w = weight(hn::Load(d, s + p));
    if constexpr (kWeighted) w = hn::Mul(w, hn::Load(d, sw + p));
    return w;
  };
  auto w_tail = [&](index_t p) {
    return hn::IfThenElseZero(hn::FirstN(d, static_cast<std::size_t>(valid - p)), w_at(p));
  };
  if (k == 1) {
    V den0 = hn::Zero(d), den1 = hn::Zero(d), num0 = hn::Zero(d), num1 = hn::Zero(d);
    index_t p = 0;
    for (; p + 2 * L <= valid; p += 2 * L) {
      const V w0 = w_at(p);
      const V w1 = w_at(p + L);
      den0 = hn::Add(den0, w0);
      den1 = hn::Add(den1, w1);
      num0 = hn::MulAdd(w0, hn::Load(d, y + p), num0);
      num1 = hn::MulAdd(w1, hn::Load(d, y + p + L), num1);
    }
    for (; p < valid; p += L) {
      const V w = w_tail(p);
      den0 = hn::Add(den0, w);
      num0 = hn::MulAdd(w, hn::Load(d, y + p), num0);
    }
    sums[0] = hn::GetLane(hn::SumOfLanes(d, hn::Add(den0, den1)));
    sums[1] = hn::GetLane(hn::SumOfLanes(d, hn::Add(num0, num1)));
    return;
  }
  V den = hn::Zero(d);
  for (index_t p = 0; p < valid; p += L) {
    const V w = p + L <= valid ? w_at(p) : w_tail(p);
    hn::Store(w, d, s + p);
    den = hn::Add(den, w);
  }
  sums[0] = hn::GetLane(hn::SumOfLanes(d, den));
  for (index_t c = 0; c < k; ++c) {
    const T* HWY_RESTRICT yc = y + c * tile;
    V num = hn::Zero(d);
    for (index_t p = 0; p < valid; p += L) {
      num = hn::MulAdd(hn::Load(d, s + p), hn::Load(d, yc + p), num);
    }
    sums[1 + c] = hn::GetLane(hn::SumOfLanes(d, num));
  }
}

template <class T>
void ProcessBlock(const Job<T>& job, index_t q0, index_t q1) {
  using D = hn::ScalableTag<T>;
  using V = hn::Vec<D>;
  const D d;
  const Tiles<T>& tl = job.tiles;
  const QueryState<T>& st = job.state;
  const index_t P = tl.tile, dim = tl.d, k = tl.k;
  const bool gaussian = job.kernel == Kernel::gaussian;
  constexpr T kMax = std::numeric_limits<T>::max();

  // Gaussian: w = 2^(t a) with t = min(s - m, lim), a = -inv_h2 log2(e) / 2.
  constexpr double kMinExp2 = fused::kMinExp2<T>;
  const double alpha = 0.5 * job.inv_h2 * 1.4426950408889634074;  // -a
  const V va = hn::Set(d, static_cast<T>(-std::min(alpha, static_cast<double>(kMax))));
  const V vlim = hn::Set(d, static_cast<T>(std::min(kMinExp2 / alpha, static_cast<double>(kMax))));
  // Compact kernels: u^2 = s inv_h2.
  const V vih2 = hn::Set(d, static_cast<T>(std::min(job.inv_h2, static_cast<double>(kMax))));

  auto buf = hwy::AllocateAligned<T>(static_cast<std::size_t>(kGroup * P));
  auto sums = hwy::AllocateAligned<T>(static_cast<std::size_t>(1 + k));

  for (index_t t = 0; t < tl.count; ++t) {
    const T* xt = tl.data + t * tl.stride;
    const T* yt = xt + dim * P;
    const T* sw = tl.weighted ? yt + k * P : nullptr;
    const index_t valid = t + 1 == tl.count ? tl.last_valid : P;
    for (index_t g = q0; g < q1; g += kGroup) {
      if (job.cancelled()) return;
      const index_t nq = std::min<index_t>(kGroup, q1 - g);
      const T* z[kGroup];
      for (index_t r = 0; r < kGroup; ++r) z[r] = job.z + (g + std::min(r, nq - 1)) * job.ldz;
      T tmin[kGroup];
      Distances(d, xt, P, dim, valid, z, buf.get(), tmin);

      for (index_t r = 0; r < nq; ++r) {
        const index_t q = g + r;
        T* s = buf.get() + r * P;
        double* num = st.num + q * k;
        T& nearest = st.nearest[q];
        if (gaussian) {
          if (tmin[r] < nearest) {  // a nearer point: move the shift, rescale the sums
            if (st.den[q] > 0) {    // (none yet: nearest is +inf and the sums 0)
              const double scale =
                  std::exp(-0.5 * job.inv_h2 * (static_cast<double>(nearest) - tmin[r]));
              st.den[q] *= scale;
              for (index_t c = 0; c < k; ++c) num[c] *= scale;
            }
            nearest = tmin[r];
          }
          // Every s so far infinite (coordinates near the type's limit): equal
          // weights, as the reference gives; a finite s later rescales them to 0.
          const V vm = hn::Set(d, std::isinf(nearest) ? T{0} : nearest);
          auto w = [&](V sv) { return Exp2Scaled(d, hn::Min(hn::Sub(sv, vm), vlim), va); };
          if (sw) {
            TileSums<true>(d, s, P, valid, k, yt, sw, w, sums.get());
          } else {
            TileSums<false>(d, s, P, valid, k, yt, sw, w, sums.get());
          }
        } else {
          if (tmin[r] <= nearest) {  // the nearest point(s) so far, for isolated queries
            if (tmin[r] < nearest) {
              nearest = tmin[r];
              st.tie_w[q] = 0;
              for (index_t c = 0; c < k; ++c) st.tie_y[q * k + c] = 0;
            }
            for (index_t p = 0; p < valid; ++p) {
              if (s[p] != nearest) continue;
              const double wp = sw ? static_cast<double>(sw[p]) : 1.0;
              st.tie_w[q] += wp;
              for (index_t c = 0; c < k; ++c) st.tie_y[q * k + c] += wp * yt[c * P + p];
            }
          }
          auto run = [&](const auto& w) {
            if (sw) {
              TileSums<true>(d, s, P, valid, k, yt, sw, w, sums.get());
            } else {
              TileSums<false>(d, s, P, valid, k, yt, sw, w, sums.get());
            }
          };
          switch (job.kernel) {
            case Kernel::epanechnikov:  // 1 - u^2 for u < 1
              run([&](V sv) { return EpanechnikovWeight(d, sv, vih2); });
              break;
            case Kernel::tricube:  // (1 - u^3)^3 for u < 1
              run([&](V sv) { return TricubeWeight(d, sv, vih2); });
              break;
            default:  // uniform: 1 for u <= 1
              run([&](V sv) { return UniformWeight(d, sv, vih2); });
              break;
          }
        }
        st.den[q] += static_cast<double>(sums[0]);
        for (index_t c = 0; c < k; ++c) num[c] += static_cast<double>(sums[1 + c]);
      }
    }
  }

  if (!job.finish) return;
  index_t isolated = 0;
  for (index_t q = q0; q < q1; ++q) {
    T* o = job.out + q * job.ldo;
    const double den = st.den[q];
    if (den > 0) {
      for (index_t c = 0; c < k; ++c) o[c] = static_cast<T>(st.num[q * k + c] / den);
    } else {  // nothing inside the support: the mean y of the nearest point(s)
      ++isolated;
      for (index_t c = 0; c < k; ++c) o[c] = static_cast<T>(st.tie_y[q * k + c] / st.tie_w[q]);
    }
  }
  if (isolated > 0) job.isolated->fetch_add(isolated, std::memory_order_relaxed);
}

void FusedBlockF32(const Job<float>& job, index_t q0, index_t q1) { ProcessBlock(job, q0, q1); }
void FusedBlockF64(const Job<double>& job, index_t q0, index_t q1) { ProcessBlock(job, q0, q1); }

}  // namespace HWY_NAMESPACE
}  // namespace kreg::nw::fused
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
#include <type_traits>
#include <vector>

#include "core/parallel.hpp"
#include "nw/cpu/engines.hpp"
#include "system/simd_target.hpp"

namespace kreg::nw {

namespace fused {
HWY_EXPORT(FusedBlockF32);
HWY_EXPORT(FusedBlockF64);
}  // namespace fused

template <class T>
index_t predict_fused(const Problem<T>& p, MatrixView<const T> Z, MatrixView<T> out, int n_threads,
                      const CancelToken* cancel) {
  using namespace fused;  // NOLINT(google-build-using-namespace)
  detail::use_simd_target();
  const index_t m = Z.rows(), d = p.X.cols(), k = p.Y.cols();
  if (m == 0) return 0;
  const bool weighted = !p.weights.empty();

  // Points of zero sample weight never contribute (nor count as nearest).
  std::vector<index_t> keep;
  if (weighted && std::any_of(p.weights.begin(), p.weights.end(), [](T w) { return !(w > 0); })) {
    for (index_t j = 0; j < p.X.rows(); ++j) {
      if (p.weights[static_cast<std::size_t>(j)] > 0) keep.push_back(j);
    }
  }
  const index_t n = keep.empty() ? p.X.rows() : static_cast<index_t>(keep.size());
  if (n == 0) throw ArgumentError("predict_fused: no training point has a positive weight");

  const index_t tile = tile_points<T>(d);
  const index_t stride = (d + k + (weighted ? 1 : 0)) * tile;
  const index_t n_tiles = (n + tile - 1) / tile;
  const index_t chunk_tiles =
      std::clamp<index_t>(kChunkBytes / (stride * static_cast<index_t>(sizeof(T))), 1, n_tiles);
  auto packed = hwy::AllocateAligned<T>(static_cast<std::size_t>(chunk_tiles * stride));

  const auto mu = static_cast<std::size_t>(m), mk = static_cast<std::size_t>(m * k);
  std::vector<T> nearest(mu, std::numeric_limits<T>::infinity());
  std::vector<double> den(mu, 0.0), num(mk, 0.0);
  std::vector<double> tie_w(mu, 0.0), tie_y(mk, 0.0);
  std::atomic<index_t> isolated{0};

  Job<T> job;
  job.state = {nearest.data(), den.data(), num.data(), tie_w.data(), tie_y.data()};
  job.kernel = p.kernel;
  job.inv_h2 = p.inv_h2;
  job.z = Z.data();
  job.ldz = Z.ld();
  job.out = out.data();
  job.ldo = out.ld();
  job.isolated = &isolated;
  job.cancel = cancel;

  for (index_t t0 = 0; t0 < n_tiles; t0 += chunk_tiles) {
    throw_if_cancelled(cancel);
    const index_t t1 = std::min(n_tiles, t0 + chunk_tiles);
    const index_t first = t0 * tile, count = std::min(n, t1 * tile) - first;
    pack(p, keep, first, count, tile, stride, packed.get());
    job.tiles = {packed.get(), stride, tile, t1 - t0, count - (t1 - t0 - 1) * tile, d, k, weighted};
    job.finish = t1 == n_tiles;
    detail::parallel_blocks(n_threads, m, kGrain, [&](index_t begin, index_t end) {
      if (job.cancelled()) return;
      if constexpr (std::is_same_v<T, float>) {
        HWY_DYNAMIC_DISPATCH(FusedBlockF32)(job, begin, end);
      } else {
        HWY_DYNAMIC_DISPATCH(FusedBlockF64)(job, begin, end);
      }
    });
  }
  throw_if_cancelled(cancel);  // a block that saw the request left its queries unfinished
  return isolated.load();
}

template index_t predict_fused<float>(const Problem<float>&, MatrixView<const float>,
                                      MatrixView<float>, int, const CancelToken*);
template index_t predict_fused<double>(const Problem<double>&, MatrixView<const double>,
                                       MatrixView<double>, int, const CancelToken*);

}  // namespace kreg::nw
#endif  // HWY_ONCE
