// fuzz_file.hpp - hands fuzzer bytes to readers that take a path: the bytes
// go into an anonymous in-memory file (a regular file) or a pipe (a stream,
// as /dev/stdin or a FIFO would be), named through /proc/self/fd.
#pragma once

#include <sys/mman.h>
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <string>

namespace kreg::fuzz {

class MemoryFile {
 public:
  MemoryFile(const std::uint8_t* data, std::size_t size) : fd_(memfd_create("kreg-fuzz", 0)) {
    if (fd_ < 0) __builtin_trap();
    std::size_t done = 0;
    while (done < size) {
      const ssize_t n = ::write(fd_, data + done, size - done);
      if (n <= 0) __builtin_trap();
      done += static_cast<std::size_t>(n);
    }
  }
  MemoryFile(const MemoryFile&) = delete;
  MemoryFile& operator=(const MemoryFile&) = delete;
  ~MemoryFile() { ::close(fd_); }
  std::string path() const { return "/proc/self/fd/" + std::to_string(fd_); }

 private:
  int fd_;
};

// The bytes in a pipe, its write end closed: a reader sees a stream of
// unknown length that ends after them. A pipe holds 64 KiB without a reader,
// (Linux's default), so callers pass no more than kPipeBytes.
constexpr std::size_t kPipeBytes = 65536;

class PipeFile {
 public:
  PipeFile(const std::uint8_t* data, std::size_t size) {
    int fds[2];
    if (size > kPipeBytes || ::pipe(fds) != 0) __builtin_trap();
    std::size_t done = 0;
    while (done < size) {
      const ssize_t n = ::write(fds[1], data + done, size - done);
      if (n <= 0) __builtin_trap();
      done += static_cast<std::size_t>(n);
    }
    ::close(fds[1]);
    fd_ = fds[0];
  }
  PipeFile(const PipeFile&) = delete;
  PipeFile& operator=(const PipeFile&) = delete;
  ~PipeFile() { ::close(fd_); }
  std::string path() const { return "/proc/self/fd/" + std::to_string(fd_); }

 private:
  int fd_ = -1;
};

}  // namespace kreg::fuzz
