// The tune workflow (kreg/tune.hpp): its plan is deterministic and does not
// depend on n_jobs; tasks run in any order (and on other threads) and
// combined in plan order give the bits of one call; a run resumed with some
// tasks and optimiser evaluations supplied by the hooks gives the bits of an
// uninterrupted one and computes only the rest; the hooks see the phases;
// and the errors it owns.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <map>
#include <optional>
#include <random>
#include <span>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "kreg/bandwidth.hpp"
#include "kreg/error.hpp"
#include "kreg/interrupt.hpp"
#include "kreg/select.hpp"
#include "kreg/tune.hpp"
#include "test_support.hpp"

namespace {

using kreg::CvOptions;
using kreg::CvPartial;
using kreg::CvScores;
using kreg::CvSpec;
using kreg::CvTask;
using kreg::index_t;
using kreg::Matrix;
using kreg::Scoring;
using kreg::TuneHooks;
using kreg::TuneOptimizer;
using kreg::TuneOptions;
using kreg::Tuner;
using kreg::TuneResult;
using kreg::test::expect_error;

struct Problem {
  Matrix<double> X, Y;
};

// y = sin(x_0) + x_1 / 4 + 0.2 noise; a third feature that is pure noise.
Problem make(index_t n, unsigned seed) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<double> normal;
  Problem p{Matrix<double>(n, 3), Matrix<double>(n, 1)};
  for (index_t i = 0; i < n; ++i) {
    for (index_t f = 0; f < 3; ++f) p.X(i, f) = normal(rng);
    p.Y(i, 0) = std::sin(p.X(i, 0)) + p.X(i, 1) / 4 + 0.2 * normal(rng);
  }
  return p;
}

CvOptions cv_options(int n_jobs, int folds = 4) {
  CvOptions o;
  o.cv.kind = CvSpec::Kind::kfold;
  o.cv.folds = folds;
  o.cv.seed = 7;
  o.n_jobs = n_jobs;
  o.scoring = Scoring::r2;
  return o;
}

TuneOptions grid_options(TuneOptimizer optimizer = TuneOptimizer::none) {
  TuneOptions t;
  for (int b = 0; b < 9; ++b) t.bandwidths.push_back(0.05 * std::pow(2.0, b));
  t.optimizer = optimizer;
  t.starts = 2;
  t.seed = 3;
  return t;
}

std::string fmt_phase(std::string_view phase, std::int64_t total, std::int64_t done) {
  return std::string(phase) + " " + std::to_string(total) + " " + std::to_string(done);
}

bool same_bits(double a, double b) { return std::memcmp(&a, &b, sizeof a) == 0; }

void expect_same_scores(const CvScores& a, const CvScores& b) {
  ASSERT_EQ(a.h.size(), b.h.size());
  ASSERT_EQ(a.splits.size(), b.splits.size());
  for (std::size_t i = 0; i < a.h.size(); ++i) {
    EXPECT_TRUE(same_bits(a.mean[i], b.mean[i])) << "bandwidth " << i;
    EXPECT_TRUE(same_bits(a.std[i], b.std[i])) << "bandwidth " << i;
    ASSERT_EQ(a.splits[i].size(), b.splits[i].size());
    for (std::size_t s = 0; s < a.splits[i].size(); ++s) {
      EXPECT_TRUE(same_bits(a.splits[i][s], b.splits[i][s])) << i << ", split " << s;
    }
  }
  EXPECT_EQ(a.rank, b.rank);
  EXPECT_EQ(a.isolated, b.isolated);
  EXPECT_EQ(a.best, b.best);
}

void expect_same_result(const TuneResult& a, const TuneResult& b) {
  expect_same_scores(a.scores, b.scores);
  ASSERT_EQ(a.optimum.has_value(), b.optimum.has_value());
  if (!a.optimum) return;
  ASSERT_EQ(a.optimum->bandwidth.size(), b.optimum->bandwidth.size());
  for (std::size_t f = 0; f < a.optimum->bandwidth.size(); ++f) {
    EXPECT_TRUE(same_bits(a.optimum->bandwidth[f], b.optimum->bandwidth[f])) << "feature " << f;
  }
  EXPECT_TRUE(same_bits(a.optimum->score, b.optimum->score));
  EXPECT_EQ(a.optimum->evaluations, b.optimum->evaluations);
  EXPECT_EQ(a.optimum->at_upper, b.optimum->at_upper);
}

bool same_task(const CvTask& a, const CvTask& b) {
  return a.split == b.split && a.begin == b.begin && a.end == b.end && a.b_begin == b.b_begin &&
         a.b_end == b.b_end;
}

TEST(Tune, PlanIsDeterministicAndIndependentOfJobs) {
  const Problem p = make(300, 11);
  const Tuner<double> one(p.X, p.Y, {}, cv_options(1), grid_options());
  ASSERT_GE(one.plan().size(), 4u);  // one task per fold at least
  for (const int jobs : {1, 2, 4, -1}) {
    const Tuner<double> other(p.X, p.Y, {}, cv_options(jobs), grid_options());
    ASSERT_EQ(other.plan().size(), one.plan().size()) << jobs << " jobs";
    for (std::size_t i = 0; i < one.plan().size(); ++i) {
      EXPECT_TRUE(same_task(other.plan()[i], one.plan()[i])) << jobs << " jobs, task " << i;
    }
  }
}

TEST(Tune, TasksInAnyOrderCombinedInPlanOrderGiveTheBitsOfOneCall) {
  const Problem p = make(300, 12);
  const Tuner<double> tuner(p.X, p.Y, {}, cv_options(2), grid_options());
  const CvScores whole = tuner.run_grid();
  // The same as BandwidthCV's own plan + run + combine.
  expect_same_scores(whole, tuner.search().score({{}, tuner.grid()}));
  // Backwards, each task on a thread of its own (as another process would).
  const std::size_t count = tuner.plan().size();
  std::vector<CvPartial> parts(count);
  for (std::size_t j = 0; j < count; ++j) {
    const std::size_t i = count - 1 - j;
    std::thread([&, i] { parts[i] = tuner.run_task(i); }).join();
  }
  expect_same_scores(tuner.combine(parts), whole);
  // And on one thread per task instead of two.
  const Tuner<double> single(p.X, p.Y, {}, cv_options(1), grid_options());
  expect_same_scores(single.run_grid(), whole);
}

TEST(Tune, ResumedTasksAndEvaluationsGiveTheBitsOfAnUninterruptedRun) {
  const Problem p = make(200, 13);
  for (const TuneOptimizer optimizer : {TuneOptimizer::scalar, TuneOptimizer::per_feature}) {
    SCOPED_TRACE(std::string(kreg::to_string(optimizer)));
    const Tuner<double> tuner(p.X, p.Y, {}, cv_options(2), grid_options(optimizer));
    std::map<std::size_t, CvPartial> recorded_tasks;
    std::vector<std::pair<std::vector<double>, double>> recorded_evals;
    TuneHooks record;
    record.task_done = [&](std::size_t i, const CvTask&, const CvPartial& part) {
      recorded_tasks[i] = part;
    };
    record.evaluated = [&](std::span<const double> h, double score) {
      recorded_evals.emplace_back(std::vector<double>(h.begin(), h.end()), score);
    };
    const TuneResult first = tuner.run(record);
    ASSERT_EQ(recorded_tasks.size(), tuner.plan().size());
    ASSERT_GT(recorded_evals.size(), 4u);

    // A second run that finds every other task and the first half of the
    // evaluations already done computes only the rest, and ends the same.
    const std::size_t kept_evals = recorded_evals.size() / 2;
    std::vector<std::size_t> ran;
    std::size_t computed_evals = 0;
    TuneHooks resume;
    resume.resume = [&](std::size_t i, const CvTask&) -> std::optional<CvPartial> {
      if (i % 2 == 0) return recorded_tasks.at(i);
      return std::nullopt;
    };
    resume.task_done = [&](std::size_t i, const CvTask&, const CvPartial&) { ran.push_back(i); };
    resume.recorded_score = [&](std::span<const double> h) -> std::optional<double> {
      for (std::size_t e = 0; e < kept_evals; ++e) {
        const auto& [x, s] = recorded_evals[e];
        if (x.size() == h.size() && std::equal(x.begin(), x.end(), h.begin())) return s;
      }
      return std::nullopt;
    };
    resume.evaluated = [&](std::span<const double>, double) { ++computed_evals; };
    const Tuner<double> again(p.X, p.Y, {}, cv_options(1), grid_options(optimizer));
    const TuneResult second = again.run(resume);
    expect_same_result(second, first);
    for (const std::size_t i : ran) EXPECT_EQ(i % 2, 1u) << "task " << i << " ran again";
    EXPECT_EQ(ran.size(), tuner.plan().size() / 2);
    EXPECT_EQ(computed_evals, recorded_evals.size() - kept_evals);
  }
}

TEST(Tune, OptimiserImprovesOnTheGridAndPerFeatureFindsTheNoiseFeature) {
  const Problem p = make(300, 14);
  const Tuner<double> scalar(p.X, p.Y, {}, cv_options(-1), grid_options(TuneOptimizer::scalar));
  const TuneResult r = scalar.run();
  ASSERT_TRUE(r.optimum);
  EXPECT_EQ(r.optimum->method, TuneOptimizer::scalar);
  ASSERT_EQ(r.optimum->bandwidth.size(), 1u);
  // Brent starts at the grid's best, so it ends at least as good (r2: greater).
  EXPECT_GE(r.optimum->score, r.scores.mean[static_cast<std::size_t>(r.scores.best)]);
  EXPECT_EQ(r.chosen(), r.optimum->bandwidth);

  const Tuner<double> pf(p.X, p.Y, {}, cv_options(-1), grid_options(TuneOptimizer::per_feature));
  const TuneResult q = pf.run();
  ASSERT_TRUE(q.optimum);
  ASSERT_EQ(q.optimum->bandwidth.size(), 3u);
  EXPECT_GE(q.optimum->score, r.optimum->score - 1e-12);
  // Feature 2 does not predict y: its bandwidth is pushed to the upper bound.
  EXPECT_EQ(q.optimum->at_upper, (std::vector<bool>{false, false, true}));

  const Tuner<double> none(p.X, p.Y, {}, cv_options(-1), grid_options());
  const TuneResult g = none.run();
  EXPECT_FALSE(g.optimum);
  EXPECT_EQ(g.chosen(), std::vector<double>{g.scores.h[static_cast<std::size_t>(g.scores.best)]});
}

TEST(Tune, HooksSeeEachPhaseAndItsSteps) {
  const Problem p = make(120, 15);
  const Tuner<double> tuner(p.X, p.Y, {}, cv_options(1), grid_options(TuneOptimizer::scalar));
  std::vector<std::string> events;
  std::int64_t last_step = 0;
  TuneHooks hooks;
  hooks.resume = [](std::size_t, const CvTask&) -> std::optional<CvPartial> {
    return std::nullopt;
  };
  hooks.phase_begin = [&](std::string_view phase, std::int64_t total, std::int64_t done) {
    events.push_back(fmt_phase(phase, total, done));
  };
  hooks.step = [&](std::int64_t done) {
    EXPECT_EQ(done, last_step + 1);
    last_step = done;
  };
  hooks.phase_end = [&] {
    events.push_back("end " + std::to_string(last_step));
    last_step = 0;
  };
  const TuneResult r = tuner.run(hooks);
  ASSERT_EQ(events.size(), 4u);
  EXPECT_EQ(events[0], fmt_phase("grid", static_cast<std::int64_t>(tuner.plan().size()), 0));
  EXPECT_EQ(events[1], "end " + std::to_string(tuner.plan().size()));
  EXPECT_EQ(events[2], fmt_phase("optimize", 100, 0));
  EXPECT_EQ(events[3], "end " + std::to_string(r.optimum->evaluations));
}

TEST(Tune, DefaultGridIs25ValuesOverThreeDecadesAroundSilverman) {
  const Problem p = make(100, 16);
  TuneOptions t;
  const Tuner<double> tuner(p.X, p.Y, {}, cv_options(1), t);
  ASSERT_EQ(tuner.grid().size(), 25u);
  const auto rule = kreg::silverman_bandwidth(p.X.view());
  double centre = 0;
  for (const double h : rule) centre += std::log10(h) / 3;
  EXPECT_NEAR(std::log10(tuner.grid().front()), centre - 1.5, 1e-12);
  EXPECT_NEAR(std::log10(tuner.grid().back()), centre + 1.5, 1e-12);
  EXPECT_EQ(tuner.grid(), kreg::default_bandwidth_grid(p.X.view()));
}

TEST(Tune, Errors) {
  const Problem p = make(40, 17);
  TuneOptions t = grid_options(TuneOptimizer::per_feature);
  t.starts = 0;
  expect_error<kreg::ArgumentError>([&] { Tuner<double>(p.X, p.Y, {}, cv_options(1), t); },
                                    "--starts must be >= 1, got 0");
  t = grid_options(TuneOptimizer::scalar);
  t.scale = {1.0, 2.0, 3.0};
  expect_error<kreg::ArgumentError>(
      [&] { Tuner<double>(p.X, p.Y, {}, cv_options(1), t); },
      "the optimiser searches plain bandwidths; give no per-feature scale with it");
  t = grid_options();
  t.bandwidths[2] = -1;
  expect_error<kreg::ArgumentError>([&] { Tuner<double>(p.X, p.Y, {}, cv_options(1), t); },
                                    "bandwidth[2] must be a finite number > 0, got -1");
  t = grid_options();
  t.scale = {1.0, 2.0};
  expect_error<kreg::ArgumentError>(
      [&] { Tuner<double>(p.X, p.Y, {}, cv_options(1), t); },
      "per-feature bandwidth has 2 values but the data has 3 features");
  expect_error<kreg::ArgumentError>([] { kreg::parse_tune_optimizer("brent"); },
                                    "--optimize 'brent' is not understood; choose none, scalar or "
                                    "per-feature");

  const Tuner<double> tuner(p.X, p.Y, {}, cv_options(1), grid_options());
  TuneHooks bad;
  bad.resume = [](std::size_t i, const CvTask&) -> std::optional<CvPartial> {
    if (i == 1) return CvPartial{{1.0}, {1.0}, {0}, 0.0};
    return std::nullopt;
  };
  expect_error<kreg::ArgumentError>(
      [&] { tuner.run_grid(bad); },
      "resumed task 1 holds 1 sums for the 9 bandwidths x 1 outputs of its block");
  expect_error<kreg::ArgumentError>(
      [&] { tuner.run_task(99); },
      "run_task: task 99 is not in this plan of " + std::to_string(tuner.plan().size()) + " tasks");

  kreg::CancelToken cancel;
  cancel.request();
  TuneHooks stop;
  stop.cancel = &cancel;
  EXPECT_THROW(tuner.run(stop), kreg::Cancelled);
}

}  // namespace
