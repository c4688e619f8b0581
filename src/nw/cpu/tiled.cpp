// nw/cpu/tiled.cpp - the tiled engine's driver: predict_fused (one bandwidth)
// and predict_grid (B bandwidths, optional exclusions) are the same call.
//
// It drops the points of zero sample weight, packs the training set into
// tiles (nw/cpu/tiled.hpp) a chunk at a time, allocates the queries' running
// sums, runs the blocks of queries in parallel through one block kernel, and
// finally divides. One bandwidth takes small tiles and the one-bandwidth
// kernel (nw/cpu/one_bandwidth.cpp); more take large tiles and the
// many-bandwidth kernel (nw/cpu/many_bandwidths.cpp), which shares work
// between bandwidths. Either way a query's sums do not depend on the block or
// thread it lands in, so the results are the same bits for any n_threads.
#include <hwy/aligned_allocator.h>

#include <algorithm>
#include <atomic>
#include <cstddef>
#include <limits>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "core/parallel.hpp"
#include "kreg/error.hpp"
#include "nw/cpu/engines.hpp"
#include "nw/cpu/tiled.hpp"
#include "system/simd_target.hpp"

namespace kreg::nw {
namespace tiled {
namespace {

// The rows of X with a positive sample weight, or empty when every row has
// one; `position` (when given) maps a row of X to its place among them, -1
// for a dropped row (left empty when nothing is dropped).
template <class T>
std::vector<index_t> kept_rows(const Problem<T>& p, std::vector<index_t>* position) {
  std::vector<index_t> keep;
  if (p.weights.empty() ||
      std::all_of(p.weights.begin(), p.weights.end(), [](T w) { return w > 0; })) {
    return keep;
  }
  if (position != nullptr) position->assign(static_cast<std::size_t>(p.X.rows()), -1);
  for (index_t j = 0; j < p.X.rows(); ++j) {
    if (p.weights[static_cast<std::size_t>(j)] > 0) {
      if (position != nullptr) {
        (*position)[static_cast<std::size_t>(j)] = static_cast<index_t>(keep.size());
      }
      keep.push_back(j);
    }
  }
  return keep;
}

// The one-bandwidth tile's points for d features at its own tile size.
template <class T>
index_t one_bandwidth_tile(index_t d) {
  return tile_points<T>(d, high_d<T>(d) ? high_d_tile_bytes() : kTileBytes, kMaxTile);
}

// The prediction of every query at every bandwidth: out(q, c * B + b) =
// num / den, or, where nothing fell inside a compact kernel's support, the
// mean y of the nearest point(s), counted in isolated[b].
template <class T>
void finish(const Job<T>& job, index_t q0, index_t q1, MatrixView<T> out,
            std::span<std::atomic<index_t>> isolated) {
  const QueryState<T>& st = job.state;
  const index_t B = job.B, k = job.tiles.k;
  std::vector<index_t> count(static_cast<std::size_t>(B), 0);
  for (index_t q = q0; q < q1; ++q) {
    for (index_t b = 0; b < B; ++b) {
      const double den = st.den[q * B + b];
      const double* num = st.num + (q * B + b) * k;
      if (den > 0) {
        for (index_t c = 0; c < k; ++c) out(q, c * B + b) = static_cast<T>(num[c] / den);
      } else {
        ++count[static_cast<std::size_t>(b)];
        for (index_t c = 0; c < k; ++c) {
          out(q, c * B + b) = static_cast<T>(st.tie_y[q * k + c] / st.tie_w[q]);
        }
      }
    }
  }
  for (index_t b = 0; b < B; ++b) {
    const index_t n = count[static_cast<std::size_t>(b)];
    if (n > 0) isolated[static_cast<std::size_t>(b)].fetch_add(n, std::memory_order_relaxed);
  }
}

// predict_fused and predict_grid; `caller` names the one the user called in
// messages.
template <class T>
void predict_tiled(const char* caller, const Problem<T>& p, MatrixView<const T> Z,
                   std::span<const double> inv_h2, std::span<const index_t> exclude,
                   MatrixView<T> out, std::span<index_t> isolated, int n_threads,
                   const CancelToken* cancel, index_t tile_bytes) {
  detail::use_simd_target();
  const index_t m = Z.rows(), d = p.X.cols(), k = p.Y.cols();
  const auto B = static_cast<index_t>(inv_h2.size());
  if (B == 0) throw ArgumentError(std::string(caller) + ": no bandwidths");
  if (out.rows() != m || out.cols() != k * B || static_cast<index_t>(isolated.size()) != B ||
      (!exclude.empty() && static_cast<index_t>(exclude.size()) != m)) {
    throw ArgumentError(std::string(caller) + ": output, isolated or exclude sizes do not match");
  }
  if (m == 0) return;
  const bool weighted = !p.weights.empty();

  // Points of zero sample weight never contribute (nor count as nearest);
  // `position` maps a row of X to its packed position (-1: dropped).
  std::vector<index_t> position;
  const std::vector<index_t> keep = kept_rows(p, &position);
  const index_t n = keep.empty() ? p.X.rows() : static_cast<index_t>(keep.size());
  if (n == 0) {
    throw ArgumentError(std::string(caller) + ": no training point has a positive weight");
  }
  std::vector<index_t> skip;
  if (!exclude.empty()) {
    skip.resize(static_cast<std::size_t>(m));
    for (index_t q = 0; q < m; ++q) {
      const index_t row = exclude[static_cast<std::size_t>(q)];
      skip[static_cast<std::size_t>(q)] =
          row < 0 || position.empty() ? row : position[static_cast<std::size_t>(row)];
    }
  }

  const bool one = B == 1;
  const index_t max_tile = one ? kMaxTile : kGridMaxTile;
  const index_t tile = tile_bytes > 0 ? tile_points<T>(d, tile_bytes, max_tile)
                       : one          ? one_bandwidth_tile<T>(d)
                                      : tile_points<T>(d, grid_tile_bytes(), max_tile);
  const index_t grain = block_grain<T>(one, d, m, n_threads);
  // The training set's tiles packed once by the fused backend (its first predict of the model),
  // when this call would pack the same ones.
  const PackedTiles<T>* ready = one && p.packed != nullptr && p.packed->tile == tile &&
                                        p.packed->n == n &&
                                        (p.packed->norms || p.kernel != Kernel::gaussian)
                                    ? p.packed
                                    : nullptr;
  // The norm form of distances for the queries whose error bound allows it
  // (norm_form_fits, nw/cpu/tiled.hpp): Gaussian only.
  QueryNorms<T> qn;
  if (p.kernel == Kernel::gaussian) {
    const double max_ih2 = *std::max_element(inv_h2.begin(), inv_h2.end());
    qn = query_norms<T>(Z, ready ? ready->max_x2 : max_squared_norm<T>(p.X, keep), max_ih2);
  }
  const bool norms = qn.any();
  // Packed tiles may carry a row of norms no query of this call reads: only
  // the stride between tiles differs.
  const index_t stride =
      ready ? ready->stride : (d + k + (weighted ? 1 : 0) + (norms ? 1 : 0)) * tile;
  const index_t n_tiles = (n + tile - 1) / tile;
  const index_t chunk_tiles =
      ready ? n_tiles
            : std::clamp<index_t>(kChunkBytes / (stride * static_cast<index_t>(sizeof(T))), 1,
                                  n_tiles);
  hwy::AlignedFreeUniquePtr<T[]> packed;
  if (!ready) packed = hwy::AllocateAligned<T>(static_cast<std::size_t>(chunk_tiles * stride));

  const auto mu = static_cast<std::size_t>(m), mk = static_cast<std::size_t>(m * k);
  const auto mb = static_cast<std::size_t>(m * B);
  std::vector<T> nearest(mu, std::numeric_limits<T>::infinity());
  std::vector<double> den(mb, 0.0), num(mb * static_cast<std::size_t>(k), 0.0);
  std::vector<double> tie_w(mu, 0.0), tie_y(mk, 0.0);
  std::vector<std::atomic<index_t>> iso(static_cast<std::size_t>(B));
  for (auto& a : iso) a.store(0);

  // The bandwidths by ascending inv_h2 (widest first, ties in input order),
  // and back: the power sums' order (PowerSumBandwidths).
  std::vector<index_t> order, rank;
  if (!one) {
    order.resize(static_cast<std::size_t>(B));
    rank.resize(static_cast<std::size_t>(B));
    for (index_t b = 0; b < B; ++b) order[static_cast<std::size_t>(b)] = b;
    std::stable_sort(order.begin(), order.end(), [&](index_t a, index_t b) {
      return inv_h2[static_cast<std::size_t>(a)] < inv_h2[static_cast<std::size_t>(b)];
    });
    for (index_t i = 0; i < B; ++i) {
      rank[static_cast<std::size_t>(order[static_cast<std::size_t>(i)])] = i;
    }
  }

  Job<T> job;
  job.kernel = p.kernel;
  job.B = B;
  job.inv_h2 = inv_h2.data();
  job.order = order.data();
  job.rank = rank.data();
  job.z = Z.data();
  job.ldz = Z.ld();
  job.exclude = skip.empty() ? nullptr : skip.data();
  job.zn = norms ? qn.zn.data() : nullptr;
  job.state = {nearest.data(), den.data(), num.data(), tie_w.data(), tie_y.data()};
  job.cancel = cancel;
  job.wide = one && high_d<T>(d);

  for (index_t t0 = 0; t0 < n_tiles; t0 += chunk_tiles) {
    throw_if_cancelled(cancel);
    const index_t t1 = std::min(n_tiles, t0 + chunk_tiles);
    const index_t first = t0 * tile, count = std::min(n, t1 * tile) - first;
    if (!ready) pack(p, keep, first, count, tile, stride, norms, packed.get());
    job.tiles = {ready ? ready->data.get() : packed.get(),
                 stride,
                 tile,
                 t1 - t0,
                 count - (t1 - t0 - 1) * tile,
                 d,
                 k,
                 weighted,
                 norms};
    job.first_tile = t0;
    const bool last = t1 == n_tiles;
    detail::parallel_blocks(n_threads, m, grain, [&](index_t begin, index_t end) {
      if (job.cancelled()) return;
      if (one) {
        sum_one_bandwidth(job, begin, end);
      } else {
        sum_many_bandwidths(job, begin, end);
      }
      // A block that saw the request left its queries unfinished.
      if (last && !job.cancelled()) finish(job, begin, end, out, iso);
    });
  }
  throw_if_cancelled(cancel);
  for (index_t b = 0; b < B; ++b) {
    isolated[static_cast<std::size_t>(b)] += iso[static_cast<std::size_t>(b)].load();
  }
}

}  // namespace
}  // namespace tiled

template <class T>
index_t predict_fused(const Problem<T>& p, MatrixView<const T> Z, MatrixView<T> out, int n_threads,
                      const CancelToken* cancel) {
  const double inv_h2[] = {p.inv_h2};
  index_t isolated[] = {0};
  tiled::predict_tiled<T>("predict_fused", p, Z, inv_h2, {}, out, isolated, n_threads, cancel, 0);
  return isolated[0];
}

template <class T>
void predict_grid(const Problem<T>& p, MatrixView<const T> Z, std::span<const double> inv_h2,
                  std::span<const index_t> exclude, MatrixView<T> out, std::span<index_t> isolated,
                  int n_threads, const CancelToken* cancel, index_t tile_bytes) {
  tiled::predict_tiled<T>("predict_grid", p, Z, inv_h2, exclude, out, isolated, n_threads, cancel,
                          tile_bytes);
}

template <class T>
std::shared_ptr<const PackedTiles<T>> pack_for_predict(const Problem<T>& p) {
  const index_t d = p.X.cols(), k = p.Y.cols();
  const std::vector<index_t> keep = tiled::kept_rows(p, nullptr);
  const index_t n = keep.empty() ? p.X.rows() : static_cast<index_t>(keep.size());
  if (n == 0 || d == 0) return nullptr;
  auto out = std::make_shared<PackedTiles<T>>();
  out->tile = tiled::one_bandwidth_tile<T>(d);
  out->n = n;
  out->norms = p.kernel == Kernel::gaussian;
  out->stride = (d + k + (p.weights.empty() ? 0 : 1) + (out->norms ? 1 : 0)) * out->tile;
  out->n_tiles = (n + out->tile - 1) / out->tile;
  // Only a set that predict would pack in one chunk (the rest is packed a
  // chunk at a time per call, without keeping a second copy of it).
  if (out->n_tiles * out->stride * static_cast<index_t>(sizeof(T)) > tiled::kChunkBytes) {
    return nullptr;
  }
  if (out->norms) out->max_x2 = tiled::max_squared_norm<T>(p.X, keep);
  out->data = hwy::AllocateAligned<T>(static_cast<std::size_t>(out->n_tiles * out->stride));
  tiled::pack(p, keep, 0, n, out->tile, out->stride, out->norms, out->data.get());
  return out;
}

template std::shared_ptr<const PackedTiles<float>> pack_for_predict<float>(const Problem<float>&);
template std::shared_ptr<const PackedTiles<double>> pack_for_predict<double>(
    const Problem<double>&);
template index_t predict_fused<float>(const Problem<float>&, MatrixView<const float>,
                                      MatrixView<float>, int, const CancelToken*);
template index_t predict_fused<double>(const Problem<double>&, MatrixView<const double>,
                                       MatrixView<double>, int, const CancelToken*);
template void predict_grid<float>(const Problem<float>&, MatrixView<const float>,
                                  std::span<const double>, std::span<const index_t>,
                                  MatrixView<float>, std::span<index_t>, int, const CancelToken*,
                                  index_t);
template void predict_grid<double>(const Problem<double>&, MatrixView<const double>,
                                   std::span<const double>, std::span<const index_t>,
                                   MatrixView<double>, std::span<index_t>, int, const CancelToken*,
                                   index_t);

}  // namespace kreg::nw
