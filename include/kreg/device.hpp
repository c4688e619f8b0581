// kreg/device.hpp - where kreg computes: the CPU or a CUDA device.
//
// A Device is what users write as --device or device=: "auto" (a CUDA device
// when this kreg has the CUDA engine, a device is present and the engine
// supports the call; otherwise the CPU), "cpu", "cuda" (CUDA device 0) or
// "cuda:K" (CUDA device K). It narrows the engines a call may use
// (kreg/nw.hpp's Engine): cpu keeps the CPU engines, cuda the CUDA engine.
#pragma once

#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "kreg/matrix.hpp"

namespace kreg {

class CancelToken;  // kreg/interrupt.hpp

class Device {
 public:
  enum class Kind { automatic, cpu, cuda };
  constexpr Device() = default;
  static constexpr Device cpu() { return Device(Kind::cpu, 0); }
  static constexpr Device cuda(int index = 0) { return Device(Kind::cuda, index); }
  constexpr Kind kind() const { return kind_; }
  constexpr int index() const { return index_; }  // the CUDA device (0 unless cuda:K)
  constexpr bool is_auto() const { return kind_ == Kind::automatic; }
  friend constexpr bool operator==(Device a, Device b) {
    return a.kind_ == b.kind_ && a.index_ == b.index_;
  }

 private:
  constexpr Device(Kind kind, int index) : kind_(kind), index_(index) {}
  Kind kind_ = Kind::automatic;
  int index_ = 0;
};

// "auto", "cpu", "cuda", "cuda:K" (K >= 0). Throws ArgumentError saying what
// is accepted.
Device parse_device(std::string_view text);
std::string to_string(Device device);

// Whether this kreg was built with the CUDA engine.
bool cuda_built();
// Empty when CUDA device `index` can run kreg's CUDA engine; otherwise why
// not, for users ("no CUDA device here: <the CUDA runtime's reason>", "this
// kreg was built without the CUDA engine", ...).
std::string cuda_unavailable(int index = 0);
// The CUDA devices the engine sees (0 when none, or not built).
int cuda_device_count();

// The tutorial's GPU batch inference: the label of each row of X (m x d,
// inputs already scaled) under the linear layer W (classes x d) + b, argmax
// mapped through `classes`, computed in batches of `batch` rows by cuBLAS
// (SGEMM, float) on CUDA device `device_index`. Throws ArgumentError saying
// why when CUDA or cuBLAS cannot run here; polls `cancel` between batches.
std::vector<double> cuda_linear_labels(MatrixView<const float> X, MatrixView<const double> W,
                                       std::span<const double> b, std::span<const double> classes,
                                       index_t batch, int device_index,
                                       const CancelToken* cancel = nullptr);

}  // namespace kreg
