// Overhead of kreg::par against a plain loop: the tutorial's per-sample
// inference lost 3x to a serial loop because each joblib task was tiny.
//
//   Par/serial_loop/<work>        a plain for loop (the baseline)
//   Par/auto/<work>/threads:<t>   parallel_for, automatic batching
//   Par/batch1/<work>/threads:<t> parallel_for, batch_size = 1 (one task a batch)
//
// <work> is the task size: iterations of a dependent multiply-add chain
// (about 1 ns each), from 10 (a tiny task, like one sample's prediction) to
// 10000. 100,000 tasks per loop. Counter: tasks_per_s.
#include <benchmark/benchmark.h>

#include <cstdint>
#include <vector>

#include "kreg/par.hpp"

namespace {

using kreg::index_t;
constexpr index_t kTasks = 100000;

double work(index_t i, int64_t iterations) {
  double x = static_cast<double>(i);
  for (int64_t k = 0; k < iterations; ++k) x = x * 0.999999 + 1e-9;
  return x;
}

void BM_Serial(benchmark::State& state) {
  std::vector<double> out(kTasks);
  for (auto _ : state) {
    for (index_t i = 0; i < kTasks; ++i) out[static_cast<std::size_t>(i)] = work(i, state.range(0));
    benchmark::DoNotOptimize(out.data());
  }
  state.counters["tasks_per_s"] =
      benchmark::Counter(kTasks, benchmark::Counter::kIsIterationInvariantRate);
}

void BM_Par(benchmark::State& state, index_t batch) {
  std::vector<double> out(kTasks);
  kreg::par::Options options;
  options.n_jobs = static_cast<int>(state.range(1));
  options.batch_size = batch;
  for (auto _ : state) {
    kreg::par::parallel_for(
        kTasks, [&](index_t i) { out[static_cast<std::size_t>(i)] = work(i, state.range(0)); },
        options);
    benchmark::DoNotOptimize(out.data());
  }
  state.counters["tasks_per_s"] =
      benchmark::Counter(kTasks, benchmark::Counter::kIsIterationInvariantRate);
}

}  // namespace

BENCHMARK(BM_Serial)
    ->Name("Par/serial_loop")
    ->ArgName("work")
    ->Arg(10)
    ->Arg(100)
    ->Arg(10000)
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();
BENCHMARK_CAPTURE(BM_Par, auto, 0) -> Name("Par/auto") -> ArgNames({"work", "threads"})
    -> ArgsProduct({{10, 100, 10000}, {1, 2}}) -> Unit(benchmark::kMillisecond) -> UseRealTime();
BENCHMARK_CAPTURE(BM_Par, batch1, 1)
    ->Name("Par/batch1")
    ->ArgNames({"work", "threads"})
    ->ArgsProduct({{10, 100, 10000}, {2}})
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();
BENCHMARK_MAIN();
