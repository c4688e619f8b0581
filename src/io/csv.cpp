// io/csv.cpp - reading delimited text in a single pass (the writer is in
// io/csv_write.cpp).
//
// Reading works on the whole file held in memory. The fast path walks the
// text once, parsing each unquoted number in place with std::from_chars
// straight into the output matrix (no std::string per cell). Anything that
// does not fit the fast path - a ragged row, a bad cell, an unterminated
// quote - hands the row to a slow, thorough diagnosis that splits it into
// fields and throws the precise error. A large file's data lines are cut
// into pieces of whole lines that threads walk at the same time, each into
// its own rows of the matrix.
#include "kreg/io/csv.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstring>
#include <exception>
#include <string>
#include <string_view>
#include <system_error>
#include <type_traits>
#include <vector>

#include "core/parallel.hpp"
#include "io/csv_delimiter.hpp"
#include "io/file.hpp"
#include "kreg/error.hpp"
#include "kreg/par.hpp"

namespace kreg::io {

namespace {

constexpr std::string_view kNonFiniteHint =
    "kreg rejects NaN/Inf by default; clean the data or read it with NonFinite::allow";

template <class T>
constexpr const char* type_name() {
  return std::is_same_v<T, float> ? "float" : "double";
}

// A cell's text as shown in a message: control bytes escaped, long text cut.
std::string shown_text(std::string_view s) { return detail::printable(s); }

// True when the decimal literal [b, e) (as matched by from_chars) is smaller
// than 1 in magnitude, i.e. an out-of-range result underflowed rather than
// overflowed.
bool underflows(const char* b, const char* e) {
  if (b < e && (*b == '-' || *b == '+')) ++b;
  long long int_digits = 0;
  long long leading_zeros = 0;
  bool nonzero = false;
  for (; b < e && *b >= '0' && *b <= '9'; ++b) {
    if (*b != '0' || nonzero) {
      nonzero = true;
      ++int_digits;
    }
  }
  if (b < e && *b == '.') {
    ++b;
    if (!nonzero) {
      for (; b < e && *b == '0'; ++b) ++leading_zeros;
    }
    while (b < e && *b >= '0' && *b <= '9') ++b;
  }
  long long exponent = 0;
  if (b < e && (*b == 'e' || *b == 'E')) {
    ++b;
    bool negative = false;
    if (b < e && (*b == '-' || *b == '+')) negative = *b++ == '-';
    for (; b < e && *b >= '0' && *b <= '9'; ++b) {
      if (exponent < 1'000'000'000) exponent = exponent * 10 + (*b - '0');
    }
    if (negative) exponent = -exponent;
  }
  const long long magnitude = int_digits > 0 ? int_digits - 1 : -(leading_zeros + 1);
  return magnitude + exponent < 0;
}

enum class Parsed { ok, bad, overflow };

// Parses exactly [b, e) (surrounding whitespace already removed) as a number:
// an optional '+', then what std::from_chars accepts. Underflow gives a
// signed zero.
template <class T>
Parsed parse_exact(const char* b, const char* e, T& value) {
  const char* start = b;
  if (b < e && *b == '+') {
    ++b;
    if (b < e && (*b == '-' || *b == '+')) return Parsed::bad;
  }
  const auto r = std::from_chars(b, e, value);
  if (r.ptr != e || r.ec == std::errc::invalid_argument) return Parsed::bad;
  if (r.ec == std::errc::result_out_of_range) {
    if (!underflows(start, e)) return Parsed::overflow;
    value = *b == '-' ? -T(0) : T(0);
  }
  return Parsed::ok;
}

// What the slow path knows about the text: the source name, delimiter,
// whitespace rules and column names.
struct Context {
  std::string_view source;
  const char* end = nullptr;
  char delimiter = ',';
  bool space_is_ws = true;  // ' ' around fields is skipped (unless it is the delimiter)
  bool tab_is_ws = true;    // likewise '\t'
  bool header = true;
  NonFinite non_finite = NonFinite::reject;
  const std::vector<std::string>* names = nullptr;
  index_t n_cols = 0;

  bool is_ws(char c) const { return (c == ' ' && space_is_ws) || (c == '\t' && tab_is_ws); }
  const char* skip_ws(const char* p) const {
    while (p < end && is_ws(*p)) ++p;
    return p;
  }
  bool at_eol(const char* p) const {
    return p == end || *p == '\n' || (*p == '\r' && (p + 1 == end || p[1] == '\n'));
  }
  // Past the line end at p (at_eol(p) must hold).
  const char* skip_eol(const char* p) const {
    if (p == end) return p;
    return *p == '\n' ? p + 1 : std::min(p + 2, end);
  }
  bool rest_is_blank(const char* p) const {
    for (; p < end; ++p) {
      if (!is_ws(*p) && *p != '\n' && *p != '\r') return false;
    }
    return true;
  }
  std::string column_label(index_t j) const {
    if (names != nullptr && static_cast<std::size_t>(j) < names->size()) {
      return fmt::format("column '{}'",
                         detail::printable((*names)[static_cast<std::size_t>(j)], 200));
    }
    return fmt::format("field {}", j + 1);
  }
  const char* like() const { return header ? "the header" : "the first row"; }
};

// One field of a line, found by the slow path.
struct Field {
  const char* start = nullptr;  // first byte of the field (just after the delimiter)
  long long line = 0;           // 1-based line and column of `start`
  long long col = 0;
  const char* content_begin = nullptr;  // quoted: between the quotes; else trimmed
  const char* content_end = nullptr;
  bool quoted = false;
  bool escaped = false;        // holds doubled quotes
  const char* junk = nullptr;  // first unexpected byte after a closing quote
  long long junk_col = 0;
  const char* next = nullptr;  // at the delimiter or the line end after the field
  long long newlines = 0;      // line ends inside the quotes
  const char* last_line_begin = nullptr;

  std::string content() const {
    std::string out;
    for (const char* p = content_begin; p < content_end; ++p) {
      out += *p;
      if (escaped && *p == '"') ++p;  // "" stands for "
    }
    return out;
  }
};

[[noreturn]] void throw_unterminated(const Context& c, long long line, long long col) {
  throw InputError(fmt::format(
      "{}:{}:{}: unterminated quoted field (no closing '\"' before the end of the file)", c.source,
      line, col));
}

Field scan_field(const Context& c, const char* p, long long line, const char* line_begin) {
  Field f;
  f.start = p;
  f.line = line;
  f.col = p - line_begin + 1;
  const char* q = c.skip_ws(p);
  if (q < c.end && *q == '"') {
    f.quoted = true;
    f.content_begin = q + 1;
    const char* r = q + 1;
    const char* lb = line_begin;
    for (;;) {
      while (r < c.end && *r != '"') {
        if (*r == '\n') {
          ++f.newlines;
          f.last_line_begin = r + 1;
          lb = r + 1;
        }
        ++r;
      }
      if (r == c.end) throw_unterminated(c, line, q - line_begin + 1);
      if (r + 1 < c.end && r[1] == '"') {
        f.escaped = true;
        r += 2;
        continue;
      }
      break;
    }
    f.content_end = r;
    r = c.skip_ws(r + 1);
    if (!c.at_eol(r) && *r != c.delimiter) {
      f.junk = r;
      f.junk_col = r - lb + 1;
      while (!c.at_eol(r) && *r != c.delimiter) ++r;
    }
    f.next = r;
  } else {
    const char* r = q;
    while (!c.at_eol(r) && *r != c.delimiter) ++r;
    f.next = r;
    while (r > q && c.is_ws(r[-1])) --r;
    f.content_begin = q;
    f.content_end = r;
  }
  return f;
}

// Splits the line starting at line_begin into its fields. A quoted field may
// continue on the next lines.
std::vector<Field> split_line(const Context& c, const char* line_begin, long long line) {
  std::vector<Field> fields;
  const char* p = line_begin;
  const char* lb = line_begin;
  for (;;) {
    Field f = scan_field(c, p, line, lb);
    if (f.newlines > 0) {
      line += f.newlines;
      lb = f.last_line_begin;
    }
    fields.push_back(f);
    if (f.next < c.end && *f.next == c.delimiter) {
      p = f.next + 1;
      continue;
    }
    return fields;
  }
}

[[noreturn]] void throw_junk_after_quote(const Context& c, const Field& f, long long line) {
  throw InputError(fmt::format(
      "{}:{}:{}: unexpected '{}' after a closing quote, expected the delimiter or the end of "
      "the line",
      c.source, line + f.newlines, f.junk_col, shown_text(std::string_view(f.junk, 1))));
}

// Throws the error for cell j when it is not an acceptable number.
template <class T>
void check_cell(const Context& c, const Field& f, index_t j) {
  if (f.junk != nullptr) throw_junk_after_quote(c, f, f.line);
  std::string unescaped;
  std::string_view text(f.content_begin, static_cast<std::size_t>(f.content_end - f.content_begin));
  if (f.escaped) {
    unescaped = f.content();
    text = unescaped;
  }
  // Quoted content may have spaces inside the quotes too.
  while (!text.empty() && c.is_ws(text.front())) text.remove_prefix(1);
  while (!text.empty() && c.is_ws(text.back())) text.remove_suffix(1);
  const std::string where = fmt::format("{}:{}:{}", c.source, f.line, f.col);
  if (text.empty()) {
    throw InputError(
        fmt::format("{}: expected a number, found an empty field ({})", where, c.column_label(j)));
  }
  T value{};
  switch (parse_exact(text.data(), text.data() + text.size(), value)) {
    case Parsed::bad:
      throw InputError(fmt::format("{}: expected a number, found '{}' ({})", where,
                                   shown_text(text), c.column_label(j)));
    case Parsed::overflow:
      throw InputError(fmt::format("{}: number '{}' is out of range for {} ({})", where,
                                   shown_text(text), type_name<T>(), c.column_label(j)));
    case Parsed::ok:
      break;
  }
  if (!std::isfinite(value) && c.non_finite == NonFinite::reject) {
    throw InputError(fmt::format("{}: non-finite value '{}' ({}): {}", where, shown_text(text),
                                 c.column_label(j), kNonFiniteHint));
  }
}

// The fast path gave up on the row starting at line_begin: find out why and
// throw the matching error.
template <class T>
[[noreturn, gnu::cold, gnu::noinline]] void diagnose_row(const Context& c, const char* line_begin,
                                                         long long line) {
  const std::vector<Field> fields = split_line(c, line_begin, line);
  if (static_cast<index_t>(fields.size()) != c.n_cols) {
    throw InputError(fmt::format("{}:{}: expected {} fields like {}, found {}", c.source, line,
                                 c.n_cols, c.like(), fields.size()));
  }
  for (std::size_t j = 0; j < fields.size(); ++j) {
    check_cell<T>(c, fields[j], static_cast<index_t>(j));
  }
  throw Error(fmt::format(
      "{}:{}: internal error: the CSV reader rejected this row without a reason", c.source, line));
}

[[noreturn]] void throw_blank_line(const Context& c, long long line) {
  throw InputError(fmt::format(
      "{}:{}: expected {} fields like {}, found an empty line (blank lines are allowed only at "
      "the end of the file)",
      c.source, line, c.n_cols, c.like()));
}

// Reads the header line at p into names; returns the start of the next line
// and advances `line` past the header.
std::vector<std::string> read_header(const Context& c, const char*& p, long long& line) {
  const std::vector<Field> fields = split_line(c, p, line);
  std::vector<std::string> names;
  names.reserve(fields.size());
  for (std::size_t j = 0; j < fields.size(); ++j) {
    const Field& f = fields[j];
    if (f.junk != nullptr) throw_junk_after_quote(c, f, f.line);
    std::string name = f.content();
    if (name.empty()) name = fmt::format("column{}", j);
    for (std::size_t k = 0; k < j; ++k) {
      if (names[k] == name) {
        throw InputError(fmt::format(
            "{}:{}:{}: duplicate column name '{}' (fields {} and {}); column names must be unique",
            c.source, f.line, f.col, shown_text(name), k + 1, j + 1));
      }
    }
    names.push_back(std::move(name));
  }
  const Field& last = fields.back();
  line = last.line + last.newlines + 1;
  p = c.skip_eol(last.next);
  return names;
}

std::size_t count_newlines(const char* p, const char* end) {
  std::size_t n = 0;
  while (p < end) {
    const void* hit = std::memchr(p, '\n', static_cast<std::size_t>(end - p));
    if (hit == nullptr) break;
    ++n;
    p = static_cast<const char*>(hit) + 1;
  }
  return n;
}

// A run of whole data lines [begin, stop), parsed on its own: the number of
// its first line, the most rows it can hold and where they go in the result,
// and what it found (rows parsed, or the error of its first bad line).
struct Piece {
  const char* begin = nullptr;
  const char* stop = nullptr;
  long long line = 0;
  std::size_t capacity = 0;
  std::size_t offset = 0;
  std::size_t rows = 0;
  std::exception_ptr error;
};

// At most this many rows: one per line, and each row takes at least
// 2 * n_cols bytes (a digit and a delimiter or line end per field; the last
// row may lack its line end).
// `newlines` is the count of line ends in [b, e).
std::size_t row_bound(const char* b, const char* e, std::size_t newlines, index_t n_cols) {
  const std::size_t lines = newlines + ((b < e && e[-1] != '\n') ? 1 : 0);
  return std::min(lines,
                  (static_cast<std::size_t>(e - b) + 1) / (2 * static_cast<std::size_t>(n_cols)));
}

// Parses the rows of one piece into out (piece.capacity rows of c.n_cols).
// A blank line ends the data when only blank lines follow it to the end of
// the text (c.end), and is an error otherwise; a piece therefore never needs
// to know what the pieces before it held.
template <class T>
std::size_t parse_piece(const Context& c, const Piece& piece, T* out, bool reject) {
  const index_t n_cols = c.n_cols;
  const char delimiter = c.delimiter;
  const char* p = piece.begin;
  const char* const end = piece.stop;
  long long line = piece.line;
  std::size_t rows = 0;
  while (p < end) {
    const char* const line_begin = p;
    if (*p == '\n' || *p == '\r' || c.is_ws(*p)) {
      const char* q = c.skip_ws(p);
      if (c.at_eol(q)) {
        if (c.rest_is_blank(q)) break;
        throw_blank_line(c, line);
      }
    }
    if (rows == piece.capacity) diagnose_row<T>(c, line_begin, line);  // cannot be a valid row
    for (index_t j = 0; j < n_cols; ++j) {
      while (p < end && c.is_ws(*p)) ++p;
      T value;
      if (p < end && *p == '"') [[unlikely]] {
        const char* q = static_cast<const char*>(
            std::memchr(p + 1, '"', static_cast<std::size_t>(end - p - 1)));
        if (q == nullptr || (q + 1 < end && q[1] == '"')) diagnose_row<T>(c, line_begin, line);
        const char* b = c.skip_ws(p + 1);
        const char* e = q;
        while (e > b && c.is_ws(e[-1])) --e;
        if (b == e || parse_exact(b, e, value) != Parsed::ok) {
          diagnose_row<T>(c, line_begin, line);
        }
        p = c.skip_ws(q + 1);
      } else {
        const char* const number = p;
        if (p < end && *p == '+') {
          ++p;
          if (p < end && *p == '-') diagnose_row<T>(c, line_begin, line);
        }
        const auto r = std::from_chars(p, end, value);
        if (r.ec != std::errc{}) [[unlikely]] {
          if (r.ec == std::errc::result_out_of_range && underflows(number, r.ptr)) {
            value = *p == '-' ? -T(0) : T(0);
          } else {
            diagnose_row<T>(c, line_begin, line);
          }
        }
        p = r.ptr;
        while (p < end && c.is_ws(*p)) ++p;
      }
      if (reject && !std::isfinite(value)) [[unlikely]] {
        diagnose_row<T>(c, line_begin, line);
      }
      *out++ = value;
      if (j + 1 < n_cols) {
        if (p < end && *p == delimiter) [[likely]] {
          ++p;
          continue;
        }
        diagnose_row<T>(c, line_begin, line);
      }
    }
    if (p < end) {
      if (*p == '\n') {
        ++p;
      } else if (*p == '\r' && (p + 1 == end || p[1] == '\n')) {
        p = std::min(p + 2, end);
      } else {
        diagnose_row<T>(c, line_begin, line);
      }
    }
    ++rows;
    ++line;
  }
  return rows;
}

// Bytes of data lines per piece when the file is parsed on several threads:
// a few hundred microseconds of parsing each, far above a thread's wake-up.
constexpr std::size_t kPieceBytes = std::size_t{1} << 17;

// The data lines from p (line number `line`) cut into pieces at line ends:
// one piece, unless there is enough text for several threads. A cut may fall
// inside a quoted field that holds a line end, but such a field is never a
// number: the piece with its opening quote stops at that row with its error,
// the first in the file, before any piece after it counts.
std::vector<Piece> cut_pieces(const Context& c, const char* p, long long line, int threads) {
  const char* const end = c.end;
  const auto bytes = static_cast<std::size_t>(end - p);
  std::vector<Piece> pieces;
  if (threads <= 1 || bytes < 2 * kPieceBytes) {
    pieces.push_back({p, end, line, row_bound(p, end, count_newlines(p, end), c.n_cols), 0, 0, {}});
    return pieces;
  }
  // A few pieces per thread, so that a slow one does not hold up the rest.
  const std::size_t size = std::max(kPieceBytes, bytes / (4 * static_cast<std::size_t>(threads)));
  while (p < end) {
    const char* stop = end;
    if (static_cast<std::size_t>(end - p) > size) {
      const void* eol = std::memchr(p + size, '\n', static_cast<std::size_t>(end - p - size));
      if (eol != nullptr) stop = static_cast<const char*>(eol) + 1;
    }
    const std::size_t newlines = count_newlines(p, stop);
    pieces.push_back({p, stop, line, row_bound(p, stop, newlines, c.n_cols), 0, 0, {}});
    line += static_cast<long long>(newlines);
    p = stop;
  }
  return pieces;
}

// The data rows from p (line number `line`) to the end of the text. Large
// files are parsed in pieces on options.n_jobs threads; the result, and the
// error for a bad file (that of its first bad line), are the same for any
// thread count.
template <class T>
Matrix<T> parse_rows(const Context& c, const char* p, long long line, const CsvOptions& options) {
  const int threads = resolve_n_jobs(options.n_jobs);
  std::vector<Piece> pieces = cut_pieces(c, p, line, threads);
  std::size_t capacity = 0;
  for (Piece& piece : pieces) {
    piece.offset = capacity;
    capacity += piece.capacity;
  }
  // Every row a piece keeps is written; the rest is dropped below.
  Matrix<T> data = Matrix<T>::uninitialized(static_cast<index_t>(capacity), c.n_cols);
  const bool reject = options.non_finite == NonFinite::reject;
  const auto n_cols = static_cast<std::size_t>(c.n_cols);
  const auto parse = [&](Piece& piece) {
    try {
      piece.rows = parse_piece<T>(c, piece, data.data() + piece.offset * n_cols, reject);
    } catch (...) {
      piece.error = std::current_exception();
    }
  };
  if (pieces.size() == 1) {
    parse(pieces.front());
  } else {
    kreg::detail::parallel_blocks(threads, static_cast<index_t>(pieces.size()), 1,
                                  [&](index_t b, index_t e) {
                                    for (index_t i = b; i < e; ++i)
                                      parse(pieces[static_cast<std::size_t>(i)]);
                                  });
  }
  // Rows in file order, without the room a piece did not fill (only the
  // piece before a blank tail leaves any, and only blank pieces follow it).
  std::size_t rows = 0;
  for (const Piece& piece : pieces) {
    if (piece.error) std::rethrow_exception(piece.error);
    if (piece.offset != rows && piece.rows > 0) {
      std::copy_n(data.data() + piece.offset * n_cols, piece.rows * n_cols,
                  data.data() + rows * n_cols);
    }
    rows += piece.rows;
  }
  data.shrink_to(static_cast<index_t>(rows), c.n_cols);
  return data;
}

}  // namespace

template <class T>
Table<T> parse_csv(std::string_view text, const CsvOptions& options, std::string_view source) {
  detail::check_csv_delimiter(options.delimiter, "read_csv");
  // Old Mac files end their lines with CR alone: read them as LF.
  if (text.find('\n') == std::string_view::npos && text.find('\r') != std::string_view::npos) {
    std::string lf(text);
    std::replace(lf.begin(), lf.end(), '\r', '\n');
    return parse_csv<T>(lf, options, source);
  }
  Context c;
  c.source = source;
  c.end = text.data() + text.size();
  c.delimiter = options.delimiter;
  c.space_is_ws = options.delimiter != ' ';
  c.tab_is_ws = options.delimiter != '\t';
  c.header = options.header;
  c.non_finite = options.non_finite;

  const char* p = text.data();
  const char* const end = c.end;
  if (text.starts_with("\xEF\xBB\xBF")) p += 3;  // UTF-8 byte order mark

  // Leading blank lines are skipped; a file of nothing else is empty.
  long long line = 1;
  for (;;) {
    const char* q = c.skip_ws(p);
    if (q == end) {
      throw InputError(fmt::format("{}: the file is empty, expected {}", source,
                                   options.header ? "a header row" : "rows of numbers"));
    }
    if (!c.at_eol(q)) break;
    p = c.skip_eol(q);
    ++line;
  }

  // Every column costs a name and statistics: refuse an absurd count before
  // splitting the first line (delimiters inside quotes count too; no real
  // header comes near the limit).
  {
    const char* eol =
        static_cast<const char*>(std::memchr(p, '\n', static_cast<std::size_t>(end - p)));
    const auto fields = std::count(p, eol != nullptr ? eol : end, c.delimiter) + 1;
    if (fields > detail::kMaxColumns) {
      throw InputError(fmt::format(
          "{}:{}: {} has {} fields, more than kreg's limit of {} columns (kreg keeps a name and "
          "statistics for every column, which alone would take gigabytes); is the delimiter "
          "right?",
          source, line, c.like(), fields, detail::kMaxColumns));
    }
  }

  Table<T> table;
  if (options.header) {
    table.columns = read_header(c, p, line);
    c.names = &table.columns;
    c.n_cols = static_cast<index_t>(table.columns.size());
  } else {
    c.n_cols = static_cast<index_t>(split_line(c, p, line).size());
  }

  table.data = parse_rows<T>(c, p, line, options);
  const index_t rows = table.data.rows();

  if (rows == 0) {
    if (options.header) {
      const bool cr =
          std::any_of(table.columns.begin(), table.columns.end(),
                      [](const std::string& name) { return name.find('\r') != name.npos; });
      throw InputError(fmt::format(
          "{}: the file has a header row but no data rows{}", source,
          cr ? " (its lines end in CR alone, old Mac style, mixed with LF line ends; convert "
               "them all to LF or CRLF)"
             : ""));
    }
    throw InputError(fmt::format("{}: the file is empty, expected rows of numbers", source));
  }
  return table;
}

template <class T>
Table<T> read_csv(const std::string& path, const CsvOptions& options) {
  detail::check_csv_delimiter(options.delimiter, "read_csv");
  const detail::TextBuffer text = detail::read_text(path);
  return parse_csv<T>(text.view(), options, path);
}

template Table<float> read_csv<float>(const std::string&, const CsvOptions&);
template Table<double> read_csv<double>(const std::string&, const CsvOptions&);
template Table<float> parse_csv<float>(std::string_view, const CsvOptions&, std::string_view);
template Table<double> parse_csv<double>(std::string_view, const CsvOptions&, std::string_view);
}  // namespace kreg::io
