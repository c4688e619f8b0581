// cli_util.hpp - small helpers every command shares.
#pragma once

#include <fmt/format.h>

#include <CLI/CLI.hpp>
#include <charconv>
#include <chrono>
#include <limits>
#include <string>

#include "kreg/error.hpp"
#include "kreg/par.hpp"

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

// Every command's --jobs, checked on its text before CLI11 converts it, so
// that 1e10 or 99999999999 (beyond int) get kreg's message rather than
// "Could not convert", and a count beyond max_n_jobs() is refused before any
// work. main() attaches it to each command's --jobs.
inline CLI::Validator jobs_validator() {
  return CLI::Validator(
      [](std::string& text) -> std::string {
        const int limit = max_n_jobs();
        const std::string fix = fmt::format(
            "use -1 for all cores, -2 for all but one, or a thread count from 1 to {}", limit);
        long long value = 0;
        const char* end = text.data() + text.size();
        const auto [ptr, ec] = std::from_chars(text.data(), end, value);
        if ((ec != std::errc() && ec != std::errc::result_out_of_range) || ptr != end) {
          return fmt::format("'{}' is not a whole number; {}", text, fix);
        }
        const bool negative = text.front() == '-';
        if (ec == std::errc::result_out_of_range || value < std::numeric_limits<int>::min()) {
          if (!negative) {
            return fmt::format("{} is more threads than kreg starts (at most {}); {}", text, limit,
                               fix);
          }
          // joblib's rule: below -cores is one thread; any int that low says the same.
          text = std::to_string(std::numeric_limits<int>::min());
          return {};
        }
        if (value > limit) {
          return fmt::format("{} is more threads than kreg starts (at most {}); {}", text, limit,
                             fix);
        }
        return {};  // 0 is refused by the command with its own message (check_jobs_option)
      },
      "", "jobs");
}

}  // namespace kreg::cli
