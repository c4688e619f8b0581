// hwy_startup.cpp - keeps Highway's benchmark-timer calibration out of the
// kreg tool's start-up.
//
// A shared libhwy (Debian ships no static one) runs a static initialiser
// when it is loaded, before main: nanobenchmark's timer resolution, measured
// by spinning on the cycle counter for milliseconds. Only hwy::Measure reads
// that value; kreg uses Highway for run-time SIMD dispatch alone and never
// calls it. The initialiser calls hwy::platform::TimerResolution through the
// library's PLT, and the dynamic loader binds such calls to the executable's
// definition first, so this one answers at once. apps/kreg/CMakeLists.txt
// builds this file only against a shared libhwy; one that calls its own copy
// directly would leave it unused, and kreg would start as it did before.
// tests/python/test_cli_startup.py checks the binding.
#include <hwy/nanobenchmark.h>

#include <cstdint>

namespace hwy::platform {

// The finest resolution there is: a tick. Nothing in kreg measures with it.
uint64_t TimerResolution() { return 1; }

}  // namespace hwy::platform
