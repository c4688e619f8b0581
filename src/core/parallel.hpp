// core/parallel.hpp - run a loop over [0, count) in blocks on n threads.
//
// The engines' only threading primitive until kreg::par arrives: blocks go to
// a oneTBB arena of exactly n_threads threads; n_threads == 1 runs a plain
// loop on the calling thread. Callers make each index's result independent of
// the block it lands in, so the thread count never changes the answer. An
// exception thrown by fn propagates to the caller.
#pragma once

#include <tbb/blocked_range.h>
#include <tbb/global_control.h>
#include <tbb/parallel_for.h>
#include <tbb/task_arena.h>

#include <algorithm>
#include <optional>

#if defined(__SANITIZE_THREAD__)
#include <atomic>
#include <exception>
#include <mutex>
#include <thread>
#include <vector>
#endif

#include "kreg/matrix.hpp"

namespace kreg::detail {

// oneTBB stops its worker threads once no thread holds any of its state. A
// caller that runs each kreg call on a fresh thread (a server's thread per
// request, the Python extension's interruptible calls) would pay a pool
// restart per call, and the late worker made a 2-thread loop run at 1-thread
// speed about half the time. One initialised arena, never destroyed, keeps
// the pool alive for the life of the process. Every arena kreg creates calls
// this first.
inline void keep_tbb_workers_alive() {
  static tbb::task_arena* const keep = [] {
    auto* arena = new tbb::task_arena();
    arena->initialize();
    return arena;
  }();
  (void)keep;
}

template <class F>
void parallel_blocks(int n_threads, index_t count, index_t grain, F&& fn) {
  grain = std::max<index_t>(grain, 1);
  if (n_threads <= 1 || count <= grain) {
    for (index_t b = 0; b < count; b += grain) fn(b, std::min(count, b + grain));
    return;
  }
#if defined(__SANITIZE_THREAD__)
  // ThreadSanitizer cannot see the synchronisation inside an uninstrumented
  // libtbb and reports every hand-off to a worker as a race. Under TSan the
  // blocks run on plain std::threads instead, which it does see, so the
  // engines' own sharing is what gets checked.
  std::atomic<index_t> next{0};
  std::exception_ptr error;
  std::mutex error_mutex;
  auto worker = [&] {
    for (index_t b; (b = next.fetch_add(grain)) < count;) {
      try {
        fn(b, std::min(count, b + grain));
      } catch (...) {
        const std::lock_guard<std::mutex> lock(error_mutex);
        if (!error) error = std::current_exception();
      }
    }
  };
  std::vector<std::thread> threads;
  for (int t = 1; t < n_threads; ++t) threads.emplace_back(worker);
  worker();
  for (auto& t : threads) t.join();
  if (error) std::rethrow_exception(error);
  return;
#endif
  keep_tbb_workers_alive();
  // oneTBB caps every arena at the machine's concurrency unless told
  // otherwise; joblib's n_jobs may ask for more threads than cores.
  const auto allowed = static_cast<int>(
      tbb::global_control::active_value(tbb::global_control::max_allowed_parallelism));
  std::optional<tbb::global_control> raise;
  if (n_threads > allowed) {
    raise.emplace(tbb::global_control::max_allowed_parallelism,
                  static_cast<std::size_t>(n_threads));
  }
  tbb::task_arena arena(n_threads);
  arena.execute([&] {
    tbb::parallel_for(tbb::blocked_range<index_t>(0, count, grain),
                      [&](const tbb::blocked_range<index_t>& r) { fn(r.begin(), r.end()); });
  });
}

}  // namespace kreg::detail
