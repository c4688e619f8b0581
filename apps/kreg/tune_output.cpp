// tune_output.cpp - `kreg tune`'s results: the JSON (like scikit-learn's
// cv_results_), the CSV, the SVG chart and the summary on stdout, each
// answering a stop request every few thousand values.
#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <iterator>
#include <nlohmann/json.hpp>
#include <span>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include "kreg/io/text.hpp"
#include "kreg/plot.hpp"
#include "kreg/version.hpp"
#include "tune_cli.hpp"

namespace kreg::cli {

namespace {

using json = nlohmann::json;

// `v` as JSON, as the JSON library writes it: integers as they are; doubles
// in the shortest form that reads back to the same bits, whole ones with
// ".0"; NaN and infinities as null (JSON has neither).
template <class V>
void append_json_number(std::string& out, V v) {
  if constexpr (std::is_floating_point_v<V>) {
    if (!std::isfinite(v)) {
      out += "null";
      return;
    }
    const std::size_t first = out.size();
    fmt::format_to(std::back_inserter(out), "{}", v);
    if (out.find_first_of(".e", first) == std::string::npos) out += ".0";
  } else {
    fmt::format_to(std::back_inserter(out), "{}", v);
  }
}

// `"key": [values]` at depth 2 of an indent-2 document, one value a line,
// answering a stop request every 4096 values.
template <class V>
void append_json_array(std::string& out, std::string_view key, std::span<const V> values,
                       const CancelToken& cancel) {
  out += fmt::format("    \"{}\": [", key);
  for (std::size_t i = 0; i < values.size(); ++i) {
    if (i % 4096 == 0) throw_if_cancelled(&cancel);
    out += i == 0 ? "\n      " : ",\n      ";
    append_json_number(out, values[i]);
  }
  out += values.empty() ? "]" : "\n    ]";
}

std::string score_name(Scoring scoring) {
  return scoring == Scoring::r2 ? "R^2" : scoring == Scoring::mse ? "MSE" : "MAE";
}

void write_json(const TuneReport& r, const CancelToken& cancel, double total_s) {
  const TuneCliOptions& o = r.o;
  const CvScores& scores = r.result.scores;
  const auto& optimum = r.result.optimum;
  const auto best = static_cast<std::size_t>(scores.best);
  json result = {{"kreg_version", std::string(version)},
                 {"train", o.files.train},
                 {"n_train", r.n},
                 {"n_features", r.d},
                 {"n_outputs", r.k},
                 {"kernel", o.kernel},
                 {"dtype", o.dtype},
                 {"cv", to_string(r.cv.cv)},
                 {"n_splits", r.n_splits},
                 {"scoring", to_string(r.cv.scoring)},
                 {"greater_is_better", greater_is_better(r.cv.scoring)},
                 {"best_index", scores.best},
                 {"best_bandwidth", scores.h[best]},
                 {"best_score", scores.mean[best]}};
  if (optimum) {
    result["optimized"] = {{"method", to_string(optimum->method)},
                           {"bandwidth", optimum->bandwidth},
                           {"score", optimum->score},
                           {"evaluations", optimum->evaluations},
                           {"converged", optimum->converged},
                           {"message", optimum->message}};
  }
  if (!r.refit.is_null()) result["refit"] = r.refit;
  result["timing"] = {{"read_s", r.read_s},
                      {"grid_s", r.result.grid_s},
                      {"optimize_s", r.result.optimize_s},
                      {"total_s", total_s},
                      {"grid_task_s", scores.seconds},
                      {"per_bandwidth_s", scores.seconds / static_cast<double>(scores.h.size())}};
  // cv_results last, written by append_json_array: a million-bandwidth grid
  // takes seconds to format, with a check for a stop request every few
  // thousand values.
  std::string text = result.dump(2, ' ', false, json::error_handler_t::replace);
  text.resize(text.size() - 2);  // the closing "\n}"
  text += ",\n  \"cv_results\": {\n";
  append_json_array<double>(text, "param_bandwidth", scores.h, cancel);
  text += ",\n";
  append_json_array<double>(text, "mean_test_score", scores.mean, cancel);
  text += ",\n";
  append_json_array<double>(text, "std_test_score", scores.std, cancel);
  text += ",\n";
  append_json_array<int>(text, "rank_test_score", scores.rank, cancel);
  text += ",\n";
  append_json_array<index_t>(text, "isolated_queries", scores.isolated, cancel);
  std::vector<double> col(scores.splits.size());
  for (index_t s = 0; s < r.n_splits; ++s) {
    for (std::size_t b = 0; b < col.size(); ++b) col[b] = scores.splits[b][s];
    text += ",\n";
    append_json_array<double>(text, fmt::format("split{}_test_score", s), col, cancel);
  }
  text += "\n  }\n}\n";
  throw_if_cancelled(&cancel);
  io::write_text_atomic(o.out, text);
}

void write_csv(const TuneReport& r, const CancelToken& cancel) {
  const CvScores& scores = r.result.scores;
  std::string text = "bandwidth,mean_test_score,std_test_score,rank_test_score";
  for (index_t s = 0; s < r.n_splits; ++s) text += fmt::format(",split{}_test_score", s);
  text += ",isolated_queries\n";
  for (std::size_t b = 0; b < scores.h.size(); ++b) {
    if (b % 4096 == 0) throw_if_cancelled(&cancel);
    text += fmt::format("{:.17g},{:.17g},{:.17g},{}", scores.h[b], scores.mean[b], scores.std[b],
                        scores.rank[b]);
    for (const double v : scores.splits[b]) text += fmt::format(",{:.17g}", v);
    text += fmt::format(",{}\n", scores.isolated[b]);
  }
  throw_if_cancelled(&cancel);
  io::write_text_atomic(r.o.csv, text);
}

void write_plot(const TuneReport& r) {
  const CvScores& scores = r.result.scores;
  const auto& optimum = r.result.optimum;
  const auto best = static_cast<std::size_t>(scores.best);
  const std::string name = score_name(r.cv.scoring);
  LineChart chart;
  chart.title = "Nadaraya-Watson Performance vs. Bandwidth";
  chart.x_label = "Bandwidth";
  chart.y_label = fmt::format("{} Score ({})", name, to_string(r.cv.cv));
  chart.log_x = true;
  std::vector<std::size_t> order(scores.h.size());
  for (std::size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::sort(order.begin(), order.end(), [&](auto a, auto b) { return scores.h[a] < scores.h[b]; });
  Series series;
  series.label =
      fmt::format("mean {} over {} split{}", name, r.n_splits, r.n_splits == 1 ? "" : "s");
  for (const auto i : order) {
    series.x.push_back(scores.h[i]);
    series.y.push_back(scores.mean[i]);
  }
  chart.series.push_back(series);
  chart.markers.push_back(
      {scores.h[best], scores.mean[best],
       fmt::format("best h = {:.4g}, {} = {:.4f}", scores.h[best], name, scores.mean[best])});
  if (optimum && optimum->method == TuneOptimizer::scalar) {
    chart.markers.push_back({optimum->bandwidth[0], optimum->score,
                             fmt::format("optimum h = {:.4g}", optimum->bandwidth[0])});
  }
  write_svg(r.o.plot, chart);
}

}  // namespace

void write_tune_results(const TuneReport& report, const CancelToken& cancel,
                        std::vector<std::string>& written, double total_s) {
  const TuneCliOptions& o = report.o;
  if (!o.out.empty()) {
    write_json(report, cancel, total_s);
    written.push_back(o.out);
  }
  throw_if_cancelled(&cancel);
  if (!o.csv.empty()) {
    write_csv(report, cancel);
    written.push_back(o.csv);
  }
  throw_if_cancelled(&cancel);
  if (!o.plot.empty()) write_plot(report);
  throw_if_cancelled(&cancel);
  if (!o.plot.empty()) written.push_back(o.plot);
}

void print_tune_summary(const TuneReport& r, const CancelToken& cancel, double total_s) {
  const TuneCliOptions& o = r.o;
  const CvScores& scores = r.result.scores;
  const auto& optimum = r.result.optimum;
  const auto best = static_cast<std::size_t>(scores.best);
  const std::string name = score_name(r.cv.scoring);
  // One split (holdout, leave-one-out scored as one): its score, no mean or
  // spread to show (the JSON keeps std_test_score = 0, as scikit-learn's).
  const bool one_split = r.n_splits == 1;
  if (one_split) {
    fmt::print("{:>14}  {:>12}  {:>4}\n", "bandwidth", name, "rank");
  } else {
    fmt::print("{:>14}  {:>12}  {:>10}  {:>4}\n", "bandwidth", fmt::format("mean {}", name), "std",
               "rank");
  }
  for (std::size_t b = 0; b < scores.h.size(); ++b) {
    if (b % 4096 == 0) throw_if_cancelled(&cancel);
    const char* mark = b == best ? "  <- best" : "";
    if (one_split) {
      fmt::print("{:>14.6g}  {:>12.6f}  {:>4}{}\n", scores.h[b], scores.mean[b], scores.rank[b],
                 mark);
    } else {
      fmt::print("{:>14.6g}  {:>12.6f}  {:>10.6f}  {:>4}{}\n", scores.h[b], scores.mean[b],
                 scores.std[b], scores.rank[b], mark);
    }
  }
  fmt::print("best bandwidth: {:.6g} ({} {} = {:.6f})\n", scores.h[best], to_string(r.cv.cv), name,
             scores.mean[best]);
  if (optimum) {
    fmt::print("optimized ({}): bandwidth {:.6g}, {} = {:.6f}, {} evaluations{}\n",
               to_string(optimum->method), fmt::join(optimum->bandwidth, ", "), name,
               optimum->score, optimum->evaluations,
               optimum->converged ? "" : fmt::format(" ({})", optimum->message));
    for (std::size_t f = 0; f < optimum->at_upper.size(); ++f) {
      if (optimum->at_upper[f]) {
        fmt::print(
            "  feature {} ({}): bandwidth at the search's upper bound: it does not help "
            "predict the target\n",
            f, r.features[f]);
      }
    }
  }
  if (r.refit_score) {
    fmt::print("refit on --train, R^2 on --test: {:.6f} (written to {})\n", *r.refit_score,
               o.refit);
  }
  std::int64_t isolated = 0;
  for (const auto v : scores.isolated) isolated += v;
  if (isolated > 0) {
    fmt::print(stderr,
               "note: at some bandwidths queries had no training point inside the kernel's "
               "support and got their nearest neighbour's y (isolated_queries in the results)\n");
  }
  if (!o.quiet) {
    fmt::print(stderr, "time: read {:.3f} s, grid {:.3f} s, optimize {:.3f} s, total {:.3f} s\n",
               r.read_s, r.result.grid_s, r.result.optimize_s, total_s);
  }
}

}  // namespace kreg::cli
