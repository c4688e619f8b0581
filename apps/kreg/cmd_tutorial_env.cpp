// cmd_tutorial_env.cpp - `kreg tutorial` section 1, compute environments:
// the machine as kreg sees it (the tutorial's set_device), and the tutorial's
// "watch the cores light up" matrix product A @ B in GFLOP/s against the
// fastest rate this machine's BLAS reaches.
#include <cblas.h>
#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <random>
#include <string>
#include <vector>

#include "cli_util.hpp"
#include "cmd_tutorial.hpp"
#include "kreg/interrupt.hpp"
#include "kreg/nw.hpp"

namespace kreg::cli::tutorial {

namespace {

struct Product {
  double seconds = 0.0;
  double gflop = 0.0;
};

// C = A @ B for n x n matrices of standard normals (the tutorial's), on the
// BLAS's own threads; the fastest of `repeat` runs.
Product matrix_product(index_t n, int repeat) {
  std::mt19937_64 gen(123);
  std::normal_distribution<double> normal;
  std::vector<double> A(static_cast<std::size_t>(n * n));
  std::vector<double> B(A.size());
  std::vector<double> C(A.size());
  for (double& v : A) v = normal(gen);
  for (double& v : B) v = normal(gen);
  const int ni = static_cast<int>(n);
  Product best{INFINITY, 2.0 * static_cast<double>(n) * n * n / 1e9};
  for (int r = 0; r < repeat; ++r) {
    throw_if_cancelled(&cancel_token());
    const Stopwatch clock;
    cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, ni, ni, ni, 1.0, A.data(), ni, B.data(),
                ni, 0.0, C.data(), ni);
    best.seconds = std::min(best.seconds, clock.seconds());
  }
  return best;
}

Table machine_table(Run& run) {
  const SystemInfo& s = run.system();
  std::vector<std::string> engines;
  for (const EngineInfo& e : available_engines()) {
    engines.push_back(fmt::format("{} ({})", e.engine.name(), e.device));
  }
  std::vector<std::string> gpus;
  for (const CudaDevice& d : s.cuda_devices) {
    gpus.push_back(fmt::format("{}: {}, {:.1f} GiB, {} SMs", d.index, d.name,
                               static_cast<double>(d.memory_bytes) / (1024.0 * 1024.0 * 1024.0),
                               d.multiprocessors));
  }
  const std::string gpu_text = gpus.empty() ? fmt::format("none ({})", s.cuda_status)
                                            : fmt::format("{}", fmt::join(gpus, "; "));
  Table t;
  t.title = "This machine, as kreg sees it";
  t.header = {"what", "here", "the tutorial's run"};
  const auto row = [&](const std::string& what, const std::string& value, const std::string& key,
                       const std::string& theirs) {
    t.rows.push_back({run.text(what), run.text(value, "/environment/" + key), run.text(theirs)});
  };
  row("CPU", s.cpu_model, "cpu", "");
  row("logical cores", fmt::format("{}", s.logical_cores), "logical_cores", "");
  row("SIMD target in use",
      fmt::format("{} (supported: {})", s.simd_active, fmt::join(s.simd_supported, " ")), "simd",
      "numpy's own");
  row("BLAS", fmt::format("{}, {} threads", s.blas_library, s.blas_threads), "blas", "numpy's");
  row("GPUs (set_device)", gpu_text, "gpus", "No GPU available, using the CPU instead.");
  row("kreg engines, in auto's order", fmt::format("{}", fmt::join(engines, ", ")), "engines", "");
  return t;
}

}  // namespace

Section environment(Run& run) {
  Section out;
  out.id = "environment";
  out.title = "1. Compute environment";
  out.paragraphs = {
      "The tutorial starts by looking at the hardware: the CPU's cores, the GPU if any "
      "(its set_device), and a large matrix product that makes every core light up in htop. "
      "kreg reports the same machine and times the product through the BLAS kreg links, "
      "as GFLOP/s against the peak: the fastest rate measured in this run (small products "
      "repeated, and the large one)."};
  out.tables.push_back(machine_table(run));

  const index_t peak_n = run.quick() ? 512 : 1024;
  const int peak_repeat = 5;
  const index_t n = run.quick() ? 1000 : 4000;
  auto bar = run.progress("1 matrix product", 2);
  const Product peak = matrix_product(peak_n, peak_repeat);
  bar->update(1);
  const Product big = matrix_product(n, 1);
  bar->update(2);
  bar->finish();
  // The peak is the fastest rate measured in this run: a busy machine can
  // slow the small products more than the large one.
  const double rate = big.gflop / big.seconds;
  const double peak_rate = std::max(peak.gflop / peak.seconds, rate);

  Table t;
  t.title = "The tutorial's matrix product C = A @ B (double precision)";
  t.header = {"product", "n", "work, GFLOP", "time, s", "rate, GFLOP/s", "of peak, %"};
  t.rows.push_back({run.text(fmt::format("small products, the fastest of {}", peak_repeat)),
                    run.number("/environment/peak/n", static_cast<double>(peak_n), 0),
                    run.number("/environment/peak/gflop", peak.gflop, 2),
                    run.number("/environment/peak/seconds", peak.seconds, 4),
                    run.number("/environment/peak/gflops", peak.gflop / peak.seconds, 1),
                    run.number("/environment/peak/percent_of_peak",
                               100.0 * peak.gflop / peak.seconds / peak_rate, 1)});
  run.results()["environment"]["peak_gflops"] = peak_rate;
  t.rows.push_back(
      {run.text("A @ B, as the tutorial's loop body"),
       run.number("/environment/product/n", static_cast<double>(n), 0),
       run.number("/environment/product/gflop", big.gflop, 2),
       run.number("/environment/product/seconds", big.seconds, 4),
       run.number("/environment/product/gflops", rate, 1),
       run.number("/environment/product/percent_of_peak", 100.0 * rate / peak_rate, 1)});
  t.rows.push_back({run.text("the tutorial: n = 10000, 10000 times"), run.text("10000"),
                    run.text("2000"), run.text("interrupted"), run.text(""), run.text("")});
  out.tables.push_back(t);
  run.results()["environment"]["blas_threads"] = run.system().blas_threads;
  out.commands.push_back("kreg info    # the machine; the products are timed by kreg tutorial");
  if (run.gpu_engines().empty()) {
    out.skipped.push_back("GPU matrix product: no GPU here");
  } else {
    out.skipped.push_back(
        "GPU matrix product: kreg's GPU engines compute Nadaraya-Watson, not general matrix "
        "products (section 2 times them)");
  }
  return out;
}

}  // namespace kreg::cli::tutorial
