// nw/nadaraya_watson.cpp - NadarayaWatson: validation, centring, dispatch.
#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <thread>

#include "core/validate.hpp"
#include "kreg/error.hpp"
#include "kreg/nw.hpp"
#include "nw/cpu/engines.hpp"
#include "nw/scaling.hpp"

namespace kreg {

namespace {

constexpr std::string_view kKernelNames[] = {"gaussian", "epanechnikov", "tricube", "uniform"};
constexpr std::string_view kEngineNames[] = {"auto", "reference", "vectorized", "fused"};

template <class T>
void check_finite(MatrixView<const T> m, const char* name) {
  detail::require_finite(m, name, "kreg needs finite values (drop or impute the row first)");
}

}  // namespace

Kernel parse_kernel(std::string_view name) {
  for (std::size_t i = 0; i < std::size(kKernelNames); ++i) {
    if (name == kKernelNames[i]) return static_cast<Kernel>(i);
  }
  throw ArgumentError(
      fmt::format("unknown kernel '{}'; choose gaussian, epanechnikov, tricube or uniform", name));
}

Engine parse_engine(std::string_view name) {
  for (std::size_t i = 0; i < std::size(kEngineNames); ++i) {
    if (name == kEngineNames[i]) return static_cast<Engine>(i);
  }
  throw ArgumentError(
      fmt::format("unknown engine '{}'; choose auto, reference, vectorized or fused", name));
}

std::string_view to_string(Kernel kernel) { return kKernelNames[static_cast<int>(kernel)]; }
std::string_view to_string(Engine engine) { return kEngineNames[static_cast<int>(engine)]; }

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
}

template <class T>
NadarayaWatson<T>& NadarayaWatson<T>::fit(MatrixView<const T> X, MatrixView<const T> Y,
                                          std::span<const T> sample_weight) {
  if (X.rows() == 0) throw ArgumentError("X is empty: fit needs at least one training point");
  if (X.cols() == 0) throw ArgumentError("X has no features (0 columns)");
  if (Y.rows() != X.rows()) {
    throw ArgumentError(
        fmt::format("X has {} rows but Y has {}; they must match", X.rows(), Y.rows()));
  }
  if (Y.cols() == 0) throw ArgumentError("Y has no columns; give at least one target");
  const auto& bw = options_.bandwidth;
  if (bw.size() != 1 && static_cast<index_t>(bw.size()) != X.cols()) {
    throw ArgumentError(fmt::format(
        "bandwidth has {} values but X has {} features; give one value, or one per feature",
        bw.size(), X.cols()));
  }
  if (!sample_weight.empty() && static_cast<index_t>(sample_weight.size()) != X.rows()) {
    throw ArgumentError(fmt::format("sample_weight has {} values but X has {} rows",
                                    sample_weight.size(), X.rows()));
  }
  check_finite(X, "X");
  check_finite(Y, "Y");
  double weight_sum = 0;
  for (std::size_t i = 0; i < sample_weight.size(); ++i) {
    const T w = sample_weight[i];
    if (!std::isfinite(w) || w < 0) {
      throw ArgumentError(
          fmt::format("sample_weight[{}] is {}; weights must be finite and >= 0", i, w));
    }
    weight_sum += w;
  }
  if (!sample_weight.empty() && !(weight_sum > 0)) {
    throw ArgumentError("sample_weight is all zero; at least one weight must be > 0");
  }

  // Targets or weights so large that the engines' sums could overflow are
  // scaled by powers of two (nw/scaling.hpp; ordinary data never is).
  index_t n_positive = 0;
  double max_abs_y = 0, max_weight = 0;
  for (index_t i = 0; i < X.rows(); ++i) {
    if (!sample_weight.empty() && !(sample_weight[i] > 0)) continue;
    ++n_positive;
    if (!sample_weight.empty()) max_weight = std::max(max_weight, double{sample_weight[i]});
    for (index_t c = 0; c < Y.cols(); ++c)
      max_abs_y = std::max(max_abs_y, std::abs(double{Y(i, c)}));
  }
  const nw::SumScaling scaling = nw::sum_scaling<T>(n_positive, max_abs_y, max_weight);
  y_exp_ = scaling.y_exp;
  auto scaled_weight = [&](index_t i) { return std::ldexp(sample_weight[i], -scaling.weight_exp); };
  // Points of zero weight never contribute; dropping them keeps the nearest
  // contributing point's shifted weight at exactly its sample weight (> 0).
  std::vector<index_t> keep;
  for (index_t i = 0; i < X.rows(); ++i) {
    if (sample_weight.empty() || scaled_weight(i) > 0) keep.push_back(i);
  }
  const auto n = static_cast<index_t>(keep.size());
  d_ = X.cols();
  k_ = Y.cols();

  center_.assign(static_cast<std::size_t>(d_), 0.0);
  for (const index_t i : keep) {
    for (index_t f = 0; f < d_; ++f) center_[f] += static_cast<double>(X(i, f));
  }
  for (auto& c : center_) c /= static_cast<double>(n);
  // u^2 = sum_f ((z_f - x_f) / h_f)^2 = inv_h2 * sum_f ((z_f - x_f) * h_min / h_f)^2: the
  // stored coordinates are scaled by h_min / h_f <= 1, so they cannot overflow
  // however small a bandwidth is; inv_h2 = 1 / h_min^2 is clamped to T's
  // largest finite value (at such bandwidths every weight but the nearest
  // point's is 0 anyway), so engines never see an infinite factor.
  const double h_min = *std::min_element(bw.begin(), bw.end());
  scale_.resize(static_cast<std::size_t>(d_));
  for (index_t f = 0; f < d_; ++f) scale_[f] = bw.size() == 1 ? 1.0 : h_min / bw[f];
  inv_h2_ = std::min(1.0 / (h_min * h_min), static_cast<double>(std::numeric_limits<T>::max()));
  X_ = Matrix<T>(n, d_);
  Y_ = Matrix<T>(n, k_);
  weight_.clear();
  for (index_t r = 0; r < n; ++r) {
    const index_t i = keep[r];
    for (index_t f = 0; f < d_; ++f) {
      X_(r, f) = static_cast<T>((static_cast<double>(X(i, f)) - center_[f]) * scale_[f]);
    }
    for (index_t c = 0; c < k_; ++c) Y_(r, c) = std::ldexp(Y(i, c), -y_exp_);
    if (!sample_weight.empty()) weight_.push_back(scaled_weight(i));
  }
  n_ = n;
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
  check_finite(Z, "Z");
  Matrix<T> Zs(Z.rows(), d_);
  for (index_t i = 0; i < Z.rows(); ++i) {
    for (index_t f = 0; f < d_; ++f) {
      Zs(i, f) = static_cast<T>((static_cast<double>(Z(i, f)) - center_[f]) * scale_[f]);
    }
  }
  nw::Problem<T> p{X_, Y_, weight_, options_.kernel, inv_h2_};
  Matrix<T> out(Z.rows(), k_);
  const int threads = resolve_n_jobs(options_.n_jobs);
  const Engine engine = options_.engine == Engine::automatic ? Engine::fused : options_.engine;
  index_t isolated = 0;
  if (Z.rows() > 0) {
    switch (engine) {
      case Engine::reference:
        isolated = nw::predict_reference<T>(p, Zs, out, threads, cancel);
        break;
      case Engine::vectorized:
        isolated = nw::predict_vectorized<T>(p, Zs, out, threads, cancel);
        break;
      case Engine::automatic:
      case Engine::fused:
        isolated = nw::predict_fused<T>(p, Zs, out, threads, cancel);
        break;
    }
  }
  if (y_exp_ != 0) {
    // Back to the targets' scale. A weighted mean can round an ulp past the
    // largest |y|; the clamp keeps it finite there.
    const T limit = std::ldexp(std::numeric_limits<T>::max(), -y_exp_);
    for (index_t i = 0; i < out.rows(); ++i) {
      for (index_t c = 0; c < k_; ++c)
        out(i, c) = std::ldexp(std::clamp(out(i, c), -limit, limit), y_exp_);
    }
  }
  if (report != nullptr) *report = {isolated, engine};
  return out;
}

template class NadarayaWatson<float>;
template class NadarayaWatson<double>;

}  // namespace kreg
