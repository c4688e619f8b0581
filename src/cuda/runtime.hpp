// cuda/runtime.hpp - the CUDA runtime as kreg's CUDA code uses it: errors as
// kreg errors, the devices present, device memory that frees itself.
// Built only with the CUDA engine.
#pragma once

#include <cuda_runtime_api.h>

#include <cstddef>
#include <string>

namespace kreg::cuda {

// Empty when device `index` is usable; otherwise why not (user-facing).
std::string unavailable(int index);
// The devices the runtime sees (0 when it sees none, or has no driver).
int device_count();

// Throws kreg::Error for err != cudaSuccess: "CUDA engine: <what>: <the
// runtime's message>", with advice for running out of device memory.
void check(cudaError_t err, const char* what);

// Makes `index` the calling thread's current device.
void use_device(int index);

// Memory of `bytes` (none for 0), freed on destruction: on the device, or
// pinned (page-locked) on the host, from and to which copies run
// asynchronously, beside kernels.
enum class MemoryKind { device, pinned };

template <MemoryKind Kind>
class Memory {
 public:
  Memory() = default;
  Memory(std::size_t bytes, const char* what);
  ~Memory();
  Memory(Memory&& other) noexcept : ptr_(other.ptr_) { other.ptr_ = nullptr; }
  Memory& operator=(Memory&& other) noexcept;
  Memory(const Memory&) = delete;
  Memory& operator=(const Memory&) = delete;
  void* get() const { return ptr_; }
  template <class T>
  T* as() const {
    return static_cast<T*>(ptr_);
  }

 private:
  void* ptr_ = nullptr;
};

using Buffer = Memory<MemoryKind::device>;
using HostBuffer = Memory<MemoryKind::pinned>;

// A stream of its own, synchronised and destroyed on destruction.
class Stream {
 public:
  Stream();
  ~Stream();
  Stream(const Stream&) = delete;
  Stream& operator=(const Stream&) = delete;
  cudaStream_t get() const { return s_; }
  void sync(const char* what) const;

 private:
  cudaStream_t s_ = nullptr;
};

}  // namespace kreg::cuda
