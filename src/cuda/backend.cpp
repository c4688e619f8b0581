// cuda/backend.cpp - the CUDA engine (cuda/backend.hpp): the training set
// uploaded once by prepare, predictions by the fused kernels
// (cuda/kernels.hpp), one bandwidth or many (kBands a pass, each distance
// formed once for all of them), with exclusions.
//
// prepare drops the points of zero sample weight (they never contribute, nor
// count as nearest: as the CPU engine does) and uploads X, Y and the weights,
// which stay on the device for every later predict. A predict uploads its
// queries, runs one pass per block of bandwidths and group of outputs over
// chunks of queries (streamed, two in flight, when there is more than one),
// and downloads the predictions: device memory stays O((m + n) d). Between
// chunks and passes it polls the cancel token.
#include "cuda/backend.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <type_traits>
#include <vector>

#include "cuda/kernels.hpp"
#include "cuda/runtime.hpp"
#include "kreg/device.hpp"
#include "kreg/error.hpp"

namespace kreg::nw {

namespace {

using cuda::Buffer;

// Queries per chunk: bounds the partial states (m x splits x bandwidths of
// them) and the work between two polls of the cancel token. A predict of
// more queries streams them: two chunks in flight on two streams, through
// pinned host buffers, so one chunk's transfers overlap the other's kernels.
constexpr index_t kBatch = index_t{1} << 16;

std::atomic<index_t>& query_chunk_override() {
  static std::atomic<index_t> v{0};
  return v;
}
// Aim for this many thread blocks per SM, so that a few thousand queries
// (a few dozen blocks) still fill the device by splitting the training set.
constexpr int kBlocksPerSm = 4;
// Each split covers at least this many tiles, so merging stays cheap.
constexpr index_t kMinSplitTiles = 8;

template <class T>
class CudaFitted final : public Fitted<T> {
 public:
  // The buffers are freed on their device, whichever thread lets go last.
  ~CudaFitted() override { (void)cudaSetDevice(device); }
  index_t rows() const override { return rows_; }

  int device = 0;
  int sms = 1;
  index_t rows_ = 0;            // rows of the training set given to prepare
  index_t n = 0, d = 0, k = 0;  // points kept (positive weight), features, outputs
  Kernel kernel = Kernel::gaussian;
  double inv_h2 = 1.0;
  std::vector<index_t> position;  // row -> kept position (-1: dropped); empty: identity
  Buffer X, Y, w;
};

template <class T>
const CudaFitted<T>& fitted_of(const Fitted<T>& f) {
  return static_cast<const CudaFitted<T>&>(f);
}

cuda::KernelKind kind_of(Kernel k) {
  switch (k) {
    case Kernel::epanechnikov:
      return cuda::KernelKind::epanechnikov;
    case Kernel::tricube:
      return cuda::KernelKind::tricube;
    case Kernel::uniform:
      return cuda::KernelKind::uniform;
    case Kernel::gaussian:
      break;
  }
  return cuda::KernelKind::gaussian;
}

template <class T>
void upload(Buffer& dst, const T* src, std::size_t count, const char* what) {
  dst = Buffer(count * sizeof(T), what);
  if (count > 0) {
    cuda::check(cudaMemcpy(dst.get(), src, count * sizeof(T), cudaMemcpyHostToDevice), what);
  }
}

class CudaBackend final : public TypedBackend<CudaBackend> {
 public:
  std::string_view name() const override { return "cuda"; }
  std::string_view device() const override { return "cuda"; }

  bool supports(const Request& r, std::string* why) const override {
    const std::string reason = cuda::unavailable(r.device_index);
    if (reason.empty()) return true;
    if (why != nullptr) *why = reason;
    return false;
  }

  template <class T>
  std::unique_ptr<Fitted<T>> prepare_typed(TrainingSet<T> t) const {
    const std::string reason = cuda::unavailable(t.device_index);
    if (!reason.empty()) throw ArgumentError("the CUDA engine cannot run: " + reason);
    auto f = std::make_unique<CudaFitted<T>>();
    f->device = t.device_index;
    cuda::use_device(f->device);
    int sms = 1;
    cuda::check(cudaDeviceGetAttribute(&sms, cudaDevAttrMultiProcessorCount, f->device),
                "reading the device's SM count");
    f->sms = std::max(sms, 1);
    f->rows_ = t.X.rows();
    f->d = t.X.cols();
    f->k = t.Y.cols();
    f->kernel = t.kernel;
    f->inv_h2 = t.inv_h2;
    const bool weighted = !t.weights.empty();
    std::vector<index_t> keep;
    if (weighted && std::any_of(t.weights.begin(), t.weights.end(), [](T v) { return !(v > 0); })) {
      f->position.assign(static_cast<std::size_t>(f->rows_), -1);
      for (index_t j = 0; j < f->rows_; ++j) {
        if (t.weights[static_cast<std::size_t>(j)] > 0) {
          f->position[static_cast<std::size_t>(j)] = static_cast<index_t>(keep.size());
          keep.push_back(j);
        }
      }
    }
    f->n = f->position.empty() ? f->rows_ : static_cast<index_t>(keep.size());
    if (f->n == 0) throw ArgumentError("CUDA engine: no training point has a positive weight");
    // Contiguous copies of the kept rows (the views may be strided).
    std::vector<T> x(static_cast<std::size_t>(f->n * f->d)),
        y(static_cast<std::size_t>(f->n * f->k));
    std::vector<T> w;
    if (weighted) w.resize(static_cast<std::size_t>(f->n));
    for (index_t i = 0; i < f->n; ++i) {
      const index_t j = keep.empty() ? i : keep[static_cast<std::size_t>(i)];
      std::copy_n(&t.X(j, 0), f->d, x.begin() + i * f->d);
      std::copy_n(&t.Y(j, 0), f->k, y.begin() + i * f->k);
      if (weighted) w[static_cast<std::size_t>(i)] = t.weights[static_cast<std::size_t>(j)];
    }
    upload(f->X, x.data(), x.size(), "for the training points");
    upload(f->Y, y.data(), y.size(), "for the training targets");
    if (weighted) upload(f->w, w.data(), w.size(), "for the sample weights");
    return f;
  }

  template <class T>
  index_t predict_typed(const Fitted<T>& f, MatrixView<const T> Z, MatrixView<T> out, int,
                        const CancelToken* cancel) const {
    const double inv_h2[] = {fitted_of(f).inv_h2};
    index_t isolated[] = {0};
    run<T>(fitted_of(f), Z, inv_h2, {}, out, isolated, cancel);
    return isolated[0];
  }

  template <class T>
  void predict_grid_typed(const Fitted<T>& f, MatrixView<const T> Z, std::span<const double> inv_h2,
                          Exclusion exclusion, std::span<const index_t> exclude, MatrixView<T> out,
                          std::span<index_t> isolated, int, const CancelToken* cancel) const {
    std::vector<index_t> self;
    if (exclusion == Exclusion::self) {
      self.resize(static_cast<std::size_t>(Z.rows()));
      for (index_t q = 0; q < Z.rows(); ++q) self[static_cast<std::size_t>(q)] = q;
      exclude = self;
    }
    run<T>(fitted_of(f), Z, inv_h2, exclude, out, isolated, cancel);
  }

 private:
  // One of the (at most two) chunks of queries in flight: its device
  // buffers, pinned host staging (streaming only) and stream.
  struct Slot {
    Buffer dz, dout, dparts, dexclude, diso;
    cuda::HostBuffer hz, hout;
    std::vector<std::int64_t> skip;
    index_t q0 = -1, mb = 0;  // the chunk in flight (q0 < 0: none)
    // Last: destroyed first, it waits for the work queued on it (an
    // exception may leave some) before the buffers are freed.
    cuda::Stream stream;
  };

  template <class T>
  static void run(const CudaFitted<T>& f, MatrixView<const T> Z, std::span<const double> inv_h2,
                  std::span<const index_t> exclude, MatrixView<T> out, std::span<index_t> isolated,
                  const CancelToken* cancel) {
    const index_t m = Z.rows(), k = f.k, d = f.d;
    const auto B = static_cast<index_t>(inv_h2.size());
    if (B == 0) throw ArgumentError("CUDA engine: no bandwidths");
    if (Z.cols() != d || out.rows() != m || out.cols() != k * B ||
        static_cast<index_t>(isolated.size()) != B ||
        (!exclude.empty() && static_cast<index_t>(exclude.size()) != m)) {
      throw ArgumentError("CUDA engine: query, output, isolated or exclude sizes do not match");
    }
    if (m == 0) return;
    throw_if_cancelled(cancel);
    cuda::use_device(f.device);

    // The training set's cut into splits depends on the predict's size, not
    // on how its queries are chunked: every chunking gives the same bits.
    const index_t part_q = std::min(m, kBatch);
    const index_t q_blocks = (part_q + cuda::kThreads - 1) / cuda::kThreads;
    const index_t tiles = (f.n + cuda::kTile - 1) / cuda::kTile;
    const index_t want = (static_cast<index_t>(f.sms) * kBlocksPerSm + q_blocks - 1) / q_blocks;
    const index_t max_splits = std::max<index_t>(1, tiles / kMinSplitTiles);
    const index_t wanted_splits =
        std::clamp<index_t>(want, 1, std::min<index_t>(max_splits, 65535));
    const index_t chunk = ((tiles + wanted_splits - 1) / wanted_splits) * cuda::kTile;
    const auto splits = static_cast<int>((f.n + chunk - 1) / chunk);

    const index_t forced = query_chunk_override().load();
    const index_t batch = std::min(m, forced > 0 ? forced : kBatch);
    const bool streaming = batch < m;  // two chunks in flight, through pinned buffers
    const index_t ldo = k * B;
    const int kc_max = k == 1 ? 1 : cuda::kGroup;
    const int nb_max = k == 1 && std::is_same_v<T, float>
                           ? static_cast<int>(std::min<index_t>(B, cuda::kBands))
                           : 1;
    const auto iso_bytes = static_cast<std::size_t>(B) * sizeof(unsigned long long);

    std::vector<std::unique_ptr<Slot>> slots;
    for (int i = 0; i < (streaming ? 2 : 1); ++i) {
      auto s = std::make_unique<Slot>();
      s->dz = Buffer(static_cast<std::size_t>(batch * d) * sizeof(T), "for the queries");
      s->dout = Buffer(static_cast<std::size_t>(batch * ldo) * sizeof(T), "for the predictions");
      s->dparts =
          Buffer(cuda::partial_bytes<T>(batch, splits, kc_max, nb_max), "for the partial sums");
      s->dexclude =
          Buffer(exclude.empty() ? 0 : static_cast<std::size_t>(batch) * sizeof(std::int64_t),
                 "for the excluded rows");
      s->diso = Buffer(iso_bytes, "for the counts");
      if (streaming) {
        s->hz = cuda::HostBuffer(static_cast<std::size_t>(batch * d) * sizeof(T),
                                 "for the queries' staging");
        s->hout = cuda::HostBuffer(static_cast<std::size_t>(batch * ldo) * sizeof(T),
                                   "for the predictions' staging");
      }
      cuda::check(cudaMemsetAsync(s->diso.get(), 0, iso_bytes, s->stream.get()),
                  "clearing the counts");
      slots.push_back(std::move(s));
    }

    // Waits for a slot's chunk and, when streaming, copies its predictions
    // from the pinned buffer to `out`.
    auto drain = [&](Slot& s) {
      if (s.q0 < 0) return;
      s.stream.sync("running the NW kernels");
      if (streaming) {
        for (index_t q = 0; q < s.mb; ++q) {
          std::copy_n(s.hout.template as<T>() + q * ldo, ldo, &out(s.q0 + q, 0));
        }
      }
      s.q0 = -1;
    };
    auto stop_if_cancelled = [&] {
      if (cancel == nullptr || !cancel->requested()) return;
      for (auto& s : slots) s->stream.sync("running the NW kernels");
      throw_if_cancelled(cancel);
    };

    cuda::Pass<T> pass;
    pass.train = {f.X.template as<T>(), f.Y.template as<T>(), f.w.template as<T>(), f.n, d, k};
    pass.kernel = kind_of(f.kernel);
    pass.splits = splits;
    pass.chunk = chunk;
    index_t round = 0;
    for (index_t q0 = 0; q0 < m; q0 += batch, ++round) {
      Slot& s = *slots[static_cast<std::size_t>(round) % slots.size()];
      drain(s);  // the chunk two back; the other slot's keeps the device busy
      stop_if_cancelled();
      const index_t mb = std::min(batch, m - q0);
      const cudaStream_t st = s.stream.get();
      if (streaming) {
        T* hz = s.hz.template as<T>();
        for (index_t q = 0; q < mb; ++q) std::copy_n(&Z(q0 + q, 0), d, hz + q * d);
        cuda::check(cudaMemcpyAsync(s.dz.get(), hz, static_cast<std::size_t>(mb * d) * sizeof(T),
                                    cudaMemcpyHostToDevice, st),
                    "copying the queries to the device");
      } else {
        cuda::check(
            cudaMemcpy2DAsync(s.dz.get(), static_cast<std::size_t>(d) * sizeof(T),
                              Z.data() + q0 * Z.ld(), static_cast<std::size_t>(Z.ld()) * sizeof(T),
                              static_cast<std::size_t>(d) * sizeof(T), static_cast<std::size_t>(mb),
                              cudaMemcpyHostToDevice, st),
            "copying the queries to the device");
      }
      pass.exclude = nullptr;
      if (!exclude.empty()) {
        s.skip.resize(static_cast<std::size_t>(mb));
        for (index_t q = 0; q < mb; ++q) {
          const index_t row = exclude[static_cast<std::size_t>(q0 + q)];
          s.skip[static_cast<std::size_t>(q)] =
              row < 0 || f.position.empty() ? row : f.position[static_cast<std::size_t>(row)];
        }
        cuda::check(
            cudaMemcpyAsync(s.dexclude.get(), s.skip.data(), s.skip.size() * sizeof(std::int64_t),
                            cudaMemcpyHostToDevice, st),
            "copying the excluded rows to the device");
        pass.exclude = s.dexclude.template as<std::int64_t>();
      }
      pass.Z = s.dz.template as<T>();
      pass.partials = s.dparts.get();
      pass.m = mb;
      for (index_t b0 = 0; b0 < B; b0 += nb_max) {
        pass.nb = static_cast<int>(std::min<index_t>(nb_max, B - b0));
        for (int b = 0; b < pass.nb; ++b) {
          pass.bandwidth[b] = cuda::make_bandwidth<T>(inv_h2[static_cast<std::size_t>(b0 + b)]);
        }
        for (index_t c0 = 0; c0 < k; c0 += kc_max) {
          pass.c0 = static_cast<int>(c0);
          pass.kc = static_cast<int>(std::min<index_t>(kc_max, k - c0));
          cuda::check(cuda::launch_pass<T>(
                          pass, s.dout.template as<T>(), ldo, c0 * B + b0, B,
                          c0 == 0 ? s.diso.template as<unsigned long long>() + b0 : nullptr, st),
                      "launching the NW kernels");
        }
        stop_if_cancelled();  // the queued work is bounded by a chunk's pass
      }
      if (streaming) {
        cuda::check(cudaMemcpyAsync(s.hout.get(), s.dout.get(),
                                    static_cast<std::size_t>(mb * ldo) * sizeof(T),
                                    cudaMemcpyDeviceToHost, st),
                    "copying the predictions from the device");
      } else {
        cuda::check(cudaMemcpy2DAsync(out.data() + q0 * out.ld(),
                                      static_cast<std::size_t>(out.ld()) * sizeof(T), s.dout.get(),
                                      static_cast<std::size_t>(ldo) * sizeof(T),
                                      static_cast<std::size_t>(ldo) * sizeof(T),
                                      static_cast<std::size_t>(mb), cudaMemcpyDeviceToHost, st),
                    "copying the predictions from the device");
      }
      s.q0 = q0;
      s.mb = mb;
    }
    std::vector<unsigned long long> iso(static_cast<std::size_t>(B)),
        part(static_cast<std::size_t>(B));
    for (auto& s : slots) {
      drain(*s);
      cuda::check(cudaMemcpy(part.data(), s->diso.get(), iso_bytes, cudaMemcpyDeviceToHost),
                  "copying the counts from the device");
      for (std::size_t b = 0; b < part.size(); ++b) iso[b] += part[b];
    }
    for (index_t b = 0; b < B; ++b) {
      isolated[static_cast<std::size_t>(b)] +=
          static_cast<index_t>(iso[static_cast<std::size_t>(b)]);
    }
  }
};

}  // namespace

void set_cuda_query_chunk(index_t queries) { query_chunk_override().store(queries); }

const Backend* cuda_backend() {
  static const CudaBackend backend;
  return &backend;
}

}  // namespace kreg::nw
