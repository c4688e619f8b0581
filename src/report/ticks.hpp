// report/ticks.hpp - where an axis puts its ticks, and what they say.
#pragma once

#include <string>
#include <vector>

namespace kreg::report {

struct AxisTicks {
  std::vector<double> major;  // labelled, with grid lines
  std::vector<double> minor;  // short unlabelled marks (log axes only)
};

// Ticks in [lo, hi] at multiples of a 1-2-5 step (..., 0.1, 0.2, 0.5, 1, 2,
// ...): the smallest step giving at most max_count ticks. Values are the
// nearest doubles to the decimal numbers (0.3, not 0.30000000000000004).
// lo == hi gives {lo}. ArgumentError unless lo <= hi, both finite, and
// max_count >= 2.
AxisTicks linear_ticks(double lo, double hi, int max_count = 8);

// Ticks in [lo, hi] for a log axis: powers of ten (every 1, 2, 5, 10, ...
// decades so at most max_count) with minor marks at 2..9 x 10^k; when fewer
// than three decades fit, 1, 2 and 5 x 10^k; when fewer than two of those fit,
// linear_ticks. ArgumentError unless 0 < lo <= hi, both finite, and
// max_count >= 2.
AxisTicks log_ticks(double lo, double hi, int max_count = 8);

// A compact tick label: the shortest text that reads back as `value`, in
// fixed notation for 1e-4 <= |value| < 1e6 ("0.0001", "0.25", "1000") and in
// C's %e style outside it ("1e+06", "2.5e-05"); zero is "0".
std::string format_tick(double value);

}  // namespace kreg::report
