// io/gzip.cpp - gzip (de)compression through zlib.
#include "io/gzip.hpp"

#include <fmt/format.h>
#include <zlib.h>

#include <algorithm>
#include <limits>

#include "kreg/error.hpp"
#include "kreg/interrupt.hpp"

namespace kreg::io::detail {

namespace {

// zlib counts in uInt (32 bits); feed it at most this much at a time.
constexpr std::size_t kMaxChunk = std::size_t{1} << 30;

unsigned chunk(std::size_t n) { return static_cast<unsigned>(std::min(n, kMaxChunk)); }

Bytef* as_bytes(const char* p) {
  // zlib's next_in is not const-qualified, but inflate never writes through it.
  return reinterpret_cast<Bytef*>(const_cast<char*>(p));
}

// Closes a z_stream on every path out of gunzip.
struct Inflater {
  z_stream s{};
  Inflater() {
    if (inflateInit2(&s, 16 + MAX_WBITS) != Z_OK) {
      throw Error(fmt::format("zlib: cannot start decompression ({})",
                              s.msg != nullptr ? s.msg : "out of memory"));
    }
  }
  ~Inflater() { inflateEnd(&s); }
  Inflater(const Inflater&) = delete;
  Inflater& operator=(const Inflater&) = delete;
};

struct Deflater {
  z_stream s{};
  Deflater() {
    if (deflateInit2(&s, 6, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY) != Z_OK) {
      throw Error(fmt::format("zlib: cannot start compression ({})",
                              s.msg != nullptr ? s.msg : "out of memory"));
    }
  }
  ~Deflater() { deflateEnd(&s); }
  Deflater(const Deflater&) = delete;
  Deflater& operator=(const Deflater&) = delete;
};

[[noreturn]] void throw_corrupt(std::string_view source, std::string_view why) {
  throw InputError(fmt::format("{}: corrupt gzip data ({})", source, why));
}

// A first guess at the decompressed size, only a capacity hint: the last
// member's ISIZE field (size mod 2^32), not trusted beyond a modest ratio to
// the input (a corrupt trailer must not commit gigabytes), and never past the
// caller's limit. The buffer grows by doubling when the guess is short.
std::uint64_t size_hint(std::string_view bytes, std::uint64_t max_bytes) {
  const std::uint64_t in = bytes.size();
  std::uint64_t guess = in * 4;
  if (in >= 18) {
    const auto* p = reinterpret_cast<const unsigned char*>(bytes.data() + in - 4);
    const std::uint64_t isize = std::uint64_t{p[0]} | std::uint64_t{p[1]} << 8 |
                                std::uint64_t{p[2]} << 16 | std::uint64_t{p[3]} << 24;
    if (isize != 0) guess = isize;
  }
  guess = std::min(guess, in * 8 + 65536);
  return std::min({guess, max_bytes, std::uint64_t{std::numeric_limits<std::size_t>::max() / 2}});
}

}  // namespace

bool is_gzip(std::string_view bytes) {
  return bytes.size() >= 2 && static_cast<unsigned char>(bytes[0]) == 0x1f &&
         static_cast<unsigned char>(bytes[1]) == 0x8b;
}

std::string gunzip(std::string_view bytes, std::string_view source, std::uint64_t max_bytes) {
  Inflater z;
  std::string out;
  out.resize(static_cast<std::size_t>(size_hint(bytes, max_bytes)));
  std::uint64_t produced = 0;  // bytes of `out` in use
  std::size_t consumed = 0;    // bytes of `bytes` used by zlib

  for (;;) {
    // Output room: the rest of `out`, grown as needed but never past
    // max_bytes. At the limit, inflate into a one-byte probe: the stream may
    // still end without producing anything more; any byte is one too many.
    bool at_limit = false;
    if (produced == out.size()) {
      if (produced >= max_bytes) {
        at_limit = true;
      } else {
        out.resize(static_cast<std::size_t>(
            std::min<std::uint64_t>(std::max<std::uint64_t>(out.size() * 2, 4096), max_bytes)));
      }
    }
    char probe = 0;
    const unsigned in_now = chunk(bytes.size() - consumed);
    const unsigned out_now = at_limit ? 1U : chunk(out.size() - produced);
    z.s.next_in = as_bytes(bytes.data() + consumed);
    z.s.avail_in = in_now;
    z.s.next_out = reinterpret_cast<Bytef*>(at_limit ? &probe : out.data() + produced);
    z.s.avail_out = out_now;
    const int rc = inflate(&z.s, Z_NO_FLUSH);
    consumed += in_now - z.s.avail_in;
    if (at_limit && z.s.avail_out == 0) {
      throw InputError(fmt::format("{}: decompressed data is larger than the {} bytes expected",
                                   source, max_bytes));
    }
    if (!at_limit) produced += out_now - z.s.avail_out;

    if (rc == Z_STREAM_END) {
      if (consumed == bytes.size()) break;
      // Concatenated members (gzip a; gzip b; cat) decompress to a then b.
      const std::string_view rest = bytes.substr(consumed);
      if (is_gzip(rest)) {
        inflateReset(&z.s);
        continue;
      }
      // gzip(1) also ignores zero padding after the last member (tape blocks).
      if (std::all_of(rest.begin(), rest.end(), [](char c) { return c == 0; })) break;
      throw_corrupt(
          source, fmt::format("{} unexpected bytes after the end of the gzip stream", rest.size()));
    }
    if (rc == Z_DATA_ERROR || rc == Z_NEED_DICT) {
      throw_corrupt(source, z.s.msg != nullptr ? z.s.msg : "invalid data");
    }
    if (rc == Z_MEM_ERROR) {
      throw Error(fmt::format("{}: out of memory while decompressing", source));
    }
    // Z_OK or Z_BUF_ERROR: the stream has not ended. With all input used and
    // output room left over, nothing more can come: the stream is cut short.
    if (consumed == bytes.size() && z.s.avail_out > 0) {
      throw InputError(fmt::format("{}: gzip stream is truncated", source));
    }
  }
  out.resize(static_cast<std::size_t>(produced));
  return out;
}

std::string gzip(std::string_view bytes, const CancelToken* cancel) {
  Deflater z;
  std::string out;
  const std::size_t in_first = std::min(bytes.size(), kMaxChunk);
  out.resize(deflateBound(&z.s, static_cast<uLong>(in_first)) + 64);
  std::size_t consumed = 0;
  std::size_t produced = 0;
  for (;;) {
    throw_if_cancelled(cancel);
    if (produced == out.size()) out.resize(out.size() * 2);
    const auto in_now = static_cast<unsigned>(std::min(bytes.size() - consumed, kGzipSlice));
    const unsigned out_now = chunk(out.size() - produced);
    const bool last = consumed + in_now == bytes.size();
    z.s.next_in = as_bytes(bytes.data() + consumed);
    z.s.avail_in = in_now;
    z.s.next_out = reinterpret_cast<Bytef*>(out.data() + produced);
    z.s.avail_out = out_now;
    const int rc = deflate(&z.s, last ? Z_FINISH : Z_NO_FLUSH);
    consumed += in_now - z.s.avail_in;
    produced += out_now - z.s.avail_out;
    if (rc == Z_STREAM_END) break;
    if (rc != Z_OK && rc != Z_BUF_ERROR) {
      throw Error(fmt::format("zlib: compression failed ({})",
                              z.s.msg != nullptr ? z.s.msg : "error " + std::to_string(rc)));
    }
  }
  out.resize(produced);
  return out;
}

}  // namespace kreg::io::detail
