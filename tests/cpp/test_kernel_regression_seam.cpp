// Tests of KernelRegression on the Nadaraya-Watson engines (local/seam.hpp):
// lc and ll fits, gradients, leave-one-out and k-fold on every CPU engine
// against the long-double oracle and the local engine; the numerical limits;
// rank-deficient designs; n_jobs invariance; the routing of auto to a device
// engine (a test double on its own device); and the errors.
#include <gtest/gtest.h>

#include <cmath>
#include <string>
#include <vector>

#include "kernel_regression_oracle.hpp"
#include "kreg/error.hpp"
#include "kreg/kernel_regression.hpp"
#include "local/seam.hpp"
#include "nw/backend.hpp"

namespace kreg {
namespace {

using namespace testing_oracle;  // NOLINT(google-build-using-namespace)

KernelRegressionOptions on(Engine engine, RegType reg, const std::string& types,
                           std::vector<double> bw, int n_jobs = 2) {
  KernelRegressionOptions o = options_for(reg, types, std::move(bw), n_jobs);
  o.engine = engine;
  return o;
}

struct SeamCase {
  std::string types;
  std::vector<double> bw;
};

const SeamCase kSeamCases[] = {
    {"c", {0.4}},
    {"cc", {0.7, 0.5}},
    {"ccc", {1.2, 1.4, 1.6}},
    {"ccccc", {1.5, 1.6, 1.7, 1.8, 1.9}},
    // Narrower: S about 1e-2 of the mean square.
    {"cc", {0.2, 0.25}},
    {"ccccccccc", {2.5, 2.6, 2.7, 2.8, 2.9, 3.0, 3.1, 3.2, 3.3}},
};

class SeamAgainstOracle : public ::testing::TestWithParam<std::tuple<RegType, int>> {};

// Fits, ll slopes and lc gradients at queries, and leave-one-out, from the
// fused engine; predictions from every CPU engine.
TEST_P(SeamAgainstOracle, FitsSlopesAndLeaveOneOut) {
  const auto [reg, which] = GetParam();
  const SeamCase& c = kSeamCases[which];
  const Data data = make_data(70, c.types, 21 + static_cast<std::uint32_t>(which));
  const Data queries = make_data(25, c.types, 98);
  const double tol = 1e-9 * sd(data.y);
  KernelRegression local(options_for(reg, c.types, c.bw));
  local.fit(data.X.view(), data.y);
  ASSERT_FALSE(local.on_nw_engines());
  const KernelFit local_fit = local.predict(queries.X.view(), true);
  for (const Engine engine : {Engine::fused, Engine::vectorized, Engine::reference}) {
    SCOPED_TRACE(std::string(engine.name()));
    const KernelRegressionOptions o = on(engine, reg, c.types, c.bw);
    KernelRegression model(o);
    model.fit(data.X.view(), data.y);
    ASSERT_TRUE(model.on_nw_engines());
    const KernelFit fit = model.predict(queries.X.view(), true);
    EXPECT_EQ(fit.report.engine, engine);
    EXPECT_EQ(fit.report.isolated, 0);
    EXPECT_EQ(fit.report.rank_deficient, 0);
    for (index_t i = 0; i < queries.X.rows(); ++i) {
      const OracleFit want = oracle(data, c.types, o, queries.X.view().row(i));
      EXPECT_NEAR(fit.mean[static_cast<std::size_t>(i)], static_cast<double>(want.mean), tol)
          << "query " << i;
      for (index_t f = 0; f < data.X.cols(); ++f) {
        // ll: the oracle's slopes; lc: the local engine's derivative (its
        // own test checks it by finite differences).
        const double g = reg == RegType::local_linear
                             ? static_cast<double>(want.slope[static_cast<std::size_t>(f)])
                             : local_fit.gradient(i, f);
        EXPECT_NEAR(fit.gradient(i, f), g, 1e-8 * (1 + std::fabs(g)))
            << "query " << i << " column " << f;
      }
    }
  }
  KernelRegression model(on(Engine::fused, reg, c.types, c.bw));
  model.fit(data.X.view(), data.y);
  const KernelFit loo = model.predict_loo(true);
  const KernelFit local_loo = local.predict_loo(true);
  EXPECT_EQ(loo.report.engine, Engine::fused);
  // Leave-one-out against the local engine, whose own tests check it
  // against the oracle.
  EXPECT_EQ(loo.report.rank_deficient, local_loo.report.rank_deficient);
  for (index_t i = 0; i < data.X.rows(); ++i) {
    EXPECT_NEAR(loo.mean[static_cast<std::size_t>(i)], local_loo.mean[static_cast<std::size_t>(i)],
                tol)
        << "point " << i;
    for (index_t f = 0; f < data.X.cols(); ++f) {
      EXPECT_NEAR(loo.gradient(i, f), local_loo.gradient(i, f),
                  1e-8 * (1 + std::fabs(local_loo.gradient(i, f))))
          << "point " << i << " column " << f;
    }
  }
  EXPECT_NEAR(model.criterion(Criterion::cv_ls), local.criterion(Criterion::cv_ls),
              1e-9 * local.criterion(Criterion::cv_ls));
}

INSTANTIATE_TEST_SUITE_P(Cases, SeamAgainstOracle,
                         ::testing::Combine(::testing::Values(RegType::local_constant,
                                                              RegType::local_linear),
                                            ::testing::Range(0, 6)));

// k-fold: each fold predicted by the engine from the other folds' points,
// as the local engine does.
TEST(KernelRegressionSeam, KFoldMatchesTheLocalEngine) {
  const std::string types = "ccc";
  const Data data = make_data(61, types, 31);
  std::vector<index_t> fold_of(61);
  for (index_t i = 0; i < 61; ++i) fold_of[static_cast<std::size_t>(i)] = (i * 7) % 4;
  for (RegType reg : {RegType::local_constant, RegType::local_linear}) {
    KernelRegression local(options_for(reg, types, {0.9, 1.0, 1.1}));
    KernelRegression seam(on(Engine::fused, reg, types, {0.9, 1.0, 1.1}));
    local.fit(data.X.view(), data.y);
    seam.fit(data.X.view(), data.y);
    const KernelFit want = local.predict_kfold(fold_of, true);
    const KernelFit got = seam.predict_kfold(fold_of, true);
    EXPECT_EQ(got.report.engine, Engine::fused);
    for (index_t i = 0; i < 61; ++i) {
      EXPECT_NEAR(got.mean[static_cast<std::size_t>(i)], want.mean[static_cast<std::size_t>(i)],
                  1e-9 * sd(data.y))
          << to_string(reg) << " point " << i;
      for (index_t f = 0; f < 3; ++f) {
        EXPECT_NEAR(got.gradient(i, f), want.gradient(i, f),
                    1e-8 * (1 + std::fabs(want.gradient(i, f))));
      }
    }
  }
}

// Huge bandwidths give the global fit, tiny ones the nearest point's y with
// every direction unidentified (local/seam.hpp's floor), data far from the
// origin the same fit; never NaN.
TEST(KernelRegressionSeam, NumericalLimits) {
  const std::string types = "cc";
  const Data near = make_data(40, types, 8);
  const Data far = make_data(40, types, 8, 1e6);
  for (RegType reg : {RegType::local_constant, RegType::local_linear}) {
    SCOPED_TRACE(std::string(to_string(reg)));
    for (const double h : {1e8, 1e-8}) {
      KernelRegression local(options_for(reg, types, {h, h}));
      KernelRegression seam(on(Engine::fused, reg, types, {h, h}));
      local.fit(near.X.view(), near.y);
      seam.fit(near.X.view(), near.y);
      const KernelFit want = local.predict(near.X.view(), true);
      const KernelFit got = seam.predict(near.X.view(), true);
      for (index_t i = 0; i < 40; ++i) {
        EXPECT_NEAR(got.mean[static_cast<std::size_t>(i)], want.mean[static_cast<std::size_t>(i)],
                    1e-9)
            << "h " << h << " point " << i;
        if (h < 1) {  // the nearest point itself, to rounding of the standardisation
          EXPECT_NEAR(got.mean[static_cast<std::size_t>(i)], near.y[static_cast<std::size_t>(i)],
                      1e-14);
        }
        for (index_t f = 0; f < 2; ++f) {
          EXPECT_TRUE(std::isfinite(got.gradient(i, f)));
          if (reg == RegType::local_linear) {
            EXPECT_NEAR(got.gradient(i, f), want.gradient(i, f),
                        1e-6 * (1 + std::fabs(want.gradient(i, f))));
          }
        }
      }
      if (reg == RegType::local_linear) {
        EXPECT_EQ(got.report.rank_deficient, h < 1 ? 40 : 0) << "h " << h;
      }
      EXPECT_TRUE(std::isfinite(seam.criterion(Criterion::cv_ls)));
    }
    KernelRegression a(on(Engine::fused, reg, types, {0.6, 0.7}));
    KernelRegression b(on(Engine::fused, reg, types, {0.6, 0.7}));
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

// Narrow bandwidths leave a few points to carry a query's weight: the
// queries whose systems the means cannot resolve (local/seam.hpp) are
// refitted by the local engine, so the results are the local engine's.
TEST(KernelRegressionSeam, IllConditionedQueriesAreRefittedByTheLocalEngine) {
  const Data data = make_data(70, "cc", 25);
  const Data queries = make_data(25, "cc", 98);
  KernelRegression local(options_for(RegType::local_linear, "cc", {0.05, 0.08}));
  KernelRegression seam(on(Engine::fused, RegType::local_linear, "cc", {0.05, 0.08}));
  local.fit(data.X.view(), data.y);
  seam.fit(data.X.view(), data.y);
  for (const bool loo : {false, true}) {
    const KernelFit want = loo ? local.predict_loo(true) : local.predict(queries.X.view(), true);
    const KernelFit got = loo ? seam.predict_loo(true) : seam.predict(queries.X.view(), true);
    const auto m = static_cast<index_t>(want.mean.size());
    EXPECT_GT(got.report.refitted, 0) << "loo " << loo;
    EXPECT_LT(got.report.refitted, m) << "loo " << loo;
    EXPECT_EQ(got.report.rank_deficient, want.report.rank_deficient);
    EXPECT_EQ(want.report.refitted, 0);
    for (index_t i = 0; i < m; ++i) {
      EXPECT_NEAR(got.mean[static_cast<std::size_t>(i)], want.mean[static_cast<std::size_t>(i)],
                  1e-9 * sd(data.y))
          << "loo " << loo << " query " << i;
      for (index_t f = 0; f < 2; ++f) {
        EXPECT_NEAR(got.gradient(i, f), want.gradient(i, f),
                    1e-8 * (1 + std::fabs(want.gradient(i, f))));
      }
    }
  }
  // lc's gradients at a bandwidth below kNarrow sd run on the local engine;
  // its fits without gradients stay on the engines.
  const double h = 0.5 * local::kNarrow;
  KernelRegression lc(on(Engine::fused, RegType::local_constant, "cc", {h, h}));
  lc.fit(data.X.view(), data.y);
  EXPECT_EQ(lc.predict(queries.X.view(), true).report.engine.name(), "local");
  EXPECT_EQ(lc.predict(queries.X.view(), false).report.engine, Engine::fused);
}

// Collinear columns: the direction the design cannot identify gets slope 0
// and the fit is the one-column fit, counted.
TEST(KernelRegressionSeam, RankDeficientDesignsFallBackAlongTheirDirections) {
  const Data base = make_data(30, "c", 4);
  Matrix<double> X(30, 2);
  for (index_t i = 0; i < 30; ++i) {
    X(i, 0) = base.X(i, 0);
    X(i, 1) = 2 * base.X(i, 0);
  }
  KernelRegression model(on(Engine::fused, RegType::local_linear, "cc", {0.8, 1e8}));
  model.fit(X.view(), base.y);
  const KernelFit fit = model.predict(X.view(), true);
  EXPECT_EQ(fit.report.rank_deficient, 30);
  EXPECT_EQ(fit.report.refitted, 30);
  KernelRegression one(options_for(RegType::local_linear, "c", {0.8}));
  one.fit(base.X.view(), base.y);
  const KernelFit want = one.predict(base.X.view(), true);
  for (index_t i = 0; i < 30; ++i) {
    EXPECT_NEAR(fit.mean[static_cast<std::size_t>(i)], want.mean[static_cast<std::size_t>(i)],
                1e-9);
    EXPECT_NEAR(fit.gradient(i, 0), want.gradient(i, 0), 1e-7);
    EXPECT_EQ(fit.gradient(i, 1), 0.0);
  }
}

TEST(KernelRegressionSeam, SameBitsForAnyThreadCount) {
  const std::string types = "cccc";
  const Data data = make_data(300, types, 17);
  const Data queries = make_data(97, types, 18);
  for (RegType reg : {RegType::local_constant, RegType::local_linear}) {
    std::vector<KernelFit> fits, loos;
    for (int jobs : {1, 2, 3}) {
      KernelRegression model(on(Engine::fused, reg, types, {0.9, 1.0, 1.1, 1.2}, jobs));
      model.fit(data.X.view(), data.y);
      fits.push_back(model.predict(queries.X.view(), true));
      loos.push_back(model.predict_loo(true));
    }
    for (std::size_t t = 1; t < fits.size(); ++t) {
      EXPECT_EQ(fits[t].mean, fits[0].mean) << to_string(reg);
      EXPECT_EQ(loos[t].mean, loos[0].mean) << to_string(reg);
      for (index_t i = 0; i < queries.X.rows(); ++i) {
        for (index_t f = 0; f < 4; ++f) EXPECT_EQ(fits[t].gradient(i, f), fits[0].gradient(i, f));
      }
    }
  }
}

// An engine on a device of its own (a stand-in for a GPU) that computes
// with the fused engine and gives no cost estimate: auto takes it.
class OnADevice final : public nw::Backend {
 public:
  OnADevice() : fused_(nw::choose(nw::Request{}, Engine::fused, Device::cpu())) {}
  std::string_view name() const override { return "on-a-device"; }
  std::string_view device() const override { return "test-device"; }
  bool supports(const nw::Request& r, std::string* why) const override {
    return fused_.supports(r, why);
  }
  std::unique_ptr<nw::Fitted<float>> prepare(nw::TrainingSet<float> t) const override {
    return fused_.prepare(std::move(t));
  }
  std::unique_ptr<nw::Fitted<double>> prepare(nw::TrainingSet<double> t) const override {
    return fused_.prepare(std::move(t));
  }
  index_t predict(const nw::Fitted<float>& f, MatrixView<const float> Z, MatrixView<float> out,
                  int n_threads, const CancelToken* cancel) const override {
    return fused_.predict(f, Z, out, n_threads, cancel);
  }
  index_t predict(const nw::Fitted<double>& f, MatrixView<const double> Z, MatrixView<double> out,
                  int n_threads, const CancelToken* cancel) const override {
    ++calls;
    return fused_.predict(f, Z, out, n_threads, cancel);
  }
  void predict_grid(const nw::Fitted<float>& f, MatrixView<const float> Z,
                    std::span<const double> inv_h2, nw::Exclusion e,
                    std::span<const index_t> exclude, MatrixView<float> out,
                    std::span<index_t> isolated, int n_threads,
                    const CancelToken* cancel) const override {
    fused_.predict_grid(f, Z, inv_h2, e, exclude, out, isolated, n_threads, cancel);
  }
  void predict_grid(const nw::Fitted<double>& f, MatrixView<const double> Z,
                    std::span<const double> inv_h2, nw::Exclusion e,
                    std::span<const index_t> exclude, MatrixView<double> out,
                    std::span<index_t> isolated, int n_threads,
                    const CancelToken* cancel) const override {
    ++calls;
    fused_.predict_grid(f, Z, inv_h2, e, exclude, out, isolated, n_threads, cancel);
  }
  mutable int calls = 0;

 private:
  const nw::Backend& fused_;
};

// auto runs KernelRegression on a device engine where Nadaraya-Watson's auto
// would pick one (a GPU), for the calls the seam takes; mixed columns, other
// kernels and nn bandwidths stay on the local engine.
TEST(KernelRegressionSeam, AutoRunsOnADeviceEngine) {
  const OnADevice device;
  const nw::ScopedBackend registered(device, /*first=*/true);
  const Data data = make_data(50, "cc", 3);
  for (RegType reg : {RegType::local_constant, RegType::local_linear}) {
    KernelRegression model(options_for(reg, "cc", {0.7, 0.8}));
    model.fit(data.X.view(), data.y);
    EXPECT_TRUE(model.on_nw_engines());
    const KernelFit fit = model.predict(data.X.view(), true);
    EXPECT_EQ(fit.report.engine.name(), "on-a-device");
    EXPECT_EQ(model.predict_loo().report.engine.name(), "on-a-device");
    // The same options on device cpu: the local engine.
    KernelRegressionOptions cpu = options_for(reg, "cc", {0.7, 0.8});
    cpu.device = Device::cpu();
    KernelRegression on_cpu(cpu);
    on_cpu.fit(data.X.view(), data.y);
    EXPECT_FALSE(on_cpu.on_nw_engines());
    const KernelFit want = on_cpu.predict(data.X.view(), true);
    EXPECT_EQ(want.report.engine.name(), "local");
    for (index_t i = 0; i < 50; ++i) {
      EXPECT_NEAR(fit.mean[static_cast<std::size_t>(i)], want.mean[static_cast<std::size_t>(i)],
                  1e-9 * sd(data.y));
    }
  }
  EXPECT_GT(device.calls, 0);
  const Data mixed = make_data(50, "cu", 3);
  KernelRegression m(options_for(RegType::local_linear, "cu", {0.7, 0.3}));
  m.fit(mixed.X.view(), mixed.y);
  EXPECT_FALSE(m.on_nw_engines());
  KernelRegressionOptions epa = options_for(RegType::local_linear, "cc", {1.5, 1.5});
  epa.kernel = Kernel::epanechnikov;
  EXPECT_FALSE(KernelRegression(epa).fit(data.X.view(), data.y).on_nw_engines());
}

// On a CUDA device: the same fits, slopes, leave-one-out and k-fold as the
// local engine (f64 on the device, double accumulators).
TEST(KernelRegressionSeam, CudaDeviceGivesTheLocalEnginesFits) {
  if (cuda_device_count() == 0) GTEST_SKIP() << "no GPU here: " << cuda_unavailable();
  const std::string types = "cccc";
  const Data data = make_data(500, types, 41);
  const Data queries = make_data(300, types, 42);
  std::vector<index_t> fold_of(500);
  for (index_t i = 0; i < 500; ++i) fold_of[static_cast<std::size_t>(i)] = i % 5;
  for (RegType reg : {RegType::local_constant, RegType::local_linear}) {
    SCOPED_TRACE(std::string(to_string(reg)));
    KernelRegression local(options_for(reg, types, {0.7, 0.8, 0.9, 1.0}));
    KernelRegressionOptions o = options_for(reg, types, {0.7, 0.8, 0.9, 1.0});
    o.device = Device::cuda();
    KernelRegression gpu(o);
    local.fit(data.X.view(), data.y);
    gpu.fit(data.X.view(), data.y);
    ASSERT_TRUE(gpu.on_nw_engines());
    const KernelFit want[] = {local.predict(queries.X.view(), true), local.predict_loo(true),
                              local.predict_kfold(fold_of, true)};
    const KernelFit got[] = {gpu.predict(queries.X.view(), true), gpu.predict_loo(true),
                             gpu.predict_kfold(fold_of, true)};
    for (int c = 0; c < 3; ++c) {
      EXPECT_EQ(got[c].report.engine.name(), "cuda") << "call " << c;
      for (std::size_t i = 0; i < want[c].mean.size(); ++i) {
        EXPECT_NEAR(got[c].mean[i], want[c].mean[i], 1e-9 * sd(data.y)) << "call " << c;
        for (index_t f = 0; f < 4; ++f) {
          const double g = want[c].gradient(static_cast<index_t>(i), f);
          EXPECT_NEAR(got[c].gradient(static_cast<index_t>(i), f), g, 1e-8 * (1 + std::fabs(g)));
        }
      }
    }
  }
}

// A call the engines cannot take names what stops it and the way out.
TEST(KernelRegressionSeam, ClearErrors) {
  const Data mixed = make_data(40, "cu", 5);
  const auto message = [](const KernelRegressionOptions& o, const Data& d) -> std::string {
    try {
      KernelRegression(o).fit(d.X.view(), d.y);
    } catch (const ArgumentError& e) {
      return e.what();
    }
    return "no error";
  };
  const std::string discrete =
      message(on(Engine::fused, RegType::local_linear, "cu", {0.7, 0.3}), mixed);
  EXPECT_NE(discrete.find("continuous columns only"), std::string::npos) << discrete;
  EXPECT_NE(discrete.find("engine 'auto'"), std::string::npos) << discrete;
  const Data data = make_data(40, "cc", 5);
  KernelRegressionOptions nn = on(Engine::fused, RegType::local_linear, "cc", {5, 6});
  nn.bwtype = BandwidthType::generalized_nn;
  EXPECT_NE(message(nn, data).find("fixed bandwidths only"), std::string::npos);
  KernelRegressionOptions epa = on(Engine::fused, RegType::local_linear, "cc", {1.5, 1.5});
  epa.kernel = Kernel::epanechnikov;
  EXPECT_NE(message(epa, data).find("only the Gaussian"), std::string::npos);
  if (cuda_device_count() == 0) {
    KernelRegressionOptions gpu = options_for(RegType::local_linear, "cc", {0.7, 0.8});
    gpu.device = Device::cuda();
    const std::string why = message(gpu, data);
    EXPECT_NE(why.find("--device cpu"), std::string::npos) << why;
  }
  // The engines that predict at one bandwidth only cannot leave one out.
  KernelRegression reference(on(Engine::reference, RegType::local_linear, "cc", {0.7, 0.8}));
  reference.fit(data.X.view(), data.y);
  EXPECT_THROW(reference.predict_loo(), ArgumentError);
}

}  // namespace
}  // namespace kreg
