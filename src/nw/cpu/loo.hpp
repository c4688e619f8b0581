// nw/cpu/loo.hpp - what the symmetric leave-one-out engine's per-target SIMD
// code shares with its driver (both in nw/cpu/loo.cpp).
#pragma once

#include "kreg/interrupt.hpp"
#include "kreg/matrix.hpp"
#include "nw/cpu/tiled.hpp"

namespace kreg::nw::loo {

// How small a point's largest weight may be, 2^-kRangeExp2: the exponential's
// clamp 2^-kMinExp2 is then below 2^-kSkipExp2 of it, negligible
// (nw/cpu/tiled.hpp).
template <class T>
inline constexpr double kRangeExp2 = tiled::kMinExp2<T> - tiled::kSkipExp2<T>;

// Tiles: all n points in one chunk (nw/cpu/tiled.hpp), packed position = row.
// Task I writes row_sums[i * (1 + k) + e] for its rows i (e = 0: the sum of
// weights, 1 + c: of weight times y[c]) and col_sums[(I * n + j) * (1 + k) + e]
// for the rows j of later tiles.
template <class T>
struct Job {
  tiled::Tiles<T> tiles;
  index_t n = 0;
  const T* z = nullptr;  // the n points, row-major, row stride ldz
  index_t ldz = 0;
  const T* zn = nullptr;  // tiled::QueryNorms: per point ||x||^2 or NaN; null: no norm form
  double inv_h2 = 1.0;
  const T* sy = nullptr;  // sy[i * (1 + k)]: point i's sample weight s_i, then s_i y_i[c]
  double* row_sums = nullptr;
  double* col_sums = nullptr;
  // Polled once per group of rows and tile; when requested, a task returns
  // early with its sums unfinished and the driver throws kreg::Cancelled.
  // nullptr: never cancelled.
  const CancelToken* cancel = nullptr;
  bool cancelled() const { return cancel != nullptr && cancel->requested(); }
};

}  // namespace kreg::nw::loo
