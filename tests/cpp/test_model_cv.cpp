// k-fold cross-validation of one model (kreg/model_cv.hpp): the folds'
// scores against fitting and scoring each fold by hand, the one regression
// scorer against kreg's metrics, the same bits for any n_jobs and any fold
// order, and the errors.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <mutex>
#include <random>
#include <vector>

#include "kreg/data.hpp"
#include "kreg/error.hpp"
#include "kreg/metrics.hpp"
#include "kreg/model_cv.hpp"
#include "kreg/nw.hpp"
#include "test_support.hpp"

namespace {

using kreg::CvModel;
using kreg::FoldScore;
using kreg::index_t;
using kreg::Matrix;
using kreg::ModelCvOptions;
using kreg::Scoring;
using kreg::Split;

struct Problem {
  Matrix<double> X;
  std::vector<double> y, labels;
};

Problem make(index_t n, unsigned seed) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<double> normal;
  Problem p{Matrix<double>(n, 2), {}, {}};
  for (index_t i = 0; i < n; ++i) {
    p.X(i, 0) = normal(rng);
    p.X(i, 1) = normal(rng);
    p.y.push_back(std::sin(p.X(i, 0)) + 0.1 * normal(rng));
    p.labels.push_back(p.X(i, 0) + p.X(i, 1) > 0 ? 1.0 : 0.0);
  }
  return p;
}

bool same_bits(double a, double b) { return std::memcmp(&a, &b, sizeof a) == 0; }

TEST(ModelCv, RegressionScoreIsKregsMetric) {
  const std::vector<double> t{1.0, 2.0, 4.0, 3.5}, p{1.5, 2.0, 3.0, 3.0};
  EXPECT_EQ(kreg::regression_score(Scoring::r2, t, p), kreg::r2_score<double>(t, p));
  EXPECT_EQ(kreg::regression_score(Scoring::mse, t, p), kreg::mean_squared_error<double>(t, p));
  EXPECT_EQ(kreg::regression_score(Scoring::mae, t, p), kreg::mean_absolute_error<double>(t, p));
}

TEST(ModelCv, NadarayaWatsonFoldsMatchAFitPerFoldAndAnyJobCount) {
  const Problem p = make(90, 1);
  for (const Scoring scoring : {Scoring::r2, Scoring::mse, Scoring::mae}) {
    ModelCvOptions o;
    o.model = CvModel::nw;
    o.folds = 4;
    o.seed = 5;
    o.scoring = scoring;
    o.nw.bandwidth = {0.4};
    o.n_jobs = 1;
    const std::vector<Split> splits = kreg::plan_model_cv(p.y, o);
    ASSERT_EQ(splits.size(), 4u);
    const kreg::ModelCvResult one = kreg::cross_validate_model<double>(p.X, p.y, splits, o);
    double mean = 0;
    for (std::size_t s = 0; s < splits.size(); ++s) {
      kreg::NadarayaWatson<double> model({kreg::Kernel::gaussian, {0.4}});
      std::vector<double> ytr, yte;
      for (const index_t i : splits[s].train) ytr.push_back(p.y[static_cast<std::size_t>(i)]);
      for (const index_t i : splits[s].test) yte.push_back(p.y[static_cast<std::size_t>(i)]);
      model.fit(kreg::take_rows<double>(p.X, splits[s].train),
                kreg::MatrixView<const double>(ytr.data(), static_cast<index_t>(ytr.size()), 1));
      const Matrix<double> pred = model.predict(kreg::take_rows<double>(p.X, splits[s].test));
      const double want = kreg::regression_score(
          scoring, yte, {pred.data(), static_cast<std::size_t>(pred.rows())});
      EXPECT_TRUE(same_bits(one.folds[s].test_score, want)) << "fold " << s;
      EXPECT_EQ(one.folds[s].test_size, static_cast<index_t>(splits[s].test.size()));
      mean += want;
    }
    EXPECT_DOUBLE_EQ(one.mean, mean / 4);
    o.n_jobs = 4;
    const kreg::ModelCvResult four = kreg::cross_validate_model<double>(p.X, p.y, splits, o);
    for (std::size_t s = 0; s < splits.size(); ++s) {
      EXPECT_TRUE(same_bits(four.folds[s].test_score, one.folds[s].test_score));
    }
    EXPECT_TRUE(same_bits(four.mean, one.mean));
    EXPECT_TRUE(same_bits(four.std, one.std));
    // Folds run one by one, backwards, and combined in fold order.
    std::vector<FoldScore> folds(splits.size());
    for (std::size_t j = splits.size(); j-- > 0;) {
      folds[j] = kreg::run_model_cv_fold<double>(p.X, p.y, splits[j], o);
    }
    const kreg::ModelCvResult again = kreg::combine_model_cv(folds);
    EXPECT_TRUE(same_bits(again.mean, one.mean));
    EXPECT_TRUE(same_bits(again.std, one.std));
  }
}

// progress(done, total) counts every fold once, from whichever thread ran it
// (kreg cv's progress line); the scores do not depend on it.
TEST(ModelCv, ProgressCountsEveryFold) {
  const Problem p = make(90, 1);
  ModelCvOptions o;
  o.model = CvModel::nw;
  o.folds = 5;
  o.nw.bandwidth = {0.4};
  o.n_jobs = 3;
  const std::vector<Split> splits = kreg::plan_model_cv(p.y, o);
  const kreg::ModelCvResult plain = kreg::cross_validate_model<double>(p.X, p.y, splits, o);
  std::mutex mutex;
  std::vector<index_t> seen;
  o.progress = [&](index_t done, index_t total) {
    EXPECT_EQ(total, 5);
    const std::lock_guard<std::mutex> lock(mutex);
    seen.push_back(done);
  };
  const kreg::ModelCvResult counted = kreg::cross_validate_model<double>(p.X, p.y, splits, o);
  std::sort(seen.begin(), seen.end());
  EXPECT_EQ(seen, (std::vector<index_t>{1, 2, 3, 4, 5}));
  ASSERT_EQ(counted.folds.size(), plain.folds.size());
  for (std::size_t f = 0; f < plain.folds.size(); ++f) {
    EXPECT_EQ(counted.folds[f].test_score, plain.folds[f].test_score);
  }
}

TEST(ModelCv, LogisticRegressionOnTablesAndPixels) {
  const Problem p = make(120, 2);
  ModelCvOptions o;
  o.model = CvModel::logreg;
  o.folds = 3;
  o.stratified = true;
  o.n_jobs = 2;
  const std::vector<Split> splits = kreg::plan_model_cv(p.labels, o);
  const kreg::ModelCvResult r = kreg::cross_validate_model<double>(p.X, p.labels, splits, o);
  ASSERT_EQ(r.folds.size(), 3u);
  for (const FoldScore& f : r.folds) {
    EXPECT_GT(f.test_score, 0.8);  // a linearly separable rule
    EXPECT_LE(f.test_score, 1.0);
    EXPECT_TRUE(f.converged);
    EXPECT_GT(f.n_iter, 0);
  }
  o.n_jobs = 1;
  const kreg::ModelCvResult serial = kreg::cross_validate_model<double>(p.X, p.labels, splits, o);
  EXPECT_TRUE(same_bits(serial.mean, r.mean));

  Matrix<std::uint8_t> pixels(120, 2);
  for (index_t i = 0; i < 120; ++i) {
    for (index_t f = 0; f < 2; ++f) {
      pixels(i, f) = static_cast<std::uint8_t>(std::clamp(128.0 + 40 * p.X(i, f), 0.0, 255.0));
    }
  }
  const kreg::ModelCvResult bytes =
      kreg::cross_validate_model<std::uint8_t>(pixels, p.labels, splits, o);
  EXPECT_GT(bytes.mean, 0.8);
}

TEST(ModelCv, Errors) {
  const Problem p = make(20, 3);
  ModelCvOptions o;
  o.model = CvModel::nw;
  const std::vector<Split> splits = kreg::plan_model_cv(p.y, o);
  const Matrix<std::uint8_t> pixels(20, 2);
  kreg::test::expect_error<kreg::ArgumentError>(
      [&] { kreg::cross_validate_model<std::uint8_t>(pixels, p.y, splits, o); },
      "Nadaraya-Watson cross-validation needs a table of numbers, not pixels");
  const std::vector<double> short_y(p.y.begin(), p.y.begin() + 10);
  kreg::test::expect_error<kreg::ArgumentError>(
      [&] { kreg::cross_validate_model<double>(p.X, short_y, splits, o); },
      "X has 20 rows but y has 10");
  kreg::test::expect_error<kreg::ArgumentError>([] { kreg::combine_model_cv({}); },
                                                "combine_model_cv: no folds to combine");
  kreg::CancelToken cancel;
  cancel.request();
  EXPECT_THROW(kreg::cross_validate_model<double>(p.X, p.y, splits, o, &cancel), kreg::Cancelled);
}

}  // namespace
