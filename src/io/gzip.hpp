// io/gzip.hpp - gzip (de)compression through zlib.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace kreg {
class CancelToken;  // kreg/interrupt.hpp
}  // namespace kreg

namespace kreg::io::detail {

// True when `bytes` start with the gzip magic 1f 8b.
bool is_gzip(std::string_view bytes);

// Decompresses a gzip stream (several concatenated members allowed). Stops
// with InputError "<source>: ..." on corrupt data, on a truncated stream, or
// when the output would exceed `max_bytes` (the caller's bound, e.g. what an
// IDX header declared).
std::string gunzip(std::string_view bytes, std::string_view source,
                   std::uint64_t max_bytes = UINT64_MAX);

// gzip-compresses `bytes` (level 6). Polls `cancel` (nullptr: never
// cancelled) between slices of kGzipSlice input bytes, a few milliseconds of
// work each, and throws kreg::Cancelled when it is requested.
inline constexpr std::size_t kGzipSlice = std::size_t{1} << 20;
std::string gzip(std::string_view bytes, const CancelToken* cancel = nullptr);

}  // namespace kreg::io::detail
