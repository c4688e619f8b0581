// kernel_regression_oracle.hpp - test data and the long-double oracle of
// KernelRegression's fits, written from the definitions (shared by the
// local engine's tests and the Nadaraya-Watson seam's).
#pragma once

#include <algorithm>
#include <cmath>
#include <random>
#include <span>
#include <string>
#include <vector>

#include "kreg/kernel_regression.hpp"

namespace kreg::testing_oracle {

using LD = long double;

struct Data {
  Matrix<double> X;
  std::vector<double> y;
};

// n points: continuous columns normal, ordered in {0..3}, unordered in {0..2}
// (every level at least twice for n >= 24), y a smooth function plus noise.
inline Data make_data(index_t n, const std::string& types, std::uint32_t seed, double shift = 0) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<double> normal;
  const auto d = static_cast<index_t>(types.size());
  Data out{Matrix<double>(n, d), std::vector<double>(static_cast<std::size_t>(n))};
  for (index_t i = 0; i < n; ++i) {
    double t = 0;
    for (index_t f = 0; f < d; ++f) {
      double v;
      if (types[static_cast<std::size_t>(f)] == 'c') {
        v = normal(rng);
        t += std::sin(v + static_cast<double>(f));
        v += shift;
      } else if (types[static_cast<std::size_t>(f)] == 'o') {
        v = static_cast<double>(i % 4);
        t += 0.3 * v;
      } else {
        v = static_cast<double>((i * 7 + f) % 3);
        t += v == 1 ? 0.5 : 0.0;
      }
      out.X(i, f) = v;
    }
    out.y[static_cast<std::size_t>(i)] = t + 0.1 * normal(rng);
  }
  return out;
}

inline index_t levels_of(const Matrix<double>& X, index_t f) {
  std::vector<double> v;
  for (index_t i = 0; i < X.rows(); ++i) v.push_back(X(i, f));
  std::sort(v.begin(), v.end());
  return std::unique(v.begin(), v.end()) - v.begin();
}

// log of one column's kernel, straight from the definitions.
inline LD log_kernel(const KernelRegressionOptions& o, char type, LD x, LD z, LD bw,
                     index_t levels) {
  if (type == 'c') {
    const LD u = (x - z) / bw;
    switch (o.kernel) {
      case Kernel::gaussian:
        return -u * u / 2;
      case Kernel::epanechnikov:
        return std::fabs(u) < 1 ? std::log(1 - u * u) : -INFINITY;
      case Kernel::tricube:
        return std::fabs(u) < 1 ? 3 * std::log(1 - std::pow(std::fabs(u), 3.0L)) : -INFINITY;
      case Kernel::uniform:
        return std::fabs(u) <= 1 ? 0 : -INFINITY;
    }
  }
  const bool eq = x == z;
  LD value;
  if (o.discrete == DiscreteKernels::statsmodels) {
    if (type == 'o') {
      value = eq ? 1 - bw : 0.5L * (1 - bw) * std::pow(bw, std::fabs(x - z));
    } else {
      value = eq ? 1 - bw : bw / static_cast<LD>(levels - 1);
    }
  } else {
    value = eq ? 1 : (type == 'o' ? std::pow(bw, std::fabs(x - z)) : bw);
  }
  return value > 0 ? std::log(value) : -INFINITY;
}

struct OracleFit {
  LD mean = 0;
  std::vector<LD> slope;  // ll
  LD self_hat = 0;
};

// Solves A x = b (p x p) by Gaussian elimination with partial pivoting.
inline std::vector<LD> solve(std::vector<LD> A, std::vector<LD> b, std::size_t p) {
  for (std::size_t c = 0; c < p; ++c) {
    std::size_t piv = c;
    for (std::size_t r = c + 1; r < p; ++r) {
      if (std::fabs(A[r * p + c]) > std::fabs(A[piv * p + c])) piv = r;
    }
    for (std::size_t k = 0; k < p; ++k) std::swap(A[c * p + k], A[piv * p + k]);
    std::swap(b[c], b[piv]);
    for (std::size_t r = c + 1; r < p; ++r) {
      const LD f = A[r * p + c] / A[c * p + c];
      for (std::size_t k = c; k < p; ++k) A[r * p + k] -= f * A[c * p + k];
      b[r] -= f * b[c];
    }
  }
  std::vector<LD> x(p);
  for (std::size_t c = p; c-- > 0;) {
    LD s = b[c];
    for (std::size_t k = c + 1; k < p; ++k) s -= A[c * p + k] * x[k];
    x[c] = s / A[c * p + c];
  }
  return x;
}

// The fit at z from the definitions: weights in long double (shifted by the
// largest log-weight), lc the weighted mean, ll the normal equations of the
// weighted least squares on (1, x - z). `exclude`: leave-one-out.
inline OracleFit oracle(const Data& data, const std::string& types,
                        const KernelRegressionOptions& o, std::span<const double> z,
                        index_t exclude = -1, index_t self = -1) {
  const index_t n = data.X.rows(), d = data.X.cols();
  std::vector<LD> logw(static_cast<std::size_t>(n));
  for (index_t j = 0; j < n; ++j) {
    LD s = 0;
    for (index_t f = 0; f < d; ++f) {
      s += log_kernel(o, types[static_cast<std::size_t>(f)], data.X(j, f),
                      z[static_cast<std::size_t>(f)], o.bandwidth[static_cast<std::size_t>(f)],
                      levels_of(data.X, f));
    }
    logw[static_cast<std::size_t>(j)] = j == exclude ? -INFINITY : s;
  }
  const LD top = *std::max_element(logw.begin(), logw.end());
  std::vector<LD> w(static_cast<std::size_t>(n));
  for (index_t j = 0; j < n; ++j)
    w[static_cast<std::size_t>(j)] = std::exp(logw[static_cast<std::size_t>(j)] - top);
  OracleFit out;
  const auto p = static_cast<std::size_t>(o.reg == RegType::local_linear ? d + 1 : 1);
  std::vector<LD> M(p * p, 0), V(p, 0), row(p);
  for (index_t j = 0; j < n; ++j) {
    row[0] = 1;
    for (std::size_t a = 1; a < p; ++a)
      row[a] = static_cast<LD>(data.X(j, static_cast<index_t>(a - 1))) - z[a - 1];
    for (std::size_t a = 0; a < p; ++a) {
      V[a] += w[static_cast<std::size_t>(j)] * row[a] * data.y[static_cast<std::size_t>(j)];
      for (std::size_t b = 0; b < p; ++b)
        M[a * p + b] += w[static_cast<std::size_t>(j)] * row[a] * row[b];
    }
  }
  const std::vector<LD> beta = solve(M, V, p);
  out.mean = beta[0];
  out.slope.assign(beta.begin() + 1, beta.end());
  if (self >= 0) {  // e1^T M^-1 X_self^T w_self, X_self = (1, 0, ..., 0)
    std::vector<LD> e(p, 0);
    e[0] = 1;
    out.self_hat = solve(M, e, p)[0] * w[static_cast<std::size_t>(self)];
  }
  return out;
}

inline double sd(const std::vector<double>& y) {
  double m = 0, s = 0;
  for (double v : y) m += v;
  m /= static_cast<double>(y.size());
  for (double v : y) s += (v - m) * (v - m);
  return std::sqrt(s / static_cast<double>(y.size()));
}

inline KernelRegressionOptions options_for(RegType reg, const std::string& types,
                                           std::vector<double> bw, int n_jobs = 2) {
  KernelRegressionOptions o;
  o.reg = reg;
  o.var_type = parse_var_type(types);
  o.bandwidth = std::move(bw);
  o.n_jobs = n_jobs;
  return o;
}

}  // namespace kreg::testing_oracle
