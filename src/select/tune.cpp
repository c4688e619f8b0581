// select/tune.cpp - the tune workflow (kreg/tune.hpp): the grid's tasks run
// or resumed in plan order and combined, then the optimiser, whose
// evaluations are remembered by the bits of their bandwidths so a repeated
// point costs nothing and a replayed run takes the same path.
#include "kreg/tune.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <string>
#include <utility>

#include "core/stopwatch.hpp"
#include "kreg/bandwidth.hpp"
#include "kreg/error.hpp"
#include "kreg/optimize.hpp"

namespace kreg {

TuneOptimizer parse_tune_optimizer(std::string_view name) {
  if (name == "none") return TuneOptimizer::none;
  if (name == "scalar") return TuneOptimizer::scalar;
  if (name == "per-feature") return TuneOptimizer::per_feature;
  throw ArgumentError(
      fmt::format("--optimize '{}' is not understood; choose none, scalar or per-feature", name));
}

std::string_view to_string(TuneOptimizer optimizer) {
  switch (optimizer) {
    case TuneOptimizer::none:
      return "none";
    case TuneOptimizer::scalar:
      return "scalar";
    case TuneOptimizer::per_feature:
      return "per-feature";
  }
  return "?";
}

std::vector<double> TuneResult::chosen() const {
  if (optimum) return optimum->bandwidth;
  return {scores.h[static_cast<std::size_t>(scores.best)]};
}

namespace {

template <class T>
std::vector<double> default_grid(MatrixView<const T> X) {
  const auto rule = silverman_bandwidth(X);
  double log_mean = 0;
  for (const double h : rule) log_mean += std::log10(h);
  log_mean /= static_cast<double>(rule.size());
  // Through the grid's text form, as `kreg tune --bandwidths logspace:A:B:25`
  // reads it (17 digits: the same doubles).
  return parse_bandwidth_grid(
      fmt::format("logspace:{:.17g}:{:.17g}:25", log_mean - 1.5, log_mean + 1.5));
}

// The optimiser's view of the cross-validated score: each point computed
// once (by the bits of its bandwidths), recorded ones taken from the hooks.
template <class T>
class Evaluator {
 public:
  Evaluator(const BandwidthCV<T>& search, const TuneHooks& hooks)
      : search_(search), hooks_(hooks) {}

  // Scalar: scale empty, h = {v}; per feature: scale = v, h = {1}.
  double score(const BandwidthSet& set) {
    const std::vector<double>& h = set.scale.empty() ? set.h : set.scale;
    std::string key;
    for (const double v : h) key += fmt::format("{:a};", v);
    if (const auto it = memo_.find(key); it != memo_.end()) return it->second;
    if (hooks_.recorded_score) {
      if (const std::optional<double> s = hooks_.recorded_score(h)) {
        memo_[key] = *s;
        return *s;
      }
    }
    throw_if_cancelled(hooks_.cancel);
    const double s = score_here_or_shared(set);
    memo_[key] = s;
    if (hooks_.evaluated) hooks_.evaluated(h, s);
    if (in_phase_ && hooks_.step) hooks_.step(++steps_);
    return s;
  }
  // What the optimiser minimises.
  double loss(const BandwidthSet& set) {
    const double s = score(set);
    return greater_is_better(search_.options().scoring) ? -s : s;
  }

  // BandwidthCV::score, its tasks run through hooks.run_tasks when set: the
  // same plan and combine, so the same bits.
  double score_here_or_shared(const BandwidthSet& set) const {
    if (!hooks_.run_tasks) return search_.score(set, hooks_.cancel).mean[0];
    search_.check(set);
    const std::vector<CvTask> tasks = search_.plan(static_cast<index_t>(set.h.size()));
    std::vector<CvPartial> partials(tasks.size());
    hooks_.run_tasks(
        tasks.size(),
        [&](std::size_t i) {
          throw_if_cancelled(hooks_.cancel);
          return search_.run(set, tasks[i], hooks_.cancel);
        },
        [&](std::size_t i, CvPartial&& p) { partials[i] = std::move(p); });
    return search_.combine(set, tasks, partials).mean[0];
  }

  void begin(std::int64_t budget) {
    steps_ = 0;
    in_phase_ = true;
    if (hooks_.phase_begin) hooks_.phase_begin("optimize", budget, 0);
  }
  void end() {
    in_phase_ = false;
    if (hooks_.phase_end) hooks_.phase_end();
  }

 private:
  const BandwidthCV<T>& search_;
  const TuneHooks& hooks_;
  std::map<std::string, double> memo_;
  std::int64_t steps_ = 0;
  bool in_phase_ = false;
};

}  // namespace

std::vector<double> default_bandwidth_grid(MatrixView<const double> X) { return default_grid(X); }
std::vector<double> default_bandwidth_grid(MatrixView<const float> X) { return default_grid(X); }

template <class T>
Tuner<T>::Tuner(MatrixView<const T> X, MatrixView<const T> Y, std::span<const T> sample_weight,
                CvOptions cv, TuneOptions options, MatrixView<const T> X_test,
                MatrixView<const T> Y_test)
    : X_(X), options_(std::move(options)), search_(X, Y, sample_weight, cv, X_test, Y_test) {
  if (options_.starts < 1) {
    throw ArgumentError(fmt::format("--starts must be >= 1, got {}", options_.starts));
  }
  if (options_.optimizer != TuneOptimizer::none && !options_.scale.empty()) {
    throw ArgumentError(
        "the optimiser searches plain bandwidths; give no per-feature scale with it");
  }
  grid_ = options_.bandwidths.empty() ? default_grid(X) : options_.bandwidths;
  search_.check({options_.scale, grid_});
  tasks_ = search_.plan(static_cast<index_t>(grid_.size()));
}

template <class T>
CvPartial Tuner<T>::run_task(std::size_t index, const CancelToken* cancel) const {
  if (index >= tasks_.size()) {
    throw ArgumentError(
        fmt::format("run_task: task {} is not in this plan of {} tasks", index, tasks_.size()));
  }
  return search_.run({options_.scale, grid_}, tasks_[index], cancel);
}

template <class T>
CvScores Tuner<T>::combine(std::span<const CvPartial> partials) const {
  return search_.combine({options_.scale, grid_}, tasks_, partials);
}

template <class T>
CvScores Tuner<T>::run_grid(const TuneHooks& hooks) const {
  std::vector<std::optional<CvPartial>> parts(tasks_.size());
  std::int64_t done = 0;
  const auto k = static_cast<std::size_t>(search_.n_outputs());
  for (std::size_t i = 0; i < tasks_.size() && hooks.resume; ++i) {
    std::optional<CvPartial> p = hooks.resume(i, tasks_[i]);
    if (!p) continue;
    const auto nb = static_cast<std::size_t>(tasks_[i].b_end - tasks_[i].b_begin);
    if (p->sse.size() != nb * k || p->sae.size() != nb * k || p->isolated.size() != nb) {
      throw ArgumentError(fmt::format(
          "resumed task {} holds {} sums for the {} bandwidths x {} outputs of its block", i,
          p->sse.size(), nb, k));
    }
    parts[i] = std::move(p);
    ++done;
  }
  if (hooks.phase_begin) hooks.phase_begin("grid", static_cast<std::int64_t>(tasks_.size()), done);
  const BandwidthSet set{options_.scale, grid_};
  std::vector<std::size_t> todo;
  for (std::size_t i = 0; i < tasks_.size(); ++i) {
    if (!parts[i]) todo.push_back(i);
  }
  const auto run_one = [&](std::size_t j) {
    throw_if_cancelled(hooks.cancel);
    return search_.run(set, tasks_[todo[j]], hooks.cancel);
  };
  const auto finished = [&](std::size_t j, CvPartial&& p) {
    const std::size_t i = todo[j];
    if (hooks.task_done) hooks.task_done(i, tasks_[i], p);
    parts[i] = std::move(p);
    ++done;
    if (hooks.step) hooks.step(done);
  };
  if (hooks.run_tasks) {
    hooks.run_tasks(todo.size(), run_one, finished);
  } else {
    for (std::size_t j = 0; j < todo.size(); ++j) finished(j, run_one(j));
  }
  if (hooks.phase_end) hooks.phase_end();
  throw_if_cancelled(hooks.cancel);
  std::vector<CvPartial> all;
  all.reserve(parts.size());
  for (std::size_t i = 0; i < parts.size(); ++i) {
    if (!parts[i]) throw ArgumentError(fmt::format("run_tasks left grid task {} unfinished", i));
    all.push_back(std::move(*parts[i]));
  }
  return combine(all);
}

template <class T>
std::optional<TuneOptimum> Tuner<T>::optimize(const CvScores& grid_scores,
                                              const TuneHooks& hooks) const {
  if (options_.optimizer == TuneOptimizer::none) return std::nullopt;
  Evaluator<T> eval(search_, hooks);
  // Scalar: Brent's method on log h between the best grid point's
  // neighbours; only a starting point for the per-feature search, where 1%
  // of h is close enough.
  std::vector<double> sorted = grid_scores.h;
  std::sort(sorted.begin(), sorted.end());
  const double best_h = grid_scores.h[static_cast<std::size_t>(grid_scores.best)];
  const auto it = std::lower_bound(sorted.begin(), sorted.end(), best_h);
  const double lo = it == sorted.begin() ? best_h / 10 : *(it - 1);
  const double hi = it + 1 == sorted.end() ? best_h * 10 : *(it + 1);
  eval.begin(100);
  const OptimizeResult r = minimize_scalar(
      [&](double log_h) {
        return eval.loss({{}, {std::exp(log_h)}});
      },
      std::log(lo), std::log(hi),
      {.x0 = std::log(best_h),
       .xtol = options_.optimizer == TuneOptimizer::scalar ? 1e-4 : 1e-2,
       .max_evaluations = 100});
  eval.end();
  TuneOptimum scalar{TuneOptimizer::scalar,
                     {std::exp(r.x[0])},
                     eval.score({{}, {std::exp(r.x[0])}}),
                     r.evaluations,
                     r.converged,
                     r.message,
                     {}};
  if (options_.optimizer == TuneOptimizer::scalar) return scalar;

  // Per feature: from the better of the scalar optimum on every feature and
  // Silverman's per-feature rule, Nelder-Mead on log h from there and from
  // starts - 1 random points around it.
  std::vector<double> a(static_cast<std::size_t>(X_.cols()), scalar.bandwidth[0]);
  std::vector<double> b = silverman_bandwidth(X_);
  const double loss_a = eval.loss({a, {1.0}}), loss_b = eval.loss({b, {1.0}});
  const std::vector<double>& h0 = loss_a <= loss_b ? a : b;
  const double loss0 = std::min(loss_a, loss_b);
  std::vector<double> x0, lower, upper;
  for (const double h : h0) {
    x0.push_back(std::log(h));
    lower.push_back(std::log(h) - std::log(1e3));
    upper.push_back(std::log(h) + std::log(1e4));
  }
  auto to_h = [](std::span<const double> x) {
    std::vector<double> h;
    for (const double v : x) h.push_back(std::exp(v));
    return h;
  };
  eval.begin(2000);
  const OptimizeResult r2 = minimize_multistart(
      [&](std::span<const double> x) {
        return eval.loss({to_h(x), {1.0}});
      },
      x0, options_.starts, options_.seed,
      // Converged when the simplex spans under 0.1% of each bandwidth and
      // its losses agree to 1e-9 relative: far finer than the CV curve's own
      // noise, at a fraction of the evaluations.
      {.xtol = 1e-3,
       .ftol = 1e-9 * std::max(std::abs(loss0), 1e-300),
       .max_evaluations = 2000,
       .lower = lower,
       .upper = upper});
  eval.end();
  TuneOptimum pf{TuneOptimizer::per_feature,
                 to_h(r2.x),
                 eval.score({to_h(r2.x), {1.0}}),
                 r2.evaluations,
                 r2.converged,
                 r2.message,
                 {}};
  for (std::size_t f = 0; f < r2.x.size(); ++f) pf.at_upper.push_back(r2.x[f] >= upper[f] - 1.0);
  return pf;
}

template <class T>
TuneResult Tuner<T>::run(const TuneHooks& hooks) const {
  TuneResult out;
  detail::Stopwatch clock;
  out.scores = run_grid(hooks);
  out.grid_s = clock.seconds();
  clock.restart();
  out.optimum = optimize(out.scores, hooks);
  out.optimize_s = clock.seconds();
  return out;
}

template class Tuner<float>;
template class Tuner<double>;

}  // namespace kreg
