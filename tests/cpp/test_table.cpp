// Tests of format dispatch (read_table/write_table) and target selection.
#include <fcntl.h>
#include <fmt/format.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <thread>

#include "io/file.hpp"
#include "kreg/io/table.hpp"
#include "kreg/io/text.hpp"
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

TEST(ResolveColumn, ControlBytesInNamesAreEscaped) {
  using namespace std::string_literals;
  const std::vector<std::string> cols{"a\0b"s, "c\x1b[2J"};
  EXPECT_EQ(message_of([&] { resolve_column("t\nx", cols, 2); }),
            "no column named 't\\nx'; the columns are 'a\\0b', 'c\\x1b[2J'");
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

// Both overloads, for the target in every position: the one that takes the
// table compacts the features within its storage, the other copies and
// leaves the table as it was.
TEST(SplitTarget, EveryTargetColumnInPlaceAndByCopy) {
  constexpr index_t kRows = 5, kCols = 4;
  for (const bool named : {true, false}) {
    Table<float> source{Matrix<float>(kRows, kCols), {}};
    if (named) source.columns = {"a", "b", "c", "d"};
    for (index_t i = 0; i < kRows; ++i)
      for (index_t j = 0; j < kCols; ++j) source.data(i, j) = static_cast<float>(100 * i + j);
    for (index_t t = 0; t < kCols; ++t) {
      SCOPED_TRACE(fmt::format("named {}, target {}", named, t));
      const std::string spec = std::to_string(t);
      Table<float> moved = source;
      const float* storage = moved.data.data();
      const Dataset<float> in_place = split_target(std::move(moved), spec);
      const Dataset<float> copied = split_target(source, spec);
      EXPECT_EQ(in_place.X.data(), storage);
      EXPECT_EQ(source.data(kRows - 1, kCols - 1), 100 * (kRows - 1) + kCols - 1);
      for (const Dataset<float>* ds : {&in_place, &copied}) {
        ASSERT_EQ(ds->X.rows(), kRows);
        ASSERT_EQ(ds->X.cols(), kCols - 1);
        ASSERT_EQ(ds->y.rows(), kRows);
        ASSERT_EQ(ds->y.cols(), 1);
        for (index_t i = 0; i < kRows; ++i) {
          EXPECT_EQ(ds->y(i, 0), static_cast<float>(100 * i + t));
          for (index_t k = 0; k < kCols - 1; ++k) {
            EXPECT_EQ(ds->X(i, k), static_cast<float>(100 * i + (k < t ? k : k + 1)));
          }
        }
        EXPECT_EQ(ds->features.size(), static_cast<std::size_t>(kCols - 1));
        EXPECT_EQ(ds->target,
                  named ? std::string(1, static_cast<char>('a' + t)) : fmt::format("column {}", t));
      }
    }
  }
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

// ------------------------------------------- what an output path names

std::string slurp(const std::string& p) {
  std::ifstream in(p, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

struct stat lstat_of(const std::string& p) {
  struct stat st {};
  EXPECT_EQ(::lstat(p.c_str(), &st), 0) << p << ": " << std::strerror(errno);
  return st;
}

// A character device like /dev/null (1, 3) or /dev/full (1, 7) in the test
// directory, so that a write that wrongly replaced it would replace only a
// copy; without the right to make one (not root), the real device, which an
// unprivileged process cannot replace anyway.
std::string device_copy(const std::filesystem::path& dir, const char* name, unsigned minor) {
  const std::string p = (dir / name).string();
  if (::mknod(p.c_str(), S_IFCHR | 0666, makedev(1, minor)) == 0) return p;
  return std::string("/dev/") + name;
}

TEST_F(TableFiles, WriteThroughAFifoLeavesItAFifo) {
  const std::string fifo = path("out.fifo");
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  std::string got;
  std::thread reader([&] { got = slurp(fifo); });
  const auto t = small_table();
  write_table<double>(fifo, t.data, t.columns);
  reader.join();
  EXPECT_EQ(got, "a,b,y\n0,1,2\n10,11,12\n");
  EXPECT_TRUE(S_ISFIFO(lstat_of(fifo).st_mode));
  EXPECT_EQ(std::distance(std::filesystem::directory_iterator(dir_), {}), 1);  // no temporary
}

TEST_F(TableFiles, WriteThroughADeviceLeavesItADevice) {
  const std::string null = device_copy(dir_, "null", 3);
  write_text_atomic(null, "into the void\n");
  EXPECT_TRUE(S_ISCHR(lstat_of(null).st_mode));
  const std::string full = device_copy(dir_, "full", 7);
  // The write's own errno, not one left over from an earlier call.
  EXPECT_EQ(message_of([&] { write_text_atomic(full, "x"); }),
            fmt::format("cannot write '{}': No space left on device", full));
  EXPECT_TRUE(S_ISCHR(lstat_of(full).st_mode));
}

TEST_F(TableFiles, WriteFollowsSymlinksAndKeepsThem) {
  // An absolute link, a relative link to it, and a link to a file that does
  // not exist yet: each time the file at the end is written, the links stay.
  const std::string target = path("target.csv");
  std::ofstream(target) << "old\n";
  const std::string abs_link = path("abs.csv");
  const std::string rel_link = path("rel.csv");
  ASSERT_EQ(::symlink(target.c_str(), abs_link.c_str()), 0);
  ASSERT_EQ(::symlink("abs.csv", rel_link.c_str()), 0);
  write_text_atomic(rel_link, "new\n");
  EXPECT_EQ(slurp(target), "new\n");
  EXPECT_TRUE(S_ISLNK(lstat_of(abs_link).st_mode));
  EXPECT_TRUE(S_ISLNK(lstat_of(rel_link).st_mode));
  EXPECT_TRUE(S_ISREG(lstat_of(target).st_mode));

  std::filesystem::create_directories(dir_ / "sub");
  const std::string dangling = path("dangling.csv");
  ASSERT_EQ(::symlink("sub/later.csv", dangling.c_str()), 0);
  write_text_atomic(dangling, "later\n");
  EXPECT_EQ(slurp(path("sub/later.csv")), "later\n");
  EXPECT_TRUE(S_ISLNK(lstat_of(dangling).st_mode));

  // A link to a device is a device.
  const std::string null = device_copy(dir_, "null", 3);
  const std::string to_null = path("to-null.csv");
  ASSERT_EQ(::symlink(null.c_str(), to_null.c_str()), 0);
  write_text_atomic(to_null, "gone\n");
  EXPECT_TRUE(S_ISCHR(lstat_of(null).st_mode));
  EXPECT_TRUE(S_ISLNK(lstat_of(to_null).st_mode));

  const std::string loop = path("loop.csv");
  ASSERT_EQ(::symlink("loop.csv", loop.c_str()), 0);
  EXPECT_EQ(message_of([&] { write_text_atomic(loop, "x"); }),
            fmt::format("cannot write '{}': Too many levels of symbolic links", loop));
}

TEST_F(TableFiles, WriteToOwnDescriptorUsesIt) {
  // /dev/fd/N and /proc/self/fd/N name a file this process has open (the
  // terminal, a pipe): written to in place, in order with what came before.
  int fds[2];
  ASSERT_EQ(::pipe(fds), 0);
  write_text_atomic(fmt::format("/dev/fd/{}", fds[1]), "one ");
  write_text_atomic(fmt::format("/proc/self/fd/{}", fds[1]), "two");
  ::close(fds[1]);
  char buffer[64] = {};
  const ssize_t n = ::read(fds[0], buffer, sizeof buffer);
  ::close(fds[0]);
  EXPECT_EQ(std::string(buffer, static_cast<std::size_t>(std::max<ssize_t>(n, 0))), "one two");
  EXPECT_EQ(message_of([&] { write_text_atomic(fmt::format("/dev/fd/{}", fds[1]), "x"); }),
            fmt::format("cannot write '/dev/fd/{}': Bad file descriptor", fds[1]));
}

TEST_F(TableFiles, WriteReplacesARegularFileKeepingItsPermissions) {
  const std::string p = path("result.json");
  std::ofstream(p) << "old";
  ASSERT_EQ(::chmod(p.c_str(), 0640), 0);
  const ino_t before = lstat_of(p).st_ino;
  write_text_atomic(p, "new");
  EXPECT_EQ(slurp(p), "new");
  EXPECT_NE(lstat_of(p).st_ino, before);  // renamed over, not rewritten in place
  EXPECT_EQ(lstat_of(p).st_mode & 07777, 0640U);
  EXPECT_EQ(std::distance(std::filesystem::directory_iterator(dir_), {}), 1);
}

TEST_F(TableFiles, WriteErrorsNameTheRightCause) {
  EXPECT_EQ(message_of([&] { write_text_atomic(dir_.string(), "x"); }),
            fmt::format("cannot write '{}': it is a directory, not a file", dir_.string()));
  const std::string missing = path("no/such/dir.csv");
  EXPECT_EQ(message_of([&] { write_text_atomic(missing, "x"); }),
            fmt::format("cannot write '{}': No such file or directory", missing));
  const std::string under_file = path("file.csv/x.csv");
  std::ofstream(path("file.csv")) << "x";
  EXPECT_EQ(message_of([&] { write_text_atomic(under_file, "x"); }),
            fmt::format("cannot write '{}': Not a directory", under_file));
}

}  // namespace
}  // namespace kreg::io
