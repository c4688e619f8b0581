// kreg/io/csv.hpp - delimited text files.
//
// Reading: an optional header row of column names, then one row of numbers
// per line. Fields may be quoted ("1.5", "a ""name"""); lines end in LF,
// CRLF or (old Mac files) CR alone; a final newline is optional; blank lines at the end are
// ignored. Every row must have as many fields as the first. Errors name file:line:column and what
// was expected there, e.g.
//   data.csv:3:7: expected a number, found 'abc' (column 'x2')
// Numbers are parsed with std::from_chars (round-trip exact, locale-free).
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "kreg/io/table.hpp"

namespace kreg::io {

struct CsvOptions {
  char delimiter = ',';
  bool header = true;                        // first row holds column names
  NonFinite non_finite = NonFinite::reject;  // nan, inf cells
  // Threads that parse a large file (pieces of whole lines, when it has no
  // quoted field): -1 all cores, k > 0 exactly k, as n_jobs everywhere in
  // kreg. The table, and the error for a bad file, do not depend on it.
  int n_jobs = -1;
};

template <class T>
Table<T> read_csv(const std::string& path, const CsvOptions& options = {});

// Parses CSV text held in memory; `source` names it in error messages.
template <class T>
Table<T> parse_csv(std::string_view text, const CsvOptions& options = {},
                   std::string_view source = "<text>");

// Writes `data` with a header row when `columns` is not empty (its size must
// equal data.cols()). Values are written in the shortest form that reads back
// to the same number. The file appears complete or not at all (written to a
// temporary name, then renamed).
template <class T>
void write_csv(const std::string& path, MatrixView<const T> data,
               const std::vector<std::string>& columns = {}, char delimiter = ',');

// The same text write_csv would write, as a string.
template <class T>
std::string format_csv(MatrixView<const T> data, const std::vector<std::string>& columns = {},
                       char delimiter = ',');

}  // namespace kreg::io
