// tune_cli.hpp - what `kreg tune` adds around the library's tune workflow
// (kreg/tune.hpp): its options, its journal and progress line (tool
// internals, hooked in through TuneHooks), and the rendering of its results.
#pragma once

#include <cstdint>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "kreg/interrupt.hpp"
#include "kreg/matrix.hpp"
#include "kreg/select.hpp"
#include "kreg/tune.hpp"
#include "training_data.hpp"

namespace kreg {
class ProgressBar;
}

namespace kreg::cli {

struct TuneCliOptions {
  TrainingFiles files;
  std::string test, test_y;
  std::string bandwidths = "auto";
  std::string cv = "5";
  std::uint32_t seed = 0;
  bool shuffle = false;  // scikit-learn's cv=K: consecutive folds unless --shuffle
  std::string scoring = "r2";
  std::string kernel = "gaussian";
  std::string engine = "auto";
  std::string device = "auto";
  std::string dtype = "f64";
  int jobs = -1;
  std::string out, csv, plot, journal, refit;
  std::string optimize = "none";
  int starts = 1;
  bool resume = false;
  bool quiet = false;
  std::string shard;  // --shard i/N (shard.hpp)
};

// The journal's header: the run's configuration, which a resumed run must
// match (the data by checksum, the grid by its size and checksum). The test
// set counts only for holdout, where it is scored.
template <class T>
nlohmann::json tune_config(const TuneCliOptions& o, const CvOptions& cv,
                           const std::vector<double>& grid, MatrixView<const T> X,
                           MatrixView<const T> Y, MatrixView<const T> X_test,
                           MatrixView<const T> Y_test);

// The journal of one run (JSON lines, tool/journal.hpp): created, or with
// --resume continued, when o.journal names one; without one, hooks record
// nothing. Each finished grid task and optimiser evaluation is appended the
// moment it completes.
class TuneJournal {
 public:
  TuneJournal(const TuneCliOptions& o, const nlohmann::json& config, const CancelToken& cancel);
  ~TuneJournal();
  TuneJournal(const TuneJournal&) = delete;
  TuneJournal& operator=(const TuneJournal&) = delete;

  // Sets the hooks that take recorded work from the journal and append new
  // work to it, after checking the recorded tasks against this run's `plan`.
  void attach(TuneHooks& hooks, std::span<const CvTask> plan, index_t n_outputs);
  // The run finished and its results are written: the journal has done its
  // job, and the same command can run again without --resume.
  void remove();

 private:
  struct State;
  std::unique_ptr<State> state_;
};

// The progress line of each phase on stderr, when `enabled`.
class TuneProgress {
 public:
  explicit TuneProgress(bool enabled);
  ~TuneProgress();
  TuneProgress(const TuneProgress&) = delete;
  TuneProgress& operator=(const TuneProgress&) = delete;
  void attach(TuneHooks& hooks);

 private:
  bool enabled_;
  std::unique_ptr<ProgressBar> bar_;
};

// What the results files and the summary report.
struct TuneReport {
  const TuneCliOptions& o;
  const CvOptions& cv;
  const TuneResult& result;
  index_t n = 0, d = 0, k = 0, n_splits = 0;
  std::vector<std::string> features;
  std::optional<double> refit_score;  // R^2 of --refit's predictions of --test
  nlohmann::json refit;               // the results' "refit" entry (null: none)
  double read_s = 0;
};

// Writes --out, --csv and --plot, in that order, each added to `written` once
// whole; `total_s` gives the run's time so far. kreg::Cancelled between them.
void write_tune_results(const TuneReport& report, const CancelToken& cancel,
                        std::vector<std::string>& written, double total_s);
// The per-bandwidth table and the choice on stdout, notes and timing on stderr.
void print_tune_summary(const TuneReport& report, const CancelToken& cancel, double total_s);

}  // namespace kreg::cli
