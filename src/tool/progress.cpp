// tool/progress.cpp - ProgressBar: the throttled, thread-safe progress line.
//
// All state is guarded by one mutex; the line is built and written under it,
// so concurrent updates never interleave their output. Output errors are
// ignored: a progress line that cannot be shown must not stop the run.
#include "tool/progress.hpp"

#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <string>
#include <utility>

#include "kreg/error.hpp"

namespace kreg {
namespace {

// 6s, 2m05s, 1h02m (hours unbounded).
std::string format_duration(std::int64_t seconds) {
  if (seconds < 60) return fmt::format("{}s", seconds);
  if (seconds < 3600) return fmt::format("{}m{:02}s", seconds / 60, seconds % 60);
  return fmt::format("{}h{:02}m", seconds / 3600, seconds % 3600 / 60);
}

// Seconds as a whole number, kept far from int64 overflow (an ETA at a rate
// of 1e-300/s is still printed, as a very large number of hours).
std::int64_t whole_seconds(double seconds, bool round_up) {
  seconds = std::min(std::max(seconds, 0.0), 1e15);
  return static_cast<std::int64_t>(round_up ? std::ceil(seconds) : std::round(seconds));
}

// Three significant figures at most: 312/s, 3.1/s, 0.25/s, 0.0031/s.
std::string format_rate(double rate) {
  if (rate >= 100.0) return fmt::format("{:.0f}/s", rate);
  if (rate >= 1.0) return fmt::format("{:.1f}/s", rate);
  return fmt::format("{:.2g}/s", rate);
}

}  // namespace

bool stderr_is_terminal() { return ::isatty(::fileno(stderr)) == 1; }

ProgressBar::ProgressBar(std::string label, std::int64_t total, ProgressOptions opts)
    : label_(std::move(label)), total_(total), opts_(std::move(opts)) {
  if (total_ < 0) {
    throw ArgumentError(
        fmt::format("ProgressBar '{}': total is {}; need total >= 0", label_, total_));
  }
  if (opts_.already_done < 0 || opts_.already_done > total_) {
    throw ArgumentError(
        fmt::format("ProgressBar '{}': already_done is {}; need 0 <= it <= total {}", label_,
                    opts_.already_done, total_));
  }
  if (!(opts_.min_interval_s >= 0.0)) {
    throw ArgumentError(fmt::format(
        "ProgressBar '{}': min_interval_s is {}; need a number >= 0 (0 redraws on every update)",
        label_, opts_.min_interval_s));
  }
  if (opts_.enabled && opts_.stream == nullptr) {
    throw ArgumentError(fmt::format(
        "ProgressBar '{}': enabled but the stream is null; give a stream or disable the bar",
        label_));
  }
  done_ = opts_.already_done;
  if (!opts_.enabled) return;
  start_ = now();
  last_draw_ = start_;
  draw(false);
}

ProgressBar::~ProgressBar() {
  const std::lock_guard<std::mutex> lock(mutex_);
  if (open_line_) {
    std::fputc('\n', opts_.stream);
    std::fflush(opts_.stream);
  }
}

double ProgressBar::now() const {
  if (opts_.clock) return opts_.clock();
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

void ProgressBar::update(std::int64_t done) {
  if (done < 0 || done > total_) {
    throw ArgumentError(fmt::format(
        "ProgressBar '{}': update({}) is outside [0, {}]; pass the number of items done so far",
        label_, done, total_));
  }
  const std::lock_guard<std::mutex> lock(mutex_);
  if (finished_ || done < done_) return;
  done_ = done;
  if (!opts_.enabled) return;
  const double t = now();
  if (t - last_draw_ < opts_.min_interval_s) return;
  last_draw_ = t;
  draw(false);
}

void ProgressBar::finish() {
  const std::lock_guard<std::mutex> lock(mutex_);
  if (finished_) return;
  finished_ = true;
  if (opts_.enabled) draw(true);
}

void ProgressBar::draw(bool final) {
  const double elapsed = now() - start_;
  const std::int64_t left = total_ - done_;
  // Whole percent, rounded down so that 100% means all done.
  const std::int64_t percent =
      left == 0 ? 100
                : std::min<std::int64_t>(
                      99, static_cast<std::int64_t>(100.0 * static_cast<double>(done_) /
                                                    static_cast<double>(total_)));
  std::string line = fmt::format("{}  {}/{}  {}%", label_, done_, total_, percent);
  const std::int64_t done_here = done_ - opts_.already_done;
  const bool have_rate = done_here > 0 && elapsed > 0.0;
  const double rate = have_rate ? static_cast<double>(done_here) / elapsed : 0.0;
  if (have_rate) line += "  " + format_rate(rate);
  if (final) {
    line += "  elapsed " + format_duration(whole_seconds(elapsed, false));
  } else if (left == 0) {
    line += "  ETA 0s";
  } else if (!have_rate) {
    line += "  ETA ?";
  } else {
    line += "  ETA " + format_duration(whole_seconds(static_cast<double>(left) / rate, true));
  }
  std::string out = "\r" + line;
  if (line.size() < shown_length_) out.append(shown_length_ - line.size(), ' ');
  if (final) out += '\n';
  std::fwrite(out.data(), 1, out.size(), opts_.stream);
  std::fflush(opts_.stream);
  shown_length_ = final ? 0 : line.size();
  open_line_ = !final;
}

}  // namespace kreg
