// kreg/io/idx.hpp - the IDX format of MNIST and Fashion-MNIST.
//
// Magic: two zero bytes, a type byte (0x08 ubyte, 0x09 byte, 0x0B short,
// 0x0C int, 0x0D float, 0x0E double), a dimension count (1 to 3), then one
// big-endian uint32 per dimension, then the data, big-endian. Files ending in
// .gz (or starting with the gzip magic) are decompressed transparently with
// zlib. The first dimension is the row count; the rest flatten row-major
// into columns (60000 x 28 x 28 images become 60000 x 784). A header that
// declares more data than the file holds, or more than this machine's
// memory, is an error before anything is allocated.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "kreg/io/table.hpp"

namespace kreg {
class CancelToken;  // kreg/interrupt.hpp
}  // namespace kreg

namespace kreg::io {

enum class IdxType : std::uint8_t {
  u8 = 0x08,
  i8 = 0x09,
  i16 = 0x0B,
  i32 = 0x0C,
  f32 = 0x0D,
  f64 = 0x0E,
};

struct IdxHeader {
  IdxType type = IdxType::u8;
  std::vector<index_t> dims;
};

IdxHeader read_idx_header(const std::string& path);

// T is float, double or std::uint8_t (the last only for ubyte files).
// NaN/Inf in float and double files follow `non_finite` (see table.hpp).
template <class T>
Matrix<T> read_idx(const std::string& path, NonFinite non_finite = NonFinite::reject,
                   IdxHeader* header = nullptr);

// Writes `data` as IDX with the given dims (their product must equal
// data.size(); empty dims means {rows, cols}, or {rows} for one column).
// T = std::uint8_t writes ubyte, float writes float, double writes double.
// A path ending in .gz is gzip-compressed. Written to a temporary name, then
// renamed. `cancel` (nullptr: never cancelled) is polled while compressing and
// before the file is written: once it is requested, write_idx throws
// kreg::Cancelled and leaves `path` as it was.
template <class T>
void write_idx(const std::string& path, MatrixView<const T> data, std::vector<index_t> dims = {},
               const CancelToken* cancel = nullptr);

}  // namespace kreg::io
