// parse_bandwidth_grid against numpy's linspace and logspace, its error
// messages, and the Scott and Silverman rules against scipy.stats.gaussian_kde.
//
// Reference values were printed by numpy 2.4.6 and scipy 1.17.1 in the
// project's .venv; the command is given above each block.
#include <gtest/gtest.h>

#include <cmath>
#include <cstddef>
#include <limits>
#include <string>
#include <vector>

#include "kreg/bandwidth.hpp"
#include "kreg/error.hpp"
#include "kreg/matrix.hpp"
#include "test_support.hpp"

namespace {

using D = std::vector<double>;

const auto expect_argument_error = kreg::test::expect_error<kreg::ArgumentError>;

const std::string forms =
    "; accepted forms: 'logspace:A:B:N' (N values from 10^A to 10^B), 'linspace:A:B:N' (N "
    "values from A to B) or a comma-separated list such as '0.1,0.5,2'";

// Distance in units in the last place between two positive doubles.
long ulps_apart(double a, double b) {
  long n = 0;
  for (double x = std::fmin(a, b); x < std::fmax(a, b) && n < 1000; ++n) {
    x = std::nextafter(x, std::numeric_limits<double>::infinity());
  }
  return n;
}

void expect_within_ulp(const D& actual, const D& expected) {
  ASSERT_EQ(actual.size(), expected.size());
  for (std::size_t i = 0; i < actual.size(); ++i) {
    EXPECT_LE(ulps_apart(actual[i], expected[i]), 1)
        << "i = " << i << ": " << actual[i] << " vs " << expected[i];
  }
}

void expect_near_relative(const D& actual, const D& expected, double rel) {
  ASSERT_EQ(actual.size(), expected.size());
  for (std::size_t i = 0; i < actual.size(); ++i) {
    EXPECT_NEAR(actual[i], expected[i], rel * std::fabs(expected[i])) << "i = " << i;
  }
}

kreg::Matrix<double> matrix(kreg::index_t rows, kreg::index_t cols, const D& values) {
  kreg::Matrix<double> m(rows, cols);
  for (kreg::index_t i = 0; i < rows * cols; ++i) m.data()[i] = values[static_cast<std::size_t>(i)];
  return m;
}

TEST(Bandwidth, LogspaceMatchesNumpy) {
  // python -c 'import numpy as np; print(repr(np.logspace(-1, 3, 30).tolist()))'
  const D expected = {0.1,
                      0.1373823795883263,
                      0.18873918221350972,
                      0.2592943797404667,
                      0.3562247890262442,
                      0.4893900918477494,
                      0.6723357536499337,
                      0.9236708571873861,
                      1.2689610031679222,
                      1.743328822199988,
                      2.395026619987486,
                      3.2903445623126677,
                      4.520353656360243,
                      6.2101694189156165,
                      8.531678524172806,
                      11.721022975334806,
                      16.102620275609393,
                      22.12216291070448,
                      30.39195382313198,
                      41.753189365604,
                      57.361525104486816,
                      78.80462815669912,
                      108.2636733874054,
                      148.73521072935117,
                      204.33597178569417,
                      280.72162039411756,
                      385.6620421163472,
                      529.8316906283708,
                      727.8953843983146,
                      1000.0};
  expect_within_ulp(kreg::parse_bandwidth_grid("logspace:-1:3:30"), expected);
  // np.logspace(-2, 2, 9): exact powers of ten where pow is exact.
  const D decades = kreg::parse_bandwidth_grid("logspace:-2:2:9");
  expect_within_ulp(decades, {0.01, 0.03162277660168379, 0.1, 0.31622776601683794, 1.0,
                              3.1622776601683795, 10.0, 31.622776601683793, 100.0});
  EXPECT_EQ(decades[4], 1.0);
  EXPECT_EQ(decades[6], 10.0);
  EXPECT_EQ(decades[8], 100.0);
  // np.logspace(0.5, -1.5, 7): descending, kept in the given order.
  expect_within_ulp(
      kreg::parse_bandwidth_grid("logspace:0.5:-1.5:7"),
      {3.1622776601683795, 1.4677992676220697, 0.6812920690579614, 0.31622776601683794,
       0.14677992676220697, 0.06812920690579616, 0.03162277660168379});
  // np.logspace(-3, 2, 4) and np.logspace(-1, 1, 1) (one point: 10^A).
  expect_within_ulp(kreg::parse_bandwidth_grid("logspace:-3:2:4"),
                    {0.001, 0.046415888336127795, 2.1544346900318843, 100.0});
  EXPECT_EQ(kreg::parse_bandwidth_grid("logspace:-1:1:1"), D{0.1});
}

TEST(Bandwidth, LinspaceMatchesNumpyExactly) {
  // python -c 'import numpy as np; print(repr(np.linspace(0.1, 2.0, 7).tolist()))'
  EXPECT_EQ(kreg::parse_bandwidth_grid("linspace:0.1:2.0:7"),
            (D{0.1, 0.41666666666666663, 0.7333333333333333, 1.05, 1.3666666666666667,
               1.6833333333333333, 2.0}));
  // np.linspace(0.05, 1.0, 20): the rounding of start + i * step shows.
  EXPECT_EQ(kreg::parse_bandwidth_grid("linspace:0.05:1.0:20"), (D{0.05,
                                                                   0.1,
                                                                   0.15,
                                                                   0.2,
                                                                   0.25,
                                                                   0.3,
                                                                   0.35,
                                                                   0.39999999999999997,
                                                                   0.44999999999999996,
                                                                   0.49999999999999994,
                                                                   0.5499999999999999,
                                                                   0.6,
                                                                   0.65,
                                                                   0.7,
                                                                   0.75,
                                                                   0.7999999999999999,
                                                                   0.85,
                                                                   0.9,
                                                                   0.95,
                                                                   1.0}));
  // np.linspace(3.0, 0.5, 6), np.linspace(0.25, 0.25, 1), np.linspace(0.001, 1.0, 3)
  EXPECT_EQ(kreg::parse_bandwidth_grid("linspace:3:0.5:6"), (D{3.0, 2.5, 2.0, 1.5, 1.0, 0.5}));
  EXPECT_EQ(kreg::parse_bandwidth_grid("linspace:0.25:0.25:1"), D{0.25});
  EXPECT_EQ(kreg::parse_bandwidth_grid("linspace:1e-3:1:3"), (D{0.001, 0.5005, 1.0}));
}

TEST(Bandwidth, ListKeepsOrder) {
  EXPECT_EQ(kreg::parse_bandwidth_grid("0.1,0.5,2"), (D{0.1, 0.5, 2.0}));
  EXPECT_EQ(kreg::parse_bandwidth_grid("2,0.1,1e-3"), (D{2.0, 0.1, 0.001}));
  EXPECT_EQ(kreg::parse_bandwidth_grid("  0.1 , +0.5,\t2 "), (D{0.1, 0.5, 2.0}));
  EXPECT_EQ(kreg::parse_bandwidth_grid("3"), D{3.0});
  EXPECT_EQ(kreg::parse_bandwidth_grid("linspace: 1 : 2 : +2"), (D{1.0, 2.0}));
}

TEST(Bandwidth, FormErrors) {
  expect_argument_error([] { kreg::parse_bandwidth_grid(""); },
                        "bandwidth grid '': the spec is empty" + forms);
  expect_argument_error([] { kreg::parse_bandwidth_grid("  "); },
                        "bandwidth grid '  ': the spec is empty" + forms);
  expect_argument_error([] { kreg::parse_bandwidth_grid("geomspace:1:2:3"); },
                        "bandwidth grid 'geomspace:1:2:3': unknown form 'geomspace'" + forms);
  expect_argument_error([] { kreg::parse_bandwidth_grid("logspace:-1:3"); },
                        "bandwidth grid 'logspace:-1:3': 'logspace' takes 3 fields, A:B:N, but "
                        "got 2" +
                            forms);
  expect_argument_error([] { kreg::parse_bandwidth_grid("linspace:1:2:3:4"); },
                        "bandwidth grid 'linspace:1:2:3:4': 'linspace' takes 3 fields, A:B:N, "
                        "but got 4" +
                            forms);
  expect_argument_error(
      [] { kreg::parse_bandwidth_grid("logspace"); },
      "bandwidth grid 'logspace': 'logspace' takes 3 fields, A:B:N, but got 0" + forms);
}

TEST(Bandwidth, FieldErrors) {
  expect_argument_error([] { kreg::parse_bandwidth_grid("logspace:x:3:10"); },
                        "bandwidth grid 'logspace:x:3:10': A ('x') is not a number" + forms);
  expect_argument_error([] { kreg::parse_bandwidth_grid("logspace:1:3e:10"); },
                        "bandwidth grid 'logspace:1:3e:10': B ('3e') is not a number" + forms);
  expect_argument_error([] { kreg::parse_bandwidth_grid("linspace::3:10"); },
                        "bandwidth grid 'linspace::3:10': A is empty" + forms);
  expect_argument_error([] { kreg::parse_bandwidth_grid("logspace:-1:inf:10"); },
                        "bandwidth grid 'logspace:-1:inf:10': B ('inf') must be finite" + forms);
  expect_argument_error([] { kreg::parse_bandwidth_grid("linspace:nan:1:10"); },
                        "bandwidth grid 'linspace:nan:1:10': A ('nan') must be finite" + forms);
  expect_argument_error([] { kreg::parse_bandwidth_grid("linspace:1e999:1:10"); },
                        "bandwidth grid 'linspace:1e999:1:10': A ('1e999') must be finite" + forms);
  expect_argument_error([] { kreg::parse_bandwidth_grid("logspace:1:2:"); },
                        "bandwidth grid 'logspace:1:2:': N is empty" + forms);
  expect_argument_error([] { kreg::parse_bandwidth_grid("logspace:1:2:2.5"); },
                        "bandwidth grid 'logspace:1:2:2.5': N ('2.5') is not an integer" + forms);
  expect_argument_error([] { kreg::parse_bandwidth_grid("logspace:1:2:1e3"); },
                        "bandwidth grid 'logspace:1:2:1e3': N ('1e3') is not an integer" + forms);
  expect_argument_error([] { kreg::parse_bandwidth_grid("logspace:1:2:0"); },
                        "bandwidth grid 'logspace:1:2:0': N is 0; need 1 <= N <= 1000000" + forms);
  expect_argument_error(
      [] { kreg::parse_bandwidth_grid("logspace:1:2:-3"); },
      "bandwidth grid 'logspace:1:2:-3': N is -3; need 1 <= N <= 1000000" + forms);
  expect_argument_error([] { kreg::parse_bandwidth_grid("logspace:1:2:1000001"); },
                        "bandwidth grid 'logspace:1:2:1000001': N is 1000001; need 1 <= N <= "
                        "1000000" +
                            forms);
  expect_argument_error([] { kreg::parse_bandwidth_grid("logspace:1:2:99999999999999999999"); },
                        "bandwidth grid 'logspace:1:2:99999999999999999999': N "
                        "('99999999999999999999') is out of range; need 1 <= N <= 1000000" +
                            forms);
  expect_argument_error([] { kreg::parse_bandwidth_grid("0.1,abc,2"); },
                        "bandwidth grid '0.1,abc,2': value 1 ('abc') is not a number" + forms);
  expect_argument_error([] { kreg::parse_bandwidth_grid("0.1,0.5,"); },
                        "bandwidth grid '0.1,0.5,': value 2 is empty" + forms);
  expect_argument_error([] { kreg::parse_bandwidth_grid("0.1,++2"); },
                        "bandwidth grid '0.1,++2': value 1 ('++2') is not a number" + forms);
  expect_argument_error([] { kreg::parse_bandwidth_grid("1e400"); },
                        "bandwidth grid '1e400': value 0 ('1e400') is too large (overflows a "
                        "double, whose largest value is about 1.8e308)" +
                            forms);
  expect_argument_error([] { kreg::parse_bandwidth_grid("0.5,-1e400"); },
                        "bandwidth grid '0.5,-1e400': value 1 ('-1e400') is too large (overflows "
                        "a double, whose largest value is about 1.8e308)" +
                            forms);
  expect_argument_error([] { kreg::parse_bandwidth_grid("1e-400"); },
                        "bandwidth grid '1e-400': value 0 ('1e-400') is too small (underflows a "
                        "double to 0; bandwidths must be at least the smallest normal double, "
                        "2.2250738585072014e-308)" +
                            forms);
}

const std::string below_normal =
    " is below the smallest normal double (2.2250738585072014e-308); use a larger bandwidth (one "
    "far below the spacing of the data already predicts each query by its nearest training "
    "point)";

TEST(Bandwidth, SubnormalValuesAreRefused) {
  // 1e-320 is a double, but a subnormal one.
  expect_argument_error([] { kreg::parse_bandwidth_grid("1e-320"); },
                        "bandwidth grid '1e-320': value 0 ('1e-320')" + below_normal + forms);
  expect_argument_error(
      [] { kreg::parse_bandwidth_grid("logspace:-310:-300:2"); },
      "bandwidth grid 'logspace:-310:-300:2': value 0 (10^-310 = 1e-310)" + below_normal + forms);
  // The smallest normal double itself is a bandwidth.
  EXPECT_EQ(kreg::parse_bandwidth_grid("2.2250738585072014e-308"),
            D{std::numeric_limits<double>::min()});
}

TEST(Bandwidth, OneValue) {
  EXPECT_EQ(kreg::parse_bandwidth_value("0.5"), 0.5);
  EXPECT_EQ(kreg::parse_bandwidth_value(" +2e3 "), 2000.0);
  EXPECT_EQ(kreg::parse_bandwidth_value("1e308"), 1e308);
  expect_argument_error([] { kreg::parse_bandwidth_value("abc"); }, "'abc' is not a number");
  expect_argument_error([] { kreg::parse_bandwidth_value(""); }, "'' is not a number");
  expect_argument_error([] { kreg::parse_bandwidth_value("0.5x"); }, "'0.5x' is not a number");
  expect_argument_error(
      [] { kreg::parse_bandwidth_value("1e400"); },
      "'1e400' is too large (overflows a double, whose largest value is about 1.8e308)");
  expect_argument_error([] { kreg::parse_bandwidth_value("1e-320"); }, "'1e-320'" + below_normal);
  expect_argument_error([] { kreg::parse_bandwidth_value("1e-400"); },
                        "'1e-400' is too small (underflows a double to 0; bandwidths must be at "
                        "least the smallest normal double, 2.2250738585072014e-308)");
  expect_argument_error([] { kreg::parse_bandwidth_value("0"); },
                        "'0' is not positive; bandwidths must be > 0");
  expect_argument_error([] { kreg::parse_bandwidth_value("-1"); },
                        "'-1' is not positive; bandwidths must be > 0");
  expect_argument_error([] { kreg::parse_bandwidth_value("nan"); }, "'nan' is NaN");
  expect_argument_error([] { kreg::parse_bandwidth_value("inf"); }, "'inf' is infinite");
}

TEST(Bandwidth, ValueErrors) {
  expect_argument_error([] { kreg::parse_bandwidth_grid("0.1,-2"); },
                        "bandwidth grid '0.1,-2': value 1 ('-2') is not positive; bandwidths must "
                        "be > 0" +
                            forms);
  expect_argument_error(
      [] { kreg::parse_bandwidth_grid("0"); },
      "bandwidth grid '0': value 0 ('0') is not positive; bandwidths must be > 0" + forms);
  expect_argument_error([] { kreg::parse_bandwidth_grid("1,nan"); },
                        "bandwidth grid '1,nan': value 1 ('nan') is NaN" + forms);
  expect_argument_error([] { kreg::parse_bandwidth_grid("inf"); },
                        "bandwidth grid 'inf': value 0 ('inf') is infinite" + forms);
  // np.linspace(0, 1, 5) starts at 0; np.linspace(-1, 1, 3) has -1 and 0.
  expect_argument_error([] { kreg::parse_bandwidth_grid("linspace:0:1:5"); },
                        "bandwidth grid 'linspace:0:1:5': value 0 (0) is not positive; "
                        "bandwidths must be > 0" +
                            forms);
  expect_argument_error([] { kreg::parse_bandwidth_grid("linspace:1:-1:3"); },
                        "bandwidth grid 'linspace:1:-1:3': value 1 (0) is not positive; "
                        "bandwidths must be > 0" +
                            forms);
  // 10^400 overflows, 10^-400 underflows to 0.
  expect_argument_error(
      [] { kreg::parse_bandwidth_grid("logspace:300:400:2"); },
      "bandwidth grid 'logspace:300:400:2': value 1 (10^400 = inf) is infinite" + forms);
  expect_argument_error([] { kreg::parse_bandwidth_grid("logspace:-400:0:3"); },
                        "bandwidth grid 'logspace:-400:0:3': value 0 (10^-400 = 0) is not "
                        "positive; bandwidths must be > 0" +
                            forms);
}

TEST(Bandwidth, DuplicateErrors) {
  expect_argument_error([] { kreg::parse_bandwidth_grid("0.1,0.5,2,0.50"); },
                        "bandwidth grid '0.1,0.5,2,0.50': value 3 ('0.50') repeats value 1; each "
                        "bandwidth may appear once" +
                            forms);
  expect_argument_error([] { kreg::parse_bandwidth_grid("logspace:0:0:3"); },
                        "bandwidth grid 'logspace:0:0:3': value 1 (10^0 = 1) repeats value 0; "
                        "each bandwidth may appear once" +
                            forms);
  expect_argument_error([] { kreg::parse_bandwidth_grid("linspace:2:2:2"); },
                        "bandwidth grid 'linspace:2:2:2': value 1 (2) repeats value 0; each "
                        "bandwidth may appear once" +
                            forms);
}

TEST(Bandwidth, RulesOfThumbOneFeature) {
  // x = 1..5: sample std sqrt(2.5). scipy:
  //   k = gaussian_kde(np.arange(1., 6.), bw_method=m); np.sqrt(np.diag(k.covariance))
  const kreg::Matrix<double> X = matrix(5, 1, {1, 2, 3, 4, 5});
  expect_near_relative(kreg::scott_bandwidth(X), {1.1459772694961639}, 1e-14);
  expect_near_relative(kreg::silverman_bandwidth(X), {1.2138464451503568}, 1e-14);
  expect_near_relative(kreg::scott_bandwidth(X), {std::sqrt(2.5) * std::pow(5.0, -0.2)}, 1e-15);
  expect_near_relative(kreg::silverman_bandwidth(X),
                       {std::sqrt(2.5) * std::pow(5.0 * 3.0 / 4.0, -0.2)}, 1e-15);
}

// rng = np.random.default_rng(7)
// X = rng.normal(size=(12, 3)) * [1, 3, 0.2] + [0, 5, -1]
const D random_x = {
    0.0012301533574825742, 5.89623661252541,     -1.0548275710724435,  -0.8905918387572742,
    3.6359876444848322,    -1.1983293109992925,  0.060143602597438485, 9.0206457366636,
    -1.098441303710266,    -0.6204748998199404,  6.469526150555595,    -0.9286225983679879,
    0.10541424899789856,   2.208595865875386,    -1.0058503644926546,  0.6953031944582878,
    0.9673563581447544,    -1.0915231522080435,  -1.901222739800844,   1.1313867806450717,
    -1.3683470075583464,   -0.23509113107468127, 1.1976605556688904,   -0.9457471282356597,
    0.15675108662422516,   4.439207166110137,    -1.5033519421641026,  -0.5386928958466366,
    4.854497163796784,     -0.9773382027993385,  -1.5301357655053935,  3.566740171898208,
    -1.195703815611328,    -0.8088372394255993,  8.182695870158236,    -1.1615069350663794};

TEST(Bandwidth, RulesOfThumbMatchScipy) {
  // np.sqrt(np.diag(gaussian_kde(X.T, bw_method='scott' / 'silverman').covariance))
  const kreg::Matrix<double> X = matrix(12, 3, random_x);
  const D scott = {0.5234381523599099, 1.9034955521425474, 0.12097837645293945};
  const D silverman = {0.5070153253070864, 1.843773542755732, 0.1171826902870371};
  expect_near_relative(kreg::scott_bandwidth(X), scott, 1e-13);
  expect_near_relative(kreg::silverman_bandwidth(X), silverman, 1e-13);
  expect_near_relative(kreg::rule_of_thumb_bandwidth(X, "scott"), scott, 1e-13);
  expect_near_relative(kreg::rule_of_thumb_bandwidth(X, "silverman"), silverman, 1e-13);
  // The same data through a strided view (ld = 5) gives the same bits.
  kreg::Matrix<double> wide(12, 5);
  for (kreg::index_t i = 0; i < 12; ++i) {
    for (kreg::index_t j = 0; j < 3; ++j) wide(i, j) = X(i, j);
    wide(i, 3) = std::numeric_limits<double>::quiet_NaN();  // outside the view
  }
  const kreg::MatrixView<const double> strided(wide.data(), 12, 3, 5);
  EXPECT_EQ(kreg::scott_bandwidth(strided), kreg::scott_bandwidth(X));
}

TEST(Bandwidth, RulesOfThumbFarFromOrigin) {
  // rng continues from the block above: B = rng.normal(size=(10, 2)); S = B + 1e9.
  // scipy on S: [0.5301087208603641, 0.689285036014906] for both rules (for
  // d = 2, n (d+2) / 4 = n, so Scott and Silverman coincide). A one-pass
  // sum-of-squares variance gets 227.6 and 0 here instead of 0.61 and 1.02.
  const kreg::Matrix<double> S = matrix(
      10, 2, {999999999.9674783,  1000000000.8843899, 999999999.4163996,  999999999.888298,
              1000000000.1104641, 1000000000.0637817, 999999998.7749442,  1000000000.0761403,
              1000000001.3588234, 999999998.4528553,  1000000000.8593826, 1000000000.119354,
              999999999.3585296,  1000000002.0004165, 1000000000.7622597, 999999998.8007112,
              1000000000.0745162, 1000000000.5766896, 999999999.8112179,  1000000000.6829103});
  const D expected = {0.5301087208603641, 0.689285036014906};
  expect_near_relative(kreg::scott_bandwidth(S), expected, 1e-12);
  expect_near_relative(kreg::silverman_bandwidth(S), expected, 1e-12);
}

TEST(Bandwidth, RulesOfThumbFloat) {
  // F (float32, exactly representable); scipy on F.astype(np.float64).
  const std::vector<float> values = {0.5F, 2.0F, 1.25F, -3.0F, 4.0F, 0.75F,
                                     2.5F, 8.0F, -1.0F, 1.5F,  3.0F, 3.0F};
  const kreg::MatrixView<const float> F(values.data(), 6, 2);
  const D expected = {1.3497379373333669, 2.6499675312135373};
  expect_near_relative(kreg::scott_bandwidth(F), expected, 1e-14);
  expect_near_relative(kreg::silverman_bandwidth(F), expected, 1e-14);
  expect_near_relative(kreg::rule_of_thumb_bandwidth(F, "scott"), expected, 1e-14);
}

TEST(Bandwidth, ConstantFeatureGetsMeanOfOthers) {
  // Feature 1 is constant: its bandwidth is the mean of features 0 and 2's.
  D values = random_x;
  for (std::size_t i = 0; i < 12; ++i) values[i * 3 + 1] = 7.25;
  const kreg::Matrix<double> X = matrix(12, 3, values);
  const D h = kreg::scott_bandwidth(X);
  ASSERT_EQ(h.size(), 3U);
  expect_near_relative({h[0], h[2]}, {0.5234381523599099, 0.12097837645293945}, 1e-13);
  EXPECT_EQ(h[1], (h[0] + h[2]) / 2.0);
  const D s = kreg::silverman_bandwidth(X);
  EXPECT_EQ(s[1], (s[0] + s[2]) / 2.0);
}

TEST(Bandwidth, RuleOfThumbErrors) {
  const kreg::Matrix<double> one_row = matrix(1, 2, {1, 2});
  expect_argument_error([&] { kreg::scott_bandwidth(one_row); },
                        "scott_bandwidth: X has 1 rows; a standard deviation needs at least 2");
  const kreg::Matrix<double> no_cols(5, 0);
  expect_argument_error([&] { kreg::silverman_bandwidth(no_cols); },
                        "silverman_bandwidth: X has no columns; need at least 1 feature");
  const kreg::Matrix<double> constant = matrix(3, 2, {1, 2, 1, 2, 1, 2});
  expect_argument_error([&] { kreg::scott_bandwidth(constant); },
                        "scott_bandwidth: every feature of X is constant, so the data implies no "
                        "bandwidth; give one explicitly");
  const kreg::Matrix<double> with_nan =
      matrix(2, 2, {1, 2, 3, std::numeric_limits<double>::quiet_NaN()});
  expect_argument_error([&] { kreg::silverman_bandwidth(with_nan); },
                        "X[1, 1] is NaN; silverman_bandwidth needs finite values");
  const kreg::Matrix<double> X = matrix(5, 1, {1, 2, 3, 4, 5});
  expect_argument_error([&] { kreg::rule_of_thumb_bandwidth(X, "normal"); },
                        "unknown bandwidth rule 'normal'; the rules are 'scott' and 'silverman'");
  const std::vector<float> huge = {-3e38F, 3e38F, 3e38F, -3e38F};
  const kreg::MatrixView<const float> F(huge.data(), 4, 1);
  const D h = kreg::scott_bandwidth(F);  // the spread of floats fits a double
  EXPECT_TRUE(std::isfinite(h[0]));
  const kreg::Matrix<double> overflow = matrix(2, 1, {-1.7e308, 1.7e308});
  expect_argument_error(
      [&] { kreg::scott_bandwidth(overflow); },
      "scott_bandwidth: feature 0's standard deviation overflows a double; rescale X");
}

}  // namespace
