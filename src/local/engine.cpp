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
// The passes are local/simd.hpp's vector loops over the padded columns; a
// query's result is the same on any thread.
#include "local/engine.hpp"

#include <algorithm>
#include <cmath>
#include <limits>

#include "local/simd.hpp"

namespace kreg::local {
namespace {

constexpr double kNegInf = -std::numeric_limits<double>::infinity();
// Relative pivot below which a direction of the scaled local design counts
// as unidentified (about 1e6 times double's epsilon: a condition number past
// 1e10 leaves fewer than 6 good digits in the slopes).
constexpr double kPivotTol = 1e-10;

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
  const double* x = p.col(f);
  const auto fu = static_cast<std::size_t>(f);
  if (p.types[fu] != VarType::continuous) {
    add_discrete(x, zf, p.log_eq[fu], p.log_ne[fu], p.log_lambda[fu], p.power[fu] != 0, logw, p.np);
  } else if (p.bwtype == BandwidthType::adaptive_nn) {
    const double* h = p.adaptive_h.data() + f * p.np;
    for (index_t j = 0; j < n; ++j) logw[j] += log_kernel(p.kernel, (x[j] - zf) / h[j]);
  } else if (p.kernel == Kernel::gaussian) {
    add_gaussian(x, zf, -0.5 / (hq * hq), logw, p.np);
  } else {
    const double inv = 1 / hq;
    for (index_t j = 0; j < n; ++j) logw[j] += log_kernel(p.kernel, (x[j] - zf) * inv);
  }
}

// Mean y of the training points nearest to z (scaled distance over the
// continuous columns plus mismatched discrete levels), for a query with no
// weight at all.
double nearest_mean(const KernelRegression::Prepared& p, std::span<const double> z, index_t exclude,
                    std::span<const index_t> fold_of, double* dist) {
  const index_t n = p.n;
  std::fill(dist, dist + n, 0.0);
  for (index_t f = 0; f < p.d; ++f) {
    const double* x = p.col(f);
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
  if (exclude >= 0 && !fold_of.empty()) {
    for (index_t j = 0; j < n; ++j) {
      if (fold_of[static_cast<std::size_t>(j)] == fold_of[static_cast<std::size_t>(exclude)]) {
        dist[j] = std::numeric_limits<double>::infinity();
      }
    }
  }
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
    const double dh =
        hi < n ? sorted[static_cast<std::size_t>(hi)] - v : std::numeric_limits<double>::infinity();
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

QueryFit fit_query(const KernelRegression::Prepared& p, std::span<const double> z, index_t exclude,
                   index_t self, std::span<double> gradient, Scratch& s,
                   std::span<const index_t> fold_of) {
  const index_t n = p.n, d = p.d, np = p.np;
  const auto nu = static_cast<std::size_t>(np);
  if (s.logw.size() < nu) {
    s.logw.resize(nu);
    s.w.resize(nu);
  }
  s.h.assign(static_cast<std::size_t>(d), 1.0);
  double* logw = s.logw.data();
  double* w = s.w.data();
  std::fill(gradient.begin(), gradient.end(), 0.0);

  // Pass 1: log-weights and their largest.
  for (index_t f = 0; f < d; ++f) {
    const auto fu = static_cast<std::size_t>(f);
    if (p.types[fu] != VarType::continuous) continue;
    if (p.bwtype == BandwidthType::fixed) {
      s.h[fu] = p.bandwidth[fu];
    } else if (p.bwtype == BandwidthType::generalized_nn) {
      s.h[fu] =
          kth_distance(p.sorted[fu], z[fu], static_cast<index_t>(p.bandwidth[fu]), exclude >= 0);
    }
  }
  double top;
  bool exclude_done = false;                // the fused pass left the point out already
  if (p.gaussian_only && d <= kMaxFused) {  // one fused pass
    double c[kMaxFused];
    for (index_t f = 0; f < d; ++f) {
      const double h = s.h[static_cast<std::size_t>(f)];
      c[f] = -0.5 / (h * h);
    }
    top = gaussian_log_weights(p.cols.data(), n, np, d, z.data(), c, exclude, logw);
    if (exclude >= 0 && fold_of.empty()) exclude_done = true;
  } else {
    if (p.bwtype == BandwidthType::adaptive_nn) {
      std::copy(p.adaptive_log_norm.begin(), p.adaptive_log_norm.end(), logw);
    } else {
      std::fill(logw, logw + n, 0.0);
      std::fill(logw + n, logw + np, kNegInf);
    }
    for (index_t f = 0; f < d; ++f) {
      add_column(p, f, z[static_cast<std::size_t>(f)], s.h[static_cast<std::size_t>(f)], logw);
    }
    top = max_of(logw, np);
  }
  if (exclude >= 0 && !exclude_done) {
    logw[exclude] = kNegInf;
    if (!fold_of.empty()) {
      const index_t fold = fold_of[static_cast<std::size_t>(exclude)];
      for (index_t j = 0; j < n; ++j) {
        if (fold_of[static_cast<std::size_t>(j)] == fold) logw[j] = kNegInf;
      }
    }
    top = max_of(logw, np);
  }

  QueryFit out;
  if (!(top > kNegInf)) {  // no weight anywhere: the nearest points' mean
    out.isolated = true;
    out.mean = nearest_mean(p, z, exclude, fold_of, w);
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
  // Pass 2: weights and their sums (ll: also the weighted column sums,
  // fused for up to kMaxFused columns).
  const bool fused = p.reg == RegType::local_linear && d <= kMaxFused;
  const auto du = static_cast<std::size_t>(d);
  s.ll.assign(9 * du + du * du + 2, 0.0);  // one allocation per thread, reused
  double* sums = s.ll.data();              // W, sum w y, sum w x_a
  exp_sums(logw, top, w, p.y.data(), p.cols.data(), np, fused ? d : 0, sums);
  const double W = sums[0];
  const double ybar = sums[1] / W;
  const double self_w = self >= 0 ? w[self] / W : 0.0;

  if (p.reg == RegType::local_constant) {
    out.mean = ybar;
    out.self_hat = self_w;
    if (gradient.empty()) return out;
    // dm/dz_f = sum_j w_j (y_j - m) dlog w_j / dz_f / W, continuous columns.
    for (index_t f = 0; f < d; ++f) {
      const auto fu = static_cast<std::size_t>(f);
      if (p.types[fu] != VarType::continuous) continue;
      const double* x = p.col(f);
      const double zf = z[fu];
      double g = 0;
      if (p.kernel == Kernel::gaussian && p.bwtype != BandwidthType::adaptive_nn) {
        // (x - z) / h^2 per point: the centred sums keep it exact near the mean.
        g = centred_dot(w, x, zf, p.y.data(), ybar, np) / (s.h[fu] * s.h[fu]);
      } else {
        const double* ha =
            p.bwtype == BandwidthType::adaptive_nn ? p.adaptive_h.data() + f * np : nullptr;
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
  double* xbar = sums + 2 + du;
  double* C = xbar + du;
  double* v = C + du;
  double* work = v + du;      // 5 d
  double* S = work + 5 * du;  // d x d: the upper triangle
  for (index_t f = 0; f < d; ++f) {
    const auto fu = static_cast<std::size_t>(f);
    xbar[fu] = (fused ? sums[2 + fu] : dot(w, p.col(f), np)) / W;
  }
  if (fused) {
    centred_moments(w, p.cols.data(), np, d, xbar, p.y.data(), ybar, S, C);
  } else {
    for (index_t a = 0; a < d; ++a) {
      const auto au = static_cast<std::size_t>(a);
      for (index_t c = a; c < d; ++c) {
        S[au * du + static_cast<std::size_t>(c)] =
            centred_dot(w, p.col(a), xbar[au], p.col(c), xbar[c], np);
      }
      C[au] = centred_dot(w, p.col(a), xbar[au], p.y.data(), ybar, np);
    }
  }
  for (index_t a = 0; a < d; ++a) {
    const auto au = static_cast<std::size_t>(a);
    v[au] = z[au] - xbar[au];
  }
  // A column (nearly) constant among the weighted points is unidentified.
  const LinearSolve solved =
      solve_local_linear(d, S, C, v, W * 1e-16, p.var.data(), kPivotTol, gradient, work);
  out.mean = ybar + solved.delta;
  out.rank_deficient = solved.rank_deficient;
  // H_ii = w_i / W + w_i (z - xbar)^T S^-1 (z - xbar) (S unnormalised, in
  // the same shifted weights).
  out.self_hat = self >= 0 ? self_w + w[self] * solved.q : 0.0;
  return out;
}

LinearSolve solve_local_linear(index_t d, double* S, double* C, double* v, double floor_scale,
                               const double* floor_ref, double pivot_tol, std::span<double> slopes,
                               double* work) {
  const auto du = static_cast<std::size_t>(d);
  double* scale = work;
  double* t = scale + du;
  double* t2 = t + du;
  double* b = t2 + du;
  double* dropped = b + du;  // 0 or 1
  for (index_t a = 0; a < d; ++a) {
    const auto au = static_cast<std::size_t>(a);
    const double saa = S[au * du + au];
    dropped[au] = 0;
    if (!(saa > floor_scale * floor_ref[au]) || !(saa > 0)) {
      dropped[au] = 1;
      scale[au] = 1;
      continue;
    }
    scale[au] = std::sqrt(saa);
  }
  // Scale to unit diagonal.
  for (index_t a = 0; a < d; ++a) {
    const auto au = static_cast<std::size_t>(a);
    if (dropped[au]) continue;
    S[au * du + au] = 1;
    for (index_t c = a + 1; c < d; ++c) {
      const auto bu = static_cast<std::size_t>(c);
      if (!dropped[bu]) S[au * du + bu] /= scale[au] * scale[bu];
    }
    C[au] /= scale[au];
    v[au] /= scale[au];
  }
  // Cholesky S = L L^T in place (lower triangle in S[c * d + a], c >= a),
  // dropping directions whose pivot is below pivot_tol.
  double min_pivot = 1;
  for (index_t a = 0; a < d; ++a) {
    const auto au = static_cast<std::size_t>(a);
    if (dropped[au]) continue;
    double piv = S[au * du + au];
    for (index_t k = 0; k < a; ++k) {
      if (!dropped[static_cast<std::size_t>(k)]) piv -= S[au * du + k] * S[au * du + k];
    }
    if (!(piv > pivot_tol)) {
      dropped[au] = 1;
      continue;
    }
    min_pivot = std::min(min_pivot, piv);
    const double l = std::sqrt(piv);
    S[au * du + au] = l;
    for (index_t c = a + 1; c < d; ++c) {
      const auto bu = static_cast<std::size_t>(c);
      if (dropped[bu]) continue;
      double e = S[au * du + bu];  // upper triangle: the original S_ac
      for (index_t k = 0; k < a; ++k) {
        if (!dropped[static_cast<std::size_t>(k)]) e -= S[bu * du + k] * S[au * du + k];
      }
      S[bu * du + au] = e / l;
    }
  }
  // Solve L t = C and L t2 = v (forward), then L^T b = t (backward).
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
  LinearSolve out;
  out.min_pivot = min_pivot;
  for (index_t a = 0; a < d; ++a) {
    const auto au = static_cast<std::size_t>(a);
    out.rank_deficient = out.rank_deficient || dropped[au] != 0;
    if (!slopes.empty()) slopes[au] = dropped[au] ? 0.0 : b[au] / scale[au];
    if (dropped[au]) continue;
    out.delta += b[au] * v[au];
    // In the scaled coordinates v^T S^-1 v is |L^-1 v|^2 over the identified
    // directions.
    out.q += t2[au] * t2[au];
  }
  return out;
}

}  // namespace kreg::local
