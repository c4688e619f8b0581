// dist/rows.hpp - a matrix's rows shared out to the ranks and collected back
// in order: a command that shards independent rows (queries, images) reads
// them on rank 0, scatters each rank its contiguous share, and gathers the
// results on rank 0 in row order.
#pragma once

#include <algorithm>
#include <cstdint>
#include <span>
#include <stdexcept>
#include <vector>

#include "dist/bytes.hpp"
#include "dist/communicator.hpp"
#include "kreg/matrix.hpp"

namespace kreg::dist {

template <class T>
Bytes encode_rows(MatrixView<const T> rows) {
  ByteWriter w;
  w.put<index_t>(rows.rows());
  w.put<index_t>(rows.cols());
  w.put<std::uint64_t>(static_cast<std::uint64_t>(rows.rows() * rows.cols()));
  for (index_t i = 0; i < rows.rows(); ++i) {  // row by row: a view may have a stride
    w.put_raw<T>({&rows(i, 0), static_cast<std::size_t>(rows.cols())});
  }
  return w.take();
}

template <class T>
Matrix<T> decode_rows(const Bytes& bytes) {
  ByteReader r(bytes);
  const auto rows = r.get<index_t>(), cols = r.get<index_t>();
  const std::vector<T> values = r.get_vector<T>();
  if (static_cast<index_t>(values.size()) != rows * cols) {
    throw std::runtime_error("a block of rows between kreg's ranks has the wrong size");
  }
  Matrix<T> out(rows, cols);
  std::copy(values.begin(), values.end(), out.data());
  return out;
}

// Collective: rank r receives rows [share_begin(m, r), share_begin(m, r + 1))
// of rank 0's `all` (m x cols; read on rank 0 only).
template <class T>
Matrix<T> scatter_rows(Communicator& comm, MatrixView<const T> all) {
  std::vector<Bytes> parts;
  if (comm.is_root()) {
    const auto m = static_cast<std::size_t>(all.rows());
    for (int r = 0; r < comm.size(); ++r) {
      const auto b = static_cast<index_t>(share_begin(m, r, comm.size()));
      const auto e = static_cast<index_t>(share_begin(m, r + 1, comm.size()));
      parts.push_back(encode_rows<T>(all.rows_between(b, e)));
    }
  }
  return decode_rows<T>(comm.scatter(parts));
}

// Collective: every rank's `mine` (its share, `cols` columns), stacked in rank
// order on rank 0; an empty matrix elsewhere.
template <class T>
Matrix<T> gather_rows(Communicator& comm, MatrixView<const T> mine, index_t cols) {
  const std::vector<Bytes> all = comm.gather(encode_rows<T>(mine));
  if (!comm.is_root()) return {};
  std::vector<Matrix<T>> blocks;
  index_t rows = 0;
  for (const Bytes& b : all) {
    blocks.push_back(decode_rows<T>(b));
    rows += blocks.back().rows();
  }
  Matrix<T> out(rows, cols);
  T* at = out.data();
  for (const Matrix<T>& b : blocks) {
    if (b.rows() > 0 && b.cols() != cols) {
      throw std::runtime_error("a block of rows between kreg's ranks has the wrong width");
    }
    at = std::copy(b.data(), b.data() + b.rows() * b.cols(), at);
  }
  return out;
}

}  // namespace kreg::dist
