// cuda/kernels.cu - the CUDA engine's kernels (cuda/kernels.hpp says how a
// predict uses them; cuda/tile_math.hpp holds their arithmetic, which the
// CPU tests check).
//
// Distances are formed by exact differences, sum_f (z_f - x_f)^2, for every
// d: accurate for data far from the origin (the front centred it) and, for
// small d, the whole cost of a pair is one exponential and a few FMAs.
// Large d (784) stages the tile's features through shared memory kFeat at a
// time. The tile's sums are formed in T and added to the thread's double
// state, as the CPU engine does.
#include "cuda/kernels.hpp"

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
  if (a.train.d <= kSmallD) {
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
  if (pass.nb == 1) return launch<T, 1, 1>(pass, out, ldo, col0, col_stride, isolated, stream);
  return launch<T, 1, kBands>(pass, out, ldo, col0, col_stride, isolated, stream);
}

template std::size_t partial_bytes<float>(std::int64_t, int, int, int);
template std::size_t partial_bytes<double>(std::int64_t, int, int, int);
template cudaError_t launch_pass<float>(const Pass<float>&, float*, std::int64_t, std::int64_t,
                                        std::int64_t, unsigned long long*, cudaStream_t);
template cudaError_t launch_pass<double>(const Pass<double>&, double*, std::int64_t, std::int64_t,
                                         std::int64_t, unsigned long long*, cudaStream_t);

}  // namespace kreg::cuda
