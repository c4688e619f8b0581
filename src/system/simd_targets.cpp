// system/simd_targets.cpp - which Highway target kreg's SIMD kernels run on.
//
// This file is compiled once per SIMD target by Highway's foreach_target.h;
// HWY_DYNAMIC_DISPATCH then calls the best one this CPU supports. Every SIMD
// kernel in kreg is dispatched the same way, so the target reported here is
// the one they use.
#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "system/simd_targets.cpp"
#include <hwy/foreach_target.h>  // IWYU pragma: keep
// foreach_target.h must come first.
#include <hwy/highway.h>

HWY_BEFORE_NAMESPACE();
namespace kreg::detail {
namespace HWY_NAMESPACE {
const char* ActiveTargetName() { return hwy::TargetName(HWY_TARGET); }
}  // namespace HWY_NAMESPACE
}  // namespace kreg::detail
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
#include <string>
#include <vector>

#include "kreg/system.hpp"

namespace kreg {
namespace detail {
HWY_EXPORT(ActiveTargetName);

std::vector<std::string> simd_targets(bool supported_only) {
  std::vector<std::string> names;
  const auto supported = hwy::SupportedTargets();
  for (std::int64_t bits = HWY_TARGETS; bits != 0; bits &= bits - 1) {
    const std::int64_t target = bits & -bits;
    if (!supported_only || (supported & target) != 0) names.emplace_back(hwy::TargetName(target));
  }
  return names;
}
}  // namespace detail

std::string simd_active_target() { return HWY_DYNAMIC_DISPATCH(detail::ActiveTargetName)(); }

}  // namespace kreg
#endif  // HWY_ONCE
