// system/system_info.cpp - facts about this machine for `kreg info`.
//
// CUDA devices are listed through the CUDA driver API loaded with dlopen, so
// the kreg binary runs (and says "no CUDA device") on machines without CUDA.
#include <dlfcn.h>
#include <fmt/format.h>

#include <charconv>
#include <cstdint>
#include <cstdlib>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "kreg/system.hpp"
#include "system/caches.hpp"
#include "system/simd_target.hpp"

// OpenBLAS's own introspection (kreg links OpenBLAS: BLA_VENDOR in CMake).
extern "C" {
char* openblas_get_config(void);
int openblas_get_num_threads(void);
char* openblas_get_corename(void);
}

namespace kreg {
namespace detail {
std::vector<std::string> simd_targets(bool supported_only);
}

namespace {

std::string cpu_model() {
  std::ifstream in("/proc/cpuinfo");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("model name", 0) == 0) {
      const auto colon = line.find(':');
      if (colon != std::string::npos) return line.substr(line.find_first_not_of(" \t", colon + 1));
    }
  }
  return "unknown";
}

std::vector<std::string> cpu_features() {
  std::vector<std::string> out;
  __builtin_cpu_init();
#define KREG_FEATURE(name) \
  if (__builtin_cpu_supports(name)) out.emplace_back(name);
  KREG_FEATURE("sse2")
  KREG_FEATURE("sse4.2")
  KREG_FEATURE("avx")
  KREG_FEATURE("avx2")
  KREG_FEATURE("fma")
  KREG_FEATURE("avx512f")
  KREG_FEATURE("avx512dq")
  KREG_FEATURE("avx512bw")
  KREG_FEATURE("avx512vl")
  KREG_FEATURE("avx512vnni")
#undef KREG_FEATURE
  return out;
}

// The file mapped at `code` (/proc/self/maps): which OpenBLAS runs, the
// shared library the loader found (Debian's alternatives may point
// elsewhere) or the program itself when it links a static one (the kreg tool
// does where the archive is at hand). Empty where Linux does not say.
std::string file_holding(const void* code) {
  const auto at = reinterpret_cast<std::uintptr_t>(code);
  std::ifstream maps("/proc/self/maps");
  std::string line;
  while (std::getline(maps, line)) {
    std::uintptr_t begin = 0;
    std::uintptr_t end = 0;
    const char* p = line.data();
    const char* const stop = p + line.size();
    auto r = std::from_chars(p, stop, begin, 16);
    if (r.ec != std::errc{} || r.ptr == stop || *r.ptr != '-') continue;
    r = std::from_chars(r.ptr + 1, stop, end, 16);
    if (r.ec != std::errc{} || at < begin || at >= end) continue;
    const auto path = line.find('/');  // the path column, the only '/' on the line
    return path == std::string::npos ? std::string() : line.substr(path);
  }
  return {};
}

void blas_info(SystemInfo& info) {
  info.blas_config = openblas_get_config();
  info.blas_core = openblas_get_corename();
  info.blas_library = fmt::format("OpenBLAS ({}), core {}", info.blas_config, info.blas_core);
  info.blas_file = file_holding(reinterpret_cast<const void*>(&openblas_get_config));
  // OpenBLAS (DYNAMIC_ARCH) picks its kernels from this variable when it
  // loads, and ignores a name it does not know.
  if (const char* forced = std::getenv("OPENBLAS_CORETYPE"); forced != nullptr) {
    info.blas_core_forced = forced;
  }
  info.blas_threads = openblas_get_num_threads();
}

// The few driver API entry points kreg needs (cuda.h's signatures).
using CuInit = int (*)(unsigned);
using CuDeviceGetCount = int (*)(int*);
using CuDeviceGet = int (*)(int*, int);
using CuDeviceGetName = int (*)(char*, int, int);
using CuDeviceTotalMem = int (*)(std::size_t*, int);
using CuDeviceGetAttribute = int (*)(int*, int, int);
constexpr int kAttrMultiprocessors = 16;
constexpr int kAttrComputeMajor = 75;
constexpr int kAttrComputeMinor = 76;
constexpr int kErrorNoDevice = 100;

void cuda_info(SystemInfo& info) {
  void* lib = dlopen("libcuda.so.1", RTLD_LAZY | RTLD_LOCAL);
  if (lib == nullptr) {
    info.cuda_status = "no CUDA device (no CUDA driver: libcuda.so.1 not found)";
    return;
  }
  auto sym = [&](const char* name) { return dlsym(lib, name); };
  auto init = reinterpret_cast<CuInit>(sym("cuInit"));
  auto count_fn = reinterpret_cast<CuDeviceGetCount>(sym("cuDeviceGetCount"));
  auto get = reinterpret_cast<CuDeviceGet>(sym("cuDeviceGet"));
  auto name_fn = reinterpret_cast<CuDeviceGetName>(sym("cuDeviceGetName"));
  auto mem_fn = reinterpret_cast<CuDeviceTotalMem>(sym("cuDeviceTotalMem_v2"));
  auto attr_fn = reinterpret_cast<CuDeviceGetAttribute>(sym("cuDeviceGetAttribute"));
  if (!init || !count_fn || !get || !name_fn || !mem_fn || !attr_fn) {
    info.cuda_status = "no CUDA device (the CUDA driver lacks the expected functions)";
    dlclose(lib);
    return;
  }
  int count = 0;
  if (const int rc = init(0); rc != 0) {
    info.cuda_status = rc == kErrorNoDevice
                           ? "no CUDA device"
                           : fmt::format("no CUDA device (cuInit failed with error {})", rc);
    dlclose(lib);
    return;
  }
  if (count_fn(&count) != 0 || count == 0) {
    info.cuda_status = "no CUDA device";
    dlclose(lib);
    return;
  }
  for (int i = 0; i < count; ++i) {
    int dev = 0;
    if (get(&dev, i) != 0) continue;
    CudaDevice d;
    d.index = i;
    char name[256] = {};
    name_fn(name, sizeof name, dev);
    d.name = name;
    std::size_t mem = 0;
    mem_fn(&mem, dev);
    d.memory_bytes = mem;
    attr_fn(&d.compute_major, kAttrComputeMajor, dev);
    attr_fn(&d.compute_minor, kAttrComputeMinor, dev);
    attr_fn(&d.multiprocessors, kAttrMultiprocessors, dev);
    info.cuda_devices.push_back(std::move(d));
  }
  info.cuda_status = "ok";
  // The driver stays loaded: unloading it while its threads run is unsafe.
}

}  // namespace

SystemInfo system_info() {
  SystemInfo info;
  info.cpu_model = cpu_model();
  info.logical_cores = static_cast<int>(std::thread::hardware_concurrency());
  info.cpu_features = cpu_features();
  info.l1d_cache_bytes = detail::cache_sizes().l1d;
  info.l2_cache_bytes = detail::cache_sizes().l2;
  info.simd_compiled = detail::simd_targets(false);
  info.simd_supported = detail::simd_targets(true);
  info.simd_active = simd_active_target();
  info.simd_forced = detail::forced_simd_target();
  blas_info(info);
  cuda_info(info);
  return info;
}

}  // namespace kreg
