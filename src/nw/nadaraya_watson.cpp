// nw/nadaraya_watson.cpp - NadarayaWatson: the front (nw/front.hpp) once at
// fit, then the backend the registry chose (nw/backend.hpp) for every predict.
#include <fmt/format.h>

#include <algorithm>
#include <cmath>

#include "kreg/error.hpp"
#include "kreg/nw.hpp"
#include "nw/backend.hpp"
#include "nw/front.hpp"
#include "nw/scaling.hpp"

namespace kreg {

namespace {

constexpr std::string_view kKernelNames[] = {"gaussian", "epanechnikov", "tricube", "uniform"};

}  // namespace

Kernel parse_kernel(std::string_view name) {
  for (std::size_t i = 0; i < std::size(kKernelNames); ++i) {
    if (name == kKernelNames[i]) return static_cast<Kernel>(i);
  }
  throw ArgumentError(
      fmt::format("unknown kernel '{}'; choose gaussian, epanechnikov, tricube or uniform", name));
}

std::string_view to_string(Kernel kernel) { return kKernelNames[static_cast<int>(kernel)]; }

double predict_work(index_t m, index_t n, index_t d, index_t k, index_t bandwidths) {
  return static_cast<double>(m) * static_cast<double>(n) *
         static_cast<double>(d + 4 * bandwidths * (k + 1));
}

template <class T>
NadarayaWatson<T>::NadarayaWatson(NadarayaWatsonOptions options) : options_(std::move(options)) {
  if (options_.bandwidth.empty()) {
    throw ArgumentError("bandwidth is empty; give one value, or one per feature");
  }
  for (std::size_t f = 0; f < options_.bandwidth.size(); ++f) {
    const double h = options_.bandwidth[f];
    if (!(h > 0) || !std::isfinite(h)) {
      throw ArgumentError(fmt::format("bandwidth{} must be a finite number > 0, got {}",
                                      options_.bandwidth.size() > 1 ? fmt::format("[{}]", f) : "",
                                      h));
    }
  }
  resolve_n_jobs(options_.n_jobs);  // reject 0 now, not at predict time
  if (!options_.engine.is_auto()) parse_engine(options_.engine.name());  // a known engine
}

template <class T>
Engine NadarayaWatson<T>::engine() const {
  return backend_ == nullptr ? Engine::automatic : Engine(backend_->name());
}

template <class T>
NadarayaWatson<T>& NadarayaWatson<T>::fit(MatrixView<const T> X, MatrixView<const T> Y,
                                          std::span<const T> sample_weight) {
  nw::validate_training(X, Y, sample_weight, "X is empty: fit needs at least one training point");
  const auto& bw = options_.bandwidth;
  if (bw.size() != 1 && static_cast<index_t>(bw.size()) != X.cols()) {
    throw ArgumentError(fmt::format(
        "bandwidth has {} values but X has {} features; give one value, or one per feature",
        bw.size(), X.cols()));
  }
  nw::validate_values(X, Y, sample_weight);

  // Points of zero weight never contribute; dropping them keeps the nearest
  // contributing point's shifted weight at exactly its sample weight (> 0).
  std::vector<index_t> positive;
  double max_weight = 0;
  for (index_t i = 0; i < static_cast<index_t>(sample_weight.size()); ++i) {
    if (!(sample_weight[i] > 0)) continue;
    positive.push_back(i);
    max_weight = std::max(max_weight, double{sample_weight[i]});
  }
  // Targets or weights so large that the engines' sums could overflow are
  // scaled by powers of two (nw/scaling.hpp; ordinary data never is).
  const auto n_positive = sample_weight.empty() ? X.rows() : static_cast<index_t>(positive.size());
  const nw::SumScaling scaling =
      nw::sum_scaling<T>(n_positive, nw::max_abs(Y, positive), max_weight);
  std::vector<index_t> keep;  // empty: every row
  std::vector<T> weights;
  for (const index_t i : positive) {
    const T w = std::ldexp(sample_weight[i], -scaling.weight_exp);
    if (!(w > 0)) continue;  // underflowed
    keep.push_back(i);
    weights.push_back(w);
  }

  double h_min = 1.0;
  std::vector<double> factor = nw::feature_factors(bw, h_min);
  nw::TrainingSet<T> training;
  center_ = nw::column_mean(X, keep);
  training.X = nw::centred(X, center_, factor, keep);
  training.Y = nw::scaled(Y, scaling.y_exp, keep);
  training.weights = std::move(weights);
  training.kernel = options_.kernel;
  training.inv_h2 = nw::clamped_inv_h2<T>(h_min);
  training.device_index = options_.device.index();
  scale_ = std::move(factor);
  y_exp_ = scaling.y_exp;
  d_ = X.cols();
  k_ = Y.cols();

  nw::Request request;
  request.kernel = options_.kernel;
  request.dtype = nw::dtype_of<T>();
  request.weighted = !training.weights.empty();
  request.n = training.X.rows();
  request.d = d_;
  request.k = k_;
  backend_ = &nw::choose(request, options_.engine, options_.device);
  fitted_ = backend_->prepare(std::move(training));
  return *this;
}

template <class T>
Matrix<T> NadarayaWatson<T>::predict(MatrixView<const T> Z, PredictReport* report,
                                     const CancelToken* cancel) const {
  if (!fitted()) throw ArgumentError("predict called before fit; call fit(X, Y) first");
  if (Z.cols() != d_) {
    throw ArgumentError(
        fmt::format("the queries have {} features but the model was fitted with {}", Z.cols(), d_));
  }
  nw::require_finite(Z, "Z");
  const Matrix<T> Zs = nw::centred(Z, center_, scale_);
  Matrix<T> out(Z.rows(), k_);
  const index_t isolated =
      backend_->predict(*fitted_, Zs, out, resolve_n_jobs(options_.n_jobs), cancel);
  nw::unscale<T>(out, y_exp_);
  if (report != nullptr) *report = {isolated, engine()};
  return out;
}

template class NadarayaWatson<float>;
template class NadarayaWatson<double>;

}  // namespace kreg
