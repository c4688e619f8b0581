// python/module.cpp - the kreg._kreg extension module: kreg's exceptions as
// Python's, and the bindings of each area (bind_*.cpp).
//
// Exceptions: ArgumentError -> ValueError; InputError -> kreg.InputError (a
// ValueError); Cancelled -> KeyboardInterrupt (kreg only cancels on Ctrl-C
// here); any other kreg::Error -> RuntimeError. Messages pass unchanged.
#include <nanobind/nanobind.h>

#include <thread>

#include "common.hpp"
#include "kreg/error.hpp"
#include "kreg/version.hpp"

namespace kreg::python {

void bind_nw(nb::module_& m);
void bind_select(nb::module_& m);
void bind_data(nb::module_& m);
void bind_par(nb::module_& m);
void bind_models(nb::module_& m);
void bind_local(nb::module_& m);

namespace {

// The address a float32/float64 C-contiguous array's data has on the C++
// side; the tests compare it with numpy's to show no copy was made.
template <class T>
std::uintptr_t data_address(In2<T> a) {
  return reinterpret_cast<std::uintptr_t>(a.data());
}

}  // namespace

}  // namespace kreg::python

NB_MODULE(_kreg, m) {
  namespace nb = nanobind;
  using namespace kreg::python;
  m.doc() = "kreg's C++ core (nanobind). Use the kreg package, not this module.";

  m.attr("__version__") = kreg::version;

  // Created once, referenced from the module and (never released) from the
  // translator, which may run until the interpreter is gone.
  static PyObject* const input_error = PyErr_NewExceptionWithDoc(
      "kreg.InputError",
      "Input data could not be read or parsed (bad magic, truncated file, ragged rows, a "
      "non-finite value where none is allowed). A ValueError.",
      PyExc_ValueError, nullptr);
  if (input_error == nullptr) throw nb::python_error();
  m.attr("InputError") = nb::handle(input_error);
  nb::register_exception_translator([](const std::exception_ptr& p, void*) {
    try {
      std::rethrow_exception(p);
    } catch (const kreg::ArgumentError& e) {
      PyErr_SetString(PyExc_ValueError, e.what());
    } catch (const kreg::InputError& e) {
      PyErr_SetString(input_error, e.what());
    } catch (const kreg::Cancelled& e) {
      PyErr_SetString(PyExc_KeyboardInterrupt, e.what());
    } catch (const kreg::Error& e) {
      PyErr_SetString(PyExc_RuntimeError, e.what());
    }
  });

  m.def(
      "hardware_concurrency", [] { return std::thread::hardware_concurrency(); },
      "The core count kreg's n_jobs = -1 means.");
  m.def("_data_address", &data_address<double>, nb::arg("a").noconvert());
  m.def("_data_address", &data_address<float>, nb::arg("a").noconvert());

  bind_nw(m);
  bind_select(m);
  bind_data(m);
  bind_par(m);
  bind_models(m);
  bind_local(m);
}
