// target_file.hpp - a target column given as its own file (--train-y,
// --query-y, --test-y), shared by the commands that read one.
#pragma once

#include <fmt/format.h>

#include <string>
#include <utility>

#include "kreg/error.hpp"
#include "kreg/io/table.hpp"
#include "kreg/matrix.hpp"

namespace kreg::cli {

// Reads `path` as exactly one column with `rows` rows (the features' count);
// `option` names the flag in errors.
template <class T>
inline Matrix<T> target_file(const std::string& path, index_t rows, const char* option) {
  auto t = io::read_table<T>(path);
  if (t.data.cols() != 1) {
    throw ArgumentError(fmt::format("{} '{}' has {} columns; it must hold one target column",
                                    option, path, t.data.cols()));
  }
  if (t.data.rows() != rows) {
    throw ArgumentError(fmt::format("{} '{}' has {} rows but the features have {}", option, path,
                                    t.data.rows(), rows));
  }
  return std::move(t.data);
}

}  // namespace kreg::cli
