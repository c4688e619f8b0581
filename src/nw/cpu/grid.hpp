// nw/cpu/grid.hpp - what the many-bandwidth engine's per-target SIMD code shares
// with its driver (both in nw/cpu/grid.cpp). Training tiles as in nw/cpu/fused.hpp.
#pragma once

#include <atomic>

#include "kreg/interrupt.hpp"
#include "kreg/matrix.hpp"
#include "kreg/nw.hpp"
#include "nw/cpu/fused.hpp"

namespace kreg::nw::grid {

// Tiles 16 times the fused engine's (nw/cpu/fused.hpp): per query and tile the
// grid engine pays for every bandwidth's set-up and reductions and for the
// power sums' cost model and evaluation, so larger tiles amortise more. On
// the tutorial's 30-bandwidth grid (d = 10, double, 2 threads) the holdout
// search took 76 ms with tiles of 512 points (64 KiB), 73 with 1024, 71 with
// 2048 (256 KiB) and 71-72 with 4096; leave-one-out went from 306 to 278 ms.
inline constexpr index_t kGridTileBytes = index_t{256} << 10;
inline constexpr index_t kGridMaxTile = 4096;
static_assert(kGridMaxTile % fused::kTileQuantum == 0);

// A block polls the cancel token once per query and tile, and once every
// kCancelStride bandwidths within: so any stretch of work between two polls
// is at most kCancelStride bandwidths over one tile (about a million
// exponentials, a millisecond or two), however many bandwidths there are.
inline constexpr index_t kCancelStride = 256;

template <class T>
struct Job {
  fused::Tiles<T> tiles;
  index_t first_tile = 0;  // index of this chunk's first tile among all tiles
  index_t B = 0;           // bandwidths
  const double* inv_h2 = nullptr;
  // The bandwidths by ascending inv_h2 (widest first), and each one's place
  // in that order: sorted once per call, not once per block.
  const index_t* order = nullptr;
  const index_t* rank = nullptr;
  Kernel kernel = Kernel::gaussian;
  const T* z = nullptr;  // m x d queries, row stride ldz
  index_t ldz = 0;
  const index_t* exclude = nullptr;  // per query: packed position to skip, or -1; or null
  // Running state per query (q): nearest[q], den[q * B + b], num[(q * B + b) * k + c],
  // tie_w[q], tie_y[q * k + c] - as fused::QueryState, with B sums per query.
  T* nearest = nullptr;
  double* den = nullptr;
  double* num = nullptr;
  double* tie_w = nullptr;
  double* tie_y = nullptr;
  bool finish = false;  // last chunk: write the predictions
  T* out = nullptr;     // out(q, c * B + b), row stride ldo
  index_t ldo = 0;
  std::atomic<index_t>* isolated = nullptr;  // B counters
  // Requested: blocks return early, leaving their sums unfinished (the driver
  // then throws kreg::Cancelled). nullptr: never cancelled.
  const CancelToken* cancel = nullptr;
  bool cancelled() const { return cancel != nullptr && cancel->requested(); }
};

}  // namespace kreg::nw::grid
