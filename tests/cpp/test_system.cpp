// Tests of system_info: what `kreg info` reports must be consistent.
#include <gtest/gtest.h>

#include <algorithm>
#include <random>
#include <thread>

#include "kreg/linear.hpp"
#include "kreg/system.hpp"

namespace kreg {
namespace {

bool contains(const std::vector<std::string>& v, const std::string& s) {
  return std::find(v.begin(), v.end(), s) != v.end();
}

TEST(SystemInfo, SimdTargetsAreConsistent) {
  const SystemInfo s = system_info();
  ASSERT_FALSE(s.simd_compiled.empty());
  ASSERT_FALSE(s.simd_supported.empty());
  for (const auto& t : s.simd_supported) EXPECT_TRUE(contains(s.simd_compiled, t)) << t;
  EXPECT_TRUE(contains(s.simd_supported, s.simd_active)) << s.simd_active;
  EXPECT_EQ(s.simd_active, simd_active_target());
}

TEST(SystemInfo, ActiveTargetMatchesCpuFeatures) {
  // Highway's AVX3 needs AVX-512 F/VL/DQ/BW; its AVX2 target needs AVX2+FMA.
  const SystemInfo s = system_info();
  const bool avx512 = contains(s.cpu_features, "avx512f") && contains(s.cpu_features, "avx512bw") &&
                      contains(s.cpu_features, "avx512dq") && contains(s.cpu_features, "avx512vl");
  if (avx512) {
    EXPECT_EQ(s.simd_active.rfind("AVX3", 0), 0u) << s.simd_active;
  } else if (contains(s.cpu_features, "avx2") && contains(s.cpu_features, "fma")) {
    EXPECT_EQ(s.simd_active, "AVX2");
  }
}

TEST(SystemInfo, CpuAndBlasAreReported) {
  const SystemInfo s = system_info();
  EXPECT_EQ(s.logical_cores, static_cast<int>(std::thread::hardware_concurrency()));
  EXPECT_FALSE(s.cpu_model.empty());
  EXPECT_EQ(s.blas_library.rfind("OpenBLAS", 0), 0u) << s.blas_library;
  EXPECT_GE(s.blas_threads, 1);
}

TEST(SystemInfo, CudaEitherListsDevicesOrSaysWhyNot) {
  const SystemInfo s = system_info();
  if (s.cuda_devices.empty()) {
    EXPECT_EQ(s.cuda_status.rfind("no CUDA device", 0), 0u) << s.cuda_status;
  } else {
    EXPECT_EQ(s.cuda_status, "ok");
    for (const auto& d : s.cuda_devices) {
      EXPECT_FALSE(d.name.empty());
      EXPECT_GT(d.memory_bytes, 0u);
      EXPECT_GE(d.compute_major, 3);
    }
  }
}

// After park_blas_threads, OpenBLAS restarts its pool on demand: a model
// whose fit runs BLAS calls gives the same decision values as before, and
// the BLAS keeps its thread count.
TEST(SystemInfo, BlasWorksAfterItsThreadsAreParked) {
  std::mt19937_64 rng(3);
  std::normal_distribution<double> normal;
  const index_t n = 600, d = 64;
  Matrix<double> X(n, d);
  std::vector<double> y(n);
  for (index_t i = 0; i < n; ++i) {
    double s = 0;
    for (index_t f = 0; f < d; ++f) {
      X(i, f) = normal(rng);
      s += X(i, f) * (f % 3 == 0 ? 1.0 : -0.5);
    }
    y[i] = s > 1 ? 2.0 : (s > -1 ? 1.0 : 0.0);
  }
  auto fit = [&] {
    LogisticRegression model;
    model.fit<double>(X, y);
    return model.decision_function<double>(X);
  };
  const int threads = system_info().blas_threads;
  const Matrix<double> before = fit();
  park_blas_threads();
  EXPECT_EQ(system_info().blas_threads, threads);
  const Matrix<double> after = fit();
  for (index_t i = 0; i < n; ++i) {
    for (index_t c = 0; c < before.cols(); ++c) ASSERT_EQ(before(i, c), after(i, c)) << i;
  }
  park_blas_threads();  // twice in a row is harmless
}

}  // namespace
}  // namespace kreg
