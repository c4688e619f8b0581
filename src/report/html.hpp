// report/html.hpp - kreg's HTML report: one self-contained page (no scripts,
// no external resources, readable offline) of sections, paragraphs, tables
// and figures, with every text escaped; and the pieces a page embeds (SVG
// documents inline, images as data URIs, a contact sheet of images).
//
// Numbers on a page can name where they come from: a cell with a JSON
// pointer into the page's results file (e.g. "/nw/rows/0/r2") and its
// decimals is written with data-json and data-digits attributes, so a reader
// or a test can check the page against the file.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace kreg::report {

// RFC 4648 base64 with padding, for data URIs.
std::string base64(std::string_view bytes);

// An SVG document (render_svg's, contact_sheet_svg's) as an element inside
// HTML: the XML declaration, if any, dropped.
std::string inline_svg(std::string_view svg);

struct HtmlCell {
  std::string text;      // shown as is (escaped)
  std::string pointer;   // JSON pointer of the number shown, or empty
  int digits = -1;       // its decimals, with a pointer
  bool numeric = false;  // a number: its column is right-aligned
};

struct HtmlTable {
  std::vector<std::string> header;
  std::vector<std::vector<HtmlCell>> rows;
};

class HtmlPage {
 public:
  // `title` is the page's title and top heading.
  explicit HtmlPage(std::string_view title);

  // Starts a section (closing the previous one) with heading `text`; `id`
  // is its anchor (letters, digits, '-').
  void section(std::string_view id, std::string_view text);
  void paragraph(std::string_view text);
  // A heading within a section, e.g. over a table.
  void subheading(std::string_view text);
  // A remark set apart, e.g. what was skipped and why.
  void note(std::string_view text);
  void table(const HtmlTable& table);
  // The command that reproduces what is above it, as a code block.
  void command(std::string_view text);
  // A figure: `svg` inline, `caption` under it, then the command that
  // reproduces it (omitted when empty).
  void figure(std::string_view id, std::string_view svg, std::string_view caption,
              std::string_view command);

  // The document; closes what is open.
  std::string finish() &&;

 private:
  void close_section();
  std::string out_;
  bool in_section_ = false;
};

// A grayscale contact sheet (kreg::contact_sheet's layout: `rows` lines of
// `columns` tiles of tile_height x tile_width pixels with 1-pixel gaps, the
// first tile of each line the original) as an SVG document: the PNG embedded
// as a data URI, drawn `zoom` times larger without smoothing, a column
// heading over each tile ("original", "copy 1", ...), and the originals'
// column outlined. ArgumentError unless every size is >= 1 and the PNG is
// not empty.
struct ContactSheet {
  std::string png;  // the sheet as PNG bytes
  std::int64_t rows = 0, columns = 0;
  std::int64_t tile_height = 0, tile_width = 0;
  int zoom = 4;
  std::string title;  // the SVG's <title>; may be empty
};
std::string contact_sheet_svg(const ContactSheet& sheet);

}  // namespace kreg::report
