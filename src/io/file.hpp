// io/file.hpp - reading files piece by piece and writing them atomically,
// shared by every reader and writer in src/io.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

namespace kreg::io::detail {

// Something bytes come from: a file, a decompressor, memory.
class Reader {
 public:
  virtual ~Reader() = default;
  // Up to n bytes into dst; fewer only at the end of the data. Throws
  // InputError on a read error.
  virtual std::size_t read(char* dst, std::size_t n) = 0;
};

// A file opened for reading. Regular files have a size; pipes, FIFOs and
// devices (/dev/stdin, /dev/zero) are streams whose length is known only
// once they end, so callers read what a header declares and no more.
// Throws InputError "cannot open 'path': reason" (or "it is a directory").
class InputFile final : public Reader {
 public:
  explicit InputFile(const std::string& path);
  ~InputFile() override;
  InputFile(const InputFile&) = delete;
  InputFile& operator=(const InputFile&) = delete;

  const std::string& path() const { return path_; }
  // The size of a regular file; nullopt for a stream (and for a regular
  // file of size 0, which in /proc may hold anything).
  std::optional<std::uint64_t> size() const { return size_; }
  std::size_t read(char* dst, std::size_t n) override;
  // The last n bytes of a regular file, without moving the read position;
  // nullopt for a stream or a shorter file.
  std::optional<std::string> tail(std::size_t n) const;

 private:
  std::string path_;
  int fd_ = -1;
  std::optional<std::uint64_t> size_;
};

// Bytes held in memory, as a Reader.
class MemoryReader final : public Reader {
 public:
  explicit MemoryReader(std::string_view bytes) : bytes_(bytes) {}
  std::size_t read(char* dst, std::size_t n) override;

 private:
  std::string_view bytes_;
};

// Reads up to n bytes from `in` into a string that grows with what arrives
// (never committing memory for data a header merely claims); shorter only
// when the data end first.
std::string read_up_to(Reader& in, std::uint64_t n);

// True when `in` has no more bytes (consumes one byte when it has).
bool at_end(Reader& in);

// Bytes in a buffer of their own that grows, without the zero-filling of a
// std::string: a file read into fresh memory pays for the page faults that
// the read's copy takes, not for a memset before it as well. From 1 MiB up
// the buffer sits on 2 MiB pages where Linux offers transparent huge pages
// (madvise mode): a 1.7 MB CSV file then takes one page fault, not 420
// (docs/benchmarks.md, "Process overhead").
class TextBuffer {
 public:
  TextBuffer() = default;
  std::string_view view() const { return {data_.get(), size_}; }
  std::size_t size() const { return size_; }
  // Room for at least n bytes in all; the bytes held are kept.
  void reserve(std::size_t n);
  // Reads up to n bytes from `in` after those held; returns how many came.
  std::size_t append_from(Reader& in, std::size_t n);

 private:
  struct Free {
    void operator()(char* p) const;
  };
  std::unique_ptr<char[], Free> data_;
  std::size_t size_ = 0;
  std::size_t capacity_ = 0;
};

// A whole text file (CSV, TSV) in memory. Refuses binary data early, at the
// first NUL byte (naming NPY, IDX, gzip and UTF-16 files it recognises), so
// that /dev/zero or /dev/urandom is refused within its first block, and
// stops with InputError once the text passes `max_bytes` (default: half of
// physical_memory(); an endless stream of text ends there).
TextBuffer read_text(const std::string& path, std::uint64_t max_bytes = 0);

// Writes `bytes` to `path` so that nobody ever sees a half-written file:
//  - a regular file (or a new one) is written to path.tmp.<pid> beside it and
//    renamed over it (its permissions kept);
//  - a symbolic link is followed: its target is replaced that way, the link
//    stays a link;
//  - a device, a FIFO or /dev/stdout (/dev/fd/N, /proc/self/fd/N) is written
//    to directly, never replaced.
// Throws kreg::Error "cannot write 'path': reason" (the temporary removed).
void write_file_atomic(const std::string& path, std::string_view bytes);

// Bytes of physical memory on this machine (an upper bound for any
// allocation a file header may ask for).
std::uint64_t physical_memory();

// The most columns any reader accepts. Every column costs kreg a name and
// per-column statistics (tens of bytes) whatever the row count, so a header
// that declares billions of columns would make kreg allocate gigabytes
// before it reads any data; 2^24 is far beyond any real feature count.
constexpr std::int64_t kMaxColumns = std::int64_t{1} << 24;

// True when `path` ends with `suffix` (ASCII, case-insensitive).
bool ends_with_nocase(std::string_view path, std::string_view suffix);

// `text` for an error message: line ends, NUL and other control bytes
// escaped (\n, \r, \t, \0, \xNN) so that nothing can cut the message short
// or garble the terminal; cut to `limit` bytes with "..." after it.
std::string printable(std::string_view text, std::size_t limit = 40);

}  // namespace kreg::io::detail
