// cmd_tune.cpp - `kreg tune`: choose a Nadaraya-Watson bandwidth by
// cross-validation (leave-one-out, k-fold or a holdout test set) over a grid
// in one pass, optionally refined by an optimiser (one bandwidth, or one per
// feature), with a journal so that an interrupted run resumes where it
// stopped and ends with the same bits as an uninterrupted one.
//
// The journal (JSON lines, each with its checksum: kreg/journal.hpp) starts
// with the run's configuration, the grid named by its size and checksum so the
// header stays small for any grid; each finished grid task and each optimiser
// evaluation is appended the moment it completes; it is deleted once the
// results are written. --resume checks the configuration (the data's checksum
// included), skips what is recorded and replays the optimiser from its
// recorded evaluations: the optimiser is deterministic, so it takes the same
// path. n_jobs is not part of the configuration: it never changes a result.
//
// Stop requests (SIGINT, SIGTERM): while the inputs are read nothing is
// written, so the process ends at once (ExitOnSignal); from then on every
// phase (grid tasks, optimiser evaluations, the refit's blocks, the results'
// chunks) checks the token at least every fraction of a second and ends with
// kreg::Cancelled (exit status 130), the finished work in the journal.
#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <iterator>
#include <limits>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <span>
#include <string_view>
#include <type_traits>

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

// The version of the tune journal's layout; a journal of another version is
// refused with a message saying which kreg wrote it.
constexpr int kJournalVersion = 2;

// Numbers in journal records: JSON has no NaN or infinity, so those are
// written as the strings "nan", "inf" and "-inf" and read back exactly; a
// finite double is written in the shortest form that reads back to the same
// bits.
json journal_number(double v) {
  if (std::isnan(v)) return "nan";
  if (std::isinf(v)) return v > 0 ? "inf" : "-inf";
  return v;
}
json journal_numbers(std::span<const double> values) {
  json out = json::array();
  for (const double v : values) out.push_back(journal_number(v));
  return out;
}

// A task of the grid, or an evaluation of the optimiser, as recorded.
struct TaskRecord {
  std::size_t line = 0;
  std::size_t index = 0;
  CvTask task;
  CvPartial part;
};
struct EvalRecord {
  std::size_t line = 0;
  std::vector<double> h;
  double score = 0;
};

// Reads the fields of one journal record (line `line` of `path`), with kreg's
// own messages: a record of the right checksum but the wrong shape was
// written by something other than this kreg.
class RecordReader {
 public:
  RecordReader(const std::string& path, std::size_t line, const json& record)
      : path_(path), line_(line), record_(record) {
    if (!record_.is_object()) fail("the record is not a JSON object");
  }

  [[noreturn]] void fail(const std::string& problem) const {
    throw InputError(fmt::format(
        "journal '{}' line {}: {}; this kreg did not write it, so delete the journal to start "
        "over",
        path_, line_, problem));
  }
  std::string type() const {
    const auto it = record_.find("type");
    if (it == record_.end() || !it->is_string()) fail("the record has no 'type'");
    return it->get<std::string>();
  }
  index_t integer(const char* key) const { return to_integer(field(key), key); }
  double number(const char* key) const { return to_number(field(key), key); }
  std::vector<double> numbers(const char* key) const {
    const json& v = list(key);
    std::vector<double> out;
    out.reserve(v.size());
    for (const json& x : v) out.push_back(to_number(x, key));
    return out;
  }
  std::vector<index_t> integers(const char* key) const {
    const json& v = list(key);
    std::vector<index_t> out;
    out.reserve(v.size());
    for (const json& x : v) out.push_back(to_integer(x, key));
    return out;
  }

 private:
  const json& field(const char* key) const {
    const auto it = record_.find(key);
    if (it == record_.end()) fail(fmt::format("the {} record has no '{}'", type(), key));
    return *it;
  }
  const json& list(const char* key) const {
    const json& v = field(key);
    if (!v.is_array()) fail(fmt::format("'{}' of the {} record is not a list", key, type()));
    return v;
  }
  index_t to_integer(const json& v, const char* key) const {
    if (v.is_number_unsigned() && v.get<std::uint64_t>() <= std::uint64_t{1} << 62) {
      return static_cast<index_t>(v.get<std::uint64_t>());
    }
    if (v.is_number_integer() && v.get<std::int64_t>() >= 0) {
      return static_cast<index_t>(v.get<std::int64_t>());
    }
    fail(fmt::format("'{}' of the {} record holds {}, not a count", key, type(), v.dump()));
  }
  double to_number(const json& v, const char* key) const {
    if (v.is_number()) return v.get<double>();
    if (v.is_string()) {
      const auto& s = v.get_ref<const std::string&>();
      if (s == "nan") return std::numeric_limits<double>::quiet_NaN();
      if (s == "inf") return std::numeric_limits<double>::infinity();
      if (s == "-inf") return -std::numeric_limits<double>::infinity();
    }
    fail(fmt::format("'{}' of the {} record holds {}, not a number", key, type(),
                     v.dump().substr(0, 40)));
  }

  const std::string& path_;
  std::size_t line_;
  const json& record_;
};

// The journal: a writer, and what an earlier run recorded.
class Journal {
 public:
  Journal(const TuneOptions& o, const json& config, const CancelToken& cancel) {
    if (o.journal.empty()) {
      if (o.resume) {
        throw ArgumentError(
            "--resume needs a journal: give --out (its journal is OUT.journal) "
            "or --journal FILE");
      }
      return;
    }
    path_ = o.journal;
    const std::string& path = o.journal;
    const std::string header =
        json{{"kreg_tune_journal", kJournalVersion}, {"config", config}}.dump(
            -1, ' ', false, json::error_handler_t::replace);
    if (std::filesystem::exists(path)) {
      if (!o.resume) {
        throw ArgumentError(fmt::format(
            "journal '{}' exists from an earlier run; add --resume to continue it, or delete it "
            "to start over",
            path));
      }
      const JournalContents contents = read_journal(path);
      check_header(path, contents.header, config);
      if (contents.truncated_tail) {
        fmt::print(stderr,
                   "note: the last record of '{}' was cut short (killed mid-write); it "
                   "will be redone\n",
                   path);
      }
      for (std::size_t i = 0; i < contents.records.size(); ++i) {
        if (i % 64 == 0) throw_if_cancelled(&cancel);
        load(path, i + 2, contents.records[i]);
      }
      writer_.emplace(JournalWriter::append_to(path));
      fmt::print(stderr, "resuming from '{}': {} records\n", path, contents.records.size());
    } else {
      if (o.resume) fmt::print(stderr, "note: no journal '{}' yet; starting afresh\n", path);
      writer_.emplace(JournalWriter::create(path, header));
    }
  }

  const std::string& path() const { return path_; }
  const std::vector<TaskRecord>& tasks() const { return tasks_; }
  const std::vector<EvalRecord>& evals() const { return evals_; }
  bool empty() const { return tasks_.empty() && evals_.empty(); }
  void append(const json& record) {
    if (writer_) writer_->append(record.dump(-1, ' ', false, json::error_handler_t::replace));
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
  // Line 1 must be a kreg tune header of this version, for this very run.
  static void check_header(const std::string& path, const std::string& text, const json& config) {
    const json header = json::parse(text, nullptr, /*allow_exceptions=*/false);
    const auto version = header.is_object() ? header.find("kreg_tune_journal") : header.end();
    if (!header.is_object() || version == header.end() || !version->is_number_integer() ||
        !header.contains("config") || !header["config"].is_object()) {
      throw InputError(fmt::format(
          "journal '{}' line 1 is not a kreg tune header, so the file is not a journal of "
          "`kreg tune`; give --journal another path, or delete the file",
          path));
    }
    const auto v = version->get<std::int64_t>();
    if (v != kJournalVersion) {
      throw InputError(fmt::format(
          "journal '{}' was written by {} kreg (tune journal version {}; this kreg writes "
          "version {}); finish that run with the kreg that started it, or delete the journal to "
          "start over",
          path, v < kJournalVersion ? "an older" : "a newer", v, kJournalVersion));
    }
    const json& old = header["config"];
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
  }

  void load(const std::string& path, std::size_t line, const std::string& text) {
    const json record = json::parse(text, nullptr, /*allow_exceptions=*/false);
    if (record.is_discarded()) {
      throw InputError(fmt::format(
          "journal '{}' line {}: the record is not JSON, though its checksum matches; this kreg "
          "did not write it, so delete the journal to start over",
          path, line));
    }
    const RecordReader r(path, line, record);
    const std::string type = r.type();
    if (type == "task") {
      TaskRecord t;
      t.line = line;
      t.index = static_cast<std::size_t>(r.integer("index"));
      t.task = {r.integer("split"), r.integer("begin"), r.integer("end"), r.integer("b_begin"),
                r.integer("b_end")};
      t.part = {r.numbers("sse"), r.numbers("sae"), r.integers("isolated"), r.number("seconds")};
      tasks_.push_back(std::move(t));
    } else if (type == "eval") {
      evals_.push_back({line, r.numbers("h"), r.number("score")});
    } else {
      r.fail(
          fmt::format("a record of type '{}', which kreg tune does not write", type.substr(0, 40)));
    }
  }

  std::string path_;
  std::optional<JournalWriter> writer_;
  std::vector<TaskRecord> tasks_;
  std::vector<EvalRecord> evals_;
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
    for (const auto& r : journal_.evals()) evals_[key_of(r.h)] = r.score;
  }

  // The grid, task by task; recorded tasks come from the journal.
  CvScores grid(const std::vector<double>& h) {
    const BandwidthSet set{{}, h};
    const auto tasks = search_.plan(static_cast<index_t>(h.size()));
    std::vector<std::optional<CvPartial>> parts(tasks.size());
    std::int64_t done = 0;
    const index_t k = search_.n_outputs();
    for (const TaskRecord& r : journal_.tasks()) {
      const std::size_t i = r.index;
      if (i >= tasks.size() || r.task.split != tasks[i].split || r.task.begin != tasks[i].begin ||
          r.task.end != tasks[i].end || r.task.b_begin != tasks[i].b_begin ||
          r.task.b_end != tasks[i].b_end) {
        throw InputError(fmt::format(
            "journal '{}' line {}: task {} does not match this run's plan of {} tasks; delete "
            "the journal to start over",
            o_.journal, r.line, i, tasks.size()));
      }
      const auto nb = static_cast<std::size_t>(tasks[i].b_end - tasks[i].b_begin);
      if (r.part.sse.size() != nb * static_cast<std::size_t>(k) ||
          r.part.sae.size() != r.part.sse.size() || r.part.isolated.size() != nb) {
        throw InputError(fmt::format(
            "journal '{}' line {}: task {} holds {} sums for the {} bandwidths x {} outputs of "
            "its block; delete the journal to start over",
            o_.journal, r.line, i, r.part.sse.size(), nb, k));
      }
      if (parts[i]) continue;
      parts[i] = r.part;
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
                           {"b_begin", tasks[i].b_begin},
                           {"b_end", tasks[i].b_end},
                           {"sse", journal_numbers(p.sse)},
                           {"sae", journal_numbers(p.sae)},
                           {"isolated", p.isolated},
                           {"seconds", p.seconds}});
      parts[i] = std::move(p);
      bar.update(++done);
    }
    bar.finish();
    throw_if_cancelled(&cancel_);
    std::vector<CvPartial> all;
    all.reserve(parts.size());
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
    journal_.append(json{{"type", "eval"}, {"h", h}, {"score", journal_number(s)}});
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

// The grid in the journal's header: its size and a checksum of its values'
// bits, never the values themselves (a million of them would make the header
// tens of megabytes).
json grid_identity(const std::vector<double>& grid) {
  const MatrixView<const double> values(grid.data(), static_cast<index_t>(grid.size()), 1);
  return {{"count", grid.size()}, {"checksum", fmt::format("{:016x}", checksum<double>(values))}};
}

// `v` as JSON, as the JSON library writes it: integers as they are; doubles
// in the shortest form that reads back to the same bits, whole ones with
// ".0"; NaN and infinities as null (JSON has neither).
template <class V>
void append_json_number(std::string& out, V v) {
  if constexpr (std::is_floating_point_v<V>) {
    if (!std::isfinite(v)) {
      out += "null";
      return;
    }
    const std::size_t first = out.size();
    fmt::format_to(std::back_inserter(out), "{}", v);
    if (out.find_first_of(".e", first) == std::string::npos) out += ".0";
  } else {
    fmt::format_to(std::back_inserter(out), "{}", v);
  }
}

// `"key": [values]` at depth 2 of an indent-2 document, one value a line,
// answering a stop request every 4096 values.
template <class V>
void append_json_array(std::string& out, std::string_view key, std::span<const V> values,
                       const CancelToken& cancel) {
  out += fmt::format("    \"{}\": [", key);
  for (std::size_t i = 0; i < values.size(); ++i) {
    if (i % 4096 == 0) throw_if_cancelled(&cancel);
    out += i == 0 ? "\n      " : ",\n      ";
    append_json_number(out, values[i]);
  }
  out += values.empty() ? "]" : "\n    ]";
}

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
  // Before any work: a finished run must not overwrite its own results (the
  // journal is deleted once they are written) nor its inputs.
  const bool default_journal = !o.out.empty() && o.journal == o.out + ".journal";
  check_distinct_paths(
      {{"--out", o.out},
       {"--csv", o.csv},
       {"--plot", o.plot},
       {"--refit", o.refit},
       {default_journal ? "the journal (--out's name + .journal)" : "--journal", o.journal}},
      {{"--train", o.train}, {"--train-y", o.train_y}, {"--test", o.test}, {"--test-y", o.test_y}});

  // Reading and preparing write nothing, so a stop request there ends the
  // process at once.
  std::optional<ExitOnSignal> exit_on_signal(std::in_place);
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
    // The same features in the same order: a test file with its columns
    // swapped would be scored and predicted silently wrong.
    const bool named = !train_table.columns.empty() && !test_table.columns.empty();
    check_same_features(train, o.train, test, o.test, named, "test");
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
      {"bandwidths", grid_identity(grid)},
      {"optimize", o.optimize},
      {"starts", o.starts},
  };
  // From here on a stop request is answered at the next check, with the
  // finished work in the journal. (Between these two lines a signal has its
  // default effect, which stops the run too and loses nothing.)
  exit_on_signal.reset();
  CancelToken cancel;
  ScopedSigint sigint(cancel);

  const index_t n = train.X.rows(), d = train.X.cols();
  if (!o.quiet) {
    fmt::print(stderr,
               "kreg tune: {} training points, d = {}, {} kernel, {}, cv {}, scoring {}, {} "
               "bandwidths, {} threads\n",
               n, d, o.kernel, o.dtype, to_string(options.cv), to_string(options.scoring),
               grid.size(), resolve_n_jobs(o.jobs));
  }
  std::optional<Journal> journal;
  bool results_complete = false;
  std::vector<std::string> written;  // result files written so far, for messages
  try {
    journal.emplace(o, config, cancel);
    Tuner<T> tuner(o, search, *journal, cancel);
    CvScores scores;
    double grid_s = 0, optimize_s = 0;
    std::optional<Optimum> optimum;
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
    throw_if_cancelled(&cancel);

    // Results.
    const bool greater = greater_is_better(options.scoring);
    const auto best = static_cast<std::size_t>(scores.best);
    const std::vector<double> chosen =
        optimum ? optimum->bandwidth : std::vector<double>{scores.h[best]};

    std::optional<double> refit_score;
    json refit_json;
    if (!o.refit.empty()) {
      if (!o.quiet) {
        fmt::print(stderr, "kreg tune: refit on '{}', predicting the {} rows of '{}'\n", o.train,
                   test.X.rows(), o.test);
      }
      NadarayaWatson<T> model({options.kernel, chosen, Engine::automatic, o.jobs});
      model.fit(train.X, train.y);
      const Matrix<T> pred = model.predict(test.X, nullptr, &cancel);
      io::write_table<T>(o.refit, pred, {train.target.empty() ? "y" : train.target});
      written.push_back(o.refit);
      if (test.y.cols() == 1) {
        refit_score =
            r2_score<T>(std::span<const T>(test.y.data(), static_cast<std::size_t>(test.y.rows())),
                        std::span<const T>(pred.data(), static_cast<std::size_t>(pred.rows())));
        warn_if_r2_undefined(*refit_score, test.y.rows());
        refit_json = {{"path", o.refit}, {"bandwidth", chosen}, {"test_r2", *refit_score}};
      }
    }
    throw_if_cancelled(&cancel);
    if (!o.quiet) fmt::print(stderr, "kreg tune: writing the results\n");

    if (!o.out.empty()) {
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
                     {"best_index", scores.best},
                     {"best_bandwidth", scores.h[best]},
                     {"best_score", scores.mean[best]}};
      if (optimum) {
        result["optimized"] = {
            {"method", optimum->method},       {"bandwidth", optimum->bandwidth},
            {"score", optimum->score},         {"evaluations", optimum->evaluations},
            {"converged", optimum->converged}, {"message", optimum->message}};
      }
      if (!refit_json.is_null()) result["refit"] = refit_json;
      result["timing"] = {{"read_s", read_s},
                          {"grid_s", grid_s},
                          {"optimize_s", optimize_s},
                          {"total_s", seconds_since(start)},
                          {"grid_task_s", scores.seconds},
                          {"per_bandwidth_s", scores.seconds / static_cast<double>(grid.size())}};
      // cv_results last, written by append_json_array: a million-bandwidth
      // grid takes seconds to format, with a check for a stop request every
      // few thousand values.
      std::string text = result.dump(2, ' ', false, json::error_handler_t::replace);
      text.resize(text.size() - 2);  // the closing "\n}"
      text += ",\n  \"cv_results\": {\n";
      append_json_array<double>(text, "param_bandwidth", scores.h, cancel);
      text += ",\n";
      append_json_array<double>(text, "mean_test_score", scores.mean, cancel);
      text += ",\n";
      append_json_array<double>(text, "std_test_score", scores.std, cancel);
      text += ",\n";
      append_json_array<int>(text, "rank_test_score", scores.rank, cancel);
      text += ",\n";
      append_json_array<index_t>(text, "isolated_queries", scores.isolated, cancel);
      std::vector<double> col(scores.splits.size());
      for (index_t s = 0; s < search.n_splits(); ++s) {
        for (std::size_t b = 0; b < col.size(); ++b) col[b] = scores.splits[b][s];
        text += ",\n";
        append_json_array<double>(text, fmt::format("split{}_test_score", s), col, cancel);
      }
      text += "\n  }\n}\n";
      throw_if_cancelled(&cancel);
      io::write_text_atomic(o.out, text);
      written.push_back(o.out);
    }
    throw_if_cancelled(&cancel);
    if (!o.csv.empty()) {
      std::string text = "bandwidth,mean_test_score,std_test_score,rank_test_score";
      for (index_t s = 0; s < search.n_splits(); ++s) text += fmt::format(",split{}_test_score", s);
      text += ",isolated_queries\n";
      for (std::size_t b = 0; b < grid.size(); ++b) {
        if (b % 4096 == 0) throw_if_cancelled(&cancel);
        text += fmt::format("{:.17g},{:.17g},{:.17g},{}", scores.h[b], scores.mean[b],
                            scores.std[b], scores.rank[b]);
        for (const double v : scores.splits[b]) text += fmt::format(",{:.17g}", v);
        text += fmt::format(",{}\n", scores.isolated[b]);
      }
      throw_if_cancelled(&cancel);
      io::write_text_atomic(o.csv, text);
      written.push_back(o.csv);
    }
    throw_if_cancelled(&cancel);
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
                               fmt::format("best h = {:.4g}, {} = {:.4f}", scores.h[best],
                                           score_name, scores.mean[best])});
      if (optimum && optimum->method == "scalar") {
        chart.markers.push_back({optimum->bandwidth[0], optimum->score,
                                 fmt::format("optimum h = {:.4g}", optimum->bandwidth[0])});
      }
      write_svg(o.plot, chart);
    }

    throw_if_cancelled(&cancel);
    if (!o.plot.empty()) written.push_back(o.plot);

    journal->remove();
    results_complete = true;
    const double total_s = seconds_since(start);

    // Summary on stdout.
    fmt::print("{:>14}  {:>12}  {:>10}  {:>4}\n", "bandwidth", fmt::format("mean {}", score_name),
               "std", "rank");
    for (std::size_t b = 0; b < grid.size(); ++b) {
      if (b % 4096 == 0) throw_if_cancelled(&cancel);
      fmt::print("{:>14.6g}  {:>12.6f}  {:>10.6f}  {:>4}{}\n", scores.h[b], scores.mean[b],
                 scores.std[b], scores.rank[b], b == best ? "  <- best" : "");
    }
    fmt::print("best bandwidth: {:.6g} ({} {} = {:.6f})\n", scores.h[best], to_string(options.cv),
               score_name, scores.mean[best]);
    if (optimum) {
      fmt::print("optimized ({}): bandwidth {:.6g}, {} = {:.6f}, {} evaluations{}\n",
                 optimum->method, fmt::join(optimum->bandwidth, ", "), score_name, optimum->score,
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
      fmt::print("refit on --train, R^2 on --test: {:.6f} (written to {})\n", *refit_score,
                 o.refit);
    std::int64_t isolated = 0;
    for (const auto v : scores.isolated) isolated += v;
    if (isolated > 0) {
      fmt::print(stderr,
                 "note: at some bandwidths queries had no training point inside the kernel's "
                 "support and got their nearest neighbour's y (isolated_queries in the results)\n");
    }
    if (!o.quiet) {
      fmt::print(stderr, "time: read {:.3f} s, grid {:.3f} s, optimize {:.3f} s, total {:.3f} s\n",
                 read_s, grid_s, optimize_s, total_s);
    }

  } catch (const Cancelled&) {
    if (results_complete) {
      throw Cancelled(
          fmt::format("interrupted while printing the summary; the results are complete{}",
                      written.empty() ? "" : fmt::format(" in '{}'", fmt::join(written, "', '"))));
    }
    throw Cancelled(o.journal.empty()
                        ? "interrupted; nothing was saved (give --out or --journal to keep "
                          "finished work)"
                        : fmt::format("interrupted; finished work is in the journal '{}': run the "
                                      "same command with --resume to finish",
                                      o.journal));
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
