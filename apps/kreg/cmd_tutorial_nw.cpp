// cmd_tutorial_nw.cpp - `kreg tutorial` section 2: Nadaraya-Watson on the
// tutorial's data (seed 123, n = 10000, d = 10, h = 0.5) by every engine,
// R^2 and time beside the tutorial's. The naive loop, which the tutorial
// interrupted, is timed on a sample of the queries and extrapolated.
#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <span>
#include <string>
#include <vector>

#include "cli_util.hpp"
#include "cmd_tutorial.hpp"
#include "kreg/error.hpp"
#include "kreg/interrupt.hpp"
#include "kreg/metrics.hpp"
#include "kreg/nw.hpp"

namespace kreg::cli::tutorial {

namespace {

constexpr double kBandwidth = 0.5;

struct Timed {
  double seconds = INFINITY;
  double r2 = NAN;
};

// Fits on the training set and predicts `queries` of the test set with
// `engine` on `jobs` threads in precision T, the fastest of `repeat` runs;
// R^2 against the test targets of those queries.
template <class T>
Timed predict(const Synthetic& data, Engine engine, int jobs, index_t queries, int repeat) {
  NadarayaWatsonOptions o;
  o.bandwidth = {kBandwidth};
  o.engine = engine;
  o.n_jobs = jobs;
  const auto cast = [](const Matrix<double>& m) {
    Matrix<T> out(m.rows(), m.cols());
    for (index_t i = 0; i < m.size(); ++i) out.data()[i] = static_cast<T>(m.data()[i]);
    return out;
  };
  const Matrix<T> X = cast(data.X_train);
  const Matrix<T> y = cast(data.y_train);
  const Matrix<T> Z = cast(Matrix<double>::from(data.X_test.view().rows_between(0, queries)));
  Timed out;
  for (int r = 0; r < repeat; ++r) {
    throw_if_cancelled(&cancel_token());
    const Stopwatch clock;
    NadarayaWatson<T> model(o);
    model.fit(X, y);
    const Matrix<T> yhat = model.predict(Z, nullptr, &cancel_token());
    out.seconds = std::min(out.seconds, clock.seconds());
    const auto m = static_cast<std::size_t>(queries);
    std::vector<double> pred(yhat.data(), yhat.data() + m);
    out.r2 = r2_score<double>(std::span(data.y_test.data(), m), pred);
  }
  return out;
}

}  // namespace

Section nadaraya_watson(Run& run) {
  Section out;
  out.id = "nadaraya-watson";
  out.title = "2. Nadaraya-Watson on the tutorial's data";
  const Synthetic& data = run.synthetic();
  const index_t m = data.X_test.rows();
  const index_t sample = run.quick() ? 20 : 100;
  const int jobs = run.options().jobs;
  out.paragraphs = {
      fmt::format(
          "The tutorial's data: np.random.seed(123), n = 10000 points with d = 10 features, "
          "split 8000 / 2000 with random_state 42; the Gaussian kernel with bandwidth h = {}. "
          "The tutorial's naive loop never finished; here the same loop (kreg's reference "
          "engine, one thread) is timed on the first {} of the {} test queries and its time "
          "extrapolated to all of them (x {}), so its R² is not computed.",
          kBandwidth, sample, m, m / sample),
      "reference, vectorized and fused are kreg's engines on all threads; every one gives "
      "the tutorial's R² 0.788018."};

  const std::vector<std::string> gpus = run.gpu_engines();
  auto bar = run.progress("2 Nadaraya-Watson", 4 + static_cast<std::int64_t>(gpus.size()));
  const Timed naive_sample = predict<double>(data, Engine::reference, 1, sample, 1);
  const double naive_s =
      naive_sample.seconds * static_cast<double>(m) / static_cast<double>(sample);
  bar->update(1);
  struct Row {
    std::string name, key, what;
    Timed t;
  };
  std::vector<Row> rows;
  rows.push_back({"reference", "reference", "plain loops in long double",
                  predict<double>(data, Engine::reference, jobs, m, 1)});
  bar->update(2);
  rows.push_back({"vectorized", "vectorized", "BLAS distances, then exp and sums (the tutorial's)",
                  predict<double>(data, Engine::vectorized, jobs, m, 3)});
  bar->update(3);
  rows.push_back({"fused", "fused", "tiled SIMD, never builds the kernel matrix",
                  predict<double>(data, Engine::fused, jobs, m, 3)});
  bar->update(4);
  std::int64_t step = 4;
  // A GPU engine in double precision, or in single where it has no double;
  // one that can do neither is skipped with its own reason.
  std::vector<std::string> gpu_skipped;
  for (const EngineInfo& e : available_engines()) {
    if (e.device == "cpu") continue;
    const std::string name = fmt::format("{} ({})", e.engine.name(), e.device);
    try {
      rows.push_back({name, std::string(e.engine.name()), "the GPU engine, f64",
                      predict<double>(data, e.engine, jobs, m, 3)});
    } catch (const ArgumentError&) {
      try {
        rows.push_back({name, std::string(e.engine.name()), "the GPU engine, f32",
                        predict<float>(data, e.engine, jobs, m, 3)});
      } catch (const ArgumentError& error) {
        gpu_skipped.push_back(fmt::format("{}: {}", name, error.what()));
      }
    }
    bar->update(++step);
  }
  bar->finish();

  Table t;
  t.title = fmt::format("R² and time of predicting {} test points from {} training points", m,
                        data.X_train.rows());
  t.header = {"method",      "what it is",      "R²", "time, s", "x naive",
              "tutorial R²", "tutorial time, s"};
  // The tutorial's GPU code printed "No GPU available, using the CPU instead."
  const std::string base = "/nadaraya_watson";
  run.results()["nadaraya_watson"]["bandwidth"] = kBandwidth;
  run.results()["nadaraya_watson"]["naive"]["sample_queries"] = sample;
  run.results()["nadaraya_watson"]["naive"]["sample_seconds"] = naive_sample.seconds;
  t.rows.push_back({run.text("naive loop"),
                    run.text(fmt::format("one query at a time, 1 thread; {} queries timed, x {}",
                                         sample, m / sample)),
                    run.text("not run in full"),
                    run.number(base + "/naive/seconds_extrapolated", naive_s, 3), run.text("1"),
                    run.text("Too slow! :'("), run.text("interrupted")});
  for (const Row& r : rows) {
    const std::string key = base + "/" + r.key;
    const bool vectorized = r.key == "vectorized";
    t.rows.push_back(
        {run.text(r.name), run.text(r.what), run.number(key + "/r2", r.t.r2, 6),
         run.number(key + "/seconds", r.t.seconds, 4),
         run.number(key + "/speedup_over_naive", naive_s / r.t.seconds, 0),
         vectorized ? run.number("/tutorial/vectorized/r2", 0.7880181382483237, 6) : run.text(""),
         vectorized ? run.number("/tutorial/vectorized/seconds", 0.2995, 4) : run.text("")});
  }
  for (const std::string& why : gpu_skipped) out.skipped.push_back(why);
  if (gpus.empty()) {
    t.rows.push_back({run.text("GPU"), run.text(std::string(kNoGpu), base + "/gpu"), run.text(""),
                      run.text(""), run.text(""),
                      run.number("/tutorial/gpu_code_on_cpu/r2", 0.7880181382483237, 6),
                      run.number("/tutorial/gpu_code_on_cpu/seconds", 0.3924, 4)});
    out.skipped.push_back("the GPU engine: no GPU here");
  }
  out.tables.push_back(t);
  out.commands.push_back(
      "kreg generate --n 10000 --d 10 --seed 123 --test-size 0.2 --out-dir data\n"
      "kreg predict --train data/train.csv --target y --query data/test.csv --bandwidth 0.5 "
      "--engine fused --out pred.csv    # or --engine reference, vectorized");
  return out;
}

}  // namespace kreg::cli::tutorial
