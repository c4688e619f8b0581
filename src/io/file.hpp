// io/file.hpp - whole-file reads and atomic writes shared by the readers.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace kreg::io::detail {

// The whole file as bytes. Throws InputError "cannot open 'path': reason".
std::string read_file(const std::string& path);

// Size in bytes, or throws InputError like read_file.
std::uint64_t file_size(const std::string& path);

// Writes `bytes` to path.tmp.<pid> and renames it over `path`, so a reader
// never sees a half-written file. Throws kreg::Error on failure and removes
// the temporary.
void write_file_atomic(const std::string& path, std::string_view bytes);

// Bytes of physical memory on this machine (an upper bound for any
// allocation a file header may ask for).
std::uint64_t physical_memory();

// True when `path` ends with `suffix` (ASCII, case-insensitive).
bool ends_with_nocase(std::string_view path, std::string_view suffix);

}  // namespace kreg::io::detail
