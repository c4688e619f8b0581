// bindings/python/bind_local.cpp - local-constant and local-linear kernel
// regression with mixed data types (kreg/kernel_regression.hpp) for Python:
// fit-and-predict, the criteria, bandwidth selection and the bootstrap, each
// one call with the GIL released and Ctrl-C answered between queries. The
// scikit-learn estimator is python/kreg/_local.py.
#include <nanobind/stl/optional.h>
#include <nanobind/stl/string.h>
#include <nanobind/stl/vector.h>

#include <optional>
#include <string>
#include <vector>

#include "common.hpp"
#include "kreg/kernel_regression.hpp"

namespace kreg::python {

namespace {

KernelRegressionOptions options_of(const std::string& reg, const std::string& var_type,
                                   const std::string& kernel, const std::string& discrete,
                                   const std::string& bwtype, std::vector<double> bandwidth,
                                   int n_jobs, const std::string& engine,
                                   const std::string& device) {
  KernelRegressionOptions o;
  o.reg = parse_reg_type(reg);
  o.var_type = parse_var_type(var_type);
  o.kernel = parse_kernel(kernel);
  o.discrete = parse_discrete_kernels(discrete);
  o.bwtype = parse_bandwidth_type(bwtype);
  o.bandwidth = std::move(bandwidth);
  o.n_jobs = n_jobs;
  o.engine = parse_engine(engine);
  o.device = parse_device(device);
  return o;
}

// Pair-operations in common.hpp's sense (about a nanosecond each): one per
// query x training pair, whatever d (the engine's passes are vectorised).
double work_of(index_t m, index_t n, index_t /*d*/) {
  return static_cast<double>(m) * static_cast<double>(n);
}

nb::dict fit_dict(KernelFit&& fit, index_t d) {
  nb::dict out;
  const auto m = static_cast<index_t>(fit.mean.size());
  Matrix<double> mean(m, 1);
  std::copy(fit.mean.begin(), fit.mean.end(), mean.data());
  out["mean"] = to_numpy(std::move(mean), {static_cast<std::size_t>(m)});
  if (fit.gradient.size() > 0 || m == 0) {
    out["gradient"] = to_numpy(std::move(fit.gradient),
                               {static_cast<std::size_t>(m), static_cast<std::size_t>(d)});
  } else {
    out["gradient"] = nb::none();
  }
  out["isolated"] = fit.report.isolated;
  out["rank_deficient"] = fit.report.rank_deficient;
  out["refitted"] = fit.report.refitted;
  out["engine"] = std::string(fit.report.engine.name());
  return out;
}

// Predictions at Z, or leave-one-out ones at the training points (Z None).
nb::dict kernel_regression_predict(In2<double> X, In1<double> y, std::optional<In2<double>> Z,
                                   const std::string& reg, const std::string& var_type,
                                   const std::string& kernel, const std::string& discrete,
                                   const std::string& bwtype, std::vector<double> bandwidth,
                                   int n_jobs, bool gradients, const std::string& engine,
                                   const std::string& device) {
  const KernelRegressionOptions o = options_of(reg, var_type, kernel, discrete, bwtype,
                                               std::move(bandwidth), n_jobs, engine, device);
  const index_t n = static_cast<index_t>(X.shape(0)), d = static_cast<index_t>(X.shape(1));
  const index_t m = Z ? static_cast<index_t>(Z->shape(0)) : n;
  KernelFit fit = run_interruptible(work_of(m, n, d), [&](const CancelToken* cancel) {
    KernelRegression model(o);
    model.fit(view_of(X), {y.data(), y.shape(0)});
    return Z ? model.predict(view_of(*Z), gradients, cancel) : model.predict_loo(gradients, cancel);
  });
  return fit_dict(std::move(fit), d);
}

nb::dict kernel_regression_criteria(In2<double> X, In1<double> y, const std::string& reg,
                                    const std::string& var_type, const std::string& kernel,
                                    const std::string& discrete, const std::string& bwtype,
                                    std::vector<double> bandwidth, int n_jobs,
                                    const std::string& engine, const std::string& device) {
  const KernelRegressionOptions o = options_of(reg, var_type, kernel, discrete, bwtype,
                                               std::move(bandwidth), n_jobs, engine, device);
  const index_t n = static_cast<index_t>(X.shape(0)), d = static_cast<index_t>(X.shape(1));
  struct Criteria {
    double cv_ls, aic, hat_trace;
  };
  const Criteria c = run_interruptible(3 * work_of(n, n, d), [&](const CancelToken* cancel) {
    KernelRegression model(o);
    model.fit(view_of(X), {y.data(), y.shape(0)});
    return Criteria{model.criterion(Criterion::cv_ls, cancel),
                    model.criterion(Criterion::aic, cancel), model.hat_trace(cancel)};
  });
  nb::dict out;
  out["cv_ls"] = c.cv_ls;
  out["aic"] = c.aic;
  out["hat_trace"] = c.hat_trace;
  return out;
}

nb::dict kernel_regression_select(In2<double> X, In1<double> y, const std::string& reg,
                                  const std::string& var_type, const std::string& kernel,
                                  const std::string& discrete, const std::string& bwtype,
                                  int n_jobs, const std::string& criterion,
                                  std::vector<double> initial, int restarts, int max_evaluations,
                                  const std::string& engine, const std::string& device) {
  const KernelRegressionOptions o =
      options_of(reg, var_type, kernel, discrete, bwtype, {}, n_jobs, engine, device);
  KernelSelectOptions s;
  s.criterion = parse_criterion(criterion);
  s.initial = std::move(initial);
  s.restarts = restarts;
  s.max_evaluations = max_evaluations;
  const index_t n = static_cast<index_t>(X.shape(0)), d = static_cast<index_t>(X.shape(1));
  KernelSelectResult r = run_interruptible(1e9 + work_of(n, n, d), [&](const CancelToken* cancel) {
    return select_kernel_bandwidth(view_of(X), {y.data(), y.shape(0)}, o, s, cancel);
  });
  nb::dict out;
  out["bandwidth"] = r.bandwidth;
  out["objective"] = r.objective;
  out["evaluations"] = r.evaluations;
  out["converged"] = r.converged;
  return out;
}

nb::dict kernel_regression_bootstrap(In2<double> X, In1<double> y, In2<double> Z,
                                     const std::string& reg, const std::string& var_type,
                                     const std::string& kernel, const std::string& discrete,
                                     const std::string& bwtype, std::vector<double> bandwidth,
                                     int n_jobs, int replicates, std::uint64_t seed, bool gradients,
                                     const std::string& engine, const std::string& device) {
  const KernelRegressionOptions o = options_of(reg, var_type, kernel, discrete, bwtype,
                                               std::move(bandwidth), n_jobs, engine, device);
  const index_t n = static_cast<index_t>(X.shape(0)), d = static_cast<index_t>(X.shape(1));
  const index_t m = static_cast<index_t>(Z.shape(0));
  BootstrapResult r = run_interruptible(
      static_cast<double>(replicates) * work_of(m, n, d), [&](const CancelToken* cancel) {
        return bootstrap_kernel_regression(view_of(X), {y.data(), y.shape(0)}, view_of(Z), o,
                                           replicates, seed, gradients, cancel);
      });
  nb::dict out;
  Matrix<double> se(m, 1);
  std::copy(r.mean_se.begin(), r.mean_se.end(), se.data());
  out["mean_se"] = to_numpy(std::move(se), {static_cast<std::size_t>(m)});
  if (gradients) {
    out["gradient_se"] = to_numpy(std::move(r.gradient_se),
                                  {static_cast<std::size_t>(m), static_cast<std::size_t>(d)});
  } else {
    out["gradient_se"] = nb::none();
  }
  out["replicates"] = r.replicates;
  return out;
}

}  // namespace

void bind_local(nb::module_& m) {
  using namespace nb::literals;
  m.def("kernel_regression_predict", &kernel_regression_predict, "X"_a, "y"_a, "Z"_a.none(),
        "reg"_a, "var_type"_a, "kernel"_a, "discrete"_a, "bwtype"_a, "bandwidth"_a, "n_jobs"_a,
        "gradients"_a, "engine"_a = "auto", "device"_a = "auto");
  m.def("kernel_regression_criteria", &kernel_regression_criteria, "X"_a, "y"_a, "reg"_a,
        "var_type"_a, "kernel"_a, "discrete"_a, "bwtype"_a, "bandwidth"_a, "n_jobs"_a,
        "engine"_a = "auto", "device"_a = "auto");
  m.def("kernel_regression_select", &kernel_regression_select, "X"_a, "y"_a, "reg"_a, "var_type"_a,
        "kernel"_a, "discrete"_a, "bwtype"_a, "n_jobs"_a, "criterion"_a, "initial"_a, "restarts"_a,
        "max_evaluations"_a, "engine"_a = "auto", "device"_a = "auto");
  m.def("kernel_regression_bootstrap", &kernel_regression_bootstrap, "X"_a, "y"_a, "Z"_a, "reg"_a,
        "var_type"_a, "kernel"_a, "discrete"_a, "bwtype"_a, "bandwidth"_a, "n_jobs"_a,
        "replicates"_a, "seed"_a, "gradients"_a, "engine"_a = "auto", "device"_a = "auto");
}

}  // namespace kreg::python
