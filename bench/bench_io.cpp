// Micro-benchmarks for kreg's readers and writers.
#include <benchmark/benchmark.h>

#include <random>
#include <string>
#include <utility>
#include <vector>

#include "kreg/io/csv.hpp"

namespace {

// ------------------------------------------------------------------------ CSV

constexpr kreg::index_t kCsvRows = 100000;
constexpr kreg::index_t kCsvCols = 10;

kreg::Matrix<double> csv_matrix() {
  std::mt19937_64 rng(7);
  std::normal_distribution<double> normal(0.0, 10.0);
  kreg::Matrix<double> m(kCsvRows, kCsvCols);
  for (kreg::index_t i = 0; i < m.size(); ++i) m.data()[i] = normal(rng);
  return m;
}

std::vector<std::string> csv_columns() {
  std::vector<std::string> names;
  for (kreg::index_t j = 0; j < kCsvCols; ++j) {
    std::string name = "x";
    name += std::to_string(j);
    names.push_back(std::move(name));
  }
  return names;
}

// parse_csv<double> of an in-memory 100000 x 10 file of random numbers
// written in shortest round-trip form (about 19 bytes a number).
void BM_CsvParse(benchmark::State& state) {
  const std::string text = kreg::io::format_csv<double>(csv_matrix().view(), csv_columns());
  for (auto _ : state) {
    auto table = kreg::io::parse_csv<double>(text);
    benchmark::DoNotOptimize(table.data.data());
  }
  state.SetBytesProcessed(state.iterations() * static_cast<std::int64_t>(text.size()));
  state.counters["MB"] = static_cast<double>(text.size()) / 1e6;
}
BENCHMARK(BM_CsvParse)->Unit(benchmark::kMillisecond);

// format_csv<double> of the same matrix; bytes are the text produced.
void BM_CsvFormat(benchmark::State& state) {
  const kreg::Matrix<double> m = csv_matrix();
  const std::vector<std::string> names = csv_columns();
  std::size_t bytes = 0;
  for (auto _ : state) {
    const std::string text = kreg::io::format_csv<double>(m.view(), names);
    bytes = text.size();
    benchmark::DoNotOptimize(text.data());
  }
  state.SetBytesProcessed(state.iterations() * static_cast<std::int64_t>(bytes));
}
BENCHMARK(BM_CsvFormat)->Unit(benchmark::kMillisecond);

}  // namespace
