// report/chart.cpp - LineChart -> standalone SVG document (kreg/plot.hpp).
//
// Layers, bottom up:
//   report/xml     elements and attributes; every text and attribute value is
//                  escaped and cleaned of what XML 1.0 cannot hold;
//                  "^2"-style superscripts become tspans.
//   report/ticks   1-2-5 steps and decades, and their labels.
//   report/layout  axis ranges, ticks, margins and the data in pixels, once.
//   this file      the chart's contract (validate), then one draw_* per part,
//                  called by render_svg in paint order: grid, bands, series,
//                  markers, frame and ticks, words, legend, notes.
// Numbers are written locale-independently with 2 decimals for pixels, and
// nothing depends on addresses or the clock, so equal charts give equal bytes.
#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstddef>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "io/file.hpp"
#include "kreg/error.hpp"
#include "kreg/plot.hpp"
#include "report/layout.hpp"
#include "report/ticks.hpp"
#include "report/xml.hpp"

namespace kreg {

namespace report {
namespace {

// Colours for series without one: matplotlib's tab10, red first so that a
// single default line looks like `plt.plot(..., color="red")`.
constexpr std::array<std::string_view, 8> kPalette = {"#d62728", "#1f77b4", "#2ca02c", "#ff7f0e",
                                                      "#9467bd", "#8c564b", "#e377c2", "#17becf"};

std::string series_name(const LineChart& chart, std::size_t i) {
  const std::string& label = chart.series[i].label;
  return label.empty() ? fmt::format("series {}", i + 1) : fmt::format("series '{}'", label);
}

std::string marker_name(const LineChart& chart, std::size_t i) {
  const std::string& label = chart.markers[i].label;
  return label.empty() ? fmt::format("marker {}", i + 1) : fmt::format("marker '{}'", label);
}

// `what` names the value, e.g. "series 'cv' x[3]".
void check_coordinate(const std::string& what, double v, bool must_be_positive) {
  if (std::isnan(v)) {
    throw ArgumentError(fmt::format("line chart: {} is NaN; it must be finite", what));
  }
  if (std::isinf(v)) {
    throw ArgumentError(fmt::format("line chart: {} is infinite; it must be finite", what));
  }
  if (must_be_positive && v <= 0.0) {
    throw ArgumentError(
        fmt::format("line chart: {} = {} but a log x axis needs x > 0", what, format_tick(v)));
  }
}

// A band is absent or has a lower and an upper value per x, lower <= upper
// where both are finite (a non-finite bound leaves a gap, as a missing y does).
void check_band(const std::string& name, const Series& s) {
  if (s.band_lo.empty() && s.band_hi.empty()) return;
  if (s.band_lo.size() != s.x.size() || s.band_hi.size() != s.x.size()) {
    throw ArgumentError(
        fmt::format("line chart: {} has {} x values but a band of {} lower and {} upper values; "
                    "give one of each per x, or none",
                    name, s.x.size(), s.band_lo.size(), s.band_hi.size()));
  }
  for (std::size_t j = 0; j < s.x.size(); ++j) {
    if (std::isfinite(s.band_lo[j]) && std::isfinite(s.band_hi[j]) && s.band_lo[j] > s.band_hi[j]) {
      throw ArgumentError(fmt::format("line chart: {} band at x[{}]: lower {} is above upper {}",
                                      name, j, format_tick(s.band_lo[j]),
                                      format_tick(s.band_hi[j])));
    }
  }
}

void validate(const LineChart& chart) {
  if (chart.width < 200 || chart.height < 150) {
    throw ArgumentError(fmt::format("line chart: size is {} x {} pixels; need at least 200 x 150",
                                    chart.width, chart.height));
  }
  if (chart.series.empty()) {
    throw ArgumentError("line chart: no series to draw; add at least one Series");
  }
  for (std::size_t i = 0; i < chart.series.size(); ++i) {
    const Series& s = chart.series[i];
    const std::string name = series_name(chart, i);
    if (s.x.size() != s.y.size()) {
      throw ArgumentError(fmt::format("line chart: {} has {} x values but {} y values", name,
                                      s.x.size(), s.y.size()));
    }
    if (!(std::isfinite(s.line_width) && s.line_width > 0.0)) {
      throw ArgumentError(fmt::format("line chart: {} has line_width {}; need a finite width > 0",
                                      name, s.line_width));
    }
    for (std::size_t j = 0; j < s.x.size(); ++j) {
      check_coordinate(fmt::format("{} x[{}]", name, j), s.x[j], chart.log_x);
    }
    check_band(name, s);
  }
  for (std::size_t i = 0; i < chart.markers.size(); ++i) {
    const std::string name = marker_name(chart, i);
    check_coordinate(name + " x", chart.markers[i].x, chart.log_x);
    check_coordinate(name + " y", chart.markers[i].y, false);
  }
}

std::string series_color(const LineChart& chart, std::size_t i) {
  const std::string& color = chart.series[i].color;
  return color.empty() ? std::string(kPalette[i % kPalette.size()]) : color;
}

// Light grid lines at the labelled ticks.
void draw_grid(XmlWriter& w, const Layout& layout) {
  const Frame& f = layout.frame;
  w.open("g", {{"class", "grid"}, {"stroke", kGridColor}, {"stroke-width", "1"}});
  for (const double v : layout.x_ticks.major) {
    const std::string x = px(layout.sx(v));
    w.leaf("line", {{"x1", x}, {"y1", px(f.top)}, {"x2", x}, {"y2", px(f.bottom)}});
  }
  for (const double v : layout.y_ticks.major) {
    const std::string y = px(layout.sy(v));
    w.leaf("line", {{"x1", px(f.left)}, {"y1", y}, {"x2", px(f.right)}, {"y2", y}});
  }
  w.close();
}

// Bands beneath every line: each a translucent area in its series' colour
// (a lone point's band, a translucent bar).
void draw_bands(XmlWriter& w, const LineChart& chart, const Layout& layout) {
  for (std::size_t i = 0; i < chart.series.size(); ++i) {
    if (layout.bands[i].empty()) continue;
    w.open("g", {{"class", "band"},
                 {"fill", series_color(chart, i)},
                 {"fill-opacity", "0.2"},
                 {"stroke", "none"}});
    for (const auto& outline : layout.bands[i]) {
      if (outline.size() == 2) {  // a lone point's band: a bar from upper to lower
        w.leaf("line", {{"x1", px(outline[0].x)},
                        {"y1", px(outline[0].y)},
                        {"x2", px(outline[1].x)},
                        {"y2", px(outline[1].y)},
                        {"stroke", series_color(chart, i)},
                        {"stroke-opacity", "0.35"},
                        {"stroke-width", "6"}});
        continue;
      }
      std::string points;
      for (const Point& p : outline) {
        if (!points.empty()) points += ' ';
        points += px(p.x) + ',' + px(p.y);
      }
      w.leaf("polygon", {{"points", points}});
    }
    w.close();
  }
}

// One group per series: a polyline per run of finite points. A finite point
// between two missing ones has nothing to join, so it is drawn as a dot
// rather than silently dropped.
void draw_series(XmlWriter& w, const LineChart& chart, const Layout& layout) {
  for (std::size_t i = 0; i < chart.series.size(); ++i) {
    const Series& s = chart.series[i];
    const std::string color = series_color(chart, i);
    w.open("g", {{"class", "series"},
                 {"fill", "none"},
                 {"stroke", color},
                 {"stroke-width", px(s.line_width)},
                 {"stroke-linejoin", "round"},
                 {"stroke-linecap", "round"}});
    for (const auto& seg : layout.traces[i].segments) {
      if (seg.size() == 1) {
        w.leaf("circle", {{"cx", px(seg[0].x)},
                          {"cy", px(seg[0].y)},
                          {"r", px(std::max(s.line_width, 2.0))},
                          {"fill", color},
                          {"stroke", "none"}});
        continue;
      }
      std::string points;
      for (const Point& p : seg) {
        if (!points.empty()) points += ' ';
        points += px(p.x) + ',' + px(p.y);
      }
      w.leaf("polyline", {{"points", points}});
    }
    if (s.markers) {
      for (const auto& seg : layout.traces[i].segments) {
        for (const Point& p : seg) {
          w.leaf("circle", {{"cx", px(p.x)},
                            {"cy", px(p.y)},
                            {"r", px(s.line_width + 1.5)},
                            {"fill", color},
                            {"stroke", "none"}});
        }
      }
    }
    w.close();
  }
}

// Markers: a black ring around a dot, the label near it on a white halo, at
// whichever of 18 spots (right, left or centred; above or below; three
// distances) stays inside the frame and hides the least line. Returns the
// label boxes, for the legend to keep clear of.
std::vector<Box> draw_markers(XmlWriter& w, const LineChart& chart, const Layout& layout) {
  const Frame& f = layout.frame;
  std::vector<Box> placed;
  for (std::size_t i = 0; i < chart.markers.size(); ++i) {
    const Point p = layout.marker_points[i];
    w.open("g", {{"class", "marker"}});
    w.leaf("circle", {{"cx", px(p.x)},
                      {"cy", px(p.y)},
                      {"r", "7"},
                      {"fill", "none"},
                      {"stroke", "#000000"},
                      {"stroke-width", "2"}});
    w.leaf("circle", {{"cx", px(p.x)}, {"cy", px(p.y)}, {"r", "2.5"}, {"fill", "#000000"}});
    const std::string& label = chart.markers[i].label;
    if (!label.empty()) {
      // Boxes span the glyphs: from a font size above the baseline to a
      // little below it, for descenders.
      const double tw = text_width(label, kTickSize);
      const double th = kTickSize + 4.0;
      std::vector<Box> spots;
      for (const double gap : {11.0, 28.0, 48.0}) {
        const double above = p.y - gap - th;
        const double below = p.y + gap;
        for (const double y : {above, below}) {
          spots.push_back({p.x + gap, y, tw, th});
          spots.push_back({p.x - gap - tw, y, tw, th});
          spots.push_back({p.x - tw / 2.0, y, tw, th});
        }
      }
      const Box spot = least_hiding(spots, f, layout.traces, layout.marker_points, placed);
      placed.push_back(spot);
      w.rich("text",
             {{"x", px(spot.x)},
              {"y", px(spot.y + kTickSize)},  // the baseline
              {"fill", "#000000"},
              {"stroke", "#ffffff"},
              {"stroke-width", "3"},
              {"stroke-linejoin", "round"},
              {"paint-order", "stroke"}},
             label, kTickSize);
    }
    w.close();
  }
  return placed;
}

// The frame, ticks and their labels.
void draw_axes(XmlWriter& w, const Layout& layout) {
  const Frame& f = layout.frame;
  w.leaf("rect", {{"x", px(f.left)},
                  {"y", px(f.top)},
                  {"width", px(f.width())},
                  {"height", px(f.height())},
                  {"fill", "none"},
                  {"stroke", kInkColor},
                  {"stroke-width", "1"}});
  w.open("g", {{"class", "x-ticks"}, {"stroke", kInkColor}, {"stroke-width", "1"}});
  for (const double v : layout.x_ticks.major) {
    const std::string x = px(layout.sx(v));
    w.leaf("line",
           {{"x1", x}, {"y1", px(f.bottom)}, {"x2", x}, {"y2", px(f.bottom + kTickLength)}});
  }
  for (const double v : layout.x_ticks.minor) {
    const std::string x = px(layout.sx(v));
    w.leaf("line",
           {{"x1", x}, {"y1", px(f.bottom)}, {"x2", x}, {"y2", px(f.bottom + kMinorTickLength)}});
  }
  w.close();
  w.open("g", {{"class", "x-tick-labels"}, {"fill", kInkColor}, {"text-anchor", "middle"}});
  for (std::size_t k = 0; k < layout.x_ticks.major.size(); ++k) {
    w.plain("text",
            {{"x", px(layout.sx(layout.x_ticks.major[k]))}, {"y", px(f.bottom + kXTickBaseline)}},
            layout.x_tick_labels[k]);
  }
  w.close();
  w.open("g", {{"class", "y-ticks"}, {"stroke", kInkColor}, {"stroke-width", "1"}});
  for (const double v : layout.y_ticks.major) {
    const std::string y = px(layout.sy(v));
    w.leaf("line", {{"x1", px(f.left - kTickLength)}, {"y1", y}, {"x2", px(f.left)}, {"y2", y}});
  }
  w.close();
  w.open("g", {{"class", "y-tick-labels"}, {"fill", kInkColor}, {"text-anchor", "end"}});
  for (std::size_t k = 0; k < layout.y_ticks.major.size(); ++k) {
    // dy 0.35em centres digits on the tick; dominant-baseline is not
    // supported everywhere.
    w.plain("text",
            {{"x", px(f.left - kTickLength - 3.0)},
             {"y", px(layout.sy(layout.y_ticks.major[k]))},
             {"dy", "0.35em"}},
            layout.y_tick_labels[k]);
  }
  w.close();
}

// Title above the frame, x label below, y label rotated on the left.
void draw_words(XmlWriter& w, const LineChart& chart, const Layout& layout) {
  const Frame& f = layout.frame;
  const double centre_x = (f.left + f.right) / 2.0;
  const double centre_y = (f.top + f.bottom) / 2.0;
  if (!chart.title.empty()) {
    w.rich("text",
           {{"class", "title"},
            {"x", px(centre_x)},
            {"y", "30"},
            {"text-anchor", "middle"},
            {"font-size", px(kTitleSize)},
            {"font-weight", "bold"},
            {"fill", "#000000"}},
           chart.title, kTitleSize);
  }
  if (!chart.x_label.empty()) {
    w.rich("text",
           {{"class", "x-label"},
            {"x", px(centre_x)},
            {"y", px(f.bottom + kXLabelBaseline)},
            {"text-anchor", "middle"},
            {"font-size", px(kLabelSize)},
            {"fill", "#000000"}},
           chart.x_label, kLabelSize);
  }
  if (!chart.y_label.empty()) {
    const double x = 10.0 + kLabelSize;  // the baseline; glyphs rise to its left
    w.rich("text",
           {{"class", "y-label"},
            {"x", px(x)},
            {"y", px(centre_y)},
            {"transform", fmt::format("rotate(-90 {} {})", px(x), px(centre_y))},
            {"text-anchor", "middle"},
            {"font-size", px(kLabelSize)},
            {"fill", "#000000"}},
           chart.y_label, kLabelSize);
  }
}

// A legend for several series, or when the one series is named; series
// without a label are listed as "series N".
void draw_legend(XmlWriter& w, const LineChart& chart, const Layout& layout,
                 const std::vector<Box>& placed) {
  const Frame& f = layout.frame;
  const bool any_label = std::any_of(chart.series.begin(), chart.series.end(),
                                     [](const Series& s) { return !s.label.empty(); });
  if (chart.series.size() < 2 && !any_label) return;
  std::vector<std::string> names;
  double text_w = 0.0;
  for (std::size_t i = 0; i < chart.series.size(); ++i) {
    const std::string& label = chart.series[i].label;
    names.push_back(label.empty() ? fmt::format("series {}", i + 1) : label);
    text_w = std::max(text_w, text_width(names.back(), kTickSize));
  }
  constexpr double row = 18.0;
  constexpr double sample = 24.0;
  const double box_w = 8.0 + sample + 6.0 + text_w + 8.0;
  const double box_h = 6.0 + row * static_cast<double>(names.size()) + 6.0;
  // In a corner of the frame, upper right preferred, clear of the marker
  // labels.
  constexpr double inset = 10.0;
  const std::vector<Box> corners = {
      {f.right - inset - box_w, f.top + inset, box_w, box_h},
      {f.left + inset, f.top + inset, box_w, box_h},
      {f.right - inset - box_w, f.bottom - inset - box_h, box_w, box_h},
      {f.left + inset, f.bottom - inset - box_h, box_w, box_h}};
  const Box box = least_hiding(corners, f, layout.traces, layout.marker_points, placed);
  w.open("g", {{"class", "legend"}});
  w.leaf("rect", {{"x", px(box.x)},
                  {"y", px(box.y)},
                  {"width", px(box.w)},
                  {"height", px(box.h)},
                  {"rx", "3"},
                  {"fill", "#ffffff"},
                  {"fill-opacity", "0.9"},
                  {"stroke", "#cccccc"}});
  for (std::size_t i = 0; i < names.size(); ++i) {
    const Series& s = chart.series[i];
    const std::string color = series_color(chart, i);
    const double y = box.y + 6.0 + row * (static_cast<double>(i) + 0.5);
    w.leaf("line", {{"x1", px(box.x + 8.0)},
                    {"y1", px(y)},
                    {"x2", px(box.x + 8.0 + sample)},
                    {"y2", px(y)},
                    {"stroke", color},
                    {"stroke-width", px(std::min(s.line_width, 4.0))},
                    {"stroke-linecap", "round"}});
    w.rich("text",
           {{"x", px(box.x + 8.0 + sample + 6.0)},
            {"y", px(y)},
            {"dy", "0.35em"},
            {"fill", "#000000"}},
           names[i], kTickSize);
  }
  w.close();
}

// Notes, so the picture never implies data it does not show.
void draw_notes(XmlWriter& w, const LineChart& chart, const Layout& layout) {
  const Frame& f = layout.frame;
  if (layout.no_finite) {
    w.plain("text",
            {{"class", "note"},
             {"x", px((f.left + f.right) / 2.0)},
             {"y", px((f.top + f.bottom) / 2.0)},
             {"text-anchor", "middle"},
             {"font-size", px(kLabelSize)},
             {"fill", kNoteColor}},
            "no finite values to plot");
  } else if (layout.missing_points > 0) {
    w.plain("text",
            {{"class", "note"},
             {"x", "8"},
             {"y", px(chart.height - 8.0)},
             {"font-size", px(kNoteSize)},
             {"fill", kNoteColor}},
            fmt::format("{} non-finite value{} not drawn (NaN or infinite y)",
                        layout.missing_points, layout.missing_points == 1 ? "" : "s"));
  }
}

// The whole document, parts in paint order (later on top).
std::string render(const LineChart& chart) {
  validate(chart);
  const Layout layout = lay_out(chart);
  const std::string width = px(chart.width);
  const std::string height = px(chart.height);
  XmlWriter w;
  w.open("svg", {{"xmlns", "http://www.w3.org/2000/svg"},
                 {"width", width},
                 {"height", height},
                 {"viewBox", fmt::format("0 0 {} {}", width, height)},
                 {"font-family", "DejaVu Sans, Helvetica, Arial, sans-serif"},
                 {"font-size", px(kTickSize)}});
  if (!chart.title.empty()) w.plain("title", {}, chart.title);
  w.leaf("rect", {{"width", width}, {"height", height}, {"fill", "#ffffff"}});
  draw_grid(w, layout);
  draw_bands(w, chart, layout);
  draw_series(w, chart, layout);
  const std::vector<Box> labels = draw_markers(w, chart, layout);
  draw_axes(w, layout);
  draw_words(w, chart, layout);
  draw_legend(w, chart, layout, labels);
  draw_notes(w, chart, layout);
  return std::move(w).finish();
}

}  // namespace
}  // namespace report

std::string render_svg(const LineChart& chart) { return report::render(chart); }

void write_svg(const std::string& path, const LineChart& chart) {
  // Render first: a chart that breaks its contract leaves the file untouched.
  const std::string document = render_svg(chart);
  io::detail::write_file_atomic(path, document);
}

}  // namespace kreg
