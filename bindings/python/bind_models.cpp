// bindings/python/bind_models.cpp - logistic regression (kreg/linear.hpp) and
// image augmentation (kreg/augment.hpp) for Python: kreg.LogisticRegression
// and kreg.augment (python/kreg/_models.py) keep the fitted state in numpy
// arrays (coef, intercept), so these functions are stateless: fit returns the
// weights, decision_function rebuilds the linear classifier from them. Both
// release the GIL and answer Ctrl-C (KeyboardInterrupt) between iterations
// and images.
#include <fmt/format.h>
#include <nanobind/stl/string.h>
#include <nanobind/stl/vector.h>

#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>

#include "common.hpp"
#include "kreg/augment.hpp"
#include "kreg/linear.hpp"

namespace kreg::python {

namespace {

using Labels = nb::ndarray<const double, nb::ndim<1>, nb::c_contig, nb::device::cpu>;

// Multinomial logistic regression on X (n x d) and class labels y (n; the
// classes are y's sorted distinct values). Returns coef (classes x d),
// intercept, classes and what L-BFGS did.
template <class T>
nb::dict logistic_fit(In2<T> X, Labels y, double C, bool fit_intercept, int max_iter, double tol,
                      int n_jobs, const std::string& verbose_name) {
  const MatrixView<const T> x = view_of(X);
  const std::span<const double> labels(y.data(), y.shape(0));
  const double work = 50.0 * static_cast<double>(x.rows()) * static_cast<double>(x.cols());
  LogisticRegression model = run_interruptible(work, [&](const CancelToken* cancel) {
    LogisticRegressionOptions o;
    o.C = C;
    o.fit_intercept = fit_intercept;
    o.max_iter = max_iter;
    o.tol = tol;
    o.n_jobs = n_jobs;
    o.cancel = cancel;
    if (!verbose_name.empty()) {
      // Called on the fitting thread, without the GIL: C's stderr directly.
      o.progress = [&verbose_name](int iteration, double objective) {
        fmt::print(stderr, "{}: iteration {}, objective {:.10g}\n", verbose_name, iteration,
                   objective);
        std::fflush(stderr);
      };
    }
    LogisticRegression m(o);
    m.fit(x, labels);
    return m;
  });
  const MatrixView<const double> coef = model.coef();
  Matrix<double> W(coef.rows(), coef.cols());
  for (index_t i = 0; i < coef.rows(); ++i) {
    for (index_t j = 0; j < coef.cols(); ++j) W(i, j) = coef(i, j);
  }
  const FitReport& r = model.fit_report();
  nb::dict out;
  out["coef"] = to_numpy(std::move(W));
  out["intercept"] = model.intercept();
  out["classes"] = model.classes();
  out["n_iter"] = r.n_iter;
  out["converged"] = r.converged;
  out["objective"] = r.objective;
  out["grad_max"] = r.grad_max;
  out["stop"] = r.stop;
  return out;
}

// Scores (m x classes) of the linear model coef, intercept on X.
template <class T>
OutN<double> linear_decision(In2<double> coef, std::vector<double> intercept,
                             std::vector<double> classes, In2<T> X, int n_jobs) {
  const MatrixView<const double> w = view_of(coef);
  Matrix<double> W(w.rows(), w.cols());
  for (index_t i = 0; i < w.rows(); ++i) {
    for (index_t j = 0; j < w.cols(); ++j) W(i, j) = w(i, j);
  }
  const LinearClassifier model(std::move(W), std::move(intercept), std::move(classes));
  const MatrixView<const T> x = view_of(X);
  const double work = static_cast<double>(x.rows()) * static_cast<double>(x.cols()) *
                      static_cast<double>(model.n_classes());
  Matrix<double> scores = run_interruptible(
      work, [&](const CancelToken*) { return model.decision_function(x, n_jobs); });
  return to_numpy(std::move(scores));
}

// augment_images on n images of height x width pixels (n x height*width).
OutN<std::uint8_t> augment(In2<std::uint8_t> images, index_t height, index_t width,
                           const std::string& ops, int copies, std::uint64_t seed, int n_jobs,
                           double max_shift, double max_rotate_deg, double scale_range,
                           double noise_std) {
  AugmentOptions o;
  o.ops = parse_augment_ops(ops);
  o.copies = copies;
  o.seed = seed;
  o.n_jobs = n_jobs;
  o.max_shift = max_shift;
  o.max_rotate_deg = max_rotate_deg;
  o.scale_range = scale_range;
  o.noise_std = noise_std;
  const MatrixView<const std::uint8_t> x = view_of(images);
  const double work = 20.0 * static_cast<double>(x.rows()) * static_cast<double>(x.cols()) *
                      static_cast<double>(copies);
  Matrix<std::uint8_t> out = run_interruptible(work, [&](const CancelToken* cancel) {
    o.cancel = cancel;
    return augment_images(x, height, width, o);
  });
  const auto rows = static_cast<std::size_t>(out.rows());
  return to_numpy(std::move(out),
                  {rows, static_cast<std::size_t>(height), static_cast<std::size_t>(width)});
}

template <class T>
void bind_typed(nb::module_& m) {
  m.def("logistic_fit", &logistic_fit<T>, nb::arg("X").noconvert(), nb::arg("y").noconvert(),
        nb::arg("C"), nb::arg("fit_intercept"), nb::arg("max_iter"), nb::arg("tol"),
        nb::arg("n_jobs"), nb::arg("verbose_name") = "",
        "Multinomial logistic regression (L-BFGS, L2, standardised features). Returns a dict: "
        "coef (classes x d), intercept, classes, n_iter, converged, objective, grad_max, stop. "
        "verbose_name: when not empty, one line per iteration on stderr.");
  m.def("linear_decision", &linear_decision<T>, nb::arg("coef").noconvert(), nb::arg("intercept"),
        nb::arg("classes"), nb::arg("X").noconvert(), nb::arg("n_jobs"),
        "Scores W x + b (m x classes) of the rows of X.");
}

}  // namespace

void bind_models(nb::module_& m) {
  bind_typed<double>(m);
  bind_typed<float>(m);
  bind_typed<std::uint8_t>(m);
  m.def("augment_images", &augment, nb::arg("images").noconvert(), nb::arg("height"),
        nb::arg("width"), nb::arg("ops"), nb::arg("copies"), nb::arg("seed"), nb::arg("n_jobs"),
        nb::arg("max_shift"), nb::arg("max_rotate_deg"), nb::arg("scale_range"),
        nb::arg("noise_std"),
        "kreg augment's images: (n * copies) x height x width uint8; copy c of image i is row "
        "i * copies + c and depends only on (seed, i, c), never on n_jobs.");
}

}  // namespace kreg::python
