// Tests for kreg/io/idx: every IDX type and rank, plain and gzipped, the
// exact errors for bad files, writer round trips, and Debian's Fashion-MNIST.
#include "kreg/io/idx.hpp"

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <bit>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <limits>
#include <string>
#include <vector>

#include "io/file.hpp"
#include "io/gzip.hpp"
#include "kreg/error.hpp"
#include "stream_support.hpp"
#include "test_support.hpp"

namespace {

namespace fs = std::filesystem;
using kreg::index_t;
using kreg::Matrix;
using kreg::MatrixView;
using kreg::io::IdxHeader;
using kreg::io::IdxType;
using kreg::io::NonFinite;
using kreg::io::read_idx;
using kreg::io::read_idx_header;
using kreg::io::write_idx;
using kreg::io::detail::gzip;

// ---------------------------------------------------------- building files

void be(std::string& out, std::uint64_t v, int bytes) {
  for (int i = bytes - 1; i >= 0; --i) out += static_cast<char>((v >> (8 * i)) & 0xff);
}

std::string header(unsigned char type, const std::vector<std::uint32_t>& dims) {
  std::string out("\0\0", 2);
  out += static_cast<char>(type);
  out += static_cast<char>(dims.size());
  for (const auto d : dims) be(out, d, 4);
  return out;
}

// Big-endian values of each IDX type.
std::string u8s(const std::vector<int>& v) {
  std::string out;
  for (const int x : v) out += static_cast<char>(static_cast<std::uint8_t>(x));
  return out;
}
std::string i16s(const std::vector<int>& v) {
  std::string out;
  for (const int x : v) be(out, static_cast<std::uint16_t>(static_cast<std::int16_t>(x)), 2);
  return out;
}
std::string i32s(const std::vector<std::int64_t>& v) {
  std::string out;
  for (const auto x : v) be(out, static_cast<std::uint32_t>(static_cast<std::int32_t>(x)), 4);
  return out;
}
std::string f32s(const std::vector<float>& v) {
  std::string out;
  for (const float x : v) be(out, std::bit_cast<std::uint32_t>(x), 4);
  return out;
}
std::string f64s(const std::vector<double>& v) {
  std::string out;
  for (const double x : v) be(out, std::bit_cast<std::uint64_t>(x), 8);
  return out;
}

class Idx : public ::testing::Test {
 protected:
  void SetUp() override {
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    dir_ = fs::temp_directory_path() / fmt::format("kreg_test_idx_{}_{}", ::getpid(), info->name());
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

// ------------------------------------------------------------------ types

TEST_F(Idx, Ubyte) {
  const auto p = write("u8.idx", header(0x08, {2, 3}) + u8s({0, 1, 127, 128, 254, 255}));
  const std::vector<double> v = {0, 1, 127, 128, 254, 255};
  expect_matrix(read_idx<double>(p), 2, 3, v);
  expect_matrix(read_idx<float>(p), 2, 3, v);
  expect_matrix(read_idx<std::uint8_t>(p), 2, 3, v);
  IdxHeader h;
  (void)read_idx<float>(p, NonFinite::reject, &h);
  EXPECT_EQ(h.type, IdxType::u8);
  EXPECT_EQ(h.dims, (std::vector<index_t>{2, 3}));
}

TEST_F(Idx, SignedByte) {
  const auto p = write("i8.idx", header(0x09, {4}) + u8s({-128, -1, 0, 127}));
  expect_matrix(read_idx<double>(p), 4, 1, {-128, -1, 0, 127});
  expect_matrix(read_idx<float>(p), 4, 1, {-128, -1, 0, 127});
}

TEST_F(Idx, Short) {
  const auto p = write("i16.idx", header(0x0B, {2, 2}) + i16s({-32768, -2, 258, 32767}));
  expect_matrix(read_idx<double>(p), 2, 2, {-32768, -2, 258, 32767});
}

TEST_F(Idx, Int) {
  const auto p = write("i32.idx", header(0x0C, {3}) + i32s({-2147483648LL, 16909060, 2147483647}));
  expect_matrix(read_idx<double>(p), 3, 1, {-2147483648.0, 16909060, 2147483647.0});
}

TEST_F(Idx, Float) {
  const float inf = std::numeric_limits<float>::infinity();
  const auto p = write("f32.idx", header(0x0D, {2, 2}) + f32s({1.5f, -0.0f, 3e38f, inf}));
  const auto m = read_idx<float>(p, NonFinite::allow);
  expect_matrix(m, 2, 2, {1.5, -0.0, static_cast<double>(3e38f), static_cast<double>(inf)});
  EXPECT_TRUE(std::signbit(m(0, 1)));
  expect_matrix(read_idx<double>(p, NonFinite::allow), 2, 2,
                {1.5, -0.0, static_cast<double>(3e38f), static_cast<double>(inf)});
}

TEST_F(Idx, NonFiniteRejectedByDefault) {
  const float nan = std::numeric_limits<float>::quiet_NaN();
  const auto p = write("nan.idx", header(0x0D, {2, 2}) + f32s({1, 2, 3, nan}));
  EXPECT_EQ(input_error([&] { read_idx<float>(p); }),
            p + ": row 1, column 1 (0-based) is NaN; kreg rejects NaN/Inf by default");
  const auto q =
      write("inf.idx", header(0x0E, {3}) + f64s({1, -std::numeric_limits<double>::infinity(), 2}));
  EXPECT_EQ(input_error([&] { read_idx<double>(q); }),
            q + ": row 1, column 0 (0-based) is -inf; kreg rejects NaN/Inf by default");
  EXPECT_TRUE(std::isnan(read_idx<double>(p, NonFinite::allow)(1, 1)));
}

TEST_F(Idx, Double) {
  const double tiny = std::numeric_limits<double>::denorm_min();
  const auto p = write("f64.idx", header(0x0E, {1, 4}) + f64s({0.1, -1e300, tiny, 42}));
  expect_matrix(read_idx<double>(p), 1, 4, {0.1, -1e300, tiny, 42});
  // -1e300 does not fit a float: it becomes -inf, which the default policy
  // reports like any other infinity.
  EXPECT_EQ(read_idx<float>(p, NonFinite::allow)(0, 0), 0.1f);
  EXPECT_EQ(input_error([&] { read_idx<float>(p); }),
            p + ": row 0, column 1 (0-based) is -inf; kreg rejects NaN/Inf by default");
}

TEST_F(Idx, OnlyUbyteReadsAsUint8) {
  struct Case {
    unsigned char type;
    std::string name, data;
  };
  for (const Case& c : {Case{0x09, "byte (0x09)", u8s({1})}, Case{0x0B, "short (0x0B)", i16s({1})},
                        Case{0x0C, "int (0x0C)", i32s({1})}, Case{0x0D, "float (0x0D)", f32s({1})},
                        Case{0x0E, "double (0x0E)", f64s({1})}}) {
    const auto p = write("t.idx", header(c.type, {1}) + c.data);
    EXPECT_EQ(input_error([&] { read_idx<std::uint8_t>(p); }),
              p + ": IDX type is " + c.name +
                  "; only ubyte (0x08) files can be read as uint8, read it as float or double");
    EXPECT_EQ(read_idx<double>(p)(0, 0), 1.0);
    // Also before decompressing a gzipped file.
    const auto q = write("t.idx.gz", gzip(header(c.type, {1}) + c.data));
    EXPECT_EQ(input_error([&] { read_idx<std::uint8_t>(q); }),
              q + ": IDX type is " + c.name +
                  "; only ubyte (0x08) files can be read as uint8, read it as float or double");
  }
}

// ------------------------------------------------------------------ ranks

TEST_F(Idx, OneDimension) {
  const auto p = write("1d.idx", header(0x08, {5}) + u8s({9, 8, 7, 6, 5}));
  expect_matrix(read_idx<double>(p), 5, 1, {9, 8, 7, 6, 5});
  EXPECT_EQ(read_idx_header(p).dims, (std::vector<index_t>{5}));
}

TEST_F(Idx, ThreeDimensionsFlattenRowMajor) {
  // 2 images of 3 x 4: row i is image i, pixels row by row.
  std::vector<int> v;
  std::vector<double> expected;
  for (int k = 0; k < 24; ++k) {
    v.push_back(k * 10);
    expected.push_back(k * 10);
  }
  const auto p = write("3d.idx", header(0x08, {2, 3, 4}) + u8s(v));
  expect_matrix(read_idx<double>(p), 2, 12, expected);
  const auto h = read_idx_header(p);
  EXPECT_EQ(h.type, IdxType::u8);
  EXPECT_EQ(h.dims, (std::vector<index_t>{2, 3, 4}));
}

TEST_F(Idx, EmptyDimensions) {
  const auto p = write("e.idx", header(0x0D, {0, 28, 28}));
  const auto m = read_idx<float>(p);
  EXPECT_EQ(m.rows(), 0);
  EXPECT_EQ(m.cols(), 784);
  const auto q = write("e2.idx", header(0x08, {3, 0}));
  EXPECT_EQ(read_idx<double>(q).rows(), 3);
  EXPECT_EQ(read_idx<double>(q).cols(), 0);
}

TEST_F(Idx, BadRank) {
  for (const int ndim : {0, 4, 255}) {
    std::string bytes = header(0x08, {1, 1, 1, 1}) + u8s({1});
    bytes[3] = static_cast<char>(ndim);
    const auto p = write("r.idx", bytes);
    EXPECT_EQ(input_error([&] { read_idx<double>(p); }),
              fmt::format("{}: IDX file with {} dimensions; kreg reads IDX files with 1 to 3 "
                          "dimensions",
                          p, ndim));
  }
}

// ------------------------------------------------------------------- gzip

TEST_F(Idx, Gzipped) {
  const std::string raw = header(0x0D, {2, 2, 2}) + f32s({1, 2, 3, 4, 5, 6, 7, 8});
  for (const std::string name : {"g.idx.gz", "g-ubyte.GZ", "no-extension", "g.idx"}) {
    const auto p = write(name, gzip(raw));
    expect_matrix(read_idx<double>(p), 2, 4, {1, 2, 3, 4, 5, 6, 7, 8});
    EXPECT_EQ(read_idx_header(p).dims, (std::vector<index_t>{2, 2, 2}));
  }
  // A .gz name with plain contents is read as plain.
  const auto q = write("plain.gz", raw);
  expect_matrix(read_idx<double>(q), 2, 4, {1, 2, 3, 4, 5, 6, 7, 8});
}

TEST_F(Idx, GzippedInSeveralMembers) {
  // The header split across members: the header peek follows members too.
  const std::string raw = header(0x08, {3, 2}) + u8s({1, 2, 3, 4, 5, 6});
  const auto p =
      write("m.gz", gzip(raw.substr(0, 5)) + gzip(raw.substr(5, 7)) + gzip(raw.substr(12)));
  expect_matrix(read_idx<std::uint8_t>(p), 3, 2, {1, 2, 3, 4, 5, 6});
}

TEST_F(Idx, GzipCorruption) {
  std::vector<int> v(20000);
  for (std::size_t k = 0; k < v.size(); ++k) v[k] = static_cast<int>((k * 7919) % 251);
  const std::string z = gzip(header(0x08, {200, 100}) + u8s(v));
  // Flipped bytes in the middle: zlib finds an invalid code or distance, or
  // the damaged codes decode to more data than the header declared, or at the
  // latest the CRC does not match. Every way, an InputError from gunzip.
  int corrupt = 0;
  for (int trial = 0; trial < 8; ++trial) {
    std::string bad = z;
    const std::size_t at = z.size() / 3 + static_cast<std::size_t>(trial) * 37;
    for (std::size_t k = at; k < at + 6; ++k) bad[k] = static_cast<char>(~bad[k]);
    const auto p = write("bad.gz", bad);
    const std::string msg = input_error([&] { read_idx<float>(p); });
    const bool is_corrupt = msg.rfind(p + ": corrupt gzip data (", 0) == 0 && msg.back() == ')';
    corrupt += is_corrupt ? 1 : 0;
    EXPECT_TRUE(is_corrupt ||
                msg == p + ": decompressed data is larger than the 20012 bytes expected")
        << msg;
  }
  EXPECT_GT(corrupt, 0);
  std::string crc = z;
  crc[crc.size() - 6] ^= 0x10;
  const auto c = write("crc.gz", crc);
  EXPECT_EQ(input_error([&] { read_idx<float>(c); }),
            c + ": corrupt gzip data (incorrect data check)");
  // Corruption inside the header's own compressed bytes.
  std::string head = z;
  head[2] = 0x05;
  const auto h = write("head.gz", head);
  EXPECT_EQ(input_error([&] { read_idx<float>(h); }),
            h + ": corrupt gzip data (unknown compression method)");
  EXPECT_EQ(input_error([&] { read_idx_header(h); }),
            h + ": corrupt gzip data (unknown compression method)");
}

TEST_F(Idx, GzipTruncated) {
  std::vector<int> v(5000, 3);
  const std::string z = gzip(header(0x08, {50, 100}) + u8s(v));
  for (const std::size_t keep : {z.size() - 1, z.size() / 2, std::size_t{12}, std::size_t{2}}) {
    const auto p = write("cut.gz", z.substr(0, keep));
    EXPECT_EQ(input_error([&] { read_idx<float>(p); }), p + ": gzip stream is truncated")
        << "kept " << keep;
  }
}

TEST_F(Idx, GzipHoldsMoreThanDeclared) {
  const auto p = write("more.gz", gzip(header(0x08, {2, 2}) + u8s({1, 2, 3, 4, 5})));
  EXPECT_EQ(input_error([&] { read_idx<float>(p); }),
            p + ": decompressed data is larger than the 16 bytes expected");
}

TEST_F(Idx, GzipHoldsLessThanDeclared) {
  const auto p = write("less.gz", gzip(header(0x08, {2, 3}) + u8s({1, 2, 3, 4, 5})));
  EXPECT_EQ(input_error([&] { read_idx<float>(p); }),
            p + ": header declares 2 x 3 = 6 values (6 bytes) but the file holds only 5 bytes");
}

TEST_F(Idx, GzipShortHeader) {
  // A complete gzip stream that holds less than an IDX header.
  const auto p = write("short.gz", gzip(std::string("\0\0\x08\x03\0\0", 6)));
  EXPECT_EQ(input_error([&] { read_idx<float>(p); }),
            p + ": IDX header is truncated (the file has only 6 bytes; a 3-dimensional header "
                "needs 16)");
}

// ------------------------------------------------------------- bad files

TEST_F(Idx, MissingFile) {
  const auto p = path("missing-ubyte.gz");
  const std::string expected =
      "cannot open '" + p +
      "': No such file or directory (check the path; relative paths start at the current "
      "directory)";
  EXPECT_EQ(input_error([&] { read_idx<float>(p); }), expected);
  EXPECT_EQ(input_error([&] { read_idx_header(p); }), expected);
}

TEST_F(Idx, EmptyFile) {
  const auto p = write("empty.idx", "");
  EXPECT_EQ(input_error([&] { read_idx<float>(p); }), p + ": file is empty (expected an IDX file)");
  const auto q = write("empty.gz", gzip(""));
  EXPECT_EQ(input_error([&] { read_idx<float>(q); }), q + ": file is empty (expected an IDX file)");
}

TEST_F(Idx, WrongMagic) {
  for (const std::string& bytes :
       {std::string("\x01\0\x08\x01\0\0\0\x01x", 9), std::string("\0\x01\x08\x01\0\0\0\x01x", 9),
        std::string("\x93NUMPY"), std::string("1,2,3\n"), std::string("\x01")}) {
    const auto p = write("w.idx", bytes);
    EXPECT_EQ(input_error([&] { read_idx<float>(p); }),
              p + ": not an IDX file (first two bytes must be 0)");
  }
}

TEST_F(Idx, UnknownType) {
  for (const int type : {0x00, 0x07, 0x0A, 0x0F, 0xFF}) {
    std::string bytes = header(0x08, {1}) + u8s({1});
    bytes[2] = static_cast<char>(type);
    const auto p = write("t.idx", bytes);
    EXPECT_EQ(input_error([&] { read_idx<float>(p); }),
              fmt::format("{}: unknown IDX type byte 0x{:02X} (expected 0x08 ubyte, 0x09 byte, "
                          "0x0B short, 0x0C int, 0x0D float or 0x0E double)",
                          p, type));
  }
}

TEST_F(Idx, TruncatedHeader) {
  const auto p = write("h.idx", std::string("\0\0\x08", 3));
  EXPECT_EQ(input_error([&] { read_idx<float>(p); }),
            p + ": IDX header is truncated (the file has only 3 bytes; the header needs at least "
                "4)");
  const auto q = write("h3.idx", header(0x08, {2, 3, 4}).substr(0, 10));
  EXPECT_EQ(input_error([&] { read_idx<float>(q); }),
            q + ": IDX header is truncated (the file has only 10 bytes; a 3-dimensional header "
                "needs 16)");
  EXPECT_EQ(input_error([&] { read_idx_header(q); }),
            q + ": IDX header is truncated (the file has only 10 bytes; a 3-dimensional header "
                "needs 16)");
}

TEST_F(Idx, TruncatedData) {
  const auto p = write("d.idx", header(0x0D, {2, 3, 4}) + f32s(std::vector<float>(23, 1.0f)));
  EXPECT_EQ(input_error([&] { read_idx<float>(p); }),
            p + ": header declares 2 x 3 x 4 = 24 values (96 bytes) but the file holds only 92 "
                "bytes");
  EXPECT_EQ(input_error([&] { read_idx_header(p); }),
            p + ": header declares 2 x 3 x 4 = 24 values (96 bytes) but the file holds only 92 "
                "bytes");
  const auto q = write("d1.idx", header(0x0B, {3}));
  EXPECT_EQ(input_error([&] { read_idx<double>(q); }),
            q + ": header declares 3 = 3 values (6 bytes) but the file holds only 0 bytes");
}

TEST_F(Idx, TrailingBytes) {
  const auto p = write("x.idx", header(0x08, {2, 3}) + u8s({1, 2, 3, 4, 5, 6, 7, 8}));
  EXPECT_EQ(input_error([&] { read_idx<float>(p); }),
            p + ": header declares 2 x 3 = 6 values (6 bytes) but the file holds 8 bytes (2 "
                "unexpected bytes after the data)");
}

TEST_F(Idx, HugeHeaderFailsFastWithoutAllocating) {
  // 10^12 values in a plain file: the file size says no.
  const auto p = write("huge.idx", header(0x08, {1000000, 1000000}) + u8s({1, 2, 3}));
  EXPECT_EQ(input_error([&] { read_idx<float>(p); }),
            p + ": header declares 1000000 x 1000000 = 1000000000000 values (1000000000000 "
                "bytes) but the file holds only 3 bytes");
  // 10^18 values gzipped: more than any machine's memory, found before
  // decompressing.
  const auto q = write("huge.gz", gzip(header(0x0E, {1000000000, 1000000, 1}) + f64s({1})));
  const std::string expected = fmt::format(
      "{}: header declares 1000000000 x 1000000 x 1 = 1000000000000000 values "
      "(8000000000000000 bytes), more than this machine's {} bytes of memory; the file is "
      "corrupt or too large",
      q, kreg::io::detail::physical_memory());
  EXPECT_EQ(input_error([&] { read_idx<float>(q); }), expected);
  EXPECT_EQ(input_error([&] { read_idx_header(q); }), expected);
  // A product past 64 bits.
  const auto r = write("of.gz", gzip(header(0x08, {4294967295U, 4294967295U, 4294967295U})));
  EXPECT_EQ(input_error([&] { read_idx<float>(r); }),
            r + ": header declares 4294967295 x 4294967295 x 4294967295 values, more than fits "
                "in 64 bits; the file is corrupt");
}

TEST_F(Idx, GzipDeclaringAFewGigabytesDecompressesOnlyWhatIsThere) {
  // A header claiming 2 GB of a tiny stream: bounded by the data, not the
  // claim, and reported as truncated data.
  const auto p = write("claim.gz", gzip(header(0x08, {2000, 1000, 1000}) + u8s({1, 2})));
  EXPECT_EQ(input_error([&] { read_idx<float>(p); }),
            p + ": header declares 2000 x 1000 x 1000 = 2000000000 values (2000000000 bytes) but "
                "the file holds only 2 bytes");
}

TEST_F(Idx, AbsurdColumnCountIsRefusedBeforeAllocating) {
  // No rows, 2^32 columns: nothing to read, but per-column names and
  // statistics would take gigabytes.
  for (const bool gz : {false, true}) {
    const std::string bytes = header(0x08, {0, 65536, 65536});
    const auto p = write(gz ? "wide.gz" : "wide.idx", gz ? gzip(bytes) : bytes);
    const std::string expected =
        p +
        ": header's dimensions 0 x 65536 x 65536 make 4294967296 columns per row, more than "
        "kreg's limit of 16777216 (kreg keeps a name and statistics for every column, which "
        "alone would take gigabytes); the file is corrupt or not a data set kreg can use";
    EXPECT_EQ(input_error([&] { read_idx<float>(p); }), expected);
    EXPECT_EQ(input_error([&] { read_idx_header(p); }), expected);
  }
}

TEST_F(Idx, StreamIsReadUpToWhatTheHeaderDeclares) {
  const std::string good = header(0x08, {2, 3}) + u8s({1, 2, 3, 4, 5, 6});
  for (const bool gz : {false, true}) {
    const std::string bytes = gz ? gzip(good) : good;
    const std::string name = gz ? "s.idx.gz" : "s.idx";
    {
      const kreg::test::FedFifo fifo(path(name), bytes);
      expect_matrix(read_idx<float>(fifo.path()), 2, 3, {1, 2, 3, 4, 5, 6});
    }
    {
      const kreg::test::FedFifo fifo(path(name), bytes.substr(0, bytes.size() - (gz ? 12 : 2)));
      const std::string msg = input_error([&] { read_idx<float>(fifo.path()); });
      EXPECT_EQ(msg, gz ? fifo.path() + ": gzip stream is truncated"
                        : fifo.path() +
                              ": header declares 2 x 3 = 6 values (6 bytes) but the file holds "
                              "only 4 bytes");
    }
  }
  {
    // Plain data, then bytes without end.
    const kreg::test::FedFifo fifo(path("endless.idx"), good, std::string(4096, '\x07'), true);
    EXPECT_EQ(input_error([&] { read_idx<float>(fifo.path()); }),
              fifo.path() +
                  ": header declares 2 x 3 = 6 values (6 bytes) but more bytes follow the data; "
                  "the file is corrupt or endless");
  }
  {
    // A gzip stream, then garbage without end.
    const kreg::test::FedFifo fifo(path("garbage.gz"), gzip(good), std::string(4096, '\x07'), true);
    EXPECT_EQ(input_error([&] { read_idx<float>(fifo.path()); }),
              fifo.path() +
                  ": corrupt gzip data (more than 1048576 unexpected bytes after the end of the "
                  "gzip stream)");
  }
  {
    // A gzip stream, then zero "padding" without end.
    const kreg::test::FedFifo fifo(path("zeros.gz"), gzip(good), std::string(4096, '\0'), true);
    EXPECT_EQ(input_error([&] { read_idx<float>(fifo.path()); }),
              fifo.path() +
                  ": corrupt gzip data (more than 1048576 unexpected bytes after the end of the "
                  "gzip stream)");
  }
  {
    // Empty gzip members without end: each decompresses to nothing, so only
    // the bound on the compressed input stops them.
    const kreg::test::FedFifo fifo(path("members.gz"), gzip(good), gzip(""), true);
    EXPECT_EQ(input_error([&] { read_idx<float>(fifo.path()); }),
              fifo.path() +
                  ": the gzip stream goes on past 2097170 bytes, more than any compression of "
                  "the data its header declares; the file is corrupt or endless");
  }
  {
    // One deflate stream that never ends: stops one byte past the data.
    std::string zeros = gzip(header(0x08, {2, 3}) + std::string(1 << 20, '\0'));
    zeros.resize(zeros.size() - 8);  // no trailer: the stream goes on
    const kreg::test::FedFifo fifo(path("long.gz"), zeros);
    EXPECT_EQ(input_error([&] { read_idx<float>(fifo.path()); }),
              fifo.path() + ": decompressed data is larger than the 18 bytes expected");
  }
}

TEST_F(Idx, EndlessDeviceIsRefusedAtTheHeader) {
  const auto link = path("zeros-ubyte");
  fs::create_symlink("/dev/zero", link);
  EXPECT_EQ(input_error([&] { read_idx<float>(link); }),
            link +
                ": unknown IDX type byte 0x00 (expected 0x08 ubyte, 0x09 byte, 0x0B short, "
                "0x0C int, 0x0D float or 0x0E double)");
  EXPECT_EQ(input_error([&] { read_idx<float>("/dev/zero"); }),
            "/dev/zero: unknown IDX type byte 0x00 (expected 0x08 ubyte, 0x09 byte, 0x0B short, "
            "0x0C int, 0x0D float or 0x0E double)");
}

// ----------------------------------------------------------------- writer

template <class T>
Matrix<T> sample(index_t rows, index_t cols) {
  Matrix<T> m(rows, cols);
  for (index_t k = 0; k < m.size(); ++k) {
    if constexpr (std::is_same_v<T, std::uint8_t>) {
      m.data()[k] = static_cast<std::uint8_t>((k * 37) % 256);
    } else {
      m.data()[k] = static_cast<T>(std::sin(static_cast<double>(k)) * 1000.0);
    }
  }
  return m;
}

template <class T>
void expect_bit_exact(const Matrix<T>& a, const Matrix<T>& b) {
  ASSERT_EQ(a.rows(), b.rows());
  ASSERT_EQ(a.cols(), b.cols());
  if (a.size() > 0) {
    EXPECT_EQ(std::memcmp(a.data(), b.data(), static_cast<std::size_t>(a.size()) * sizeof(T)), 0);
  }
}

TEST_F(Idx, RoundTripEachTypePlainAndGzipped) {
  for (const std::string name : {"r.idx", "r.idx.gz"}) {
    const auto p = path(name);
    const auto u = sample<std::uint8_t>(30, 17);
    write_idx<std::uint8_t>(p, u);
    expect_bit_exact(read_idx<std::uint8_t>(p), u);
    EXPECT_EQ(read_idx_header(p).type, IdxType::u8);

    auto f = sample<float>(25, 3);
    f(0, 0) = -0.0f;
    f(1, 1) = std::numeric_limits<float>::quiet_NaN();
    f(2, 2) = std::numeric_limits<float>::infinity();
    f(3, 0) = std::numeric_limits<float>::denorm_min();
    write_idx<float>(p, f);
    expect_bit_exact(read_idx<float>(p, NonFinite::allow), f);
    EXPECT_EQ(read_idx_header(p).type, IdxType::f32);

    auto d = sample<double>(11, 5);
    d(0, 0) = std::numeric_limits<double>::quiet_NaN();
    d(1, 0) = std::numeric_limits<double>::lowest();
    d(2, 0) = 1.0 / 3.0;
    write_idx<double>(p, d);
    expect_bit_exact(read_idx<double>(p, NonFinite::allow), d);
    EXPECT_EQ(read_idx_header(p).type, IdxType::f64);
  }
  EXPECT_TRUE(kreg::io::detail::is_gzip(read_bytes(path("r.idx.gz"))));
  EXPECT_FALSE(kreg::io::detail::is_gzip(read_bytes(path("r.idx"))));
}

TEST_F(Idx, WriterBytes) {
  Matrix<std::uint8_t> m(2, 3);
  for (index_t k = 0; k < 6; ++k) m.data()[k] = static_cast<std::uint8_t>(k + 1);
  const auto p = path("b.idx");
  write_idx<std::uint8_t>(p, m);
  EXPECT_EQ(read_bytes(p), header(0x08, {2, 3}) + u8s({1, 2, 3, 4, 5, 6}));
  write_idx<std::uint8_t>(p, m, {1, 2, 3});
  EXPECT_EQ(read_bytes(p), header(0x08, {1, 2, 3}) + u8s({1, 2, 3, 4, 5, 6}));
  Matrix<double> y(3, 1);
  y(2, 0) = 2.5;
  write_idx<double>(p, y);
  EXPECT_EQ(read_bytes(p), header(0x0E, {3}) + f64s({0, 0, 2.5}));
  Matrix<float> f(1, 1);
  f(0, 0) = 1.0f;
  write_idx<float>(p, f);
  EXPECT_EQ(read_bytes(p), header(0x0D, {1}) + f32s({1.0f}));
}

TEST_F(Idx, WriteImagesWithThreeDims) {
  const auto images = sample<std::uint8_t>(10, 784);
  const auto p = path("images-idx3-ubyte.gz");
  write_idx<std::uint8_t>(p, images, {10, 28, 28});
  IdxHeader h;
  expect_bit_exact(read_idx<std::uint8_t>(p, NonFinite::reject, &h), images);
  EXPECT_EQ(h.dims, (std::vector<index_t>{10, 28, 28}));
}

TEST_F(Idx, WriteStridedView) {
  std::vector<float> buffer(20);
  for (std::size_t k = 0; k < 20; ++k) buffer[k] = static_cast<float>(k);
  const MatrixView<const float> v(buffer.data() + 2, 4, 3, 5);
  const auto p = path("v.idx");
  write_idx<float>(p, v);
  expect_matrix(read_idx<float>(p), 4, 3, {2, 3, 4, 7, 8, 9, 12, 13, 14, 17, 18, 19});
}

TEST_F(Idx, WriterRejectsBadDims) {
  const auto m = sample<float>(4, 6);
  const auto p = path("bad.idx");
  const auto argument_error = [&](std::vector<index_t> dims) -> std::string {
    try {
      write_idx<float>(p, m, std::move(dims));
    } catch (const kreg::ArgumentError& e) {
      return e.what();
    }
    return "no ArgumentError";
  };
  EXPECT_EQ(argument_error({4, 5}),
            "write_idx '" + p + "': dims (4 x 5) hold 20 values but the data has 4 x 6 = 24");
  EXPECT_EQ(argument_error({2, 3, 2, 2}),
            "write_idx '" + p + "': 4 dimensions given; IDX files here have 1 to 3");
  EXPECT_EQ(argument_error({-4, -6}),
            "write_idx '" + p + "': dimension -4 is out of range (0 to 4294967295)");
  EXPECT_EQ(argument_error({24 * 4294967296LL}),
            "write_idx '" + p + "': dimension 103079215104 is out of range (0 to 4294967295)");
  EXPECT_FALSE(fs::exists(p));  // nothing written
  EXPECT_EQ(argument_error({4, 6}), "no ArgumentError");
  EXPECT_EQ(argument_error({24}), "no ArgumentError");
  EXPECT_EQ(argument_error({2, 2, 6}), "no ArgumentError");
}

// --------------------------------------------------------- Fashion-MNIST

const std::string kFashion = "/usr/share/datasets/fashion-mnist/";

bool have_fashion() {
  for (const char* f : {"train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz",
                        "t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"}) {
    if (!fs::exists(kFashion + f)) return false;
  }
  return true;
}

TEST(FashionMnist, TrainImages) {
  if (!have_fashion()) {
    GTEST_SKIP() << "Fashion-MNIST not installed (apt-get install dataset-fashion-mnist)";
  }
  const auto start = std::chrono::steady_clock::now();
  IdxHeader h;
  const auto images =
      read_idx<float>(kFashion + "train-images-idx3-ubyte.gz", NonFinite::reject, &h);
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::printf("train-images-idx3-ubyte.gz: 60000 x 784 loaded as float in %.3f s\n", seconds);
  ASSERT_EQ(images.rows(), 60000);
  ASSERT_EQ(images.cols(), 784);
  EXPECT_EQ(h.type, IdxType::u8);
  EXPECT_EQ(h.dims, (std::vector<index_t>{60000, 28, 28}));
  double first = 0, total = 0, max = 0;
  for (index_t j = 0; j < 784; ++j) first += images(0, j);
  for (index_t k = 0; k < images.size(); ++k) {
    total += images.data()[k];
    max = std::max<double>(max, images.data()[k]);
  }
  EXPECT_EQ(first, 76247);         // numpy: images[0].sum()
  EXPECT_EQ(total, 3431114169.0);  // numpy: images.sum()
  EXPECT_EQ(max, 255);
}

TEST(FashionMnist, TrainImagesAsBytesAndDouble) {
  if (!have_fashion()) {
    GTEST_SKIP() << "Fashion-MNIST not installed (apt-get install dataset-fashion-mnist)";
  }
  const auto bytes = read_idx<std::uint8_t>(kFashion + "train-images-idx3-ubyte.gz");
  const auto doubles = read_idx<double>(kFashion + "train-images-idx3-ubyte.gz");
  ASSERT_EQ(bytes.size(), 60000 * 784);
  ASSERT_EQ(doubles.size(), 60000 * 784);
  for (index_t k = 0; k < bytes.size(); ++k) ASSERT_EQ(doubles.data()[k], bytes.data()[k]);
}

TEST(FashionMnist, TestImages) {
  if (!have_fashion()) {
    GTEST_SKIP() << "Fashion-MNIST not installed (apt-get install dataset-fashion-mnist)";
  }
  const auto images = read_idx<double>(kFashion + "t10k-images-idx3-ubyte.gz");
  ASSERT_EQ(images.rows(), 10000);
  ASSERT_EQ(images.cols(), 784);
  double total = 0;
  for (index_t k = 0; k < images.size(); ++k) total += images.data()[k];
  EXPECT_EQ(total, 573469082.0);
}

TEST(FashionMnist, Labels) {
  if (!have_fashion()) {
    GTEST_SKIP() << "Fashion-MNIST not installed (apt-get install dataset-fashion-mnist)";
  }
  struct Case {
    std::string file;
    index_t rows;
    std::vector<int> first;
  };
  for (const Case& c : {Case{"train-labels-idx1-ubyte.gz", 60000, {9, 0, 0, 3, 0, 2, 7, 2, 5, 5}},
                        Case{"t10k-labels-idx1-ubyte.gz", 10000, {9, 2, 1, 1, 6, 1, 4, 6, 5, 7}}}) {
    const auto labels = read_idx<double>(kFashion + c.file);
    ASSERT_EQ(labels.rows(), c.rows);
    ASSERT_EQ(labels.cols(), 1);
    for (std::size_t i = 0; i < c.first.size(); ++i) {
      EXPECT_EQ(labels(static_cast<index_t>(i), 0), c.first[i]) << c.file << " label " << i;
    }
    // Balanced classes 0..9.
    std::vector<index_t> counts(10, 0);
    for (index_t i = 0; i < labels.rows(); ++i) {
      const double v = labels(i, 0);
      ASSERT_TRUE(v >= 0 && v <= 9 && v == std::floor(v)) << v;
      ++counts[static_cast<std::size_t>(v)];
    }
    for (const index_t n : counts) EXPECT_EQ(n, c.rows / 10) << c.file;
    EXPECT_EQ(read_idx_header(kFashion + c.file).dims, (std::vector<index_t>{c.rows}));
  }
}

}  // namespace
