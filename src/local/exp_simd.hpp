// local/exp_simd.hpp - the kernel regression engine's vectorised exponential.
#pragma once

#include "kreg/matrix.hpp"

namespace kreg::local {

// w[j] = exp(logw[j] - shift) for j < n; 0 where logw[j] - shift < -708.
void exp_shifted(const double* logw, double* w, index_t n, double shift);

}  // namespace kreg::local
