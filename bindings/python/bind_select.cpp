// bindings/python/bind_select.cpp - the tune workflow's grid for Python
// (kreg/tune.hpp): one call scores a whole bandwidth grid by leave-one-out or
// k-fold cross-validation in one pass, with the GIL released and Ctrl-C
// answered between tasks, then optionally refines it with the optimiser that
// `kreg tune --optimize` runs. With verbose, each phase reports its progress
// on stderr, as NadarayaWatsonCV(verbose=1) documents. The Python layer turns
// the scores into scikit-learn's cv_results_.
#include <fmt/format.h>
#include <nanobind/stl/optional.h>
#include <nanobind/stl/string.h>
#include <nanobind/stl/vector.h>

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>

#include "common.hpp"
#include "kreg/bandwidth.hpp"
#include "kreg/select.hpp"
#include "kreg/tune.hpp"

namespace kreg::python {

namespace {

// Progress of one phase on stderr: its size when it starts, then a line at
// every tenth of it, then its end. Called on the worker thread, never with
// the GIL (fmt writes to the C stream directly).
struct ProgressLines {
  std::string who, phase, unit;
  std::int64_t total = 0, next = 0;
  std::chrono::steady_clock::time_point start;

  double seconds() const {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  }

  void begin(std::string_view name, std::int64_t steps) {
    phase = name;
    unit = phase == "grid" ? "tasks" : "evaluations";
    total = steps;
    next = 0;
    start = std::chrono::steady_clock::now();
    fmt::print(stderr, "{}: {} phase: {} {}{}\n", who, phase, total, unit,
               phase == "grid" ? "" : " at most");
    std::fflush(stderr);
  }
  void step(std::int64_t done) {
    if (total <= 0 || done * 10 < next * total) return;
    next = done * 10 / total + 1;
    fmt::print(stderr, "{}: {} {}/{} {} ({:.1f} s)\n", who, phase, done, total, unit, seconds());
    std::fflush(stderr);
  }
  void end() {
    fmt::print(stderr, "{}: {} phase done in {:.2f} s\n", who, phase, seconds());
    std::fflush(stderr);
  }
};

nb::object optimum_dict(const std::optional<TuneOptimum>& o) {
  if (!o) return nb::none();
  nb::dict d;
  d["bandwidth"] = o->bandwidth;
  d["score"] = o->score;
  d["evaluations"] = o->evaluations;
  d["converged"] = o->converged;
  d["message"] = o->message;
  std::vector<bool> at_upper = o->at_upper;
  d["at_upper"] = at_upper;
  return d;
}

template <class T>
nb::dict bandwidth_cv(In2<T> X, In2<T> Y, std::optional<In1<T>> sample_weight,
                      const std::string& kernel, const std::string& cv, bool shuffle,
                      std::uint32_t seed, const std::string& scoring, int n_jobs,
                      std::vector<double> bandwidths, std::vector<double> scale,
                      std::optional<In2<T>> X_test, std::optional<In2<T>> Y_test,
                      const std::string& optimize, int starts, std::uint32_t optimize_seed,
                      const std::string& verbose_name, const std::string& device) {
  CvOptions options;
  options.device = parse_device(device);
  options.kernel = parse_kernel(kernel);
  options.cv = parse_cv(cv);
  options.cv.shuffle = shuffle;
  options.cv.seed = seed;
  options.scoring = parse_scoring(scoring);
  options.n_jobs = n_jobs;
  const MatrixView<const T> x = view_of(X), y = view_of(Y);
  const std::span<const T> w = span_of(sample_weight);
  const MatrixView<const T> x_test = X_test ? view_of(*X_test) : MatrixView<const T>{};
  const MatrixView<const T> y_test = Y_test ? view_of(*Y_test) : MatrixView<const T>{};
  TuneOptions tune;
  tune.bandwidths = std::move(bandwidths);
  tune.scale = std::move(scale);
  tune.optimizer = parse_tune_optimizer(optimize);
  tune.starts = starts;
  tune.seed = optimize_seed;
  const double work = predict_work(x_test.rows() > 0 ? x_test.rows() : x.rows(), x.rows(), x.cols(),
                                   y.cols(), static_cast<index_t>(tune.bandwidths.size()));
  struct Result {
    TuneResult tuned;
    index_t n_splits = 0;
  };
  // The library's tune workflow: the grid, then the optimiser when asked.
  ProgressLines progress;
  progress.who = verbose_name;
  Result r = run_interruptible(work, [&](const CancelToken* cancel) {
    const Tuner<T> tuner(x, y, w, options, std::move(tune), x_test, y_test);
    TuneHooks hooks;
    hooks.cancel = cancel;
    if (!verbose_name.empty()) {
      // Python never resumes a search: nothing is ever done at a phase's start.
      hooks.phase_begin = [&](std::string_view phase, std::int64_t total, std::int64_t) {
        progress.begin(phase, total);
      };
      hooks.step = [&](std::int64_t done) { progress.step(done); };
      hooks.phase_end = [&] { progress.end(); };
    }
    return Result{tuner.run(hooks), tuner.search().n_splits()};
  });
  const CvScores& s = r.tuned.scores;
  const auto B = static_cast<index_t>(s.h.size());
  Matrix<double> splits(B, r.n_splits);
  for (index_t b = 0; b < B; ++b) {
    for (index_t j = 0; j < r.n_splits; ++j) splits(b, j) = s.splits[b][j];
  }
  nb::dict out;
  out["bandwidths"] = s.h;
  out["split_scores"] = to_numpy(std::move(splits));
  out["mean"] = s.mean;
  out["std"] = s.std;
  out["rank"] = s.rank;
  out["isolated"] = s.isolated;
  out["best"] = s.best;
  out["n_splits"] = r.n_splits;
  out["greater_is_better"] = greater_is_better(s.scoring);
  out["seconds"] = s.seconds;
  out["optimum"] = optimum_dict(r.tuned.optimum);
  return out;
}

template <class T>
std::vector<double> rule_of_thumb(In2<T> X, const std::string& rule) {
  const MatrixView<const T> x = view_of(X);
  nb::gil_scoped_release release;
  return rule_of_thumb_bandwidth(x, rule);
}

template <class T>
void bind_typed(nb::module_& m) {
  m.def("bandwidth_cv", &bandwidth_cv<T>, nb::arg("X").noconvert(), nb::arg("Y").noconvert(),
        nb::arg("sample_weight").noconvert().none(), nb::arg("kernel"), nb::arg("cv"),
        nb::arg("shuffle"), nb::arg("seed"), nb::arg("scoring"), nb::arg("n_jobs"),
        nb::arg("bandwidths"), nb::arg("scale"), nb::arg("X_test").noconvert() = nb::none(),
        nb::arg("Y_test").noconvert() = nb::none(), nb::arg("optimize") = "none",
        nb::arg("starts") = 1, nb::arg("optimize_seed") = 0, nb::arg("verbose_name") = "",
        nb::arg("device") = "auto",
        "Cross-validated scores of Nadaraya-Watson for every bandwidth h[b] (feature f uses "
        "h[b] * scale[f]; empty scale: 1), in one pass. cv is 'loo', a fold count or "
        "'holdout' (fit on X, Y and score on X_test, Y_test); k-fold splits are "
        "scikit-learn's KFold(folds, shuffle, random_state=seed). optimize: 'none', 'scalar' "
        "or 'per-feature' (kreg tune --optimize; starts and optimize_seed as --starts and "
        "--seed). verbose_name: when not empty, progress lines on stderr starting with it. "
        "Returns a dict: bandwidths, split_scores (B x n_splits), mean, std, rank, isolated, "
        "best, n_splits, greater_is_better, seconds, optimum (None, or a dict: bandwidth, "
        "score, evaluations, converged, message, at_upper). Releases the GIL; Ctrl-C raises "
        "KeyboardInterrupt.");
  m.def("rule_of_thumb_bandwidth", &rule_of_thumb<T>, nb::arg("X").noconvert(), nb::arg("rule"),
        "Per-feature rule-of-thumb bandwidths: 'scott' or 'silverman' (kreg/bandwidth.hpp).");
}

}  // namespace

void bind_select(nb::module_& m) {
  bind_typed<double>(m);
  bind_typed<float>(m);
}

}  // namespace kreg::python
