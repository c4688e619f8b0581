// Tests of KernelRegression (kreg/kernel_regression.hpp): lc and ll fits,
// gradients, leave-one-out, the hat trace and AIC against a long-double
// oracle written from the definitions; mixed data types; nearest-neighbour
// bandwidths; the defined answers at the numerical limits; n_jobs
// invariance; bandwidth selection and the bootstrap.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "kernel_regression_oracle.hpp"
#include "kreg/error.hpp"
#include "kreg/kernel_regression.hpp"
#include "local/engine.hpp"

namespace kreg {
namespace {

using namespace testing_oracle;  // NOLINT(google-build-using-namespace)

struct Case {
  std::string types;
  std::vector<double> bw;
  Kernel kernel;
  DiscreteKernels discrete;
};

class AgainstOracle : public ::testing::TestWithParam<std::tuple<RegType, int>> {};

const Case kCases[] = {
    {"c", {0.4}, Kernel::gaussian, DiscreteKernels::statsmodels},
    {"cc", {0.7, 0.5}, Kernel::gaussian, DiscreteKernels::statsmodels},
    {"ccou", {0.8, 0.9, 0.3, 0.25}, Kernel::gaussian, DiscreteKernels::statsmodels},
    {"cou", {0.8, 0.6, 0.5}, Kernel::gaussian, DiscreteKernels::li_racine},
    {"cc", {1.5, 1.8}, Kernel::epanechnikov, DiscreteKernels::statsmodels},
    {"co", {1.7, 0.4}, Kernel::tricube, DiscreteKernels::li_racine},
    {"ccc", {1.2, 1.4, 1.6}, Kernel::gaussian, DiscreteKernels::statsmodels},
    // More columns than the fused passes take (local/simd.hpp's kMaxFused).
    {"ccccccccu",
     {2.5, 2.6, 2.7, 2.8, 2.9, 3.0, 3.1, 3.2, 0.3},
     Kernel::gaussian,
     DiscreteKernels::statsmodels},
};

TEST_P(AgainstOracle, FitGradientLooAndHatTrace) {
  const auto [reg, which] = GetParam();
  const Case& c = kCases[which];
  const Data data = make_data(60, c.types, 11 + static_cast<std::uint32_t>(which));
  KernelRegressionOptions o = options_for(reg, c.types, c.bw);
  o.kernel = c.kernel;
  o.discrete = c.discrete;
  KernelRegression model(o);
  model.fit(data.X.view(), data.y);
  const double tol = 1e-9 * sd(data.y);
  const Data queries = make_data(25, c.types, 99);
  const KernelFit fit = model.predict(queries.X.view(), true);
  const KernelFit loo = model.predict_loo();
  EXPECT_EQ(fit.report.isolated, 0);
  for (index_t i = 0; i < queries.X.rows(); ++i) {
    const OracleFit want = oracle(data, c.types, o, queries.X.view().row(i));
    EXPECT_NEAR(fit.mean[static_cast<std::size_t>(i)], static_cast<double>(want.mean), tol)
        << "query " << i;
    if (reg == RegType::local_linear) {
      for (index_t f = 0; f < data.X.cols(); ++f) {
        EXPECT_NEAR(
            fit.gradient(i, f), static_cast<double>(want.slope[static_cast<std::size_t>(f)]),
            1e-8 * (1 + std::fabs(static_cast<double>(want.slope[static_cast<std::size_t>(f)]))))
            << "query " << i << " column " << f;
      }
    }
  }
  double trace = 0;
  for (index_t i = 0; i < data.X.rows(); ++i) {
    const OracleFit want = oracle(data, c.types, o, data.X.view().row(i), i);
    EXPECT_NEAR(loo.mean[static_cast<std::size_t>(i)], static_cast<double>(want.mean), tol)
        << "point " << i;
    trace += static_cast<double>(oracle(data, c.types, o, data.X.view().row(i), -1, i).self_hat);
  }
  EXPECT_NEAR(model.hat_trace(), trace, 1e-9 * trace);
}

INSTANTIATE_TEST_SUITE_P(Cases, AgainstOracle,
                         ::testing::Combine(::testing::Values(RegType::local_constant,
                                                              RegType::local_linear),
                                            ::testing::Range(0, 8)));

// lc's gradient along continuous columns is the derivative of its own fit.
TEST(KernelRegression, LocalConstantGradientIsTheDerivative) {
  for (Kernel kernel : {Kernel::gaussian, Kernel::epanechnikov, Kernel::tricube}) {
    const std::string types = "ccu";
    const Data data = make_data(80, types, 5);
    KernelRegressionOptions o = options_for(RegType::local_constant, types, {1.6, 1.9, 0.3});
    o.kernel = kernel;
    KernelRegression model(o);
    model.fit(data.X.view(), data.y);
    const Data q = make_data(10, types, 6);
    const KernelFit fit = model.predict(q.X.view(), true);
    const double eps = 1e-6;
    for (index_t f = 0; f < 2; ++f) {
      Matrix<double> up = q.X, down = q.X;
      for (index_t i = 0; i < q.X.rows(); ++i) {
        up(i, f) += eps;
        down(i, f) -= eps;
      }
      const KernelFit a = model.predict(up.view()), b = model.predict(down.view());
      for (index_t i = 0; i < q.X.rows(); ++i) {
        const double fd =
            (a.mean[static_cast<std::size_t>(i)] - b.mean[static_cast<std::size_t>(i)]) / (2 * eps);
        EXPECT_NEAR(fit.gradient(i, f), fd, 1e-5 * (1 + std::fabs(fd)))
            << to_string(kernel) << " query " << i << " column " << f;
      }
    }
    // The unordered column: m(z) - m(z at the lowest level), np's convention.
    Matrix<double> base = q.X;
    for (index_t i = 0; i < q.X.rows(); ++i) base(i, 2) = model.levels(2).front();
    const KernelFit at_base = model.predict(base.view());
    for (index_t i = 0; i < q.X.rows(); ++i) {
      EXPECT_DOUBLE_EQ(fit.gradient(i, 2), fit.mean[static_cast<std::size_t>(i)] -
                                               at_base.mean[static_cast<std::size_t>(i)]);
    }
  }
}

TEST(KernelRegression, AicFromItsDefinition) {
  for (RegType reg : {RegType::local_constant, RegType::local_linear}) {
    const std::string types = "cco";
    const Data data = make_data(50, types, 21);
    const KernelRegressionOptions o = options_for(reg, types, {0.9, 1.1, 0.4});
    KernelRegression model(o);
    model.fit(data.X.view(), data.y);
    LD sse = 0, trace = 0;
    for (index_t i = 0; i < data.X.rows(); ++i) {
      const OracleFit f = oracle(data, types, o, data.X.view().row(i), -1, i);
      sse += (data.y[static_cast<std::size_t>(i)] - f.mean) *
             (data.y[static_cast<std::size_t>(i)] - f.mean);
      trace += f.self_hat;
    }
    const LD n = 50;
    const LD want = std::log(sse / n) + (1 + trace / n) / (1 - (trace + 2) / n);
    EXPECT_NEAR(model.criterion(Criterion::aic), static_cast<double>(want), 1e-9) << to_string(reg);
    LD cv = 0;
    for (index_t i = 0; i < data.X.rows(); ++i) {
      const LD r = data.y[static_cast<std::size_t>(i)] -
                   oracle(data, types, o, data.X.view().row(i), i).mean;
      cv += r * r;
    }
    EXPECT_NEAR(model.criterion(Criterion::cv_ls), static_cast<double>(cv / n),
                1e-9 * static_cast<double>(cv / n));
  }
}

// Bits do not depend on n_jobs.
TEST(KernelRegression, SameBitsForAnyThreadCount) {
  const std::string types = "ccou";
  const Data data = make_data(300, types, 3);
  for (RegType reg : {RegType::local_constant, RegType::local_linear}) {
    std::vector<double> first_mean, first_grad;
    double first_aic = 0;
    for (int jobs : {1, 2, 3}) {
      KernelRegression model(options_for(reg, types, {0.5, 0.6, 0.3, 0.2}, jobs));
      model.fit(data.X.view(), data.y);
      const KernelFit fit = model.predict(data.X.view(), true);
      const double aic = model.criterion(Criterion::aic);
      std::vector<double> grad(fit.gradient.data(), fit.gradient.data() + fit.gradient.size());
      if (jobs == 1) {
        first_mean = fit.mean;
        first_grad = grad;
        first_aic = aic;
        continue;
      }
      EXPECT_EQ(fit.mean, first_mean) << jobs;
      EXPECT_EQ(grad, first_grad) << jobs;
      EXPECT_EQ(aic, first_aic) << jobs;
    }
  }
}

// The limits: huge bandwidths give the global fit (lc: mean y; ll: ordinary
// least squares), tiny ones the nearest point's y, data far from the origin
// the same fit as data near it; never NaN.
TEST(KernelRegression, NumericalLimits) {
  const std::string types = "cc";
  const Data near = make_data(40, types, 8);
  const Data far = make_data(40, types, 8, 1e6);
  const double mean_y = [&] {
    double s = 0;
    for (double v : near.y) s += v;
    return s / 40;
  }();
  // OLS of y on (1, x) by the oracle's solver (all weights 1).
  std::vector<LD> M(9, 0), V(3, 0);
  for (index_t j = 0; j < 40; ++j) {
    const LD row[3] = {1, near.X(j, 0), near.X(j, 1)};
    for (int a = 0; a < 3; ++a) {
      V[static_cast<std::size_t>(a)] += row[a] * near.y[static_cast<std::size_t>(j)];
      for (int b = 0; b < 3; ++b) M[static_cast<std::size_t>(a * 3 + b)] += row[a] * row[b];
    }
  }
  const std::vector<LD> ols = solve(M, V, 3);
  for (RegType reg : {RegType::local_constant, RegType::local_linear}) {
    KernelRegression huge(options_for(reg, types, {1e8, 1e8}));
    huge.fit(near.X.view(), near.y);
    const KernelFit h = huge.predict(near.X.view(), true);
    for (index_t i = 0; i < 40; ++i) {
      const double want =
          reg == RegType::local_constant
              ? mean_y
              : static_cast<double>(ols[0] + ols[1] * near.X(i, 0) + ols[2] * near.X(i, 1));
      EXPECT_NEAR(h.mean[static_cast<std::size_t>(i)], want, 1e-6)
          << to_string(reg) << " huge h, point " << i;
      if (reg == RegType::local_linear) {
        EXPECT_NEAR(h.gradient(i, 0), static_cast<double>(ols[1]), 1e-6);
      }
    }
    KernelRegression tiny(options_for(reg, types, {1e-8, 1e-8}));
    tiny.fit(near.X.view(), near.y);
    const KernelFit t = tiny.predict(near.X.view(), true);
    for (index_t i = 0; i < 40; ++i) {
      EXPECT_EQ(t.mean[static_cast<std::size_t>(i)], near.y[static_cast<std::size_t>(i)])
          << to_string(reg) << " tiny h";
      for (index_t f = 0; f < 2; ++f) EXPECT_TRUE(std::isfinite(t.gradient(i, f)));
    }
    EXPECT_TRUE(std::isfinite(tiny.criterion(Criterion::cv_ls)));
    // Far from the origin: the same fit within the contract's tolerance.
    KernelRegression a(options_for(reg, types, {0.6, 0.7})), b(options_for(reg, types, {0.6, 0.7}));
    a.fit(near.X.view(), near.y);
    b.fit(far.X.view(), far.y);
    const KernelFit fa = a.predict(near.X.view(), true), fb = b.predict(far.X.view(), true);
    for (index_t i = 0; i < 40; ++i) {
      // The shift costs the data themselves log2(1e6) ~ 20 bits.
      EXPECT_NEAR(fa.mean[static_cast<std::size_t>(i)], fb.mean[static_cast<std::size_t>(i)], 1e-8);
      EXPECT_NEAR(fa.gradient(i, 0), fb.gradient(i, 0), 1e-6);
    }
  }
}

// A compact kernel with no point inside: the nearest points' mean, counted.
TEST(KernelRegression, IsolatedQueriesGetTheNearestPoints) {
  const std::string types = "c";
  Data data{Matrix<double>(4, 1), {1, 2, 3, 10}};
  for (index_t i = 0; i < 4; ++i) data.X(i, 0) = static_cast<double>(i);
  data.X(2, 0) = 3;  // points 2 and 3 share x = 3
  for (RegType reg : {RegType::local_constant, RegType::local_linear}) {
    KernelRegressionOptions o = options_for(reg, types, {0.5});
    o.kernel = Kernel::epanechnikov;
    KernelRegression model(o);
    model.fit(data.X.view(), data.y);
    Matrix<double> q(2, 1);
    q(0, 0) = 7;    // nearest: x = 3, y 3 and 10
    q(1, 0) = 0.1;  // inside point 0's support
    const KernelFit fit = model.predict(q.view(), true);
    EXPECT_EQ(fit.report.isolated, 1);
    EXPECT_DOUBLE_EQ(fit.mean[0], 6.5);
    EXPECT_DOUBLE_EQ(fit.mean[1], 1.0);
    EXPECT_EQ(fit.gradient(0, 0), 0.0);
  }
}

// The nearest-point fallback is a smoother too: in-sample each isolated
// point is its own nearest, with hat weight 1 (1/k among k ties), so a
// bandwidth that isolates every point has tr(H) = n and aic +inf, not -inf.
TEST(KernelRegression, IsolatedPointsCountInTheHatTrace) {
  const Data data = make_data(30, "co", 14);
  for (RegType reg : {RegType::local_constant, RegType::local_linear}) {
    KernelRegressionOptions o = options_for(reg, "co", {0.5, 1.0});  // Wang-van Ryzin at 1: all 0
    KernelRegression model(o);
    model.fit(data.X.view(), data.y);
    EXPECT_EQ(model.predict(data.X.view()).report.isolated, 30);
    EXPECT_DOUBLE_EQ(model.hat_trace(), 30.0);
    EXPECT_EQ(model.criterion(Criterion::aic), std::numeric_limits<double>::infinity());
  }
}

// ll where the local design cannot identify a slope: slope 0 there, the
// intercept still the weighted fit, counted.
TEST(KernelRegression, RankDeficientDesignsFallBackAlongTheirDirections) {
  // Column 1 is 2 x column 0: collinear everywhere; its huge bandwidth
  // leaves the weights to column 0 alone.
  const Data base = make_data(30, "c", 4);
  Matrix<double> X(30, 2);
  for (index_t i = 0; i < 30; ++i) {
    X(i, 0) = base.X(i, 0);
    X(i, 1) = 2 * base.X(i, 0);
  }
  KernelRegression model(options_for(RegType::local_linear, "cc", {0.8, 1e8}));
  model.fit(X.view(), base.y);
  const KernelFit fit = model.predict(X.view(), true);
  EXPECT_EQ(fit.report.rank_deficient, 30);
  KernelRegression one(options_for(RegType::local_linear, "c", {0.8}));
  one.fit(base.X.view(), base.y);
  const KernelFit want = one.predict(base.X.view(), true);
  for (index_t i = 0; i < 30; ++i) {
    EXPECT_NEAR(fit.mean[static_cast<std::size_t>(i)], want.mean[static_cast<std::size_t>(i)],
                1e-9);
    // The identified direction carries the slope; the collinear one gets 0.
    EXPECT_NEAR(fit.gradient(i, 0), want.gradient(i, 0), 1e-7);
    EXPECT_EQ(fit.gradient(i, 1), 0.0);
  }
  // An unordered column with lambda = 0: only the query's own level has
  // weight, so that column is constant locally.
  const Data mixed = make_data(40, "cu", 9);
  KernelRegression m2(options_for(RegType::local_linear, "cu", {0.7, 0.0}));
  m2.fit(mixed.X.view(), mixed.y);
  const KernelFit f2 = m2.predict(mixed.X.view(), true);
  EXPECT_EQ(f2.report.rank_deficient, 40);
  for (index_t i = 0; i < 40; ++i) {
    EXPECT_TRUE(std::isfinite(f2.mean[static_cast<std::size_t>(i)]));
    EXPECT_EQ(f2.gradient(i, 1), 0.0);
  }
}

// k-fold: each training point predicted from the other folds only, as a
// model fitted on those folds predicts it.
TEST(KernelRegression, KFoldExcludesTheWholeFold) {
  const std::string types = "cco";
  const Data data = make_data(45, types, 12);
  std::vector<index_t> fold_of(45);
  for (index_t i = 0; i < 45; ++i) fold_of[static_cast<std::size_t>(i)] = i % 3;
  for (RegType reg : {RegType::local_constant, RegType::local_linear}) {
    const KernelRegressionOptions o = options_for(reg, types, {0.8, 0.9, 0.4});
    KernelRegression model(o);
    model.fit(data.X.view(), data.y);
    const KernelFit cv = model.predict_kfold(fold_of, true);
    for (index_t fold = 0; fold < 3; ++fold) {
      Matrix<double> Xt(30, 3), Zq(15, 3);
      std::vector<double> yt;
      index_t a = 0, b = 0;
      for (index_t i = 0; i < 45; ++i) {
        Matrix<double>& into = fold_of[static_cast<std::size_t>(i)] == fold ? Zq : Xt;
        const index_t r = fold_of[static_cast<std::size_t>(i)] == fold ? b++ : a++;
        for (index_t f = 0; f < 3; ++f) into(r, f) = data.X(i, f);
        if (fold_of[static_cast<std::size_t>(i)] != fold)
          yt.push_back(data.y[static_cast<std::size_t>(i)]);
      }
      const KernelFit want = KernelRegression(o).fit(Xt.view(), yt).predict(Zq.view(), true);
      b = 0;
      for (index_t i = 0; i < 45; ++i) {
        if (fold_of[static_cast<std::size_t>(i)] != fold) continue;
        EXPECT_NEAR(cv.mean[static_cast<std::size_t>(i)], want.mean[static_cast<std::size_t>(b)],
                    1e-10)
            << i;
        EXPECT_NEAR(cv.gradient(i, 0), want.gradient(b, 0), 1e-8) << i;
        ++b;
      }
    }
  }
  KernelRegression model(options_for(RegType::local_linear, types, {0.8, 0.9, 0.4}));
  model.fit(data.X.view(), data.y);
  EXPECT_THROW(model.predict_kfold(std::vector<index_t>(45, 0)), ArgumentError);
  EXPECT_THROW(model.predict_kfold(std::vector<index_t>(44, 1)), ArgumentError);
}

TEST(KernelRegression, KthDistance) {
  const std::vector<double> s = {0, 1, 1, 3, 6, 10};
  EXPECT_EQ(local::kth_distance(s, 1, 1, false), 1.0);  // zero distances skip to the next
  EXPECT_EQ(local::kth_distance(s, 1, 1, true), 1.0);   // the other 1 is at 0: next larger
  EXPECT_EQ(local::kth_distance(s, 1, 3, false), 1.0);
  EXPECT_EQ(local::kth_distance(s, 3, 1, true), 2.0);
  EXPECT_EQ(local::kth_distance(s, 3, 3, true), 3.0);
  EXPECT_EQ(local::kth_distance(s, 4, 2, false), 2.0);
  EXPECT_EQ(local::kth_distance(s, 20, 1, false), 10.0);
  const std::vector<double> same = {2, 2, 2};
  EXPECT_EQ(local::kth_distance(same, 2, 1, true), 1.0);
}

// Nearest-neighbour bandwidths against their definitions.
TEST(KernelRegression, NearestNeighbourBandwidths) {
  const Data data = make_data(50, "cc", 31);
  const Data q = make_data(8, "cc", 32);
  std::vector<std::vector<double>> sorted(2);
  for (index_t f = 0; f < 2; ++f) {
    for (index_t j = 0; j < 50; ++j) sorted[static_cast<std::size_t>(f)].push_back(data.X(j, f));
    std::sort(sorted[static_cast<std::size_t>(f)].begin(),
              sorted[static_cast<std::size_t>(f)].end());
  }
  const auto kth = [](std::vector<double> col, double v, std::size_t k, bool self) {
    std::vector<double> dist;
    bool skipped = !self;
    for (double x : col) {
      if (!skipped && x == v) {
        skipped = true;
        continue;
      }
      dist.push_back(std::fabs(x - v));
    }
    std::sort(dist.begin(), dist.end());
    return dist[k - 1];  // continuous data: no ties
  };
  for (BandwidthType type : {BandwidthType::generalized_nn, BandwidthType::adaptive_nn}) {
    KernelRegressionOptions o = options_for(RegType::local_constant, "cc", {7, 12});
    o.bwtype = type;
    KernelRegression model(o);
    model.fit(data.X.view(), data.y);
    const KernelFit fit = model.predict(q.X.view());
    for (index_t i = 0; i < 8; ++i) {
      LD num = 0, den = 0;
      for (index_t j = 0; j < 50; ++j) {
        LD w = 1;
        for (index_t f = 0; f < 2; ++f) {
          const std::size_t k = f == 0 ? 7 : 12;
          const double h = type == BandwidthType::generalized_nn
                               ? kth(sorted[static_cast<std::size_t>(f)], q.X(i, f), k, false)
                               : kth(sorted[static_cast<std::size_t>(f)], data.X(j, f), k, true);
          const LD u = (static_cast<LD>(data.X(j, f)) - q.X(i, f)) / h;
          w *= std::exp(-u * u / 2) / (type == BandwidthType::adaptive_nn ? h : 1.0);
        }
        num += w * data.y[static_cast<std::size_t>(j)];
        den += w;
      }
      EXPECT_NEAR(fit.mean[static_cast<std::size_t>(i)], static_cast<double>(num / den), 1e-9)
          << to_string(type) << " query " << i;
    }
  }
}

TEST(KernelRegression, ClearErrors) {
  const Data data = make_data(30, "cu", 1);
  const auto fit_with = [&](KernelRegressionOptions o) {
    KernelRegression(std::move(o)).fit(data.X.view(), data.y);
  };
  const auto message = [&](KernelRegressionOptions o) {
    try {
      fit_with(std::move(o));
    } catch (const ArgumentError& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  EXPECT_NE(
      message(options_for(RegType::local_linear, "cu", {0.5})).find("1 bandwidths for 2 columns"),
      std::string::npos);
  EXPECT_NE(message(options_for(RegType::local_linear, "cu", {-1, 0.2}))
                .find("column 0 must be finite and > 0"),
            std::string::npos);
  // Aitchison-Aitken with 3 levels: lambda <= 2/3.
  EXPECT_NE(message(options_for(RegType::local_linear, "cu", {1, 0.9})).find("[0, 0.6666"),
            std::string::npos);
  EXPECT_THROW(parse_var_type("cx"), ArgumentError);
  EXPECT_NE(
      message(options_for(RegType::local_linear, "c", {1, 0.2})).find("var_type has 1 letters"),
      std::string::npos);
  KernelRegressionOptions nn = options_for(RegType::local_linear, "cu", {2.5, 0.2});
  nn.bwtype = BandwidthType::adaptive_nn;
  EXPECT_NE(message(nn).find("whole number of neighbours"), std::string::npos);
  nn.bandwidth = {30, 0.2};
  EXPECT_NE(message(nn).find("[1, 29]"), std::string::npos);
  Data bad = data;
  bad.X(4, 1) = std::nan("");
  try {
    KernelRegression(options_for(RegType::local_linear, "cu", {1, 0.2})).fit(bad.X.view(), bad.y);
    ADD_FAILURE() << "no error for NaN";
  } catch (const ArgumentError& e) {
    EXPECT_NE(std::string(e.what()).find("X[4, 1] is NaN"), std::string::npos) << e.what();
  }
  EXPECT_THROW(parse_reg_type("local"), ArgumentError);
  EXPECT_THROW(KernelRegression().predict(data.X.view()), ArgumentError);
}

// Selection: the selected bandwidths are no worse than the start, and the
// criterion reported is the criterion there.
TEST(KernelRegression, SelectionImprovesOnTheStart) {
  const std::string types = "cco";
  const Data data = make_data(120, types, 17);
  for (Criterion crit : {Criterion::cv_ls, Criterion::aic}) {
    for (RegType reg : {RegType::local_constant, RegType::local_linear}) {
      KernelRegressionOptions o = options_for(reg, types, {});
      KernelSelectOptions s;
      s.criterion = crit;
      s.initial = {1.0, 1.0, 0.5};
      const KernelSelectResult r = select_kernel_bandwidth(data.X.view(), data.y, o, s);
      o.bandwidth = s.initial;
      const double at_start = KernelRegression(o).fit(data.X.view(), data.y).criterion(crit);
      EXPECT_LT(r.objective, at_start) << to_string(crit) << " " << to_string(reg);
      o.bandwidth = r.bandwidth;
      EXPECT_EQ(KernelRegression(o).fit(data.X.view(), data.y).criterion(crit), r.objective);
      EXPECT_GE(r.bandwidth[2], 0.0);
      EXPECT_LE(r.bandwidth[2], 1.0);
    }
  }
  // nn: k is a whole number.
  KernelRegressionOptions o = options_for(RegType::local_linear, types, {});
  o.bwtype = BandwidthType::generalized_nn;
  const KernelSelectResult r = select_kernel_bandwidth(data.X.view(), data.y, o);
  EXPECT_EQ(r.bandwidth[0], std::round(r.bandwidth[0]));
  EXPECT_GE(r.bandwidth[0], 1.0);
}

TEST(KernelRegression, BootstrapIsSeededPerReplicate) {
  const std::string types = "cu";
  const Data data = make_data(80, types, 2);
  const Data q = make_data(10, types, 3);
  std::vector<double> first;
  for (int jobs : {1, 2}) {
    const BootstrapResult r = bootstrap_kernel_regression(
        data.X.view(), data.y, q.X.view(),
        options_for(RegType::local_linear, types, {0.6, 0.3}, jobs), 30, 42, true);
    EXPECT_EQ(r.replicates, 30);
    for (double se : r.mean_se) EXPECT_TRUE(se > 0 && std::isfinite(se));
    if (jobs == 1) {
      first = r.mean_se;
    } else {
      EXPECT_EQ(r.mean_se, first);
    }
  }
  const BootstrapResult other =
      bootstrap_kernel_regression(data.X.view(), data.y, q.X.view(),
                                  options_for(RegType::local_linear, types, {0.6, 0.3}), 30, 43);
  EXPECT_NE(other.mean_se, first);
  EXPECT_THROW(
      bootstrap_kernel_regression(data.X.view(), data.y, q.X.view(),
                                  options_for(RegType::local_linear, types, {0.6, 0.3}), 1, 0),
      ArgumentError);
}

}  // namespace
}  // namespace kreg
