// nw/cpu/simd/exp2-inl.h - the Gaussian engines' exponentials: a fast 2^x for
// x <= 0 and e^-x by a short Taylor polynomial for small x. Included once per
// SIMD target from a file that uses Highway's foreach_target.h; the toggle
// below is Highway's per-target include guard.
#if defined(KREG_NW_SIMD_EXP2_INL_H_) == defined(HWY_TARGET_TOGGLE)
#ifdef KREG_NW_SIMD_EXP2_INL_H_
#undef KREG_NW_SIMD_EXP2_INL_H_
#else
#define KREG_NW_SIMD_EXP2_INL_H_
#endif

#include <hwy/highway.h>

#include <limits>

HWY_BEFORE_NAMESPACE();
namespace kreg::nw::tiled {
namespace HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;

// 2^r ~ 1 + r * (c[0] + r * (c[1] + ...)) on [-1/2, 1/2]: fits of
// (2^r - 1) / r weighted for relative error (near-minimax), relative error
// 2.9e-6 (float, degree 4) and 2.1e-12 (double, degree 8): 35 and 500 times
// below the engines' contract (1e-4 and 1e-9), at 4 and 8 FMAs. In float the
// squared distance's own rounding moves a weight more than that. (Why these
// degrees: docs/benchmarks.md, "Why the engine constants are what they are".)
template <class T>
struct Exp2Poly;
template <>
struct Exp2Poly<float> {
  static constexpr int kDegree = 4;
  static constexpr float kC[kDegree] = {0.6931241929408825f, 0.24024098612731717f,
                                        0.0559064275816124f, 0.009582854402103115f};
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

// e^(-t c) for t c in [0, x_max] by its Taylor polynomial of degree kDegree
// (Horner in y = -t c): no range reduction, so a wide bandwidth costs
// kDegree + 1 operations a vector instead of the full exponential's ~14.
// TaylorMax says which degree serves which x_max.
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

}  // namespace HWY_NAMESPACE
}  // namespace kreg::nw::tiled
HWY_AFTER_NAMESPACE();

#endif  // KREG_NW_SIMD_EXP2_INL_H_
