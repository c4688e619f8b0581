// io/gzip.cpp - gzip (de)compression through zlib.
#include "io/gzip.hpp"

#include <fmt/format.h>
#include <zlib.h>

#include <algorithm>
#include <cstring>
#include <limits>

#include "kreg/error.hpp"
#include "kreg/interrupt.hpp"

namespace kreg::io::detail {

namespace {

// zlib counts in uInt (32 bits); feed it at most this much at a time.
constexpr std::size_t kMaxChunk = std::size_t{1} << 30;

// Compressed input is pulled in pieces of this size.
constexpr std::size_t kInputBuffer = std::size_t{1} << 16;

unsigned chunk(std::size_t n) { return static_cast<unsigned>(std::min(n, kMaxChunk)); }

Bytef* as_bytes(const char* p) {
  // zlib's next_in is not const-qualified, but inflate never writes through it.
  return reinterpret_cast<Bytef*>(const_cast<char*>(p));
}

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

GunzipReader::GunzipReader(Reader& in, std::string_view source)
    : in_(in), source_(source), buffer_(std::make_unique<char[]>(kInputBuffer)) {
  if (inflateInit2(&z_, 16 + MAX_WBITS) != Z_OK) {
    throw Error(fmt::format("zlib: cannot start decompression ({})",
                            z_.msg != nullptr ? z_.msg : "out of memory"));
  }
  z_.next_in = as_bytes(buffer_.get());
  z_.avail_in = 0;
}

GunzipReader::~GunzipReader() { inflateEnd(&z_); }

void GunzipReader::corrupt(std::string_view why) const { throw_corrupt(source_, why); }

void GunzipReader::pull() {
  // What zlib has not used yet moves to the front of the buffer.
  char* const base = buffer_.get();
  const std::size_t left = z_.avail_in;
  if (left > 0 && reinterpret_cast<char*>(z_.next_in) != base) {
    std::memmove(base, z_.next_in, left);
  }
  const std::size_t got = in_.read(base + left, kInputBuffer - left);
  if (got < kInputBuffer - left) eof_ = true;
  input_ += got;
  if (input_ > input_limit_) {
    throw InputError(fmt::format(
        "{}: the gzip stream goes on past {} bytes, more than any compression of the data its "
        "header declares; the file is corrupt or endless",
        source_, input_limit_));
  }
  z_.next_in = as_bytes(base);
  z_.avail_in = static_cast<unsigned>(left + got);
}

void GunzipReader::after_member() {
  while (z_.avail_in < 2 && !eof_) pull();
  if (z_.avail_in >= 2 && is_gzip(std::string_view(reinterpret_cast<char*>(z_.next_in), 2))) {
    // Concatenated members (gzip a; gzip b; cat) decompress to a then b.
    inflateReset(&z_);
    return;
  }
  // gzip(1) ignores zero padding after the last member (tape blocks);
  // anything else is an error, counted up to a bound.
  std::uint64_t rest = 0;
  bool zeros = true;
  for (;;) {
    const auto* p = reinterpret_cast<const char*>(z_.next_in);
    zeros = zeros && std::all_of(p, p + z_.avail_in, [](char c) { return c == 0; });
    rest += z_.avail_in;
    z_.avail_in = 0;
    if (eof_ || rest > kMaxGzipPadding) break;
    pull();
  }
  if (rest == 0 || (zeros && rest <= kMaxGzipPadding)) {
    done_ = true;
    return;
  }
  if (!eof_) {
    corrupt(fmt::format("more than {} unexpected bytes after the end of the gzip stream",
                        kMaxGzipPadding));
  }
  corrupt(fmt::format("{} unexpected bytes after the end of the gzip stream", rest));
}

std::size_t GunzipReader::read(char* dst, std::size_t n) {
  std::size_t produced = 0;
  while (produced < n && !done_) {
    if (z_.avail_in == 0 && !eof_) pull();
    const unsigned out_now = chunk(n - produced);
    z_.next_out = reinterpret_cast<Bytef*>(dst + produced);
    z_.avail_out = out_now;
    const int rc = inflate(&z_, Z_NO_FLUSH);
    produced += out_now - z_.avail_out;
    if (rc == Z_STREAM_END) {
      after_member();
      continue;
    }
    if (rc == Z_DATA_ERROR || rc == Z_NEED_DICT) {
      corrupt(z_.msg != nullptr ? z_.msg : "invalid data");
    }
    if (rc == Z_MEM_ERROR) {
      throw Error(fmt::format("{}: out of memory while decompressing", source_));
    }
    // Z_OK or Z_BUF_ERROR: the stream has not ended. With all input used and
    // output room left over, nothing more can come: the stream is cut short.
    if (z_.avail_in == 0 && eof_ && z_.avail_out > 0) {
      throw InputError(fmt::format("{}: gzip stream is truncated", source_));
    }
  }
  return produced;
}

std::string gunzip(std::string_view bytes, std::string_view source, std::uint64_t max_bytes) {
  MemoryReader memory(bytes);
  GunzipReader z(memory, source);
  std::string out;
  out.resize(static_cast<std::size_t>(size_hint(bytes, max_bytes)));
  std::uint64_t produced = 0;  // bytes of `out` in use
  for (;;) {
    if (produced == out.size()) {
      if (produced >= max_bytes) {
        // At the limit: the stream may still end without another byte.
        if (!at_end(z)) {
          throw InputError(fmt::format("{}: decompressed data is larger than the {} bytes expected",
                                       source, max_bytes));
        }
        break;
      }
      out.resize(static_cast<std::size_t>(
          std::min<std::uint64_t>(std::max<std::uint64_t>(out.size() * 2, 4096), max_bytes)));
    }
    const std::size_t want = out.size() - static_cast<std::size_t>(produced);
    const std::size_t got = z.read(out.data() + produced, want);
    produced += got;
    if (got < want) break;  // the stream ended
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
