// models/logistic_objective.cpp - the logistic loss and gradient in blocks
// of rows (models/logistic_objective.hpp).
#include "models/logistic_objective.hpp"

#include <cblas.h>

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <utility>
#include <vector>

#include "core/parallel.hpp"

namespace kreg::logistic {

Objective::Objective(const Problem& p)
    : p_(p),
      logits_(static_cast<std::size_t>(p.n() * p.K)),
      partial_(static_cast<std::size_t>(p.n_blocks() * p.n_vars())),
      loss_(static_cast<std::size_t>(p.n_blocks())) {}

template <class F>
void Objective::for_blocks(const F& fn) {
  detail::parallel_blocks(p_.threads, p_.n_blocks(), 1, [&](index_t b0, index_t b1) {
    for (index_t blk = b0; blk < b1; ++blk) fn(blk);
  });
}

double Objective::operator()(const double* theta, double* g) {
  const index_t K = p_.K, d = p_.d(), nv = p_.n_vars();
  const double* W = theta;
  const double* b = p_.intercept ? theta + K * d : nullptr;
  if (anchored()) {
    for (index_t v = 0; v < nv; ++v)
      delta_[static_cast<std::size_t>(v)] = theta[v] - anchor_[static_cast<std::size_t>(v)];
  }
  for_blocks([&](index_t blk) { block(blk, W, b); });

  // Sum the blocks in order.
  double loss = 0.0;
  for (const double l : loss_) loss += l;
  std::fill(g, g + nv, 0.0);
  for (index_t blk = 0; blk < p_.n_blocks(); ++blk) {
    const double* part = partial_.data() + blk * nv;
    for (index_t v = 0; v < nv; ++v) g[v] += part[v];
  }
  double penalty = 0.0;
  for (index_t v = 0; v < K * d; ++v) {
    penalty += anchored() ? delta_[static_cast<std::size_t>(v)] *
                                (W[v] + anchor_[static_cast<std::size_t>(v)])
                          : W[v] * W[v];
    g[v] += p_.l2 * W[v];
  }
  return loss * inv_n() + 0.5 * p_.l2 * penalty;
}

void Objective::set_anchor(const double* theta) {
  const index_t K = p_.K, d = p_.d(), n = p_.n(), nv = p_.n_vars();
  anchor_.assign(theta, theta + nv);
  delta_.assign(static_cast<std::size_t>(nv), 0.0);
  anchor_logits_.resize(static_cast<std::size_t>(n * K));
  anchor_p_.resize(static_cast<std::size_t>(n * K));
  const double* b = p_.intercept ? theta + K * d : nullptr;
  for_blocks([&](index_t blk) {
    const index_t r0 = blk * kBlockRows, rows = std::min(kBlockRows, n - r0);
    double* S = anchor_logits_.data() + r0 * K;
    logits(r0, rows, theta, b, S);
    double* P = anchor_p_.data() + r0 * K;
    for (index_t i = 0; i < rows; ++i) softmax(S + i * K, P + i * K);
  });
}

void Objective::logits(index_t r0, index_t rows, const double* W, const double* b,
                       double* S) const {
  const index_t K = p_.K, d = p_.d();
  const auto iK = static_cast<int>(K), id = static_cast<int>(d);
  cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasTrans, static_cast<int>(rows), iK, id, 1.0,
              p_.Z.data() + r0 * d, id, W, id, 0.0, S, iK);
  if (b) {
    for (index_t i = 0; i < rows; ++i) {
      for (index_t k = 0; k < K; ++k) S[i * K + k] += b[k];
    }
  }
}

std::pair<double, double> Objective::softmax(const double* s, double* P) const {
  const index_t K = p_.K;
  double m = s[0];
  for (index_t k = 1; k < K; ++k) m = std::max(m, s[k]);
  double sum = 0.0;
  for (index_t k = 0; k < K; ++k) {
    P[k] = std::exp(s[k] - m);
    sum += P[k];
  }
  const double inv_sum = 1.0 / sum;
  for (index_t k = 0; k < K; ++k) P[k] *= inv_sum;
  return {std::log(sum), m};
}

void Objective::block(index_t blk, const double* W, const double* b) {
  const index_t K = p_.K, d = p_.d(), nv = p_.n_vars();
  const index_t r0 = blk * kBlockRows;
  const index_t rows = std::min(kBlockRows, p_.n() - r0);
  double* S = logits_.data() + r0 * K;  // rows x K
  double loss = 0.0;
  if (anchored()) {
    const double* dW = delta_.data();
    logits(r0, rows, dW, b ? dW + K * d : nullptr, S);  // D
    const double* Sa = anchor_logits_.data() + r0 * K;
    const double* Pa = anchor_p_.data() + r0 * K;
    for (index_t i = 0; i < rows; ++i) {
      double* s = S + i * K;
      const index_t yi = p_.y[static_cast<std::size_t>(r0 + i)];
      double t = 0.0;
      for (index_t k = 0; k < K; ++k) t += Pa[i * K + k] * std::expm1(s[k]);
      loss += std::log1p(t) - s[yi];
      for (index_t k = 0; k < K; ++k) s[k] += Sa[i * K + k];  // the logits at theta
      softmax(s, s);
      s[yi] -= 1.0;  // R = P - Y
    }
  } else {
    logits(r0, rows, W, b, S);
    for (index_t i = 0; i < rows; ++i) {
      double* s = S + i * K;
      const index_t yi = p_.y[static_cast<std::size_t>(r0 + i)];
      const double shifted_y = s[yi];
      const auto [log_sum, m] = softmax(s, s);
      loss += log_sum - (shifted_y - m);  // -log softmax(s)_y
      s[yi] -= 1.0;                       // R = P - Y
    }
  }
  loss_[static_cast<std::size_t>(blk)] = loss;

  double* part = partial_.data() + blk * nv;
  const auto iK = static_cast<int>(K), id = static_cast<int>(d);
  // dW = R^T Zb / n
  cblas_dgemm(CblasRowMajor, CblasTrans, CblasNoTrans, iK, id, static_cast<int>(rows), inv_n(), S,
              iK, p_.Z.data() + r0 * d, id, 0.0, part, id);
  if (b) {
    double* db = part + K * d;
    for (index_t k = 0; k < K; ++k) db[k] = 0.0;
    for (index_t i = 0; i < rows; ++i) {
      for (index_t k = 0; k < K; ++k) db[k] += S[i * K + k];
    }
    for (index_t k = 0; k < K; ++k) db[k] *= inv_n();
  }
}

}  // namespace kreg::logistic
