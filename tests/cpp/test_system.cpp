// Tests of system_info: what `kreg info` reports must be consistent; and
// KREG_SIMD_TARGET / OPENBLAS_CORETYPE, which force the SIMD target and the
// BLAS kernels (each checked in a fresh process, as both are read once).
#include <gtest/gtest.h>
#include <hwy/targets.h>

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <optional>
#include <random>
#include <string>
#include <thread>
#include <utility>

#include "kreg/error.hpp"
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
  if (!s.simd_forced.empty()) {
    GTEST_SKIP() << "KREG_SIMD_TARGET=" << s.simd_forced << " forces the target";
  }
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

// The caches the engines size their tiles by: Linux's sysfs where it has
// them (as `getconf` or lscpu would say), otherwise sysconf's or defaults.
// The test binaries link the shared OpenBLAS: the file named is the library
// the loader mapped, the one /proc/self/maps lists with "openblas" in it.
TEST(SystemInfo, BlasFileIsTheLibraryTheLoaderMapped) {
  const SystemInfo s = system_info();
  ASSERT_FALSE(s.blas_file.empty());
  EXPECT_EQ(s.blas_file.front(), '/') << s.blas_file;
  std::ifstream maps("/proc/self/maps");
  std::string line;
  std::vector<std::string> mapped;
  while (std::getline(maps, line)) {
    const auto slash = line.find('/');
    if (slash != std::string::npos && line.find("openblas", slash) != std::string::npos) {
      mapped.push_back(line.substr(slash));
    }
  }
  ASSERT_FALSE(mapped.empty()) << "no OpenBLAS in /proc/self/maps; is the test linked statically?";
  EXPECT_TRUE(contains(mapped, s.blas_file)) << s.blas_file << " vs " << mapped.front();
}

TEST(SystemInfo, CachesAreTheOnesLinuxReports) {
  const SystemInfo s = system_info();
  EXPECT_GT(s.l1d_cache_bytes, 0);
  EXPECT_GE(s.l2_cache_bytes, s.l1d_cache_bytes);
  for (int i = 0; i < 8; ++i) {
    const std::string dir = "/sys/devices/system/cpu/cpu0/cache/index" + std::to_string(i) + "/";
    std::ifstream level_file(dir + "level"), type_file(dir + "type"), size_file(dir + "size");
    std::string level, type, size;
    if (!(level_file >> level) || !(type_file >> type) || !(size_file >> size)) break;
    long long bytes = std::stoll(size);
    if (size.back() == 'K') bytes <<= 10;
    if (size.back() == 'M') bytes <<= 20;
    if (level == "1" && type == "Data") {
      EXPECT_EQ(s.l1d_cache_bytes, bytes) << dir;
    }
    if (level == "2" && type == "Unified") {
      EXPECT_EQ(s.l2_cache_bytes, bytes) << dir;
    }
  }
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

// ---------------------------------------------------------------------------
// KREG_SIMD_TARGET and OPENBLAS_CORETYPE. Each case sets the variables, then
// runs in a child process started afresh (the "threadsafe" death-test style
// re-executes this binary), so they are in its environment from the start,
// as a user's would be.

// Sets an environment variable for the scope (restoring the old value).
class ScopedEnv {
 public:
  ScopedEnv(const char* name, const std::string& value) : name_(name) {
    if (const char* old = std::getenv(name)) old_ = old;
    setenv(name, value.c_str(), 1);
  }
  ScopedEnv(const ScopedEnv&) = delete;
  ScopedEnv& operator=(const ScopedEnv&) = delete;
  ~ScopedEnv() {
    if (old_) {
      setenv(name_, old_->c_str(), 1);
    } else {
      unsetenv(name_);
    }
  }

 private:
  const char* name_;
  std::optional<std::string> old_;
};

std::string lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

// A child's report: what system_info says (exit 0), or kreg's error (exit 3).
[[noreturn]] void report_and_exit() {
  try {
    const SystemInfo s = system_info();
    std::fprintf(stderr, "active=%s forced=%s hwy=%s core=%s core_forced=%s\n",
                 s.simd_active.c_str(), s.simd_forced.c_str(),
                 hwy::TargetName(hwy::SupportedTargets()), s.blas_core.c_str(),
                 s.blas_core_forced.c_str());
    std::exit(0);
  } catch (const Error& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    std::exit(3);
  }
}

// A SIMD kernel (LinearClassifier's scores) under a bad KREG_SIMD_TARGET:
// kreg's error (exit 3), twice; exit 0 would mean the kernel ran.
[[noreturn]] void run_kernel_and_exit() {
  Matrix<double> W(2, 3);
  Matrix<double> X(4, 3);
  std::fill(W.data(), W.data() + W.size(), 1.0);
  std::fill(X.data(), X.data() + X.size(), 0.5);
  const LinearClassifier model(std::move(W), {0.0, 1.0}, {0.0, 1.0});
  std::string first;
  for (int attempt = 0; attempt < 2; ++attempt) {
    try {
      (void)model.decision_function<double>(X.view());
      std::exit(0);
    } catch (const Error& e) {
      if (attempt == 1 && first != e.what()) std::exit(4);
      first = e.what();
    }
  }
  std::fprintf(stderr, "error: %s\n", first.c_str());
  std::exit(3);
}

class SimdTargetDeathTest : public ::testing::Test {
 protected:
  void SetUp() override { GTEST_FLAG_SET(death_test_style, "threadsafe"); }
};

// The targets kreg carries and this CPU runs, best first, from Highway alone:
// a child re-runs the test up to its EXPECT_EXIT, and any kreg call there
// would read the variable before the statement under test.
std::vector<std::string> usable_targets() {
  std::vector<std::string> names;
  for (std::int64_t bits = hwy::SupportedTargets() & HWY_TARGETS; bits != 0; bits &= bits - 1) {
    names.emplace_back(hwy::TargetName(bits & -bits));
  }
  return names;
}

std::string joined(const std::vector<std::string>& names) {
  std::string out;
  for (const auto& n : names) out += (out.empty() ? "" : ", ") + n;
  return out;
}

// Every target this CPU runs can be forced, by its name in any case, and then
// is the one the kernels dispatch to (Highway's own view agrees).
TEST_F(SimdTargetDeathTest, ForcingATargetChangesTheActiveOne) {
  const std::vector<std::string> usable = usable_targets();
  ASSERT_FALSE(usable.empty());
  for (const std::string& target : usable) {
    const ScopedEnv env("KREG_SIMD_TARGET", lower(target));
    EXPECT_EXIT(report_and_exit(), ::testing::ExitedWithCode(0),
                "active=" + target + " forced=" + lower(target) + " hwy=" + target + " ")
        << target;
  }
  // The empty value is the same as no variable: the best target.
  const ScopedEnv env("KREG_SIMD_TARGET", "");
  EXPECT_EXIT(report_and_exit(), ::testing::ExitedWithCode(0),
              "active=" + usable.front() + " forced= ");
}

TEST_F(SimdTargetDeathTest, AnUnknownNameIsRefusedWithTheValidOnes) {
  const std::vector<std::string> usable = usable_targets();
  ASSERT_FALSE(usable.empty());
  const ScopedEnv env("KREG_SIMD_TARGET", "AVX9");
  const std::string message =
      "error: KREG_SIMD_TARGET=AVX9 is not a SIMD target name; set KREG_SIMD_TARGET to one of " +
      joined(usable) + " .*or unset it to use the best, " + usable.front() + "\n";
  EXPECT_EXIT(report_and_exit(), ::testing::ExitedWithCode(3), message);
  // The kernels refuse to run too, every time, with the same message.
  EXPECT_EXIT(run_kernel_and_exit(), ::testing::ExitedWithCode(3), message);
}

// A Highway target name this kreg does not carry (Highway knows more targets
// than kreg compiles, e.g. AVX3_DL or EMU128).
TEST_F(SimdTargetDeathTest, ATargetNotCompiledInIsRefused) {
  std::string missing;
  for (int bit = 0; bit < 63 && missing.empty(); ++bit) {
    const std::int64_t target = std::int64_t{1} << bit;
    const std::string name = hwy::TargetName(target);
    if ((target & HWY_TARGETS) == 0 && name != "Unknown") missing = name;
  }
  ASSERT_FALSE(missing.empty()) << "Highway names no target outside HWY_TARGETS";
  const ScopedEnv env("KREG_SIMD_TARGET", missing);
  EXPECT_EXIT(report_and_exit(), ::testing::ExitedWithCode(3),
              "error: KREG_SIMD_TARGET=" + missing + ": this kreg was built without the " +
                  missing + " target; set KREG_SIMD_TARGET to one of ");
}

// A target kreg carries but the CPU does not run: the CPU is mocked to run
// only the worst target kreg carries, and the best one is asked for.
TEST_F(SimdTargetDeathTest, ATargetTheCpuLacksIsRefused) {
  const std::vector<std::string> usable = usable_targets();
  if (usable.size() < 2) {
    GTEST_SKIP() << "this CPU runs only one SIMD target kreg carries, so none can be lacking";
  }
  const std::string best = usable.front(), worst = usable.back();
  const ScopedEnv env("KREG_SIMD_TARGET", best);
  EXPECT_EXIT(
      {
        std::int64_t only = 0;
        for (std::int64_t bits = HWY_TARGETS; bits != 0; bits &= bits - 1) {
          if (hwy::TargetName(bits & -bits) == worst) only = bits & -bits;
        }
        hwy::SetSupportedTargetsForTest(only);
        report_and_exit();
      },
      ::testing::ExitedWithCode(3),
      "error: KREG_SIMD_TARGET=" + best + ": this CPU does not support the " + best +
          " target; set KREG_SIMD_TARGET to one of " + worst + " \\(");
}

// OPENBLAS_CORETYPE is OpenBLAS's own, read when it loads: kreg reports the
// core it chose and the variable. Both cores' kernels (SSE3) run on every
// x86-64 CPU kreg supports, and at least one differs from the detected core.
TEST_F(SimdTargetDeathTest, TheBlasCoreTypeCanBeForcedAndIsReported) {
  for (const std::string core : {"Prescott", "Nehalem"}) {
    const ScopedEnv env("OPENBLAS_CORETYPE", core);
    EXPECT_EXIT(report_and_exit(), ::testing::ExitedWithCode(0),
                "core=" + core + " core_forced=" + core + "\n");
  }
}

}  // namespace
}  // namespace kreg
