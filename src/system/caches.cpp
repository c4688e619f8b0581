// system/caches.cpp - cache_sizes(): see system/caches.hpp.
#include "system/caches.hpp"

#include <unistd.h>

#include <fstream>
#include <string>

namespace kreg::detail {

namespace {

// "32K", "1024K", "2M" or a plain number of bytes, as sysfs writes them; 0
// for anything else.
index_t parse_size(const std::string& text) {
  std::size_t used = 0;
  long long value = 0;
  try {
    value = std::stoll(text, &used);
  } catch (...) {
    return 0;
  }
  if (value <= 0) return 0;
  const std::string unit = text.substr(used, 1);
  if (unit == "K") return static_cast<index_t>(value) << 10;
  if (unit == "M") return static_cast<index_t>(value) << 20;
  return unit.empty() || unit == "\n" ? static_cast<index_t>(value) : 0;
}

std::string read_line(const std::string& path) {
  std::ifstream in(path);
  std::string line;
  std::getline(in, line);
  return line;
}

CacheSizes from_sysfs() {
  CacheSizes c;
  for (int i = 0; i < 8; ++i) {
    const std::string dir = "/sys/devices/system/cpu/cpu0/cache/index" + std::to_string(i) + "/";
    const std::string level = read_line(dir + "level");
    if (level.empty()) break;
    const std::string type = read_line(dir + "type");
    const index_t size = parse_size(read_line(dir + "size"));
    if (level == "1" && type == "Data") c.l1d = size;
    if (level == "2" && (type == "Unified" || type == "Data")) c.l2 = size;
  }
  return c;
}

#if defined(_SC_LEVEL1_DCACHE_SIZE) && defined(_SC_LEVEL2_CACHE_SIZE)
index_t from_sysconf(int name) {
  const long v = ::sysconf(name);
  return v > 0 ? static_cast<index_t>(v) : 0;
}
#endif

}  // namespace

const CacheSizes& cache_sizes() {
  static const CacheSizes sizes = [] {
    CacheSizes c = from_sysfs();
#if defined(_SC_LEVEL1_DCACHE_SIZE) && defined(_SC_LEVEL2_CACHE_SIZE)
    if (c.l1d == 0) c.l1d = from_sysconf(_SC_LEVEL1_DCACHE_SIZE);
    if (c.l2 == 0) c.l2 = from_sysconf(_SC_LEVEL2_CACHE_SIZE);
#endif
    if (c.l1d == 0) c.l1d = kDefaultCaches.l1d;
    if (c.l2 == 0) c.l2 = kDefaultCaches.l2;
    return c;
  }();
  return sizes;
}

}  // namespace kreg::detail
