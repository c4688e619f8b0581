// cmd_predict.cpp - `kreg predict`: fit Nadaraya-Watson on a training file,
// predict a query file, write the predictions, and score them when the query
// file carries the target. With --reg lc|ll, local regression instead
// (cmd_predict_local.cpp).
#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <memory>
#include <optional>
#include <sstream>
#include <vector>

#include "cli_util.hpp"
#include "commands.hpp"
#include "dist/bytes.hpp"
#include "dist/communicator.hpp"
#include "dist/rows.hpp"
#include "kreg/bandwidth.hpp"
#include "kreg/error.hpp"
#include "kreg/interrupt.hpp"
#include "kreg/io/csv.hpp"
#include "kreg/io/table.hpp"
#include "kreg/metrics.hpp"
#include "kreg/nw.hpp"
#include "local_cli.hpp"
#include "shard.hpp"
#include "training_data.hpp"

namespace kreg::cli {

namespace {

struct PredictOptions {
  TrainingFiles files;
  std::string query;
  std::string query_y;
  std::string bandwidth = "1";
  std::string kernel = "gaussian";
  std::string engine = "auto";
  std::string device = "auto";
  std::string dtype = "f64";
  int jobs = -1;
  std::string out = "-";
  std::string shard;
  LocalCliOptions local;  // --reg and its options
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

// Under MPI: rank 0's queries shared out in contiguous blocks, each rank's
// predictions gathered back in row order on rank 0 (empty elsewhere), the
// isolated queries summed. A query's prediction does not depend on the
// others, so the rows are the same bits as one process's.
template <class T>
Matrix<T> predict_shared(dist::Communicator& comm, const NadarayaWatson<T>& model,
                         MatrixView<const T> queries, index_t outputs, PredictReport& report,
                         const CancelToken& cancel) {
  const Matrix<T> mine = dist::scatter_rows<T>(comm, queries);
  Matrix<T> pred(0, outputs);
  if (mine.rows() > 0) pred = model.predict(mine, &report, &cancel);
  const std::vector<dist::Bytes> isolated =
      comm.gather(dist::ByteWriter().put<index_t>(report.isolated).take());
  Matrix<T> all = dist::gather_rows<T>(comm, pred.view(), outputs);
  report.isolated = 0;
  for (const dist::Bytes& b : isolated) report.isolated += dist::ByteReader(b).get<index_t>();
  return all;
}

template <class T>
void run_typed(const PredictOptions& o) {
  check_target_named(o.files);
  const ShardSpec shard = parse_shard(o.shard);
  if (shard.active() && o.out == "-") {
    throw ArgumentError("--shard writes a partial result beside --out: give --out FILE");
  }
  NadarayaWatsonOptions options;
  options.kernel = parse_kernel(o.kernel);
  options.engine = parse_engine(o.engine);
  options.device = parse_device(o.device);
  options.bandwidth = parse_bandwidth(o.bandwidth);
  options.n_jobs = o.jobs;
  NadarayaWatson<T> model(options);

  // Reading leaves nothing behind: a signal ends it at once (a read may block
  // on a pipe). Predicting and writing then poll the run's token.
  std::optional<ExitOnSignal> reading(std::in_place);
  Stopwatch clock;
  const TrainingData<T> training = read_training<T>(o.files);
  const io::Dataset<T>& train = training.data;
  // The query file: the same features; its target column, when present, is
  // held out for scoring.
  // Under MPI every rank reads the training set; rank 0 reads the queries
  // and shares them out, so a rank holds only its share of them.
  dist::Communicator& comm = dist::world();
  const bool root = comm.is_root();
  io::Dataset<T> query;
  if (root) {
    query = read_scored_set(training, o.files, o.query, o.query_y, "--query-y", "query",
                            TargetColumn::if_present);
  }
  // --allow-nonfinite: queries with a NaN/Inf feature are left out of the
  // prediction and get NaN in the output, counted on stderr.
  std::vector<char> nan_query;
  if (o.files.allow_nonfinite && root) nan_query = take_out_nonfinite_queries(query.X);
  const double read_s = clock.seconds();
  clock.restart();
  reading.reset();

  const CancelToken& cancel = cancel_token();
  model.fit(train.X, train.y);
  PredictReport report;
  if (shard.active()) {  // the job-array path: this shard's rows, in a partial
    const auto b = static_cast<index_t>(shard.begin(static_cast<std::size_t>(query.X.rows())));
    const auto e = static_cast<index_t>(shard.end(static_cast<std::size_t>(query.X.rows())));
    Matrix<T> mine(0, train.y.cols());
    if (e > b) mine = model.predict(query.X.view().rows_between(b, e), &report, &cancel);
    dist::Bytes payload = dist::ByteWriter().put<index_t>(report.isolated).take();
    const dist::Bytes rows = dist::encode_rows<T>(mine.view());
    payload.insert(payload.end(), rows.begin(), rows.end());
    write_partial(o.out, shard, "predict", "", payload);
    return;
  }
  Matrix<T> pred;
  if (const MergeInput* merged = merging()) {  // `kreg merge`: the shards' rows in order
    std::vector<dist::Bytes> blocks;
    for (const dist::Bytes& p : merged->payloads) {
      report.isolated += dist::ByteReader(p).get<index_t>();
      blocks.emplace_back(p.begin() + sizeof(index_t), p.end());
    }
    index_t rows = 0;
    std::vector<Matrix<T>> parts;
    for (const dist::Bytes& b : blocks) {
      parts.push_back(dist::decode_rows<T>(b));
      rows += parts.back().rows();
    }
    if (rows != query.X.rows()) {
      throw InputError(
          fmt::format("the partials hold {} predictions but '{}' has {} rows; run "
                      "the shards again",
                      rows, o.query, query.X.rows()));
    }
    pred = Matrix<T>(rows, train.y.cols());
    T* at = pred.data();
    for (const Matrix<T>& m : parts) at = std::copy(m.data(), m.data() + m.rows() * m.cols(), at);
  } else {
    pred = comm.size() > 1 ? predict_shared<T>(comm, model, query.X, train.y.cols(), report, cancel)
                           : model.predict(query.X, &report, &cancel);
  }
  const double predict_s = clock.seconds();
  if (!root) return;  // rank 0 writes
  clock.restart();
  if (!nan_query.empty()) {  // the NaN rows back in their places
    Matrix<T> all(static_cast<index_t>(nan_query.size()), pred.cols());
    index_t r = 0;
    for (index_t i = 0; i < all.rows(); ++i) {
      for (index_t c = 0; c < all.cols(); ++c) {
        all(i, c) = nan_query[i] ? std::numeric_limits<T>::quiet_NaN() : pred(r, c);
      }
      if (!nan_query[i]) ++r;
    }
    pred = std::move(all);
  }

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
  const double write_s = clock.seconds();

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
               "note: {} of {} queries had no training point within the bandwidth; {} the y of "
               "{} nearest training point(s). A larger --bandwidth avoids this.\n",
               report.isolated, query.X.rows(), report.isolated == 1 ? "it got" : "they got",
               report.isolated == 1 ? "its" : "their");
  }
  if (query.y.cols() == 1 && pred.cols() == 1) {
    const auto rows = static_cast<std::size_t>(pred.rows());
    print_query_r2<T>(std::span<const T>(query.y.data(), rows),
                      std::span<const T>(pred.data(), rows));
  }
}

}  // namespace

void add_predict(CLI::App& root) {
  auto o = std::make_shared<PredictOptions>();
  auto* cmd = root.add_subcommand(
      "predict",
      "Fit Nadaraya-Watson (with --reg: local-constant or local-linear regression, mixed column "
      "types) on --train and predict --query (R^2 when it has the target)");
  add_training_options(cmd, o->files);
  cmd->add_option("--query", o->query, "Points to predict (same features as --train)")
      ->required()
      ->check(CLI::ExistingFile);
  cmd->add_option("--query-y", o->query_y, "True targets of --query, to print R^2")
      ->check(CLI::ExistingFile);
  cmd->add_option("--bandwidth", o->bandwidth,
                  "One bandwidth, or one per feature: 0.5,1,2 (with --reg: no default; a "
                  "continuous column's h, or k with an nn --bwtype, a discrete column's lambda)")
      ->capture_default_str();
  add_kernel_option(cmd, o->kernel);
  cmd->add_option("--engine", o->engine,
                  "auto or an engine kreg info lists (fused, vectorized, reference)")
      ->capture_default_str();
  add_device_option(cmd, o->device);
  add_dtype_option(cmd, o->dtype, "f64 or f32: precision of data and arithmetic");
  add_jobs_option(cmd, o->jobs);
  cmd->add_option("--out", o->out, "Predictions file (.csv, .tsv or .npy); - for stdout")
      ->capture_default_str()
      ->check(table_output(true));
  cmd->add_option("--shard", o->shard, std::string(kShardHelp));
  add_allow_nonfinite(cmd, o->files.allow_nonfinite,
                      ", and --query rows with one get a NaN prediction");
  add_local_options(cmd, o->local, true);
  cmd->callback([o, cmd] {
    o->files.jobs = o->jobs;  // reading a large CSV file takes as many threads
    check_distinct_paths({{"--out", o->out}}, {{"--train", o->files.train},
                                               {"--train-y", o->files.train_y},
                                               {"--query", o->query},
                                               {"--query-y", o->query_y}});
    check_local_needs_reg(cmd, o->local);
    if (!o->local.reg.empty()) {
      check_local_excludes(cmd, "predict", {"--shard"});
      const bool given = !given_options(cmd, {"--bandwidth"}).empty();
      o->local.seed_given = !given_options(cmd, {"--seed"}).empty();
      o->local.bootstrap_given = !given_options(cmd, {"--bootstrap"}).empty();
      o->local.engine = o->engine;
      o->local.device = o->device;
      run_local_predict({o->local, o->files, o->query, o->query_y, given ? o->bandwidth : "",
                         o->kernel, o->jobs, o->out});
      return;
    }
    if (!given_options(cmd, {"--seed"}).empty()) {
      throw ArgumentError(
          "--seed seeds --bootstrap's resamples: add --reg ll|lc and --bootstrap B");
    }
    with_dtype(o->dtype, [&]<class T>() { run_typed<T>(*o); });
  });
}

}  // namespace kreg::cli
