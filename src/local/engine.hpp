// local/engine.hpp - the training set as KernelRegression keeps it, and the
// per-query fit (local/engine.cpp) every entry point calls.
//
// Layout: columns are contiguous and padded to np = padded(n) entries
// (column f of the training points is cols[f * np .. f * np + n)), so each
// pass over the training points is a stride-1 vector loop per column
// (local/simd.hpp). Padding entries hold x = 0, y = 0 and log-weight -inf:
// weight 0. Continuous columns are centred on their training mean; discrete
// ones keep their levels, compared exactly.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <vector>

#include "kreg/kernel_regression.hpp"

namespace kreg {

namespace local {
struct Seam;  // local/seam.hpp
}

struct KernelRegression::Prepared {
  index_t n = 0, d = 0;
  index_t np = 0;  // n padded to a multiple of local::kPad
  RegType reg = RegType::local_linear;
  Kernel kernel = Kernel::gaussian;
  BandwidthType bwtype = BandwidthType::fixed;
  std::vector<VarType> types;
  // Every column continuous, Gaussian kernel, no adaptive bandwidths: the
  // log-weights take local/simd.hpp's one fused pass.
  bool gaussian_only = false;
  std::vector<double> center;     // per column: mean (continuous), 0 (discrete)
  std::vector<double> var;        // per column: training variance (rank checks)
  std::vector<double> cols;       // d x np, column-major
  std::vector<double> y;          // np
  std::vector<double> bandwidth;  // as given (fixed h, nn k, lambda)
  // Discrete columns: log l for equal levels and for unequal ones (the
  // latter plus |dx| log lambda where the kernel has a power: ordered).
  std::vector<double> log_eq, log_ne, log_lambda;
  std::vector<char> power;  // 1: l = c * lambda^|dx| for unequal levels
  // generalized_nn: each continuous column's values, sorted.
  std::vector<std::vector<double>> sorted;
  // adaptive_nn: h_jf (d x np, continuous columns only; 1 elsewhere) and
  // -sum_f log h_jf per training point (np; -inf in the padding).
  std::vector<double> adaptive_h, adaptive_log_norm;
  // Nearest-point fallback scale per continuous column (fixed: h; nn: the
  // column's standard deviation, or 1).
  std::vector<double> fallback_scale;
  // Set when the fits run on the Nadaraya-Watson engines (local/seam.hpp).
  std::shared_ptr<const local::Seam> seam;

  const double* col(index_t f) const { return cols.data() + f * np; }
  double x(index_t f, index_t j) const { return col(f)[j]; }
};

namespace local {

// What one query's fit returns.
struct QueryFit {
  double mean = 0;
  bool isolated = false, rank_deficient = false;
  double self_hat = 0;  // H_ii: the weight of training point `self` in the fit (hat trace)
};

// Scratch space for one thread's queries (resized on first use).
struct Scratch {
  std::vector<double> logw, w, h, ll;
  std::vector<double> z;  // the query, centred (filled by the callers)
};

// Fits the query z (d values, already centred like the training set).
// `exclude` >= 0 leaves that training point out (leave-one-out), and with
// `fold_of` (a fold number per training point) every point of its fold
// (k-fold; nearest-neighbour bandwidths still skip only the point); `self` >= 0
// asks for H_ii of that training point. `gradient` (d values, or empty)
// receives the slopes (ll) or the derivative along continuous columns (lc;
// discrete columns are left 0 for the caller).
QueryFit fit_query(const KernelRegression::Prepared& p, std::span<const double> z, index_t exclude,
                   index_t self, std::span<double> gradient, Scratch& scratch,
                   std::span<const index_t> fold_of = {});

// The local-linear solve of every engine. S (d x d, row-major) holds in its
// upper triangle the centred weighted scatter, C the centred cross sums with
// y, v the query minus the weighted mean (all three overwritten); direction
// a is unidentified where S_aa <= floor_scale * floor_ref[a], or where its
// pivot of the column-scaled Cholesky factorisation falls below pivot_tol
// (the local engine's: 1e-10).
// Returns b . v, q = v^T S^-1 v (over the identified directions), whether
// any direction was dropped and the smallest pivot kept; `slopes` (d values, or empty) receives b,
// 0 for unidentified directions. `work` has 5 d doubles.
struct LinearSolve {
  double delta = 0, q = 0;
  bool rank_deficient = false;
  double min_pivot = 1;  // the smallest kept pivot of the scaled factorisation
};
LinearSolve solve_local_linear(index_t d, double* S, double* C, double* v, double floor_scale,
                               const double* floor_ref, double pivot_tol, std::span<double> slopes,
                               double* work);

// The k-th smallest |v - sorted[i]| (k >= 1) over a sorted column, skipping
// one element equal to v when `skip_self`; a zero distance is replaced by the
// next larger one (ties), and 1 when every value equals v.
double kth_distance(std::span<const double> sorted, double v, index_t k, bool skip_self);

}  // namespace local
}  // namespace kreg
