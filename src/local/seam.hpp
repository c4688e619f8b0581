// local/seam.hpp - local-constant and local-linear regression on the
// Nadaraya-Watson engines (nw/backend.hpp): the fused CPU tiles, CUDA, or
// any registered backend, with leave-one-out and k-fold by their exclusion
// schemes.
//
// The Gaussian product kernel over continuous columns is the NW engines'
// radial Gaussian with one bandwidth per feature, and every sum a local fit
// needs is a weighted mean of something fixed per training point. So NW
// predicts the augmented outputs, in standardised units u = (x - mean) / sd
// and v = (y - mean) / sd,
//
//   lc: [v]                                   (k = 1)
//   lc with gradients, ll: [v, u, u u^T (upper triangle), u v]
//                                              (k = 1 + d + d (d + 1) / 2 + d;
//                                               lc without the u u^T block)
//
// and each query solves its d x d system from their means:
//   S = E[u u^T] - E[u] E[u]^T,  C = E[u v] - E[u] E[v],
//   ll: b = S^-1 C (the column-scaled Cholesky of local/engine.cpp), fit
//       E[v] + b . (u_z - E[u]); lc: fit E[v], gradient C_f / h_f^2.
// Forming S and C from means cancels: their absolute errors are about
// delta E[u^2], with delta the relative error of the engines' means (double
// rounding over the sums: 1e-16 to 1e-15), and the column-scaled Cholesky
// factorisation divides them by its pivots. A query whose
// max_f E[u_f^2] / S_ff over the smallest pivot exceeds kMaxCondition (a
// narrow bandwidth, a query beyond the data, nearly collinear neighbours:
// few points carry its weight) is therefore refitted by the local engine,
// which centres per query, and counted in report.refitted. lc's gradient
// C_f / h_f^2 carries delta (sd_f / h_f)^2 in units of sd(y) / sd_f, so with
// a continuous h_f below kNarrow sd_f lc's gradients run on the local engine.
// So the seam's results agree with the local engine's to about 1e-10 of
// sd(y) (tested to 1e-9).
#pragma once

#include <memory>
#include <span>
#include <string>
#include <vector>

#include "kreg/kernel_regression.hpp"

namespace kreg::local {

// The largest conditioning (above) a query's system may have on the seam:
// delta kMaxCondition is about 1e-10.
inline constexpr double kMaxCondition = 1e5;
// Bandwidth over standard deviation below which lc's gradients are not
// formed from means (above): delta / kNarrow^2 is about 1e-10.
inline constexpr double kNarrow = 3e-3;

// The training set as the NW engines get it (made once by fit).
struct Seam;

// Empty when `options` (with `types`, one per column) can run on the NW
// engines; otherwise why not, for users.
std::string seam_unsupported(const KernelRegressionOptions& options,
                             std::span<const VarType> types);

std::shared_ptr<const Seam> make_seam(MatrixView<const double> X, std::span<const double> y,
                                      const KernelRegressionOptions& options);

// Whether the seam computes this call (lc's gradients at narrow bandwidths
// do not: above).
bool seam_takes(const Seam& seam, bool gradients);

// As KernelRegression's predict, predict_loo and predict_kfold (validated by
// the caller), but for the queries in `refit` (ascending), which the caller
// refits on the local engine; report.engine names the NW engine that ran.
struct SeamFit {
  KernelFit fit;
  std::vector<index_t> refit;
};
SeamFit seam_predict(const Seam& seam, MatrixView<const double> Z, bool gradients,
                     const CancelToken* cancel);
SeamFit seam_loo(const Seam& seam, bool gradients, const CancelToken* cancel);
SeamFit seam_kfold(const Seam& seam, std::span<const index_t> fold_of, bool gradients,
                   const CancelToken* cancel);

}  // namespace kreg::local
