// cuda/kernels.hpp - the CUDA engine's kernels as the host code launches
// them (src/cuda/kernels.cu). Plain C++ with the CUDA runtime's types, so
// that g++ compiles the backend (src/cuda/backend.cpp) and only the kernels
// go through nvcc.
//
// A predict is two launches per group of up to kGroup outputs and block of
// up to kBands bandwidths (predict_grid with k = 1; otherwise one):
//   partials: a grid of (query blocks of kThreads) x (splits of the training
//     set); each thread sums one query over one split, tile by tile (kTile
//     points, their features staged through shared memory kFeat at a time),
//     forming each squared distance once and adding it to every bandwidth's
//     State with its online shift (cuda/tile_math.hpp's update_tile);
//   combine: one thread per query and bandwidth merges its splits' states in
//     split order (flash-decoding) and writes the predictions.
// Splitting the training set lets a few thousand queries fill every SM.
#pragma once

#include <cuda_runtime_api.h>

#include <cstdint>

#include "cuda/tile_math.hpp"

namespace kreg::cuda {

inline constexpr int kThreads = 128;  // queries per block
inline constexpr int kTile = 32;      // training points per tile (a thread's registers)
inline constexpr int kFeat = 32;      // features per shared-memory stage
inline constexpr int kSmallD = 8;     // up to this many features: the query stays in registers
// float from this many features: distances in the norm form with the dot
// products on tensor cores (3xTF32, cuda/tf32.hpp); below it, and for double,
// exact differences on the FMA pipe, which stay accurate without centring
// and cost little beside the exponential at small d.
inline constexpr int kTensorCoreMinD = 32;
inline constexpr int kGroup = 4;  // outputs per pass (k > 1); k = 1 has its own pass
// Bandwidths per pass of predict_grid with k = 1 in float: their states (a
// double sum and numerator each) stay in registers beside the tile's
// distances. k > 1 passes take one bandwidth (kGroup outputs' states already
// fill the registers), and so does double, whose exponential costs many
// times its few distance FMAs at small d (and whose 8-band kernels would
// nearly double the file's compile time).
inline constexpr int kBands = 8;

// The training set on the device: n x d points, n x k targets (row-major,
// contiguous) and n sample weights (null: all ones); points of zero weight
// were dropped before upload.
template <class T>
struct DeviceTraining {
  const T* X = nullptr;
  const T* Y = nullptr;
  const T* w = nullptr;
  std::int64_t n = 0, d = 0, k = 0;
};

// One pass: queries Z (m x d, contiguous), outputs [c0, c0 + kc) of nb
// bandwidths (nb <= kBands for float with kc == 1, else 1), exclude (m packed
// indices, -1 none; or null), the training set cut into `splits` parts of
// `chunk` points. `partials` holds splits * nb * m states of
// kc == 1 ? 1 : kGroup outputs (partial_bytes).
template <class T>
struct Pass {
  DeviceTraining<T> train;
  const T* Z = nullptr;
  std::int64_t m = 0;
  KernelKind kernel = KernelKind::gaussian;
  Bandwidth<T> bandwidth[kBands]{};
  int nb = 1;
  const std::int64_t* exclude = nullptr;
  int c0 = 0, kc = 1;
  int splits = 1;
  std::int64_t chunk = 0;
  void* partials = nullptr;
};

// Bytes of partials a pass needs.
template <class T>
std::size_t partial_bytes(std::int64_t m, int splits, int kc, int nb);

// Launches the partial sums, then the combine, which writes prediction
// (q, c) of output c0 + c and bandwidth b of the pass to
// out[q * ldo + col0 + b + c * col_stride] and, when `isolated` is not null,
// adds bandwidth b's isolated queries to isolated[b]. Returns the launch's
// error (cudaSuccess when both were queued).
template <class T>
cudaError_t launch_pass(const Pass<T>& pass, T* out, std::int64_t ldo, std::int64_t col0,
                        std::int64_t col_stride, unsigned long long* isolated, cudaStream_t stream);

}  // namespace kreg::cuda
