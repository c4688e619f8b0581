// Line charts with a +-1 std band (kreg::Series::band_lo/band_hi): the band's
// outline in pixels, its place beneath the lines, the axes making room for
// it, gaps at missing values, and the errors for a band that does not fit.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "kreg/error.hpp"
#include "kreg/plot.hpp"
#include "svg_support.hpp"
#include "test_support.hpp"

namespace {

using D = std::vector<double>;
using kreg::LineChart;
using kreg::Series;
using kreg::test::attribute;
using kreg::test::group_lines;
using kreg::test::Px;
using kreg::test::start_tags;
using kreg::test::vertices;
using kreg::test::xml_problem;

const double nan = std::numeric_limits<double>::quiet_NaN();
const auto expect_argument_error = kreg::test::expect_error<kreg::ArgumentError>;

LineChart banded(D x, D y, D lo, D hi) {
  LineChart chart;
  Series s;
  s.x = std::move(x);
  s.y = std::move(y);
  s.band_lo = std::move(lo);
  s.band_hi = std::move(hi);
  s.markers = true;
  chart.series.push_back(std::move(s));
  return chart;
}

// The points of the band polygons of a document (one vector per polygon).
std::vector<std::vector<Px>> band_outlines(const std::string& doc) {
  std::vector<std::vector<Px>> out;
  for (const std::string& line : group_lines(doc, "band")) {
    if (line.find("<polygon") == std::string::npos) continue;
    // vertices() reads a points="..." attribute of any start tag.
    out.push_back(vertices(line));
  }
  return out;
}

TEST(ReportBand, OutlineGoesAlongTheUpperEdgeAndBackAlongTheLower) {
  const std::string doc = kreg::render_svg(banded({1, 2, 3}, {1, 2, 3}, {0, 1, 2}, {2, 3, 4}));
  EXPECT_EQ(xml_problem(doc), "");
  const auto outlines = band_outlines(doc);
  ASSERT_EQ(outlines.size(), 1U);
  const std::vector<Px>& p = outlines[0];
  ASSERT_EQ(p.size(), 6U);
  // x: left to right along the top, then right to left along the bottom.
  EXPECT_LT(p[0].x, p[1].x);
  EXPECT_LT(p[1].x, p[2].x);
  EXPECT_DOUBLE_EQ(p[3].x, p[2].x);
  EXPECT_DOUBLE_EQ(p[5].x, p[0].x);
  // The upper bound is higher on screen (smaller y pixel) than the lower, by
  // the same 2 data units at every x on this linear axis.
  for (int j = 0; j < 3; ++j) {
    EXPECT_LT(p[static_cast<std::size_t>(j)].y, p[static_cast<std::size_t>(5 - j)].y);
    EXPECT_NEAR(p[static_cast<std::size_t>(5 - j)].y - p[static_cast<std::size_t>(j)].y,
                p[5].y - p[0].y, 0.02);
  }
  // The line runs inside the band: the middle vertex halfway between.
  const std::vector<Px> line = vertices(start_tags(doc, "polyline").at(0));
  ASSERT_EQ(line.size(), 3U);
  EXPECT_NEAR(line[1].y, (p[1].y + p[4].y) / 2.0, 0.02);
}

TEST(ReportBand, DrawnBeneathTheLinesInTheSeriesColour) {
  LineChart chart = banded({1, 2}, {1, 2}, {0.5, 1.5}, {1.5, 2.5});
  chart.series[0].color = "#123456";
  const std::string doc = kreg::render_svg(chart);
  const std::size_t band = doc.find("class=\"band\"");
  const std::size_t series = doc.find("class=\"series\"");
  ASSERT_NE(band, std::string::npos);
  ASSERT_NE(series, std::string::npos);
  EXPECT_LT(band, series);
  const std::string group = start_tags(doc, "g").at(1);  // the grid, then the band
  EXPECT_EQ(attribute(group, "class"), "band");
  EXPECT_EQ(attribute(group, "fill"), "#123456");
  EXPECT_EQ(attribute(group, "fill-opacity"), "0.2");
}

TEST(ReportBand, AxesMakeRoomForTheBand) {
  // y spans 1..2 but the band 0..10: the band's edges must lie in the frame.
  const std::string doc = kreg::render_svg(banded({1, 2}, {1, 2}, {0, 0}, {10, 10}));
  const std::string frame = start_tags(doc, "rect").at(1);
  const double top = std::stod(attribute(frame, "y"));
  const double bottom = top + std::stod(attribute(frame, "height"));
  const auto outlines = band_outlines(doc);
  ASSERT_EQ(outlines.size(), 1U);
  for (const Px& p : outlines[0]) {
    EXPECT_GE(p.y, top);
    EXPECT_LE(p.y, bottom);
  }
}

TEST(ReportBand, MissingValuesSplitTheBand) {
  const std::string doc = kreg::render_svg(
      banded({1, 2, 3, 4, 5}, {1, 2, nan, 4, 5}, {0, 1, 2, 3, nan}, {2, 3, 4, 5, 6}));
  const auto outlines = band_outlines(doc);
  // Points 1-2 form one run; 3 has no y; 4 has a band but 5 has no lower
  // bound, so 4's band stands alone: a vertical bar from its lower to upper bound.
  ASSERT_EQ(outlines.size(), 1U);
  EXPECT_EQ(outlines[0].size(), 4U);
  const auto bars = group_lines(doc, "band");
  ASSERT_EQ(bars.size(), 2U);
  const std::string bar = bars[1];
  ASSERT_NE(bar.find("<line"), std::string::npos) << bar;
  EXPECT_EQ(attribute(bar, "x1"), attribute(bar, "x2"));
  EXPECT_LT(std::stod(attribute(bar, "y1")), std::stod(attribute(bar, "y2")));
}

TEST(ReportBand, NoBandNoGroup) {
  const std::string doc = kreg::render_svg(banded({1, 2}, {1, 2}, {}, {}));
  EXPECT_EQ(doc.find("class=\"band\""), std::string::npos);
}

TEST(ReportBand, Errors) {
  expect_argument_error(
      [] {
        (void)kreg::render_svg(banded({1, 2}, {1, 2}, {0}, {2, 3}));
      },
      "line chart: series 1 has 2 x values but a band of 1 lower and 2 upper "
      "values; give one of each per x, or none");
  expect_argument_error(
      [] {
        (void)kreg::render_svg(banded({1, 2}, {1, 2}, {0, 1}, {}));
      },
      "line chart: series 1 has 2 x values but a band of 2 lower and 0 upper "
      "values; give one of each per x, or none");
  expect_argument_error(
      [] {
        (void)kreg::render_svg(banded({1, 2}, {1, 2}, {0, 3}, {2, 2.5}));
      },
      "line chart: series 1 band at x[1]: lower 3 is above upper 2.5");
}

}  // namespace
