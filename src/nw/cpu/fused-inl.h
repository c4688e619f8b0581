// nw/cpu/fused-inl.h - SIMD building blocks shared by the fused engine
// (nw/cpu/fused.cpp) and the many-bandwidth engine (nw/cpu/grid.cpp): the register-
// blocked distance pass and a fast 2^x for x <= 0. Included once per SIMD
// target from a file that uses Highway's foreach_target.h; the toggle below
// is Highway's per-target include guard.
#if defined(KREG_NW_FUSED_INL_H_) == defined(HWY_TARGET_TOGGLE)
#ifdef KREG_NW_FUSED_INL_H_
#undef KREG_NW_FUSED_INL_H_
#else
#define KREG_NW_FUSED_INL_H_
#endif

#include <hwy/highway.h>

#include <limits>

#include "kreg/matrix.hpp"

HWY_BEFORE_NAMESPACE();
namespace kreg::nw::fused {
namespace HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;
// Pass 1's register block: kGroup queries x kVecs vectors of training points.
constexpr int kGroup = 4;
constexpr int kVecs = 2;

// 2^r ~ 1 + r * (c[0] + r * (c[1] + ...)) on [-1/2, 1/2]: Chebyshev fits of
// (2^r - 1) / r (near-minimax), relative error 2.0e-7 (float, degree 5) and
// 2.1e-12 (double, degree 8): 500 times below the engines' contract (1e-4
// and 1e-9), at 5 and 8 FMAs. Degree 10 would give 6e-16 for double at 8%
// more time on the tutorial's workload.
template <class T>
struct Exp2Poly;
template <>
struct Exp2Poly<float> {
  static constexpr int kDegree = 5;
  static constexpr float kC[kDegree] = {0.693147180559945309f, 0.240223490380203614f,
                                        0.0555038101379645743f, 0.00966636851538544831f,
                                        0.00133813025373207962f};
  static constexpr float kMagic = 12582912.0f;  // 1.5 * 2^23: rounds to an integer
  static constexpr int kMantissaBits = 23;
};
template <>
struct Exp2Poly<double> {
  static constexpr int kDegree = 8;
  static constexpr double kC[kDegree] = {0.6931471805568324135,     0.2402265069588850213,
                                         0.0555041090632586661,     0.009618129135236139736,
                                         0.001333347847368541528,   0.0001540347518653078585,
                                         0.00001530370071136569394, 0.000001325080551750224938886};
  static constexpr double kMagic = 6755399441055744.0;  // 1.5 * 2^52
  static constexpr int kMantissaBits = 52;
};

// 2^(t * a) for t * a in [-kMinExp2 - 1, 0]: n = round(t * a) goes straight
// into the exponent bits, the remainder r = t * a - n (exact, by FMA) into the
// polynomial. No special cases: the caller clamps t.
template <class D, class V = hn::Vec<D>>
HWY_INLINE V Exp2Scaled(D d, V t, V a) {
  using T = hn::TFromD<D>;
  using P = Exp2Poly<T>;
  const hn::RebindToSigned<D> di;
  const V magic = hn::Set(d, P::kMagic);
  const V k = hn::MulAdd(t, a, magic);  // magic + n: n in the low mantissa bits
  const V n = hn::Sub(k, magic);
  const V r = hn::MulSub(t, a, n);
  V q = hn::Set(d, P::kC[P::kDegree - 1]);
  for (int i = P::kDegree - 2; i >= 0; --i) q = hn::MulAdd(q, r, hn::Set(d, P::kC[i]));
  const V p = hn::MulAdd(q, r, hn::Set(d, T{1}));
  const auto e = hn::ShiftLeft<P::kMantissaBits>(hn::BitCast(di, k));  // n << mantissa bits
  return hn::BitCast(d, hn::Add(hn::BitCast(di, p), e));
}

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

// Pass 1: s = ||x - z||^2 from kGroup queries to the `valid` points of one
// tile, into buf[r * tile + p]; lanes past `valid` get +inf. tmin[r] is the
// smallest s of query r over the tile.
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

}  // namespace HWY_NAMESPACE
}  // namespace kreg::nw::fused
HWY_AFTER_NAMESPACE();

#endif  // KREG_NW_FUSED_INL_H_
