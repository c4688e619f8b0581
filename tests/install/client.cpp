// Uses a few public headers of the installed kreg and checks their results.
#include <kreg/data.hpp>
#include <kreg/metrics.hpp>
#include <kreg/version.hpp>

#include <cstdio>

int main() {
  const auto data = kreg::generate_data(100, 3, 123);
  const std::span<const double> y(data.y.data(), 100);
  const double r2 = kreg::r2_score(y, y);
  std::printf("kreg %s: generated %lld x %lld, r2(y, y) = %g\n", kreg::version,
              static_cast<long long>(data.X.rows()), static_cast<long long>(data.X.cols()), r2);
  return (data.X.rows() == 100 && r2 == 1.0) ? 0 : 1;
}
