// kreg/matrix.hpp - dense row-major matrices: the data contract of kreg.
//
// The contract, stated once: a matrix of `rows` x `cols` elements is stored
// row-major with a leading dimension `ld >= cols`; component j of row i is
//
//     data[i * ld + j]
//
// Sizes and strides are 64-bit (kreg::index_t). MatrixView is a non-owning
// view (like std::span); Matrix owns contiguous storage (ld == cols). Every
// kreg function that takes data takes a MatrixView<const T>, so callers can
// pass their own buffers (numpy arrays, sub-blocks) without copies.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <type_traits>
#include <utility>

#include "kreg/error.hpp"

namespace kreg {

using index_t = std::int64_t;

template <class T>
class MatrixView {
 public:
  using value_type = std::remove_const_t<T>;

  MatrixView() = default;
  MatrixView(T* data, index_t rows, index_t cols) : MatrixView(data, rows, cols, cols) {}
  MatrixView(T* data, index_t rows, index_t cols, index_t ld)
      : data_(data), rows_(rows), cols_(cols), ld_(ld) {
    if (rows < 0 || cols < 0 || ld < cols) {
      throw ArgumentError("MatrixView: need rows >= 0, cols >= 0 and ld >= cols");
    }
  }
  // A view of mutable data converts to a view of const data.
  template <class U>
  requires(std::is_same_v<const U, T> && !std::is_same_v<U, T>)
      MatrixView(MatrixView<U> other)  // NOLINT(google-explicit-constructor)
      : data_(other.data()), rows_(other.rows()), cols_(other.cols()), ld_(other.ld()) {}

  T* data() const { return data_; }
  index_t rows() const { return rows_; }
  index_t cols() const { return cols_; }
  index_t ld() const { return ld_; }
  index_t size() const { return rows_ * cols_; }
  bool empty() const { return rows_ == 0 || cols_ == 0; }
  bool contiguous() const { return ld_ == cols_ || rows_ <= 1; }

  T& operator()(index_t i, index_t j) const { return data_[i * ld_ + j]; }
  std::span<T> row(index_t i) const { return {data_ + i * ld_, static_cast<std::size_t>(cols_)}; }
  // Rows [begin, end) as a view sharing this view's storage.
  MatrixView rows_between(index_t begin, index_t end) const {
    return MatrixView(data_ + begin * ld_, end - begin, cols_, ld_);
  }

 private:
  T* data_ = nullptr;
  index_t rows_ = 0;
  index_t cols_ = 0;
  index_t ld_ = 0;
};

// Owning, contiguous (ld == cols) matrix, zero-initialised unless made by
// Matrix::uninitialized.
template <class T>
class Matrix {
 public:
  using value_type = T;

  Matrix() = default;
  Matrix(index_t rows, index_t cols) : rows_(rows), cols_(cols) {
    if (rows < 0 || cols < 0) throw ArgumentError("Matrix: negative size");
    if (rows * cols > 0) data_ = std::make_unique<T[]>(static_cast<std::size_t>(rows * cols));
  }
  // A matrix whose values are left unset, for a caller that writes every one
  // before reading any (a reader filling it from a file): the zero-fill of a
  // large fresh matrix is a pass over memory that is overwritten at once.
  static Matrix uninitialized(index_t rows, index_t cols) {
    if (rows < 0 || cols < 0) throw ArgumentError("Matrix: negative size");
    Matrix m;
    m.rows_ = rows;
    m.cols_ = cols;
    if (rows * cols > 0) {
      m.data_ = std::make_unique_for_overwrite<T[]>(static_cast<std::size_t>(rows * cols));
    }
    return m;
  }
  Matrix(const Matrix& other) : Matrix(other.rows_, other.cols_) {
    std::copy(other.data(), other.data() + size(), data());
  }
  Matrix& operator=(const Matrix& other) {
    if (this != &other) *this = Matrix(other);
    return *this;
  }
  Matrix(Matrix&& other) noexcept
      : data_(std::move(other.data_)),
        rows_(std::exchange(other.rows_, 0)),
        cols_(std::exchange(other.cols_, 0)) {}
  Matrix& operator=(Matrix&& other) noexcept {
    data_ = std::move(other.data_);
    rows_ = std::exchange(other.rows_, 0);
    cols_ = std::exchange(other.cols_, 0);
    return *this;
  }
  ~Matrix() = default;

  // A contiguous copy of any view (the view's strides are dropped).
  template <class U>
  static Matrix from(MatrixView<U> v) {
    Matrix m(v.rows(), v.cols());
    for (index_t i = 0; i < v.rows(); ++i) {
      for (index_t j = 0; j < v.cols(); ++j) m(i, j) = static_cast<T>(v(i, j));
    }
    return m;
  }

  T* data() { return data_.get(); }
  const T* data() const { return data_.get(); }
  index_t rows() const { return rows_; }
  index_t cols() const { return cols_; }
  index_t ld() const { return cols_; }
  index_t size() const { return rows_ * cols_; }
  bool empty() const { return rows_ == 0 || cols_ == 0; }

  T& operator()(index_t i, index_t j) { return data_[i * cols_ + j]; }
  const T& operator()(index_t i, index_t j) const { return data_[i * cols_ + j]; }
  std::span<T> row(index_t i) { return {data() + i * cols_, static_cast<std::size_t>(cols_)}; }
  std::span<const T> row(index_t i) const {
    return {data() + i * cols_, static_cast<std::size_t>(cols_)};
  }

  // Keeps the storage and makes its first rows x cols values, row-major, the
  // matrix (rows * cols may not exceed size()): dropping unused rows, or
  // columns compacted in place, without a copy.
  void shrink_to(index_t rows, index_t cols) {
    if (rows < 0 || cols < 0 || rows * cols > size()) {
      throw ArgumentError("Matrix::shrink_to: the new shape must fit in the old storage");
    }
    rows_ = rows;
    cols_ = cols;
  }

  MatrixView<T> view() { return {data(), rows_, cols_}; }
  MatrixView<const T> view() const { return {data(), rows_, cols_}; }
  operator MatrixView<T>() { return view(); }              // NOLINT
  operator MatrixView<const T>() const { return view(); }  // NOLINT

 private:
  std::unique_ptr<T[]> data_;
  index_t rows_ = 0;
  index_t cols_ = 0;
};

}  // namespace kreg
