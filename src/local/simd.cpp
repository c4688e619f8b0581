// local/simd.cpp - the kernel regression engine's passes over the training
// points, vectorised once per SIMD target (Highway's foreach_target.h):
// log-weights of Gaussian and discrete columns, their maximum, the shifted
// exponential (the NW engines' polynomial, relative error 2.1e-12), and the
// (centred) weighted sums.
//
// Arrays are padded to a multiple of kPad doubles (local/simd.hpp), so every
// loop runs whole vectors, four at a time; padding carries log-weight -inf,
// hence weight 0, and contributes exact zeros. Sums use four vector
// accumulators reduced in a fixed order: the same bits on every thread (they
// may differ between SIMD targets in the last bits).
#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "local/simd.cpp"
#include <hwy/foreach_target.h>  // IWYU pragma: keep
// foreach_target.h must come first.
#include <hwy/highway.h>

#include <cmath>

#include "local/simd.hpp"
#include "nw/cpu/simd/exp2-inl.h"

HWY_BEFORE_NAMESPACE();
namespace kreg::local {
namespace HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;
using D = hn::ScalableTag<double>;
using V = hn::Vec<D>;

// e^t for t in [-708, 0]: the NW engines' 2^x (nw/cpu/simd/exp2-inl.h,
// relative error 2.1e-12) at x = t log2(e).
HWY_INLINE V ExpNonPositive(D d, V t) {
  return kreg::nw::tiled::HWY_NAMESPACE::Exp2Scaled(d, t, hn::Set(d, 1.4426950408889634));
}

// Four accumulators: (a0 + a1) + (a2 + a3), then the lanes.
HWY_INLINE double Reduce(D d, V a0, V a1, V a2, V a3) {
  return hn::GetLane(hn::SumOfLanes(d, hn::Add(hn::Add(a0, a1), hn::Add(a2, a3))));
}

void AddGaussian(const double* x, double z, double a, double* logw, index_t n) {
  const D d;
  const index_t N = static_cast<index_t>(hn::Lanes(d));
  const V vz = hn::Set(d, z), va = hn::Set(d, a);
  for (index_t j = 0; j < n; j += N) {
    const V t = hn::Sub(hn::LoadU(d, x + j), vz);
    hn::StoreU(hn::MulAdd(hn::Mul(va, t), t, hn::LoadU(d, logw + j)), d, logw + j);
  }
}

void AddDiscrete(const double* x, double z, double eq, double ne, double log_lambda, bool power,
                 double* logw, index_t n) {
  const D d;
  const index_t N = static_cast<index_t>(hn::Lanes(d));
  const V vz = hn::Set(d, z), veq = hn::Set(d, eq), vne = hn::Set(d, ne),
          vl = hn::Set(d, log_lambda);
  for (index_t j = 0; j < n; j += N) {
    const V xv = hn::LoadU(d, x + j);
    const auto same = hn::Eq(xv, vz);
    // Unequal levels: ne (+ |dx| log lambda for the power kernels); the
    // multiply only where unequal, so lambda = 0 (log -inf) never meets 0.
    V other = vne;
    if (power) other = hn::MulAdd(hn::Abs(hn::Sub(xv, vz)), vl, vne);
    hn::StoreU(hn::Add(hn::LoadU(d, logw + j), hn::IfThenElse(same, veq, other)), d, logw + j);
  }
}

double MaxOf(const double* v, index_t n) {
  const D d;
  const index_t N = static_cast<index_t>(hn::Lanes(d));
  V m = hn::Set(d, -HUGE_VAL);
  for (index_t j = 0; j < n; j += N) m = hn::Max(m, hn::LoadU(d, v + j));
  return hn::GetLane(hn::MaxOfLanes(d, m));
}

double Dot(const double* a, const double* b, index_t n) {
  const D d;
  const index_t N = static_cast<index_t>(hn::Lanes(d));
  V s0 = hn::Zero(d), s1 = s0, s2 = s0, s3 = s0;
  for (index_t j = 0; j < n; j += 4 * N) {
    s0 = hn::MulAdd(hn::LoadU(d, a + j), hn::LoadU(d, b + j), s0);
    s1 = hn::MulAdd(hn::LoadU(d, a + j + N), hn::LoadU(d, b + j + N), s1);
    s2 = hn::MulAdd(hn::LoadU(d, a + j + 2 * N), hn::LoadU(d, b + j + 2 * N), s2);
    s3 = hn::MulAdd(hn::LoadU(d, a + j + 3 * N), hn::LoadU(d, b + j + 3 * N), s3);
  }
  return Reduce(d, s0, s1, s2, s3);
}

double CentredDot(const double* w, const double* a, double ca, const double* b, double cb,
                  index_t n) {
  const D d;
  const index_t N = static_cast<index_t>(hn::Lanes(d));
  const V va = hn::Set(d, ca), vb = hn::Set(d, cb);
  V s[4] = {hn::Zero(d), hn::Zero(d), hn::Zero(d), hn::Zero(d)};
  for (index_t j = 0; j < n; j += 4 * N) {
    for (index_t k = 0; k < 4; ++k) {
      const index_t o = j + k * N;
      const V wa = hn::Mul(hn::LoadU(d, w + o), hn::Sub(hn::LoadU(d, a + o), va));
      s[k] = hn::MulAdd(wa, hn::Sub(hn::LoadU(d, b + o), vb), s[k]);
    }
  }
  return Reduce(d, s[0], s[1], s[2], s[3]);
}

// Fused pass 2: w = exp(logw - shift) stored, and out = (sum w, sum w y,
// sum w x_0, ..., sum w x_{K-1}), one accumulator each.
template <int K>
void ExpSumsK(const double* logw, double shift, double* w, const double* y, const double* cols,
              index_t np, double* out) {
  const D d;
  const index_t N = static_cast<index_t>(hn::Lanes(d));
  const V vshift = hn::Set(d, shift), floor = hn::Set(d, -708.0);
  V sw = hn::Zero(d), sy = sw;
  V sx[K > 0 ? K : 1];
  for (int a = 0; a < K; ++a) sx[a] = hn::Zero(d);
  for (index_t j = 0; j < np; j += N) {
    const V t = hn::Sub(hn::LoadU(d, logw + j), vshift);
    const V wv = hn::IfThenZeroElse(hn::Lt(t, floor), ExpNonPositive(d, hn::Max(t, floor)));
    hn::StoreU(wv, d, w + j);
    sw = hn::Add(sw, wv);
    sy = hn::MulAdd(wv, hn::LoadU(d, y + j), sy);
    for (int a = 0; a < K; ++a) sx[a] = hn::MulAdd(wv, hn::LoadU(d, cols + a * np + j), sx[a]);
  }
  out[0] = hn::GetLane(hn::SumOfLanes(d, sw));
  out[1] = hn::GetLane(hn::SumOfLanes(d, sy));
  for (int a = 0; a < K; ++a) out[2 + a] = hn::GetLane(hn::SumOfLanes(d, sx[a]));
}

// Fused pass 3 (ll): the centred weighted scatter, upper triangle S[a * K + b]
// (b >= a), and C[a] = sum w (x_a - xbar_a)(y - ybar), one accumulator each.
template <int K>
void CentredMomentsK(const double* w, const double* cols, index_t np, const double* xbar,
                     const double* y, double ybar, double* S, double* C) {
  const D d;
  const index_t N = static_cast<index_t>(hn::Lanes(d));
  constexpr int kPairs = K * (K + 1) / 2;
  V acc[kPairs], accy[K], mean[K];
  for (int k = 0; k < kPairs; ++k) acc[k] = hn::Zero(d);
  for (int a = 0; a < K; ++a) {
    accy[a] = hn::Zero(d);
    mean[a] = hn::Set(d, xbar[a]);
  }
  const V vy = hn::Set(d, ybar);
  for (index_t j = 0; j < np; j += N) {
    const V wv = hn::LoadU(d, w + j);
    const V yc = hn::Sub(hn::LoadU(d, y + j), vy);
    V c[K];
    for (int a = 0; a < K; ++a) c[a] = hn::Sub(hn::LoadU(d, cols + a * np + j), mean[a]);
    int k = 0;
    for (int a = 0; a < K; ++a) {
      const V wa = hn::Mul(wv, c[a]);
      for (int b = a; b < K; ++b, ++k) acc[k] = hn::MulAdd(wa, c[b], acc[k]);
      accy[a] = hn::MulAdd(wa, yc, accy[a]);
    }
  }
  int k = 0;
  for (int a = 0; a < K; ++a) {
    for (int b = a; b < K; ++b, ++k) S[a * K + b] = hn::GetLane(hn::SumOfLanes(d, acc[k]));
    C[a] = hn::GetLane(hn::SumOfLanes(d, accy[a]));
  }
}

// Runtime K in [0, kMaxFused] to the templates above.
void ExpSums(const double* logw, double shift, double* w, const double* y, const double* cols,
             index_t np, index_t k, double* out) {
  switch (k) {
    case 0:
      return ExpSumsK<0>(logw, shift, w, y, cols, np, out);
    case 1:
      return ExpSumsK<1>(logw, shift, w, y, cols, np, out);
    case 2:
      return ExpSumsK<2>(logw, shift, w, y, cols, np, out);
    case 3:
      return ExpSumsK<3>(logw, shift, w, y, cols, np, out);
    case 4:
      return ExpSumsK<4>(logw, shift, w, y, cols, np, out);
    case 5:
      return ExpSumsK<5>(logw, shift, w, y, cols, np, out);
    case 6:
      return ExpSumsK<6>(logw, shift, w, y, cols, np, out);
    default:
      return ExpSumsK<7>(logw, shift, w, y, cols, np, out);
  }
}

void CentredMoments(const double* w, const double* cols, index_t np, index_t k, const double* xbar,
                    const double* y, double ybar, double* S, double* C) {
  switch (k) {
    case 1:
      return CentredMomentsK<1>(w, cols, np, xbar, y, ybar, S, C);
    case 2:
      return CentredMomentsK<2>(w, cols, np, xbar, y, ybar, S, C);
    case 3:
      return CentredMomentsK<3>(w, cols, np, xbar, y, ybar, S, C);
    case 4:
      return CentredMomentsK<4>(w, cols, np, xbar, y, ybar, S, C);
    case 5:
      return CentredMomentsK<5>(w, cols, np, xbar, y, ybar, S, C);
    case 6:
      return CentredMomentsK<6>(w, cols, np, xbar, y, ybar, S, C);
    default:
      return CentredMomentsK<7>(w, cols, np, xbar, y, ybar, S, C);
  }
}

// Fused pass 1 for K Gaussian columns: logw = sum_a c_a (x_a - z_a)^2 (c_a =
// -1 / (2 h_a^2)), stored, and its maximum.
template <int K>
double GaussianLogWeightsK(const double* cols, index_t n, index_t np, const double* z,
                           const double* c, index_t exclude, double* logw) {
  const D d;
  const index_t N = static_cast<index_t>(hn::Lanes(d));
  V vz[K], vc[K];
  for (int a = 0; a < K; ++a) {
    vz[a] = hn::Set(d, z[a]);
    vc[a] = hn::Set(d, c[a]);
  }
  V m = hn::Set(d, -HUGE_VAL);
  for (index_t j = 0; j < np; j += N) {
    V acc = hn::Zero(d);
    for (int a = 0; a < K; ++a) {
      const V t = hn::Sub(hn::LoadU(d, cols + a * np + j), vz[a]);
      acc = hn::MulAdd(hn::Mul(vc[a], t), t, acc);
    }
    if (j + N > n) {  // the padding: weight 0
      acc = hn::IfThenElse(hn::FirstN(d, static_cast<size_t>(n > j ? n - j : 0)), acc,
                           hn::Set(d, -HUGE_VAL));
    }
    hn::StoreU(acc, d, logw + j);
    if (exclude >= j && exclude < j + N) {  // leave-one-out: weight 0
      logw[exclude] = -HUGE_VAL;
      acc = hn::LoadU(d, logw + j);
    }
    m = hn::Max(m, acc);
  }
  return hn::GetLane(hn::MaxOfLanes(d, m));
}

double GaussianLogWeights(const double* cols, index_t n, index_t np, index_t k, const double* z,
                          const double* c, index_t exclude, double* logw) {
  switch (k) {
    case 1:
      return GaussianLogWeightsK<1>(cols, n, np, z, c, exclude, logw);
    case 2:
      return GaussianLogWeightsK<2>(cols, n, np, z, c, exclude, logw);
    case 3:
      return GaussianLogWeightsK<3>(cols, n, np, z, c, exclude, logw);
    case 4:
      return GaussianLogWeightsK<4>(cols, n, np, z, c, exclude, logw);
    case 5:
      return GaussianLogWeightsK<5>(cols, n, np, z, c, exclude, logw);
    case 6:
      return GaussianLogWeightsK<6>(cols, n, np, z, c, exclude, logw);
    default:
      return GaussianLogWeightsK<7>(cols, n, np, z, c, exclude, logw);
  }
}

}  // namespace HWY_NAMESPACE
}  // namespace kreg::local
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
namespace kreg::local {
HWY_EXPORT(AddGaussian);
HWY_EXPORT(AddDiscrete);
HWY_EXPORT(MaxOf);
HWY_EXPORT(Dot);
HWY_EXPORT(CentredDot);
HWY_EXPORT(ExpSums);
HWY_EXPORT(CentredMoments);
HWY_EXPORT(GaussianLogWeights);

void add_gaussian(const double* x, double z, double a, double* logw, index_t n) {
  HWY_DYNAMIC_DISPATCH(AddGaussian)(x, z, a, logw, n);
}
void add_discrete(const double* x, double z, double eq, double ne, double log_lambda, bool power,
                  double* logw, index_t n) {
  HWY_DYNAMIC_DISPATCH(AddDiscrete)(x, z, eq, ne, log_lambda, power, logw, n);
}
double max_of(const double* v, index_t n) { return HWY_DYNAMIC_DISPATCH(MaxOf)(v, n); }
double dot(const double* a, const double* b, index_t n) {
  return HWY_DYNAMIC_DISPATCH(Dot)(a, b, n);
}
double centred_dot(const double* w, const double* a, double ca, const double* b, double cb,
                   index_t n) {
  return HWY_DYNAMIC_DISPATCH(CentredDot)(w, a, ca, b, cb, n);
}
void exp_sums(const double* logw, double shift, double* w, const double* y, const double* cols,
              index_t np, index_t k, double* out) {
  HWY_DYNAMIC_DISPATCH(ExpSums)(logw, shift, w, y, cols, np, k, out);
}
void centred_moments(const double* w, const double* cols, index_t np, index_t k, const double* xbar,
                     const double* y, double ybar, double* S, double* C) {
  HWY_DYNAMIC_DISPATCH(CentredMoments)(w, cols, np, k, xbar, y, ybar, S, C);
}
double gaussian_log_weights(const double* cols, index_t n, index_t np, index_t k, const double* z,
                            const double* c, index_t exclude, double* logw) {
  return HWY_DYNAMIC_DISPATCH(GaussianLogWeights)(cols, n, np, k, z, c, exclude, logw);
}
}  // namespace kreg::local
#endif
