// nw/fused.hpp - what the fused engine's per-target SIMD code shares with its
// driver (nw/fused.cpp, which alone includes this header).
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

#include <atomic>
#include <cstdint>

#include "kreg/matrix.hpp"
#include "kreg/nw.hpp"

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
};

// Every tile holds a multiple of this many points: two vectors of the widest
// target (AVX-512: 16 floats). With 64-byte aligned storage, every row of a
// tile is then aligned for any target's vector loads.
inline constexpr index_t kTileQuantum = 64;

}  // namespace kreg::nw::fused
