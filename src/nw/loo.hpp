// nw/loo.hpp - what the symmetric leave-one-out engine's per-target SIMD
// code shares with its driver (both in nw/loo.cpp).
#pragma once

#include "kreg/matrix.hpp"
#include "nw/fused.hpp"

#include <limits>

namespace kreg::nw::loo {

// The exponential's clamp, 2^-kMinExp2 (as nw/fused.cpp), and how small a
// point's largest weight may be, 2^-kRangeExp2: the clamp is then below
// 2^-64 (double) or 2^-40 (float) of it, negligible as in nw/grid.cpp.
template <class T>
inline constexpr double kMinExp2 = std::numeric_limits<T>::digits == 24 ? 100.0 : 1000.0;
template <class T>
inline constexpr double kRangeExp2 = kMinExp2<T> -
                                     (std::numeric_limits<T>::digits == 24 ? 40.0 : 64.0);

// Tiles: all n points in one chunk (nw/fused.hpp), packed position = row.
// Task I writes row_sums[i * (1 + k) + e] for its rows i (e = 0: the sum of
// weights, 1 + c: of weight times y[c]) and col_sums[(I * n + j) * (1 + k) + e]
// for the rows j of later tiles.
template <class T>
struct Job {
  fused::Tiles<T> tiles;
  index_t n = 0;
  const T* z = nullptr;  // the n points, row-major, row stride ldz
  index_t ldz = 0;
  double inv_h2 = 1.0;
  const T* sy = nullptr;  // sy[i * (1 + k)]: point i's sample weight s_i, then s_i y_i[c]
  double* row_sums = nullptr;
  double* col_sums = nullptr;
};

}  // namespace kreg::nw::loo
