// nw/backend.hpp - the one seam between kreg's front ends and its engines.
//
// A backend is an engine that can compute Nadaraya-Watson predictions on
// some device (ggml's backends, FAISS's Index/GpuIndex pairs). The front ends
// (NadarayaWatson, BandwidthCV: nw/front.hpp does their validation, centring
// and scaling) describe each call in a Request; the registry hands it to the
// first backend, in preference order, whose supports() says yes ("auto"), or
// to the one the user named. So a backend that lacks something (a kernel, a
// dtype, many bandwidths, exclusions) is skipped instead of failing, and a
// new one (CUDA, a test double) joins kreg and its consistency tests by
// registering.
//
// Data contract (nw/cpu/engines.hpp): the training points are centred and
// scaled, so that the kernel argument of query z and point x is
// u^2 = inv_h2 * ||z - x||^2; inv_h2 is finite and > 0 but may be huge.
// Predictions are the same bits for any n_threads.
#pragma once

#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "kreg/device.hpp"
#include "kreg/interrupt.hpp"
#include "kreg/matrix.hpp"
#include "kreg/nw.hpp"
#include "nw/cpu/engines.hpp"

namespace kreg::nw {

enum class Operation {
  predict,       // one bandwidth, every training point
  predict_grid,  // B bandwidths in one pass, optionally excluding a row per query
};

// Rows a query must not see: none; `rows` (query q skips training row
// exclude[q], or none for -1: k-fold and blocks of leave-one-out); or `self`
// (the queries are the training rows, in order, each skipping itself: a whole
// leave-one-out, where a backend may use the symmetry of the pairs).
enum class Exclusion { none, rows, self };

enum class Dtype { f32, f64 };
template <class T>
constexpr Dtype dtype_of() {
  return sizeof(T) == 4 ? Dtype::f32 : Dtype::f64;
}

// Everything supports() may look at: a backend answers from this alone.
struct Request {
  Operation operation = Operation::predict;
  Kernel kernel = Kernel::gaussian;
  Dtype dtype = Dtype::f64;
  bool weighted = false;
  index_t bandwidths = 1;
  Exclusion exclusion = Exclusion::none;
  index_t n = 0, d = 0, k = 0;  // training points, features, outputs
  int device_index = 0;         // which device of the backend's kind (cuda:K)
};

// The training set, prepared by the front: centred, scaled, targets and
// weights scaled by powers of two where needed (nw/scaling.hpp). Owned, so
// a backend can keep it (the CPU) or upload it and let it go (a device).
template <class T>
struct TrainingSet {
  Matrix<T> X;             // n x d
  Matrix<T> Y;             // n x k
  std::vector<T> weights;  // n sample weights, or empty for all ones
  Kernel kernel = Kernel::gaussian;
  double inv_h2 = 1.0;   // predict's 1 / h^2 (predict_grid takes its own)
  int device_index = 0;  // which device of the backend's kind (cuda:K)
};

// A training set as one backend keeps it (packed, device-resident, ...).
// Made by that backend's prepare and only ever passed back to it.
template <class T>
class Fitted {
 public:
  virtual ~Fitted() = default;
  virtual index_t rows() const = 0;
};

class Backend {
 public:
  virtual ~Backend() = default;
  // The name users select it by ("fused", "cuda", ...), and where it runs.
  virtual std::string_view name() const = 0;
  virtual std::string_view device() const = 0;
  // Whether this backend can do `request`; when not, and `why` is given, a
  // short reason a user can act on ("predicts at one bandwidth only").
  virtual bool supports(const Request& request, std::string* why = nullptr) const = 0;
  // The estimated seconds per query of `request` on one core, from the
  // backend's own calibrated cost model; NaN (the default): no estimate.
  // "auto" ranks consecutive backends that give estimates by them (see
  // choose()); the others keep their place in the preference order.
  virtual double cost(const Request& request) const;

  // The training set as this backend keeps it, for any number of predicts
  // (from several threads at once: a Fitted is immutable).
  virtual std::unique_ptr<Fitted<float>> prepare(TrainingSet<float> training) const = 0;
  virtual std::unique_ptr<Fitted<double>> prepare(TrainingSet<double> training) const = 0;

  // out (m x k) for queries Z (m x d, centred and scaled like X) at the
  // training set's inv_h2; returns the isolated-query count. Polls `cancel`
  // (nullptr: never) between small units of work and then throws
  // kreg::Cancelled, leaving `out` unfinished.
  virtual index_t predict(const Fitted<float>& fitted, MatrixView<const float> Z,
                          MatrixView<float> out, int n_threads,
                          const CancelToken* cancel) const = 0;
  virtual index_t predict(const Fitted<double>& fitted, MatrixView<const double> Z,
                          MatrixView<double> out, int n_threads,
                          const CancelToken* cancel) const = 0;

  // out(q, c * B + b) for B = inv_h2.size() bandwidths; isolated[b] += the
  // isolated queries at bandwidth b. `exclude` as Exclusion says: empty for
  // none and self (with self, Z must be the training set's X).
  virtual void predict_grid(const Fitted<float>& fitted, MatrixView<const float> Z,
                            std::span<const double> inv_h2, Exclusion exclusion,
                            std::span<const index_t> exclude, MatrixView<float> out,
                            std::span<index_t> isolated, int n_threads,
                            const CancelToken* cancel) const = 0;
  virtual void predict_grid(const Fitted<double>& fitted, MatrixView<const double> Z,
                            std::span<const double> inv_h2, Exclusion exclusion,
                            std::span<const index_t> exclude, MatrixView<double> out,
                            std::span<index_t> isolated, int n_threads,
                            const CancelToken* cancel) const = 0;
};

// Implements Backend's per-dtype virtuals by forwarding to Impl's templates:
//   template <class T> std::unique_ptr<Fitted<T>> prepare_typed(TrainingSet<T>) const;
//   template <class T> index_t predict_typed(const Fitted<T>&, ...) const;
//   template <class T> void predict_grid_typed(const Fitted<T>&, ...) const;
template <class Impl>
class TypedBackend : public Backend {
 public:
  std::unique_ptr<Fitted<float>> prepare(TrainingSet<float> t) const final {
    return self().template prepare_typed<float>(std::move(t));
  }
  std::unique_ptr<Fitted<double>> prepare(TrainingSet<double> t) const final {
    return self().template prepare_typed<double>(std::move(t));
  }
  index_t predict(const Fitted<float>& f, MatrixView<const float> Z, MatrixView<float> out,
                  int n_threads, const CancelToken* cancel) const final {
    return self().template predict_typed<float>(f, Z, out, n_threads, cancel);
  }
  index_t predict(const Fitted<double>& f, MatrixView<const double> Z, MatrixView<double> out,
                  int n_threads, const CancelToken* cancel) const final {
    return self().template predict_typed<double>(f, Z, out, n_threads, cancel);
  }
  void predict_grid(const Fitted<float>& f, MatrixView<const float> Z,
                    std::span<const double> inv_h2, Exclusion exclusion,
                    std::span<const index_t> exclude, MatrixView<float> out,
                    std::span<index_t> isolated, int n_threads,
                    const CancelToken* cancel) const final {
    self().template predict_grid_typed<float>(f, Z, inv_h2, exclusion, exclude, out, isolated,
                                              n_threads, cancel);
  }
  void predict_grid(const Fitted<double>& f, MatrixView<const double> Z,
                    std::span<const double> inv_h2, Exclusion exclusion,
                    std::span<const index_t> exclude, MatrixView<double> out,
                    std::span<index_t> isolated, int n_threads,
                    const CancelToken* cancel) const final {
    self().template predict_grid_typed<double>(f, Z, inv_h2, exclusion, exclude, out, isolated,
                                               n_threads, cancel);
  }

 private:
  const Impl& self() const { return static_cast<const Impl&>(*this); }
};

// ------------------------------------------------------------------ registry

// The registered backends, in preference order (the fastest first).
std::vector<const Backend*> backends();

// The backend for `request`: with Engine::automatic the first that supports
// it in preference order, except that among backends with cost estimates
// (Backend::cost; kreg's CPU engines) that come before any supporting one
// without, the cheapest supporting one wins (ties: the earlier); otherwise
// the one of that name. Throws ArgumentError when none does,
// or the named one does not (saying why and what to use instead).
// `device` narrows the candidates to the backends on that device (cpu: the
// CPU engines; cuda: the CUDA engine, on device `device.index()`).
const Backend& choose(const Request& request, Engine engine, Device device = {});

// Adds `backend` (not owned; it must outlive its registration) at the front
// of the preference order or at the back; ScopedBackend undoes it. For
// backends built into other code (tests, plug-ins); kreg's own register
// themselves.
void register_backend(const Backend* backend, bool first);
void unregister_backend(const Backend* backend);

class ScopedBackend {
 public:
  ScopedBackend(const Backend& backend, bool first) : backend_(&backend) {
    register_backend(backend_, first);
  }
  ~ScopedBackend() { unregister_backend(backend_); }
  ScopedBackend(const ScopedBackend&) = delete;
  ScopedBackend& operator=(const ScopedBackend&) = delete;

 private:
  const Backend* backend_;
};

// kreg's CPU backends, in preference order: fused (the tiled SIMD driver),
// vectorized, reference (nw/cpu/backends.cpp).
std::vector<const Backend*> cpu_backends();

}  // namespace kreg::nw
