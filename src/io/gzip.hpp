// io/gzip.hpp - gzip (de)compression through zlib.
#pragma once

#include <zlib.h>

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "io/file.hpp"

namespace kreg {
class CancelToken;  // kreg/interrupt.hpp
}  // namespace kreg

namespace kreg::io::detail {

// Decompresses a gzip stream pulled from `in` a piece at a time, so that a
// reader can stop at what a header declares: several concatenated members
// are one stream; zero padding after the last member (tape blocks, up to
// kMaxGzipPadding bytes) is ignored, like gzip(1) does. read() throws
// InputError "<source>: ..." on corrupt or truncated data and on anything
// else after the stream.
class GunzipReader final : public Reader {
 public:
  GunzipReader(Reader& in, std::string_view source);
  ~GunzipReader() override;
  GunzipReader(const GunzipReader&) = delete;
  GunzipReader& operator=(const GunzipReader&) = delete;

  std::size_t read(char* dst, std::size_t n) override;
  // Refuse to pull more than `bytes` of compressed input: a header that
  // declares n bytes bounds any honest encoding of them, and an endless
  // stream must not be read forever.
  void limit_input(std::uint64_t bytes) { input_limit_ = bytes; }

 private:
  void pull();          // more input after what zlib has not used yet
  void after_member();  // at a member's end: another member, padding or the end
  [[noreturn]] void corrupt(std::string_view why) const;

  Reader& in_;
  std::string source_;
  z_stream z_{};
  std::unique_ptr<char[]> buffer_;
  bool eof_ = false;   // `in_` has no more bytes
  bool done_ = false;  // the stream ended cleanly
  std::uint64_t input_ = 0;
  std::uint64_t input_limit_ = UINT64_MAX;
};

constexpr std::uint64_t kMaxGzipPadding = std::uint64_t{1} << 20;

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
