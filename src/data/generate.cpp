// The tutorial's synthetic regression data, draw for draw with numpy:
//
//   np.random.seed(seed)
//   X = np.random.normal(size=(n, d))      # row by row (C order)
//   coef = np.random.normal(size=(d,))
//   intercept = np.random.normal()
//   noise = np.random.normal(size=(n,))
//   y = X @ coef + intercept + noise
//
// X, coef and intercept are bit-identical to numpy's. numpy evaluates X @ coef
// with BLAS (dgemv), whose summation order is its own, so y can differ from
// numpy's in the last bit or so; here row i sums j = 0, 1, ..., d-1 in order.
#include <fmt/format.h>

#include "kreg/data.hpp"
#include "kreg/error.hpp"
#include "kreg/random.hpp"

namespace kreg {

RegressionData generate_data(index_t n, index_t d, std::uint32_t seed) {
  if (n <= 0) throw ArgumentError(fmt::format("generate_data: n must be >= 1, got {}", n));
  if (d <= 0) throw ArgumentError(fmt::format("generate_data: d must be >= 1, got {}", d));

  LegacyRandom rng(seed);
  RegressionData out;
  out.X = Matrix<double>(n, d);
  out.y = Matrix<double>(n, 1);
  double* x = out.X.data();
  for (index_t k = 0; k < n * d; ++k) x[k] = rng.normal();
  out.coef.resize(static_cast<std::size_t>(d));
  for (double& c : out.coef) c = rng.normal();
  out.intercept = rng.normal();
  for (index_t i = 0; i < n; ++i) {
    const double* row = x + i * d;
    double dot = 0.0;
    for (index_t j = 0; j < d; ++j) dot += row[j] * out.coef[static_cast<std::size_t>(j)];
    const double noise = rng.normal();
    out.y(i, 0) = (dot + out.intercept) + noise;
  }
  return out;
}

}  // namespace kreg
