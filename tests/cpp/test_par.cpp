// kreg::par: the same results at every n_jobs and batch size, input order and
// the streaming sinks (ordered, unordered, bounded buffering), n_jobs and
// argument errors, exceptions with their task index and the prompt stop after
// them, cancellation, progress, per-task seeds, the OpenBLAS thread cap, and a
// million trivial tasks.
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <limits>
#include <mutex>
#include <numeric>
#include <set>
#include <stdexcept>
#include <string>
#include <thread>
#include <unordered_set>
#include <vector>

#include "kreg/error.hpp"
#include "kreg/interrupt.hpp"
#include "kreg/par.hpp"
#include "test_support.hpp"

extern "C" {
void openblas_set_num_threads(int num_threads);
int openblas_get_num_threads(void);
}

namespace {

using kreg::index_t;
namespace par = kreg::par;

const auto argument_error = kreg::test::error_of<kreg::ArgumentError>;

const std::vector<int> kJobs = {1, 2, 3, 8, -1, -2};
const std::vector<index_t> kBatches = {0, 1, 7};

int cores() { return std::max(1, static_cast<int>(std::thread::hardware_concurrency())); }

// A task whose result depends on its index and seed only.
std::uint64_t mixed(index_t i, std::uint64_t seed) {
  return seed ^ static_cast<std::uint64_t>(i * i + 1);
}

TEST(ParNJobs, SameResultsForEveryThreadCountAndBatchSize) {
  const index_t n = 1000;
  std::vector<std::uint64_t> expected(static_cast<std::size_t>(n));
  for (index_t i = 0; i < n; ++i)
    expected[static_cast<std::size_t>(i)] = mixed(i, par::task_seed(42, i));
  for (const int jobs : kJobs) {
    for (const index_t batch : kBatches) {
      SCOPED_TRACE(fmt::format("n_jobs={} batch_size={}", jobs, batch));
      const par::Options options{.n_jobs = jobs, .batch_size = batch, .seed = 42};
      EXPECT_EQ(par::parallel_map(n, mixed, options), expected);
      std::vector<std::uint64_t> out(static_cast<std::size_t>(n));
      par::parallel_for(
          n,
          [&](index_t i, std::uint64_t seed) { out[static_cast<std::size_t>(i)] = mixed(i, seed); },
          options);
      EXPECT_EQ(out, expected);
    }
  }
}

TEST(ParNJobs, ResolvesLikeJoblib) {
  EXPECT_EQ(par::resolve_n_jobs(1), 1);
  EXPECT_EQ(par::resolve_n_jobs(5), 5);
  EXPECT_EQ(par::resolve_n_jobs(cores() + 3), cores() + 3);  // more than the cores is allowed
  EXPECT_EQ(par::resolve_n_jobs(-1), cores());
  EXPECT_EQ(par::resolve_n_jobs(-2), std::max(1, cores() - 1));
  EXPECT_EQ(par::resolve_n_jobs(-1000), 1);
  // Below -cores joblib runs one thread; so does kreg, down to the smallest int.
  EXPECT_EQ(par::resolve_n_jobs(-cores() - 1), 1);
  EXPECT_EQ(par::resolve_n_jobs(std::numeric_limits<int>::min()), 1);
}

// A positive n_jobs is capped: oneTBB's arena crashes at ten million threads.
TEST(ParNJobs, MoreThanTheCapIsAnError) {
  const int limit = par::max_n_jobs();
  EXPECT_EQ(limit, std::max(kreg::kMaxJobs, cores()));
  EXPECT_EQ(par::resolve_n_jobs(limit), limit);
  const std::string expected = fmt::format(
      "n_jobs = {} is more threads than kreg starts (at most {}: 1024 or the core count, "
      "whichever is larger); use -1 for all cores, or a count from 1 to {}",
      limit + 1, limit, limit);
  EXPECT_EQ(argument_error([&] { par::resolve_n_jobs(limit + 1); }), expected);
  for (const int jobs : {10'000'000, std::numeric_limits<int>::max()}) {
    SCOPED_TRACE(fmt::format("n_jobs={}", jobs));
    const std::string message =
        argument_error([&] { par::parallel_for(1000, [](index_t) {}, {.n_jobs = jobs}); });
    EXPECT_NE(message.find(fmt::format("n_jobs = {} is more threads", jobs)), std::string::npos)
        << message;
    EXPECT_NE(argument_error(
                  [&] { par::parallel_map(1000, [](index_t i) { return i; }, {.n_jobs = jobs}); }),
              "");
  }
}

TEST(ParNJobs, ZeroAndBadArgumentsAreErrors) {
  const std::string zero =
      "n_jobs = 0 is not valid; use a positive thread count, -1 for all cores or -2 for all but "
      "one";
  EXPECT_EQ(argument_error([] { par::resolve_n_jobs(0); }), zero);
  EXPECT_EQ(argument_error([] { par::parallel_for(10, [](index_t) {}, {.n_jobs = 0}); }), zero);
  EXPECT_EQ(
      argument_error([] { par::parallel_map(10, [](index_t i) { return i; }, {.n_jobs = 0}); }),
      zero);
  EXPECT_EQ(argument_error([] { par::parallel_map(-3, [](index_t i) { return i; }); }),
            "task count = -3 is not valid; it must be >= 0");
  EXPECT_EQ(argument_error([] { par::parallel_for(10, [](index_t) {}, {.batch_size = -1}); }),
            "batch_size = -1 is not valid; use a positive task count, or 0 for automatic batching");
}

// Exactly k threads, also above the core count: k tasks that each wait for
// all k to have started can only finish on k threads at once; and no more
// than k distinct threads ever run tasks.
TEST(ParNJobs, RunsExactlyKThreads) {
  for (const int jobs : {2, 3, 8}) {
    SCOPED_TRACE(fmt::format("n_jobs={}", jobs));
    std::atomic<int> arrived{0};
    std::atomic<bool> gave_up{false};
    par::parallel_for(jobs,
                      [&](index_t) {
                        arrived.fetch_add(1);
                        // A bail-out so a broken engine fails the test instead of hanging it.
                        const auto deadline =
                            std::chrono::steady_clock::now() + std::chrono::seconds(60);
                        while (arrived.load() < jobs) {
                          if (std::chrono::steady_clock::now() > deadline) {
                            gave_up = true;
                            return;
                          }
                          std::this_thread::sleep_for(std::chrono::microseconds(100));
                        }
                      },
                      {.n_jobs = jobs, .batch_size = 1});
    EXPECT_FALSE(gave_up.load());

    std::mutex mutex;
    std::set<std::thread::id> ids;
    par::parallel_for(2000,
                      [&](index_t) {
                        const std::lock_guard lock(mutex);
                        ids.insert(std::this_thread::get_id());
                      },
                      {.n_jobs = jobs, .batch_size = 1});
    EXPECT_LE(ids.size(), static_cast<std::size_t>(jobs));
  }
}

TEST(ParNJobs, OneJobRunsOnTheCallingThread) {
  const auto caller = std::this_thread::get_id();
  std::vector<index_t> order;
  par::parallel_for(100,
                    [&](index_t i) {
                      EXPECT_EQ(std::this_thread::get_id(), caller);
                      order.push_back(i);
                    },
                    {.n_jobs = 1});
  std::vector<index_t> expected(100);
  std::iota(expected.begin(), expected.end(), 0);
  EXPECT_EQ(order, expected);
}

TEST(ParOrder, MapKeepsInputOrder) {
  const std::vector<std::string> words = {"a", "bb", "ccc", "dddd", "", "ffffff", "g"};
  for (const int jobs : kJobs) {
    const auto lengths = par::parallel_map(words, [](const std::string& w) { return w.size(); },
                                           {.n_jobs = jobs, .batch_size = 1});
    EXPECT_EQ(lengths, (std::vector<std::size_t>{1, 2, 3, 4, 0, 6, 1}));
    const auto names = par::parallel_map(100, [](index_t i) { return fmt::format("item {}", i); },
                                         {.n_jobs = jobs});
    ASSERT_EQ(names.size(), 100u);
    for (index_t i = 0; i < 100; ++i)
      EXPECT_EQ(names[static_cast<std::size_t>(i)], fmt::format("item {}", i));
    // bool results are stored as bytes while the loop runs (std::vector<bool>
    // packs neighbours into one word).
    const auto odd =
        par::parallel_map(1001, [](index_t i) { return i % 2 == 1; }, {.n_jobs = jobs});
    for (index_t i = 0; i < 1001; ++i) EXPECT_EQ(odd[static_cast<std::size_t>(i)], i % 2 == 1);
  }
  EXPECT_TRUE(par::parallel_map(0, [](index_t i) { return i; }).empty());
}

TEST(ParOrder, MapOverInputsPassesSeeds) {
  const std::vector<int> inputs = {5, 6, 7};
  const auto out = par::parallel_map(
      inputs, [](int x, std::uint64_t seed) { return seed + static_cast<std::uint64_t>(x); },
      {.n_jobs = 2, .seed = 9});
  EXPECT_EQ(out, (std::vector<std::uint64_t>{par::task_seed(9, 0) + 5, par::task_seed(9, 1) + 6,
                                             par::task_seed(9, 2) + 7}));
}

TEST(ParOrder, OrderedSinkGetsInputOrderOnTheCallingThread) {
  const auto caller = std::this_thread::get_id();
  for (const int jobs : kJobs) {
    for (const index_t batch : kBatches) {
      std::vector<index_t> seen;
      par::parallel_for_each(
          777, [](index_t i) { return 3 * i; },
          [&](index_t i, index_t value) {
            EXPECT_EQ(std::this_thread::get_id(), caller);
            EXPECT_EQ(value, 3 * i);
            seen.push_back(i);
          },
          {.n_jobs = jobs, .batch_size = batch});
      std::vector<index_t> expected(777);
      std::iota(expected.begin(), expected.end(), 0);
      EXPECT_EQ(seen, expected) << "n_jobs=" << jobs << " batch_size=" << batch;
    }
  }
}

TEST(ParOrder, UnorderedSinkGetsEveryIndexOnce) {
  const auto caller = std::this_thread::get_id();
  for (const int jobs : kJobs) {
    for (const index_t batch : kBatches) {
      std::vector<int> count(5000, 0);
      par::parallel_for_each_unordered(
          5000, [](index_t i) { return fmt::format("{}", i); },
          [&](index_t i, std::string value) {
            EXPECT_EQ(std::this_thread::get_id(), caller);
            EXPECT_EQ(value, fmt::format("{}", i));
            ++count[static_cast<std::size_t>(i)];
          },
          {.n_jobs = jobs, .batch_size = batch});
      EXPECT_EQ(std::count(count.begin(), count.end(), 1), 5000)
          << "n_jobs=" << jobs << " batch_size=" << batch;
    }
  }
}

// At most 2 * threads batches of results exist at once: tasks finished but
// not yet handed to the sink never exceed 2 * threads * batch_size.
TEST(ParOrder, SinkBufferingIsBounded) {
  for (const bool ordered : {true, false}) {
    for (const int jobs : {2, 3}) {
      const index_t batch = 4;
      std::atomic<index_t> produced{0};
      index_t consumed = 0;
      index_t worst = 0;
      par::parallel_for_each(
          4000,
          [&](index_t i) {
            produced.fetch_add(1);
            return i;
          },
          [&](index_t, index_t) {
            worst = std::max(worst, produced.load() - consumed);
            ++consumed;
          },
          {.n_jobs = jobs, .batch_size = batch, .ordered = ordered});
      EXPECT_EQ(consumed, 4000);
      EXPECT_LE(worst, 2 * jobs * batch) << "ordered=" << ordered << " n_jobs=" << jobs;
    }
  }
}

// An explicit batch_size hands out consecutive blocks: each block of
// batch_size indices runs on one thread, in order.
TEST(ParBatching, ExplicitBatchSizeRunsBlocksOnOneThread) {
  const index_t n = 1000;
  const index_t batch = 10;
  std::vector<std::thread::id> thread_of(static_cast<std::size_t>(n));
  par::parallel_for(
      n, [&](index_t i) { thread_of[static_cast<std::size_t>(i)] = std::this_thread::get_id(); },
      {.n_jobs = 3, .batch_size = batch});
  for (index_t b = 0; b < n; b += batch) {
    for (index_t i = b; i < b + batch; ++i) {
      EXPECT_EQ(thread_of[static_cast<std::size_t>(i)], thread_of[static_cast<std::size_t>(b)])
          << "index " << i;
    }
  }
}

TEST(ParBatching, BatchLargerThanTheLoopIsOneBatch) {
  const auto huge = std::numeric_limits<index_t>::max();
  EXPECT_EQ(par::parallel_map(5, [](index_t i) { return i; }, {.n_jobs = 2, .batch_size = huge}),
            (std::vector<index_t>{0, 1, 2, 3, 4}));
}

// Automatic batching keeps tiny tasks from drowning in per-batch overhead; a
// million of them must simply complete (no timing is asserted).
TEST(ParBatching, MillionTrivialTasksComplete) {
  const index_t n = 1'000'000;
  std::atomic<index_t> calls{0};
  par::parallel_for(n, [&](index_t) { calls.fetch_add(1, std::memory_order_relaxed); },
                    {.n_jobs = 2});
  EXPECT_EQ(calls.load(), n);
  const auto squares = par::parallel_map(n, [](index_t i) { return i * i; }, {.n_jobs = 2});
  for (index_t i = 0; i < n; i += 9973) EXPECT_EQ(squares[static_cast<std::size_t>(i)], i * i);
  EXPECT_EQ(squares.back(), (n - 1) * (n - 1));
}

TEST(ParProgress, MonotoneOnTheCallingThreadAndEndsAtTotal) {
  const auto caller = std::this_thread::get_id();
  for (const int jobs : kJobs) {
    for (const index_t batch : kBatches) {
      std::vector<std::pair<index_t, index_t>> calls;
      par::parallel_for(
          500, [](index_t) {},
          {.n_jobs = jobs, .batch_size = batch, .progress = [&](index_t done, index_t total) {
             EXPECT_EQ(std::this_thread::get_id(), caller);
             calls.emplace_back(done, total);
           }});
      ASSERT_FALSE(calls.empty());
      for (std::size_t c = 0; c < calls.size(); ++c) {
        EXPECT_EQ(calls[c].second, 500);
        if (c > 0) {
          EXPECT_GT(calls[c].first, calls[c - 1].first);
        }
      }
      EXPECT_EQ(calls.back().first, 500);
    }
  }
  int empty_calls = 0;
  par::parallel_for(0, [](index_t) {}, {.progress = [&](index_t, index_t) { ++empty_calls; }});
  EXPECT_EQ(empty_calls, 0);
}

TEST(ParErrors, TaskErrorNamesTheIndexAndKeepsTheOriginal) {
  for (const int jobs : kJobs) {
    for (const index_t batch : kBatches) {
      SCOPED_TRACE(fmt::format("n_jobs={} batch_size={}", jobs, batch));
      try {
        par::parallel_map(100,
                          [](index_t i) {
                            if (i == 17) throw std::invalid_argument("boom");
                            return i;
                          },
                          {.n_jobs = jobs, .batch_size = batch});
        ADD_FAILURE() << "no exception";
      } catch (const par::TaskError& e) {
        EXPECT_EQ(e.index(), 17);
        EXPECT_STREQ(e.what(), "task 17 failed: boom");
        EXPECT_THROW(std::rethrow_exception(e.nested()), std::invalid_argument);
        const kreg::Error& base = e;  // callers that catch kreg::Error see it
        EXPECT_STREQ(base.what(), "task 17 failed: boom");
      }
    }
  }
}

TEST(ParErrors, NonStandardExceptionsAreNamedToo) {
  try {
    par::parallel_for(10, [](index_t i) {
      if (i == 3) throw 42;
    });
    ADD_FAILURE() << "no exception";
  } catch (const par::TaskError& e) {
    EXPECT_STREQ(e.what(), "task 3 failed: unknown exception (not derived from std::exception)");
    EXPECT_THROW(std::rethrow_exception(e.nested()), int);
  }
}

// The first exception by time wins. Serially that is the lowest failing
// index; in parallel, task 0 throws only well after task 5 has.
TEST(ParErrors, FirstExceptionByTimeWins) {
  try {
    par::parallel_for(100,
                      [](index_t i) {
                        if (i % 10 == 5) throw std::runtime_error(fmt::format("fail {}", i));
                      },
                      {.n_jobs = 1});
    ADD_FAILURE() << "no exception";
  } catch (const par::TaskError& e) {
    EXPECT_EQ(e.index(), 5);
  }
  std::atomic<bool> five_threw{false};
  try {
    par::parallel_for(6,
                      [&](index_t i) {
                        if (i == 5) {
                          five_threw = true;
                          throw std::runtime_error("late index, first in time");
                        }
                        if (i == 0) {
                          while (!five_threw.load()) {
                            std::this_thread::sleep_for(std::chrono::microseconds(100));
                          }
                          std::this_thread::sleep_for(std::chrono::milliseconds(200));
                          throw std::runtime_error("early index, later in time");
                        }
                      },
                      {.n_jobs = 2, .batch_size = 1});
    ADD_FAILURE() << "no exception";
  } catch (const par::TaskError& e) {
    EXPECT_EQ(e.index(), 5);
    EXPECT_STREQ(e.what(), "task 5 failed: late index, first in time");
  }
}

// After a failure no new batch starts: only the batches other threads had
// already claimed (one task each at batch_size 1) may still begin. The bound
// leaves room for the moment between the throw and the engine seeing it.
TEST(ParErrors, LaterTasksStopAfterAFailure) {
  for (const int jobs : {1, 2, 3}) {
    const index_t n = 20000;
    std::atomic<bool> failed{false};
    std::atomic<index_t> calls{0};
    std::atomic<index_t> after{0};
    EXPECT_THROW(par::parallel_for(n,
                                   [&](index_t i) {
                                     calls.fetch_add(1);
                                     if (failed.load()) after.fetch_add(1);
                                     if (i == 10) {
                                       failed = true;
                                       throw std::runtime_error("stop");
                                     }
                                     std::this_thread::sleep_for(std::chrono::microseconds(50));
                                   },
                                   {.n_jobs = jobs, .batch_size = 1}),
                 par::TaskError);
    if (jobs == 1) {
      EXPECT_EQ(calls.load(), 11);  // serial: nothing after the failure
    }
    EXPECT_LE(after.load(), 1000) << "n_jobs=" << jobs;
    EXPECT_LT(calls.load(), n);
  }
}

TEST(ParErrors, CancelledFromATaskAndCallbackErrorsPassThroughUnwrapped) {
  EXPECT_EQ(kreg::test::error_of<kreg::Cancelled>([] {
              par::parallel_for(50, [](index_t i) {
                if (i == 7) throw kreg::Cancelled("stopped by the task");
              });
            }),
            "stopped by the task");
  EXPECT_EQ(kreg::test::error_of<std::logic_error>([] {
              par::parallel_for_each(
                  50, [](index_t i) { return i; },
                  [](index_t i, index_t) {
                    if (i == 20) throw std::logic_error("sink failed");
                  },
                  {.n_jobs = 2});
            }),
            "sink failed");
  EXPECT_EQ(kreg::test::error_of<std::logic_error>([] {
              par::parallel_for(50, [](index_t) {},
                                {.n_jobs = 2, .batch_size = 1, .progress = [](index_t, index_t) {
                                   throw std::logic_error("progress failed");
                                 }});
            }),
            "progress failed");
}

TEST(ParErrors, NestedLoopsNameBothIndices) {
  try {
    par::parallel_for(4,
                      [](index_t outer) {
                        par::parallel_for(10,
                                          [&](index_t inner) {
                                            if (outer == 3 && inner == 5)
                                              throw std::runtime_error("boom");
                                          },
                                          {.n_jobs = 2});
                      },
                      {.n_jobs = 2});
    ADD_FAILURE() << "no exception";
  } catch (const par::TaskError& e) {
    EXPECT_STREQ(e.what(), "task 3 failed: task 5 failed: boom");
  }
}

TEST(ParCancel, TokenSetInsideATaskStopsTheLoop) {
  for (const int jobs : {1, 2, 3}) {
    for (const index_t batch : kBatches) {
      SCOPED_TRACE(fmt::format("n_jobs={} batch_size={}", jobs, batch));
      const index_t n = 20000;
      kreg::CancelToken token;
      std::atomic<index_t> calls{0};
      EXPECT_EQ(kreg::test::error_of<kreg::Cancelled>([&] {
                  par::parallel_for(n,
                                    [&](index_t i) {
                                      calls.fetch_add(1);
                                      if (i == 10) token.request();
                                      std::this_thread::sleep_for(std::chrono::microseconds(50));
                                    },
                                    {.n_jobs = jobs, .batch_size = batch, .cancel = &token});
                }),
                "interrupted");
      EXPECT_LT(calls.load(), n);
    }
  }
}

TEST(ParCancel, RequestedTokenRunsNothing) {
  kreg::CancelToken token;
  token.request();
  std::atomic<int> calls{0};
  EXPECT_THROW(par::parallel_for(100, [&](index_t) { ++calls; }, {.n_jobs = 2, .cancel = &token}),
               kreg::Cancelled);
  EXPECT_EQ(calls.load(), 0);
}

// A cancelled streaming loop still hands every finished result to the sink,
// so a journal written there loses nothing (batch_size 1: a task that
// returned is a finished batch).
TEST(ParCancel, UnorderedSinkReceivesEveryFinishedTask) {
  for (const int jobs : {1, 2, 3}) {
    kreg::CancelToken token;
    std::mutex mutex;
    std::set<index_t> finished;
    std::set<index_t> delivered;
    EXPECT_THROW(par::parallel_for_each_unordered(
                     20000,
                     [&](index_t i) {
                       if (i == 30) token.request();
                       std::this_thread::sleep_for(std::chrono::microseconds(50));
                       const std::lock_guard lock(mutex);
                       finished.insert(i);
                       return i;
                     },
                     [&](index_t i, index_t) { delivered.insert(i); },
                     {.n_jobs = jobs, .batch_size = 1, .cancel = &token}),
                 kreg::Cancelled);
    EXPECT_EQ(delivered, finished) << "n_jobs=" << jobs;
    EXPECT_TRUE(delivered.contains(30));
  }
}

TEST(ParSeed, SplitMix64Sequence) {
  // SplitMix64's published outputs: seeds 0 and 1234567.
  static_assert(par::task_seed(0, 0) == 0xE220A8397B1DCDAFULL);
  EXPECT_EQ(par::task_seed(0, 1), 0x6E789E6AA1B965F4ULL);
  EXPECT_EQ(par::task_seed(1234567, 0), 6457827717110365317ULL);
}

TEST(ParSeed, DeterministicAndDistinct) {
  std::unordered_set<std::uint64_t> seen;
  for (index_t i = 0; i < 100000; ++i) {
    EXPECT_EQ(par::task_seed(7, i), par::task_seed(7, i));
    seen.insert(par::task_seed(7, i));
  }
  EXPECT_EQ(seen.size(), 100000u);
  EXPECT_NE(par::task_seed(7, 0), par::task_seed(8, 0));
  for (const int jobs : kJobs) {
    const auto seeds = par::parallel_map(1000, [](index_t, std::uint64_t seed) { return seed; },
                                         {.n_jobs = jobs, .seed = 7});
    for (index_t i = 0; i < 1000; ++i)
      EXPECT_EQ(seeds[static_cast<std::size_t>(i)], par::task_seed(7, i));
  }
}

// OpenBLAS runs single-threaded inside a parallel loop and gets its thread
// count back afterwards, also after a failure; a serial loop leaves it alone.
TEST(ParBlas, SingleThreadedInsideWorkersAndRestored) {
  openblas_set_num_threads(2);  // OpenBLAS caps this at the cores it found
  const int before = openblas_get_num_threads();
  for (const int jobs : {2, 3}) {
    const auto inside = par::parallel_map(64, [](index_t) { return openblas_get_num_threads(); },
                                          {.n_jobs = jobs, .batch_size = 1});
    EXPECT_EQ(std::count(inside.begin(), inside.end(), 1), 64);
    EXPECT_EQ(openblas_get_num_threads(), before);
    EXPECT_THROW(par::parallel_for(64,
                                   [](index_t i) {
                                     if (i == 9) throw std::runtime_error("x");
                                   },
                                   {.n_jobs = jobs}),
                 par::TaskError);
    EXPECT_EQ(openblas_get_num_threads(), before);
  }
  const auto serial =
      par::parallel_map(4, [](index_t) { return openblas_get_num_threads(); }, {.n_jobs = 1});
  EXPECT_EQ(serial, std::vector<int>(4, before));
}

}  // namespace
