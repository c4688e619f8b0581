// cmd_cv.cpp - `kreg cv`: k-fold cross-validation of one model, the folds
// fitted and scored in parallel (the tutorial's section 4.3, scikit-learn's
// cross_validate). Models: logreg (multinomial logistic regression, scored by
// accuracy) on images or a table, nw (Nadaraya-Watson at one bandwidth,
// scored by r2, mse or mae) on a table. Folds come from KFold or, with
// --stratified, StratifiedKFold, with scikit-learn's row assignment for the
// same seed. Every fold's fit is deterministic, so the scores are the same
// bits for any --jobs.
#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "cli_util.hpp"
#include "commands.hpp"
#include "dist/bytes.hpp"
#include "dist/communicator.hpp"
#include "dist/tasks.hpp"
#include "image_set.hpp"
#include "kreg/data.hpp"
#include "kreg/error.hpp"
#include "kreg/interrupt.hpp"
#include "kreg/io/table.hpp"
#include "kreg/io/text.hpp"
#include "kreg/linear.hpp"
#include "kreg/model_cv.hpp"
#include "kreg/nw.hpp"
#include "kreg/select.hpp"
#include "kreg/version.hpp"
#include "shard.hpp"
#include "training_data.hpp"

namespace kreg::cli {

namespace {

using json = nlohmann::json;

struct CvCliOptions {
  std::string model;
  std::string data;
  index_t train_rows = -1;
  TrainingFiles files;
  index_t folds = 5;
  bool stratified = false;
  std::uint32_t seed = 0;
  bool shuffle = false;  // scikit-learn's cv=K: consecutive folds unless --shuffle
  bool quiet = false;
  int jobs = -1;
  std::string scoring;
  // logreg
  double C = 1.0;
  int max_iter = 1000;
  double tol = 1e-4;
  // nw
  double bandwidth = 1.0;
  std::string kernel = "gaussian";
  std::string out;
  std::string shard;  // --shard i/N (shard.hpp)
};

std::vector<double> column(const Matrix<double>& y) { return {y.data(), y.data() + y.rows()}; }

// scikit-learn's check_classification_targets: a classifier refuses a
// target with non-integer values ("Unknown label type: continuous") instead
// of treating every distinct float as a class of its own.
void check_class_labels(std::span<const double> y, const std::string& what) {
  for (std::size_t i = 0; i < y.size(); ++i) {
    // Beyond int64 a float is no label either (scikit-learn's test casts to int).
    if (std::isfinite(y[i]) && (y[i] != std::floor(y[i]) || std::abs(y[i]) >= 0x1p63)) {
      throw ArgumentError(fmt::format(
          "--model logreg needs class labels, but the target ({}) holds {} in data row {}: a "
          "continuous target (scikit-learn refuses it too: \"Unknown label type: continuous\"). "
          "Use --model nw to regress it, or give whole-number class labels",
          what, y[i], i + 1));
    }
  }
}

// The folds whose test set is too small for R^2 (fewer than 2 rows).
index_t undefined_r2_folds(const std::vector<Split>& splits) {
  index_t count = 0;
  for (const Split& split : splits) count += split.test.size() < 2 ? 1 : 0;
  return count;
}

void run(const CvCliOptions& o) {
  if (o.model != "logreg" && o.model != "nw") {
    throw ArgumentError(fmt::format("--model '{}' is not a model; use logreg or nw", o.model));
  }
  const bool logreg = o.model == "logreg";
  check_jobs_option(o.jobs);
  if (o.data.empty() == o.files.train.empty()) {
    throw ArgumentError("give the data either as --data DIR (images) or as --train FILE");
  }
  if (!o.data.empty() && !logreg) {
    throw ArgumentError("--model nw needs a table (--train FILE --target COLUMN), not --data");
  }
  if (!o.files.train.empty() && o.files.target.empty() && o.files.train_y.empty()) {
    throw ArgumentError("--train needs --target COLUMN or --train-y FILE");
  }
  if (o.stratified && !logreg) {
    throw ArgumentError(
        "--stratified keeps class proportions, so it needs class labels: use it with --model "
        "logreg");
  }
  check_rows_option(o.train_rows, "--train-rows");
  const ShardSpec shard = parse_shard(o.shard);
  if (shard.active() && o.out.empty()) {
    throw ArgumentError("--shard writes a partial result beside --out: give --out FILE");
  }
  if (o.folds < 2) throw ArgumentError(fmt::format("--folds {} must be at least 2", o.folds));
  std::string scoring_name = o.scoring.empty() ? (logreg ? "accuracy" : "r2") : o.scoring;
  Scoring scoring = Scoring::r2;
  if (logreg) {
    if (scoring_name != "accuracy") {
      throw ArgumentError(fmt::format(
          "--scoring '{}' is not available for logreg; it is scored by accuracy", scoring_name));
    }
  } else {
    scoring = parse_scoring(scoring_name);
    scoring_name = std::string(to_string(scoring));
  }
  const Kernel kernel = parse_kernel(o.kernel);
  if (!logreg && !(o.bandwidth > 0 && std::isfinite(o.bandwidth))) {
    throw ArgumentError(fmt::format("--bandwidth {} must be a positive number", o.bandwidth));
  }

  // The data: pixels (kept as bytes) or a table.
  Stopwatch clock;
  Matrix<std::uint8_t> pixels;
  Matrix<double> X;
  std::vector<double> y;
  std::string source;
  std::optional<ExitOnSignal> reading(std::in_place);  // nothing to save yet: stop at once
  if (!o.data.empty()) {
    ImageSet set = load_image_set(o.data, "train", o.train_rows, true, "--data", "--train-rows");
    pixels = std::move(set.images);
    y = std::move(set.labels);
    source = set.images_path;
  } else {
    io::Dataset<double> ds = read_training<double>(o.files).data;
    X = std::move(ds.X);
    y = column(ds.y);
    source = o.files.train;
    if (logreg) {
      check_class_labels(y, o.files.train_y.empty()
                                ? fmt::format("column '{}' of '{}'", ds.target, o.files.train)
                                : fmt::format("--train-y '{}'", o.files.train_y));
    }
    if (o.train_rows > X.rows()) {
      throw ArgumentError(fmt::format("--train-rows {} asks for more rows than '{}' holds ({})",
                                      o.train_rows, o.files.train, X.rows()));
    }
    if (o.train_rows > 0 && o.train_rows < X.rows()) {
      X = Matrix<double>::from(X.view().rows_between(0, o.train_rows));
      y.resize(static_cast<std::size_t>(o.train_rows));
    }
  }
  reading.reset();
  const double load_s = clock.seconds();
  // Under MPI every rank reads the data (a fold trains on most of it) and
  // runs a share of the folds; rank 0 alone prints and writes.
  dist::Communicator& comm = dist::world();
  const bool root = comm.is_root();
  const auto n = static_cast<index_t>(y.size());
  if (o.folds > n) {
    throw ArgumentError(fmt::format("--folds {} is more than the {} rows of the data", o.folds, n));
  }
  if (o.stratified) {
    std::map<double, index_t> counts;
    for (const double label : y) ++counts[label];
    index_t smallest = n;
    for (const auto& [label, count] : counts) smallest = std::min(smallest, count);
    if (smallest < o.folds && root) {
      fmt::print(stderr,
                 "warning: the smallest class has only {} members, fewer than --folds {}; some "
                 "folds will miss it (as scikit-learn warns)\n",
                 smallest, o.folds);
    }
  }
  ModelCvOptions mo;
  mo.model = logreg ? CvModel::logreg : CvModel::nw;
  mo.folds = o.folds;
  mo.stratified = o.stratified;
  mo.shuffle = o.shuffle;
  mo.seed = o.seed;
  mo.n_jobs = o.jobs;
  mo.scoring = scoring;
  mo.logreg.C = o.C;
  mo.logreg.max_iter = o.max_iter;
  mo.logreg.tol = o.tol;
  mo.nw.kernel = kernel;
  mo.nw.bandwidth = {o.bandwidth};
  const std::vector<Split> splits = plan_model_cv(y, mo);

  // R^2 of one row is undefined: such folds score NaN, as scikit-learn's
  // cross_val_score does (with its warning), and so does the mean.
  const index_t undefined = !logreg && scoring == Scoring::r2 ? undefined_r2_folds(splits) : 0;
  if (undefined > 0 && root) {
    fmt::print(stderr,
               "warning: --folds {} of {} rows leaves {} of a single row; R^2 of fewer "
               "than 2 rows is undefined, so such folds score nan (as scikit-learn's), and so "
               "does the mean. Use at most {}, or --scoring mse or mae\n",
               o.folds, n, count_of(undefined, "fold"), count_of(n / 2, "fold"));
  }

  CancelToken cancel;
  ScopedSigint sigint(cancel);
  const auto bar = progress_line("folds", static_cast<std::int64_t>(splits.size()),
                                 o.quiet || !root || shard.active());
  if (bar) mo.progress = [&bar](index_t done, index_t) { bar->update(done); };
  // Pixels stay bytes (the model reads them directly), tables are double.
  if (shard.active()) {  // the job-array path: this shard's folds, in a partial
    const std::size_t b = shard.begin(splits.size()), e = shard.end(splits.size());
    dist::ByteWriter w;
    w.put<std::uint64_t>(e - b);
    for (std::size_t i = b; i < e; ++i) {
      const FoldScore fold =
          pixels.empty() ? run_model_cv_fold<double>(X, y, splits[i], mo, &cancel)
                         : run_model_cv_fold<std::uint8_t>(pixels, y, splits[i], mo, &cancel);
      w.put<std::uint64_t>(i).put(fold);
    }
    write_partial(o.out, shard, "cv", "", w.take());
    return;
  }
  std::vector<FoldScore> merged;
  if (const MergeInput* m = merging()) {  // `kreg merge`: every fold from the partials
    merged.resize(splits.size());
    std::size_t count = 0;
    for (const dist::Bytes& payload : m->payloads) {
      dist::ByteReader r(payload);
      for (auto left = r.get<std::uint64_t>(); left > 0; --left, ++count) {
        const auto i = static_cast<std::size_t>(r.get<std::uint64_t>());
        merged.at(i) = r.get<FoldScore>();
      }
    }
    if (count != splits.size()) {
      throw InputError(
          fmt::format("the partials hold {} of the {} folds; run the shards again "
                      "with the same command",
                      count, splits.size()));
    }
  }
  const ModelCvResult cv =
      !merged.empty() ? combine_model_cv(merged)
      : comm.size() > 1
          ? (pixels.empty()
                 ? dist::cross_validate_model_shared<double>(comm, X, y, splits, mo, &cancel)
                 : dist::cross_validate_model_shared<std::uint8_t>(comm, pixels, y, splits, mo,
                                                                   &cancel))
      : pixels.empty() ? cross_validate_model<double>(X, y, splits, mo, &cancel)
                       : cross_validate_model<std::uint8_t>(pixels, y, splits, mo, &cancel);
  if (!root) return;
  if (bar) bar->finish();
  const std::vector<FoldScore>& results = cv.folds;
  const double mean = cv.mean, std_dev = cv.std, cv_s = cv.seconds;

  const int threads = resolve_n_jobs(o.jobs);
  fmt::print("kreg cv: {} on {} rows of '{}', {}{}-fold ({}), {} threads\n", o.model, n, source,
             o.stratified ? "stratified " : "", o.folds,
             o.shuffle ? fmt::format("shuffled, seed {}", o.seed) : "not shuffled", threads);
  fmt::print("{:<6} {:>8} {:>8} {:>10} {:>10} {:>12}\n", "fold", "train", "test", "fit s",
             "score s", scoring_name);
  bool all_converged = true;
  for (std::size_t s = 0; s < results.size(); ++s) {
    const FoldScore& r = results[s];
    all_converged = all_converged && r.converged;
    fmt::print("{:<6} {:>8} {:>8} {:>10.3f} {:>10.3f} {:>12.6f}\n", s, r.train_size, r.test_size,
               r.fit_seconds, r.score_seconds, r.test_score);
  }
  fmt::print("mean {} {:.6f}, std {:.6f}; load {:.3f} s, cross-validation {:.3f} s\n", scoring_name,
             mean, std_dev, load_s, cv_s);
  if (!all_converged) {
    fmt::print(stderr,
               "warning: L-BFGS stopped before --tol {} was reached in some folds; raise "
               "--max-iter for converged models\n",
               o.tol);
  }

  if (!o.out.empty()) {
    json folds = json::array();
    for (const FoldScore& r : results) {
      json f = {{"train_size", r.train_size},
                {"test_size", r.test_size},
                {"fit_time", r.fit_seconds},
                {"score_time", r.score_seconds},
                {"test_score", r.test_score}};
      if (logreg) {
        f["n_iter"] = r.n_iter;
        f["converged"] = r.converged;
      }
      folds.push_back(f);
    }
    json params = {
        {"folds", o.folds}, {"stratified", o.stratified}, {"shuffle", o.shuffle}, {"seed", o.seed}};
    if (logreg) {
      params.update({{"C", o.C}, {"max_iter", o.max_iter}, {"tol", o.tol}});
    } else {
      params.update({{"bandwidth", o.bandwidth}, {"kernel", o.kernel}});
    }
    const json j = {{"kreg_version", std::string(version)},
                    {"model", o.model},
                    {"data", source},
                    {"rows", n},
                    {"scoring", scoring_name},
                    {"params", params},
                    {"threads", threads},
                    {"folds", folds},
                    {"mean_test_score", mean},
                    {"std_test_score", std_dev},
                    {"seconds", cv_s}};
    io::write_text_atomic(o.out, j.dump(2, ' ', false, json::error_handler_t::replace) + "\n");
  }
}

}  // namespace

void add_cv(CLI::App& root) {
  auto o = std::make_shared<CvCliOptions>();
  auto* cmd = root.add_subcommand(
      "cv", "k-fold cross-validation of logistic regression or Nadaraya-Watson, folds in parallel");
  cmd->add_option("--model", o->model, "logreg or nw")->required();
  cmd->add_option("--data", o->data,
                  "Image directory (train-images-idx3-ubyte[.gz] and labels), for logreg");
  cmd->add_option("--train-rows", o->train_rows, "Use the first N rows (-1: all)")
      ->capture_default_str();
  cmd->add_option("--train", o->files.train, "Table of features and target (CSV, NPY, IDX)");
  cmd->add_option("--target", o->files.target, "Target column of --train (name or index)");
  cmd->add_option("--train-y", o->files.train_y, "Target as its own one-column file");
  add_allow_nonfinite(cmd, o->files.allow_nonfinite, "");
  cmd->add_option("--folds", o->folds, "Number of folds (k >= 2)")->capture_default_str();
  cmd->add_flag("--stratified", o->stratified,
                "Keep class proportions in every fold (StratifiedKFold; logreg)");
  cmd->add_option("--seed", o->seed, "Seed of the fold shuffle")->capture_default_str();
  cmd->add_flag("--shuffle,!--no-shuffle", o->shuffle,
                "Shuffle the rows before cutting folds (KFold(shuffle=True, random_state=--seed)); "
                "without it the folds are consecutive, as scikit-learn's cv=K");
  add_jobs_option(cmd, o->jobs);
  cmd->add_option("--scoring", o->scoring, "logreg: accuracy; nw: r2 (default), mse or mae");
  cmd->add_option("--C", o->C, "logreg: inverse L2 strength")->capture_default_str();
  cmd->add_option("--max-iter", o->max_iter, "logreg: L-BFGS iterations at most")
      ->capture_default_str();
  cmd->add_option("--tol", o->tol, "logreg: stop when max |gradient| <= tol")
      ->capture_default_str();
  cmd->add_option("--bandwidth", o->bandwidth, "nw: the bandwidth")->capture_default_str();
  add_kernel_option(cmd, o->kernel, "nw: ");
  cmd->add_flag("--quiet", o->quiet, "No progress line on stderr");
  cmd->add_option("--shard", o->shard, std::string(kShardHelp));
  cmd->add_option("--out", o->out, "Write the per-fold and mean scores as JSON");
  cmd->callback([o] {
    check_distinct_paths({{"--out", o->out}},
                         {{"--train", o->files.train}, {"--train-y", o->files.train_y}});
    run(*o);
  });
}

}  // namespace kreg::cli
