// local/exp_simd.cpp - w[j] = exp(logw[j] - shift) for the kernel regression
// engine, by Highway's Exp (1 ULP) on every SIMD target; the weights of all
// training points against one query pass through here.
//
// Arguments below -708 (weights under 1e-307 of the largest, which is 1)
// give exactly 0, as do -inf (a zero kernel value); no subnormals reach the
// sums.
#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "local/exp_simd.cpp"
#include <hwy/foreach_target.h>  // IWYU pragma: keep
// foreach_target.h must come first.
#include <hwy/contrib/math/math-inl.h>
#include <hwy/highway.h>

#include <cmath>

#include "local/exp_simd.hpp"

HWY_BEFORE_NAMESPACE();
namespace kreg::local {
namespace HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;

void ExpShifted(const double* logw, double* w, index_t n, double shift) {
  const hn::ScalableTag<double> d;
  const index_t lanes = static_cast<index_t>(hn::Lanes(d));
  const auto vshift = hn::Set(d, shift);
  const auto floor = hn::Set(d, -708.0);
  index_t j = 0;
  for (; j + lanes <= n; j += lanes) {
    const auto t = hn::Sub(hn::LoadU(d, logw + j), vshift);
    const auto low = hn::Lt(t, floor);  // also -inf; NaN never reaches here
    const auto e = hn::Exp(d, hn::Max(t, floor));
    hn::StoreU(hn::IfThenZeroElse(low, e), d, w + j);
  }
  for (; j < n; ++j) {
    const double t = logw[j] - shift;
    w[j] = t < -708.0 ? 0.0 : std::exp(t);
  }
}

}  // namespace HWY_NAMESPACE
}  // namespace kreg::local
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
namespace kreg::local {
HWY_EXPORT(ExpShifted);
void exp_shifted(const double* logw, double* w, index_t n, double shift) {
  HWY_DYNAMIC_DISPATCH(ExpShifted)(logw, w, n, shift);
}
}  // namespace kreg::local
#endif
