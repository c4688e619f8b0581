// report/xml.hpp - the text layer of kreg's SVG charts: a small XML writer
// whose text and attribute values are always escaped, with invalid UTF-8 and
// what XML 1.0 cannot hold replaced by U+FFFD, "^2"-style superscripts raised
// as tspans, and pixel numbers written the same way on every machine.
#pragma once

#include <cstddef>
#include <initializer_list>
#include <string>
#include <string_view>
#include <vector>

namespace kreg::report {

// Approximate width in pixels of `text` in a sans-serif font: there is no
// font metrics here, and 0.62 em per glyph is a little above the average of
// digits and lower-case letters in DejaVu Sans, Helvetica and Arial.
double text_width(std::string_view text, double font_size);

// Pixels: 2 decimals, trailing zeros dropped ("12.5", "300"), never "-0".
// Through fmt, so independent of the locale.
std::string px(double v);

// `text` safe as element content and inside a quoted attribute value, in
// XML and in HTML: & < > " ' as entities, invalid UTF-8 and control
// characters (but tab, newline, return) as U+FFFD.
std::string escape(std::string_view text);

struct Attr {
  std::string_view name;
  std::string value;
};
using Attrs = std::initializer_list<Attr>;

// Writes one XML document, one element per line indented by depth. Tag and
// attribute names are literals of the chart code; values and text are data
// and always escaped.
class XmlWriter {
 public:
  XmlWriter();

  // <tag ...> on its own line; close() ends the innermost open element.
  void open(std::string_view tag, Attrs attrs);
  void close();

  // <tag .../>
  void leaf(std::string_view tag, Attrs attrs);

  // <tag ...>text</tag>, the text taken literally.
  void plain(std::string_view tag, Attrs attrs, std::string_view text);

  // Like plain, but superscript runs ("^" followed by ASCII letters or
  // digits, after at most one sign) are raised and shrunk relative to
  // `font_size`. The shifts use dy, not baseline-shift, which some renderers
  // ignore. With tspans the text gets xml:space="preserve": some renderers
  // (librsvg) otherwise trim the space that starts or ends a tspan, printing
  // "R^2 Score" as "R^2Score".
  void rich(std::string_view tag, Attrs attrs, std::string_view text, double font_size);

  // The document; closes whatever is still open.
  std::string finish() &&;

 private:
  void indent();
  void start_tag(std::string_view tag, Attrs attrs);
  void end_inline(std::string_view tag);

  std::string out_;
  std::vector<std::string> open_;
};

}  // namespace kreg::report
