// select/model_cv.cpp - k-fold cross-validation of one model (kreg/model_cv.hpp).
#include "kreg/model_cv.hpp"

#include <atomic>
#include <cmath>
#include <cstdint>
#include <limits>
#include <type_traits>
#include <utility>

#include <fmt/format.h>

#include "core/stopwatch.hpp"
#include "kreg/error.hpp"
#include "kreg/metrics.hpp"

namespace kreg {

double regression_score(Scoring scoring, std::span<const double> y_true,
                        std::span<const double> y_pred) {
  switch (scoring) {
    case Scoring::r2:
      return r2_score<double>(y_true, y_pred);
    case Scoring::mse:
      return mean_squared_error<double>(y_true, y_pred);
    case Scoring::mae:
      return mean_absolute_error<double>(y_true, y_pred);
  }
  return std::numeric_limits<double>::quiet_NaN();
}

std::vector<Split> plan_model_cv(std::span<const double> y, const ModelCvOptions& options) {
  return options.stratified
             ? stratified_kfold(y, options.folds, options.shuffle, options.seed)
             : kfold(static_cast<index_t>(y.size()), options.folds, options.shuffle, options.seed);
}

template <class T>
FoldScore run_model_cv_fold(MatrixView<const T> X, std::span<const double> y, const Split& split,
                            const ModelCvOptions& options, const CancelToken* cancel) {
  FoldScore r;
  r.train_size = static_cast<index_t>(split.train.size());
  r.test_size = static_cast<index_t>(split.test.size());
  std::vector<double> y_train, y_test;
  for (const index_t i : split.train) y_train.push_back(y[static_cast<std::size_t>(i)]);
  for (const index_t i : split.test) y_test.push_back(y[static_cast<std::size_t>(i)]);
  const Matrix<T> Xtr = take_rows<T>(X, split.train);
  const Matrix<T> Xte = take_rows<T>(X, split.test);
  detail::Stopwatch clock;
  if (options.model == CvModel::logreg) {
    LogisticRegressionOptions lo = options.logreg;
    lo.n_jobs = options.n_jobs;
    lo.cancel = cancel;
    LogisticRegression model(lo);
    model.fit<T>(Xtr, y_train);
    r.fit_seconds = clock.seconds();
    clock.restart();
    const std::vector<double> pred = model.predict<T>(Xte, options.n_jobs);
    r.score_seconds = clock.seconds();
    r.test_score = accuracy_score<double>(y_test, pred);
    r.n_iter = model.fit_report().n_iter;
    r.converged = model.fit_report().converged;
  } else if constexpr (std::is_same_v<T, double>) {
    NadarayaWatsonOptions no = options.nw;
    no.n_jobs = options.n_jobs;
    NadarayaWatson<double> model(no);
    const MatrixView<const double> ytr(y_train.data(), r.train_size, 1);
    model.fit(Xtr, ytr);
    r.fit_seconds = clock.seconds();
    clock.restart();
    const Matrix<double> pred = model.predict(Xte, nullptr, cancel);
    r.score_seconds = clock.seconds();
    r.test_score = regression_score(options.scoring, y_test,
                                    {pred.data(), static_cast<std::size_t>(pred.rows())});
  } else {
    throw ArgumentError("Nadaraya-Watson cross-validation needs a table of numbers, not pixels");
  }
  return r;
}

ModelCvResult combine_model_cv(std::vector<FoldScore> folds) {
  ModelCvResult out;
  out.folds = std::move(folds);
  if (out.folds.empty()) throw ArgumentError("combine_model_cv: no folds to combine");
  const auto count = static_cast<double>(out.folds.size());
  for (const FoldScore& r : out.folds) out.mean += r.test_score;
  out.mean /= count;
  double var = 0.0;
  for (const FoldScore& r : out.folds) var += (r.test_score - out.mean) * (r.test_score - out.mean);
  out.std = std::sqrt(var / count);  // ddof 0
  return out;
}

template <class T>
ModelCvResult cross_validate_model(MatrixView<const T> X, std::span<const double> y,
                                   std::span<const Split> splits, const ModelCvOptions& options,
                                   const CancelToken* cancel) {
  if (X.rows() != static_cast<index_t>(y.size())) {
    throw ArgumentError(fmt::format("X has {} rows but y has {}", X.rows(), y.size()));
  }
  std::vector<FoldScore> folds(splits.size());
  const auto total = static_cast<index_t>(splits.size());
  std::atomic<index_t> done{0};
  detail::Stopwatch clock;
  for_each_split(
      total, options.n_jobs,
      [&](index_t s) {
        const auto i = static_cast<std::size_t>(s);
        folds[i] = run_model_cv_fold<T>(X, y, splits[i], options, cancel);
        if (options.progress) options.progress(++done, total);
      },
      cancel);
  const double seconds = clock.seconds();
  ModelCvResult out = combine_model_cv(std::move(folds));
  out.seconds = seconds;
  return out;
}

template FoldScore run_model_cv_fold<std::uint8_t>(MatrixView<const std::uint8_t>,
                                                   std::span<const double>, const Split&,
                                                   const ModelCvOptions&, const CancelToken*);
template FoldScore run_model_cv_fold<double>(MatrixView<const double>, std::span<const double>,
                                             const Split&, const ModelCvOptions&,
                                             const CancelToken*);
template ModelCvResult cross_validate_model<std::uint8_t>(MatrixView<const std::uint8_t>,
                                                          std::span<const double>,
                                                          std::span<const Split>,
                                                          const ModelCvOptions&,
                                                          const CancelToken*);
template ModelCvResult cross_validate_model<double>(MatrixView<const double>,
                                                    std::span<const double>, std::span<const Split>,
                                                    const ModelCvOptions&, const CancelToken*);

}  // namespace kreg
