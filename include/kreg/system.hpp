// kreg/system.hpp - what this machine offers kreg: CPU, SIMD, BLAS, CUDA.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace kreg {

struct CudaDevice {
  int index = 0;
  std::string name;
  std::uint64_t memory_bytes = 0;
  int compute_major = 0;
  int compute_minor = 0;
  int multiprocessors = 0;
};

struct SystemInfo {
  std::string cpu_model;                    // from /proc/cpuinfo, "unknown" if absent
  int logical_cores = 0;                    // std::thread::hardware_concurrency
  std::vector<std::string> cpu_features;    // sse4.2, avx, avx2, fma, avx512f, ...
  std::int64_t l1d_cache_bytes = 0;         // per core (defaults where the system does not say)
  std::int64_t l2_cache_bytes = 0;          // per core; the engines size their L2 tiles by it
  std::vector<std::string> simd_compiled;   // SIMD targets this binary carries
  std::vector<std::string> simd_supported;  // of those, the ones this CPU runs
  std::string simd_active;                  // the one kreg's kernels dispatch to
  std::string simd_forced;                  // KREG_SIMD_TARGET's value if it forced simd_active
  std::string blas_library;                 // "OpenBLAS (<config>), core <core>"
  std::string blas_config;                  // e.g. "OpenBLAS 0.3.21 ... Haswell MAX_THREADS=64"
  std::string blas_file;                    // the file OpenBLAS's code was loaded from: a
                                            // shared library, or the program it is built into
  std::string blas_core;                    // the kernel set OpenBLAS chose, e.g. "Haswell"
  std::string blas_core_forced;             // OPENBLAS_CORETYPE's value if set
  int blas_threads = 0;                     // threads the BLAS will use
  std::string cuda_status;                  // "ok", or why no device is listed
  std::vector<CudaDevice> cuda_devices;
};

SystemInfo system_info();

// The Highway target kreg's SIMD kernels run on, e.g. "AVX3" or "AVX2": the
// best one this CPU supports, unless the environment variable
// KREG_SIMD_TARGET names another (any case, e.g. KREG_SIMD_TARGET=sse4). The
// variable is read once, before the first SIMD kernel runs; a value that is
// not a target this kreg carries and this CPU runs makes this and every SIMD
// kernel throw kreg::Error listing the valid names. (OpenBLAS reads its own
// OPENBLAS_CORETYPE, e.g. Haswell, when it loads.)
std::string simd_active_target();

// OpenBLAS starts its thread pool when the library loads, and those threads
// spin a while waiting for work: at the start of a command they take a core
// from kreg's own threads. This stops them; OpenBLAS starts them again on its
// next multi-threaded call. The command-line tool calls it first thing.
void park_blas_threads();

}  // namespace kreg
