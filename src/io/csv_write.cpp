// io/csv_write.cpp - matrices as delimited text: an optional header row
// (names quoted where the reader would otherwise misread them), then each
// value in its shortest round-trip form (std::to_chars), written in place.
#include <fmt/format.h>

#include <algorithm>
#include <charconv>
#include <cstddef>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include "io/csv_delimiter.hpp"
#include "io/file.hpp"
#include "kreg/error.hpp"
#include "kreg/io/csv.hpp"

namespace kreg::io {

namespace {

bool needs_quotes(std::string_view name, char delimiter) {
  if (name.empty()) return false;
  const auto ws = [delimiter](char ch) {
    return (ch == ' ' && delimiter != ' ') || (ch == '\t' && delimiter != '\t');
  };
  if (ws(name.front()) || ws(name.back())) return true;  // the reader trims unquoted names
  return name.find_first_of(std::string{delimiter, '"', '\n', '\r'}) != std::string_view::npos;
}

}  // namespace

template <class T>
std::string format_csv(MatrixView<const T> data, const std::vector<std::string>& columns,
                       char delimiter) {
  detail::check_csv_delimiter(delimiter, "write_csv");
  if (!columns.empty() && static_cast<index_t>(columns.size()) != data.cols()) {
    throw ArgumentError(fmt::format("write_csv: {} column names given for a matrix of {} columns",
                                    columns.size(), data.cols()));
  }
  std::string out;
  for (std::size_t j = 0; j < columns.size(); ++j) {
    if (j > 0) out += delimiter;
    const std::string& name = columns[j];
    if (needs_quotes(name, delimiter)) {
      out += '"';
      for (const char ch : name) {
        if (ch == '"') out += '"';
        out += ch;
      }
      out += '"';
    } else {
      out += name;
    }
  }
  if (!columns.empty()) out += '\n';

  // The longest shortest-round-trip forms: -1.2345678e-38 (float),
  // -2.2250738585072014e-308 (double); plus a delimiter.
  constexpr std::size_t kMaxValue = std::is_same_v<T, float> ? 16 : 25;
  const auto rows = static_cast<std::size_t>(data.rows());
  const auto cols = static_cast<std::size_t>(data.cols());
  const std::size_t row_max = cols * kMaxValue + 1;
  std::size_t pos = out.size();
  out.resize(pos + rows * (cols * (kMaxValue - 4) + 1) + row_max);  // typical size, grows below
  for (index_t i = 0; i < data.rows(); ++i) {
    if (out.size() - pos < row_max) out.resize(std::max(out.size() * 3 / 2, pos + row_max));
    char* w = out.data() + pos;
    char* const limit = out.data() + out.size();
    const T* row = data.data() + i * data.ld();
    for (std::size_t j = 0; j < cols; ++j) {
      if (j > 0) *w++ = delimiter;
      w = std::to_chars(w, limit, row[j]).ptr;
    }
    *w++ = '\n';
    pos = static_cast<std::size_t>(w - out.data());
  }
  out.resize(pos);
  return out;
}

template <class T>
void write_csv(const std::string& path, MatrixView<const T> data,
               const std::vector<std::string>& columns, char delimiter) {
  const std::string text = format_csv<T>(data, columns, delimiter);
  detail::write_file_atomic(path, text);
}

template void write_csv<float>(const std::string&, MatrixView<const float>,
                               const std::vector<std::string>&, char);
template void write_csv<double>(const std::string&, MatrixView<const double>,
                                const std::vector<std::string>&, char);
template std::string format_csv<float>(MatrixView<const float>, const std::vector<std::string>&,
                                       char);
template std::string format_csv<double>(MatrixView<const double>, const std::vector<std::string>&,
                                        char);

}  // namespace kreg::io
