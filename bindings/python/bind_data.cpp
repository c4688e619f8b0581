// python/bind_data.cpp - kreg's data functions for Python: pairwise squared
// distances, the tutorial's generate_data and the IDX reader (MNIST,
// Fashion-MNIST). Results are numpy arrays that own kreg's buffers (no copy).
#include <nanobind/stl/string.h>
#include <nanobind/stl/tuple.h>
#include <nanobind/stl/vector.h>

#include <cstdint>
#include <string>
#include <tuple>
#include <vector>

#include "common.hpp"
#include "kreg/data.hpp"
#include "kreg/error.hpp"
#include "kreg/io/idx.hpp"
#include "kreg/nw.hpp"

namespace kreg::python {

namespace {

template <class T>
OutN<T> pairwise(In2<T> Z, In2<T> X) {
  const MatrixView<const T> z = view_of(Z), x = view_of(X);
  Matrix<T> d;
  {
    nb::gil_scoped_release release;
    d = pairwise_sq_distances(z, x);
  }
  return to_numpy(std::move(d));
}

std::tuple<OutN<double>, OutN<double>, OutN<double>, double> generate(index_t n, index_t d,
                                                                      std::uint32_t seed) {
  if (n < 0 || d < 0) throw ArgumentError("generate_data: n and d must be >= 0");
  RegressionData data;
  {
    nb::gil_scoped_release release;
    data = generate_data(n, d, seed);
  }
  Matrix<double> coef(d, 1);
  std::copy(data.coef.begin(), data.coef.end(), coef.data());
  return {to_numpy(std::move(data.X)), to_numpy(std::move(data.y), {static_cast<std::size_t>(n)}),
          to_numpy(std::move(coef), {static_cast<std::size_t>(d)}), data.intercept};
}

template <class T>
nb::object read_typed(const std::string& path) {
  io::IdxHeader header;
  Matrix<T> m;
  {
    nb::gil_scoped_release release;
    m = io::read_idx<T>(path, io::NonFinite::allow, &header);
  }
  std::vector<std::size_t> shape(header.dims.begin(), header.dims.end());
  return nb::cast(to_numpy(std::move(m), shape));
}

// The file's own shape; dtype "auto": uint8 for ubyte files, float32 for
// float files, float64 for the rest.
nb::object read_idx(const std::string& path, const std::string& dtype) {
  std::string type = dtype;
  if (type == "auto") {
    io::IdxHeader header;
    {
      nb::gil_scoped_release release;
      header = io::read_idx_header(path);
    }
    type = header.type == io::IdxType::u8    ? "uint8"
           : header.type == io::IdxType::f32 ? "float32"
                                             : "float64";
  }
  if (type == "uint8") return read_typed<std::uint8_t>(path);
  if (type == "float32") return read_typed<float>(path);
  if (type == "float64") return read_typed<double>(path);
  throw ArgumentError("read_idx: dtype must be auto, uint8, float32 or float64, got '" + dtype +
                      "'");
}

}  // namespace

void bind_data(nb::module_& m) {
  m.def("pairwise_sq_distances", &pairwise<double>, nb::arg("Z").noconvert(),
        nb::arg("X").noconvert(),
        "Squared Euclidean distances (m x n) between the rows of Z and X (kreg/nw.hpp). "
        "Releases the GIL.");
  m.def("pairwise_sq_distances", &pairwise<float>, nb::arg("Z").noconvert(),
        nb::arg("X").noconvert());
  m.def("generate_data", &generate, nb::arg("n"), nb::arg("d"), nb::arg("seed"),
        "The tutorial's data before its split: (X, y, coef, intercept), numpy's legacy "
        "RandomState numbers for the same seed.");
  m.def("read_idx", &read_idx, nb::arg("path"), nb::arg("dtype") = "auto",
        "An IDX file (.gz or not) as an array of the file's shape.");
}

}  // namespace kreg::python
