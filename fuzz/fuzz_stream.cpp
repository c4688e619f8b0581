// libFuzzer target: the NPY, IDX and CSV readers on arbitrary bytes given as
// a stream (a pipe, as /dev/stdin or a FIFO would be): they read the header,
// then what it declares, and return a matrix or throw kreg::Error; a header
// may claim any size without an allocation to match.
#include <cstddef>
#include <cstdint>

#include "fuzz_file.hpp"
#include "kreg/io/idx.hpp"
#include "kreg/io/npy.hpp"
#include "kreg/io/table.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size > kreg::fuzz::kPipeBytes) return 0;
  try {
    const kreg::fuzz::PipeFile file(data, size);
    (void)kreg::io::read_npy<double>(file.path(), kreg::io::NonFinite::allow);
  } catch (const kreg::Error&) {
  }
  try {
    const kreg::fuzz::PipeFile file(data, size);
    (void)kreg::io::read_idx<float>(file.path(), kreg::io::NonFinite::allow);
  } catch (const kreg::Error&) {
  }
  try {
    const kreg::fuzz::PipeFile file(data, size);
    (void)kreg::io::read_idx_header(file.path());
  } catch (const kreg::Error&) {
  }
  try {
    // A path without .npy or .idx reads as CSV.
    const kreg::fuzz::PipeFile file(data, size);
    (void)kreg::io::read_table<double>(file.path());
  } catch (const kreg::Error&) {
  }
  return 0;
}
