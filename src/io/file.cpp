// io/file.cpp - reading files piece by piece and writing them atomically.
#include "io/file.hpp"

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <new>

#include "kreg/error.hpp"
#include "kreg/io/text.hpp"

namespace kreg::io::detail {

namespace {

[[noreturn]] void throw_open_error(const std::string& path, int err) {
  std::string hint;
  if (err == ENOENT) hint = " (check the path; relative paths start at the current directory)";
  throw InputError(fmt::format("cannot open '{}': {}{}", path, std::strerror(err), hint));
}

// ::write until every byte is out; 0 or the errno of the failed call.
int write_all(int fd, std::string_view bytes) {
  while (!bytes.empty()) {
    const ssize_t n = ::write(fd, bytes.data(), bytes.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return errno;
    }
    if (n == 0) return EIO;
    bytes.remove_prefix(static_cast<std::size_t>(n));
  }
  return 0;
}

[[noreturn]] void throw_write_error(const std::string& path, int err) {
  throw Error(fmt::format("cannot write '{}': {}", path, std::strerror(err)));
}

// The descriptor N that /dev/stdout, /dev/stderr, /dev/fd/N or
// /proc/self/fd/N (also /proc/thread-self/fd/N and /proc/<our pid>/fd/N)
// stands for: these name a file this process already has open (often a
// pipe or the terminal), which kreg writes to as it is.
std::optional<int> own_descriptor(std::string_view p) {
  if (p == "/dev/stdout") return 1;
  if (p == "/dev/stderr") return 2;
  std::string_view rest;
  const std::string own = fmt::format("/proc/{}/fd/", ::getpid());
  for (const std::string_view prefix :
       {std::string_view("/dev/fd/"), std::string_view("/proc/self/fd/"),
        std::string_view("/proc/thread-self/fd/"), std::string_view(own)}) {
    if (p.starts_with(prefix)) {
      rest = p.substr(prefix.size());
      break;
    }
  }
  int fd = -1;
  const auto [end, ec] = std::from_chars(rest.data(), rest.data() + rest.size(), fd);
  if (rest.empty() || ec != std::errc() || end != rest.data() + rest.size() || fd < 0) {
    return std::nullopt;
  }
  return fd;
}

// Where the bytes for `path` go.
struct Target {
  enum Kind { regular, special, descriptor, directory } kind = regular;
  std::string path;  // the file to replace or open: `path` with symlinks followed
  int fd = -1;       // for `descriptor`
  mode_t mode = 0;   // permissions of the file replaced (regular, when it exists)
  bool exists = false;
};

Target find_target(const std::string& path) {
  Target t;
  t.path = path;
  // Follow symbolic links one at a time (not realpath: a link may point to a
  // file that does not exist yet, which the write then creates).
  for (int hops = 0;; ++hops) {
    if (const auto fd = own_descriptor(t.path)) {
      t.kind = Target::descriptor;
      t.fd = *fd;
      return t;
    }
    struct stat st {};
    if (::lstat(t.path.c_str(), &st) != 0) return t;  // a new file (or the open fails)
    if (S_ISLNK(st.st_mode)) {
      if (hops == 40) throw_write_error(path, ELOOP);
      std::string link(static_cast<std::size_t>(std::max<off_t>(st.st_size, 0)) + 256, '\0');
      const ssize_t n = ::readlink(t.path.c_str(), link.data(), link.size());
      if (n < 0) throw_write_error(path, errno);
      link.resize(static_cast<std::size_t>(n));
      if (link.starts_with('/')) {
        t.path = link;
      } else {
        const auto slash = t.path.rfind('/');
        t.path = (slash == std::string::npos ? std::string() : t.path.substr(0, slash + 1)) + link;
      }
      continue;
    }
    t.exists = true;
    if (S_ISDIR(st.st_mode)) {
      t.kind = Target::directory;
    } else if (!S_ISREG(st.st_mode)) {
      t.kind = Target::special;
    } else {
      t.mode = st.st_mode & 07777;
    }
    return t;
  }
}

}  // namespace

// ------------------------------------------------------------------ reading

InputFile::InputFile(const std::string& path) : path_(path) {
  do {
    fd_ = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY);
  } while (fd_ < 0 && errno == EINTR);
  if (fd_ < 0) throw_open_error(path, errno);
  struct stat st {};
  if (::fstat(fd_, &st) != 0) {
    const int err = errno;
    ::close(fd_);
    throw_open_error(path, err);
  }
  if (S_ISDIR(st.st_mode)) {
    ::close(fd_);
    throw InputError(fmt::format("cannot read '{}': it is a directory, not a file", path));
  }
  // /proc and /sys files say 0 bytes whatever they hold: streams too (an
  // empty regular file reads as an empty stream, to the same effect).
  if (S_ISREG(st.st_mode) && st.st_size > 0) size_ = static_cast<std::uint64_t>(st.st_size);
}

InputFile::~InputFile() { ::close(fd_); }

std::size_t InputFile::read(char* dst, std::size_t n) {
  std::size_t got = 0;
  while (got < n) {
    // One call moves at most 1 GiB (Linux caps a read near 2 GiB anyway).
    const std::size_t want = std::min<std::size_t>(n - got, std::size_t{1} << 30);
    const ssize_t r = ::read(fd_, dst + got, want);
    if (r < 0) {
      if (errno == EINTR) continue;
      throw InputError(fmt::format("error reading '{}': {}", path_, std::strerror(errno)));
    }
    if (r == 0) break;
    got += static_cast<std::size_t>(r);
  }
  return got;
}

std::optional<std::string> InputFile::tail(std::size_t n) const {
  if (!size_ || *size_ < n) return std::nullopt;
  std::string out(n, '\0');
  const ssize_t r = ::pread(fd_, out.data(), n, static_cast<off_t>(*size_ - n));
  if (r != static_cast<ssize_t>(n)) return std::nullopt;
  return out;
}

std::size_t MemoryReader::read(char* dst, std::size_t n) {
  const std::size_t got = std::min(n, bytes_.size());
  if (got > 0) std::memcpy(dst, bytes_.data(), got);
  bytes_.remove_prefix(got);
  return got;
}

std::string read_up_to(Reader& in, std::uint64_t n) {
  std::string out;
  constexpr std::uint64_t kFirst = std::uint64_t{1} << 20;
  while (out.size() < n) {
    const std::uint64_t have = out.size();
    const std::uint64_t want = std::min(n - have, std::max(kFirst, have));
    out.resize(static_cast<std::size_t>(have + want));
    const std::size_t got = in.read(out.data() + have, static_cast<std::size_t>(want));
    out.resize(static_cast<std::size_t>(have + got));
    if (got < want) break;
  }
  return out;
}

bool at_end(Reader& in) {
  char byte = 0;
  return in.read(&byte, 1) == 0;
}

namespace {

[[noreturn]] void not_text(const std::string& path, std::string_view head, std::size_t nul) {
  const auto starts = [&](std::string_view magic) { return head.starts_with(magic); };
  std::string why;
  if (starts("\xff\xfe") || starts("\xfe\xff")) {
    throw InputError(fmt::format(
        "{}: the file is UTF-16 text; kreg reads CSV files as UTF-8 (or ASCII): save it as UTF-8",
        path));
  }
  if (starts("\x1f\x8b")) {
    why = "it is gzip-compressed; decompress it first (kreg reads only IDX files gzipped)";
  } else if (starts("\x93NUMPY")) {
    why = "it is an NPY file; give it a name that ends in .npy";
  } else if (head.size() >= 4 && head[0] == 0 && head[1] == 0 &&
             std::string_view("\x08\x09\x0b\x0c\x0d\x0e").find(head[2]) != std::string_view::npos &&
             head[3] >= 1 && head[3] <= 3) {
    why = "it is an IDX file; give it a name that ends in .idx or -ubyte";
  } else {
    why = fmt::format("a NUL byte at offset {}; is it binary data?", nul);
  }
  throw InputError(fmt::format(
      "{}: not a text file ({}); kreg reads CSV and TSV as text, and NPY and IDX files by their "
      "names (.npy, .idx, -ubyte, .gz)",
      path, why));
}

}  // namespace

void TextBuffer::Free::operator()(char* p) const { std::free(p); }

void TextBuffer::reserve(std::size_t n) {
  if (n <= capacity_) return;
  constexpr std::size_t kHuge = std::size_t{2} << 20;
  const bool huge = n >= kHuge / 2;
  const std::size_t capacity = huge ? (n + kHuge - 1) / kHuge * kHuge : n;
  char* p = static_cast<char*>(huge ? std::aligned_alloc(kHuge, capacity) : std::malloc(capacity));
  if (p == nullptr) throw std::bad_alloc();
  // Advice only: where huge pages are off, the buffer takes small pages.
  if (huge) ::madvise(p, capacity, MADV_HUGEPAGE);
  std::unique_ptr<char[], Free> fresh(p);
  if (size_ > 0) std::memcpy(fresh.get(), data_.get(), size_);
  data_ = std::move(fresh);
  capacity_ = capacity;
}

std::size_t TextBuffer::append_from(Reader& in, std::size_t n) {
  reserve(size_ + n);
  const std::size_t got = in.read(data_.get() + size_, n);
  size_ += got;
  return got;
}

TextBuffer read_text(const std::string& path, std::uint64_t max_bytes) {
  const std::uint64_t memory = physical_memory();
  if (max_bytes == 0) max_bytes = memory / 2;
  InputFile file(path);
  if (file.size() && *file.size() > max_bytes) {
    throw InputError(fmt::format(
        "{}: {} bytes of text, more than the {} bytes kreg holds in memory for a CSV file on "
        "this machine (half of its memory); use fewer rows",
        path, *file.size(), max_bytes));
  }
  // A regular file in one read (plus one to see its end); a stream in
  // growing pieces, each checked at once so that binary data stop the read.
  TextBuffer text;
  std::uint64_t chunk = std::max<std::uint64_t>(file.size().value_or(0) + 1, 1 << 16);
  for (;;) {
    const std::size_t have = text.size();
    const auto want = static_cast<std::size_t>(std::min(chunk, max_bytes + 1 - have));
    const std::size_t got = text.append_from(file, want);
    const std::string_view fresh = text.view().substr(have);
    const std::size_t nul = fresh.find('\0');
    if (have == 0 && (fresh.starts_with("\x1f\x8b") || fresh.starts_with("\x93NUMPY") ||
                      fresh.starts_with("\xff\xfe") || fresh.starts_with("\xfe\xff"))) {
      not_text(path, fresh, nul);
    }
    if (nul != std::string_view::npos) not_text(path, text.view(), have + nul);
    if (text.size() > max_bytes) {
      throw InputError(fmt::format(
          "{}: the text goes on past {} bytes, the most kreg holds in memory for a CSV file on "
          "this machine (half of its memory); is it an endless stream?",
          path, max_bytes));
    }
    if (got < want) return text;
    chunk = std::max<std::uint64_t>(chunk, text.size());
  }
}

// ------------------------------------------------------------------ writing

void write_file_atomic(const std::string& path, std::string_view bytes) {
  const Target t = find_target(path);
  switch (t.kind) {
    case Target::directory:
      throw Error(fmt::format("cannot write '{}': it is a directory, not a file", path));
    case Target::descriptor: {
      // Our own stdout or stderr: what kreg printed before comes first.
      if (t.fd == 1) std::fflush(stdout);
      if (t.fd == 2) std::fflush(stderr);
      const int err = write_all(t.fd, bytes);
      if (err != 0) throw_write_error(path, err);
      return;
    }
    case Target::special: {
      // A device or a FIFO: write into it; replacing it would destroy it
      // (as root, `--out /dev/null` would otherwise become a regular file).
      int fd = -1;
      do {
        fd = ::open(t.path.c_str(), O_WRONLY | O_CLOEXEC | O_NOCTTY);
      } while (fd < 0 && errno == EINTR);
      if (fd < 0) throw_write_error(path, errno);
      int err = write_all(fd, bytes);
      if (::close(fd) != 0 && err == 0 && errno != EINTR) err = errno;
      if (err != 0) throw_write_error(path, err);
      return;
    }
    case Target::regular:
      break;
  }
  // Beside the target, so that the rename stays within one file system.
  const std::string tmp = fmt::format("{}.tmp.{}", t.path, ::getpid());
  int fd = -1;
  do {
    fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0666);
  } while (fd < 0 && errno == EINTR);
  if (fd < 0) throw_write_error(path, errno);
  int err = write_all(fd, bytes);
  // The replaced file keeps its permissions (a new one gets 0666 less umask).
  if (err == 0 && t.exists && ::fchmod(fd, t.mode) != 0) err = errno;
  if (::close(fd) != 0 && err == 0 && errno != EINTR) err = errno;
  if (err == 0 && std::rename(tmp.c_str(), t.path.c_str()) != 0) err = errno;
  if (err != 0) {
    ::unlink(tmp.c_str());
    throw_write_error(path, err);
  }
}

// ------------------------------------------------------------------ misc

std::uint64_t physical_memory() {
  const long pages = ::sysconf(_SC_PHYS_PAGES);
  const long page_size = ::sysconf(_SC_PAGE_SIZE);
  if (pages <= 0 || page_size <= 0) return UINT64_MAX;
  return static_cast<std::uint64_t>(pages) * static_cast<std::uint64_t>(page_size);
}

bool ends_with_nocase(std::string_view path, std::string_view suffix) {
  if (suffix.size() > path.size()) return false;
  const auto tail = path.substr(path.size() - suffix.size());
  for (std::size_t i = 0; i < suffix.size(); ++i) {
    const auto lower = [](char c) { return (c >= 'A' && c <= 'Z') ? char(c - 'A' + 'a') : c; };
    if (lower(tail[i]) != lower(suffix[i])) return false;
  }
  return true;
}

std::string printable(std::string_view text, std::size_t limit) {
  std::string out;
  std::size_t shown = 0;
  for (const char c : text) {
    if (shown == limit) {
      out += "...";
      break;
    }
    ++shown;
    const auto u = static_cast<unsigned char>(c);
    switch (c) {
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      case '\0':
        out += "\\0";
        break;
      default:
        // Bytes >= 0x80 pass: they are UTF-8 in any name worth showing.
        if (u < 0x20 || u == 0x7f) {
          out += fmt::format("\\x{:02x}", u);
        } else {
          out += c;
        }
    }
  }
  return out;
}

}  // namespace kreg::io::detail

namespace kreg::io {

void write_text_atomic(const std::string& path, std::string_view text) {
  detail::write_file_atomic(path, text);
}

}  // namespace kreg::io
