// report/svg.cpp - LineChart -> standalone SVG document.
//
// Layers, bottom up:
//   XmlWriter   elements and attributes; every text and attribute value is
//               escaped (& < > " ') and cleaned of what XML 1.0 cannot hold;
//               "^2"-style superscripts become tspans.
//   ticks       1-2-5 steps and decades (linear_ticks, log_ticks, format_tick).
//   Scale       data -> pixels along one axis, linear or log10, without
//               overflow for ranges that span most of the doubles.
//   lay_out     axis ranges, ticks, margins and the data in pixels, once.
//   draw_*      one per part, called by render_svg in paint order: grid,
//               series, markers, frame and ticks, words, legend, notes.
// Numbers go through fmt and from_chars (locale-independent) with 2 decimals
// for pixels, and nothing depends on addresses or the clock, so equal charts
// give equal bytes.
#include "kreg/plot.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <charconv>
#include <cmath>
#include <cstddef>
#include <initializer_list>
#include <limits>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "io/file.hpp"
#include "kreg/error.hpp"

namespace kreg {
namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();
constexpr double kMaxDouble = std::numeric_limits<double>::max();
constexpr double kMinDouble = std::numeric_limits<double>::denorm_min();

// ---------------------------------------------------------------- text ----

constexpr std::string_view kReplacement = "\xEF\xBF\xBD";  // U+FFFD

// Length of the well-formed UTF-8 sequence (RFC 3629) for an XML character
// at s[i], whose first byte is >= 0x80; 0 when the bytes there are not one.
std::size_t utf8_length(std::string_view s, std::size_t i) {
  const auto byte = [&](std::size_t k) -> unsigned {
    return i + k < s.size() ? static_cast<unsigned char>(s[i + k]) : 0U;
  };
  const auto continuation = [&](std::size_t k, unsigned lo = 0x80, unsigned hi = 0xBF) {
    return byte(k) >= lo && byte(k) <= hi;
  };
  const unsigned c = byte(0);
  if (c >= 0xC2 && c <= 0xDF) return continuation(1) ? 2 : 0;
  if (c >= 0xE0 && c <= 0xEF) {
    // E0 excludes overlong forms, ED excludes surrogates.
    const unsigned lo = c == 0xE0 ? 0xA0 : 0x80;
    const unsigned hi = c == 0xED ? 0x9F : 0xBF;
    if (!continuation(1, lo, hi) || !continuation(2)) return 0;
    // U+FFFE and U+FFFF are not XML characters.
    if (c == 0xEF && byte(1) == 0xBF && byte(2) >= 0xBE) return 0;
    return 3;
  }
  if (c >= 0xF0 && c <= 0xF4) {
    const unsigned lo = c == 0xF0 ? 0x90 : 0x80;
    const unsigned hi = c == 0xF4 ? 0x8F : 0xBF;
    return continuation(1, lo, hi) && continuation(2) && continuation(3) ? 4 : 0;
  }
  return 0;
}

// Appends `text` so that it is safe both as element content and inside a
// double- or single-quoted attribute value.
void append_escaped(std::string& out, std::string_view text) {
  std::size_t i = 0;
  while (i < text.size()) {
    const auto c = static_cast<unsigned char>(text[i]);
    if (c >= 0x80) {
      const std::size_t n = utf8_length(text, i);
      if (n == 0) {
        out += kReplacement;
        ++i;
      } else {
        out += text.substr(i, n);
        i += n;
      }
      continue;
    }
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&apos;";
        break;
      default:
        // XML 1.0 allows no control characters but tab, newline and return.
        if (c < 0x20 && c != '\t' && c != '\n' && c != '\r') {
          out += kReplacement;
        } else {
          out += static_cast<char>(c);
        }
    }
    ++i;
  }
}

// Characters `text` shows (UTF-8 code points), for width estimates.
std::size_t glyph_count(std::string_view text) {
  return static_cast<std::size_t>(std::count_if(text.begin(), text.end(), [](char c) {
    return (static_cast<unsigned char>(c) & 0xC0) != 0x80;
  }));
}

// Approximate width in pixels of `text` in a sans-serif font: there is no
// font metrics here, and 0.62 em per glyph is a little above the average of
// digits and lower-case letters in DejaVu Sans, Helvetica and Arial.
double text_width(std::string_view text, double font_size) {
  return 0.62 * font_size * static_cast<double>(glyph_count(text));
}

bool is_ascii_alnum(char c) {
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

// A piece of text, raised as a superscript or not.
struct TextRun {
  std::string_view text;
  bool superscript = false;
};

// "R^2 Score" -> "R", ^"2", " Score". A '^' starts a superscript only when
// ASCII letters or digits follow it (after at most one sign); otherwise it is
// an ordinary character.
std::vector<TextRun> split_superscripts(std::string_view text) {
  std::vector<TextRun> runs;
  std::size_t start = 0;
  std::size_t i = 0;
  while (i < text.size()) {
    if (text[i] == '^') {
      std::size_t j = i + 1;
      if (j < text.size() && (text[j] == '-' || text[j] == '+')) ++j;
      std::size_t k = j;
      while (k < text.size() && is_ascii_alnum(text[k])) ++k;
      if (k > j) {
        if (i > start) runs.push_back({text.substr(start, i - start), false});
        runs.push_back({text.substr(i + 1, k - i - 1), true});
        start = i = k;
        continue;
      }
    }
    ++i;
  }
  if (start < text.size()) runs.push_back({text.substr(start), false});
  return runs;
}

// Pixels: 2 decimals, trailing zeros dropped ("12.5", "300"), never "-0".
std::string px(double v) {
  std::string s = fmt::format("{:.2f}", v);
  if (s.find('.') != std::string::npos) {
    while (s.back() == '0') s.pop_back();
    if (s.back() == '.') s.pop_back();
  }
  if (s == "-0") s = "0";
  return s;
}

// ---------------------------------------------------------- XML writer ----

struct Attr {
  std::string_view name;
  std::string value;
};
using Attrs = std::initializer_list<Attr>;

// Writes one XML document, one element per line indented by depth. Tag and
// attribute names are literals of this file; values and text are data and
// always escaped.
class XmlWriter {
 public:
  XmlWriter() : out_("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n") {}

  void open(std::string_view tag, Attrs attrs) {
    start_tag(tag, attrs);
    out_ += ">\n";
    open_.emplace_back(tag);
  }

  void close() {
    std::string tag = std::move(open_.back());
    open_.pop_back();
    indent();
    out_ += "</" + tag + ">\n";
  }

  // <tag .../>
  void leaf(std::string_view tag, Attrs attrs) {
    start_tag(tag, attrs);
    out_ += "/>\n";
  }

  // <tag ...>text</tag>, the text taken literally.
  void plain(std::string_view tag, Attrs attrs, std::string_view text) {
    start_tag(tag, attrs);
    out_ += '>';
    append_escaped(out_, text);
    end_inline(tag);
  }

  // Like plain, but superscript runs (see split_superscripts) are raised and
  // shrunk relative to `font_size`. The shifts use dy, not baseline-shift,
  // which some renderers ignore. With tspans the text gets
  // xml:space="preserve": some renderers (librsvg) otherwise trim the space
  // that starts or ends a tspan, printing "R^2 Score" as "R^2Score".
  void rich(std::string_view tag, Attrs attrs, std::string_view text, double font_size) {
    const std::vector<TextRun> runs = split_superscripts(text);
    start_tag(tag, attrs);
    if (std::any_of(runs.begin(), runs.end(), [](const TextRun& r) { return r.superscript; })) {
      out_ += " xml:space=\"preserve\"";
    }
    out_ += '>';
    const std::string shift = px(0.4 * font_size);
    const std::string small = px(0.7 * font_size);
    bool raised = false;
    for (const TextRun& run : runs) {
      if (run.superscript) {
        out_ += raised ? "<tspan" : "<tspan dy=\"-" + shift + "\"";
        out_ += " font-size=\"" + small + "\">";
        raised = true;
      } else if (raised) {
        out_ += "<tspan dy=\"" + shift + "\">";
        raised = false;
      } else {
        append_escaped(out_, run.text);
        continue;
      }
      append_escaped(out_, run.text);
      out_ += "</tspan>";
    }
    end_inline(tag);
  }

  // The document; closes whatever is still open.
  std::string finish() && {
    while (!open_.empty()) close();
    return std::move(out_);
  }

 private:
  void indent() { out_.append(2 * open_.size(), ' '); }

  void start_tag(std::string_view tag, Attrs attrs) {
    indent();
    out_ += '<';
    out_ += tag;
    for (const Attr& a : attrs) {
      out_ += ' ';
      out_ += a.name;
      out_ += "=\"";
      append_escaped(out_, a.value);
      out_ += '"';
    }
  }

  void end_inline(std::string_view tag) {
    out_ += "</";
    out_ += tag;
    out_ += ">\n";
  }

  std::string out_;
  std::vector<std::string> open_;
};

// --------------------------------------------------------------- ticks ----

// The double nearest to mantissa x 10^exponent (mantissa an integer value),
// so 3 x 10^-1 gives 0.3 exactly as the literal does.
double decimal(double mantissa, int exponent) {
  const std::string s = fmt::format("{:.0f}e{}", mantissa, exponent);
  double v = 0.0;
  std::from_chars(s.data(), s.data() + s.size(), v);
  return v;
}

// Integer division rounding down and up (b > 0).
int floor_div(int a, int b) { return a / b - (a % b != 0 && a < 0 ? 1 : 0); }
int ceil_div(int a, int b) { return a / b + (a % b != 0 && a > 0 ? 1 : 0); }

void check_tick_count(const char* function, int max_count) {
  if (max_count < 2) {
    throw ArgumentError(fmt::format("{}: max_count is {}; need at least 2", function, max_count));
  }
}

// --------------------------------------------------------------- scale ----

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

// ---------------------------------------------------------- validation ----

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
  }
  for (std::size_t i = 0; i < chart.markers.size(); ++i) {
    const std::string name = marker_name(chart, i);
    check_coordinate(name + " x", chart.markers[i].x, chart.log_x);
    check_coordinate(name + " y", chart.markers[i].y, false);
  }
}

// -------------------------------------------------------------- layout ----

constexpr double kTitleSize = 16.0;
constexpr double kLabelSize = 14.0;
constexpr double kTickSize = 12.0;
constexpr double kNoteSize = 11.0;
constexpr double kTickLength = 5.0;
constexpr double kMinorTickLength = 3.0;
constexpr int kMaxXTicks = 8;
constexpr int kMaxYTicks = 8;
constexpr const char* kGridColor = "#e0e0e0";
constexpr const char* kInkColor = "#333333";
constexpr const char* kNoteColor = "#666666";

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

// Everything drawing needs, worked out once: axes, the frame, data in pixels.
struct Layout {
  Frame frame;
  Scale sx;
  Scale sy;
  AxisTicks x_ticks;
  AxisTicks y_ticks;
  std::vector<std::string> x_tick_labels;
  std::vector<std::string> y_tick_labels;
  std::vector<Trace> traces;         // one per series
  std::vector<Point> marker_points;  // one per marker
  std::size_t missing_points = 0;    // non-finite y values, not drawn
  bool no_finite = false;            // no series has a finite point
};

// Baselines below the frame: tick labels, then the x axis label.
constexpr double kXTickBaseline = kTickLength + 4.0 + kTickSize;
constexpr double kXLabelBaseline = kXTickBaseline + 10.0 + kLabelSize;

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
  for (const Marker& m : chart.markers)
    layout.marker_points.push_back({layout.sx(m.x), layout.sy(m.y)});
  return layout;
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

}  // namespace

// ------------------------------------------------------------ public API ----

AxisTicks linear_ticks(double lo, double hi, int max_count) {
  if (!(std::isfinite(lo) && std::isfinite(hi) && lo <= hi)) {
    throw ArgumentError(fmt::format("linear_ticks: need finite lo <= hi, got [{}, {}]", lo, hi));
  }
  check_tick_count("linear_ticks", max_count);
  if (lo == hi) return {{lo}, {}};
  // Start a decade below the step that would give max_count ticks and walk
  // up 1, 2, 5, 10, ...; halves keep the span finite for [-max, max].
  const double half_span = hi * 0.5 - lo * 0.5;
  if (!(half_span > 0.0)) return {{lo, hi}, {}};  // adjacent subnormals
  int exponent = static_cast<int>(std::floor(std::log10(half_span) + std::log10(2.0 / max_count)));
  --exponent;
  for (; exponent <= 310; ++exponent) {
    for (const int m : {1, 2, 5}) {
      const double step = decimal(m, exponent);
      if (step == 0.0) continue;
      // The 1e-9 slack keeps ticks on the ends that division rounds away
      // (0.7 / 0.1 = 6.999999999999999).
      const double first = std::ceil(lo / step - 1e-9);
      const double last = std::floor(hi / step + 1e-9);
      if (last - first + 1.0 > max_count) continue;
      // Counting with an int: past 2^53, ++i on a double can stop moving.
      AxisTicks ticks;
      const int n = static_cast<int>(last - first) + 1;
      for (int k = 0; k < n; ++k) {
        const double i = first + k;
        const double v = i == 0.0 ? 0.0 : decimal(i * m, exponent);
        if (ticks.major.empty() || v != ticks.major.back()) ticks.major.push_back(v);
      }
      return ticks;
    }
  }
  return {{lo, hi}, {}};  // unreachable: a step beyond the doubles gives one tick
}

AxisTicks log_ticks(double lo, double hi, int max_count) {
  if (!(std::isfinite(lo) && std::isfinite(hi) && lo > 0.0 && lo <= hi)) {
    throw ArgumentError(fmt::format("log_ticks: need finite 0 < lo <= hi, got [{}, {}]", lo, hi));
  }
  check_tick_count("log_ticks", max_count);
  // Powers of ten inside [lo, hi]; the slack keeps 1000 when log10 rounds.
  const int k_lo = static_cast<int>(std::ceil(std::log10(lo) - 1e-9));
  const int k_hi = static_cast<int>(std::floor(std::log10(hi) + 1e-9));
  const auto inside = [&](double v) { return v >= lo * (1.0 - 1e-9) && v <= hi * (1.0 + 1e-9); };
  AxisTicks ticks;
  if (k_hi - k_lo + 1 >= 3) {
    int every = 1;
    for (const int d : {1, 2, 5, 10, 20, 50, 100, 200, 500, 1000}) {
      every = d;
      if (floor_div(k_hi, d) - ceil_div(k_lo, d) + 1 <= max_count) break;
    }
    for (int k = ceil_div(k_lo, every) * every; k <= k_hi; k += every) {
      ticks.major.push_back(decimal(1, k));
    }
    if (every == 1) {
      for (int k = k_lo - 1; k <= k_hi; ++k) {
        for (int m = 2; m <= 9; ++m) {
          if (inside(decimal(m, k))) ticks.minor.push_back(decimal(m, k));
        }
      }
    }
    return ticks;
  }
  // Fewer than three decades: label 1, 2 and 5 x 10^k, mark the other digits.
  for (int k = k_lo - 1; k <= k_hi; ++k) {
    for (int m = 1; m <= 9; ++m) {
      const double v = decimal(m, k);
      if (!inside(v)) continue;
      (m == 1 || m == 2 || m == 5 ? ticks.major : ticks.minor).push_back(v);
    }
  }
  if (static_cast<int>(ticks.major.size()) > max_count) {
    ticks.major.clear();
    for (int k = k_lo; k <= k_hi; ++k) ticks.major.push_back(decimal(1, k));
  }
  if (ticks.major.size() >= 2) return ticks;
  // Within about a decade: ordinary steps read better than one lone label.
  return linear_ticks(lo, hi, max_count);
}

std::string format_tick(double value) {
  if (value == 0.0) return "0";
  if (!std::isfinite(value)) return fmt::format("{}", value);
  const double magnitude = std::fabs(value);
  // fmt's "{}" is the shortest round-trip text, fixed in this range.
  if (magnitude >= 1e-4 && magnitude < 1e6) return fmt::format("{}", value);
  for (int digits = 0; digits < 17; ++digits) {
    std::string s = fmt::format("{:.{}e}", value, digits);
    double back = 0.0;
    std::from_chars(s.data(), s.data() + s.size(), back);
    if (back == value) return s;
  }
  return fmt::format("{:.16e}", value);
}

std::string render_svg(const LineChart& chart) {
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
  // Paint order: later on top.
  draw_grid(w, layout);
  draw_series(w, chart, layout);
  const std::vector<Box> labels = draw_markers(w, chart, layout);
  draw_axes(w, layout);
  draw_words(w, chart, layout);
  draw_legend(w, chart, layout, labels);
  draw_notes(w, chart, layout);
  return std::move(w).finish();
}

void write_svg(const std::string& path, const LineChart& chart) {
  // Render first: a chart that breaks its contract leaves the file untouched.
  const std::string document = render_svg(chart);
  io::detail::write_file_atomic(path, document);
}

}  // namespace kreg
