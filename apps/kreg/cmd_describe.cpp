// cmd_describe.cpp - `kreg describe FILE`: shape and per-column statistics
// of any file kreg reads, so a user can check data before fitting on it.
#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>

#include "cli_util.hpp"
#include "commands.hpp"
#include "kreg/io/table.hpp"

namespace kreg::cli {

namespace {

struct DescribeOptions {
  std::string path;
  char delimiter = 0;
  bool allow_nonfinite = false;
  index_t max_columns = 12;
  bool json = false;
};

struct ColumnStats {
  double min = std::numeric_limits<double>::infinity();
  double max = -std::numeric_limits<double>::infinity();
  double mean = 0;
  double std = 0;
  index_t nonfinite = 0;
};

std::vector<ColumnStats> column_stats(const Matrix<double>& m) {
  std::vector<ColumnStats> stats(static_cast<std::size_t>(m.cols()));
  std::vector<long double> sum(stats.size()), sum_sq(stats.size());
  std::vector<index_t> finite(stats.size());
  for (index_t i = 0; i < m.rows(); ++i) {
    for (index_t j = 0; j < m.cols(); ++j) {
      const double v = m(i, j);
      auto& s = stats[j];
      if (!std::isfinite(v)) {
        ++s.nonfinite;
        continue;
      }
      s.min = std::min(s.min, v);
      s.max = std::max(s.max, v);
      sum[j] += v;
      ++finite[j];
    }
  }
  for (std::size_t j = 0; j < stats.size(); ++j) {
    if (finite[j] > 0) stats[j].mean = static_cast<double>(sum[j] / finite[j]);
  }
  for (index_t i = 0; i < m.rows(); ++i) {
    for (index_t j = 0; j < m.cols(); ++j) {
      const double v = m(i, j);
      if (std::isfinite(v)) sum_sq[j] += (v - stats[j].mean) * (v - stats[j].mean);
    }
  }
  for (std::size_t j = 0; j < stats.size(); ++j) {
    if (finite[j] > 0) stats[j].std = std::sqrt(static_cast<double>(sum_sq[j] / finite[j]));
  }
  return stats;
}

void run(const DescribeOptions& o) {
  io::ReadOptions read;
  read.delimiter = o.delimiter;
  read.non_finite = o.allow_nonfinite ? io::NonFinite::allow : io::NonFinite::reject;
  // Reading leaves nothing behind: a signal ends it at once (a read may block
  // on a pipe); main polls the run's token after the output.
  std::optional<ExitOnSignal> reading(std::in_place);
  const auto table = io::read_table<double>(o.path, read);
  const auto stats = column_stats(table.data);
  reading.reset();
  auto name = [&](index_t j) {
    return table.columns.empty() ? fmt::format("col{}", j) : table.columns[j];
  };
  if (o.json) {
    nlohmann::ordered_json cols = nlohmann::ordered_json::array();
    for (index_t j = 0; j < table.data.cols(); ++j) {
      const auto& s = stats[j];
      cols.push_back({{"name", name(j)},
                      {"min", s.min},
                      {"max", s.max},
                      {"mean", s.mean},
                      {"std", s.std},
                      {"nonfinite", s.nonfinite}});
    }
    nlohmann::ordered_json out = {{"file", o.path},
                                  {"rows", table.data.rows()},
                                  {"cols", table.data.cols()},
                                  {"columns", cols}};
    // Column and file names are the user's bytes, not always UTF-8: the JSON
    // gets U+FFFD where they are not, rather than no output at all.
    fmt::print("{}\n", out.dump(2, ' ', false, nlohmann::json::error_handler_t::replace));
    return;
  }
  fmt::print("{}: {} x {}\n", o.path, count_of(table.data.rows(), "row"),
             count_of(table.data.cols(), "column"));
  fmt::print("{:>12} {:>12} {:>12} {:>12} {:>12}\n", "column", "min", "mean", "std", "max");
  const index_t shown = std::min<index_t>(table.data.cols(), o.max_columns);
  for (index_t j = 0; j < shown; ++j) {
    const auto& s = stats[j];
    fmt::print("{:>12} {:>12.6g} {:>12.6g} {:>12.6g} {:>12.6g}{}\n", name(j), s.min, s.mean, s.std,
               s.max, s.nonfinite ? fmt::format("  ({} NaN/Inf)", s.nonfinite) : "");
  }
  if (shown < table.data.cols()) {
    fmt::print("... {} more columns (--max-columns to show them)\n", table.data.cols() - shown);
  }
}

}  // namespace

void add_describe(CLI::App& root) {
  auto o = std::make_shared<DescribeOptions>();
  auto* cmd = root.add_subcommand(
      "describe", "Print the shape and per-column min, mean, std and max of a data file");
  cmd->add_option("file", o->path, "CSV, TSV, NPY or IDX (.gz) file")
      ->required()
      ->check(CLI::ExistingFile);
  cmd->add_option("--delimiter", o->delimiter, "CSV field delimiter (default ',', tab for .tsv)");
  cmd->add_flag("--allow-nonfinite", o->allow_nonfinite,
                "Read NaN/Inf cells and count them instead of rejecting the file");
  cmd->add_option("--max-columns", o->max_columns, "Columns to show in the table")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  cmd->add_flag("--json", o->json, "Print JSON (every column)");
  cmd->callback([o] { run(*o); });
}

}  // namespace kreg::cli
