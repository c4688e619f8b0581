// nw/cpu/simd/weights-inl.h - the kernels' weights over one packed tile and
// their sums: the compact kernels' weight functions, the weights of one
// vector of lanes (masking the tail and an excluded lane), the tile sums of
// weight and weight * y, the list of vectors that hold near lanes, and the
// per-query running state's updates (the Gaussian's moving shift, the compact
// kernels' nearest points). Included once per SIMD target from a file that
// uses Highway's foreach_target.h; the toggle below is Highway's per-target
// include guard.
#if defined(KREG_NW_SIMD_WEIGHTS_INL_H_) == defined(HWY_TARGET_TOGGLE)
#ifdef KREG_NW_SIMD_WEIGHTS_INL_H_
#undef KREG_NW_SIMD_WEIGHTS_INL_H_
#else
#define KREG_NW_SIMD_WEIGHTS_INL_H_
#endif

#include <hwy/highway.h>

#include <cmath>
#include <cstddef>
#include <type_traits>

#include "kreg/matrix.hpp"

HWY_BEFORE_NAMESPACE();
namespace kreg::nw::tiled {
namespace HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;

// Compact kernels' weights of squared distances s, with u^2 = s * vih2; zero
// outside the support (epanechnikov, tricube: u >= 1; uniform: u > 1).
template <class D, class V = hn::Vec<D>>
HWY_INLINE V EpanechnikovWeight(D d, V s, V vih2) {  // 1 - u^2
  return hn::Max(hn::NegMulAdd(s, vih2, hn::Set(d, 1)), hn::Zero(d));
}
template <class D, class V = hn::Vec<D>>
HWY_INLINE V TricubeWeight(D d, V s, V vih2) {  // (1 - u^3)^3
  const V u2 = hn::Mul(s, vih2);
  const V c = hn::Max(hn::NegMulAdd(hn::Sqrt(u2), u2, hn::Set(d, 1)), hn::Zero(d));
  return hn::Mul(hn::Mul(c, c), c);
}
template <class D, class V = hn::Vec<D>>
HWY_INLINE V UniformWeight(D d, V s, V vih2) {  // 1
  const V one = hn::Set(d, 1);
  return hn::IfThenElseZero(hn::Le(hn::Mul(s, vih2), one), one);
}

// The weights of lanes [p, p + L): weight(t) times the sample weight when
// kWeighted; 0 past `valid` (checked when kTail: the vector may be the
// tile's last) and at lane `skip` (checked when kSkip; -1: none).
template <bool kWeighted, bool kSkip, bool kTail, class D, class WeightFn, class T = hn::TFromD<D>>
HWY_INLINE hn::Vec<D> WeightsAt(D d, const T* HWY_RESTRICT t, const T* HWY_RESTRICT sw, index_t p,
                                index_t valid, index_t skip, const WeightFn& weight) {
  const auto L = static_cast<index_t>(hn::Lanes(d));
  hn::Vec<D> w = weight(hn::Load(d, t + p));
  if constexpr (kWeighted) w = hn::Mul(w, hn::Load(d, sw + p));
  if constexpr (kTail) {
    if (p + L > valid) [[unlikely]] {
      w = hn::IfThenElseZero(hn::FirstN(d, static_cast<std::size_t>(valid - p)), w);
    }
  }
  if constexpr (kSkip) {
    if (skip >= p && skip < p + L) [[unlikely]] {
      w = hn::IfThenZeroElse(
          hn::Eq(hn::Iota(d, static_cast<T>(p)), hn::Set(d, static_cast<T>(skip))), w);
    }
  }
  return w;
}

// One tile's targets and sample weights as the sums read them.
template <class T>
struct TileTargets {
  const T* y = nullptr;   // y[c * tile + p], c < k
  const T* sw = nullptr;  // sample weights, or null
  index_t valid = 0;      // points in the tile
  index_t tile = 0;       // points per row of the tile
  index_t k = 0;
};

// The vectors a tile sum runs over: every vector that holds one of the
// tile's `valid` points...
struct EveryVector {
  static constexpr bool kListed = false;
  index_t full = 0;   // vectors wholly inside `valid`
  index_t count = 0;  // and with the tile's last, partial one
};
// ... or those listed by lane offset (NearVectors), any of which may be the
// partial one.
struct ListedVectors {
  static constexpr bool kListed = true;
  const index_t* offsets = nullptr;
  index_t count = 0;
};

template <class D>
HWY_INLINE EveryVector AllVectors(D d, index_t valid) {
  const auto L = static_cast<index_t>(hn::Lanes(d));
  return {valid / L, (valid + L - 1) / L};
}

// The lane offset of the i-th vector of `vectors` (L lanes a vector: a
// compile-time constant on fixed-width targets, so that every-vector loops
// keep constant strides).
template <class Vectors>
HWY_INLINE index_t VectorOffset(const Vectors& vectors, index_t i, index_t L) {
  if constexpr (Vectors::kListed) {
    return vectors.offsets[i];
  } else {
    return i * L;
  }
}

// sums[0] = sum_p w_p and sums[1 + c] = sum_p w_p y[c][p] over the lanes of
// `vectors`, w_p = weight(t_p) times the sample weight (WeightsAt). One
// output: C chains over whole groups of C vectors, the rest into the first.
// More: the weights go through wbuf (one tile's lanes), then one pass per
// output. The order of operations depends on the tile alone, never on the
// block or thread.
template <bool kWeighted, bool kSkip, class D, class Vectors, class WeightFn,
          class T = hn::TFromD<D>>
HWY_INLINE void TileSums(D d, const T* HWY_RESTRICT t, const Vectors& vectors, index_t skip,
                         const TileTargets<T>& tt, T* HWY_RESTRICT wbuf, const WeightFn& weight,
                         T* sums) {
  using V = hn::Vec<D>;
  constexpr bool kListed = Vectors::kListed;
  const auto L = static_cast<index_t>(hn::Lanes(d));
  const T* HWY_RESTRICT y = tt.y;
  const T* HWY_RESTRICT sw = tt.sw;
  const index_t n = vectors.count, valid = tt.valid;
  if (tt.k == 1) {
    index_t pairs = n;
    if constexpr (!kListed) pairs = vectors.full;
    // C vectors' weights at a time, each with its own sums: more
    // independent exponentials in the scheduler's window (the exponential's
    // chain is long). 32 registers hold four; 16, two.
    constexpr index_t C = HWY_TARGET <= HWY_AVX3 ? 4 : 2;
    V den[C], num[C];
    for (index_t c = 0; c < C; ++c) den[c] = num[c] = hn::Zero(d);
    index_t i = 0;
    for (; i + C <= pairs; i += C) {
      V w[C];
      for (index_t c = 0; c < C; ++c) {
        w[c] = WeightsAt<kWeighted, kSkip, kListed>(d, t, sw, VectorOffset(vectors, i + c, L),
                                                    valid, skip, weight);
      }
      for (index_t c = 0; c < C; ++c) {
        den[c] = hn::Add(den[c], w[c]);
        num[c] = hn::MulAdd(w[c], hn::Load(d, y + VectorOffset(vectors, i + c, L)), num[c]);
      }
    }
    for (; i < n; ++i) {
      const index_t p = VectorOffset(vectors, i, L);
      const V w = WeightsAt<kWeighted, kSkip, true>(d, t, sw, p, valid, skip, weight);
      den[0] = hn::Add(den[0], w);
      num[0] = hn::MulAdd(w, hn::Load(d, y + p), num[0]);
    }
    for (index_t c = 1; c < C; ++c) {
      den[0] = hn::Add(den[0], den[c]);
      num[0] = hn::Add(num[0], num[c]);
    }
    sums[0] = hn::GetLane(hn::SumOfLanes(d, den[0]));
    sums[1] = hn::GetLane(hn::SumOfLanes(d, num[0]));
    return;
  }
  V den = hn::Zero(d);
  for (index_t i = 0; i < n; ++i) {
    const V w = WeightsAt<kWeighted, kSkip, true>(d, t, sw, VectorOffset(vectors, i, L), valid,
                                                  skip, weight);
    hn::Store(w, d, wbuf + i * L);
    den = hn::Add(den, w);
  }
  sums[0] = hn::GetLane(hn::SumOfLanes(d, den));
  // G outputs at a time: G independent chains (one output's chain alone
  // waits on the FMA's latency), each still summed over the vectors in order,
  // so the bits are those of one output at a time.
  const auto outputs = [&](auto group, index_t c) {
    constexpr index_t G = decltype(group)::value;
    V num[G];
    for (index_t g = 0; g < G; ++g) num[g] = hn::Zero(d);
    const T* HWY_RESTRICT yc = y + c * tt.tile;
    for (index_t i = 0; i < n; ++i) {
      const V w = hn::Load(d, wbuf + i * L);
      const index_t p = VectorOffset(vectors, i, L);
      for (index_t g = 0; g < G; ++g)
        num[g] = hn::MulAdd(w, hn::Load(d, yc + g * tt.tile + p), num[g]);
    }
    for (index_t g = 0; g < G; ++g) sums[1 + c + g] = hn::GetLane(hn::SumOfLanes(d, num[g]));
  };
  index_t c = 0;
  for (; c + 8 <= tt.k; c += 8) outputs(std::integral_constant<index_t, 8>(), c);
  if (c + 4 <= tt.k) {
    outputs(std::integral_constant<index_t, 4>(), c);
    c += 4;
  }
  for (; c < tt.k; ++c) outputs(std::integral_constant<index_t, 1>(), c);
}

// TileSums with kWeighted chosen by whether the tile has sample weights.
template <bool kSkip, class D, class Vectors, class WeightFn, class T = hn::TFromD<D>>
HWY_INLINE void SumTile(D d, const T* HWY_RESTRICT t, const Vectors& vectors, index_t skip,
                        const TileTargets<T>& tt, T* HWY_RESTRICT wbuf, const WeightFn& weight,
                        T* sums) {
  if (tt.sw != nullptr) {
    TileSums<true, kSkip>(d, t, vectors, skip, tt, wbuf, weight, sums);
  } else {
    TileSums<false, kSkip>(d, t, vectors, skip, tt, wbuf, weight, sums);
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

// The Gaussian's shift moves down by `gap` (> 0) to a nearer point: each of
// the B bandwidths' running sums (den[b], num[b * k + c]) that holds anything
// is rescaled by e^(-gap inv_h2[b] / 2). A gap of +inf (every distance so far
// overflowed) zeroes them.
inline void MoveShift(double gap, const double* inv_h2, index_t B, index_t k, double* den,
                      double* num) {
  for (index_t b = 0; b < B; ++b) {
    if (!(den[b] > 0)) continue;
    const double scale = std::exp(-0.5 * inv_h2[b] * gap);
    den[b] *= scale;
    for (index_t c = 0; c < k; ++c) num[b * k + c] *= scale;
  }
}

// Compact kernels: the nearest point(s) so far, for queries with nothing
// inside the support (they get the mean y of those points). s: the query's
// distances over the tile, tmin their smallest; lane `skip` never counts.
template <class T>
HWY_INLINE void TrackNearest(const T* s, T tmin, index_t skip, const TileTargets<T>& tt, T& nearest,
                             double& tie_w, double* tie_y) {
  if (!(tmin <= nearest)) return;
  if (tmin < nearest) {
    nearest = tmin;
    tie_w = 0;
    for (index_t c = 0; c < tt.k; ++c) tie_y[c] = 0;
  }
  for (index_t p = 0; p < tt.valid; ++p) {
    if (s[p] != nearest || p == skip) continue;
    const double wp = tt.sw != nullptr ? static_cast<double>(tt.sw[p]) : 1.0;
    tie_w += wp;
    for (index_t c = 0; c < tt.k; ++c) tie_y[c] += wp * tt.y[c * tt.tile + p];
  }
}

}  // namespace HWY_NAMESPACE
}  // namespace kreg::nw::tiled
HWY_AFTER_NAMESPACE();

#endif  // KREG_NW_SIMD_WEIGHTS_INL_H_
