// cmd_predict.cpp - `kreg predict`: fit Nadaraya-Watson on a training file,
// predict a query file, write the predictions, and score them when the query
// file carries the target.
#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <memory>
#include <optional>
#include <sstream>

#include "cli_util.hpp"
#include "commands.hpp"
#include "kreg/bandwidth.hpp"
#include "kreg/error.hpp"
#include "kreg/interrupt.hpp"
#include "kreg/io/csv.hpp"
#include "kreg/io/table.hpp"
#include "kreg/metrics.hpp"
#include "kreg/nw.hpp"
#include "target_file.hpp"

namespace kreg::cli {

namespace {

struct PredictOptions {
  std::string train;
  std::string target;
  std::string train_y;
  std::string query;
  std::string query_y;
  std::string bandwidth = "1";
  std::string kernel = "gaussian";
  std::string engine = "auto";
  std::string dtype = "f64";
  int jobs = -1;
  std::string out = "-";
};

std::vector<double> parse_bandwidth(const std::string& text) {
  std::vector<double> values;
  std::stringstream in(text);
  std::string item;
  while (std::getline(in, item, ',')) {
    try {
      values.push_back(parse_bandwidth_value(item));
    } catch (const ArgumentError& e) {
      throw ArgumentError(fmt::format(
          "--bandwidth: {}; give one value (0.5) or one per feature (0.5,1,2)", e.what()));
    }
  }
  if (values.empty()) throw ArgumentError("--bandwidth is empty");
  return values;
}

class Stopwatch {
 public:
  double lap() {
    const auto now = std::chrono::steady_clock::now();
    const double s = std::chrono::duration<double>(now - last_).count();
    last_ = now;
    return s;
  }

 private:
  std::chrono::steady_clock::time_point last_ = std::chrono::steady_clock::now();
};

template <class T>
void run_typed(const PredictOptions& o) {
  if (o.target.empty() == o.train_y.empty()) {
    throw ArgumentError("name the target: --target COLUMN (a column of --train) or --train-y FILE");
  }
  NadarayaWatsonOptions options;
  options.kernel = parse_kernel(o.kernel);
  options.engine = parse_engine(o.engine);
  options.bandwidth = parse_bandwidth(o.bandwidth);
  options.n_jobs = o.jobs;
  NadarayaWatson<T> model(options);

  // Reading leaves nothing behind: a signal ends it at once (a read may block
  // on a pipe). Predicting and writing then poll the run's token.
  std::optional<ExitOnSignal> reading(std::in_place);
  Stopwatch clock;
  const io::Table<T> train_table = io::read_table<T>(o.train);
  io::Dataset<T> train = io::split_target(train_table, o.target);
  if (!o.train_y.empty()) {
    train.y = target_file<T>(o.train_y, train.X.rows(), "--train-y");
    train.target = "y";
  }
  // The query file: the same features; its target column, when present, is
  // held out for scoring. When both files name their columns, the names must
  // agree in order.
  const io::Table<T> query_table = io::read_table<T>(o.query);
  const auto& qcols = query_table.columns;
  const bool named = !train_table.columns.empty() && !qcols.empty();
  const bool query_has_target = named && !o.target.empty() &&
                                std::find(qcols.begin(), qcols.end(), train.target) != qcols.end();
  io::Dataset<T> query = io::split_target(query_table, query_has_target ? train.target : "");
  check_same_features(train, o.train, query, o.query, named, "query");
  if (!o.query_y.empty()) query.y = target_file<T>(o.query_y, query.X.rows(), "--query-y");
  const double read_s = clock.lap();
  reading.reset();

  const CancelToken& cancel = cancel_token();
  model.fit(train.X, train.y);
  PredictReport report;
  const Matrix<T> pred = model.predict(query.X, &report, &cancel);
  const double predict_s = clock.lap();

  std::vector<std::string> names;
  if (train.y.cols() == 1) {
    names.push_back(train.target.empty() ? "y" : train.target);
  } else {
    for (index_t c = 0; c < train.y.cols(); ++c) names.push_back(fmt::format("y{}", c));
  }
  throw_if_cancelled(&cancel);
  if (o.out == "-") {
    fmt::print("{}", io::format_csv<T>(pred, names));
  } else {
    io::write_table<T>(o.out, pred, names);
  }
  const double write_s = clock.lap();

  const double pairs = static_cast<double>(query.X.rows()) * static_cast<double>(train.X.rows());
  fmt::print(stderr,
             "kreg predict: {} queries x {} training points, d = {}, {} kernel, {} engine, {}, "
             "{} threads\n",
             query.X.rows(), train.X.rows(), train.X.cols(), o.kernel, to_string(report.engine),
             o.dtype, resolve_n_jobs(o.jobs));
  fmt::print(stderr, "time: read {:.3f} s, predict {:.3f} s ({:.3g} pairs/s), write {:.3f} s\n",
             read_s, predict_s, predict_s > 0 ? pairs / predict_s : 0.0, write_s);
  if (report.isolated > 0) {
    fmt::print(stderr,
               "note: {} of {} queries had no training point within the bandwidth; they got "
               "the y of their nearest training point(s). A larger --bandwidth avoids this.\n",
               report.isolated, query.X.rows());
  }
  if (query.y.cols() == 1 && pred.cols() == 1) {
    const std::span<const T> t(query.y.data(), static_cast<std::size_t>(query.y.rows()));
    const std::span<const T> p(pred.data(), static_cast<std::size_t>(pred.rows()));
    const double r2 = r2_score(t, p);
    fmt::print(stderr, "R^2: {:.6f}\n", r2);
    warn_if_r2_undefined(r2, query.y.rows());
  }
}

}  // namespace

void add_predict(CLI::App& root) {
  auto o = std::make_shared<PredictOptions>();
  auto* cmd = root.add_subcommand(
      "predict", "Fit Nadaraya-Watson on --train and predict --query (R^2 when it has the target)");
  cmd->add_option("--train", o->train, "Training data (CSV, NPY or IDX)")
      ->required()
      ->check(CLI::ExistingFile);
  cmd->add_option("--target", o->target, "Target column of --train (name or index)");
  cmd->add_option("--train-y", o->train_y, "Target as a separate file (one column)")
      ->check(CLI::ExistingFile);
  cmd->add_option("--query", o->query, "Points to predict (same features as --train)")
      ->required()
      ->check(CLI::ExistingFile);
  cmd->add_option("--query-y", o->query_y, "True targets of --query, to print R^2")
      ->check(CLI::ExistingFile);
  cmd->add_option("--bandwidth", o->bandwidth, "One bandwidth, or one per feature: 0.5,1,2")
      ->capture_default_str();
  cmd->add_option("--kernel", o->kernel, "gaussian, epanechnikov, tricube or uniform")
      ->capture_default_str();
  cmd->add_option("--engine", o->engine, "auto, fused, vectorized or reference")
      ->capture_default_str();
  cmd->add_option("--dtype", o->dtype, "f64 or f32: precision of data and arithmetic")
      ->capture_default_str()
      ->check(CLI::IsMember({"f32", "f64"}));
  cmd->add_option("--jobs", o->jobs, "Threads: -1 all cores, -2 all but one, k > 0 exactly k")
      ->capture_default_str();
  cmd->add_option("--out", o->out, "Predictions file (.csv or .npy); - for stdout")
      ->capture_default_str();
  cmd->callback([o] {
    check_distinct_paths({{"--out", o->out}}, {{"--train", o->train},
                                               {"--train-y", o->train_y},
                                               {"--query", o->query},
                                               {"--query-y", o->query_y}});
    if (o->dtype == "f32") {
      run_typed<float>(*o);
    } else {
      run_typed<double>(*o);
    }
  });
}

}  // namespace kreg::cli
