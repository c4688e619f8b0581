// minimize_scalar, nelder_mead and minimize_multistart on smooth, flat,
// infinite, NaN and throwing objectives; budgets, determinism and errors.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <limits>
#include <span>
#include <stdexcept>
#include <string>
#include <vector>

#include "kreg/error.hpp"
#include "kreg/optimize.hpp"
#include "test_support.hpp"

namespace {

using D = std::vector<double>;

constexpr double inf = std::numeric_limits<double>::infinity();
constexpr double nan = std::numeric_limits<double>::quiet_NaN();

const auto expect_argument_error = kreg::test::expect_error<kreg::ArgumentError>;

double rosenbrock(std::span<const double> x) {
  const double a = x[1] - x[0] * x[0];
  const double b = 1.0 - x[0];
  return 100.0 * (a * a) + b * b;
}

bool same_bits(double a, double b) { return std::memcmp(&a, &b, sizeof a) == 0; }

void expect_same_bits(const kreg::OptimizeResult& a, const kreg::OptimizeResult& b) {
  ASSERT_EQ(a.x.size(), b.x.size());
  for (std::size_t k = 0; k < a.x.size(); ++k) EXPECT_TRUE(same_bits(a.x[k], b.x[k])) << k;
  EXPECT_TRUE(same_bits(a.fx, b.fx));
  EXPECT_EQ(a.evaluations, b.evaluations);
  EXPECT_EQ(a.converged, b.converged);
  EXPECT_EQ(a.message, b.message);
}

// ---- minimize_scalar -------------------------------------------------------

TEST(OptimizeScalar, Quadratic) {
  int calls = 0;
  const auto r = kreg::minimize_scalar(
      [&](double x) {
        ++calls;
        return (x - 0.3) * (x - 0.3) + 2.0;
      },
      -4.0, 5.0);
  EXPECT_TRUE(r.converged) << r.message;
  ASSERT_EQ(r.x.size(), 1U);
  EXPECT_NEAR(r.x[0], 0.3, 1e-5);
  EXPECT_NEAR(r.fx, 2.0, 1e-10);
  EXPECT_EQ(r.evaluations, calls);
  EXPECT_LT(r.evaluations, 40);  // parabolic steps, not golden section alone
}

TEST(OptimizeScalar, MatchesScipyBounded) {
  // scipy 1.17.1: minimize_scalar(f, bounds=b, method='bounded',
  //                               options=dict(xatol=1e-6)) -> x, nfev
  const auto quadratic =
      kreg::minimize_scalar([](double x) { return (x - 0.3) * (x - 0.3) + 2.0; }, -4.0, 5.0);
  EXPECT_EQ(quadratic.x[0], 0.30000000000000004);
  EXPECT_EQ(quadratic.evaluations, 6);
  const auto kink =
      kreg::minimize_scalar([](double x) { return std::fabs(x - 0.7) + 0.25 * x; }, 0.0, 4.0);
  EXPECT_EQ(kink.x[0], 0.6999998895751415);
  EXPECT_EQ(kink.evaluations, 27);
}

TEST(OptimizeScalar, StartPointInside) {
  const auto f = [](double x) { return std::cosh(x - 1.5); };
  const auto r = kreg::minimize_scalar(f, 0.0, 10.0, {.x0 = 9.0});
  EXPECT_TRUE(r.converged) << r.message;
  EXPECT_NEAR(r.x[0], 1.5, 1e-5);
}

TEST(OptimizeScalar, MinimumAtAnEdgeIsTheEdge) {
  const auto up = kreg::minimize_scalar([](double x) { return x; }, -2.0, 3.0);
  EXPECT_TRUE(up.converged) << up.message;
  EXPECT_EQ(up.x[0], -2.0);
  EXPECT_EQ(up.fx, -2.0);
  EXPECT_NE(up.message.find("the minimum is at the lower bound"), std::string::npos) << up.message;
  const auto down = kreg::minimize_scalar([](double x) { return std::exp(-x); }, -1.0, 4.0);
  EXPECT_TRUE(down.converged) << down.message;
  EXPECT_EQ(down.x[0], 4.0);
  EXPECT_NE(down.message.find("the minimum is at the upper bound"), std::string::npos);
  // Started at the other edge, still found.
  const auto far = kreg::minimize_scalar([](double x) { return x * x; }, 1.0, 7.0, {.x0 = 7.0});
  EXPECT_EQ(far.x[0], 1.0);
}

TEST(OptimizeScalar, InfiniteRegionAndPlateau) {
  // +inf below 1 (e.g. bandwidths where nothing is defined), a flat plateau
  // above 3, a dip at 2.
  const auto f = [](double x) {
    if (x < 1.0) return inf;
    if (x > 3.0) return 1.0;
    return 1.0 - std::exp(-10.0 * (x - 2.0) * (x - 2.0)) * 0.5;
  };
  const auto r = kreg::minimize_scalar(f, -5.0, 6.0, {.x0 = 1.5});
  EXPECT_TRUE(r.converged) << r.message;
  EXPECT_NEAR(r.x[0], 2.0, 1e-5);
  EXPECT_NEAR(r.fx, 0.5, 1e-10);
}

TEST(OptimizeScalar, NanIsLikeInfinity) {
  const auto g = [](double x) { return x < 1.0 ? inf : (x - 2.0) * (x - 2.0); };
  const auto h = [](double x) { return x < 1.0 ? nan : (x - 2.0) * (x - 2.0); };
  const auto with_inf = kreg::minimize_scalar(g, -5.0, 6.0, {.x0 = 0.0});
  const auto with_nan = kreg::minimize_scalar(h, -5.0, 6.0, {.x0 = 0.0});
  EXPECT_NEAR(with_nan.x[0], 2.0, 1e-5);
  expect_same_bits(with_inf, with_nan);
}

TEST(OptimizeScalar, EverythingInfinite) {
  const auto r = kreg::minimize_scalar([](double) { return nan; }, 0.0, 1.0);
  EXPECT_FALSE(r.converged);
  EXPECT_EQ(r.fx, inf);
  EXPECT_EQ(r.message.rfind("stopped: no finite value found after", 0), 0U) << r.message;
}

TEST(OptimizeScalar, BudgetIsRespected) {
  int calls = 0;
  const auto r = kreg::minimize_scalar(
      [&](double x) {
        ++calls;
        return std::fabs(x - 0.123456789);
      },
      0.0, 1.0, {.xtol = 1e-12, .max_evaluations = 7});
  EXPECT_FALSE(r.converged);
  EXPECT_EQ(calls, 7);
  EXPECT_EQ(r.evaluations, 7);
  EXPECT_EQ(r.message, "stopped: max_evaluations = 7 reached before the bracket shrank to xtol");
  const auto one =
      kreg::minimize_scalar([](double x) { return x * x; }, -1.0, 1.0, {.max_evaluations = 1});
  EXPECT_EQ(one.evaluations, 1);
  EXPECT_FALSE(one.converged);
}

TEST(OptimizeScalar, ExceptionsPropagate) {
  int calls = 0;
  const auto f = [&](double x) {
    if (++calls == 5) throw kreg::Cancelled("cancelled by the caller");
    return x * x;
  };
  EXPECT_THROW(kreg::minimize_scalar(f, -1.0, 2.0), kreg::Cancelled);
  EXPECT_EQ(calls, 5);
}

TEST(OptimizeScalar, Deterministic) {
  const auto f = [](double x) { return std::sin(3.0 * x) + 0.1 * x * x; };
  expect_same_bits(kreg::minimize_scalar(f, -3.0, 3.0), kreg::minimize_scalar(f, -3.0, 3.0));
}

TEST(OptimizeScalar, ArgumentErrors) {
  const auto f = [](double x) { return x; };
  expect_argument_error([&] { kreg::minimize_scalar(f, 1.0, 1.0); },
                        "minimize_scalar: need finite bounds lo < hi, got [1, 1]");
  expect_argument_error([&] { kreg::minimize_scalar(f, 0.0, inf); },
                        "minimize_scalar: need finite bounds lo < hi, got [0, inf]");
  expect_argument_error([&] { kreg::minimize_scalar(f, 0.0, 1.0, {.x0 = 2.0}); },
                        "minimize_scalar: x0 = 2 is outside [0, 1]");
  expect_argument_error([&] { kreg::minimize_scalar(f, 0.0, 1.0, {.xtol = 0.0}); },
                        "minimize_scalar: xtol must be > 0, got 0");
  expect_argument_error([&] { kreg::minimize_scalar(f, 0.0, 1.0, {.max_evaluations = 0}); },
                        "minimize_scalar: max_evaluations must be >= 1, got 0");
}

// ---- nelder_mead -----------------------------------------------------------

TEST(OptimizeNelderMead, Quadratic) {
  int calls = 0;
  const auto r = kreg::nelder_mead(
      [&](std::span<const double> x) {
        ++calls;
        return (x[0] - 1.0) * (x[0] - 1.0) + 4.0 * (x[1] + 2.0) * (x[1] + 2.0) +
               (x[2] - 0.5) * (x[2] - 0.5) + 3.0;
      },
      {0.0, 0.0, 0.0});
  EXPECT_TRUE(r.converged) << r.message;
  ASSERT_EQ(r.x.size(), 3U);
  EXPECT_NEAR(r.x[0], 1.0, 1e-5);
  EXPECT_NEAR(r.x[1], -2.0, 1e-5);
  EXPECT_NEAR(r.x[2], 0.5, 1e-5);
  EXPECT_NEAR(r.fx, 3.0, 1e-10);
  EXPECT_EQ(r.evaluations, calls);
}

TEST(OptimizeNelderMead, Rosenbrock) {
  const auto r = kreg::nelder_mead(rosenbrock, {-1.2, 1.0});
  EXPECT_TRUE(r.converged) << r.message;
  EXPECT_NEAR(r.x[0], 1.0, 1e-5);
  EXPECT_NEAR(r.x[1], 1.0, 1e-5);
  EXPECT_LT(r.fx, 1e-10);
}

TEST(OptimizeNelderMead, MatchesScipy) {
  // scipy 1.17.1: minimize(rosen, [-1.2, 1], method='Nelder-Mead',
  //                        options=dict(xatol=1e-6, fatol=1e-10))
  // scipy's first simplex steps 5% of each coordinate: 1.05 * -1.2 == -1.2 - 0.06.
  const auto r = kreg::nelder_mead(rosenbrock, {-1.2, 1.0}, {.initial_step = {-0.06, 0.05}});
  EXPECT_TRUE(r.converged) << r.message;
  EXPECT_NEAR(r.x[0], 0.9999998694739745, 1e-12);
  EXPECT_NEAR(r.x[1], 0.9999997547287295, 1e-12);
  EXPECT_NEAR(r.fx, 4.194029327603647e-14, 1e-20);
  EXPECT_EQ(r.evaluations, 189);
}

TEST(OptimizeNelderMead, OneDimensional) {
  const auto r = kreg::nelder_mead([](std::span<const double> x) { return std::cosh(x[0] - 4.0); },
                                   {0.0}, {.initial_step = {2.0}});
  EXPECT_TRUE(r.converged) << r.message;
  EXPECT_NEAR(r.x[0], 4.0, 1e-5);
}

TEST(OptimizeNelderMead, BoxClampsAndFindsTheEdge) {
  // The unconstrained minimum (3, -3) lies outside the box [-1, 2] x [-1, 2].
  const auto f = [](std::span<const double> x) {
    return (x[0] - 3.0) * (x[0] - 3.0) + (x[1] + 3.0) * (x[1] + 3.0);
  };
  std::vector<D> seen;
  const auto r = kreg::nelder_mead(
      [&](std::span<const double> x) {
        seen.emplace_back(x.begin(), x.end());
        return f(x);
      },
      {5.0, 0.0}, {.lower = {-1.0, -1.0}, .upper = {2.0, 2.0}});
  EXPECT_TRUE(r.converged) << r.message;
  EXPECT_NEAR(r.x[0], 2.0, 1e-5);
  EXPECT_NEAR(r.x[1], -1.0, 1e-5);
  ASSERT_FALSE(seen.empty());
  EXPECT_EQ(seen.front(), (D{2.0, 0.0}));  // x0 clamped into the box
  for (const D& x : seen) {
    EXPECT_TRUE(x[0] >= -1.0 && x[0] <= 2.0 && x[1] >= -1.0 && x[1] <= 2.0);
  }
}

TEST(OptimizeNelderMead, InfiniteRegionAndPlateau) {
  // A CV error over log-bandwidths: +inf where a < -1 (nothing defined), flat
  // for a > 2, a bowl around (0.5, 0.5).
  const auto f = [](std::span<const double> x) {
    if (x[0] < -1.0) return inf;
    if (x[0] > 2.0) return 5.0;
    return std::min(5.0, (x[0] - 0.5) * (x[0] - 0.5) + (x[1] - 0.5) * (x[1] - 0.5));
  };
  const auto r = kreg::nelder_mead(f, {-0.9, 0.0});
  EXPECT_TRUE(r.converged) << r.message;
  EXPECT_NEAR(r.x[0], 0.5, 1e-5);
  EXPECT_NEAR(r.x[1], 0.5, 1e-5);
}

TEST(OptimizeNelderMead, NanIsLikeInfinity) {
  const auto g = [](std::span<const double> x) {
    return x[0] + x[1] < 0.0 ? inf : std::pow(x[0] - 1.0, 2) + std::pow(x[1] - 2.0, 2);
  };
  const auto h = [](std::span<const double> x) {
    return x[0] + x[1] < 0.0 ? nan : std::pow(x[0] - 1.0, 2) + std::pow(x[1] - 2.0, 2);
  };
  const auto with_inf = kreg::nelder_mead(g, {0.1, -0.05});
  const auto with_nan = kreg::nelder_mead(h, {0.1, -0.05});
  EXPECT_TRUE(with_nan.converged) << with_nan.message;
  EXPECT_NEAR(with_nan.x[0], 1.0, 1e-5);
  EXPECT_NEAR(with_nan.x[1], 2.0, 1e-5);
  expect_same_bits(with_inf, with_nan);
}

TEST(OptimizeNelderMead, EverythingInfinite) {
  const auto r = kreg::nelder_mead([](std::span<const double>) { return inf; }, {1.0, 1.0});
  EXPECT_FALSE(r.converged);
  EXPECT_EQ(r.fx, inf);
  EXPECT_EQ(r.x, (D{1.0, 1.0}));
}

TEST(OptimizeNelderMead, IrrelevantCoordinateMovesToTheUpperBound) {
  // f(a, b) = (a - 1)^2 + exp(-exp(b)): like a CV error where b is the
  // log-bandwidth of an irrelevant feature, b only helps by growing, and the
  // gain vanishes beyond b ~ 4. The search pushes b to the upper bound.
  const auto f = [](std::span<const double> x) {
    return (x[0] - 1.0) * (x[0] - 1.0) + std::exp(-std::exp(x[1]));
  };
  const auto r = kreg::nelder_mead(f, {0.0, 0.0}, {.lower = {-5.0, -5.0}, .upper = {5.0, 5.0}});
  EXPECT_TRUE(r.converged) << r.message;
  EXPECT_NEAR(r.x[0], 1.0, 1e-4);
  EXPECT_NEAR(r.x[1], 5.0, 1e-3);
  EXPECT_LT(r.fx, 1e-12);
}

TEST(OptimizeNelderMead, BudgetIsRespected) {
  int calls = 0;
  const auto r = kreg::nelder_mead(
      [&](std::span<const double> x) {
        ++calls;
        return rosenbrock(x);
      },
      {-1.2, 1.0}, {.max_evaluations = 25});
  EXPECT_FALSE(r.converged);
  EXPECT_EQ(calls, 25);
  EXPECT_EQ(r.evaluations, 25);
  EXPECT_EQ(r.message, "stopped: max_evaluations = 25 reached before the simplex converged");
  EXPECT_LT(r.fx, rosenbrock(D{-1.2, 1.0}));
  EXPECT_EQ(r.fx, rosenbrock(r.x));  // the best point seen, with its value
}

TEST(OptimizeNelderMead, ExceptionsPropagate) {
  for (int k : {1, 3, 17}) {
    int calls = 0;
    const auto f = [&](std::span<const double> x) {
      if (++calls == k) throw std::runtime_error("objective failed");
      return rosenbrock(x);
    };
    try {
      kreg::nelder_mead(f, {-1.2, 1.0});
      ADD_FAILURE() << "no exception";
    } catch (const std::runtime_error& e) {
      EXPECT_STREQ(e.what(), "objective failed");
    }
    EXPECT_EQ(calls, k);
  }
}

TEST(OptimizeNelderMead, Deterministic) {
  expect_same_bits(kreg::nelder_mead(rosenbrock, {-1.2, 1.0}),
                   kreg::nelder_mead(rosenbrock, {-1.2, 1.0}));
}

TEST(OptimizeNelderMead, ArgumentErrors) {
  const auto f = [](std::span<const double> x) { return x[0]; };
  expect_argument_error([&] { kreg::nelder_mead(f, {}); },
                        "nelder_mead: x0 is empty; need at least 1 coordinate");
  expect_argument_error(
      [&] {
        kreg::nelder_mead(f, {0.0, nan});
      },
      "nelder_mead: x0[1] is nan; it must be finite");
  expect_argument_error(
      [&] {
        kreg::nelder_mead(f, {0.0, 1.0}, {.initial_step = {1.0}});
      },
      "nelder_mead: initial_step has 1 values but x0 has 2; give one per "
      "coordinate or none");
  expect_argument_error([&] { kreg::nelder_mead(f, {0.0}, {.initial_step = {0.0}}); },
                        "nelder_mead: initial_step[0] is 0; every step must be non-zero");
  expect_argument_error([&] { kreg::nelder_mead(f, {0.0}, {.initial_step = {inf}}); },
                        "nelder_mead: initial_step[0] is inf; it must be finite");
  expect_argument_error(
      [&] {
        kreg::nelder_mead(f, {0.0}, {.lower = {0.0, 1.0}});
      },
      "nelder_mead: lower has 2 values but x0 has 1; give one per coordinate "
      "or none");
  expect_argument_error([&] { kreg::nelder_mead(f, {0.0}, {.upper = {nan}}); },
                        "nelder_mead: upper[0] is NaN");
  expect_argument_error([&] { kreg::nelder_mead(f, {0.0}, {.lower = {2.0}, .upper = {1.0}}); },
                        "nelder_mead: lower[0] = 2 is above upper[0] = 1");
  expect_argument_error([&] { kreg::nelder_mead(f, {0.0}, {.xtol = -1.0}); },
                        "nelder_mead: xtol and ftol must be >= 0, got -1 and 1e-10");
  expect_argument_error([&] { kreg::nelder_mead(f, {0.0}, {.max_evaluations = 0}); },
                        "nelder_mead: max_evaluations must be >= 1, got 0");
}

// ---- minimize_multistart ---------------------------------------------------

// Two wells: a shallow one near x0 = (0, 0) and the deeper one at (3, 3).
double two_wells(std::span<const double> x) {
  const double near = (x[0] * x[0] + x[1] * x[1]);
  const double far = (x[0] - 3.0) * (x[0] - 3.0) + (x[1] - 3.0) * (x[1] - 3.0);
  return std::min(near + 1.0, far);
}

TEST(OptimizeMultistart, FindsTheDeeperWell) {
  const kreg::NelderMeadOptions box{.lower = {-4.0, -4.0}, .upper = {4.0, 4.0}};
  const auto single = kreg::nelder_mead(two_wells, {0.0, 0.0}, box);
  EXPECT_NEAR(single.fx, 1.0, 1e-8);  // stuck in the shallow well
  int calls = 0;
  const auto r = kreg::minimize_multistart(
      [&](std::span<const double> x) {
        ++calls;
        return two_wells(x);
      },
      {0.0, 0.0}, 8, 42, box);
  EXPECT_TRUE(r.converged) << r.message;
  EXPECT_NEAR(r.x[0], 3.0, 1e-5);
  EXPECT_NEAR(r.x[1], 3.0, 1e-5);
  EXPECT_EQ(r.evaluations, calls);
  EXPECT_GT(r.evaluations, single.evaluations);
  EXPECT_EQ(r.message.rfind("best of 8 starts (start ", 0), 0U) << r.message;
}

TEST(OptimizeMultistart, OneStartIsNelderMead) {
  const auto r = kreg::minimize_multistart(rosenbrock, {-1.2, 1.0}, 1, 7, {});
  const auto nm = kreg::nelder_mead(rosenbrock, {-1.2, 1.0});
  EXPECT_EQ(r.x, nm.x);
  EXPECT_EQ(r.fx, nm.fx);
  EXPECT_EQ(r.evaluations, nm.evaluations);
  EXPECT_EQ(r.message, "best of 1 starts (start 0): " + nm.message);
}

TEST(OptimizeMultistart, SameSeedSameBits) {
  // No box: starts drawn from x0 +- 2 * step.
  const auto a =
      kreg::minimize_multistart(two_wells, {0.0, 0.0}, 6, 123, {.initial_step = {1.0, 1.0}});
  const auto b =
      kreg::minimize_multistart(two_wells, {0.0, 0.0}, 6, 123, {.initial_step = {1.0, 1.0}});
  expect_same_bits(a, b);
  // The starts are drawn inside the box, and a different seed draws others.
  std::vector<D> first_points[2];
  for (int s = 0; s < 2; ++s) {
    D previous;
    kreg::minimize_multistart(
        [&](std::span<const double> x) {
          EXPECT_TRUE(x[0] >= 1.0 && x[0] <= 2.0 && x[1] >= -3.0 && x[1] <= -2.5);
          first_points[s].emplace_back(x.begin(), x.end());
          return two_wells(x);
        },
        {1.5, -2.75}, 4, s == 0 ? 1U : 2U,
        {.max_evaluations = 1, .lower = {1.0, -3.0}, .upper = {2.0, -2.5}});
  }
  ASSERT_EQ(first_points[0].size(), 4U);              // one evaluation per start
  EXPECT_EQ(first_points[0][0], first_points[1][0]);  // x0 itself
  EXPECT_NE(first_points[0][1], first_points[1][1]);
}

TEST(OptimizeMultistart, ExceptionsPropagate) {
  int calls = 0;
  const auto f = [&](std::span<const double> x) {
    if (++calls == 60) throw kreg::Cancelled("stop");
    return two_wells(x);
  };
  EXPECT_THROW(kreg::minimize_multistart(f, {0.0, 0.0}, 10, 1, {}), kreg::Cancelled);
  EXPECT_EQ(calls, 60);
}

TEST(OptimizeMultistart, BudgetPerStart) {
  const auto r = kreg::minimize_multistart(rosenbrock, {-1.2, 1.0}, 3, 5, {.max_evaluations = 10});
  EXPECT_EQ(r.evaluations, 30);
  EXPECT_FALSE(r.converged);
}

TEST(OptimizeMultistart, ArgumentErrors) {
  expect_argument_error(
      [] {
        kreg::minimize_multistart(rosenbrock, {0.0, 0.0}, 0, 1, {});
      },
      "minimize_multistart: starts must be >= 1, got 0");
  expect_argument_error(
      [] {
        kreg::minimize_multistart(rosenbrock, {0.0, 0.0}, 2, 1, {.max_evaluations = -1});
      },
      "minimize_multistart: max_evaluations must be >= 1, got -1");
}

}  // namespace
