// kreg/metrics.hpp - scores with scikit-learn's definitions.
//
//   r2_score  = 1 - SS_res / SS_tot   (1 when both are 0, 0 when only SS_tot is;
//               NaN for a single sample, where R^2 is undefined: scikit-learn
//               returns NaN too, with an UndefinedMetricWarning; the caller
//               warns)
//   mean_squared_error, mean_absolute_error, accuracy_score (exact equality)
//
// Both spans must have the same non-zero length and hold finite values;
// otherwise ArgumentError. Sums are accumulated in long double, so results
// agree with scikit-learn's to about 1e-15 relative; values near double's
// range are scaled by a power of two first, so scores are finite, and an MSE
// or MAE beyond double's range (targets near 1e308) is an ArgumentError.
#pragma once

#include <span>

namespace kreg {

template <class T>
double r2_score(std::span<const T> y_true, std::span<const T> y_pred);
template <class T>
double mean_squared_error(std::span<const T> y_true, std::span<const T> y_pred);
template <class T>
double mean_absolute_error(std::span<const T> y_true, std::span<const T> y_pred);
template <class T>
double accuracy_score(std::span<const T> y_true, std::span<const T> y_pred);

}  // namespace kreg
