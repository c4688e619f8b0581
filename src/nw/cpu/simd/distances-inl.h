// nw/cpu/simd/distances-inl.h - squared distances from a group of queries to
// one packed tile of training points (layout in nw/cpu/tiled.hpp), and the
// tile minimum without a query's own point (leave-one-out). Included once per
// SIMD target from a file that uses Highway's foreach_target.h; the toggle
// below is Highway's per-target include guard.
#if defined(KREG_NW_SIMD_DISTANCES_INL_H_) == defined(HWY_TARGET_TOGGLE)
#ifdef KREG_NW_SIMD_DISTANCES_INL_H_
#undef KREG_NW_SIMD_DISTANCES_INL_H_
#else
#define KREG_NW_SIMD_DISTANCES_INL_H_
#endif

#include <hwy/highway.h>

#include <limits>

#include "kreg/matrix.hpp"

HWY_BEFORE_NAMESPACE();
namespace kreg::nw::tiled {
namespace HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;
// The register blocks: rows of queries x vectors of training points. Each
// loaded vector of x serves every row of the block, each broadcast of z every
// vector. AVX-512 has 32 vector registers. Direct differences: 4 x 4 (16
// accumulators; the subs need registers too). The norm form: 8 x 2 where a
// group has 8 queries, measured at the FMA peak where 4 x 4 reached 80%
// (docs/benchmarks.md, "High d (784): GEMM-like blocking and auto's cost
// model"). Targets with 16 registers keep 4 x 2 for both.
constexpr int kGroup = 4;  // queries per group in the grid and leave-one-out kernels
constexpr int kWideGroup = HWY_TARGET <= HWY_AVX3 ? 8 : 4;  // one bandwidth, high d
constexpr int kVecs = HWY_TARGET <= HWY_AVX3 ? 4 : 2;
template <int G>
inline constexpr int kNormRows = (HWY_TARGET <= HWY_AVX3) && (G % 8 == 0) ? 8 : 4;
template <int G>
inline constexpr int kNormVecs = kNormRows<G> == 8 ? 2 : kVecs;

// x - z[0], z broadcast to every lane. On x86 with 512-bit vectors the
// broadcast is folded into the subtraction (AVX-512's embedded broadcast,
// which compilers do not emit for a value several subs share): a separate
// vbroadcast takes a slot of the vector adders on Zen 4, which the direct
// form's subs need, and held it to 81% of the FMA peak; folded, it runs at
// the peak (docs/benchmarks.md, as above). The same result bits either way.
template <class D, class T = hn::TFromD<D>>
HWY_INLINE hn::Vec<D> SubBroadcast(D d, hn::Vec<D> x, const T* HWY_RESTRICT z) {
#if HWY_ARCH_X86_64 && HWY_TARGET <= HWY_AVX3 && (HWY_COMPILER_GCC || HWY_COMPILER_CLANG)
  if constexpr (sizeof(hn::Vec<D>) == 64) {
    hn::Vec<D> r = x;
    if constexpr (sizeof(T) == 4) {
      asm("vsubps %1%{1to16%}, %2, %0" : "=v"(r.raw) : "m"(*z), "v"(x.raw));
    } else {
      asm("vsubpd %1%{1to8%}, %2, %0" : "=v"(r.raw) : "m"(*z), "v"(x.raw));
    }
    return r;
  }
#endif
  return hn::Sub(x, hn::Set(d, *z));
}

// kRows queries (z[r]: their coordinates, or -2 z for the norm form) against
// the `valid` points of one tile, into buf[r * tile + p], lanes past `valid`
// +inf; mn[r] takes the minimum. Direct differences (kNorm false): s = sum of
// (x - z)^2, a sub and an FMA per feature and lane. The norm form: s =
// ||x||^2 + ||z||^2 - 2 x.z, one FMA (xn: the tile's row of ||x||^2, zn[r]
// the query's ||z||^2). Either way a pair's sum runs over the features in
// order, so its bits do not depend on the block shape or on the other rows.
template <int kRows, int kV, bool kNorm, class D, class T = hn::TFromD<D>>
HWY_INLINE void DistanceRows(D d, const T* HWY_RESTRICT xt, const T* HWY_RESTRICT xn, index_t tile,
                             index_t dim, index_t valid, const T* const* z, const T* zn,
                             T* HWY_RESTRICT buf, hn::Vec<D>* mn) {
  using V = hn::Vec<D>;
  const auto L = static_cast<index_t>(hn::Lanes(d));
  const V inf = hn::Set(d, std::numeric_limits<T>::infinity());
  // The sum's start: 0, or ||x||^2 + ||z||^2 for the norm form.
  auto start = [&](index_t p, int r) {
    if constexpr (kNorm) {
      return hn::Add(hn::Load(d, xn + p), hn::Set(d, zn[r]));
    } else {
      return hn::Zero(d);
    }
  };

  index_t p = 0;
  for (; p + kV * L <= valid; p += kV * L) {
    V a[kRows][kV];
    for (int r = 0; r < kRows; ++r) {
      for (int v = 0; v < kV; ++v) a[r][v] = start(p + v * L, r);
    }
    const T* HWY_RESTRICT xp = xt + p;
    for (index_t f = 0; f < dim; ++f, xp += tile) {
      V x[kV];
      for (int v = 0; v < kV; ++v) x[v] = hn::Load(d, xp + v * L);
      for (int r = 0; r < kRows; ++r) {
        if constexpr (kNorm) {
          const V zr = hn::Set(d, z[r][f]);
          for (int v = 0; v < kV; ++v) a[r][v] = hn::MulAdd(x[v], zr, a[r][v]);
        } else {
          for (int v = 0; v < kV; ++v) {
            const V e = SubBroadcast(d, x[v], z[r] + f);
            a[r][v] = hn::MulAdd(e, e, a[r][v]);
          }
        }
      }
    }
    for (int r = 0; r < kRows; ++r) {
      for (int v = 0; v < kV; ++v) {
        hn::Store(a[r][v], d, buf + r * tile + p + v * L);
        mn[r] = hn::Min(mn[r], a[r][v]);
      }
    }
  }
  for (; p < valid; p += L) {  // the last tile's tail, one vector at a time
    V a[kRows];
    for (int r = 0; r < kRows; ++r) a[r] = start(p, r);
    const T* HWY_RESTRICT xp = xt + p;
    for (index_t f = 0; f < dim; ++f, xp += tile) {
      const V x = hn::Load(d, xp);
      for (int r = 0; r < kRows; ++r) {
        if constexpr (kNorm) {
          a[r] = hn::MulAdd(x, hn::Set(d, z[r][f]), a[r]);
        } else {
          const V e = SubBroadcast(d, x, z[r] + f);
          a[r] = hn::MulAdd(e, e, a[r]);
        }
      }
    }
    const auto inside = hn::FirstN(d, static_cast<std::size_t>(valid - p));
    for (int r = 0; r < kRows; ++r) {
      a[r] = hn::IfThenElse(inside, a[r], inf);
      hn::Store(a[r], d, buf + r * tile + p);
      mn[r] = hn::Min(mn[r], a[r]);
    }
  }
}

// s = ||x - z||^2 by direct differences from G queries z[r] to the `valid`
// points of one tile, into buf[r * tile + p]; lanes past `valid` get +inf.
// tmin[r] is the smallest s of query r over the tile.
template <int G, class D, class T = hn::TFromD<D>>
HWY_INLINE void Distances(D d, const T* HWY_RESTRICT xt, index_t tile, index_t dim, index_t valid,
                          const T* const* z, T* HWY_RESTRICT buf, T* tmin) {
  static_assert(G % kGroup == 0);
  hn::Vec<D> mn[G];
  for (int r = 0; r < G; ++r) mn[r] = hn::Set(d, std::numeric_limits<T>::infinity());
  for (int r = 0; r < G; r += kGroup) {
    DistanceRows<kGroup, kVecs, false>(d, xt, static_cast<const T*>(nullptr), tile, dim, valid,
                                       z + r, static_cast<const T*>(nullptr), buf + r * tile,
                                       mn + r);
  }
  for (int r = 0; r < G; ++r) tmin[r] = hn::GetLane(hn::MinOfLanes(d, mn[r]));
}

// s = ||x||^2 + ||z||^2 - 2 x.z (the norm form: one FMA per feature and
// lane, against a sub and an FMA above), for the same group, tile and
// outputs as Distances: xn is the tile's row of ||x||^2, zn[r] the query's
// ||z||^2 and zm2[r] the query's coordinates times -2 (exact). It cancels:
// its error grows with ||x||^2 + ||z||^2 rather than with s, so the driver
// takes it only for queries whose error bound the caller's tolerance allows
// (norm_form_fits in nw/cpu/tiled.hpp). A query's s are the same bits in any
// group, as with Distances.
template <int G, class D, class T = hn::TFromD<D>>
HWY_INLINE void NormDistances(D d, const T* HWY_RESTRICT xt, const T* HWY_RESTRICT xn, index_t tile,
                              index_t dim, index_t valid, const T* const* zm2, const T* zn,
                              T* HWY_RESTRICT buf, T* tmin) {
  constexpr int R = kNormRows<G>;
  static_assert(G % R == 0);
  hn::Vec<D> mn[G];
  for (int r = 0; r < G; ++r) mn[r] = hn::Set(d, std::numeric_limits<T>::infinity());
  for (int r = 0; r < G; r += R) {
    DistanceRows<R, kNormVecs<G>, true>(d, xt, xn, tile, dim, valid, zm2 + r, zn + r,
                                        buf + r * tile, mn + r);
  }
  for (int r = 0; r < G; ++r) tmin[r] = hn::GetLane(hn::MinOfLanes(d, mn[r]));
}

// A group's distances, each of its G queries by the form the driver chose
// for it (query_norms, nw/cpu/tiled.hpp): the norm form where its zn is a
// number and the tile has norms (xn not null), direct differences otherwise.
// A group of both kinds computes both and keeps each query's own: `spare`
// holds G rows like buf.
template <int G = kGroup, class D, class T = hn::TFromD<D>>
HWY_INLINE void GroupDistances(D d, const T* HWY_RESTRICT xt, const T* HWY_RESTRICT xn,
                               index_t tile, index_t dim, index_t valid, const T* const* z,
                               const T* const* zm2, const T* zn, T* HWY_RESTRICT buf,
                               T* HWY_RESTRICT spare, T* tmin) {
  int norm = 0;
  if (xn != nullptr) {
    for (int r = 0; r < G; ++r) norm += zn[r] == zn[r] ? 1 : 0;  // not NaN
  }
  if (norm == 0) {
    Distances<G>(d, xt, tile, dim, valid, z, buf, tmin);
    return;
  }
  if (norm == G) {
    NormDistances<G>(d, xt, xn, tile, dim, valid, zm2, zn, buf, tmin);
    return;
  }
  Distances<G>(d, xt, tile, dim, valid, z, buf, tmin);
  T tnorm[G];
  T zn0[G];
  for (int r = 0; r < G; ++r) zn0[r] = zn[r] == zn[r] ? zn[r] : T{0};
  NormDistances<G>(d, xt, xn, tile, dim, valid, zm2, zn0, spare, tnorm);
  for (int r = 0; r < G; ++r) {
    if (!(zn[r] == zn[r])) continue;
    T* HWY_RESTRICT dst = buf + r * tile;
    const T* HWY_RESTRICT src = spare + r * tile;
    for (index_t p = 0; p < valid; ++p) dst[p] = src[p];
    tmin[r] = tnorm[r];
  }
}

// Leave-one-out: sets lane `own` of one query's distances s (the query's own
// training point, skipped by index, never by distance, so that a duplicate
// point still counts) to +inf and returns the tile minimum without it. Four
// chains: the pass is as long as the tile, once per query.
template <class D, class T = hn::TFromD<D>>
HWY_INLINE T MinWithout(D d, T* HWY_RESTRICT s, index_t valid, index_t own) {
  using V = hn::Vec<D>;
  const auto L = static_cast<index_t>(hn::Lanes(d));
  constexpr T kInf = std::numeric_limits<T>::infinity();
  s[own] = kInf;
  V mn0 = hn::Set(d, kInf), mn1 = mn0, mn2 = mn0, mn3 = mn0;
  index_t p = 0;
  for (; p + 4 * L <= valid; p += 4 * L) {
    mn0 = hn::Min(mn0, hn::Load(d, s + p));
    mn1 = hn::Min(mn1, hn::Load(d, s + p + L));
    mn2 = hn::Min(mn2, hn::Load(d, s + p + 2 * L));
    mn3 = hn::Min(mn3, hn::Load(d, s + p + 3 * L));
  }
  for (; p < valid; p += L) mn0 = hn::Min(mn0, hn::Load(d, s + p));
  return hn::GetLane(hn::MinOfLanes(d, hn::Min(hn::Min(mn0, mn1), hn::Min(mn2, mn3))));
}

}  // namespace HWY_NAMESPACE
}  // namespace kreg::nw::tiled
HWY_AFTER_NAMESPACE();

#endif  // KREG_NW_SIMD_DISTANCES_INL_H_
