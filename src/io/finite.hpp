// io/finite.hpp - the NaN/Inf policy for binary formats (NPY, IDX). CSV
// checks each cell as it parses, so it can name the line and column.
#pragma once

#include <fmt/format.h>

#include <cmath>
#include <string>

#include "kreg/error.hpp"
#include "kreg/matrix.hpp"

namespace kreg::io::detail {

// Throws InputError naming the first NaN or +-Inf in row-major order.
template <class T>
void check_finite(const Matrix<T>& m, const std::string& path) {
  const T* data = m.data();
  const index_t n = m.size();
  for (index_t k = 0; k < n; ++k) {
    if (!std::isfinite(data[k])) {
      const T v = data[k];
      const char* what = std::isnan(v) ? "NaN" : (v > 0 ? "inf" : "-inf");
      throw InputError(
          fmt::format("{}: row {}, column {} (0-based) is {}; kreg rejects NaN/Inf by default",
                      path, k / m.cols(), k % m.cols(), what));
    }
  }
}

}  // namespace kreg::io::detail
