// cuda/kernels.cu - the CUDA engine's kernels (cuda/kernels.hpp says how a
// predict uses them; cuda/tile_math.hpp holds their arithmetic, which the
// CPU tests check).
//
// Distances are formed by exact differences, sum_f (z_f - x_f)^2, for
// double and for float below kTensorCoreMinD features: accurate for data far
// from the origin (the front centred it) and, for small d, the whole cost of
// a pair is one exponential and a few FMAs. Larger d stages the tile's
// features through shared memory kFeat at a time; float there forms the dot
// products on tensor cores (3xTF32, partial_tc_kernel). The tile's sums are formed in T and added
// to the thread's double state, as the CPU engine does.
#include <mma.h>

#include <type_traits>

#include "cuda/kernels.hpp"
#include "cuda/tf32.hpp"

namespace kreg::cuda {

namespace {

template <class T, int K, int NB, bool kSmall>
__global__ void __launch_bounds__(kThreads) partial_kernel(Pass<T> a) {
  constexpr int kCols = kSmall ? kSmallD : kFeat;
  __shared__ T xs[kTile][kCols + 1];  // +1: no bank conflicts on the column loads
  __shared__ T ys[kTile][K];
  __shared__ T ws[kTile];

  const DeviceTraining<T>& tr = a.train;
  const std::int64_t d = tr.d;
  const std::int64_t q = static_cast<std::int64_t>(blockIdx.x) * kThreads + threadIdx.x;
  const bool active = q < a.m;
  const std::int64_t j_begin = static_cast<std::int64_t>(blockIdx.y) * a.chunk;
  const std::int64_t j_end = j_begin + a.chunk < tr.n ? j_begin + a.chunk : tr.n;
  const std::int64_t skip = active && a.exclude != nullptr ? a.exclude[q] : -1;
  const int nb = NB == 1 ? 1 : a.nb;

  T zr[kSmall ? kSmallD : 1];
  if constexpr (kSmall) {
#pragma unroll
    for (int f = 0; f < kSmallD; ++f) zr[f] = active && f < d ? a.Z[q * d + f] : T(0);
  }

  State<T, K> st[NB];
#pragma unroll
  for (int b = 0; b < NB; ++b) reset(st[b]);
  for (std::int64_t j0 = j_begin; j0 < j_end; j0 += kTile) {
    const int valid = j_end - j0 < kTile ? static_cast<int>(j_end - j0) : kTile;
    __syncthreads();  // the previous tile's readers are done
    for (int i = threadIdx.x; i < kTile * K; i += kThreads) {
      const int p = i / K, c = i % K;
      ys[p][c] = p < valid && c < a.kc ? tr.Y[(j0 + p) * tr.k + a.c0 + c] : T(0);
    }
    for (int p = threadIdx.x; p < kTile; p += kThreads) {
      ws[p] = p < valid && tr.w != nullptr ? tr.w[j0 + p] : T(1);
    }

    T acc[kTile];
#pragma unroll
    for (int p = 0; p < kTile; ++p) acc[p] = T(0);
    for (std::int64_t f0 = 0; f0 < d; f0 += kCols) {
      const int fc = d - f0 < kCols ? static_cast<int>(d - f0) : kCols;
      if (f0 > 0) __syncthreads();
      for (int i = threadIdx.x; i < kTile * fc; i += kThreads) {
        const int p = i / fc, f = i % fc;
        xs[p][f] = p < valid ? tr.X[(j0 + p) * d + f0 + f] : T(0);
      }
      __syncthreads();
      if (!active) continue;
      for (int f = 0; f < fc; ++f) {
        T zf;
        if constexpr (kSmall) {
          zf = zr[0];
#pragma unroll
          for (int g = 1; g < kSmallD; ++g) zf = g == f ? zr[g] : zf;
        } else {
          zf = a.Z[q * d + f0 + f];
        }
#pragma unroll
        for (int p = 0; p < kTile; ++p) {
          const T diff = zf - xs[p][f];
          acc[p] = fma(diff, diff, acc[p]);
        }
      }
    }
    if (!active) continue;
    const int skip_p = skip >= j0 && skip < j0 + kTile ? static_cast<int>(skip - j0) : -1;
    update_tile<T, K, NB, kTile>(st, nb, a.bandwidth, a.kernel, acc, ws, ys, valid, skip_p);
  }
  if (!active) return;
  share_nearest(st, nb, a.kernel);
  auto* parts = static_cast<State<T, K>*>(a.partials);
#pragma unroll
  for (int b = 0; b < NB; ++b) {
    if (b < nb) parts[(static_cast<std::int64_t>(blockIdx.y) * nb + b) * a.m + q] = st[b];
  }
}

// float at d >= kTensorCoreMinD: the tile's dot products z.x through TF32
// tensor cores with the 3xTF32 split (cuda/tf32.hpp, which says why the
// split, the centring and the clamp), distances in the norm form. Each of
// the block's 4 warps forms its 32 queries x kTile points as 2 x 2
// fragments of 16 x 16, kFeat features a stage (4 steps of 8); the dot
// products go through shared memory to the threads, one query each, which
// then sum as partial_kernel does.
template <int K, int NB>
__global__ void __launch_bounds__(kThreads) partial_tc_kernel(Pass<float> a) {
  namespace wmma = nvcuda::wmma;
  static_assert(kThreads == 128 && kTile == 32 && kFeat % 8 == 0, "the warps' fragment layout");
  constexpr int kLd = kFeat + 4;        // a multiple of 4 floats (wmma), rows 32-byte aligned
  constexpr int kLdDot = kThreads + 4;  // dots is stored transposed: point-major
  __shared__ __align__(32) float zs[kThreads][kLd];
  __shared__ __align__(32) float xs[kTile][kLd];
  __shared__ __align__(32) float dots[kTile][kLdDot];  // dots[p][query]: no bank conflicts
  __shared__ float xx[kTile];
  __shared__ float ys[kTile][K];
  __shared__ float ws[kTile];

  const DeviceTraining<float>& tr = a.train;
  const std::int64_t d = tr.d;
  const std::int64_t q0 = static_cast<std::int64_t>(blockIdx.x) * kThreads;
  const std::int64_t q = q0 + threadIdx.x;
  const bool active = q < a.m;
  const std::int64_t j_begin = static_cast<std::int64_t>(blockIdx.y) * a.chunk;
  const std::int64_t j_end = j_begin + a.chunk < tr.n ? j_begin + a.chunk : tr.n;
  const std::int64_t skip = active && a.exclude != nullptr ? a.exclude[q] : -1;
  const int nb = NB == 1 ? 1 : a.nb;
  const int warp = static_cast<int>(threadIdx.x) / 32;

  float zz = 0;  // the query's squared norm
  for (std::int64_t f = 0; active && f < d; ++f) zz = fmaf(a.Z[q * d + f], a.Z[q * d + f], zz);

  State<float, K> st[NB];
#pragma unroll
  for (int b = 0; b < NB; ++b) reset(st[b]);
  for (std::int64_t j0 = j_begin; j0 < j_end; j0 += kTile) {
    const int valid = j_end - j0 < kTile ? static_cast<int>(j_end - j0) : kTile;
    __syncthreads();  // the previous tile's readers are done
    for (int i = threadIdx.x; i < kTile * K; i += kThreads) {
      const int p = i / K, c = i % K;
      ys[p][c] = p < valid && c < a.kc ? tr.Y[(j0 + p) * tr.k + a.c0 + c] : 0.0f;
    }
    for (int p = threadIdx.x; p < kTile; p += kThreads) {
      ws[p] = p < valid && tr.w != nullptr ? tr.w[j0 + p] : 1.0f;
      xx[p] = 0;
    }
    wmma::fragment<wmma::accumulator, 16, 16, 8, float> acc[2][2];
#pragma unroll
    for (int r = 0; r < 2; ++r) {
#pragma unroll
      for (int c = 0; c < 2; ++c) wmma::fill_fragment(acc[r][c], 0.0f);
    }
    for (std::int64_t f0 = 0; f0 < d; f0 += kFeat) {
      const int fc = d - f0 < kFeat ? static_cast<int>(d - f0) : kFeat;
      __syncthreads();  // the previous stage's fragments are loaded
      // Zero beyond fc, valid and m: the padding adds nothing to a dot.
      for (int i = threadIdx.x; i < kThreads * kFeat; i += kThreads) {
        const int r = i / kFeat, f = i % kFeat;
        zs[r][f] = f < fc && q0 + r < a.m ? a.Z[(q0 + r) * d + f0 + f] : 0.0f;
      }
      for (int i = threadIdx.x; i < kTile * kFeat; i += kThreads) {
        const int p = i / kFeat, f = i % kFeat;
        xs[p][f] = f < fc && p < valid ? tr.X[(j0 + p) * d + f0 + f] : 0.0f;
      }
      __syncthreads();
      if (threadIdx.x < kTile) {
        float v = xx[threadIdx.x];
        for (int f = 0; f < fc; ++f) v = fmaf(xs[threadIdx.x][f], xs[threadIdx.x][f], v);
        xx[threadIdx.x] = v;
      }
#pragma unroll
      for (int k8 = 0; k8 < kFeat; k8 += 8) {
        wmma::fragment<wmma::matrix_a, 16, 16, 8, wmma::precision::tf32, wmma::row_major> ah[2],
            al[2];
        wmma::fragment<wmma::matrix_b, 16, 16, 8, wmma::precision::tf32, wmma::col_major> bh[2],
            bl[2];
#pragma unroll
        for (int r = 0; r < 2; ++r) {
          wmma::load_matrix_sync(ah[r], &zs[warp * 32 + r * 16][k8], kLd);
#pragma unroll
          for (int e = 0; e < ah[r].num_elements; ++e) {
            const Tf32Split sp = split_tf32(ah[r].x[e]);
            ah[r].x[e] = sp.hi;
            al[r].x[e] = sp.lo;
          }
        }
#pragma unroll
        for (int c = 0; c < 2; ++c) {
          wmma::load_matrix_sync(bh[c], &xs[c * 16][k8], kLd);
#pragma unroll
          for (int e = 0; e < bh[c].num_elements; ++e) {
            const Tf32Split sp = split_tf32(bh[c].x[e]);
            bh[c].x[e] = sp.hi;
            bl[c].x[e] = sp.lo;
          }
        }
        // The small cross terms first, then the large one (dot3_tf32_add's order).
#pragma unroll
        for (int r = 0; r < 2; ++r) {
#pragma unroll
          for (int c = 0; c < 2; ++c) {
            wmma::mma_sync(acc[r][c], al[r], bh[c], acc[r][c]);
            wmma::mma_sync(acc[r][c], ah[r], bl[c], acc[r][c]);
            wmma::mma_sync(acc[r][c], ah[r], bh[c], acc[r][c]);
          }
        }
      }
    }
#pragma unroll
    for (int r = 0; r < 2; ++r) {
#pragma unroll
      for (int c = 0; c < 2; ++c) {
        wmma::store_matrix_sync(&dots[c * 16][warp * 32 + r * 16], acc[r][c], kLdDot,
                                wmma::mem_col_major);
      }
    }
    __syncthreads();  // the dots and the norms are complete
    if (!active) continue;
    float dist[kTile];
#pragma unroll
    for (int p = 0; p < kTile; ++p) dist[p] = norm_form_distance(zz, xx[p], dots[p][threadIdx.x]);
    const int skip_p = skip >= j0 && skip < j0 + kTile ? static_cast<int>(skip - j0) : -1;
    update_tile<float, K, NB, kTile>(st, nb, a.bandwidth, a.kernel, dist, ws, ys, valid, skip_p);
  }
  if (!active) return;
  share_nearest(st, nb, a.kernel);
  auto* parts = static_cast<State<float, K>*>(a.partials);
#pragma unroll
  for (int b = 0; b < NB; ++b) {
    if (b < nb) parts[(static_cast<std::int64_t>(blockIdx.y) * nb + b) * a.m + q] = st[b];
  }
}

// Grid: (query blocks) x (bandwidths of the pass).
template <class T, int K>
__global__ void __launch_bounds__(kThreads)
    combine_kernel(const State<T, K>* parts, int splits, int nb, std::int64_t m, bool gaussian,
                   Pass<T> a, T* out, std::int64_t ldo, std::int64_t col0, std::int64_t col_stride,
                   unsigned long long* isolated) {
  const std::int64_t q = static_cast<std::int64_t>(blockIdx.x) * kThreads + threadIdx.x;
  const int b = static_cast<int>(blockIdx.y);
  if (q >= m) return;
  const double half_inv_h2 = a.bandwidth[b].half_inv_h2;
  const std::int64_t stride = static_cast<std::int64_t>(nb) * m;
  State<T, K> s = parts[b * m + q];
  for (int i = 1; i < splits; ++i) merge(s, parts[i * stride + b * m + q], gaussian, half_inv_h2);
  const bool iso = finish(s, a.kc, out + q * ldo + col0 + b, col_stride);
  if (iso && isolated != nullptr) atomicAdd(isolated + b, 1ULL);
}

template <class T, int K, int NB>
cudaError_t launch(const Pass<T>& a, T* out, std::int64_t ldo, std::int64_t col0,
                   std::int64_t col_stride, unsigned long long* isolated, cudaStream_t stream) {
  const auto blocks = static_cast<unsigned>((a.m + kThreads - 1) / kThreads);
  const dim3 grid(blocks, static_cast<unsigned>(a.splits));
  if constexpr (std::is_same_v<T, float>) {
    if (a.train.d >= kTensorCoreMinD) {
      partial_tc_kernel<K, NB><<<grid, kThreads, 0, stream>>>(a);
    } else if (a.train.d <= kSmallD) {
      partial_kernel<T, K, NB, true><<<grid, kThreads, 0, stream>>>(a);
    } else {
      partial_kernel<T, K, NB, false><<<grid, kThreads, 0, stream>>>(a);
    }
  } else if (a.train.d <= kSmallD) {
    partial_kernel<T, K, NB, true><<<grid, kThreads, 0, stream>>>(a);
  } else {
    partial_kernel<T, K, NB, false><<<grid, kThreads, 0, stream>>>(a);
  }
  cudaError_t err = cudaGetLastError();
  if (err != cudaSuccess) return err;
  const int nb = NB == 1 ? 1 : a.nb;
  combine_kernel<T, K><<<dim3(blocks, static_cast<unsigned>(nb)), kThreads, 0, stream>>>(
      static_cast<const State<T, K>*>(a.partials), a.splits, nb, a.m,
      a.kernel == KernelKind::gaussian, a, out, ldo, col0, col_stride, isolated);
  return cudaGetLastError();
}

}  // namespace

template <class T>
std::size_t partial_bytes(std::int64_t m, int splits, int kc, int nb) {
  const std::size_t one = kc == 1 ? sizeof(State<T, 1>) : sizeof(State<T, kGroup>);
  return one * static_cast<std::size_t>(m) * static_cast<std::size_t>(splits) *
         static_cast<std::size_t>(nb);
}

template <class T>
cudaError_t launch_pass(const Pass<T>& pass, T* out, std::int64_t ldo, std::int64_t col0,
                        std::int64_t col_stride, unsigned long long* isolated,
                        cudaStream_t stream) {
  if (pass.kc != 1) {
    return launch<T, kGroup, 1>(pass, out, ldo, col0, col_stride, isolated, stream);
  }
  if constexpr (std::is_same_v<T, float>) {
    if (pass.nb > 1)
      return launch<T, 1, kBands>(pass, out, ldo, col0, col_stride, isolated, stream);
  }
  return launch<T, 1, 1>(pass, out, ldo, col0, col_stride, isolated, stream);
}

template std::size_t partial_bytes<float>(std::int64_t, int, int, int);
template std::size_t partial_bytes<double>(std::int64_t, int, int, int);
template cudaError_t launch_pass<float>(const Pass<float>&, float*, std::int64_t, std::int64_t,
                                        std::int64_t, unsigned long long*, cudaStream_t);
template cudaError_t launch_pass<double>(const Pass<double>&, double*, std::int64_t, std::int64_t,
                                         std::int64_t, unsigned long long*, cudaStream_t);

}  // namespace kreg::cuda
