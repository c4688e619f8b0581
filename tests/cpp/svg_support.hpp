// Reading kreg's SVG charts back in tests: a small well-formedness checker,
// start tags and attributes, polyline vertices, the lines of a group, tick
// labels and their pixels.
#pragma once

#include <fmt/format.h>

#include <cctype>
#include <cstddef>
#include <limits>
#include <sstream>
#include <string>
#include <vector>

namespace kreg::test {

// Whether `doc` is well-formed XML, as far as these documents need: an
// optional declaration, one root element, tags balanced and nested, attribute
// values quoted and unique per element, no raw '<' in text or values, '&' only
// in the five predefined entities or character references. "" when it is,
// otherwise what is wrong and at which byte.
inline std::string xml_problem(const std::string& doc) {
  std::size_t i = 0;
  const auto at = [&](const std::string& what) { return fmt::format("{} at byte {}", what, i); };
  const auto name_char = [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == ':' ||
           c == '.';
  };
  const auto read_name = [&] {
    const std::size_t start = i;
    while (i < doc.size() && name_char(doc[i])) ++i;
    return doc.substr(start, i - start);
  };
  const auto entity_ok = [&](std::size_t amp) {
    const std::size_t end = doc.find(';', amp);
    if (end == std::string::npos) return false;
    const std::string e = doc.substr(amp + 1, end - amp - 1);
    if (e == "amp" || e == "lt" || e == "gt" || e == "quot" || e == "apos") return true;
    if (e.size() < 2 || e[0] != '#') return false;
    const bool hex = e[1] == 'x';
    const std::string digits = e.substr(hex ? 2 : 1);
    if (digits.empty()) return false;
    for (const char c : digits) {
      if (!(hex ? std::isxdigit(static_cast<unsigned char>(c)) : std::isdigit(c))) return false;
    }
    return true;
  };
  const auto space = [&] {
    while (i < doc.size() && std::isspace(static_cast<unsigned char>(doc[i]))) ++i;
  };
  if (doc.rfind("<?xml", 0) == 0) {
    i = doc.find("?>");
    if (i == std::string::npos) return "unterminated XML declaration";
    i += 2;
  }
  std::vector<std::string> open;
  bool root_seen = false;
  while (i < doc.size()) {
    const char c = doc[i];
    if (c != '<') {
      if (open.empty() && !std::isspace(static_cast<unsigned char>(c))) {
        return at("text outside the root element");
      }
      if (c == '&' && !entity_ok(i)) return at("bad entity");
      ++i;
      continue;
    }
    ++i;
    if (i < doc.size() && doc[i] == '/') {
      ++i;
      const std::string name = read_name();
      space();
      if (i >= doc.size() || doc[i] != '>') return at("bad end tag </" + name);
      ++i;
      if (open.empty() || open.back() != name) return at("mismatched </" + name + ">");
      open.pop_back();
      continue;
    }
    if (open.empty() && root_seen) return at("second root element");
    root_seen = true;
    const std::string name = read_name();
    if (name.empty()) return at("raw '<' or empty tag name");
    std::vector<std::string> attributes;
    for (;;) {
      const std::size_t before = i;
      space();
      if (i >= doc.size()) return at("unterminated tag <" + name);
      if (doc[i] == '>') {
        ++i;
        open.push_back(name);
        break;
      }
      if (doc.compare(i, 2, "/>") == 0) {
        i += 2;
        break;
      }
      if (i == before) return at("no space before an attribute of <" + name + ">");
      const std::string attribute = read_name();
      if (attribute.empty()) return at("bad attribute in <" + name + ">");
      for (const auto& a : attributes) {
        if (a == attribute) return at("duplicate attribute " + attribute);
      }
      attributes.push_back(attribute);
      if (i >= doc.size() || doc[i] != '=') return at("attribute " + attribute + " without '='");
      ++i;
      if (i >= doc.size() || (doc[i] != '"' && doc[i] != '\'')) {
        return at("unquoted value of " + attribute);
      }
      const char quote = doc[i++];
      while (i < doc.size() && doc[i] != quote) {
        if (doc[i] == '<') return at("raw '<' in value of " + attribute);
        if (doc[i] == '&' && !entity_ok(i)) return at("bad entity in value of " + attribute);
        ++i;
      }
      if (i >= doc.size()) return at("unterminated value of " + attribute);
      ++i;
    }
  }
  if (!open.empty()) return "unclosed <" + open.back() + ">";
  if (!root_seen) return "no root element";
  return "";
}

// The start tags `<tag ...>` (or `<tag .../>`) in doc, in order.
inline std::vector<std::string> start_tags(const std::string& doc, const std::string& tag) {
  std::vector<std::string> tags;
  const std::string open = "<" + tag + " ";
  for (std::size_t at = doc.find(open); at != std::string::npos; at = doc.find(open, at + 1)) {
    tags.push_back(doc.substr(at, doc.find('>', at) - at + 1));
  }
  return tags;
}

// The value of attribute `name` in a start tag, or "" without it.
inline std::string attribute(const std::string& tag, const std::string& name) {
  const std::string key = " " + name + "=\"";
  const std::size_t at = tag.find(key);
  if (at == std::string::npos) return "";
  const std::size_t start = at + key.size();
  return tag.substr(start, tag.find('"', start) - start);
}

struct Px {
  double x;
  double y;
};

// The vertices of a polyline start tag.
inline std::vector<Px> vertices(const std::string& polyline) {
  std::vector<Px> out;
  std::istringstream in(attribute(polyline, "points"));
  std::string pair;
  while (in >> pair) {
    const std::size_t comma = pair.find(',');
    out.push_back({std::stod(pair.substr(0, comma)), std::stod(pair.substr(comma + 1))});
  }
  return out;
}

// The lines of the group <g class="cls" ...> ... </g>, without the group tags.
inline std::vector<std::string> group_lines(const std::string& doc, const std::string& cls) {
  std::vector<std::string> lines;
  std::istringstream in(doc);
  std::string line;
  bool inside = false;
  while (std::getline(in, line)) {
    if (!inside) {
      inside = line.find("<g class=\"" + cls + "\"") != std::string::npos;
      continue;
    }
    if (line.find("</g>") != std::string::npos) break;
    lines.push_back(line);
  }
  return lines;
}

// The x pixel of the x tick labelled `label`; NaN when there is none.
inline double x_tick_at(const std::string& doc, const std::string& label) {
  for (const auto& line : group_lines(doc, "x-tick-labels")) {
    if (line.find(">" + label + "</text>") != std::string::npos) {
      return std::stod(attribute(line, "x"));
    }
  }
  return std::numeric_limits<double>::quiet_NaN();
}

// The texts of the tick labels in group `cls`.
inline std::vector<std::string> tick_labels(const std::string& doc, const std::string& cls) {
  std::vector<std::string> out;
  for (const auto& line : group_lines(doc, cls)) {
    const std::size_t end = line.rfind("</text>");
    const std::size_t start = line.rfind('>', end) + 1;
    out.push_back(line.substr(start, end - start));
  }
  return out;
}

inline std::size_t count(const std::string& doc, const std::string& what) {
  std::size_t n = 0;
  for (std::size_t at = doc.find(what); at != std::string::npos; at = doc.find(what, at + 1)) ++n;
  return n;
}

}  // namespace kreg::test
