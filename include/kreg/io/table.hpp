// kreg/io/table.hpp - what every reader returns, and choosing a target column.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "kreg/matrix.hpp"

namespace kreg::io {

// A matrix plus its column names. `columns` is empty for formats without
// names (NPY, IDX); otherwise columns.size() == data.cols().
template <class T>
struct Table {
  Matrix<T> data;
  std::vector<std::string> columns;
};

// What readers do with NaN and +-Inf cells. The default rejects them with the
// file, row and column, because a single NaN silently poisons every
// prediction that touches it. `allow` keeps them as they are.
enum class NonFinite { reject, allow };

// Features and target split out of one table.
template <class T>
struct Dataset {
  Matrix<T> X;                        // n x d features
  Matrix<T> y;                        // n x 1 target (n x 0 when there is none)
  std::vector<std::string> features;  // d names (generated "x0".. when the file has none)
  std::string target;                 // the target's name ("" when there is none)
};

// Index of the column named by `spec`: a column name, or an integer index
// (negative counts from the end, -1 is the last column). Throws
// ArgumentError listing the available names when nothing matches.
index_t resolve_column(std::string_view spec, const std::vector<std::string>& columns,
                       index_t n_cols);

// Splits `table` into features and the target column named by `target_spec`
// (see resolve_column). An empty spec means no target: every column is a
// feature.
template <class T>
Dataset<T> split_target(const Table<T>& table, std::string_view target_spec);
// The same, reusing the table's storage for the features (no copy of the
// data; the table is left empty).
template <class T>
Dataset<T> split_target(Table<T>&& table, std::string_view target_spec);

}  // namespace kreg::io

namespace kreg::io {

// Any supported file, chosen by name: .csv/.tsv/.txt (CSV), .npy (NPY), .idx,
// *-ubyte and their .gz (IDX). `delimiter` applies to CSV (.tsv defaults to
// tab); CSV has column names, the others do not.
struct ReadOptions {
  char delimiter = 0;  // 0: ',' (or '\t' for .tsv)
  NonFinite non_finite = NonFinite::reject;
  int n_jobs = -1;  // threads that parse a large CSV file (CsvOptions::n_jobs)
};

template <class T>
Table<T> read_table(const std::string& path, const ReadOptions& options = {});

// Writes CSV or NPY, chosen by the file name (.npy or anything else = CSV).
template <class T>
void write_table(const std::string& path, MatrixView<const T> data,
                 const std::vector<std::string>& columns = {});

}  // namespace kreg::io
