// The CUDA engine and the choice of device.
//
// Everywhere: --device parsing (cuda:1, bad values), auto falling back to
// the CPU where the CUDA engine cannot run, and the errors of asking for
// CUDA there (naming the reason and device 'cpu').
//
// On a CUDA device (skipped elsewhere, printing why): the consistency
// harness through the registry, NadarayaWatson with device cuda against the
// long-double reference engine,
//
//   |pred - ref| <= 1e-5 std(y) for float, 1e-9 max|y| for double,
//
// for every kernel and dtype over shapes off the tiles (m, n not multiples
// of 32 or 128, n = 1, m = 1, d = 1, d = 784; float from 32 features takes
// the 3xTF32 tensor-core path, d = 31 and 40 sit on either side), bandwidths 1e-8 and 1e8,
// sample weights with zeros, k > 1 (more than one group of outputs) and data
// shifted by 1e6; predict_grid with no, row (k-fold) and self (leave-one-out)
// exclusions against the CPU's fused engine; the many-bandwidth pass equal,
// bit for bit, to a predict per bandwidth; a predict streamed in many chunks
// (two streams, pinned buffers) equal, bit for bit, to one chunk; the same
// bits on every run; and a bandwidth search scored on the device.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <numeric>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "kreg/device.hpp"
#include "kreg/error.hpp"
#include "kreg/interrupt.hpp"
#include "kreg/nw.hpp"
#include "kreg/select.hpp"
#include "nw/backend.hpp"
#include "nw_training_data.hpp"
#if KREG_HAVE_CUDA
#include "cuda/backend.hpp"
#include "cuda/runtime.hpp"
#endif

namespace {

using kreg::Device;
using kreg::Engine;
using kreg::index_t;
using kreg::Kernel;
using kreg::Matrix;
namespace nw = kreg::nw;

// Why the device tests cannot run here, or empty.
std::string no_device() {
  const std::string why = kreg::cuda_unavailable(0);
  return why;
}

#define KREG_REQUIRE_CUDA()                  \
  do {                                       \
    const std::string why_ = no_device();    \
    if (!why_.empty()) GTEST_SKIP() << why_; \
  } while (false)

// ------------------------------------------------------------ everywhere

TEST(CudaDevice, ParsesTheDeviceNames) {
  EXPECT_EQ(kreg::parse_device("auto"), Device());
  EXPECT_EQ(kreg::parse_device("cpu"), Device::cpu());
  EXPECT_EQ(kreg::parse_device("cuda"), Device::cuda(0));
  EXPECT_EQ(kreg::parse_device("cuda:1"), Device::cuda(1));
  EXPECT_EQ(kreg::parse_device("cuda:12").index(), 12);
  EXPECT_EQ(kreg::to_string(Device::cuda(1)), "cuda:1");
  EXPECT_EQ(kreg::to_string(Device::cuda(0)), "cuda");
  EXPECT_EQ(kreg::to_string(Device::cpu()), "cpu");
  EXPECT_EQ(kreg::to_string(Device()), "auto");
}

TEST(CudaDevice, RefusesBadDeviceNamesSayingWhatIsAccepted) {
  for (const char* bad :
       {"gpu", "", "CUDA", "cuda:", "cuda:-1", "cuda:x", "cuda:1x", "cuda1", "cuda:99999999999"}) {
    try {
      kreg::parse_device(bad);
      ADD_FAILURE() << "'" << bad << "' was accepted";
    } catch (const kreg::ArgumentError& e) {
      const std::string msg = e.what();
      EXPECT_NE(msg.find(std::string("'") + bad + "'"), std::string::npos) << msg;
      EXPECT_TRUE(msg.find("cuda:K") != std::string::npos ||
                  msg.find("cuda:1") != std::string::npos)
          << msg;
    }
  }
}

kreg::test::TrainingData<double> small_data() {
  return kreg::test::make_training<double>(60, 2, 1, false, 3);
}

TEST(CudaDevice, AutoAndCpuRunOnTheCpuWhereCudaCannotRun) {
  if (no_device().empty()) GTEST_SKIP() << "a CUDA device is present: auto picks it";
  const auto t = small_data();
  for (const Device device : {Device(), Device::cpu()}) {
    kreg::NadarayaWatsonOptions o;
    o.device = device;
    kreg::NadarayaWatson<double> model(o);
    model.fit(t.X, t.Y);
    kreg::PredictReport report;
    model.predict(t.X, &report);
    EXPECT_EQ(report.engine, Engine::fused) << kreg::to_string(device);
  }
}

TEST(CudaDevice, AskingForCudaWithoutADeviceSaysWhyAndNamesTheCpu) {
  if (no_device().empty()) GTEST_SKIP() << "a CUDA device is present";
  const auto t = small_data();
  for (const Device device : {Device::cuda(0), Device::cuda(3)}) {
    kreg::NadarayaWatsonOptions o;
    o.device = device;
    kreg::NadarayaWatson<double> model(o);
    try {
      model.fit(t.X, t.Y);
      ADD_FAILURE() << "fit on " << kreg::to_string(device) << " succeeded without a device";
    } catch (const kreg::ArgumentError& e) {
      const std::string msg = e.what();
      EXPECT_NE(msg.find("device '" + kreg::to_string(device) + "'"), std::string::npos) << msg;
      EXPECT_NE(msg.find(kreg::cuda_unavailable(device.index())), std::string::npos) << msg;
      EXPECT_NE(msg.find("--device cpu"), std::string::npos) << msg;
    }
  }
  // The engine by name says the same reason.
  kreg::NadarayaWatsonOptions o;
  if (kreg::cuda_built()) {
    o.engine = kreg::parse_engine("cuda");
    kreg::NadarayaWatson<double> model(o);
    try {
      model.fit(t.X, t.Y);
      ADD_FAILURE() << "engine cuda ran without a device";
    } catch (const kreg::ArgumentError& e) {
      EXPECT_NE(std::string(e.what()).find(kreg::cuda_unavailable(0)), std::string::npos)
          << e.what();
    }
  }
  // A CPU engine on the CUDA device, or the CUDA engine on the CPU: refused.
  o.engine = Engine::fused;
  o.device = Device::cuda(0);
  if (kreg::cuda_built()) {
    EXPECT_THROW(kreg::NadarayaWatson<double>(o).fit(t.X, t.Y), kreg::ArgumentError);
  }
}

TEST(CudaDevice, ReportsWhyThereIsNoDevice) {
  const std::string why = kreg::cuda_unavailable(0);
  if (why.empty()) {
    EXPECT_GE(kreg::cuda_device_count(), 1);
    EXPECT_NE(kreg::cuda_unavailable(kreg::cuda_device_count()).find("there is no CUDA device"),
              std::string::npos);
    return;
  }
  EXPECT_EQ(kreg::cuda_device_count(), 0);
  if (kreg::cuda_built()) {
    EXPECT_EQ(why.rfind("no CUDA device here: ", 0), 0U) << why;
  } else {
    EXPECT_NE(why.find("built without the CUDA engine"), std::string::npos) << why;
  }
}

#if KREG_HAVE_CUDA
// The CUDA runtime's errors become kreg errors that say what failed and what
// to do (the runtime names its errors without a device or driver).
TEST(CudaDevice, RuntimeErrorsBecomeKregErrors) {
  try {
    kreg::cuda::check(cudaErrorMemoryAllocation, "for the training points");
    ADD_FAILURE() << "no error thrown";
  } catch (const kreg::Error& e) {
    const std::string msg = e.what();
    EXPECT_NE(msg.find("the device is out of memory for the training points"), std::string::npos)
        << msg;
    EXPECT_NE(msg.find("--device cpu"), std::string::npos) << msg;
  }
  try {
    kreg::cuda::check(cudaErrorLaunchFailure, "launching the NW kernels");
    ADD_FAILURE() << "no error thrown";
  } catch (const kreg::Error& e) {
    const std::string msg = e.what();
    EXPECT_NE(msg.find("CUDA engine: launching the NW kernels failed: "), std::string::npos) << msg;
    EXPECT_NE(msg.find("cudaErrorLaunchFailure"), std::string::npos) << msg;
  }
  EXPECT_NO_THROW(kreg::cuda::check(cudaSuccess, "nothing"));
}

// Pinned host memory (the staging of streamed queries): a kreg error that
// names what failed where there is no driver; usable memory where there is.
TEST(CudaDevice, PinnedHostMemoryFailsAsAKregError) {
  if (no_device().empty()) {
    const kreg::cuda::HostBuffer b(4096, "for the queries' staging");
    ASSERT_NE(b.as<float>(), nullptr);
    b.as<float>()[1023] = 1.0f;
    return;
  }
  try {
    const kreg::cuda::HostBuffer b(4096, "for the queries' staging");
    ADD_FAILURE() << "pinned host memory without a CUDA driver";
  } catch (const kreg::Error& e) {
    const std::string msg = e.what();
    EXPECT_EQ(msg.rfind("CUDA engine: ", 0), 0U) << msg;
    EXPECT_NE(msg.find("for the queries' staging"), std::string::npos) << msg;
    EXPECT_NE(msg.find("--device cpu"), std::string::npos) << msg;
  }
}
#endif

// ------------------------------------------------------------ on a device

template <class T>
double std_of(const Matrix<T>& Y) {
  double mean = 0, sq = 0;
  for (index_t i = 0; i < Y.size(); ++i) mean += static_cast<double>(Y.data()[i]);
  mean /= static_cast<double>(Y.size());
  for (index_t i = 0; i < Y.size(); ++i) {
    const double v = static_cast<double>(Y.data()[i]) - mean;
    sq += v * v;
  }
  return std::sqrt(sq / static_cast<double>(Y.size()));
}

template <class T>
double max_abs(const Matrix<T>& Y) {
  double v = 0;
  for (index_t i = 0; i < Y.size(); ++i)
    v = std::max(v, std::abs(static_cast<double>(Y.data()[i])));
  return v;
}

template <class T>
double bound_for(const Matrix<T>& Y) {
  return sizeof(T) == 4 ? 1e-5 * std_of(Y) : 1e-9 * max_abs(Y);
}

template <class T>
void expect_close(const Matrix<T>& got, const Matrix<T>& want, double bound,
                  const std::string& what) {
  ASSERT_EQ(got.rows(), want.rows()) << what;
  ASSERT_EQ(got.cols(), want.cols()) << what;
  for (index_t i = 0; i < got.size(); ++i) {
    const double g = got.data()[i], r = want.data()[i];
    ASSERT_TRUE(std::isfinite(g)) << what << ": entry " << i << " is " << g;
    ASSERT_LE(std::abs(g - r), bound) << what << ": entry " << i << ": " << g << " vs " << r;
  }
}

template <class T>
bool same_bits(const Matrix<T>& a, const Matrix<T>& b) {
  return a.rows() == b.rows() && a.cols() == b.cols() &&
         std::memcmp(a.data(), b.data(), static_cast<std::size_t>(a.size()) * sizeof(T)) == 0;
}

struct Shape {
  index_t n, m, d, k;
  bool weighted;
  double h, shift;
};

// Queries: every 5th a training point (distance 0), the rest fresh N(0, 1).
template <class T>
Matrix<T> queries_for(const kreg::test::TrainingData<T>& t, index_t m, double shift) {
  const auto other =
      kreg::test::make_training<T>(std::max<index_t>(m, 2), t.X.cols(), 1, false, 77);
  Matrix<T> Z(m, t.X.cols());
  for (index_t q = 0; q < m; ++q) {
    for (index_t f = 0; f < Z.cols(); ++f) {
      Z(q, f) = q % 5 == 0 ? t.X((q * 7) % t.X.rows(), f)
                           : static_cast<T>(static_cast<double>(other.X(q, f)) + shift);
    }
  }
  return Z;
}

template <class T>
void check_shape(const Shape& s) {
  for (const Kernel kernel :
       {Kernel::gaussian, Kernel::epanechnikov, Kernel::tricube, Kernel::uniform}) {
    auto t = kreg::test::make_training<T>(s.n, s.d, s.k, s.weighted, 11, s.weighted ? 4 : 0);
    for (index_t i = 0; i < t.X.size(); ++i) {
      t.X.data()[i] = static_cast<T>(static_cast<double>(t.X.data()[i]) + s.shift);
    }
    const Matrix<T> Z = queries_for(t, s.m, s.shift);
    kreg::NadarayaWatsonOptions o;
    o.kernel = kernel;
    o.bandwidth = {s.h};
    o.device = Device::cuda(0);
    kreg::NadarayaWatson<T> gpu(o);
    gpu.fit(t.X, t.Y, t.w);
    kreg::PredictReport report;
    const Matrix<T> got = gpu.predict(Z, &report);
    o.device = Device::cpu();
    o.engine = Engine::reference;
    kreg::NadarayaWatson<T> ref(o);
    ref.fit(t.X, t.Y, t.w);
    kreg::PredictReport ref_report;
    const Matrix<T> want = ref.predict(Z, &ref_report);
    const std::string what = std::string(kreg::to_string(kernel)) +
                             (sizeof(T) == 4 ? " f32" : " f64") + " n=" + std::to_string(s.n) +
                             " m=" + std::to_string(s.m) + " d=" + std::to_string(s.d) +
                             " k=" + std::to_string(s.k) + " h=" + std::to_string(s.h) +
                             " shift=" + std::to_string(s.shift) + (s.weighted ? " weighted" : "");
    EXPECT_EQ(report.engine.name(), "cuda") << what;
    EXPECT_EQ(report.isolated, ref_report.isolated) << what;
    expect_close(got, want, bound_for(t.Y), what);
    EXPECT_TRUE(same_bits(got, gpu.predict(Z))) << what << ": a second run differs in its bits";
  }
}

template <class T>
class CudaBackend : public ::testing::Test {};
using Types = ::testing::Types<float, double>;
TYPED_TEST_SUITE(CudaBackend, Types);

TYPED_TEST(CudaBackend, MatchesTheReferenceOverShapes) {
  KREG_REQUIRE_CUDA();
  check_shape<TypeParam>({1000, 333, 3, 1, false, 0.4, 0.0});    // m, n off the tiles
  check_shape<TypeParam>({517, 1, 1, 1, false, 0.3, 0.0});       // m = 1, d = 1
  check_shape<TypeParam>({1, 40, 2, 1, false, 0.5, 0.0});        // n = 1
  check_shape<TypeParam>({2049, 70, 5, 6, true, 0.8, 0.0});      // k > kGroup, weights
  check_shape<TypeParam>({300, 129, 784, 2, false, 30.0, 0.0});  // d = 784 (f32: tensor cores)
  check_shape<TypeParam>({300, 40, 784, 1, true, 30.0, 1e6});    // far from the origin, centred
  check_shape<TypeParam>({300, 40, 784, 2, false, 8.0, 0.0});    // where 1xTF32 would fail
  // d = 40: f32 tensor cores with a partial stage of features; d = 31: just
  // below kTensorCoreMinD. Wide enough that every point lies well inside
  // the compact kernels' support: the norm form's error (~3e-6 of the
  // squared norms) must not decide whether a point at u = 1 counts.
  check_shape<TypeParam>({500, 77, 40, 1, true, 20.0, 0.0});
  check_shape<TypeParam>({500, 77, 31, 1, false, 20.0, 0.0});
  check_shape<TypeParam>({20000, 50, 3, 1, false, 0.2, 0.0});  // few queries: many splits
}

TYPED_TEST(CudaBackend, MatchesTheReferenceAtTheLimits) {
  KREG_REQUIRE_CUDA();
  check_shape<TypeParam>({400, 60, 3, 2, true, 1e-8, 0.0});  // the nearest point's y
  check_shape<TypeParam>({400, 60, 3, 2, true, 1e8, 0.0});   // the mean of y
  // Far from the origin; wide enough that no query is isolated (in float the
  // shifted data lies on a grid of 1/16, where ties of nearest points are
  // decided by rounding).
  check_shape<TypeParam>({400, 60, 3, 1, false, 2.0, 1e6});
}

// predict_grid through the registry on the device against the CPU's fused
// engine: three bandwidths, no / row / self exclusions.
TYPED_TEST(CudaBackend, GridWithExclusionsMatchesTheCpu) {
  KREG_REQUIRE_CUDA();
  using T = TypeParam;
  for (const Kernel kernel :
       {Kernel::gaussian, Kernel::epanechnikov, Kernel::tricube, Kernel::uniform}) {
    for (const bool weighted : {false, true}) {
      const auto t = kreg::test::make_training<T>(777, 3, 2, weighted, 9, weighted ? 3 : 0);
      const std::vector<double> inv_h2 = {1.0 / (0.05 * 0.05), 1.0 / (0.5 * 0.5), 1e-4};
      for (const nw::Exclusion exclusion :
           {nw::Exclusion::none, nw::Exclusion::rows, nw::Exclusion::self}) {
        std::vector<index_t> exclude;
        if (exclusion == nw::Exclusion::rows) {
          exclude.resize(static_cast<std::size_t>(t.X.rows()));
          for (index_t q = 0; q < t.X.rows(); ++q)
            exclude[static_cast<std::size_t>(q)] = q % 3 == 0 ? -1 : q;
        }
        nw::Request r;
        r.operation = nw::Operation::predict_grid;
        r.kernel = kernel;
        r.dtype = nw::dtype_of<T>();
        r.weighted = weighted;
        r.bandwidths = 3;
        r.exclusion = exclusion;
        const nw::Backend& gpu = nw::choose(r, Engine::automatic, Device::cuda(0));
        ASSERT_EQ(gpu.name(), "cuda");
        const nw::Backend& cpu = nw::choose(r, Engine::fused);
        Matrix<T> got(t.X.rows(), 2 * 3), want(t.X.rows(), 2 * 3);
        std::vector<index_t> iso_got(3, 0), iso_want(3, 0);
        const auto fg = gpu.prepare(nw::TrainingSet<T>{t.X, t.Y, t.w, kernel});
        gpu.predict_grid(*fg, t.X, inv_h2, exclusion, exclude, got, iso_got, 1, nullptr);
        const auto fc = cpu.prepare(nw::TrainingSet<T>{t.X, t.Y, t.w, kernel});
        cpu.predict_grid(*fc, t.X, inv_h2, exclusion, exclude, want, iso_want, 1, nullptr);
        const std::string what = std::string(kreg::to_string(kernel)) + " exclusion " +
                                 std::to_string(static_cast<int>(exclusion)) +
                                 (weighted ? " weighted" : "");
        // The CPU engine skips weights below 2^-40 (float) relative to the
        // nearest point's; the device sums them: a few 1e-12 relative.
        expect_close(got, want, sizeof(T) == 4 ? 1e-4 * max_abs(t.Y) : 1e-9 * max_abs(t.Y), what);
        EXPECT_EQ(iso_got, iso_want) << what;
      }
    }
  }
}

#if KREG_HAVE_CUDA
// Runs predict_grid on the device: out (m x k B) and the isolated counts.
template <class T>
std::pair<Matrix<T>, std::vector<index_t>> device_grid(const kreg::test::TrainingData<T>& t,
                                                       const Matrix<T>& Z, Kernel kernel,
                                                       const std::vector<double>& inv_h2,
                                                       nw::Exclusion exclusion) {
  const nw::Backend& gpu = *nw::cuda_backend();
  const auto B = static_cast<index_t>(inv_h2.size());
  Matrix<T> out(Z.rows(), t.Y.cols() * B);
  std::vector<index_t> iso(static_cast<std::size_t>(B), 0);
  const auto f = gpu.prepare(nw::TrainingSet<T>{t.X, t.Y, t.w, kernel});
  gpu.predict_grid(*f, Z, inv_h2, exclusion, {}, out, iso, 1, nullptr);
  return {std::move(out), std::move(iso)};
}

// The many-bandwidth pass (kBands a pass, each distance formed once; 11
// bandwidths: a full pass and one of 3) gives each bandwidth the bits of a
// predict_grid of that bandwidth alone, with and without leave-one-out.
TYPED_TEST(CudaBackend, ManyBandwidthsAtOnceEqualOneAtATimeBitForBit) {
  KREG_REQUIRE_CUDA();
  using T = TypeParam;
  std::vector<double> inv_h2;
  for (const double h : {1e-8, 0.03, 0.06, 0.1, 0.2, 0.3, 0.5, 0.8, 1.5, 4.0, 1e8}) {
    inv_h2.push_back(1.0 / (h * h));
  }
  const auto B = static_cast<index_t>(inv_h2.size());
  for (const Kernel kernel : {Kernel::gaussian, Kernel::tricube}) {
    for (const bool weighted : {false, true}) {
      const auto t = kreg::test::make_training<T>(3001, 3, 1, weighted, 13, weighted ? 5 : 0);
      for (const nw::Exclusion exclusion : {nw::Exclusion::none, nw::Exclusion::self}) {
        const auto [all, iso_all] = device_grid(t, t.X, kernel, inv_h2, exclusion);
        for (index_t b = 0; b < B; ++b) {
          const auto [one, iso_one] =
              device_grid(t, t.X, kernel, {inv_h2[static_cast<std::size_t>(b)]}, exclusion);
          const std::string what = std::string(kreg::to_string(kernel)) + " bandwidth " +
                                   std::to_string(b) + (weighted ? " weighted" : "") +
                                   (exclusion == nw::Exclusion::self ? " leave-one-out" : "");
          for (index_t q = 0; q < t.X.rows(); ++q) {
            const T a = all(q, b), o = one(q, 0);
            ASSERT_EQ(std::memcmp(&a, &o, sizeof(T)), 0) << what << " row " << q;
          }
          EXPECT_EQ(iso_all[static_cast<std::size_t>(b)], iso_one[0]) << what;
        }
      }
    }
  }
}

// A predict streamed through many chunks (two in flight on two streams,
// through pinned host buffers) gives the bits of one chunk: predict and
// predict_grid with leave-one-out, k = 1 and k > kGroup.
TYPED_TEST(CudaBackend, StreamedChunksEqualOneChunkBitForBit) {
  KREG_REQUIRE_CUDA();
  using T = TypeParam;
  const std::vector<double> inv_h2 = {1.0 / (0.1 * 0.1), 1.0 / (0.4 * 0.4), 1.0};
  for (const index_t k : {1, 6}) {
    const auto t = kreg::test::make_training<T>(2500, 4, k, true, 17, 3);
    const Matrix<T> Z = queries_for(t, 1003, 0.0);
    for (const nw::Exclusion exclusion : {nw::Exclusion::none, nw::Exclusion::self}) {
      const Matrix<T>& q = exclusion == nw::Exclusion::self ? t.X : Z;
      nw::set_cuda_query_chunk(0);
      const auto [whole, iso_whole] = device_grid(t, q, Kernel::gaussian, inv_h2, exclusion);
      for (const index_t chunk : {1, 97, 500}) {
        nw::set_cuda_query_chunk(chunk);
        const auto [streamed, iso_streamed] =
            device_grid(t, q, Kernel::gaussian, inv_h2, exclusion);
        nw::set_cuda_query_chunk(0);
        const std::string what = "k=" + std::to_string(k) + " chunk " + std::to_string(chunk) +
                                 (exclusion == nw::Exclusion::self ? " leave-one-out" : "");
        EXPECT_TRUE(same_bits(streamed, whole)) << what;
        EXPECT_EQ(iso_streamed, iso_whole) << what;
      }
    }
  }
  // A compact kernel with isolated queries, through the estimator.
  const auto t = kreg::test::make_training<T>(800, 2, 2, false, 3);
  const Matrix<T> Z = queries_for(t, 301, 0.0);
  kreg::NadarayaWatsonOptions o;
  o.kernel = Kernel::epanechnikov;
  o.bandwidth = {0.05};
  o.device = Device::cuda(0);
  kreg::NadarayaWatson<T> model(o);
  model.fit(t.X, t.Y);
  kreg::PredictReport one, many;
  const Matrix<T> a = model.predict(Z, &one);
  nw::set_cuda_query_chunk(64);
  const Matrix<T> b = model.predict(Z, &many);
  nw::set_cuda_query_chunk(0);
  EXPECT_TRUE(same_bits(a, b));
  EXPECT_EQ(one.isolated, many.isolated);
  EXPECT_GT(one.isolated, 0);
}
#endif

// A cancelled predict throws kreg::Cancelled and leaves the model usable.
TYPED_TEST(CudaBackend, ACancelledPredictThrowsAndTheModelStaysUsable) {
  KREG_REQUIRE_CUDA();
  using T = TypeParam;
  const auto t = kreg::test::make_training<T>(3000, 3, 2, false, 5);
  kreg::NadarayaWatsonOptions o;
  o.device = Device::cuda(0);
  kreg::NadarayaWatson<T> model(o);
  model.fit(t.X, t.Y);
  const Matrix<T> before = model.predict(t.X);
  kreg::CancelToken cancel;
  cancel.request();
  EXPECT_THROW(model.predict(t.X, nullptr, &cancel), kreg::Cancelled);
  EXPECT_TRUE(same_bits(before, model.predict(t.X)));
}

TYPED_TEST(CudaBackend, ABandwidthSearchScoresOnTheDevice) {
  KREG_REQUIRE_CUDA();
  using T = TypeParam;
  const auto t = kreg::test::make_training<T>(500, 3, 1, false, 21);
  for (const char* cv : {"loo", "5"}) {
    kreg::CvOptions o;
    o.cv = kreg::parse_cv(cv);
    o.device = Device::cuda(0);
    const kreg::BandwidthCV<T> gpu(t.X, t.Y, {}, o);
    EXPECT_EQ(gpu.engine().name(), "cuda");
    o.device = Device::cpu();
    const kreg::BandwidthCV<T> cpu(t.X, t.Y, {}, o);
    const std::vector<double> grid = {0.05, 0.1, 0.3, 1.0, 3.0};
    const kreg::CvScores a = gpu.score({{}, grid});
    const kreg::CvScores b = cpu.score({{}, grid});
    ASSERT_EQ(a.mean.size(), b.mean.size());
    for (std::size_t i = 0; i < a.mean.size(); ++i) {
      EXPECT_NEAR(a.mean[i], b.mean[i], sizeof(T) == 4 ? 1e-4 : 1e-9) << cv << " h " << grid[i];
    }
    EXPECT_EQ(a.best, b.best) << cv;
  }
}

}  // namespace
