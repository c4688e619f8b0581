// nw/cpu/distances.cpp - pairwise squared Euclidean distances by the norm trick.
//
//     D(i, j) = |z_i - c|^2 + |x_j - c|^2 - 2 (z_i - c) . (x_j - c)
//
// with c the column mean of X (in double): one gemm for the cross term, the
// norms in double, clamped at 0. Centring makes the cancellation error scale
// with the data's spread instead of its distance from the origin. The trick's
// error is about (2d + 3) u (|z - c|^2 + |x - c|^2) (u: T's unit roundoff),
// which is large relative to D only for near pairs; those (D below tau times
// the norms) are recomputed from the differences, so every entry is accurate
// relative to itself and identical points give exactly 0.
#include <cblas.h>
#include <fmt/format.h>

#include <algorithm>
#include <climits>
#include <cmath>
#include <limits>
#include <vector>

#include "core/validate.hpp"
#include "kreg/error.hpp"
#include "kreg/nw.hpp"
#include "nw/front.hpp"

namespace kreg {

namespace {

template <class T>
void check_finite(MatrixView<const T> m, const char* name) {
  detail::require_finite(m, name, "pairwise_sq_distances needs finite values");
}

// C (m x n) = alpha * A B^T for contiguous row-major A (m x d) and B (n x d).
void gemm_nt(index_t m, index_t n, index_t d, const float* a, const float* b, float* c) {
  cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, static_cast<int>(m), static_cast<int>(n),
              static_cast<int>(d), -2.0F, a, static_cast<int>(d), b, static_cast<int>(d), 0.0F, c,
              static_cast<int>(n));
}
void gemm_nt(index_t m, index_t n, index_t d, const double* a, const double* b, double* c) {
  cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasTrans, static_cast<int>(m), static_cast<int>(n),
              static_cast<int>(d), -2.0, a, static_cast<int>(d), b, static_cast<int>(d), 0.0, c,
              static_cast<int>(n));
}

// The squared norms of the rows of v, in double.
template <class T>
std::vector<double> row_norms(const Matrix<T>& v) {
  std::vector<double> norms(static_cast<std::size_t>(v.rows()), 0.0);
  for (index_t i = 0; i < v.rows(); ++i) {
    for (index_t f = 0; f < v.cols(); ++f) {
      norms[i] += static_cast<double>(v(i, f)) * static_cast<double>(v(i, f));
    }
  }
  return norms;
}

}  // namespace

template <class T>
Matrix<T> pairwise_sq_distances(MatrixView<const T> Z, MatrixView<const T> X) {
  if (Z.cols() != X.cols()) {
    throw ArgumentError(fmt::format("Z has {} features but X has {}", Z.cols(), X.cols()));
  }
  check_finite(Z, "Z");
  check_finite(X, "X");
  const index_t m = Z.rows();
  const index_t n = X.rows();
  const index_t d = X.cols();
  Matrix<T> D(m, n);
  if (m == 0 || n == 0 || d == 0) return D;  // no features: every distance is 0
  if (m > INT_MAX || n > INT_MAX || d > INT_MAX) {
    throw ArgumentError(fmt::format(
        "pairwise_sq_distances: {} x {} by {} x {} exceeds BLAS's 32-bit sizes", m, d, n, d));
  }

  const std::vector<double> center = nw::column_mean(X);
  const Matrix<T> Zc = nw::centred(Z, center);
  const Matrix<T> Xc = nw::centred(X, center);
  const std::vector<double> zn = row_norms(Zc), xn = row_norms(Xc);

  gemm_nt(m, n, d, Zc.data(), Xc.data(), D.data());  // D = -2 Zc Xc^T

  // Below tau (|z - c|^2 + |x - c|^2) the trick's error could be a sizeable
  // part of D: recompute such entries directly (in double, from the inputs).
  // tau is at least twice the error bound, so identical points always land here.
  const double u = std::numeric_limits<T>::epsilon() / 2;
  const double tau = std::max(1.0 / 16, 4.0 * (static_cast<double>(d) + 5) * u);
  for (index_t i = 0; i < m; ++i) {
    T* row = D.data() + i * n;
    for (index_t j = 0; j < n; ++j) {
      const double scale = zn[i] + xn[j];
      double v = scale + static_cast<double>(row[j]);
      if (!(v > tau * scale)) {  // also catches NaN from overflow (inf - inf) in float
        v = 0.0;
        for (index_t f = 0; f < d; ++f) {
          const double t = static_cast<double>(Z(i, f)) - static_cast<double>(X(j, f));
          v += t * t;
        }
      }
      row[j] = static_cast<T>(std::max(v, 0.0));
    }
  }
  return D;
}

template Matrix<float> pairwise_sq_distances<float>(MatrixView<const float>,
                                                    MatrixView<const float>);
template Matrix<double> pairwise_sq_distances<double>(MatrixView<const double>,
                                                      MatrixView<const double>);

}  // namespace kreg
