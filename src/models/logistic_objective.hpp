// models/logistic_objective.hpp - the loss LogisticRegression minimises, and
// its gradient, over fixed blocks of rows.
//
// The problem, over the (standardised) features z_i and class indices y_i:
//
//     f(W, b) = (1/n) sum_i [logsumexp(W z_i + b) - (W z_i + b)_{y_i}]
//               + ||W||^2 / (2 C n)
//
// scikit-learn's LogisticRegression(solver='lbfgs') objective (its
// LinearModelLoss with l2_reg_strength = 1 / (C n)); the intercept is not
// penalised.
//
// Gradient: the rows are cut into blocks of kBlockRows (fixed, whatever
// n_jobs). A block computes its logits with one dgemm, a max-shifted log-
// softmax, R = P - Y, its share of the loss and its gradient R^T Z (a second
// dgemm). The block partials are summed in block order, so the objective and
// gradient - and hence the whole L-BFGS path - are the same bits for any
// n_jobs.
#pragma once

#include <cstddef>
#include <utility>
#include <vector>

#include "kreg/matrix.hpp"

namespace kreg::logistic {

// Rows per gradient block: big enough for efficient dgemm, small enough to
// spread 10000 rows over many threads. Part of the arithmetic's definition.
inline constexpr index_t kBlockRows = 512;

// The training problem in double, standardised, with class indices.
struct Problem {
  Matrix<double> Z;        // n x d
  std::vector<index_t> y;  // class index per row
  index_t K = 0;
  bool intercept = true;
  double l2 = 0.0;  // 1 / (C n)
  int threads = 1;

  index_t n() const { return Z.rows(); }
  index_t d() const { return Z.cols(); }
  index_t n_vars() const { return K * d() + (intercept ? K : 0); }
  index_t n_blocks() const { return (n() + kBlockRows - 1) / kBlockRows; }
};

// Objective and gradient over fixed row blocks; owns the per-block scratch.
//
// Two modes. Absolute: f itself. Anchored (after set_anchor(theta_a)): f(theta)
// - f(theta_a), computed from the differences themselves so that it keeps its
// relative precision when tiny: with D = Z (W - W_a)^T + (b - b_a) (W - W_a is
// exact for nearby points), each row's loss changes by
//     log1p(sum_k p_a,k expm1(D_k)) - D_y        (p_a = softmax at theta_a)
// and the penalty by (W - W_a) . (W + W_a) / (2 C n). Near the optimum f
// changes by ~|g|^2 / curvature, far below the rounding of f itself (1e-17
// for f ~ 0.1): a line search on absolute values cannot get the gradient much
// below 1e-9, one on anchored values can. The gradient is the same in both.
class Objective {
 public:
  explicit Objective(const Problem& p);

  // f(theta) (or f(theta) - f(theta_a) when anchored); the gradient goes to
  // g. theta = [W (K x d, row-major), b (K)].
  double operator()(const double* theta, double* g);

  // From now on, values are relative to theta_a.
  void set_anchor(const double* theta);
  bool anchored() const { return !anchor_.empty(); }

 private:
  double inv_n() const { return 1.0 / static_cast<double>(p_.n()); }
  template <class F>
  void for_blocks(const F& fn);
  // S (rows x K) = Z[r0 : r0 + rows] W^T + b.
  void logits(index_t r0, index_t rows, const double* W, const double* b, double* S) const;
  // P = softmax(s), max-shifted; returns log(sum exp(s - max)) and the max.
  std::pair<double, double> softmax(const double* s, double* P) const;
  // Block blk's loss sum (unscaled; a difference when anchored) and gradient
  // share (scaled by 1/n).
  void block(index_t blk, const double* W, const double* b);

  const Problem& p_;
  std::vector<double> logits_;
  std::vector<double> partial_;
  std::vector<double> loss_;
  // Anchored mode: theta_a, theta - theta_a, and the logits and softmax at theta_a.
  std::vector<double> anchor_, delta_, anchor_logits_, anchor_p_;
};

}  // namespace kreg::logistic
