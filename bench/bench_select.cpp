// Benchmarks of bandwidth selection (kreg/select.hpp) on the tutorial's data:
// generate_data(10000, 10, 123), train_test_split(test_size 0.2, seed 42), a
// Gaussian kernel and the tutorial's grid of 30 bandwidths, logspace(-1, 3, 30).
//
//   Select/holdout/<type>  fit on the 8000 training rows, score R^2 on the
//       2000 test rows at every bandwidth: the tutorial's joblib grid search.
//   Select/loo/<type>      leave-one-out over the 8000 training rows.
//   Select/kfold5/<type>   5-fold (shuffled, seed 0) over the training rows.
//   Select/cvls_eval/<type>/n:<n>  one evaluation of the per-feature cv_ls
//       objective (leave-one-out, one bandwidth per feature) on d = 2,
//       y = sin(x1 + x2) + 0.3 noise: the unit of work of `kreg tune
//       --optimize per-feature`, which costs ~70 of them.
//
// Counters: pair_bandwidths_per_s (query x training pairs x bandwidths a
// second), best_h and best_score.
#include <benchmark/benchmark.h>

#include <cmath>
#include <string>
#include <vector>

#include "kreg/data.hpp"
#include "kreg/random.hpp"
#include "kreg/select.hpp"

namespace {

using kreg::index_t;
using kreg::Matrix;

struct Tutorial {
  Matrix<double> X, y, Xt, yt;
};

const Tutorial& tutorial() {
  static const Tutorial t = [] {
    const kreg::RegressionData data = kreg::generate_data(10000, 10, 123);
    const kreg::Split split = kreg::train_test_split(10000, 0.2, 42);
    return Tutorial{
        kreg::take_rows<double>(data.X, split.train), kreg::take_rows<double>(data.y, split.train),
        kreg::take_rows<double>(data.X, split.test), kreg::take_rows<double>(data.y, split.test)};
  }();
  return t;
}

std::vector<double> logspace(double a, double b, int n) {
  std::vector<double> v;
  for (int i = 0; i < n; ++i) v.push_back(std::pow(10.0, a + (b - a) * i / (n - 1)));
  return v;
}

template <class T>
void BM_Select(benchmark::State& state, kreg::CvSpec cv) {
  const Tutorial& t = tutorial();
  const auto X = Matrix<T>::from(t.X.view()), y = Matrix<T>::from(t.y.view());
  const auto Xt = Matrix<T>::from(t.Xt.view()), yt = Matrix<T>::from(t.yt.view());
  kreg::CvOptions options;
  options.cv = cv;
  options.n_jobs = static_cast<int>(state.range(0));
  const bool holdout = cv.kind == kreg::CvSpec::Kind::holdout;
  const kreg::BandwidthCV<T> search(X, y, {}, options, holdout ? Xt.view() : Matrix<T>().view(),
                                    holdout ? yt.view() : Matrix<T>().view());
  const kreg::BandwidthSet grid{{}, logspace(-1, 3, 30)};
  kreg::CvScores scores;
  for (auto _ : state) {
    scores = search.score(grid);
    benchmark::DoNotOptimize(scores.mean.data());
  }
  const double n = static_cast<double>(X.rows());
  double pairs = holdout ? n * static_cast<double>(Xt.rows()) : n * (n - 1);
  if (cv.kind == kreg::CvSpec::Kind::kfold) pairs = n * n * (1.0 - 1.0 / 5.0);
  state.counters["pair_bandwidths_per_s"] =
      benchmark::Counter(pairs * 30.0, benchmark::Counter::kIsIterationInvariantRate);
  state.counters["best_h"] = scores.h[static_cast<std::size_t>(scores.best)];
  state.counters["best_score"] = scores.mean[static_cast<std::size_t>(scores.best)];
}

// One leave-one-out evaluation at per-feature bandwidths near the optimum.
template <class T>
void BM_CvlsEval(benchmark::State& state) {
  const index_t n = state.range(0);
  // bench/peers_select.py's data: np.random.RandomState(n), X then noise.
  kreg::LegacyRandom rng(static_cast<std::uint32_t>(n));
  Matrix<T> X(n, 2), y(n, 1);
  for (index_t i = 0; i < n; ++i) {
    for (index_t f = 0; f < 2; ++f) X(i, f) = static_cast<T>(rng.normal());
  }
  for (index_t i = 0; i < n; ++i) {
    y(i, 0) = static_cast<T>(std::sin(static_cast<double>(X(i, 0)) + static_cast<double>(X(i, 1))) +
                             0.3 * rng.normal());
  }
  kreg::CvOptions options;
  options.cv.kind = kreg::CvSpec::Kind::loo;
  options.scoring = kreg::Scoring::mse;
  options.n_jobs = static_cast<int>(state.range(1));
  const kreg::BandwidthCV<T> search(X, y, {}, options);
  const kreg::BandwidthSet set{{0.218, 0.213}, {1.0}};
  kreg::CvScores scores;
  for (auto _ : state) {
    scores = search.score(set);
    benchmark::DoNotOptimize(scores.mean.data());
  }
  state.counters["pairs_per_s"] =
      benchmark::Counter(static_cast<double>(n) * static_cast<double>(n - 1),
                         benchmark::Counter::kIsIterationInvariantRate);
  state.counters["mse"] = scores.mean[0];
}

template <class T>
void register_type(const char* type) {
  kreg::CvSpec holdout, loo, kfold;
  holdout.kind = kreg::CvSpec::Kind::holdout;
  loo.kind = kreg::CvSpec::Kind::loo;
  kfold.kind = kreg::CvSpec::Kind::kfold;
  kfold.folds = 5;
  for (const auto& [name, cv] :
       {std::pair{"holdout", holdout}, std::pair{"loo", loo}, std::pair{"kfold5", kfold}}) {
    benchmark::RegisterBenchmark(("Select/" + std::string(name) + "/" + type).c_str(),
                                 [cv = cv](benchmark::State& s) { BM_Select<T>(s, cv); })
        ->ArgName("threads")
        ->Arg(1)
        ->Arg(2)
        ->Unit(benchmark::kMillisecond)
        ->UseRealTime();
  }
  benchmark::RegisterBenchmark(("Select/cvls_eval/" + std::string(type)).c_str(), BM_CvlsEval<T>)
      ->ArgNames({"n", "threads"})
      ->ArgsProduct({{1000, 5000}, {1, 2}})
      ->Unit(benchmark::kMicrosecond)
      ->UseRealTime();
}

}  // namespace

int main(int argc, char** argv) {
  register_type<double>("f64");
  register_type<float>("f32");
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
