// io/npy.cpp - numpy's .npy format, versions 1.0, 2.0 and 3.0.
//
// Layout: the magic "\x93NUMPY", a major and a minor version byte, the header
// length (little-endian uint16 for 1.0, uint32 for 2.0 and 3.0), then the
// header: a Python dict literal such as
//
//     {'descr': '<f8', 'fortran_order': False, 'shape': (3, 4), }
//
// padded with spaces and ended by '\n', then the raw array data. The reader
// streams the data from the file straight into the result (no second copy of
// the file in memory); the size the header declares is checked against the
// file's size before anything is allocated. A pipe or device is read as a
// stream: the header, then exactly the data it declares, then a check that
// nothing follows.
#include "kreg/io/npy.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <bit>
#include <cctype>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <limits>
#include <optional>
#include <string_view>
#include <type_traits>

#include "io/file.hpp"
#include "io/finite.hpp"
#include "kreg/error.hpp"

namespace kreg::io {

using detail::InputFile;
using detail::Reader;

namespace {

constexpr std::string_view kMagic = "\x93NUMPY";
constexpr std::string_view kSupported = "'<f4', '<f8', '<i4', '<i8', '|u1' ('<u1') and '|i1'";

// numpy itself refuses headers over 10000 bytes by default; be generous.
constexpr std::uint64_t kMaxHeader = std::uint64_t{1} << 20;

enum class Dtype { f4, f8, i4, i8, u1, i1 };

std::size_t item_size(Dtype d) {
  switch (d) {
    case Dtype::f4:
    case Dtype::i4:
      return 4;
    case Dtype::f8:
    case Dtype::i8:
      return 8;
    case Dtype::u1:
    case Dtype::i1:
      return 1;
  }
  return 1;
}

// ---------------------------------------------------------------------------
// The header dict: a tiny parser for the Python literals numpy writes.

class DictParser {
 public:
  DictParser(std::string_view text, const std::string& path) : s_(text), path_(path) {}

  [[noreturn]] void fail(std::string_view what) const {
    throw InputError(fmt::format("{}: malformed NPY header ({}) in {}", path_, what, quoted()));
  }

  void skip_space() {
    while (pos_ < s_.size() && (s_[pos_] == ' ' || s_[pos_] == '\t' || s_[pos_] == '\n' ||
                                s_[pos_] == '\r' || s_[pos_] == '\0')) {
      ++pos_;
    }
  }
  bool eat(char c) {
    skip_space();
    if (pos_ < s_.size() && s_[pos_] == c) {
      ++pos_;
      return true;
    }
    return false;
  }
  void expect(char c) {
    if (!eat(c)) fail(fmt::format("expected '{}'", c));
  }
  bool at_end() {
    skip_space();
    return pos_ == s_.size();
  }
  bool peek(char c) {
    skip_space();
    return pos_ < s_.size() && s_[pos_] == c;
  }

  std::string string() {
    skip_space();
    if (pos_ >= s_.size() || (s_[pos_] != '\'' && s_[pos_] != '"')) fail("expected a string");
    const char quote = s_[pos_++];
    std::string out;
    while (pos_ < s_.size() && s_[pos_] != quote) {
      if (s_[pos_] == '\\' && pos_ + 1 < s_.size()) ++pos_;
      out += s_[pos_++];
    }
    if (pos_ >= s_.size()) fail("unterminated string");
    ++pos_;
    return out;
  }

  std::string word() {
    skip_space();
    const std::size_t begin = pos_;
    while (pos_ < s_.size() &&
           (std::isalnum(static_cast<unsigned char>(s_[pos_])) != 0 || s_[pos_] == '_')) {
      ++pos_;
    }
    return std::string(s_.substr(begin, pos_ - begin));
  }

  // Any value, as its source text (for values kreg does not interpret, such
  // as a structured dtype's list, which it only names in an error).
  std::string raw_value() {
    skip_space();
    const std::size_t begin = pos_;
    int depth = 0;
    while (pos_ < s_.size()) {
      const char c = s_[pos_];
      if (c == '\'' || c == '"') {
        (void)string();
        continue;
      }
      if (c == '(' || c == '[' || c == '{') ++depth;
      if (c == ')' || c == ']' || c == '}') {
        if (depth == 0) break;
        --depth;
      }
      if (c == ',' && depth == 0) break;
      ++pos_;
    }
    if (depth != 0) fail("unbalanced brackets");
    std::string_view v = s_.substr(begin, pos_ - begin);
    while (!v.empty() && v.back() == ' ') v.remove_suffix(1);
    return std::string(v);
  }

  // A tuple of non-negative integers: (), (5,), (3, 4), (3L, 4L) from
  // Python 2's numpy.
  std::vector<index_t> shape() {
    expect('(');
    std::vector<index_t> dims;
    while (!eat(')')) {
      skip_space();
      const std::size_t begin = pos_;
      index_t v = 0;
      while (pos_ < s_.size() && s_[pos_] >= '0' && s_[pos_] <= '9') {
        const int digit = s_[pos_] - '0';
        if (v > (std::numeric_limits<index_t>::max() - digit) / 10) {
          fail("a dimension in 'shape' is too large");
        }
        v = v * 10 + digit;
        ++pos_;
      }
      if (pos_ == begin) fail("'shape' must be a tuple of non-negative integers");
      if (pos_ < s_.size() && (s_[pos_] == 'L' || s_[pos_] == 'l')) ++pos_;
      dims.push_back(v);
      if (!eat(',')) {
        expect(')');
        break;
      }
    }
    return dims;
  }

 private:
  std::string quoted() const {
    std::string_view t = s_;
    while (!t.empty() && (t.back() == ' ' || t.back() == '\n' || t.back() == '\0')) {
      t.remove_suffix(1);
    }
    return fmt::format("\"{}\"", detail::printable(t, 200));
  }

  std::string_view s_;
  std::size_t pos_ = 0;
  const std::string& path_;
};

struct ParsedHeader {
  NpyHeader header;
  Dtype dtype = Dtype::f8;
  index_t rows = 0;
  index_t cols = 0;
  index_t count = 0;        // rows * cols
  std::uint64_t bytes = 0;  // count * item size
};

std::optional<Dtype> parse_dtype(std::string_view d) {
  if (d == "<f4") return Dtype::f4;
  if (d == "<f8") return Dtype::f8;
  if (d == "<i4") return Dtype::i4;
  if (d == "<i8") return Dtype::i8;
  if (d == "|u1" || d == "<u1") return Dtype::u1;
  if (d == "|i1") return Dtype::i1;
  return std::nullopt;
}

[[noreturn]] void unsupported_dtype(const std::string& path, const std::string& descr) {
  std::string why;
  if (descr.size() > 1 && descr.front() == '>') {
    std::string little = descr;
    little[0] = '<';
    why = parse_dtype(little) ? fmt::format(" (big-endian; convert with arr.astype('{}'))", little)
                              : std::string(" (big-endian)");
  } else if (descr == "|O" || descr == "O") {
    why = " (an object array)";
  } else if (!descr.empty() && descr.front() == '[') {
    why = " (a structured array; save one plain numeric array instead)";
  }
  throw InputError(fmt::format("{}: unsupported NPY dtype '{}'{}; kreg reads {}", path,
                               detail::printable(descr, 200), why, kSupported));
}

std::string shape_text(const std::vector<index_t>& shape) {
  if (shape.size() == 1) return fmt::format("({},)", shape[0]);
  return fmt::format("({})", fmt::join(shape, ", "));
}

// Reads the magic, version and header from the start of `src` (and nothing
// after them), validating everything the data read relies on.
ParsedHeader parse_header(InputFile& src) {
  const std::string& path = src.path();
  const std::optional<std::uint64_t> size = src.size();  // nullopt: a stream
  char prefix[12] = {};
  const std::size_t got = src.read(prefix, sizeof prefix);
  if (got == 0) throw InputError(fmt::format("{}: file is empty (expected an NPY file)", path));
  const std::string_view head(prefix, got);
  if (head.substr(0, std::min(got, kMagic.size())) !=
      kMagic.substr(0, std::min(got, kMagic.size()))) {
    throw InputError(fmt::format("{}: not an NPY file (bad magic; expected \\x93NUMPY)", path));
  }
  if (got < 10) {
    throw InputError(
        fmt::format("{}: NPY header is truncated (the file has only {} bytes; the header alone "
                    "needs at least 10)",
                    path, got));
  }
  ParsedHeader p;
  auto& h = p.header;
  const int major = static_cast<unsigned char>(prefix[6]);
  const int minor = static_cast<unsigned char>(prefix[7]);
  if ((major != 1 && major != 2 && major != 3) || minor != 0) {
    throw InputError(
        fmt::format("{}: unsupported NPY format version {}.{} (kreg reads 1.0, 2.0 and 3.0)", path,
                    major, minor));
  }
  h.major_version = major;
  std::uint64_t header_len = 0;
  std::size_t fixed = 10;
  const auto byte = [&](int i) { return std::uint64_t{static_cast<unsigned char>(prefix[i])}; };
  if (major == 1) {
    header_len = byte(8) | byte(9) << 8;
  } else {
    fixed = 12;
    if (got < 12) {
      throw InputError(fmt::format(
          "{}: NPY header is truncated (the file has only {} bytes; a version {}.0 header needs "
          "at least 12)",
          path, got, major));
    }
    header_len = byte(8) | byte(9) << 8 | byte(10) << 16 | byte(11) << 24;
  }
  const std::uint64_t data_offset = fixed + header_len;
  const auto truncated = [&](std::uint64_t follow) {
    return InputError(fmt::format(
        "{}: NPY header is truncated (its length field says {} bytes but only {} follow)", path,
        header_len, follow));
  };
  if (size && data_offset > *size) throw truncated(*size - fixed);
  if (header_len > kMaxHeader) {
    throw InputError(fmt::format(
        "{}: NPY header length {} is implausibly large (numpy writes a few hundred bytes); the "
        "file is corrupt",
        path, header_len));
  }
  h.data_offset = static_cast<index_t>(data_offset);
  // (A version 1.0 header under 2 bytes leaves read bytes over; it cannot
  // hold a dict, and the parse below says so.)
  std::string text(prefix + fixed, std::min<std::size_t>(got - fixed, header_len));
  if (text.size() < header_len) {
    const std::size_t have = text.size();
    const std::size_t want = static_cast<std::size_t>(header_len) - have;
    text.resize(static_cast<std::size_t>(header_len));
    const std::size_t more = src.read(text.data() + have, want);
    if (more != want) throw truncated(have + more);
  }

  // The dict: keys in any order, any spacing, with or without a trailing comma.
  DictParser d(text, path);
  d.expect('{');
  bool have_descr = false;
  bool have_order = false;
  bool have_shape = false;
  while (!d.eat('}')) {
    const std::string key = d.string();
    d.expect(':');
    bool* seen = nullptr;
    if (key == "descr") {
      seen = &have_descr;
      h.descr = d.peek('\'') || d.peek('"') ? d.string() : d.raw_value();
    } else if (key == "fortran_order") {
      seen = &have_order;
      const std::string w = d.word();
      if (w == "True") {
        h.fortran_order = true;
      } else if (w == "False") {
        h.fortran_order = false;
      } else {
        d.fail("'fortran_order' must be True or False");
      }
    } else if (key == "shape") {
      seen = &have_shape;
      h.shape = d.shape();
    } else {
      d.fail(
          fmt::format("unexpected key '{}'; an NPY header has 'descr', 'fortran_order' and "
                      "'shape'",
                      detail::printable(key, 200)));
    }
    if (*seen) d.fail(fmt::format("key '{}' appears twice", detail::printable(key, 200)));
    *seen = true;
    if (!d.eat(',')) {
      d.expect('}');
      break;
    }
  }
  if (!d.at_end()) d.fail("unexpected text after the dict");
  if (!have_descr) d.fail("no 'descr' key");
  if (!have_order) d.fail("no 'fortran_order' key");
  if (!have_shape) d.fail("no 'shape' key");

  const auto dtype = parse_dtype(h.descr);
  if (!dtype) unsupported_dtype(path, h.descr);
  p.dtype = *dtype;
  if (h.fortran_order && h.shape.size() > 2) {
    throw InputError(fmt::format(
        "{}: the array has shape {} in Fortran order; Fortran-order arrays with more than 2 "
        "dimensions are not supported; save with np.ascontiguousarray",
        path, shape_text(h.shape)));
  }

  // rows x cols, overflow-checked: (n,) is n x 1, () is 1 x 1, (n, a, b, ...)
  // is n x (a*b*...).
  p.rows = h.shape.empty() ? 1 : h.shape[0];
  p.cols = 1;
  for (std::size_t i = 1; i < h.shape.size(); ++i) {
    if (__builtin_mul_overflow(p.cols, h.shape[i], &p.cols)) p.cols = -1;
    if (p.cols < 0) break;
  }
  index_t bytes = 0;
  if (p.cols < 0 || __builtin_mul_overflow(p.rows, p.cols, &p.count) ||
      __builtin_mul_overflow(p.count, static_cast<index_t>(item_size(p.dtype)), &bytes)) {
    throw InputError(fmt::format(
        "{}: header declares shape {}, more data than fits in 64 bits; the file is corrupt", path,
        shape_text(h.shape)));
  }
  p.bytes = static_cast<std::uint64_t>(bytes);
  if (p.cols > detail::kMaxColumns) {
    throw InputError(fmt::format(
        "{}: header's 'shape' {} makes {} columns per row, more than kreg's limit of {} (kreg "
        "keeps a name and statistics for every column, which alone would take gigabytes); the "
        "file is corrupt or not a data set kreg can use",
        path, shape_text(h.shape), p.cols, detail::kMaxColumns));
  }
  if (!size) return p;  // a stream: read_npy checks the data as they come
  const std::uint64_t available = *size - data_offset;
  if (p.bytes > available) {
    throw InputError(fmt::format("{}: header declares {} bytes of data but the file holds only {}",
                                 path, p.bytes, available));
  }
  if (p.bytes < available) {
    throw InputError(fmt::format(
        "{}: header declares {} bytes of data but the file holds {} ({} unexpected bytes after "
        "the array)",
        path, p.bytes, available, available - p.bytes));
  }
  return p;
}

// ---------------------------------------------------------------------------
// Little-endian element decoding.

template <class U>
U load_le(const char* p) {
  U v;
  std::memcpy(&v, p, sizeof v);
  if constexpr (std::endian::native == std::endian::big && sizeof(U) > 1) {
    if constexpr (sizeof(U) == 4) {
      std::uint32_t u;
      std::memcpy(&u, &v, 4);
      u = __builtin_bswap32(u);
      std::memcpy(&v, &u, 4);
    } else {
      std::uint64_t u;
      std::memcpy(&u, &v, 8);
      u = __builtin_bswap64(u);
      std::memcpy(&v, &u, 8);
    }
  }
  return v;
}

template <class T>
T load(Dtype d, const char* p) {
  switch (d) {
    case Dtype::f4:
      return static_cast<T>(load_le<float>(p));
    case Dtype::f8:
      return static_cast<T>(load_le<double>(p));
    case Dtype::i4:
      return static_cast<T>(load_le<std::int32_t>(p));
    case Dtype::i8:
      return static_cast<T>(load_le<std::int64_t>(p));
    case Dtype::u1:
      return static_cast<T>(static_cast<unsigned char>(*p));
    case Dtype::i1:
      return static_cast<T>(static_cast<signed char>(*p));
  }
  return T{};
}

template <class T>
constexpr bool same_layout(Dtype d) {
  if constexpr (std::endian::native != std::endian::little) return false;
  if constexpr (std::is_same_v<T, float>) return d == Dtype::f4;
  if constexpr (std::is_same_v<T, double>) return d == Dtype::f8;
  return false;
}

[[noreturn]] void throw_truncated(const ParsedHeader& p, const std::string& path,
                                  std::uint64_t got) {
  throw InputError(fmt::format("{}: header declares {} bytes of data but the file holds only {}",
                               path, p.bytes, got));
}

template <class T>
void read_data(Reader& src, const std::string& path, const ParsedHeader& p, Matrix<T>& m) {
  const bool transpose = p.header.fortran_order && p.header.shape.size() == 2;
  if (same_layout<T>(p.dtype) && !transpose) {
    const std::size_t got = src.read(reinterpret_cast<char*>(m.data()), p.bytes);
    if (got != p.bytes) throw_truncated(p, path, got);
    return;
  }
  const std::size_t item = item_size(p.dtype);
  const std::size_t per_chunk = (std::size_t{1} << 20) / item;
  std::string buffer(per_chunk * item, '\0');
  T* out = m.data();
  const index_t rows = p.rows;
  const index_t cols = p.cols;
  index_t k = 0;  // elements decoded so far, in file order
  std::uint64_t total = 0;
  while (k < p.count) {
    const std::size_t want =
        std::min<std::uint64_t>(per_chunk, static_cast<std::uint64_t>(p.count - k)) * item;
    const std::size_t got = src.read(buffer.data(), want);
    total += got;
    if (got != want) throw_truncated(p, path, total);
    const std::size_t n = want / item;
    if (transpose) {
      // File order is column-major: element k is row k % rows, column k / rows.
      for (std::size_t e = 0; e < n; ++e, ++k) {
        out[(k % rows) * cols + k / rows] = load<T>(p.dtype, buffer.data() + e * item);
      }
    } else {
      for (std::size_t e = 0; e < n; ++e, ++k) {
        out[k] = load<T>(p.dtype, buffer.data() + e * item);
      }
    }
  }
}

template <class T>
std::string dtype_of() {
  return std::is_same_v<T, float> ? "<f4" : "<f8";
}

template <class T>
void store_le(std::string& out, T v) {
  char bytes[sizeof(T)];
  std::memcpy(bytes, &v, sizeof(T));
  if constexpr (std::endian::native == std::endian::big) std::reverse(bytes, bytes + sizeof(T));
  out.append(bytes, sizeof(T));
}

}  // namespace

NpyHeader read_npy_header(const std::string& path) {
  InputFile src(path);
  return parse_header(src).header;
}

template <class T>
Matrix<T> read_npy(const std::string& path, NonFinite non_finite) {
  InputFile src(path);
  const ParsedHeader p = parse_header(src);
  const std::uint64_t need = static_cast<std::uint64_t>(p.count) * sizeof(T);
  if (p.count > 0 && need / sizeof(T) != static_cast<std::uint64_t>(p.count)) {
    throw InputError(fmt::format("{}: the array is too large for this machine", path));
  }
  const std::uint64_t memory = detail::physical_memory();
  if (need > memory) {
    throw InputError(fmt::format(
        "{}: the {} x {} array needs {} bytes as {} but this machine has only {} bytes of memory",
        path, p.rows, p.cols, need, std::is_same_v<T, float> ? "float" : "double", memory));
  }
  Matrix<T> m;
  if (src.size()) {
    // A regular file whose size matches the header: straight into the result
    // (read_data writes every value or throws).
    m = Matrix<T>::uninitialized(p.rows, p.cols);
    read_data(src, path, p, m);
  } else {
    // A stream: first the bytes that are really there (no allocation for
    // what the header merely claims), then nothing more.
    const std::string raw = detail::read_up_to(src, p.bytes);
    if (raw.size() < p.bytes) throw_truncated(p, path, raw.size());
    if (!detail::at_end(src)) {
      throw InputError(fmt::format(
          "{}: header declares {} bytes of data but more bytes follow them; the file is corrupt "
          "or endless",
          path, p.bytes));
    }
    m = Matrix<T>::uninitialized(p.rows, p.cols);
    detail::MemoryReader memory_reader(raw);
    read_data(memory_reader, path, p, m);
  }
  // Only float data can hold NaN or Inf (every integer fits in a float).
  if (non_finite == NonFinite::reject && (p.dtype == Dtype::f4 || p.dtype == Dtype::f8)) {
    detail::check_finite(m, path);
  }
  return m;
}

template <class T>
void write_npy(const std::string& path, MatrixView<const T> data, bool as_vector) {
  const std::string shape = as_vector && data.cols() == 1
                                ? fmt::format("({},)", data.rows())
                                : fmt::format("({}, {})", data.rows(), data.cols());
  std::string header =
      fmt::format("{{'descr': '{}', 'fortran_order': False, 'shape': {}, }}", dtype_of<T>(), shape);
  // Pad with spaces so that the data start at a multiple of 64 bytes (numpy's
  // alignment), ending the header with '\n'.
  const std::size_t unpadded = kMagic.size() + 2 + 2 + header.size() + 1;
  header.append((64 - unpadded % 64) % 64, ' ');
  header += '\n';
  std::string out;
  const std::size_t data_bytes = static_cast<std::size_t>(data.size()) * sizeof(T);
  out.reserve(10 + header.size() + data_bytes);
  out.append(kMagic);
  out += '\x01';
  out += '\x00';
  out += static_cast<char>(header.size() & 0xff);
  out += static_cast<char>((header.size() >> 8) & 0xff);
  out += header;
  for (index_t i = 0; i < data.rows(); ++i) {
    const T* row = data.data() + i * data.ld();
    if constexpr (std::endian::native == std::endian::little) {
      out.append(reinterpret_cast<const char*>(row),
                 static_cast<std::size_t>(data.cols()) * sizeof(T));
    } else {
      for (index_t j = 0; j < data.cols(); ++j) store_le(out, row[j]);
    }
  }
  detail::write_file_atomic(path, out);
}

template Matrix<float> read_npy<float>(const std::string&, NonFinite);
template Matrix<double> read_npy<double>(const std::string&, NonFinite);
template void write_npy<float>(const std::string&, MatrixView<const float>, bool);
template void write_npy<double>(const std::string&, MatrixView<const double>, bool);

}  // namespace kreg::io
