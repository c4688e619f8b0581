// kreg_gpu_time - times kreg's NW on a device, for bench/peers_gpu.py:
//
//   kreg_gpu_time predict M N D [--device cuda] [--dtype f32|f64] [--repeat R] [--h H]
//   kreg_gpu_time host    M N D ...   fit + predict from host arrays (uploads included)
//   kreg_gpu_time loo     N D B ...   leave-one-out over B bandwidths (BandwidthCV)
//
// Data: X, Z ~ N(0, 1) (seed 1), y = sum_f sin(x_f). Prints one JSON object:
// the workload, the engine that ran, the best of R timed runs (after one
// untimed warm-up) and pairs/s (pairs = M N, or N^2 B for loo).
#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <random>
#include <string>
#include <vector>

#include "kreg/device.hpp"
#include "kreg/error.hpp"
#include "kreg/nw.hpp"
#include "kreg/select.hpp"

namespace {

using kreg::index_t;
using kreg::Matrix;

template <class T>
Matrix<T> normal(index_t rows, index_t cols, std::mt19937_64& rng) {
  std::normal_distribution<double> dist;
  Matrix<T> m(rows, cols);
  for (index_t i = 0; i < m.size(); ++i) m.data()[i] = static_cast<T>(dist(rng));
  return m;
}

template <class T>
Matrix<T> target(const Matrix<T>& X) {
  Matrix<T> y(X.rows(), 1);
  for (index_t i = 0; i < X.rows(); ++i) {
    double s = 0;
    for (index_t f = 0; f < X.cols(); ++f) s += std::sin(static_cast<double>(X(i, f)));
    y(i, 0) = static_cast<T>(s);
  }
  return y;
}

template <class F>
double best_of(int repeat, F&& f) {
  f();  // warm-up: the device's context, the kernels' first load
  double best = 1e300;
  for (int r = 0; r < repeat; ++r) {
    const auto t0 = std::chrono::steady_clock::now();
    f();
    best = std::min(best,
                    std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
  }
  return best;
}

struct Args {
  std::string mode, device = "cuda", dtype = "f32";
  index_t a = 0, b = 0, c = 0;
  int repeat = 5;
  double h = 0.5;
};

template <class T>
void run(const Args& o) {
  std::mt19937_64 rng(1);
  const kreg::Device device = kreg::parse_device(o.device);
  std::string engine;
  double seconds = 0, pairs = 0;
  if (o.mode == "loo") {
    const index_t n = o.a, d = o.b, B = o.c;
    const Matrix<T> X = normal<T>(n, d, rng);
    const Matrix<T> y = target(X);
    kreg::CvOptions cv;
    cv.cv = kreg::parse_cv("loo");
    cv.device = device;
    const kreg::BandwidthCV<T> search(X, y, {}, cv);
    engine = std::string(search.engine().name());
    std::vector<double> grid(static_cast<std::size_t>(B));
    for (index_t b = 0; b < B; ++b)
      grid[static_cast<std::size_t>(b)] =
          std::pow(10.0, -1.5 + 2.0 * b / std::max<index_t>(B - 1, 1));
    seconds = best_of(o.repeat, [&] { (void)search.score({{}, grid}); });
    pairs = static_cast<double>(n) * static_cast<double>(n) * static_cast<double>(B);
  } else {
    const index_t m = o.a, n = o.b, d = o.c;
    const Matrix<T> X = normal<T>(n, d, rng), Z = normal<T>(m, d, rng);
    const Matrix<T> y = target(X);
    kreg::NadarayaWatsonOptions opt;
    opt.bandwidth = {o.h};
    opt.device = device;
    kreg::NadarayaWatson<T> model(opt);
    model.fit(X, y);
    engine = std::string(model.engine().name());
    if (o.mode == "host") {
      seconds = best_of(o.repeat, [&] {
        kreg::NadarayaWatson<T> fresh(opt);
        fresh.fit(X, y);
        (void)fresh.predict(Z);
      });
    } else {
      seconds = best_of(o.repeat, [&] { (void)model.predict(Z); });
    }
    pairs = static_cast<double>(m) * static_cast<double>(n);
  }
  fmt::print(
      "{{\"mode\": \"{}\", \"a\": {}, \"b\": {}, \"c\": {}, \"dtype\": \"{}\", \"device\": \"{}\", "
      "\"engine\": \"{}\", \"seconds\": {:.6g}, \"pairs_per_s\": {:.4g}}}\n",
      o.mode, o.a, o.b, o.c, o.dtype, o.device, engine, seconds, pairs / seconds);
}

}  // namespace

int main(int argc, char** argv) {
  Args o;
  if (argc < 5) {
    fmt::print(stderr,
               "usage: kreg_gpu_time predict|host|loo A B C [--device D] [--dtype f32|f64] "
               "[--repeat R] [--h H]\n");
    return 2;
  }
  try {
    o.mode = argv[1];
    o.a = std::stoll(argv[2]);
    o.b = std::stoll(argv[3]);
    o.c = std::stoll(argv[4]);
    for (int i = 5; i + 1 < argc; i += 2) {
      const std::string k = argv[i], v = argv[i + 1];
      if (k == "--device") {
        o.device = v;
      } else if (k == "--dtype") {
        o.dtype = v;
      } else if (k == "--repeat") {
        o.repeat = std::stoi(v);
      } else if (k == "--h") {
        o.h = std::stod(v);
      } else {
        throw kreg::ArgumentError("unknown option " + k);
      }
    }
    if (o.dtype == "f64") {
      run<double>(o);
    } else {
      run<float>(o);
    }
  } catch (const std::exception& e) {
    fmt::print(stderr, "kreg_gpu_time: {}\n", e.what());
    return 1;
  }
  return 0;
}
