// cuda/linear.cpp - kreg/device.hpp's cuda_linear_labels: the tutorial's GPU
// batch inference (a 784 -> 10 linear layer over the test set in batches of
// 1024), through cuBLAS's SGEMM.
//
// cuBLAS is loaded at run time (dlopen of the toolkit's libcublas.so.13, or
// libcublas.so), never linked: a kreg linked against libcublas would not
// start on machines without the CUDA libraries, and the static cuBLAS would
// add hundreds of megabytes to every kreg binary for one command's mode.
// Only its types come from cublas_v2.h. The CUDA runtime itself is linked
// statically (src/CMakeLists.txt).
#include <cublas_v2.h>
#include <dlfcn.h>
#include <fmt/format.h>

#include <algorithm>
#include <mutex>
#include <string>
#include <vector>

#include "cuda/runtime.hpp"
#include "kreg/device.hpp"
#include "kreg/error.hpp"
#include "kreg/interrupt.hpp"

namespace kreg {

namespace {

struct Cublas {
  decltype(&cublasCreate_v2) create = nullptr;
  decltype(&cublasDestroy_v2) destroy = nullptr;
  decltype(&cublasSetStream_v2) set_stream = nullptr;
  decltype(&cublasSgemm_v2) sgemm = nullptr;
  std::string error;  // why it could not be loaded, or empty
};

const Cublas& cublas() {
  static Cublas c;
  static std::once_flag once;
  std::call_once(once, [] {
    void* lib = nullptr;
    for (const char* name : {"libcublas.so.13", "libcublas.so"}) {
      lib = dlopen(name, RTLD_NOW | RTLD_LOCAL);
      if (lib != nullptr) break;
    }
    if (lib == nullptr) {
      c.error =
          "cuBLAS is not installed (libcublas.so.13 not found; install the CUDA toolkit's "
          "libcublas or add its folder to LD_LIBRARY_PATH)";
      return;
    }
    c.create = reinterpret_cast<decltype(c.create)>(dlsym(lib, "cublasCreate_v2"));
    c.destroy = reinterpret_cast<decltype(c.destroy)>(dlsym(lib, "cublasDestroy_v2"));
    c.set_stream = reinterpret_cast<decltype(c.set_stream)>(dlsym(lib, "cublasSetStream_v2"));
    c.sgemm = reinterpret_cast<decltype(c.sgemm)>(dlsym(lib, "cublasSgemm_v2"));
    if (c.create == nullptr || c.destroy == nullptr || c.set_stream == nullptr ||
        c.sgemm == nullptr) {
      c.error = "the cuBLAS found lacks cublasCreate_v2 or cublasSgemm_v2";
    }
  });
  return c;
}

void check_blas(cublasStatus_t s, const char* what) {
  if (s != CUBLAS_STATUS_SUCCESS) {
    throw Error(fmt::format("CUDA inference: cuBLAS failed {} (status {}); use --device cpu", what,
                            static_cast<int>(s)));
  }
}

class Handle {
 public:
  explicit Handle(const Cublas& c) : c_(c) { check_blas(c_.create(&h_), "to start"); }
  ~Handle() { (void)c_.destroy(h_); }
  Handle(const Handle&) = delete;
  Handle& operator=(const Handle&) = delete;
  cublasHandle_t get() const { return h_; }

 private:
  const Cublas& c_;
  cublasHandle_t h_ = nullptr;
};

}  // namespace

std::vector<double> cuda_linear_labels(MatrixView<const float> X, MatrixView<const double> W,
                                       std::span<const double> b, std::span<const double> classes,
                                       index_t batch, int device_index, const CancelToken* cancel) {
  const index_t m = X.rows(), d = X.cols(), c = W.rows();
  if (W.cols() != d || static_cast<index_t>(b.size()) != c ||
      static_cast<index_t>(classes.size()) != c || c < 1 || batch < 1) {
    throw ArgumentError("cuda_linear_labels: the layer's sizes do not match the inputs");
  }
  const std::string why = cuda::unavailable(device_index);
  if (!why.empty()) {
    throw ArgumentError(fmt::format("device '{}' cannot run here: {}; use --device cpu",
                                    to_string(Device::cuda(device_index)), why));
  }
  const Cublas& blas = cublas();
  if (!blas.error.empty()) {
    throw ArgumentError(
        fmt::format("CUDA inference cannot run here: {}; use --device cpu", blas.error));
  }
  std::vector<double> labels(static_cast<std::size_t>(m));
  if (m == 0) return labels;
  cuda::use_device(device_index);

  // The layer in float, row-major c x d: to cuBLAS (column-major) W^T, d x c.
  std::vector<float> w(static_cast<std::size_t>(c * d));
  for (index_t i = 0; i < c; ++i) {
    for (index_t j = 0; j < d; ++j)
      w[static_cast<std::size_t>(i * d + j)] = static_cast<float>(W(i, j));
  }
  const index_t rows = std::min(batch, m);
  cuda::Buffer dw(w.size() * sizeof(float), "for the layer's weights");
  cuda::Buffer dx(static_cast<std::size_t>(rows * d) * sizeof(float), "for a batch of inputs");
  cuda::Buffer ds(static_cast<std::size_t>(rows * c) * sizeof(float), "for a batch of scores");
  // After the buffers: destroyed first, the stream waits for its work.
  const cuda::Stream stream;
  const Handle handle(blas);
  check_blas(blas.set_stream(handle.get(), stream.get()), "to take its stream");
  cuda::check(cudaMemcpyAsync(dw.get(), w.data(), w.size() * sizeof(float), cudaMemcpyHostToDevice,
                              stream.get()),
              "copying the layer to the device");
  std::vector<float> scores(static_cast<std::size_t>(rows * c));
  const float one = 1.0f, zero = 0.0f;
  for (index_t begin = 0; begin < m; begin += rows) {
    throw_if_cancelled(cancel);
    const index_t mb = std::min(rows, m - begin);
    cuda::check(cudaMemcpy2DAsync(
                    dx.get(), static_cast<std::size_t>(d) * sizeof(float),
                    X.data() + begin * X.ld(), static_cast<std::size_t>(X.ld()) * sizeof(float),
                    static_cast<std::size_t>(d) * sizeof(float), static_cast<std::size_t>(mb),
                    cudaMemcpyHostToDevice, stream.get()),
                "copying a batch of inputs to the device");
    // scores^T (c x mb, column-major) = (W^T)^T (c x d) * X^T (d x mb): row-major mb x c.
    check_blas(blas.sgemm(handle.get(), CUBLAS_OP_T, CUBLAS_OP_N, static_cast<int>(c),
                          static_cast<int>(mb), static_cast<int>(d), &one, dw.as<float>(),
                          static_cast<int>(d), dx.as<float>(), static_cast<int>(d), &zero,
                          ds.as<float>(), static_cast<int>(c)),
               "in SGEMM");
    cuda::check(
        cudaMemcpyAsync(scores.data(), ds.get(), static_cast<std::size_t>(mb * c) * sizeof(float),
                        cudaMemcpyDeviceToHost, stream.get()),
        "copying the scores from the device");
    stream.sync("running SGEMM");
    for (index_t i = 0; i < mb; ++i) {
      index_t best = 0;
      double best_score = 0;
      for (index_t k = 0; k < c; ++k) {
        const double s = static_cast<double>(scores[static_cast<std::size_t>(i * c + k)]) +
                         b[static_cast<std::size_t>(k)];
        if (k == 0 || s > best_score) {
          best = k;
          best_score = s;
        }
      }
      labels[static_cast<std::size_t>(begin + i)] = classes[static_cast<std::size_t>(best)];
    }
  }
  return labels;
}

}  // namespace kreg
