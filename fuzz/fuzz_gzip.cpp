// libFuzzer target: the streaming gzip decompressor on arbitrary bytes, fed
// in pieces of a size the input chooses (so that member ends, trailers and
// padding fall across piece boundaries), and the whole-buffer gunzip with a
// bound. Each returns data or throws kreg::Error; the output never passes
// the bound.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "io/file.hpp"
#include "io/gzip.hpp"
#include "kreg/error.hpp"

namespace {

// At most `piece` bytes per read, like a pipe that delivers little at a time.
class Trickle final : public kreg::io::detail::Reader {
 public:
  Trickle(std::string_view bytes, std::size_t piece) : bytes_(bytes), piece_(piece) {}
  std::size_t read(char* dst, std::size_t n) override {
    std::size_t got = 0;
    while (got < n && !bytes_.empty()) {
      const std::size_t k = std::min({n - got, piece_, bytes_.size()});
      std::copy_n(bytes_.data(), k, dst + got);
      bytes_.remove_prefix(k);
      got += k;
    }
    return got;
  }

 private:
  std::string_view bytes_;
  std::size_t piece_;
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 1) return 0;
  const std::size_t piece = 1 + data[0] % 37;
  const std::string_view bytes(reinterpret_cast<const char*>(data + 1), size - 1);
  constexpr std::size_t kBound = 1 << 20;
  try {
    Trickle in(bytes, piece);
    kreg::io::detail::GunzipReader z(in, "fuzz");
    z.limit_input(kBound);
    std::string out(4096, '\0');
    std::size_t total = 0;
    for (;;) {
      const std::size_t got = z.read(out.data(), out.size());
      total += got;
      if (got < out.size() || total > kBound) break;
    }
  } catch (const kreg::Error&) {
  }
  try {
    const std::string out = kreg::io::detail::gunzip(bytes, "fuzz", kBound);
    if (out.size() > kBound) __builtin_trap();
  } catch (const kreg::Error&) {
  }
  return 0;
}
