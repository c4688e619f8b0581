// report/html.cpp - the HTML page writer and base64 (report/html.hpp).
#include "report/html.hpp"

#include <fmt/format.h>

#include <string>
#include <string_view>
#include <vector>

#include "report/xml.hpp"

namespace kreg::report {
namespace {

// A page a person reads in any browser, printed or on screen: one column,
// tables with aligned numbers, figures scaled down to the window's width.
constexpr std::string_view kStyle = R"(
body { font-family: "DejaVu Sans", Helvetica, Arial, sans-serif; color: #222; margin: 0 auto;
       max-width: 1000px; padding: 1em 2em 3em; line-height: 1.45; }
h1 { font-size: 1.7em; margin-bottom: 0.2em; }
h3 { font-size: 1.05em; margin: 1.2em 0 0.3em; }
h2 { font-size: 1.3em; margin-top: 2em; border-bottom: 1px solid #ccc; padding-bottom: 0.2em; }
table { border-collapse: collapse; margin: 0.8em 0; font-size: 0.95em; }
th, td { padding: 0.25em 0.8em; border-bottom: 1px solid #e4e4e4; text-align: left;
         vertical-align: top; }
th { background: #f4f4f4; white-space: nowrap; }
td.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
figure { margin: 1.2em 0; }
figure svg { max-width: 100%; height: auto; display: block; }
figcaption { font-size: 0.95em; color: #444; margin: 0.4em 0; }
pre { background: #f6f6f6; border: 1px solid #e2e2e2; padding: 0.5em 0.8em; overflow-x: auto;
      font-size: 0.88em; white-space: pre-wrap; }
p.note { background: #fff8e1; border-left: 4px solid #f0b400; padding: 0.4em 0.8em; }
)";

// `right`: the cell's column holds numbers, so it is right-aligned.
void append_cell(std::string& out, std::string_view tag, const HtmlCell& cell, bool right) {
  out += '<';
  out += tag;
  if (right) out += " class=\"num\"";
  if (!cell.pointer.empty()) {
    out += fmt::format(" data-json=\"{}\" data-digits=\"{}\"", escape(cell.pointer), cell.digits);
  }
  out += '>';
  out += escape(cell.text);
  out += "</";
  out += tag;
  out += '>';
}

}  // namespace

std::string base64(std::string_view bytes) {
  static constexpr char kAlphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  out.reserve((bytes.size() + 2) / 3 * 4);
  std::size_t i = 0;
  for (; i + 3 <= bytes.size(); i += 3) {
    const auto b0 = static_cast<unsigned char>(bytes[i]);
    const auto b1 = static_cast<unsigned char>(bytes[i + 1]);
    const auto b2 = static_cast<unsigned char>(bytes[i + 2]);
    const unsigned v = (b0 << 16U) | (b1 << 8U) | b2;
    out += kAlphabet[(v >> 18U) & 63U];
    out += kAlphabet[(v >> 12U) & 63U];
    out += kAlphabet[(v >> 6U) & 63U];
    out += kAlphabet[v & 63U];
  }
  if (i < bytes.size()) {
    const auto b0 = static_cast<unsigned char>(bytes[i]);
    const bool two = i + 1 < bytes.size();
    const unsigned b1 = two ? static_cast<unsigned char>(bytes[i + 1]) : 0U;
    const unsigned v = (static_cast<unsigned>(b0) << 16U) | (b1 << 8U);
    out += kAlphabet[(v >> 18U) & 63U];
    out += kAlphabet[(v >> 12U) & 63U];
    out += two ? kAlphabet[(v >> 6U) & 63U] : '=';
    out += '=';
  }
  return out;
}

std::string inline_svg(std::string_view svg) {
  if (svg.starts_with("<?xml")) {
    const std::size_t end = svg.find("?>");
    if (end != std::string_view::npos) svg.remove_prefix(end + 2);
    while (!svg.empty() && (svg.front() == '\n' || svg.front() == '\r')) svg.remove_prefix(1);
  }
  return std::string(svg);
}

HtmlPage::HtmlPage(std::string_view title) {
  out_ = "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n";
  out_ += "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n";
  out_ += fmt::format("<title>{}</title>\n<style>{}</style>\n</head>\n<body>\n<h1>{}</h1>\n",
                      escape(title), kStyle, escape(title));
}

void HtmlPage::close_section() {
  if (in_section_) out_ += "</section>\n";
  in_section_ = false;
}

void HtmlPage::section(std::string_view id, std::string_view text) {
  close_section();
  out_ += fmt::format("<section id=\"{}\">\n<h2>{}</h2>\n", escape(id), escape(text));
  in_section_ = true;
}

void HtmlPage::paragraph(std::string_view text) {
  out_ += fmt::format("<p>{}</p>\n", escape(text));
}

void HtmlPage::subheading(std::string_view text) {
  out_ += fmt::format("<h3>{}</h3>\n", escape(text));
}

void HtmlPage::note(std::string_view text) {
  out_ += fmt::format("<p class=\"note\">{}</p>\n", escape(text));
}

void HtmlPage::table(const HtmlTable& table) {
  // A column with any number in it is right-aligned, header and words too,
  // so its numbers line up.
  std::vector<bool> right(table.header.size(), false);
  for (const auto& row : table.rows) {
    for (std::size_t c = 0; c < row.size(); ++c) {
      if (c >= right.size()) right.resize(c + 1, false);
      right[c] = right[c] || row[c].numeric;
    }
  }
  out_ += "<table>\n<thead><tr>";
  for (std::size_t c = 0; c < table.header.size(); ++c) {
    append_cell(out_, "th", HtmlCell{table.header[c], "", -1, false}, right[c]);
  }
  out_ += "</tr></thead>\n<tbody>\n";
  for (const auto& row : table.rows) {
    out_ += "<tr>";
    for (std::size_t c = 0; c < row.size(); ++c) append_cell(out_, "td", row[c], right[c]);
    out_ += "</tr>\n";
  }
  out_ += "</tbody>\n</table>\n";
}

void HtmlPage::command(std::string_view text) {
  out_ += fmt::format("<pre><code>{}</code></pre>\n", escape(text));
}

void HtmlPage::figure(std::string_view id, std::string_view svg, std::string_view caption,
                      std::string_view command_text) {
  out_ += fmt::format("<figure id=\"{}\">\n", escape(id));
  out_ += inline_svg(svg);
  out_ += fmt::format("<figcaption>{}</figcaption>\n", escape(caption));
  if (!command_text.empty()) command(command_text);
  out_ += "</figure>\n";
}

std::string HtmlPage::finish() && {
  close_section();
  out_ += "</body>\n</html>\n";
  return std::move(out_);
}

}  // namespace kreg::report
