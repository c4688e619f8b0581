// Axis ticks of kreg's charts (report/ticks.hpp, private to the library):
// 1-2-5 steps, decades, labels that read back as their values, and errors.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <vector>

#include "kreg/error.hpp"
#include "report/ticks.hpp"
#include "test_support.hpp"

namespace {

using D = std::vector<double>;

const double nan = std::numeric_limits<double>::quiet_NaN();
const double inf = std::numeric_limits<double>::infinity();
const double max_double = std::numeric_limits<double>::max();

const auto expect_argument_error = kreg::test::expect_error<kreg::ArgumentError>;

TEST(PlotTicks, LinearOneTwoFiveSteps) {
  EXPECT_EQ(kreg::report::linear_ticks(0, 1).major, (D{0, 0.2, 0.4, 0.6, 0.8, 1}));
  EXPECT_EQ(kreg::report::linear_ticks(0, 0.7).major, (D{0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7}));
  EXPECT_EQ(kreg::report::linear_ticks(-3, 7).major, (D{-2, 0, 2, 4, 6}));
  EXPECT_EQ(kreg::report::linear_ticks(0.81, 0.93).major, (D{0.82, 0.84, 0.86, 0.88, 0.9, 0.92}));
  EXPECT_EQ(kreg::report::linear_ticks(-0.31, 0.84).major, (D{-0.2, 0, 0.2, 0.4, 0.6, 0.8}));
  EXPECT_EQ(kreg::report::linear_ticks(0, 1000).major, (D{0, 200, 400, 600, 800, 1000}));
  EXPECT_EQ(kreg::report::linear_ticks(1e6, 5e6).major, (D{1e6, 2e6, 3e6, 4e6, 5e6}));
  EXPECT_EQ(kreg::report::linear_ticks(0, 1, 3).major, (D{0, 0.5, 1}));
  EXPECT_TRUE(kreg::report::linear_ticks(0, 1).minor.empty());
}

TEST(PlotTicks, LinearDegenerateAndHugeRanges) {
  EXPECT_EQ(kreg::report::linear_ticks(5, 5).major, (D{5}));
  EXPECT_EQ(kreg::report::linear_ticks(-max_double, max_double).major,
            (D{-1.5e308, -1e308, -5e307, 0, 5e307, 1e308, 1.5e308}));
  EXPECT_EQ(kreg::report::linear_ticks(1e-300, 5e-300).major,
            (D{1e-300, 2e-300, 3e-300, 4e-300, 5e-300}));
}

TEST(PlotTicks, RangesAtTheLimitsOfDoubles) {
  // Adjacent doubles: tick indices past 2^53 must not stall the loop.
  const D near_one = kreg::report::linear_ticks(1.0, std::nextafter(1.0, 2.0)).major;
  ASSERT_FALSE(near_one.empty());
  EXPECT_LE(near_one.size(), 8U);
  EXPECT_TRUE(std::is_sorted(near_one.begin(), near_one.end()));
  const double tiny = std::numeric_limits<double>::denorm_min();
  EXPECT_EQ(kreg::report::linear_ticks(0, tiny).major, (D{0, tiny}));
}

TEST(PlotTicks, LogDecades) {
  const kreg::report::AxisTicks t = kreg::report::log_ticks(0.01, 10);
  EXPECT_EQ(t.major, (D{0.01, 0.1, 1, 10}));
  ASSERT_EQ(t.minor.size(), 24U);  // 2..9 in each of the three full decades
  EXPECT_EQ(t.minor.front(), 0.02);
  EXPECT_EQ(t.minor[8], 0.2);
  EXPECT_EQ(t.minor.back(), 9.0);
  EXPECT_EQ(kreg::report::log_ticks(0.79, 1260).major, (D{1, 10, 100, 1000}));
  // Many decades: every 100th power, no minor marks.
  const kreg::report::AxisTicks wide = kreg::report::log_ticks(1e-300, 1e300);
  EXPECT_EQ(wide.major, (D{1e-300, 1e-200, 1e-100, 1, 1e100, 1e200, 1e300}));
  EXPECT_TRUE(wide.minor.empty());
  EXPECT_EQ(kreg::report::log_ticks(1e-9, 1e9).major, (D{1e-5, 1, 1e5}));
}

TEST(PlotTicks, LogShortRanges) {
  // Under three decades: 1, 2 and 5 x 10^k.
  const kreg::report::AxisTicks t = kreg::report::log_ticks(0.3, 20);
  EXPECT_EQ(t.major, (D{0.5, 1, 2, 5, 10, 20}));
  EXPECT_EQ(t.minor, (D{0.3, 0.4, 0.6, 0.7, 0.8, 0.9, 3, 4, 6, 7, 8, 9}));
  // Inside one decade: ordinary linear steps.
  EXPECT_EQ(kreg::report::log_ticks(2, 4).major, (D{2, 2.5, 3, 3.5, 4}));
  EXPECT_EQ(kreg::report::log_ticks(7, 7).major, (D{7}));
}

TEST(PlotTicks, Labels) {
  EXPECT_EQ(kreg::report::format_tick(0.0), "0");
  EXPECT_EQ(kreg::report::format_tick(-0.0), "0");
  EXPECT_EQ(kreg::report::format_tick(0.1), "0.1");
  EXPECT_EQ(kreg::report::format_tick(1.0), "1");
  EXPECT_EQ(kreg::report::format_tick(10.0), "10");
  EXPECT_EQ(kreg::report::format_tick(1000.0), "1000");
  EXPECT_EQ(kreg::report::format_tick(-0.25), "-0.25");
  EXPECT_EQ(kreg::report::format_tick(0.0001), "0.0001");
  EXPECT_EQ(kreg::report::format_tick(999999.0), "999999");
  EXPECT_EQ(kreg::report::format_tick(1e6), "1e+06");
  EXPECT_EQ(kreg::report::format_tick(2.5e7), "2.5e+07");
  EXPECT_EQ(kreg::report::format_tick(1e-5), "1e-05");
  EXPECT_EQ(kreg::report::format_tick(-1e300), "-1e+300");
  EXPECT_EQ(kreg::report::format_tick(0.1 + 0.2),
            "0.30000000000000004");  // never rounds a value away
}

TEST(PlotTicks, Errors) {
  expect_argument_error([] { kreg::report::linear_ticks(1, 0); },
                        "linear_ticks: need finite lo <= hi, got [1, 0]");
  expect_argument_error([] { kreg::report::linear_ticks(0, inf); },
                        "linear_ticks: need finite lo <= hi, got [0, inf]");
  expect_argument_error([] { kreg::report::linear_ticks(0, 1, 1); },
                        "linear_ticks: max_count is 1; need at least 2");
  expect_argument_error([] { kreg::report::log_ticks(0, 1); },
                        "log_ticks: need finite 0 < lo <= hi, got [0, 1]");
  expect_argument_error([] { kreg::report::log_ticks(1, nan); },
                        "log_ticks: need finite 0 < lo <= hi, got [1, nan]");
}

}  // namespace
