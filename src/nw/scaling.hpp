// nw/scaling.hpp - powers of two that keep Nadaraya-Watson's sums finite.
//
// The engines sum n terms w_j y_j and w_j (w_j: a kernel factor <= 1 times
// the sample weight) in T, the grid engine also power sums that can grow by
// about 2^40 more (nw/cpu/simd/power_sums-inl.h). Targets or sample weights near T's largest
// value overflow those sums to inf, and inf / inf is NaN. Multiplying every
// y by 2^-a, or every sample weight by 2^-b, only changes exponents, so it is
// exact (barring underflow); the prediction scales by the same 2^-a and does
// not depend on the weights' scale at all. The front ends (NadarayaWatson,
// BandwidthCV) scale when, and only when, the sums could leave T's range, so
// ordinary data is never scaled and keeps its bits, and finite input always
// gives finite predictions.
#pragma once

#include <algorithm>
#include <cmath>
#include <limits>

#include "kreg/matrix.hpp"

namespace kreg::nw {

// Bits kept free above n * max|y| * max(weight, 1) in T's exponent range.
inline constexpr int kSumHeadroomBits = 64;

struct SumScaling {
  int y_exp = 0;       // the engines see y * 2^-y_exp (y_exp >= 0)
  int weight_exp = 0;  // and sample weight * 2^-weight_exp
};

// The smallest b with |x| < 2^b, for x != 0 (0 for x == 0).
inline int bits_of(double x) { return x == 0 ? 0 : std::ilogb(x) + 1; }

// The scaling for n points whose targets reach max_abs_y (finite) and whose
// sample weights reach max_weight (> 0; 0 when unweighted). Targets are
// scaled down so that n * max|y| < 2^(emax - kSumHeadroomBits); weights so
// that n * max|y| * max weight stays below the same bound, and weights whose
// largest is below 2^-kSumHeadroomBits are scaled up to a largest in
// [1/2, 1), so that their products with the kernel factors cannot underflow
// to a zero denominator.
template <class T>
SumScaling sum_scaling(index_t n, double max_abs_y, double max_weight) {
  const int budget = std::numeric_limits<T>::max_exponent - 1 - kSumHeadroomBits;
  const int bn = bits_of(static_cast<double>(n));
  SumScaling s;
  const int by = std::max(0, bits_of(max_abs_y));
  s.y_exp = std::max(0, bn + by - budget);
  if (max_weight > 0) {
    const int bw = bits_of(max_weight);
    const int by_scaled = std::max(0, by - s.y_exp);
    if (bw > 0) {
      s.weight_exp = std::max(0, bn + bw + by_scaled - budget);
    } else if (bw < -kSumHeadroomBits) {
      s.weight_exp = bw;  // negative: scaled up, largest weight in [1/2, 1)
    }
  }
  return s;
}

}  // namespace kreg::nw
