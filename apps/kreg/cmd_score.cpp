// cmd_score.cpp - `kreg score`: compare a prediction file with the truth
// using scikit-learn's metric definitions.
#include <fmt/format.h>

#include <cmath>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <span>
#include <sstream>

#include "cli_util.hpp"
#include "commands.hpp"
#include "kreg/error.hpp"
#include "kreg/interrupt.hpp"
#include "kreg/io/table.hpp"
#include "kreg/metrics.hpp"

namespace kreg::cli {

namespace {

struct ScoreOptions {
  std::string truth;
  std::string pred;
  std::string target;
  std::string pred_column;
  std::vector<std::string> metrics{"r2", "mse", "mae"};
  bool json = false;
  bool allow_nonfinite = false;
};

// One column of `path`: the one named by `spec` (name or index), else the
// only column, else the column named "y".
std::vector<double> column_of(const std::string& path, const std::string& spec, const char* option,
                              bool allow_nonfinite) {
  io::ReadOptions read;
  read.non_finite = allow_nonfinite ? io::NonFinite::allow : io::NonFinite::reject;
  const auto table = io::read_table<double>(path, read);
  index_t j = 0;
  if (!spec.empty()) {
    j = io::resolve_column(spec, table.columns, table.data.cols());
  } else if (table.data.cols() != 1) {
    const auto it = std::find(table.columns.begin(), table.columns.end(), "y");
    if (it == table.columns.end()) {
      throw ArgumentError(fmt::format("'{}' has {}; choose one with {}", path,
                                      count_of(table.data.cols(), "column"), option));
    }
    j = it - table.columns.begin();
  }
  std::vector<double> out(static_cast<std::size_t>(table.data.rows()));
  for (index_t i = 0; i < table.data.rows(); ++i) out[i] = table.data(i, j);
  return out;
}

// Accuracy compares class labels: a value that is not a whole number means a
// continuous target, which scikit-learn's accuracy_score refuses too.
void check_labels(std::span<const double> values, const std::string& path) {
  for (std::size_t i = 0; i < values.size(); ++i) {
    if (values[i] == std::floor(values[i])) continue;
    throw ArgumentError(fmt::format(
        "--metric accuracy compares class labels, but '{}' row {} holds {}, which is not a "
        "whole number: a continuous target. Score it with r2, mse or mae",
        path, i + 1, values[i]));
  }
}

void run(const ScoreOptions& o) {
  // Reading and scoring leave nothing behind: a signal ends them at once (a
  // read may block on a pipe); the run's token is polled before printing.
  std::optional<ExitOnSignal> reading(std::in_place);
  auto y_true = column_of(o.truth, o.target, "--target", o.allow_nonfinite);
  auto y_pred = column_of(o.pred, o.pred_column, "--pred-column", o.allow_nonfinite);
  if (y_true.size() != y_pred.size()) {
    throw ArgumentError(fmt::format("'{}' has {} but '{}' has {}", o.truth,
                                    count_of(static_cast<std::int64_t>(y_true.size()), "row"),
                                    o.pred, y_pred.size()));
  }
  if (o.allow_nonfinite) {  // pairs with a NaN/Inf on either side are left out, and counted
    std::size_t kept = 0;
    for (std::size_t i = 0; i < y_true.size(); ++i) {
      if (!std::isfinite(y_true[i]) || !std::isfinite(y_pred[i])) continue;
      y_true[kept] = y_true[i];
      y_pred[kept] = y_pred[i];
      ++kept;
    }
    if (kept < y_true.size()) {
      if (kept == 0) {
        throw InputError(
            fmt::format("every pair of '{}' and '{}' has a NaN/Inf, so "
                        "--allow-nonfinite leaves nothing to score",
                        o.truth, o.pred));
      }
      fmt::print(stderr, "note: dropped {} of {} with NaN/Inf (--allow-nonfinite)\n",
                 y_true.size() - kept, count_of(static_cast<std::int64_t>(y_true.size()), "pair"));
      y_true.resize(kept);
      y_pred.resize(kept);
    }
  }
  const std::span<const double> t(y_true), p(y_pred);
  nlohmann::ordered_json out;
  for (const auto& m : o.metrics) {
    if (m == "r2") {
      const double r2 = r2_score(t, p);
      warn_if_r2_undefined(r2, static_cast<std::int64_t>(t.size()));
      out[m] = r2;
    }
    if (m == "mse") out[m] = mean_squared_error(t, p);
    if (m == "mae") out[m] = mean_absolute_error(t, p);
    if (m == "accuracy") {
      check_labels(t, o.truth);
      check_labels(p, o.pred);
      out[m] = accuracy_score(t, p);
    }
  }
  reading.reset();
  throw_if_cancelled(&cancel_token());
  if (o.json) {
    fmt::print("{}\n", out.dump(2, ' ', false, nlohmann::json::error_handler_t::replace));
    return;
  }
  for (const auto& [name, value] : out.items()) {
    fmt::print("{:<9} {:.10g}\n", name, value.get<double>());
  }
}

}  // namespace

void add_score(CLI::App& root) {
  auto o = std::make_shared<ScoreOptions>();
  auto* cmd = root.add_subcommand("score", "Score predictions against the truth (R^2, MSE, ...)");
  cmd->add_option("--true", o->truth, "File with the true values (CSV, NPY or IDX)")
      ->required()
      ->check(CLI::ExistingFile);
  cmd->add_option("--pred", o->pred, "File with the predictions")
      ->required()
      ->check(CLI::ExistingFile);
  cmd->add_option("--target", o->target,
                  "Column of --true to score (name or index; default: the only column, or y)");
  cmd->add_option("--pred-column", o->pred_column,
                  "Column of --pred to score (default: the only column, or y)");
  cmd->add_option("--metric", o->metrics, "Metrics: r2, mse, mae, accuracy")
      ->delimiter(',')
      ->capture_default_str()
      ->check(CLI::IsMember({"r2", "mse", "mae", "accuracy"}));
  cmd->add_flag("--json", o->json, "Print JSON");
  cmd->add_flag("--allow-nonfinite", o->allow_nonfinite,
                "Read NaN/Inf cells instead of refusing the files: pairs with one on either side "
                "are left out of the scores, and counted on stderr");
  cmd->callback([o] { run(*o); });
}

}  // namespace kreg::cli
