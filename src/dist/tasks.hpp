// dist/tasks.hpp - a plan's tasks run across the ranks, their partials
// delivered on every rank in plan order; the partials of the tune and
// model-CV workflows as bytes.
#pragma once

#include <cstddef>
#include <functional>
#include <string_view>

#include "dist/communicator.hpp"
#include "kreg/model_cv.hpp"
#include "kreg/select.hpp"
#include "kreg/tune.hpp"

namespace kreg::dist {

// Collective: runs tasks [0, count) in rounds of size() tasks, task
// j * size() + r of round j on rank r; after each round every rank calls
// done(i, partial) for each of the round's tasks in increasing i. Rank 0
// can so journal and report each round as it ends, and the partials reach
// every rank in plan order whatever the number of ranks.
//
// For tests only: KREG_TEST_FAIL=R:K makes rank R throw when it is about to
// run its K-th task (counting from 1) of this process, to drive the
// failure-and-resume path.
void run_shared(Communicator& comm, std::size_t count, const std::function<Bytes(std::size_t)>& run,
                const std::function<void(std::size_t, Bytes&&)>& done);

// Throws the KREG_TEST_FAIL failure when it is due on this rank (counts a task).
void count_task_for_tests(const Communicator& comm);

Bytes encode(const CvPartial& partial);
CvPartial decode_cv_partial(const Bytes& bytes);
Bytes encode(const FoldScore& fold);
FoldScore decode_fold_score(const Bytes& bytes);

// Makes the tune workflow's hooks work across the ranks of `comm` (more than
// one): grid tasks and every optimiser evaluation run shared (run_tasks);
// what rank 0's journal recorded reaches every rank, so all take the same
// path: the resumed tasks of `plan` in one broadcast now (collective), and
// recorded_score collective, answered by rank 0's hooks; only rank 0 keeps
// task_done, evaluated and the progress hooks. Every rank calls it on its own
// hooks, then runs the same Tuner.
void share_tune_hooks(Communicator& comm, TuneHooks& hooks, std::span<const CvTask> plan);

// Collective: cross_validate_model (kreg/model_cv.hpp) with the folds shared
// across the ranks, each fold on n_jobs threads of its rank; every rank gets
// the result, combined in fold order (the same bits as one process).
template <class T>
ModelCvResult cross_validate_model_shared(Communicator& comm, MatrixView<const T> X,
                                          std::span<const double> y, std::span<const Split> splits,
                                          const ModelCvOptions& options,
                                          const CancelToken* cancel = nullptr);

// Collective: throws (naming the rank) unless every rank holds the same
// `value` of `what`, e.g. the checksum of the data each rank read itself.
void check_same_everywhere(Communicator& comm, std::string_view what, std::string_view value);

}  // namespace kreg::dist
