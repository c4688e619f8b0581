// cmd_info.cpp - `kreg info`: the machine as kreg sees it (the tutorial's
// set_device, and more): CPU, SIMD targets, BLAS, CUDA devices.
#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <cctype>
#include <memory>
#include <nlohmann/json.hpp>

#include "commands.hpp"
#include "kreg/device.hpp"
#include "kreg/nw.hpp"
#include "kreg/system.hpp"
#include "kreg/version.hpp"

namespace kreg::cli {

namespace {

nlohmann::json forced_by(const char* variable, const std::string& value) {
  if (value.empty()) return nullptr;
  return fmt::format("{}={}", variable, value);
}

bool same_name(const std::string& a, const std::string& b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) ==
                  std::tolower(static_cast<unsigned char>(y));
         });
}

// Where the SIMD target and the BLAS kernels came from, for the text report.
std::string simd_origin(const SystemInfo& s) {
  if (s.simd_forced.empty()) return "the best this CPU supports";
  return fmt::format("forced by KREG_SIMD_TARGET={}; the best this CPU supports is {}",
                     s.simd_forced, s.simd_supported.front());
}

// OPENBLAS_CORETYPE's value if OpenBLAS used it (it ignores names it does not
// know), else "".
std::string blas_forced(const SystemInfo& s) {
  return same_name(s.blas_core_forced, s.blas_core) ? s.blas_core_forced : std::string();
}

std::string blas_origin(const SystemInfo& s) {
  if (s.blas_core_forced.empty()) return "detected";
  if (!blas_forced(s).empty()) {
    return fmt::format("forced by OPENBLAS_CORETYPE={}", s.blas_core_forced);
  }
  return fmt::format("OpenBLAS did not use OPENBLAS_CORETYPE={}", s.blas_core_forced);
}

// The registered engines, in the order "auto" tries them.
std::string engines_text() {
  std::string out;
  for (const EngineInfo& e : available_engines()) {
    out += fmt::format("{}{} ({})", out.empty() ? "" : ", ", e.engine.name(), e.device);
  }
  return out;
}

nlohmann::json to_json(const SystemInfo& s) {
  nlohmann::json engines = nlohmann::json::array();
  for (const EngineInfo& e : available_engines()) {
    engines.push_back({{"name", e.engine.name()}, {"device", e.device}});
  }
  nlohmann::json devices = nlohmann::json::array();
  for (const auto& d : s.cuda_devices) {
    devices.push_back(
        {{"index", d.index},
         {"name", d.name},
         {"memory_bytes", d.memory_bytes},
         {"compute_capability", fmt::format("{}.{}", d.compute_major, d.compute_minor)},
         {"multiprocessors", d.multiprocessors}});
  }
  return {{"kreg_version", kreg::version},
          {"cpu",
           {{"model", s.cpu_model},
            {"logical_cores", s.logical_cores},
            {"features", s.cpu_features},
            {"l1d_cache_bytes", s.l1d_cache_bytes},
            {"l2_cache_bytes", s.l2_cache_bytes}}},
          {"simd",
           {{"compiled", s.simd_compiled},
            {"supported", s.simd_supported},
            {"active", s.simd_active},
            {"forced_by", forced_by("KREG_SIMD_TARGET", s.simd_forced)}}},
          {"blas",
           {{"library", s.blas_library},
            {"config", s.blas_config},
            {"file", s.blas_file},
            {"core", s.blas_core},
            {"core_forced_by", forced_by("OPENBLAS_CORETYPE", blas_forced(s))},
            {"threads", s.blas_threads}}},
          {"cuda",
           {{"status", s.cuda_status},
            {"devices", devices},
            {"engine",
             {{"built", cuda_built()},
              {"usable", cuda_unavailable(0).empty()},
              {"reason", cuda_unavailable(0)}}}}},
          {"engines", engines}};
}

void print_text(const SystemInfo& s) {
  fmt::print("kreg {}\n", kreg::version);
  fmt::print("CPU:            {}\n", s.cpu_model);
  fmt::print("logical cores:  {}\n", s.logical_cores);
  fmt::print("CPU features:   {}\n", fmt::join(s.cpu_features, " "));
  fmt::print(
      "caches:         L1d {} KiB, L2 {} KiB per core (the engines size their L2 tiles by it)\n",
      s.l1d_cache_bytes >> 10, s.l2_cache_bytes >> 10);
  fmt::print("SIMD compiled:  {}\n", fmt::join(s.simd_compiled, " "));
  fmt::print("SIMD supported: {}\n", fmt::join(s.simd_supported, " "));
  fmt::print("SIMD in use:    {} ({})\n", s.simd_active, simd_origin(s));
  fmt::print("BLAS:           {}\n", s.blas_library);
  fmt::print("BLAS file:      {}\n", s.blas_file);
  fmt::print("BLAS core:      {} ({})\n", s.blas_core, blas_origin(s));
  fmt::print("BLAS threads:   {}\n", s.blas_threads);
  fmt::print("engines:        {}; auto takes the cheapest by measured cost\n", engines_text());
  const std::string cuda_why = cuda_unavailable(0);
  fmt::print("CUDA engine:    {}\n",
             cuda_why.empty()
                 ? fmt::format("runs on {} CUDA device(s) (--device cuda[:K])", cuda_device_count())
                 : fmt::format("not available: {}", cuda_why));
  if (s.cuda_devices.empty()) {
    fmt::print("CUDA:           {}\n", s.cuda_status);
    fmt::print("compute device: CPU ({} logical cores, {})\n", s.logical_cores, s.simd_active);
    return;
  }
  for (const auto& d : s.cuda_devices) {
    fmt::print("CUDA device {}:  {}, {:.1f} GiB, compute capability {}.{}, {} SMs\n", d.index,
               d.name, static_cast<double>(d.memory_bytes) / (1024.0 * 1024.0 * 1024.0),
               d.compute_major, d.compute_minor, d.multiprocessors);
  }
  fmt::print("compute device: CUDA device 0 ({})\n", s.cuda_devices.front().name);
}

}  // namespace

void add_info(CLI::App& root) {
  auto* cmd = root.add_subcommand("info", "Show the CPU, SIMD, BLAS and CUDA devices kreg uses");
  auto json = std::make_shared<bool>(false);
  cmd->add_flag("--json", *json, "Print machine-readable JSON");
  cmd->callback([json] {
    const SystemInfo s = system_info();
    if (*json) {
      fmt::print("{}\n", to_json(s).dump(2));
    } else {
      print_text(s);
    }
  });
}

}  // namespace kreg::cli
