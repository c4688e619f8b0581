// core/stopwatch.hpp - wall-clock seconds since construction (steady clock):
// the one timer the library's workflows and reports use.
#pragma once

#include <chrono>

namespace kreg::detail {

class Stopwatch {
 public:
  Stopwatch() : start_(std::chrono::steady_clock::now()) {}
  double seconds() const {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
  }
  void restart() { start_ = std::chrono::steady_clock::now(); }

 private:
  std::chrono::steady_clock::time_point start_;
};

}  // namespace kreg::detail
