// A training set the engine tests share: X ~ N(0, 1),
// y_c = sum_f sin(x_f) (1 + c) + noise, row 1 a copy of row 0 (a real
// distance 0 between two training points), sample weights in [0.1, 2] when
// weighted, with every zero_every-th one (counting from 1) set to 0 when
// zero_every > 0. The same seed gives the same data on every machine.
#pragma once

#include <cmath>
#include <random>
#include <vector>

#include "kreg/matrix.hpp"

namespace kreg::test {

template <class T>
struct TrainingData {
  Matrix<T> X, Y;
  std::vector<T> w;
};

template <class T>
TrainingData<T> make_training(index_t n, index_t d, index_t k, bool weighted, unsigned seed,
                              index_t zero_every = 0) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<double> normal;
  std::uniform_real_distribution<double> uniform(0.1, 2.0);
  TrainingData<T> data{Matrix<T>(n, d), Matrix<T>(n, k), {}};
  for (index_t i = 0; i < n; ++i) {
    double base = 0;
    for (index_t f = 0; f < d; ++f) {
      const double x = i == 1 ? static_cast<double>(data.X(0, f)) : normal(rng);
      data.X(i, f) = static_cast<T>(x);
      base += std::sin(x);
    }
    for (index_t c = 0; c < k; ++c) {
      data.Y(i, c) = static_cast<T>(base * (1.0 + static_cast<double>(c)) + 0.1 * normal(rng));
    }
    if (!weighted) continue;
    const bool zero = zero_every > 0 && i % zero_every == zero_every - 1;
    data.w.push_back(zero ? T{0} : static_cast<T>(uniform(rng)));
  }
  return data;
}

}  // namespace kreg::test
