// numpy-compatible random numbers: np.random.RandomState draw for draw.
//
// The facts reproduced here (checked against numpy 2.4's legacy RandomState):
//  * seed(s) for an integer s is MT19937's init_genrand(s), the same as
//    std::mt19937(s), and clears the cached Gaussian;
//  * random_sample() takes two 32-bit draws a, b and returns
//    ((a >> 5) * 2^26 + (b >> 6)) / 2^53;
//  * the legacy Gaussian is Marsaglia's polar method, which makes two values
//    per accepted pair and returns the second one first, caching the other;
//  * a 64-bit draw is (first 32-bit draw << 32) | second 32-bit draw;
//  * random_interval(max) rejects masked draws above max, using 32-bit draws
//    when max fits in 32 bits;
//  * shuffle swaps a[i] with a[random_interval(i)] for i = n-1 down to 1.
#include <cmath>
#include <utility>

#include <fmt/format.h>

#include "kreg/error.hpp"
#include "kreg/random.hpp"

namespace kreg {

void LegacyRandom::seed_with(std::uint32_t seed) {
  mt_.seed(seed);
  gauss_ = 0.0;
  has_gauss_ = false;
}

std::uint64_t LegacyRandom::next_u64() {
  const std::uint64_t hi = next_u32();
  const std::uint64_t lo = next_u32();
  return (hi << 32) | lo;
}

double LegacyRandom::uniform() {
  const std::uint32_t a = next_u32() >> 5;
  const std::uint32_t b = next_u32() >> 6;
  return (a * 67108864.0 + b) / 9007199254740992.0;
}

double LegacyRandom::normal() {
  if (has_gauss_) {
    has_gauss_ = false;
    const double cached = gauss_;
    gauss_ = 0.0;
    return cached;
  }
  double x1 = 0.0;
  double x2 = 0.0;
  double r2 = 0.0;
  do {
    x1 = 2.0 * uniform() - 1.0;
    x2 = 2.0 * uniform() - 1.0;
    r2 = x1 * x1 + x2 * x2;
  } while (r2 >= 1.0 || r2 == 0.0);
  // Box-Muller transform, polar form.
  const double f = std::sqrt(-2.0 * std::log(r2) / r2);
  gauss_ = f * x1;
  has_gauss_ = true;
  return f * x2;
}

std::uint64_t LegacyRandom::interval(std::uint64_t max) {
  if (max == 0) return 0;
  // The smallest all-ones bit mask >= max.
  std::uint64_t mask = max;
  mask |= mask >> 1;
  mask |= mask >> 2;
  mask |= mask >> 4;
  mask |= mask >> 8;
  mask |= mask >> 16;
  mask |= mask >> 32;
  std::uint64_t value = 0;
  if (max <= 0xffffffffULL) {
    do {
      value = next_u32() & mask;
    } while (value > max);
  } else {
    do {
      value = next_u64() & mask;
    } while (value > max);
  }
  return value;
}

void LegacyRandom::shuffle(std::span<index_t> values) {
  for (std::size_t i = values.size(); i-- > 1;) {
    const auto j = static_cast<std::size_t>(interval(i));
    std::swap(values[i], values[j]);
  }
}

std::vector<index_t> LegacyRandom::permutation(index_t n) {
  if (n < 0) throw ArgumentError(fmt::format("permutation: n must be >= 0, got {}", n));
  std::vector<index_t> values(static_cast<std::size_t>(n));
  for (index_t i = 0; i < n; ++i) values[static_cast<std::size_t>(i)] = i;
  shuffle(values);
  return values;
}

}  // namespace kreg
