// kreg/model_cv.hpp - k-fold cross-validation of one model (scikit-learn's
// cross_validate): multinomial logistic regression scored by accuracy, or
// Nadaraya-Watson at one bandwidth scored by r2, mse or mae, the folds fitted
// and scored in parallel. Folds come from KFold or StratifiedKFold with
// scikit-learn's row assignment for the same seed.
//
// As the tune workflow (kreg/tune.hpp), it plans, runs and combines:
// plan_model_cv() gives the folds, run_model_cv_fold() fits and scores one,
// combine_model_cv() takes the mean and spread in fold order, and
// cross_validate_model() does all three. Every fold's fit is deterministic,
// so the scores are the same bits for any n_jobs.
#pragma once

#include <cstdint>
#include <functional>
#include <span>
#include <vector>

#include "kreg/data.hpp"
#include "kreg/interrupt.hpp"
#include "kreg/linear.hpp"
#include "kreg/matrix.hpp"
#include "kreg/nw.hpp"
#include "kreg/select.hpp"

namespace kreg {

enum class CvModel { logreg, nw };

struct ModelCvOptions {
  CvModel model = CvModel::nw;
  index_t folds = 5;        // >= 2, at most the number of rows
  bool stratified = false;  // StratifiedKFold (class labels)
  bool shuffle = true;
  std::uint32_t seed = 0;
  int n_jobs = -1;  // folds in parallel, each model on these threads too
  // nw: the scorer; logreg is scored by accuracy.
  Scoring scoring = Scoring::r2;
  LogisticRegressionOptions logreg;  // its n_jobs and cancel are the workflow's
  // progress(folds done, folds) after each fold, from the thread that ran it
  // (so it must be thread-safe, as kreg::ProgressBar::update is); empty: none.
  std::function<void(index_t done, index_t total)> progress{};
  NadarayaWatsonOptions nw;  // its n_jobs is the workflow's
};

struct FoldScore {
  index_t train_size = 0, test_size = 0;
  double fit_seconds = 0.0, score_seconds = 0.0;
  double test_score = 0.0;  // NaN for r2 on a fold of one row (undefined, as scikit-learn's)
  int n_iter = 0;           // logreg only
  bool converged = true;    // logreg only
};

struct ModelCvResult {
  std::vector<FoldScore> folds;
  double mean = 0.0, std = 0.0;  // over folds; std with ddof = 0
  double seconds = 0.0;          // wall time of running the folds
};

// A regression score of predictions against the truth with scikit-learn's
// definition (kreg/metrics.hpp).
double regression_score(Scoring scoring, std::span<const double> y_true,
                        std::span<const double> y_pred);

// The folds of `y`'s rows (stratified by its values when asked).
std::vector<Split> plan_model_cv(std::span<const double> y, const ModelCvOptions& options);

// Fits the model on `split`'s training rows of X and y and scores it on its
// test rows. T is std::uint8_t (pixels; logreg only) or double.
template <class T>
FoldScore run_model_cv_fold(MatrixView<const T> X, std::span<const double> y, const Split& split,
                            const ModelCvOptions& options, const CancelToken* cancel = nullptr);

// The mean and spread of the folds' scores, in fold order.
ModelCvResult combine_model_cv(std::vector<FoldScore> folds);

// Runs every fold (in parallel on n_jobs threads) and combines them.
// kreg::Cancelled when `cancel` is set.
template <class T>
ModelCvResult cross_validate_model(MatrixView<const T> X, std::span<const double> y,
                                   std::span<const Split> splits, const ModelCvOptions& options,
                                   const CancelToken* cancel = nullptr);

}  // namespace kreg
