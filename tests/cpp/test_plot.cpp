// The SVG line-chart writer: tick values, tick labels, data -> pixel mapping,
// missing values, escaping, errors, determinism, well-formed XML (a small
// checker here, and Python's xml.etree when the project's .venv has it) and
// atomic file output.
//
// Set KREG_PLOT_EXAMPLE=/path/chart.svg to keep the `kreg tune`-style example
// chart that PlotSvgFile.TuneExample draws.
#include <fmt/format.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <limits>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "kreg/error.hpp"
#include "kreg/plot.hpp"
#include "svg_support.hpp"
#include "test_support.hpp"

namespace {

namespace fs = std::filesystem;
using D = std::vector<double>;
using kreg::LineChart;
using kreg::Series;

const double nan = std::numeric_limits<double>::quiet_NaN();
const double inf = std::numeric_limits<double>::infinity();
const double max_double = std::numeric_limits<double>::max();

const auto expect_argument_error = kreg::test::expect_error<kreg::ArgumentError>;
using kreg::test::attribute;
using kreg::test::count;
using kreg::test::group_lines;
using kreg::test::Px;
using kreg::test::start_tags;
using kreg::test::tick_labels;
using kreg::test::vertices;
using kreg::test::x_tick_at;
using kreg::test::xml_problem;

// ------------------------------------------------------------- helpers ----

Series make_series(D x, D y) {
  Series s;
  s.x = std::move(x);
  s.y = std::move(y);
  return s;
}

LineChart one_series(D x, D y, bool log_x = false) {
  LineChart chart;
  chart.log_x = log_x;
  chart.series.push_back(make_series(std::move(x), std::move(y)));
  return chart;
}

// R^2 against bandwidth as `kreg tune` draws it: 40 bandwidths from 0.01 to
// 10 on a log axis, a peak near h = 0.62, and the best point marked.
LineChart tune_chart() {
  LineChart chart;
  chart.title = "Nadaraya-Watson Performance vs. Bandwidth";
  chart.x_label = "Bandwidth";
  chart.y_label = "R^2 Score";
  chart.log_x = true;
  Series s;
  s.line_width = 3.0;
  s.color = "red";
  for (int i = 0; i < 40; ++i) {
    const double h = std::pow(10.0, -2.0 + 3.0 * i / 39.0);
    const double d = std::log10(h) - std::log10(0.62);
    s.x.push_back(h);
    s.y.push_back(0.81 - 0.35 * d * d);
  }
  std::size_t best = 0;
  for (std::size_t i = 1; i < s.y.size(); ++i) {
    if (s.y[i] > s.y[best]) best = i;
  }
  chart.markers.push_back(
      {s.x[best], s.y[best], fmt::format("best h = {:.2f}, R^2 = {:.2f}", s.x[best], s.y[best])});
  chart.series.push_back(std::move(s));
  return chart;
}

// The project's virtual environment's Python, when there is one.
fs::path venv_python() {
  return fs::path(KREG_TEST_DATA).parent_path().parent_path() / ".venv/bin/python";
}

// ----------------------------------------------------------- document ----

TEST(PlotSvg, DocumentSkeleton) {
  const std::string doc = kreg::render_svg(tune_chart());
  EXPECT_EQ(
      doc.rfind(
          "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<svg xmlns=\"http://www.w3.org/2000/svg\" "
          "width=\"720\" height=\"480\" viewBox=\"0 0 720 480\"",
          0),
      0U);
  EXPECT_EQ(doc.substr(doc.size() - 7), "</svg>\n");
  EXPECT_NE(doc.find("<title>Nadaraya-Watson Performance vs. Bandwidth</title>"),
            std::string::npos);
  EXPECT_EQ(xml_problem(doc), "");
  // Log axis over 0.01..10: the decades labelled, with minor marks between.
  EXPECT_EQ(tick_labels(doc, "x-tick-labels"),
            (std::vector<std::string>{"0.01", "0.1", "1", "10"}));
  // The axis is padded to 10^-2.15..10^1.15, which adds minor marks at
  // 0.008 and 0.009 to the 24 inside 0.01..10.
  EXPECT_EQ(group_lines(doc, "x-ticks").size(), 4U + 26U);
  EXPECT_FALSE(tick_labels(doc, "y-tick-labels").empty());
  EXPECT_EQ(count(doc, "<polyline "), 1U);
  EXPECT_EQ(vertices(start_tags(doc, "polyline")[0]).size(), 40U);
  EXPECT_NE(doc.find("stroke=\"red\" stroke-width=\"3\""), std::string::npos);
  EXPECT_NE(doc.find("class=\"marker\""), std::string::npos);
  EXPECT_EQ(doc.find("class=\"legend\""), std::string::npos);  // one unnamed series
  EXPECT_EQ(doc.find("class=\"note\""), std::string::npos);
}

TEST(PlotSvg, CustomSize) {
  LineChart chart = one_series({0, 1}, {0, 1});
  chart.width = 300;
  chart.height = 200;
  const std::string doc = kreg::render_svg(chart);
  EXPECT_NE(doc.find("width=\"300\" height=\"200\" viewBox=\"0 0 300 200\""), std::string::npos);
  for (const Px& p : vertices(start_tags(doc, "polyline")[0])) {
    EXPECT_GT(p.x, 0);
    EXPECT_LT(p.x, 300);
    EXPECT_GT(p.y, 0);
    EXPECT_LT(p.y, 200);
  }
}

TEST(PlotSvg, EscapesText) {
  LineChart chart = one_series({1, 2}, {3, 4});
  chart.title = "A<B & \"C\" 'D'>";
  chart.x_label = "x <i>";
  chart.y_label = "&amp; stays literal";
  chart.series[0].label = "\"quoted\" & <tagged>";
  chart.series[0].color = "red\" onload=\"alert(1)";
  chart.markers.push_back({1.5, 3.5, "<best>"});
  const std::string doc = kreg::render_svg(chart);
  EXPECT_EQ(xml_problem(doc), "");
  EXPECT_NE(doc.find("<title>A&lt;B &amp; &quot;C&quot; &apos;D&apos;&gt;</title>"),
            std::string::npos);
  EXPECT_EQ(count(doc, "A&lt;B &amp; &quot;C&quot; &apos;D&apos;&gt;"),
            2U);  // <title> and the heading
  EXPECT_NE(doc.find(">x &lt;i&gt;</text>"), std::string::npos);
  EXPECT_NE(doc.find(">&amp;amp; stays literal</text>"), std::string::npos);
  EXPECT_NE(doc.find(">&quot;quoted&quot; &amp; &lt;tagged&gt;</text>"), std::string::npos);
  EXPECT_NE(doc.find(">&lt;best&gt;</text>"), std::string::npos);
  EXPECT_NE(doc.find("stroke=\"red&quot; onload=&quot;alert(1)\""), std::string::npos);
  EXPECT_EQ(doc.find("A<B"), std::string::npos);
  EXPECT_EQ(doc.find("<i>"), std::string::npos);
  EXPECT_EQ(doc.find("onload=\""), std::string::npos);
}

TEST(PlotSvg, ReplacesWhatXmlCannotHold) {
  LineChart chart = one_series({1, 2}, {3, 4});
  chart.title = std::string("bell\x07 tab\t \xC2\xB5m bad\xFF\xC3 end \xED\xA0\x80");
  const std::string doc = kreg::render_svg(chart);
  EXPECT_NE(doc.find("<title>bell\xEF\xBF\xBD tab\t \xC2\xB5m bad\xEF\xBF\xBD\xEF\xBF\xBD end "
                     "\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD</title>"),
            std::string::npos);
  EXPECT_EQ(xml_problem(doc), "");
}

TEST(PlotSvg, Superscripts) {
  LineChart chart = one_series({1, 2}, {3, 4});
  chart.y_label = "R^2 Score";
  chart.x_label = "x ^ y, 2^-3 and 10^{oops}";
  const std::string doc = kreg::render_svg(chart);
  // 14 px labels: raised 0.4 em, at 0.7 em, then back down for the rest.
  EXPECT_NE(doc.find(" xml:space=\"preserve\">R<tspan dy=\"-5.6\" "
                     "font-size=\"9.8\">2</tspan><tspan dy=\"5.6\"> Score</tspan></text>"),
            std::string::npos);
  EXPECT_NE(doc.find(" xml:space=\"preserve\">x ^ y, 2<tspan dy=\"-5.6\" "
                     "font-size=\"9.8\">-3</tspan><tspan dy=\"5.6\"> and 10^{oops}</tspan></text>"),
            std::string::npos);
  EXPECT_EQ(xml_problem(doc), "");
}

// ---------------------------------------------------------- mapping ----

TEST(PlotSvg, LogAxisPlacesDecadesEvenly) {
  const std::string doc = kreg::render_svg(one_series({1, 10, 100}, {1, 2, 3}, true));
  const auto line = vertices(start_tags(doc, "polyline").at(0));
  ASSERT_EQ(line.size(), 3U);
  // x = 10 halfway between 1 and 100 (pixels have 2 decimals).
  EXPECT_NEAR(line[1].x - line[0].x, line[2].x - line[1].x, 0.011);
  EXPECT_GT(line[2].x - line[0].x, 400);
  // y is linear, and grows upwards.
  EXPECT_NEAR(line[1].y - line[0].y, line[2].y - line[1].y, 0.011);
  EXPECT_LT(line[2].y, line[0].y);
  // The tick labelled 1, 10 and 100 sits where x = 1, 10, 100 is drawn.
  EXPECT_NEAR(x_tick_at(doc, "1"), line[0].x, 0.011);
  EXPECT_NEAR(x_tick_at(doc, "10"), line[1].x, 0.011);
  EXPECT_NEAR(x_tick_at(doc, "100"), line[2].x, 0.011);
}

TEST(PlotSvg, LinearAxisIsProportional) {
  LineChart chart = one_series({0, 2, 10}, {0, 8, 10});
  chart.markers.push_back({2, 8, "m"});
  const std::string doc = kreg::render_svg(chart);
  const auto line = vertices(start_tags(doc, "polyline").at(0));
  ASSERT_EQ(line.size(), 3U);
  EXPECT_NEAR((line[1].x - line[0].x) / (line[2].x - line[0].x), 0.2, 1e-4);
  EXPECT_NEAR((line[1].y - line[0].y) / (line[2].y - line[0].y), 0.8, 1e-4);
  EXPECT_NEAR(x_tick_at(doc, "0"), line[0].x, 0.011);
  EXPECT_NEAR(x_tick_at(doc, "2"), line[1].x, 0.011);
  EXPECT_NEAR(x_tick_at(doc, "10"), line[2].x, 0.011);
  // The marker ring is centred on the point it marks.
  const auto ring = start_tags(doc, "circle").at(0);
  EXPECT_EQ(attribute(ring, "r"), "7");
  EXPECT_NEAR(std::stod(attribute(ring, "cx")), line[1].x, 0.011);
  EXPECT_NEAR(std::stod(attribute(ring, "cy")), line[1].y, 0.011);
  // Padding keeps every point off the frame.
  const auto frame = start_tags(doc, "rect").at(1);
  const double left = std::stod(attribute(frame, "x"));
  const double right = left + std::stod(attribute(frame, "width"));
  EXPECT_GT(line[0].x, left + 10);
  EXPECT_LT(line[2].x, right - 10);
}

// A pixel number as render_svg prints it: an optional '-', digits, and at
// most two decimals. (No std::regex: GCC 12 warns inside it under ASan.)
bool is_pixel_number(const std::string& s) {
  const std::size_t start = !s.empty() && s[0] == '-' ? 1 : 0;
  const std::size_t dot = s.find('.');
  const std::size_t int_end = dot == std::string::npos ? s.size() : dot;
  if (int_end == start) return false;
  for (std::size_t k = start; k < s.size(); ++k) {
    if (k != dot && !std::isdigit(static_cast<unsigned char>(s[k]))) return false;
  }
  return dot == std::string::npos || (s.size() - dot - 1 >= 1 && s.size() - dot - 1 <= 2);
}

TEST(PlotSvg, CoordinatesHaveTwoDecimals) {
  EXPECT_TRUE(is_pixel_number("12.34"));
  EXPECT_TRUE(is_pixel_number("-7"));
  EXPECT_FALSE(is_pixel_number("12.345"));
  EXPECT_FALSE(is_pixel_number("nan"));
  const std::string doc = kreg::render_svg(tune_chart());
  for (const auto& polyline : start_tags(doc, "polyline")) {
    std::istringstream in(attribute(polyline, "points"));
    std::string pair;
    while (in >> pair) {
      const std::size_t comma = pair.find(',');
      EXPECT_TRUE(is_pixel_number(pair.substr(0, comma))) << pair;
      EXPECT_TRUE(is_pixel_number(pair.substr(comma + 1))) << pair;
    }
  }
}

// ------------------------------------------------------ missing values ----

TEST(PlotSvg, NaNBreaksTheLine) {
  const std::string doc = kreg::render_svg(one_series({0, 1, 2, 3, 4}, {1, 2, nan, 3, 4}));
  const auto lines = start_tags(doc, "polyline");
  ASSERT_EQ(lines.size(), 2U);
  const auto first = vertices(lines[0]);
  const auto second = vertices(lines[1]);
  ASSERT_EQ(first.size(), 2U);
  ASSERT_EQ(second.size(), 2U);
  // Nothing is drawn at x = 2: the gap lies between the two segments.
  const double gap = x_tick_at(doc, "2");
  EXPECT_LT(first[1].x, gap - 1);
  EXPECT_GT(second[0].x, gap + 1);
  EXPECT_NE(doc.find(">1 non-finite value not drawn (NaN or infinite y)</text>"),
            std::string::npos);
  EXPECT_EQ(xml_problem(doc), "");
}

TEST(PlotSvg, InfinitiesBreakTheLineAndLonePointsStay) {
  // 2 sits between two missing values: drawn as a dot, not dropped or joined.
  const std::string doc =
      kreg::render_svg(one_series({0, 1, 2, 3, 4, 5}, {inf, 1, -inf, 2, nan, 3}));
  EXPECT_EQ(count(doc, "<polyline "), 0U);
  const auto series = group_lines(doc, "series");
  ASSERT_EQ(series.size(), 3U);
  for (const auto& line : series) EXPECT_NE(line.find("<circle "), std::string::npos) << line;
  EXPECT_NE(doc.find(">3 non-finite values not drawn (NaN or infinite y)</text>"),
            std::string::npos);
  // The y axis covers the finite values only: 1..3, not an infinite range.
  const auto labels = tick_labels(doc, "y-tick-labels");
  ASSERT_FALSE(labels.empty());
  EXPECT_GE(std::stod(labels.front()), 0.8);
  EXPECT_LE(std::stod(labels.back()), 3.2);
}

TEST(PlotSvg, NoFiniteValues) {
  LineChart chart = one_series({0.1, 1, 10}, {nan, inf, nan}, true);
  chart.y_label = "R^2";
  const std::string doc = kreg::render_svg(chart);
  EXPECT_EQ(xml_problem(doc), "");
  EXPECT_NE(doc.find(">no finite values to plot</text>"), std::string::npos);
  EXPECT_EQ(count(doc, "<polyline "), 0U);
  EXPECT_EQ(count(doc, "<circle "), 0U);
  // No invented y scale; the x axis still shows where the data was.
  EXPECT_TRUE(tick_labels(doc, "y-tick-labels").empty());
  EXPECT_EQ(tick_labels(doc, "x-tick-labels"), (std::vector<std::string>{"0.1", "1", "10"}));
}

TEST(PlotSvg, EmptySeriesIsNoFiniteValues) {
  const std::string doc = kreg::render_svg(one_series({}, {}));
  EXPECT_EQ(xml_problem(doc), "");
  EXPECT_NE(doc.find(">no finite values to plot</text>"), std::string::npos);
  EXPECT_TRUE(tick_labels(doc, "x-tick-labels").empty());
}

// ----------------------------------------------------------- ranges ----

// No NaN or infinity in any attribute, and every point inside the picture.
void expect_sane(const std::string& doc, const LineChart& chart) {
  EXPECT_EQ(xml_problem(doc), "");
  for (std::size_t at = doc.find("=\""); at != std::string::npos; at = doc.find("=\"", at + 1)) {
    const std::string value = doc.substr(at + 2, doc.find('"', at + 2) - at - 2);
    EXPECT_EQ(value.find("nan"), std::string::npos) << value;
    EXPECT_EQ(value.find("inf"), std::string::npos) << value;
  }
  for (const auto& polyline : start_tags(doc, "polyline")) {
    for (const Px& p : vertices(polyline)) {
      EXPECT_GT(p.x, 0);
      EXPECT_LT(p.x, chart.width);
      EXPECT_GT(p.y, 0);
      EXPECT_LT(p.y, chart.height);
    }
  }
}

TEST(PlotSvg, ConstantY) {
  const LineChart chart = one_series({1, 2, 3}, {0.5, 0.5, 0.5});
  const std::string doc = kreg::render_svg(chart);
  expect_sane(doc, chart);
  // +-10% around the value: the line runs through the middle, ticks around it.
  EXPECT_EQ(tick_labels(doc, "y-tick-labels"),
            (std::vector<std::string>{"0.46", "0.48", "0.5", "0.52", "0.54"}));
  const auto line = vertices(start_tags(doc, "polyline").at(0));
  const auto frame = start_tags(doc, "rect").at(1);
  const double middle =
      std::stod(attribute(frame, "y")) + std::stod(attribute(frame, "height")) / 2;
  for (const Px& p : line) EXPECT_NEAR(p.y, middle, 0.011);
  // All zeros: +-1.
  const std::string zeros = kreg::render_svg(one_series({1, 2}, {0, 0}));
  EXPECT_EQ(tick_labels(zeros, "y-tick-labels"),
            (std::vector<std::string>{"-1", "-0.5", "0", "0.5", "1"}));
}

TEST(PlotSvg, SinglePoint) {
  for (const bool log_x : {false, true}) {
    const LineChart chart = one_series({3}, {2}, log_x);
    const std::string doc = kreg::render_svg(chart);
    expect_sane(doc, chart);
    EXPECT_EQ(count(doc, "<polyline "), 0U);
    EXPECT_EQ(group_lines(doc, "series").size(), 1U);  // the lone point, as a dot
    EXPECT_GE(tick_labels(doc, "x-tick-labels").size(), 2U) << log_x;
    EXPECT_GE(tick_labels(doc, "y-tick-labels").size(), 2U) << log_x;
  }
}

TEST(PlotSvg, HugeRanges) {
  const LineChart linear = one_series({-max_double, 0, max_double}, {max_double, -max_double, 1});
  expect_sane(kreg::render_svg(linear), linear);
  const LineChart log = one_series({1e-300, 1, 1e300}, {1e300, -1e-300, 0}, true);
  const std::string doc = kreg::render_svg(log);
  expect_sane(doc, log);
  EXPECT_EQ(
      tick_labels(doc, "x-tick-labels"),
      (std::vector<std::string>{"1e-300", "1e-200", "1e-100", "1", "1e+100", "1e+200", "1e+300"}));
  const auto line = vertices(start_tags(doc, "polyline").at(0));
  EXPECT_NEAR(line[1].x - line[0].x, line[2].x - line[1].x, 0.011);
  const LineChart extreme_log =
      one_series({std::numeric_limits<double>::denorm_min(), max_double}, {0, 1}, true);
  expect_sane(kreg::render_svg(extreme_log), extreme_log);
}

TEST(PlotSvg, RangesAtTheLimitsOfDoubles) {
  const double tiny = std::numeric_limits<double>::denorm_min();
  for (const D& y : {D{0, tiny}, D{1, std::nextafter(1.0, 2.0)}, D{tiny, tiny}}) {
    const LineChart chart = one_series({0, 1}, y);
    const std::string doc = kreg::render_svg(chart);
    expect_sane(doc, chart);
    EXPECT_EQ(count(doc, "<polyline "), 1U);
  }
}

// ------------------------------------------------------------ legend ----

TEST(PlotSvg, Legend) {
  EXPECT_EQ(kreg::render_svg(one_series({1, 2}, {1, 2})).find("class=\"legend\""),
            std::string::npos);

  LineChart named = one_series({1, 2}, {1, 2});
  named.series[0].label = "cv";
  const std::string one = kreg::render_svg(named);
  EXPECT_EQ(group_lines(one, "legend").size(), 1U + 2U);  // box, sample line, text
  EXPECT_NE(one.find(">cv</text>"), std::string::npos);

  LineChart two = one_series({1, 2}, {1, 2});
  two.series.push_back(make_series({1, 2}, {2, 1}));
  const std::string doc = kreg::render_svg(two);
  EXPECT_EQ(xml_problem(doc), "");
  const auto legend = group_lines(doc, "legend");
  ASSERT_EQ(legend.size(), 1U + 2U * 2U);
  // Unnamed series are numbered; default colours differ, red first.
  EXPECT_NE(legend[1].find("stroke=\"#d62728\""), std::string::npos);
  EXPECT_NE(legend[2].find(">series 1</text>"), std::string::npos);
  EXPECT_NE(legend[3].find("stroke=\"#1f77b4\""), std::string::npos);
  EXPECT_NE(legend[4].find(">series 2</text>"), std::string::npos);
}

TEST(PlotSvg, LegendAvoidsTheData) {
  // A line rising through the upper right: the legend goes elsewhere.
  LineChart chart =
      one_series({0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10}, {0, 0, 0, 0, 0, 0, 1, 3, 6, 8, 10});
  chart.series[0].label = "rising";
  const std::string doc = kreg::render_svg(chart);
  const auto box = start_tags(doc, "rect").at(2);
  ASSERT_NE(box.find("fill-opacity"), std::string::npos);
  const auto frame = start_tags(doc, "rect").at(1);
  const double frame_centre_x =
      std::stod(attribute(frame, "x")) + std::stod(attribute(frame, "width")) / 2;
  EXPECT_LT(std::stod(attribute(box, "x")), frame_centre_x);  // left half
}

TEST(PlotSvg, SeriesMarkers) {
  LineChart chart = one_series({1, 2, 3}, {1, nan, 3});
  chart.series[0].markers = true;
  const std::string doc = kreg::render_svg(chart);
  // Two lone points (each a dot) plus a marker dot at each finite point.
  EXPECT_EQ(count(doc, "<circle "), 4U);
}

// ------------------------------------------------------------ errors ----

TEST(PlotSvg, Errors) {
  expect_argument_error([] { kreg::render_svg(LineChart{}); },
                        "line chart: no series to draw; add at least one Series");
  expect_argument_error(
      [] {
        LineChart c = one_series({1, 2, 3}, {1, 2});
        c.series[0].label = "cv R^2";
        kreg::render_svg(c);
      },
      "line chart: series 'cv R^2' has 3 x values but 2 y values");
  expect_argument_error(
      [] {
        LineChart c = one_series({1}, {1});
        c.series.push_back(make_series({1}, {}));
        kreg::render_svg(c);
      },
      "line chart: series 2 has 1 x values but 0 y values");
  expect_argument_error(
      [] {
        LineChart c = one_series({1, 0.5, 0}, {1, 2, 3}, true);
        c.series[0].label = "h";
        kreg::render_svg(c);
      },
      "line chart: series 'h' x[2] = 0 but a log x axis needs x > 0");
  expect_argument_error(
      [] {
        kreg::render_svg(one_series({1, -2}, {1, 2}, true));
      },
      "line chart: series 1 x[1] = -2 but a log x axis needs x > 0");
  expect_argument_error(
      [] {
        kreg::render_svg(one_series({1, nan}, {1, 2}));
      },
      "line chart: series 1 x[1] is NaN; it must be finite");
  expect_argument_error(
      [] {
        kreg::render_svg(one_series({-inf, 1}, {1, 2}));
      },
      "line chart: series 1 x[0] is infinite; it must be finite");
  expect_argument_error(
      [] {
        LineChart c = one_series({1, 2}, {1, 2}, true);
        c.markers.push_back({-1, 1, "best"});
        kreg::render_svg(c);
      },
      "line chart: marker 'best' x = -1 but a log x axis needs x > 0");
  expect_argument_error(
      [] {
        LineChart c = one_series({1, 2}, {1, 2});
        c.markers.push_back({1, nan, ""});
        kreg::render_svg(c);
      },
      "line chart: marker 1 y is NaN; it must be finite");
  expect_argument_error(
      [] {
        LineChart c = one_series({1, 2}, {1, 2});
        c.width = 100;
        kreg::render_svg(c);
      },
      "line chart: size is 100 x 480 pixels; need at least 200 x 150");
  expect_argument_error(
      [] {
        LineChart c = one_series({1, 2}, {1, 2});
        c.series[0].line_width = 0;
        kreg::render_svg(c);
      },
      "line chart: series 1 has line_width 0; need a finite width > 0");
}

TEST(PlotSvg, Deterministic) {
  const LineChart chart = tune_chart();
  const std::string first = kreg::render_svg(chart);
  EXPECT_EQ(kreg::render_svg(chart), first);
  EXPECT_EQ(kreg::render_svg(tune_chart()), first);
  const LineChart copy = chart;
  EXPECT_EQ(kreg::render_svg(copy), first);
}

TEST(PlotSvg, XmlCheckerCatchesMistakes) {
  // The checker the other tests rely on does reject broken documents.
  EXPECT_EQ(xml_problem("<a><b/></a>"), "");
  EXPECT_NE(xml_problem("<a><b></a></b>"), "");
  EXPECT_NE(xml_problem("<a x=1/>"), "");
  EXPECT_NE(xml_problem("<a x=\"1\"y=\"2\"/>"), "");
  EXPECT_NE(xml_problem("<a x=\"1\" x=\"2\"/>"), "");
  EXPECT_NE(xml_problem("<a x=\"<\"/>"), "");
  EXPECT_NE(xml_problem("<a>&foo;</a>"), "");
  EXPECT_NE(xml_problem("<a>1 < 2</a>"), "");
  EXPECT_NE(xml_problem("<a>"), "");
  EXPECT_NE(xml_problem("<a/><b/>"), "");
}

// -------------------------------------------------------------- files ----

class PlotSvgFile : public ::testing::Test {
 protected:
  void SetUp() override {
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    dir_ = fs::path(::testing::TempDir()) /
           fmt::format("kreg_test_plot_{}_{}", ::getpid(), info->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override {
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }

  std::vector<std::string> listing() const {
    std::vector<std::string> names;
    for (const auto& entry : fs::directory_iterator(dir_))
      names.push_back(entry.path().filename().string());
    std::sort(names.begin(), names.end());
    return names;
  }

  static std::string read(const fs::path& path) {
    std::ifstream in(path, std::ios::binary);
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
  }

  fs::path dir_;
};

TEST_F(PlotSvgFile, WritesRenderedBytesAndNoTemporary) {
  const LineChart chart = tune_chart();
  const std::string path = (dir_ / "tune.svg").string();
  kreg::write_svg(path, chart);
  EXPECT_EQ(read(path), kreg::render_svg(chart));
  EXPECT_EQ(listing(), (std::vector<std::string>{"tune.svg"}));
  // Overwrites an existing file.
  const LineChart other = one_series({1, 2}, {2, 1});
  kreg::write_svg(path, other);
  EXPECT_EQ(read(path), kreg::render_svg(other));
  EXPECT_EQ(listing(), (std::vector<std::string>{"tune.svg"}));
}

TEST_F(PlotSvgFile, Errors) {
  const std::string missing_dir = (dir_ / "no-such-dir" / "chart.svg").string();
  kreg::test::expect_error<kreg::Error>(
      [&] { kreg::write_svg(missing_dir, tune_chart()); },
      "cannot write '" + missing_dir + "': No such file or directory");
  // A chart that breaks its contract leaves no file at all.
  const std::string path = (dir_ / "bad.svg").string();
  expect_argument_error([&] { kreg::write_svg(path, LineChart{}); },
                        "line chart: no series to draw; add at least one Series");
  EXPECT_TRUE(listing().empty());
}

TEST_F(PlotSvgFile, PythonParsesCharts) {
  const fs::path python = venv_python();
  if (!fs::exists(python)) GTEST_SKIP() << "no " << python << " to run xml.etree with";
  LineChart escaped = one_series({1, 2}, {3, 4});
  escaped.title = "A<B & \"C\" 'D'> \x01\xFF";
  escaped.y_label = "R^2";
  const std::vector<LineChart> charts = {tune_chart(), escaped,
                                         one_series({1, 2, 3}, {nan, nan, nan}),
                                         one_series({1, 2, 3, 4}, {1, nan, 2, 3})};
  std::string args;
  for (std::size_t i = 0; i < charts.size(); ++i) {
    const fs::path path = dir_ / fmt::format("chart{}.svg", i);
    kreg::write_svg(path.string(), charts[i]);
    args += " '" + path.string() + "'";
  }
  // Each file must parse, with an <svg> root in the SVG namespace and the
  // title text exactly as given (minus what XML cannot hold).
  const fs::path script = dir_ / "check.py";
  std::ofstream(script)
      << "import sys, xml.etree.ElementTree as ET\n"
         "for path in sys.argv[1:]:\n"
         "    root = ET.parse(path).getroot()\n"
         "    assert root.tag == '{http://www.w3.org/2000/svg}svg', root.tag\n"
         "    assert root.get('viewBox') == '0 0 720 480'\n"
         "t = ET.parse(sys.argv[2]).getroot().find('{http://www.w3.org/2000/svg}title')\n"
         "assert t.text == 'A<B & \"C\" \\'D\\'> \\ufffd\\ufffd', repr(t.text)\n";
  const std::string command = "'" + python.string() + "' '" + script.string() + "'" + args;
  EXPECT_EQ(std::system(command.c_str()), 0) << command;
}

TEST_F(PlotSvgFile, TuneExample) {
  const char* keep = std::getenv("KREG_PLOT_EXAMPLE");
  const std::string path = keep != nullptr ? keep : (dir_ / "example.svg").string();
  kreg::write_svg(path, tune_chart());
  const std::string doc = read(path);
  EXPECT_EQ(xml_problem(doc), "");
  EXPECT_NE(doc.find(">best h = 0.59, R<tspan"), std::string::npos);
}

}  // namespace
