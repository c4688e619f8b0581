// local/seam.cpp - KernelRegression on the Nadaraya-Watson engines
// (local/seam.hpp says how).
#include "local/seam.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include "kreg/error.hpp"
#include "kreg/interrupt.hpp"
#include "kreg/nw.hpp"
#include "kreg/par.hpp"
#include "kreg/select.hpp"
#include "local/engine.hpp"

namespace kreg::local {

struct Seam {
  index_t n = 0, d = 0;
  RegType reg = RegType::local_linear;
  Matrix<double> X;                   // n x d, as given (the NW front centres it)
  Matrix<double> aug;                 // n x k: the augmented outputs (seam.hpp)
  std::vector<double> center, scale;  // per column: u = (x - center) / scale
  double y_center = 0, y_scale = 1;   // v = (y - y_center) / y_scale
  std::vector<double> bandwidth;      // h_f
  KernelRegressionOptions options;

  // Offsets of the blocks in aug's columns: v at 0, u at 1, then u u^T's
  // upper triangle (ll only), then u v.
  index_t uu() const { return 1 + d; }
  index_t uv() const { return reg == RegType::local_linear ? 1 + d + d * (d + 1) / 2 : 1 + d; }
  index_t k() const { return uv() + d; }
};

namespace {

// The outputs NW must predict: v alone, or every block.
MatrixView<const double> outputs(const Seam& s, bool all) {
  return {s.aug.data(), s.n, all ? s.k() : 1, s.k()};
}

NadarayaWatsonOptions nw_options(const Seam& s) {
  NadarayaWatsonOptions o;
  o.kernel = Kernel::gaussian;
  o.bandwidth = s.bandwidth;
  o.engine = s.options.engine;
  o.n_jobs = s.options.n_jobs;
  o.device = s.options.device;
  return o;
}

// Solves every query's system from its row of means (k or 1 values, in
// standardised units) and the query itself (zs: standardised, m x d).
SeamFit solve_all(const Seam& s, MatrixView<const double> means, MatrixView<const double> zs,
                  bool gradients, int n_jobs, const CancelToken* cancel) {
  const index_t m = means.rows(), d = s.d;
  const auto du = static_cast<std::size_t>(d);
  SeamFit result;
  KernelFit& out = result.fit;
  out.mean.assign(static_cast<std::size_t>(m), 0.0);
  if (gradients) out.gradient = Matrix<double>(m, d);
  if (s.reg == RegType::local_constant && !gradients) {
    for (index_t i = 0; i < m; ++i) {
      out.mean[static_cast<std::size_t>(i)] = s.y_center + s.y_scale * means(i, 0);
    }
    return result;
  }
  std::vector<unsigned char> refit(static_cast<std::size_t>(m), 0);
  constexpr index_t kQueriesPerTask = 256;
  par::Options po;
  po.n_jobs = n_jobs;
  po.cancel = cancel;
  par::parallel_for(
      (m + kQueriesPerTask - 1) / kQueriesPerTask,
      [&](index_t t) {
        std::vector<double> buf(du * du + 9 * du);
        double* S = buf.data();
        double* C = S + du * du;
        double* v = C + du;
        double* ref = v + du;
        double* work = ref + du;  // 5 d
        for (index_t i = t * kQueriesPerTask; i < std::min(m, (t + 1) * kQueriesPerTask); ++i) {
          const std::span<const double> row = means.row(i);
          const double vbar = row[0];
          const double* ubar = row.data() + 1;
          const double* uv = row.data() + s.uv();
          for (std::size_t a = 0; a < du; ++a) C[a] = uv[a] - ubar[a] * vbar;
          double mean = vbar;
          if (s.reg == RegType::local_constant) {
            // dm/dz_f = Cov_w(x_f, y) / h_f^2 for the Gaussian.
            for (std::size_t f = 0; f < du; ++f) {
              const double h = s.bandwidth[f];
              out.gradient(i, static_cast<index_t>(f)) = s.y_scale * s.scale[f] * C[f] / (h * h);
            }
          } else {
            const double* uu = row.data() + s.uu();
            std::size_t e = 0;
            double ratio = 1;  // max_a E[u_a^2] / S_aa
            for (std::size_t a = 0; a < du; ++a) {
              for (std::size_t c = a; c < du; ++c, ++e) S[a * du + c] = uu[e] - ubar[a] * ubar[c];
              ref[a] = uu[e - (du - a)];  // E[u_a^2]: that row's diagonal
              const double saa = S[a * du + a];
              ratio =
                  saa > 0 ? std::max(ratio, ref[a] / saa) : std::numeric_limits<double>::infinity();
              v[a] = zs(i, static_cast<index_t>(a)) - ubar[a];
            }
            const std::span<double> slopes =
                gradients ? out.gradient.view().row(i) : std::span<double>();
            const LinearSolve solved =
                ratio < kMaxCondition
                    ? solve_local_linear(d, S, C, v, 0.0, ref, 1 / kMaxCondition, slopes, work)
                    : LinearSolve{0, 0, true, 0};
            if (solved.rank_deficient || ratio / solved.min_pivot > kMaxCondition) {
              refit[static_cast<std::size_t>(i)] = 1;
              continue;
            }
            mean += solved.delta;
            for (std::size_t f = 0; f < du && gradients; ++f) {
              slopes[f] *= s.y_scale / s.scale[f];
            }
          }
          out.mean[static_cast<std::size_t>(i)] = s.y_center + s.y_scale * mean;
        }
      },
      po);
  for (index_t i = 0; i < m; ++i) {
    if (refit[static_cast<std::size_t>(i)]) result.refit.push_back(i);
  }
  return result;
}

// Rows of X (all when `rows` is empty) in standardised units.
Matrix<double> standardised(const Seam& s, MatrixView<const double> X,
                            std::span<const index_t> rows = {}) {
  const index_t m = rows.empty() ? X.rows() : static_cast<index_t>(rows.size());
  Matrix<double> out(m, s.d);
  for (index_t r = 0; r < m; ++r) {
    const index_t i = rows.empty() ? r : rows[static_cast<std::size_t>(r)];
    for (index_t f = 0; f < s.d; ++f) {
      const auto fu = static_cast<std::size_t>(f);
      out(r, f) = (X(i, f) - s.center[fu]) / s.scale[fu];
    }
  }
  return out;
}

Matrix<double> rows_of(MatrixView<const double> A, std::span<const index_t> rows) {
  Matrix<double> out(static_cast<index_t>(rows.size()), A.cols());
  for (std::size_t r = 0; r < rows.size(); ++r) {
    for (index_t c = 0; c < A.cols(); ++c) out(static_cast<index_t>(r), c) = A(rows[r], c);
  }
  return out;
}

}  // namespace

std::string seam_unsupported(const KernelRegressionOptions& o, std::span<const VarType> types) {
  if (std::any_of(types.begin(), types.end(), [](VarType t) { return t != VarType::continuous; })) {
    return "the Nadaraya-Watson engines take continuous columns only (var_type all 'c')";
  }
  if (o.bwtype != BandwidthType::fixed) {
    return fmt::format("the Nadaraya-Watson engines take fixed bandwidths only, not bwtype {}",
                       to_string(o.bwtype));
  }
  if (o.kernel != Kernel::gaussian) {
    return fmt::format(
        "the Nadaraya-Watson engines' kernels are radial, and only the Gaussian is a product "
        "kernel over the columns; kernel {} runs on the local engine",
        to_string(o.kernel));
  }
  return {};
}

std::shared_ptr<const Seam> make_seam(MatrixView<const double> X, std::span<const double> y,
                                      const KernelRegressionOptions& options) {
  auto s = std::make_shared<Seam>();
  const index_t n = X.rows(), d = X.cols();
  const auto du = static_cast<std::size_t>(d);
  s->n = n;
  s->d = d;
  s->reg = options.reg;
  s->options = options;
  s->bandwidth = options.bandwidth;
  s->X = Matrix<double>(n, d);
  for (index_t i = 0; i < n; ++i) {
    for (index_t f = 0; f < d; ++f) s->X(i, f) = X(i, f);
  }
  // Standardise on the training mean and standard deviation (1 for a
  // constant column), so that the means NW forms are O(1) and S's
  // cancellation is set by spread / h alone.
  const auto moments = [n](auto value, double& center, double& scale) {
    double mean = 0;
    for (index_t i = 0; i < n; ++i) mean += value(i);
    mean /= static_cast<double>(n);
    double var = 0;
    for (index_t i = 0; i < n; ++i) var += (value(i) - mean) * (value(i) - mean);
    var /= static_cast<double>(n);
    center = mean;
    scale = var > 0 ? std::sqrt(var) : 1.0;
  };
  s->center.assign(du, 0.0);
  s->scale.assign(du, 1.0);
  for (index_t f = 0; f < d; ++f) {
    moments([&](index_t i) { return X(i, f); }, s->center[static_cast<std::size_t>(f)],
            s->scale[static_cast<std::size_t>(f)]);
  }
  moments([&](index_t i) { return y[static_cast<std::size_t>(i)]; }, s->y_center, s->y_scale);
  const Matrix<double> u = standardised(*s, X);
  s->aug = Matrix<double>(n, s->k());
  for (index_t i = 0; i < n; ++i) {
    const double v = (y[static_cast<std::size_t>(i)] - s->y_center) / s->y_scale;
    s->aug(i, 0) = v;
    index_t e = s->uu();
    for (index_t a = 0; a < d; ++a) {
      s->aug(i, 1 + a) = u(i, a);
      s->aug(i, s->uv() + a) = u(i, a) * v;
      if (s->reg == RegType::local_linear) {
        for (index_t c = a; c < d; ++c) s->aug(i, e++) = u(i, a) * u(i, c);
      }
    }
  }
  return s;
}

bool seam_takes(const Seam& s, bool gradients) {
  if (s.reg == RegType::local_linear || !gradients) return true;
  for (std::size_t f = 0; f < s.bandwidth.size(); ++f) {
    if (!(s.bandwidth[f] >= kNarrow * s.scale[f])) return false;
  }
  return true;
}

SeamFit seam_predict(const Seam& s, MatrixView<const double> Z, bool gradients,
                     const CancelToken* cancel) {
  const bool all = gradients || s.reg == RegType::local_linear;
  NadarayaWatson<double> nw(nw_options(s));
  nw.fit(s.X.view(), outputs(s, all));
  PredictReport report;
  const Matrix<double> means = nw.predict(Z, &report, cancel);
  SeamFit out =
      solve_all(s, means.view(), standardised(s, Z).view(), gradients, s.options.n_jobs, cancel);
  out.fit.report.isolated = report.isolated;
  out.fit.report.engine = report.engine;
  return out;
}

SeamFit seam_loo(const Seam& s, bool gradients, const CancelToken* cancel) {
  const bool all = gradients || s.reg == RegType::local_linear;
  CvOptions o;
  o.kernel = Kernel::gaussian;
  o.cv.kind = CvSpec::Kind::loo;
  o.scoring = Scoring::mse;
  o.n_jobs = s.options.n_jobs;
  o.engine = s.options.engine;
  o.device = s.options.device;
  const BandwidthCV<double> cv(s.X.view(), outputs(s, all), {}, o);
  const Matrix<double> means = cv.predict(BandwidthSet{s.bandwidth, {1.0}}, cancel);
  SeamFit out = solve_all(s, means.view(), standardised(s, s.X.view()).view(), gradients,
                          s.options.n_jobs, cancel);
  out.fit.report.engine = cv.engine();
  return out;
}

SeamFit seam_kfold(const Seam& s, std::span<const index_t> fold_of, bool gradients,
                   const CancelToken* cancel) {
  const bool all = gradients || s.reg == RegType::local_linear;
  const index_t folds = *std::max_element(fold_of.begin(), fold_of.end()) + 1;
  Matrix<double> means(s.n, all ? s.k() : 1);
  Engine engine;
  index_t isolated = 0;
  // Each fold predicted from the others' points: out-of-fold sums formed
  // directly (as BandwidthCV's k-fold), never as all minus own.
  for (index_t g = 0; g < folds; ++g) {
    std::vector<index_t> in, test;
    for (index_t i = 0; i < s.n; ++i)
      (fold_of[static_cast<std::size_t>(i)] == g ? test : in).push_back(i);
    if (test.empty()) continue;
    NadarayaWatson<double> nw(nw_options(s));
    nw.fit(rows_of(s.X.view(), in).view(), rows_of(outputs(s, all), in).view());
    PredictReport report;
    const Matrix<double> part = nw.predict(rows_of(s.X.view(), test).view(), &report, cancel);
    for (std::size_t r = 0; r < test.size(); ++r) {
      for (index_t c = 0; c < part.cols(); ++c)
        means(test[r], c) = part(static_cast<index_t>(r), c);
    }
    isolated += report.isolated;
    engine = report.engine;
  }
  SeamFit out = solve_all(s, means.view(), standardised(s, s.X.view()).view(), gradients,
                          s.options.n_jobs, cancel);
  out.fit.report.engine = engine;
  out.fit.report.isolated = isolated;
  return out;
}

}  // namespace kreg::local
