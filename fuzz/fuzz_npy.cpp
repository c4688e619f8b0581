// libFuzzer target: read_npy on arbitrary bytes returns a matrix or throws
// kreg::Error; a header may claim any size without an allocation to match.
#include <cstddef>
#include <cstdint>

#include "fuzz_file.hpp"
#include "kreg/io/npy.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const kreg::fuzz::MemoryFile file(data, size);
  try {
    const auto m = kreg::io::read_npy<float>(file.path(), kreg::io::NonFinite::allow);
    (void)m;
  } catch (const kreg::Error&) {
  }
  return 0;
}
