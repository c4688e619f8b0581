// nw/engine.hpp - the contract between NadarayaWatson and its engines.
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

#include <span>

#include "kreg/matrix.hpp"
#include "kreg/nw.hpp"

namespace kreg::nw {

template <class T>
struct Problem {
  MatrixView<const T> X;       // n x d, centred/scaled training points
  MatrixView<const T> Y;       // n x k targets
  std::span<const T> weights;  // n sample weights, or empty for all ones
  Kernel kernel = Kernel::gaussian;
  double inv_h2 = 1.0;
};

// Each writes `out` (m x k) for queries Z (m x d, centred/scaled like X),
// using `n_threads` threads (>= 1), and returns the isolated-query count.
template <class T>
index_t predict_reference(const Problem<T>& p, MatrixView<const T> Z, MatrixView<T> out,
                          int n_threads);
template <class T>
index_t predict_vectorized(const Problem<T>& p, MatrixView<const T> Z, MatrixView<T> out,
                           int n_threads);
template <class T>
index_t predict_fused(const Problem<T>& p, MatrixView<const T> Z, MatrixView<T> out, int n_threads);

}  // namespace kreg::nw
