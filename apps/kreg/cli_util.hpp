// cli_util.hpp - small helpers every command shares.
#pragma once

#include <chrono>

#include "kreg/error.hpp"

namespace kreg::cli {

using Clock = std::chrono::steady_clock;

inline double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

// --jobs follows joblib's n_jobs; 0 is the one value without a meaning.
inline void check_jobs_option(int jobs) {
  if (jobs == 0) {
    throw ArgumentError(
        "--jobs 0 is not valid; use a positive thread count, -1 for all cores or -2 for all but "
        "one");
  }
}

}  // namespace kreg::cli
