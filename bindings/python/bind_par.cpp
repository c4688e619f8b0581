// python/bind_par.cpp - kreg::par::parallel_map over a Python callable.
//
// Tasks run on kreg::par's threads (a oneTBB arena), not in processes; each
// task takes the GIL to call the function and gives it back when the call
// returns. Pure-Python functions therefore run one at a time (the GIL), while
// functions that spend their time in code that releases the GIL (most numpy
// and kreg calls on large arrays) run in parallel.
//
// The caller never holds the GIL while it waits for tasks: with n_jobs == 1
// the loop runs on the calling thread and each task takes the GIL it already
// has (re-entrant); otherwise the loop runs on a helper thread while the
// caller waits with the GIL released and looks for Ctrl-C (common.hpp), so a
// KeyboardInterrupt stops the loop at the next batch. A task's exception is
// stored with the GIL held and the loop is stopped with a plain C++
// exception; the caller re-raises the original Python exception with a note
// naming the task.
#include <nanobind/stl/string.h>

#include <exception>
#include <optional>
#include <string>
#include <vector>

#include "common.hpp"
#include "kreg/par.hpp"

namespace kreg::python {

namespace {

// Thrown by a task whose Python call raised; the exception itself is kept in
// the task's slot.
struct PythonTaskFailed : std::exception {
  const char* what() const noexcept override { return "the Python function raised"; }
};

// Owned references, released (with the GIL held: on the calling thread) when
// the loop ends however it ends.
struct References {
  std::vector<PyObject*> refs;
  explicit References(std::size_t n) : refs(n, nullptr) {}
  References(const References&) = delete;
  References& operator=(const References&) = delete;
  ~References() {
    for (PyObject* p : refs) Py_XDECREF(p);
  }
};

// The raised exception, normalised, as an owned reference; clears it.
PyObject* take_raised_exception() {
#if PY_VERSION_HEX >= 0x030C0000
  return PyErr_GetRaisedException();
#else
  PyObject *type = nullptr, *value = nullptr, *traceback = nullptr;
  PyErr_Fetch(&type, &value, &traceback);
  PyErr_NormalizeException(&type, &value, &traceback);
  if (traceback != nullptr) PyException_SetTraceback(value, traceback);
  Py_XDECREF(type);
  Py_XDECREF(traceback);
  return value;
#endif
}

// Raises `exception` (an owned reference, consumed) in Python.
[[noreturn]] void raise_exception(PyObject* exception) {
#if PY_VERSION_HEX >= 0x030C0000
  PyErr_SetRaisedException(exception);
#else
  PyErr_Restore(Py_NewRef(reinterpret_cast<PyObject*>(Py_TYPE(exception))), exception,
                PyException_GetTraceback(exception));
#endif
  throw nb::python_error();
}

nb::list parallel_map(nb::callable fn, nb::list items, int n_jobs, index_t batch_size) {
  const auto n = static_cast<index_t>(nb::len(items));
  const int threads = resolve_n_jobs(n_jobs);
  if (batch_size < 0) {
    throw ArgumentError("batch_size must be 'auto' or an integer >= 1, got " +
                        std::to_string(batch_size));
  }
  References results(static_cast<std::size_t>(n));
  References errors(static_cast<std::size_t>(n));
  PyObject* const function = fn.ptr();
  PyObject* const inputs = items.ptr();
  auto task = [&](index_t i) {
    nb::gil_scoped_acquire gil;
    PyObject* r = PyObject_CallOneArg(function, PyList_GET_ITEM(inputs, i));
    if (r == nullptr) {
      errors.refs[static_cast<std::size_t>(i)] = take_raised_exception();
      throw PythonTaskFailed();
    }
    results.refs[static_cast<std::size_t>(i)] = r;
  };
  par::Options options;
  options.n_jobs = n_jobs;
  options.batch_size = batch_size;
  std::optional<index_t> failed;
  try {
    if (threads == 1) {
      par::parallel_for(n, task, options);
    } else {
      run_interruptible(kInlineWork, [&](const CancelToken* cancel) {
        options.cancel = cancel;
        par::parallel_for(n, task, options);
        return 0;
      });
    }
  } catch (const par::TaskError& e) {
    try {
      std::rethrow_exception(e.nested());
    } catch (const PythonTaskFailed&) {
      failed = e.index();
    }
  }
  if (failed) {
    auto& slot = errors.refs[static_cast<std::size_t>(*failed)];
    PyObject* exception = slot;
    slot = nullptr;
    const nb::handle h(exception);
    if (nb::hasattr(h, "add_note")) {
      h.attr("add_note")("kreg.parallel_map: raised by the function on the input at index " +
                         std::to_string(*failed));
    }
    raise_exception(exception);
  }
  nb::list out;
  for (auto& r : results.refs) {
    out.append(nb::handle(r));
  }
  return out;
}

}  // namespace

void bind_par(nb::module_& m) {
  m.def("parallel_map", &parallel_map, nb::arg("fn"), nb::arg("items"), nb::arg("n_jobs"),
        nb::arg("batch_size"),
        "[fn(x) for x in items] on kreg::par's threads, in input order (batch_size 0: "
        "automatic). Each task takes the GIL; the caller waits without it.");
}

}  // namespace kreg::python
