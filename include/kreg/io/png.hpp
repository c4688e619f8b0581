// kreg/io/png.hpp - a minimal PNG writer: 8-bit grayscale, no interlacing,
// filter type 0 (None) on every scanline, zlib-compressed IDAT. Enough for
// contact sheets and previews; kreg reads no PNG.
#pragma once

#include <cstdint>
#include <string>

#include "kreg/matrix.hpp"

namespace kreg::io {

// The PNG file bytes of `pixels` (rows x cols, one byte per pixel, row 0 at
// the top). Throws ArgumentError for an empty image or a side above 2^31 - 1.
std::string encode_png_gray(MatrixView<const std::uint8_t> pixels);

// encode_png_gray written to `path` through a temporary name and a rename.
void write_png_gray(const std::string& path, MatrixView<const std::uint8_t> pixels);

}  // namespace kreg::io
