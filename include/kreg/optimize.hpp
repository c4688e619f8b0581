// kreg/optimize.hpp - derivative-free minimisers for bandwidth search.
//
// Built for objectives like a cross-validation error as a function of
// log-bandwidth: cheap to state, costly to evaluate, free of noise but possibly
// flat (an irrelevant feature's bandwidth) or piecewise. The caller supplies
// the objective; nothing here knows about kernel regression.
//
// Contract shared by every minimiser:
//   * The objective may return +inf (worse than any finite value, e.g. for a
//     bandwidth where nothing is defined); NaN counts as +inf.
//   * An exception thrown by the objective propagates unchanged and nothing is
//     evaluated after it; that is how a caller cancels a search (Ctrl-C).
//   * Results are deterministic: the same arguments (and seed) give the same
//     bits. The only randomness is minimize_multistart's, from its seed.
//   * At most max_evaluations calls (per start for minimize_multistart); a
//     search cut short returns the best point seen with converged = false.
//   * Invalid arguments throw ArgumentError before the first evaluation.
#pragma once

#include <cstdint>
#include <functional>
#include <limits>
#include <span>
#include <string>
#include <vector>

namespace kreg {

using Objective = std::function<double(std::span<const double>)>;
using ScalarObjective = std::function<double(double)>;

struct OptimizeResult {
  std::vector<double> x{};                              // the best point evaluated
  double fx = std::numeric_limits<double>::infinity();  // f(x); +inf if every value was
  int evaluations = 0;                                  // objective calls, all starts together
  bool converged = false;  // tolerances met with a finite fx (false: budget spent, or all +inf)
  std::string message{};   // what happened, in words
};

struct ScalarOptions {
  double x0 = std::numeric_limits<double>::quiet_NaN();  // first point; NaN: the golden point
  double xtol = 1e-6;                                    // absolute, > 0
  int max_evaluations = 200;                             // >= 1
};

// Minimises f on [lo, hi] (finite, lo < hi) by Brent's method with bounds:
// golden-section steps plus parabolic interpolation, as scipy's
// minimize_scalar(method='bounded') (fminbound), step for step. It stops
// when the bracket around the best point x is at most 4 (xtol/3 + 1.5e-8 |x|)
// wide.
// When it ends up at a bound (the bracket still touches lo or hi), that
// bound itself is evaluated and returned if no worse, so a minimum at an edge
// is found exactly. x0 (optional) must lie in [lo, hi].
OptimizeResult minimize_scalar(const ScalarObjective& f, double lo, double hi,
                               ScalarOptions options = {});

struct NelderMeadOptions {
  std::vector<double> initial_step{};  // per coordinate, non-zero; empty: 0.5 each
  double xtol = 1e-6;                  // >= 0
  double ftol = 1e-10;                 // >= 0
  int max_evaluations = 2000;          // >= 1
  // Optional box, each empty or one value per coordinate (+-inf allowed, meaning
  // unbounded): x0 and every trial point are clamped into it. A first step
  // that would leave the box is taken in the other direction.
  std::vector<double> lower{};
  std::vector<double> upper{};
};

// Nelder-Mead simplex with the standard coefficients (reflection 1, expansion
// 2, contraction 0.5, shrink 0.5), as scipy's minimize(method='Nelder-Mead'),
// from the simplex x0, x0 + initial_step[k] e_k. Converged when, as in
// scipy's fmin, max |x_i - x_best| <= xtol and max |f_i - f_best| <= ftol
// over the simplex's vertices (two +inf values count as equal).
OptimizeResult nelder_mead(const Objective& f, std::vector<double> x0,
                           NelderMeadOptions options = {});

// Nelder-Mead from x0 and from starts - 1 further points, the best result of
// all (the earliest start on ties). Coordinate k of a further point is drawn
// uniformly from [lower_k, upper_k] when both bounds are finite, otherwise
// from x0_k +- 2 |initial_step_k| clamped into the box, by a std::mt19937_64
// seeded with `seed`: the same seed gives the same points and result.
// evaluations counts every start; converged and message are the best run's.
OptimizeResult minimize_multistart(const Objective& f, std::vector<double> x0, int starts,
                                   std::uint64_t seed, NelderMeadOptions options = {});

}  // namespace kreg
