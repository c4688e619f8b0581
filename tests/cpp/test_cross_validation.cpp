// BandwidthCV (kreg/select.hpp): one-pass cross-validation of NW bandwidths
// against brute force - refit without point i, n times, for leave-one-out;
// refit per fold for k-fold; a plain fit for holdout - for every kernel, to
// 1e-10 relative in double. Then the scores against kreg's metrics (which
// match scikit-learn's), ranks, thread-count and task-order invariance of
// the bits, the errors, and Fashion-MNIST pixels at every bandwidth of the
// tutorial's grid (where its joblib search crashed with NaN).
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <random>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <vector>

#include "kreg/error.hpp"
#include "kreg/io/idx.hpp"
#include "kreg/metrics.hpp"
#include "kreg/nw.hpp"
#include "kreg/par.hpp"
#include "kreg/select.hpp"
#include "test_support.hpp"

namespace {

using kreg::BandwidthCV;
using kreg::BandwidthSet;
using kreg::CvOptions;
using kreg::CvSpec;
using kreg::index_t;
using kreg::Kernel;
using kreg::Matrix;
using kreg::Scoring;
using kreg::test::expect_error;

constexpr Kernel kKernels[] = {Kernel::gaussian, Kernel::epanechnikov, Kernel::tricube,
                               Kernel::uniform};

struct Problem {
  Matrix<double> X, Y;
};

// y_c = sin(x_0 + x_1) (1 + c) + 0.3 noise, x ~ N(0, 1) + shift; row 3
// duplicates row 2.
Problem make(index_t n, index_t d, index_t k, double shift, unsigned seed) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<double> normal;
  Problem p{Matrix<double>(n, d), Matrix<double>(n, k)};
  for (index_t i = 0; i < n; ++i) {
    for (index_t f = 0; f < d; ++f) p.X(i, f) = i == 3 ? p.X(2, f) : normal(rng) + shift;
    const double s = std::sin(p.X(i, 0) - shift + (d > 1 ? p.X(i, 1) - shift : 0.0));
    for (index_t c = 0; c < k; ++c)
      p.Y(i, c) = s * (1.0 + static_cast<double>(c)) + 0.3 * normal(rng);
  }
  return p;
}

Matrix<double> rows_of(const Matrix<double>& m, const std::vector<index_t>& rows) {
  return kreg::take_rows<double>(m, rows);
}

// Brute force: fit on `train`, predict `test`, bandwidth h (scalar or per feature).
Matrix<double> fit_predict(const Problem& p, const std::vector<index_t>& train,
                           const Matrix<double>& Z, Kernel kernel, std::vector<double> h) {
  kreg::NadarayaWatson<double> model({kernel, std::move(h), kreg::Engine::fused, 1});
  model.fit(rows_of(p.X, train), rows_of(p.Y, train));
  return model.predict(Z);
}

void expect_rel_near(double a, double b, double rtol, const std::string& what) {
  EXPECT_LE(std::abs(a - b), rtol * std::max(1.0, std::abs(b))) << what << ": " << a << " vs " << b;
}

const std::vector<double> kGrid = {0.05, 0.2, 0.5, 1.0, 3.0, 30.0};

TEST(CrossValidation, LeaveOneOutEqualsBruteForce) {
  const Problem p = make(80, 3, 2, 0.0, 1);
  const index_t n = p.X.rows();
  for (const Kernel kernel : kKernels) {
    SCOPED_TRACE(kreg::to_string(kernel));
    CvOptions options;
    options.kernel = kernel;
    options.cv.kind = CvSpec::Kind::loo;
    options.scoring = Scoring::mse;
    const BandwidthCV<double> cv(p.X, p.Y, {}, options);
    const BandwidthSet grid{{}, kGrid};
    const Matrix<double> pred = cv.predict(grid);
    const auto scores = cv.score(grid);
    const auto B = static_cast<index_t>(kGrid.size());
    for (index_t b = 0; b < B; ++b) {
      double sse = 0;
      for (index_t i = 0; i < n; ++i) {
        std::vector<index_t> train;
        for (index_t j = 0; j < n; ++j) {
          if (j != i) train.push_back(j);
        }
        const auto ref = fit_predict(p, train, rows_of(p.X, {i}), kernel, {kGrid[b]});
        for (index_t c = 0; c < 2; ++c) {
          expect_rel_near(pred(i, c * B + b), ref(0, c), 1e-10, "loo prediction");
          sse += (ref(0, c) - p.Y(i, c)) * (ref(0, c) - p.Y(i, c));
        }
      }
      expect_rel_near(scores.mean[b], sse / static_cast<double>(2 * n), 1e-10, "loo mse");
    }
  }
}

TEST(CrossValidation, PerFeatureBandwidthLeaveOneOut) {
  const Problem p = make(60, 3, 1, 0.0, 2);
  CvOptions options;
  options.cv.kind = CvSpec::Kind::loo;
  const BandwidthCV<double> cv(p.X, p.Y, {}, options);
  const std::vector<double> h = {0.3, 2.0, 0.9};
  const Matrix<double> pred = cv.predict({h, {1.0}});
  for (index_t i = 0; i < p.X.rows(); ++i) {
    std::vector<index_t> train;
    for (index_t j = 0; j < p.X.rows(); ++j) {
      if (j != i) train.push_back(j);
    }
    const auto ref = fit_predict(p, train, rows_of(p.X, {i}), Kernel::gaussian, h);
    expect_rel_near(pred(i, 0), ref(0, 0), 1e-10, "per-feature loo");
  }
}

TEST(CrossValidation, KFoldEqualsBruteForce) {
  const Problem p = make(97, 2, 1, 0.0, 3);
  for (const Kernel kernel : kKernels) {
    for (const Scoring scoring : {Scoring::r2, Scoring::mse, Scoring::mae}) {
      SCOPED_TRACE(testing::Message()
                   << kreg::to_string(kernel) << " " << kreg::to_string(scoring));
      CvOptions options;
      options.kernel = kernel;
      options.cv.kind = CvSpec::Kind::kfold;
      options.cv.folds = 4;
      options.cv.seed = 7;
      options.scoring = scoring;
      const BandwidthCV<double> cv(p.X, p.Y, {}, options);
      const auto scores = cv.score({{}, kGrid});
      const auto splits = kreg::kfold(p.X.rows(), 4, true, 7);
      for (std::size_t b = 0; b < kGrid.size(); ++b) {
        double mean = 0;
        for (std::size_t s = 0; s < splits.size(); ++s) {
          const auto pred =
              fit_predict(p, splits[s].train, rows_of(p.X, splits[s].test), kernel, {kGrid[b]});
          const auto truth = rows_of(p.Y, splits[s].test);
          const std::span<const double> yt(truth.data(), static_cast<std::size_t>(truth.rows()));
          const std::span<const double> yp(pred.data(), static_cast<std::size_t>(pred.rows()));
          const double want = scoring == Scoring::r2    ? kreg::r2_score(yt, yp)
                              : scoring == Scoring::mse ? kreg::mean_squared_error(yt, yp)
                                                        : kreg::mean_absolute_error(yt, yp);
          expect_rel_near(scores.splits[b][s], want, 1e-10, "fold score");
          mean += want;
        }
        expect_rel_near(scores.mean[b], mean / 4.0, 1e-10, "mean score");
      }
    }
  }
}

TEST(CrossValidation, HoldoutEqualsFitPredict) {
  const Problem train = make(300, 4, 1, 5e5, 4);
  const Problem test = make(70, 4, 1, 5e5, 5);
  CvOptions options;
  options.cv.kind = CvSpec::Kind::holdout;
  const BandwidthCV<double> cv(train.X, train.Y, {}, options, test.X, test.Y);
  const auto scores = cv.score({{}, kGrid});
  std::vector<index_t> all(300);
  for (index_t i = 0; i < 300; ++i) all[i] = i;
  for (std::size_t b = 0; b < kGrid.size(); ++b) {
    const auto pred = fit_predict(train, all, test.X, Kernel::gaussian, {kGrid[b]});
    const double want = kreg::r2_score(std::span<const double>(test.Y.data(), 70),
                                       std::span<const double>(pred.data(), 70));
    expect_rel_near(scores.mean[b], want, 1e-10, "holdout r2");
  }
  // Ranks: 1 for the best mean, and best points at it.
  EXPECT_EQ(scores.rank[static_cast<std::size_t>(scores.best)], 1);
  for (std::size_t b = 0; b < kGrid.size(); ++b) {
    EXPECT_LE(scores.mean[b], scores.mean[static_cast<std::size_t>(scores.best)]);
  }
}

// The same bits for any n_jobs, and for tasks run in any order.
TEST(CrossValidation, BitsIndependentOfThreadsAndTaskOrder) {
  const Problem p = make(700, 3, 2, 0.0, 6);
  const BandwidthSet grid{{}, kGrid};
  std::vector<double> first;
  for (const int jobs : {1, 2, 3, 8}) {
    CvOptions options;
    options.cv.kind = CvSpec::Kind::loo;
    options.n_jobs = jobs;
    const BandwidthCV<double> cv(p.X, p.Y, {}, options);
    const auto scores = cv.score(grid);
    if (first.empty()) {
      first = scores.mean;
    } else {
      EXPECT_EQ(0, std::memcmp(first.data(), scores.mean.data(), sizeof(double) * first.size()))
          << "n_jobs = " << jobs;
    }
  }
  CvOptions options;
  options.cv.kind = CvSpec::Kind::loo;
  const BandwidthCV<double> cv(p.X, p.Y, {}, options);
  const auto tasks = cv.plan(static_cast<index_t>(kGrid.size()));
  ASSERT_GT(tasks.size(), 0u);
  std::vector<kreg::CvPartial> partials(tasks.size());
  for (std::size_t t = tasks.size(); t-- > 0;) partials[t] = cv.run(grid, tasks[t]);
  const auto scores = cv.combine(grid, tasks, partials);
  EXPECT_EQ(0, std::memcmp(first.data(), scores.mean.data(), sizeof(double) * first.size()));
}

TEST(CrossValidation, PlanCoversEverySplitOnce) {
  const Problem p = make(5000, 10, 1, 0.0, 7);
  CvOptions options;
  options.cv.kind = CvSpec::Kind::kfold;
  options.cv.folds = 3;
  const BandwidthCV<double> cv(p.X, p.Y, {}, options);
  const auto tasks = cv.plan(300);
  std::vector<index_t> covered(3, 0);
  index_t last_split = 0;
  for (const auto& t : tasks) {
    EXPECT_GE(t.split, last_split);  // split order
    last_split = t.split;
    EXPECT_LT(t.begin, t.end);
    covered[t.split] += t.end - t.begin;
  }
  EXPECT_GT(tasks.size(), 3u);  // 5000^2 x 300 bandwidths is more than one task a split
  const auto splits = kreg::kfold(5000, 3, true, 0);
  for (index_t s = 0; s < 3; ++s)
    EXPECT_EQ(covered[s], static_cast<index_t>(splits[s].test.size()));
}

// A grid so large that a few queries at all of its bandwidths would be more
// than a task's work is cut into bandwidth blocks: every (query, bandwidth)
// pair of every split is planned exactly once, and no task's work grows with
// the grid.
TEST(CrossValidation, LargeGridIsCutIntoBandwidthBlocks) {
  const Problem p = make(400, 3, 1, 0.0, 9);
  CvOptions options;
  options.cv.kind = CvSpec::Kind::kfold;
  options.cv.folds = 4;
  const BandwidthCV<double> cv(p.X, p.Y, {}, options);
  const auto splits = kreg::kfold(400, 4, true, 0);
  for (const index_t B : {index_t{25}, index_t{1000000}}) {
    const auto tasks = cv.plan(B);
    std::vector<index_t> covered(4, 0);
    double largest = 0;
    for (const auto& t : tasks) {
      ASSERT_LT(t.begin, t.end);
      ASSERT_LT(t.b_begin, t.b_end);
      ASSERT_LE(t.b_end, B);
      covered[t.split] += (t.end - t.begin) * (t.b_end - t.b_begin);
      // pairs x (d + 4 B (k + 1)): the plan's own measure of work
      largest = std::max(largest, static_cast<double>(t.end - t.begin) * 300.0 *
                                      static_cast<double>(3 + 8 * (t.b_end - t.b_begin)));
      if (B == 25) {
        EXPECT_TRUE(t.b_begin == 0 && t.b_end == 25);  // small grids: one block
      }
    }
    for (index_t s = 0; s < 4; ++s) {
      EXPECT_EQ(covered[s], static_cast<index_t>(splits[s].test.size()) * B) << "B = " << B;
    }
    EXPECT_LE(largest, 4e9) << "B = " << B;  // about a tenth of a second, whatever the grid
  }
}

// Bandwidth blocks combine to the scores of one block, within rounding (the
// grid engine may share work between the bandwidths of one call).
TEST(CrossValidation, BandwidthBlocksCombineLikeOneBlock) {
  const Problem p = make(300, 2, 2, 0.0, 10);
  const BandwidthSet grid{{}, kGrid};
  const auto B = static_cast<index_t>(kGrid.size());
  for (const auto kind : {CvSpec::Kind::loo, CvSpec::Kind::kfold}) {
    CvOptions options;
    options.cv.kind = kind;
    options.cv.folds = 3;
    const BandwidthCV<double> cv(p.X, p.Y, {}, options);
    const auto whole = cv.score(grid);
    std::vector<kreg::CvTask> tasks;
    for (const auto& t : cv.plan(B)) {
      tasks.push_back({t.split, t.begin, t.end, 0, 2});
      tasks.push_back({t.split, t.begin, t.end, 2, 5});
      tasks.push_back({t.split, t.begin, t.end, 5, B});
    }
    std::vector<kreg::CvPartial> partials;
    for (const auto& t : tasks) partials.push_back(cv.run(grid, t));
    const auto blocked = cv.combine(grid, tasks, partials);
    ASSERT_EQ(blocked.mean.size(), whole.mean.size());
    for (std::size_t b = 0; b < kGrid.size(); ++b) {
      expect_rel_near(blocked.mean[b], whole.mean[b], 1e-12, "bandwidth " + std::to_string(b));
      EXPECT_EQ(blocked.isolated[b], whole.isolated[b]);
      EXPECT_EQ(blocked.rank[b], whole.rank[b]);
    }
    EXPECT_EQ(blocked.best, whole.best);
    // A task outside the grid is refused, not read out of bounds.
    EXPECT_THROW(cv.run(grid, {0, 0, 1, 4, B + 1}), kreg::ArgumentError);
    EXPECT_THROW(cv.run(grid, {0, 0, 1 << 20, 0, B}), kreg::ArgumentError);
  }
}

TEST(CrossValidation, TiesShareTheLowestRank) {
  // The same bandwidth twice: equal scores.
  const Problem p = make(50, 2, 1, 0.0, 8);
  CvOptions options;
  options.cv.kind = CvSpec::Kind::kfold;
  options.cv.folds = 5;
  const BandwidthCV<double> cv(p.X, p.Y, {}, options);
  const auto scores = cv.score({{}, {1e8, 1e8, 0.5}});
  EXPECT_EQ(scores.mean[0], scores.mean[1]);
  EXPECT_EQ(scores.rank[0], scores.rank[1]);
  EXPECT_EQ(scores.rank[2], 1);  // h = 0.5 beats the constant
  EXPECT_EQ(scores.rank[0], 2);
  EXPECT_EQ(scores.best, 2);
}

TEST(CrossValidation, ConstantTargetScoresLikeScikitLearn) {
  // scikit-learn's r2_score with a constant y_true (force_finite): 1 when the
  // predictions are exact, else 0 - never NaN or -inf.
  Problem p = make(40, 2, 1, 0.0, 9);
  for (index_t i = 0; i < 40; ++i) p.Y(i, 0) = 0.0;  // sums of w * 0 are exactly 0
  CvOptions options;
  options.cv.kind = CvSpec::Kind::loo;
  EXPECT_EQ(BandwidthCV<double>(p.X, p.Y, {}, options).score({{}, {0.5}}).mean[0], 1.0);
  for (index_t i = 0; i < 40; ++i) p.Y(i, 0) = i < 20 ? 0.0 : 1.0;
  options.cv.kind = CvSpec::Kind::kfold;
  options.cv.folds = 2;
  options.cv.shuffle = false;  // fold 0 = rows 0-19 (all 0), predicted from rows 20-39 (all 1)
  const auto scores = BandwidthCV<double>(p.X, p.Y, {}, options).score({{}, {0.5}});
  EXPECT_EQ(scores.splits[0][0], 0.0);
  EXPECT_EQ(scores.splits[0][1], 0.0);
}

// ---------------------------------------------------------------------------
// Undefined scores: R^2 of a split with fewer than 2 test points.

TEST(CrossValidation, R2OnOnePointFoldsIsRefusedBeforeAnyWork) {
  // Leave-one-out as k-fold (cv = n) scored every bandwidth R^2 = 0 and
  // called an arbitrary one best. scikit-learn scores such a split NaN; kreg
  // refuses the search when it is made, saying why and what to use instead.
  const Problem p = make(6, 2, 1, 0.0, 21);
  CvOptions options;
  options.cv.kind = CvSpec::Kind::kfold;
  options.cv.folds = 6;
  expect_error<kreg::ArgumentError>(
      [&] { BandwidthCV<double>(p.X, p.Y, {}, options); },
      "cv = 6 folds of 6 training points leaves a fold of 1 point; R^2 of fewer than 2 points is "
      "undefined (scikit-learn gives NaN), so every bandwidth would score NaN and none could be "
      "called best. Use at most 3 folds, cv = loo (its R^2 pools every point's out-of-sample "
      "prediction), or scoring mse or mae");
  // Some folds of one point (5 rows in 4 folds: 2, 1, 1, 1) are as undefined.
  options.cv.folds = 4;
  expect_error<kreg::ArgumentError>(
      [&] {
        BandwidthCV<double>(rows_of(p.X, {0, 1, 2, 3, 4}), rows_of(p.Y, {0, 1, 2, 3, 4}), {},
                            options);
      },
      "cv = 4 folds of 5 training points leaves a fold of 1 point; R^2 of fewer than 2 points is "
      "undefined (scikit-learn gives NaN), so every bandwidth would score NaN and none could be "
      "called best. Use at most 2 folds, cv = loo (its R^2 pools every point's out-of-sample "
      "prediction), or scoring mse or mae");
  // A holdout test set of one point.
  CvOptions hold;
  hold.cv.kind = CvSpec::Kind::holdout;
  expect_error<kreg::ArgumentError>(
      [&] { BandwidthCV<double>(p.X, p.Y, {}, hold, rows_of(p.X, {0}), rows_of(p.Y, {0})); },
      "the holdout test set has 1 point; R^2 of fewer than 2 points is undefined (scikit-learn "
      "gives NaN), so every bandwidth would score NaN and none could be called best. Give a test "
      "set of at least 2 points, or score by mse or mae");
  // MSE and MAE are defined on one point; leave-one-out's R^2 pools all n;
  // 3 folds of 6 points hold 2 each.
  const BandwidthSet set{{}, {0.3, 1.0}};
  options.cv.folds = 6;
  for (const Scoring scoring : {Scoring::mse, Scoring::mae}) {
    options.scoring = scoring;
    const auto scores = BandwidthCV<double>(p.X, p.Y, {}, options).score(set);
    for (const double m : scores.mean) EXPECT_TRUE(std::isfinite(m));
  }
  CvOptions loo;
  loo.cv.kind = CvSpec::Kind::loo;
  for (const double m : BandwidthCV<double>(p.X, p.Y, {}, loo).score(set).mean) {
    EXPECT_TRUE(std::isfinite(m));
  }
  CvOptions three;
  three.cv.folds = 3;
  for (const double m : BandwidthCV<double>(p.X, p.Y, {}, three).score(set).mean) {
    EXPECT_TRUE(std::isfinite(m));
  }
}

// ---------------------------------------------------------------------------
// Targets and sample weights near the largest value: the engines' sums and
// the squared errors are scaled by powers of two, so the out-of-fold
// predictions and scores are finite, and equal (bit for bit: the scaling is
// exact) to those of the same data in the ordinary range, scaled back.

template <class T>
struct WideCv {
  Matrix<T> X, Y, X_test, Y_test;
  std::vector<T> w;
};
template <class T>
WideCv<T> wide_cv(index_t n) {
  std::mt19937_64 rng(23);
  std::normal_distribution<double> normal;
  std::uniform_real_distribution<double> unit(-1.0, 1.0), weight(0.5, 2.0);
  WideCv<T> p{Matrix<T>(n, 2), Matrix<T>(n, 2), Matrix<T>(n / 3, 2), Matrix<T>(n / 3, 2), {}};
  for (auto* m : {&p.X, &p.X_test}) {
    for (index_t i = 0; i < m->size(); ++i) m->data()[i] = static_cast<T>(normal(rng));
  }
  for (auto* m : {&p.Y, &p.Y_test}) {
    for (index_t i = 0; i < m->size(); ++i) m->data()[i] = static_cast<T>(unit(rng));
  }
  for (index_t i = 0; i < n; ++i) p.w.push_back(static_cast<T>(weight(rng)));
  return p;
}
template <class T>
Matrix<T> scaled(const Matrix<T>& m, int e) {
  Matrix<T> out(m.rows(), m.cols());
  for (index_t i = 0; i < m.size(); ++i) out.data()[i] = std::ldexp(m.data()[i], e);
  return out;
}

struct CvCase {
  const char* name;
  CvSpec::Kind kind;
  std::vector<double> grid;
  Kernel kernel;
};
const CvCase kWideCases[] = {
    {"5-fold grid", CvSpec::Kind::kfold, {0.2, 0.6, 5.0}, Kernel::gaussian},
    {"5-fold epanechnikov", CvSpec::Kind::kfold, {0.2, 0.6, 5.0}, Kernel::epanechnikov},
    {"loo one bandwidth", CvSpec::Kind::loo, {0.6}, Kernel::gaussian},
    {"loo grid", CvSpec::Kind::loo, {0.2, 0.6, 5.0}, Kernel::tricube},
    {"holdout", CvSpec::Kind::holdout, {0.2, 0.6, 5.0}, Kernel::uniform},
};

template <class T>
void check_wide_targets_and_weights() {
  constexpr int emax = std::numeric_limits<T>::max_exponent;
  const WideCv<T> p = wide_cv<T>(240);
  const int mid = emax / 3;  // ordinary: never scaled
  std::vector<T> w_big, w_one;
  for (const T w : p.w) {
    w_big.push_back(std::ldexp(static_cast<T>(w * T(0.495)), emax));
    w_one.push_back(static_cast<T>(w * T(0.495)));
  }
  for (const CvCase& c : kWideCases) {
    for (const Scoring scoring : {Scoring::r2, Scoring::mse, Scoring::mae}) {
      SCOPED_TRACE(fmt::format("{} {}", c.name, to_string(scoring)));
      CvOptions options;
      options.kernel = c.kernel;
      options.cv.kind = c.kind;
      options.scoring = scoring;
      options.n_jobs = 2;
      const bool holdout = c.kind == CvSpec::Kind::holdout;
      auto search = [&](int e, std::span<const T> w) {
        return BandwidthCV<T>(p.X, scaled(p.Y, e), w, options,
                              holdout ? p.X_test.view() : kreg::MatrixView<const T>{},
                              holdout ? scaled(p.Y_test, e).view() : kreg::MatrixView<const T>{});
      };
      const BandwidthSet set{{}, c.grid};
      // Targets near the largest value (2^(emax - 1)) against the same at 2^mid.
      const int big = emax - 1;
      const auto cv_big = search(big, {});
      const auto cv_mid = search(mid, {});
      const Matrix<T> pred_big = cv_big.predict(set), pred_mid = cv_mid.predict(set);
      for (index_t i = 0; i < pred_big.size(); ++i) {
        ASSERT_TRUE(std::isfinite(pred_big.data()[i])) << "element " << i;
        EXPECT_EQ(pred_big.data()[i], std::ldexp(pred_mid.data()[i], big - mid)) << "element " << i;
      }
      const bool mse_too_big = scoring == Scoring::mse && std::is_same_v<T, double>;
      if (mse_too_big) {
        // The true MSE (about 2^2044) is beyond double: refused, never inf.
        try {
          cv_big.score(set);
          ADD_FAILURE() << "no exception";
        } catch (const kreg::ArgumentError& e) {
          EXPECT_NE(std::string(e.what()).find("mean squared error of bandwidth"),
                    std::string::npos)
              << e.what();
          EXPECT_NE(std::string(e.what()).find("beyond the range of double"), std::string::npos);
        }
      } else {
        const auto s_big = cv_big.score(set), s_mid = cv_mid.score(set);
        const int unit = scoring == Scoring::r2    ? 0
                         : scoring == Scoring::mse ? 2 * (big - mid)
                                                   : big - mid;
        for (std::size_t b = 0; b < c.grid.size(); ++b) {
          ASSERT_TRUE(std::isfinite(s_big.mean[b]));
          // Split scores near double's largest are averaged divided first
          // (their sum would overflow): the mean and std may differ by an ulp.
          EXPECT_DOUBLE_EQ(s_big.mean[b], std::ldexp(s_mid.mean[b], unit)) << "bandwidth " << b;
          EXPECT_DOUBLE_EQ(s_big.std[b], std::ldexp(s_mid.std[b], unit)) << "bandwidth " << b;
          for (std::size_t s = 0; s < s_big.splits[b].size(); ++s) {
            EXPECT_EQ(s_big.splits[b][s], std::ldexp(s_mid.splits[b][s], unit)) << "split " << s;
          }
        }
        EXPECT_EQ(s_big.rank, s_mid.rank);
        EXPECT_EQ(s_big.best, s_mid.best);
      }
      // Weights near the largest value: the same as the weights at 1.
      const auto s_heavy = search(0, w_big).score(set), s_light = search(0, w_one).score(set);
      for (std::size_t b = 0; b < c.grid.size(); ++b) {
        ASSERT_TRUE(std::isfinite(s_heavy.mean[b]));
        EXPECT_EQ(s_heavy.mean[b], s_light.mean[b]) << "bandwidth " << b;
      }
      const Matrix<T> pred_heavy = search(0, w_big).predict(set);
      const Matrix<T> pred_light = search(0, w_one).predict(set);
      for (index_t i = 0; i < pred_heavy.size(); ++i) {
        ASSERT_TRUE(std::isfinite(pred_heavy.data()[i])) << "element " << i;
        EXPECT_EQ(pred_heavy.data()[i], pred_light.data()[i]) << "element " << i;
      }
    }
  }
}

TEST(CrossValidation, TargetsAndWeightsNearTheLargestDouble) {
  check_wide_targets_and_weights<double>();
}
TEST(CrossValidation, TargetsAndWeightsNearTheLargestFloat) {
  check_wide_targets_and_weights<float>();
}

// Errors whose squares (and their sums) overflow double although the MSE
// itself does not (y near 2^512): summed in a scaled unit, the MSE is finite.
TEST(CrossValidation, SquaredErrorsBeyondDoubleStillScore) {
  const WideCv<double> p = wide_cv<double>(240);
  CvOptions options;
  options.cv.kind = CvSpec::Kind::kfold;
  options.scoring = Scoring::mse;
  const BandwidthSet set{{}, {0.2, 0.6, 5.0}};
  const auto big = BandwidthCV<double>(p.X, scaled(p.Y, 512), {}, options).score(set);
  const auto mid = BandwidthCV<double>(p.X, scaled(p.Y, 300), {}, options).score(set);
  for (std::size_t b = 0; b < 3; ++b) {
    ASSERT_TRUE(std::isfinite(big.mean[b]));
    EXPECT_DOUBLE_EQ(big.mean[b], std::ldexp(mid.mean[b], 2 * 212));
    EXPECT_DOUBLE_EQ(big.std[b], std::ldexp(mid.std[b], 2 * 212));
    for (std::size_t s = 0; s < big.splits[b].size(); ++s) {
      EXPECT_EQ(big.splits[b][s], std::ldexp(mid.splits[b][s], 2 * 212));
    }
  }
}

TEST(CrossValidation, CancelThrowsCancelled) {
  const Problem p = make(100, 2, 1, 0.0, 10);
  CvOptions options;
  options.cv.kind = CvSpec::Kind::loo;
  const BandwidthCV<double> cv(p.X, p.Y, {}, options);
  kreg::CancelToken token;
  token.request();
  EXPECT_THROW(cv.score({{}, {0.5}}, &token), kreg::Cancelled);
}

TEST(CrossValidation, BadInputIsAClearError) {
  const Problem p = make(10, 2, 1, 0.0, 11);
  CvOptions loo;
  loo.cv.kind = CvSpec::Kind::loo;
  const BandwidthCV<double> cv(p.X, p.Y, {}, loo);
  expect_error<kreg::ArgumentError>(
      [&] {
        cv.score({{}, {}});
      },
      "no bandwidths to score; give at least one");
  expect_error<kreg::ArgumentError>(
      [&] {
        cv.score({{}, {0.5, -1.0}});
      },
      "bandwidth[1] must be a finite number > 0, got -1");
  expect_error<kreg::ArgumentError>(
      [&] {
        cv.score({{}, {NAN}});
      },
      "bandwidth[0] must be a finite number > 0, got nan");
  expect_error<kreg::ArgumentError>(
      [&] {
        cv.score({{1.0, 2.0, 3.0}, {1.0}});
      },
      "per-feature bandwidth has 3 values but the data has 2 features");

  CvOptions kf;
  kf.cv.kind = CvSpec::Kind::kfold;
  kf.cv.folds = 11;
  expect_error<kreg::ArgumentError>(
      [&] { BandwidthCV<double>(p.X, p.Y, {}, kf); },
      "cv = 11 folds but only 10 training points; use at most 10 folds (or loo)");
  kf.cv.folds = 1;
  expect_error<kreg::ArgumentError>([&] { BandwidthCV<double>(p.X, p.Y, {}, kf); },
                                    "cv = 1 folds is too few; k-fold needs at least 2");
  expect_error<kreg::ArgumentError>(
      [&] { BandwidthCV<double>(rows_of(p.X, {0}), rows_of(p.Y, {0}), {}, loo); },
      "leave-one-out needs at least 2 training points, got 1");
  CvOptions hold;
  hold.cv.kind = CvSpec::Kind::holdout;
  expect_error<kreg::ArgumentError>(
      [&] { BandwidthCV<double>(p.X, p.Y, {}, hold); },
      "holdout scoring needs a test set (X_test, Y_test); none was given");
  expect_error<kreg::ArgumentError>(
      [&] { BandwidthCV<double>(p.X, p.Y, {}, loo, p.X, p.Y); },
      "a test set was given but cv is loo; a test set is only used with holdout");
  Matrix<double> bad = p.X;
  bad(4, 1) = NAN;
  expect_error<kreg::ArgumentError>(
      [&] { BandwidthCV<double>(bad, p.Y, {}, loo); },
      "X[4, 1] is NaN; kreg needs finite values (drop or impute the row first)");
  loo.n_jobs = 0;
  expect_error<kreg::ArgumentError>(
      [&] { BandwidthCV<double>(p.X, p.Y, {}, loo); },
      "n_jobs = 0 is not valid; use a positive thread count, -1 for all cores or -2 for all but "
      "one");
  loo.n_jobs = 10'000'000;  // crashed in oneTBB's arena
  expect_error<kreg::ArgumentError>(
      [&] { BandwidthCV<double>(p.X, p.Y, {}, loo); },
      fmt::format("n_jobs = 10000000 is more threads than kreg starts (at most {}: 1024 or the "
                  "core count, whichever is larger); use -1 for all cores, or a count from 1 to {}",
                  kreg::max_n_jobs(), kreg::max_n_jobs()));

  expect_error<kreg::ArgumentError>(
      [] { kreg::parse_cv("five"); },
      "cv 'five' is not understood; give loo, holdout or a fold count such as 5");
  expect_error<kreg::ArgumentError>([] { kreg::parse_cv("1"); },
                                    "cv = 1 folds is too few; k-fold needs at least 2");
  expect_error<kreg::ArgumentError>(
      [] { kreg::parse_scoring("accuracy"); },
      "unknown scoring 'accuracy'; choose r2, mse (neg_mean_squared_error) or mae "
      "(neg_mean_absolute_error)");
  EXPECT_EQ(kreg::parse_cv("loo").kind, CvSpec::Kind::loo);
  EXPECT_EQ(kreg::parse_cv("7").folds, 7);
  EXPECT_EQ(kreg::parse_scoring("neg_mean_squared_error"), Scoring::mse);
}

// The tutorial's grid search crashed with NaN on image data. Fashion-MNIST
// pixels (0-255, d = 784), 400 images, one-hot labels: every score finite at
// every bandwidth of logspace(-1, 3, 30), and at 1e-8 and 1e8, in both types.
TEST(CrossValidation, FashionMnistPixelsNeverNaN) {
  const std::string dir = "/usr/share/datasets/fashion-mnist/";
  if (!std::filesystem::exists(dir + "t10k-images-idx3-ubyte.gz")) {
    GTEST_SKIP() << "Fashion-MNIST not installed (apt-get install dataset-fashion-mnist)";
  }
  const auto images = kreg::io::read_idx<double>(dir + "t10k-images-idx3-ubyte.gz");
  const auto labels = kreg::io::read_idx<double>(dir + "t10k-labels-idx1-ubyte.gz");
  std::vector<index_t> rows;
  for (index_t i = 0; i < 400; ++i) rows.push_back(i);
  const auto X = kreg::take_rows<double>(images, rows);
  Matrix<double> Y(400, 10);
  for (index_t i = 0; i < 400; ++i) Y(i, static_cast<index_t>(labels(i, 0))) = 1.0;
  std::vector<double> grid = {1e-8, 1e8};
  for (int i = 0; i < 30; ++i) grid.push_back(std::pow(10.0, -1.0 + 4.0 * i / 29.0));
  for (const Kernel kernel : {Kernel::gaussian, Kernel::epanechnikov}) {
    CvOptions options;
    options.kernel = kernel;
    options.cv.kind = CvSpec::Kind::loo;
    const auto check = [&](const auto& scores) {
      for (std::size_t b = 0; b < grid.size(); ++b) {
        ASSERT_TRUE(std::isfinite(scores.mean[b])) << "h = " << grid[b];
      }
    };
    check(BandwidthCV<double>(X, Y, {}, options).score({{}, grid}));
    check(BandwidthCV<float>(Matrix<float>::from(X.view()), Matrix<float>::from(Y.view()), {},
                             options)
              .score({{}, grid}));
  }
}

TEST(ForEachSplit, RunsEverySplitAndRethrowsTheFirstError) {
  std::vector<int> seen(10, 0);
  kreg::for_each_split(10, 3, [&](index_t s) { seen[s] += 1; });
  for (const int v : seen) EXPECT_EQ(v, 1);
  std::atomic<int> calls{0};
  try {
    kreg::for_each_split(10, 1, [&](index_t s) {
      ++calls;
      if (s == 4 || s == 6) throw std::runtime_error("split " + std::to_string(s));
    });
    FAIL() << "no exception";
  } catch (const std::runtime_error& e) {
    EXPECT_STREQ(e.what(), "split 4");
  }
  EXPECT_EQ(calls.load(), 5);  // serial: splits after the failure are skipped
  // Thrown types come through unwrapped (a CLI maps ArgumentError to exit 2).
  expect_error<kreg::ArgumentError>(
      [] { kreg::for_each_split(4, 2, [](index_t) { throw kreg::ArgumentError("bad fold"); }); },
      "bad fold");
  // A cancelled token stops it before any split starts.
  kreg::CancelToken token;
  token.request();
  std::atomic<int> started{0};
  EXPECT_THROW(kreg::for_each_split(
                   8, 2, [&](index_t) { ++started; }, &token),
               kreg::Cancelled);
  EXPECT_EQ(started.load(), 0);
  expect_error<kreg::ArgumentError>([] { kreg::for_each_split(3, 0, [](index_t) {}); },
                                    "n_jobs = 0 is not valid; use a positive thread count, -1 "
                                    "for all cores or -2 for all but one");
  EXPECT_THROW(kreg::for_each_split(3, 10'000'000, [](index_t) {}), kreg::ArgumentError);
}

}  // namespace
