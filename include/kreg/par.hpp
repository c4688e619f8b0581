// kreg/par.hpp - parallel loops with joblib's semantics, on oneTBB.
//
//     auto scores = kreg::par::parallel_map(n_folds, [&](kreg::index_t fold) { ... },
//                                           {.n_jobs = -1, .cancel = &token});
//
// A loop runs tasks 0..n-1 (or one per element of a random-access range) and
// gives joblib's guarantees:
//
// - n_jobs: -1 all cores, -2 all but one (-k: all but k-1, at least 1, so any
//   n_jobs below -cores is one thread, as in joblib), k > 0 exactly k threads
//   (more than the cores is allowed, up to max_n_jobs(): kMaxJobs or the core
//   count, whichever is larger), 0 and k > max_n_jobs() are ArgumentErrors.
//   "Cores" is std::thread::hardware_concurrency(), as everywhere in kreg.
//   n_jobs = 1 runs on the calling thread through the same code (batching,
//   callbacks, exceptions): no thread is started.
// - Batching: tasks are handed out in batches of consecutive indices. With
//   batch_size = 0 (automatic) the first batch holds one task; each finished
//   batch measures the cost per task and resizes later batches so one lasts
//   about kTargetBatchSeconds (0.5 ms), growing at most 8x and shrinking at
//   most 2x per measurement, and never more than remaining / (2 * threads)
//   tasks, so the last batches still spread over every thread. A batch costs
//   the engine about a microsecond (a lock, two clock reads), so tiny tasks
//   run at nearly serial speed per thread instead of drowning in overhead.
//   An explicit batch_size is used as given (the last batch may be shorter).
// - Results: parallel_map returns them in input order. parallel_for_each hands
//   each result to a sink on the calling thread, in input order (ordered =
//   true) or as batches complete (ordered = false, or
//   parallel_for_each_unordered). At most 2 * threads batches of results exist
//   at once (running or waiting for the sink): a worker that finds all of them
//   taken waits until the calling thread has passed one to the sink.
// - Exceptions: the first task exception by time is re-thrown in the caller as
//   TaskError (its index and message, the original in nested()); no batch
//   starts after it, and batches already running finish (a batch is the unit
//   of cancellation). First by time, not lowest index: finding the lowest
//   failing index would mean running every task below it, which is the
//   opposite of stopping promptly; joblib does the same. With n_jobs = 1 the
//   first by time is the lowest index. A task that throws kreg::Cancelled (it
//   polled a token itself) stops the loop with that Cancelled, unwrapped. An
//   exception from the progress callback or the sink stops the loop and is
//   re-thrown as it is.
// - Cancellation: options.cancel is polled before every batch; once requested
//   no batch starts and the loop throws kreg::Cancelled("interrupted") after
//   the running batches finish. Results of finished batches still reach the
//   sink (ordered: those before the first gap), so a journal written by the
//   sink loses nothing. A loop whose every task finished returns normally.
//   For Ctrl-C, combine ScopedSigint with the token (kreg/interrupt.hpp).
// - Progress: progress(done, total) is called on the calling thread only,
//   between its batches and whenever a batch completes while it waits; `done`
//   counts finished tasks, strictly increases, and the last call of a loop
//   that completes is (total, total). No call for an empty loop.
// - Seeds: a task that takes a second argument receives task_seed(seed, i),
//   a function of the root seed and the index alone, so random results never
//   depend on n_jobs, batching or scheduling.
// - No oversubscription: while a loop with more than one thread runs, OpenBLAS
//   runs single-threaded (openblas_set_num_threads(1), process-wide, reference
//   counted across concurrent loops); the previous count comes back after the
//   last one. kreg uses no OpenMP, so there is nothing else to cap. The
//   threads are a oneTBB arena of exactly n_jobs threads; a task's own
//   parallelism (kreg's engines) runs isolated from the loop's batches.
//
// Tasks run concurrently: whatever they share must be synchronised, and a
// task's result should depend only on its index (and seed).
#pragma once

#include <cstdint>
#include <exception>
#include <functional>
#include <iterator>
#include <ranges>
#include <type_traits>
#include <utility>
#include <vector>

#include "kreg/error.hpp"
#include "kreg/interrupt.hpp"
#include "kreg/matrix.hpp"

namespace kreg {
// The most threads a positive n_jobs may ask for, unless the machine has more
// cores: a loop starts its threads up front, and millions of them would
// exhaust the process (oneTBB's arena crashes) for no gain.
inline constexpr int kMaxJobs = 1024;
// max(kMaxJobs, cores): the largest n_jobs resolve_n_jobs accepts.
int max_n_jobs();
// joblib's n_jobs as a thread count: -1 all cores, -2 all but one (-k: all
// but k-1, at least 1: below -cores, one thread), k > 0 exactly k; 0 and
// k > max_n_jobs() throw ArgumentError (naming the value and the limit).
int resolve_n_jobs(int n_jobs);
}  // namespace kreg

namespace kreg::par {

// The time an automatically sized batch aims to take.
inline constexpr double kTargetBatchSeconds = 0.5e-3;

struct Options {
  // joblib's n_jobs (see above); all cores by default, like kreg's engines.
  int n_jobs = -1;
  // Tasks per batch; 0 sizes batches automatically (see above).
  index_t batch_size = 0;
  // parallel_for_each only: hand results to the sink in input order.
  bool ordered = true;
  // progress(done, total) on the calling thread; empty: no progress.
  std::function<void(index_t done, index_t total)> progress{};
  // nullptr: never cancelled. Must outlive the loop.
  const CancelToken* cancel = nullptr;
  // Root of the per-task seeds (task_seed).
  std::uint64_t seed = 0;
};

// A task failed: "task 17 failed: <the original what()>".
class TaskError : public Error {
 public:
  TaskError(index_t index, std::exception_ptr nested);
  index_t index() const noexcept { return index_; }
  // The exception the task threw; std::rethrow_exception(e.nested()) gets it.
  const std::exception_ptr& nested() const noexcept { return nested_; }

 private:
  index_t index_;
  std::exception_ptr nested_;
};

// joblib's n_jobs as a thread count (see above). Throws ArgumentError for 0
// and for more than max_n_jobs(). The same function as kreg::resolve_n_jobs
// (declared in nw.hpp too).
using ::kreg::max_n_jobs;
using ::kreg::resolve_n_jobs;

// The seed of task `task` under root seed `root`: the (task + 1)-th output of
// SplitMix64 started at `root`, i.e. mix(root + (task + 1) * 0x9E3779B97F4A7C15)
// with SplitMix64's finaliser. For one root, distinct tasks get distinct seeds
// (the step is odd and the finaliser is a bijection on 64 bits).
constexpr std::uint64_t task_seed(std::uint64_t root, index_t task) {
  std::uint64_t z = root + (static_cast<std::uint64_t>(task) + 1) * 0x9E3779B97F4A7C15ULL;
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
  return z ^ (z >> 31);
}

namespace detail {

// The type-erased loop that par.cpp schedules; the templates below only adapt
// user functions to it, so this header needs no oneTBB.
struct LoopSpec {
  index_t n = 0;
  int n_jobs = 1;
  index_t batch_size = 0;
  // Results are handed on by `drain` on the calling thread (parallel_for_each).
  bool stream = false;
  bool ordered = true;
  const std::function<void(index_t, index_t)>* progress = nullptr;  // null or empty: none
  const CancelToken* cancel = nullptr;
};

// body(begin, end, slot) runs tasks [begin, end) on some thread; when
// streaming it leaves their results in buffer `slot` (0 <= slot <
// stream_slots(n_jobs); -1 when not streaming), which no other batch touches
// until drain(begin, end, slot) has run on the calling thread.
using Body = std::function<void(index_t begin, index_t end, index_t slot)>;
using Drain = std::function<void(index_t begin, index_t end, index_t slot)>;

// Validates n, n_jobs and batch_size (ArgumentError), then runs the loop.
void run(const LoopSpec& spec, const Body& body, const Drain& drain);

// Checks the arguments like run() and returns the number of result buffers a
// streaming loop uses: 2 * threads.
index_t stream_slots(index_t n, const Options& options);

// Called inside a catch handler for task `index`: re-throws a kreg::Cancelled
// as it is and anything else as TaskError(index, current exception).
[[noreturn]] void rethrow_as_task_error(index_t index);

inline LoopSpec spec_of(index_t n, const Options& options) {
  LoopSpec spec;
  spec.n = n;
  spec.n_jobs = options.n_jobs;
  spec.batch_size = options.batch_size;
  spec.ordered = options.ordered;
  spec.progress = &options.progress;
  spec.cancel = options.cancel;
  return spec;
}

// fn(i, task_seed(root, i)) when fn takes a seed, else fn(i).
template <class F>
decltype(auto) call_task(F& fn, index_t i, std::uint64_t root) {
  if constexpr (std::is_invocable_v<F&, index_t, std::uint64_t>) {
    return fn(i, task_seed(root, i));
  } else {
    static_assert(std::is_invocable_v<F&, index_t>,
                  "a task is called as fn(index) or fn(index, std::uint64_t seed)");
    return fn(i);
  }
}

// The result type of a task; no type (a substitution failure, so overloads
// are not derailed) when F cannot be called either way.
template <class F>
using task_result_t =
    std::decay_t<typename std::conditional_t<std::is_invocable_v<F&, index_t, std::uint64_t>,
                                             std::invoke_result<F&, index_t, std::uint64_t>,
                                             std::invoke_result<F&, index_t>>::type>;

// Runs tasks [begin, end) through `each`, turning an exception into TaskError.
template <class Each>
void run_tasks(index_t begin, index_t end, Each& each) {
  index_t i = begin;
  try {
    for (; i < end; ++i) each(i);
  } catch (...) {
    rethrow_as_task_error(i);
  }
}

}  // namespace detail

// fn(i) or fn(i, seed) for i in [0, n); return values are ignored.
template <class F>
void parallel_for(index_t n, F&& fn, const Options& options = {}) {
  auto each = [&](index_t i) { detail::call_task(fn, i, options.seed); };
  detail::run(detail::spec_of(n, options),
              [&](index_t begin, index_t end, index_t) { detail::run_tasks(begin, end, each); },
              {});
}

// [fn(0), ..., fn(n - 1)] (or fn(i, seed)), in input order. The result type
// must be default-constructible.
template <class F, class R = detail::task_result_t<F>>
std::vector<R> parallel_map(index_t n, F&& fn, const Options& options = {}) {
  static_assert(!std::is_void_v<R>, "parallel_map needs a task that returns a value");
  static_assert(std::is_default_constructible_v<R>,
                "parallel_map stores results in place: the result type must be "
                "default-constructible");
  detail::stream_slots(n, options);  // validate before allocating n results
  // std::vector<bool> packs bits, so neighbours' writes would race: store bytes.
  using Stored = std::conditional_t<std::is_same_v<R, bool>, unsigned char, R>;
  std::vector<Stored> out(static_cast<std::size_t>(n));
  auto each = [&](index_t i) {
    out[static_cast<std::size_t>(i)] = detail::call_task(fn, i, options.seed);
  };
  detail::run(detail::spec_of(n, options),
              [&](index_t begin, index_t end, index_t) { detail::run_tasks(begin, end, each); },
              {});
  if constexpr (std::is_same_v<R, bool>) {
    return std::vector<bool>(out.begin(), out.end());
  } else {
    return out;
  }
}

// [fn(inputs[0]), ...] (or fn(inputs[i], seed)), in input order; task i is
// inputs[i], and that is the index a TaskError names.
template <std::ranges::random_access_range Range, class F>
requires std::ranges::sized_range<Range>
auto parallel_map(const Range& inputs, F&& fn, const Options& options = {}) {
  const auto n = static_cast<index_t>(std::ranges::size(inputs));
  const auto first = std::ranges::begin(inputs);
  using Value = decltype(*first);
  if constexpr (std::is_invocable_v<F&, Value, std::uint64_t>) {
    return parallel_map(
        n, [&](index_t i, std::uint64_t seed) { return fn(first[i], seed); }, options);
  } else {
    return parallel_map(
        n, [&](index_t i) { return fn(first[i]); }, options);
  }
}

// Runs fn(i) (or fn(i, seed)) for i in [0, n) and calls sink(i, result) on
// the calling thread for each, in input order when options.ordered, else as
// batches complete. Buffers at most 2 * threads batches of results (see
// above). The sink is never called concurrently and sees each index once.
template <class F, class Sink, class R = detail::task_result_t<F>>
void parallel_for_each(index_t n, F&& fn, Sink&& sink, const Options& options = {}) {
  static_assert(!std::is_void_v<R>, "parallel_for_each needs a task that returns a value");
  std::vector<std::vector<R>> buffers(static_cast<std::size_t>(detail::stream_slots(n, options)));
  auto spec = detail::spec_of(n, options);
  spec.stream = true;
  detail::run(
      spec,
      [&](index_t begin, index_t end, index_t slot) {
        auto& buffer = buffers[static_cast<std::size_t>(slot)];
        buffer.clear();
        auto each = [&](index_t i) { buffer.push_back(detail::call_task(fn, i, options.seed)); };
        detail::run_tasks(begin, end, each);
      },
      [&](index_t begin, index_t end, index_t slot) {
        auto& buffer = buffers[static_cast<std::size_t>(slot)];
        for (index_t i = begin; i < end; ++i) {
          sink(i, std::move(buffer[static_cast<std::size_t>(i - begin)]));
        }
        buffer.clear();
      });
}

// parallel_for_each with results handed on as batches complete.
template <class F, class Sink>
void parallel_for_each_unordered(index_t n, F&& fn, Sink&& sink, Options options = {}) {
  options.ordered = false;
  parallel_for_each(n, std::forward<F>(fn), std::forward<Sink>(sink), options);
}

}  // namespace kreg::par
