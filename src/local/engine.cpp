// local/engine.cpp - one query's local-constant or local-linear fit.
//
// Three passes over the training points, each a stride-1 loop per column:
//   1. log-weights: the sum over columns of each kernel's logarithm (so no
//      bandwidth underflows them), then the largest;
//   2. weights w_j = exp(log w_j - max) (the largest is 1), and the weighted
//      sums of 1, y and x (weighted means);
//   3. ll only: the centred weighted scatter S = sum w (x - xbar)(x - xbar)^T
//      and C = sum w (x - xbar)(y - ybar); lc: the gradient's sums.
// The ll solve scales S to unit diagonal and runs a Cholesky factorisation
// that drops a direction whose pivot falls below kPivotTol (slope 0 there).
// Sums use four interleaved accumulators in a fixed order, so a query's
// result is the same on any thread.
#include "local/engine.hpp"

#include <algorithm>
#include <cmath>
#include <limits>

#include "local/exp_simd.hpp"

namespace kreg::local {
namespace {

constexpr double kNegInf = -std::numeric_limits<double>::infinity();
// Relative pivot below which a direction of the scaled local design counts
// as unidentified (about 1e6 times double's epsilon: a condition number past
// 1e10 leaves fewer than 6 good digits in the slopes).
constexpr double kPivotTol = 1e-10;

// sum_j a[j] * b[j] with four accumulators, combined in a fixed order.
double dot(const double* a, const double* b, index_t n) {
  double s0 = 0, s1 = 0, s2 = 0, s3 = 0;
  index_t j = 0;
  for (; j + 4 <= n; j += 4) {
    s0 += a[j] * b[j];
    s1 += a[j + 1] * b[j + 1];
    s2 += a[j + 2] * b[j + 2];
    s3 += a[j + 3] * b[j + 3];
  }
  for (; j < n; ++j) s0 += a[j] * b[j];
  return (s0 + s1) + (s2 + s3);
}

double sum(const double* a, index_t n) {
  double s0 = 0, s1 = 0, s2 = 0, s3 = 0;
  index_t j = 0;
  for (; j + 4 <= n; j += 4) {
    s0 += a[j];
    s1 += a[j + 1];
    s2 += a[j + 2];
    s3 += a[j + 3];
  }
  for (; j < n; ++j) s0 += a[j];
  return (s0 + s1) + (s2 + s3);
}

// sum_j w[j] (a[j] - ca) (b[j] - cb).
double centred_dot(const double* w, const double* a, double ca, const double* b, double cb,
                   index_t n) {
  double s0 = 0, s1 = 0, s2 = 0, s3 = 0;
  index_t j = 0;
  for (; j + 4 <= n; j += 4) {
    s0 += w[j] * (a[j] - ca) * (b[j] - cb);
    s1 += w[j + 1] * (a[j + 1] - ca) * (b[j + 1] - cb);
    s2 += w[j + 2] * (a[j + 2] - ca) * (b[j + 2] - cb);
    s3 += w[j + 3] * (a[j + 3] - ca) * (b[j + 3] - cb);
  }
  for (; j < n; ++j) s0 += w[j] * (a[j] - ca) * (b[j] - cb);
  return (s0 + s1) + (s2 + s3);
}

// log k(u) of the one-dimensional kernels, up to a constant; -inf outside
// the support.
double log_kernel(Kernel kernel, double u) {
  const double a = std::abs(u);
  switch (kernel) {
    case Kernel::gaussian:
      return -0.5 * u * u;
    case Kernel::epanechnikov:
      return a < 1 ? std::log1p(-u * u) : kNegInf;
    case Kernel::tricube: {
      return a < 1 ? 3 * std::log1p(-a * a * a) : kNegInf;
    }
    case Kernel::uniform:
      return a <= 1 ? 0.0 : kNegInf;
  }
  return kNegInf;
}

// d log k((x - z) / h) / dz at u = (x - z) / h, inside the support.
double dlog_kernel(Kernel kernel, double u, double h) {
  switch (kernel) {
    case Kernel::gaussian:
      return u / h;
    case Kernel::epanechnikov:
      return 2 * u / (h * (1 - u * u));
    case Kernel::tricube: {
      const double a = std::abs(u);
      return 9 * u * a / (h * (1 - a * a * a));
    }
    case Kernel::uniform:
      return 0;
  }
  return 0;
}

// Pass 1 for one column: logw[j] += log of column f's kernel at z_f.
void add_column(const KernelRegression::Prepared& p, index_t f, double zf, double hq,
                double* logw) {
  const index_t n = p.n;
  const double* x = p.cols.data() + f * n;
  const auto fu = static_cast<std::size_t>(f);
  if (p.types[fu] == VarType::continuous) {
    if (p.bwtype == BandwidthType::adaptive_nn) {
      const double* h = p.adaptive_h.data() + f * n;
      for (index_t j = 0; j < n; ++j) logw[j] += log_kernel(p.kernel, (x[j] - zf) / h[j]);
    } else if (p.kernel == Kernel::gaussian) {
      const double a = -0.5 / (hq * hq);
      for (index_t j = 0; j < n; ++j) {
        const double t = x[j] - zf;
        logw[j] += a * t * t;
      }
    } else {
      const double inv = 1 / hq;
      for (index_t j = 0; j < n; ++j) logw[j] += log_kernel(p.kernel, (x[j] - zf) * inv);
    }
    return;
  }
  const double eq = p.log_eq[fu], ne = p.log_ne[fu], ll = p.log_lambda[fu];
  if (p.power[fu]) {
    for (index_t j = 0; j < n; ++j) {
      logw[j] += x[j] == zf ? eq : ne + std::abs(x[j] - zf) * ll;
    }
  } else {
    for (index_t j = 0; j < n; ++j) logw[j] += x[j] == zf ? eq : ne;
  }
}

// Mean y of the training points nearest to z (scaled distance over the
// continuous columns plus mismatched discrete levels), for a query with no
// weight at all.
double nearest_mean(const KernelRegression::Prepared& p, std::span<const double> z,
                    index_t exclude, double* dist) {
  const index_t n = p.n;
  std::fill(dist, dist + n, 0.0);
  for (index_t f = 0; f < p.d; ++f) {
    const double* x = p.cols.data() + f * n;
    const double zf = z[static_cast<std::size_t>(f)];
    if (p.types[static_cast<std::size_t>(f)] == VarType::continuous) {
      const double inv = 1 / p.fallback_scale[static_cast<std::size_t>(f)];
      for (index_t j = 0; j < n; ++j) {
        const double t = (x[j] - zf) * inv;
        dist[j] += t * t;
      }
    } else {
      for (index_t j = 0; j < n; ++j) dist[j] += x[j] == zf ? 0.0 : 1.0;
    }
  }
  if (exclude >= 0) dist[exclude] = std::numeric_limits<double>::infinity();
  const double best = *std::min_element(dist, dist + n);
  double s = 0;
  index_t count = 0;
  for (index_t j = 0; j < n; ++j) {
    if (dist[j] == best) {
      s += p.y[static_cast<std::size_t>(j)];
      ++count;
    }
  }
  return s / static_cast<double>(count);
}

}  // namespace

double kth_distance(std::span<const double> sorted, double v, index_t k, bool skip_self) {
  const auto n = static_cast<index_t>(sorted.size());
  // Merge outwards from v's position: lo walks down, hi walks up.
  index_t hi = std::lower_bound(sorted.begin(), sorted.end(), v) - sorted.begin();
  index_t lo = hi - 1;
  bool skipped = !skip_self;
  index_t taken = 0;
  double dist = 0;
  while (lo >= 0 || hi < n) {
    const double dl = lo >= 0 ? v - sorted[static_cast<std::size_t>(lo)]
                              : std::numeric_limits<double>::infinity();
    const double dh = hi < n ? sorted[static_cast<std::size_t>(hi)] - v
                             : std::numeric_limits<double>::infinity();
    if (dl <= dh) {
      dist = dl;
      --lo;
    } else {
      dist = dh;
      ++hi;
    }
    if (!skipped && dist == 0) {
      skipped = true;
      continue;
    }
    if (++taken >= k && dist > 0) return dist;
  }
  return 1.0;  // every other value equals v: any bandwidth gives the same weights
}

QueryFit fit_query(const KernelRegression::Prepared& p, std::span<const double> z,
                   index_t exclude, index_t self, std::span<double> gradient, Scratch& s) {
  const index_t n = p.n, d = p.d;
  const auto nu = static_cast<std::size_t>(n);
  if (s.logw.size() < nu) {
    s.logw.resize(nu);
    s.w.resize(nu);
  }
  s.h.assign(static_cast<std::size_t>(d), 1.0);
  double* logw = s.logw.data();
  double* w = s.w.data();
  std::fill(gradient.begin(), gradient.end(), 0.0);

  // Pass 1: log-weights.
  if (p.bwtype == BandwidthType::adaptive_nn) {
    std::copy(p.adaptive_log_norm.begin(), p.adaptive_log_norm.end(), logw);
  } else {
    std::fill(logw, logw + n, 0.0);
  }
  for (index_t f = 0; f < d; ++f) {
    const auto fu = static_cast<std::size_t>(f);
    if (p.types[fu] == VarType::continuous) {
      if (p.bwtype == BandwidthType::fixed) {
        s.h[fu] = p.bandwidth[fu];
      } else if (p.bwtype == BandwidthType::generalized_nn) {
        s.h[fu] = kth_distance(p.sorted[fu], z[fu], static_cast<index_t>(p.bandwidth[fu]),
                               exclude >= 0);
      }
    }
    add_column(p, f, z[fu], s.h[fu], logw);
  }
  if (exclude >= 0) logw[exclude] = kNegInf;
  const double top = *std::max_element(logw, logw + n);

  QueryFit out;
  if (!(top > kNegInf)) {  // no weight anywhere: the nearest points' mean
    out.isolated = true;
    out.mean = nearest_mean(p, z, exclude, w);
    // The fallback is a smoother too: weight 1/k on each of the k nearest
    // points (w holds their distances now). Its H_ii counts in aic's trace,
    // or a bandwidth that isolates every point (an ordered column's lambda
    // 1) would interpolate with a trace of 0 and score aic = -inf.
    if (self >= 0) {
      const double best = *std::min_element(w, w + n);
      if (w[self] == best) out.self_hat = 1.0 / static_cast<double>(std::count(w, w + n, best));
    }
    return out;
  }
  // Pass 2: weights and weighted means.
  exp_shifted(logw, w, n, top);
  const double W = sum(w, n);
  const double ybar = dot(w, p.y.data(), n) / W;
  const double self_w = self >= 0 ? w[self] / W : 0.0;

  if (p.reg == RegType::local_constant) {
    out.mean = ybar;
    out.self_hat = self_w;
    if (gradient.empty()) return out;
    // dm/dz_f = sum_j w_j (y_j - m) dlog w_j / dz_f / W, continuous columns.
    for (index_t f = 0; f < d; ++f) {
      const auto fu = static_cast<std::size_t>(f);
      if (p.types[fu] != VarType::continuous) continue;
      const double* x = p.cols.data() + f * n;
      const double zf = z[fu];
      double g = 0;
      if (p.kernel == Kernel::gaussian && p.bwtype != BandwidthType::adaptive_nn) {
        // (x - z) / h^2 per point: the centred sums keep it exact near the mean.
        g = centred_dot(w, x, zf, p.y.data(), ybar, n) / (s.h[fu] * s.h[fu]);
      } else {
        const double* ha = p.bwtype == BandwidthType::adaptive_nn ? p.adaptive_h.data() + f * n
                                                                  : nullptr;
        for (index_t j = 0; j < n; ++j) {
          if (w[j] == 0) continue;
          const double h = ha ? ha[j] : s.h[fu];
          const double u = (x[j] - zf) / h;
          g += w[j] * (p.y[static_cast<std::size_t>(j)] - ybar) * dlog_kernel(p.kernel, u, h);
        }
      }
      gradient[fu] = g / W;
    }
    return out;
  }

  // Local-linear. Weighted means of the columns, then the centred scatter.
  std::vector<double> xbar(static_cast<std::size_t>(d)), scale(static_cast<std::size_t>(d));
  for (index_t f = 0; f < d; ++f) xbar[static_cast<std::size_t>(f)] = dot(w, &p.cols[f * n], n) / W;
  const auto du = static_cast<std::size_t>(d);
  std::vector<double> S(du * du), C(du), v(du);
  std::vector<char> dropped(du, 0);
  for (index_t a = 0; a < d; ++a) {
    const auto au = static_cast<std::size_t>(a);
    const double saa = centred_dot(w, &p.cols[a * n], xbar[au], &p.cols[a * n], xbar[au], n);
    // A column (nearly) constant among the weighted points: unidentified.
    if (!(saa > W * p.var[au] * 1e-16) || !(saa > 0)) {
      dropped[au] = 1;
      scale[au] = 1;
      continue;
    }
    scale[au] = std::sqrt(saa);
  }
  for (index_t a = 0; a < d; ++a) {
    const auto au = static_cast<std::size_t>(a);
    if (dropped[au]) continue;
    S[au * du + au] = 1;
    for (index_t b = a + 1; b < d; ++b) {
      const auto bu = static_cast<std::size_t>(b);
      if (dropped[bu]) continue;
      S[au * du + bu] = centred_dot(w, &p.cols[a * n], xbar[au], &p.cols[b * n], xbar[bu], n) /
                        (scale[au] * scale[bu]);
    }
    C[au] = centred_dot(w, &p.cols[a * n], xbar[au], p.y.data(), ybar, n) / scale[au];
    v[au] = (z[au] - xbar[au]) / scale[au];
  }
  // Cholesky S = L L^T in place (lower triangle in S[b * d + a], b >= a),
  // dropping directions whose pivot is below kPivotTol.
  for (index_t a = 0; a < d; ++a) {
    const auto au = static_cast<std::size_t>(a);
    if (dropped[au]) continue;
    double piv = S[au * du + au];
    for (index_t k = 0; k < a; ++k) {
      if (!dropped[static_cast<std::size_t>(k)]) piv -= S[au * du + k] * S[au * du + k];
    }
    if (!(piv > kPivotTol)) {
      dropped[au] = 1;
      continue;
    }
    const double l = std::sqrt(piv);
    S[au * du + au] = l;
    for (index_t b = a + 1; b < d; ++b) {
      const auto bu = static_cast<std::size_t>(b);
      if (dropped[bu]) continue;
      double t = S[au * du + bu];  // upper triangle: the original S_ab
      for (index_t k = 0; k < a; ++k) {
        if (!dropped[static_cast<std::size_t>(k)]) t -= S[bu * du + k] * S[au * du + k];
      }
      S[bu * du + au] = t / l;
    }
  }
  // Solve L t = C and L t2 = v (forward), then L^T b = t (backward).
  std::vector<double> t(du, 0.0), t2(du, 0.0), b(du, 0.0);
  for (index_t a = 0; a < d; ++a) {
    const auto au = static_cast<std::size_t>(a);
    if (dropped[au]) continue;
    double r = C[au], r2 = v[au];
    for (index_t k = 0; k < a; ++k) {
      const auto ku = static_cast<std::size_t>(k);
      if (dropped[ku]) continue;
      r -= S[au * du + ku] * t[ku];
      r2 -= S[au * du + ku] * t2[ku];
    }
    t[au] = r / S[au * du + au];
    t2[au] = r2 / S[au * du + au];
  }
  for (index_t a = d - 1; a >= 0; --a) {
    const auto au = static_cast<std::size_t>(a);
    if (dropped[au]) continue;
    double r = t[au];
    for (index_t k = a + 1; k < d; ++k) {
      const auto ku = static_cast<std::size_t>(k);
      if (!dropped[ku]) r -= S[ku * du + au] * b[ku];
    }
    b[au] = r / S[au * du + au];
  }
  double mean = ybar, q = 0;
  for (index_t a = 0; a < d; ++a) {
    const auto au = static_cast<std::size_t>(a);
    out.rank_deficient = out.rank_deficient || dropped[au];
    if (dropped[au]) continue;
    mean += b[au] * v[au];
    q += t2[au] * t2[au];
    if (!gradient.empty()) gradient[au] = b[au] / scale[au];
  }
  out.mean = mean;
  // H_ii = w_i / W + w_i (z - xbar)^T S^-1 (z - xbar) (S unnormalised, in
  // the same shifted weights); in the scaled coordinates the quadratic form
  // is q = |L^-1 v|^2 over the identified directions.
  out.self_hat = self >= 0 ? self_w + w[self] * q : 0.0;
  return out;
}

}  // namespace kreg::local
