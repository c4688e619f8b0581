// cmd_tune_local.cpp - `kreg tune --reg lc|ll`: choose one bandwidth per
// column for local regression by cv_ls or aic (select_kernel_bandwidth,
// statsmodels' KernelReg(bw='cv_ls'|'aic') and R np's npregbw), print them,
// and write them as JSON (--out) and CSV (--csv), optionally refitting on
// --train to predict --test (--refit). One Nelder-Mead search, so no grid,
// journal or shards: a stop request ends it with nothing written.
#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <nlohmann/json.hpp>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "cli_util.hpp"
#include "kreg/error.hpp"
#include "kreg/interrupt.hpp"
#include "kreg/io/table.hpp"
#include "kreg/io/text.hpp"
#include "kreg/kernel_regression.hpp"
#include "kreg/metrics.hpp"
#include "kreg/version.hpp"
#include "local_cli.hpp"
#include "training_data.hpp"
#include "tune_cli.hpp"

namespace kreg::cli {

namespace {

// A CSV field: quoted, its quotes doubled, when it holds a delimiter, a
// quote, a line end or edge spaces (as the tables kreg writes).
std::string csv_field(const std::string& text) {
  const bool quote = text.find_first_of(",\"\r\n") != std::string::npos ||
                     (!text.empty() && (text.front() == ' ' || text.back() == ' '));
  if (!quote) return text;
  std::string out = "\"";
  for (const char c : text) {
    if (c == '"') out += '"';
    out += c;
  }
  return out + "\"";
}

}  // namespace

void run_local_tune(const TuneCliOptions& o, const LocalCliOptions& local) {
  const Stopwatch start;
  check_target_named(o.files);
  KernelRegressionOptions options = local_options(local, o.kernel, o.jobs);
  const Criterion criterion = parse_criterion(local.select.empty() ? "cv_ls" : local.select);
  if (!o.refit.empty() && o.test.empty()) {
    throw ArgumentError("--refit writes predictions for --test: give --test FILE");
  }
  if (!o.test.empty() && o.refit.empty()) {
    throw ArgumentError(
        "with --reg, --test is predicted by --refit (the bandwidths are chosen on --train by "
        "--select): give --refit FILE, or drop --test");
  }
  check_distinct_paths({{"--out", o.out}, {"--csv", o.csv}, {"--refit", o.refit}},
                       {{"--train", o.files.train},
                        {"--train-y", o.files.train_y},
                        {"--test", o.test},
                        {"--test-y", o.test_y}});

  std::optional<ExitOnSignal> reading(std::in_place);
  const TrainingData<double> training = read_training<double>(o.files);
  const io::Dataset<double>& train = training.data;
  io::Dataset<double> test;
  if (!o.test.empty()) {
    test = read_scored_set(training, o.files, o.test, o.test_y, "--test-y", "test",
                           TargetColumn::required);
    drop_nonfinite_rows(test, o.test, "test");
  }
  check_local_data(options, train, o.files.train);
  const double read_s = start.seconds();
  reading.reset();

  const index_t n = train.X.rows(), d = train.X.cols();
  std::string types;
  for (const VarType t : options.var_type) types += static_cast<char>(t);
  if (!o.quiet) {
    fmt::print(stderr,
               "kreg tune: {} training points, d = {}, {} ({}), var_type {}, {} kernel, {} "
               "bandwidths, {} threads\n",
               n, d, to_string(options.reg),
               options.reg == RegType::local_linear ? "local-linear" : "local-constant", types,
               o.kernel, to_string(options.bwtype), resolve_n_jobs(o.jobs));
  }
  Stopwatch clock;
  const KernelSelectResult chosen = run_local_select(train, options, criterion, o.quiet);
  const double select_s = clock.seconds();
  options.bandwidth = chosen.bandwidth;

  // Columns the selection smoothed out (np's term): a discrete column's lambda
  // at its upper bound (its levels weigh alike), a fixed bandwidth of five
  // times the column's range or more (its kernel is flat over the data).
  std::vector<std::string> smoothed;
  for (index_t f = 0; f < d; ++f) {
    const auto fu = static_cast<std::size_t>(f);
    const double h = chosen.bandwidth[fu];
    if (options.var_type[fu] == VarType::continuous) {
      if (options.bwtype != BandwidthType::fixed) continue;
      double lo = train.X(0, f), hi = lo;
      for (index_t j = 1; j < n; ++j) {
        lo = std::min(lo, train.X(j, f));
        hi = std::max(hi, train.X(j, f));
      }
      if (!(hi > lo) || h < 5 * (hi - lo)) continue;
    } else {
      const double upper = lambda_upper(options, train, f);
      if (!(upper > 0) || h < upper * (1 - 1e-3)) continue;
    }
    smoothed.push_back(train.features[fu]);
  }

  const CancelToken& cancel = cancel_token();
  nlohmann::json refit;
  std::optional<double> refit_r2;
  std::vector<std::string> written;
  if (!o.refit.empty()) {
    if (!o.quiet) {
      fmt::print(stderr, "kreg tune: refit on '{}', predicting the {} rows of '{}'\n",
                 o.files.train, test.X.rows(), o.test);
    }
    const std::span<const double> y(train.y.data(), static_cast<std::size_t>(n));
    const KernelFit fit =
        KernelRegression(options).fit(train.X.view(), y).predict(test.X.view(), false, &cancel);
    print_local_notes(fit.report, test.X.rows(), "test rows");
    Matrix<double> pred(static_cast<index_t>(fit.mean.size()), 1);
    std::copy(fit.mean.begin(), fit.mean.end(), pred.data());
    throw_if_cancelled(&cancel);
    io::write_table<double>(o.refit, pred.view(), {train.target.empty() ? "y" : train.target});
    written.push_back(o.refit);
    refit = {{"path", o.refit}, {"bandwidth", chosen.bandwidth}};
    if (test.y.cols() == 1) {
      const double r2 = r2_score<double>(
          std::span<const double>(test.y.data(), static_cast<std::size_t>(test.y.rows())),
          std::span<const double>(fit.mean));
      warn_if_r2_undefined(r2, test.y.rows());
      refit_r2 = r2;
      refit["test_r2"] = r2;
    }
  }

  throw_if_cancelled(&cancel);
  if (!o.out.empty()) {
    nlohmann::json result = {{"kreg_version", std::string(version)},
                             {"train", o.files.train},
                             {"n_train", n},
                             {"n_features", d},
                             {"reg", to_string(options.reg)},
                             {"var_type", types},
                             {"kernel", o.kernel},
                             {"discrete_kernels", to_string(options.discrete)},
                             {"bwtype", to_string(options.bwtype)},
                             {"criterion", to_string(criterion)},
                             {"features", train.features},
                             {"bandwidth", chosen.bandwidth},
                             {"objective", chosen.objective},
                             {"evaluations", chosen.evaluations},
                             {"converged", chosen.converged},
                             {"smoothed_out", smoothed}};
    if (!refit.is_null()) result["refit"] = refit;
    result["timing"] = {{"read_s", read_s}, {"select_s", select_s}, {"total_s", start.seconds()}};
    io::write_text_atomic(
        o.out, result.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) + "\n");
    written.push_back(o.out);
  }
  throw_if_cancelled(&cancel);
  if (!o.csv.empty()) {
    std::string text = "feature,var_type,bandwidth\n";
    for (index_t f = 0; f < d; ++f) {
      const auto fu = static_cast<std::size_t>(f);
      text += fmt::format("{},{},{:.17g}\n", csv_field(train.features[fu]),
                          static_cast<char>(options.var_type[fu]), chosen.bandwidth[fu]);
    }
    io::write_text_atomic(o.csv, text);
    written.push_back(o.csv);
  }

  // The summary: one line per column, then the criterion.
  const std::string bw_head = options.bwtype == BandwidthType::fixed ? "bandwidth" : "bandwidth/k";
  fmt::print("{:<20}  {:<10}  {:>14}\n", "feature", "type", bw_head);
  for (index_t f = 0; f < d; ++f) {
    const auto fu = static_cast<std::size_t>(f);
    fmt::print("{:<20}  {:<10}  {:>14.6g}\n", train.features[fu],
               var_type_word(options.var_type[fu]), chosen.bandwidth[fu]);
  }
  fmt::print("{} ({}): {:.10g}, {} evaluations{}\n", to_string(criterion), to_string(options.reg),
             chosen.objective, chosen.evaluations,
             chosen.converged ? "" : " (not converged: the best point found)");
  for (const std::string& name : smoothed) {
    const auto f = static_cast<std::size_t>(
        std::find(train.features.begin(), train.features.end(), name) - train.features.begin());
    if (options.var_type[f] == VarType::continuous) {
      fmt::print("  column '{}': bandwidth 5 or more times its range: {}\n", name,
                 options.reg == RegType::local_constant
                     ? "the fit barely varies with it (it does not help predict the target)"
                     : "the fit is close to linear in it");
    } else {
      fmt::print(
          "  column '{}': lambda at its upper bound, the most smoothing its kernel allows: it "
          "helps little to predict the target\n",
          name);
    }
  }
  if (refit_r2) {
    fmt::print("refit on --train, R^2 on --test: {:.6f} (written to {})\n", *refit_r2, o.refit);
  }
  if (!o.quiet) {
    fmt::print(stderr, "time: read {:.3f} s, select {:.3f} s, total {:.3f} s\n", read_s, select_s,
               start.seconds());
  }
}

}  // namespace kreg::cli
