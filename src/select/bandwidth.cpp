// Bandwidth grids (numpy's linspace and logspace arithmetic) and the Scott and
// Silverman rules of thumb (scipy.stats.gaussian_kde's factors).
//
// Grid arithmetic follows numpy 2.x's linspace step by step: step = (B-A)/(N-1),
// y_i = i * step + A with both operations rounded (never fused), the last value
// set to B, and i / (N-1) * (B-A) + A when the step underflows to 0; logspace
// is pow(10, y_i). Errors quote the spec, name the bad part and list the
// accepted forms, because the spec usually comes straight from a command line.
#include "kreg/bandwidth.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <functional>
#include <limits>
#include <string>
#include <string_view>
#include <system_error>
#include <unordered_map>
#include <vector>

#include <fmt/format.h>

#include "core/validate.hpp"
#include "kreg/error.hpp"

namespace kreg {
namespace {

constexpr std::int64_t max_grid_size = 1'000'000;

constexpr std::string_view accepted_forms =
    "accepted forms: 'logspace:A:B:N' (N values from 10^A to 10^B), 'linspace:A:B:N' (N values "
    "from A to B) or a comma-separated list such as '0.1,0.5,2'";

[[noreturn]] void fail(std::string_view spec, const std::string& problem) {
  throw ArgumentError(fmt::format("bandwidth grid '{}': {}; {}", spec, problem, accepted_forms));
}

std::string_view trim(std::string_view s) {
  const auto first = s.find_first_not_of(" \t");
  if (first == std::string_view::npos) return {};
  const auto last = s.find_last_not_of(" \t");
  return s.substr(first, last - first + 1);
}

std::vector<std::string_view> split(std::string_view s, char separator) {
  std::vector<std::string_view> parts;
  std::size_t begin = 0;
  while (true) {
    const auto end = s.find(separator, begin);
    if (end == std::string_view::npos) {
      parts.push_back(trim(s.substr(begin)));
      return parts;
    }
    parts.push_back(trim(s.substr(begin, end - begin)));
    begin = end + 1;
  }
}

enum class Parsed { ok, bad, out_of_range };

// The whole of `text` as a number: an optional '+', then what from_chars
// reads; anything left over makes it bad.
template <class Number>
Parsed parse_whole(std::string_view text, Number& value) {
  const char* b = text.data();
  const char* e = text.data() + text.size();
  if (b < e && *b == '+') {
    ++b;
    if (b < e && (*b == '+' || *b == '-')) return Parsed::bad;
  }
  const auto r = std::from_chars(b, e, value);
  if (r.ptr != e || r.ec == std::errc::invalid_argument) return Parsed::bad;
  return r.ec == std::errc() ? Parsed::ok : Parsed::out_of_range;
}

// numpy.linspace(a, b, n) for finite a, b and n >= 1, operation for operation.
std::vector<double> linspace(double a, double b, std::int64_t n) {
  std::vector<double> y(static_cast<std::size_t>(n));
  const double delta = b - a;
  const std::int64_t div = n - 1;
  if (div == 0) {
    y[0] = 0.0 * delta + a;
    return y;
  }
  const double step = delta / static_cast<double>(div);
  for (std::int64_t i = 0; i < n; ++i) {
    const auto k = static_cast<double>(i);
    // numpy rounds the product before adding a; volatile keeps the compiler
    // from fusing the two into one fma where the target has one.
    volatile double product = step == 0.0 ? k / static_cast<double>(div) * delta : k * step;
    y[static_cast<std::size_t>(i)] = product + a;
  }
  y.back() = b;
  return y;
}

// What is wrong with `v` as a bandwidth, "" when nothing: it must be finite,
// > 0 and a normal double (a subnormal one squares to 0, and any bandwidth far
// below the data's spacing already gives each query its nearest point's y).
std::string value_problem(double v) {
  if (std::isnan(v)) return "is NaN";
  if (std::isinf(v)) return "is infinite";
  if (v <= 0.0) return "is not positive; bandwidths must be > 0";
  if (v < std::numeric_limits<double>::min()) {
    return "is below the smallest normal double (2.2250738585072014e-308); use a larger "
           "bandwidth (one far below the spacing of the data already predicts each query by its "
           "nearest training point)";
  }
  return {};
}

// Why `text`, which std::from_chars found outside a double's range, is:
// too large in magnitude, or too small to be anything but 0.
std::string out_of_range_problem(std::string_view text) {
  const std::string copy(text);
  const long double v = std::strtold(copy.c_str(), nullptr);  // HUGE_VALL or 0 beyond its range
  if (std::fabs(v) >= 1.0L) {
    return "is too large (overflows a double, whose largest value is about 1.8e308)";
  }
  return "is too small (underflows a double to 0; bandwidths must be at least the smallest "
         "normal double, 2.2250738585072014e-308)";
}

// Checks every value is a usable bandwidth (value_problem) and not a repeat.
// `describe(i)` names value i in messages, e.g. "value 2 ('0.5')".
void check_grid(std::string_view spec, const std::vector<double>& values,
                const std::function<std::string(std::size_t)>& describe) {
  for (std::size_t i = 0; i < values.size(); ++i) {
    const std::string problem = value_problem(values[i]);
    if (!problem.empty()) fail(spec, describe(i) + " " + problem);
  }
  std::unordered_map<double, std::size_t> first_index;
  for (std::size_t i = 0; i < values.size(); ++i) {
    const auto [it, inserted] = first_index.emplace(values[i], i);
    if (!inserted) {
      fail(spec, fmt::format("{} repeats value {}; each bandwidth may appear once", describe(i),
                             it->second));
    }
  }
}

std::vector<double> parse_list(std::string_view spec, std::string_view text) {
  const std::vector<std::string_view> fields = split(text, ',');
  std::vector<double> values(fields.size());
  for (std::size_t i = 0; i < fields.size(); ++i) {
    if (fields[i].empty()) fail(spec, fmt::format("value {} is empty", i));
    const Parsed parsed = parse_whole(fields[i], values[i]);
    if (parsed == Parsed::bad) {
      fail(spec, fmt::format("value {} ('{}') is not a number", i, fields[i]));
    }
    if (parsed == Parsed::out_of_range) {
      fail(spec, fmt::format("value {} ('{}') {}", i, fields[i], out_of_range_problem(fields[i])));
    }
  }
  check_grid(spec, values,
             [&](std::size_t i) { return fmt::format("value {} ('{}')", i, fields[i]); });
  return values;
}

// "logspace:A:B:N" or "linspace:A:B:N"; `fields` are the parts after the form.
std::vector<double> parse_range(std::string_view spec, std::string_view form,
                                const std::vector<std::string_view>& fields) {
  if (fields.size() != 3) {
    fail(spec, fmt::format("'{}' takes 3 fields, A:B:N, but got {}", form, fields.size()));
  }
  double ends[2] = {0.0, 0.0};
  const char* names[2] = {"A", "B"};
  for (int k = 0; k < 2; ++k) {
    if (fields[k].empty()) fail(spec, fmt::format("{} is empty", names[k]));
    const Parsed parsed = parse_whole(fields[k], ends[k]);
    if (parsed == Parsed::bad) {
      fail(spec, fmt::format("{} ('{}') is not a number", names[k], fields[k]));
    }
    if (parsed == Parsed::out_of_range || !std::isfinite(ends[k])) {
      fail(spec, fmt::format("{} ('{}') must be finite", names[k], fields[k]));
    }
  }
  std::int64_t n = 0;
  if (fields[2].empty()) fail(spec, "N is empty");
  const Parsed parsed = parse_whole(fields[2], n);
  if (parsed == Parsed::bad) fail(spec, fmt::format("N ('{}') is not an integer", fields[2]));
  if (parsed == Parsed::out_of_range) {
    fail(spec,
         fmt::format("N ('{}') is out of range; need 1 <= N <= {}", fields[2], max_grid_size));
  }
  if (n < 1 || n > max_grid_size) {
    fail(spec, fmt::format("N is {}; need 1 <= N <= {}", n, max_grid_size));
  }
  const std::vector<double> y = linspace(ends[0], ends[1], n);
  if (form == "linspace") {
    check_grid(spec, y, [&](std::size_t i) { return fmt::format("value {} ({})", i, y[i]); });
    return y;
  }
  std::vector<double> values(y.size());
  for (std::size_t i = 0; i < y.size(); ++i) values[i] = std::pow(10.0, y[i]);
  check_grid(spec, values, [&](std::size_t i) {
    return fmt::format("value {} (10^{} = {})", i, y[i], values[i]);
  });
  return values;
}

enum class Rule { scott, silverman };

// Sample standard deviation (ddof = 1) of each column of X; 0 for a column
// whose values are all equal. Long double sums; the second pass subtracts
// (sum of deviations)^2 / n, which cancels the rounding error of the mean.
template <class T>
std::vector<double> sample_std(MatrixView<const T> X) {
  const auto d = static_cast<std::size_t>(X.cols());
  const index_t n = X.rows();
  std::vector<long double> sum(d, 0.0L);
  std::vector<bool> constant(d, true);
  for (index_t i = 0; i < n; ++i) {
    for (std::size_t f = 0; f < d; ++f) {
      const T v = X(i, static_cast<index_t>(f));
      sum[f] += v;
      if (v != X(0, static_cast<index_t>(f))) constant[f] = false;
    }
  }
  std::vector<long double> mean(d);
  for (std::size_t f = 0; f < d; ++f) mean[f] = sum[f] / static_cast<long double>(n);
  std::vector<long double> dev_sum(d, 0.0L);
  std::vector<long double> dev_sq(d, 0.0L);
  for (index_t i = 0; i < n; ++i) {
    for (std::size_t f = 0; f < d; ++f) {
      const long double dev = static_cast<long double>(X(i, static_cast<index_t>(f))) - mean[f];
      dev_sum[f] += dev;
      dev_sq[f] += dev * dev;
    }
  }
  std::vector<double> sigma(d, 0.0);
  for (std::size_t f = 0; f < d; ++f) {
    if (constant[f]) continue;
    const long double ss = dev_sq[f] - dev_sum[f] * dev_sum[f] / static_cast<long double>(n);
    sigma[f] = static_cast<double>(std::sqrt(std::max(ss, 0.0L) / static_cast<long double>(n - 1)));
  }
  return sigma;
}

template <class T>
std::vector<double> rule_bandwidth(MatrixView<const T> X, Rule rule) {
  const char* function = rule == Rule::scott ? "scott_bandwidth" : "silverman_bandwidth";
  if (X.cols() < 1) {
    throw ArgumentError(fmt::format("{}: X has no columns; need at least 1 feature", function));
  }
  if (X.rows() < 2) {
    throw ArgumentError(fmt::format("{}: X has {} rows; a standard deviation needs at least 2",
                                    function, X.rows()));
  }
  detail::require_finite(X, "X", fmt::format("{} needs finite values", function));
  const auto n = static_cast<double>(X.rows());
  const auto d = static_cast<double>(X.cols());
  // scipy: scotts_factor = neff**(-1./(d+4)),
  //        silverman_factor = (neff*(d+2.0)/4.0)**(-1./(d+4)).
  const double exponent = -1.0 / (d + 4.0);
  const double factor =
      rule == Rule::scott ? std::pow(n, exponent) : std::pow(n * (d + 2.0) / 4.0, exponent);
  std::vector<double> h = sample_std(X);
  double spread_sum = 0.0;
  std::size_t spread_count = 0;
  for (std::size_t f = 0; f < h.size(); ++f) {
    if (h[f] == 0.0) continue;
    h[f] *= factor;
    if (!std::isfinite(h[f])) {
      throw ArgumentError(fmt::format(
          "{}: feature {}'s standard deviation overflows a double; rescale X", function, f));
    }
    spread_sum += h[f];
    ++spread_count;
  }
  if (spread_count == 0) {
    throw ArgumentError(fmt::format(
        "{}: every feature of X is constant, so the data implies no bandwidth; give one "
        "explicitly",
        function));
  }
  const double fallback = spread_sum / static_cast<double>(spread_count);
  for (double& value : h) {
    if (value == 0.0) value = fallback;
  }
  return h;
}

template <class T>
std::vector<double> rule_by_name(MatrixView<const T> X, std::string_view name) {
  if (name == "scott") return rule_bandwidth(X, Rule::scott);
  if (name == "silverman") return rule_bandwidth(X, Rule::silverman);
  throw ArgumentError(
      fmt::format("unknown bandwidth rule '{}'; the rules are 'scott' and 'silverman'", name));
}

}  // namespace

std::vector<double> parse_bandwidth_grid(std::string_view spec) {
  const std::string_view text = trim(spec);
  if (text.empty()) fail(spec, "the spec is empty");
  std::vector<std::string_view> parts = split(text, ':');
  const std::string_view form = parts.front();
  if (form == "logspace" || form == "linspace") {
    parts.erase(parts.begin());
    return parse_range(spec, form, parts);
  }
  if (parts.size() > 1) fail(spec, fmt::format("unknown form '{}'", form));
  return parse_list(spec, text);
}

double parse_bandwidth_value(std::string_view text) {
  const std::string_view field = trim(text);
  double value = 0.0;
  const Parsed parsed = field.empty() ? Parsed::bad : parse_whole(field, value);
  if (parsed == Parsed::bad) throw ArgumentError(fmt::format("'{}' is not a number", text));
  if (parsed == Parsed::out_of_range) {
    throw ArgumentError(fmt::format("'{}' {}", text, out_of_range_problem(field)));
  }
  const std::string problem = value_problem(value);
  if (!problem.empty()) throw ArgumentError(fmt::format("'{}' {}", text, problem));
  return value;
}

std::vector<double> scott_bandwidth(MatrixView<const double> X) {
  return rule_bandwidth(X, Rule::scott);
}
std::vector<double> scott_bandwidth(MatrixView<const float> X) {
  return rule_bandwidth(X, Rule::scott);
}
std::vector<double> silverman_bandwidth(MatrixView<const double> X) {
  return rule_bandwidth(X, Rule::silverman);
}
std::vector<double> silverman_bandwidth(MatrixView<const float> X) {
  return rule_bandwidth(X, Rule::silverman);
}
std::vector<double> rule_of_thumb_bandwidth(MatrixView<const double> X, std::string_view name) {
  return rule_by_name(X, name);
}
std::vector<double> rule_of_thumb_bandwidth(MatrixView<const float> X, std::string_view name) {
  return rule_by_name(X, name);
}

}  // namespace kreg
