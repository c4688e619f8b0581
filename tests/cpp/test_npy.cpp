// Tests for kreg/io/npy: every version, dtype, order and shape the reader
// accepts, the exact errors for bad files, and bit-exact writer round trips.
// Test files are built byte by byte in a temporary directory.
#include "kreg/io/npy.hpp"

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <limits>
#include <string>
#include <vector>

#include "kreg/error.hpp"
#include "stream_support.hpp"
#include "test_support.hpp"

namespace {

namespace fs = std::filesystem;
using kreg::index_t;
using kreg::Matrix;
using kreg::MatrixView;
using kreg::io::NonFinite;
using kreg::io::read_npy;
using kreg::io::read_npy_header;
using kreg::io::write_npy;

// Little-endian bytes of `values` as U.
template <class U>
std::string le(std::initializer_list<U> values) {
  std::string out;
  for (const U v : values) {
    char b[sizeof(U)];
    std::memcpy(b, &v, sizeof(U));
    out.append(b, sizeof(U));
  }
  return out;
}

// An NPY file: magic, version, header length, `dict` padded like numpy does
// (spaces, then '\n', data aligned to 64), then `data`.
std::string npy(const std::string& dict, const std::string& data, int major = 1) {
  const std::size_t fixed = major == 1 ? 10 : 12;
  std::string header = dict;
  const std::size_t unpadded = fixed + header.size() + 1;
  header.append((64 - unpadded % 64) % 64, ' ');
  header += '\n';
  std::string out("\x93NUMPY", 6);
  out += static_cast<char>(major);
  out += '\0';
  const std::size_t n = header.size();
  out += static_cast<char>(n & 0xff);
  out += static_cast<char>((n >> 8) & 0xff);
  if (major != 1) {
    out += static_cast<char>((n >> 16) & 0xff);
    out += static_cast<char>((n >> 24) & 0xff);
  }
  return out + header + data;
}

std::string dict(const std::string& descr, const std::string& shape, bool fortran = false) {
  return fmt::format("{{'descr': '{}', 'fortran_order': {}, 'shape': {}, }}", descr,
                     fortran ? "True" : "False", shape);
}

class Npy : public ::testing::Test {
 protected:
  void SetUp() override {
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    dir_ = fs::temp_directory_path() / fmt::format("kreg_test_npy_{}_{}", ::getpid(), info->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  std::string path(const std::string& name) const { return (dir_ / name).string(); }
  std::string write(const std::string& name, const std::string& bytes) const {
    const std::string p = path(name);
    std::ofstream(p, std::ios::binary) << bytes;
    return p;
  }
  std::string read_bytes(const std::string& p) const {
    std::ifstream in(p, std::ios::binary);
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
  }

  fs::path dir_;
};

// The message of the InputError `f` throws.
const auto input_error = kreg::test::error_of<kreg::InputError>;

template <class T>
void expect_matrix(const Matrix<T>& m, index_t rows, index_t cols, const std::vector<double>& v) {
  ASSERT_EQ(m.rows(), rows);
  ASSERT_EQ(m.cols(), cols);
  ASSERT_EQ(static_cast<std::size_t>(m.size()), v.size());
  for (index_t k = 0; k < m.size(); ++k) {
    EXPECT_EQ(m.data()[k], static_cast<T>(v[static_cast<std::size_t>(k)])) << "element " << k;
  }
}

const std::vector<double> k23 = {1, 2, 3, 4, 5, 6};

// ----------------------------------------------------------------- versions

TEST_F(Npy, Version1) {
  const auto p = write("v1.npy", npy(dict("<f8", "(2, 3)"), le<double>({1, 2, 3, 4, 5, 6})));
  expect_matrix(read_npy<double>(p), 2, 3, k23);
  const auto h = read_npy_header(p);
  EXPECT_EQ(h.major_version, 1);
  EXPECT_EQ(h.descr, "<f8");
  EXPECT_FALSE(h.fortran_order);
  EXPECT_EQ(h.shape, (std::vector<index_t>{2, 3}));
  EXPECT_EQ(h.data_offset, 128);
}

TEST_F(Npy, Version2) {
  const auto p = write("v2.npy", npy(dict("<f8", "(2, 3)"), le<double>({1, 2, 3, 4, 5, 6}), 2));
  expect_matrix(read_npy<double>(p), 2, 3, k23);
  EXPECT_EQ(read_npy_header(p).major_version, 2);
  EXPECT_EQ(read_npy_header(p).data_offset, 128);
}

TEST_F(Npy, Version3) {
  const auto p = write("v3.npy", npy(dict("<f4", "(2, 3)"), le<float>({1, 2, 3, 4, 5, 6}), 3));
  expect_matrix(read_npy<float>(p), 2, 3, k23);
  EXPECT_EQ(read_npy_header(p).major_version, 3);
}

TEST_F(Npy, Version2LongHeader) {
  // A header longer than 65535 bytes needs version 2.0's 32-bit length.
  std::string d = dict("<f8", "(2, 3)");
  d.insert(d.size() - 1, std::string(70'000, ' '));
  const auto p = write("long.npy", npy(d, le<double>({1, 2, 3, 4, 5, 6}), 2));
  expect_matrix(read_npy<double>(p), 2, 3, k23);
}

TEST_F(Npy, UnsupportedVersion) {
  std::string bytes = npy(dict("<f8", "(2, 3)"), le<double>({1, 2, 3, 4, 5, 6}));
  bytes[6] = 4;
  const auto p = write("v4.npy", bytes);
  EXPECT_EQ(input_error([&] { read_npy<double>(p); }),
            p + ": unsupported NPY format version 4.0 (kreg reads 1.0, 2.0 and 3.0)");
  bytes[6] = 1;
  bytes[7] = 1;
  const auto q = write("v11.npy", bytes);
  EXPECT_EQ(input_error([&] { read_npy<double>(q); }),
            q + ": unsupported NPY format version 1.1 (kreg reads 1.0, 2.0 and 3.0)");
}

// ------------------------------------------------------------------- dtypes

TEST_F(Npy, Float32) {
  const auto p = write("f4.npy", npy(dict("<f4", "(3,)"), le<float>({1.5f, -2.25f, 3e38f})));
  expect_matrix(read_npy<float>(p), 3, 1, {1.5, -2.25, static_cast<double>(3e38f)});
  expect_matrix(read_npy<double>(p), 3, 1, {1.5, -2.25, static_cast<double>(3e38f)});
}

TEST_F(Npy, Float64) {
  const double tiny = std::numeric_limits<double>::denorm_min();
  const auto p = write("f8.npy", npy(dict("<f8", "(4,)"), le<double>({0.1, -0.0, 1e300, tiny})));
  const auto m = read_npy<double>(p);
  expect_matrix(m, 4, 1, {0.1, -0.0, 1e300, tiny});
  EXPECT_TRUE(std::signbit(m.data()[1]));
  expect_matrix(read_npy<float>(p, NonFinite::allow), 4, 1,
                {static_cast<double>(0.1f), 0.0,
                 static_cast<double>(std::numeric_limits<float>::infinity()), 0.0});
}

TEST_F(Npy, Float64TooLargeForFloatIsRejectedAsInf) {
  // 1e300 is finite as double but inf as float: reject names it.
  const auto p = write("big.npy", npy(dict("<f8", "(2,)"), le<double>({1, 1e300})));
  EXPECT_EQ(input_error([&] { read_npy<float>(p); }),
            p + ": row 1, column 0 (0-based) is inf; kreg rejects NaN/Inf by default");
  EXPECT_EQ(read_npy<double>(p).data()[1], 1e300);
}

TEST_F(Npy, Int32) {
  const auto p = write(
      "i4.npy", npy(dict("<i4", "(2, 2)"), le<std::int32_t>({-2147483647 - 1, 2147483647, 0, -7})));
  expect_matrix(read_npy<double>(p), 2, 2, {-2147483648.0, 2147483647.0, 0, -7});
}

TEST_F(Npy, Int64) {
  const std::int64_t big = std::int64_t{1} << 53;
  const auto p = write("i8.npy", npy(dict("<i8", "(3,)"), le<std::int64_t>({-big, big, -1})));
  expect_matrix(read_npy<double>(p), 3, 1, {-9007199254740992.0, 9007199254740992.0, -1});
  expect_matrix(read_npy<float>(p), 3, 1, {-9007199254740992.0, 9007199254740992.0, -1});
}

TEST_F(Npy, Uint8) {
  for (const std::string descr : {"|u1", "<u1"}) {
    const auto p = write("u1.npy", npy(dict(descr, "(2, 2)"), std::string("\x00\xff\x07\x80", 4)));
    expect_matrix(read_npy<double>(p), 2, 2, {0, 255, 7, 128});
    expect_matrix(read_npy<float>(p), 2, 2, {0, 255, 7, 128});
  }
}

TEST_F(Npy, Int8) {
  const auto p = write("i1.npy", npy(dict("|i1", "(4,)"), std::string("\x80\x7f\x00\xff", 4)));
  expect_matrix(read_npy<double>(p), 4, 1, {-128, 127, 0, -1});
}

TEST_F(Npy, BigEndianIsRejected) {
  const auto p = write("be.npy", npy(dict(">f8", "(1,)"), std::string(8, '\0')));
  EXPECT_EQ(input_error([&] { read_npy<double>(p); }),
            p + ": unsupported NPY dtype '>f8' (big-endian; convert with arr.astype('<f8')); "
                "kreg reads '<f4', '<f8', '<i4', '<i8', '|u1' ('<u1') and '|i1'");
  const auto q = write("be2.npy", npy(dict(">i2", "(1,)"), std::string(2, '\0')));
  EXPECT_EQ(input_error([&] { read_npy<double>(q); }),
            q + ": unsupported NPY dtype '>i2' (big-endian); kreg reads '<f4', '<f8', '<i4', "
                "'<i8', '|u1' ('<u1') and '|i1'");
}

TEST_F(Npy, ObjectIsRejected) {
  const auto p = write("o.npy", npy(dict("|O", "(1,)"), std::string(8, '\0')));
  EXPECT_EQ(input_error([&] { read_npy<double>(p); }),
            p + ": unsupported NPY dtype '|O' (an object array); kreg reads '<f4', '<f8', "
                "'<i4', '<i8', '|u1' ('<u1') and '|i1'");
}

TEST_F(Npy, OtherDtypesAreRejected) {
  for (const std::string descr : {"<c16", "<f2", "<u4", "|b1", "<U5", "|S3", "<M8[ns]"}) {
    const auto p = write("x.npy", npy(dict(descr, "(1,)"), std::string(16, '\0')));
    EXPECT_EQ(input_error([&] { read_npy<double>(p); }),
              p + ": unsupported NPY dtype '" + descr +
                  "'; kreg reads '<f4', '<f8', '<i4', '<i8', '|u1' ('<u1') and '|i1'");
  }
}

TEST_F(Npy, StructuredDtypeIsRejected) {
  const auto p =
      write("s.npy",
            npy("{'descr': [('a', '<f4'), ('b', '<i4')], 'fortran_order': False, 'shape': (1,), }",
                std::string(8, '\0')));
  EXPECT_EQ(input_error([&] { read_npy<double>(p); }),
            p + ": unsupported NPY dtype '[('a', '<f4'), ('b', '<i4')]' (a structured array; save "
                "one plain numeric array instead); kreg reads '<f4', '<f8', '<i4', '<i8', '|u1' "
                "('<u1') and '|i1'");
}

// ------------------------------------------------------------------- shapes

TEST_F(Npy, Shapes) {
  struct Case {
    std::string shape;
    index_t rows, cols;
  };
  for (const Case& c : {Case{"()", 1, 1}, Case{"(6,)", 6, 1}, Case{"(2, 3)", 2, 3},
                        Case{"(3, 2)", 3, 2}, Case{"(1, 2, 3)", 1, 6}, Case{"(6, 1)", 6, 1},
                        Case{"(2, 1, 1, 3)", 2, 3}, Case{"(1, 6)", 1, 6}}) {
    const std::vector<double> values = c.rows * c.cols == 1 ? std::vector<double>{1} : k23;
    const std::string data =
        c.rows * c.cols == 1 ? le<double>({1}) : le<double>({1, 2, 3, 4, 5, 6});
    const auto p = write("s.npy", npy(dict("<f8", c.shape), data));
    SCOPED_TRACE(c.shape);
    expect_matrix(read_npy<double>(p), c.rows, c.cols, values);
  }
}

TEST_F(Npy, ThreeDimensionalFlattensRowMajor) {
  // (2, 3, 4): row i is a[i].ravel().
  std::string data;
  std::vector<double> expected;
  for (int i = 0; i < 24; ++i) {
    data += le<std::int32_t>({i * 10});
    expected.push_back(i * 10);
  }
  const auto p = write("3d.npy", npy(dict("<i4", "(2, 3, 4)"), data));
  expect_matrix(read_npy<double>(p), 2, 12, expected);
  EXPECT_EQ(read_npy_header(p).shape, (std::vector<index_t>{2, 3, 4}));
}

TEST_F(Npy, EmptyArrays) {
  for (const std::string shape : {"(0,)", "(0, 3)", "(3, 0)", "(0, 2, 2)"}) {
    const auto p = write("e.npy", npy(dict("<f8", shape), ""));
    const auto m = read_npy<double>(p);
    EXPECT_EQ(m.size(), 0) << shape;
  }
  const auto p = write("e.npy", npy(dict("<f8", "(3, 0)"), ""));
  EXPECT_EQ(read_npy<double>(p).rows(), 3);
  EXPECT_EQ(read_npy<double>(p).cols(), 0);
}

// ------------------------------------------------------------ Fortran order

TEST_F(Npy, FortranOrder2D) {
  // The 3 x 4 matrix a[i, j] = 10 i + j stored column by column.
  std::string data;
  for (int j = 0; j < 4; ++j) {
    for (int i = 0; i < 3; ++i) data += le<float>({static_cast<float>(10 * i + j)});
  }
  const auto p = write("f.npy", npy(dict("<f4", "(3, 4)", true), data));
  std::vector<double> expected;
  for (int i = 0; i < 3; ++i) {
    for (int j = 0; j < 4; ++j) expected.push_back(10 * i + j);
  }
  expect_matrix(read_npy<float>(p), 3, 4, expected);
  expect_matrix(read_npy<double>(p), 3, 4, expected);
  EXPECT_TRUE(read_npy_header(p).fortran_order);
}

TEST_F(Npy, FortranOrderLarge) {
  // Larger than one read chunk, with a dtype conversion on the way.
  const index_t rows = 1001, cols = 300;
  std::string data;
  for (index_t j = 0; j < cols; ++j) {
    for (index_t i = 0; i < rows; ++i) data += le<std::int32_t>({static_cast<int>(i * cols + j)});
  }
  const auto p = write("fl.npy", npy(dict("<i4", fmt::format("({}, {})", rows, cols), true), data));
  const auto m = read_npy<double>(p);
  ASSERT_EQ(m.rows(), rows);
  ASSERT_EQ(m.cols(), cols);
  for (index_t k = 0; k < m.size(); ++k) ASSERT_EQ(m.data()[k], static_cast<double>(k));
}

TEST_F(Npy, FortranOrder1DIsTheSameAsC) {
  const auto p = write("f1.npy", npy(dict("<f8", "(3,)", true), le<double>({1, 2, 3})));
  expect_matrix(read_npy<double>(p), 3, 1, {1, 2, 3});
}

TEST_F(Npy, FortranOrder3DIsRejected) {
  const auto p = write("f3.npy", npy(dict("<f8", "(2, 3, 4)", true), std::string(192, '\0')));
  EXPECT_EQ(input_error([&] { read_npy<double>(p); }),
            p + ": the array has shape (2, 3, 4) in Fortran order; Fortran-order arrays with more "
                "than 2 dimensions are not supported; save with np.ascontiguousarray");
}

// ------------------------------------------------------------ header syntax

TEST_F(Npy, HeaderSyntaxVariants) {
  for (const std::string d : {
           "{'descr': '<f8', 'fortran_order': False, 'shape': (2, 3), }",
           "{'descr': '<f8', 'fortran_order': False, 'shape': (2, 3)}",
           "{'shape': (2, 3), 'fortran_order': False, 'descr': '<f8'}",
           "{'fortran_order': False, 'descr': '<f8', 'shape': (2,3),}",
           "{ 'descr' : '<f8' , 'fortran_order' : False , 'shape' : ( 2 , 3 , ) , }",
           "{\"descr\": \"<f8\", \"fortran_order\": False, \"shape\": (2, 3)}",
           "{'descr': '<f8', 'fortran_order': False, 'shape': (2L, 3L), }",  // Python 2 numpy
       }) {
    const auto p = write("h.npy", npy(d, le<double>({1, 2, 3, 4, 5, 6})));
    SCOPED_TRACE(d);
    expect_matrix(read_npy<double>(p), 2, 3, k23);
  }
}

TEST_F(Npy, MalformedHeaders) {
  struct Case {
    std::string dict, why;
  };
  for (const Case& c : {
           Case{"{'descr': '<f8', 'fortran_order': False}", "no 'shape' key"},
           Case{"{'shape': (1,), 'fortran_order': False}", "no 'descr' key"},
           Case{"{'descr': '<f8', 'shape': (1,)}", "no 'fortran_order' key"},
           Case{"{'descr': '<f8', 'fortran_order': 0, 'shape': (1,)}",
                "'fortran_order' must be True or False"},
           Case{"{'descr': '<f8', 'fortran_order': False, 'shape': (-1,)}",
                "'shape' must be a tuple of non-negative integers"},
           Case{"{'descr': '<f8', 'fortran_order': False, 'shape': 1}", "expected '('"},
           Case{"{'descr': '<f8', 'fortran_order': False, 'shape': (1,), 'extra': 1}",
                "unexpected key 'extra'; an NPY header has 'descr', 'fortran_order' and 'shape'"},
           Case{"{'descr': '<f8', 'descr': '<f8', 'fortran_order': False, 'shape': (1,)}",
                "key 'descr' appears twice"},
           Case{"{'descr': '<f8', 'fortran_order': False, 'shape': (1,)} x",
                "unexpected text after the dict"},
           Case{"['descr', '<f8']", "expected '{'"},
           Case{"{'descr: '<f8'}", "expected ':'"},
           Case{"{'descr': '<f8', 'fortran_order': False, 'shape': (1,)", "expected '}'"},
           Case{"{'descr': '<f8', 'fortran_order': False, 'shape': (99999999999999999999,)}",
                "a dimension in 'shape' is too large"},
       }) {
    const auto p = write("bad.npy", npy(c.dict, le<double>({1})));
    EXPECT_EQ(input_error([&] { read_npy<double>(p); }),
              p + ": malformed NPY header (" + c.why + ") in \"" + c.dict + "\"");
  }
}

// --------------------------------------------------------------- bad files

TEST_F(Npy, MissingFile) {
  const auto p = path("nope.npy");
  EXPECT_EQ(input_error([&] { read_npy<double>(p); }),
            "cannot open '" + p +
                "': No such file or directory (check the path; relative paths start at the "
                "current directory)");
  EXPECT_EQ(input_error([&] { read_npy_header(p); }),
            "cannot open '" + p +
                "': No such file or directory (check the path; relative paths start at the "
                "current directory)");
}

TEST_F(Npy, Directory) {
  EXPECT_EQ(input_error([&] { read_npy<double>(dir_.string()); }),
            "cannot read '" + dir_.string() + "': it is a directory, not a file");
}

TEST_F(Npy, EmptyFile) {
  const auto p = write("empty.npy", "");
  EXPECT_EQ(input_error([&] { read_npy<double>(p); }),
            p + ": file is empty (expected an NPY file)");
}

TEST_F(Npy, BadMagic) {
  for (const std::string& bytes :
       {std::string("x"), std::string("PK\x03\x04 a zip file"),
        std::string("\x93NUMPX\x01\x00\x00\x00"), std::string("col1,col2\n1,2\n")}) {
    const auto p = write("bad.npy", bytes);
    EXPECT_EQ(input_error([&] { read_npy<double>(p); }),
              p + ": not an NPY file (bad magic; expected \\x93NUMPY)");
  }
}

TEST_F(Npy, TruncatedPrefix) {
  const auto p = write("t.npy", std::string("\x93NUMPY\x01", 7));
  EXPECT_EQ(input_error([&] { read_npy<double>(p); }),
            p + ": NPY header is truncated (the file has only 7 bytes; the header alone needs at "
                "least 10)");
  const auto q = write("t.npy", std::string("\x93NUM", 4));
  EXPECT_EQ(input_error([&] { read_npy<double>(q); }),
            q + ": NPY header is truncated (the file has only 4 bytes; the header alone needs at "
                "least 10)");
  const auto r = write("t2.npy", std::string("\x93NUMPY\x02\x00\x10\x00", 10));
  EXPECT_EQ(input_error([&] { read_npy<double>(r); }),
            r + ": NPY header is truncated (the file has only 10 bytes; a version 2.0 header "
                "needs at least 12)");
}

TEST_F(Npy, TruncatedHeader) {
  const std::string full = npy(dict("<f8", "(2, 3)"), le<double>({1, 2, 3, 4, 5, 6}));
  const auto p = write("th.npy", full.substr(0, 30));
  EXPECT_EQ(input_error([&] { read_npy<double>(p); }),
            p + ": NPY header is truncated (its length field says 118 bytes but only 20 follow)");
  EXPECT_EQ(input_error([&] { read_npy_header(p); }),
            p + ": NPY header is truncated (its length field says 118 bytes but only 20 follow)");
}

TEST_F(Npy, TruncatedData) {
  const std::string full = npy(dict("<f8", "(2, 3)"), le<double>({1, 2, 3, 4, 5, 6}));
  const auto p = write("td.npy", full.substr(0, full.size() - 8));
  EXPECT_EQ(input_error([&] { read_npy<double>(p); }),
            p + ": header declares 48 bytes of data but the file holds only 40");
  const auto q = write("td0.npy", full.substr(0, 128));
  EXPECT_EQ(input_error([&] { read_npy<float>(q); }),
            q + ": header declares 48 bytes of data but the file holds only 0");
}

TEST_F(Npy, TrailingBytes) {
  const auto p = write("tb.npy", npy(dict("<f8", "(2, 3)"), le<double>({1, 2, 3, 4, 5, 6, 7})));
  EXPECT_EQ(input_error([&] { read_npy<double>(p); }),
            p + ": header declares 48 bytes of data but the file holds 56 (8 unexpected bytes "
                "after the array)");
}

TEST_F(Npy, HugeShapeFailsFastWithoutAllocating) {
  const auto p = write("huge.npy", npy(dict("<f8", "(1000000000000, 10)"), le<double>({1, 2})));
  const auto start = std::chrono::steady_clock::now();
  EXPECT_EQ(input_error([&] { read_npy<double>(p); }),
            p + ": header declares 80000000000000 bytes of data but the file holds only 16");
  EXPECT_EQ(input_error([&] { read_npy_header(p); }),
            p + ": header declares 80000000000000 bytes of data but the file holds only 16");
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::milliseconds(500));
}

TEST_F(Npy, ShapeProductOverflowIsRejected) {
  for (const std::string shape : {"(4611686018427387904, 4)", "(9223372036854775807, 2)",
                                  "(2, 4294967296, 4294967296)", "(2305843009213693952,)"}) {
    const auto p = write("of.npy", npy(dict("<f8", shape), le<double>({1})));
    EXPECT_EQ(input_error([&] { read_npy<double>(p); }),
              p + ": header declares shape " + shape +
                  ", more data than fits in 64 bits; the file is corrupt");
  }
}

TEST_F(Npy, ImplausiblyLongHeader) {
  std::string bytes("\x93NUMPY\x02\x00", 8);
  bytes += le<std::uint32_t>({(1U << 20) + 1});
  bytes += std::string((1U << 20) + 1, ' ');
  const auto p = write("lh.npy", bytes);
  EXPECT_EQ(input_error([&] { read_npy<double>(p); }),
            p + ": NPY header length 1048577 is implausibly large (numpy writes a few hundred "
                "bytes); the file is corrupt");
}

// -------------------------------------------------------------- NaN and Inf

TEST_F(Npy, NaNIsRejectedByDefault) {
  const double nan = std::numeric_limits<double>::quiet_NaN();
  const auto p = write("nan.npy", npy(dict("<f8", "(2, 3)"), le<double>({1, 2, 3, 4, 5, nan})));
  EXPECT_EQ(input_error([&] { read_npy<double>(p); }),
            p + ": row 1, column 2 (0-based) is NaN; kreg rejects NaN/Inf by default");
  EXPECT_EQ(input_error([&] { read_npy<double>(p, NonFinite::reject); }),
            p + ": row 1, column 2 (0-based) is NaN; kreg rejects NaN/Inf by default");
  const auto m = read_npy<double>(p, NonFinite::allow);
  EXPECT_TRUE(std::isnan(m(1, 2)));
  EXPECT_EQ(m(1, 1), 5.0);
}

TEST_F(Npy, FirstNonFiniteIsReportedInRowMajorOrder) {
  const float inf = std::numeric_limits<float>::infinity();
  const float nan = std::numeric_limits<float>::quiet_NaN();
  // Fortran order: the NaN at (1, 1) comes first in the file, the -inf at
  // (0, 2) first in row-major order, which is what the message reports.
  std::string data = le<float>({1, 4, 2, nan, -inf, 6});  // columns (1,4) (2,nan) (-inf,6)
  const auto p = write("inf.npy", npy(dict("<f4", "(2, 3)", true), data));
  EXPECT_EQ(input_error([&] { read_npy<float>(p); }),
            p + ": row 0, column 2 (0-based) is -inf; kreg rejects NaN/Inf by default");
  const auto q = write("inf2.npy", npy(dict("<f4", "(3,)"), le<float>({1, inf, nan})));
  EXPECT_EQ(input_error([&] { read_npy<double>(q); }),
            q + ": row 1, column 0 (0-based) is inf; kreg rejects NaN/Inf by default");
  const auto m = read_npy<float>(q, NonFinite::allow);
  EXPECT_EQ(m(1, 0), inf);
  EXPECT_TRUE(std::isnan(m(2, 0)));
}

// ------------------------------------------------------------------ writer

TEST_F(Npy, WriterHeaderIsNumpys) {
  const Matrix<double> m(3, 2);
  const auto p = path("w.npy");
  write_npy<double>(p, m);
  const std::string bytes = read_bytes(p);
  ASSERT_EQ(bytes.size(), 128U + 48U);
  EXPECT_EQ(bytes.substr(0, 8), std::string("\x93NUMPY\x01\x00", 8));
  EXPECT_EQ(static_cast<unsigned char>(bytes[8]) | static_cast<unsigned char>(bytes[9]) << 8, 118);
  const std::string header = bytes.substr(10, 118);
  const std::string dict_text = "{'descr': '<f8', 'fortran_order': False, 'shape': (3, 2), }";
  EXPECT_EQ(header, dict_text + std::string(118 - dict_text.size() - 1, ' ') + "\n");
  EXPECT_EQ(read_npy_header(p).data_offset, 128);
}

TEST_F(Npy, WriterAlignsDataTo64Bytes) {
  // Shapes whose text has different lengths: the padding must follow.
  for (index_t rows : {0, 1, 9, 10, 99, 100, 1000, 10000}) {
    for (index_t cols : {1, 3, 10, 100}) {
      for (bool as_vector : {false, true}) {
        Matrix<float> m(rows, cols);
        const auto p = path("a.npy");
        write_npy<float>(p, m, as_vector);
        const auto h = read_npy_header(p);
        EXPECT_EQ(h.data_offset % 64, 0);
        EXPECT_EQ(h.descr, "<f4");
        const std::string bytes = read_bytes(p);
        EXPECT_EQ(bytes[static_cast<std::size_t>(h.data_offset) - 1], '\n');
        if (as_vector && cols == 1) {
          EXPECT_EQ(h.shape, (std::vector<index_t>{rows}));
        } else {
          EXPECT_EQ(h.shape, (std::vector<index_t>{rows, cols}));
        }
      }
    }
  }
}

template <class T>
void round_trip(const std::string& p, const Matrix<T>& m, bool as_vector) {
  write_npy<T>(p, m, as_vector);
  const auto back = read_npy<T>(p, NonFinite::allow);
  ASSERT_EQ(back.rows(), m.rows());
  ASSERT_EQ(back.cols(), m.cols());
  if (m.size() > 0) {
    EXPECT_EQ(std::memcmp(back.data(), m.data(), static_cast<std::size_t>(m.size()) * sizeof(T)),
              0);
  }
}

TEST_F(Npy, RoundTripIsBitExact) {
  Matrix<double> d(4, 3);
  const double specials[] = {0.1,
                             -0.0,
                             std::numeric_limits<double>::denorm_min(),
                             std::numeric_limits<double>::max(),
                             std::numeric_limits<double>::lowest(),
                             std::numeric_limits<double>::infinity(),
                             -std::numeric_limits<double>::infinity(),
                             std::numeric_limits<double>::quiet_NaN(),
                             1.0 / 3.0,
                             -2.5e-300,
                             42,
                             std::nextafter(1.0, 2.0)};
  for (index_t k = 0; k < 12; ++k) d.data()[k] = specials[k];
  round_trip(path("d.npy"), d, false);

  Matrix<float> f(3, 4);
  for (index_t k = 0; k < 12; ++k) f.data()[k] = static_cast<float>(specials[k]);
  round_trip(path("f.npy"), f, false);

  Matrix<double> big(1000, 37);
  for (index_t k = 0; k < big.size(); ++k) big.data()[k] = std::sin(static_cast<double>(k)) * 1e5;
  round_trip(path("big.npy"), big, false);
  round_trip(path("empty.npy"), Matrix<double>(0, 5), false);
}

TEST_F(Npy, AsVector) {
  Matrix<double> y(5, 1);
  for (index_t i = 0; i < 5; ++i) y(i, 0) = static_cast<double>(i) + 0.5;
  const auto p = path("y.npy");
  round_trip(p, y, true);
  EXPECT_EQ(read_npy_header(p).shape, (std::vector<index_t>{5}));
  EXPECT_NE(read_bytes(p).find("'shape': (5,), }"), std::string::npos);
  round_trip(p, y, false);
  EXPECT_EQ(read_npy_header(p).shape, (std::vector<index_t>{5, 1}));
  // as_vector only applies to one column.
  round_trip(p, Matrix<double>(5, 2), true);
  EXPECT_EQ(read_npy_header(p).shape, (std::vector<index_t>{5, 2}));
}

TEST_F(Npy, WriteStridedView) {
  // A 3 x 2 view into a 3 x 5 buffer (ld 5): only the viewed columns are written.
  std::vector<double> buffer(15);
  for (std::size_t k = 0; k < 15; ++k) buffer[k] = static_cast<double>(k);
  const MatrixView<const double> v(buffer.data() + 1, 3, 2, 5);
  const auto p = path("v.npy");
  write_npy<double>(p, v);
  expect_matrix(read_npy<double>(p), 3, 2, {1, 2, 6, 7, 11, 12});
}

TEST_F(Npy, WriteReplacesAtomically) {
  const auto p = path("r.npy");
  write_npy<double>(p, Matrix<double>(100, 3));
  Matrix<double> m(2, 2);
  m(1, 1) = 7;
  write_npy<double>(p, m);
  expect_matrix(read_npy<double>(p), 2, 2, {0, 0, 0, 7});
  // No temporary files left behind.
  int files = 0;
  for ([[maybe_unused]] const auto& e : fs::directory_iterator(dir_)) ++files;
  EXPECT_EQ(files, 1);
}

TEST_F(Npy, WriteToMissingDirectoryFails) {
  const auto p = path("no/such/dir/x.npy");
  try {
    write_npy<double>(p, Matrix<double>(1, 1));
    FAIL() << "no exception";
  } catch (const kreg::Error& e) {
    EXPECT_EQ(std::string(e.what()), "cannot write '" + p + "': No such file or directory");
  }
}

TEST_F(Npy, ReadsLargeFileStreaming) {
  // Larger than one 1 MiB read chunk, with conversions in both directions.
  Matrix<float> m(3000, 200);
  for (index_t k = 0; k < m.size(); ++k) m.data()[k] = static_cast<float>(k % 9973) * 0.25f;
  const auto p = path("l.npy");
  write_npy<float>(p, m);
  const auto d = read_npy<double>(p);
  for (index_t k = 0; k < m.size(); ++k) ASSERT_EQ(d.data()[k], static_cast<double>(m.data()[k]));
}

// ------------------------------------------------- hostile and odd input

TEST_F(Npy, AbsurdColumnCountIsRefusedBeforeAllocating) {
  // No rows, billions of columns: no data to read, but per-column names and
  // statistics would take gigabytes.
  for (const auto& [shape, cols] :
       {std::pair<std::string, std::string>{"(0, 4000000000)", "4000000000"},
        {"(0, 70000, 70000)", "4900000000"},
        {"(1, 16777217)", "16777217"}}) {
    const auto p = write("wide.npy", npy(dict("<f8", shape), ""));
    const std::string expected =
        p + ": header's 'shape' " + shape + " makes " + cols +
        " columns per row, more than kreg's limit of 16777216 (kreg keeps a name and statistics "
        "for every column, which alone would take gigabytes); the file is corrupt or not a data "
        "set kreg can use";
    EXPECT_EQ(input_error([&] { read_npy<double>(p); }), expected);
    EXPECT_EQ(input_error([&] { read_npy_header(p); }), expected);
  }
  // At the limit: accepted (no rows, nothing to allocate).
  const auto q = write("limit.npy", npy(dict("<f8", "(0, 16777216)"), ""));
  const auto m = read_npy<double>(q);
  EXPECT_EQ(m.rows(), 0);
  EXPECT_EQ(m.cols(), 16777216);
}

TEST_F(Npy, StreamIsReadUpToWhatTheHeaderDeclares) {
  const std::string good = npy(dict("<f8", "(2, 2)"), le<double>({1, 2, 3, 4}));
  {
    const kreg::test::FedFifo fifo(path("good.npy"), good);
    const auto m = read_npy<double>(fifo.path());
    EXPECT_EQ(std::vector<double>(m.data(), m.data() + m.size()),
              (std::vector<double>{1, 2, 3, 4}));
  }
  {
    // The header, the data, then bytes without end: refused after the data.
    const kreg::test::FedFifo fifo(path("endless.npy"), good, std::string(4096, '\0'), true);
    EXPECT_EQ(input_error([&] { read_npy<double>(fifo.path()); }),
              fifo.path() +
                  ": header declares 32 bytes of data but more bytes follow them; the file is "
                  "corrupt or endless");
  }
  {
    const kreg::test::FedFifo fifo(path("short.npy"), good.substr(0, good.size() - 3));
    EXPECT_EQ(input_error([&] { read_npy<double>(fifo.path()); }),
              fifo.path() + ": header declares 32 bytes of data but the file holds only 29");
  }
  {
    // A header claiming a few gigabytes of a stream that holds 8 bytes: only
    // what arrives is held in memory.
    const kreg::test::FedFifo fifo(path("claim.npy"),
                                   npy(dict("<f8", "(250000000,)"), le<double>({1})));
    EXPECT_EQ(input_error([&] { read_npy<float>(fifo.path()); }),
              fifo.path() + ": header declares 2000000000 bytes of data but the file holds only 8");
  }
  {
    // A header length beyond any header: refused before reading it.
    std::string huge("\x93NUMPY\x02\x00\x00\x00\x00\x40", 12);
    const kreg::test::FedFifo fifo(path("hdr.npy"), huge, std::string(4096, ' '), true);
    EXPECT_EQ(input_error([&] { read_npy_header(fifo.path()); }),
              fifo.path() +
                  ": NPY header length 1073741824 is implausibly large (numpy writes a few "
                  "hundred bytes); the file is corrupt");
  }
}

TEST_F(Npy, EndlessDeviceIsRefusedAtTheMagic) {
  EXPECT_EQ(input_error([&] { read_npy<double>("/dev/zero"); }),
            "/dev/zero: not an NPY file (bad magic; expected \\x93NUMPY)");
  const auto link = path("zeros.npy");
  fs::create_symlink("/dev/zero", link);
  EXPECT_EQ(input_error([&] { read_npy_header(link); }),
            link + ": not an NPY file (bad magic; expected \\x93NUMPY)");
}

TEST_F(Npy, ControlBytesInTheHeaderAreEscapedInMessages) {
  const auto p = write("ctl.npy", npy("{'descr': '<f8', 'fortran_order': False, 'shape': (1,), "
                                      "'x\x01\x1b[2J': 0}",
                                      le<double>({1})));
  const std::string msg = input_error([&] { read_npy<double>(p); });
  EXPECT_NE(msg.find("'x\\x01\\x1b[2J'"), std::string::npos) << msg;
  EXPECT_EQ(msg.find('\x1b'), std::string::npos) << msg;
}

}  // namespace
