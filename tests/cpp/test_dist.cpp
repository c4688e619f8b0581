// src/dist/ in one process: the byte messages round-trip and refuse a short
// one, the ranks' shares partition any count, the local communicator's
// collectives are copies, and run_shared hands every partial over in order.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <stdexcept>
#include <vector>

#include "dist/bytes.hpp"
#include "dist/communicator.hpp"
#include "dist/rows.hpp"
#include "dist/tasks.hpp"
#include "kreg/tune.hpp"

namespace {

using kreg::index_t;
using kreg::dist::Bytes;

TEST(DistBytes, PartialsRoundTripBitForBit) {
  kreg::CvPartial p{{1.5, -0.0, 1e-310}, {2.0, 3.0, 4.0}, {0, 7}, 0.25};
  const kreg::CvPartial q = kreg::dist::decode_cv_partial(kreg::dist::encode(p));
  EXPECT_EQ(q.sse.size(), 3u);
  EXPECT_TRUE(std::signbit(q.sse[1]));
  EXPECT_EQ(q.sse, p.sse);
  EXPECT_EQ(q.sae, p.sae);
  EXPECT_EQ(q.isolated, p.isolated);
  EXPECT_EQ(q.seconds, p.seconds);
  kreg::FoldScore f;
  f.train_size = 9;
  f.test_score = 0.125;
  f.converged = false;
  const kreg::FoldScore g = kreg::dist::decode_fold_score(kreg::dist::encode(f));
  EXPECT_EQ(g.train_size, 9);
  EXPECT_EQ(g.test_score, 0.125);
  EXPECT_FALSE(g.converged);
}

TEST(DistBytes, AShortMessageIsRefusedNotRead) {
  Bytes b = kreg::dist::encode(kreg::CvPartial{{1, 2}, {3, 4}, {0}, 0});
  b.resize(b.size() - 3);
  EXPECT_THROW((void)kreg::dist::decode_cv_partial(b), std::runtime_error);
  // A count larger than the bytes that follow it.
  Bytes lie = kreg::dist::ByteWriter().put<std::uint64_t>(1u << 30).take();
  kreg::dist::ByteReader r(lie);
  EXPECT_THROW((void)r.get_vector<double>(), std::runtime_error);
}

TEST(DistShares, PartitionEveryCountInOrder) {
  for (std::size_t count : {0u, 1u, 2u, 7u, 100u}) {
    for (int size : {1, 2, 3, 8}) {
      EXPECT_EQ(kreg::dist::share_begin(count, 0, size), 0u);
      EXPECT_EQ(kreg::dist::share_begin(count, size, size), count);
      for (int r = 0; r < size; ++r) {
        const std::size_t b = kreg::dist::share_begin(count, r, size);
        const std::size_t e = kreg::dist::share_begin(count, r + 1, size);
        EXPECT_LE(b, e);
        EXPECT_LE(e - b, count / static_cast<std::size_t>(size) + 1);
      }
    }
  }
}

TEST(DistLocal, OneRankCollectivesAreCopiesAndRunSharedKeepsOrder) {
  kreg::dist::Communicator& comm = kreg::dist::world();
  ASSERT_EQ(comm.size(), 1);  // not started by mpirun: the local communicator
  EXPECT_EQ(comm.rank(), 0);
  Bytes b{std::byte{1}, std::byte{2}};
  comm.broadcast(b);
  EXPECT_EQ(b.size(), 2u);
  EXPECT_EQ(comm.allgather(b), std::vector<Bytes>{b});
  EXPECT_EQ(comm.scatter({b}), b);
  std::vector<std::size_t> order;
  kreg::dist::run_shared(
      comm, 5, [](std::size_t i) { return Bytes(i + 1, std::byte{7}); },
      [&](std::size_t i, Bytes&& got) {
        EXPECT_EQ(got.size(), i + 1);
        order.push_back(i);
      });
  EXPECT_EQ(order, (std::vector<std::size_t>{0, 1, 2, 3, 4}));
}

TEST(DistRows, ScatterAndGatherOnOneRankGiveTheRowsBack) {
  kreg::Matrix<float> m(5, 3);
  for (index_t i = 0; i < 15; ++i) m.data()[i] = static_cast<float>(i) / 3;
  kreg::dist::Communicator& comm = kreg::dist::world();
  const kreg::Matrix<float> mine = kreg::dist::scatter_rows<float>(comm, m.view());
  // A strided view: every other row.
  const kreg::MatrixView<const float> strided(m.data(), 3, 3, 6);
  const kreg::Matrix<float> back = kreg::dist::gather_rows<float>(comm, strided, 3);
  ASSERT_EQ(mine.rows(), 5);
  EXPECT_TRUE(std::equal(m.data(), m.data() + 15, mine.data()));
  ASSERT_EQ(back.rows(), 3);
  EXPECT_EQ(back(1, 2), m(2, 2));
  EXPECT_EQ(back(2, 0), m(4, 0));
}

// share_tune_hooks on one rank: rank 0's resumed tasks arrive in one message,
// only the others run (through run_tasks), and the result is the bits of a
// plain run.
TEST(DistLocal, SharedTuneHooksResumeWhatTheJournalHasAndRunTheRest) {
  const index_t n = 12000;  // a plan of 3 tasks
  kreg::Matrix<double> X(n, 2), Y(n, 1);
  for (index_t i = 0; i < n; ++i) {
    X(i, 0) = std::sin(0.37 * static_cast<double>(i));
    X(i, 1) = std::cos(0.11 * static_cast<double>(i));
    Y(i, 0) = X(i, 0) * X(i, 1) + 0.1 * std::sin(7.0 * static_cast<double>(i));
  }
  kreg::CvOptions options;
  options.cv.kind = kreg::CvSpec::Kind::loo;
  options.n_jobs = 2;
  kreg::TuneOptions tune;
  tune.bandwidths = {0.02, 0.05, 0.1, 0.2, 0.5};
  tune.optimizer = kreg::TuneOptimizer::scalar;
  const kreg::Tuner<double> tuner(X, Y, {}, options, tune);
  ASSERT_GE(tuner.plan().size(), 2u);
  const kreg::TuneResult alone = tuner.run();

  kreg::TuneHooks hooks;
  hooks.resume = [&](std::size_t i, const kreg::CvTask&) -> std::optional<kreg::CvPartial> {
    if (i % 2 == 1) return std::nullopt;
    return tuner.run_task(i);
  };
  std::vector<std::size_t> ran;
  hooks.task_done = [&](std::size_t i, const kreg::CvTask&, const kreg::CvPartial&) {
    ran.push_back(i);
  };
  kreg::dist::share_tune_hooks(kreg::dist::world(), hooks, tuner.plan());
  ASSERT_TRUE(hooks.run_tasks);
  const kreg::TuneResult shared = tuner.run(hooks);
  std::vector<std::size_t> odd;
  for (std::size_t i = 1; i < tuner.plan().size(); i += 2) odd.push_back(i);
  EXPECT_EQ(ran, odd);
  EXPECT_EQ(shared.scores.mean, alone.scores.mean);
  EXPECT_EQ(shared.scores.splits, alone.scores.splits);
  ASSERT_TRUE(shared.optimum && alone.optimum);
  EXPECT_EQ(shared.optimum->bandwidth, alone.optimum->bandwidth);
  EXPECT_EQ(shared.optimum->score, alone.optimum->score);
}

}  // namespace
