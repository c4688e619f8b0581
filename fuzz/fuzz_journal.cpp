// libFuzzer target: read_journal on arbitrary bytes returns the header and
// complete records or throws kreg::Error; never crash, hang or leak.
#include <cstddef>
#include <cstdint>

#include "fuzz_file.hpp"
#include "kreg/error.hpp"
#include "tool/journal.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const kreg::fuzz::MemoryFile file(data, size);
  try {
    const auto j = kreg::read_journal(file.path());
    if (j.header.find('\n') != std::string::npos) __builtin_trap();
    for (const auto& r : j.records) {
      if (r.find('\n') != std::string::npos) __builtin_trap();
    }
  } catch (const kreg::Error&) {
  }
  return 0;
}
