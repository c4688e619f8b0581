// cuda/tf32.hpp - the 3xTF32 split for float distances through tensor cores
// at large d (784 pixels), as __host__ __device__ functions that the CPU
// tests check (tests/cpp/test_cuda_tile_math.cpp) on any machine.
//
// A TF32 tensor-core product keeps 10 explicit mantissa bits of each factor
// (the products of two such are exact in float; the sums are float). One
// pass loses float's precision (about 1e-3 relative); the split keeps it:
// a = hi + lo with hi = tf32(a) and lo = tf32(a - hi), and
//   a b ~ hi_a hi_b + hi_a lo_b + lo_a hi_b
// (the dropped lo_a lo_b is below 2^-22 of a b), three tensor-core passes
// (wmma with precision::tf32) in place of one, still far above the FMA pipe.
//
// Distances then take the norm form ||z||^2 + ||x||^2 - 2 z.x. Its risk is
// cancellation: for a near neighbour the result is small against the norms,
// and its absolute error is about eps (||z||^2 + ||x||^2) whatever the split
// does, eps ~ 1e-7 in float. The Gaussian's weight exp(-s / 2h^2) is then off
// by a factor exp(eps (||z||^2 + ||x||^2) / 2h^2), harmless while the norms
// are small against h^2 / eps. So the data must be centred (the front does
// it: the norms are the spread's, not the distance to the origin; data
// shifted by 1e6 would otherwise lose every digit), a negative result is
// clamped to 0, and small d keeps exact differences (no cancellation, and
// the FMA pipe is not the bound there: the exponential is).
//
// The tensor-core kernel (cuda/kernels.cu's partial_tc_kernel) uses these
// on its fragments' elements.
#pragma once

#include <cstdint>
#include <cstring>

#include "cuda/tile_math.hpp"

namespace kreg::cuda {

KREG_HD std::uint32_t bits_of(float x) {
#if defined(__CUDA_ARCH__)
  return __float_as_uint(x);
#else
  std::uint32_t u;
  std::memcpy(&u, &x, sizeof u);
  return u;
#endif
}
KREG_HD float float_of(std::uint32_t u) {
#if defined(__CUDA_ARCH__)
  return __uint_as_float(u);
#else
  float x;
  std::memcpy(&x, &u, sizeof x);
  return x;
#endif
}

// x rounded to TF32 (10 explicit mantissa bits), to nearest with ties away
// from zero, as cvt.rna.tf32.f32 (wmma::__float_to_tf32) rounds; inf and
// NaN unchanged. The same bits on the host and the device.
KREG_HD float round_tf32(float x) {
  const std::uint32_t u = bits_of(x);
  if ((u & 0x7f800000u) == 0x7f800000u) return x;
  return float_of((u + 0x1000u) & 0xffffe000u);
}

struct Tf32Split {
  float hi, lo;  // a = hi + lo up to 2^-22 a, both TF32 values
};

KREG_HD Tf32Split split_tf32(float a) {
  const float hi = round_tf32(a);
  return {hi, round_tf32(a - hi)};
}

// One feature's contribution to a 3xTF32 dot product, in the tensor-core
// passes' order: the small cross terms first, then the large one.
KREG_HD float dot3_tf32_add(float acc, Tf32Split a, Tf32Split b) {
  acc = fma_of(a.lo, b.hi, acc);
  acc = fma_of(a.hi, b.lo, acc);
  return fma_of(a.hi, b.hi, acc);
}

// The squared distance in the norm form, clamped at 0 (cancellation may
// leave a tiny negative value for a near neighbour).
KREG_HD float norm_form_distance(float zz, float xx, float dot) {
  const float s = fma_of(-2.0f, dot, zz + xx);
  return s > 0.0f ? s : 0.0f;
}

}  // namespace kreg::cuda
