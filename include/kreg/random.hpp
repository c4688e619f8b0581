// kreg/random.hpp - numpy-compatible random numbers.
//
// LegacyRandom reproduces numpy's np.random.RandomState (MT19937, legacy
// seeding, legacy Gaussian by the polar method with one cached value, legacy
// bounded integers by masked rejection) draw for draw, so that kreg's
// generate_data and splits give exactly the numbers the tutorial's numpy and
// scikit-learn code gives for the same seeds. Not thread-safe: one generator
// per thread or task.
#pragma once

#include <cstdint>
#include <random>
#include <span>
#include <vector>

#include "kreg/matrix.hpp"

namespace kreg {

class LegacyRandom {
 public:
  explicit LegacyRandom(std::uint32_t seed = 0) { seed_with(seed); }

  // np.random.seed(seed): resets the generator and the cached Gaussian.
  void seed_with(std::uint32_t seed);

  std::uint32_t next_u32() { return static_cast<std::uint32_t>(mt_()); }
  std::uint64_t next_u64();
  double uniform();  // random_sample(): [0, 1) with 53 random bits
  double normal();   // standard_normal()
  double normal(double loc, double scale) { return loc + scale * normal(); }
  // A uniform integer in [0, max] (numpy's legacy random_interval).
  std::uint64_t interval(std::uint64_t max);
  // In-place shuffle, numpy's RandomState.shuffle order.
  void shuffle(std::span<index_t> values);
  // RandomState.permutation(n).
  std::vector<index_t> permutation(index_t n);

 private:
  std::mt19937 mt_;
  double gauss_ = 0.0;
  bool has_gauss_ = false;
};

}  // namespace kreg
