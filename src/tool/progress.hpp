// tool/progress.hpp - a one-line progress display for long runs (a kreg tool
// internal: neither installed nor part of libkreg).
//
// The line looks like
//
//     tune  12/30  40%  3.1/s  ETA 6s
//
// and is redrawn in place with '\r' (padded with spaces over a longer previous
// line). rate = items done in this run / seconds since construction; ETA =
// items left / rate, written 6s, 2m05s or 1h02m and rounded up, so it reads
// 0s only when nothing is left. Before the first item completes there is no
// rate and the ETA reads "ETA ?". finish() writes the final line with the
// elapsed time instead of the ETA, then a newline.
//
// A bar that is not enabled writes nothing at all; callers enable it when
// stderr_is_terminal() and the user did not ask for quiet output, so logs and
// pipes never receive '\r' lines.
#pragma once

#include <cstdint>
#include <cstdio>
#include <functional>
#include <mutex>
#include <string>

namespace kreg {

struct ProgressOptions {
  bool enabled = true;
  std::FILE* stream = stderr;
  // At most one redraw per this many seconds from update(); the constructor's
  // first line and finish() always draw.
  double min_interval_s = 0.1;
  // Seconds on any monotonic scale; empty means std::chrono::steady_clock.
  // Tests inject a fake one. Called under the bar's mutex.
  std::function<double()> clock{};
  // Items already done before this run (resumed from a journal): they count
  // towards done and the percentage but not towards the rate.
  std::int64_t already_done = 0;
};

// isatty(fileno(stderr)): whether a progress line on stderr reaches a person.
bool stderr_is_terminal();

class ProgressBar {
 public:
  // Draws the first line (already_done/total) when enabled. Throws
  // ArgumentError when total < 0, already_done is outside [0, total],
  // min_interval_s is negative or NaN, or an enabled bar has no stream.
  ProgressBar(std::string label, std::int64_t total, ProgressOptions opts);
  ProgressBar(const ProgressBar&) = delete;
  ProgressBar& operator=(const ProgressBar&) = delete;
  // Ends a line left open (finish() not called, e.g. while an exception
  // unwinds) with a newline, so the next message starts on a line of its own.
  ~ProgressBar();

  // Records that `done` items are complete and redraws unless the last redraw
  // was less than min_interval_s ago. Thread-safe: workers may call it
  // concurrently; a `done` below the largest one seen is ignored (it lost a
  // race with a later update). Throws ArgumentError when `done` is outside
  // [0, total].
  void update(std::int64_t done);

  // Draws the final line and a newline. Later calls to update() and finish()
  // do nothing.
  void finish();

 private:
  double now() const;
  void draw(bool final);  // mutex_ held

  std::mutex mutex_;
  std::string label_;
  std::int64_t total_;
  ProgressOptions opts_;
  double start_ = 0.0;
  double last_draw_ = 0.0;
  std::int64_t done_ = 0;
  std::size_t shown_length_ = 0;  // characters of the line on screen, for padding
  bool open_line_ = false;        // a line is drawn and not yet ended by '\n'
  bool finished_ = false;
};

}  // namespace kreg
