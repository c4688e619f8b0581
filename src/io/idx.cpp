// io/idx.cpp - the IDX format of MNIST and Fashion-MNIST, plain or gzipped.
//
// Layout: 0, 0, a type byte, a dimension count, one big-endian uint32 per
// dimension, then the values, big-endian. A gzipped file is recognised by its
// magic (whatever its name). The file is read as a stream: the header first,
// so that the size it declares is checked against this machine's memory (and
// a regular file's size) before anything is allocated, then exactly the
// values it declares, then a check that nothing follows them; a pipe or an
// endless device is never read past what the header promises.
#include "kreg/io/idx.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <bit>
#include <cstring>
#include <functional>
#include <future>
#include <optional>
#include <type_traits>

#include "io/file.hpp"
#include "io/finite.hpp"
#include "io/gzip.hpp"
#include "kreg/error.hpp"
#include "kreg/interrupt.hpp"

namespace kreg::io {

using detail::GunzipReader;
using detail::InputFile;
using detail::MemoryReader;
using detail::Reader;

namespace {

constexpr std::size_t kMaxHeader = 4 + 4 * 3;

struct TypeInfo {
  const char* name;
  std::size_t size;
};

std::optional<TypeInfo> type_info(unsigned char t) {
  switch (t) {
    case 0x08:
      return TypeInfo{"ubyte", 1};
    case 0x09:
      return TypeInfo{"byte", 1};
    case 0x0B:
      return TypeInfo{"short", 2};
    case 0x0C:
      return TypeInfo{"int", 4};
    case 0x0D:
      return TypeInfo{"float", 4};
    case 0x0E:
      return TypeInfo{"double", 8};
    default:
      return std::nullopt;
  }
}

// What the header says, checked for consistency but not yet against the data.
struct Parsed {
  IdxHeader header;
  std::size_t header_bytes = 0;  // 4 + 4 * ndim
  std::size_t item = 0;          // bytes per value
  index_t rows = 0;
  index_t cols = 0;
  index_t count = 0;             // values
  std::uint64_t data_bytes = 0;  // count * item
  std::string dims_text;         // "60000 x 28 x 28"
};

std::uint32_t load_be32(const char* p) {
  const auto* u = reinterpret_cast<const unsigned char*>(p);
  return std::uint32_t{u[0]} << 24 | std::uint32_t{u[1]} << 16 | std::uint32_t{u[2]} << 8 |
         std::uint32_t{u[3]};
}

// Validates the header at the start of `head` (the first bytes of the
// decompressed file; more is fine).
Parsed parse_header(std::string_view head, const std::string& path) {
  const auto* u = reinterpret_cast<const unsigned char*>(head.data());
  if (head.empty()) throw InputError(fmt::format("{}: file is empty (expected an IDX file)", path));
  if (u[0] != 0 || (head.size() >= 2 && u[1] != 0)) {
    throw InputError(fmt::format("{}: not an IDX file (first two bytes must be 0)", path));
  }
  if (head.size() < 4) {
    throw InputError(fmt::format(
        "{}: IDX header is truncated (the file has only {} bytes; the header needs at least 4)",
        path, head.size()));
  }
  Parsed p;
  const auto info = type_info(u[2]);
  if (!info) {
    throw InputError(fmt::format(
        "{}: unknown IDX type byte 0x{:02X} (expected 0x08 ubyte, 0x09 byte, 0x0B short, "
        "0x0C int, 0x0D float or 0x0E double)",
        path, u[2]));
  }
  p.header.type = static_cast<IdxType>(u[2]);
  p.item = info->size;
  const int ndim = u[3];
  if (ndim < 1 || ndim > 3) {
    throw InputError(
        fmt::format("{}: IDX file with {} dimensions; kreg reads IDX files with 1 to 3 dimensions",
                    path, ndim));
  }
  p.header_bytes = 4 + 4 * static_cast<std::size_t>(ndim);
  if (head.size() < p.header_bytes) {
    throw InputError(fmt::format(
        "{}: IDX header is truncated (the file has only {} bytes; a {}-dimensional header needs "
        "{})",
        path, head.size(), ndim, p.header_bytes));
  }
  std::string text;
  for (int i = 0; i < ndim; ++i) {
    const auto d = static_cast<index_t>(load_be32(head.data() + 4 + 4 * i));
    p.header.dims.push_back(d);
    text += i == 0 ? fmt::format("{}", d) : fmt::format(" x {}", d);
  }
  p.dims_text = text;
  p.rows = p.header.dims[0];
  p.cols = 1;
  bool overflow = false;
  for (int i = 1; i < ndim; ++i)
    overflow |= __builtin_mul_overflow(p.cols, p.header.dims[i], &p.cols);
  index_t bytes = 0;
  if (overflow || __builtin_mul_overflow(p.rows, p.cols, &p.count) ||
      __builtin_mul_overflow(p.count, static_cast<index_t>(p.item), &bytes)) {
    throw InputError(
        fmt::format("{}: header declares {} values, more than fits in 64 bits; the file is corrupt",
                    path, text));
  }
  p.data_bytes = static_cast<std::uint64_t>(bytes);
  if (p.cols > detail::kMaxColumns) {
    throw InputError(fmt::format(
        "{}: header's dimensions {} make {} columns per row, more than kreg's limit of {} (kreg "
        "keeps a name and statistics for every column, which alone would take gigabytes); the "
        "file is corrupt or not a data set kreg can use",
        path, text, p.cols, detail::kMaxColumns));
  }
  return p;
}

std::string declared(const Parsed& p) {
  return fmt::format("{} = {} values ({} bytes)", p.dims_text, p.count, p.data_bytes);
}

// The declared data, and the result of converting it to T, must fit in memory.
void check_memory(const Parsed& p, std::size_t out_item, const std::string& path) {
  const std::uint64_t memory = detail::physical_memory();
  const std::uint64_t total = p.header_bytes + p.data_bytes;
  const std::uint64_t as_t = static_cast<std::uint64_t>(p.count) * out_item;
  if (total > memory || as_t > memory ||
      (p.count > 0 && as_t / out_item != static_cast<std::uint64_t>(p.count))) {
    throw InputError(fmt::format(
        "{}: header declares {}, more than this machine's {} bytes of memory; the file is "
        "corrupt or too large",
        path, declared(p), memory));
  }
}

struct Loaded {
  Parsed parsed;
  std::string data;  // the values as stored, header excluded
};

// Reading as uint8 needs a ubyte file; says so before decompressing anything.
void check_type(const Parsed& p, bool need_u8, const std::string& path) {
  if (!need_u8 || p.header.type == IdxType::u8) return;
  const auto t = static_cast<unsigned char>(p.header.type);
  throw InputError(fmt::format(
      "{}: IDX type is {} (0x{:02X}); only ubyte (0x08) files can be read as uint8, read it as "
      "float or double",
      path, type_info(t)->name, t));
}

// The header from the start of `in`: the 4 fixed bytes, then the
// dimensions they announce; nothing past it is read.
Parsed read_header(Reader& in, const std::string& path) {
  std::string head(kMaxHeader, '\0');
  std::size_t got = in.read(head.data(), 4);
  if (got == 4) {
    const auto ndim = static_cast<unsigned char>(head[3]);
    if (ndim >= 1 && ndim <= 3) got += in.read(head.data() + 4, 4 * std::size_t{ndim});
  }
  head.resize(got);
  return parse_header(head, path);
}

// `a`, then `b`.
class Chained final : public Reader {
 public:
  Chained(Reader& a, Reader& b) : a_(a), b_(b) {}
  std::size_t read(char* dst, std::size_t n) override {
    const std::size_t k = a_.read(dst, n);
    return k < n ? k + b_.read(dst + k, n - k) : k;
  }

 private:
  Reader& a_;
  Reader& b_;
};

std::string holds_only(const Parsed& p, const std::string& path, std::uint64_t have) {
  return fmt::format("{}: header declares {} but the file holds only {} bytes", path, declared(p),
                     have);
}

// The last gzip member's ISIZE field (the decompressed size mod 2^32) of a
// regular file.
std::optional<std::uint32_t> gzip_isize(const InputFile& file) {
  const auto t = file.tail(4);
  if (!t || *file.size() < 18) return std::nullopt;
  const auto* u = reinterpret_cast<const unsigned char*>(t->data());
  return std::uint32_t{u[0]} | std::uint32_t{u[1]} << 8 | std::uint32_t{u[2]} << 16 |
         std::uint32_t{u[3]} << 24;
}

// The file's data, checked against its header: the header is read first and
// then exactly the values it declares, so that a stream (a pipe, /dev/zero)
// is never read past them. `out_item` is sizeof(T) of the matrix it will
// become. With `header_only`, a gzipped file's data are not decompressed (a
// plain regular file's size is still checked). `before_data`, when given,
// runs once the header is validated and, for a gzipped file whose trailer
// agrees with the header's size, before the data are decompressed
// (read_idx allocates its result meanwhile).
Loaded load(const std::string& path, std::size_t out_item, bool header_only, bool need_u8,
            const std::function<void(const Parsed&)>& before_data = {}) {
  Loaded r;
  InputFile file(path);
  // The first two bytes tell a gzipped file; the rest is read after them.
  char magic[2] = {};
  const std::size_t got = file.read(magic, 2);
  MemoryReader first(std::string_view(magic, got));
  Chained bytes(first, file);

  if (detail::is_gzip(std::string_view(magic, got))) {
    GunzipReader z(bytes, path);
    r.parsed = read_header(z, path);
    const Parsed& p = r.parsed;
    check_type(p, need_u8, path);
    check_memory(p, std::max<std::size_t>(out_item, 1), path);
    if (header_only) return r;
    const std::uint64_t total = p.header_bytes + p.data_bytes;
    // Deflate expands incompressible data by 5 bytes per 64 KiB block; on
    // top, 1 MiB for member headers and the padding gzip(1) allows.
    z.limit_input(total + total / 1024 + (std::uint64_t{1} << 20) + detail::kMaxGzipPadding);
    if (before_data && gzip_isize(file) == static_cast<std::uint32_t>(total)) before_data(p);
    r.data = detail::read_up_to(z, p.data_bytes);
    if (r.data.size() < p.data_bytes) throw InputError(holds_only(p, path, r.data.size()));
    if (!at_end(z)) {
      throw InputError(
          fmt::format("{}: decompressed data is larger than the {} bytes expected", path, total));
    }
    return r;
  }

  r.parsed = read_header(bytes, path);
  const Parsed& p = r.parsed;
  check_type(p, need_u8, path);
  if (const auto size = file.size()) {
    // A regular file: its size says at once whether the data are all there.
    const std::uint64_t have = *size - p.header_bytes;
    if (have < p.data_bytes) throw InputError(holds_only(p, path, have));
    if (have > p.data_bytes) {
      throw InputError(fmt::format(
          "{}: header declares {} but the file holds {} bytes ({} unexpected bytes after the "
          "data)",
          path, declared(p), have, have - p.data_bytes));
    }
  }
  check_memory(p, std::max<std::size_t>(out_item, 1), path);
  if (header_only) return r;
  r.data = detail::read_up_to(bytes, p.data_bytes);
  if (r.data.size() < p.data_bytes) throw InputError(holds_only(p, path, r.data.size()));
  if (!at_end(bytes)) {
    throw InputError(fmt::format(
        "{}: header declares {} but more bytes follow the data; the file is corrupt or endless",
        path, declared(p)));
  }
  return r;
}

template <class T>
void convert(const Parsed& p, const char* src, T* dst) {
  const std::size_t n = static_cast<std::size_t>(p.count);
  const auto* u = reinterpret_cast<const unsigned char*>(src);
  switch (p.header.type) {
    case IdxType::u8:
      if constexpr (std::is_same_v<T, std::uint8_t>) {
        if (n > 0) std::memcpy(dst, src, n);
      } else {
        for (std::size_t k = 0; k < n; ++k) dst[k] = static_cast<T>(u[k]);
      }
      return;
    case IdxType::i8:
      for (std::size_t k = 0; k < n; ++k) dst[k] = static_cast<T>(static_cast<std::int8_t>(u[k]));
      return;
    case IdxType::i16:
      for (std::size_t k = 0; k < n; ++k) {
        const auto v = static_cast<std::uint16_t>(u[2 * k] << 8 | u[2 * k + 1]);
        dst[k] = static_cast<T>(static_cast<std::int16_t>(v));
      }
      return;
    case IdxType::i32:
      for (std::size_t k = 0; k < n; ++k) {
        dst[k] = static_cast<T>(static_cast<std::int32_t>(load_be32(src + 4 * k)));
      }
      return;
    case IdxType::f32:
      for (std::size_t k = 0; k < n; ++k) {
        dst[k] = static_cast<T>(std::bit_cast<float>(load_be32(src + 4 * k)));
      }
      return;
    case IdxType::f64:
      for (std::size_t k = 0; k < n; ++k) {
        const std::uint64_t hi = load_be32(src + 8 * k);
        const std::uint64_t lo = load_be32(src + 8 * k + 4);
        dst[k] = static_cast<T>(std::bit_cast<double>(hi << 32 | lo));
      }
      return;
  }
}

template <class T>
constexpr unsigned char type_byte() {
  if constexpr (std::is_same_v<T, std::uint8_t>) return 0x08;
  if constexpr (std::is_same_v<T, float>) return 0x0D;
  return 0x0E;
}

void append_be32(std::string& out, std::uint32_t v) {
  out += static_cast<char>(v >> 24);
  out += static_cast<char>(v >> 16);
  out += static_cast<char>(v >> 8);
  out += static_cast<char>(v);
}

}  // namespace

IdxHeader read_idx_header(const std::string& path) {
  return load(path, 0, true, false).parsed.header;
}

template <class T>
Matrix<T> read_idx(const std::string& path, NonFinite non_finite, IdxHeader* header) {
  // A big gzipped file (Fashion-MNIST: 47 MB of pixels, 188 MB as float):
  // allocate and zero the result on another thread while zlib decompresses.
  // Declared before `r` so that an exception waits for it before unwinding.
  std::future<Matrix<T>> pending;
  const auto allocate_early = [&pending](const Parsed& h) {
    if (static_cast<std::uint64_t>(h.count) * sizeof(T) < (std::uint64_t{8} << 20)) return;
    pending = std::async(std::launch::async,
                         [rows = h.rows, cols = h.cols] { return Matrix<T>(rows, cols); });
  };
  Loaded r = load(path, sizeof(T), false, std::is_same_v<T, std::uint8_t>, allocate_early);
  const Parsed& p = r.parsed;
  Matrix<T> m = pending.valid() ? pending.get() : Matrix<T>(p.rows, p.cols);
  convert(p, r.data.data(), m.data());
  const bool floating = p.header.type == IdxType::f32 || p.header.type == IdxType::f64;
  if constexpr (!std::is_same_v<T, std::uint8_t>) {
    if (non_finite == NonFinite::reject && floating) detail::check_finite(m, path);
  }
  if (header != nullptr) *header = p.header;
  return m;
}

template <class T>
void write_idx(const std::string& path, MatrixView<const T> data, std::vector<index_t> dims,
               const CancelToken* cancel) {
  if (dims.empty()) {
    dims = data.cols() == 1 ? std::vector<index_t>{data.rows()}
                            : std::vector<index_t>{data.rows(), data.cols()};
  }
  if (dims.size() > 3) {
    throw ArgumentError(fmt::format(
        "write_idx '{}': {} dimensions given; IDX files here have 1 to 3", path, dims.size()));
  }
  index_t product = 1;
  for (const index_t d : dims) {
    if (d < 0 || d > index_t{0xFFFFFFFF}) {
      throw ArgumentError(
          fmt::format("write_idx '{}': dimension {} is out of range (0 to 4294967295)", path, d));
    }
    if (__builtin_mul_overflow(product, d, &product)) product = -1;
    if (product < 0) break;
  }
  if (product != data.size()) {
    throw ArgumentError(fmt::format(
        "write_idx '{}': dims ({}) hold {} values but the data has {} x {} = {}", path,
        fmt::join(dims, " x "), product < 0 ? std::string("too many") : std::to_string(product),
        data.rows(), data.cols(), data.size()));
  }
  std::string out;
  out.reserve(4 + 4 * dims.size() + static_cast<std::size_t>(data.size()) * sizeof(T));
  out += '\0';
  out += '\0';
  out += static_cast<char>(type_byte<T>());
  out += static_cast<char>(dims.size());
  for (const index_t d : dims) append_be32(out, static_cast<std::uint32_t>(d));
  for (index_t i = 0; i < data.rows(); ++i) {
    const T* row = data.data() + i * data.ld();
    if constexpr (std::is_same_v<T, std::uint8_t>) {
      out.append(reinterpret_cast<const char*>(row), static_cast<std::size_t>(data.cols()));
    } else if constexpr (std::is_same_v<T, float>) {
      for (index_t j = 0; j < data.cols(); ++j)
        append_be32(out, std::bit_cast<std::uint32_t>(row[j]));
    } else {
      for (index_t j = 0; j < data.cols(); ++j) {
        const auto bits = std::bit_cast<std::uint64_t>(row[j]);
        append_be32(out, static_cast<std::uint32_t>(bits >> 32));
        append_be32(out, static_cast<std::uint32_t>(bits));
      }
    }
  }
  if (detail::ends_with_nocase(path, ".gz")) out = detail::gzip(out, cancel);
  throw_if_cancelled(cancel);
  detail::write_file_atomic(path, out);
}

template Matrix<float> read_idx<float>(const std::string&, NonFinite, IdxHeader*);
template Matrix<double> read_idx<double>(const std::string&, NonFinite, IdxHeader*);
template Matrix<std::uint8_t> read_idx<std::uint8_t>(const std::string&, NonFinite, IdxHeader*);
template void write_idx<std::uint8_t>(const std::string&, MatrixView<const std::uint8_t>,
                                      std::vector<index_t>, const CancelToken*);
template void write_idx<float>(const std::string&, MatrixView<const float>, std::vector<index_t>,
                               const CancelToken*);
template void write_idx<double>(const std::string&, MatrixView<const double>, std::vector<index_t>,
                                const CancelToken*);

}  // namespace kreg::io
