// Bounded Brent, Nelder-Mead and seeded multistart Nelder-Mead.
//
// minimize_scalar is scipy's _minimize_scalar_bounded (fminbound) step for
// step, with two changes: a parabola through a non-finite value is never
// fitted (a golden step is taken instead), and a converged bracket that still
// touches a bound has that bound evaluated. nelder_mead is scipy's
// _minimize_neldermead with clamping into the box, the simplex ordered by a
// stable sort (ties keep the older vertex first, so runs are reproducible) and
// an exact cap on the number of evaluations.
#include "kreg/optimize.hpp"

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <limits>
#include <numeric>
#include <random>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include <fmt/format.h>

#include "kreg/error.hpp"

namespace kreg {
namespace {

constexpr double inf = std::numeric_limits<double>::infinity();

// Thrown by Evaluator when the budget is spent; caught inside this file only,
// so it never meets a caller (unlike the objective's own exceptions).
struct BudgetSpent {};

// Calls the objective, maps NaN to +inf, counts the calls, enforces the
// budget and remembers the best point seen (the first one on ties).
class Evaluator {
 public:
  Evaluator(const Objective& f, int max_evaluations) : f_(f), max_(max_evaluations) {}

  double operator()(std::span<const double> x) {
    if (evaluations_ >= max_) throw BudgetSpent{};
    ++evaluations_;
    double value = f_(x);
    if (std::isnan(value)) value = inf;
    if (best_x_.empty() || value < best_f_) {
      best_x_.assign(x.begin(), x.end());
      best_f_ = value;
    }
    return value;
  }

  int evaluations() const { return evaluations_; }
  const std::vector<double>& best_x() const { return best_x_; }
  double best_f() const { return best_f_; }

 private:
  const Objective& f_;
  int max_;
  int evaluations_ = 0;
  std::vector<double> best_x_;
  double best_f_ = inf;
};

// NelderMeadOptions checked and completed: one step and one bound per
// coordinate (+-inf where there is no bound).
struct Simplex {
  std::vector<double> step, lower, upper;
  double xtol = 0.0, ftol = 0.0;
  int max_evaluations = 0;

  void clamp(std::vector<double>& x) const {
    for (std::size_t k = 0; k < x.size(); ++k) x[k] = std::clamp(x[k], lower[k], upper[k]);
  }
};

void check_finite(const char* function, const char* name, const std::vector<double>& values) {
  for (std::size_t k = 0; k < values.size(); ++k) {
    if (!std::isfinite(values[k])) {
      throw ArgumentError(
          fmt::format("{}: {}[{}] is {}; it must be finite", function, name, k, values[k]));
    }
  }
}

std::vector<double> bound_or(const char* function, const char* name,
                             const std::vector<double>& given, std::size_t d, double unbounded) {
  if (given.empty()) return std::vector<double>(d, unbounded);
  if (given.size() != d) {
    throw ArgumentError(
        fmt::format("{}: {} has {} values but x0 has {}; give one per coordinate or none", function,
                    name, given.size(), d));
  }
  for (std::size_t k = 0; k < d; ++k) {
    if (std::isnan(given[k])) {
      throw ArgumentError(fmt::format("{}: {}[{}] is NaN", function, name, k));
    }
  }
  return given;
}

// Validates x0 and the options (before any evaluation) and clamps x0.
Simplex prepare(const char* function, std::vector<double>& x0, const NelderMeadOptions& options) {
  const std::size_t d = x0.size();
  if (d == 0) {
    throw ArgumentError(fmt::format("{}: x0 is empty; need at least 1 coordinate", function));
  }
  check_finite(function, "x0", x0);
  Simplex s;
  if (options.initial_step.empty()) {
    s.step.assign(d, 0.5);
  } else {
    if (options.initial_step.size() != d) {
      throw ArgumentError(fmt::format(
          "{}: initial_step has {} values but x0 has {}; give one per coordinate or none", function,
          options.initial_step.size(), d));
    }
    check_finite(function, "initial_step", options.initial_step);
    for (std::size_t k = 0; k < d; ++k) {
      if (options.initial_step[k] == 0.0) {
        throw ArgumentError(
            fmt::format("{}: initial_step[{}] is 0; every step must be non-zero", function, k));
      }
    }
    s.step = options.initial_step;
  }
  s.lower = bound_or(function, "lower", options.lower, d, -inf);
  s.upper = bound_or(function, "upper", options.upper, d, inf);
  for (std::size_t k = 0; k < d; ++k) {
    if (s.lower[k] > s.upper[k]) {
      throw ArgumentError(fmt::format("{}: lower[{}] = {} is above upper[{}] = {}", function, k,
                                      s.lower[k], k, s.upper[k]));
    }
  }
  if (!(options.xtol >= 0.0) || !(options.ftol >= 0.0)) {
    throw ArgumentError(fmt::format("{}: xtol and ftol must be >= 0, got {} and {}", function,
                                    options.xtol, options.ftol));
  }
  if (options.max_evaluations < 1) {
    throw ArgumentError(
        fmt::format("{}: max_evaluations must be >= 1, got {}", function, options.max_evaluations));
  }
  s.xtol = options.xtol;
  s.ftol = options.ftol;
  s.max_evaluations = options.max_evaluations;
  s.clamp(x0);
  return s;
}

// Order the vertices by value; stable, so equal values keep their order.
void sort_simplex(std::vector<std::vector<double>>& sim, std::vector<double>& fsim) {
  std::vector<std::size_t> order(sim.size());
  std::iota(order.begin(), order.end(), std::size_t{0});
  std::stable_sort(order.begin(), order.end(),
                   [&](std::size_t i, std::size_t j) { return fsim[i] < fsim[j]; });
  std::vector<std::vector<double>> sorted_sim;
  std::vector<double> sorted_f;
  for (std::size_t i : order) {
    sorted_sim.push_back(std::move(sim[i]));
    sorted_f.push_back(fsim[i]);
  }
  sim = std::move(sorted_sim);
  fsim = std::move(sorted_f);
}

bool simplex_converged(const std::vector<std::vector<double>>& sim, const std::vector<double>& fsim,
                       const Simplex& s) {
  for (std::size_t i = 1; i < sim.size(); ++i) {
    // Equal values (two +inf among them) differ by 0, not by NaN.
    if (fsim[i] != fsim[0] && !(std::fabs(fsim[i] - fsim[0]) <= s.ftol)) return false;
    for (std::size_t k = 0; k < sim[0].size(); ++k) {
      if (!(std::fabs(sim[i][k] - sim[0][k]) <= s.xtol)) return false;
    }
  }
  return true;
}

OptimizeResult run_nelder_mead(const Objective& f, const std::vector<double>& x0,
                               const Simplex& s) {
  const std::size_t d = x0.size();
  Evaluator evaluate(f, s.max_evaluations);
  std::vector<std::vector<double>> sim(d + 1, x0);
  for (std::size_t k = 0; k < d; ++k) {
    double& y = sim[k + 1][k];
    y = x0[k] + s.step[k];
    if (y > s.upper[k] || y < s.lower[k]) y = x0[k] - s.step[k];
    s.clamp(sim[k + 1]);
  }
  std::vector<double> fsim(d + 1, inf);
  const auto point = [&](double a, const std::vector<double>& xbar, double b,
                         const std::vector<double>& worst) {
    std::vector<double> x(d);
    for (std::size_t k = 0; k < d; ++k) x[k] = a * xbar[k] + b * worst[k];
    s.clamp(x);
    return x;
  };
  try {
    for (std::size_t i = 0; i <= d; ++i) fsim[i] = evaluate(sim[i]);
    sort_simplex(sim, fsim);
    while (!simplex_converged(sim, fsim, s)) {
      std::vector<double> xbar(d, 0.0);
      for (std::size_t i = 0; i < d; ++i) {
        for (std::size_t k = 0; k < d; ++k) xbar[k] += sim[i][k];
      }
      for (double& c : xbar) c /= static_cast<double>(d);
      // Coefficients: reflection 1, expansion 2, contraction 0.5, shrink 0.5.
      const std::vector<double> xr = point(2.0, xbar, -1.0, sim[d]);
      const double fxr = evaluate(xr);
      bool shrink = false;
      if (fxr < fsim[0]) {
        std::vector<double> xe = point(3.0, xbar, -2.0, sim[d]);
        const double fxe = evaluate(xe);
        if (fxe < fxr) {
          sim[d] = std::move(xe);
          fsim[d] = fxe;
        } else {
          sim[d] = xr;
          fsim[d] = fxr;
        }
      } else if (fxr < fsim[d - 1]) {
        sim[d] = xr;
        fsim[d] = fxr;
      } else if (fxr < fsim[d]) {
        std::vector<double> xc = point(1.5, xbar, -0.5, sim[d]);  // outside contraction
        const double fxc = evaluate(xc);
        if (fxc <= fxr) {
          sim[d] = std::move(xc);
          fsim[d] = fxc;
        } else {
          shrink = true;
        }
      } else {
        std::vector<double> xcc = point(0.5, xbar, 0.5, sim[d]);  // inside contraction
        const double fxcc = evaluate(xcc);
        if (fxcc < fsim[d]) {
          sim[d] = std::move(xcc);
          fsim[d] = fxcc;
        } else {
          shrink = true;
        }
      }
      if (shrink) {
        for (std::size_t j = 1; j <= d; ++j) {
          for (std::size_t k = 0; k < d; ++k) {
            sim[j][k] = sim[0][k] + 0.5 * (sim[j][k] - sim[0][k]);
          }
          s.clamp(sim[j]);
          fsim[j] = evaluate(sim[j]);
        }
      }
      sort_simplex(sim, fsim);
    }
  } catch (const BudgetSpent&) {
    return {evaluate.best_x(), evaluate.best_f(), evaluate.evaluations(), false,
            fmt::format("stopped: max_evaluations = {} reached before the simplex converged",
                        s.max_evaluations)};
  }
  if (std::isinf(fsim[0])) {
    return {sim[0], fsim[0], evaluate.evaluations(), false,
            fmt::format("stopped: the simplex collapsed after {} evaluations without finding a "
                        "finite value",
                        evaluate.evaluations())};
  }
  return {sim[0], fsim[0], evaluate.evaluations(), true,
          fmt::format("converged: simplex within xtol and ftol after {} evaluations",
                      evaluate.evaluations())};
}

}  // namespace

OptimizeResult minimize_scalar(const ScalarObjective& f, double lo, double hi,
                               ScalarOptions options) {
  if (!std::isfinite(lo) || !std::isfinite(hi) || !(lo < hi)) {
    throw ArgumentError(
        fmt::format("minimize_scalar: need finite bounds lo < hi, got [{}, {}]", lo, hi));
  }
  if (!std::isnan(options.x0) && !(options.x0 >= lo && options.x0 <= hi)) {
    throw ArgumentError(
        fmt::format("minimize_scalar: x0 = {} is outside [{}, {}]", options.x0, lo, hi));
  }
  if (!(options.xtol > 0.0)) {
    throw ArgumentError(fmt::format("minimize_scalar: xtol must be > 0, got {}", options.xtol));
  }
  if (options.max_evaluations < 1) {
    throw ArgumentError(fmt::format("minimize_scalar: max_evaluations must be >= 1, got {}",
                                    options.max_evaluations));
  }
  const Objective as_vector = [&f](std::span<const double> x) { return f(x[0]); };
  Evaluator evaluate(as_vector, options.max_evaluations);
  const auto at = [&](double x) { return evaluate(std::span<const double>(&x, 1)); };

  // Names follow scipy: xf is the best point, nfc the second best, fulc the
  // third (the previous nfc); [a, b] brackets the minimum.
  const double sqrt_eps = std::sqrt(2.2e-16);
  const double golden_mean = 0.5 * (3.0 - std::sqrt(5.0));
  double a = lo;
  double b = hi;
  double xf = std::isnan(options.x0) ? a + golden_mean * (b - a) : options.x0;
  double nfc = xf;
  double fulc = xf;
  double rat = 0.0;
  double e = 0.0;
  double fx = at(xf);
  double fnfc = fx;
  double ffulc = fx;
  double xm = 0.5 * (a + b);
  double tol1 = sqrt_eps * std::fabs(xf) + options.xtol / 3.0;
  double tol2 = 2.0 * tol1;
  bool converged = true;
  while (std::fabs(xf - xm) > tol2 - 0.5 * (b - a)) {
    if (evaluate.evaluations() >= options.max_evaluations) {
      converged = false;
      break;
    }
    bool golden = true;
    if (std::fabs(e) > tol1 && std::isfinite(fx) && std::isfinite(fnfc) && std::isfinite(ffulc)) {
      // Parabola through (xf, fx), (nfc, fnfc), (fulc, ffulc).
      golden = false;
      double r = (xf - nfc) * (fx - ffulc);
      double q = (xf - fulc) * (fx - fnfc);
      double p = (xf - fulc) * q - (xf - nfc) * r;
      q = 2.0 * (q - r);
      if (q > 0.0) p = -p;
      q = std::fabs(q);
      r = e;
      e = rat;
      if (std::fabs(p) < std::fabs(0.5 * q * r) && p > q * (a - xf) && p < q * (b - xf)) {
        rat = p / q;
        const double x = xf + rat;
        if (x - a < tol2 || b - x < tol2) rat = xm - xf >= 0.0 ? tol1 : -tol1;
      } else {
        golden = true;
      }
    }
    if (golden) {
      e = xf >= xm ? a - xf : b - xf;
      rat = golden_mean * e;
    }
    const double step = std::max(std::fabs(rat), tol1);
    const double x = std::clamp(rat >= 0.0 ? xf + step : xf - step, lo, hi);
    const double fu = at(x);
    if (fu <= fx) {
      if (x >= xf) {
        a = xf;
      } else {
        b = xf;
      }
      fulc = nfc;
      ffulc = fnfc;
      nfc = xf;
      fnfc = fx;
      xf = x;
      fx = fu;
    } else {
      if (x < xf) {
        a = x;
      } else {
        b = x;
      }
      if (fu <= fnfc || nfc == xf) {
        fulc = nfc;
        ffulc = fnfc;
        nfc = x;
        fnfc = fu;
      } else if (fu <= ffulc || fulc == xf || fulc == nfc) {
        fulc = x;
        ffulc = fu;
      }
    }
    xm = 0.5 * (a + b);
    tol1 = sqrt_eps * std::fabs(xf) + options.xtol / 3.0;
    tol2 = 2.0 * tol1;
  }
  OptimizeResult result{.x = {xf}, .fx = fx, .evaluations = evaluate.evaluations()};
  if (!converged) {
    result.message =
        fmt::format("stopped: max_evaluations = {} reached before the bracket shrank to xtol",
                    options.max_evaluations);
    return result;
  }
  // The bracket never moved off a bound: the minimum may be the bound itself,
  // which the steps above only approach to within tol1.
  const double edge = a == lo ? lo : (b == hi ? hi : xf);
  if (edge != xf && evaluate.evaluations() < options.max_evaluations) {
    const double f_edge = at(edge);
    if (f_edge <= fx) result = {.x = {edge}, .fx = f_edge};
  }
  result.evaluations = evaluate.evaluations();
  if (std::isinf(result.fx)) {
    result.message =
        fmt::format("stopped: no finite value found after {} evaluations", result.evaluations);
    return result;
  }
  result.converged = true;
  result.message =
      fmt::format("converged: bracket within xtol after {} evaluations", result.evaluations);
  if (result.x[0] == lo || result.x[0] == hi) {
    result.message +=
        fmt::format("; the minimum is at the {} bound", result.x[0] == lo ? "lower" : "upper");
  }
  return result;
}

OptimizeResult nelder_mead(const Objective& f, std::vector<double> x0, NelderMeadOptions options) {
  const Simplex s = prepare("nelder_mead", x0, options);
  return run_nelder_mead(f, x0, s);
}

OptimizeResult minimize_multistart(const Objective& f, std::vector<double> x0, int starts,
                                   std::uint64_t seed, NelderMeadOptions options) {
  if (starts < 1) {
    throw ArgumentError(fmt::format("minimize_multistart: starts must be >= 1, got {}", starts));
  }
  const Simplex s = prepare("minimize_multistart", x0, options);
  // All start points are drawn before any evaluation, from 53-bit uniforms
  // made by hand (std::uniform_real_distribution differs between libraries).
  std::mt19937_64 rng(seed);
  std::vector<std::vector<double>> points{x0};
  for (int start = 1; start < starts; ++start) {
    std::vector<double> x(x0.size());
    for (std::size_t k = 0; k < x.size(); ++k) {
      const double u = static_cast<double>(rng() >> 11) * 0x1.0p-53;
      if (std::isfinite(s.lower[k]) && std::isfinite(s.upper[k])) {
        x[k] = s.lower[k] + u * (s.upper[k] - s.lower[k]);
      } else {
        const double width = 2.0 * std::fabs(s.step[k]);
        x[k] = x0[k] - width + u * (2.0 * width);
      }
    }
    s.clamp(x);
    points.push_back(std::move(x));
  }
  OptimizeResult best;
  int evaluations = 0;
  int best_start = 0;
  for (int start = 0; start < starts; ++start) {
    OptimizeResult result = run_nelder_mead(f, points[static_cast<std::size_t>(start)], s);
    evaluations += result.evaluations;
    if (start == 0 || result.fx < best.fx) {
      best = std::move(result);
      best_start = start;
    }
  }
  best.evaluations = evaluations;
  best.message = fmt::format("best of {} starts (start {}): {}", starts, best_start, best.message);
  return best;
}

}  // namespace kreg
