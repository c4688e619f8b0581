// cuda/tile_math.hpp - the CUDA engine's per-query arithmetic, as
// __host__ __device__ functions: the kernels' weights of a squared distance,
// the running state of one query (the Gaussian's moving shift and its sums,
// a compact kernel's nearest points), the merge of two such states (the
// flash-decoding combine of the parts of the training set that different
// thread blocks summed), and the final prediction.
//
// nvcc compiles it into the kernels (src/cuda/kernels.cu); g++ compiles it
// into the CPU tests (tests/cpp/test_cuda_tile_math.cpp), which check it
// against the reference engine on any machine.
//
// The definitions are the CPU engine's (nw/cpu/tiled.hpp's
// BandwidthConstants, nw/cpu/simd/weights-inl.h): the squared distance s of
// a query to a training point is in the front's scaled units, u^2 = s inv_h2.
// The Gaussian's weight, relative to the nearest point so far (the shift m),
// is 2^((s - m) neg_alpha) with s - m clamped at t_lim, so no weight falls
// below 2^-kMinExp2 (nothing subnormal) and inv_h2 may be as large as T's
// largest value: nothing forms inv_h2 * s where an overflow to +inf could
// reach a sum. Sums of a tile are formed in T and added to double state.
#pragma once

#include <cmath>
#include <cstdint>
#include <limits>

#if defined(__CUDACC__)
#define KREG_HD __host__ __device__ __forceinline__
#define KREG_UNROLL _Pragma("unroll")
#else
#define KREG_HD inline
#define KREG_UNROLL
#endif

namespace kreg::cuda {

// The kernel, as the device code sees it (kreg::Kernel's order).
enum class KernelKind : int { gaussian = 0, epanechnikov = 1, tricube = 2, uniform = 3 };

// The exponential's floor and, for the CPU engine, the skip threshold
// (nw/cpu/tiled.hpp's kMinExp2): 2^-100 in float, 2^-1000 in double.
template <class T>
KREG_HD constexpr double min_exp2() {
  return sizeof(T) == 4 ? 100.0 : 1000.0;
}
template <class T>
KREG_HD constexpr double t_max() {
  return sizeof(T) == 4 ? 3.4028234663852886e38 : 1.7976931348623157e308;
}

KREG_HD double dmin(double a, double b) { return a < b ? a : b; }

// One bandwidth's constants, each clamped to T's range.
template <class T>
struct Bandwidth {
  T neg_alpha;         // -log2(e) inv_h2 / 2
  T t_lim;             // s - m is clamped here: 2^-min_exp2 at least
  T inv_h2;            // compact kernels: u^2 = s inv_h2
  double half_inv_h2;  // the shift's rescaling, e^(-gap inv_h2 / 2), in double
};

template <class T>
KREG_HD Bandwidth<T> make_bandwidth(double ih2) {
  const double alpha = 0.5 * ih2 * 1.4426950408889634074;  // log2(e) / (2 h^2)
  Bandwidth<T> b;
  b.neg_alpha = static_cast<T>(-dmin(alpha, t_max<T>()));
  b.t_lim = static_cast<T>(dmin(min_exp2<T>() / alpha, t_max<T>()));
  b.inv_h2 = static_cast<T>(dmin(ih2, t_max<T>()));
  b.half_inv_h2 = 0.5 * ih2;
  return b;
}

KREG_HD float exp2_of(float x) {
#if defined(__CUDA_ARCH__)
  return exp2f(x);
#else
  return std::exp2(x);
#endif
}
KREG_HD double exp2_of(double x) {
#if defined(__CUDA_ARCH__)
  return ::exp2(x);
#else
  return std::exp2(x);
#endif
}
KREG_HD double exp_of(double x) {
#if defined(__CUDA_ARCH__)
  return ::exp(x);
#else
  return std::exp(x);
#endif
}
template <class T>
KREG_HD T sqrt_of(T x) {
#if defined(__CUDA_ARCH__)
  return ::sqrt(x);
#else
  return std::sqrt(x);
#endif
}
KREG_HD float fma_of(float a, float b, float c) {
#if defined(__CUDA_ARCH__)
  return fmaf(a, b, c);
#else
  return std::fma(a, b, c);
#endif
}
KREG_HD double fma_of(double a, double b, double c) {
#if defined(__CUDA_ARCH__)
  return ::fma(a, b, c);
#else
  return std::fma(a, b, c);
#endif
}
template <class T>
KREG_HD bool is_inf(T x) {
  return x > static_cast<T>(t_max<T>());
}

// The Gaussian's weight of squared distance s with the shift at `nearest`
// (+inf while every distance so far overflowed: then all weights are equal,
// as the reference engine gives, and a finite distance later rescales them).
template <class T>
KREG_HD T gaussian_weight(T s, T nearest, const Bandwidth<T>& b) {
  const T m = is_inf(nearest) ? T(0) : nearest;
  T t = s - m;
  if (!(t < b.t_lim)) t = b.t_lim;  // also for s = +inf
  return exp2_of(t * b.neg_alpha);
}

// A compact kernel's weight of squared distance s: epanechnikov 1 - u^2 and
// tricube (1 - u^3)^3 for u < 1, uniform 1 for u <= 1, else 0.
template <class T>
KREG_HD T compact_weight(KernelKind kind, T s, T inv_h2) {
  const T u2 = s * inv_h2;  // may overflow to +inf: the weight is then 0
  switch (kind) {
    case KernelKind::epanechnikov: {
      const T w = T(1) - u2;
      return w > T(0) ? w : T(0);
    }
    case KernelKind::tricube: {
      T c = T(1) - sqrt_of(u2) * u2;
      c = c > T(0) ? c : T(0);
      return c * c * c;
    }
    default:
      return u2 <= T(1) ? T(1) : T(0);
  }
}

// One query's running sums over part of the training set, for K outputs.
// Gaussian: den and num relative to the shift `nearest`. Compact kernels:
// plain sums, plus the nearest point(s) and their weighted y (tie_w, tie_y)
// for a query with nothing inside the support.
template <class T, int K>
struct State {
  T nearest;
  double den;
  double num[K];
  double tie_w;
  double tie_y[K];
};

template <class T, int K>
KREG_HD void reset(State<T, K>& s) {
  s.nearest = static_cast<T>(INFINITY);
  s.den = 0;
  s.tie_w = 0;
  for (int c = 0; c < K; ++c) s.num[c] = s.tie_y[c] = 0;
}

// The Gaussian's shift moves down by gap > 0: the sums so far scale by
// e^(-gap inv_h2 / 2) (0 for gap = +inf: every earlier distance overflowed).
template <class T, int K>
KREG_HD void rescale(State<T, K>& s, double gap, double half_inv_h2) {
  if (!(s.den > 0)) return;
  const double f = exp_of(-half_inv_h2 * gap);
  s.den *= f;
  for (int c = 0; c < K; ++c) s.num[c] *= f;
}

// Gaussian: a tile whose nearest distance is tmin is about to be added.
template <class T, int K>
KREG_HD void move_shift(State<T, K>& s, T tmin, double half_inv_h2) {
  if (tmin < s.nearest) {
    rescale(s, static_cast<double>(s.nearest) - static_cast<double>(tmin), half_inv_h2);
    s.nearest = tmin;
  }
}

// Compact kernels: the point at distance s with sample weight sw and targets
// y (K values) may be among the nearest.
template <class T, int K>
KREG_HD void track_nearest(State<T, K>& st, T s, double sw, const T* y) {
  if (s < st.nearest) {
    st.nearest = s;
    st.tie_w = 0;
    for (int c = 0; c < K; ++c) st.tie_y[c] = 0;
  }
  if (s == st.nearest) {
    st.tie_w += sw;
    for (int c = 0; c < K; ++c) st.tie_y[c] += sw * static_cast<double>(y[c]);
  }
}

// Adds one tile's sums (formed in T) to the state.
template <class T, int K>
KREG_HD void add_tile(State<T, K>& s, T den, const T* num) {
  s.den += static_cast<double>(den);
  for (int c = 0; c < K; ++c) s.num[c] += static_cast<double>(num[c]);
}

// The flash-decoding combine: a += b, where a and b summed disjoint parts of
// the training set for the same query. Merging in a fixed order (part 0, 1,
// ...) gives the same bits on every run.
template <class T, int K>
KREG_HD void merge(State<T, K>& a, const State<T, K>& b, bool gaussian, double half_inv_h2) {
  if (gaussian) {
    double f = 1;
    if (b.nearest < a.nearest) {
      rescale(a, static_cast<double>(a.nearest) - static_cast<double>(b.nearest), half_inv_h2);
      a.nearest = b.nearest;
    } else if (b.nearest > a.nearest) {
      f = exp_of(-half_inv_h2 * (static_cast<double>(b.nearest) - static_cast<double>(a.nearest)));
    }
    if (b.den > 0) {
      a.den += f * b.den;
      for (int c = 0; c < K; ++c) a.num[c] += f * b.num[c];
    }
    return;
  }
  a.den += b.den;
  for (int c = 0; c < K; ++c) a.num[c] += b.num[c];
  if (b.nearest < a.nearest) {
    a.nearest = b.nearest;
    a.tie_w = b.tie_w;
    for (int c = 0; c < K; ++c) a.tie_y[c] = b.tie_y[c];
  } else if (b.nearest == a.nearest) {
    a.tie_w += b.tie_w;
    for (int c = 0; c < K; ++c) a.tie_y[c] += b.tie_y[c];
  }
}

// One tile of training points added to a query's states for nb <= NB
// bandwidths at once (predict_grid's many-bandwidth pass; NB = 1 for a
// single predict): acc[p] the squared distance to point p, formed once and
// used by every bandwidth; ws[p] its sample weight, ys[p] its K targets;
// points p >= valid and the excluded one (p == skip_p) left out.
//
// The nearest distance does not depend on the bandwidth: the Gaussian's
// shift moves to the tile's nearest point for every state alike, and a
// compact kernel's nearest points are tracked once, in st[0] (share_nearest
// copies them to the other states when the part is summed). Each bandwidth
// gets exactly the operations a single-bandwidth pass gives it, so the grid
// and a predict per bandwidth agree bit for bit.
template <class T, int K, int NB, int N>
KREG_HD void update_tile(State<T, K> (&st)[NB], int nb, const Bandwidth<T>* bw, KernelKind kernel,
                         const T (&acc)[N], const T* ws, const T (*ys)[K], int valid, int skip_p) {
  T tmin = static_cast<T>(INFINITY);
  KREG_UNROLL
  for (int p = 0; p < N; ++p) {
    if (p < valid && p != skip_p && acc[p] < tmin) tmin = acc[p];
  }
  const bool gaussian = kernel == KernelKind::gaussian;
  if (!gaussian) {
    KREG_UNROLL
    for (int p = 0; p < N; ++p) {
      if (p < valid && p != skip_p) track_nearest(st[0], acc[p], static_cast<double>(ws[p]), ys[p]);
    }
  }
  KREG_UNROLL
  for (int b = 0; b < NB; ++b) {
    if (b >= nb) break;
    const Bandwidth<T> bb = bw[b];
    if (gaussian) move_shift(st[b], tmin, bb.half_inv_h2);
    const T shift = st[b].nearest;
    T den = 0;
    T num[K];
    KREG_UNROLL
    for (int c = 0; c < K; ++c) num[c] = 0;
    KREG_UNROLL
    for (int p = 0; p < N; ++p) {
      if (p >= valid || p == skip_p) continue;
      const T w = (gaussian ? gaussian_weight(acc[p], shift, bb)
                            : compact_weight(kernel, acc[p], bb.inv_h2)) *
                  ws[p];
      den += w;
      KREG_UNROLL
      for (int c = 0; c < K; ++c) num[c] = fma_of(w, ys[p][c], num[c]);
    }
    add_tile(st[b], den, num);
  }
}

// A compact kernel's nearest points, tracked in st[0] by update_tile, copied
// to the other nb - 1 states (before they are stored or merged).
template <class T, int K, int NB>
KREG_HD void share_nearest(State<T, K> (&st)[NB], int nb, KernelKind kernel) {
  if (kernel == KernelKind::gaussian) return;
  KREG_UNROLL
  for (int b = 1; b < NB; ++b) {
    if (b >= nb) break;
    st[b].nearest = st[0].nearest;
    st[b].tie_w = st[0].tie_w;
    KREG_UNROLL
    for (int c = 0; c < K; ++c) st[b].tie_y[c] = st[0].tie_y[c];
  }
}

// The prediction of the state's K outputs into out[c * stride]; returns
// whether the query was isolated (nothing inside a compact kernel's
// support: the weighted mean y of its nearest point(s)).
template <class T, int K>
KREG_HD bool finish(const State<T, K>& s, int k, T* out, std::int64_t stride) {
  if (s.den > 0) {
    for (int c = 0; c < k; ++c) out[c * stride] = static_cast<T>(s.num[c] / s.den);
    return false;
  }
  for (int c = 0; c < k; ++c) out[c * stride] = static_cast<T>(s.tie_y[c] / s.tie_w);
  return true;
}

}  // namespace kreg::cuda
