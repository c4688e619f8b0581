// JournalWriter and read_journal: round trips, a partial tail dropped and cut
// off before appending, the error messages, rollback of a failed append, the
// one-writer lock, concurrent appends, and a child process SIGKILLed while
// appending.
#include <fcntl.h>
#include <fmt/format.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "kreg/error.hpp"
#include "test_support.hpp"
#include "tool/journal.hpp"

namespace {

namespace fs = std::filesystem;
using kreg::JournalContents;
using kreg::JournalWriter;
using kreg::read_journal;

const auto input_error = kreg::test::error_of<kreg::InputError>;
const auto argument_error = kreg::test::error_of<kreg::ArgumentError>;

const std::string kHeader = R"({"kreg_journal":1,"command":"tune"})";

// A line as the journal stores it: the text, a tab, its checksum, a newline.
std::string stored(const std::string& text) { return kreg::journal_line(text) + "\n"; }

// Record i: its index plus padding of varying length, so a record cut short
// or glued to another cannot compare equal to any expected one.
std::string record(int i) {
  return fmt::format(R"({{"i":{},"pad":"{}"}})", i,
                     std::string(static_cast<std::size_t>(i % 97) * 13, 'x'));
}

class Journal : public ::testing::Test {
 protected:
  void SetUp() override {
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    dir_ = fs::temp_directory_path() /
           fmt::format("kreg_test_journal_{}_{}", ::getpid(), info->name());
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
  static std::string read_bytes(const std::string& p) {
    std::ifstream in(p, std::ios::binary);
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
  }

  fs::path dir_;
};

TEST_F(Journal, RoundTrip) {
  const std::string p = path("j.jsonl");
  {
    JournalWriter w = JournalWriter::create(p, kHeader);
    EXPECT_EQ(w.path(), p);
    w.append(R"({"a":1})");
    w.append(R"({"b":"two words"})");
    w.append("x");
  }
  EXPECT_EQ(read_bytes(p),
            stored(kHeader) + stored(R"({"a":1})") + stored(R"({"b":"two words"})") + stored("x"));
  const JournalContents c = read_journal(p);
  EXPECT_EQ(c.header, kHeader);
  EXPECT_EQ(c.records, (std::vector<std::string>{R"({"a":1})", R"({"b":"two words"})", "x"}));
  EXPECT_FALSE(c.truncated_tail);
}

TEST_F(Journal, HeaderOnly) {
  const std::string p = path("j.jsonl");
  JournalWriter::create(p, "h");
  const JournalContents c = read_journal(p);
  EXPECT_EQ(c.header, "h");
  EXPECT_TRUE(c.records.empty());
  EXPECT_FALSE(c.truncated_tail);
}

TEST_F(Journal, ManyRecordsAcrossReopens) {
  const std::string p = path("j.jsonl");
  JournalWriter::create(p, kHeader);
  for (int part = 0; part < 4; ++part) {
    JournalWriter w = JournalWriter::append_to(p);
    for (int i = part * 100; i < (part + 1) * 100; ++i) w.append(record(i));
  }
  const JournalContents c = read_journal(p);
  EXPECT_EQ(c.header, kHeader);
  ASSERT_EQ(c.records.size(), 400U);
  for (int i = 0; i < 400; ++i) ASSERT_EQ(c.records[static_cast<std::size_t>(i)], record(i)) << i;
  EXPECT_FALSE(c.truncated_tail);
}

TEST_F(Journal, RecordIsOnDiskWhenAppendReturns) {
  // No user-space buffering: another reader sees the record while the writer
  // is still open.
  const std::string p = path("j.jsonl");
  JournalWriter w = JournalWriter::create(p, kHeader);
  w.append(record(1));
  EXPECT_EQ(read_journal(p).records, std::vector<std::string>{record(1)});
  EXPECT_EQ(read_bytes(p), stored(kHeader) + stored(record(1)));
}

TEST_F(Journal, TruncatedTailIsDroppedThenCutBeforeAppending) {
  const std::string complete = stored(kHeader) + stored(record(0)) + stored(record(1));
  const std::string p = write("j.jsonl", complete + R"({"i":2,"pad":"xx)");
  const JournalContents c = read_journal(p);
  EXPECT_EQ(c.header, kHeader);
  EXPECT_EQ(c.records, (std::vector<std::string>{record(0), record(1)}));
  EXPECT_TRUE(c.truncated_tail);
  // Reading never modifies the file.
  EXPECT_EQ(read_bytes(p), complete + R"({"i":2,"pad":"xx)");

  {
    JournalWriter w = JournalWriter::append_to(p);
    EXPECT_EQ(read_bytes(p), complete);  // cut back before anything is appended
    w.append(record(2));
  }
  EXPECT_EQ(read_bytes(p), complete + stored(record(2)));
  const JournalContents after = read_journal(p);
  EXPECT_EQ(after.records, (std::vector<std::string>{record(0), record(1), record(2)}));
  EXPECT_FALSE(after.truncated_tail);
}

TEST_F(Journal, TailOfNulBytesIsDropped) {
  // What a power loss can leave: the file grew but the last block is zeros.
  const std::string p = write("j.jsonl", stored("h") + stored("r1") + std::string(5, '\0'));
  const JournalContents c = read_journal(p);
  EXPECT_EQ(c.records, std::vector<std::string>{"r1"});
  EXPECT_TRUE(c.truncated_tail);
  JournalWriter::append_to(p).append("r2");
  EXPECT_EQ(read_bytes(p), stored("h") + stored("r1") + stored("r2"));
}

TEST_F(Journal, CreateRefusesAnExistingFile) {
  const std::string p = write("j.jsonl", "precious\n");
  EXPECT_EQ(argument_error([&] { JournalWriter::create(p, kHeader); }),
            fmt::format("cannot create journal '{}': the file already exists; resume it, or "
                        "delete it to start over",
                        p));
  EXPECT_EQ(read_bytes(p), "precious\n");
}

TEST_F(Journal, CreateErrors) {
  const std::string p = path("j.jsonl");
  EXPECT_EQ(argument_error([&] { JournalWriter::create(p, ""); }),
            fmt::format("cannot create journal '{}': the header line is empty; give a header", p));
  EXPECT_EQ(argument_error([&] { JournalWriter::create(p, "ab\ncd"); }),
            fmt::format("cannot create journal '{}': the header line has a newline at byte 2; it "
                        "must be one line (escape newlines in the JSON text)",
                        p));
  EXPECT_FALSE(fs::exists(p));
  const std::string missing = path("no_such_dir/j.jsonl");
  EXPECT_EQ(input_error([&] { JournalWriter::create(missing, kHeader); }),
            fmt::format("cannot open journal '{}': No such file or directory (check the path; "
                        "relative paths start at the current directory)",
                        missing));
}

TEST_F(Journal, ReadErrors) {
  const std::string missing = path("missing.jsonl");
  EXPECT_EQ(input_error([&] { read_journal(missing); }),
            fmt::format("cannot open journal '{}': No such file or directory (check the path; "
                        "relative paths start at the current directory)",
                        missing));
  EXPECT_EQ(input_error([&] { read_journal(dir_.string()); }),
            fmt::format("cannot read journal '{}': it is a directory, not a file", dir_.string()));
  const std::string empty = write("empty.jsonl", "");
  EXPECT_EQ(input_error([&] { read_journal(empty); }),
            fmt::format("journal '{}' is empty: line 1 should be its header; delete the file to "
                        "start a new run",
                        empty));
  const std::string partial = write("partial.jsonl", R"({"kreg_jou)");
  EXPECT_EQ(input_error([&] { read_journal(partial); }),
            fmt::format("journal '{}' line 1: the header line is incomplete (the run that created "
                        "the file was stopped while writing it); delete the file to start a new "
                        "run",
                        partial));
  const std::string blank = write("blank.jsonl", "\nr1\n");
  EXPECT_EQ(input_error([&] { read_journal(blank); }),
            fmt::format("journal '{}' line 1: the header line is empty, so this is not a kreg "
                        "journal; delete the file or choose another path",
                        blank));
  const std::string nul =
      write("nul.jsonl", stored("h") + stored("r1") + std::string("r\0\t0123456789abcdef\n", 20));
  EXPECT_EQ(input_error([&] { read_journal(nul); }),
            fmt::format("journal '{}' line 3: holds a NUL byte, so the file is damaged; restore "
                        "it from a backup or delete it to start over",
                        nul));
}

TEST(JournalLine, TextTabAndFnv1a64) {
  // FNV-1a 64 of "" is its offset basis; of "a", the published test vector.
  EXPECT_EQ(kreg::journal_line(""), "\tcbf29ce484222325");
  EXPECT_EQ(kreg::journal_line("a"), "a\taf63dc4c8601ec8c");
  EXPECT_EQ(kreg::journal_line("x\ty"), "x\ty\t" + kreg::journal_line("x\ty").substr(4));
}

TEST_F(Journal, ChangedRecordIsRefusedWithItsLine) {
  const std::string p = path("j.jsonl");
  {
    JournalWriter w = JournalWriter::create(p, kHeader);
    w.append(R"({"score":0.5})");
    w.append(R"({"score":0.25})");
  }
  std::string bytes = read_bytes(p);
  const auto at = bytes.find("0.25");
  ASSERT_NE(at, std::string::npos);
  bytes[at + 3] = '6';  // 0.26: a plausible number, still valid JSON
  const std::string tampered = write("tampered.jsonl", bytes);
  const std::string message = fmt::format(
      "journal '{}' line 3: the checksum does not match the record, so the line was changed or "
      "damaged after kreg wrote it; restore the journal from a backup or delete it to start over",
      tampered);
  EXPECT_EQ(input_error([&] { read_journal(tampered); }), message);
  EXPECT_EQ(input_error([&] { JournalWriter::append_to(tampered); }), message);
  EXPECT_EQ(read_bytes(tampered), bytes);  // refused, never repaired or cut

  // A record whose checksum was removed, or one whose digits were changed.
  const std::string bare =
      write("bare.jsonl", stored(kHeader) + stored(R"({"score":0.5})") + "{\"score\":1}\n");
  EXPECT_NE(input_error([&] { read_journal(bare); }).find("line 3: the checksum does not match"),
            std::string::npos);
  std::string digits = stored(kHeader) + stored("r1");
  digits[digits.size() - 2] = digits[digits.size() - 2] == '0' ? '1' : '0';
  const std::string changed = write("digits.jsonl", digits);
  EXPECT_NE(input_error([&] { read_journal(changed); }).find("line 2: the checksum does not match"),
            std::string::npos);
}

TEST_F(Journal, HeaderWithoutChecksumIsAnOlderKregs) {
  // A journal as kreg wrote it before lines carried checksums.
  const std::string old = write("old.jsonl", kHeader + "\n" + record(0) + "\n");
  const std::string message = fmt::format(
      "journal '{}' line 1: the header has no valid checksum, so the file was written by an "
      "older kreg (whose journals carried none), was edited, or is not a kreg journal; finish an "
      "old run with the kreg that started it, or delete the file to start over",
      old);
  EXPECT_EQ(input_error([&] { read_journal(old); }), message);
  EXPECT_EQ(input_error([&] { JournalWriter::append_to(old); }), message);
}

TEST_F(Journal, AppendToValidatesAndLeavesBadFilesAlone) {
  const std::string missing = path("missing.jsonl");
  EXPECT_EQ(input_error([&] { JournalWriter::append_to(missing); }),
            fmt::format("cannot open journal '{}': No such file or directory (check the path; "
                        "relative paths start at the current directory)",
                        missing));
  EXPECT_FALSE(fs::exists(missing));
  const std::string partial = write("partial.jsonl", R"({"kreg_jou)");
  EXPECT_EQ(input_error([&] { JournalWriter::append_to(partial); }),
            fmt::format("journal '{}' line 1: the header line is incomplete (the run that created "
                        "the file was stopped while writing it); delete the file to start a new "
                        "run",
                        partial));
  EXPECT_EQ(read_bytes(partial), R"({"kreg_jou)");
  const std::string empty = write("empty.jsonl", "");
  EXPECT_EQ(input_error([&] { JournalWriter::append_to(empty); }),
            fmt::format("journal '{}' is empty: line 1 should be its header; delete the file to "
                        "start a new run",
                        empty));
}

TEST_F(Journal, AppendRejectsBadRecords) {
  const std::string p = path("j.jsonl");
  JournalWriter w = JournalWriter::create(p, kHeader);
  w.append("first");
  EXPECT_EQ(argument_error([&] { w.append("a\nb"); }),
            fmt::format("journal '{}' line 3: the record has a newline at byte 1; it must be one "
                        "line (escape newlines in the JSON text)",
                        p));
  EXPECT_EQ(argument_error([&] { w.append("ends with newline\n"); }),
            fmt::format("journal '{}' line 3: the record has a newline at byte 17; it must be "
                        "one line (escape newlines in the JSON text)",
                        p));
  EXPECT_EQ(argument_error([&] { w.append(""); }),
            fmt::format("journal '{}' line 3: the record is empty; give one line of JSON text", p));
  w.append("second");
  EXPECT_EQ(read_journal(p).records, (std::vector<std::string>{"first", "second"}));
}

TEST_F(Journal, MoveTransfersTheFile) {
  const std::string p = path("j.jsonl");
  JournalWriter a = JournalWriter::create(p, kHeader);
  a.append("r0");
  JournalWriter b = std::move(a);
  b.append("r1");
  EXPECT_EQ(argument_error([&] { a.append("lost"); }),  // NOLINT(bugprone-use-after-move)
            "JournalWriter::append: this writer was moved from");
  const std::string q = path("k.jsonl");
  JournalWriter c = JournalWriter::create(q, "other");
  c = std::move(b);  // closes k.jsonl, takes over j.jsonl
  c.append("r2");
  EXPECT_EQ(c.path(), p);
  EXPECT_EQ(read_journal(p).records, (std::vector<std::string>{"r0", "r1", "r2"}));
  EXPECT_TRUE(read_journal(q).records.empty());
  // k.jsonl's lock went with its descriptor.
  JournalWriter::append_to(q).append("k1");
  EXPECT_EQ(read_journal(q).records, std::vector<std::string>{"k1"});
}

TEST_F(Journal, OneWriterAtATime) {
  const std::string p = path("j.jsonl");
  {
    JournalWriter w = JournalWriter::create(p, kHeader);
    const std::string busy = fmt::format(
        "journal '{}' is in use: another writer holds its lock; wait for that run to finish or "
        "choose another path",
        p);
    EXPECT_EQ(input_error([&] { JournalWriter::append_to(p); }), busy);
    w.append("r0");
    // Readers are not locked out.
    EXPECT_EQ(read_journal(p).records, std::vector<std::string>{"r0"});
  }
  JournalWriter::append_to(p).append("r1");
  EXPECT_EQ(read_journal(p).records, (std::vector<std::string>{"r0", "r1"}));
}

TEST_F(Journal, FailedAppendIsCutBack) {
  // A file-size limit just past the current end makes the kernel accept only
  // the first bytes of the next record and refuse the rest (EFBIG): the
  // partial record must not stay in the file.
  const std::string p = path("j.jsonl");
  JournalWriter w = JournalWriter::create(p, kHeader);
  w.append(record(0));
  const auto size = fs::file_size(p);

  struct rlimit saved {};
  ASSERT_EQ(::getrlimit(RLIMIT_FSIZE, &saved), 0);
  struct sigaction ignore {};
  struct sigaction saved_xfsz {};
  ignore.sa_handler = SIG_IGN;
  ASSERT_EQ(::sigaction(SIGXFSZ, &ignore, &saved_xfsz), 0);
  struct rlimit limit = saved;
  limit.rlim_cur = size + 10;
  ASSERT_EQ(::setrlimit(RLIMIT_FSIZE, &limit), 0);
  const std::string message = kreg::test::error_of<kreg::Error>([&] { w.append(record(50)); });
  ASSERT_EQ(::setrlimit(RLIMIT_FSIZE, &saved), 0);
  ASSERT_EQ(::sigaction(SIGXFSZ, &saved_xfsz, nullptr), 0);

  EXPECT_EQ(message, fmt::format("cannot write journal '{}' line 3: {}; the record was not saved "
                                 "(free disk space, then resume)",
                                 p, std::strerror(EFBIG)));
  EXPECT_EQ(fs::file_size(p), size);
  w.append(record(1));
  const JournalContents c = read_journal(p);
  EXPECT_EQ(c.records, (std::vector<std::string>{record(0), record(1)}));
  EXPECT_FALSE(c.truncated_tail);
}

TEST_F(Journal, ConcurrentAppendsNeverInterleave) {
  const std::string p = path("j.jsonl");
  JournalWriter w = JournalWriter::create(p, kHeader);
  constexpr int kThreads = 4;
  constexpr int kPerThread = 50;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&w, t] {
      for (int i = 0; i < kPerThread; ++i) w.append(record(t * kPerThread + i));
    });
  }
  for (auto& t : threads) t.join();
  const JournalContents c = read_journal(p);
  ASSERT_EQ(c.records.size(), static_cast<std::size_t>(kThreads * kPerThread));
  std::set<std::string> expected;
  for (int i = 0; i < kThreads * kPerThread; ++i) expected.insert(record(i));
  EXPECT_EQ(std::set<std::string>(c.records.begin(), c.records.end()), expected);
}

// Reaps the child on every exit path of the test (a failed ASSERT included),
// so no appending process outlives it.
class ChildGuard {
 public:
  explicit ChildGuard(pid_t pid) : pid_(pid) {}
  ChildGuard(const ChildGuard&) = delete;
  ChildGuard& operator=(const ChildGuard&) = delete;
  ~ChildGuard() {
    if (pid_ > 0) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, nullptr, 0);
    }
  }
  // SIGKILLs the child and returns its wait status.
  int kill_and_wait() {
    ::kill(pid_, SIGKILL);
    int status = 0;
    while (::waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
    }
    pid_ = -1;
    return status;
  }

 private:
  pid_t pid_;
};

TEST_F(Journal, SigkilledWriterLosesNoFinishedRecord) {
  // A child appends records in a loop and reports each one through a pipe
  // once append() has returned; the parent SIGKILLs it mid-run. Every
  // reported record must be in the journal, all records in order and intact;
  // only the last line may be partial. Resuming then appends cleanly.
  constexpr int kReported = 60;
  constexpr int kMaxRecords = 1000000;  // the child stops by itself only if never killed
  const std::string p = path("j.jsonl");
  JournalWriter::create(p, kHeader);
  int pipe_fds[2];
  ASSERT_EQ(::pipe(pipe_fds), 0);
  const pid_t pid = ::fork();
  ASSERT_GE(pid, 0) << std::strerror(errno);
  if (pid == 0) {
    ::close(pipe_fds[0]);
    ::signal(SIGPIPE, SIG_IGN);  // a vanished parent shows as EPIPE below
    try {
      JournalWriter w = JournalWriter::append_to(p);
      for (int i = 0; i < kMaxRecords; ++i) {
        w.append(record(i));
        const char done = 1;
        if (::write(pipe_fds[1], &done, 1) != 1) ::_exit(3);
      }
    } catch (...) {
      ::_exit(2);
    }
    ::_exit(0);
  }
  ChildGuard child(pid);
  ::close(pipe_fds[1]);
  int reported = 0;
  char buffer[kReported];
  while (reported < kReported) {
    const ssize_t n = ::read(pipe_fds[0], buffer, static_cast<std::size_t>(kReported - reported));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;  // the child died early: the assertion below fails
    reported += static_cast<int>(n);
  }
  const int status = child.kill_and_wait();
  ::close(pipe_fds[0]);
  ASSERT_EQ(reported, kReported);
  ASSERT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL) << "wait status " << status;

  const JournalContents c = read_journal(p);
  EXPECT_EQ(c.header, kHeader);
  ASSERT_GE(c.records.size(), static_cast<std::size_t>(kReported));
  for (std::size_t i = 0; i < c.records.size(); ++i) {
    ASSERT_EQ(c.records[i], record(static_cast<int>(i))) << "record " << i;
  }

  const std::size_t kept = c.records.size();
  JournalWriter::append_to(p).append(R"({"resumed":true})");
  const JournalContents after = read_journal(p);
  EXPECT_FALSE(after.truncated_tail);
  ASSERT_EQ(after.records.size(), kept + 1);
  EXPECT_TRUE(std::equal(c.records.begin(), c.records.end(), after.records.begin()));
  EXPECT_EQ(after.records.back(), R"({"resumed":true})");
}

}  // namespace
