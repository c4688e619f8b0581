// report/xml.cpp - escaping, UTF-8 repair, superscript runs and the XML
// writer (report/xml.hpp).
#include "report/xml.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cstddef>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace kreg::report {
namespace {

constexpr std::string_view kReplacement = "\xEF\xBF\xBD";  // U+FFFD

// Length of the well-formed UTF-8 sequence (RFC 3629) for an XML character
// at s[i], whose first byte is >= 0x80; 0 when the bytes there are not one.
std::size_t utf8_length(std::string_view s, std::size_t i) {
  const auto byte = [&](std::size_t k) -> unsigned {
    return i + k < s.size() ? static_cast<unsigned char>(s[i + k]) : 0U;
  };
  const auto continuation = [&](std::size_t k, unsigned lo = 0x80, unsigned hi = 0xBF) {
    return byte(k) >= lo && byte(k) <= hi;
  };
  const unsigned c = byte(0);
  if (c >= 0xC2 && c <= 0xDF) return continuation(1) ? 2 : 0;
  if (c >= 0xE0 && c <= 0xEF) {
    // E0 excludes overlong forms, ED excludes surrogates.
    const unsigned lo = c == 0xE0 ? 0xA0 : 0x80;
    const unsigned hi = c == 0xED ? 0x9F : 0xBF;
    if (!continuation(1, lo, hi) || !continuation(2)) return 0;
    // U+FFFE and U+FFFF are not XML characters.
    if (c == 0xEF && byte(1) == 0xBF && byte(2) >= 0xBE) return 0;
    return 3;
  }
  if (c >= 0xF0 && c <= 0xF4) {
    const unsigned lo = c == 0xF0 ? 0x90 : 0x80;
    const unsigned hi = c == 0xF4 ? 0x8F : 0xBF;
    return continuation(1, lo, hi) && continuation(2) && continuation(3) ? 4 : 0;
  }
  return 0;
}

// Appends `text` so that it is safe both as element content and inside a
// double- or single-quoted attribute value.
void append_escaped(std::string& out, std::string_view text) {
  std::size_t i = 0;
  while (i < text.size()) {
    const auto c = static_cast<unsigned char>(text[i]);
    if (c >= 0x80) {
      const std::size_t n = utf8_length(text, i);
      if (n == 0) {
        out += kReplacement;
        ++i;
      } else {
        out += text.substr(i, n);
        i += n;
      }
      continue;
    }
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&apos;";
        break;
      default:
        // XML 1.0 allows no control characters but tab, newline and return.
        if (c < 0x20 && c != '\t' && c != '\n' && c != '\r') {
          out += kReplacement;
        } else {
          out += static_cast<char>(c);
        }
    }
    ++i;
  }
}

// Characters `text` shows (UTF-8 code points), for width estimates.
std::size_t glyph_count(std::string_view text) {
  return static_cast<std::size_t>(std::count_if(text.begin(), text.end(), [](char c) {
    return (static_cast<unsigned char>(c) & 0xC0) != 0x80;
  }));
}

bool is_ascii_alnum(char c) {
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

// A piece of text, raised as a superscript or not.
struct TextRun {
  std::string_view text;
  bool superscript = false;
};

// "R^2 Score" -> "R", ^"2", " Score". A '^' starts a superscript only when
// ASCII letters or digits follow it (after at most one sign); otherwise it is
// an ordinary character.
std::vector<TextRun> split_superscripts(std::string_view text) {
  std::vector<TextRun> runs;
  std::size_t start = 0;
  std::size_t i = 0;
  while (i < text.size()) {
    if (text[i] == '^') {
      std::size_t j = i + 1;
      if (j < text.size() && (text[j] == '-' || text[j] == '+')) ++j;
      std::size_t k = j;
      while (k < text.size() && is_ascii_alnum(text[k])) ++k;
      if (k > j) {
        if (i > start) runs.push_back({text.substr(start, i - start), false});
        runs.push_back({text.substr(i + 1, k - i - 1), true});
        start = i = k;
        continue;
      }
    }
    ++i;
  }
  if (start < text.size()) runs.push_back({text.substr(start), false});
  return runs;
}

}  // namespace

double text_width(std::string_view text, double font_size) {
  return 0.62 * font_size * static_cast<double>(glyph_count(text));
}

std::string escape(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  append_escaped(out, text);
  return out;
}

std::string px(double v) {
  std::string s = fmt::format("{:.2f}", v);
  if (s.find('.') != std::string::npos) {
    while (s.back() == '0') s.pop_back();
    if (s.back() == '.') s.pop_back();
  }
  return s == "-0" ? std::string("0") : s;
}

XmlWriter::XmlWriter() : out_("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n") {}

void XmlWriter::open(std::string_view tag, Attrs attrs) {
  start_tag(tag, attrs);
  out_ += ">\n";
  open_.emplace_back(tag);
}

void XmlWriter::close() {
  std::string tag = std::move(open_.back());
  open_.pop_back();
  indent();
  out_ += "</" + tag + ">\n";
}

void XmlWriter::leaf(std::string_view tag, Attrs attrs) {
  start_tag(tag, attrs);
  out_ += "/>\n";
}

void XmlWriter::plain(std::string_view tag, Attrs attrs, std::string_view text) {
  start_tag(tag, attrs);
  out_ += '>';
  append_escaped(out_, text);
  end_inline(tag);
}

void XmlWriter::rich(std::string_view tag, Attrs attrs, std::string_view text, double font_size) {
  const std::vector<TextRun> runs = split_superscripts(text);
  start_tag(tag, attrs);
  if (std::any_of(runs.begin(), runs.end(), [](const TextRun& r) { return r.superscript; })) {
    out_ += " xml:space=\"preserve\"";
  }
  out_ += '>';
  const std::string shift = px(0.4 * font_size);
  const std::string small = px(0.7 * font_size);
  bool raised = false;
  for (const TextRun& run : runs) {
    if (run.superscript) {
      out_ += raised ? "<tspan" : "<tspan dy=\"-" + shift + "\"";
      out_ += " font-size=\"" + small + "\">";
      raised = true;
    } else if (raised) {
      out_ += "<tspan dy=\"" + shift + "\">";
      raised = false;
    } else {
      append_escaped(out_, run.text);
      continue;
    }
    append_escaped(out_, run.text);
    out_ += "</tspan>";
  }
  end_inline(tag);
}

std::string XmlWriter::finish() && {
  while (!open_.empty()) close();
  return std::move(out_);
}

void XmlWriter::indent() { out_.append(2 * open_.size(), ' '); }

void XmlWriter::start_tag(std::string_view tag, Attrs attrs) {
  indent();
  out_ += '<';
  out_ += tag;
  for (const Attr& a : attrs) {
    out_ += ' ';
    out_ += a.name;
    out_ += "=\"";
    append_escaped(out_, a.value);
    out_ += '"';
  }
}

void XmlWriter::end_inline(std::string_view tag) {
  out_ += "</";
  out_ += tag;
  out_ += ">\n";
}

}  // namespace kreg::report
