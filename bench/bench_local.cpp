// Benchmarks of KernelRegression (kreg/kernel_regression.hpp), the workloads
// of bench/peers_statsmodels.py without Python: n points of d standard
// normal columns, y = sum_f sin(x_f) + 0.1 noise, Gaussian kernel, h = 0.5.
//
//   Run/fit_<reg>/n:<n>/d:<d>/jobs:<j>   the fit at the n training points
//   Run/loo_ll/n:<n>/d:<d>/jobs:<j>      one cv_ls evaluation (leave-one-out fits)
//   Seam/...                              the same on the fused Nadaraya-Watson
//                                         engine (local/seam.hpp), not the local one
//
// Counter: pairs_per_s (query x training pairs a second).
#include <benchmark/benchmark.h>

#include <cmath>
#include <random>
#include <vector>

#include "kreg/kernel_regression.hpp"

namespace {

using kreg::index_t;

struct Data {
  kreg::Matrix<double> X;
  std::vector<double> y;
};

Data make(index_t n, index_t d) {
  std::mt19937_64 rng(7);
  std::normal_distribution<double> normal;
  Data out{kreg::Matrix<double>(n, d), std::vector<double>(static_cast<std::size_t>(n))};
  for (index_t i = 0; i < n; ++i) {
    double t = 0;
    for (index_t f = 0; f < d; ++f) {
      out.X(i, f) = normal(rng);
      t += std::sin(out.X(i, f));
    }
    out.y[static_cast<std::size_t>(i)] = t + 0.1 * normal(rng);
  }
  return out;
}

void Run(benchmark::State& state, kreg::RegType reg, bool loo, kreg::Engine engine) {
  const index_t n = state.range(0), d = state.range(1);
  const Data data = make(n, d);
  kreg::KernelRegressionOptions o;
  o.reg = reg;
  o.bandwidth.assign(static_cast<std::size_t>(d), 0.5);
  o.n_jobs = static_cast<int>(state.range(2));
  o.engine = engine;
  kreg::KernelRegression model(o);
  model.fit(data.X.view(), data.y);
  for (auto _ : state) {
    if (loo) {
      benchmark::DoNotOptimize(model.criterion(kreg::Criterion::cv_ls));
    } else {
      benchmark::DoNotOptimize(model.predict(data.X.view()).mean.data());
    }
  }
  state.counters["pairs_per_s"] =
      benchmark::Counter(static_cast<double>(n) * static_cast<double>(n),
                         benchmark::Counter::kIsIterationInvariantRate);
}

void Args(benchmark::internal::Benchmark* b) {
  b->ArgNames({"n", "d", "jobs"});
  for (int jobs : {1, 2}) {
    b->Args({1000, 2, jobs})->Args({1000, 5, jobs})->Args({5000, 2, jobs})->Args({5000, 5, jobs});
  }
  b->Unit(benchmark::kMillisecond)->UseRealTime();
}

}  // namespace

void Local(benchmark::State& state, kreg::RegType reg, bool loo) {
  Run(state, reg, loo, kreg::Engine::automatic);
}
void Seam(benchmark::State& state, kreg::RegType reg, bool loo) {
  Run(state, reg, loo, kreg::Engine::fused);
}
BENCHMARK_CAPTURE(Local, fit_ll, kreg::RegType::local_linear, false)
    ->Name("Run/fit_ll")
    ->Apply(Args);
BENCHMARK_CAPTURE(Local, loo_ll, kreg::RegType::local_linear, true)
    ->Name("Run/loo_ll")
    ->Apply(Args);
BENCHMARK_CAPTURE(Local, fit_lc, kreg::RegType::local_constant, false)
    ->Name("Run/fit_lc")
    ->Apply(Args);
BENCHMARK_CAPTURE(Seam, fit_ll, kreg::RegType::local_linear, false)
    ->Name("Seam/fit_ll")
    ->Apply(Args);
BENCHMARK_CAPTURE(Seam, loo_ll, kreg::RegType::local_linear, true)
    ->Name("Seam/loo_ll")
    ->Apply(Args);
BENCHMARK_CAPTURE(Seam, fit_lc, kreg::RegType::local_constant, false)
    ->Name("Seam/fit_lc")
    ->Apply(Args);
BENCHMARK_MAIN();
