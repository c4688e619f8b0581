// libFuzzer target: read_idx on arbitrary bytes (plain or gzip) returns a
// matrix or throws kreg::Error.
#include <cstddef>
#include <cstdint>

#include "fuzz_file.hpp"
#include "kreg/io/idx.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const kreg::fuzz::MemoryFile file(data, size);
  try {
    const auto m = kreg::io::read_idx<double>(file.path(), kreg::io::NonFinite::allow);
    (void)m;
  } catch (const kreg::Error&) {
  }
  return 0;
}
