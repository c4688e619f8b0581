// cmd_tune.cpp - `kreg tune`: choose a Nadaraya-Watson bandwidth by
// cross-validation (leave-one-out, k-fold or a holdout test set) over a grid
// in one pass, optionally refined by an optimiser (one bandwidth, or one per
// feature), with a journal so that an interrupted run resumes where it
// stopped and ends with the same bits as an uninterrupted one.
//
// The journal (JSON lines) starts with the run's configuration; each finished
// grid task and each optimiser evaluation is appended the moment it
// completes; it is deleted once the results are written. --resume checks the configuration (the
// data's checksum included), skips what is recorded and replays the optimiser from its recorded
// evaluations: the optimiser is deterministic, so it takes the same path. n_jobs is not part of the
// configuration: it never changes a result.
#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>

#include "cli_util.hpp"
#include "commands.hpp"
#include "kreg/bandwidth.hpp"
#include "kreg/error.hpp"
#include "kreg/interrupt.hpp"
#include "kreg/io/table.hpp"
#include "kreg/io/text.hpp"
#include "kreg/journal.hpp"
#include "kreg/metrics.hpp"
#include "kreg/nw.hpp"
#include "kreg/optimize.hpp"
#include "kreg/plot.hpp"
#include "kreg/progress.hpp"
#include "kreg/select.hpp"
#include "kreg/version.hpp"
#include "target_file.hpp"

namespace kreg::cli {

namespace {

using json = nlohmann::json;

struct TuneOptions {
  std::string train, target, train_y, test, test_y;
  std::string bandwidths = "auto";
  std::string cv = "5";
  std::uint32_t seed = 0;
  bool no_shuffle = false;
  std::string scoring = "r2";
  std::string kernel = "gaussian";
  std::string dtype = "f64";
  int jobs = -1;
  std::string out, csv, plot, journal, refit;
  std::string optimize = "none";
  int starts = 1;
  bool resume = false;
  bool quiet = false;
};

// FNV-1a over the bytes of the data: the journal remembers which data it was for.
template <class T>
std::uint64_t checksum(MatrixView<const T> a, std::uint64_t h = 1469598103934665603ull) {
  for (index_t i = 0; i < a.rows(); ++i) {
    const auto* bytes = reinterpret_cast<const unsigned char*>(&a(i, 0));
    for (std::size_t b = 0; b < sizeof(T) * static_cast<std::size_t>(a.cols()); ++b) {
      h = (h ^ bytes[b]) * 1099511628211ull;
    }
  }
  return h;
}

// The journal: a writer, and what an earlier run recorded.
class Journal {
 public:
  Journal(const TuneOptions& o, const json& config) {
    if (o.journal.empty()) {
      if (o.resume) {
        throw ArgumentError(
            "--resume needs a journal: give --out (its journal is OUT.journal) "
            "or --journal FILE");
      }
      return;
    }
    const std::string& path = o.journal;
    const std::string header = json{{"kreg_tune_journal", 1}, {"config", config}}.dump();
    if (std::filesystem::exists(path)) {
      if (!o.resume) {
        throw ArgumentError(fmt::format(
            "journal '{}' exists from an earlier run; add --resume to continue it, or delete it "
            "to start over",
            path));
      }
      const JournalContents contents = read_journal(path);
      json old;
      try {
        old = json::parse(contents.header).at("config");
      } catch (const json::exception&) {
        throw InputError(fmt::format("journal '{}' line 1 is not a kreg tune header", path));
      }
      if (old != config) {
        std::vector<std::string> differ;
        for (const auto& [key, value] : config.items()) {
          if (!old.contains(key) || old[key] != value) differ.push_back(key);
        }
        throw ArgumentError(fmt::format(
            "journal '{}' was written for a different run ({} differ); resume with the same "
            "data and options, or delete the journal to start over",
            path, fmt::join(differ, ", ")));
      }
      if (contents.truncated_tail) {
        fmt::print(stderr,
                   "note: the last record of '{}' was cut short (killed mid-write); it "
                   "will be redone\n",
                   path);
      }
      for (std::size_t i = 0; i < contents.records.size(); ++i) {
        try {
          records_.push_back(json::parse(contents.records[i]));
        } catch (const json::exception& e) {
          throw InputError(
              fmt::format("journal '{}' line {}: not JSON ({})", path, i + 2, e.what()));
        }
      }
      writer_.emplace(JournalWriter::append_to(path));
      fmt::print(stderr, "resuming from '{}': {} records\n", path, records_.size());
    } else {
      if (o.resume) fmt::print(stderr, "note: no journal '{}' yet; starting afresh\n", path);
      writer_.emplace(JournalWriter::create(path, header));
    }
  }

  const std::vector<json>& records() const { return records_; }
  void append(const json& record) {
    if (writer_) writer_->append(record.dump());
  }
  // The run finished and its results are written: the journal has done its
  // job, and the same command can run again without --resume.
  void remove() {
    if (!writer_) return;
    const std::string path = writer_->path();
    writer_.reset();
    std::error_code ec;
    std::filesystem::remove(path, ec);
  }

 private:
  std::optional<JournalWriter> writer_;
  std::vector<json> records_;
};

std::string key_of(std::span<const double> h) {
  std::string key;
  for (const double v : h) key += fmt::format("{:a};", v);
  return key;
}

template <class T>
class Tuner {
 public:
  Tuner(const TuneOptions& o, const BandwidthCV<T>& search, Journal& journal,
        const CancelToken& cancel)
      : o_(o), search_(search), journal_(journal), cancel_(cancel) {
    for (const auto& r : journal_.records()) {
      if (r.value("type", "") == "eval") {
        evals_[key_of(r.at("h").get<std::vector<double>>())] = r.at("score").get<double>();
      }
    }
  }

  // The grid, task by task; recorded tasks come from the journal.
  CvScores grid(const std::vector<double>& h) {
    const BandwidthSet set{{}, h};
    const auto tasks = search_.plan(static_cast<index_t>(h.size()));
    std::vector<std::optional<CvPartial>> parts(tasks.size());
    std::int64_t done = 0;
    for (const auto& r : journal_.records()) {
      if (r.value("type", "") != "task") continue;
      const auto i = r.at("index").get<std::size_t>();
      if (i >= tasks.size() || r.at("split").get<index_t>() != tasks[i].split ||
          r.at("begin").get<index_t>() != tasks[i].begin ||
          r.at("end").get<index_t>() != tasks[i].end) {
        throw InputError(
            fmt::format("journal '{}': task {} does not match this run's plan", o_.journal, i));
      }
      if (parts[i]) continue;
      parts[i] =
          CvPartial{r.at("sse").get<std::vector<double>>(), r.at("sae").get<std::vector<double>>(),
                    r.at("isolated").get<std::vector<index_t>>(), r.at("seconds").get<double>()};
      ++done;
    }
    ProgressBar bar("grid", static_cast<std::int64_t>(tasks.size()),
                    {.enabled = !o_.quiet && stderr_is_terminal(), .already_done = done});
    for (std::size_t i = 0; i < tasks.size(); ++i) {
      if (parts[i]) continue;
      throw_if_cancelled(&cancel_);
      CvPartial p = search_.run(set, tasks[i], &cancel_);
      journal_.append(json{{"type", "task"},
                           {"index", i},
                           {"split", tasks[i].split},
                           {"begin", tasks[i].begin},
                           {"end", tasks[i].end},
                           {"sse", p.sse},
                           {"sae", p.sae},
                           {"isolated", p.isolated},
                           {"seconds", p.seconds}});
      parts[i] = std::move(p);
      bar.update(++done);
    }
    bar.finish();
    std::vector<CvPartial> all;
    for (auto& p : parts) all.push_back(std::move(*p));
    return search_.combine(set, tasks, all);
  }

  // The cross-validated score of one bandwidth (scalar: scale empty, h = {v};
  // per feature: scale = v, h = {1}), journaled; the loss is what the
  // optimiser minimises.
  double score(const BandwidthSet& set) {
    std::vector<double> h = set.scale.empty() ? set.h : set.scale;
    const std::string key = key_of(h);
    if (const auto it = evals_.find(key); it != evals_.end()) return it->second;
    throw_if_cancelled(&cancel_);
    const double s = search_.score(set, &cancel_).mean[0];
    evals_[key] = s;
    journal_.append(json{{"type", "eval"}, {"h", h}, {"score", s}});
    if (bar_) bar_->update(++evaluations_);
    return s;
  }
  double loss(const BandwidthSet& set) {
    const double s = score(set);
    return greater_is_better(search_.options().scoring) ? -s : s;
  }

  void start_bar(const char* label, std::int64_t budget) {
    evaluations_ = 0;
    bar_ = std::make_unique<ProgressBar>(
        label, budget, ProgressOptions{.enabled = !o_.quiet && stderr_is_terminal()});
  }
  void end_bar() {
    if (bar_) bar_->finish();
    bar_.reset();
  }

 private:
  const TuneOptions& o_;
  const BandwidthCV<T>& search_;
  Journal& journal_;
  const CancelToken& cancel_;
  std::map<std::string, double> evals_;
  std::unique_ptr<ProgressBar> bar_;
  std::int64_t evaluations_ = 0;
};

struct Optimum {
  std::string method;
  std::vector<double> bandwidth;  // one value, or one per feature
  double score = 0;
  int evaluations = 0;
  bool converged = false;
  std::string message;
  std::vector<bool> at_upper;  // per feature: pushed to the upper bound (irrelevant)
};

template <class T>
void run_typed(const TuneOptions& o) {
  const auto start = std::chrono::steady_clock::now();
  if (o.target.empty() == o.train_y.empty()) {
    throw ArgumentError("name the target: --target COLUMN (a column of --train) or --train-y FILE");
  }
  CvOptions options;
  options.kernel = parse_kernel(o.kernel);
  options.scoring = parse_scoring(o.scoring);
  options.cv = parse_cv(o.cv);
  options.cv.seed = o.seed;
  options.cv.shuffle = !o.no_shuffle;
  options.n_jobs = o.jobs;
  resolve_n_jobs(o.jobs);
  if (o.optimize != "none" && o.optimize != "scalar" && o.optimize != "per-feature") {
    throw ArgumentError(fmt::format(
        "--optimize '{}' is not understood; choose none, scalar or per-feature", o.optimize));
  }
  if (o.starts < 1) throw ArgumentError(fmt::format("--starts must be >= 1, got {}", o.starts));
  const bool holdout = options.cv.kind == CvSpec::Kind::holdout;
  if (holdout && o.test.empty()) {
    throw ArgumentError("--cv holdout scores on a test set: give --test FILE");
  }
  if (!o.refit.empty() && o.test.empty()) {
    throw ArgumentError("--refit writes predictions for --test: give --test FILE");
  }

  const io::Table<T> train_table = io::read_table<T>(o.train);
  io::Dataset<T> train = io::split_target(train_table, o.target);
  if (!o.train_y.empty()) train.y = target_file<T>(o.train_y, train.X.rows(), "--train-y");
  io::Dataset<T> test;
  if (!o.test.empty()) {
    const io::Table<T> test_table = io::read_table<T>(o.test);
    if (o.test_y.empty()) {
      if (o.target.empty()) throw ArgumentError("--train-y needs --test-y for the test targets");
      test = io::split_target(test_table, o.target);
    } else {
      test = io::split_target(test_table, "");
      test.y = target_file<T>(o.test_y, test.X.rows(), "--test-y");
    }
    if (test.X.cols() != train.X.cols()) {
      throw ArgumentError(fmt::format("'{}' has {} features but '{}' has {}", o.test, test.X.cols(),
                                      o.train, train.X.cols()));
    }
  }
  const double read_s = seconds_since(start);

  const BandwidthCV<T> search(train.X, train.y, {}, options,
                              holdout ? test.X.view() : MatrixView<const T>{},
                              holdout ? test.y.view() : MatrixView<const T>{});
  std::vector<double> grid;
  if (o.bandwidths == "auto") {
    // 25 values around the rule of thumb (Silverman, geometric mean over features).
    const auto rot = silverman_bandwidth(train.X.view());
    double log_mean = 0;
    for (const double h : rot) log_mean += std::log10(h);
    log_mean /= static_cast<double>(rot.size());
    grid = parse_bandwidth_grid(
        fmt::format("logspace:{:.17g}:{:.17g}:25", log_mean - 1.5, log_mean + 1.5));
  } else {
    grid = parse_bandwidth_grid(o.bandwidths);
  }

  std::uint64_t sum = checksum<T>(train.X);
  sum = checksum<T>(train.y, sum);
  if (holdout) sum = checksum<T>(test.y, checksum<T>(test.X, sum));
  const json config = {
      {"train", o.train},
      {"target", o.target.empty() ? o.train_y : o.target},
      {"test", holdout ? o.test : ""},
      {"data_checksum", fmt::format("{:016x}", sum)},
      {"dtype", o.dtype},
      {"kernel", o.kernel},
      {"cv", to_string(options.cv)},
      {"scoring", to_string(options.scoring)},
      {"bandwidths", grid},
      {"optimize", o.optimize},
      {"starts", o.starts},
  };
  Journal journal(o, config);
  CancelToken cancel;
  ScopedSigint sigint(cancel);
  Tuner<T> tuner(o, search, journal, cancel);

  const index_t n = train.X.rows(), d = train.X.cols();
  if (!o.quiet) {
    fmt::print(stderr,
               "kreg tune: {} training points, d = {}, {} kernel, {}, cv {}, scoring {}, {} "
               "bandwidths, {} threads\n",
               n, d, o.kernel, o.dtype, to_string(options.cv), to_string(options.scoring),
               grid.size(), resolve_n_jobs(o.jobs));
  }
  CvScores scores;
  double grid_s = 0, optimize_s = 0;
  std::optional<Optimum> optimum;
  try {
    const auto t0 = std::chrono::steady_clock::now();
    scores = tuner.grid(grid);
    grid_s = seconds_since(t0);
    const auto t1 = std::chrono::steady_clock::now();
    if (o.optimize != "none") {
      // Scalar: Brent's method on log h between the best grid point's
      // neighbours; only a starting point for the per-feature search, where
      // 1% of h is close enough.
      std::vector<double> sorted = grid;
      std::sort(sorted.begin(), sorted.end());
      const double best_h = grid[static_cast<std::size_t>(scores.best)];
      const auto it = std::lower_bound(sorted.begin(), sorted.end(), best_h);
      const double lo = it == sorted.begin() ? best_h / 10 : *(it - 1);
      const double hi = it + 1 == sorted.end() ? best_h * 10 : *(it + 1);
      tuner.start_bar("optimize", 100);
      const OptimizeResult r = minimize_scalar(
          [&](double log_h) {
            return tuner.loss({{}, {std::exp(log_h)}});
          },
          std::log(lo), std::log(hi),
          {.x0 = std::log(best_h),
           .xtol = o.optimize == "scalar" ? 1e-4 : 1e-2,
           .max_evaluations = 100});
      tuner.end_bar();
      optimum = Optimum{"scalar",
                        {std::exp(r.x[0])},
                        tuner.score({{}, {std::exp(r.x[0])}}),
                        r.evaluations,
                        r.converged,
                        r.message,
                        {}};
      if (o.optimize == "per-feature") {
        // Start from the better of the scalar optimum on every feature and
        // Silverman's per-feature rule; Nelder-Mead on log h from there and
        // from starts - 1 random points around it.
        std::vector<double> a(static_cast<std::size_t>(d), optimum->bandwidth[0]);
        std::vector<double> b = silverman_bandwidth(train.X.view());
        const double loss_a = tuner.loss({a, {1.0}}), loss_b = tuner.loss({b, {1.0}});
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
        tuner.start_bar("optimize", 2000);
        const OptimizeResult r2 = minimize_multistart(
            [&](std::span<const double> x) {
              return tuner.loss({to_h(x), {1.0}});
            },
            x0, o.starts, o.seed,
            // Converged when the simplex spans under 0.1% of each bandwidth
            // and its losses agree to 1e-9 relative: far finer than the
            // CV curve's own noise, at a fraction of the evaluations.
            {.xtol = 1e-3,
             .ftol = 1e-9 * std::max(std::abs(loss0), 1e-300),
             .max_evaluations = 2000,
             .lower = lower,
             .upper = upper});
        tuner.end_bar();
        Optimum pf{"per-feature",
                   to_h(r2.x),
                   tuner.score({to_h(r2.x), {1.0}}),
                   r2.evaluations,
                   r2.converged,
                   r2.message,
                   {}};
        for (std::size_t f = 0; f < r2.x.size(); ++f) {
          pf.at_upper.push_back(r2.x[f] >= upper[f] - 1.0);
        }
        optimum = pf;
      }
    }
    optimize_s = seconds_since(t1);
  } catch (const Cancelled&) {
    throw Cancelled(journal.records().empty() && o.journal.empty()
                        ? "interrupted; nothing was saved (give --out or --journal to keep "
                          "finished work)"
                        : fmt::format("interrupted; finished work is in the journal '{}': run the "
                                      "same command with --resume to finish",
                                      o.journal));
  }

  // Results.
  const bool greater = greater_is_better(options.scoring);
  const auto best = static_cast<std::size_t>(scores.best);
  json cv_results = {{"param_bandwidth", scores.h},
                     {"mean_test_score", scores.mean},
                     {"std_test_score", scores.std},
                     {"rank_test_score", scores.rank},
                     {"isolated_queries", scores.isolated}};
  for (index_t s = 0; s < search.n_splits(); ++s) {
    std::vector<double> col;
    for (const auto& row : scores.splits) col.push_back(row[static_cast<std::size_t>(s)]);
    cv_results[fmt::format("split{}_test_score", s)] = col;
  }
  json result = {{"kreg_version", std::string(version)},
                 {"train", o.train},
                 {"n_train", n},
                 {"n_features", d},
                 {"n_outputs", train.y.cols()},
                 {"kernel", o.kernel},
                 {"dtype", o.dtype},
                 {"cv", to_string(options.cv)},
                 {"n_splits", search.n_splits()},
                 {"scoring", to_string(options.scoring)},
                 {"greater_is_better", greater},
                 {"cv_results", cv_results},
                 {"best_index", scores.best},
                 {"best_bandwidth", scores.h[best]},
                 {"best_score", scores.mean[best]}};
  if (optimum) {
    result["optimized"] = {{"method", optimum->method},       {"bandwidth", optimum->bandwidth},
                           {"score", optimum->score},         {"evaluations", optimum->evaluations},
                           {"converged", optimum->converged}, {"message", optimum->message}};
  }
  const std::vector<double> chosen =
      optimum ? optimum->bandwidth : std::vector<double>{scores.h[best]};
  const double chosen_score = optimum ? optimum->score : scores.mean[best];

  std::optional<double> refit_score;
  if (!o.refit.empty()) {
    NadarayaWatson<T> model({options.kernel, chosen, Engine::automatic, o.jobs});
    model.fit(train.X, train.y);
    const Matrix<T> pred = model.predict(test.X);
    io::write_table<T>(o.refit, pred, {train.target.empty() ? "y" : train.target});
    if (test.y.cols() == 1) {
      refit_score =
          r2_score<T>(std::span<const T>(test.y.data(), static_cast<std::size_t>(test.y.rows())),
                      std::span<const T>(pred.data(), static_cast<std::size_t>(pred.rows())));
      result["refit"] = {{"path", o.refit}, {"bandwidth", chosen}, {"test_r2", *refit_score}};
    }
  }
  const double total_s = seconds_since(start);
  result["timing"] = {{"read_s", read_s},
                      {"grid_s", grid_s},
                      {"optimize_s", optimize_s},
                      {"total_s", total_s},
                      {"grid_task_s", scores.seconds},
                      {"per_bandwidth_s", scores.seconds / static_cast<double>(grid.size())}};

  if (!o.out.empty()) io::write_text_atomic(o.out, result.dump(2) + "\n");
  if (!o.csv.empty()) {
    std::string text = "bandwidth,mean_test_score,std_test_score,rank_test_score";
    for (index_t s = 0; s < search.n_splits(); ++s) text += fmt::format(",split{}_test_score", s);
    text += ",isolated_queries\n";
    for (std::size_t b = 0; b < grid.size(); ++b) {
      text += fmt::format("{:.17g},{:.17g},{:.17g},{}", scores.h[b], scores.mean[b], scores.std[b],
                          scores.rank[b]);
      for (const double v : scores.splits[b]) text += fmt::format(",{:.17g}", v);
      text += fmt::format(",{}\n", scores.isolated[b]);
    }
    io::write_text_atomic(o.csv, text);
  }
  const std::string score_name = options.scoring == Scoring::r2    ? "R^2"
                                 : options.scoring == Scoring::mse ? "MSE"
                                                                   : "MAE";
  if (!o.plot.empty()) {
    LineChart chart;
    chart.title = "Nadaraya-Watson Performance vs. Bandwidth";
    chart.x_label = "Bandwidth";
    chart.y_label = fmt::format("{} Score ({})", score_name, to_string(options.cv));
    chart.log_x = true;
    std::vector<std::size_t> order(grid.size());
    for (std::size_t i = 0; i < order.size(); ++i) order[i] = i;
    std::sort(order.begin(), order.end(), [&](auto a, auto b) { return grid[a] < grid[b]; });
    Series series;
    series.label = fmt::format("mean {} over {} split{}", score_name, search.n_splits(),
                               search.n_splits() == 1 ? "" : "s");
    for (const auto i : order) {
      series.x.push_back(scores.h[i]);
      series.y.push_back(scores.mean[i]);
    }
    chart.series.push_back(series);
    chart.markers.push_back({scores.h[best], scores.mean[best],
                             fmt::format("best h = {:.4g}, {} = {:.4f}", scores.h[best], score_name,
                                         scores.mean[best])});
    if (optimum && optimum->method == "scalar") {
      chart.markers.push_back({optimum->bandwidth[0], optimum->score,
                               fmt::format("optimum h = {:.4g}", optimum->bandwidth[0])});
    }
    write_svg(o.plot, chart);
  }

  journal.remove();

  // Summary on stdout.
  fmt::print("{:>14}  {:>12}  {:>10}  {:>4}\n", "bandwidth", fmt::format("mean {}", score_name),
             "std", "rank");
  for (std::size_t b = 0; b < grid.size(); ++b) {
    fmt::print("{:>14.6g}  {:>12.6f}  {:>10.6f}  {:>4}{}\n", scores.h[b], scores.mean[b],
               scores.std[b], scores.rank[b], b == best ? "  <- best" : "");
  }
  fmt::print("best bandwidth: {:.6g} ({} {} = {:.6f})\n", scores.h[best], to_string(options.cv),
             score_name, scores.mean[best]);
  if (optimum) {
    fmt::print("optimized ({}): bandwidth {:.6g}, {} = {:.6f}, {} evaluations{}\n", optimum->method,
               fmt::join(optimum->bandwidth, ", "), score_name, optimum->score,
               optimum->evaluations,
               optimum->converged ? "" : fmt::format(" ({})", optimum->message));
    for (std::size_t f = 0; f < optimum->at_upper.size(); ++f) {
      if (optimum->at_upper[f]) {
        fmt::print(
            "  feature {} ({}): bandwidth at the search's upper bound: it does not help "
            "predict the target\n",
            f, train.features[f]);
      }
    }
  }
  if (refit_score)
    fmt::print("refit on --train, R^2 on --test: {:.6f} (written to {})\n", *refit_score, o.refit);
  std::int64_t isolated = 0;
  for (const auto v : scores.isolated) isolated += v;
  if (isolated > 0) {
    fmt::print(stderr,
               "note: at some bandwidths queries had no training point inside the kernel's "
               "support and got their nearest neighbour's y (isolated_queries in the results)\n");
  }
  (void)chosen_score;
  if (!o.quiet) {
    fmt::print(stderr, "time: read {:.3f} s, grid {:.3f} s, optimize {:.3f} s, total {:.3f} s\n",
               read_s, grid_s, optimize_s, total_s);
  }
}

}  // namespace

void add_tune(CLI::App& root) {
  auto o = std::make_shared<TuneOptions>();
  auto* cmd = root.add_subcommand(
      "tune", "Choose the bandwidth by cross-validation: a grid in one pass, then an optimiser");
  cmd->add_option("--train", o->train, "Training data (CSV, NPY or IDX)")
      ->required()
      ->check(CLI::ExistingFile);
  cmd->add_option("--target", o->target, "Target column of --train (name or index)");
  cmd->add_option("--train-y", o->train_y, "Target as a separate file (one column)")
      ->check(CLI::ExistingFile);
  cmd->add_option("--test", o->test, "Test set: scored by --cv holdout, predicted by --refit")
      ->check(CLI::ExistingFile);
  cmd->add_option("--test-y", o->test_y, "Targets of --test as a separate file")
      ->check(CLI::ExistingFile);
  cmd->add_option("--bandwidths", o->bandwidths,
                  "logspace:A:B:N, linspace:A:B:N, a list 0.1,0.5,2, or auto (25 around "
                  "Silverman's rule)")
      ->capture_default_str();
  cmd->add_option("--cv", o->cv, "loo, a fold count K, or holdout (scores on --test)")
      ->capture_default_str();
  cmd->add_option("--seed", o->seed, "Seed of the k-fold shuffle and of the optimiser's starts")
      ->capture_default_str();
  cmd->add_flag("--no-shuffle", o->no_shuffle, "k-fold without shuffling (scikit-learn's cv=K)");
  cmd->add_option("--scoring", o->scoring, "r2, mse or mae")->capture_default_str();
  cmd->add_option("--kernel", o->kernel, "gaussian, epanechnikov, tricube or uniform")
      ->capture_default_str();
  cmd->add_option("--dtype", o->dtype, "f64 or f32")
      ->capture_default_str()
      ->check(CLI::IsMember({"f32", "f64"}));
  cmd->add_option("--jobs", o->jobs, "Threads: -1 all cores, -2 all but one, k > 0 exactly k")
      ->capture_default_str();
  cmd->add_option("--optimize", o->optimize,
                  "none, scalar (Brent on log h around the best grid point) or per-feature "
                  "(Nelder-Mead on log h, --starts starts)")
      ->capture_default_str();
  cmd->add_option("--starts", o->starts,
                  "Starting points of the per-feature search (np's nmulti): the best of the scalar "
                  "optimum and Silverman's rule, then N - 1 random points around it")
      ->capture_default_str();
  cmd->add_option("--out", o->out, "Results as JSON (like scikit-learn's cv_results_)");
  cmd->add_option("--csv", o->csv, "Per-bandwidth results as CSV");
  cmd->add_option("--plot", o->plot, "Score against bandwidth as an SVG chart");
  cmd->add_option("--journal", o->journal, "Journal of finished work (default: OUT.journal)");
  cmd->add_flag("--resume", o->resume, "Continue an interrupted run from its journal");
  cmd->add_option("--refit", o->refit,
                  "Fit on --train with the chosen bandwidth and write --test's predictions here");
  cmd->add_flag("--quiet", o->quiet, "No progress or timing on stderr");
  cmd->callback([o] {
    TuneOptions opts = *o;
    if (opts.journal.empty() && !opts.out.empty()) opts.journal = opts.out + ".journal";
    if (opts.dtype == "f32") {
      run_typed<float>(opts);
    } else {
      run_typed<double>(opts);
    }
  });
}

}  // namespace kreg::cli
