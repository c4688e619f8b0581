// report/layout.hpp - where a chart's parts go: axis ranges and ticks, the
// frame and its margins, the data in pixels, and spots for labels that hide
// the least of the data. Worked out once per chart, before any drawing.
#pragma once

#include <cmath>
#include <cstddef>
#include <string>
#include <vector>

#include "kreg/plot.hpp"
#include "report/ticks.hpp"

namespace kreg::report {

inline constexpr double kTitleSize = 16.0;
inline constexpr double kLabelSize = 14.0;
inline constexpr double kTickSize = 12.0;
inline constexpr double kNoteSize = 11.0;
inline constexpr double kTickLength = 5.0;
inline constexpr double kMinorTickLength = 3.0;
inline constexpr const char* kGridColor = "#e0e0e0";
inline constexpr const char* kInkColor = "#333333";
inline constexpr const char* kNoteColor = "#666666";

// Baselines below the frame: tick labels, then the x axis label.
inline constexpr double kXTickBaseline = kTickLength + 4.0 + kTickSize;
inline constexpr double kXLabelBaseline = kXTickBaseline + 10.0 + kLabelSize;

// Data -> pixels along one axis: [lo, hi] in axis units (log10(x) on a log
// axis) onto pixels [p0, p1]; p1 < p0 for y, whose pixels grow downwards.
struct Scale {
  bool log = false;
  double lo = 0.0;
  double hi = 1.0;
  double p0 = 0.0;
  double p1 = 1.0;

  double operator()(double v) const {
    const double u = log ? std::log10(v) : v;
    // Halves keep hi - lo finite when the range spans most of the doubles.
    const double t = (u * 0.5 - lo * 0.5) / (hi * 0.5 - lo * 0.5);
    return p0 + t * (p1 - p0);
  }
};

// Plot area edges in pixels.
struct Frame {
  double left = 0.0;
  double top = 0.0;
  double right = 0.0;
  double bottom = 0.0;
  double width() const { return right - left; }
  double height() const { return bottom - top; }
};

struct Point {
  double x = 0.0;
  double y = 0.0;
};

// One series in pixels: runs of consecutive finite points.
struct Trace {
  std::vector<std::vector<Point>> segments;
};

struct Box {
  double x = 0.0;
  double y = 0.0;
  double w = 0.0;
  double h = 0.0;
  bool contains(const Point& p) const {
    return p.x >= x && p.x <= x + w && p.y >= y && p.y <= y + h;
  }
  bool overlaps(const Box& b) const {
    return x < b.x + b.w && b.x < x + w && y < b.y + b.h && b.y < y + h;
  }
  bool inside(const Frame& f) const {
    return x >= f.left && x + w <= f.right && y >= f.top && y + h <= f.bottom;
  }
};

// The candidate box that hides least of the lines and markers and overlaps
// least the boxes already placed; ties go to the earlier (preferred) one.
// Candidates inside the frame win over any that stick out.
Box least_hiding(const std::vector<Box>& candidates, const Frame& f,
                 const std::vector<Trace>& traces, const std::vector<Point>& markers,
                 const std::vector<Box>& placed);

// Everything drawing needs, worked out once: axes, the frame, data in pixels.
struct Layout {
  Frame frame;
  Scale sx;
  Scale sy;
  AxisTicks x_ticks;
  AxisTicks y_ticks;
  std::vector<std::string> x_tick_labels;
  std::vector<std::string> y_tick_labels;
  std::vector<Trace> traces;  // one per series
  // One per series: closed outlines of its band (upper edge left to right,
  // then lower edge back), one per run of points with y and both bounds finite.
  std::vector<std::vector<std::vector<Point>>> bands;
  std::vector<Point> marker_points;  // one per marker
  std::size_t missing_points = 0;    // non-finite y values, not drawn
  bool no_finite = false;            // no series has a finite point
};

// The layout of a chart that passed validation (report/chart.cpp).
Layout lay_out(const LineChart& chart);

}  // namespace kreg::report
