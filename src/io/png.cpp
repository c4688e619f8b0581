// io/png.cpp - the PNG writer of kreg/io/png.hpp: signature, IHDR, one IDAT
// (zlib stream of filter-0 scanlines), IEND; chunk CRCs by zlib's crc32.
#include "kreg/io/png.hpp"

#include <fmt/format.h>
#include <zlib.h>

#include <limits>
#include <string_view>

#include "io/file.hpp"

namespace kreg::io {

namespace {

void put_u32(std::string& out, std::uint32_t v) {
  out.push_back(static_cast<char>((v >> 24) & 0xFF));
  out.push_back(static_cast<char>((v >> 16) & 0xFF));
  out.push_back(static_cast<char>((v >> 8) & 0xFF));
  out.push_back(static_cast<char>(v & 0xFF));
}

// Length, type, data, CRC-32 of type + data.
void put_chunk(std::string& out, std::string_view type, std::string_view data) {
  put_u32(out, static_cast<std::uint32_t>(data.size()));
  const std::size_t start = out.size();
  out.append(type);
  out.append(data);
  uLong crc = crc32(0L, Z_NULL, 0);
  // One call is enough: chunk data fits in uInt (checked by the caller).
  crc = crc32(crc, reinterpret_cast<const Bytef*>(out.data() + start),
              static_cast<uInt>(out.size() - start));
  put_u32(out, static_cast<std::uint32_t>(crc));
}

}  // namespace

std::string encode_png_gray(MatrixView<const std::uint8_t> pixels) {
  constexpr index_t kMaxSide = std::numeric_limits<std::int32_t>::max();
  if (pixels.empty() || pixels.rows() > kMaxSide || pixels.cols() > kMaxSide) {
    throw ArgumentError(
        fmt::format("PNG: image must be 1 to 2^31-1 pixels on each side, got {} x {}",
                    pixels.rows(), pixels.cols()));
  }
  // Scanlines: a filter-type byte (0, None) then the row.
  std::string raw;
  raw.reserve(static_cast<std::size_t>(pixels.rows() * (pixels.cols() + 1)));
  for (index_t i = 0; i < pixels.rows(); ++i) {
    raw.push_back('\0');
    const auto row = pixels.row(i);
    raw.append(reinterpret_cast<const char*>(row.data()), row.size());
  }
  if (raw.size() > std::numeric_limits<uInt>::max() / 2) {
    throw ArgumentError(fmt::format("PNG: image of {} x {} pixels is too large for this writer",
                                    pixels.rows(), pixels.cols()));
  }
  uLongf packed_size = compressBound(static_cast<uLong>(raw.size()));
  std::string packed(packed_size, '\0');
  const int rc = compress2(reinterpret_cast<Bytef*>(packed.data()), &packed_size,
                           reinterpret_cast<const Bytef*>(raw.data()),
                           static_cast<uLong>(raw.size()), Z_BEST_COMPRESSION);
  if (rc != Z_OK) throw Error(fmt::format("PNG: zlib compress2 failed ({})", rc));
  packed.resize(packed_size);

  std::string png("\x89PNG\r\n\x1a\n", 8);
  std::string ihdr;
  put_u32(ihdr, static_cast<std::uint32_t>(pixels.cols()));  // width
  put_u32(ihdr, static_cast<std::uint32_t>(pixels.rows()));  // height
  ihdr.push_back('\x08');                                    // bit depth
  ihdr.push_back('\x00');                                    // colour type: grayscale
  ihdr.push_back('\x00');                                    // compression: deflate
  ihdr.push_back('\x00');                                    // filter method 0
  ihdr.push_back('\x00');                                    // no interlace
  put_chunk(png, "IHDR", ihdr);
  put_chunk(png, "IDAT", packed);
  put_chunk(png, "IEND", {});
  return png;
}

void write_png_gray(const std::string& path, MatrixView<const std::uint8_t> pixels) {
  detail::write_file_atomic(path, encode_png_gray(pixels));
}

}  // namespace kreg::io
