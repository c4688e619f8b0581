// nw/cpu/vectorized.cpp - the tutorial's numpy method, done right.
//
// Per block of query rows (the block's memory is bounded: rows x n values of
// T, at most kBlockElements), the squared distances come from the norm trick
//
//     D = |z|^2 + |x|^2 - 2 Z X^T        (one gemm for the cross term)
//
// clamped at 0 (pairs nearer than 1/16 of the norms, identical points among
// them, are recomputed from their differences); then each row's kernel weights (the Gaussian
// shifted by the row's nearest point, so its largest weight is exactly 1), the numerators by a
// second gemm (W Y, rows x k) and the denominators as row sums. The model hands us data centred on
// the training mean, which keeps the norm trick accurate for data far from the origin.
//
// Determinism: the block boundaries depend only on (m, n), never on the thread
// count, and BLAS runs single-threaded for the whole call (our threads own the
// blocks), so each query row sees exactly the same arithmetic for any n_jobs.
#include <cblas.h>
#include <fmt/format.h>
#include <tbb/enumerable_thread_specific.h>

#include <algorithm>
#include <atomic>
#include <climits>
#include <cmath>
#include <limits>
#include <mutex>
#include <vector>

#include "core/blas_threads.hpp"
#include "core/parallel.hpp"
#include "kreg/error.hpp"
#include "nw/cpu/engines.hpp"

namespace kreg::nw {

namespace {

// Query rows per block, at most; and distances per block, at most (16 MiB in
// double per thread), so a block has min(256, 2^21 / n) rows (at least 1).
constexpr index_t kBlockRows = 256;
constexpr index_t kBlockElements = index_t{1} << 21;

// C (rows x cols) = alpha * A B^T, row-major; A is rows x inner, B is cols x inner.
void gemm_nt(index_t rows, index_t cols, index_t inner, float alpha, const float* a, index_t lda,
             const float* b, index_t ldb, float* c, index_t ldc) {
  cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, static_cast<int>(rows),
              static_cast<int>(cols), static_cast<int>(inner), alpha, a, static_cast<int>(lda), b,
              static_cast<int>(ldb), 0.0F, c, static_cast<int>(ldc));
}
void gemm_nt(index_t rows, index_t cols, index_t inner, double alpha, const double* a, index_t lda,
             const double* b, index_t ldb, double* c, index_t ldc) {
  cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasTrans, static_cast<int>(rows),
              static_cast<int>(cols), static_cast<int>(inner), alpha, a, static_cast<int>(lda), b,
              static_cast<int>(ldb), 0.0, c, static_cast<int>(ldc));
}
// C (rows x cols) = A B, row-major; A is rows x inner, B is inner x cols.
void gemm_nn(index_t rows, index_t cols, index_t inner, const float* a, index_t lda, const float* b,
             index_t ldb, float* c, index_t ldc) {
  cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, static_cast<int>(rows),
              static_cast<int>(cols), static_cast<int>(inner), 1.0F, a, static_cast<int>(lda), b,
              static_cast<int>(ldb), 0.0F, c, static_cast<int>(ldc));
}
void gemm_nn(index_t rows, index_t cols, index_t inner, const double* a, index_t lda,
             const double* b, index_t ldb, double* c, index_t ldc) {
  cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, static_cast<int>(rows),
              static_cast<int>(cols), static_cast<int>(inner), 1.0, a, static_cast<int>(lda), b,
              static_cast<int>(ldb), 0.0, c, static_cast<int>(ldc));
}

void check_blas_size(index_t value, const char* what) {
  if (value > INT_MAX) {
    throw ArgumentError(fmt::format(
        "the vectorized engine passes {} = {} to BLAS, which takes 32-bit sizes (at most {}); "
        "use the fused engine",
        what, value, INT_MAX));
  }
}

template <class T>
struct Workspace {
  std::vector<T> dist;         // rows x n: distances, then kernel weights
  std::vector<T> scratch;      // n: one row's weights before they replace its distances
  std::vector<double> den;     // rows: weight sums
  std::vector<double> near;    // rows x k: mean y of the nearest points (isolated rows)
  std::vector<char> isolated;  // rows

  void reserve(index_t rows, index_t n, index_t k) {
    dist.resize(static_cast<std::size_t>(rows * n));
    scratch.resize(static_cast<std::size_t>(n));
    den.resize(static_cast<std::size_t>(rows));
    near.resize(static_cast<std::size_t>(rows * k));
    isolated.resize(static_cast<std::size_t>(rows));
  }
};

// The smallest distance in a row among the training points that carry weight
// (a zero sample weight is the same as an absent point, as in the reference).
template <class T>
T nearest_distance(const Problem<T>& p, const T* dist, index_t n) {
  T dmin = std::numeric_limits<T>::max();
  if (p.weights.empty()) {
    for (index_t j = 0; j < n; ++j) dmin = dist[j] < dmin ? dist[j] : dmin;
  } else {
    const T* s = p.weights.data();
    for (index_t j = 0; j < n; ++j) dmin = dist[j] < dmin && s[j] > T(0) ? dist[j] : dmin;
  }
  return dmin;
}

// Writes kernel weights (times sample weights) of one row of clamped squared
// distances `dist` into `w` (which may be `dist` itself) and returns their sum. `c` is inv_h2 in T,
// clamped to T's largest finite value so that no product is NaN (0 * inf).
template <class T>
double row_weights(const Problem<T>& p, const T* dist, index_t n, T dmin, T c, T* w) {
  switch (p.kernel) {
    case Kernel::gaussian: {
      // exp(-(u2 - m) / 2) with u2 = inv_h2 * D and m the nearest point's u2:
      // that point gets exactly 1. (Only a zero-weight point can be nearer;
      // the max keeps its exp finite, and its weight is 0 anyway.)
      const T half_c = c / T(2);
      for (index_t j = 0; j < n; ++j) {
        w[j] = std::exp(-(std::max(dist[j] - dmin, T(0)) * half_c));
      }
      break;
    }
    case Kernel::epanechnikov:
      for (index_t j = 0; j < n; ++j) {
        const T u2 = dist[j] * c;
        w[j] = u2 < T(1) ? T(1) - u2 : T(0);
      }
      break;
    case Kernel::tricube:
      for (index_t j = 0; j < n; ++j) {
        const T u2 = dist[j] * c;
        T v = T(0);
        if (u2 < T(1)) {
          const T u = std::sqrt(u2);
          const T t = T(1) - u * u * u;
          v = t * t * t;
        }
        w[j] = v;
      }
      break;
    case Kernel::uniform:
      for (index_t j = 0; j < n; ++j) w[j] = dist[j] * c <= T(1) ? T(1) : T(0);
      break;
  }
  if (!p.weights.empty()) {
    const T* s = p.weights.data();
    for (index_t j = 0; j < n; ++j) w[j] *= s[j];
  }
  // Four running sums (a fixed order, so the same bits on every run).
  double sum[4] = {0.0, 0.0, 0.0, 0.0};
  index_t j = 0;
  for (; j + 4 <= n; j += 4) {
    for (index_t l = 0; l < 4; ++l) sum[l] += static_cast<double>(w[j + l]);
  }
  for (; j < n; ++j) sum[0] += static_cast<double>(w[j]);
  return (sum[0] + sum[1]) + (sum[2] + sum[3]);
}

// The sample-weighted mean y of the weight-carrying points at distance dmin.
// If no point carries weight (never from the model), the plain mean y of the
// nearest points.
template <class T>
void nearest_mean(const Problem<T>& p, const T* dist, index_t n, T dmin, double* mean) {
  const index_t k = p.Y.cols();
  std::fill(mean, mean + k, 0.0);
  double total = 0.0;
  for (index_t j = 0; j < n; ++j) {
    const double s = p.weights.empty() ? 1.0 : static_cast<double>(p.weights[j]);
    if (dist[j] != dmin || !(s > 0)) continue;
    total += s;
    for (index_t c = 0; c < k; ++c) mean[c] += s * static_cast<double>(p.Y(j, c));
  }
  if (!(total > 0)) {
    const T nearest = *std::min_element(dist, dist + n);
    for (index_t j = 0; j < n; ++j) {
      if (dist[j] != nearest) continue;
      total += 1.0;
      for (index_t c = 0; c < k; ++c) mean[c] += static_cast<double>(p.Y(j, c));
    }
  }
  for (index_t c = 0; c < k; ++c) mean[c] /= total;
}

// ||z - x_j||^2 summed in double from the differences, in T (at most max).
template <class T>
T direct_sq_distance(const T* z, MatrixView<const T> X, index_t j, T max) {
  const T* x = X.data() + j * X.ld();
  double s = 0.0;
  for (index_t f = 0; f < X.cols(); ++f) {
    const double t = static_cast<double>(z[f]) - static_cast<double>(x[f]);
    s += t * t;
  }
  return s < static_cast<double>(max) ? static_cast<T>(s) : max;
}

// Predicts query rows [r0, r1) into out; returns how many were isolated.
template <class T>
index_t predict_block(const Problem<T>& p, MatrixView<const T> Z, MatrixView<T> out, index_t r0,
                      index_t r1, const std::vector<T>& xnorm, T c, T tau, bool in_place,
                      Workspace<T>& ws) {
  const index_t n = p.X.rows();
  const index_t d = p.X.cols();
  const index_t k = p.Y.cols();
  const index_t rows = r1 - r0;
  T* dist = ws.dist.data();
  constexpr T kMax = std::numeric_limits<T>::max();

  gemm_nt(rows, n, d, T(-2), Z.data() + r0 * Z.ld(), Z.ld(), p.X.data(), p.X.ld(), dist, n);

  index_t isolated = 0;
  for (index_t i = 0; i < rows; ++i) {
    double zsum = 0.0;
    for (index_t f = 0; f < d; ++f) {
      const auto v = static_cast<double>(Z(r0 + i, f));
      zsum += v * v;
    }
    const auto znorm = static_cast<T>(zsum);
    T* row = dist + i * n;
    const T* xn = xnorm.data();
    for (index_t j = 0; j < n; ++j) {
      // Clamp to [0, max]; an overflow (inf, or NaN from inf - inf) becomes max.
      const T v = (znorm + xn[j]) + row[j];
      row[j] = v < kMax ? (v > T(0) ? v : T(0)) : kMax;
    }
    // Near pairs, where the trick's error could be a sizeable part of D (and
    // identical points, whose D must be exactly 0 for compact kernels at tiny
    // bandwidths): recompute from the differences, in double. Rare unless the
    // data is low-dimensional; then these are the points with the most weight.
    const T* z = Z.data() + (r0 + i) * Z.ld();
    for (index_t j = 0; j < n; ++j) {
      if (row[j] <= tau * (znorm + xn[j])) row[j] = direct_sq_distance(z, p.X, j, kMax);
    }
    const T dmin = nearest_distance(p, row, n);

    // In place when the row cannot be isolated; otherwise the distances must
    // survive until we know, for the nearest points' mean.
    const double den = row_weights(p, row, n, dmin, c, in_place ? row : ws.scratch.data());
    if (den > 0) {
      if (!in_place) std::copy(ws.scratch.begin(), ws.scratch.end(), row);
      ws.den[i] = den;
      ws.isolated[i] = 0;
    } else {
      nearest_mean(p, row, n, dmin, ws.near.data() + i * k);
      std::fill(row, row + n, T(0));
      ws.isolated[i] = 1;
      ++isolated;
    }
  }

  T* num = out.data() + r0 * out.ld();
  gemm_nn(rows, k, n, dist, n, p.Y.data(), p.Y.ld(), num, out.ld());

  for (index_t i = 0; i < rows; ++i) {
    for (index_t col = 0; col < k; ++col) {
      T& o = out(r0 + i, col);
      o = ws.isolated[i] != 0 ? static_cast<T>(ws.near[i * k + col])
                              : static_cast<T>(static_cast<double>(o) / ws.den[i]);
    }
  }
  return isolated;
}

}  // namespace

template <class T>
index_t predict_vectorized(const Problem<T>& p, MatrixView<const T> Z, MatrixView<T> out,
                           int n_threads, const CancelToken* cancel) {
  const index_t m = Z.rows();
  const index_t n = p.X.rows();
  const index_t d = p.X.cols();
  const index_t k = p.Y.cols();
  if (m == 0) return 0;
  check_blas_size(n, "the training point count");
  check_blas_size(d, "the feature count");
  check_blas_size(k, "the output count");
  check_blas_size(Z.ld(), "the queries' leading dimension");
  check_blas_size(p.X.ld(), "the training points' leading dimension");
  check_blas_size(p.Y.ld(), "the targets' leading dimension");
  check_blas_size(out.ld(), "the output's leading dimension");

  // |x|^2 once per call, accumulated in double.
  std::vector<T> xnorm(static_cast<std::size_t>(n));
  for (index_t j = 0; j < n; ++j) {
    double s = 0.0;
    for (index_t f = 0; f < d; ++f) {
      const auto v = static_cast<double>(p.X(j, f));
      s += v * v;
    }
    xnorm[j] = static_cast<T>(s);
  }
  // inv_h2 may be huge (a tiny bandwidth) or even inf in T: clamp it to a
  // finite value so that u2 is never 0 * inf. Any distance > 0 then gets
  // u2 = inf or huge, the limit the contract asks for.
  const T c =
      static_cast<T>(std::min(p.inv_h2, static_cast<double>(std::numeric_limits<T>::max())));

  // Entries below tau (|z|^2 + |x|^2) are recomputed directly: tau is at
  // least twice the trick's error bound, about (2d + 3) u (|z|^2 + |x|^2), so
  // identical points always are, and the others keep a relative error below
  // 32 (2d + 3) u.
  const double u = std::numeric_limits<T>::epsilon() / 2;
  const auto tau = static_cast<T>(std::max(1.0 / 16, 4.0 * (static_cast<double>(d) + 5) * u));

  // The shifted Gaussian gives the nearest weight-carrying point the weight
  // s_j * 1 > 0, so no row is isolated (with any such point) and the weights
  // can overwrite the distances.
  const bool in_place = p.kernel == Kernel::gaussian &&
                        (p.weights.empty() || std::any_of(p.weights.begin(), p.weights.end(),
                                                          [](T s) { return s > T(0); }));

  const index_t rows = std::clamp<index_t>(kBlockElements / n, 1, kBlockRows);
  const index_t blocks = (m + rows - 1) / rows;

  const detail::SingleThreadedBlas single_threaded_blas;
  tbb::enumerable_thread_specific<Workspace<T>> workspaces;
  std::atomic<index_t> isolated{0};
  detail::parallel_blocks(n_threads, blocks, 1, [&](index_t b0, index_t b1) {
    Workspace<T>& ws = workspaces.local();
    ws.reserve(rows, n, k);
    index_t local = 0;
    for (index_t b = b0; b < b1; ++b) {
      if (cancel != nullptr && cancel->requested()) return;  // once per block of queries
      local += predict_block(p, Z, out, b * rows, std::min(m, (b + 1) * rows), xnorm, c, tau,
                             in_place, ws);
    }
    isolated += local;
  });
  throw_if_cancelled(cancel);
  return isolated.load();
}

template index_t predict_vectorized<float>(const Problem<float>&, MatrixView<const float>,
                                           MatrixView<float>, int, const CancelToken*);
template index_t predict_vectorized<double>(const Problem<double>&, MatrixView<const double>,
                                            MatrixView<double>, int, const CancelToken*);

}  // namespace kreg::nw
