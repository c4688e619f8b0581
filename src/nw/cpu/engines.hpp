// nw/cpu/engines.hpp - the contract between NadarayaWatson and its engines.
//
// An engine gets a prepared problem: training points already centred (and, for
// per-feature bandwidths, scaled), so that the kernel argument of query z and
// training point x is u^2 = inv_h2 * ||z - x||^2. inv_h2 is finite but may be
// huge (up to T's max): form inv_h2 * d^2 only where overflow to +inf is
// harmless (a compact kernel's u^2 >= 1 test), and shift the Gaussian in d^2
// space, w = exp(-(d^2 - d2_min) * inv_h2 / 2), so no inf - inf can arise.
// It writes m x k predictions
// and returns how many queries had no training point inside a compact
// kernel's support (those get the mean y of their nearest training points).
// Every engine must agree with the reference engine; each query's sums are
// reduced in a fixed order so that the thread count never changes the bits.
#pragma once

#include <memory>
#include <span>

#include "kreg/interrupt.hpp"

#include "kreg/matrix.hpp"
#include "kreg/nw.hpp"

namespace kreg::nw {

template <class T>
struct PackedTiles;  // nw/cpu/tiled.hpp

template <class T>
struct Problem {
  MatrixView<const T> X;       // n x d, centred/scaled training points
  MatrixView<const T> Y;       // n x k targets
  std::span<const T> weights;  // n sample weights, or empty for all ones
  Kernel kernel = Kernel::gaussian;
  double inv_h2 = 1.0;
  // The fused engine's tiles for predict at one bandwidth, packed once for
  // this training set (pack_for_predict); null: predict packs them per call.
  const PackedTiles<T>* packed = nullptr;
};

// The tiles predict_fused would pack on every call, packed once (the fused
// backend's first predict of a model): null where they would not fit in one chunk (the call
// then packs a chunk at a time, as without).
template <class T>
std::shared_ptr<const PackedTiles<T>> pack_for_predict(const Problem<T>& p);

// Each writes `out` (m x k) for queries Z (m x d, centred/scaled like X),
// using `n_threads` threads (>= 1), and returns the isolated-query count.
// Each polls `cancel` (nullptr: never cancelled) between small units of work
// and then throws kreg::Cancelled, leaving `out` unfinished: fused once per
// group of queries and tile, reference once per query, vectorized once per
// block of queries (one matrix product: a block's work grows with d).
template <class T>
index_t predict_reference(const Problem<T>& p, MatrixView<const T> Z, MatrixView<T> out,
                          int n_threads, const CancelToken* cancel = nullptr);
template <class T>
index_t predict_vectorized(const Problem<T>& p, MatrixView<const T> Z, MatrixView<T> out,
                           int n_threads, const CancelToken* cancel = nullptr);
template <class T>
index_t predict_fused(const Problem<T>& p, MatrixView<const T> Z, MatrixView<T> out, int n_threads,
                      const CancelToken* cancel = nullptr);

// Many bandwidths in one pass (nw/cpu/tiled.cpp): the distances do not depend on
// the bandwidth, so B bandwidths cost one distance pass plus B weights per
// pair. inv_h2 holds the B values of 1 / h^2 (finite, > 0; p.inv_h2 is not
// used). exclude is empty, or holds for each query the row of p.X it must not
// see (leave-one-out: skipped by index, never by distance) or -1. Writes
// out(q, c * B + b), the prediction of output c at bandwidth b, and adds each
// bandwidth's isolated-query count to isolated[b]. Polls `cancel` once per
// query and tile and every tiled::kCancelStride bandwidths (so the work between
// polls is bounded whatever B is) and throws kreg::Cancelled when it is set,
// leaving `out` unfinished. Results are the same bits for any n_threads.
// tile_bytes sizes the tiles of training points (0: the engine's own,
// nw/cpu/tiled.hpp); tests make them small to cross many. predict_fused is
// predict_grid with B = 1, p.inv_h2 and no exclusions.
template <class T>
void predict_grid(const Problem<T>& p, MatrixView<const T> Z, std::span<const double> inv_h2,
                  std::span<const index_t> exclude, MatrixView<T> out, std::span<index_t> isolated,
                  int n_threads, const CancelToken* cancel = nullptr, index_t tile_bytes = 0);

// Leave-one-out at one bandwidth with the Gaussian kernel (nw/cpu/loo.cpp): each
// training point predicted from all the others (skipped by index), one
// exponential per unordered pair. Writes out (n x k) and returns true; or
// returns false, writing nothing, where the scheme does not apply (another
// kernel, a sample weight <= 0, fewer than 2 points, a bandwidth so small
// against the spread of nearest-neighbour distances that the factors leave
// T's range, or a training set too large for its buffers): the caller then
// uses predict_grid with exclude. Same bits for any n_threads; throws
// kreg::Cancelled when `cancel` is set.
template <class T>
bool predict_loo_symmetric(const Problem<T>& p, double inv_h2, MatrixView<T> out, int n_threads,
                           const CancelToken* cancel = nullptr);

}  // namespace kreg::nw
