// cmd_predict_local.cpp - `kreg predict --reg lc|ll`: local-constant or
// local-linear regression with mixed column types (kreg/kernel_regression.hpp,
// statsmodels' KernelReg and R np's npreg), optionally with bandwidths chosen
// first (--select), gradients (--gradients) and bootstrap standard errors
// (--bootstrap). The output has the fit, then d_NAME per feature, then the
// standard errors se_TARGET and se_d_NAME.
#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <limits>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "cli_util.hpp"
#include "kreg/error.hpp"
#include "kreg/interrupt.hpp"
#include "kreg/io/csv.hpp"
#include "kreg/io/table.hpp"
#include "kreg/kernel_regression.hpp"
#include "local_cli.hpp"
#include "training_data.hpp"

namespace kreg::cli {

void run_local_predict(const LocalPredictArgs& a) {
  const LocalCliOptions& lo = a.local;
  check_target_named(a.files);
  // Every name and count before any reading.
  KernelRegressionOptions options = local_options(lo, a.kernel, a.jobs);
  std::optional<Criterion> select;
  if (!lo.select.empty()) select = parse_criterion(lo.select);
  if (select && !a.bandwidth.empty()) {
    throw ArgumentError("give --bandwidth or --select, not both");
  }
  if (!select && a.bandwidth.empty()) {
    throw ArgumentError(
        "--reg needs bandwidths: --bandwidth (one value, or one per feature column) or --select "
        "cv_ls|aic to choose them");
  }
  const bool bootstrap = lo.bootstrap_given;
  const int replicates = bootstrap ? bootstrap_replicates(lo.bootstrap) : 0;

  if (lo.seed_given && !bootstrap) {
    throw ArgumentError("--seed seeds --bootstrap's resamples: add --bootstrap B");
  }

  std::optional<ExitOnSignal> reading(std::in_place);
  Stopwatch clock;
  const TrainingData<double> training = read_training<double>(a.files);
  const io::Dataset<double>& train = training.data;
  io::Dataset<double> query = read_scored_set(training, a.files, a.query, a.query_y, "--query-y",
                                              "query", TargetColumn::if_present);
  check_local_data(options, train, a.files.train);
  std::vector<char> nan_query;
  if (a.files.allow_nonfinite) nan_query = take_out_nonfinite_queries(query.X);
  if (!a.bandwidth.empty()) options.bandwidth = local_bandwidths(a.bandwidth, options, train);
  const double read_s = clock.seconds();
  reading.reset();
  clock.restart();

  const CancelToken& cancel = cancel_token();
  const std::span<const double> y(train.y.data(), static_cast<std::size_t>(train.y.rows()));
  std::optional<KernelSelectResult> selected;
  if (select) {
    selected = run_local_select(train, options, *select, false);
    options.bandwidth = selected->bandwidth;
  }
  const double select_s = clock.seconds();
  clock.restart();
  const KernelRegression model = KernelRegression(options).fit(train.X.view(), y);
  const KernelFit fit = model.predict(query.X.view(), lo.gradients, &cancel);
  std::optional<BootstrapResult> boot;
  if (bootstrap) {
    boot = bootstrap_kernel_regression(train.X.view(), y, query.X.view(), options, replicates,
                                       lo.seed, lo.gradients, &cancel);
  }
  const double predict_s = clock.seconds();
  clock.restart();

  // The columns: the fit, gradients, then their standard errors.
  const index_t m = query.X.rows(), d = train.X.cols();
  const std::string target = train.target.empty() ? "y" : train.target;
  std::vector<std::string> names{target};
  if (lo.gradients) {
    for (const std::string& f : train.features) names.push_back("d_" + f);
  }
  if (boot) {
    names.push_back("se_" + target);
    if (lo.gradients) {
      for (const std::string& f : train.features) names.push_back("se_d_" + f);
    }
  }
  const auto cols = static_cast<index_t>(names.size());
  const index_t rows = nan_query.empty() ? m : static_cast<index_t>(nan_query.size());
  Matrix<double> table(rows, cols);
  index_t r = 0;  // the row among the predicted queries
  for (index_t i = 0; i < rows; ++i) {
    if (!nan_query.empty() && nan_query[static_cast<std::size_t>(i)]) {
      for (index_t c = 0; c < cols; ++c) table(i, c) = std::numeric_limits<double>::quiet_NaN();
      continue;
    }
    index_t c = 0;
    table(i, c++) = fit.mean[static_cast<std::size_t>(r)];
    if (lo.gradients) {
      for (index_t f = 0; f < d; ++f) table(i, c++) = fit.gradient(r, f);
    }
    if (boot) {
      table(i, c++) = boot->mean_se[static_cast<std::size_t>(r)];
      if (lo.gradients) {
        for (index_t f = 0; f < d; ++f) table(i, c++) = boot->gradient_se(r, f);
      }
    }
    ++r;
  }
  throw_if_cancelled(&cancel);
  if (a.out == "-") {
    fmt::print("{}", io::format_csv<double>(table.view(), names));
  } else {
    io::write_table<double>(a.out, table.view(), names);
  }
  const double write_s = clock.seconds();

  std::string types;
  for (const VarType t : options.var_type) types += static_cast<char>(t);
  fmt::print(stderr,
             "kreg predict: {} queries x {} training points, d = {}, {} ({}), var_type {}, {} "
             "kernel, {} bandwidths, {} engine, {} threads\n",
             m, train.X.rows(), d, to_string(options.reg),
             options.reg == RegType::local_linear ? "local-linear" : "local-constant", types,
             a.kernel, to_string(options.bwtype), fit.report.engine.name(), resolve_n_jobs(a.jobs));
  if (selected) {
    fmt::print(stderr, "bandwidths by {}: {} ({} = {:.10g}, {} evaluations{})\n",
               to_string(*select), fmt::join(selected->bandwidth, ","), to_string(*select),
               selected->objective, selected->evaluations,
               selected->converged ? "" : ", not converged: the best point found");
  }
  if (boot) {
    fmt::print(stderr, "bootstrap: {} replicates, seed {}\n", boot->replicates, lo.seed);
  }
  fmt::print(stderr, "time: read {:.3f} s, select {:.3f} s, predict {:.3f} s, write {:.3f} s\n",
             read_s, select_s, predict_s, write_s);
  print_local_notes(fit.report, m, "queries");
  if (query.y.cols() == 1) {
    std::vector<double> pred(static_cast<std::size_t>(rows));
    for (index_t i = 0; i < rows; ++i) pred[static_cast<std::size_t>(i)] = table(i, 0);
    print_query_r2<double>(
        std::span<const double>(query.y.data(), static_cast<std::size_t>(query.y.rows())), pred);
  }
}

}  // namespace kreg::cli
