// The machine's limits for the fused engine, measured with the engine's own
// SIMD code on the best target this CPU has (Highway's dynamic dispatch):
//
//   Roofline/fma/<type>       independent FMA chains in registers: lane-FMAs a
//                             second, the arithmetic ceiling.
//   Roofline/exp/<type>       the engines' 2^x (nw/cpu/simd/exp2-inl.h) over an L1-
//                             resident array, summed: exponentials a second.
//   Roofline/gemm/<type>      the BLAS's gemm at Fashion-MNIST's shape (2000 x 784
//                             times 784 x 10000): multiply-adds a second, the bound
//                             of a distance pass at high d (one per pair-feature).
//                             Its thread count is the BLAS's (OpenBLAS: all cores).
//
// A Gaussian prediction needs per query-training pair d FMAs for the squared
// distance and one exponential, so 1 / (d / fma + 1 / exp) pairs a second
// bounds the fused engine on this CPU, before the sums, the shift and the
// tile bookkeeping (docs/benchmarks.md, "Share of the machine's limit"). With
// threads:2 every rate is for both cores together.
#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "bench_roofline.cpp"
#include <hwy/foreach_target.h>  // IWYU pragma: keep
// foreach_target.h must come first.
#include <hwy/aligned_allocator.h>
#include <hwy/highway.h>

#include <cstdint>

#include "nw/cpu/simd/exp2-inl.h"

HWY_BEFORE_NAMESPACE();
namespace kreg::bench {
namespace HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;

template <class T>
std::int64_t LanesT() {
  return static_cast<std::int64_t>(hn::Lanes(hn::ScalableTag<T>()));
}

// 12 independent chains: more than FMA latency x FMA ports on any x86 core.
template <class T>
T FmaT(std::int64_t iters, T seed) {
  const hn::ScalableTag<T> d;
  using V = hn::Vec<decltype(d)>;
  constexpr int kChains = 12;
  V acc[kChains];
  for (int c = 0; c < kChains; ++c) acc[c] = hn::Set(d, seed + static_cast<T>(c));
  const V a = hn::Set(d, T(0.999)), b = hn::Set(d, T(1e-3));
  for (std::int64_t i = 0; i < iters; ++i) {
    for (int c = 0; c < kChains; ++c) acc[c] = hn::MulAdd(acc[c], a, b);
  }
  V s = acc[0];
  for (int c = 1; c < kChains; ++c) s = hn::Add(s, acc[c]);
  return hn::GetLane(hn::SumOfLanes(d, s));
}

// Sum of 2^(t a) over `n` arguments t in [-40, 0] / a, `reps` times.
template <class T>
T ExpT(const T* t, std::int64_t n, std::int64_t reps) {
  const hn::ScalableTag<T> d;
  using V = hn::Vec<decltype(d)>;
  const auto L = static_cast<std::int64_t>(hn::Lanes(d));
  const V a = hn::Set(d, T(-1));
  V s0 = hn::Zero(d), s1 = hn::Zero(d);
  for (std::int64_t r = 0; r < reps; ++r) {
    for (std::int64_t p = 0; p < n; p += 2 * L) {
      s0 = hn::Add(s0, kreg::nw::tiled::HWY_NAMESPACE::Exp2Scaled(d, hn::Load(d, t + p), a));
      s1 = hn::Add(s1, kreg::nw::tiled::HWY_NAMESPACE::Exp2Scaled(d, hn::Load(d, t + p + L), a));
    }
  }
  return hn::GetLane(hn::SumOfLanes(d, hn::Add(s0, s1)));
}

std::int64_t LanesF32() { return LanesT<float>(); }
std::int64_t LanesF64() { return LanesT<double>(); }
float FmaF32(std::int64_t iters, float seed) { return FmaT(iters, seed); }
double FmaF64(std::int64_t iters, double seed) { return FmaT(iters, seed); }
float ExpF32(const float* t, std::int64_t n, std::int64_t reps) { return ExpT(t, n, reps); }
double ExpF64(const double* t, std::int64_t n, std::int64_t reps) { return ExpT(t, n, reps); }

}  // namespace HWY_NAMESPACE
}  // namespace kreg::bench
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
#include <benchmark/benchmark.h>
#include <cblas.h>

#include <random>
#include <type_traits>
#include <vector>

namespace kreg::bench {
HWY_EXPORT(LanesF32);
HWY_EXPORT(LanesF64);
HWY_EXPORT(FmaF32);
HWY_EXPORT(FmaF64);
HWY_EXPORT(ExpF32);
HWY_EXPORT(ExpF64);

namespace {

template <class T>
std::int64_t lanes() {
  if constexpr (std::is_same_v<T, float>) return HWY_DYNAMIC_DISPATCH(LanesF32)();
  return HWY_DYNAMIC_DISPATCH(LanesF64)();
}

template <class T>
void BM_Fma(benchmark::State& state) {
  constexpr std::int64_t kIters = 1 << 20;
  T sink = 0;
  for (auto _ : state) {
    if constexpr (std::is_same_v<T, float>) {
      sink += HWY_DYNAMIC_DISPATCH(FmaF32)(kIters, sink);
    } else {
      sink += HWY_DYNAMIC_DISPATCH(FmaF64)(kIters, sink);
    }
  }
  benchmark::DoNotOptimize(sink);
  const double per_iter = 12.0 * static_cast<double>(kIters * lanes<T>());
  state.counters["lane_fma_per_s"] = benchmark::Counter(
      per_iter * static_cast<double>(state.iterations()), benchmark::Counter::kIsRate);
}

template <class T>
void BM_Exp(benchmark::State& state) {
  constexpr std::int64_t kN = 1024, kReps = 1024;  // 8 KiB of doubles: L1
  auto t = hwy::AllocateAligned<T>(kN);
  std::mt19937_64 rng(1);
  std::uniform_real_distribution<double> u(0.0, 40.0);
  for (std::int64_t i = 0; i < kN; ++i) t[i] = static_cast<T>(u(rng));
  T sink = 0;
  for (auto _ : state) {
    if constexpr (std::is_same_v<T, float>) {
      sink += HWY_DYNAMIC_DISPATCH(ExpF32)(t.get(), kN, kReps);
    } else {
      sink += HWY_DYNAMIC_DISPATCH(ExpF64)(t.get(), kN, kReps);
    }
  }
  benchmark::DoNotOptimize(sink);
  state.counters["exp_per_s"] =
      benchmark::Counter(static_cast<double>(kN * kReps) * static_cast<double>(state.iterations()),
                         benchmark::Counter::kIsRate);
}

template <class T>
void BM_Gemm(benchmark::State& state) {
  constexpr int kM = 2000, kN = 10000, kD = 784;
  std::vector<T> a(static_cast<std::size_t>(kM) * kD), b(static_cast<std::size_t>(kN) * kD);
  std::vector<T> c(static_cast<std::size_t>(kM) * kN);
  std::mt19937_64 rng(2);
  std::uniform_real_distribution<double> u(0.0, 1.0);
  for (T& v : a) v = static_cast<T>(u(rng));
  for (T& v : b) v = static_cast<T>(u(rng));
  for (auto _ : state) {
    if constexpr (std::is_same_v<T, float>) {
      cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, kM, kN, kD, 1.0f, a.data(), kD, b.data(),
                  kD, 0.0f, c.data(), kN);
    } else {
      cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasTrans, kM, kN, kD, 1.0, a.data(), kD, b.data(),
                  kD, 0.0, c.data(), kN);
    }
    benchmark::DoNotOptimize(c.data());
  }
  state.counters["fma_per_s"] = benchmark::Counter(
      static_cast<double>(kM) * kN * kD * static_cast<double>(state.iterations()),
      benchmark::Counter::kIsRate);
}

void threads(benchmark::internal::Benchmark* b) {
  b->Threads(1)->Threads(2)->UseRealTime()->Unit(benchmark::kMillisecond);
}

BENCHMARK(BM_Fma<float>)->Name("Roofline/fma/f32")->Apply(threads);
BENCHMARK(BM_Fma<double>)->Name("Roofline/fma/f64")->Apply(threads);
BENCHMARK(BM_Exp<float>)->Name("Roofline/exp/f32")->Apply(threads);
BENCHMARK(BM_Exp<double>)->Name("Roofline/exp/f64")->Apply(threads);
BENCHMARK(BM_Gemm<float>)->Name("Roofline/gemm/f32")->UseRealTime()->Unit(benchmark::kMillisecond);
BENCHMARK(BM_Gemm<double>)->Name("Roofline/gemm/f64")->UseRealTime()->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace kreg::bench

BENCHMARK_MAIN();
#endif  // HWY_ONCE
