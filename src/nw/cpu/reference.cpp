// nw/cpu/reference.cpp - the reference engine: plain loops in long double.
//
// The test oracle and the tutorial's naive version. For each query z, every
// training point x_j gets
//
//     d2_j = sum_f (z_f - x_jf)^2        (long double, from the T values)
//     u2_j = inv_h2 * d2_j
//
// and a weight s_j * w(u2_j). The Gaussian is shifted by the nearest point,
// w_j = exp(-(u2_j - m) / 2) with m = min_j u2_j, so the nearest point's
// weight is exactly 1 and no bandwidth makes every weight underflow. Compact
// kernels are evaluated as they are; a query whose weights are all zero gets
// the sample-weighted mean y of its nearest training point(s) and counts as
// isolated. yhat_c = sum_j w_j y_jc / sum_j w_j, summed in j order, so each
// query's result is independent of the thread that computes it.
#include <algorithm>
#include <atomic>
#include <cmath>
#include <limits>
#include <vector>

#include "core/parallel.hpp"
#include "nw/cpu/engines.hpp"

namespace kreg::nw {

namespace {

using real = long double;

constexpr real kInf = std::numeric_limits<real>::infinity();

// One kernel as a function of u^2: its weight k(u) in [0, 1] and log k(u)
// (-inf outside the support). A kernel without compact support is evaluated
// relative to the nearest point, exp(log_weight(u2) - log_weight(m)); a
// compact one directly by weight(u2). A new kernel is one more entry here.
struct KernelRule {
  bool compact;
  real (*weight)(real u2);
  real (*log_weight)(real u2);
};

real gaussian_weight(real u2) { return std::exp(-u2 / 2); }
real gaussian_log_weight(real u2) { return -u2 / 2; }

real epanechnikov_weight(real u2) { return u2 < 1 ? 1 - u2 : 0; }
real epanechnikov_log_weight(real u2) { return u2 < 1 ? std::log1p(-u2) : -kInf; }

real tricube_weight(real u2) {
  const real u = std::sqrt(u2);
  if (!(u < 1)) return 0;
  const real t = 1 - u * u * u;
  return t * t * t;
}
real tricube_log_weight(real u2) {
  const real u = std::sqrt(u2);
  return u < 1 ? 3 * std::log1p(-u * u * u) : -kInf;
}

real uniform_weight(real u2) { return u2 <= 1 ? 1 : 0; }
real uniform_log_weight(real u2) { return u2 <= 1 ? 0 : -kInf; }

KernelRule rule_of(Kernel kernel) {
  switch (kernel) {
    case Kernel::epanechnikov:
      return {true, epanechnikov_weight, epanechnikov_log_weight};
    case Kernel::tricube:
      return {true, tricube_weight, tricube_log_weight};
    case Kernel::uniform:
      return {true, uniform_weight, uniform_log_weight};
    case Kernel::gaussian:
      break;
  }
  return {false, gaussian_weight, gaussian_log_weight};
}

// inv_h2 * d2 with 0 * inf taken as 0: inv_h2 is infinite when h^2
// underflowed, and a training point at distance 0 is then still at u = 0.
real scaled(real inv_h2, real d2) { return d2 == 0 ? 0 : inv_h2 * d2; }

// Scratch space of one block of queries.
struct Scratch {
  std::vector<real> d2;   // n squared distances
  std::vector<real> num;  // k weighted sums of y
};

// Predicts one query into `out` (k values); returns true when it was isolated.
template <class T>
bool predict_one(const Problem<T>& p, const KernelRule& rule, std::span<const T> z,
                 std::span<T> out, Scratch& s) {
  const index_t n = p.X.rows();
  const index_t d = p.X.cols();
  const index_t k = p.Y.cols();
  const bool weighted = !p.weights.empty();
  const real inv_h2 = static_cast<real>(p.inv_h2);
  auto sample_weight = [&](index_t j) { return weighted ? static_cast<real>(p.weights[j]) : 1; };

  // Squared distances, and the nearest among the points that carry weight
  // (a zero sample weight is the same as an absent point).
  real d2_min = kInf;
  for (index_t j = 0; j < n; ++j) {
    real acc = 0;
    for (index_t f = 0; f < d; ++f) {
      const real diff = static_cast<real>(z[f]) - static_cast<real>(p.X(j, f));
      acc += diff * diff;
    }
    s.d2[j] = acc;
    if (acc < d2_min && sample_weight(j) > 0) d2_min = acc;
  }
  const real m = scaled(inv_h2, d2_min);

  std::fill(s.num.begin(), s.num.end(), real{0});
  real den = 0;
  for (index_t j = 0; j < n; ++j) {
    const real sj = sample_weight(j);
    if (!(sj > 0)) continue;
    real w;
    if (rule.compact) {
      w = rule.weight(scaled(inv_h2, s.d2[j]));
    } else if (s.d2[j] == d2_min) {
      w = 1;  // exp(0), also when u2 and m are both infinite
    } else {
      const real u2 = scaled(inv_h2, s.d2[j]);
      w = std::isinf(u2) ? 0 : std::exp(rule.log_weight(u2) - rule.log_weight(m));
    }
    w *= sj;
    if (w == 0) continue;
    den += w;
    for (index_t c = 0; c < k; ++c) s.num[c] += w * static_cast<real>(p.Y(j, c));
  }
  bool isolated = false;
  if (!(den > 0)) {
    // No training point inside the support: the mean y of the nearest ones.
    isolated = true;
    std::fill(s.num.begin(), s.num.end(), real{0});
    den = 0;
    for (index_t j = 0; j < n; ++j) {
      const real sj = sample_weight(j);
      if (!(sj > 0) || s.d2[j] != d2_min) continue;
      den += sj;
      for (index_t c = 0; c < k; ++c) s.num[c] += sj * static_cast<real>(p.Y(j, c));
    }
  }
  for (index_t c = 0; c < k; ++c) out[c] = static_cast<T>(s.num[c] / den);
  return isolated;
}

}  // namespace

template <class T>
index_t predict_reference(const Problem<T>& p, MatrixView<const T> Z, MatrixView<T> out,
                          int n_threads, const CancelToken* cancel) {
  const KernelRule rule = rule_of(p.kernel);
  std::atomic<index_t> isolated{0};
  // A query costs n * d long-double operations: small blocks balance well.
  constexpr index_t kGrain = 4;
  detail::parallel_blocks(n_threads, Z.rows(), kGrain, [&](index_t begin, index_t end) {
    Scratch s{std::vector<real>(static_cast<std::size_t>(p.X.rows())),
              std::vector<real>(static_cast<std::size_t>(p.Y.cols()))};
    index_t block_isolated = 0;
    for (index_t i = begin; i < end; ++i) {
      if (cancel != nullptr && cancel->requested()) return;  // once per query
      if (predict_one(p, rule, Z.row(i), out.row(i), s)) ++block_isolated;
    }
    isolated.fetch_add(block_isolated, std::memory_order_relaxed);
  });
  throw_if_cancelled(cancel);
  return isolated.load();
}

template index_t predict_reference<float>(const Problem<float>&, MatrixView<const float>,
                                          MatrixView<float>, int, const CancelToken*);
template index_t predict_reference<double>(const Problem<double>&, MatrixView<const double>,
                                           MatrixView<double>, int, const CancelToken*);

}  // namespace kreg::nw
