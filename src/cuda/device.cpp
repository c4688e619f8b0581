// cuda/device.cpp - kreg/device.hpp: parsing --device, and whether the CUDA
// engine can run. Compiled in every build; the CUDA runtime is asked only
// when kreg has the CUDA engine (KREG_HAVE_CUDA).
#include "kreg/device.hpp"

#include <fmt/format.h>

#include <charconv>

#include "kreg/error.hpp"
#if KREG_HAVE_CUDA
#include "cuda/runtime.hpp"
#endif

namespace kreg {

Device parse_device(std::string_view text) {
  if (text == "auto") return Device{};
  if (text == "cpu") return Device::cpu();
  if (text == "cuda") return Device::cuda(0);
  if (text.starts_with("cuda:")) {
    const std::string_view digits = text.substr(5);
    int index = -1;
    const auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), index);
    if (!digits.empty() && ec == std::errc() && end == digits.data() + digits.size() &&
        index >= 0) {
      return Device::cuda(index);
    }
    throw ArgumentError(fmt::format(
        "device '{}': the CUDA device's number after 'cuda:' must be a whole number >= 0, as in "
        "cuda:1",
        text));
  }
  throw ArgumentError(
      fmt::format("unknown device '{}'; choose auto, cpu, cuda or cuda:K (CUDA device K)", text));
}

std::string to_string(Device device) {
  switch (device.kind()) {
    case Device::Kind::cpu:
      return "cpu";
    case Device::Kind::cuda:
      return device.index() == 0 ? "cuda" : fmt::format("cuda:{}", device.index());
    case Device::Kind::automatic:
      break;
  }
  return "auto";
}

bool cuda_built() { return KREG_HAVE_CUDA != 0; }

std::string cuda_unavailable(int index) {
#if KREG_HAVE_CUDA
  return cuda::unavailable(index);
#else
  (void)index;
  return "this kreg was built without the CUDA engine (nvcc was not found, or KREG_CUDA=OFF)";
#endif
}

int cuda_device_count() {
#if KREG_HAVE_CUDA
  return cuda::device_count();
#else
  return 0;
#endif
}

#if !KREG_HAVE_CUDA
// With the CUDA engine, src/cuda/linear.cpp.
std::vector<double> cuda_linear_labels(MatrixView<const float>, MatrixView<const double>,
                                       std::span<const double>, std::span<const double>, index_t,
                                       int device_index, const CancelToken*) {
  throw ArgumentError(fmt::format("device '{}' cannot run here: {}; use --device cpu",
                                  to_string(Device::cuda(device_index)),
                                  cuda_unavailable(device_index)));
}
#endif

}  // namespace kreg
