// models/logistic.cpp - LogisticRegression (kreg/linear.hpp): multinomial
// logistic regression with an L2 penalty, trained by L-BFGS (libLBFGS).
//
// The objective (scikit-learn's, with its L2 penalty) and its gradient are in
// models/logistic_objective.hpp; they are the same bits for any n_jobs.
// Started at zero like scikit-learn. OpenBLAS is held single-threaded for
// the whole fit (its own threads could split the products differently).
//
// Stopping, as scikit-learn via scipy: converged when max |gradient| <= tol
// (checked at the start and after every iteration), else after max_iter
// iterations. libLBFGS's own tests are switched off (epsilon = 0, no
// max_iterations). Its line search compares objective values, which stop
// resolving the progress once |gradient| is near 1e-9 (the changes fall
// below the rounding of f); when a line search fails, L-BFGS restarts from
// the last accepted point on objective values anchored there (Objective's
// anchored mode), which resolve changes down to |gradient| ~ 1e-16. A failure
// that no restart gets past ends the fit, reported as such (FitReport::stop),
// never as convergence.
#include <cblas.h>
#include <fmt/format.h>
#include <lbfgs.h>

#include <algorithm>
#include <climits>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <exception>
#include <limits>
#include <new>
#include <span>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "core/blas_threads.hpp"
#include "kreg/data.hpp"
#include "kreg/error.hpp"
#include "kreg/linear.hpp"
#include "kreg/metrics.hpp"
#include "kreg/par.hpp"
#include "models/logistic_objective.hpp"

namespace kreg {

namespace {

using logistic::Objective;
using logistic::Problem;

// L-BFGS restarts after failed line searches (see fit); each needs progress.
constexpr int kMaxRestarts = 50;

const char* nonfinite_name(double v) { return std::isnan(v) ? "NaN" : "infinite"; }

double max_abs(const double* v, index_t n) {
  double m = 0.0;
  for (index_t i = 0; i < n; ++i) m = std::max(m, std::abs(v[i]));
  return m;
}

// libLBFGS's status codes in words.
std::string lbfgs_status(int code) {
  switch (code) {
    case LBFGSERR_ROUNDING_ERROR:
      return "rounding error: no step along the search direction lowers the objective, as happens "
             "within rounding of the optimum";
    case LBFGSERR_MINIMUMSTEP:
      return "the line-search step fell below its minimum";
    case LBFGSERR_MAXIMUMSTEP:
      return "the line-search step exceeded its maximum";
    case LBFGSERR_MAXIMUMLINESEARCH:
      return "the line search used its 50 evaluations";
    case LBFGSERR_WIDTHTOOSMALL:
      return "the line search's interval of uncertainty became too small";
    case LBFGSERR_INCREASEGRADIENT:
      return "the search direction does not descend";
    case LBFGSERR_OUTOFINTERVAL:
      return "the line-search step left the interval of uncertainty";
    case LBFGSERR_INCORRECT_TMINMAX:
      return "the line search's interval of uncertainty became inconsistent";
    case LBFGSERR_OUTOFMEMORY:
      return "out of memory";
    default:
      return fmt::format("libLBFGS status {}", code);
  }
}

enum class Stop { none, converged, max_iter, cancelled, failed };

// What the libLBFGS callbacks share.
struct Run {
  Objective* objective = nullptr;
  const LogisticRegressionOptions* options = nullptr;
  index_t n_vars = 0;
  int n_evaluations = 0;
  // The last accepted point (the start, then each iteration's end).
  int n_iter = 0;
  double f = 0.0;  // absolute: f_anchor + what lbfgs sees when anchored
  // Restarts: iterations before this lbfgs() call, f at the anchor.
  int iter_offset = 0;
  double f_anchor = 0.0;
  double grad_max = 0.0;
  Stop stop = Stop::none;
  std::exception_ptr error;  // from a callback; re-thrown after lbfgs returns
  // The last evaluation, so that lbfgs's first call (at the start, already
  // evaluated) is not paid twice.
  std::vector<double> last_theta, last_g;
  double last_f = 0.0;
  bool have_last = false;

  bool cancelled() const { return options->cancel != nullptr && options->cancel->requested(); }

  double evaluate(const double* theta, double* g) {
    const auto nv = static_cast<std::size_t>(n_vars);
    if (have_last && std::memcmp(theta, last_theta.data(), nv * sizeof(double)) == 0) {
      std::copy(last_g.begin(), last_g.end(), g);
      return last_f;
    }
    ++n_evaluations;
    const double f_now = (*objective)(theta, g);
    std::copy(theta, theta + nv, last_theta.begin());
    std::copy(g, g + nv, last_g.begin());
    last_f = f_now;
    have_last = true;
    return f_now;
  }
};

// libLBFGS callbacks: C code calls them, so no exception may leave them. A
// failure or a cancellation inside an evaluation returns +inf with a zero
// gradient, which makes the line search give up within a few calls.
lbfgsfloatval_t evaluate_cb(void* instance, const lbfgsfloatval_t* x, lbfgsfloatval_t* g,
                            const int n, const lbfgsfloatval_t /*step*/) {
  auto& run = *static_cast<Run*>(instance);
  if (!run.error && run.stop == Stop::none && run.cancelled()) run.stop = Stop::cancelled;
  if (!run.error && run.stop == Stop::none) {
    try {
      return run.evaluate(x, g);
    } catch (...) {
      run.error = std::current_exception();
    }
  }
  std::fill(g, g + n, 0.0);
  return std::numeric_limits<double>::infinity();
}

int progress_cb(void* instance, const lbfgsfloatval_t* /*x*/, const lbfgsfloatval_t* g,
                const lbfgsfloatval_t fx, const lbfgsfloatval_t /*xnorm*/,
                const lbfgsfloatval_t /*gnorm*/, const lbfgsfloatval_t /*step*/, int n, int k,
                int /*ls*/) {
  auto& run = *static_cast<Run*>(instance);
  k += run.iter_offset;
  run.n_iter = k;
  run.f = run.f_anchor + fx;
  run.grad_max = max_abs(g, n);
  if (run.error || run.stop != Stop::none) return 1;
  try {
    if (run.options->progress) run.options->progress(k, run.f);
  } catch (...) {
    run.error = std::current_exception();
    return 1;
  }
  if (run.cancelled()) {
    run.stop = Stop::cancelled;
  } else if (run.grad_max <= run.options->tol) {
    run.stop = Stop::converged;
  } else if (k >= run.options->max_iter) {
    run.stop = Stop::max_iter;
  }
  return run.stop == Stop::none ? 0 : 1;
}

struct LbfgsArray {
  explicit LbfgsArray(index_t n) : data(lbfgs_malloc(static_cast<int>(n))) {
    if (data == nullptr) throw std::bad_alloc();
    std::fill(data, data + n, 0.0);
  }
  ~LbfgsArray() { lbfgs_free(data); }
  LbfgsArray(const LbfgsArray&) = delete;
  LbfgsArray& operator=(const LbfgsArray&) = delete;
  lbfgsfloatval_t* data;
};

void validate(const LogisticRegressionOptions& o) {
  if (!(o.C > 0) || !std::isfinite(o.C)) {
    throw ArgumentError(fmt::format(
        "LogisticRegression: C must be a finite number > 0 (the inverse of the L2 strength), got "
        "{}",
        o.C));
  }
  if (o.max_iter < 1) {
    throw ArgumentError(
        fmt::format("LogisticRegression: max_iter must be >= 1, got {}", o.max_iter));
  }
  if (o.history < 1 || o.history > 1000) {
    throw ArgumentError(fmt::format(
        "LogisticRegression: history must be between 1 and 1000 (L-BFGS correction pairs), got {}",
        o.history));
  }
  if (!(o.tol >= 0)) {
    throw ArgumentError(fmt::format("LogisticRegression: tol must be >= 0, got {}", o.tol));
  }
  resolve_n_jobs(o.n_jobs);
}

}  // namespace

LogisticRegression::LogisticRegression(LogisticRegressionOptions options)
    : options_(std::move(options)) {}

const LinearClassifier& LogisticRegression::model() const {
  if (!fitted()) {
    throw ArgumentError("LogisticRegression is not fitted yet; call fit(X, y) first");
  }
  return model_;
}

template <class T>
LogisticRegression& LogisticRegression::fit(MatrixView<const T> X, std::span<const double> y) {
  const LogisticRegressionOptions& o = options_;
  validate(o);
  const index_t n = X.rows(), d = X.cols();
  if (n == 0) throw ArgumentError("LogisticRegression.fit: X is empty (0 samples)");
  if (d == 0) throw ArgumentError("LogisticRegression.fit: X has no features (0 columns)");
  if (static_cast<index_t>(y.size()) != n) {
    throw ArgumentError(
        fmt::format("LogisticRegression.fit: X has {} rows, but y has {} labels; they must match",
                    n, y.size()));
  }
  if constexpr (!std::is_same_v<T, std::uint8_t>) {
    for (index_t i = 0; i < n; ++i) {
      for (index_t j = 0; j < d; ++j) {
        if (!std::isfinite(X(i, j))) {
          throw ArgumentError(fmt::format(
              "LogisticRegression.fit: X[{}, {}] is {}; logistic regression needs finite "
              "features (drop or impute the missing values first)",
              i, j, nonfinite_name(static_cast<double>(X(i, j)))));
        }
      }
    }
  }
  for (std::size_t i = 0; i < y.size(); ++i) {
    if (!std::isfinite(y[i])) {
      throw ArgumentError(
          fmt::format("LogisticRegression.fit: y[{}] is {}; class labels must be finite", i,
                      nonfinite_name(y[i])));
    }
  }
  std::vector<double> classes(y.begin(), y.end());
  std::sort(classes.begin(), classes.end());
  classes.erase(std::unique(classes.begin(), classes.end()), classes.end());
  if (classes.size() < 2) {
    throw ArgumentError(fmt::format(
        "LogisticRegression.fit: y has only one class ({}); a classifier needs at least 2",
        classes[0]));
  }
  const auto K = static_cast<index_t>(classes.size());
  if (K * d + K > INT_MAX) {
    throw ArgumentError(fmt::format(
        "LogisticRegression.fit: {} classes x {} features are more parameters than L-BFGS "
        "(libLBFGS, int sizes) can take",
        K, d));
  }
  throw_if_cancelled(o.cancel);

  Problem p;
  p.K = K;
  p.intercept = o.fit_intercept;
  p.l2 = 1.0 / (o.C * static_cast<double>(n));
  p.threads = resolve_n_jobs(o.n_jobs);
  p.Z = Matrix<double>::from(X);
  p.y.resize(static_cast<std::size_t>(n));
  for (index_t i = 0; i < n; ++i) {
    p.y[static_cast<std::size_t>(i)] =
        std::lower_bound(classes.begin(), classes.end(), y[static_cast<std::size_t>(i)]) -
        classes.begin();
  }
  std::vector<double> mean(static_cast<std::size_t>(d), 0.0),
      scale(static_cast<std::size_t>(d), 1.0);
  if (o.standardize) {
    StandardScaler<double> scaler;
    scaler.fit(p.Z.view());
    mean = scaler.mean();
    scale = scaler.scale();
    // In place, as StandardScaler::transform computes it.
    for (index_t i = 0; i < n; ++i) {
      double* z = p.Z.data() + i * d;
      for (index_t j = 0; j < d; ++j) {
        z[j] = (z[j] - mean[static_cast<std::size_t>(j)]) / scale[static_cast<std::size_t>(j)];
      }
    }
  }

  const index_t nv = p.n_vars();
  const detail::SingleThreadedBlas single_threaded_blas;
  Objective objective(p);
  Run run;
  run.objective = &objective;
  run.options = &o;
  run.n_vars = nv;
  run.last_theta.resize(static_cast<std::size_t>(nv));
  run.last_g.resize(static_cast<std::size_t>(nv));

  LbfgsArray theta(nv);
  std::vector<double> g0(static_cast<std::size_t>(nv));
  run.f = run.evaluate(theta.data, g0.data());
  run.grad_max = max_abs(g0.data(), nv);
  int status = 0;
  int restarts = 0;
  if (run.grad_max <= o.tol) {
    run.stop = Stop::converged;
  } else {
    lbfgs_parameter_t param;
    lbfgs_parameter_init(&param);
    param.m = options_.history;  // see LogisticRegressionOptions::history
    param.epsilon = 0.0;         // our own test: max |gradient| <= tol
    param.max_iterations = 0;    // and our own max_iter
    param.max_linesearch = 50;   // scikit-learn passes maxls = 50
    for (int restart = 0;; ++restart) {
      run.iter_offset = run.n_iter;
      status =
          lbfgs(static_cast<int>(nv), theta.data, nullptr, evaluate_cb, progress_cb, &run, &param);
      if (run.error || run.stop != Stop::none) break;
      // A line search failed; lbfgs left theta at the last accepted point.
      // Typically the objective's changes fell below its rounding: go on from
      // here with values anchored at this point (see Objective), which costs
      // the curvature memory, for as long as that still makes progress.
      if (run.n_iter == run.iter_offset && restart > 0) break;
      if (restart == kMaxRestarts) break;
      ++restarts;
      objective.set_anchor(theta.data);
      run.f_anchor = run.f;
      run.have_last = false;
    }
  }
  if (run.error) std::rethrow_exception(run.error);
  if (run.stop == Stop::cancelled) throw Cancelled("interrupted");

  FitReport report;
  report.n_iter = run.n_iter;
  report.n_evaluations = run.n_evaluations;
  report.objective = run.f;
  report.grad_max = run.grad_max;
  report.converged = run.stop == Stop::converged;
  const std::string restarted =
      restarts == 0 ? std::string()
                    : fmt::format(" (L-BFGS restarted {} time{} after failed line searches)",
                                  restarts, restarts == 1 ? "" : "s");
  switch (run.stop) {
    case Stop::converged:
      report.stop =
          fmt::format("converged: max |gradient| {:.3g} <= tol {:.3g} after {} iterations{}",
                      run.grad_max, o.tol, run.n_iter, restarted);
      break;
    case Stop::max_iter:
      report.stop = fmt::format(
          "not converged: reached max_iter = {} with max |gradient| {:.3g} > tol {:.3g}; raise "
          "max_iter or tol{}",
          o.max_iter, run.grad_max, o.tol, restarted);
      break;
    default:
      report.stop = fmt::format(
          "not converged: the line search failed in iteration {} ({}); stopped at the last "
          "accepted point, max |gradient| {:.3g} > tol {:.3g}{}",
          run.n_iter + 1, lbfgs_status(status), run.grad_max, o.tol, restarted);
      break;
  }

  // Fold the scaling into the weights: W z + b = (W / scale) x + b - (W / scale) . mean.
  Matrix<double> W(K, d);
  std::vector<double> b(static_cast<std::size_t>(K), 0.0);
  for (index_t k = 0; k < K; ++k) {
    double shift = 0.0;
    for (index_t j = 0; j < d; ++j) {
      const double w = theta.data[k * d + j] / scale[static_cast<std::size_t>(j)];
      W(k, j) = w;
      shift += w * mean[static_cast<std::size_t>(j)];
    }
    const double bk = o.fit_intercept ? theta.data[K * d + k] : 0.0;
    b[static_cast<std::size_t>(k)] = bk - shift;
  }
  model_ = LinearClassifier(std::move(W), std::move(b), std::move(classes));
  report_ = std::move(report);
  return *this;
}

template <class T>
Matrix<double> LogisticRegression::decision_function(MatrixView<const T> X, int n_jobs) const {
  return model().decision_function(X, n_jobs);
}

template <class T>
Matrix<double> LogisticRegression::predict_proba(MatrixView<const T> X, int n_jobs) const {
  Matrix<double> P = model().decision_function(X, n_jobs);
  const index_t K = P.cols();
  for (index_t i = 0; i < P.rows(); ++i) {
    double* p = P.data() + i * K;
    const double m = *std::max_element(p, p + K);
    double sum = 0.0;
    for (index_t k = 0; k < K; ++k) {
      p[k] = std::exp(p[k] - m);
      sum += p[k];
    }
    for (index_t k = 0; k < K; ++k) p[k] /= sum;
  }
  return P;
}

template <class T>
std::vector<double> LogisticRegression::predict(MatrixView<const T> X, int n_jobs) const {
  return model().predict(X, n_jobs);
}

template <class T>
double LogisticRegression::predict_one(std::span<const T> x) const {
  return model().predict_one(x);
}

template <class T>
double LogisticRegression::score(MatrixView<const T> X, std::span<const double> y,
                                 int n_jobs) const {
  const LinearClassifier& m = model();
  if (static_cast<index_t>(y.size()) != X.rows()) {
    throw ArgumentError(
        fmt::format("LogisticRegression.score: X has {} rows, but y has {} labels; they must match",
                    X.rows(), y.size()));
  }
  const std::vector<double> predicted = m.predict(X, n_jobs);
  return accuracy_score(y, std::span<const double>(predicted));
}

#define KREG_LOGISTIC_INSTANTIATE(T)                                                              \
  template LogisticRegression& LogisticRegression::fit<T>(MatrixView<const T>,                    \
                                                          std::span<const double>);               \
  template Matrix<double> LogisticRegression::decision_function<T>(MatrixView<const T>, int)      \
      const;                                                                                      \
  template Matrix<double> LogisticRegression::predict_proba<T>(MatrixView<const T>, int) const;   \
  template std::vector<double> LogisticRegression::predict<T>(MatrixView<const T>, int) const;    \
  template double LogisticRegression::predict_one<T>(std::span<const T>) const;                   \
  template double LogisticRegression::score<T>(MatrixView<const T>, std::span<const double>, int) \
      const;
KREG_LOGISTIC_INSTANTIATE(std::uint8_t)
KREG_LOGISTIC_INSTANTIATE(float)
KREG_LOGISTIC_INSTANTIATE(double)
#undef KREG_LOGISTIC_INSTANTIATE

}  // namespace kreg
