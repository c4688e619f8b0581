// nw/cpu/fused.hpp - the packed training tiles and per-query state that the fused
// engine (nw/cpu/fused.cpp) and the many-bandwidth engine (nw/cpu/grid.cpp) share
// between their per-target SIMD code and their drivers.
//
// The training set is re-packed into tiles of `tile` points. Tile t starts at
// data + t * stride and holds, each row padded to `tile` values,
//
//     x[f][p]  f < d     features, feature-major (one row per feature)
//     y[c][p]  c < k     targets
//     s[p]               sample weights (only when weighted)
//
// so that SIMD lanes run over training points. Points of zero sample weight
// are dropped when packing; padding lanes are zero and never contribute (the
// kernels mask them). Queries keep their running sums in QueryState between
// chunks of tiles, so the packed copy can be smaller than the training set.
#pragma once

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <limits>
#include <vector>

#include "kreg/interrupt.hpp"
#include "kreg/matrix.hpp"
#include "kreg/nw.hpp"
#include "nw/cpu/engines.hpp"

namespace kreg::nw::fused {

template <class T>
struct Tiles {
  const T* data = nullptr;
  index_t stride = 0;      // elements per tile
  index_t tile = 0;        // points per tile: a multiple of 64 (any vector length)
  index_t count = 0;       // tiles in this chunk
  index_t last_valid = 0;  // points in the chunk's last tile (1..tile)
  index_t d = 0;
  index_t k = 0;
  bool weighted = false;
};

// Per-query running state, arrays of m (num, tie_y: m x k) entries.
template <class T>
struct QueryState {
  T* nearest = nullptr;     // smallest ||z - x||^2 seen so far (+inf at start): the
                            // Gaussian's shift, a compact kernel's fallback
  double* den = nullptr;    // sum of weights (relative to the shift, for the Gaussian)
  double* num = nullptr;    // sums of weight * y
  double* tie_w = nullptr;  // compact kernels: sample weights of the nearest point(s)
  double* tie_y = nullptr;  //   and their weighted sums of y
};

template <class T>
struct Job {
  Tiles<T> tiles;
  QueryState<T> state;
  Kernel kernel = Kernel::gaussian;
  double inv_h2 = 1.0;
  const T* z = nullptr;  // m x d queries, row stride ldz
  index_t ldz = 0;
  bool finish = false;  // last chunk: write the predictions
  T* out = nullptr;     // m x k, row stride ldo
  index_t ldo = 0;
  std::atomic<index_t>* isolated = nullptr;
  // Polled once per group of queries and tile; when requested, blocks return
  // early with their sums unfinished and the driver throws kreg::Cancelled.
  // nullptr: never cancelled.
  const CancelToken* cancel = nullptr;
  bool cancelled() const { return cancel != nullptr && cancel->requested(); }
};

// The Gaussian engines' exponential (nw/cpu/fused-inl.h) takes arguments down to
// -kMinExp2 and is clamped there: no weight falls below 2^-kMinExp2 relative
// to the nearest point's 1 (1e-30 in float, 1e-301 in double). A weight below
// 2^-kSkipExp2 relative to it is negligible: n such weights move a prediction
// by at most n 2^-kSkipExp2 relative (1e-13 for a million points in double,
// 1e-6 in float: far inside the engines' 1e-9 and 1e-4).
template <class T>
inline constexpr double kMinExp2 = std::numeric_limits<T>::digits == 24 ? 100.0 : 1000.0;
template <class T>
inline constexpr double kSkipExp2 = std::numeric_limits<T>::digits == 24 ? 40.0 : 64.0;

// Every tile holds a multiple of this many points: two vectors of the widest
// target (AVX-512: 16 floats). With 64-byte aligned storage, every row of a
// tile is then aligned for any target's vector loads.
inline constexpr index_t kTileQuantum = 64;

// Queries per parallel block. A block streams every tile once, so larger
// blocks read the packed training set less often; smaller ones balance better.
constexpr index_t kGrain = 32;
// Target bytes of a tile's features (points per tile: a power of two in
// [kMinTile, kMaxTile]); the tile is re-read by every group of a block.
constexpr index_t kTileBytes = 16 * 1024;
constexpr index_t kMinTile = 64;
constexpr index_t kMaxTile = 256;
// The most bytes of packed tiles at a time; larger training sets are packed
// and processed in chunks (the queries' running sums carry over).
constexpr index_t kChunkBytes = index_t{32} << 20;

static_assert(kMinTile % kTileQuantum == 0 && kMaxTile % kMinTile == 0);

template <class T>
inline index_t tile_points(index_t d, index_t bytes = kTileBytes, index_t max_tile = kMaxTile) {
  index_t p = max_tile;
  while (p > kMinTile && p * d * static_cast<index_t>(sizeof(T)) > bytes) p /= 2;
  return p;
}

// Packs the kept training points [first, first + count) into `dst` (layout
// in nw/cpu/fused.hpp), tiles of `tile` points, each `stride` elements.
template <class T>
void pack(const Problem<T>& p, const std::vector<index_t>& keep, index_t first, index_t count,
          index_t tile, index_t stride, T* dst) {
  const index_t d = p.X.cols(), k = p.Y.cols();
  const bool weighted = !p.weights.empty();
  const index_t tiles = (count + tile - 1) / tile;
  std::fill(dst, dst + tiles * stride, T{0});
  for (index_t i = 0; i < count; ++i) {
    const index_t j = keep.empty() ? first + i : keep[static_cast<std::size_t>(first + i)];
    T* xt = dst + (i / tile) * stride + i % tile;
    const T* x = &p.X(j, 0);
    for (index_t f = 0; f < d; ++f) xt[f * tile] = x[f];
    T* yt = xt + d * tile;
    for (index_t c = 0; c < k; ++c) yt[c * tile] = p.Y(j, c);
    if (weighted) yt[k * tile] = p.weights[static_cast<std::size_t>(j)];
  }
}

}  // namespace kreg::nw::fused
