// core/validate.hpp - argument checks shared by kreg's entry points.
#pragma once

#include <fmt/format.h>

#include <cmath>
#include <string_view>

#include "kreg/error.hpp"
#include "kreg/matrix.hpp"

namespace kreg::detail {

// Throws ArgumentError "<name>[i, j] is NaN; <needs>" for the first NaN or
// +-Inf in row-major order. `needs` says who needs finite values and how to
// get them.
template <class T>
void require_finite(MatrixView<const T> m, std::string_view name, std::string_view needs) {
  for (index_t i = 0; i < m.rows(); ++i) {
    for (index_t j = 0; j < m.cols(); ++j) {
      if (!std::isfinite(m(i, j))) {
        throw ArgumentError(fmt::format("{}[{}, {}] is {}; {}", name, i, j,
                                        std::isnan(m(i, j)) ? "NaN" : "infinite", needs));
      }
    }
  }
}

}  // namespace kreg::detail
