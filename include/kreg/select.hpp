// kreg/select.hpp - choosing a Nadaraya-Watson bandwidth by cross-validation,
// at the cost of about one prediction per split for a whole grid.
//
// The distance between two points does not depend on the bandwidth, so B
// bandwidths are scored in one pass over the pairs (one distance, B weights
// per pair). Leave-one-out is one pass over the training pairs that skips
// each query's own point by index (never by distance: duplicate points are
// real). k-fold predicts each fold from the others, all bandwidths at once,
// which costs n^2 (1 - 1/k) pairs in all: less than one prediction on the
// training set. Out-of-fold sums are accumulated directly rather than as
// full sums minus own-fold sums, which would cancel catastrophically at small
// bandwidths, where a point's own fold holds nearly all of its weight.
//
// The work is cut into tasks (a block of one split's queries, all
// bandwidths) so a long run can record each finished task in a journal and
// resume after an interruption; the plan depends only on the data, the splits
// and the number of bandwidths, never on n_jobs, and the final scores are the
// same bits however the tasks were run.
#pragma once

#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "kreg/data.hpp"
#include "kreg/interrupt.hpp"
#include "kreg/matrix.hpp"
#include "kreg/nw.hpp"

namespace kreg {

namespace nw {  // the engine interface (private: src/nw/backend.hpp)
enum class Exclusion;
}  // namespace nw

// scikit-learn's regression scorers: r2 (greater is better), mse and mae
// (smaller is better). Multi-output scores average the outputs
// (multioutput="uniform_average"); r2 of a constant target is 1 when the
// predictions are exact and 0 otherwise, as scikit-learn's force_finite; r2
// of fewer than 2 points is undefined (NaN, as scikit-learn's), so a search
// scored by r2 needs every split's test set to hold at least 2 points
// (k-fold: at most n / 2 folds; leave-one-out scores r2 over all n
// out-of-sample predictions together, so it always can).
enum class Scoring { r2, mse, mae };
Scoring parse_scoring(std::string_view name);  // also neg_mean_squared_error, ...
std::string_view to_string(Scoring scoring);
bool greater_is_better(Scoring scoring);

// How the training set is split.
//   loo      leave-one-out: every training point predicted from all others
//   kfold    scikit-learn's KFold(folds, shuffle, random_state=seed)
//   holdout  fit on the training set, score on a separate test set
struct CvSpec {
  enum class Kind { loo, kfold, holdout };
  Kind kind = Kind::kfold;
  index_t folds = 5;
  bool shuffle = true;
  std::uint32_t seed = 0;
};
// "loo", "holdout" or a fold count K >= 2 ("5").
CvSpec parse_cv(std::string_view text);
std::string to_string(const CvSpec& cv);

// Bandwidths to score: feature f's bandwidth at grid point b is
// h[b] * scale[f]. An empty scale treats all features alike (scale 1), so a
// plain grid is {{}, {0.1, 0.2, ...}} and one per-feature bandwidth vector
// v is {v, {1.0}}.
struct BandwidthSet {
  std::vector<double> scale;
  std::vector<double> h;
};

// One unit of work: queries [begin, end) of one split's test rows, bandwidths
// [b_begin, b_end) of the grid. A grid is cut into bandwidth blocks only when
// a few queries at all bandwidths would already be more than a task's work
// (tens of thousands of bandwidths), so a task stays a fraction of a second
// and a stop request is answered that quickly.
struct CvTask {
  index_t split = 0;
  index_t begin = 0, end = 0;
  index_t b_begin = 0, b_end = 0;
};

// What a task contributes: per bandwidth b of its block (0-based within the
// block) and output c, the sums of squared and absolute errors,
// sse[b * k + c], sae[b * k + c], and the queries that had no training point
// inside a compact kernel's support. For targets near the floating-point
// range the errors are summed in a power-of-two unit that keeps the sums
// finite (the same for every task of one BandwidthCV; 1 for ordinary data).
struct CvPartial {
  std::vector<double> sse, sae;
  std::vector<index_t> isolated;
  double seconds = 0;  // wall time of the task
};

// Scores are finite: a search whose scores would be undefined (r2 on a
// split of fewer than 2 test points, NaN in scikit-learn) is refused when
// BandwidthCV is made, so `best` is never picked among undefined scores.
// Should a NaN mean arise, it ranks after every number (GridSearchCV's
// order), and combine() throws rather than call a NaN best.
struct CvScores {
  std::vector<double> h;                    // the grid, as given
  std::vector<std::vector<double>> splits;  // splits[b][s]: the score of split s
  std::vector<double> mean, std;            // over splits (std with ddof = 0, as scikit-learn)
  std::vector<int> rank;                    // 1 = best; ties share the lowest rank
  std::vector<index_t> isolated;            // per bandwidth, over all splits
  index_t best = 0;                         // index of the best bandwidth (first on ties)
  Scoring scoring = Scoring::r2;
  double seconds = 0;  // summed task time
};

struct CvOptions {
  Kernel kernel = Kernel::gaussian;
  CvSpec cv;
  Scoring scoring = Scoring::r2;
  int n_jobs = -1;
  // The engine that predicts the splits: auto (the first that can predict
  // many bandwidths at once, kreg/nw.hpp) or one by name; an engine that
  // cannot is refused when BandwidthCV is made.
  Engine engine = Engine::automatic;
  // Where to compute (kreg/device.hpp): auto, cpu, cuda or cuda:K.
  Device device = Device();
};

// Cross-validation of Nadaraya-Watson over bandwidths, for float or double.
// The data is validated and centred (in double) on construction, targets and
// weights near T's range scaled by powers of two as NadarayaWatson's are (so
// predictions and scores stay finite); X is n x d,
// Y n x k, sample_weight empty or n values >= 0 (fit weights; the scores are
// unweighted, as scikit-learn's cross_val_score). For holdout, X_test and
// Y_test are the scored set; the other kinds take none. Scored by r2, every
// split's test set must hold at least 2 points, else no score is defined:
// ArgumentError, saying what to use instead (fewer folds, loo, mse or mae).
template <class T>
class BandwidthCV {
 public:
  BandwidthCV(MatrixView<const T> X, MatrixView<const T> Y, std::span<const T> sample_weight,
              CvOptions options, MatrixView<const T> X_test = {}, MatrixView<const T> Y_test = {});

  index_t n_splits() const { return static_cast<index_t>(splits_.size()); }
  index_t n_features() const { return d_; }
  index_t n_outputs() const { return k_; }
  const CvOptions& options() const { return options_; }
  // The engine that scores the splits (options().engine, or what auto chose).
  Engine engine() const { return engine_; }

  // The tasks for `n_bandwidths` bandwidths: deterministic, in split order.
  std::vector<CvTask> plan(index_t n_bandwidths) const;
  // Runs one task (n_jobs threads). Throws kreg::Cancelled if `cancel` is set.
  CvPartial run(const BandwidthSet& bandwidths, const CvTask& task,
                const CancelToken* cancel = nullptr) const;
  // The scores from every task's partial, in plan order. Throws
  // ArgumentError where no bandwidth's score is defined, and where an mse or
  // mae is beyond double's range (targets near 1e308).
  CvScores combine(const BandwidthSet& bandwidths, std::span<const CvTask> tasks,
                   std::span<const CvPartial> partials) const;

  // Throws ArgumentError unless `bandwidths` has at least one h, every h and
  // scale is finite and > 0, and the scale is empty or has one value a feature.
  void check(const BandwidthSet& bandwidths) const;

  // plan + run + combine.
  CvScores score(const BandwidthSet& bandwidths, const CancelToken* cancel = nullptr) const;

  // The out-of-fold predictions of the training rows (n x k x B as
  // out(i, c * B + b)); holdout: of the test rows.
  Matrix<T> predict(const BandwidthSet& bandwidths, const CancelToken* cancel = nullptr) const;

 private:
  // Throws ArgumentError when r2 is scored on a split of fewer than 2 test points.
  void check_scores_defined() const;
  // One split's training rows and queries [begin, end), scaled for `bandwidths`.
  struct Prepared {
    Matrix<T> X, Y, Z;
    std::vector<T> weights;
    std::vector<index_t> exclude;  // leave-one-out: each query's own training row
    std::vector<double> inv_h2;
  };
  Prepared prepare(const BandwidthSet& bandwidths, index_t split, index_t begin, index_t end) const;
  // Predictions out(q, c * B + b) of those queries; isolated counts per bandwidth.
  // The engine for a block of queries with these exclusions and bandwidths.
  const nw::Backend& choose_backend(nw::Exclusion exclusion, index_t n_bandwidths) const;
  Matrix<T> predict_block(const BandwidthSet& bandwidths, index_t split, index_t begin, index_t end,
                          std::vector<index_t>& isolated, const CancelToken* cancel) const;
  CvOptions options_;
  index_t n_ = 0, d_ = 0, k_ = 0;
  Matrix<T> X_, Y_;  // centred training set; Y_ (and Y_test_) times 2^-y_exp_
  std::vector<T> weight_;
  Matrix<T> X_test_, Y_test_;  // holdout only, centred like X
  std::vector<Split> splits_;  // loo: one split, test = all rows (each skipping itself)
  Engine engine_;
  int y_exp_ = 0;      // > 0 only for targets near T's range (nw/scaling.hpp)
  int error_exp_ = 0;  // errors are summed times 2^-error_exp_ (> 0 only near double's range)
};

// The generic parallel fold runner: fn(s) for every split index s in
// [0, n_splits), splits in parallel on n_jobs threads (joblib's meaning), one
// split per batch of kreg::par (par.hpp), so a split's own parallelism (an
// engine with n_jobs) runs inside it. The caller stores results by index.
// The first exception by time is re-thrown as the split threw it (with
// n_jobs = 1: the lowest index), after running splits finish; splits not yet
// started are skipped. `cancel` stops it between splits (kreg::Cancelled).
void for_each_split(index_t n_splits, int n_jobs, const std::function<void(index_t)>& fn,
                    const CancelToken* cancel = nullptr);

}  // namespace kreg
