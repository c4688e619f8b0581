// image_set.hpp - MNIST-style image sets (MNIST, Fashion-MNIST, KMNIST...)
// from a directory holding the four standard IDX files, shared by the
// commands that train on images (infer, cv).
#pragma once

#include <fmt/format.h>

#include <algorithm>
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "kreg/error.hpp"
#include "kreg/io/idx.hpp"
#include "kreg/matrix.hpp"

namespace kreg::cli {

struct ImageSet {
  Matrix<std::uint8_t> images;  // n x (height * width) pixels
  std::vector<double> labels;   // n class labels
  index_t height = 0, width = 0;
  std::string images_path, labels_path;
};

// DIR/<name> or DIR/<name>.gz, whichever exists (the plain file first).
inline std::string find_idx_file(const std::string& dir, const std::string& name,
                                 const char* option) {
  namespace fs = std::filesystem;
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) {
    throw InputError(
        fmt::format("{} '{}' is not a directory; give the directory that holds {}.gz "
                    "and its siblings (e.g. /usr/share/datasets/fashion-mnist)",
                    option, dir, name));
  }
  for (const std::string& candidate : {name, name + ".gz"}) {
    const fs::path path = fs::path(dir) / candidate;
    if (fs::exists(path, ec)) return path.string();
  }
  throw InputError(
      fmt::format("{} '{}' has no {} (or {}.gz); an image directory holds the MNIST file names: "
                  "train-images-idx3-ubyte, train-labels-idx1-ubyte, t10k-images-idx3-ubyte, "
                  "t10k-labels-idx1-ubyte (each optionally .gz)",
                  option, dir, name, name));
}

// Checks a row-count flag: a positive count or -1 (all).
inline void check_rows_option(index_t rows, const char* rows_option) {
  if (rows < -1 || rows == 0) {
    throw ArgumentError(
        fmt::format("{} must be a positive row count (or -1 for all)", rows_option));
  }
}

// The first `rows` images and labels of set `prefix` ("train" or "t10k") in
// `dir`; rows = -1 takes all. A set with fewer rows is an error when `exact`
// (the user asked for that many), else all of it is used (a default count).
// `option`/`rows_option` name the flags in errors.
inline ImageSet load_image_set(const std::string& dir, const std::string& prefix, index_t rows,
                               bool exact, const char* option, const char* rows_option) {
  ImageSet set;
  set.images_path = find_idx_file(dir, prefix + "-images-idx3-ubyte", option);
  set.labels_path = find_idx_file(dir, prefix + "-labels-idx1-ubyte", option);
  const io::IdxHeader ih = io::read_idx_header(set.images_path);
  if (ih.type != io::IdxType::u8 || ih.dims.size() != 3) {
    throw InputError(
        fmt::format("'{}' must hold ubyte images (n x height x width); it has type "
                    "0x{:02X} and {} dimensions",
                    set.images_path, static_cast<int>(ih.type), ih.dims.size()));
  }
  const io::IdxHeader lh = io::read_idx_header(set.labels_path);
  if (lh.dims.size() != 1) {
    throw InputError(fmt::format("'{}' must hold one label per image (1 dimension); it has {}",
                                 set.labels_path, lh.dims.size()));
  }
  if (lh.dims[0] != ih.dims[0]) {
    throw InputError(fmt::format("'{}' has {} labels but '{}' has {} images; they must match",
                                 set.labels_path, lh.dims[0], set.images_path, ih.dims[0]));
  }
  check_rows_option(rows, rows_option);
  if (exact && rows > ih.dims[0]) {
    throw ArgumentError(fmt::format("{} {} asks for more images than '{}' holds ({})", rows_option,
                                    rows, set.images_path, ih.dims[0]));
  }
  const index_t n = rows < 0 ? ih.dims[0] : std::min(rows, ih.dims[0]);
  set.height = ih.dims[1];
  set.width = ih.dims[2];
  Matrix<std::uint8_t> all = io::read_idx<std::uint8_t>(set.images_path);
  set.images =
      n == all.rows() ? std::move(all) : Matrix<std::uint8_t>::from(all.view().rows_between(0, n));
  const Matrix<double> labels = io::read_idx<double>(set.labels_path);
  set.labels.assign(labels.data(), labels.data() + n);
  return set;
}

}  // namespace kreg::cli
