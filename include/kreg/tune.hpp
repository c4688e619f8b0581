// kreg/tune.hpp - the tune workflow: choose a Nadaraya-Watson bandwidth by
// cross-validation over a grid in one pass (BandwidthCV, kreg/select.hpp),
// then optionally refine it with an optimiser: one bandwidth (Brent on log h
// between the best grid point's neighbours), or one per feature (Nelder-Mead
// on log h from the better of the scalar optimum and Silverman's rule, with
// --starts random restarts).
//
// The workflow plans deterministic tasks, runs them, and combines their
// partials in plan order, so the result is the same bits however and wherever
// the tasks ran: plan(), run_task() and combine() are separately callable for
// a caller that runs tasks elsewhere (another process, another rank), and
// run() does all of it on this thread, asking `TuneHooks` before each task
// and each optimiser evaluation whether an earlier run already has it (a
// journal) and telling them what finished. The plan depends on the data, the
// splits and the grid, never on n_jobs. The optimiser is deterministic, so a
// run that replays recorded evaluations takes the same path and ends with
// the same bits as one that computes them.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "kreg/interrupt.hpp"
#include "kreg/matrix.hpp"
#include "kreg/select.hpp"

namespace kreg {

// How the grid's best bandwidth is refined.
//   none         the grid's best is the answer
//   scalar       Brent's method on log h between the best grid point's neighbours
//   per_feature  Nelder-Mead on log h, one bandwidth per feature
enum class TuneOptimizer { none, scalar, per_feature };
// "none", "scalar" or "per-feature"; ArgumentError naming --optimize otherwise.
TuneOptimizer parse_tune_optimizer(std::string_view name);
std::string_view to_string(TuneOptimizer optimizer);

struct TuneOptions {
  // The grid; empty: 25 values log-spaced over 3 decades around Silverman's
  // rule (the geometric mean of its per-feature bandwidths).
  std::vector<double> bandwidths;
  // Feature f's bandwidth at grid point b is bandwidths[b] * scale[f]
  // (BandwidthSet); empty: 1 for every feature. Only with optimizer none.
  std::vector<double> scale;
  TuneOptimizer optimizer = TuneOptimizer::none;
  int starts = 1;          // per_feature: starting points, >= 1
  std::uint32_t seed = 0;  // per_feature: seed of the random starts
};

// The optimiser's answer.
struct TuneOptimum {
  TuneOptimizer method = TuneOptimizer::scalar;
  std::vector<double> bandwidth;  // one value (scalar), or one per feature
  double score = 0;               // its cross-validated score
  int evaluations = 0;
  bool converged = false;
  std::string message;
  std::vector<bool> at_upper;  // per feature: at the search's upper bound (irrelevant feature)
};

struct TuneResult {
  CvScores scores;  // the grid's
  std::optional<TuneOptimum> optimum;
  double grid_s = 0, optimize_s = 0;  // wall time of the two phases
  // The chosen bandwidth: the optimum's, else the grid's best.
  std::vector<double> chosen() const;
};

// What a caller learns and supplies while the workflow runs; every member is
// optional. Called on the calling thread, in plan order.
struct TuneHooks {
  // Grid task `index` of the plan as an earlier run finished it, or nullopt
  // to run it. Its sums must have the task's shape (ArgumentError otherwise).
  std::function<std::optional<CvPartial>(std::size_t index, const CvTask& task)> resume;
  // Grid task `index` has just been run (not called for resumed tasks).
  std::function<void(std::size_t index, const CvTask& task, const CvPartial& partial)> task_done;
  // The score of the bandwidths `h` (scalar: {h}; per feature: one a
  // feature) as an earlier run computed it, or nullopt to compute it.
  std::function<std::optional<double>(std::span<const double> h)> recorded_score;
  // The optimiser has just computed a score (not called for recorded or repeated ones).
  std::function<void(std::span<const double> h, double score)> evaluated;
  // Progress: a phase ("grid", "optimize") of at most `total` steps starts
  // with `done` already done; step() after each computed step; end() when it ends.
  std::function<void(std::string_view phase, std::int64_t total, std::int64_t done)> phase_begin;
  std::function<void(std::int64_t done)> step;
  std::function<void()> phase_end;
  // Checked between tasks and evaluations and passed into each: kreg::Cancelled.
  const CancelToken* cancel = nullptr;
  // Runs `count` tasks (the grid's not resumed, or one optimiser
  // evaluation's plan), perhaps elsewhere (MPI ranks, src/dist/): run(i)
  // computes the i-th; done(i, partial) must then be called on the calling
  // thread for every i in increasing order with what run(i) returned,
  // wherever it ran. Unset: each task runs here in turn.
  std::function<void(std::size_t count, const std::function<CvPartial(std::size_t)>& run,
                     const std::function<void(std::size_t, CvPartial&&)>& done)>
      run_tasks;
};

// The tune workflow over one data set, for float or double. X, Y,
// sample_weight, X_test and Y_test are as BandwidthCV's (holdout scores on
// the test set); X must outlive the Tuner (the per-feature optimiser starts
// from its rule-of-thumb bandwidths). Throws ArgumentError for what
// BandwidthCV refuses, a bandwidth or scale that is not finite and > 0, and
// starts < 1.
template <class T>
class Tuner {
 public:
  Tuner(MatrixView<const T> X, MatrixView<const T> Y, std::span<const T> sample_weight,
        CvOptions cv, TuneOptions options, MatrixView<const T> X_test = {},
        MatrixView<const T> Y_test = {});

  const BandwidthCV<T>& search() const { return search_; }
  const TuneOptions& options() const { return options_; }
  // The grid (options().bandwidths, or the default grid).
  const std::vector<double>& grid() const { return grid_; }

  // The grid's tasks: deterministic, independent of n_jobs.
  const std::vector<CvTask>& plan() const { return tasks_; }
  // Runs task `index` of plan() (n_jobs threads).
  CvPartial run_task(std::size_t index, const CancelToken* cancel = nullptr) const;
  // The grid's scores from every task's partial, in plan order.
  CvScores combine(std::span<const CvPartial> partials) const;

  // The grid phase: plan, run (or resume) every task, combine.
  CvScores run_grid(const TuneHooks& hooks = {}) const;
  // The optimiser phase, started from the grid's scores; nullopt for none.
  std::optional<TuneOptimum> optimize(const CvScores& grid_scores,
                                      const TuneHooks& hooks = {}) const;
  // Both phases.
  TuneResult run(const TuneHooks& hooks = {}) const;

 private:
  MatrixView<const T> X_;
  TuneOptions options_;
  BandwidthCV<T> search_;
  std::vector<double> grid_;
  std::vector<CvTask> tasks_;
};

// The default grid of TuneOptions: 25 values from 10^(c - 1.5) to 10^(c + 1.5)
// with c the mean of log10 of Silverman's per-feature bandwidths.
std::vector<double> default_bandwidth_grid(MatrixView<const double> X);
std::vector<double> default_bandwidth_grid(MatrixView<const float> X);

}  // namespace kreg
