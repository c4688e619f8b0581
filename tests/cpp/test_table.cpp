// Tests of format dispatch (read_table/write_table) and target selection.
#include <fmt/format.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "kreg/io/table.hpp"
#include "test_support.hpp"

namespace kreg::io {
namespace {

const auto message_of = kreg::test::error_of<kreg::Error>;

Table<double> small_table() {
  Table<double> t{Matrix<double>(2, 3), {"a", "b", "y"}};
  for (index_t i = 0; i < 2; ++i)
    for (index_t j = 0; j < 3; ++j) t.data(i, j) = 10.0 * i + j;
  return t;
}

TEST(ResolveColumn, ByNameAndIndex) {
  const std::vector<std::string> cols{"a", "b", "y"};
  EXPECT_EQ(resolve_column("y", cols, 3), 2);
  EXPECT_EQ(resolve_column("0", cols, 3), 0);
  EXPECT_EQ(resolve_column("-1", cols, 3), 2);
  EXPECT_EQ(resolve_column("1", {}, 3), 1);
}

TEST(ResolveColumn, ErrorsSayWhatExists) {
  const std::vector<std::string> cols{"a", "b", "y"};
  EXPECT_EQ(message_of([&] { resolve_column("target", cols, 3); }),
            "no column named 'target'; the columns are 'a', 'b', 'y'");
  EXPECT_EQ(message_of([&] { resolve_column("3", cols, 3); }),
            "column index 3 is out of range: the data has 3 columns (0..2, or -1 for the last)");
  EXPECT_EQ(message_of([&] { resolve_column("y", {}, 3); }),
            "no column named 'y': this file has no column names; give the target as a column "
            "index (0..2, or -1 for the last)");
}

TEST(SplitTarget, MovesTargetOut) {
  const auto ds = split_target(small_table(), "b");
  ASSERT_EQ(ds.X.cols(), 2);
  ASSERT_EQ(ds.y.cols(), 1);
  EXPECT_EQ(ds.X(1, 0), 10);
  EXPECT_EQ(ds.X(1, 1), 12);
  EXPECT_EQ(ds.y(1, 0), 11);
  EXPECT_EQ(ds.target, "b");
  EXPECT_EQ(ds.features, (std::vector<std::string>{"a", "y"}));
}

TEST(SplitTarget, NoTargetKeepsAllColumnsAndNamesUnnamedOnes) {
  Table<double> t{Matrix<double>(1, 2), {}};
  const auto ds = split_target(t, "");
  EXPECT_EQ(ds.X.cols(), 2);
  EXPECT_EQ(ds.y.cols(), 0);
  EXPECT_EQ(ds.features, (std::vector<std::string>{"x0", "x1"}));
  EXPECT_EQ(split_target(t, "-1").target, "column 1");
}

class TableFiles : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ =
        std::filesystem::path(::testing::TempDir()) / ("kreg_table_" + std::to_string(::getpid()));
    std::filesystem::create_directories(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::string path(const std::string& name) const { return (dir_ / name).string(); }
  std::filesystem::path dir_;
};

TEST_F(TableFiles, CsvAndNpyRoundTripByExtension) {
  const auto t = small_table();
  for (const char* name : {"t.csv", "t.npy", "t.tsv"}) {
    write_table<double>(path(name), t.data, t.columns);
    const auto back = read_table<double>(path(name));
    ASSERT_EQ(back.data.rows(), 2) << name;
    ASSERT_EQ(back.data.cols(), 3) << name;
    for (index_t i = 0; i < 2; ++i)
      for (index_t j = 0; j < 3; ++j) EXPECT_EQ(back.data(i, j), t.data(i, j)) << name;
    if (std::string(name) == "t.npy") {
      EXPECT_TRUE(back.columns.empty());
    } else {
      EXPECT_EQ(back.columns, t.columns) << name;
    }
  }
  std::ifstream tsv(path("t.tsv"));
  std::string header;
  std::getline(tsv, header);
  EXPECT_EQ(header, "a\tb\ty");
}

TEST_F(TableFiles, GzipIsOnlyForIdx) {
  EXPECT_EQ(message_of([&] { read_table<double>(path("data.csv.gz")); }),
            fmt::format("'{}': kreg reads gzip-compressed IDX files only; decompress CSV and NPY "
                        "files first",
                        path("data.csv.gz")));
}

}  // namespace
}  // namespace kreg::io
