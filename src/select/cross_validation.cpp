// select/cross_validation.cpp - BandwidthCV: splits, tasks, scores.
#include <fmt/format.h>

#include <algorithm>
#include <charconv>
#include <chrono>
#include <cmath>
#include <exception>
#include <limits>
#include <span>
#include <string>
#include <utility>

#include "core/stopwatch.hpp"
#include "kreg/error.hpp"
#include "kreg/par.hpp"
#include "kreg/select.hpp"
#include "nw/backend.hpp"
#include "nw/front.hpp"
#include "nw/scaling.hpp"
#include "select/scoring.hpp"

namespace kreg {

namespace {

// Work per task, in pair-operations (kreg::predict_work): about a tenth
// of a second on two cores, so a journal records progress often and Ctrl-C
// is answered quickly, while a task still keeps every thread busy.
constexpr double kTaskWork = 2e9;
constexpr index_t kTaskQuantum = 32;  // queries: the engines' parallel grain
// Leave-one-out at one bandwidth (an optimiser's step) is one task up to
// this many points, so that it can take the symmetric engine (nw/cpu/loo.cpp),
// which needs every query at once; at this size it takes about a second.
constexpr index_t kLooWholeMax = 32768;

// The power of two that keeps q squared errors summed in double finite: the
// errors (and deviations from the mean) are below 2 max|y| in magnitude.
int error_scaling(double max_abs_y, index_t q) {
  const int free_bits = std::numeric_limits<double>::max_exponent - 3;
  const int need = 2 * (nw::bits_of(max_abs_y) + 1) + nw::bits_of(static_cast<double>(q));
  return need > free_bits ? (need - free_bits + 1) / 2 : 0;
}

}  // namespace

template <class T>
BandwidthCV<T>::BandwidthCV(MatrixView<const T> X, MatrixView<const T> Y,
                            std::span<const T> sample_weight, CvOptions options,
                            MatrixView<const T> X_test, MatrixView<const T> Y_test)
    : options_(std::move(options)) {
  nw::validate_training(X, Y, sample_weight, "X is empty: cross-validation needs training points");
  resolve_n_jobs(options_.n_jobs);
  nw::validate_values(X, Y, sample_weight);
  n_ = X.rows();
  d_ = X.cols();
  k_ = Y.cols();
  const CvSpec& cv = options_.cv;
  const bool holdout = cv.kind == CvSpec::Kind::holdout;
  if (holdout) {
    if (X_test.rows() == 0) {
      throw ArgumentError("holdout scoring needs a test set (X_test, Y_test); none was given");
    }
    if (X_test.cols() != d_) {
      throw ArgumentError(fmt::format("the test set has {} features but the training set has {}",
                                      X_test.cols(), d_));
    }
    if (Y_test.rows() != X_test.rows() || Y_test.cols() != k_) {
      throw ArgumentError(fmt::format(
          "Y_test is {} x {} but X_test has {} rows and the training targets {} columns",
          Y_test.rows(), Y_test.cols(), X_test.rows(), k_));
    }
    nw::require_finite(X_test, "X_test");
    nw::require_finite(Y_test, "Y_test");
  } else if (X_test.rows() != 0) {
    throw ArgumentError(fmt::format(
        "a test set was given but cv is {}; a test set is only used with holdout", to_string(cv)));
  }
  if (cv.kind == CvSpec::Kind::loo && n_ < 2) {
    throw ArgumentError("leave-one-out needs at least 2 training points, got 1");
  }
  if (cv.kind == CvSpec::Kind::kfold) {
    if (cv.folds < 2) {
      throw ArgumentError(
          fmt::format("cv = {} folds is too few; k-fold needs at least 2", cv.folds));
    }
    if (cv.folds > n_) {
      throw ArgumentError(
          fmt::format("cv = {} folds but only {} training points; use at most {} folds (or loo)",
                      cv.folds, n_, n_));
    }
  }

  // Centre on the training mean (in double): distances far from the origin
  // keep their digits.
  const std::vector<double> center = nw::column_mean(X);
  X_ = nw::centred(X, center);
  // Targets and weights near T's range are scaled by powers of two, so the
  // engines' sums stay finite, and the errors by another power of two, so
  // their squares summed in double do (nw/scaling.hpp); ordinary data is not
  // scaled at all.
  const double max_abs_y = nw::max_abs(Y), max_abs_y_test = nw::max_abs(Y_test);
  double max_weight = 0;
  for (const T w : sample_weight) max_weight = std::max(max_weight, double{w});
  const nw::SumScaling scaling = nw::sum_scaling<T>(n_, max_abs_y, max_weight);
  y_exp_ = scaling.y_exp;
  error_exp_ = error_scaling(std::ldexp(std::max(max_abs_y, max_abs_y_test), -y_exp_),
                             std::max(n_, Y_test.rows()));
  Y_ = nw::scaled(Y, y_exp_);
  weight_.clear();
  for (const T w : sample_weight) weight_.push_back(std::ldexp(w, -scaling.weight_exp));
  // Refuse an engine that cannot score many bandwidths at once, before any
  // work or file.
  engine_ = Engine(
      choose_backend(
          options_.cv.kind == CvSpec::Kind::loo ? nw::Exclusion::self : nw::Exclusion::none, 2)
          .name());

  std::vector<index_t> all(static_cast<std::size_t>(n_));
  for (index_t i = 0; i < n_; ++i) all[i] = i;
  switch (cv.kind) {
    case CvSpec::Kind::loo:
      splits_.push_back({all, all});
      break;
    case CvSpec::Kind::kfold:
      splits_ = kfold(n_, cv.folds, cv.shuffle, cv.seed);
      break;
    case CvSpec::Kind::holdout: {
      X_test_ = nw::centred(X_test, center);
      Y_test_ = nw::scaled(Y_test, y_exp_);
      std::vector<index_t> test(static_cast<std::size_t>(X_test.rows()));
      for (index_t i = 0; i < X_test.rows(); ++i) test[i] = i;
      splits_.push_back({all, test});
      break;
    }
  }
  check_scores_defined();  // before any work or file
}

template <class T>
void BandwidthCV<T>::check(const BandwidthSet& bw) const {
  if (bw.h.empty()) throw ArgumentError("no bandwidths to score; give at least one");
  for (std::size_t b = 0; b < bw.h.size(); ++b) {
    if (!(bw.h[b] > 0) || !std::isfinite(bw.h[b])) {
      throw ArgumentError(
          fmt::format("bandwidth[{}] must be a finite number > 0, got {}", b, bw.h[b]));
    }
  }
  if (!bw.scale.empty() && static_cast<index_t>(bw.scale.size()) != d_) {
    throw ArgumentError(fmt::format(
        "per-feature bandwidth has {} values but the data has {} features", bw.scale.size(), d_));
  }
  for (std::size_t f = 0; f < bw.scale.size(); ++f) {
    if (!(bw.scale[f] > 0) || !std::isfinite(bw.scale[f])) {
      throw ArgumentError(fmt::format(
          "per-feature bandwidth[{}] must be a finite number > 0, got {}", f, bw.scale[f]));
    }
  }
}

template <class T>
void BandwidthCV<T>::check_scores_defined() const {
  if (options_.scoring != Scoring::r2) return;
  for (const Split& split : splits_) {
    const auto q = static_cast<index_t>(split.test.size());
    if (q >= 2) continue;
    const std::string why =
        "R^2 of fewer than 2 points is undefined (scikit-learn gives NaN), so every bandwidth "
        "would score NaN and none could be called best";
    if (options_.cv.kind == CvSpec::Kind::holdout) {
      throw ArgumentError(fmt::format(
          "the holdout test set has {} point; {}. Give a test set of at least 2 points, or score "
          "by mse or mae",
          q, why));
    }
    throw ArgumentError(fmt::format(
        "cv = {} folds of {} training points leaves a fold of {} point; {}. Use at most {} folds, "
        "cv = loo (its R^2 pools every point's out-of-sample prediction), or scoring mse or mae",
        options_.cv.folds, n_, q, why, n_ / 2));
  }
}

template <class T>
std::vector<CvTask> BandwidthCV<T>::plan(index_t n_bandwidths) const {
  if (n_bandwidths < 1) {
    throw ArgumentError(
        fmt::format("plan: {} bandwidths; give at least one to score", n_bandwidths));
  }
  std::vector<CvTask> tasks;
  if (options_.cv.kind == CvSpec::Kind::loo && n_bandwidths == 1 && n_ <= kLooWholeMax) {
    tasks.push_back({0, 0, n_, 0, 1});
    return tasks;
  }
  auto per_pair = [&](index_t bandwidths) { return predict_work(1, 1, d_, k_, bandwidths); };
  for (index_t s = 0; s < n_splits(); ++s) {
    const auto& split = splits_[static_cast<std::size_t>(s)];
    const auto q = static_cast<index_t>(split.test.size());
    const auto n_train = static_cast<double>(split.train.size());
    // Bandwidths per task: all of them, unless a quantum of queries at all of
    // them is already more than a task's work; then as many as fit in it.
    index_t per_block = n_bandwidths;
    const double quantum_pairs = static_cast<double>(kTaskQuantum) * n_train;
    if (quantum_pairs * per_pair(n_bandwidths) > kTaskWork) {
      const double fit = (kTaskWork / quantum_pairs - per_pair(0)) / (per_pair(1) - per_pair(0));
      per_block = std::clamp<index_t>(static_cast<index_t>(std::max(fit, 1.0)), 1, n_bandwidths);
    }
    const double per_query = per_pair(per_block) * n_train;
    auto block = static_cast<index_t>(std::ceil(kTaskWork / per_query));
    block = std::max(kTaskQuantum, (block + kTaskQuantum - 1) / kTaskQuantum * kTaskQuantum);
    for (index_t b = 0; b < q; b += block) {
      for (index_t h = 0; h < n_bandwidths; h += per_block) {
        tasks.push_back({s, b, std::min(q, b + block), h, std::min(n_bandwidths, h + per_block)});
      }
    }
  }
  return tasks;
}

// Queries [begin, end) of split `split` and its training rows, scaled so
// that u^2 = inv_h2[b] * ||z - x||^2: coordinates are multiplied by
// s_min / s_f <= 1 (they only shrink, never overflow) and s_min is folded
// into inv_h2. Leave-one-out trains on every row in order, so query i skips
// training row i.
template <class T>
typename BandwidthCV<T>::Prepared BandwidthCV<T>::prepare(const BandwidthSet& bw, index_t split,
                                                          index_t begin, index_t end) const {
  const auto& rows = splits_.at(static_cast<std::size_t>(split));
  const bool holdout = options_.cv.kind == CvSpec::Kind::holdout;
  double s_min = 1.0;
  const std::vector<double> factor = nw::feature_factors(bw.scale, s_min);
  Prepared out;
  for (const double h : bw.h) out.inv_h2.push_back(nw::clamped_inv_h2<T>(h * s_min));
  out.X = nw::centred<T>(X_, {}, factor, rows.train);
  out.Y = nw::scaled<T>(Y_, 0, rows.train);
  if (!weight_.empty()) {
    for (const index_t i : rows.train) out.weights.push_back(weight_[i]);
  }
  if (!out.weights.empty() &&
      std::none_of(out.weights.begin(), out.weights.end(), [](T w) { return w > 0; })) {
    throw ArgumentError(fmt::format(
        "split {} has no training point of positive sample weight; its queries cannot be "
        "predicted",
        split));
  }
  const MatrixView<const T> Xq = holdout ? X_test_.view() : X_.view();
  const std::span<const index_t> queries(rows.test.data() + begin, rows.test.data() + end);
  out.Z = nw::centred<T>(Xq, {}, factor, queries);
  if (options_.cv.kind == CvSpec::Kind::loo) out.exclude.assign(queries.begin(), queries.end());
  return out;
}

template <class T>
Matrix<T> BandwidthCV<T>::predict_block(const BandwidthSet& bw, index_t split, index_t begin,
                                        index_t end, std::vector<index_t>& isolated,
                                        const CancelToken* cancel) const {
  Prepared p = prepare(bw, split, begin, end);
  const auto B = static_cast<index_t>(bw.h.size());
  Matrix<T> out(end - begin, k_ * B);
  isolated.assign(static_cast<std::size_t>(B), 0);
  // A whole leave-one-out: the queries are the training rows, each skipping itself.
  const bool self = options_.cv.kind == CvSpec::Kind::loo && begin == 0 && end == n_;
  const nw::Exclusion exclusion = self                ? nw::Exclusion::self
                                  : p.exclude.empty() ? nw::Exclusion::none
                                                      : nw::Exclusion::rows;
  const nw::Backend& backend = choose_backend(exclusion, B);
  const auto fitted =
      backend.prepare(nw::TrainingSet<T>{std::move(p.X), std::move(p.Y), std::move(p.weights),
                                         options_.kernel, 1.0, options_.device.index()});
  backend.predict_grid(*fitted, p.Z, p.inv_h2, exclusion,
                       self ? std::span<const index_t>{} : std::span<const index_t>(p.exclude), out,
                       isolated, resolve_n_jobs(options_.n_jobs), cancel);
  return out;
}

template <class T>
const nw::Backend& BandwidthCV<T>::choose_backend(nw::Exclusion exclusion,
                                                  index_t n_bandwidths) const {
  nw::Request request;
  request.operation = nw::Operation::predict_grid;
  request.kernel = options_.kernel;
  request.dtype = nw::dtype_of<T>();
  request.weighted = !weight_.empty();
  request.bandwidths = n_bandwidths;
  request.exclusion = exclusion;
  request.n = n_;
  request.d = d_;
  request.k = k_;
  return nw::choose(request, options_.engine, options_.device);
}

template <class T>
CvPartial BandwidthCV<T>::run(const BandwidthSet& bw, const CvTask& task,
                              const CancelToken* cancel) const {
  if (task.split < 0 || task.split >= n_splits() || task.begin < 0 || task.begin >= task.end ||
      task.end > static_cast<index_t>(splits_[static_cast<std::size_t>(task.split)].test.size()) ||
      task.b_begin < 0 || task.b_begin >= task.b_end ||
      task.b_end > static_cast<index_t>(bw.h.size())) {
    throw ArgumentError(fmt::format(
        "run: the task (split {}, queries [{}, {}), bandwidths [{}, {})) does not fit this search "
        "of {} splits and {} bandwidths",
        task.split, task.begin, task.end, task.b_begin, task.b_end, n_splits(), bw.h.size()));
  }
  // Only the task's block of bandwidths: a task's cost must not grow with
  // the grid's size.
  const BandwidthSet block{
      bw.scale, std::vector<double>(bw.h.begin() + task.b_begin, bw.h.begin() + task.b_end)};
  check(block);
  const detail::Stopwatch watch;
  const auto B = static_cast<index_t>(block.h.size());
  CvPartial part;
  const Matrix<T> out =
      predict_block(block, task.split, task.begin, task.end, part.isolated, cancel);
  const auto& rows = splits_.at(static_cast<std::size_t>(task.split));
  const MatrixView<const T> Yq =
      options_.cv.kind == CvSpec::Kind::holdout ? Y_test_.view() : Y_.view();
  const double unit = std::ldexp(1.0, -error_exp_);  // 1 but for targets near double's range
  part.sse.assign(static_cast<std::size_t>(B * k_), 0.0);
  part.sae.assign(static_cast<std::size_t>(B * k_), 0.0);
  for (index_t r = 0; r < out.rows(); ++r) {
    const index_t i = rows.test[task.begin + r];
    for (index_t c = 0; c < k_; ++c) {
      const double y = Yq(i, c);
      for (index_t b = 0; b < B; ++b) {
        const double e = (static_cast<double>(out(r, c * B + b)) - y) * unit;
        part.sse[b * k_ + c] += e * e;
        part.sae[b * k_ + c] += std::abs(e);
      }
    }
  }
  part.seconds = watch.seconds();
  return part;
}

template <class T>
CvScores BandwidthCV<T>::combine(const BandwidthSet& bw, std::span<const CvTask> tasks,
                                 std::span<const CvPartial> partials) const {
  check(bw);
  const auto B = static_cast<index_t>(bw.h.size());
  const index_t S = n_splits();
  if (tasks.size() != partials.size()) {
    throw ArgumentError(
        fmt::format("combine: {} tasks but {} partial results", tasks.size(), partials.size()));
  }
  // Sums per split, in task order.
  std::vector<double> sse(static_cast<std::size_t>(S * B * k_), 0.0), sae(sse.size(), 0.0);
  std::vector<index_t> covered(static_cast<std::size_t>(S), 0);
  CvScores out;
  out.h = bw.h;
  out.scoring = options_.scoring;
  out.isolated.assign(static_cast<std::size_t>(B), 0);
  for (std::size_t t = 0; t < tasks.size(); ++t) {
    const CvTask& task = tasks[t];
    const CvPartial& part = partials[t];
    const index_t nb = task.b_end - task.b_begin;
    if (task.split < 0 || task.split >= S || task.b_begin < 0 || nb < 1 || task.b_end > B ||
        task.end < task.begin || static_cast<index_t>(part.sse.size()) != nb * k_ ||
        static_cast<index_t>(part.sae.size()) != nb * k_ ||
        static_cast<index_t>(part.isolated.size()) != nb) {
      throw ArgumentError(fmt::format("combine: task {} does not match this search", t));
    }
    covered[task.split] += (task.end - task.begin) * nb;  // query-bandwidth pairs
    const index_t offset = (task.split * B + task.b_begin) * k_;
    for (index_t j = 0; j < nb * k_; ++j) {
      sse[offset + j] += part.sse[j];
      sae[offset + j] += part.sae[j];
    }
    for (index_t b = 0; b < nb; ++b) out.isolated[task.b_begin + b] += part.isolated[b];
    out.seconds += part.seconds;
  }
  const bool holdout = options_.cv.kind == CvSpec::Kind::holdout;
  const MatrixView<const T> Yq = holdout ? Y_test_.view() : Y_.view();
  out.splits.assign(static_cast<std::size_t>(B), std::vector<double>(static_cast<std::size_t>(S)));
  for (index_t s = 0; s < S; ++s) {
    const auto& rows = splits_[static_cast<std::size_t>(s)].test;
    const auto q = static_cast<index_t>(rows.size());
    if (covered[s] != q * B) {
      throw ArgumentError(fmt::format(
          "combine: split {} has {} of its {} query-bandwidth pairs scored", s, covered[s], q * B));
    }
    // Total sum of squares per output, two-pass in double, in the errors' units.
    const double unit = std::ldexp(1.0, -error_exp_);
    std::vector<double> sst(static_cast<std::size_t>(k_), 0.0);
    for (index_t c = 0; c < k_; ++c) {
      double mean = 0;
      for (const index_t i : rows) mean += static_cast<double>(Yq(i, c));
      mean /= static_cast<double>(q);
      for (const index_t i : rows) {
        const double e = (static_cast<double>(Yq(i, c)) - mean) * unit;
        sst[c] += e * e;
      }
    }
    // R^2 of fewer than two points is undefined: NaN, as scikit-learn's.
    const bool undefined = options_.scoring == Scoring::r2 && q < 2;
    for (index_t b = 0; b < B; ++b) {
      double score = 0;
      for (index_t c = 0; c < k_; ++c) {
        const double e2 = sse[(s * B + b) * k_ + c];
        switch (options_.scoring) {
          case Scoring::r2:
            score += sst[c] > 0 ? 1.0 - e2 / sst[c] : (e2 == 0 ? 1.0 : 0.0);
            break;
          case Scoring::mse:
            score += e2 / static_cast<double>(q);
            break;
          case Scoring::mae:
            score += sae[(s * B + b) * k_ + c] / static_cast<double>(q);
            break;
        }
      }
      score /= static_cast<double>(k_);
      // Back to the targets' units: 2^(2 e) for squared errors, 2^e for absolute ones.
      const int e = y_exp_ + error_exp_;
      if (options_.scoring == Scoring::mse) score = std::ldexp(score, 2 * e);
      if (options_.scoring == Scoring::mae) score = std::ldexp(score, e);
      if (std::isinf(score)) {
        throw ArgumentError(fmt::format(
            "the {} of bandwidth {} on split {} is beyond the range of double (1.8e308): the "
            "targets are too large for it; divide them by a power of ten, or score by {}",
            options_.scoring == Scoring::mse ? "mean squared error" : "mean absolute error",
            bw.h[b], s, options_.scoring == Scoring::mse ? "r2 or mae" : "r2"));
      }
      out.splits[b][s] = undefined ? std::numeric_limits<double>::quiet_NaN() : score;
    }
  }
  out.mean.resize(static_cast<std::size_t>(B));
  out.std.resize(static_cast<std::size_t>(B));
  for (index_t b = 0; b < B; ++b) {
    const auto [mean, std_dev] = detail::mean_and_std(out.splits[b]);
    out.mean[b] = mean;
    out.std[b] = std_dev;
  }
  // Rank 1 = best, ties share the lowest rank (scikit-learn's rankdata "min");
  // NaN means rank after every number, as in GridSearchCV.
  const bool greater = greater_is_better(options_.scoring);
  auto better = [&](double a, double b) {
    if (std::isnan(a)) return false;
    if (std::isnan(b)) return true;
    return greater ? a > b : a < b;
  };
  // Sorted once (a grid may hold a million bandwidths): the rank of b is one
  // more than the count of bandwidths better than it, which is the position
  // of the first of its equals in the sorted order.
  std::vector<index_t> order(static_cast<std::size_t>(B));
  for (index_t b = 0; b < B; ++b) order[b] = b;
  std::stable_sort(order.begin(), order.end(),
                   [&](index_t a, index_t b) { return better(out.mean[a], out.mean[b]); });
  out.rank.resize(static_cast<std::size_t>(B));
  for (index_t i = 0; i < B; ++i) {
    const bool tied = i > 0 && !better(out.mean[order[i - 1]], out.mean[order[i]]);
    out.rank[order[i]] = tied ? out.rank[order[i - 1]] : static_cast<int>(i + 1);
  }
  out.best = order[0];  // stable: the first of the best on ties
  // A bandwidth is never called best on undefined scores.
  if (std::isnan(out.mean[out.best])) {
    check_scores_defined();
    throw ArgumentError("every bandwidth scored NaN; none can be called best");
  }
  return out;
}

template <class T>
CvScores BandwidthCV<T>::score(const BandwidthSet& bw, const CancelToken* cancel) const {
  check(bw);
  const auto tasks = plan(static_cast<index_t>(bw.h.size()));
  std::vector<CvPartial> partials;
  partials.reserve(tasks.size());
  for (const auto& task : tasks) {
    throw_if_cancelled(cancel);
    partials.push_back(run(bw, task, cancel));
  }
  return combine(bw, tasks, partials);
}

template <class T>
Matrix<T> BandwidthCV<T>::predict(const BandwidthSet& bw, const CancelToken* cancel) const {
  check(bw);
  const auto B = static_cast<index_t>(bw.h.size());
  Matrix<T> all(options_.cv.kind == CvSpec::Kind::holdout ? X_test_.rows() : n_, k_ * B);
  std::vector<index_t> isolated;
  for (index_t s = 0; s < n_splits(); ++s) {
    const auto& test = splits_[static_cast<std::size_t>(s)].test;
    const auto m = static_cast<index_t>(test.size());
    Matrix<T> out = predict_block(bw, s, 0, m, isolated, cancel);
    nw::unscale<T>(out, y_exp_);  // back to the targets' scale (a no-op for ordinary data)
    for (index_t r = 0; r < m; ++r) {
      for (index_t j = 0; j < k_ * B; ++j) all(test[r], j) = out(r, j);
    }
  }
  return all;
}

template class BandwidthCV<float>;
template class BandwidthCV<double>;

}  // namespace kreg
