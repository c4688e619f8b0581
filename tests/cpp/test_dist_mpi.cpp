// src/dist/ across MPI ranks: CTest runs this under mpirun with 1, 2 and 3
// ranks (tests/CMakeLists.txt). The collectives deliver in rank order;
// run_shared hands every task's partial to every rank in plan order; the tune
// workflow with its hooks shared across the ranks gives the bits of one
// process (leave-one-out, k-fold, holdout; scalar and per-feature
// optimisers); model CV with shared folds likewise. Every rank runs every
// test; an assertion fails on the rank that sees it, and main's
// Session::finish then ends the job with a non-zero status.
#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <vector>

#include "dist/bytes.hpp"
#include "dist/communicator.hpp"
#include "dist/tasks.hpp"
#include "kreg/model_cv.hpp"
#include "kreg/tune.hpp"

namespace {

using kreg::index_t;
using kreg::Matrix;
using kreg::dist::Bytes;

kreg::dist::Communicator& comm() { return kreg::dist::world(); }

Bytes text(const std::string& s) {
  const auto* p = reinterpret_cast<const std::byte*>(s.data());
  return {p, p + s.size()};
}

TEST(DistMpi, CollectivesDeliverInRankOrder) {
  const int rank = comm().rank(), size = comm().size();
  Bytes b = text(rank == 0 ? "from the root" : "");
  comm().broadcast(b);
  EXPECT_EQ(b, text("from the root"));
  const std::vector<Bytes> all = comm().allgather(text(std::string(rank + 1, 'r')));
  ASSERT_EQ(static_cast<int>(all.size()), size);
  for (int r = 0; r < size; ++r) EXPECT_EQ(all[r], text(std::string(r + 1, 'r')));
  const std::vector<Bytes> at_root = comm().gather(text(std::to_string(rank)));
  EXPECT_EQ(static_cast<int>(at_root.size()), rank == 0 ? size : 0);
  for (int r = 0; r < static_cast<int>(at_root.size()); ++r) {
    EXPECT_EQ(at_root[r], text(std::to_string(r)));
  }
  std::vector<Bytes> parts;
  for (int r = 0; rank == 0 && r < size; ++r) parts.push_back(text("part " + std::to_string(r)));
  EXPECT_EQ(comm().scatter(parts), text("part " + std::to_string(rank)));
}

TEST(DistMpi, RunSharedHandsEveryPartialToEveryRankInOrder) {
  for (std::size_t count : {0u, 1u, 5u, 7u}) {
    std::vector<std::size_t> seen;
    std::vector<int> ran;
    kreg::dist::run_shared(
        comm(), count,
        [&](std::size_t i) {
          ran.push_back(static_cast<int>(i));
          return kreg::dist::ByteWriter().put(i * 10).take();
        },
        [&](std::size_t i, Bytes&& b) {
          EXPECT_EQ(kreg::dist::ByteReader(b).get<std::size_t>(), i * 10);
          seen.push_back(i);
        });
    ASSERT_EQ(seen.size(), count);
    for (std::size_t i = 0; i < count; ++i) EXPECT_EQ(seen[i], i);
    for (const int i : ran) EXPECT_EQ(i % comm().size(), comm().rank());
  }
}

struct Problem {
  Matrix<double> X, Y;
};

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

void expect_same_bits(const kreg::TuneResult& a, const kreg::TuneResult& b) {
  EXPECT_EQ(a.scores.mean, b.scores.mean);
  EXPECT_EQ(a.scores.std, b.scores.std);
  EXPECT_EQ(a.scores.splits, b.scores.splits);
  EXPECT_EQ(a.scores.best, b.scores.best);
  ASSERT_EQ(a.optimum.has_value(), b.optimum.has_value());
  if (a.optimum) {
    EXPECT_EQ(a.optimum->bandwidth, b.optimum->bandwidth);
    EXPECT_EQ(a.optimum->score, b.optimum->score);
    EXPECT_EQ(a.optimum->evaluations, b.optimum->evaluations);
  }
}

// The same Tuner run alone (its tasks here, one by one) and shared across
// the ranks, with a different thread count on each rank.
void check_tune(kreg::CvSpec cv, kreg::TuneOptimizer optimizer, bool holdout = false) {
  const Problem p = make(700, 11), test = make(300, 12);
  kreg::CvOptions options;
  options.cv = cv;
  options.n_jobs = 1 + comm().rank() % 2;
  kreg::TuneOptions tune;
  tune.bandwidths = {0.05, 0.1, 0.2, 0.4, 0.8, 1.6};
  tune.optimizer = optimizer;
  tune.starts = 2;
  const kreg::Tuner<double> tuner(p.X, p.Y, {}, options, tune,
                                  holdout ? test.X.view() : kreg::MatrixView<const double>{},
                                  holdout ? test.Y.view() : kreg::MatrixView<const double>{});
  const kreg::TuneResult alone = tuner.run();
  kreg::TuneHooks hooks;
  int steps = 0;
  hooks.step = [&](std::int64_t) { ++steps; };
  kreg::dist::share_tune_hooks(comm(), hooks, tuner.plan());
  const kreg::TuneResult shared = tuner.run(hooks);
  expect_same_bits(alone, shared);
  // Progress is rank 0's alone.
  EXPECT_EQ(steps > 0, comm().rank() == 0);
}

TEST(DistMpi, TuneLeaveOneOutScalarIsTheBitsOfOneProcess) {
  check_tune({kreg::CvSpec::Kind::loo}, kreg::TuneOptimizer::scalar);
}
TEST(DistMpi, TuneKFoldIsTheBitsOfOneProcess) {
  check_tune({kreg::CvSpec::Kind::kfold, 4, true, 3}, kreg::TuneOptimizer::none);
}
TEST(DistMpi, TuneHoldoutIsTheBitsOfOneProcess) {
  check_tune({kreg::CvSpec::Kind::holdout}, kreg::TuneOptimizer::scalar, true);
}
TEST(DistMpi, TunePerFeatureIsTheBitsOfOneProcess) {
  check_tune({kreg::CvSpec::Kind::kfold, 3, true, 1}, kreg::TuneOptimizer::per_feature);
}

TEST(DistMpi, ModelCvWithSharedFoldsIsTheBitsOfOneProcess) {
  const Problem p = make(500, 5);
  const std::vector<double> y(p.Y.data(), p.Y.data() + p.Y.rows());
  kreg::ModelCvOptions options;
  options.folds = 5;
  options.n_jobs = 1;
  options.nw.bandwidth = {0.3};
  const std::vector<kreg::Split> splits = kreg::plan_model_cv(y, options);
  const kreg::ModelCvResult alone = kreg::cross_validate_model<double>(p.X, y, splits, options);
  const kreg::ModelCvResult shared =
      kreg::dist::cross_validate_model_shared<double>(comm(), p.X, y, splits, options);
  EXPECT_EQ(alone.mean, shared.mean);
  EXPECT_EQ(alone.std, shared.std);
  ASSERT_EQ(alone.folds.size(), shared.folds.size());
  for (std::size_t f = 0; f < alone.folds.size(); ++f) {
    EXPECT_EQ(alone.folds[f].test_score, shared.folds[f].test_score);
  }
}

}  // namespace

int main(int argc, char** argv) {
  kreg::dist::Session session(argc, argv);
  ::testing::InitGoogleTest(&argc, argv);
  const int failed = RUN_ALL_TESTS();
  return session.finish(failed);
}
