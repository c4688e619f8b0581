// tool/journal.cpp - the append-only JSON-lines journal (see tool/journal.hpp).
//
// Everything goes through raw POSIX descriptors, never stdio or iostreams: a
// buffered stream could hold half a record in user space when the process is
// killed, and could split one record over several write(2) calls. Here a
// record reaches the kernel in one write(2) (looping only on a short write,
// which a regular file gives only on a full disk or a fatal signal) and is on
// disk when fdatasync returns.
#include "tool/journal.hpp"

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <string>
#include <string_view>
#include <utility>

#include "kreg/error.hpp"

namespace kreg {
namespace {

// Closes a descriptor on scope exit unless released (error paths in create
// and append_to).
class FdGuard {
 public:
  explicit FdGuard(int fd) : fd_(fd) {}
  FdGuard(const FdGuard&) = delete;
  FdGuard& operator=(const FdGuard&) = delete;
  ~FdGuard() {
    if (fd_ >= 0) ::close(fd_);
  }
  int release() { return std::exchange(fd_, -1); }

 private:
  int fd_;
};

// open(2), retried when a signal interrupts it; -1 with errno set on failure.
int open_retrying(const std::string& path, int flags, mode_t mode = 0) {
  int fd = -1;
  do {
    fd = ::open(path.c_str(), flags, mode);
  } while (fd < 0 && errno == EINTR);
  return fd;
}

[[noreturn]] void throw_open_error(const std::string& path, int err) {
  std::string hint;
  if (err == ENOENT) hint = " (check the path; relative paths start at the current directory)";
  throw InputError(fmt::format("cannot open journal '{}': {}{}", path, std::strerror(err), hint));
}

// The whole file read through `fd` from offset 0 (pread, so an O_APPEND
// descriptor's offset does not matter).
std::string read_all(int fd, const std::string& path) {
  std::string bytes;
  struct stat st {};
  if (::fstat(fd, &st) == 0 && S_ISDIR(st.st_mode)) {
    throw InputError(fmt::format("cannot read journal '{}': it is a directory, not a file", path));
  }
  if (st.st_size > 0) bytes.reserve(static_cast<std::size_t>(st.st_size));
  char buffer[1 << 16];
  for (;;) {
    const ssize_t got = ::pread(fd, buffer, sizeof buffer, static_cast<off_t>(bytes.size()));
    if (got < 0 && errno == EINTR) continue;
    if (got < 0) {
      throw InputError(fmt::format("cannot read journal '{}': {}", path, std::strerror(errno)));
    }
    if (got == 0) return bytes;
    bytes.append(buffer, static_cast<std::size_t>(got));
  }
}

// FNV-1a, 64 bits: the checksum of a line's text (see journal.hpp).
std::uint64_t fnv1a64(std::string_view text) {
  std::uint64_t h = 14695981039346656037ull;
  for (const char c : text) h = (h ^ static_cast<unsigned char>(c)) * 1099511628211ull;
  return h;
}

constexpr std::size_t kChecksumDigits = 16;
constexpr std::size_t kSuffix = 1 + kChecksumDigits;  // '\t' and the digits

// Sets `text` to a stored line without its checksum; false when the line does
// not end in a tab and 16 hex digits that match the text.
bool strip_checksum(std::string_view line, std::string_view& text) {
  if (line.size() <= kSuffix || line[line.size() - kSuffix] != '\t') return false;
  std::uint64_t stored = 0;
  for (std::size_t i = line.size() - kChecksumDigits; i < line.size(); ++i) {
    const char c = line[i];
    int digit = 0;
    if (c >= '0' && c <= '9') {
      digit = c - '0';
    } else if (c >= 'a' && c <= 'f') {
      digit = c - 'a' + 10;
    } else {
      return false;
    }
    stored = (stored << 4) | static_cast<std::uint64_t>(digit);
  }
  text = line.substr(0, line.size() - kSuffix);
  return stored == fnv1a64(text);
}

struct Parsed {
  JournalContents contents;
  std::uint64_t complete_bytes = 0;  // bytes up to and including the last '\n'
  std::int64_t lines = 0;            // complete lines, header included
};

// Splits `bytes` into header, records and a dropped partial tail; throws
// InputError for a file that is not a usable journal.
Parsed parse(const std::string& bytes, const std::string& path) {
  if (bytes.empty()) {
    throw InputError(fmt::format(
        "journal '{}' is empty: line 1 should be its header; delete the file to start a new run",
        path));
  }
  Parsed p;
  std::size_t begin = 0;
  for (;;) {
    const std::size_t end = bytes.find('\n', begin);
    if (end == std::string::npos) break;
    const std::string_view line(bytes.data() + begin, end - begin);
    ++p.lines;
    if (line.find('\0') != std::string_view::npos) {
      throw InputError(fmt::format(
          "journal '{}' line {}: holds a NUL byte, so the file is damaged; restore it from a "
          "backup or delete it to start over",
          path, p.lines));
    }
    if (p.lines == 1 && line.empty()) {
      throw InputError(fmt::format(
          "journal '{}' line 1: the header line is empty, so this is not a kreg journal; "
          "delete the file or choose another path",
          path));
    }
    std::string_view text;
    if (!strip_checksum(line, text)) {
      if (p.lines == 1) {
        throw InputError(fmt::format(
            "journal '{}' line 1: the header has no valid checksum, so the file was written by "
            "an older kreg (whose journals carried none), was edited, or is not a kreg journal; "
            "finish an old run with the kreg that started it, or delete the file to start over",
            path));
      }
      throw InputError(fmt::format(
          "journal '{}' line {}: the checksum does not match the record, so the line was changed "
          "or damaged after kreg wrote it; restore the journal from a backup or delete it to "
          "start over",
          path, p.lines));
    }
    if (p.lines == 1) {
      p.contents.header = text;
    } else {
      p.contents.records.emplace_back(text);
    }
    begin = end + 1;
  }
  if (p.lines == 0) {
    throw InputError(fmt::format(
        "journal '{}' line 1: the header line is incomplete (the run that created the file was "
        "stopped while writing it); delete the file to start a new run",
        path));
  }
  p.complete_bytes = begin;
  p.contents.truncated_tail = begin < bytes.size();
  return p;
}

// Takes the one-writer lock; a second writer on the same file fails at once.
void lock_or_throw(int fd, const std::string& path) {
  while (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
    if (errno == EINTR) continue;
    if (errno == EWOULDBLOCK) {
      throw InputError(fmt::format(
          "journal '{}' is in use: another writer holds its lock; wait for that run to finish "
          "or choose another path",
          path));
    }
    throw InputError(fmt::format("cannot lock journal '{}': {}", path, std::strerror(errno)));
  }
}

// Writes all of `bytes` at the end of the file (O_APPEND): one write(2)
// unless the kernel accepts only part of it. Returns 0 or the errno.
int write_all(int fd, std::string_view bytes) {
  while (!bytes.empty()) {
    const ssize_t n = ::write(fd, bytes.data(), bytes.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return errno;
    if (n == 0) return EIO;
    bytes.remove_prefix(static_cast<std::size_t>(n));
  }
  return 0;
}

int sync_data(int fd) {
  while (::fdatasync(fd) != 0) {
    if (errno != EINTR) return errno;
  }
  return 0;
}

// Best effort: makes the new file's directory entry durable too, so a power
// loss right after create() cannot lose the whole journal. A process kill
// does not need this (the page cache survives it), hence errors are ignored.
void sync_parent_directory(const std::string& path) {
  // (A path object, not `dir = "."` on a string: gcc 12 at -O3 warns falsely
  // about that assignment with -Wrestrict.)
  std::filesystem::path dir = std::filesystem::path(path).parent_path();
  if (dir.empty()) dir = std::filesystem::path(".");
  const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return;
  ::fsync(fd);
  ::close(fd);
}

}  // namespace

std::string journal_line(std::string_view text) {
  return fmt::format("{}\t{:016x}", text, fnv1a64(text));
}

JournalContents read_journal(const std::string& path) {
  const int fd = open_retrying(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) throw_open_error(path, errno);
  const FdGuard guard(fd);
  return parse(read_all(fd, path), path).contents;
}

JournalWriter::JournalWriter(int fd, std::string path, std::uint64_t size, std::int64_t lines)
    : fd_(fd), path_(std::move(path)), size_(size), lines_(lines) {}

JournalWriter JournalWriter::create(const std::string& path, std::string_view header_line) {
  if (header_line.empty()) {
    throw ArgumentError(
        fmt::format("cannot create journal '{}': the header line is empty; give a header", path));
  }
  if (const auto nl = header_line.find('\n'); nl != std::string_view::npos) {
    throw ArgumentError(fmt::format(
        "cannot create journal '{}': the header line has a newline at byte {}; it must be one "
        "line (escape newlines in the JSON text)",
        path, nl));
  }
  // O_EXCL: an existing journal holds finished work and is never overwritten.
  const int fd = open_retrying(path, O_WRONLY | O_CREAT | O_EXCL | O_APPEND | O_CLOEXEC, 0644);
  if (fd < 0 && errno == EEXIST) {
    throw ArgumentError(fmt::format(
        "cannot create journal '{}': the file already exists; resume it, or delete it to start "
        "over",
        path));
  }
  if (fd < 0) throw_open_error(path, errno);
  FdGuard guard(fd);
  lock_or_throw(fd, path);
  std::string line = journal_line(header_line);
  line += '\n';
  int err = write_all(fd, line);
  if (err == 0) err = sync_data(fd);
  if (err != 0) {
    // Leave no header-less file behind: it would block the next create().
    ::unlink(path.c_str());
    throw Error(fmt::format("cannot write journal '{}': {}; check free disk space and permissions",
                            path, std::strerror(err)));
  }
  sync_parent_directory(path);
  return JournalWriter(guard.release(), path, line.size(), 1);
}

JournalWriter JournalWriter::append_to(const std::string& path) {
  const int fd = open_retrying(path, O_RDWR | O_APPEND | O_CLOEXEC);
  if (fd < 0) throw_open_error(path, errno);
  FdGuard guard(fd);
  // Lock before reading, so the contents cannot change under us.
  lock_or_throw(fd, path);
  const Parsed parsed = parse(read_all(fd, path), path);
  if (parsed.contents.truncated_tail) {
    // Cut the partial line a killed writer left, so the next record does not
    // glue onto it, and make the cut durable before anything is appended.
    int err = 0;
    while (::ftruncate(fd, static_cast<off_t>(parsed.complete_bytes)) != 0) {
      if (errno != EINTR) {
        err = errno;
        break;
      }
    }
    if (err == 0) err = sync_data(fd);
    if (err != 0) {
      throw Error(fmt::format("cannot remove the partial last line of journal '{}': {}", path,
                              std::strerror(err)));
    }
  }
  return JournalWriter(guard.release(), path, parsed.complete_bytes, parsed.lines);
}

JournalWriter::JournalWriter(JournalWriter&& other) noexcept
    : fd_(std::exchange(other.fd_, -1)),
      path_(std::move(other.path_)),
      size_(other.size_),
      lines_(other.lines_) {}

JournalWriter& JournalWriter::operator=(JournalWriter&& other) noexcept {
  if (this != &other) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = std::exchange(other.fd_, -1);
    path_ = std::move(other.path_);
    size_ = other.size_;
    lines_ = other.lines_;
  }
  return *this;
}

JournalWriter::~JournalWriter() {
  if (fd_ >= 0) ::close(fd_);
}

void JournalWriter::append(std::string_view line) {
  const std::lock_guard<std::mutex> lock(mutex_);
  if (fd_ < 0) throw ArgumentError("JournalWriter::append: this writer was moved from");
  if (line.empty()) {
    throw ArgumentError(
        fmt::format("journal '{}' line {}: the record is empty; give one line of JSON text", path_,
                    lines_ + 1));
  }
  if (const auto nl = line.find('\n'); nl != std::string_view::npos) {
    throw ArgumentError(fmt::format(
        "journal '{}' line {}: the record has a newline at byte {}; it must be one line "
        "(escape newlines in the JSON text)",
        path_, lines_ + 1, nl));
  }
  std::string bytes = journal_line(line);
  bytes += '\n';
  int err = write_all(fd_, bytes);
  if (err == 0) err = sync_data(fd_);
  if (err != 0) {
    // Cut back whatever part of the line reached the file, so the journal
    // still ends with a complete line (append_to would do it otherwise).
    ::ftruncate(fd_, static_cast<off_t>(size_));
    throw Error(fmt::format(
        "cannot write journal '{}' line {}: {}; the record was not saved (free disk space, then "
        "resume)",
        path_, lines_ + 1, std::strerror(err)));
  }
  size_ += bytes.size();
  ++lines_;
}

}  // namespace kreg
