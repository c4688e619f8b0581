// report/contact_sheet.cpp - a contact sheet of images as an SVG document
// with the sheet's PNG embedded (report/html.hpp).
#include <fmt/format.h>

#include <string>

#include "kreg/error.hpp"
#include "report/html.hpp"
#include "report/layout.hpp"
#include "report/xml.hpp"

namespace kreg::report {

std::string contact_sheet_svg(const ContactSheet& sheet) {
  if (sheet.rows < 1 || sheet.columns < 1 || sheet.tile_height < 1 || sheet.tile_width < 1 ||
      sheet.zoom < 1) {
    throw ArgumentError(fmt::format(
        "contact sheet: {} x {} tiles of {} x {} pixels at zoom {}; every size must be >= 1",
        sheet.rows, sheet.columns, sheet.tile_height, sheet.tile_width, sheet.zoom));
  }
  if (sheet.png.empty()) throw ArgumentError("contact sheet: no PNG image to embed");
  const double zoom = sheet.zoom;
  // The sheet's pixels: tiles with 1-pixel gaps between them.
  const double image_w = zoom * static_cast<double>(sheet.columns * (sheet.tile_width + 1) - 1);
  const double image_h = zoom * static_cast<double>(sheet.rows * (sheet.tile_height + 1) - 1);
  const double pitch = zoom * static_cast<double>(sheet.tile_width + 1);
  const double margin = 6.0;
  const double heading = kLabelSize + 12.0;  // the column headings' band
  const double width = image_w + 2.0 * margin;
  const double height = heading + image_h + 2.0 * margin;
  const double top = margin + heading;

  XmlWriter w;
  w.open("svg", {{"xmlns", "http://www.w3.org/2000/svg"},
                 {"width", px(width)},
                 {"height", px(height)},
                 {"viewBox", fmt::format("0 0 {} {}", px(width), px(height))},
                 {"font-family", "DejaVu Sans, Helvetica, Arial, sans-serif"},
                 {"font-size", px(kLabelSize)}});
  if (!sheet.title.empty()) w.plain("title", {}, sheet.title);
  w.leaf("rect", {{"width", px(width)}, {"height", px(height)}, {"fill", "#ffffff"}});
  w.open("g", {{"class", "column-headings"}, {"text-anchor", "middle"}, {"fill", kInkColor}});
  for (std::int64_t c = 0; c < sheet.columns; ++c) {
    const double centre = margin + pitch * static_cast<double>(c) + zoom * sheet.tile_width / 2.0;
    w.plain("text",
            {{"x", px(centre)},
             {"y", px(margin + kLabelSize)},
             {"font-weight", c == 0 ? "bold" : "normal"}},
            c == 0 ? std::string("original") : fmt::format("copy {}", c));
  }
  w.close();
  // Pixels stay square blocks when zoomed: no smoothing, in SVG's and CSS's words.
  w.leaf("image", {{"x", px(margin)},
                   {"y", px(top)},
                   {"width", px(image_w)},
                   {"height", px(image_h)},
                   {"preserveAspectRatio", "none"},
                   {"image-rendering", "optimizeSpeed"},
                   {"style", "image-rendering: pixelated"},
                   {"href", "data:image/png;base64," + base64(sheet.png)}});
  // The originals' column, outlined over the gaps around it.
  w.leaf("rect", {{"class", "originals"},
                  {"x", px(margin - 2.0)},
                  {"y", px(top - 2.0)},
                  {"width", px(zoom * sheet.tile_width + 4.0)},
                  {"height", px(image_h + 4.0)},
                  {"fill", "none"},
                  {"stroke", "#ff7f0e"},
                  {"stroke-width", "3"}});
  return std::move(w).finish();
}

}  // namespace kreg::report
