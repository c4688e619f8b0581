// Tests for parsing a large CSV file on several threads (CsvOptions::n_jobs):
// the table, and the error for a bad file, are those of one thread, wherever
// the pieces of the file begin and end.
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <bit>
#include <cstdint>
#include <random>
#include <string>
#include <string_view>
#include <vector>

#include "kreg/error.hpp"
#include "kreg/io/csv.hpp"

namespace {

using kreg::InputError;
using kreg::io::CsvOptions;
using kreg::io::Table;

// Big enough for several pieces on every thread count below (the parser cuts
// pieces of at least 128 KiB, and goes parallel from 256 KiB).
constexpr int kRows = 60000;
constexpr int kCols = 4;

// A header and kRows rows of numbers in assorted forms (shortest round trip,
// exponents, leading '+', padding spaces).
std::string big_csv(const std::string& eol = "\n") {
  std::mt19937_64 rng(11);
  std::normal_distribution<double> normal(0.0, 100.0);
  std::string text = "a,b,c,y" + eol;
  for (int i = 0; i < kRows; ++i) {
    for (int j = 0; j < kCols; ++j) {
      const double v = normal(rng);
      if (j > 0) text += ',';
      switch ((i + j) % 4) {
        case 0:
          text += fmt::format("{}", v);
          break;
        case 1:
          text += fmt::format("{:e}", v);
          break;
        case 2:
          text += fmt::format(" {:.3f} ", v);
          break;
        default:
          text += fmt::format("{}{}", v >= 0 ? "+" : "", v);
      }
    }
    text += eol;
  }
  return text;
}

template <class T>
Table<T> parse(const std::string& text, int n_jobs) {
  CsvOptions options;
  options.n_jobs = n_jobs;
  return kreg::io::parse_csv<T>(text, options, "big.csv");
}

// The same shape, names and bits as the one-thread table.
template <class T>
void expect_same(const Table<T>& one, const Table<T>& many, int n_jobs) {
  ASSERT_EQ(one.data.rows(), many.data.rows()) << "n_jobs " << n_jobs;
  ASSERT_EQ(one.data.cols(), many.data.cols()) << "n_jobs " << n_jobs;
  EXPECT_EQ(one.columns, many.columns) << "n_jobs " << n_jobs;
  for (kreg::index_t i = 0; i < one.data.size(); ++i) {
    ASSERT_EQ(std::bit_cast<std::uint64_t>(static_cast<double>(one.data.data()[i])),
              std::bit_cast<std::uint64_t>(static_cast<double>(many.data.data()[i])))
        << "n_jobs " << n_jobs << ", element " << i;
  }
}

// The message of the error parsing `text` throws on n_jobs threads.
std::string error_of(const std::string& text, int n_jobs) {
  try {
    (void)parse<double>(text, n_jobs);
  } catch (const InputError& e) {
    return e.what();
  }
  return "(no error)";
}

// `s` with its n bytes at `at` replaced by `with` (append: GCC 12 warns
// falsely about std::string::insert and replace with a literal).
std::string spliced(const std::string& s, std::size_t at, std::size_t n, std::string_view with) {
  std::string out;
  out.reserve(s.size() + with.size());
  out.append(s, 0, at);
  out.append(with);
  out.append(s, at + n);
  return out;
}

// The offset of the start of data line `row` (0-based, after the header).
std::size_t row_start(const std::string& text, int row) {
  std::size_t at = text.find('\n') + 1;
  for (int i = 0; i < row; ++i) at = text.find('\n', at) + 1;
  return at;
}

TEST(CsvParallel, SameTableOnAnyThreadCount) {
  const std::string text = big_csv();
  ASSERT_GT(text.size(), std::size_t{1} << 20);
  const Table<double> one = parse<double>(text, 1);
  ASSERT_EQ(one.data.rows(), kRows);
  for (const int n_jobs : {2, 3, 8, -1}) expect_same(one, parse<double>(text, n_jobs), n_jobs);
  const Table<float> one_f = parse<float>(text, 1);
  for (const int n_jobs : {2, 5}) expect_same(one_f, parse<float>(text, n_jobs), n_jobs);
}

TEST(CsvParallel, CrlfNoFinalLineEndAndBlankTail) {
  std::string crlf = big_csv("\r\n");
  const Table<double> one = parse<double>(crlf, 1);
  ASSERT_EQ(one.data.rows(), kRows);
  for (const int n_jobs : {2, 4}) expect_same(one, parse<double>(crlf, n_jobs), n_jobs);

  std::string unterminated = big_csv();
  unterminated.pop_back();  // the last row without its line end
  for (const int n_jobs : {2, 4}) {
    expect_same(parse<double>(unterminated, 1), parse<double>(unterminated, n_jobs), n_jobs);
  }

  // Blank lines at the end, more than a whole piece of them: they end the data.
  std::string tail = big_csv() + std::string(300000, '\n') + "  \n\t\n";
  for (const int n_jobs : {2, 4}) {
    const Table<double> many = parse<double>(tail, n_jobs);
    EXPECT_EQ(many.data.rows(), kRows);
    expect_same(one, many, n_jobs);
  }
}

TEST(CsvParallel, QuotedFieldsParseAsOnOneThread) {
  const std::string good = big_csv();
  std::size_t at = row_start(good, kRows - 10);  // a quoted cell near the end
  std::string text = spliced(good, at, 0, "\"");
  text = spliced(text, text.find(',', at), 0, "\"");
  const Table<double> one = parse<double>(text, 1);
  for (const int n_jobs : {2, 4}) expect_same(one, parse<double>(text, n_jobs), n_jobs);

  // A quoted field holding line ends, over more than a piece: the pieces cut
  // inside it, yet the error is the one thread's (a number holds no line end).
  at = row_start(good, 20000);
  const std::string spanning =
      spliced(good, at, good.find(',', at) - at, "\"1" + std::string(300000, '\n') + "\"");
  const std::string expected = error_of(spanning, 1);
  EXPECT_NE(expected.find("big.csv:20002:1: expected a number"), std::string::npos) << expected;
  for (const int n_jobs : {2, 3, 8}) EXPECT_EQ(error_of(spanning, n_jobs), expected);
}

TEST(CsvParallel, FirstBadLineIsReportedOnAnyThreadCount) {
  const std::string good = big_csv();
  // A bad cell late in the file (a later piece), then one earlier too: the
  // error names the earlier one's line and column, as one thread does.
  const std::string late = spliced(good, row_start(good, 50000), 1, "x");
  const std::string both = spliced(late, row_start(late, 20000), 1, "?");
  for (const std::string* text : {&late, &both}) {
    const std::string expected = error_of(*text, 1);
    ASSERT_NE(expected, "(no error)");
    for (const int n_jobs : {2, 3, 8}) EXPECT_EQ(error_of(*text, n_jobs), expected);
  }
  EXPECT_NE(error_of(both, 1).find("big.csv:20002:1:"), std::string::npos) << error_of(both, 1);
  EXPECT_NE(error_of(late, 2).find("big.csv:50002:1:"), std::string::npos) << error_of(late, 2);

  // A row with a field too few, and a blank line before more rows.
  const std::size_t r = row_start(good, 45000);
  const std::string short_row = spliced(good, r, good.find(',', r) + 1 - r, "");
  const std::string blank = spliced(good, row_start(good, 30000), 0, "\n");
  for (const std::string* text : {&short_row, &blank}) {
    const std::string expected = error_of(*text, 1);
    ASSERT_NE(expected, "(no error)");
    for (const int n_jobs : {2, 5}) EXPECT_EQ(error_of(*text, n_jobs), expected);
  }
  EXPECT_NE(error_of(short_row, 2).find("big.csv:45002: expected 4 fields"), std::string::npos)
      << error_of(short_row, 2);
  EXPECT_NE(error_of(blank, 2).find("big.csv:30002: expected 4 fields like the header, found an "
                                    "empty line"),
            std::string::npos)
      << error_of(blank, 2);
}

TEST(CsvParallel, NonFiniteCellsAsOnOneThread) {
  const std::string good = big_csv();
  const std::size_t r = row_start(good, 40000);
  const std::string text = spliced(good, r, good.find(',', r) - r, "nan");
  const std::string expected = error_of(text, 1);
  EXPECT_NE(expected.find("non-finite"), std::string::npos) << expected;
  EXPECT_EQ(error_of(text, 4), expected);
  CsvOptions allow;
  allow.non_finite = kreg::io::NonFinite::allow;
  allow.n_jobs = 1;
  const Table<double> one = kreg::io::parse_csv<double>(text, allow, "big.csv");
  allow.n_jobs = 4;
  expect_same(one, kreg::io::parse_csv<double>(text, allow, "big.csv"), 4);
}

}  // namespace
