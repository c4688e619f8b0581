// local_cli.hpp - the local-regression options of `kreg predict` and `kreg
// tune` (--reg lc|ll and what goes with it: --var-type, --bwtype,
// --discrete-kernels, --select; predict's --gradients, --bootstrap, --seed),
// checked against the data with the feature names in every message, and the
// two commands' paths through kreg/kernel_regression.hpp
// (cmd_predict_local.cpp, cmd_tune_local.cpp).
//
// Without --reg both commands are Nadaraya-Watson's engine, unchanged; an
// option of the local path given without --reg is a usage error (rather than
// an implied --reg, which would change the estimator behind the user's back).
#pragma once

#include <fmt/format.h>

#include <CLI/CLI.hpp>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <initializer_list>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "cli_util.hpp"
#include "kreg/kernel_regression.hpp"
#include "kreg/metrics.hpp"
#include "training_data.hpp"

namespace kreg::cli {

struct LocalCliOptions {
  std::string reg;  // "" (Nadaraya-Watson's path), "lc" or "ll"
  std::string var_type;
  std::string bwtype = "fixed";
  std::string discrete = "statsmodels";
  std::string select;  // "" or a criterion (tune: cv_ls unless given)
  bool gradients = false;
  std::string bootstrap;  // predict: B, checked by bootstrap_replicates
  std::uint64_t seed = 0;
  bool seed_given = false;       // predict: --seed on the command line
  bool bootstrap_given = false;  // predict: --bootstrap on the command line
  // --engine and --device as given: auto on the CPU is the local engine; a
  // named Nadaraya-Watson engine or a GPU runs the fits through the backend
  // seam (kreg/kernel_regression.hpp).
  std::string engine = "auto";
  std::string device = "auto";
};

// --reg, --var-type, --bwtype, --discrete-kernels and --select on `cmd`;
// with `predict`, --gradients, --bootstrap and --seed too.
void add_local_options(CLI::App* cmd, LocalCliOptions& o, bool predict);

// The options of `cmd` given on its command line among `names`.
std::vector<std::string> given_options(const CLI::App* cmd,
                                       std::initializer_list<std::string_view> names);

// Usage errors for local-path options given without --reg.
void check_local_needs_reg(const CLI::App* cmd, const LocalCliOptions& o);

// Usage errors for options that do not apply to the local path: each of
// `names` given on the command line, --dtype f32 and a run of several MPI
// ranks.
void check_local_excludes(const CLI::App* cmd, std::string_view command,
                          std::initializer_list<std::string_view> names);

// --bootstrap's B: a whole number >= 2 (ArgumentError otherwise).
int bootstrap_replicates(const std::string& text);

// The options as the library takes them (bandwidth empty), every name
// checked: before reading any data.
KernelRegressionOptions local_options(const LocalCliOptions& o, std::string_view kernel, int jobs);
// After reading: var_type (all c when not given) against the feature
// columns, one target, at least 2 rows.
void check_local_data(KernelRegressionOptions& options, const io::Dataset<double>& train,
                      const std::string& train_path);

// --bandwidth's text for the local path: one number, or one per column; a
// discrete column's lambda may be 0. Each is checked against its column
// (continuous h > 0, nn k a whole number in [1, n - 1], lambda in its range),
// the column named in the message.
std::vector<double> local_bandwidths(const std::string& text,
                                     const KernelRegressionOptions& options,
                                     const io::Dataset<double>& train);

// The largest lambda of discrete column f: 1, or Aitchison-Aitken's
// (c - 1) / c for an unordered column with c levels in the training set.
double lambda_upper(const KernelRegressionOptions& options, const io::Dataset<double>& train,
                    index_t f);

// "continuous", "ordered", "unordered": the word for a column's type.
std::string_view var_type_word(VarType type);

// The selection, with its progress on stderr unless `quiet`.
KernelSelectResult run_local_select(const io::Dataset<double>& train,
                                    const KernelRegressionOptions& options, Criterion criterion,
                                    bool quiet);

// Notes on stderr for isolated and rank-deficient queries of a fit of `m`
// queries (`what`: "queries", "test rows").
void print_local_notes(const KernelRegressionReport& report, index_t m, std::string_view what);

// R^2 of `pred` against `truth` on the rows where both are finite, on
// stderr with what it left out (kreg predict's score of a query file that
// carries its target).
template <class T>
void print_query_r2(std::span<const T> truth, std::span<const T> pred) {
  std::vector<T> t, p;
  for (std::size_t i = 0; i < pred.size(); ++i) {
    if (!std::isfinite(truth[i]) || !std::isfinite(pred[i])) continue;
    t.push_back(truth[i]);
    p.push_back(pred[i]);
  }
  if (t.size() < pred.size()) {
    fmt::print(stderr, "note: R^2 left out {} of {} query rows with NaN/Inf (--allow-nonfinite)\n",
               pred.size() - t.size(), pred.size());
  }
  if (t.empty()) {
    fmt::print(stderr, "note: no query row has a finite target and prediction: no R^2\n");
    return;
  }
  const double r2 = r2_score(std::span<const T>(t), std::span<const T>(p));
  fmt::print(stderr, "R^2: {:.6f}\n", r2);
  warn_if_r2_undefined(r2, static_cast<index_t>(t.size()));
}

// The two commands' local paths. `bandwidth` is --bandwidth's text, empty
// when not given.
struct LocalPredictArgs {
  const LocalCliOptions& local;
  const TrainingFiles& files;
  const std::string& query;
  const std::string& query_y;
  std::string bandwidth;
  const std::string& kernel;
  int jobs;
  const std::string& out;
};
void run_local_predict(const LocalPredictArgs& args);

struct TuneCliOptions;
void run_local_tune(const TuneCliOptions& o, const LocalCliOptions& local);

}  // namespace kreg::cli
