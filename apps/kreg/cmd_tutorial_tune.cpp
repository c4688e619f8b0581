// cmd_tutorial_tune.cpp - `kreg tutorial` section 4: the tutorial's bandwidth
// search (30 bandwidths, logspace(-1, 3, 30)) scored on the holdout set, by
// leave-one-out and by 5-fold cross-validation, on its synthetic data and on
// image pixels, where its own code died of NaN; R^2 against bandwidth charts.
#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <string>
#include <vector>

#include "cli_util.hpp"
#include "cmd_tutorial.hpp"
#include "kreg/bandwidth.hpp"
#include "kreg/interrupt.hpp"
#include "kreg/io/idx.hpp"
#include "kreg/plot.hpp"
#include "kreg/tune.hpp"

namespace kreg::cli::tutorial {

namespace {

constexpr const char* kGrid = "logspace:-1:3:30";

struct Search {
  std::string name;  // "holdout", "leave-one-out", "5-fold"
  std::string key;   // in the results: "holdout", "loo", "kfold5"
  std::string cv;    // --cv's spelling
  CvScores scores;
  double seconds = 0.0;
};

template <class T>
Search run_search(const std::string& name, const std::string& key, const std::string& cv,
                  MatrixView<const T> X, MatrixView<const T> Y, MatrixView<const T> X_test,
                  MatrixView<const T> Y_test, int jobs) {
  CvOptions co;
  co.cv = parse_cv(cv);
  co.cv.shuffle = false;  // as `kreg tune --cv 5` (the command under the chart) cuts its folds
  co.n_jobs = jobs;
  TuneOptions to;
  to.bandwidths = parse_bandwidth_grid(kGrid);
  const bool holdout = co.cv.kind == CvSpec::Kind::holdout;
  const Tuner<T> tuner(X, Y, {}, co, to, holdout ? X_test : MatrixView<const T>{},
                       holdout ? Y_test : MatrixView<const T>{});
  TuneHooks hooks;
  hooks.cancel = &cancel_token();
  const Stopwatch clock;
  Search s{name, key, cv, tuner.run_grid(hooks), 0.0};
  s.seconds = clock.seconds();
  return s;
}

// R^2 against bandwidth: one line per search with a dot at every bandwidth
// scored, the k-fold mean with its +-1 std band across folds, the best
// bandwidth of each search ringed.
std::string chart(const std::string& title, const std::vector<Search>& searches) {
  LineChart c;
  c.title = title;
  c.x_label = "bandwidth h, log scale";
  c.y_label = "R^2 on held-out data";
  c.log_x = true;
  c.width = 860;
  c.height = 500;
  for (const Search& s : searches) {
    Series line;
    line.x = s.scores.h;
    line.y = s.scores.mean;
    line.markers = true;
    line.line_width = 2.0;
    line.label = s.name;
    if (s.scores.splits.front().size() > 1) {
      line.label = s.name + " mean, ±1 std band";
      for (std::size_t b = 0; b < s.scores.h.size(); ++b) {
        line.band_lo.push_back(s.scores.mean[b] - s.scores.std[b]);
        line.band_hi.push_back(s.scores.mean[b] + s.scores.std[b]);
      }
    }
    c.series.push_back(std::move(line));
    // Every search's best is ringed; the last one's (k-fold, with its band)
    // is labelled, as searches on one data set often share the best h.
    const auto b = static_cast<std::size_t>(s.scores.best);
    const bool labelled = &s == &searches.back();
    c.markers.push_back({s.scores.h[b], s.scores.mean[b],
                         labelled ? fmt::format("{} best h = {:.3g}, R^2 = {:.3f}", s.name,
                                                s.scores.h[b], s.scores.mean[b])
                                  : std::string()});
  }
  return render_svg(c);
}

// The search's numbers in the results and a table row.
std::vector<Cell> search_row(Run& run, const std::string& base, const Search& s,
                             const std::string& theirs) {
  const std::string key = base + "/" + s.key;
  nlohmann::json& j = run.results()[nlohmann::json::json_pointer(key)];
  j["h"] = s.scores.h;
  j["mean"] = s.scores.mean;
  j["std"] = s.scores.std;
  j["splits"] = s.scores.splits;
  const auto b = static_cast<std::size_t>(s.scores.best);
  const std::size_t folds = s.scores.splits.front().size();
  return {run.text(s.name),
          run.number(key + "/splits_count", static_cast<double>(folds), 0),
          run.number(key + "/best_h", s.scores.h[b], 4),
          run.number(key + "/best_r2", s.scores.mean[b], 6),
          folds > 1 ? run.number(key + "/best_std", s.scores.std[b], 6) : run.text("one split"),
          run.number(key + "/seconds", s.seconds, 3),
          run.text(theirs)};
}

const std::vector<std::string> kHeader = {
    "scored by", "splits", "best h", "R² at best h", "std across folds", "time, s", "the tutorial"};

}  // namespace

Section bandwidth_tuning(Run& run) {
  Section out;
  out.id = "bandwidth-tuning";
  out.title = "4. Bandwidth tuning";
  out.paragraphs = {
      "The tutorial scores 30 bandwidths, np.logspace(-1, 3, 30), one model per bandwidth in "
      "parallel with joblib. kreg scores the whole grid in one pass over the pairs of points: "
      "on the holdout set, by leave-one-out on the training set, and by 5-fold "
      "cross-validation, whose chart shows the mean with a band of ±1 standard deviation "
      "across the folds. The tutorial's run of this cell had MNIST's pixels in X_train and "
      "died of NaN (exp underflowed to 0/0 at small bandwidths); kreg's shifted weights never "
      "do, shown here on Fashion-MNIST's pixels."};
  const int jobs = run.options().jobs;
  const Synthetic& d = run.synthetic();
  const ImageSet* train = run.images("train");
  const ImageSet* test = train != nullptr ? run.images("t10k") : nullptr;
  auto bar = run.progress("4 bandwidth tuning", train != nullptr ? 5 : 3);

  std::vector<Search> synthetic;
  std::int64_t step = 0;
  for (const auto& [name, key, cv] :
       {std::tuple{"holdout", "holdout", "holdout"}, std::tuple{"leave-one-out", "loo", "loo"},
        std::tuple{"5-fold", "kfold5", "5"}}) {
    synthetic.push_back(
        run_search<double>(name, key, cv, d.X_train, d.y_train, d.X_test, d.y_test, jobs));
    bar->update(++step);
  }
  Table t;
  t.title = "The tutorial's data (8000 training points, 2000 holdout)";
  t.header = kHeader;
  for (const Search& s : synthetic) {
    t.rows.push_back(search_row(run, "/bandwidth_tuning/synthetic", s, ""));
  }
  out.tables.push_back(t);
  out.figures.push_back(
      {"fig-bandwidth-synthetic", chart("R^2 against bandwidth, the tutorial's data", synthetic),
       "R² against bandwidth on the tutorial's data, one dot per bandwidth scored; the best "
       "bandwidth of each search ringed. The 5-fold line is the mean over folds with a band of "
       "±1 standard deviation across folds.",
       "kreg generate --n 10000 --d 10 --seed 123 --test-size 0.2 --out-dir data\n"
       "kreg tune --train data/train.csv --target y --test data/test.csv --cv holdout "
       "--bandwidths logspace:-1:3:30 --plot holdout.svg\n"
       "kreg tune --train data/train.csv --target y --cv loo --bandwidths logspace:-1:3:30 "
       "--plot loo.svg\n"
       "kreg tune --train data/train.csv --target y --cv 5 --bandwidths logspace:-1:3:30 "
       "--plot cv5.svg"});

  if (train == nullptr || test == nullptr) {
    out.skipped.push_back("the grid on image pixels: " + run.image_problem());
    bar->finish();
    return out;
  }
  // Pixels as floats 0..255 and the class labels 0..9 as the target, as the
  // tutorial's cell had them.
  const index_t n = run.quick() ? 1000 : 4000;
  const index_t m = run.quick() ? 500 : 1000;
  const auto to_float = [](MatrixView<const std::uint8_t> v) {
    Matrix<float> f(v.rows(), v.cols());
    for (index_t i = 0; i < v.rows(); ++i) {
      for (index_t j = 0; j < v.cols(); ++j) f(i, j) = v(i, j);
    }
    return f;
  };
  const auto labels = [](const ImageSet& s, index_t rows) {
    Matrix<float> y(rows, 1);
    for (index_t i = 0; i < rows; ++i)
      y(i, 0) = static_cast<float>(s.labels[static_cast<std::size_t>(i)]);
    return y;
  };
  const Matrix<float> Xp = to_float(train->images.view().rows_between(0, n));
  const Matrix<float> yp = labels(*train, n);
  const Matrix<float> Xq = to_float(test->images.view().rows_between(0, m));
  const Matrix<float> yq = labels(*test, m);
  std::vector<Search> pixels;
  pixels.push_back(run_search<float>("holdout", "holdout", "holdout", Xp, yp, Xq, yq, jobs));
  bar->update(++step);
  pixels.push_back(run_search<float>("5-fold", "kfold5", "5", Xp, yp, Xq, yq, jobs));
  bar->update(++step);
  bar->finish();

  // The subsets, so that the command under the chart reproduces it exactly.
  namespace fs = std::filesystem;
  const fs::path dir = fs::path(run.options().out_dir) / "data";
  fs::create_directories(dir);
  const auto write = [&](const std::string& name, MatrixView<const std::uint8_t> v,
                         std::vector<index_t> dims) {
    io::write_idx<std::uint8_t>((dir / name).string(), v, std::move(dims), &cancel_token());
  };
  const ImageSet& tr = *train;
  const ImageSet& te = *test;
  write("pixels-train-images.idx", tr.images.view().rows_between(0, n), {n, tr.height, tr.width});
  write("pixels-test-images.idx", te.images.view().rows_between(0, m), {m, te.height, te.width});
  const auto label_bytes = [](const ImageSet& s, index_t rows) {
    Matrix<std::uint8_t> y(rows, 1);
    for (index_t i = 0; i < rows; ++i) {
      y(i, 0) = static_cast<std::uint8_t>(s.labels[static_cast<std::size_t>(i)]);
    }
    return y;
  };
  write("pixels-train-labels.idx", label_bytes(tr, n), {n});
  write("pixels-test-labels.idx", label_bytes(te, m), {m});

  Table tp;
  tp.title = fmt::format(
      "Fashion-MNIST pixels ({} training images, {} holdout; target: the class label)", n, m);
  tp.header = kHeader;
  tp.rows.push_back(
      search_row(run, "/bandwidth_tuning/pixels", pixels[0], "ValueError: Input contains NaN"));
  tp.rows.push_back(search_row(run, "/bandwidth_tuning/pixels", pixels[1], ""));
  out.tables.push_back(tp);
  const std::string data = (dir / "pixels-").string();
  out.figures.push_back(
      {"fig-bandwidth-pixels", chart("R^2 against bandwidth, Fashion-MNIST pixels", pixels),
       "R² against bandwidth on image pixels, where the tutorial's code stopped with "
       "\"Input contains NaN\": every bandwidth has a finite score here.",
       fmt::format("kreg tune --train {0}train-images.idx --train-y {0}train-labels.idx "
                   "--test {0}test-images.idx --test-y {0}test-labels.idx --cv holdout "
                   "--dtype f32 --bandwidths logspace:-1:3:30 --plot pixels.svg    # --cv 5 "
                   "without --test for the folds",
                   data)});
  return out;
}

}  // namespace kreg::cli::tutorial
