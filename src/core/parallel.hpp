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

#include "kreg/matrix.hpp"

namespace kreg::detail {

template <class F>
void parallel_blocks(int n_threads, index_t count, index_t grain, F&& fn) {
  grain = std::max<index_t>(grain, 1);
  if (n_threads <= 1 || count <= grain) {
    for (index_t b = 0; b < count; b += grain) fn(b, std::min(count, b + grain));
    return;
  }
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
