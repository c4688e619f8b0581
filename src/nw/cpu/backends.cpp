// nw/cpu/backends.cpp - kreg's CPU engines behind the backend interface
// (nw/backend.hpp): fused (the tiled SIMD driver: every operation), then
// vectorized and reference (one bandwidth, no exclusions).
#include <memory>
#include <mutex>
#include <numeric>
#include <string>

#include "kreg/error.hpp"
#include "nw/backend.hpp"
#include "nw/cpu/engines.hpp"

namespace kreg::nw {

namespace {

// The CPU keeps the prepared training set as it is; the engines pack their
// tiles per call (a pass over n x d values, small next to the m x n pairs),
// but for the fused engine's predict, which packs its tiles on its first call
// and keeps them (a model only ever scored at many bandwidths, as in
// cross-validation, never packs them).
template <class T>
class CpuFitted final : public Fitted<T> {
 public:
  explicit CpuFitted(TrainingSet<T> t) : t_(std::move(t)) {}
  index_t rows() const override { return t_.X.rows(); }
  Problem<T> problem() const { return {t_.X, t_.Y, t_.weights, t_.kernel, t_.inv_h2}; }
  // problem() with the fused predict's tiles, packed by the first caller
  // (the others wait for it): the Fitted stays immutable to its users.
  Problem<T> packed_problem() const {
    std::call_once(once_, [&] { packed_ = pack_for_predict<T>(problem()); });
    Problem<T> p = problem();
    p.packed = packed_.get();
    return p;
  }

 private:
  TrainingSet<T> t_;
  mutable std::once_flag once_;
  mutable std::shared_ptr<const PackedTiles<T>> packed_;
};

// The cost model auto ranks the CPU engines by (Backend::cost): one query
// against n training points costs n (a + b d) nanoseconds on one core, with
// a and b fitted per engine and dtype to two measured workloads of bench_nw,
// one thread, CPU time: the tutorial's (d = 10, n = 8000, one output) and
// Fashion-MNIST's pixels (d = 784, n = 60000, ten outputs), on an AVX-512
// AMD EPYC (docs/benchmarks.md, "High d (784): GEMM-like blocking and auto's
// cost model"). The reference engine, the long-double oracle, gives no
// estimate: auto takes it only when neither of these can run the call.
struct PairCost {
  double a_ns, b_ns;  // per pair, per pair and feature
};
constexpr PairCost kFusedCost[] = {{0.179, 0.0215}, {0.464, 0.0405}};     // f32, f64
constexpr PairCost kVectorizedCost[] = {{5.33, 0.0396}, {8.68, 0.0598}};  // f32, f64

double query_seconds(const PairCost (&table)[2], const Request& r) {
  const PairCost& c = table[r.dtype == Dtype::f32 ? 0 : 1];
  return static_cast<double>(r.n) * (c.a_ns + c.b_ns * static_cast<double>(r.d)) * 1e-9;
}

template <class T>
const CpuFitted<T>& cpu(const Fitted<T>& f) {
  return static_cast<const CpuFitted<T>&>(f);
}

// What the three CPU backends share; Derived supplies name() and the
// single-bandwidth predict (`run`).
template <class Derived>
class CpuBackend : public TypedBackend<Derived> {
 public:
  std::string_view device() const override { return "cpu"; }

  template <class T>
  std::unique_ptr<Fitted<T>> prepare_typed(TrainingSet<T> t) const {
    return std::make_unique<CpuFitted<T>>(std::move(t));
  }
  template <class T>
  index_t predict_typed(const Fitted<T>& f, MatrixView<const T> Z, MatrixView<T> out, int n_threads,
                        const CancelToken* cancel) const {
    if (Z.rows() == 0) return 0;
    return static_cast<const Derived&>(*this).run(cpu(f).problem(), Z, out, n_threads, cancel);
  }
};

class FusedBackend final : public CpuBackend<FusedBackend> {
 public:
  std::string_view name() const override { return "fused"; }
  bool supports(const Request&, std::string*) const override { return true; }
  double cost(const Request& r) const override { return query_seconds(kFusedCost, r); }

  // Predicts from the model's tiles, packed once.
  template <class T>
  index_t predict_typed(const Fitted<T>& f, MatrixView<const T> Z, MatrixView<T> out, int n_threads,
                        const CancelToken* cancel) const {
    if (Z.rows() == 0) return 0;
    return run(cpu(f).packed_problem(), Z, out, n_threads, cancel);
  }

  template <class T>
  index_t run(const Problem<T>& p, MatrixView<const T> Z, MatrixView<T> out, int n_threads,
              const CancelToken* cancel) const {
    return nw::predict_fused<T>(p, Z, out, n_threads, cancel);
  }

  template <class T>
  void predict_grid_typed(const Fitted<T>& f, MatrixView<const T> Z, std::span<const double> inv_h2,
                          Exclusion exclusion, std::span<const index_t> exclude, MatrixView<T> out,
                          std::span<index_t> isolated, int n_threads,
                          const CancelToken* cancel) const {
    const Problem<T> p = cpu(f).problem();
    std::vector<index_t> self;
    if (exclusion == Exclusion::self) {
      // A whole leave-one-out at one bandwidth: one exponential per unordered
      // pair where the symmetric scheme applies (it declines otherwise).
      if (inv_h2.size() == 1 &&
          nw::predict_loo_symmetric<T>(p, inv_h2[0], out, n_threads, cancel)) {
        return;
      }
      self.resize(static_cast<std::size_t>(Z.rows()));
      std::iota(self.begin(), self.end(), index_t{0});
      exclude = self;
    }
    nw::predict_grid<T>(p, Z, inv_h2, exclude, out, isolated, n_threads, cancel);
  }
};

// The engines that predict at one bandwidth over every training point.
template <class Derived>
class SingleBandwidthBackend : public CpuBackend<Derived> {
 public:
  bool supports(const Request& r, std::string* why) const override {
    if (r.operation == Operation::predict) return true;
    if (why != nullptr) *why = "it predicts at one bandwidth, without excluded rows";
    return false;
  }
  template <class T>
  void predict_grid_typed(const Fitted<T>&, MatrixView<const T>, std::span<const double>, Exclusion,
                          std::span<const index_t>, MatrixView<T>, std::span<index_t>, int,
                          const CancelToken*) const {
    throw ArgumentError(std::string(static_cast<const Derived&>(*this).name()) +
                        " engine: predict_grid is not supported (supports() says so)");
  }
};

class VectorizedBackend final : public SingleBandwidthBackend<VectorizedBackend> {
 public:
  std::string_view name() const override { return "vectorized"; }
  double cost(const Request& r) const override { return query_seconds(kVectorizedCost, r); }
  template <class T>
  index_t run(const Problem<T>& p, MatrixView<const T> Z, MatrixView<T> out, int n_threads,
              const CancelToken* cancel) const {
    return nw::predict_vectorized<T>(p, Z, out, n_threads, cancel);
  }
};

class ReferenceBackend final : public SingleBandwidthBackend<ReferenceBackend> {
 public:
  std::string_view name() const override { return "reference"; }
  template <class T>
  index_t run(const Problem<T>& p, MatrixView<const T> Z, MatrixView<T> out, int n_threads,
              const CancelToken* cancel) const {
    return nw::predict_reference<T>(p, Z, out, n_threads, cancel);
  }
};

}  // namespace

std::vector<const Backend*> cpu_backends() {
  static const FusedBackend fused;
  static const VectorizedBackend vectorized;
  static const ReferenceBackend reference;
  return {&fused, &vectorized, &reference};
}

}  // namespace kreg::nw
