// Tests of the data contract: Matrix and MatrixView.
#include <gtest/gtest.h>

#include "kreg/matrix.hpp"

namespace kreg {
namespace {

TEST(Matrix, RowMajorContract) {
  Matrix<double> m(3, 4);
  for (index_t i = 0; i < 3; ++i)
    for (index_t j = 0; j < 4; ++j) m(i, j) = 10.0 * i + j;
  for (index_t i = 0; i < 3; ++i)
    for (index_t j = 0; j < 4; ++j) EXPECT_EQ(m.data()[i * m.ld() + j], 10.0 * i + j);
  EXPECT_EQ(m.ld(), 4);
  EXPECT_EQ(m.size(), 12);
}

TEST(Matrix, ZeroInitialisedAndEmpty) {
  Matrix<float> m(2, 2);
  for (index_t i = 0; i < m.size(); ++i) EXPECT_EQ(m.data()[i], 0.0f);
  Matrix<float> e(0, 5);
  EXPECT_TRUE(e.empty());
  EXPECT_EQ(e.data(), nullptr);
}

TEST(Matrix, CopyIsDeepMoveEmptiesSource) {
  Matrix<double> a(2, 3);
  a(1, 2) = 7;
  Matrix<double> b = a;
  b(1, 2) = 8;
  EXPECT_EQ(a(1, 2), 7);
  Matrix<double> c = std::move(a);
  EXPECT_EQ(c(1, 2), 7);
  EXPECT_EQ(a.rows(), 0);  // NOLINT(bugprone-use-after-move): moved-from state is specified
}

TEST(Matrix, UninitializedHasItsShapeAndTakesWrites) {
  Matrix<double> m = Matrix<double>::uninitialized(3, 2);
  EXPECT_EQ(m.rows(), 3);
  EXPECT_EQ(m.cols(), 2);
  ASSERT_NE(m.data(), nullptr);
  for (index_t i = 0; i < m.size(); ++i) m.data()[i] = static_cast<double>(i);
  EXPECT_EQ(m(2, 1), 5);
  EXPECT_EQ(Matrix<float>::uninitialized(0, 4).data(), nullptr);
  EXPECT_THROW(Matrix<float>::uninitialized(-1, 4), ArgumentError);
}

TEST(Matrix, ShrinkToKeepsTheLeadingValuesInPlace) {
  Matrix<double> m(3, 4);
  for (index_t i = 0; i < m.size(); ++i) m.data()[i] = static_cast<double>(i);
  const double* storage = m.data();
  m.shrink_to(2, 5);  // the first 10 values, read as 2 rows of 5
  EXPECT_EQ(m.data(), storage);
  EXPECT_EQ(m.rows(), 2);
  EXPECT_EQ(m.cols(), 5);
  EXPECT_EQ(m(1, 0), 5);
  EXPECT_EQ(m(1, 4), 9);
  const Matrix<double> copy = m;  // copies the shrunk shape only
  EXPECT_EQ(copy.size(), 10);
  EXPECT_EQ(copy(1, 4), 9);
  EXPECT_THROW(m.shrink_to(3, 4), ArgumentError);  // past the storage it has now
  m.shrink_to(0, 5);
  EXPECT_TRUE(m.empty());
}

TEST(MatrixView, StridedViewAddressesSubBlock) {
  // A 2 x 2 block starting at (1, 1) of a 4 x 5 buffer.
  std::vector<double> buf(20);
  for (int k = 0; k < 20; ++k) buf[k] = k;
  MatrixView<const double> v(buf.data() + 1 * 5 + 1, 2, 2, 5);
  EXPECT_EQ(v(0, 0), 6);
  EXPECT_EQ(v(1, 1), 12);
  EXPECT_FALSE(v.contiguous());
  EXPECT_EQ(v.row(1)[0], 11);
  const auto tail = v.rows_between(1, 2);
  EXPECT_EQ(tail.rows(), 1);
  EXPECT_EQ(tail(0, 1), 12);
  const Matrix<float> copy = Matrix<float>::from(v);
  EXPECT_EQ(copy(1, 0), 11.0f);
  EXPECT_EQ(copy.ld(), 2);
}

TEST(MatrixView, MutableConvertsToConst) {
  Matrix<double> m(2, 2);
  MatrixView<double> mv = m;
  MatrixView<const double> cv = mv;
  mv(0, 1) = 3;
  EXPECT_EQ(cv(0, 1), 3);
}

TEST(MatrixView, RejectsInconsistentShape) {
  double x = 0;
  EXPECT_THROW(MatrixView<double>(&x, 2, 3, 2), ArgumentError);
  EXPECT_THROW(MatrixView<double>(&x, -1, 3), ArgumentError);
  EXPECT_THROW(Matrix<double>(-1, 2), ArgumentError);
}

}  // namespace
}  // namespace kreg
