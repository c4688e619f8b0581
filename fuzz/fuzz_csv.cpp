// libFuzzer target: parse_csv on arbitrary bytes must either return a table
// whose shape is consistent or throw kreg::Error; never crash, hang or leak.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "kreg/io/csv.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  for (const bool header : {true, false}) {
    kreg::io::CsvOptions options;
    options.header = header;
    options.non_finite = header ? kreg::io::NonFinite::reject : kreg::io::NonFinite::allow;
    try {
      const auto t = kreg::io::parse_csv<double>(text, options, "fuzz");
      if (header && static_cast<kreg::index_t>(t.columns.size()) != t.data.cols()) __builtin_trap();
    } catch (const kreg::Error&) {
    }
  }
  return 0;
}
