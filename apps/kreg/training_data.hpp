// training_data.hpp - the training-data options (--train, --target,
// --train-y) and their reading, the scored second file (--query, --test) with
// its targets, and the f32/f64 dispatch: written once for every command that
// fits a model on a table.
#pragma once

#include <fmt/format.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <cmath>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/parallel.hpp"
#include "kreg/error.hpp"
#include "kreg/io/table.hpp"
#include "target_file.hpp"

namespace kreg::cli {

// Where the training set comes from: the table, and its target as a column
// of it or as a file of its own.
struct TrainingFiles {
  std::string train, target, train_y;
  bool allow_nonfinite = false;  // --allow-nonfinite
  int jobs = -1;                 // threads that parse a large CSV file (the command's --jobs)
};

// --allow-nonfinite on `cmd`: statsmodels' missing='drop' for the training
// rows; `what_else` says what it does to the command's other file(s).
inline void add_allow_nonfinite(CLI::App* cmd, bool& flag, std::string_view what_else) {
  cmd->add_flag("--allow-nonfinite", flag,
                fmt::format("Read NaN/Inf cells instead of refusing the file: training rows with "
                            "one (in a feature or the target) are dropped{}; the counts go to "
                            "stderr",
                            what_else));
}

// The rows of `X` (and of `y`, when it has columns) holding a NaN or Inf.
template <class T>
std::vector<char> nonfinite_rows(MatrixView<const T> X, MatrixView<const T> y = {}) {
  std::vector<char> bad(static_cast<std::size_t>(X.rows()), 0);
  for (index_t i = 0; i < X.rows(); ++i) {
    for (index_t j = 0; j < X.cols() && !bad[i]; ++j) bad[i] = !std::isfinite(X(i, j));
    for (index_t j = 0; j < y.cols() && !bad[i]; ++j) bad[i] = !std::isfinite(y(i, j));
  }
  return bad;
}

// The rows of `m` whose `drop` entry is 0.
template <class T>
Matrix<T> kept_rows(const Matrix<T>& m, const std::vector<char>& drop) {
  const auto n = static_cast<index_t>(std::count(drop.begin(), drop.end(), 0));
  Matrix<T> out(n, m.cols());
  index_t r = 0;
  for (index_t i = 0; i < m.rows(); ++i) {
    if (drop[i]) continue;
    std::copy(m.data() + i * m.cols(), m.data() + (i + 1) * m.cols(), out.data() + r * m.cols());
    ++r;
  }
  return out;
}

// Drops the rows of `data` with a NaN/Inf in a feature or the target and
// says how many on stderr ("training", "test": `role`); refuses when none is
// left. Nothing to do unless --allow-nonfinite read the file.
template <class T>
void drop_nonfinite_rows(io::Dataset<T>& data, const std::string& path, std::string_view role) {
  const std::vector<char> bad = nonfinite_rows<T>(data.X.view(), data.y.view());
  const auto dropped = static_cast<index_t>(std::count(bad.begin(), bad.end(), 1));
  if (dropped == 0) return;
  if (dropped == data.X.rows()) {
    throw InputError(
        fmt::format("every row of '{}' has a NaN/Inf in a feature or the target, so "
                    "--allow-nonfinite leaves no {} rows; clean the data",
                    path, role));
  }
  fmt::print(stderr, "note: dropped {} of {} {} rows with NaN/Inf (--allow-nonfinite)\n", dropped,
             data.X.rows(), role);
  data.X = kept_rows(data.X, bad);
  if (data.y.cols() > 0) data.y = kept_rows(data.y, bad);
}

// predict --allow-nonfinite: takes the query rows with a NaN/Inf feature out
// of X (they get NaN in the output), says how many on stderr, and returns
// which they were (empty when none).
template <class T>
std::vector<char> take_out_nonfinite_queries(Matrix<T>& X) {
  std::vector<char> nan_query = nonfinite_rows<T>(X.view());
  const auto count = std::count(nan_query.begin(), nan_query.end(), 1);
  if (count == 0) return {};
  fmt::print(stderr,
             "note: predicted NaN for {} of {} query rows (NaN/Inf in a feature; "
             "--allow-nonfinite)\n",
             count, X.rows());
  X = kept_rows(X, nan_query);
  return nan_query;
}

inline io::ReadOptions read_options(bool allow_nonfinite, int jobs = -1) {
  io::ReadOptions r;
  r.non_finite = allow_nonfinite ? io::NonFinite::allow : io::NonFinite::reject;
  r.n_jobs = jobs;
  return r;
}

// --train (required, an existing file), --target and --train-y on `cmd`.
inline void add_training_options(CLI::App* cmd, TrainingFiles& files) {
  cmd->add_option("--train", files.train, "Training data (CSV, NPY or IDX)")
      ->required()
      ->check(CLI::ExistingFile);
  cmd->add_option("--target", files.target, "Target column of --train (name or index)");
  cmd->add_option("--train-y", files.train_y, "Target as a separate file (one column)")
      ->check(CLI::ExistingFile);
}

// Exactly one of --target and --train-y, checked before any reading.
inline void check_target_named(const TrainingFiles& files) {
  if (files.target.empty() == files.train_y.empty()) {
    throw ArgumentError("name the target: --target COLUMN (a column of --train) or --train-y FILE");
  }
}

template <class T>
struct TrainingData {
  io::Dataset<T> data;  // features, target ("y" when it came from --train-y)
  bool named = false;   // the file names its columns
};

template <class T>
TrainingData<T> read_training(const TrainingFiles& files) {
  // The threads that parse the file and fit start while it is read.
  const kreg::detail::TeamWarmUp warm(files.jobs);
  io::Table<T> table =
      io::read_table<T>(files.train, read_options(files.allow_nonfinite, files.jobs));
  const bool named = !table.columns.empty();
  TrainingData<T> out{io::split_target(std::move(table), files.target), named};
  if (!files.train_y.empty()) {
    out.data.y = target_file<T>(files.train_y, out.data.X.rows(), "--train-y",
                                read_options(files.allow_nonfinite, files.jobs));
    out.data.target = "y";
  }
  drop_nonfinite_rows(out.data, files.train, "training");
  return out;
}

// Where a file scored against the training set finds its targets.
//   if_present  the training target's column when the file has it (--query)
//   required    that column, unless its own target file is given (--test)
enum class TargetColumn { if_present, required };

// The file `path` with the training features (by name and order when both
// files name their columns; `role` names it in messages: "query", "test")
// and its targets: from `y_path` (the option `y_option`) when given.
template <class T>
io::Dataset<T> read_scored_set(const TrainingData<T>& train, const TrainingFiles& files,
                               const std::string& path, const std::string& y_path,
                               const char* y_option, std::string_view role, TargetColumn where) {
  io::Table<T> table = io::read_table<T>(path, read_options(files.allow_nonfinite, files.jobs));
  const bool named = train.named && !table.columns.empty();
  std::string column;
  if (where == TargetColumn::required && y_path.empty()) {
    if (files.target.empty()) {
      throw ArgumentError(fmt::format("--train-y needs {} for the {} targets", y_option, role));
    }
    column = files.target;
  } else if (where == TargetColumn::if_present && named && !files.target.empty() &&
             std::find(table.columns.begin(), table.columns.end(), train.data.target) !=
                 table.columns.end()) {
    column = train.data.target;
  }
  io::Dataset<T> out = io::split_target(std::move(table), column);
  check_same_features(train.data, files.train, out, path, named, role);
  if (!y_path.empty()) {
    out.y = target_file<T>(y_path, out.X.rows(), y_option,
                           read_options(files.allow_nonfinite, files.jobs));
  }
  return out;
}

// --dtype on `cmd`: f64 (the default in `dtype`) or f32.
inline void add_dtype_option(CLI::App* cmd, std::string& dtype, const char* help) {
  cmd->add_option("--dtype", dtype, help)
      ->capture_default_str()
      ->check(CLI::IsMember({"f32", "f64"}));
}

// fn.template operator()<float>() for "f32", <double> otherwise: a command's
// typed body, called as with_dtype(o.dtype, [&]<class T>() { ... }).
template <class F>
void with_dtype(std::string_view dtype, F&& fn) {
  if (dtype == "f32") {
    fn.template operator()<float>();
  } else {
    fn.template operator()<double>();
  }
}

}  // namespace kreg::cli
