// kreg/io/npy.hpp - numpy's .npy files.
//
// Reads format versions 1.0, 2.0 and 3.0 with little-endian dtypes f4, f8,
// i4, i8 and u1 (and '|u1', '|i1'), converting to T. A 1-D array of n values
// becomes an n x 1 matrix; an array of shape (n, a, b, ...) becomes n x
// (a*b*...) (images flatten row-major). Fortran-order arrays are transposed
// into kreg's row-major layout. Big-endian data, object arrays and other
// dtypes are rejected, naming the dtype found. A header that declares more
// data than the file holds is an error before anything is allocated.
#pragma once

#include <string>
#include <vector>

#include "kreg/io/table.hpp"

namespace kreg::io {

struct NpyHeader {
  int major_version = 1;
  std::string descr;  // e.g. "<f8"
  bool fortran_order = false;
  std::vector<index_t> shape;
  index_t data_offset = 0;  // where the array data starts in the file
};

// Reads and validates the header only.
NpyHeader read_npy_header(const std::string& path);

template <class T>
Matrix<T> read_npy(const std::string& path, NonFinite non_finite = NonFinite::reject);

// Writes a version 1.0 file with dtype <f4 (float) or <f8 (double) in C
// order. With `as_vector` and a single column, the shape is (n,) as numpy
// users expect for targets; otherwise (rows, cols). Written to a temporary
// name, then renamed.
template <class T>
void write_npy(const std::string& path, MatrixView<const T> data, bool as_vector = false);

}  // namespace kreg::io
