// Tests for kreg/io/csv.hpp: good files, exact error messages, round trips.
#include "kreg/io/csv.hpp"

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <bit>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "io/file.hpp"
#include "kreg/error.hpp"
#include "stream_support.hpp"
#include "test_support.hpp"

namespace {

namespace fs = std::filesystem;
using kreg::InputError;
using kreg::Matrix;
using kreg::io::CsvOptions;
using kreg::io::NonFinite;
using kreg::io::Table;

class Csv : public ::testing::Test {
 protected:
  void SetUp() override {
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    dir_ = fs::path(::testing::TempDir()) /
           fmt::format("kreg_test_csv_{}_{}", ::getpid(), info->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override {
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }

  // Writes `content` byte for byte to a file in the test directory.
  std::string file(const std::string& name, const std::string& content) const {
    const std::string path = (dir_ / name).string();
    std::ofstream out(path, std::ios::binary);
    out << content;
    return path;
  }

  std::string path(const std::string& name) const { return (dir_ / name).string(); }

  fs::path dir_;
};

// Runs f, expecting an InputError whose message is exactly `expected`.
void expect_input_error(const std::function<void()>& f, const std::string& expected) {
  kreg::test::expect_error<InputError>(f, expected);
}

// Reads `content` from a file named data.csv and expects the exact error
// "<path><suffix>", where the suffix starts at the ':' after the file name.
template <class T = double>
void expect_file_error(const Csv& /*unused*/, const std::string& path, const std::string& suffix,
                       const CsvOptions& options = {}) {
  expect_input_error([&] { (void)kreg::io::read_csv<T>(path, options); }, path + suffix);
}

template <class T>
std::vector<T> values(const Matrix<T>& m) {
  return {m.data(), m.data() + m.size()};
}

// ---------------------------------------------------------------- good files

TEST_F(Csv, HeaderAndNumbers) {
  const auto p = file("a.csv", "a,b,c\n1,2,3\n4.5,-6e2,+7\n");
  const Table<double> t = kreg::io::read_csv<double>(p);
  EXPECT_EQ(t.columns, (std::vector<std::string>{"a", "b", "c"}));
  ASSERT_EQ(t.data.rows(), 2);
  ASSERT_EQ(t.data.cols(), 3);
  EXPECT_EQ(values(t.data), (std::vector<double>{1, 2, 3, 4.5, -600, 7}));
}

TEST_F(Csv, NoHeader) {
  CsvOptions options;
  options.header = false;
  const auto p = file("a.csv", "1,2,3\n4,5,6\n");
  const auto t = kreg::io::read_csv<double>(p, options);
  EXPECT_TRUE(t.columns.empty());
  ASSERT_EQ(t.data.rows(), 2);
  EXPECT_EQ(values(t.data), (std::vector<double>{1, 2, 3, 4, 5, 6}));
}

TEST_F(Csv, CrlfLineEnds) {
  const auto t = kreg::io::parse_csv<double>("x,y\r\n1,2\r\n3,4\r\n");
  EXPECT_EQ(t.columns, (std::vector<std::string>{"x", "y"}));
  EXPECT_EQ(values(t.data), (std::vector<double>{1, 2, 3, 4}));
  const auto u = kreg::io::parse_csv<double>("x,y\r\n1,2\r\n3,4");  // no final CRLF
  EXPECT_EQ(values(u.data), (std::vector<double>{1, 2, 3, 4}));
}

TEST_F(Csv, QuotedFieldsAndNames) {
  const auto t = kreg::io::parse_csv<double>(
      "\"x 1\",\"say \"\"hi\"\"\",\"a,b\"\n\"1.5\", 2 ,\" 3 \"\n\"-4\",5,6\n");
  EXPECT_EQ(t.columns, (std::vector<std::string>{"x 1", "say \"hi\"", "a,b"}));
  EXPECT_EQ(values(t.data), (std::vector<double>{1.5, 2, 3, -4, 5, 6}));
}

TEST_F(Csv, QuotedNameSpanningLines) {
  const auto t = kreg::io::parse_csv<double>("\"two\nlines\",b\n1,2\n");
  EXPECT_EQ(t.columns, (std::vector<std::string>{"two\nlines", "b"}));
  EXPECT_EQ(values(t.data), (std::vector<double>{1, 2}));
  // Line numbers after the header count the line end inside the quotes.
  expect_input_error([] { (void)kreg::io::parse_csv<double>("\"two\nlines\",b\n1,x\n"); },
                     "<text>:3:3: expected a number, found 'x' (column 'b')");
}

TEST_F(Csv, ByteOrderMarkSkipped) {
  const auto p = file("bom.csv", "\xEF\xBB\xBFx,y\n1,2\n");
  const auto t = kreg::io::read_csv<double>(p);
  EXPECT_EQ(t.columns, (std::vector<std::string>{"x", "y"}));
  EXPECT_EQ(values(t.data), (std::vector<double>{1, 2}));
}

TEST_F(Csv, TabAndSemicolonDelimiters) {
  CsvOptions tab;
  tab.delimiter = '\t';
  const auto t = kreg::io::parse_csv<double>("a\tb\n1\t2\n 3 \t 4\n", tab);
  EXPECT_EQ(t.columns, (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(values(t.data), (std::vector<double>{1, 2, 3, 4}));
  CsvOptions semicolon;
  semicolon.delimiter = ';';
  const auto u = kreg::io::parse_csv<double>("a;b\n1.5;2\n", semicolon);
  EXPECT_EQ(values(u.data), (std::vector<double>{1.5, 2}));
}

TEST_F(Csv, NoFinalNewlineAndTrailingBlankLines) {
  EXPECT_EQ(values(kreg::io::parse_csv<double>("a,b\n1,2\n3,4").data),
            (std::vector<double>{1, 2, 3, 4}));
  const auto t = kreg::io::parse_csv<double>("a,b\n1,2\n3,4\n\n  \r\n\n");
  EXPECT_EQ(t.data.rows(), 2);
  EXPECT_EQ(values(t.data), (std::vector<double>{1, 2, 3, 4}));
}

TEST_F(Csv, LeadingBlankLinesSkipped) {
  const auto t = kreg::io::parse_csv<double>("\n\na,b\n1,2\n");
  EXPECT_EQ(t.columns, (std::vector<std::string>{"a", "b"}));
  expect_input_error([] { (void)kreg::io::parse_csv<double>("\n\na,b\n1,z\n"); },
                     "<text>:4:3: expected a number, found 'z' (column 'b')");
}

TEST_F(Csv, SpacesAroundNumbers) {
  const auto t = kreg::io::parse_csv<double>("a , b\n 1.5 ,  -2 \n+3,\t4\t\n");
  EXPECT_EQ(t.columns, (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(values(t.data), (std::vector<double>{1.5, -2, 3, 4}));
}

TEST_F(Csv, FloatIsRoundedOnceFromText) {
  const auto t = kreg::io::parse_csv<float>("a,b\n0.1,3.4028235e38\n1e-45,-0\n");
  ASSERT_EQ(t.data.size(), 4);
  EXPECT_EQ(t.data(0, 0), 0.1f);
  EXPECT_EQ(t.data(0, 1), std::numeric_limits<float>::max());
  EXPECT_EQ(t.data(1, 0), std::numeric_limits<float>::denorm_min());
  EXPECT_TRUE(std::signbit(t.data(1, 1)));
}

TEST_F(Csv, DoubleSubnormalAndUnderflow) {
  const auto t = kreg::io::parse_csv<double>("a,b,c\n4.9406564584124654e-324,1e-400,-1e-400\n");
  EXPECT_EQ(t.data(0, 0), std::numeric_limits<double>::denorm_min());
  EXPECT_EQ(t.data(0, 1), 0.0);
  EXPECT_FALSE(std::signbit(t.data(0, 1)));
  EXPECT_EQ(t.data(0, 2), 0.0);
  EXPECT_TRUE(std::signbit(t.data(0, 2)));
}

TEST_F(Csv, EmptyHeaderNamesAreGenerated) {
  const auto t = kreg::io::parse_csv<double>(",b,\n1,2,3\n");
  EXPECT_EQ(t.columns, (std::vector<std::string>{"column0", "b", "column2"}));
}

TEST_F(Csv, NonFiniteAllowed) {
  CsvOptions options;
  options.non_finite = NonFinite::allow;
  const auto t =
      kreg::io::parse_csv<double>("a,b,c,d,e,f\nnan,NaN,inf,-inf,Infinity,+inf\n", options);
  ASSERT_EQ(t.data.size(), 6);
  EXPECT_TRUE(std::isnan(t.data(0, 0)));
  EXPECT_TRUE(std::isnan(t.data(0, 1)));
  EXPECT_EQ(t.data(0, 2), std::numeric_limits<double>::infinity());
  EXPECT_EQ(t.data(0, 3), -std::numeric_limits<double>::infinity());
  EXPECT_EQ(t.data(0, 4), std::numeric_limits<double>::infinity());
  EXPECT_EQ(t.data(0, 5), std::numeric_limits<double>::infinity());
}

TEST_F(Csv, SingleColumnManyRows) {
  std::string text = "y\n";
  for (int i = 0; i < 1000; ++i) text += fmt::format("{}\n", i);
  const auto t = kreg::io::parse_csv<double>(text);
  ASSERT_EQ(t.data.rows(), 1000);
  ASSERT_EQ(t.data.cols(), 1);
  EXPECT_EQ(t.data(999, 0), 999.0);
}

// ----------------------------------------------------------------- bad files

TEST_F(Csv, EmptyFile) {
  const auto p = file("empty.csv", "");
  expect_file_error(*this, p, ": the file is empty, expected a header row");
  const auto q = file("blank.csv", "\n  \r\n");
  expect_file_error(*this, q, ": the file is empty, expected a header row");
  CsvOptions no_header;
  no_header.header = false;
  expect_file_error(*this, p, ": the file is empty, expected rows of numbers", no_header);
}

TEST_F(Csv, HeaderOnly) {
  const auto p = file("h.csv", "a,b\n");
  expect_file_error(*this, p, ": the file has a header row but no data rows");
  const auto q = file("h2.csv", "a,b\n\n\n");
  expect_file_error(*this, q, ": the file has a header row but no data rows");
}

TEST_F(Csv, RaggedRow) {
  const auto p = file("r.csv", "a,b,c\n1,2,3\n4,5\n");
  expect_file_error(*this, p, ":3: expected 3 fields like the header, found 2");
  const auto q = file("r2.csv", "a,b,c\n1,2,3,4\n");
  expect_file_error(*this, q, ":2: expected 3 fields like the header, found 4");
  const auto s = file("r3.csv", "a,b\n1,2,\n");  // a trailing delimiter adds a field
  expect_file_error(*this, s, ":2: expected 2 fields like the header, found 3");
  CsvOptions no_header;
  no_header.header = false;
  const auto u = file("r4.csv", "1,2\n3\n");
  expect_file_error(*this, u, ":2: expected 2 fields like the first row, found 1", no_header);
}

TEST_F(Csv, RaggedRowWinsOverBadCell) {
  const auto p = file("r.csv", "a,b,c\nabc,2\n");
  expect_file_error(*this, p, ":2: expected 3 fields like the header, found 2");
}

TEST_F(Csv, NonNumericCell) {
  const auto p = file("data.csv", "id,x2\n1,2\n12345,abc\n");
  expect_file_error(*this, p, ":3:7: expected a number, found 'abc' (column 'x2')");
  const auto q = file("q.csv", "a,b\n1.5x,2\n");
  expect_file_error(*this, q, ":2:1: expected a number, found '1.5x' (column 'a')");
  const auto s = file("s.csv", "a,b\n+-1,2\n");
  expect_file_error(*this, s, ":2:1: expected a number, found '+-1' (column 'a')");
  const auto u = file("u.csv", "a,b\n1,\"2\"\"\"\n");
  expect_file_error(*this, u, ":2:3: expected a number, found '2\"' (column 'b')");
  CsvOptions no_header;
  no_header.header = false;
  const auto v = file("v.csv", "1,2\n3,four\n");
  expect_file_error(*this, v, ":2:3: expected a number, found 'four' (field 2)", no_header);
}

TEST_F(Csv, EmptyCell) {
  const auto p = file("e.csv", "a,b,c\n1,,3\n");
  expect_file_error(*this, p, ":2:3: expected a number, found an empty field (column 'b')");
  const auto q = file("e2.csv", "a,b\n1,\n");
  expect_file_error(*this, q, ":2:3: expected a number, found an empty field (column 'b')");
  const auto s = file("e3.csv", "a,b\n1,\"\"\n");
  expect_file_error(*this, s, ":2:3: expected a number, found an empty field (column 'b')");
}

TEST_F(Csv, UnterminatedQuote) {
  const auto p = file("q.csv", "a,b\n1,\"2\n3,4\n");
  expect_file_error(*this, p,
                    ":2:3: unterminated quoted field (no closing '\"' before the end of the file)");
  const auto q = file("q2.csv", "a,\"b\n1,2\n");
  expect_file_error(*this, q,
                    ":1:3: unterminated quoted field (no closing '\"' before the end of the file)");
}

TEST_F(Csv, TextAfterClosingQuote) {
  const auto p = file("q.csv", "a,b\n1,\"2\"x\n");
  expect_file_error(
      *this, p,
      ":2:6: unexpected 'x' after a closing quote, expected the delimiter or the end of the line");
}

TEST_F(Csv, BlankLineInside) {
  const auto p = file("b.csv", "a,b\n1,2\n\n3,4\n");
  expect_file_error(*this, p,
                    ":3: expected 2 fields like the header, found an empty line (blank lines are "
                    "allowed only at the end of the file)");
}

TEST_F(Csv, DuplicateHeaderNames) {
  const auto p = file("d.csv", "a,b,a\n1,2,3\n");
  expect_file_error(
      *this, p, ":1:5: duplicate column name 'a' (fields 1 and 3); column names must be unique");
}

TEST_F(Csv, NonFiniteRejected) {
  const auto p = file("n.csv", "a,b\n1,2\n3,nan\n");
  expect_file_error(*this, p,
                    ":3:3: non-finite value 'nan' (column 'b'): kreg rejects NaN/Inf by default; "
                    "clean the data or read it with NonFinite::allow");
  const auto q = file("i.csv", "a,b\n-inf,2\n");
  expect_file_error(*this, q,
                    ":2:1: non-finite value '-inf' (column 'a'): kreg rejects NaN/Inf by default; "
                    "clean the data or read it with NonFinite::allow");
  const auto s = file("s.csv", "a,b\n1,\"Infinity\"\n");
  expect_file_error<float>(
      *this, s,
      ":2:3: non-finite value 'Infinity' (column 'b'): kreg rejects NaN/Inf by default; "
      "clean the data or read it with NonFinite::allow");
}

TEST_F(Csv, OutOfRange) {
  const auto p = file("o.csv", "a,b\n1,1e400\n");
  expect_file_error(*this, p, ":2:3: number '1e400' is out of range for double (column 'b')");
  const auto q = file("f.csv", "a,b\n1,-1e39\n");
  expect_file_error<float>(*this, q, ":2:3: number '-1e39' is out of range for float (column 'b')");
}

TEST_F(Csv, MissingFile) {
  try {
    (void)kreg::io::read_csv<double>(path("does-not-exist.csv"));
    ADD_FAILURE() << "expected InputError";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("cannot open"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("does-not-exist.csv"), std::string::npos) << e.what();
  }
}

TEST_F(Csv, SourceNameInParseErrors) {
  expect_input_error([] { (void)kreg::io::parse_csv<double>("a\nx\n", {}, "memory"); },
                     "memory:2:1: expected a number, found 'x' (column 'a')");
}

TEST_F(Csv, BadArguments) {
  CsvOptions options;
  options.delimiter = '"';
  EXPECT_THROW((void)kreg::io::parse_csv<double>("a\n1\n", options), kreg::ArgumentError);
  options.delimiter = '.';
  EXPECT_THROW((void)kreg::io::parse_csv<double>("a\n1\n", options), kreg::ArgumentError);
  options.delimiter = '\n';
  EXPECT_THROW((void)kreg::io::parse_csv<double>("a\n1\n", options), kreg::ArgumentError);
  const Matrix<double> m(2, 2);
  EXPECT_THROW((void)kreg::io::format_csv<double>(m.view(), {"only one"}), kreg::ArgumentError);
  EXPECT_THROW((void)kreg::io::format_csv<double>(m.view(), {}, 'e'), kreg::ArgumentError);
}

// ---------------------------------------------------------------- round trip

template <class T, class Bits>
std::vector<T> random_values(std::size_t n, std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::vector<T> out;
  while (out.size() < n) {
    const T v = std::bit_cast<T>(static_cast<Bits>(rng()));
    if (std::isfinite(v)) out.push_back(v);
  }
  using L = std::numeric_limits<T>;
  const std::vector<T> special = {T(0),           -T(0),       L::denorm_min(), -L::denorm_min(),
                                  L::min(),       L::max(),    L::lowest(),     L::epsilon(),
                                  T(0.1),         T(1) / T(3), T(1e-5),         T(123456789),
                                  L::min() / T(3)};  // the last one is subnormal
  std::copy(special.begin(), special.end(), out.begin());
  std::uniform_real_distribution<T> uniform(T(-1), T(1));
  for (std::size_t i = special.size(); i < n / 2; ++i) out[i] = uniform(rng);
  return out;
}

template <class T, class Bits>
void round_trip(const std::string& path) {
  constexpr kreg::index_t rows = 500;
  constexpr kreg::index_t cols = 7;
  const auto v = random_values<T, Bits>(rows * cols, 42);
  Matrix<T> m(rows, cols);
  std::copy(v.begin(), v.end(), m.data());
  const std::vector<std::string> names = {"a", "b,c", "say \"hi\"", "two\nlines", " pad ", "", "g"};
  kreg::io::write_csv<T>(path, m.view(), names);
  const auto t = kreg::io::read_csv<T>(path);
  ASSERT_EQ(t.data.rows(), rows);
  ASSERT_EQ(t.data.cols(), cols);
  for (kreg::index_t i = 0; i < m.size(); ++i) {
    ASSERT_EQ(std::bit_cast<Bits>(t.data.data()[i]), std::bit_cast<Bits>(m.data()[i]))
        << "value " << i << ": wrote " << fmt::format("{}", m.data()[i]) << ", read "
        << fmt::format("{}", t.data.data()[i]);
  }
  std::vector<std::string> expected = names;
  expected[5] = "column5";  // an empty name reads back as a generated one
  EXPECT_EQ(t.columns, expected);
}

TEST_F(Csv, RoundTripDoubleBitExact) { round_trip<double, std::uint64_t>(path("d.csv")); }

TEST_F(Csv, RoundTripFloatBitExact) { round_trip<float, std::uint32_t>(path("f.csv")); }

TEST_F(Csv, RoundTripTabsAndNoHeader) {
  Matrix<double> m(3, 2);
  for (kreg::index_t i = 0; i < m.size(); ++i) m.data()[i] = 0.1 * static_cast<double>(i) - 0.25;
  const std::string text = kreg::io::format_csv<double>(m.view(), {}, '\t');
  CsvOptions options;
  options.delimiter = '\t';
  options.header = false;
  const auto t = kreg::io::parse_csv<double>(text, options);
  EXPECT_EQ(values(t.data), values(m));
}

TEST_F(Csv, NonFiniteRoundTripWhenAllowed) {
  Matrix<double> m(1, 3);
  m(0, 0) = std::numeric_limits<double>::quiet_NaN();
  m(0, 1) = std::numeric_limits<double>::infinity();
  m(0, 2) = -std::numeric_limits<double>::infinity();
  CsvOptions options;
  options.non_finite = NonFinite::allow;
  const auto t =
      kreg::io::parse_csv<double>(kreg::io::format_csv<double>(m.view(), {"a", "b", "c"}), options);
  EXPECT_TRUE(std::isnan(t.data(0, 0)));
  EXPECT_EQ(t.data(0, 1), m(0, 1));
  EXPECT_EQ(t.data(0, 2), m(0, 2));
}

TEST_F(Csv, FormatMatchesWrittenFileAndHonoursStride) {
  // A 2 x 2 view of a 2 x 3 buffer (ld = 3).
  const double buffer[] = {1.5, -2, 99, 1e-300, 0.1, 99};
  const kreg::MatrixView<const double> view(buffer, 2, 2, 3);
  const std::string text = kreg::io::format_csv<double>(view, {"x", "y"});
  EXPECT_EQ(text, "x,y\n1.5,-2\n1e-300,0.1\n");
  const auto p = path("w.csv");
  kreg::io::write_csv<double>(p, view, {"x", "y"});
  std::ifstream in(p, std::ios::binary);
  const std::string written((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EXPECT_EQ(written, text);
}

// ------------------------------------------------- hostile and odd input

using namespace std::string_literals;

TEST_F(Csv, CrOnlyLineEndsReadLikeLf) {
  // Old Mac files: lines end in CR alone.
  for (const std::string text : {"x,y\r1,2\r3,4\r", "x,y\r1,2\r3,4"}) {
    const auto t = kreg::io::parse_csv<double>(text);
    EXPECT_EQ(t.columns, (std::vector<std::string>{"x", "y"}));
    EXPECT_EQ(values(t.data), (std::vector<double>{1, 2, 3, 4}));
  }
  const auto p = file("mac.csv", "x,y\r1,2\r3,4\r");
  EXPECT_EQ(values(kreg::io::read_csv<double>(p).data), (std::vector<double>{1, 2, 3, 4}));
  // Errors still name the right line.
  expect_input_error([] { (void)kreg::io::parse_csv<double>("x,y\r1,2\r3,z\r", {}, "m.csv"); },
                     "m.csv:3:3: expected a number, found 'z' (column 'y')");
  // CR alone mixed with LF: not guessed, but said.
  expect_input_error([] { (void)kreg::io::parse_csv<double>("x,y\r1,2\r3,4\n", {}, "mix.csv"); },
                     "mix.csv: the file has a header row but no data rows (its lines end in CR "
                     "alone, old Mac style, mixed with LF line ends; convert them all to LF or "
                     "CRLF)");
}

TEST_F(Csv, ControlBytesInCellsAreEscapedInMessages) {
  // A NUL must not cut the message short; other control bytes are shown too.
  const std::string text = "a,b\n1,x\0y\x01\x1b[31m\n"s;
  expect_input_error([&] { (void)kreg::io::parse_csv<double>(text, {}, "nul.csv"); },
                     "nul.csv:2:3: expected a number, found 'x\\0y\\x01\\x1b[31m' (column 'b')");
  expect_input_error([] { (void)kreg::io::parse_csv<double>("a\tb\x7f,c\n1,z\n", {}, "c.csv"); },
                     "c.csv:2:3: expected a number, found 'z' (column 'c')");
  expect_input_error([] { (void)kreg::io::parse_csv<double>("a\tb\x7f,c\nz,1\n", {}, "c.csv"); },
                     "c.csv:2:1: expected a number, found 'z' (column 'a\\tb\\x7f')");
  expect_input_error(
      [] { (void)kreg::io::parse_csv<double>("a\tb,a\tb\n1,2\n", {}, "dup.csv"); },
      "dup.csv:1:5: duplicate column name 'a\\tb' (fields 1 and 2); column names must be unique");
}

TEST_F(Csv, BinaryFilesAreNotText) {
  const std::string tail =
      "; kreg reads CSV and TSV as text, and NPY and IDX files by their names (.npy, .idx, "
      "-ubyte, .gz)";
  expect_file_error(*this, file("nul.csv", "a,b\n1,x\0y\n"s),
                    ": not a text file (a NUL byte at offset 7; is it binary data?)" + tail);
  expect_file_error(
      *this, file("npy.csv", "\x93NUMPY\x01\0v\0{"s),
      ": not a text file (it is an NPY file; give it a name that ends in .npy)" + tail);
  expect_file_error(*this, file("idx.csv", "\0\0\x08\x01\0\0\0\x01\x07"s),
                    ": not a text file (it is an IDX file; give it a name that ends in .idx or "
                    "-ubyte)" +
                        tail);
  expect_file_error(*this, file("gz.csv", "\x1f\x8b\x08\0\0\0\0\0"s),
                    ": not a text file (it is gzip-compressed; decompress it first (kreg reads "
                    "only IDX files gzipped))" +
                        tail);
  expect_file_error(*this,
                    file("utf16.csv",
                         "\xff\xfe"
                         "a\0,\0b\0"s),
                    ": the file is UTF-16 text; kreg reads CSV files as UTF-8 (or ASCII): save it "
                    "as UTF-8");
}

TEST_F(Csv, EndlessBinaryStreamIsRefusedInItsFirstBlock) {
  // /dev/zero never ends; the first block already shows it is not text.
  expect_input_error([] { (void)kreg::io::read_csv<double>("/dev/zero"); },
                     "/dev/zero: not a text file (a NUL byte at offset 0; is it binary data?); "
                     "kreg reads CSV and TSV as text, and NPY and IDX files by their names (.npy, "
                     ".idx, -ubyte, .gz)");
  // The same through a FIFO fed with binary data without end.
  const kreg::test::FedFifo fifo(path("zeros.csv"), "x,y\n1,2\n", std::string(4096, '\0'), true);
  expect_input_error([&] { (void)kreg::io::read_csv<double>(fifo.path()); },
                     fifo.path() +
                         ": not a text file (a NUL byte at offset 8; is it binary data?); kreg "
                         "reads CSV and TSV as text, and NPY and IDX files by their names (.npy, "
                         ".idx, -ubyte, .gz)");
}

TEST_F(Csv, EndlessTextStreamStopsAtTheMemoryBound) {
  // The bound is half of this machine's memory; a small one here shows the
  // stop without filling the memory.
  const kreg::test::FedFifo fifo(path("endless.csv"), "x,y\n", "1,2\n", true);
  expect_input_error([&] { (void)kreg::io::detail::read_text(fifo.path(), 1 << 20); },
                     fifo.path() +
                         ": the text goes on past 1048576 bytes, the most kreg holds in memory "
                         "for a CSV file on this machine (half of its memory); is it an endless "
                         "stream?");
  // A finite stream under the bound reads whole.
  const kreg::test::FedFifo finite(path("finite.csv"), "x,y\n1,2\n3,4\n");
  EXPECT_EQ(values(kreg::io::read_csv<double>(finite.path()).data),
            (std::vector<double>{1, 2, 3, 4}));
  // A regular file over the bound is refused before it is read.
  const auto p = file("big.csv", "x,y\n" + std::string(2000, '1') + ",2\n");
  expect_input_error([&] { (void)kreg::io::detail::read_text(p, 1000); },
                     p + ": 2007 bytes of text, more than the 1000 bytes kreg holds in memory for "
                         "a CSV file on this machine (half of its memory); use fewer rows");
}

TEST_F(Csv, TextOfAnySizeReadsWhole) {
  // read_text's buffer is plain malloc memory below 1 MiB and 2 MiB-aligned
  // (huge-page advice) from there on, and a stream's buffer moves from the
  // one to the other as it grows: every byte must arrive, in order, either way.
  const auto text_of = [](std::size_t n) {
    std::string t;
    t.reserve(n);
    for (std::size_t i = 0; t.size() < n; ++i) t += std::to_string(i % 9973) + ",1\n";
    t.resize(n);
    return t;
  };
  constexpr std::size_t kMiB = std::size_t{1} << 20;
  for (const std::size_t n : {std::size_t{1}, 65535 + std::size_t{0}, kMiB / 2 - 1, kMiB / 2,
                              kMiB - 1, kMiB, 2 * kMiB + 1, 3 * kMiB + 5}) {
    const std::string bytes = text_of(n);
    const auto p = file("size" + std::to_string(n) + ".csv", bytes);
    const kreg::io::detail::TextBuffer got = kreg::io::detail::read_text(p);
    ASSERT_EQ(got.size(), n);
    EXPECT_TRUE(got.view() == bytes) << "file of " << n << " bytes";
  }
  // A stream has no size to read at once: it grows from 64 KiB, past 1 MiB.
  const std::string bytes = text_of(3 * kMiB + 7);
  const kreg::test::FedFifo fifo(path("stream.csv"), bytes);
  const kreg::io::detail::TextBuffer got = kreg::io::detail::read_text(fifo.path());
  ASSERT_EQ(got.size(), bytes.size());
  EXPECT_TRUE(got.view() == bytes);
}

TEST_F(Csv, AbsurdColumnCountIsRefusedBeforeSplitting) {
  const std::string wide(std::size_t{1} << 24, ',');  // 2^24 + 1 fields
  expect_input_error([&] { (void)kreg::io::parse_csv<double>(wide + "\n", {}, "wide.csv"); },
                     "wide.csv:1: the header has 16777217 fields, more than kreg's limit of "
                     "16777216 columns (kreg keeps a name and statistics for every column, which "
                     "alone would take gigabytes); is the delimiter right?");
}

}  // namespace
