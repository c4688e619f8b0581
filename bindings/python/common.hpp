// python/common.hpp - what every binding file shares: the array contract at
// the Python boundary, results handed to numpy without a copy, and running
// C++ work with the GIL released and Ctrl-C answered.
//
// Array contract: the extension takes float32 or float64 arrays that are
// C-contiguous and on the CPU, and nothing else (the arguments are bound with
// noconvert(), so a mismatch is a TypeError, never a silent copy). The Python
// layer (python/kreg/) converts other dtypes and layouts once, before the call.
#pragma once

#include <nanobind/nanobind.h>
#include <nanobind/ndarray.h>

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <exception>
#include <mutex>
#include <optional>
#include <span>
#include <thread>
#include <type_traits>
#include <utility>
#include <vector>

#include "kreg/interrupt.hpp"
#include "kreg/matrix.hpp"

namespace kreg::python {

namespace nb = nanobind;

template <class T>
using In2 = nb::ndarray<const T, nb::ndim<2>, nb::c_contig, nb::device::cpu>;
template <class T>
using In1 = nb::ndarray<const T, nb::ndim<1>, nb::c_contig, nb::device::cpu>;
template <class T>
using OutN = nb::ndarray<nb::numpy, T>;

// The numpy array as kreg's row-major view of the same memory.
template <class T>
MatrixView<const T> view_of(const In2<T>& a) {
  return {a.data(), static_cast<index_t>(a.shape(0)), static_cast<index_t>(a.shape(1))};
}
template <class T>
std::span<const T> span_of(const std::optional<In1<T>>& a) {
  if (!a) return {};
  return {a->data(), a->shape(0)};
}

// A numpy array that owns `m`'s storage (no copy) with the given shape, whose
// product must be m.size() (empty: m.rows() x m.cols()). Needs the GIL.
template <class T>
OutN<T> to_numpy(Matrix<T>&& m, std::vector<std::size_t> shape = {}) {
  static T empty_storage[1] = {};
  if (shape.empty())
    shape = {static_cast<std::size_t>(m.rows()), static_cast<std::size_t>(m.cols())};
  if (m.size() == 0) return OutN<T>(empty_storage, shape.size(), shape.data(), nb::handle());
  auto* owned = new Matrix<T>(std::move(m));
  nb::capsule owner(owned, [](void* p) noexcept { delete static_cast<Matrix<T>*>(p); });
  return OutN<T>(owned->data(), shape.size(), shape.data(), owner);
}

// Work below this many pair-operations (about a millisecond) runs on the
// calling thread: a Ctrl-C watch would cost more than the work.
inline constexpr double kInlineWork = 2e6;
// How often the waiting caller looks for Ctrl-C.
inline constexpr auto kSignalPoll = std::chrono::milliseconds(50);

// Runs fn(const CancelToken*) with the GIL released and returns its result.
// Must be called with the GIL held.
//
// Small work (`work` < kInlineWork) runs on the calling thread. Otherwise fn
// runs on a fresh std::thread while the caller waits; every kSignalPoll the
// caller takes the GIL and calls PyErr_CheckSignals(), which runs Python's
// signal handlers (only the main thread's call does anything: Python runs
// handlers there alone). When a handler raises (Ctrl-C: KeyboardInterrupt),
// the token is requested, fn stops at its next cancellation point (kreg
// throws Cancelled there), the thread is joined and the handler's exception
// is raised in Python. Exceptions from fn propagate to the caller as they are.
template <class F>
auto run_interruptible(double work, F&& fn) {
  using R = std::invoke_result_t<F&, const CancelToken*>;
  if (work < kInlineWork) {
    nb::gil_scoped_release release;
    return fn(static_cast<const CancelToken*>(nullptr));
  }
  CancelToken token;
  std::optional<R> result;
  std::exception_ptr error;
  bool interrupted = false;
  {
    std::mutex mutex;
    std::condition_variable finished;
    bool done = false;
    nb::gil_scoped_release release;
    std::thread worker([&] {
      try {
        result.emplace(fn(&token));
      } catch (...) {
        error = std::current_exception();
      }
      const std::lock_guard<std::mutex> lock(mutex);
      done = true;
      finished.notify_one();
    });
    std::unique_lock<std::mutex> lock(mutex);
    while (!finished.wait_for(lock, kSignalPoll, [&] { return done; })) {
      if (interrupted) continue;  // requested; wait for the worker to stop
      lock.unlock();
      {
        nb::gil_scoped_acquire acquire;
        // A raising handler leaves its exception set on this thread; it is
        // raised below, once the worker has stopped.
        interrupted = PyErr_CheckSignals() != 0;
      }
      if (interrupted) token.request();
      lock.lock();
    }
    lock.unlock();
    worker.join();
  }
  if (interrupted) {
    // The handler's exception (KeyboardInterrupt) wins over the worker's
    // Cancelled, or over its result when it finished anyway.
    throw nb::python_error();
  }
  if (error) std::rethrow_exception(error);
  return std::move(*result);
}

}  // namespace kreg::python
