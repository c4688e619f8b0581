// cli_util.hpp - small helpers every command shares.
#pragma once

#include <chrono>

#include "kreg/error.hpp"
#include "kreg/interrupt.hpp"

namespace kreg::cli {

// The run's stop request. main() turns SIGINT and SIGTERM into it for the
// whole run (one ScopedSigint around the parse), so a signal in any phase of
// any command is seen: long phases poll it (throw_if_cancelled, or pass it to
// the library) and end with kreg::Cancelled, and main exits 130 when it was
// requested even if the command then ran to its end.
inline CancelToken& cancel_token() {
  static CancelToken token;
  return token;
}

// For a phase with nothing to finish or clean up (reading input, computing
// what is not yet written anywhere): while it lives, a signal ends kreg at
// once with exit status 130 and main's message for kreg::Cancelled, even in
// a read blocked on a pipe. Never around writing a file. A signal that came
// before (during parsing, say) ends the run here, with kreg::Cancelled.
class ExitOnSignal : public ScopedExitOnSignal {
 public:
  ExitOnSignal() : ScopedExitOnSignal(130, "kreg: interrupted\n") {
    throw_if_cancelled(&cancel_token());
  }
};

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
