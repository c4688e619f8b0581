// local/kernel_regression.cpp - KernelRegression: options, fit, predictions
// and the bandwidth criteria (kreg/kernel_regression.hpp).
#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>

#include "core/validate.hpp"
#include "kreg/error.hpp"
#include "kreg/interrupt.hpp"
#include "kreg/par.hpp"
#include "local/engine.hpp"
#include "local/seam.hpp"
#include "local/simd.hpp"
#include "nw/backend.hpp"
#include "system/simd_target.hpp"

namespace kreg {
namespace {

constexpr std::string_view kRegNames[] = {"lc", "ll"};
constexpr std::string_view kBwTypeNames[] = {"fixed", "generalized_nn", "adaptive_nn"};
constexpr std::string_view kCriterionNames[] = {"cv_ls", "aic"};
constexpr std::string_view kDiscreteNames[] = {"statsmodels", "li_racine"};

template <class E, std::size_t N>
E parse_name(std::string_view name, const std::string_view (&names)[N], std::string_view what) {
  for (std::size_t i = 0; i < N; ++i) {
    if (name == names[i]) return static_cast<E>(i);
  }
  std::string list;
  for (std::size_t i = 0; i < N; ++i) {
    list += fmt::format("{}{}", i == 0 ? "" : (i + 1 == N ? " or " : ", "), names[i]);
  }
  throw ArgumentError(fmt::format("unknown {} '{}'; choose {}", what, name, list));
}

// Queries per parallel task: enough to amortise the scheduling, few enough
// to balance two threads on a few hundred queries.
constexpr index_t kQueriesPerTask = 16;

using Prepared = KernelRegression::Prepared;

// Runs fn(i, scratch, gradient_row) for every query i in parallel; the
// report's counts are summed per query, in query order.
template <class Fn>
KernelFit run_queries(index_t m, index_t d, bool gradients, int n_jobs, const CancelToken* cancel,
                      Fn&& fn) {
  KernelFit out;
  out.mean.assign(static_cast<std::size_t>(m), 0.0);
  if (gradients) out.gradient = Matrix<double>(m, d);
  std::vector<unsigned char> flags(static_cast<std::size_t>(m), 0);
  const index_t tasks = (m + kQueriesPerTask - 1) / kQueriesPerTask;
  par::Options options;
  options.n_jobs = n_jobs;
  options.cancel = cancel;
  par::parallel_for(
      tasks,
      [&](index_t t) {
        local::Scratch scratch;
        const index_t end = std::min(m, (t + 1) * kQueriesPerTask);
        for (index_t i = t * kQueriesPerTask; i < end; ++i) {
          throw_if_cancelled(cancel);
          std::span<double> g = gradients ? out.gradient.view().row(i) : std::span<double>();
          const local::QueryFit q = fn(i, scratch, g);
          out.mean[static_cast<std::size_t>(i)] = q.mean;
          flags[static_cast<std::size_t>(i)] =
              static_cast<unsigned char>((q.isolated ? 1 : 0) | (q.rank_deficient ? 2 : 0));
        }
      },
      options);
  for (unsigned char f : flags) {
    out.report.isolated += f & 1;
    out.report.rank_deficient += (f >> 1) & 1;
  }
  return out;
}

// The seam's fits (local/seam.hpp), with the queries it hands back refitted
// by fn(i, scratch, gradient_row) on the local engine.
template <class Fn>
KernelFit with_refits(local::SeamFit seam, index_t d, bool gradients, int n_jobs,
                      const CancelToken* cancel, Fn&& fn) {
  KernelFit out = std::move(seam.fit);
  const auto r = static_cast<index_t>(seam.refit.size());
  if (r == 0) return out;
  const KernelFit local = run_queries(r, d, gradients, n_jobs, cancel,
                                      [&](index_t t, local::Scratch& s, std::span<double> g) {
                                        return fn(seam.refit[static_cast<std::size_t>(t)], s, g);
                                      });
  for (index_t t = 0; t < r; ++t) {
    const index_t i = seam.refit[static_cast<std::size_t>(t)];
    out.mean[static_cast<std::size_t>(i)] = local.mean[static_cast<std::size_t>(t)];
    for (index_t f = 0; f < d && gradients; ++f) out.gradient(i, f) = local.gradient(t, f);
  }
  out.report.isolated += local.report.isolated;
  out.report.rank_deficient += local.report.rank_deficient;
  out.report.refitted = r;
  return out;
}

// Training point i as a query (already centred), in the scratch's z.
std::span<const double> training_point(const Prepared& p, index_t i, local::Scratch& s) {
  s.z.resize(static_cast<std::size_t>(p.d));
  for (index_t f = 0; f < p.d; ++f) s.z[static_cast<std::size_t>(f)] = p.x(f, i);
  return s.z;
}

// The fit at every training point with each point's own weight H_ii in
// `hat`: what the hat trace and aic need, in one pass.
KernelFit fit_in_sample(const Prepared& p, int n_jobs, const CancelToken* cancel,
                        std::vector<double>& hat) {
  hat.assign(static_cast<std::size_t>(p.n), 0.0);
  return run_queries(
      p.n, p.d, false, n_jobs, cancel, [&](index_t i, local::Scratch& s, std::span<double>) {
        const local::QueryFit q = local::fit_query(p, training_point(p, i, s), -1, i, {}, s);
        hat[static_cast<std::size_t>(i)] = q.self_hat;
        return q;
      });
}

// Column f's bounds for lambda (discrete) given its level count.
double lambda_upper(const KernelRegressionOptions& o, VarType type, std::size_t levels) {
  if (type == VarType::unordered && o.discrete == DiscreteKernels::statsmodels) {
    return levels <= 1 ? 0.0 : static_cast<double>(levels - 1) / static_cast<double>(levels);
  }
  return 1.0;
}

}  // namespace

RegType parse_reg_type(std::string_view name) {
  return parse_name<RegType>(name, kRegNames, "regression type (--reg)");
}
BandwidthType parse_bandwidth_type(std::string_view name) {
  return parse_name<BandwidthType>(name, kBwTypeNames, "bandwidth type (--bwtype)");
}
Criterion parse_criterion(std::string_view name) {
  return parse_name<Criterion>(name, kCriterionNames, "bandwidth criterion (--select)");
}
DiscreteKernels parse_discrete_kernels(std::string_view name) {
  return parse_name<DiscreteKernels>(name, kDiscreteNames, "discrete kernels");
}
std::string_view to_string(RegType reg) { return kRegNames[static_cast<int>(reg)]; }
std::string_view to_string(BandwidthType t) { return kBwTypeNames[static_cast<int>(t)]; }
std::string_view to_string(Criterion c) { return kCriterionNames[static_cast<int>(c)]; }
std::string_view to_string(DiscreteKernels k) { return kDiscreteNames[static_cast<int>(k)]; }

std::vector<VarType> parse_var_type(std::string_view letters) {
  std::vector<VarType> out;
  for (std::size_t i = 0; i < letters.size(); ++i) {
    const char c = letters[i];
    if (c != 'c' && c != 'o' && c != 'u') {
      throw ArgumentError(fmt::format(
          "var_type '{}': character {} is '{}'; use one letter per column: c (continuous), "
          "o (ordered) or u (unordered), e.g. 'cco'",
          letters, i + 1, c));
    }
    out.push_back(static_cast<VarType>(c));
  }
  return out;
}

KernelRegression::KernelRegression(KernelRegressionOptions options) : options_(std::move(options)) {
  (void)resolve_n_jobs(options_.n_jobs);  // ArgumentError now, not at predict
}

KernelRegression& KernelRegression::fit(MatrixView<const double> X, std::span<const double> y) {
  // KREG_SIMD_TARGET before the local engine first dispatches (its kernels
  // run only on a fitted model).
  detail::use_simd_target();
  const index_t n = X.rows(), d = X.cols();
  if (n < 2 || d < 1) {
    throw ArgumentError(fmt::format(
        "kernel regression needs at least 2 training points and 1 feature; got {} x {}", n, d));
  }
  if (static_cast<index_t>(y.size()) != n) {
    throw ArgumentError(fmt::format("X has {} rows but y has {} values", n, y.size()));
  }
  detail::require_finite(X, "X", "kernel regression needs finite training data");
  for (std::size_t j = 0; j < y.size(); ++j) {
    if (!std::isfinite(y[j])) {
      throw ArgumentError(fmt::format("y[{}] is {}; kernel regression needs finite targets", j,
                                      std::isnan(y[j]) ? "NaN" : "infinite"));
    }
  }
  const KernelRegressionOptions& o = options_;
  std::vector<VarType> types = o.var_type;
  if (types.empty()) types.assign(static_cast<std::size_t>(d), VarType::continuous);
  if (static_cast<index_t>(types.size()) != d) {
    throw ArgumentError(fmt::format(
        "var_type has {} letters but the data have {} columns; give one letter (c, o or u) per "
        "column",
        types.size(), d));
  }
  if (static_cast<index_t>(o.bandwidth.size()) != d) {
    throw ArgumentError(fmt::format(
        "{} bandwidths for {} columns; give one per column (or select them: cv_ls, aic)",
        o.bandwidth.size(), d));
  }

  auto p = std::make_shared<Prepared>();
  p->n = n;
  p->d = d;
  p->reg = o.reg;
  p->kernel = o.kernel;
  p->bwtype = o.bwtype;
  p->types = types;
  p->gaussian_only =
      o.kernel == Kernel::gaussian && o.bwtype != BandwidthType::adaptive_nn &&
      std::all_of(types.begin(), types.end(), [](VarType t) { return t == VarType::continuous; });
  p->bandwidth = o.bandwidth;
  p->np = local::padded(n);
  const auto du = static_cast<std::size_t>(d), nu = static_cast<std::size_t>(p->np);
  p->y.assign(nu, 0.0);
  std::copy(y.begin(), y.end(), p->y.begin());
  p->center.assign(du, 0.0);
  p->var.assign(du, 0.0);
  p->cols.assign(du * nu, 0.0);
  p->log_eq.assign(du, 0.0);
  p->log_ne.assign(du, 0.0);
  p->log_lambda.assign(du, 0.0);
  p->power.assign(du, 0);
  p->fallback_scale.assign(du, 1.0);
  p->sorted.assign(du, {});
  levels_.assign(du, {});
  for (index_t f = 0; f < d; ++f) {
    const auto fu = static_cast<std::size_t>(f);
    double mean = 0;
    for (index_t j = 0; j < n; ++j) mean += X(j, f);
    mean /= static_cast<double>(n);
    double var = 0;
    for (index_t j = 0; j < n; ++j) var += (X(j, f) - mean) * (X(j, f) - mean);
    var /= static_cast<double>(n);
    const bool continuous = types[fu] == VarType::continuous;
    p->center[fu] = continuous ? mean : 0.0;
    p->var[fu] = var;
    for (index_t j = 0; j < n; ++j)
      p->cols[fu * nu + static_cast<std::size_t>(j)] = X(j, f) - p->center[fu];
    const double bw = o.bandwidth[fu];
    if (continuous) {
      if (o.bwtype == BandwidthType::fixed) {
        if (!(bw > 0) || !std::isfinite(bw)) {
          throw ArgumentError(
              fmt::format("bandwidth {} of continuous column {} must be finite and > 0", bw, f));
        }
        p->fallback_scale[fu] = bw;
      } else {
        if (!(bw >= 1 && bw <= static_cast<double>(n - 1)) || bw != std::floor(bw)) {
          throw ArgumentError(fmt::format(
              "bandwidth {} of continuous column {} must be a whole number of neighbours k in "
              "[1, {}] for bwtype {}",
              bw, f, n - 1, to_string(o.bwtype)));
        }
        p->fallback_scale[fu] = var > 0 ? std::sqrt(var) : 1.0;
        std::vector<double> s(p->col(f), p->col(f) + n);
        std::sort(s.begin(), s.end());
        p->sorted[fu] = std::move(s);
      }
      continue;
    }
    std::vector<double> lv(X.rows());
    for (index_t j = 0; j < n; ++j) lv[static_cast<std::size_t>(j)] = X(j, f);
    std::sort(lv.begin(), lv.end());
    lv.erase(std::unique(lv.begin(), lv.end()), lv.end());
    const double hi = lambda_upper(o, types[fu], lv.size());
    if (!(bw >= 0 && bw <= hi)) {
      throw ArgumentError(fmt::format(
          "bandwidth {} of {} column {} must lie in [0, {}]{}", bw,
          types[fu] == VarType::ordered ? "ordered" : "unordered", f, hi,
          types[fu] == VarType::unordered && o.discrete == DiscreteKernels::statsmodels
              ? fmt::format(" (Aitchison-Aitken with {} levels: (c - 1) / c)", lv.size())
              : std::string()));
    }
    const double c = static_cast<double>(lv.size());
    const double log_lambda = std::log(bw);  // -inf at 0: only for unequal levels
    if (o.discrete == DiscreteKernels::statsmodels) {
      p->log_eq[fu] = std::log1p(-bw);
      if (types[fu] == VarType::ordered) {  // Wang-van Ryzin: (1 - l) / 2 l^|dx|
        p->log_ne[fu] = std::log(0.5) + std::log1p(-bw);
        p->log_lambda[fu] = log_lambda;
        p->power[fu] = 1;
      } else {  // Aitchison-Aitken: l / (c - 1)
        p->log_ne[fu] =
            c > 1 ? log_lambda - std::log(c - 1) : -std::numeric_limits<double>::infinity();
      }
    } else {  // Li-Racine: 1 for equal levels; l (unordered), l^|dx| (ordered)
      p->log_eq[fu] = 0;
      if (types[fu] == VarType::ordered) {
        p->log_ne[fu] = 0;
        p->log_lambda[fu] = log_lambda;
        p->power[fu] = 1;
      } else {
        p->log_ne[fu] = log_lambda;
      }
    }
    levels_[fu] = std::move(lv);
  }
  if (o.bwtype == BandwidthType::adaptive_nn) {
    p->adaptive_h.assign(du * nu, 1.0);
    p->adaptive_log_norm.assign(nu, -std::numeric_limits<double>::infinity());
    std::fill(p->adaptive_log_norm.begin(), p->adaptive_log_norm.begin() + n, 0.0);
    for (index_t f = 0; f < d; ++f) {
      const auto fu = static_cast<std::size_t>(f);
      if (types[fu] != VarType::continuous) continue;
      const auto k = static_cast<index_t>(o.bandwidth[fu]);
      for (index_t j = 0; j < n; ++j) {
        const double h = local::kth_distance(p->sorted[fu], p->x(f, j), k, true);
        p->adaptive_h[fu * nu + static_cast<std::size_t>(j)] = h;
        p->adaptive_log_norm[static_cast<std::size_t>(j)] -= std::log(h);
      }
    }
  }
  // The Nadaraya-Watson engines: when one is named, on a CUDA device, or
  // when auto's choice for this call is on a device.
  const std::string unsupported = local::seam_unsupported(o, types);
  bool seam = !o.engine.is_auto() || o.device.kind() == Device::Kind::cuda;
  if (seam && !unsupported.empty()) {
    throw ArgumentError(fmt::format(
        "engine '{}' on device '{}' cannot fit this kernel regression: {}; use engine 'auto' "
        "on device 'cpu' (--engine auto --device cpu: kreg's local engine)",
        o.engine.name(), to_string(o.device), unsupported));
  }
  nw::Request request;
  request.n = n;
  request.d = d;
  request.k = 1;
  if (seam) {
    (void)nw::choose(request, o.engine, o.device);  // ArgumentError now: no such device, ...
  } else if (unsupported.empty() && o.device.is_auto()) {
    seam = nw::choose(request, Engine::automatic, o.device).device() != "cpu";
  }
  if (seam) p->seam = local::make_seam(X, y, o);
  n_ = n;
  d_ = d;
  prepared_ = std::move(p);
  return *this;
}

bool KernelRegression::on_nw_engines() const { return prepared_ && prepared_->seam; }

KernelFit KernelRegression::predict(MatrixView<const double> Z, bool gradients,
                                    const CancelToken* cancel) const {
  if (!fitted()) throw ArgumentError("KernelRegression::predict called before fit");
  if (Z.cols() != d_) {
    throw ArgumentError(
        fmt::format("the queries have {} columns but the model was fitted on {}", Z.cols(), d_));
  }
  detail::require_finite(Z, "Z", "kernel regression needs finite queries");
  const Prepared& p = *prepared_;
  const auto centred = [&](index_t i, local::Scratch& s) -> std::vector<double>& {
    s.z.resize(static_cast<std::size_t>(d_));
    for (index_t f = 0; f < d_; ++f)
      s.z[static_cast<std::size_t>(f)] = Z(i, f) - p.center[static_cast<std::size_t>(f)];
    return s.z;
  };
  if (p.seam && local::seam_takes(*p.seam, gradients)) {
    return with_refits(local::seam_predict(*p.seam, Z, gradients, cancel), d_, gradients,
                       options_.n_jobs, cancel,
                       [&](index_t i, local::Scratch& s, std::span<double> g) {
                         return local::fit_query(p, centred(i, s), -1, -1, g, s);
                       });
  }
  KernelFit out = run_queries(Z.rows(), d_, gradients, options_.n_jobs, cancel,
                              [&](index_t i, local::Scratch& s, std::span<double> g) {
                                return local::fit_query(p, centred(i, s), -1, -1, g, s);
                              });
  // lc, discrete columns: m(z) - m(z with the column at its lowest level).
  if (gradients && options_.reg == RegType::local_constant) {
    for (index_t f = 0; f < d_; ++f) {
      const auto fu = static_cast<std::size_t>(f);
      if (p.types[fu] == VarType::continuous) continue;
      const double base = levels_[fu].front();
      const KernelFit at_base = run_queries(Z.rows(), d_, false, options_.n_jobs, cancel,
                                            [&](index_t i, local::Scratch& s, std::span<double>) {
                                              std::vector<double>& z = centred(i, s);
                                              z[fu] = base;
                                              return local::fit_query(p, z, -1, -1, {}, s);
                                            });
      for (index_t i = 0; i < Z.rows(); ++i) {
        out.gradient(i, f) =
            out.mean[static_cast<std::size_t>(i)] - at_base.mean[static_cast<std::size_t>(i)];
      }
    }
  }
  return out;
}

KernelFit KernelRegression::predict_loo(bool gradients, const CancelToken* cancel) const {
  if (!fitted()) throw ArgumentError("KernelRegression::predict_loo called before fit");
  const Prepared& p = *prepared_;
  const auto fit = [&](index_t i, local::Scratch& s, std::span<double> g) {
    return local::fit_query(p, training_point(p, i, s), i, -1, g, s);
  };
  if (p.seam && local::seam_takes(*p.seam, gradients)) {
    return with_refits(local::seam_loo(*p.seam, gradients, cancel), d_, gradients, options_.n_jobs,
                       cancel, fit);
  }
  return run_queries(n_, d_, gradients, options_.n_jobs, cancel, fit);
}

KernelFit KernelRegression::predict_kfold(std::span<const index_t> fold_of, bool gradients,
                                          const CancelToken* cancel) const {
  if (!fitted()) throw ArgumentError("KernelRegression::predict_kfold called before fit");
  if (static_cast<index_t>(fold_of.size()) != n_) {
    throw ArgumentError(fmt::format("{} fold numbers for {} training points; give one per point",
                                    fold_of.size(), n_));
  }
  for (std::size_t j = 0; j < fold_of.size(); ++j) {
    if (fold_of[j] < 0) {
      throw ArgumentError(
          fmt::format("fold number {} of training point {} is negative", fold_of[j], j));
    }
  }
  if (std::all_of(fold_of.begin(), fold_of.end(), [&](index_t f) { return f == fold_of[0]; })) {
    throw ArgumentError("k-fold predictions need at least two folds; every point is in one");
  }
  const Prepared& p = *prepared_;
  const auto fit = [&](index_t i, local::Scratch& s, std::span<double> g) {
    return local::fit_query(p, training_point(p, i, s), i, -1, g, s, fold_of);
  };
  if (p.seam && local::seam_takes(*p.seam, gradients)) {
    return with_refits(local::seam_kfold(*p.seam, fold_of, gradients, cancel), d_, gradients,
                       options_.n_jobs, cancel, fit);
  }
  return run_queries(n_, d_, gradients, options_.n_jobs, cancel, fit);
}

double KernelRegression::hat_trace(const CancelToken* cancel) const {
  if (!fitted()) throw ArgumentError("KernelRegression::hat_trace called before fit");
  std::vector<double> hat;
  fit_in_sample(*prepared_, options_.n_jobs, cancel, hat);
  double trace = 0;
  for (double h : hat) trace += h;
  return trace;
}

double KernelRegression::criterion(Criterion which, const CancelToken* cancel) const {
  if (!fitted()) throw ArgumentError("KernelRegression::criterion called before fit");
  const Prepared& p = *prepared_;
  const auto nd = static_cast<double>(n_);
  if (which == Criterion::cv_ls) {
    const KernelFit loo = predict_loo(false, cancel);
    double sse = 0;
    for (index_t i = 0; i < n_; ++i) {
      const double r = p.y[static_cast<std::size_t>(i)] - loo.mean[static_cast<std::size_t>(i)];
      sse += r * r;
    }
    return sse / nd;
  }
  // aic: one pass at the training points gives both the fit and H_ii.
  std::vector<double> hat;
  const KernelFit fitv = fit_in_sample(p, options_.n_jobs, cancel, hat);
  double sse = 0, trace = 0;
  for (index_t i = 0; i < n_; ++i) {
    const double r = p.y[static_cast<std::size_t>(i)] - fitv.mean[static_cast<std::size_t>(i)];
    sse += r * r;
    trace += hat[static_cast<std::size_t>(i)];
  }
  const double denom = 1 - (trace + 2) / nd;
  if (!(denom > 0)) return std::numeric_limits<double>::infinity();
  const double sigma2 = sse / nd;
  if (!(sigma2 > 0)) return -std::numeric_limits<double>::infinity();
  return std::log(sigma2) + (1 + trace / nd) / denom;
}

}  // namespace kreg
