// Benchmarks of the Nadaraya-Watson engines.
//
//   Tutorial/<engine>/<type>/threads:<t>  the tutorial's workload: generate_data(10000,
//       10, 123), train_test_split(test_size 0.2, seed 42), Gaussian, h = 0.5;
//       predict the m = 2000 test rows from the n = 8000 training rows.
//   Scale/fused/f32    n = m = 100,000, d = 10 (generate_data(200000, 10, 7)).
//   Fashion/<engine>/<type>/threads:<t>  d = 784: Fashion-MNIST (train images as X, one-hot
//       labels as 10 outputs, pixels / 255, h = 2) predicting 1000 test images;
//       random uint8 pixels when /usr/share/datasets/fashion-mnist is absent.
//   ExpBound/fused/<type>  d = 1, n = m = 20,000: the distance is one sub and
//       one FMA a lane, so the engine's exp (and the sums) bound pairs/s.
//
// Counters: pairs_per_s (query x training pairs a second), r2 (or accuracy),
// peak_rss_MB (the process's peak resident memory so far).
#include <benchmark/benchmark.h>
#include <sys/resource.h>

#include <algorithm>
#include <cstdint>
#include <filesystem>
#include <random>
#include <span>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "kreg/data.hpp"
#include "kreg/io/idx.hpp"
#include "kreg/metrics.hpp"
#include "kreg/nw.hpp"

namespace {

using kreg::Engine;
using kreg::index_t;
using kreg::Matrix;

template <class T>
Matrix<T> cast(const Matrix<double>& m) {
  return Matrix<T>::from(m.view());
}

double peak_rss_mb() {
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  return static_cast<double>(ru.ru_maxrss) / 1024.0;  // kB on Linux
}

// A regression problem in type T: training X, Y and queries Z with truth.
template <class T>
struct Workload {
  Matrix<T> X, Y, Z, truth;
};

template <class T>
const Workload<T>& tutorial() {
  static const Workload<T> w = [] {
    const kreg::RegressionData data = kreg::generate_data(10000, 10, 123);
    const kreg::Split split = kreg::train_test_split(10000, 0.2, 42);
    return Workload<T>{cast<T>(kreg::take_rows<double>(data.X, split.train)),
                       cast<T>(kreg::take_rows<double>(data.y, split.train)),
                       cast<T>(kreg::take_rows<double>(data.X, split.test)),
                       cast<T>(kreg::take_rows<double>(data.y, split.test))};
  }();
  return w;
}

template <class T>
Workload<T> first_and_rest(const kreg::RegressionData& data, index_t n) {
  std::vector<index_t> train(static_cast<std::size_t>(n)), test;
  for (index_t i = 0; i < n; ++i) train[static_cast<std::size_t>(i)] = i;
  for (index_t i = n; i < data.X.rows(); ++i) test.push_back(i);
  return {cast<T>(kreg::take_rows<double>(data.X, train)),
          cast<T>(kreg::take_rows<double>(data.y, train)),
          cast<T>(kreg::take_rows<double>(data.X, test)),
          cast<T>(kreg::take_rows<double>(data.y, test))};
}

// Runs predict for the whole benchmark loop; sets the counters.
template <class T>
void run_predict(benchmark::State& state, const Workload<T>& w, kreg::Kernel kernel, double h,
                 Engine engine, int n_jobs) {
  kreg::NadarayaWatsonOptions options;
  options.kernel = kernel;
  options.bandwidth = {h};
  options.engine = engine;
  options.n_jobs = n_jobs;
  kreg::NadarayaWatson<T> model(options);
  model.fit(w.X, w.Y);
  Matrix<T> pred;
  for (auto _ : state) {
    pred = model.predict(w.Z);
    benchmark::DoNotOptimize(pred.data());
    benchmark::ClobberMemory();
  }
  const double pairs = static_cast<double>(w.Z.rows()) * static_cast<double>(w.X.rows());
  state.counters["pairs_per_s"] =
      benchmark::Counter(pairs, benchmark::Counter::kIsIterationInvariantRate);
  state.counters["peak_rss_MB"] = peak_rss_mb();
  if (w.truth.cols() == 1) {
    state.counters["r2"] = kreg::r2_score<T>(
        std::span<const T>(w.truth.data(), static_cast<std::size_t>(w.truth.rows())),
        std::span<const T>(pred.data(), static_cast<std::size_t>(pred.rows())));
  } else {  // one-hot classes: accuracy of the argmax
    index_t correct = 0;
    for (index_t i = 0; i < pred.rows(); ++i) {
      const auto p = pred.row(i);
      const auto t = w.truth.row(i);
      correct += std::max_element(p.begin(), p.end()) - p.begin() ==
                 std::max_element(t.begin(), t.end()) - t.begin();
    }
    state.counters["accuracy"] = static_cast<double>(correct) / static_cast<double>(pred.rows());
  }
}

template <class T>
void BM_Tutorial(benchmark::State& state, Engine engine) {
  run_predict<T>(state, tutorial<T>(), kreg::Kernel::gaussian, 0.5, engine,
                 static_cast<int>(state.range(0)));
}

void BM_Scale(benchmark::State& state) {
  static const Workload<float> w =
      first_and_rest<float>(kreg::generate_data(200000, 10, 7), 100000);
  run_predict<float>(state, w, kreg::Kernel::gaussian, 0.5, Engine::fused,
                     static_cast<int>(state.range(0)));
}

Workload<float> fashion() {
  const std::string dir = "/usr/share/datasets/fashion-mnist";
  constexpr index_t kQueries = 1000;
  constexpr int kClasses = 10;
  Matrix<float> X, Z, labels_train, labels_test;
  if (std::filesystem::exists(dir + "/train-images-idx3-ubyte.gz")) {
    X = kreg::io::read_idx<float>(dir + "/train-images-idx3-ubyte.gz");
    labels_train = kreg::io::read_idx<float>(dir + "/train-labels-idx1-ubyte.gz");
    const Matrix<float> test = kreg::io::read_idx<float>(dir + "/t10k-images-idx3-ubyte.gz");
    const Matrix<float> test_labels = kreg::io::read_idx<float>(dir + "/t10k-labels-idx1-ubyte.gz");
    std::vector<index_t> rows(static_cast<std::size_t>(kQueries));
    for (index_t i = 0; i < kQueries; ++i) rows[static_cast<std::size_t>(i)] = i;
    Z = kreg::take_rows<float>(test, rows);
    labels_test = kreg::take_rows<float>(test_labels, rows);
  } else {  // random uint8-valued pixels and labels
    std::mt19937 rng(11);
    std::uniform_int_distribution<int> pixel(0, 255), label(0, kClasses - 1);
    X = Matrix<float>(60000, 784);
    Z = Matrix<float>(kQueries, 784);
    labels_train = Matrix<float>(X.rows(), 1);
    labels_test = Matrix<float>(Z.rows(), 1);
    for (index_t i = 0; i < X.size(); ++i) X.data()[i] = static_cast<float>(pixel(rng));
    for (index_t i = 0; i < Z.size(); ++i) Z.data()[i] = static_cast<float>(pixel(rng));
    for (index_t i = 0; i < X.rows(); ++i) labels_train(i, 0) = static_cast<float>(label(rng));
    for (index_t i = 0; i < Z.rows(); ++i) labels_test(i, 0) = static_cast<float>(label(rng));
  }
  for (index_t i = 0; i < X.size(); ++i) X.data()[i] /= 255.0f;
  for (index_t i = 0; i < Z.size(); ++i) Z.data()[i] /= 255.0f;
  auto one_hot = [&](const Matrix<float>& labels) {
    Matrix<float> y(labels.rows(), kClasses);
    for (index_t i = 0; i < labels.rows(); ++i) y(i, static_cast<index_t>(labels(i, 0))) = 1.0f;
    return y;
  };
  return {std::move(X), one_hot(labels_train), std::move(Z), one_hot(labels_test)};
}

// The same pixels in double (exact: every value is k / 255 rounded to float).
template <class T>
Workload<T> fashion_as() {
  Workload<float> f = fashion();
  if constexpr (std::is_same_v<T, float>) {
    return f;
  } else {
    auto cast = [](const Matrix<float>& a) {
      Matrix<T> b(a.rows(), a.cols());
      for (index_t i = 0; i < a.size(); ++i) b.data()[i] = static_cast<T>(a.data()[i]);
      return b;
    };
    return {cast(f.X), cast(f.Y), cast(f.Z), cast(f.truth)};
  }
}

template <class T>
void BM_Fashion(benchmark::State& state, Engine engine) {
  static const Workload<T> w = fashion_as<T>();
  run_predict<T>(state, w, kreg::Kernel::gaussian, 2.0, engine, static_cast<int>(state.range(0)));
}

template <class T>
void BM_ExpBound(benchmark::State& state) {
  static const Workload<T> w = first_and_rest<T>(kreg::generate_data(40000, 1, 5), 20000);
  run_predict<T>(state, w, kreg::Kernel::gaussian, 0.5, Engine::fused,
                 static_cast<int>(state.range(0)));
}

benchmark::internal::Benchmark* threads(benchmark::internal::Benchmark* b) {
  return b->ArgName("threads")->Unit(benchmark::kMillisecond)->UseRealTime();
}

template <class T>
void register_type(const char* type) {
  const std::string t = type;
  for (const auto& [name, engine] :
       {std::pair{"reference", Engine::reference}, std::pair{"vectorized", Engine::vectorized},
        std::pair{"fused", Engine::fused}}) {
    auto* b = threads(benchmark::RegisterBenchmark(
        ("Tutorial/" + std::string(name) + "/" + t).c_str(),
        [engine = engine](benchmark::State& s) { BM_Tutorial<T>(s, engine); }));
    if (engine == Engine::reference) {
      b->Arg(2)->Iterations(1);  // seconds per run
    } else {
      b->Arg(1)->Arg(2);
    }
  }
  threads(benchmark::RegisterBenchmark(("ExpBound/fused/" + t).c_str(), BM_ExpBound<T>))
      ->Arg(1)
      ->Arg(2);
}

}  // namespace

int main(int argc, char** argv) {
  register_type<double>("f64");
  register_type<float>("f32");
  threads(benchmark::RegisterBenchmark("Scale/fused/f32", BM_Scale))->Arg(2)->Iterations(2);
  for (const auto& [name, engine] :
       {std::pair{"auto", Engine::automatic}, std::pair{"vectorized", Engine::vectorized},
        std::pair{"fused", Engine::fused}}) {
    for (const std::string t : {"f32", "f64"}) {
      threads(benchmark::RegisterBenchmark(("Fashion/" + std::string(name) + "/" + t).c_str(),
                                           [engine = engine, t](benchmark::State& s) {
                                             if (t == "f32") {
                                               BM_Fashion<float>(s, engine);
                                             } else {
                                               BM_Fashion<double>(s, engine);
                                             }
                                           }))
          ->Arg(1)
          ->Arg(2)
          ->Iterations(1);
    }
  }
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
