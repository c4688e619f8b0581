// system/caches.hpp - the data cache sizes: the engines size their L2 tiles by
// the L2 (nw/cpu/tiled.hpp); `kreg info` reports both.
//
// Read once per process: Linux's /sys/devices/system/cpu/cpu0/cache (the
// kernel's view, right in virtual machines too), else sysconf's, else the
// defaults below, which are what the engines' constants were measured on
// (docs/benchmarks.md, "High d: tiles sized by the L2 this CPU has").
#pragma once

#include "kreg/matrix.hpp"

namespace kreg::detail {

struct CacheSizes {
  index_t l1d = 0;  // bytes of level-1 data cache per core
  index_t l2 = 0;   // bytes of level-2 cache per core
};

inline constexpr CacheSizes kDefaultCaches{index_t{32} << 10, index_t{1} << 20};

// This CPU's, or kDefaultCaches' where it cannot be read.
const CacheSizes& cache_sizes();

}  // namespace kreg::detail
