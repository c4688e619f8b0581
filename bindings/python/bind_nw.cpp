// python/bind_nw.cpp - kreg::NadarayaWatson for Python: a fitted, immutable
// model per dtype (_kreg.NadarayaWatson64 / NadarayaWatson32).
//
// The model is fitted in the constructor and never changes afterwards, so
// predict (const in C++, every engine's scratch space is per call) may run
// from several Python threads at once. predict releases the GIL and answers
// Ctrl-C through the engines' own cancel token (kreg/nw.hpp).
#include <nanobind/stl/optional.h>
#include <nanobind/stl/pair.h>
#include <nanobind/stl/string.h>
#include <nanobind/stl/vector.h>

#include <string>
#include <vector>

#include "common.hpp"
#include "kreg/nw.hpp"
#include "kreg/par.hpp"

namespace kreg::python {

namespace {

template <class T>
class PyNadarayaWatson {
 public:
  PyNadarayaWatson(In2<T> X, In2<T> Y, std::optional<In1<T>> sample_weight,
                   const std::string& kernel, std::vector<double> bandwidth,
                   const std::string& engine, int n_jobs, const std::string& device)
      : model_({parse_kernel(kernel), std::move(bandwidth), parse_engine(engine), n_jobs,
                parse_device(device)}),
        threads_(resolve_n_jobs(n_jobs)) {
    const MatrixView<const T> x = view_of(X), y = view_of(Y);
    const std::span<const T> w = span_of(sample_weight);
    nb::gil_scoped_release release;
    model_.fit(x, y, w);
    n_train_ = x.rows();
  }

  // Predictions (m x k) and the count of isolated queries (kreg/nw.hpp).
  std::pair<OutN<T>, index_t> predict(In2<T> Z) const {
    const MatrixView<const T> z = view_of(Z);
    const double work = predict_work(z.rows(), n_train_, model_.n_features(), model_.n_outputs());
    PredictReport report;
    Matrix<T> out = run_interruptible(
        work, [&](const CancelToken* cancel) { return model_.predict(z, &report, cancel); });
    return {to_numpy(std::move(out)), report.isolated};
  }

  index_t n_train() const { return n_train_; }
  index_t n_features() const { return model_.n_features(); }
  index_t n_outputs() const { return model_.n_outputs(); }
  int n_jobs() const { return threads_; }
  std::string kernel() const { return std::string(to_string(model_.options().kernel)); }
  // The engine that fit chose: options().engine, or the one "auto" picked.
  std::string engine() const { return std::string(model_.engine().name()); }
  std::vector<double> bandwidth() const { return model_.options().bandwidth; }

 private:
  NadarayaWatson<T> model_;
  int threads_;
  index_t n_train_ = 0;
};

template <class T>
void bind_model(nb::module_& m, const char* name) {
  using M = PyNadarayaWatson<T>;
  nb::class_<M>(m, name,
                "A fitted Nadaraya-Watson model (kreg::NadarayaWatson). Immutable: predict may "
                "be called from several threads at once.")
      .def(nb::init<In2<T>, In2<T>, std::optional<In1<T>>, const std::string&, std::vector<double>,
                    const std::string&, int, const std::string&>(),
           nb::arg("X").noconvert(), nb::arg("Y").noconvert(),
           nb::arg("sample_weight").noconvert().none(), nb::arg("kernel"), nb::arg("bandwidth"),
           nb::arg("engine"), nb::arg("n_jobs"), nb::arg("device") = "auto",
           "Fit on X (n x d) and Y (n x k), both C-contiguous, with optional sample weights, "
           "on `device` (auto, cpu, cuda or cuda:K).")
      .def("predict", &M::predict, nb::arg("Z").noconvert(),
           "Predictions (m x k) for the queries Z (m x d) and the number of isolated queries "
           "(no training point inside a compact kernel's support). Releases the GIL; Ctrl-C "
           "raises KeyboardInterrupt within a few milliseconds.")
      .def_prop_ro("n_train", &M::n_train)
      .def_prop_ro("n_features", &M::n_features)
      .def_prop_ro("n_outputs", &M::n_outputs)
      .def_prop_ro("n_jobs", &M::n_jobs, "The thread count n_jobs resolved to.")
      .def_prop_ro("kernel", &M::kernel)
      .def_prop_ro("engine", &M::engine, "The engine that predicts (what 'auto' chose).")
      .def_prop_ro("bandwidth", &M::bandwidth);
}

}  // namespace

void bind_nw(nb::module_& m) {
  bind_model<double>(m, "NadarayaWatson64");
  bind_model<float>(m, "NadarayaWatson32");
  m.def("resolve_n_jobs", &resolve_n_jobs, nb::arg("n_jobs"),
        "joblib's n_jobs as a thread count: -1 all cores, -2 all but one, k > 0 exactly k; 0 "
        "and k > max_n_jobs() raise ValueError.");
  m.def(
      "available_engines",
      [] {
        std::vector<std::pair<std::string, std::string>> out;
        for (const EngineInfo& e : kreg::available_engines()) {
          out.emplace_back(std::string(e.engine.name()), std::string(e.device));
        }
        return out;
      },
      "The engines of this build as (name, device) pairs, in the order engine='auto' tries "
      "them (as `kreg info` lists them).");
  m.def("max_n_jobs", &max_n_jobs,
        "The largest n_jobs kreg accepts: 1024 or the core count, whichever is larger.");
}

}  // namespace kreg::python
