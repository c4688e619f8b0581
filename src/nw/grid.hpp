// nw/grid.hpp - what the many-bandwidth engine's per-target SIMD code shares
// with its driver (both in nw/grid.cpp). Training tiles as in nw/fused.hpp.
#pragma once

#include <atomic>

#include "kreg/matrix.hpp"
#include "kreg/nw.hpp"
#include "nw/fused.hpp"

namespace kreg::nw::grid {

template <class T>
struct Job {
  fused::Tiles<T> tiles;
  index_t first_tile = 0;  // index of this chunk's first tile among all tiles
  index_t B = 0;           // bandwidths
  const double* inv_h2 = nullptr;
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
};

}  // namespace kreg::nw::grid
