// The HTML report writer (report/html.hpp): escaping of every text and
// attribute, numbers tagged with their JSON pointer, inline SVG, base64 and
// the contact sheet with its PNG embedded.
#include <gtest/gtest.h>

#include <cstdint>
#include <string>

#include "kreg/error.hpp"
#include "kreg/io/png.hpp"
#include "kreg/matrix.hpp"
#include "kreg/plot.hpp"
#include "report/html.hpp"
#include "svg_support.hpp"
#include "test_support.hpp"

namespace {

using kreg::report::HtmlCell;
using kreg::report::HtmlPage;
using kreg::report::HtmlTable;
using kreg::test::attribute;
using kreg::test::start_tags;
using kreg::test::xml_problem;

const auto expect_argument_error = kreg::test::expect_error<kreg::ArgumentError>;

TEST(ReportHtml, Base64) {
  // RFC 4648's test vectors.
  using kreg::report::base64;
  EXPECT_EQ(base64(""), "");
  EXPECT_EQ(base64("f"), "Zg==");
  EXPECT_EQ(base64("fo"), "Zm8=");
  EXPECT_EQ(base64("foo"), "Zm9v");
  EXPECT_EQ(base64("foob"), "Zm9vYg==");
  EXPECT_EQ(base64("fooba"), "Zm9vYmE=");
  EXPECT_EQ(base64("foobar"), "Zm9vYmFy");
  EXPECT_EQ(base64(std::string("\xff\xfe\x00", 3)), "//4A");
}

TEST(ReportHtml, PageSkeleton) {
  HtmlPage page("kreg tutorial");
  page.section("env", "1. Compute environment");
  page.paragraph("text");
  page.section("nw", "2. Nadaraya-Watson");
  const std::string html = std::move(page).finish();
  EXPECT_TRUE(html.starts_with("<!DOCTYPE html>\n<html lang=\"en\">")) << html;
  EXPECT_NE(html.find("<meta charset=\"utf-8\">"), std::string::npos);
  EXPECT_NE(html.find("<title>kreg tutorial</title>"), std::string::npos);
  EXPECT_NE(html.find("<section id=\"env\">\n<h2>1. Compute environment</h2>"), std::string::npos);
  // Sections close before the next opens, and the page ends closed.
  EXPECT_NE(html.find("<p>text</p>\n</section>\n<section id=\"nw\">"), std::string::npos);
  EXPECT_TRUE(html.ends_with("</section>\n</body>\n</html>\n")) << html;
  // Self-contained: nothing fetched, no scripts.
  EXPECT_EQ(html.find("<script"), std::string::npos);
  EXPECT_EQ(html.find("http"), std::string::npos);
  EXPECT_EQ(html.find(" src="), std::string::npos);
}

TEST(ReportHtml, EscapesEveryText) {
  const std::string evil = "<script>alert('x')</script> & \"q\"";
  const std::string escaped =
      "&lt;script&gt;alert(&apos;x&apos;)&lt;/script&gt; &amp; &quot;q&quot;";
  HtmlPage page(evil);
  page.section(evil, evil);
  page.paragraph(evil);
  page.note(evil);
  page.command(evil);
  HtmlTable table;
  table.header = {evil};
  table.rows = {{HtmlCell{evil, evil, 2, true}}};
  page.table(table);
  page.figure(evil, "<svg xmlns=\"http://www.w3.org/2000/svg\"/>", evil, evil);
  const std::string html = std::move(page).finish();
  EXPECT_EQ(html.find("<script"), std::string::npos) << html;
  EXPECT_EQ(html.find("'x'"), std::string::npos) << html;
  // title, h1, section id, h2, p, note, pre, th, td text, td data-json,
  // figure id, figcaption, the figure's pre.
  std::size_t count = 0;
  for (std::size_t at = html.find(escaped); at != std::string::npos;
       at = html.find(escaped, at + 1)) {
    ++count;
  }
  EXPECT_EQ(count, 13U) << html;
}

TEST(ReportHtml, InvalidUtf8AndControlCharactersBecomeReplacements) {
  HtmlPage page("t");
  page.paragraph(
      std::string("a\xff"
                  "b\x01"
                  "c",
                  5));
  const std::string html = std::move(page).finish();
  EXPECT_NE(html.find("<p>a\xEF\xBF\xBD"
                      "b\xEF\xBF\xBD"
                      "c</p>"),
            std::string::npos)
      << html;
}

TEST(ReportHtml, NumbersNameTheirJsonPointer) {
  HtmlPage page("t");
  HtmlTable table;
  table.header = {"engine", "R^2"};
  table.rows = {{HtmlCell{"fused", "", -1, false}, HtmlCell{"0.788018", "/nw/rows/0/r2", 6, true}}};
  page.table(table);
  const std::string html = std::move(page).finish();
  EXPECT_NE(html.find("<td>fused</td><td class=\"num\" data-json=\"/nw/rows/0/r2\" "
                      "data-digits=\"6\">0.788018</td>"),
            std::string::npos)
      << html;
  // A column holding a number is right-aligned, its header included.
  EXPECT_NE(html.find("<th>engine</th><th class=\"num\">R^2</th>"), std::string::npos) << html;
}

TEST(ReportHtml, WordsInANumberColumnAlignWithTheNumbers) {
  HtmlPage page("t");
  HtmlTable table;
  table.header = {"mode", "time, s"};
  table.rows = {{HtmlCell{"gpu", "", -1, false}, HtmlCell{"skipped", "", -1, false}},
                {HtmlCell{"cpu", "", -1, false}, HtmlCell{"0.5", "/t", 1, true}}};
  page.table(table);
  const std::string html = std::move(page).finish();
  EXPECT_NE(html.find("<tr><td>gpu</td><td class=\"num\">skipped</td></tr>"), std::string::npos)
      << html;
  EXPECT_NE(html.find("<th>mode</th>"), std::string::npos) << html;
}

TEST(ReportHtml, FigureInlinesTheSvgWithoutItsDeclaration) {
  kreg::LineChart chart;
  kreg::Series series;
  series.x = {1, 2};
  series.y = {3, 4};
  chart.series.push_back(series);
  const std::string svg = kreg::render_svg(chart);
  ASSERT_TRUE(svg.starts_with("<?xml"));
  HtmlPage page("t");
  page.figure("fig-1", svg, "the caption", "kreg tune --plot r2.svg");
  const std::string html = std::move(page).finish();
  EXPECT_EQ(html.find("<?xml"), std::string::npos);
  const std::size_t figure = html.find("<figure id=\"fig-1\">\n<svg ");
  const std::size_t caption = html.find("<figcaption>the caption</figcaption>");
  const std::size_t command = html.find("<pre><code>kreg tune --plot r2.svg</code></pre>");
  ASSERT_NE(figure, std::string::npos) << html;
  ASSERT_NE(caption, std::string::npos) << html;
  ASSERT_NE(command, std::string::npos) << html;
  EXPECT_LT(figure, caption);
  EXPECT_LT(caption, command);
  EXPECT_EQ(kreg::report::inline_svg("<svg/>"), "<svg/>");
}

TEST(ReportHtml, ContactSheetEmbedsThePngAndMarksTheOriginals) {
  // 2 originals with 2 copies each, 3 x 4 tiles: 7 x 14 pixels with the gaps.
  kreg::Matrix<std::uint8_t> pixels(7, 14);
  for (kreg::index_t i = 0; i < pixels.size(); ++i) {
    pixels.data()[i] = static_cast<std::uint8_t>(i);
  }
  kreg::report::ContactSheet sheet;
  sheet.png = kreg::io::encode_png_gray(pixels.view());
  sheet.rows = 2;
  sheet.columns = 3;
  sheet.tile_height = 3;
  sheet.tile_width = 4;
  sheet.zoom = 10;
  sheet.title = "a & b";
  const std::string svg = kreg::report::contact_sheet_svg(sheet);
  EXPECT_EQ(xml_problem(svg), "");
  const std::string image = start_tags(svg, "image").at(0);
  EXPECT_EQ(attribute(image, "href"), "data:image/png;base64," + kreg::report::base64(sheet.png));
  EXPECT_EQ(attribute(image, "width"), "140");  // 14 pixels x 10
  EXPECT_EQ(attribute(image, "height"), "70");  // 7 pixels x 10
  // The originals' column: one tile wide (plus the outline's 2 px each side),
  // all rows high.
  const std::string outline = start_tags(svg, "rect").at(1);
  EXPECT_EQ(attribute(outline, "class"), "originals");
  EXPECT_EQ(attribute(outline, "width"), "44");
  EXPECT_EQ(attribute(outline, "height"), "74");
  EXPECT_NE(svg.find(">original</text>"), std::string::npos);
  EXPECT_NE(svg.find(">copy 1</text>"), std::string::npos);
  EXPECT_NE(svg.find(">copy 2</text>"), std::string::npos);
  EXPECT_EQ(svg.find(">copy 3</text>"), std::string::npos);
  EXPECT_NE(svg.find("<title>a &amp; b</title>"), std::string::npos);
}

TEST(ReportHtml, ContactSheetErrors) {
  kreg::report::ContactSheet sheet{"png", 1, 1, 28, 28, 4, ""};
  sheet.rows = 0;
  expect_argument_error(
      [&] { (void)kreg::report::contact_sheet_svg(sheet); },
      "contact sheet: 0 x 1 tiles of 28 x 28 pixels at zoom 4; every size must be >= 1");
  sheet.rows = 1;
  sheet.png.clear();
  expect_argument_error([&] { (void)kreg::report::contact_sheet_svg(sheet); },
                        "contact sheet: no PNG image to embed");
}

}  // namespace
