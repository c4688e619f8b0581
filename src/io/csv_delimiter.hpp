// io/csv_delimiter.hpp - the delimiters kreg's CSV reader and writer accept.
#pragma once

#include <fmt/format.h>

#include <string>
#include <string_view>

#include "kreg/error.hpp"

namespace kreg::io::detail {

// ArgumentError naming `who` for a delimiter that would collide with
// numbers, quotes or line ends.
inline void check_csv_delimiter(char delimiter, std::string_view who) {
  const auto c = static_cast<unsigned char>(delimiter);
  const bool ok =
      delimiter == '\t' || (c >= 0x20 && c < 0x7f && delimiter != '"' && delimiter != '.' &&
                            delimiter != '+' && delimiter != '-' && !(c >= '0' && c <= '9') &&
                            !(c >= 'a' && c <= 'z') && !(c >= 'A' && c <= 'Z'));
  if (!ok) {
    const std::string shown =
        (c >= 0x20 && c < 0x7f) ? fmt::format("'{}'", delimiter) : fmt::format("byte 0x{:02x}", c);
    throw ArgumentError(fmt::format(
        "{}: {} cannot be a CSV delimiter; use a punctuation character such as ',', ';' or "
        "'|', a space or a tab",
        who, shown));
  }
}

}  // namespace kreg::io::detail
