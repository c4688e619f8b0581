// kreg/kernel_regression.hpp - local-constant and local-linear kernel
// regression with mixed data types: the estimators of statsmodels' KernelReg
// and R's np (npreg, npregbw).
//
// The fit at a query z weights training point j by a product kernel over the
// columns,
//
//   w_j(z) = prod_{continuous f} k((x_jf - z_f) / h_f)
//          * prod_{discrete f}   l(x_jf, z_f, lambda_f),
//
// with k one of kreg's kernels as a one-dimensional kernel (the Gaussian is
// statsmodels' and np's default) and l the kernel of an ordered (Wang-van
// Ryzin, or Li-Racine) or unordered (Aitchison-Aitken, or Li-Racine) column.
//
//   * local-constant (lc): m(z) = sum_j w_j y_j / sum_j w_j (Nadaraya-Watson);
//   * local-linear (ll): the weighted least-squares fit of y on (1, x - z),
//     over every column as statsmodels' KernelReg does; m(z) is its intercept
//     and its slopes are the gradient.
//
// Numerical contract (tested against statsmodels and a long-double oracle):
//   * Weights are formed as logarithms and shifted by the query's largest, so
//     no bandwidth underflows them; data are centred on the training mean.
//   * A query whose weights are all zero (compact kernels, a discrete column
//     with lambda = 0) gets the mean y of its nearest training points
//     (scaled distance over the continuous columns plus the number of
//     mismatched discrete levels) and is counted in `isolated`.
//   * ll: directions the local design cannot identify (a column constant
//     among the weighted points, collinear neighbours: a pivot of the
//     column-scaled, centred weighted scatter below 1e-10) get slope 0, that
//     is the fit is local-constant along them, and the query is counted in
//     `rank_deficient`. Never NaN.
//   * Every query's sums are reduced in a fixed order on one thread: results
//     do not depend on n_jobs.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "kreg/matrix.hpp"
#include "kreg/nw.hpp"

namespace kreg {

class CancelToken;

enum class RegType { local_constant, local_linear };  // "lc", "ll"
enum class VarType : char { continuous = 'c', ordered = 'o', unordered = 'u' };
// Kernels of discrete columns: statsmodels' defaults (Wang-van Ryzin for
// ordered, Aitchison-Aitken for unordered), or Li-Racine's (np's defaults).
enum class DiscreteKernels { statsmodels, li_racine };
// How bandwidths of continuous columns are given (np's bwtype):
//   fixed           h_f itself;
//   generalized_nn  an integer k_f: a query's h_f is the distance from z_f to
//                   its k_f-th nearest training value in column f;
//   adaptive_nn     an integer k_f: training point j's h_jf is the distance
//                   from x_jf to its k_f-th nearest other training value, and
//                   its weight carries the kernel's 1 / h_jf.
// A zero k-th distance (ties) takes the next larger distinct distance.
enum class BandwidthType { fixed, generalized_nn, adaptive_nn };
// Bandwidth selection criteria: leave-one-out least squares, and Hurvich,
// Simonoff and Tsai's corrected AIC.
enum class Criterion { cv_ls, aic };

RegType parse_reg_type(std::string_view name);                  // "lc", "ll"
std::vector<VarType> parse_var_type(std::string_view letters);  // "cco"
BandwidthType parse_bandwidth_type(std::string_view name);      // "fixed", "generalized_nn", ...
Criterion parse_criterion(std::string_view name);               // "cv_ls", "aic"
DiscreteKernels parse_discrete_kernels(std::string_view name);  // "statsmodels", "li_racine"
std::string_view to_string(RegType reg);
std::string_view to_string(BandwidthType type);
std::string_view to_string(Criterion criterion);
std::string_view to_string(DiscreteKernels kernels);

struct KernelRegressionOptions {
  RegType reg = RegType::local_linear;  // statsmodels' default
  std::vector<VarType> var_type{};      // one per column; empty: all continuous
  Kernel kernel = Kernel::gaussian;     // continuous columns
  DiscreteKernels discrete = DiscreteKernels::statsmodels;
  BandwidthType bwtype = BandwidthType::fixed;
  // One per column: h_f > 0 (fixed) or an integer k_f in [1, n - 1] (nn) for
  // continuous columns; lambda in [0, 1] for ordered and Li-Racine unordered
  // columns, in [0, (c - 1) / c] for Aitchison-Aitken unordered ones with c
  // levels. Checked at fit.
  std::vector<double> bandwidth{};
  int n_jobs = -1;
  // Which engine computes the fits. auto on the CPU: kreg's local engine
  // (src/local/), which does every column type, kernel and bwtype. A named
  // Nadaraya-Watson engine ("fused", "cuda", ...), device cuda, or auto where
  // auto's Nadaraya-Watson choice is a device (a GPU): the fits run on that
  // engine through the backend seam (src/local/seam.hpp), for continuous
  // columns, fixed bandwidths and the Gaussian kernel (else ArgumentError
  // at fit, saying why). aic and hat_trace always run on the local engine:
  // H_ii needs the weight sums, which the engines do not return.
  Engine engine = Engine::automatic;
  Device device = Device();
};

struct KernelRegressionReport {
  index_t isolated = 0;        // queries with no weight at all (see above)
  index_t rank_deficient = 0;  // ll queries with at least one slope set to 0
  // On the Nadaraya-Watson engines: queries whose local design the engines'
  // weighted means cannot resolve to about 1e-9 (a narrow bandwidth, a query
  // beyond the data, nearly collinear columns), refitted by the local engine.
  index_t refitted = 0;
  Engine engine{"local"};  // the engine that computed the fits
};

// The fit at m queries: mean (m) and, when asked, gradient (m x d):
//   ll: the local slopes, every column (statsmodels' marginal effects);
//   lc: the derivative of m(z) for continuous columns (the bandwidths held
//       fixed), and for discrete columns np's convention, m(z) - m(z with
//       column f at its lowest training level).
struct KernelFit {
  std::vector<double> mean;
  Matrix<double> gradient;  // empty unless asked for
  KernelRegressionReport report;
};

class KernelRegression {
 public:
  explicit KernelRegression(KernelRegressionOptions options = {});

  // X is n x d (discrete columns hold their levels as numbers; ordered ones
  // are ordered by value), y has n values. Throws ArgumentError for a
  // bandwidth or var_type that does not fit the data, InputError for
  // non-finite data.
  KernelRegression& fit(MatrixView<const double> X, std::span<const double> y);

  KernelFit predict(MatrixView<const double> Z, bool gradients = false,
                    const CancelToken* cancel = nullptr) const;

  // Leave-one-out predictions at the training points (m_{-i}(x_i)).
  KernelFit predict_loo(bool gradients = false, const CancelToken* cancel = nullptr) const;
  // k-fold predictions at the training points: point i predicted without
  // every training point of its fold (fold_of: one fold number >= 0 per
  // training point, at least two folds; kreg::kfold's splits give them).
  // Nearest-neighbour bandwidths leave out only the point itself.
  KernelFit predict_kfold(std::span<const index_t> fold_of, bool gradients = false,
                          const CancelToken* cancel = nullptr) const;

  // The criteria at the fitted bandwidths:
  //   cv_ls: (1/n) sum_i (y_i - m_{-i}(x_i))^2, statsmodels' cv_loo;
  //   aic:   log(sigma^2) + (1 + tr(H)/n) / (1 - (tr(H) + 2)/n), with
  //          sigma^2 = (1/n) sum_i (y_i - m(x_i))^2 and H the estimator's own
  //          hat matrix (for ll its trace is the ll smoother's; statsmodels
  //          uses the lc trace for both). +inf where tr(H) + 2 >= n.
  double criterion(Criterion which, const CancelToken* cancel = nullptr) const;
  // tr(H) and sigma^2 of the aic above.
  double hat_trace(const CancelToken* cancel = nullptr) const;

  bool fitted() const { return n_ > 0; }
  // Whether predictions run on the Nadaraya-Watson engines (options' engine
  // and device, above), not on the local engine.
  bool on_nw_engines() const;
  index_t n_samples() const { return n_; }
  index_t n_features() const { return d_; }
  const KernelRegressionOptions& options() const { return options_; }
  // The levels of discrete column f, sorted (empty for continuous columns).
  const std::vector<double>& levels(index_t f) const {
    return levels_[static_cast<std::size_t>(f)];
  }

  struct Prepared;  // the training set as the engine keeps it (src/local/)

 private:
  KernelRegressionOptions options_;
  index_t n_ = 0, d_ = 0;
  std::vector<std::vector<double>> levels_;
  std::shared_ptr<const Prepared> prepared_;
};

// ---- bandwidth selection -------------------------------------------------

struct KernelSelectOptions {
  Criterion criterion = Criterion::cv_ls;
  // First point: empty for statsmodels' 1.06 sd n^(-1/(4 + d)) per
  // continuous column (nn: k = sqrt(n)) and 0.5 of each discrete column's
  // upper bound.
  std::vector<double> initial{};
  // Nelder-Mead runs after the first (which starts with statsmodels' 5%
  // simplex), each with a wide simplex: from the start, then from the best
  // point; the best result of all is kept. 0: statsmodels' single run.
  // cv_ls surfaces can have several minima, and on flat ones the narrow run
  // can drift: the default wide run guards against both.
  int restarts = 1;
  int max_evaluations = 1000;  // per run
};

struct KernelSelectResult {
  std::vector<double> bandwidth;  // the selected bandwidths (nn: integers k)
  double objective = 0;           // the criterion there
  int evaluations = 0;
  bool converged = false;
};

// Minimises the criterion over the bandwidths by Nelder-Mead in transformed
// coordinates (log h for continuous columns, log k for nn, a logistic map
// onto each discrete column's range), options.bandwidth ignored.
KernelSelectResult select_kernel_bandwidth(MatrixView<const double> X, std::span<const double> y,
                                           const KernelRegressionOptions& options,
                                           const KernelSelectOptions& select = {},
                                           const CancelToken* cancel = nullptr);

// ---- bootstrap ------------------------------------------------------------

struct BootstrapResult {
  std::vector<double> mean_se;  // standard error of m(z) per query
  Matrix<double> gradient_se;   // m x d, empty unless gradients
  int replicates = 0;
};

// Pairs bootstrap at fixed bandwidths: each of B replicates draws n training
// rows with replacement (seeded by replicate: par::task_seed(seed, b)), fits
// and predicts Z; the standard errors are the replicates' sample standard
// deviations (ddof 1). Replicates run in parallel (options.n_jobs) and are
// reduced in replicate order: the same bits for any n_jobs.
BootstrapResult bootstrap_kernel_regression(MatrixView<const double> X, std::span<const double> y,
                                            MatrixView<const double> Z,
                                            const KernelRegressionOptions& options, int replicates,
                                            std::uint64_t seed, bool gradients = false,
                                            const CancelToken* cancel = nullptr);

}  // namespace kreg
