// io/file.cpp - whole-file reads and atomic writes.
#include "io/file.hpp"

#include "kreg/io/text.hpp"

#include <fmt/format.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>

#include "kreg/error.hpp"

namespace kreg::io::detail {

namespace {
[[noreturn]] void throw_open_error(const std::string& path, int err) {
  std::string hint;
  if (err == ENOENT) hint = " (check the path; relative paths start at the current directory)";
  throw InputError(fmt::format("cannot open '{}': {}{}", path, std::strerror(err), hint));
}
}  // namespace

std::string read_file(const std::string& path) {
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec)) {
    throw InputError(fmt::format("cannot read '{}': it is a directory, not a file", path));
  }
  std::FILE* f = std::fopen(path.c_str(), "rb");
  if (f == nullptr) throw_open_error(path, errno);
  // One read into a buffer of the file's size; pipes and special files (size
  // 0 or unknown) fall back to reading in chunks.
  std::string bytes;
  const auto size = std::filesystem::file_size(path, ec);
  if (!ec && size > 0) {
    bytes.resize(size);
    bytes.resize(std::fread(bytes.data(), 1, size, f));
  }
  char buffer[1 << 16];
  std::size_t got = 0;
  while ((got = std::fread(buffer, 1, sizeof buffer, f)) > 0) bytes.append(buffer, got);
  const bool failed = std::ferror(f) != 0;
  const int err = errno;
  std::fclose(f);
  if (failed) throw InputError(fmt::format("error reading '{}': {}", path, std::strerror(err)));
  return bytes;
}

std::uint64_t file_size(const std::string& path) {
  std::error_code ec;
  const auto size = std::filesystem::file_size(path, ec);
  if (ec) throw_open_error(path, ec.value());
  return size;
}

void write_file_atomic(const std::string& path, std::string_view bytes) {
  const std::string tmp = fmt::format("{}.tmp.{}", path, ::getpid());
  std::FILE* f = std::fopen(tmp.c_str(), "wb");
  if (f == nullptr) {
    throw Error(fmt::format("cannot write '{}': {}", path, std::strerror(errno)));
  }
  const bool ok = std::fwrite(bytes.data(), 1, bytes.size(), f) == bytes.size();
  const int err = errno;
  if (std::fclose(f) != 0 || !ok) {
    std::remove(tmp.c_str());
    throw Error(fmt::format("cannot write '{}': {}", path, std::strerror(err)));
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0) {
    const int rename_err = errno;
    std::remove(tmp.c_str());
    throw Error(fmt::format("cannot write '{}': {}", path, std::strerror(rename_err)));
  }
}

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

}  // namespace kreg::io::detail

namespace kreg::io {

void write_text_atomic(const std::string& path, std::string_view text) {
  detail::write_file_atomic(path, text);
}

}  // namespace kreg::io
