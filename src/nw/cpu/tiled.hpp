// nw/cpu/tiled.hpp - the tiled engine's data: packed training tiles, one
// block's job, and the constants its driver (nw/cpu/tiled.cpp) and block
// kernels (nw/cpu/one_bandwidth.cpp, nw/cpu/many_bandwidths.cpp) share.
//
// The training set is re-packed into tiles of `tile` points. Tile t starts at
// data + t * stride and holds, each row padded to `tile` values,
//
//     x[f][p]  f < d     features, feature-major (one row per feature)
//     y[c][p]  c < k     targets
//     s[p]               sample weights (only when weighted)
//     n[p]               ||x||^2 (only with norms: the norm form of distances)
//
// so that SIMD lanes run over training points. Points of zero sample weight
// are dropped when packing; padding lanes are zero and never contribute (the
// kernels mask them). Queries keep their running sums in QueryState between
// chunks of tiles, so the packed copy can be smaller than the training set.
#pragma once

#include <hwy/aligned_allocator.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <vector>

#include "kreg/interrupt.hpp"
#include "kreg/matrix.hpp"
#include "kreg/nw.hpp"
#include "nw/cpu/engines.hpp"
#include "system/caches.hpp"

namespace kreg::nw::tiled {

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
  bool norms = false;  // the row n[p] is there

  // Tile t's row of ||x||^2, or null without norms.
  const T* norm_row(const T* xt) const {
    return norms ? xt + (d + k + (weighted ? 1 : 0)) * tile : nullptr;
  }
};

// The queries as the norm form of distances reads them (NormDistances,
// nw/cpu/simd/distances-inl.h): zn[q] = ||z_q||^2, or NaN where query q takes
// direct differences. Empty: every query takes direct differences.
template <class T>
struct QueryNorms {
  std::vector<T> zn;
  bool any() const { return !zn.empty(); }
};

// Per-query running state over B bandwidths: nearest[q], den[q * B + b],
// num[(q * B + b) * k + c], tie_w[q], tie_y[q * k + c].
template <class T>
struct QueryState {
  T* nearest = nullptr;     // smallest ||z - x||^2 seen so far (+inf at start): the
                            // Gaussian's shift, a compact kernel's fallback
  double* den = nullptr;    // sums of weights (relative to the shift, for the Gaussian)
  double* num = nullptr;    // sums of weight * y
  double* tie_w = nullptr;  // compact kernels: sample weights of the nearest point(s)
  double* tie_y = nullptr;  //   and their weighted sums of y
};

// One chunk of tiles against all queries; a block kernel takes the queries
// [q0, q1) and adds the chunk's sums to their state.
template <class T>
struct Job {
  Tiles<T> tiles;
  index_t first_tile = 0;  // index of this chunk's first tile among all tiles
  Kernel kernel = Kernel::gaussian;
  index_t B = 1;                   // bandwidths
  const double* inv_h2 = nullptr;  // B values of 1 / h^2
  // The bandwidths by ascending inv_h2 (widest first), and each one's place
  // in that order: sorted once per call, not once per block (B > 1 only).
  const index_t* order = nullptr;
  const index_t* rank = nullptr;
  const T* z = nullptr;  // m x d queries, row stride ldz
  index_t ldz = 0;
  const index_t* exclude = nullptr;  // per query: packed position to skip, or -1; or null
  const T* zn = nullptr;             // QueryNorms: per query ||z||^2 or NaN; null: no norm form
  QueryState<T> state;
  // High d (high_d): the one-bandwidth kernel takes groups of kWideGroup
  // queries, whose norm-form register block was measured faster; at low d
  // the wider group's per-tile work costs more than it gains.
  bool wide = false;

  // The group [g, g + nq) as GroupDistances reads it (the last query
  // repeated to fill kGroup slots, as z[] is); zm2: -2 z of the block's
  // queries from q0 on (scaled_queries), d a row.
  template <int kGroup>
  void group(index_t g, index_t nq, index_t q0, const T* zm2, const T** z_out, const T** zm2_out,
             T* zn_out) const {
    for (index_t r = 0; r < kGroup; ++r) {
      const index_t q = g + std::min<index_t>(r, nq - 1);
      z_out[r] = z + q * ldz;
      zm2_out[r] = zn != nullptr ? zm2 + (q - q0) * tiles.d : nullptr;
      zn_out[r] = zn != nullptr ? zn[q] : std::numeric_limits<T>::quiet_NaN();
    }
  }
  // Polled once per group of queries (or query) and tile; when requested,
  // blocks return early with their sums unfinished and the driver throws
  // kreg::Cancelled. nullptr: never cancelled.
  const CancelToken* cancel = nullptr;
  bool cancelled() const { return cancel != nullptr && cancel->requested(); }
};

// The block kernels, each dispatched to the best SIMD target for this CPU.
template <class T>
void sum_one_bandwidth(const Job<T>& job, index_t q0, index_t q1);  // B == 1
template <class T>
void sum_many_bandwidths(const Job<T>& job, index_t q0, index_t q1);

// The Gaussian engines' exponential (nw/cpu/simd/exp2-inl.h) takes arguments
// down to -kMinExp2 and is clamped there: no weight falls below 2^-kMinExp2
// relative to the nearest point's 1 (1e-30 in float, 1e-301 in double). A
// weight below 2^-kSkipExp2 relative to it is negligible: n such weights move
// a prediction by at most n 2^-kSkipExp2 relative (1e-13 for a million points
// in double, 1e-6 in float: far inside the engines' 1e-9 and 1e-4).
template <class T>
inline constexpr double kMinExp2 = std::numeric_limits<T>::digits == 24 ? 100.0 : 1000.0;
template <class T>
inline constexpr double kSkipExp2 = std::numeric_limits<T>::digits == 24 ? 40.0 : 64.0;

// One bandwidth's constants in T, each clamped to T's range. The Gaussian's
// weight is w = 2^(t neg_alpha) with t = s - shift clamped at t_lim (so
// 2^-kMinExp2 at least), = e^(t neg_c); a tile whose nearest t is at least
// t_skip adds nothing that matters. Compact kernels use u^2 = s inv_h2.
template <class T>
struct BandwidthConstants {
  T neg_alpha, t_lim, t_skip, neg_c, inv_h2;

  // Unweighted, t_skip is where a weight falls below 2^-kSkipExp2 relative to
  // the shift point's 1 (negligible). With sample weights, whose ratios are
  // unbounded, only weights already clamped at 2^-kMinExp2 are skipped.
  BandwidthConstants(double ih2, bool weighted) {
    constexpr auto kMax = static_cast<double>(std::numeric_limits<T>::max());
    const double alpha = 0.5 * ih2 * 1.4426950408889634074;  // log2(e) / (2 h^2)
    const double skip_exp2 = weighted ? kMinExp2<T> : kSkipExp2<T>;
    neg_alpha = static_cast<T>(-std::min(alpha, kMax));
    t_lim = static_cast<T>(std::min(kMinExp2<T> / alpha, kMax));
    t_skip = static_cast<T>(std::min(skip_exp2 / alpha, kMax));
    neg_c = static_cast<T>(-std::min(0.5 * ih2, kMax));
    inv_h2 = static_cast<T>(std::min(ih2, kMax));
  }
};

// Every tile holds a multiple of this many points: two vectors of the widest
// target (AVX-512: 16 floats). With 64-byte aligned storage, every row of a
// tile is then aligned for any target's vector loads.
inline constexpr index_t kTileQuantum = 64;

// Queries per parallel block. A block streams every tile once, so larger
// blocks read the packed training set less often; smaller ones balance better.
inline constexpr index_t kGrain = 32;
// Points per tile: a power of two in [kMinTile, max tile] whose features fill
// at most the target bytes; the tile is re-read by every group of a block.
// One bandwidth: small tiles that stay in L1. Many bandwidths: per query and
// tile the block pays for every bandwidth's set-up and reductions and for the
// power sums' cost model and evaluation, so tiles 16 times larger amortise
// more. (The figures: docs/benchmarks.md, "Why the engine constants are what
// they are".)
inline constexpr index_t kMinTile = 64;
inline constexpr index_t kTileBytes = 32 * 1024;
inline constexpr index_t kMaxTile = 512;
inline constexpr index_t kGridMaxTile = 4096;
// The most bytes of packed tiles at a time; larger training sets are packed
// and processed in chunks (the queries' running sums carry over).
inline constexpr index_t kChunkBytes = index_t{32} << 20;
// High d (one bandwidth), blocked like a GEMM: when even kMinTile points'
// features overflow kTileBytes, a tile cannot stay in L1 whatever its width,
// so it is sized for L2 instead (high_d_tile_bytes below), and every group
// of a block streams it from there. What then limits the kernel is the packed training
// set, which no cache holds, streamed from memory once per block: at a
// block of kGrain queries that is 8 bytes per 32 double FMAs, close to a
// core's share of memory bandwidth. Blocks of up to kHighDGrain queries read
// it 8 times less often; they shrink to keep at least kHighDBlocksPerThread
// blocks for each thread. A query's sums do not depend on its block, so the
// grain never changes the results. (Figures: docs/benchmarks.md, "High d
// (784): GEMM-like blocking and auto's cost model".)
inline constexpr index_t kHighDGrain = 256;
inline constexpr index_t kHighDBlocksPerThread = 4;

// The tiles that live in L2, for a CPU with l2 bytes of it per core: the
// high-d one-bandwidth tile takes half (the queries' rows and the distances
// keep the rest), the many-bandwidth tile a quarter. Both are capped at what
// they were measured at on a 1 MiB L2 (512 KiB and 256 KiB), so a smaller L2
// only shrinks them: a tile twice the L2 made the high-d kernel 30% slower,
// one a quarter of it ran as fast (docs/benchmarks.md, "High d: tiles sized
// by the L2 this CPU has").
inline index_t high_d_tile_bytes(index_t l2) {
  return std::clamp<index_t>(l2 / 2, index_t{64} << 10, index_t{512} << 10);
}
inline index_t grid_tile_bytes(index_t l2) {
  return std::clamp<index_t>(l2 / 4, index_t{64} << 10, index_t{256} << 10);
}
inline index_t high_d_tile_bytes() { return high_d_tile_bytes(detail::cache_sizes().l2); }
inline index_t grid_tile_bytes() { return grid_tile_bytes(detail::cache_sizes().l2); }

template <class T>
inline bool high_d(index_t d) {
  return kMinTile * d * static_cast<index_t>(sizeof(T)) > kTileBytes;
}

// Queries per parallel block for m queries on n_threads threads: m split
// into kHighDBlocksPerThread blocks a thread, rounded up to a multiple of 8
// (the widest group of the one-bandwidth kernel), so that the blocks come
// out nearly equal and every thread gets the same number of them.
template <class T>
inline index_t block_grain(bool one, index_t d, index_t m, int n_threads) {
  if (!one || !high_d<T>(d)) return kGrain;
  const index_t parts = kHighDBlocksPerThread * std::max(n_threads, 1);
  const index_t share = ((m + parts - 1) / parts + 7) / 8 * 8;
  return std::clamp(share, kGrain, kHighDGrain);
}

// A many-bandwidth block polls the cancel token once per query and tile, and
// once every kCancelStride bandwidths within: so any stretch of work between
// two polls is at most kCancelStride bandwidths over one tile (about a
// million exponentials, a millisecond or two), however many bandwidths.
inline constexpr index_t kCancelStride = 256;

static_assert(kMinTile % kTileQuantum == 0 && kMaxTile % kMinTile == 0 &&
              kGridMaxTile % kMinTile == 0);

template <class T>
inline index_t tile_points(index_t d, index_t bytes, index_t max_tile) {
  index_t p = max_tile;
  while (p > kMinTile && p * d * static_cast<index_t>(sizeof(T)) > bytes) p /= 2;
  return p;
}

// The norm form s = ||x||^2 + ||z||^2 - 2 x.z rounds each of its d + 2
// steps relative to at most (|x| + |z|)^2, so |error of s| <= (d + 3) eps
// (|x| + |z|)^2; a weight e^(-s inv_h2 / 2) then moves by that times
// inv_h2 / 2 relative, and a prediction by at most twice that relative to
// max |y|. A query takes the norm form when this bound, with the training
// set's largest |x| and the narrowest bandwidth, is within kNormFormShare of
// the engines' contract (1e-4 in float, 1e-9 in double); otherwise direct
// differences, whose error is relative to s itself. The Gaussian only: the
// compact kernels' ties at the nearest point compare distances exactly.
template <class T>
inline constexpr double kNormFormShare = 1.0 / 16;
template <class T>
inline constexpr double kEngineRtol = std::numeric_limits<T>::digits == 24 ? 1e-4 : 1e-9;

template <class T>
inline bool norm_form_fits(index_t d, double max_x2, double z2, double max_inv_h2) {
  const double eps = std::numeric_limits<T>::epsilon();
  const double r = std::sqrt(max_x2) + std::sqrt(z2);
  const double bound = static_cast<double>(d + 3) * eps * r * r * max_inv_h2;
  return bound <= kNormFormShare<T> * kEngineRtol<T>;  // false for NaN or inf
}

// ||x||^2 of d values in double: four running sums (a fixed order), so that
// at high d the adds do not wait on one another.
template <class T>
inline double squared_norm(const T* x, index_t d) {
  double s[4] = {0, 0, 0, 0};
  index_t f = 0;
  for (; f + 4 <= d; f += 4) {
    for (index_t l = 0; l < 4; ++l) s[l] += static_cast<double>(x[f + l]) * x[f + l];
  }
  for (; f < d; ++f) s[0] += static_cast<double>(x[f]) * x[f];
  return (s[0] + s[1]) + (s[2] + s[3]);
}

// ||x_j||^2 in double for the rows `keep` of X (empty: every row); the
// largest, or +inf when one is not finite.
template <class T>
inline double max_squared_norm(MatrixView<const T> X, const std::vector<index_t>& keep) {
  const index_t rows = keep.empty() ? X.rows() : static_cast<index_t>(keep.size());
  double mx = 0;
  for (index_t i = 0; i < rows; ++i) {
    const index_t j = keep.empty() ? i : keep[static_cast<std::size_t>(i)];
    const double s = squared_norm(&X(j, 0), X.cols());
    if (!std::isfinite(s)) return std::numeric_limits<double>::infinity();
    mx = std::max(mx, s);
  }
  return mx;
}

// The queries' norms for the norm form (QueryNorms): each query of Z whose
// bound fits (norm_form_fits) gets its ||z||^2, the others NaN; nothing
// when no query fits. Each query's choice depends on itself, the training
// set and the bandwidths only, never on the other queries of the call.
template <class T>
inline QueryNorms<T> query_norms(MatrixView<const T> Z, double max_x2, double max_inv_h2) {
  QueryNorms<T> qn;
  const index_t m = Z.rows(), d = Z.cols();
  if (!std::isfinite(max_x2) || !norm_form_fits<T>(d, max_x2, 0.0, max_inv_h2)) return qn;
  qn.zn.assign(static_cast<std::size_t>(m), std::numeric_limits<T>::quiet_NaN());
  for (index_t q = 0; q < m; ++q) {
    const double s = squared_norm(&Z(q, 0), d);
    if (norm_form_fits<T>(d, max_x2, s, max_inv_h2)) {
      qn.zn[static_cast<std::size_t>(q)] = static_cast<T>(s);
    }
  }
  return qn;
}

// -2 z for `rows` queries from z (row stride ldz) into out (d a row): the
// norm form's factors, made once per block of queries (exact in binary).
// Nothing without norms.
template <class T>
void scaled_queries(bool norms, const T* z, index_t ldz, index_t rows, index_t d, T* out) {
  if (!norms) return;
  for (index_t i = 0; i < rows; ++i) {
    for (index_t f = 0; f < d; ++f) out[i * d + f] = T{-2} * z[i * ldz + f];
  }
}

// Packs the kept training points [first, first + count) into `dst` (layout
// above; keep empty: every row), tiles of `tile` points, each `stride`
// elements; with `norms`, each point's ||x||^2 too.
//
// The features go in blocks of kPackBlock points, feature by feature, so
// that each feature's values of a block fill a cache line of the tile at
// once (point by point, every point would touch d lines of the tile, which
// at high d leave L1 before the next point comes). Full tiles are written
// entirely; only the last tile's padding lanes are zeroed.
inline constexpr index_t kPackBlock = 16;
static_assert(kTileQuantum % kPackBlock == 0);

template <class T>
void pack(const Problem<T>& p, const std::vector<index_t>& keep, index_t first, index_t count,
          index_t tile, index_t stride, bool norms, T* dst) {
  const index_t d = p.X.cols(), k = p.Y.cols();
  const bool weighted = !p.weights.empty();
  const index_t tiles = (count + tile - 1) / tile;
  const index_t norm_row = (d + k + (weighted ? 1 : 0)) * tile;
  if (count < tiles * tile) std::fill(dst + (tiles - 1) * stride, dst + tiles * stride, T{0});
  for (index_t i0 = 0; i0 < count; i0 += kPackBlock) {  // never across tiles
    const index_t nb = std::min(kPackBlock, count - i0);
    const T* x[kPackBlock];
    for (index_t b = 0; b < nb; ++b) {
      const index_t i = i0 + b;
      x[b] = &p.X(keep.empty() ? first + i : keep[static_cast<std::size_t>(first + i)], 0);
    }
    T* xt = dst + (i0 / tile) * stride + i0 % tile;
    for (index_t f = 0; f < d; ++f) {
      for (index_t b = 0; b < nb; ++b) xt[f * tile + b] = x[b][f];
    }
    for (index_t b = 0; b < nb; ++b) {
      const index_t i = i0 + b;
      const index_t j = keep.empty() ? first + i : keep[static_cast<std::size_t>(first + i)];
      T* yt = xt + d * tile + b;
      for (index_t c = 0; c < k; ++c) yt[c * tile] = p.Y(j, c);
      if (weighted) yt[k * tile] = p.weights[static_cast<std::size_t>(j)];
      if (norms) xt[norm_row + b] = static_cast<T>(squared_norm(x[b], d));
    }
  }
}

}  // namespace kreg::nw::tiled

namespace kreg::nw {

// A training set's tiles for predict at one bandwidth (pack_for_predict,
// nw/cpu/engines.hpp): the whole set in one chunk, with the row of norms for
// the Gaussian (whether or not a call's queries take the norm form), and
// the largest squared norm the norm form's bound needs.
template <class T>
struct PackedTiles {
  index_t tile = 0, stride = 0, n_tiles = 0, n = 0;
  bool norms = false;
  double max_x2 = 0;
  hwy::AlignedFreeUniquePtr<T[]> data;
};

}  // namespace kreg::nw
