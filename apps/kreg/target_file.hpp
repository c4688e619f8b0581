// target_file.hpp - a target column given as its own file (--train-y,
// --query-y, --test-y), and the check that a second file's features are the
// training features, shared by the commands that read them.
#pragma once

#include <fmt/format.h>

#include <string>
#include <string_view>
#include <utility>

#include "kreg/error.hpp"
#include "kreg/io/table.hpp"
#include "kreg/matrix.hpp"

namespace kreg::cli {

// Reads `path` as exactly one column with `rows` rows (the features' count);
// `option` names the flag in errors.
template <class T>
inline Matrix<T> target_file(const std::string& path, index_t rows, const char* option,
                             const io::ReadOptions& read = {}) {
  auto t = io::read_table<T>(path, read);
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

// Checks that `other`'s features (read from `other_path`) are `train`'s: the
// same count and, when `named` (both files name their columns), the same
// names in the same order; a file with its columns swapped would otherwise
// be predicted or scored silently wrong. `role` names the other file's
// features in the message ("query", "test").
template <class T>
inline void check_same_features(const io::Dataset<T>& train, const std::string& train_path,
                                const io::Dataset<T>& other, const std::string& other_path,
                                bool named, std::string_view role) {
  if (other.X.cols() != train.X.cols()) {
    throw ArgumentError(fmt::format("'{}' has {} features but '{}' has {}", other_path,
                                    other.X.cols(), train_path, train.X.cols()));
  }
  for (std::size_t f = 0; named && f < train.features.size(); ++f) {
    if (other.features[f] != train.features[f]) {
      throw ArgumentError(
          fmt::format("'{}' has column '{}' where '{}' has '{}' (feature {}); the {} features must "
                      "match the training features in name and order",
                      other_path, other.features[f], train_path, train.features[f], f, role));
    }
  }
}

}  // namespace kreg::cli
