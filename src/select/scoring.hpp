// select/scoring.hpp - summaries of cross-validation scores, shared by the
// bandwidth search and the model CV workflow.
#pragma once

#include <span>
#include <utility>

namespace kreg::detail {

// Mean and standard deviation (ddof 0) of the split scores; NaN when any is
// (numpy's, so scikit-learn's). Summed directly, as numpy does for so few
// values; only where that overflows (scores near double's range) are the
// values divided first, so ordinary scores keep their bits.
std::pair<double, double> mean_and_std(std::span<const double> v);

}  // namespace kreg::detail
