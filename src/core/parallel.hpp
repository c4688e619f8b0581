// core/parallel.hpp - kreg's one scheduler, as the engines use it.
//
// run_team runs one function on a team of exactly n threads: the calling
// thread and n - 1 workers of a oneTBB arena (plain std::threads under
// ThreadSanitizer). kreg::par's loops (core/par.cpp) and parallel_blocks below
// are both built on it, so kreg starts threads, raises oneTBB's thread cap and
// works around TSan in one place.
//
// parallel_blocks(n_threads, count, grain, fn) calls fn(begin, end) over
// disjoint blocks that cover [0, count); n_threads == 1 (or a single block)
// runs a plain loop on the calling thread. Callers make each index's result
// independent of the block it lands in, so the thread count never changes the
// answer. An exception thrown by fn stops further blocks from starting and
// propagates to the caller once the running ones have finished.
#pragma once

#include <algorithm>
#include <atomic>
#include <functional>
#include <thread>

#include "kreg/matrix.hpp"

namespace kreg::detail {

// Calls member(rank) for every rank in [0, n_threads) at the same time, rank 0
// on the calling thread, on exactly n_threads threads (more than the cores is
// allowed). Returns once every member has returned, then re-throws the first
// exception a member (or starting a thread) threw. Members share work through
// their own state (an atomic counter, a locked queue) and return when none is
// left; a worker that starts only after rank 0 has returned is skipped, since
// rank 0 returns only when no work is left. n_threads <= 1 calls member(0).
void run_team(int n_threads, const std::function<void(int rank)>& member);

// How many oneTBB arenas teams have made in this process: teams reuse them,
// so this stays at the number of teams that ever ran at the same time (per
// size). -1 where teams run on plain std::threads (ThreadSanitizer builds).
long team_arenas_made();

// Starts a team of n_threads (n_jobs as resolve_n_jobs reads it) on a side
// thread and waits, on that thread, until every member has started, so that a
// caller who reads its input first finds the threads running: the process's
// first team costs 0.5-0.8 ms (oneTBB loads libtbbmalloc and starts its
// workers; docs/benchmarks.md, "Process overhead"). Joins on destruction.
// Never throws: a team that cannot start is left for the real one to report.
class TeamWarmUp {
 public:
  explicit TeamWarmUp(int n_jobs);
  TeamWarmUp(const TeamWarmUp&) = delete;
  TeamWarmUp& operator=(const TeamWarmUp&) = delete;
  ~TeamWarmUp();

 private:
  std::thread thread_;
};

// Runs fn so that a thread waiting inside it for nested oneTBB work (kreg's
// engines inside a kreg::par task) does not pick up another member of an
// enclosing team, which might wait on what this very call holds.
void run_isolated(const std::function<void()>& fn);

template <class F>
void parallel_blocks(int n_threads, index_t count, index_t grain, F&& fn) {
  grain = std::max<index_t>(grain, 1);
  if (n_threads <= 1 || count <= grain) {
    for (index_t b = 0; b < count; b += grain) fn(b, std::min(count, b + grain));
    return;
  }
  // Claims shrink from a share of what is left (fewer claims, each block's
  // setup paid less often) down to one grain (the last blocks still spread
  // over every thread); every claim is a whole number of grains.
  const index_t grains = (count + grain - 1) / grain;
  const int threads = static_cast<int>(std::min<index_t>(n_threads, grains));
  const index_t divisor = 2 * index_t{threads};
  std::atomic<index_t> next{0};
  run_team(threads, [&](int) {
    index_t begin = next.load(std::memory_order_relaxed);
    for (;;) {
      if (begin >= count) return;
      const index_t share = (count - begin) / divisor / grain * grain;
      const index_t end = std::min(count, begin + std::max(grain, share));
      if (!next.compare_exchange_weak(begin, end, std::memory_order_relaxed)) continue;
      try {
        fn(begin, end);
      } catch (...) {
        next.store(count, std::memory_order_relaxed);  // no block starts after a failure
        throw;
      }
      begin = next.load(std::memory_order_relaxed);
    }
  });
}

}  // namespace kreg::detail
