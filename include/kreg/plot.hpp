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
//   - a band (Series::band_lo/band_hi) is empty or has one lower and one upper
//     value per x, each lower <= its upper where both are finite;
//   - y values that are NaN or infinite are missing: not drawn, the line
//     breaks there instead of joining across, and a note says how many were
//     left out. With no finite point at all the chart says "no finite values".
// Text: "^" followed by letters or digits (optionally signed) is drawn as a
// superscript, so "R^2" reads as R squared. Every text is escaped; control
// characters and invalid UTF-8 become U+FFFD.
// Axes get ticks at 1-2-5 steps (decades on a log axis), labelled with the
// shortest text that reads back as the value.
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
  // A shaded band around the line, e.g. the mean +- 1 standard deviation
  // across folds: empty, or one lower and one upper value per x. Drawn beneath
  // every line in the series' colour, over runs where y and both bounds are
  // finite; the axes make room for it.
  std::vector<double> band_lo;
  std::vector<double> band_hi;
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

}  // namespace kreg
