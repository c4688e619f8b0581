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
// The register block: kGroup queries x kVecs vectors of training points. Each
// loaded vector of x serves the whole group, each broadcast of z kVecs
// vectors. AVX-512 has 32 vector registers: 16 accumulators fit; targets
// with 16 registers keep 8.
constexpr int kGroup = 4;
constexpr int kVecs = HWY_TARGET <= HWY_AVX3 ? 4 : 2;
// The norm form's block: the same shape.
constexpr int kNormVecs = kVecs;

// s = ||x - z||^2 by direct differences (a sub and an FMA per feature and
// lane) from kGroup queries z[r] to the `valid` points of one tile, into
// buf[r * tile + p]; lanes past `valid` get +inf. tmin[r] is the smallest s
// of query r over the tile.
template <class D, class T = hn::TFromD<D>>
HWY_INLINE void Distances(D d, const T* HWY_RESTRICT xt, index_t tile, index_t dim, index_t valid,
                          const T* const* z, T* HWY_RESTRICT buf, T* tmin) {
  using V = hn::Vec<D>;
  const auto L = static_cast<index_t>(hn::Lanes(d));
  const V inf = hn::Set(d, std::numeric_limits<T>::infinity());
  V mn[kGroup];
  for (int r = 0; r < kGroup; ++r) mn[r] = inf;
  index_t p = 0;
  for (; p + kVecs * L <= valid; p += kVecs * L) {
    V a[kGroup][kVecs];
    for (int r = 0; r < kGroup; ++r) {
      for (int v = 0; v < kVecs; ++v) a[r][v] = hn::Zero(d);
    }
    const T* HWY_RESTRICT xp = xt + p;
    for (index_t f = 0; f < dim; ++f, xp += tile) {
      V x[kVecs];
      for (int v = 0; v < kVecs; ++v) x[v] = hn::Load(d, xp + v * L);
      for (int r = 0; r < kGroup; ++r) {
        const V zr = hn::Set(d, z[r][f]);
        for (int v = 0; v < kVecs; ++v) {
          const V e = hn::Sub(x[v], zr);
          a[r][v] = hn::MulAdd(e, e, a[r][v]);
        }
      }
    }
    for (int r = 0; r < kGroup; ++r) {
      for (int v = 0; v < kVecs; ++v) {
        hn::Store(a[r][v], d, buf + r * tile + p + v * L);
        mn[r] = hn::Min(mn[r], a[r][v]);
      }
    }
  }
  for (; p < valid; p += L) {  // the last tile's tail, one vector at a time
    V a[kGroup];
    for (int r = 0; r < kGroup; ++r) a[r] = hn::Zero(d);
    const T* HWY_RESTRICT xp = xt + p;
    for (index_t f = 0; f < dim; ++f, xp += tile) {
      const V x = hn::Load(d, xp);
      for (int r = 0; r < kGroup; ++r) {
        const V e = hn::Sub(x, hn::Set(d, z[r][f]));
        a[r] = hn::MulAdd(e, e, a[r]);
      }
    }
    const auto inside = hn::FirstN(d, static_cast<std::size_t>(valid - p));
    for (int r = 0; r < kGroup; ++r) {
      a[r] = hn::IfThenElse(inside, a[r], inf);
      hn::Store(a[r], d, buf + r * tile + p);
      mn[r] = hn::Min(mn[r], a[r]);
    }
  }
  for (int r = 0; r < kGroup; ++r) tmin[r] = hn::GetLane(hn::MinOfLanes(d, mn[r]));
}

// s = ||x||^2 + ||z||^2 - 2 x.z (the norm form: one FMA per feature and
// lane, against a sub and an FMA above), for the same group, tile and
// outputs as Distances: xn is the tile's row of ||x||^2, zn[r] the query's
// ||z||^2 and zm2[r] the query's coordinates times -2 (exact). It cancels:
// its error grows with ||x||^2 + ||z||^2 rather than with s, so the driver
// takes it only for queries whose error bound the caller's tolerance allows
// (NormFormBound in nw/cpu/tiled.hpp). A query's s are the same bits in any
// group, as with Distances.
template <class D, class T = hn::TFromD<D>>
HWY_INLINE void NormDistances(D d, const T* HWY_RESTRICT xt, const T* HWY_RESTRICT xn, index_t tile,
                              index_t dim, index_t valid, const T* const* zm2, const T* zn,
                              T* HWY_RESTRICT buf, T* tmin) {
  using V = hn::Vec<D>;
  const auto L = static_cast<index_t>(hn::Lanes(d));
  const V inf = hn::Set(d, std::numeric_limits<T>::infinity());
  V mn[kGroup];
  for (int r = 0; r < kGroup; ++r) mn[r] = inf;
  index_t p = 0;
  for (; p + kNormVecs * L <= valid; p += kNormVecs * L) {
    V a[kGroup][kNormVecs];
    for (int v = 0; v < kNormVecs; ++v) {
      const V n = hn::Load(d, xn + p + v * L);
      for (int r = 0; r < kGroup; ++r) a[r][v] = hn::Add(n, hn::Set(d, zn[r]));
    }
    const T* HWY_RESTRICT xp = xt + p;
    for (index_t f = 0; f < dim; ++f, xp += tile) {
      V x[kNormVecs];
      for (int v = 0; v < kNormVecs; ++v) x[v] = hn::Load(d, xp + v * L);
      for (int r = 0; r < kGroup; ++r) {
        const V zr = hn::Set(d, zm2[r][f]);
        for (int v = 0; v < kNormVecs; ++v) a[r][v] = hn::MulAdd(x[v], zr, a[r][v]);
      }
    }
    for (int r = 0; r < kGroup; ++r) {
      for (int v = 0; v < kNormVecs; ++v) {
        hn::Store(a[r][v], d, buf + r * tile + p + v * L);
        mn[r] = hn::Min(mn[r], a[r][v]);
      }
    }
  }
  for (; p < valid; p += L) {  // the last tile's tail, one vector at a time
    V a[kGroup];
    const V n = hn::Load(d, xn + p);
    for (int r = 0; r < kGroup; ++r) a[r] = hn::Add(n, hn::Set(d, zn[r]));
    const T* HWY_RESTRICT xp = xt + p;
    for (index_t f = 0; f < dim; ++f, xp += tile) {
      const V x = hn::Load(d, xp);
      for (int r = 0; r < kGroup; ++r) a[r] = hn::MulAdd(x, hn::Set(d, zm2[r][f]), a[r]);
    }
    const auto inside = hn::FirstN(d, static_cast<std::size_t>(valid - p));
    for (int r = 0; r < kGroup; ++r) {
      a[r] = hn::IfThenElse(inside, a[r], inf);
      hn::Store(a[r], d, buf + r * tile + p);
      mn[r] = hn::Min(mn[r], a[r]);
    }
  }
  for (int r = 0; r < kGroup; ++r) tmin[r] = hn::GetLane(hn::MinOfLanes(d, mn[r]));
}

// A group's distances, each query by the form the driver chose for it
// (GroupQueries, nw/cpu/tiled.hpp): the norm form where its zn is a number
// and the tile has norms (xn not null), direct differences otherwise. A
// group of both kinds computes both and keeps each query's own: `spare`
// holds kGroup rows like buf.
template <class D, class T = hn::TFromD<D>>
HWY_INLINE void GroupDistances(D d, const T* HWY_RESTRICT xt, const T* HWY_RESTRICT xn,
                               index_t tile, index_t dim, index_t valid, const T* const* z,
                               const T* const* zm2, const T* zn, T* HWY_RESTRICT buf,
                               T* HWY_RESTRICT spare, T* tmin) {
  int norm = 0;
  if (xn != nullptr) {
    for (int r = 0; r < kGroup; ++r) norm += zn[r] == zn[r] ? 1 : 0;  // not NaN
  }
  if (norm == 0) {
    Distances(d, xt, tile, dim, valid, z, buf, tmin);
    return;
  }
  if (norm == kGroup) {
    NormDistances(d, xt, xn, tile, dim, valid, zm2, zn, buf, tmin);
    return;
  }
  Distances(d, xt, tile, dim, valid, z, buf, tmin);
  T tnorm[kGroup];
  T zn0[kGroup];
  for (int r = 0; r < kGroup; ++r) zn0[r] = zn[r] == zn[r] ? zn[r] : T{0};
  NormDistances(d, xt, xn, tile, dim, valid, zm2, zn0, spare, tnorm);
  for (int r = 0; r < kGroup; ++r) {
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
