// Tests for io/gzip: is_gzip, gunzip (members, limits, corruption,
// truncation) and gzip round trips.
#include "io/gzip.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <functional>
#include <random>
#include <string>
#include <utility>

#include "kreg/error.hpp"
#include "test_support.hpp"

namespace {

using kreg::io::detail::gunzip;
using kreg::io::detail::gzip;
using kreg::io::detail::is_gzip;

// `printf 'hello\n' | gzip -n`: made by gzip(1), not by kreg.
const unsigned char kHelloGz[] = {0x1f, 0x8b, 0x08, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
                                  0x03, 0xcb, 0x48, 0xcd, 0xc9, 0xc9, 0xe7, 0x02, 0x00,
                                  0x20, 0x30, 0x3a, 0x36, 0x06, 0x00, 0x00, 0x00};

std::string hello_gz() { return {reinterpret_cast<const char*>(kHelloGz), sizeof kHelloGz}; }

std::string random_bytes(std::size_t n, std::uint32_t seed) {
  std::mt19937 rng(seed);
  std::string s(n, '\0');
  for (auto& c : s) c = static_cast<char>(rng() & 0xff);
  return s;
}

// Text-like data that compresses well but not trivially.
std::string texty(std::size_t n) {
  std::string s;
  std::mt19937 rng(7);
  while (s.size() < n)
    s += "row " + std::to_string(rng() % 1000) + ", 0." + std::to_string(rng()) + "\n";
  s.resize(n);
  return s;
}

const auto what_of = kreg::test::error_of<kreg::InputError>;

TEST(Gzip, IsGzip) {
  EXPECT_TRUE(is_gzip(hello_gz()));
  EXPECT_TRUE(is_gzip(std::string("\x1f\x8b")));
  EXPECT_FALSE(is_gzip(""));
  EXPECT_FALSE(is_gzip(std::string("\x1f")));
  EXPECT_FALSE(is_gzip(std::string("\x8b\x1f")));
  EXPECT_FALSE(is_gzip(std::string("\x93NUMPY")));
  EXPECT_FALSE(is_gzip(std::string("\0\0\x08\x03", 4)));
}

TEST(Gzip, DecompressesGzipToolOutput) { EXPECT_EQ(gunzip(hello_gz(), "hello.gz"), "hello\n"); }

TEST(Gzip, RoundTripEmpty) {
  const std::string z = gzip("");
  EXPECT_TRUE(is_gzip(z));
  EXPECT_EQ(gunzip(z, "empty.gz"), "");
  EXPECT_EQ(gunzip(z, "empty.gz", 0), "");
}

TEST(Gzip, RoundTripSmall) {
  for (const std::string& s : {std::string("a"), std::string("hello\n"), std::string(1, '\0'),
                               std::string("\0\1\2\3\xff", 5)}) {
    EXPECT_EQ(gunzip(gzip(s), "s.gz"), s);
  }
}

TEST(Gzip, RoundTripRandomIsBitExact) {
  const std::string s = random_bytes(3'000'017, 1);
  const std::string z = gzip(s);
  EXPECT_GT(z.size(), s.size() / 2);  // random data does not compress
  EXPECT_EQ(gunzip(z, "r.gz"), s);
}

TEST(Gzip, RoundTripHighlyCompressible) {
  const std::string s(20'000'000, '\0');
  const std::string z = gzip(s);
  EXPECT_LT(z.size(), s.size() / 500);  // the output buffer has to grow many times
  EXPECT_EQ(gunzip(z, "zeros.gz"), s);
}

TEST(Gzip, RoundTripText) {
  const std::string s = texty(1'000'000);
  const std::string z = gzip(s);
  EXPECT_LT(z.size(), s.size() / 2);
  EXPECT_EQ(gunzip(z, "t.gz"), s);
}

TEST(Gzip, ConcatenatedMembers) {
  const std::string a = texty(100'000);
  const std::string b = random_bytes(5'000, 2);
  EXPECT_EQ(gunzip(gzip(a) + gzip(b) + hello_gz(), "cat.gz"), a + b + "hello\n");
  // An empty member in the middle is fine too.
  EXPECT_EQ(gunzip(hello_gz() + gzip("") + hello_gz(), "cat.gz"), "hello\nhello\n");
}

TEST(Gzip, TrailingZeroPaddingIsIgnored) {
  EXPECT_EQ(gunzip(hello_gz() + std::string(512, '\0'), "padded.gz"), "hello\n");
}

TEST(Gzip, TrailingGarbageIsCorrupt) {
  EXPECT_EQ(what_of([] { gunzip(hello_gz() + "junk", "g.gz"); }),
            "g.gz: corrupt gzip data (4 unexpected bytes after the end of the gzip stream)");
}

TEST(Gzip, MaxBytesExactIsFine) {
  const std::string s = texty(10'000);
  EXPECT_EQ(gunzip(gzip(s), "m.gz", 10'000), s);
  EXPECT_EQ(gunzip(gzip(s) + gzip(""), "m.gz", 10'000), s);
}

TEST(Gzip, MaxBytesExceeded) {
  const std::string s = texty(10'000);
  EXPECT_EQ(what_of([&] { gunzip(gzip(s), "m.gz", 9'999); }),
            "m.gz: decompressed data is larger than the 9999 bytes expected");
  EXPECT_EQ(what_of([&] { gunzip(gzip(s), "m.gz", 0); }),
            "m.gz: decompressed data is larger than the 0 bytes expected");
  // The limit holds across members, and stops a bomb early.
  EXPECT_EQ(what_of([&] { gunzip(gzip(s) + gzip("x"), "m.gz", 10'000); }),
            "m.gz: decompressed data is larger than the 10000 bytes expected");
  const std::string bomb = gzip(std::string(50'000'000, '\0'));
  EXPECT_EQ(what_of([&] { gunzip(bomb, "bomb.gz", 1000); }),
            "bomb.gz: decompressed data is larger than the 1000 bytes expected");
}

TEST(Gzip, Truncated) {
  const std::string z = gzip(texty(100'000));
  for (const std::size_t keep :
       {z.size() - 1, z.size() - 4, z.size() - 8, z.size() / 2, std::size_t{11}, std::size_t{10},
        std::size_t{3}, std::size_t{2}, std::size_t{0}}) {
    EXPECT_EQ(what_of([&] { gunzip(z.substr(0, keep), "cut.gz"); }),
              "cut.gz: gzip stream is truncated")
        << "kept " << keep << " of " << z.size() << " bytes";
  }
  // A second member cut short.
  EXPECT_EQ(what_of([&] { gunzip(hello_gz() + z.substr(0, 100), "cut.gz"); }),
            "cut.gz: gzip stream is truncated");
}

TEST(Gzip, CorruptChecksumAndLength) {
  std::string crc = hello_gz();
  crc[crc.size() - 8] ^= 0x01;  // CRC-32 field
  EXPECT_EQ(what_of([&] { gunzip(crc, "c.gz"); }),
            "c.gz: corrupt gzip data (incorrect data check)");
  std::string len = hello_gz();
  len[len.size() - 4] ^= 0x01;  // ISIZE field
  EXPECT_EQ(what_of([&] { gunzip(len, "c.gz"); }),
            "c.gz: corrupt gzip data (incorrect length check)");
}

TEST(Gzip, CorruptHeader) {
  std::string method = hello_gz();
  method[2] = 0x07;  // compression method other than deflate
  EXPECT_EQ(what_of([&] { gunzip(method, "h.gz"); }),
            "h.gz: corrupt gzip data (unknown compression method)");
  std::string magic = hello_gz();
  magic[1] = 0x00;
  EXPECT_EQ(what_of([&] { gunzip(magic, "h.gz"); }),
            "h.gz: corrupt gzip data (incorrect header check)");
  EXPECT_EQ(what_of([] { gunzip("plain text, not gzip", "p.txt"); }),
            "p.txt: corrupt gzip data (incorrect header check)");
}

TEST(Gzip, CorruptMiddleBytes) {
  // Flipping bytes in the middle of the deflate data: zlib notices an invalid
  // code, distance or block, or at the latest the CRC.
  const std::string s = texty(200'000);
  const std::string z = gzip(s);
  int detected = 0;
  for (int trial = 0; trial < 20; ++trial) {
    std::string bad = z;
    const std::size_t at = z.size() / 4 + static_cast<std::size_t>(trial) * (z.size() / 40);
    for (std::size_t k = at; k < at + 8; ++k) bad[k] = static_cast<char>(~bad[k]);
    const std::string msg = what_of([&] { gunzip(bad, "mid.gz"); });
    EXPECT_EQ(msg.rfind("mid.gz: corrupt gzip data (", 0), 0U) << msg;
    EXPECT_EQ(msg.back(), ')') << msg;
    detected += msg.rfind("mid.gz: corrupt gzip data (", 0) == 0 ? 1 : 0;
  }
  EXPECT_EQ(detected, 20);
}

TEST(Gzip, CompressionLevelIsReasonable) {
  // Level 6 on text: about what gzip(1) -6 gives; far better than stored.
  const std::string s = texty(1'000'000);
  EXPECT_LT(gzip(s).size(), s.size() / 2);
}

// ------------------------------------------------------ streaming reader

// Counts what the decompressor pulls; with `endless`, repeats `tail` forever
// after `bytes`.
class CountingReader final : public kreg::io::detail::Reader {
 public:
  CountingReader(std::string bytes, std::string tail = {}, bool endless = false)
      : bytes_(std::move(bytes)), tail_(std::move(tail)), endless_(endless) {}
  std::size_t read(char* dst, std::size_t n) override {
    std::size_t got = 0;
    while (got < n) {
      if (pos_ == bytes_.size()) {
        if (!endless_ || tail_.empty()) break;
        bytes_ = tail_;
        pos_ = 0;
      }
      const std::size_t k = std::min(n - got, bytes_.size() - pos_);
      std::copy_n(bytes_.data() + pos_, k, dst + got);
      pos_ += k;
      got += k;
    }
    pulled += got;
    return got;
  }
  std::uint64_t pulled = 0;

 private:
  std::string bytes_;
  std::string tail_;
  bool endless_;
  std::size_t pos_ = 0;
};

std::string read_all(kreg::io::detail::Reader& in) {
  std::string out;
  char buffer[1000];
  std::size_t got = 0;
  while ((got = in.read(buffer, sizeof buffer)) > 0) out.append(buffer, got);
  return out;
}

TEST(GunzipReader, PullsOnlyWhatItNeeds) {
  // 8 MB of incompressible data: reading 16 bytes pulls one input piece.
  const std::string data = random_bytes(8 << 20, 3);
  CountingReader in(gzip(data));
  kreg::io::detail::GunzipReader z(in, "big.gz");
  char head[16];
  ASSERT_EQ(z.read(head, sizeof head), sizeof head);
  EXPECT_EQ(std::string(head, sizeof head), data.substr(0, 16));
  EXPECT_LE(in.pulled, std::uint64_t{1} << 16);
}

TEST(GunzipReader, MembersAndPaddingLikeGunzip) {
  CountingReader in(gzip("ab") + gzip("") + gzip("cd") + std::string(1000, '\0'));
  kreg::io::detail::GunzipReader z(in, "m.gz");
  EXPECT_EQ(read_all(z), "abcd");
  EXPECT_EQ(z.read(nullptr, 0), 0U);
}

TEST(GunzipReader, EndlessInputStops) {
  {
    CountingReader in(gzip("ab"), std::string(4096, '\0'), true);
    kreg::io::detail::GunzipReader z(in, "zeros.gz");
    EXPECT_EQ(what_of([&] { read_all(z); }),
              "zeros.gz: corrupt gzip data (more than 1048576 unexpected bytes after the end of "
              "the gzip stream)");
  }
  {
    CountingReader in(gzip("ab"), gzip(""), true);
    kreg::io::detail::GunzipReader z(in, "members.gz");
    z.limit_input(5000);
    EXPECT_EQ(what_of([&] { read_all(z); }),
              "members.gz: the gzip stream goes on past 5000 bytes, more than any compression of "
              "the data its header declares; the file is corrupt or endless");
    EXPECT_LE(in.pulled, 5000U + (1U << 16));
  }
  {
    // Random bytes after a gzip magic: corrupt data, found at once.
    CountingReader in("\x1f\x8b", random_bytes(4096, 9), true);
    kreg::io::detail::GunzipReader z(in, "random.gz");
    const std::string msg = what_of([&] { read_all(z); });
    EXPECT_EQ(msg.rfind("random.gz: corrupt gzip data (", 0), 0U) << msg;
  }
}

TEST(GunzipReader, PaddingUpToTheBoundIsAccepted) {
  const std::string at_bound = gzip("x") + std::string(kreg::io::detail::kMaxGzipPadding, '\0');
  EXPECT_EQ(gunzip(at_bound, "pad.gz"), "x");
  EXPECT_EQ(what_of([&] { gunzip(at_bound + std::string(1, '\0'), "pad.gz"); }),
            "pad.gz: corrupt gzip data (1048577 unexpected bytes after the end of the gzip "
            "stream)");
}

}  // namespace
