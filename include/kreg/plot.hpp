// kreg/plot.hpp - line charts as standalone SVG documents.
//
// A LineChart is data plus words; render_svg turns it into one SVG 1.1
// document (svg namespace, viewBox, no scripts, no external resources) that
// any browser or rsvg-convert shows. `kreg tune` draws R^2 against bandwidth
// on a log x axis with it.
//
// Data contract, checked by render_svg and write_svg (ArgumentError naming the
// series - its label, or "series N" counting from 1 - and the index):
//   - the chart has at least one series; each series has as many x as y values;
//   - x values are finite, and > 0 when log_x; marker coordinates likewise;
//   - y values that are NaN or infinite are missing: not drawn, the line
//     breaks there instead of joining across, and a note says how many were
//     left out. With no finite point at all the chart says "no finite values".
// Text: "^" followed by letters or digits (optionally signed) is drawn as a
// superscript, so "R^2" reads as R squared. Every text is escaped; control
// characters and invalid UTF-8 become U+FFFD.
// Output is deterministic: the same chart gives the same bytes.
#pragma once

#include <string>
#include <vector>

namespace kreg {

// One line: the points (x[i], y[i]) joined in order.
struct Series {
  std::string label;  // legend entry; may be empty
  std::vector<double> x;
  std::vector<double> y;
  std::string color;        // any SVG colour; empty: the next of a fixed palette (red first)
  double line_width = 2.5;  // pixels, finite and > 0
  bool markers = false;     // also draw a dot at every finite point
};

// A point to call out (e.g. the best bandwidth): a ringed dot and a label such
// as "best h = 0.62, R^2 = 0.81" beside it.
struct Marker {
  double x = 0.0;
  double y = 0.0;
  std::string label;
};

struct LineChart {
  std::string title;
  std::string x_label;
  std::string y_label;
  bool log_x = false;  // decades on the x axis; every x must be > 0
  std::vector<Series> series;
  std::vector<Marker> markers;
  int width = 720;  // pixels; at least 200 x 150
  int height = 480;
};

// The whole SVG document, ending in a newline.
std::string render_svg(const LineChart& chart);

// render_svg(chart) written to `path` atomically (a temporary file renamed
// over it), so a reader never sees half a chart. Throws kreg::Error
// "cannot write 'path': reason" when the file cannot be written.
void write_svg(const std::string& path, const LineChart& chart);

// Axis ticks, exposed for tests and for callers that lay out their own axes.
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

}  // namespace kreg
