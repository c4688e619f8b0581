// local/select.cpp - bandwidth selection (cv_ls, aic) and the pairs
// bootstrap for KernelRegression (kreg/kernel_regression.hpp).
#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <limits>

#include "kreg/error.hpp"
#include "kreg/interrupt.hpp"
#include "kreg/kernel_regression.hpp"
#include "kreg/optimize.hpp"
#include "kreg/par.hpp"
#include "kreg/random.hpp"
#include "system/simd_target.hpp"

namespace kreg {
namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();

struct Column {
  VarType type = VarType::continuous;
  double upper = 1;  // lambda's upper bound (discrete)
};

std::vector<Column> columns_of(MatrixView<const double> X, const KernelRegressionOptions& o) {
  std::vector<Column> cols(static_cast<std::size_t>(X.cols()));
  for (index_t f = 0; f < X.cols(); ++f) {
    Column& c = cols[static_cast<std::size_t>(f)];
    c.type = o.var_type.empty() ? VarType::continuous : o.var_type[static_cast<std::size_t>(f)];
    if (c.type == VarType::unordered && o.discrete == DiscreteKernels::statsmodels) {
      std::vector<double> lv(static_cast<std::size_t>(X.rows()));
      for (index_t j = 0; j < X.rows(); ++j) lv[static_cast<std::size_t>(j)] = X(j, f);
      std::sort(lv.begin(), lv.end());
      const auto levels = static_cast<double>(std::unique(lv.begin(), lv.end()) - lv.begin());
      c.upper = levels <= 1 ? 0.0 : (levels - 1) / levels;
    }
  }
  return cols;
}

// Optimiser coordinates <-> bandwidths: log h (fixed), log k (nn, rounded
// to a whole k in [1, n - 1]), and lambda = upper / (1 + e^-t) (discrete).
std::vector<double> to_bandwidth(std::span<const double> t, const std::vector<Column>& cols,
                                 BandwidthType bwtype, index_t n) {
  std::vector<double> bw(t.size());
  for (std::size_t f = 0; f < t.size(); ++f) {
    if (cols[f].type == VarType::continuous) {
      bw[f] = std::exp(t[f]);
      if (bwtype != BandwidthType::fixed) {
        bw[f] = std::clamp(std::round(bw[f]), 1.0, static_cast<double>(n - 1));
      }
    } else {
      bw[f] = cols[f].upper / (1 + std::exp(-t[f]));
    }
  }
  return bw;
}

double from_lambda(double lambda, double upper) {
  if (!(upper > 0)) return 0;  // one level: lambda is 0 whatever t is
  const double r = std::clamp(lambda / upper, 1e-6, 1 - 1e-6);
  return std::log(r / (1 - r));
}

}  // namespace

KernelSelectResult select_kernel_bandwidth(MatrixView<const double> X, std::span<const double> y,
                                           const KernelRegressionOptions& options,
                                           const KernelSelectOptions& select,
                                           const CancelToken* cancel) {
  detail::use_simd_target();
  const index_t n = X.rows(), d = X.cols();
  if (select.restarts < 0) throw ArgumentError("restarts must be >= 0");
  if (select.max_evaluations < 1) throw ArgumentError("max_evaluations must be >= 1");
  // A first fit checks the data and var_type with a valid bandwidth.
  const std::vector<Column> cols = columns_of(X, options);
  if (!options.var_type.empty() && static_cast<index_t>(options.var_type.size()) != d) {
    throw ArgumentError(fmt::format(
        "var_type has {} letters but the data have {} columns; give one letter (c, o or u) per "
        "column",
        options.var_type.size(), d));
  }
  std::vector<double> start = select.initial;
  if (start.empty()) {
    // statsmodels' start: 1.06 sd n^(-1/(4 + d)) for every column; nn: sqrt(n).
    start.resize(static_cast<std::size_t>(d));
    for (index_t f = 0; f < d; ++f) {
      const auto fu = static_cast<std::size_t>(f);
      double mean = 0, var = 0;
      for (index_t j = 0; j < n; ++j) mean += X(j, f);
      mean /= static_cast<double>(std::max<index_t>(n, 1));
      for (index_t j = 0; j < n; ++j) var += (X(j, f) - mean) * (X(j, f) - mean);
      const double sd = std::sqrt(var / static_cast<double>(std::max<index_t>(n, 1)));
      const double h0 =
          1.06 * sd * std::pow(static_cast<double>(n), -1.0 / (4.0 + static_cast<double>(d)));
      if (cols[fu].type != VarType::continuous) {
        start[fu] = std::min(h0 > 0 ? h0 : 0.5 * cols[fu].upper, 0.9 * cols[fu].upper);
      } else if (options.bwtype != BandwidthType::fixed) {
        start[fu] = std::clamp(std::round(std::sqrt(static_cast<double>(n))), 1.0,
                               static_cast<double>(std::max<index_t>(n - 1, 1)));
      } else {
        start[fu] = h0 > 0 ? h0 : 1.0;
      }
    }
  }
  if (static_cast<index_t>(start.size()) != d) {
    throw ArgumentError(fmt::format("{} initial bandwidths for {} columns", start.size(), d));
  }
  KernelRegressionOptions o = options;
  o.bandwidth = start;
  KernelRegression(o).fit(X, y);  // ArgumentError for bad data or a bad start

  std::vector<double> t0(static_cast<std::size_t>(d));
  for (std::size_t f = 0; f < t0.size(); ++f) {
    t0[f] = cols[f].type == VarType::continuous ? std::log(start[f])
                                                : from_lambda(start[f], cols[f].upper);
  }
  const auto objective = [&](std::span<const double> t) {
    throw_if_cancelled(cancel);
    KernelRegressionOptions trial = options;
    trial.bandwidth = to_bandwidth(t, cols, options.bwtype, n);
    for (std::size_t f = 0; f < t.size(); ++f) {
      const double b = trial.bandwidth[f];
      if (!std::isfinite(b) || (cols[f].type == VarType::continuous && !(b > 0))) return kInf;
    }
    return KernelRegression(trial).fit(X, y).criterion(select.criterion, cancel);
  };
  // Tolerances: 1e-4 in log h (a relative 1e-4 in h, statsmodels' fmin's
  // xtol at h ~ 1) and 1e-8 in the criterion, relative to its value at the
  // start for cv_ls (a mean squared error, on y's scale) and absolute for
  // aic (already a logarithm). Tighter ones only add evaluations that move
  // the criterion in digits no one reads.
  const double f0 = objective(t0);
  const double scale =
      select.criterion == Criterion::cv_ls && std::isfinite(f0) && f0 > 0 ? 1 / f0 : 1.0;
  const auto scaled = [&](std::span<const double> t) { return objective(t) * scale; };
  NelderMeadOptions nm;
  nm.max_evaluations = select.max_evaluations;
  nm.xtol = 1e-4;
  nm.ftol = 1e-8;
  // From the start with a narrow simplex (0.05 in log h, statsmodels'
  // fmin's 5% first step), which follows the nearest basin as statsmodels'
  // search does; `restarts` add runs with a wider one.
  NelderMeadOptions narrow = nm;
  narrow.initial_step.assign(t0.size(), 0.05);
  OptimizeResult best = nelder_mead(scaled, t0, narrow);
  int evaluations = best.evaluations + 1;
  // Each restart explores with a wide simplex (0.5 in log h: a factor 1.6),
  // from the start first and then from the best point so far, to a loose
  // tolerance (1e-2 in log h, 1e-5 in the criterion); where it finds a
  // better basin, a narrow run from there polishes it to the tolerances
  // above. cv_ls surfaces can have several minima.
  NelderMeadOptions explore = nm;
  explore.xtol = 1e-2;
  explore.ftol = 1e-5;
  for (int r = 0; r < select.restarts; ++r) {
    OptimizeResult next = nelder_mead(scaled, r == 0 ? t0 : best.x, explore);
    evaluations += next.evaluations;
    if (!(next.fx < best.fx)) continue;
    OptimizeResult polished = nelder_mead(scaled, next.x, narrow);
    evaluations += polished.evaluations;
    best = polished.fx <= next.fx ? std::move(polished) : std::move(next);
  }
  // The criterion at the choice, unscaled (the same call a user makes).
  best.fx = objective(best.x);
  ++evaluations;
  KernelSelectResult out;
  out.bandwidth = to_bandwidth(best.x, cols, options.bwtype, n);
  out.objective = best.fx;
  out.evaluations = evaluations;
  out.converged = best.converged;
  return out;
}

BootstrapResult bootstrap_kernel_regression(MatrixView<const double> X, std::span<const double> y,
                                            MatrixView<const double> Z,
                                            const KernelRegressionOptions& options, int replicates,
                                            std::uint64_t seed, bool gradients,
                                            const CancelToken* cancel) {
  detail::use_simd_target();
  if (replicates < 2) {
    throw ArgumentError(fmt::format(
        "bootstrap needs at least 2 replicates for a standard error; got {}", replicates));
  }
  KernelRegression(options).fit(X, y);  // the arguments' errors, before any replicate
  const index_t n = X.rows(), d = X.cols(), m = Z.rows();
  struct Replicate {
    std::vector<double> mean;
    Matrix<double> gradient;
  };
  par::Options po;
  po.n_jobs = options.n_jobs;
  po.cancel = cancel;
  po.seed = seed;
  const std::vector<Replicate> reps = par::parallel_map(
      replicates,
      [&](index_t, std::uint64_t task_seed) {
        LegacyRandom rng(static_cast<std::uint32_t>(task_seed ^ (task_seed >> 32)));
        Matrix<double> Xb(n, d);
        std::vector<double> yb(static_cast<std::size_t>(n));
        for (index_t i = 0; i < n; ++i) {
          const auto j = static_cast<index_t>(rng.interval(static_cast<std::uint64_t>(n - 1)));
          for (index_t f = 0; f < d; ++f) Xb(i, f) = X(j, f);
          yb[static_cast<std::size_t>(i)] = y[static_cast<std::size_t>(j)];
        }
        KernelRegressionOptions o = options;
        o.n_jobs = 1;  // the replicates are the parallel loop
        // A resample can lose levels of an unordered column, which narrows
        // Aitchison-Aitken's range (c - 1) / c: keep lambda inside it.
        const std::vector<Column> rc = columns_of(Xb.view(), options);
        for (std::size_t f = 0; f < rc.size(); ++f) {
          if (rc[f].type != VarType::continuous)
            o.bandwidth[f] = std::min(o.bandwidth[f], rc[f].upper);
        }
        KernelFit fit = KernelRegression(o).fit(Xb.view(), yb).predict(Z, gradients, cancel);
        return Replicate{std::move(fit.mean), std::move(fit.gradient)};
      },
      po);
  BootstrapResult out;
  out.replicates = replicates;
  out.mean_se.assign(static_cast<std::size_t>(m), 0.0);
  if (gradients) out.gradient_se = Matrix<double>(m, d);
  const auto B = static_cast<double>(replicates);
  const auto sd = [&](auto value) {  // two passes, in replicate order
    double mean = 0;
    for (int b = 0; b < replicates; ++b) mean += value(b);
    mean /= B;
    double ss = 0;
    for (int b = 0; b < replicates; ++b) ss += (value(b) - mean) * (value(b) - mean);
    return std::sqrt(ss / (B - 1));
  };
  for (index_t i = 0; i < m; ++i) {
    out.mean_se[static_cast<std::size_t>(i)] = sd(
        [&](int b) { return reps[static_cast<std::size_t>(b)].mean[static_cast<std::size_t>(i)]; });
    if (!gradients) continue;
    for (index_t f = 0; f < d; ++f) {
      out.gradient_se(i, f) =
          sd([&](int b) { return reps[static_cast<std::size_t>(b)].gradient(i, f); });
    }
  }
  return out;
}

}  // namespace kreg
