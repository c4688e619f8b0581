// kreg/linear.hpp - linear classifiers: inference with a fixed weight matrix
// (the tutorial's 784 -> 10 linear layer plus argmax) and multinomial logistic
// regression trained by L-BFGS (scikit-learn's LogisticRegression(solver=
// 'lbfgs') with its L2 penalty).
//
//     kreg::LogisticRegression model({.C = 1.0, .n_jobs = -1});
//     model.fit(X_train, y_train);            // X: uint8 pixels, float or double
//     auto labels = model.predict(X_test);    // batched, parallel
//     double one = model.predict_one(row);    // one sample, no threads
//
// Inference is exact-order arithmetic per row: predict, predict_one and the
// scores of a row are the same bits whatever the batch, block or thread count,
// so per-sample, parallel per-sample and batched inference give identical
// labels.
#pragma once

#include <functional>
#include <span>
#include <string>
#include <vector>

#include "kreg/interrupt.hpp"
#include "kreg/matrix.hpp"

namespace kreg {

// scores = W x + b over classes; label = the class with the highest score
// (the first on ties, like numpy's argmax). Inputs may be std::uint8_t
// (pixels), float or double; rows of X are samples, columns features.
// Arithmetic: float accumulation for uint8 and float inputs, double for double
// inputs; SIMD with run-time dispatch (Highway).
class LinearClassifier {
 public:
  LinearClassifier() = default;
  // W: classes x d, b: classes, classes: the label of each row of W
  // (classes.size() == W.rows() >= 2). Throws ArgumentError on mismatched
  // sizes or non-finite weights.
  LinearClassifier(Matrix<double> W, std::vector<double> b, std::vector<double> classes);

  // m x classes scores, rows in parallel over fixed blocks (n_jobs as joblib).
  template <class T>
  Matrix<double> decision_function(MatrixView<const T> X, int n_jobs = -1) const;
  // m labels (class values), rows in parallel over fixed blocks.
  template <class T>
  std::vector<double> predict(MatrixView<const T> X, int n_jobs = -1) const;
  // The label of one sample (x.size() == n_features()); no allocation, no
  // threads: the tutorial's per-sample inference.
  template <class T>
  double predict_one(std::span<const T> x) const;

  index_t n_features() const { return W_.cols(); }
  index_t n_classes() const { return W_.rows(); }
  const std::vector<double>& classes() const { return classes_; }
  MatrixView<const double> weights() const { return W_.view(); }
  const std::vector<double>& bias() const { return b_; }

 private:
  // Throws ArgumentError for an empty model, no rows or a feature count
  // other than n_features(); `name` is "X" or "x".
  template <class T>
  void check_input(index_t rows, index_t cols, const char* name) const;
  // Scores (m x classes at scores, leading dimension lds) and/or labels of
  // the rows of X; either pointer may be null. `one`: X is predict_one's x.
  template <class T>
  void run(MatrixView<const T> X, double* scores, index_t lds, double* labels, int n_jobs,
           bool one) const;

  // 64 bytes of weights on a cache-line boundary: no SIMD load of a padded
  // row straddles two lines (std::allocator honours the alignment).
  template <class T>
  struct alignas(64) Line {
    T v[64 / sizeof(T)];
  };

  Matrix<double> W_;
  std::vector<double> b_;
  std::vector<double> classes_;
  // W_ with rows zero-padded to stride_ (a multiple of 16) for SIMD; used for
  // double inputs.
  std::vector<Line<double>> Wd_;
  // W_ and b_ rounded to float, rows padded likewise; used for uint8/float.
  // Empty when a weight is beyond float's range.
  std::vector<Line<float>> Wf_;
  std::vector<float> bf_;
  index_t stride_ = 0;  // padded row length of Wd_ and Wf_, in elements
};

struct LogisticRegressionOptions {
  // Inverse L2 strength, scikit-learn's C (> 0). The objective is
  // mean log-loss + ||W||^2 / (2 C n) over the standardised features; the
  // intercept is not penalised. Same minimiser as scikit-learn's.
  double C = 1.0;
  // Fit on (x - mean) / std per feature (scikit-learn's StandardScaler; a
  // constant feature gets std 1). coef() and predictions use the original
  // units: the scaling is folded into the weights after fitting.
  bool standardize = true;
  bool fit_intercept = true;
  // L-BFGS iterations (scikit-learn's max_iter).
  int max_iter = 1000;
  // L-BFGS memory: the correction pairs kept (scipy's maxcor; scikit-learn
  // uses 10). Each pair costs 2 x parameters doubles of memory (125 KB for
  // 784 features x 10 classes) and 4 x parameters flops per iteration, little
  // next to a gradient over many rows, and more pairs save iterations (the
  // default is 100 for that reason). The optimum is the same; only the path
  // to it changes. Lower it for models with millions of parameters. 1 to 1000.
  int history = 100;
  // Converged when max |gradient| of the objective <= tol (scipy's pgtol,
  // scikit-learn's tol). Tolerances down to ~1e-15 are reachable: where the
  // objective's rounding stalls the line search, L-BFGS restarts on values
  // relative to the current point (FitReport::stop counts the restarts).
  double tol = 1e-4;
  // joblib's n_jobs for the gradient; the result is the same bits for any
  // value (fixed row blocks summed in a fixed order).
  int n_jobs = -1;
  // Polled every iteration; cancellation throws kreg::Cancelled.
  const CancelToken* cancel = nullptr;
  // Called after every iteration with (iteration, objective); may be empty.
  std::function<void(int iteration, double objective)> progress{};
};

// What fit() did.
struct FitReport {
  int n_iter = 0;          // L-BFGS iterations
  int n_evaluations = 0;   // objective+gradient evaluations (line search included)
  bool converged = false;  // gradient tolerance reached
  double objective = 0.0;
  double grad_max = 0.0;  // max |gradient| at the end
  std::string stop;       // why it stopped, in words
};

// Multinomial (softmax) logistic regression for K >= 2 classes. Two classes
// are fitted as a two-row softmax too (scikit-learn fits one row for binary
// problems; the predicted labels agree, the penalty's scale differs).
class LogisticRegression {
 public:
  explicit LogisticRegression(LogisticRegressionOptions options = {});

  // X: n x d, y: n class labels (finite; the classes are the sorted distinct
  // values, at least 2). Throws ArgumentError/InputError naming the row or
  // argument at fault (NaN/Inf in X or y, size mismatch, one class, C <= 0,
  // max_iter < 1, history outside 1-1000, tol < 0, n_jobs == 0). Not converging within max_iter is
  // not an error: fit_report().converged says so (scikit-learn warns).
  template <class T>
  LogisticRegression& fit(MatrixView<const T> X, std::span<const double> y);

  // As LinearClassifier; throw ArgumentError before fit or when the feature
  // count differs from fit's.
  template <class T>
  Matrix<double> decision_function(MatrixView<const T> X, int n_jobs = -1) const;
  // Softmax of the scores, rows sum to 1.
  template <class T>
  Matrix<double> predict_proba(MatrixView<const T> X, int n_jobs = -1) const;
  template <class T>
  std::vector<double> predict(MatrixView<const T> X, int n_jobs = -1) const;
  template <class T>
  double predict_one(std::span<const T> x) const;
  // Accuracy of predict(X) against y.
  template <class T>
  double score(MatrixView<const T> X, std::span<const double> y, int n_jobs = -1) const;

  bool fitted() const { return model_.n_classes() > 0; }
  // The fitted model in the original units: coef is classes x d.
  const LinearClassifier& model() const;
  const std::vector<double>& classes() const { return model().classes(); }
  MatrixView<const double> coef() const { return model().weights(); }
  const std::vector<double>& intercept() const { return model().bias(); }
  const FitReport& fit_report() const { return report_; }
  const LogisticRegressionOptions& options() const { return options_; }

 private:
  LogisticRegressionOptions options_;
  LinearClassifier model_;
  FitReport report_;
};

}  // namespace kreg
