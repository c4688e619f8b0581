// system/simd_target.hpp - the SIMD target kreg's kernels may dispatch to.
//
// KREG_SIMD_TARGET (a Highway target name as `kreg info` lists it, e.g. AVX2,
// any case) restricts Highway's dynamic dispatch to that one target, so a
// test run or a user can check kreg on a target other than the best one this
// CPU offers. Every function that runs a HWY_DYNAMIC_DISPATCH kernel calls
// use_simd_target() first: the variable then takes effect before any kernel
// runs, without relying on a static initialiser (which a linker may drop
// from a static library).
#pragma once

#include <cstdint>
#include <string>

namespace kreg::detail {

// Reads KREG_SIMD_TARGET once per process and, when it is set and not empty,
// restricts Highway's dispatch (hwy::DisableTargets, process-wide) to that
// target. Throws kreg::Error naming the valid targets when the variable names
// a target this kreg was not built with or this CPU does not run; every later
// call throws the same error. Cheap after the first call.
void use_simd_target();

// The Highway targets this CPU supports (as hwy::SupportedTargets() reported
// them before KREG_SIMD_TARGET restricted them). Calls use_simd_target().
std::int64_t cpu_simd_targets();

// KREG_SIMD_TARGET's value if it forces a target, else "".
std::string forced_simd_target();

}  // namespace kreg::detail
