// report/layout.cpp - axis ranges, margins, data in pixels and label spots
// (report/layout.hpp).
#include "report/layout.hpp"

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <limits>
#include <string>
#include <utility>
#include <vector>

#include "report/xml.hpp"

namespace kreg::report {
namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();
constexpr double kMaxDouble = std::numeric_limits<double>::max();
constexpr double kMinDouble = std::numeric_limits<double>::denorm_min();
constexpr int kMaxXTicks = 8;
constexpr int kMaxYTicks = 8;

// Smallest interval holding the values added so far; empty until the first.
struct Extent {
  double lo = kInf;
  double hi = -kInf;
  void add(double v) {
    lo = std::min(lo, v);
    hi = std::max(hi, v);
  }
  bool empty() const { return lo > hi; }
};

// The axis range in axis units for data spanning `e`, with lo < hi: 5%
// padding on each side so no point sits on the frame. A single value gets
// +-10% of itself (+-1 at zero) on a linear axis and +-half a decade on a log
// axis, so it sits mid-axis. Limited to finite, positive-where-log doubles.
// No data: [0, 1].
std::pair<double, double> axis_range(const Extent& e, bool log) {
  if (e.empty()) return {0.0, 1.0};
  if (log) {
    double lo = std::log10(e.lo);
    double hi = std::log10(e.hi);
    const double pad = lo == hi ? 0.5 : 0.05 * (hi - lo);
    lo = std::max(lo - pad, std::log10(kMinDouble));
    hi = std::min(hi + pad, std::log10(kMaxDouble));
    return {lo, hi};
  }
  double lo = e.lo;
  double hi = e.hi;
  double pad = lo == hi ? 0.1 * std::fabs(lo) : 0.1 * (hi * 0.5 - lo * 0.5);
  if (!(lo - pad < hi + pad)) pad = 1.0;  // zero, or so small the padding vanishes
  lo = std::max(lo - pad, -kMaxDouble);
  hi = std::min(hi + pad, kMaxDouble);
  // Subnormal data can leave a range whose half-width (what Scale divides
  // by) rounds to zero; widen it rather than divide by zero.
  if (!(hi * 0.5 - lo * 0.5 > 0.0)) {
    lo -= 1.0;
    hi += 1.0;
  }
  return {lo, hi};
}

// Ticks for an axis range in axis units; none when the axis has no data.
AxisTicks ticks_for(const Extent& e, const std::pair<double, double>& range, bool log,
                    int max_count) {
  if (e.empty()) return {};
  if (!log) return linear_ticks(range.first, range.second, max_count);
  const double lo = std::clamp(std::pow(10.0, range.first), kMinDouble, kMaxDouble);
  const double hi = std::clamp(std::pow(10.0, range.second), lo, kMaxDouble);
  return log_ticks(lo, hi, max_count);
}

// What a box placed on the chart would hide: one per 4 px of line under it
// (lines are sampled along each segment, so one crossing the box counts even
// without a vertex inside), 100 per marker, 1000 for overlapping a box
// already placed.
double hidden_by(const Box& box, const std::vector<Trace>& traces,
                 const std::vector<Point>& markers, const std::vector<Box>& placed) {
  double score = 0.0;
  for (const Trace& trace : traces) {
    for (const auto& seg : trace.segments) {
      for (std::size_t k = 0; k < seg.size(); ++k) {
        if (box.contains(seg[k])) score += 1.0;
        if (k + 1 == seg.size()) continue;
        const Point a = seg[k];
        const Point b = seg[k + 1];
        if (std::max(a.x, b.x) < box.x || std::min(a.x, b.x) > box.x + box.w ||
            std::max(a.y, b.y) < box.y || std::min(a.y, b.y) > box.y + box.h) {
          continue;  // the segment's bounding box misses this box
        }
        const double dx = b.x - a.x;
        const double dy = b.y - a.y;
        const int samples = static_cast<int>(std::min(std::hypot(dx, dy) / 4.0, 1000.0));
        for (int s = 1; s < samples; ++s) {
          const double t = s / static_cast<double>(samples);
          if (box.contains({a.x + t * dx, a.y + t * dy})) score += 1.0;
        }
      }
    }
  }
  for (const Point& m : markers) {
    if (box.contains(m)) score += 100.0;
  }
  for (const Box& b : placed) {
    if (box.overlaps(b)) score += 1000.0;
  }
  return score;
}

}  // namespace

// The candidate that hides least; ties go to the earlier (preferred) one.
// Candidates inside the frame win over any that stick out.
Box least_hiding(const std::vector<Box>& candidates, const Frame& f,
                 const std::vector<Trace>& traces, const std::vector<Point>& markers,
                 const std::vector<Box>& placed) {
  Box best = candidates.front();
  double best_score = kInf;
  for (const Box& box : candidates) {
    const double score = hidden_by(box, traces, markers, placed) + (box.inside(f) ? 0.0 : 1e9);
    if (score < best_score) {
      best_score = score;
      best = box;
    }
  }
  return best;
}

Layout lay_out(const LineChart& chart) {
  Layout layout;
  // Data extents: every x (a missing y still shows where data was asked
  // for), finite y only; markers are always in view.
  Extent xs;
  Extent ys;
  std::size_t finite_points = 0;
  for (const Series& s : chart.series) {
    for (std::size_t j = 0; j < s.x.size(); ++j) {
      xs.add(s.x[j]);
      if (std::isfinite(s.y[j])) {
        ys.add(s.y[j]);
        ++finite_points;
      } else {
        ++layout.missing_points;
      }
    }
    for (const auto* bound : {&s.band_lo, &s.band_hi}) {
      for (const double v : *bound) {
        if (std::isfinite(v)) ys.add(v);
      }
    }
  }
  for (const Marker& m : chart.markers) {
    xs.add(m.x);
    ys.add(m.y);
  }
  layout.no_finite = finite_points == 0;
  const auto x_range = axis_range(xs, chart.log_x);
  const auto y_range = axis_range(ys, false);
  layout.x_ticks = ticks_for(xs, x_range, chart.log_x, kMaxXTicks);
  layout.y_ticks = ticks_for(ys, y_range, false, kMaxYTicks);
  for (const double v : layout.x_ticks.major) layout.x_tick_labels.push_back(format_tick(v));
  for (const double v : layout.y_ticks.major) layout.y_tick_labels.push_back(format_tick(v));

  // Margins from what sits in them.
  const double width = chart.width;
  const double height = chart.height;
  double y_labels_width = 0.0;
  for (const auto& s : layout.y_tick_labels) {
    y_labels_width = std::max(y_labels_width, text_width(s, kTickSize));
  }
  Frame& f = layout.frame;
  f.left =
      10.0 + (chart.y_label.empty() ? 0.0 : kLabelSize + 12.0) + y_labels_width + kTickLength + 4.0;
  f.left = std::min(f.left, width / 2.0);
  f.top = chart.title.empty() ? 16.0 : 48.0;
  const bool footnote = layout.missing_points > 0 && !layout.no_finite;
  f.bottom = height - ((chart.x_label.empty() ? kXTickBaseline : kXLabelBaseline) + 10.0 +
                       (footnote ? kNoteSize + 4.0 : 0.0));
  double right_margin = 20.0;
  if (!layout.x_tick_labels.empty()) {
    // Half of the last x tick label hangs past the frame.
    right_margin =
        std::max(right_margin, text_width(layout.x_tick_labels.back(), kTickSize) / 2.0 + 6.0);
  }
  f.right = width - right_margin;
  layout.sx = Scale{chart.log_x, x_range.first, x_range.second, f.left, f.right};
  layout.sy = Scale{false, y_range.first, y_range.second, f.bottom, f.top};

  // Series in pixels, split at missing values.
  layout.traces.resize(chart.series.size());
  for (std::size_t i = 0; i < chart.series.size(); ++i) {
    const Series& s = chart.series[i];
    std::vector<Point> run;
    for (std::size_t j = 0; j <= s.x.size(); ++j) {
      if (j < s.x.size() && std::isfinite(s.y[j])) {
        run.push_back({layout.sx(s.x[j]), layout.sy(s.y[j])});
      } else if (!run.empty()) {
        layout.traces[i].segments.push_back(std::move(run));
        run.clear();
      }
    }
  }
  layout.bands.resize(chart.series.size());
  for (std::size_t i = 0; i < chart.series.size(); ++i) {
    const Series& s = chart.series[i];
    if (s.band_lo.empty()) continue;
    std::vector<Point> upper;
    std::vector<Point> lower;
    for (std::size_t j = 0; j <= s.x.size(); ++j) {
      if (j < s.x.size() && std::isfinite(s.y[j]) && std::isfinite(s.band_lo[j]) &&
          std::isfinite(s.band_hi[j])) {
        upper.push_back({layout.sx(s.x[j]), layout.sy(s.band_hi[j])});
        lower.push_back({layout.sx(s.x[j]), layout.sy(s.band_lo[j])});
      } else if (!upper.empty()) {
        upper.insert(upper.end(), lower.rbegin(), lower.rend());
        layout.bands[i].push_back(std::move(upper));
        upper.clear();
        lower.clear();
      }
    }
  }
  for (const Marker& m : chart.markers)
    layout.marker_points.push_back({layout.sx(m.x), layout.sy(m.y)});
  return layout;
}

}  // namespace kreg::report
