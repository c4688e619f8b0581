// system/simd_targets.cpp - which Highway target kreg's SIMD kernels run on.
//
// This file is compiled once per SIMD target by Highway's foreach_target.h;
// HWY_DYNAMIC_DISPATCH then calls the best one this CPU supports, or the one
// KREG_SIMD_TARGET names (system/simd_target.hpp). Every SIMD kernel in kreg
// is dispatched the same way, so the target reported here is the one they use.
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
#include <fmt/format.h>

#include <cstdint>
#include <cstdlib>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "kreg/error.hpp"
#include "kreg/system.hpp"
#include "system/simd_target.hpp"

namespace kreg {
namespace detail {
HWY_EXPORT(ActiveTargetName);

namespace {

constexpr const char* kVariable = "KREG_SIMD_TARGET";

// What use_simd_target decided, once per process.
struct Choice {
  std::int64_t cpu = 0;  // hwy::SupportedTargets() before any restriction
  std::string forced;    // the variable's value when it forces a target
  std::string error;     // why the variable cannot be honoured
};

bool same_name(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    const auto lower = [](char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c + 32) : c; };
    if (lower(a[i]) != lower(b[i])) return false;
  }
  return true;
}

// Target names in a mask, best first (lower bits are better targets).
std::vector<std::string> names_of(std::int64_t mask) {
  std::vector<std::string> names;
  for (std::int64_t bits = mask; bits != 0; bits &= bits - 1) {
    names.emplace_back(hwy::TargetName(bits & -bits));
  }
  return names;
}

// The target bit whose Highway name is `name` (any case), or 0.
std::int64_t target_named(std::string_view name) {
  for (int bit = 0; bit < 64; ++bit) {
    const auto target = static_cast<std::int64_t>(std::uint64_t{1} << bit);
    const std::string_view known = hwy::TargetName(target);
    if (known != "Unknown" && same_name(name, known)) return target;
  }
  return 0;
}

Choice choose() {
  Choice c;
  c.cpu = hwy::SupportedTargets();
  const char* value = std::getenv(kVariable);
  if (value == nullptr || *value == '\0') return c;
  const std::string want = value;
  // Never empty: Highway always supports and kreg always carries a fallback.
  const std::vector<std::string> usable = names_of(c.cpu & HWY_TARGETS);
  std::string valid;
  for (const auto& name : usable) valid += (valid.empty() ? "" : ", ") + name;
  const std::string fix = fmt::format(
      "set {} to one of {} (the targets this kreg carries and this CPU runs), or unset "
      "it to use the best, {}",
      kVariable, valid, usable.empty() ? "none" : usable.front());
  const std::int64_t target = target_named(want);
  if (target == 0) {
    c.error = fmt::format("{}={} is not a SIMD target name; {}", kVariable, want, fix);
  } else if ((target & HWY_TARGETS) == 0) {
    c.error = fmt::format("{}={}: this kreg was built without the {} target; {}", kVariable, want,
                          hwy::TargetName(target), fix);
  } else if ((target & c.cpu) == 0) {
    c.error = fmt::format("{}={}: this CPU does not support the {} target; {}", kVariable, want,
                          hwy::TargetName(target), fix);
  } else {
    // Takes effect at the next HWY_DYNAMIC_DISPATCH, in every module.
    hwy::DisableTargets(~target);
    c.forced = want;
  }
  return c;
}

// Decided once; a bad value is kept as an error that every caller throws
// (rather than thrown from inside call_once), so every call fails the same way.
const Choice& choice() {
  static std::once_flag once;
  static Choice c;
  std::call_once(once, [] { c = choose(); });
  return c;
}

}  // namespace

void use_simd_target() {
  const Choice& c = choice();
  if (!c.error.empty()) throw Error(c.error);
}

std::int64_t cpu_simd_targets() {
  use_simd_target();
  return choice().cpu;
}

std::string forced_simd_target() {
  use_simd_target();
  return choice().forced;
}

std::vector<std::string> simd_targets(bool supported_only) {
  return names_of(supported_only ? cpu_simd_targets() & HWY_TARGETS : HWY_TARGETS);
}
}  // namespace detail

std::string simd_active_target() {
  detail::use_simd_target();
  return HWY_DYNAMIC_DISPATCH(detail::ActiveTargetName)();
}

}  // namespace kreg
#endif  // HWY_ONCE
