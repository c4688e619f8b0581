// LegacyRandom against numpy's np.random.RandomState. The expected numbers
// were printed by numpy 2.4 (np.random.RandomState(seed).<method>) and by the
// C++ standard's own check value for std::mt19937.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <limits>
#include <numeric>
#include <vector>

#include "kreg/random.hpp"

namespace {

using kreg::index_t;
using kreg::LegacyRandom;

TEST(LegacyRandom, SeedingIsStdMt19937) {
  // [rand.predef]: the 10000th draw of a default-constructed std::mt19937
  // (seed 5489) is 4123659995.
  LegacyRandom rng(5489);
  EXPECT_EQ(rng.next_u32(), 3499211612U);
  for (int i = 1; i < 9999; ++i) rng.next_u32();
  EXPECT_EQ(rng.next_u32(), 4123659995U);
}

TEST(LegacyRandom, FirstDrawsMatchNumpy) {
  // np.random.MT19937()._legacy_seeding(seed); random_raw(...)
  LegacyRandom r0(0);
  EXPECT_EQ(r0.next_u32(), 2357136044U);
  EXPECT_EQ(r0.next_u32(), 2546248239U);
  EXPECT_EQ(r0.next_u32(), 3071714933U);
  LegacyRandom r42(42);
  EXPECT_EQ(r42.next_u32(), 1608637542U);
  EXPECT_EQ(r42.next_u32(), 3421126067U);
  LegacyRandom rmax(std::numeric_limits<std::uint32_t>::max());
  EXPECT_EQ(rmax.next_u32(), 419326371U);
  EXPECT_EQ(rmax.next_u32(), 479346978U);
}

TEST(LegacyRandom, DefaultSeedIsZero) {
  LegacyRandom a;
  LegacyRandom b(0);
  for (int i = 0; i < 100; ++i) EXPECT_EQ(a.next_u32(), b.next_u32());
}

TEST(LegacyRandom, Next64IsHighWordFirst) {
  LegacyRandom a(7);
  LegacyRandom b(7);
  for (int i = 0; i < 10; ++i) {
    const std::uint64_t hi = b.next_u32();
    const std::uint64_t lo = b.next_u32();
    EXPECT_EQ(a.next_u64(), (hi << 32) | lo);
  }
}

TEST(LegacyRandom, UniformMatchesRandomSample) {
  // np.random.RandomState(123).random_sample(3)
  LegacyRandom rng(123);
  EXPECT_EQ(rng.uniform(), 0.6964691855978616);
  EXPECT_EQ(rng.uniform(), 0.28613933495037946);
  EXPECT_EQ(rng.uniform(), 0.2268514535642031);
}

TEST(LegacyRandom, UniformIsInUnitInterval) {
  LegacyRandom rng(1);
  double lo = 1.0;
  double hi = 0.0;
  for (int i = 0; i < 100000; ++i) {
    const double u = rng.uniform();
    ASSERT_GE(u, 0.0);
    ASSERT_LT(u, 1.0);
    lo = std::min(lo, u);
    hi = std::max(hi, u);
  }
  EXPECT_LT(lo, 1e-3);
  EXPECT_GT(hi, 1.0 - 1e-3);
}

TEST(LegacyRandom, NormalMatchesNumpy) {
  // np.random.RandomState(0).normal(size=3) and RandomState(42).normal(size=3)
  LegacyRandom r0(0);
  EXPECT_EQ(r0.normal(), 1.764052345967664);
  EXPECT_EQ(r0.normal(), 0.4001572083672233);
  EXPECT_EQ(r0.normal(), 0.9787379841057392);
  LegacyRandom r42(42);
  EXPECT_EQ(r42.normal(), 0.4967141530112327);
  EXPECT_EQ(r42.normal(), -0.13826430117118466);
  EXPECT_EQ(r42.normal(), 0.6476885381006925);
}

TEST(LegacyRandom, NormalWithLocAndScale) {
  // np.random.RandomState(1).normal(2.0, 3.0, size=2)
  LegacyRandom rng(1);
  EXPECT_EQ(rng.normal(2.0, 3.0), 6.873036090989725);
  EXPECT_EQ(rng.normal(2.0, 3.0), 0.16473075904977375);
}

TEST(LegacyRandom, SeedResetsTheCachedGaussian) {
  LegacyRandom rng(0);
  const double first = rng.normal();  // caches the pair's other value
  rng.seed_with(0);
  EXPECT_EQ(rng.normal(), first);
  rng.normal();
  rng.seed_with(42);
  EXPECT_EQ(rng.normal(), 0.4967141530112327);
}

TEST(LegacyRandom, NormalMoments) {
  LegacyRandom rng(2024);
  const int n = 200000;
  double sum = 0.0;
  double sum2 = 0.0;
  for (int i = 0; i < n; ++i) {
    const double z = rng.normal();
    sum += z;
    sum2 += z * z;
  }
  EXPECT_NEAR(sum / n, 0.0, 0.01);
  EXPECT_NEAR(sum2 / n, 1.0, 0.02);
}

TEST(LegacyRandom, Reproducible) {
  LegacyRandom a(99);
  LegacyRandom b(99);
  for (int i = 0; i < 1000; ++i) {
    EXPECT_EQ(a.normal(), b.normal());
    EXPECT_EQ(a.uniform(), b.uniform());
    EXPECT_EQ(a.interval(1000), b.interval(1000));
  }
  LegacyRandom c(100);
  LegacyRandom d(99);
  int same = 0;
  for (int i = 0; i < 100; ++i) same += c.next_u32() == d.next_u32() ? 1 : 0;
  EXPECT_LT(same, 3);
}

TEST(LegacyRandom, IntervalMatchesRandint) {
  // np.random.RandomState(5).randint(0, 1001, size=5): the same masked
  // rejection on 32-bit draws.
  LegacyRandom rng(5);
  const std::vector<std::uint64_t> expected = {867, 206, 701, 998, 118};
  for (std::uint64_t e : expected) EXPECT_EQ(rng.interval(1000), e);
  // np.random.RandomState(7).randint(0, 2**40, size=3, dtype=np.uint64):
  // 64-bit draws.
  LegacyRandom big(7);
  EXPECT_EQ(big.interval((std::uint64_t{1} << 40) - 1), 752595690692U);
  EXPECT_EQ(big.interval((std::uint64_t{1} << 40) - 1), 108744157686U);
  EXPECT_EQ(big.interval((std::uint64_t{1} << 40) - 1), 291964244179U);
}

TEST(LegacyRandom, IntervalZeroDrawsNothing) {
  LegacyRandom a(3);
  LegacyRandom b(3);
  EXPECT_EQ(a.interval(0), 0U);
  EXPECT_EQ(a.next_u32(), b.next_u32());
}

TEST(LegacyRandom, IntervalStaysInBounds) {
  LegacyRandom rng(11);
  for (std::uint64_t max : {1ULL, 2ULL, 3ULL, 7ULL, 8ULL, 1000ULL, 0xffffffffULL, 0x100000000ULL,
                            0x123456789abULL, 0xffffffffffffffffULL}) {
    std::uint64_t seen_max = 0;
    for (int i = 0; i < 2000; ++i) {
      const std::uint64_t v = rng.interval(max);
      ASSERT_LE(v, max);
      seen_max = std::max(seen_max, v);
    }
    if (max <= 8) {
      EXPECT_EQ(seen_max, max);  // small ranges: every value appears
    }
  }
}

TEST(LegacyRandom, IntervalIsRoughlyUniform) {
  LegacyRandom rng(5);
  std::vector<int> counts(5, 0);
  for (int i = 0; i < 50000; ++i) ++counts[rng.interval(4)];
  for (int c : counts) EXPECT_NEAR(c, 10000, 500);
}

TEST(LegacyRandom, PermutationMatchesNumpy) {
  // np.random.RandomState(42).permutation(10)
  LegacyRandom rng(42);
  const std::vector<index_t> expected = {8, 1, 5, 0, 7, 2, 9, 4, 3, 6};
  EXPECT_EQ(rng.permutation(10), expected);
}

TEST(LegacyRandom, ShuffleMatchesNumpy) {
  // a = np.arange(10); np.random.RandomState(3).shuffle(a)
  LegacyRandom rng(3);
  std::vector<index_t> a(10);
  std::iota(a.begin(), a.end(), 0);
  rng.shuffle(a);
  const std::vector<index_t> expected = {5, 4, 1, 2, 9, 6, 7, 0, 3, 8};
  EXPECT_EQ(a, expected);
}

TEST(LegacyRandom, ShuffleIsAPermutation) {
  LegacyRandom rng(8);
  for (index_t n : {0, 1, 2, 3, 17, 1000}) {
    std::vector<index_t> a(static_cast<std::size_t>(n));
    std::iota(a.begin(), a.end(), 100);
    rng.shuffle(a);
    std::sort(a.begin(), a.end());
    for (index_t i = 0; i < n; ++i) EXPECT_EQ(a[static_cast<std::size_t>(i)], 100 + i);
  }
}

TEST(LegacyRandom, PermutationEdgeCases) {
  LegacyRandom a(1);
  LegacyRandom b(1);
  EXPECT_TRUE(a.permutation(0).empty());
  EXPECT_EQ(a.permutation(1), std::vector<index_t>{0});
  EXPECT_EQ(a.next_u32(), b.next_u32());  // sizes 0 and 1 draw nothing
  EXPECT_THROW(a.permutation(-1), kreg::ArgumentError);
  const std::vector<index_t> p = a.permutation(500);
  std::vector<index_t> sorted = p;
  std::sort(sorted.begin(), sorted.end());
  for (index_t i = 0; i < 500; ++i) EXPECT_EQ(sorted[static_cast<std::size_t>(i)], i);
  EXPECT_NE(p, sorted);
}

}  // namespace
