// cuda/runtime.cpp - kreg's use of the CUDA runtime (cuda/runtime.hpp).
//
// The runtime is linked statically (CUDA::cudart_static), so kreg starts on
// machines without a GPU or driver; there every call below returns an error
// (cudaErrorInsufficientDriver, cudaErrorNoDevice), which becomes the reason
// the engine gives for not running.
#include "cuda/runtime.hpp"

#include <fmt/format.h>

#include <utility>

#include <mutex>

#include "kreg/error.hpp"

namespace kreg::cuda {

namespace {

struct Devices {
  cudaError_t err = cudaSuccess;
  int count = 0;
};

const Devices& devices() {
  static Devices d;
  static std::once_flag once;
  std::call_once(once, [] {
    d.err = cudaGetDeviceCount(&d.count);
    if (d.err != cudaSuccess) {
      d.count = 0;
      (void)cudaGetLastError();  // not sticky: later calls report afresh
    }
  });
  return d;
}

}  // namespace

int device_count() { return devices().count; }

std::string unavailable(int index) {
  const Devices& d = devices();
  if (d.err != cudaSuccess) {
    return fmt::format("no CUDA device here: {}", cudaGetErrorString(d.err));
  }
  if (d.count == 0) return "no CUDA device here: the CUDA runtime sees none";
  if (index < 0 || index >= d.count) {
    return fmt::format("there is no CUDA device {}: this machine has {} (cuda:0{})", index, d.count,
                       d.count > 1 ? fmt::format(" to cuda:{}", d.count - 1) : "");
  }
  return {};
}

void check(cudaError_t err, const char* what) {
  if (err == cudaSuccess) return;
  (void)cudaGetLastError();
  if (err == cudaErrorMemoryAllocation) {
    throw Error(fmt::format(
        "CUDA engine: the device is out of memory {}; free device memory, predict fewer "
        "queries at a time, or use --device cpu",
        what));
  }
  throw Error(fmt::format("CUDA engine: {} failed: {} ({}); use --device cpu to run on the CPU",
                          what, cudaGetErrorString(err), cudaGetErrorName(err)));
}

void use_device(int index) { check(cudaSetDevice(index), "selecting the device"); }

template <MemoryKind Kind>
Memory<Kind>::Memory(std::size_t bytes, const char* what) {
  if (bytes == 0) return;
  if constexpr (Kind == MemoryKind::device) {
    check(cudaMalloc(&ptr_, bytes), what);
  } else {
    const cudaError_t err = cudaMallocHost(&ptr_, bytes);
    if (err == cudaErrorMemoryAllocation) {
      (void)cudaGetLastError();
      throw Error(fmt::format(
          "CUDA engine: could not pin {} bytes of host memory {}; free host memory, predict "
          "fewer queries at a time, or use --device cpu",
          bytes, what));
    }
    check(err, what);
  }
}

template <MemoryKind Kind>
Memory<Kind>::~Memory() {
  if (ptr_ == nullptr) return;
  (void)(Kind == MemoryKind::device ? cudaFree(ptr_) : cudaFreeHost(ptr_));
}

template <MemoryKind Kind>
Memory<Kind>& Memory<Kind>::operator=(Memory&& other) noexcept {
  if (this != &other) {
    Memory gone(std::move(*this));  // frees the old memory on leaving
    ptr_ = other.ptr_;
    other.ptr_ = nullptr;
  }
  return *this;
}

template class Memory<MemoryKind::device>;
template class Memory<MemoryKind::pinned>;

Stream::Stream() {
  check(cudaStreamCreateWithFlags(&s_, cudaStreamNonBlocking), "creating a stream");
}

Stream::~Stream() {
  if (s_ != nullptr) {
    (void)cudaStreamSynchronize(s_);
    (void)cudaStreamDestroy(s_);
  }
}

void Stream::sync(const char* what) const { check(cudaStreamSynchronize(s_), what); }

}  // namespace kreg::cuda
