// local/simd.hpp - the kernel regression engine's vectorised passes
// (local/simd.cpp). n is always a multiple of kPad.
#pragma once

#include "kreg/matrix.hpp"

namespace kreg::local {

// Four vectors of the widest target's doubles (AVX-512: 8 lanes).
inline constexpr index_t kPad = 32;
inline index_t padded(index_t n) { return (n + kPad - 1) / kPad * kPad; }

// logw[j] += a (x[j] - z)^2.
void add_gaussian(const double* x, double z, double a, double* logw, index_t n);
// logw[j] += x[j] == z ? eq : ne (+ |x[j] - z| log_lambda when power).
void add_discrete(const double* x, double z, double eq, double ne, double log_lambda, bool power,
                  double* logw, index_t n);
double max_of(const double* v, index_t n);
double dot(const double* a, const double* b, index_t n);
// sum_j w[j] (a[j] - ca) (b[j] - cb).
double centred_dot(const double* w, const double* a, double ca, const double* b, double cb,
                   index_t n);

// The fused passes, for k <= kMaxFused columns:
inline constexpr index_t kMaxFused = 7;
// w = exp(logw - shift) (stored; exactly 0 below -708 and for -inf), and out[0..k+2) = (sum w, sum
// w y, sum w x_a for the first k columns of `cols`, stride np).
void exp_sums(const double* logw, double shift, double* w, const double* y, const double* cols,
              index_t np, index_t k, double* out);
// S[a * k + b] (b >= a) = sum w (x_a - xbar_a)(x_b - xbar_b) and
// C[a] = sum w (x_a - xbar_a)(y - ybar), for 1 <= k columns.
void centred_moments(const double* w, const double* cols, index_t np, index_t k, const double* xbar,
                     const double* y, double ybar, double* S, double* C);

// logw[j] = sum_a c[a] (x_a[j] - z[a])^2 over k <= kMaxFused columns of
// `cols` (stride np) for j < n, -inf in the padding and at `exclude` (if
// >= 0), stored; returns the largest.
double gaussian_log_weights(const double* cols, index_t n, index_t np, index_t k, const double* z,
                            const double* c, index_t exclude, double* logw);

}  // namespace kreg::local
