// tune_journal.cpp - `kreg tune`'s journal and progress line, hooked into
// the library's tune workflow (kreg/tune.hpp) through TuneHooks.
//
// The journal (JSON lines, each with its checksum: tool/journal.hpp) starts
// with the run's configuration, the grid named by its size and checksum so the
// header stays small for any grid; each finished grid task and each optimiser
// evaluation is appended the moment it completes; it is deleted once the
// results are written. --resume checks the configuration (the data's checksum
// included), skips what is recorded and replays the optimiser from its
// recorded evaluations: the optimiser is deterministic, so it takes the same
// path. n_jobs is not part of the configuration: it never changes a result.
#include <fmt/format.h>
#include <fmt/ranges.h>

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <limits>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "kreg/error.hpp"
#include "tool/journal.hpp"
#include "tool/progress.hpp"
#include "tune_cli.hpp"

namespace kreg::cli {

namespace {

using json = nlohmann::json;

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
  Journal(const TuneCliOptions& o, const json& config, const CancelToken& cancel) {
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

// The grid in the journal's header: its size and a checksum of its values'
// bits, never the values themselves (a million of them would make the header
// tens of megabytes).
json grid_identity(const std::vector<double>& grid) {
  const MatrixView<const double> values(grid.data(), static_cast<index_t>(grid.size()), 1);
  return {{"count", grid.size()}, {"checksum", fmt::format("{:016x}", checksum<double>(values))}};
}

std::string key_of(std::span<const double> h) {
  std::string key;
  for (const double v : h) key += fmt::format("{:a};", v);
  return key;
}

}  // namespace

struct TuneJournal::State {
  Journal journal;
  std::map<std::string, double> evals;          // recorded optimiser scores, by key_of(h)
  std::vector<std::optional<CvPartial>> tasks;  // recorded grid tasks, by plan index
};

TuneJournal::TuneJournal(const TuneCliOptions& o, const json& config, const CancelToken& cancel)
    : state_(new State{Journal(o, config, cancel), {}, {}}) {
  for (const auto& r : state_->journal.evals()) state_->evals[key_of(r.h)] = r.score;
}

TuneJournal::~TuneJournal() = default;

void TuneJournal::remove() { state_->journal.remove(); }

void TuneJournal::attach(TuneHooks& hooks, std::span<const CvTask> plan, index_t n_outputs) {
  const Journal& journal = state_->journal;
  auto& parts = state_->tasks;
  parts.assign(plan.size(), std::nullopt);
  const auto k = static_cast<std::size_t>(n_outputs);
  for (const TaskRecord& r : journal.tasks()) {
    const std::size_t i = r.index;
    if (i >= plan.size() || r.task.split != plan[i].split || r.task.begin != plan[i].begin ||
        r.task.end != plan[i].end || r.task.b_begin != plan[i].b_begin ||
        r.task.b_end != plan[i].b_end) {
      throw InputError(fmt::format(
          "journal '{}' line {}: task {} does not match this run's plan of {} tasks; delete "
          "the journal to start over",
          journal.path(), r.line, i, plan.size()));
    }
    const auto nb = static_cast<std::size_t>(plan[i].b_end - plan[i].b_begin);
    if (r.part.sse.size() != nb * k || r.part.sae.size() != r.part.sse.size() ||
        r.part.isolated.size() != nb) {
      throw InputError(fmt::format(
          "journal '{}' line {}: task {} holds {} sums for the {} bandwidths x {} outputs of "
          "its block; delete the journal to start over",
          journal.path(), r.line, i, r.part.sse.size(), nb, k));
    }
    if (!parts[i]) parts[i] = r.part;
  }
  State* state = state_.get();
  hooks.resume = [state](std::size_t index, const CvTask&) -> std::optional<CvPartial> {
    return state->tasks[index];
  };
  hooks.task_done = [state](std::size_t i, const CvTask& task, const CvPartial& p) {
    state->journal.append(json{{"type", "task"},
                               {"index", i},
                               {"split", task.split},
                               {"begin", task.begin},
                               {"end", task.end},
                               {"b_begin", task.b_begin},
                               {"b_end", task.b_end},
                               {"sse", journal_numbers(p.sse)},
                               {"sae", journal_numbers(p.sae)},
                               {"isolated", p.isolated},
                               {"seconds", p.seconds}});
  };
  hooks.recorded_score = [state](std::span<const double> h) -> std::optional<double> {
    const auto it = state->evals.find(key_of(h));
    if (it == state->evals.end()) return std::nullopt;
    return it->second;
  };
  hooks.evaluated = [state](std::span<const double> h, double score) {
    state->journal.append(json{{"type", "eval"},
                               {"h", std::vector<double>(h.begin(), h.end())},
                               {"score", journal_number(score)}});
  };
}

TuneProgress::TuneProgress(bool enabled) : enabled_(enabled) {}
TuneProgress::~TuneProgress() = default;

void TuneProgress::attach(TuneHooks& hooks) {
  hooks.phase_begin = [this](std::string_view phase, std::int64_t total, std::int64_t done) {
    bar_ = std::make_unique<ProgressBar>(
        std::string(phase), total, ProgressOptions{.enabled = enabled_, .already_done = done});
  };
  hooks.step = [this](std::int64_t done) {
    if (bar_) bar_->update(done);
  };
  hooks.phase_end = [this] {
    if (bar_) bar_->finish();
    bar_.reset();
  };
}

template <class T>
json tune_config(const TuneCliOptions& o, const CvOptions& cv, const std::vector<double>& grid,
                 MatrixView<const T> X, MatrixView<const T> Y, MatrixView<const T> X_test,
                 MatrixView<const T> Y_test) {
  const bool holdout = cv.cv.kind == CvSpec::Kind::holdout;
  std::uint64_t sum = checksum<T>(X);
  sum = checksum<T>(Y, sum);
  if (holdout) sum = checksum<T>(Y_test, checksum<T>(X_test, sum));
  return {
      {"train", o.files.train},
      {"target", o.files.target.empty() ? o.files.train_y : o.files.target},
      {"test", holdout ? o.test : ""},
      {"data_checksum", fmt::format("{:016x}", sum)},
      {"dtype", o.dtype},
      {"kernel", o.kernel},
      {"cv", to_string(cv.cv)},
      {"scoring", to_string(cv.scoring)},
      {"bandwidths", grid_identity(grid)},
      {"optimize", o.optimize},
      {"starts", o.starts},
  };
}

template json tune_config<float>(const TuneCliOptions&, const CvOptions&,
                                 const std::vector<double>&, MatrixView<const float>,
                                 MatrixView<const float>, MatrixView<const float>,
                                 MatrixView<const float>);
template json tune_config<double>(const TuneCliOptions&, const CvOptions&,
                                  const std::vector<double>&, MatrixView<const double>,
                                  MatrixView<const double>, MatrixView<const double>,
                                  MatrixView<const double>);

}  // namespace kreg::cli
