// select/scoring.cpp - CV specs and scorers by name, score summaries, and
// the generic fold runner (kreg/select.hpp).
#include <fmt/format.h>

#include <charconv>
#include <cmath>
#include <exception>
#include <string>

#include "kreg/error.hpp"
#include "kreg/par.hpp"
#include "kreg/select.hpp"
#include "nw/scaling.hpp"
#include "select/scoring.hpp"

namespace kreg {

namespace {

struct ScoringName {
  std::string_view name;
  Scoring scoring;
};
constexpr ScoringName kScoringNames[] = {
    {"r2", Scoring::r2},
    {"mse", Scoring::mse},
    {"mae", Scoring::mae},
    {"neg_mean_squared_error", Scoring::mse},
    {"neg_mean_absolute_error", Scoring::mae},
};

}  // namespace

namespace detail {

std::pair<double, double> mean_and_std(std::span<const double> v) {
  const auto S = static_cast<double>(v.size());
  double mean = 0;
  for (const double x : v) mean += x;
  mean /= S;
  if (std::isinf(mean)) {
    mean = 0;
    for (const double x : v) mean += x / S;
  }
  double var = 0;
  for (const double x : v) var += (x - mean) * (x - mean);
  if (std::isinf(var)) {
    double largest = 0;
    for (const double x : v) largest = std::max(largest, std::abs(x - mean));
    const int e = nw::bits_of(largest);
    var = 0;
    for (const double x : v) {
      const double d = std::ldexp(x - mean, -e);
      var += d * d;
    }
    return {mean, std::ldexp(std::sqrt(var / S), e)};
  }
  return {mean, std::sqrt(var / S)};
}

}  // namespace detail

Scoring parse_scoring(std::string_view name) {
  for (const auto& s : kScoringNames) {
    if (s.name == name) return s.scoring;
  }
  throw ArgumentError(
      fmt::format("unknown scoring '{}'; choose r2, mse (neg_mean_squared_error) or mae "
                  "(neg_mean_absolute_error)",
                  name));
}

std::string_view to_string(Scoring scoring) {
  switch (scoring) {
    case Scoring::r2:
      return "r2";
    case Scoring::mse:
      return "mse";
    case Scoring::mae:
      return "mae";
  }
  return "?";
}

bool greater_is_better(Scoring scoring) { return scoring == Scoring::r2; }

CvSpec parse_cv(std::string_view text) {
  CvSpec cv;
  if (text == "loo") {
    cv.kind = CvSpec::Kind::loo;
    return cv;
  }
  if (text == "holdout") {
    cv.kind = CvSpec::Kind::holdout;
    return cv;
  }
  long long k = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), k);
  if (ec != std::errc() || end != text.data() + text.size()) {
    throw ArgumentError(fmt::format(
        "cv '{}' is not understood; give loo, holdout or a fold count such as 5", text));
  }
  if (k < 2) {
    throw ArgumentError(fmt::format("cv = {} folds is too few; k-fold needs at least 2", k));
  }
  cv.kind = CvSpec::Kind::kfold;
  cv.folds = static_cast<index_t>(k);
  return cv;
}

std::string to_string(const CvSpec& cv) {
  switch (cv.kind) {
    case CvSpec::Kind::loo:
      return "loo";
    case CvSpec::Kind::holdout:
      return "holdout";
    case CvSpec::Kind::kfold:
      break;
  }
  return cv.shuffle ? fmt::format("{}-fold (shuffled, seed {})", cv.folds, cv.seed)
                    : fmt::format("{}-fold (not shuffled)", cv.folds);
}

void for_each_split(index_t n_splits, int n_jobs, const std::function<void(index_t)>& fn,
                    const CancelToken* cancel) {
  par::Options options;
  options.n_jobs = n_jobs;
  options.batch_size = 1;  // a split is a whole fit: never batch two
  options.cancel = cancel;
  try {
    par::parallel_for(
        n_splits, [&](index_t s) { fn(s); }, options);
  } catch (const par::TaskError& e) {
    std::rethrow_exception(e.nested());  // the split's own exception, type and message
  }
}

}  // namespace kreg
