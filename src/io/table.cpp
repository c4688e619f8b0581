// io/table.cpp - format dispatch by file name, and choosing a target column.
#include "kreg/io/table.hpp"

#include <fmt/format.h>

#include <charconv>

#include "io/file.hpp"
#include "kreg/io/csv.hpp"
#include "kreg/io/idx.hpp"
#include "kreg/io/npy.hpp"

namespace kreg::io {

namespace {

enum class Format { csv, npy, idx };

Format format_of(const std::string& path) {
  using detail::ends_with_nocase;
  std::string_view name = path;
  if (ends_with_nocase(name, ".gz")) name.remove_suffix(3);
  if (ends_with_nocase(name, ".npy")) return Format::npy;
  if (ends_with_nocase(name, ".idx") || ends_with_nocase(name, "-ubyte") ||
      ends_with_nocase(name, ".idx1") || ends_with_nocase(name, ".idx3")) {
    return Format::idx;
  }
  if (ends_with_nocase(path, ".gz")) {
    throw ArgumentError(fmt::format(
        "'{}': kreg reads gzip-compressed IDX files only; decompress CSV and NPY files first",
        path));
  }
  return Format::csv;
}

std::string names_for_message(const std::vector<std::string>& columns) {
  std::string out;
  for (std::size_t j = 0; j < columns.size() && j < 20; ++j) {
    out += (j ? ", '" : "'") + detail::printable(columns[j], 200) + "'";
  }
  if (columns.size() > 20) out += fmt::format(", ... ({} columns)", columns.size());
  return out;
}

}  // namespace

template <class T>
Table<T> read_table(const std::string& path, const ReadOptions& options) {
  switch (format_of(path)) {
    case Format::npy:
      return {read_npy<T>(path, options.non_finite), {}};
    case Format::idx:
      return {read_idx<T>(path, options.non_finite), {}};
    case Format::csv:
      break;
  }
  CsvOptions csv;
  csv.delimiter = options.delimiter != 0                   ? options.delimiter
                  : detail::ends_with_nocase(path, ".tsv") ? '\t'
                                                           : ',';
  csv.non_finite = options.non_finite;
  csv.n_jobs = options.n_jobs;
  return read_csv<T>(path, csv);
}

template <class T>
void write_table(const std::string& path, MatrixView<const T> data,
                 const std::vector<std::string>& columns) {
  if (detail::ends_with_nocase(path, ".npy")) {
    write_npy<T>(path, data, /*as_vector=*/data.cols() == 1);
  } else {
    write_csv<T>(path, data, columns, detail::ends_with_nocase(path, ".tsv") ? '\t' : ',');
  }
}

index_t resolve_column(std::string_view spec, const std::vector<std::string>& columns,
                       index_t n_cols) {
  for (std::size_t j = 0; j < columns.size(); ++j) {
    if (columns[j] == spec) return static_cast<index_t>(j);
  }
  index_t index = 0;
  const auto [end, ec] = std::from_chars(spec.data(), spec.data() + spec.size(), index);
  if (ec == std::errc() && end == spec.data() + spec.size()) {
    if (index < -n_cols || index >= n_cols) {
      throw ArgumentError(fmt::format(
          "column index {} is out of range: the data has {} columns (0..{}, or -1 for the last)",
          index, n_cols, n_cols - 1));
    }
    return index < 0 ? index + n_cols : index;
  }
  if (columns.empty()) {
    throw ArgumentError(fmt::format(
        "no column named '{}': this file has no column names; give the target as a column "
        "index (0..{}, or -1 for the last)",
        detail::printable(spec, 200), n_cols - 1));
  }
  throw ArgumentError(fmt::format("no column named '{}'; the columns are {}",
                                  detail::printable(spec, 200), names_for_message(columns)));
}

template <class T>
Dataset<T> split_target(const Table<T>& table, std::string_view target_spec) {
  return split_target(Table<T>(table), target_spec);
}

template <class T>
Dataset<T> split_target(Table<T>&& table, std::string_view target_spec) {
  const index_t n = table.data.rows();
  const index_t c = table.data.cols();
  std::vector<std::string> names = std::move(table.columns);
  const bool named = !names.empty();
  const index_t t = target_spec.empty() ? -1 : resolve_column(target_spec, names, c);
  if (!named) {
    for (index_t j = 0; j < c; ++j) names.push_back(fmt::format("x{}", j));
  }
  Dataset<T> out;
  if (t < 0) {
    out.X = std::move(table.data);
    out.y = Matrix<T>(n, 0);
    out.features = std::move(names);
    return out;
  }
  out.y = Matrix<T>::uninitialized(n, 1);
  // Row i's features move from i * c to i * (c - 1): never past a value not
  // yet read, so one forward pass compacts them in place.
  T* const a = table.data.data();
  for (index_t i = 0; i < n; ++i) {
    const T* from = a + i * c;
    T* to = a + i * (c - 1);
    out.y(i, 0) = from[t];
    for (index_t j = 0; j < t; ++j) to[j] = from[j];
    for (index_t j = t + 1; j < c; ++j) to[j - 1] = from[j];
  }
  table.data.shrink_to(n, c - 1);
  out.X = std::move(table.data);
  out.target = named ? names[t] : fmt::format("column {}", t);
  for (index_t j = 0; j < c; ++j) {
    if (j != t) out.features.push_back(std::move(names[j]));
  }
  return out;
}

#define KREG_INSTANTIATE(T)                                                \
  template Table<T> read_table<T>(const std::string&, const ReadOptions&); \
  template void write_table<T>(const std::string&, MatrixView<const T>,    \
                               const std::vector<std::string>&);           \
  template Dataset<T> split_target<T>(const Table<T>&, std::string_view);  \
  template Dataset<T> split_target<T>(Table<T>&&, std::string_view);
KREG_INSTANTIATE(float)
KREG_INSTANTIATE(double)
#undef KREG_INSTANTIATE

}  // namespace kreg::io
