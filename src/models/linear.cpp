// models/linear.cpp - LinearClassifier (kreg/linear.hpp): scores W x + b and
// their argmax, SIMD over features, threads over rows.
//
// The kernel takes one row at a time and a group of up to kMaxGroup classes:
// each chunk of L features of x is loaded (and converted, for uint8 pixels)
// once and FMA'd into one vector accumulator per class of the group, so the
// accumulators stay in registers and W streams from L1 (10 x 784 floats is
// 31 KiB). The last d % L features go through a zero-padded copy of the row,
// against weight rows zero-padded to `stride`, so every chunk is a full vector.
//
// Determinism: a class's score is its accumulator over the chunks in order,
// then Highway's horizontal sum (fixed for a target), then + b in the same
// precision. Nothing depends on the group a class lands in, on the other rows,
// on the block or thread, or on whether predict, predict_one or
// decision_function asked: they all run the same exported block function. The
// target is chosen once per process, so within a process the bits are fixed.
//
// Compiled once per SIMD target (Highway's foreach_target.h);
// HWY_DYNAMIC_DISPATCH picks the best target for this CPU.
#ifndef KREG_MODELS_LINEAR_JOB_
#define KREG_MODELS_LINEAR_JOB_
#include <cstdint>
#include <type_traits>

#include "kreg/matrix.hpp"

namespace kreg::linear_kernel {

// Rows [r0, r1) of X against a model whose weights are in S (float for
// uint8/float inputs, double for double inputs).
template <class T>
struct Job {
  using S = std::conditional_t<std::is_same_v<T, double>, double, float>;
  const S* w = nullptr;  // classes x stride, zero-padded beyond d
  const S* b = nullptr;  // classes
  index_t stride = 0;
  index_t classes = 0;
  index_t d = 0;
  const double* class_values = nullptr;  // the label of each class
  const T* x = nullptr;                  // row i at x + i * ldx
  index_t ldx = 0;
  double* scores = nullptr;  // row i at scores + i * lds; null: not wanted
  index_t lds = 0;
  double* labels = nullptr;  // labels[i]; null: not wanted
};

}  // namespace kreg::linear_kernel
#endif  // KREG_MODELS_LINEAR_JOB_

#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "models/linear.cpp"
#include <hwy/foreach_target.h>  // IWYU pragma: keep
// foreach_target.h must come first.
#include <hwy/highway.h>

#include <cmath>

HWY_BEFORE_NAMESPACE();
namespace kreg::linear_kernel {
namespace HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;

// Classes per pass over a row: kMaxGroup accumulators, the x chunk and a
// weight vector fit AVX2's 16 registers.
constexpr int kMaxGroup = 10;

// L features of a row starting at x, as a vector of S.
template <class D, class T>
HWY_INLINE hn::Vec<D> LoadRow(D d, const T* HWY_RESTRICT x) {
  if constexpr (std::is_same_v<T, std::uint8_t>) {
    const hn::Rebind<std::uint8_t, D> du8;
    const hn::Rebind<std::int32_t, D> di32;
    return hn::ConvertTo(d, hn::PromoteTo(di32, hn::LoadU(du8, x)));
  } else {
    return hn::LoadU(d, x);
  }
}

// out[g] = sum_j w[g][j] x[j] for the G classes whose weight rows start at w:
// the first `full` features straight from x, then one chunk from `tail` (the
// zero-padded rest of the row) when has_tail. Each class has its own
// accumulator and sees the same FMAs whatever G is.
template <int G, class D, class T, class S = hn::TFromD<D>>
HWY_INLINE void Dots(D d, const S* HWY_RESTRICT w, index_t stride, index_t full,
                     const T* HWY_RESTRICT x, const S* HWY_RESTRICT tail, bool has_tail,
                     S* HWY_RESTRICT out) {
  using V = hn::Vec<D>;
  const auto L = static_cast<index_t>(hn::Lanes(d));
  V acc[G];
  for (int g = 0; g < G; ++g) acc[g] = hn::Zero(d);
  for (index_t j = 0; j < full; j += L) {
    const V xv = LoadRow(d, x + j);
    for (int g = 0; g < G; ++g) acc[g] = hn::MulAdd(hn::LoadU(d, w + g * stride + j), xv, acc[g]);
  }
  if (has_tail) {
    const V xv = hn::LoadU(d, tail);
    for (int g = 0; g < G; ++g) {
      acc[g] = hn::MulAdd(hn::LoadU(d, w + g * stride + full), xv, acc[g]);
    }
  }
  for (int g = 0; g < G; ++g) out[g] = hn::GetLane(hn::SumOfLanes(d, acc[g]));
}

// Dots<G> for a run-time group size 1 <= size <= G.
template <int G, class D, class T, class S = hn::TFromD<D>>
HWY_INLINE void DotsOf(index_t size, D d, const S* HWY_RESTRICT w, index_t stride, index_t full,
                       const T* HWY_RESTRICT x, const S* HWY_RESTRICT tail, bool has_tail,
                       S* HWY_RESTRICT out) {
  if constexpr (G > 1) {
    if (size < G) {
      DotsOf<G - 1>(size, d, w, stride, full, x, tail, has_tail, out);
      return;
    }
  }
  Dots<G>(d, w, stride, full, x, tail, has_tail, out);
}

// Returns the first row in [r0, r1) with a non-finite score, or -1.
template <class T>
index_t Rows(const Job<T>& job, index_t r0, index_t r1) {
  using S = typename Job<T>::S;
  using D = hn::ScalableTag<S>;
  const D d;
  const auto L = static_cast<index_t>(hn::Lanes(d));
  const index_t K = job.classes;
  const index_t full = job.d - job.d % L;
  const bool has_tail = full < job.d;
  // Groups as even as possible, at most kMaxGroup classes each.
  const index_t n_groups = (K + kMaxGroup - 1) / kMaxGroup;
  alignas(64) S tail[HWY_MAX_BYTES / sizeof(S)] = {};
  S out[kMaxGroup];
  index_t first_bad = -1;

  for (index_t r = r0; r < r1; ++r) {
    const T* HWY_RESTRICT x = job.x + r * job.ldx;
    for (index_t j = full; j < job.d; ++j) tail[j - full] = static_cast<S>(x[j]);
    index_t best = 0;
    S best_score = 0;
    bool finite = true;
    index_t k0 = 0;
    for (index_t grp = 0; grp < n_groups; ++grp) {
      const index_t size = K / n_groups + (grp < K % n_groups ? 1 : 0);
      DotsOf<kMaxGroup>(size, d, job.w + k0 * job.stride, job.stride, full, x, tail, has_tail, out);
      for (index_t g = 0; g < size; ++g) {
        const index_t k = k0 + g;
        const S s = out[g] + job.b[k];
        if (job.scores) job.scores[r * job.lds + k] = static_cast<double>(s);
        if (!std::isfinite(s)) finite = false;
        // numpy's argmax: the first maximum, a NaN counting as the maximum.
        if (k == 0 || (!std::isnan(best_score) && (s > best_score || std::isnan(s)))) {
          best = k;
          best_score = s;
        }
      }
      k0 += size;
    }
    if (job.labels) job.labels[r] = job.class_values[best];
    if (!finite && first_bad < 0) first_bad = r;
  }
  return first_bad;
}

index_t RowsU8(const Job<std::uint8_t>& job, index_t r0, index_t r1) { return Rows(job, r0, r1); }
index_t RowsF32(const Job<float>& job, index_t r0, index_t r1) { return Rows(job, r0, r1); }
index_t RowsF64(const Job<double>& job, index_t r0, index_t r1) { return Rows(job, r0, r1); }

}  // namespace HWY_NAMESPACE
}  // namespace kreg::linear_kernel
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
#include <fmt/format.h>

#include <algorithm>
#include <atomic>
#include <limits>
#include <utility>

#include "core/parallel.hpp"
#include "kreg/error.hpp"
#include "kreg/linear.hpp"
#include "kreg/par.hpp"
#include "system/simd_target.hpp"

namespace kreg {

namespace linear_kernel {
HWY_EXPORT(RowsU8);
HWY_EXPORT(RowsF32);
HWY_EXPORT(RowsF64);

template <class T>
index_t run(const Job<T>& job, index_t r0, index_t r1) {
  detail::use_simd_target();  // KREG_SIMD_TARGET before the first dispatch
  if constexpr (std::is_same_v<T, std::uint8_t>) {
    return HWY_DYNAMIC_DISPATCH(RowsU8)(job, r0, r1);
  } else if constexpr (std::is_same_v<T, float>) {
    return HWY_DYNAMIC_DISPATCH(RowsF32)(job, r0, r1);
  } else {
    return HWY_DYNAMIC_DISPATCH(RowsF64)(job, r0, r1);
  }
}
}  // namespace linear_kernel

namespace {

// Rows per parallel block: at 10 classes x 784 features a block's work dwarfs
// the cost of handing it to a thread, and m rows still make m / 256 blocks.
constexpr index_t kBlockRows = 256;
// Weight rows are padded to a multiple of 16 elements: whole 64-byte lines of
// floats (two of doubles), enough for any x86 vector (AVX-512: 16 floats).
constexpr index_t kPad = 16;

constexpr const char* kNeedsFinite =
    "the model needs finite features (drop or impute the missing values first)";

const char* nonfinite_name(double v) { return std::isnan(v) ? "NaN" : "infinite"; }

template <class T>
constexpr bool kCheckFinite = !std::is_same_v<T, std::uint8_t>;

}  // namespace

LinearClassifier::LinearClassifier(Matrix<double> W, std::vector<double> b,
                                   std::vector<double> classes) {
  const index_t K = W.rows(), d = W.cols();
  if (K < 2) {
    throw ArgumentError(fmt::format(
        "LinearClassifier: W has {} row{}; a classifier needs at least 2 classes (one row each)", K,
        K == 1 ? "" : "s"));
  }
  if (d < 1) throw ArgumentError("LinearClassifier: W has no columns; need at least one feature");
  if (static_cast<index_t>(b.size()) != K) {
    throw ArgumentError(fmt::format(
        "LinearClassifier: b has {} entries, but W has {} rows (one bias per class)", b.size(), K));
  }
  if (static_cast<index_t>(classes.size()) != K) {
    throw ArgumentError(fmt::format(
        "LinearClassifier: classes has {} entries, but W has {} rows (one label per class)",
        classes.size(), K));
  }
  for (index_t k = 0; k < K; ++k) {
    for (index_t j = 0; j < d; ++j) {
      if (!std::isfinite(W(k, j))) {
        throw ArgumentError(fmt::format("LinearClassifier: W[{}, {}] is {}; weights must be finite",
                                        k, j, nonfinite_name(W(k, j))));
      }
    }
  }
  for (std::size_t k = 0; k < b.size(); ++k) {
    if (!std::isfinite(b[k])) {
      throw ArgumentError(fmt::format("LinearClassifier: b[{}] is {}; biases must be finite", k,
                                      nonfinite_name(b[k])));
    }
  }
  for (std::size_t k = 0; k < classes.size(); ++k) {
    if (!std::isfinite(classes[k])) {
      throw ArgumentError(fmt::format("LinearClassifier: classes[{}] is {}; labels must be finite",
                                      k, nonfinite_name(classes[k])));
    }
    for (std::size_t l = 0; l < k; ++l) {
      if (classes[l] == classes[k]) {
        throw ArgumentError(fmt::format(
            "LinearClassifier: classes[{}] and classes[{}] are both {}; labels must be distinct", l,
            k, classes[k]));
      }
    }
  }

  stride_ = (d + kPad - 1) / kPad * kPad;
  Wd_.assign(static_cast<std::size_t>(K * stride_ / 8), {});
  Wf_.assign(static_cast<std::size_t>(K * stride_ / 16), {});
  double* wd = Wd_.front().v;
  float* wf = Wf_.front().v;
  bf_.resize(b.size());
  constexpr double kFloatMax = std::numeric_limits<float>::max();
  bool fits_float = true;
  for (index_t k = 0; k < K; ++k) {
    for (index_t j = 0; j < d; ++j) {
      const double w = W(k, j);
      wd[k * stride_ + j] = w;
      wf[k * stride_ + j] = static_cast<float>(w);
      fits_float = fits_float && std::abs(w) <= kFloatMax;
    }
    bf_[static_cast<std::size_t>(k)] = static_cast<float>(b[static_cast<std::size_t>(k)]);
    fits_float = fits_float && std::abs(b[static_cast<std::size_t>(k)]) <= kFloatMax;
  }
  if (!fits_float) {  // float arithmetic is not available; double inputs still work
    Wf_.clear();
    bf_.clear();
  }
  W_ = std::move(W);
  b_ = std::move(b);
  classes_ = std::move(classes);
}

template <class T>
void LinearClassifier::check_input(index_t rows, index_t cols, const char* name) const {
  if (n_classes() == 0) {
    throw ArgumentError(
        "LinearClassifier: the model is empty (default-constructed); construct it from W, b and "
        "classes, or fit a LogisticRegression");
  }
  if (rows == 0) {
    throw ArgumentError(
        fmt::format("{} is empty (0 samples); need at least one sample to predict", name));
  }
  if (cols != n_features()) {
    throw ArgumentError(fmt::format("{} has {} features, but the model was fitted with {} features",
                                    name, cols, n_features()));
  }
  if constexpr (!std::is_same_v<T, double>) {
    if (Wf_.empty()) {
      throw ArgumentError(
          "LinearClassifier: a weight or bias is beyond float's range, so float and uint8 inputs "
          "cannot be scored in float; pass the features as double");
    }
  }
}

template <class T>
void LinearClassifier::run(MatrixView<const T> X, double* scores, index_t lds, double* labels,
                           int n_jobs, bool one) const {
  detail::use_simd_target();
  const int threads = resolve_n_jobs(n_jobs);
  linear_kernel::Job<T> job;
  if constexpr (std::is_same_v<T, double>) {
    job.w = Wd_.front().v;
    job.b = b_.data();
  } else {
    job.w = Wf_.front().v;
    job.b = bf_.data();
  }
  job.stride = stride_;
  job.classes = n_classes();
  job.d = n_features();
  job.class_values = classes_.data();
  job.x = X.data();
  job.ldx = X.ld();
  job.scores = scores;
  job.lds = lds;
  job.labels = labels;

  const index_t m = X.rows();
  std::atomic<index_t> first_bad{m};
  detail::parallel_blocks(threads, m, kBlockRows, [&](index_t r0, index_t r1) {
    const index_t bad = linear_kernel::run(job, r0, r1);
    if (bad < 0) return;
    index_t seen = first_bad.load(std::memory_order_relaxed);
    while (bad < seen && !first_bad.compare_exchange_weak(seen, bad, std::memory_order_relaxed)) {
    }
  });
  if constexpr (kCheckFinite<T>) {
    // A NaN or Inf feature makes some score non-finite (Inf * 0 is NaN), so
    // only rows flagged by the kernel can hold one; a flagged row whose
    // features are finite overflowed, and later rows must still be checked.
    for (index_t i = first_bad.load(); i < m; ++i) {
      for (index_t j = 0; j < X.cols(); ++j) {
        if (std::isfinite(X(i, j))) continue;
        const char* what = nonfinite_name(static_cast<double>(X(i, j)));
        throw ArgumentError(one ? fmt::format("x[{}] is {}; {}", j, what, kNeedsFinite)
                                : fmt::format("X[{}, {}] is {}; {}", i, j, what, kNeedsFinite));
      }
    }
  }
}

template <class T>
Matrix<double> LinearClassifier::decision_function(MatrixView<const T> X, int n_jobs) const {
  check_input<T>(X.rows(), X.cols(), "X");
  Matrix<double> scores(X.rows(), n_classes());
  run(X, scores.data(), scores.ld(), nullptr, n_jobs, false);
  return scores;
}

template <class T>
std::vector<double> LinearClassifier::predict(MatrixView<const T> X, int n_jobs) const {
  check_input<T>(X.rows(), X.cols(), "X");
  std::vector<double> labels(static_cast<std::size_t>(X.rows()));
  run(X, nullptr, 0, labels.data(), n_jobs, false);
  return labels;
}

template <class T>
double LinearClassifier::predict_one(std::span<const T> x) const {
  const auto d = static_cast<index_t>(x.size());
  check_input<T>(1, d, "x");
  double label = 0;
  run(MatrixView<const T>(x.data(), 1, d), nullptr, 0, &label, 1, true);
  return label;
}

#define KREG_LINEAR_INSTANTIATE(T)                                                                \
  template Matrix<double> LinearClassifier::decision_function<T>(MatrixView<const T>, int) const; \
  template std::vector<double> LinearClassifier::predict<T>(MatrixView<const T>, int) const;      \
  template double LinearClassifier::predict_one<T>(std::span<const T>) const;
KREG_LINEAR_INSTANTIATE(std::uint8_t)
KREG_LINEAR_INSTANTIATE(float)
KREG_LINEAR_INSTANTIATE(double)
#undef KREG_LINEAR_INSTANTIATE

}  // namespace kreg
#endif  // HWY_ONCE
