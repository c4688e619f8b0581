// nw/registry.cpp - the backends in preference order, and choosing one.
#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <mutex>

#include "kreg/error.hpp"
#include "nw/backend.hpp"
#if KREG_HAVE_CUDA
#include "cuda/backend.hpp"
#endif

namespace kreg::nw {

namespace {

struct Registry {
  std::mutex mutex;
  std::vector<const Backend*> list;
};

Registry& registry() {
  // kreg's own backends, fastest first: a CUDA backend goes before the CPU's
  // when it is built.
  static Registry* const r = [] {
    auto* reg = new Registry;
    reg->list = cpu_backends();
#if KREG_HAVE_CUDA
    // First: auto takes it when a device is present (its supports() says no
    // otherwise, and auto goes on to the CPU's).
    reg->list.insert(reg->list.begin(), cuda_backend());
#endif
    return reg;
  }();
  return *r;
}

// "auto, fused, vectorized or reference": the valid names, in preference order.
std::string names(const std::vector<const Backend*>& list) {
  std::string out = "auto";
  for (std::size_t i = 0; i < list.size(); ++i) {
    out += fmt::format("{} {}", i + 1 == list.size() ? " or" : ",", list[i]->name());
  }
  return out;
}

std::string_view operation_name(const Request& r) {
  return r.operation == Operation::predict ? "predict" : "predict at many bandwidths";
}

}  // namespace

std::vector<const Backend*> backends() {
  Registry& r = registry();
  const std::lock_guard<std::mutex> lock(r.mutex);
  return r.list;
}

void register_backend(const Backend* backend, bool first) {
  if (backend == nullptr) throw ArgumentError("register_backend: no backend");
  Registry& r = registry();
  const std::lock_guard<std::mutex> lock(r.mutex);
  for (const Backend* b : r.list) {
    if (b->name() == backend->name()) {
      throw ArgumentError(fmt::format(
          "register_backend: an engine named '{}' is already registered", backend->name()));
    }
  }
  r.list.insert(first ? r.list.begin() : r.list.end(), backend);
}

void unregister_backend(const Backend* backend) {
  Registry& r = registry();
  const std::lock_guard<std::mutex> lock(r.mutex);
  r.list.erase(std::remove(r.list.begin(), r.list.end(), backend), r.list.end());
}

double Backend::cost(const Request&) const { return std::numeric_limits<double>::quiet_NaN(); }

const Backend& choose(const Request& request, Engine engine, Device device) {
  std::vector<const Backend*> list = backends();
  Request req = request;
  if (!device.is_auto()) {
    const std::string_view kind = device.kind() == Device::Kind::cpu ? "cpu" : "cuda";
    req.device_index = device.index();
    std::erase_if(list, [&](const Backend* b) { return b->device() != kind; });
    if (list.empty()) {
      throw ArgumentError(fmt::format(
          "device '{}' cannot run here: {}; choose device 'cpu' (--device cpu) or 'auto'",
          to_string(device), cuda_unavailable(device.index())));
    }
    if (!engine.is_auto() && std::none_of(list.begin(), list.end(), [&](const Backend* b) {
          return b->name() == engine.name();
        })) {
      throw ArgumentError(fmt::format("engine '{}' does not run on device '{}'; choose {}",
                                      engine.name(), to_string(device), names(list)));
    }
  }
  if (engine.is_auto()) {
    // Preference order, with the backends that estimate their cost ranked by
    // it: an estimate-free backend that supports the call (a device, a test
    // double) ends the ranking, taking the call only if no ranked one can.
    std::string first_why;
    const Backend* best = nullptr;
    double best_cost = 0;
    for (const Backend* b : list) {
      std::string why;
      if (!b->supports(req, &why)) {
        if (first_why.empty()) first_why = why;
        continue;
      }
      const double cost = b->cost(req);
      if (std::isnan(cost)) return best != nullptr ? *best : *b;
      if (best == nullptr || cost < best_cost) {
        best = b;
        best_cost = cost;
      }
    }
    if (best != nullptr) return *best;
    if (device.kind() == Device::Kind::cuda) {
      throw ArgumentError(fmt::format(
          "device '{}' cannot {} here: {}; choose device 'cpu' (--device cpu) or 'auto'",
          to_string(device), operation_name(req), first_why));
    }
    throw ArgumentError(fmt::format("no engine of this kreg build can {} with the {} kernel",
                                    operation_name(req), to_string(req.kernel)));
  }
  for (const Backend* b : list) {
    if (b->name() != engine.name()) continue;
    std::string why;
    if (b->supports(req, &why)) return *b;
    throw ArgumentError(fmt::format("engine '{}' cannot {} here: {}; use engine 'auto'{}",
                                    engine.name(), operation_name(req), why,
                                    b->device() == "cpu" ? "" : " or device 'cpu' (--device cpu)"));
  }
  throw ArgumentError(fmt::format("unknown engine '{}'; choose {}", engine.name(), names(list)));
}

}  // namespace kreg::nw

namespace kreg {

Engine parse_engine(std::string_view name) {
  if (name == "auto") return Engine::automatic;
  const std::vector<const nw::Backend*> list = nw::backends();
  for (const nw::Backend* b : list) {
    // The registered name's storage, not the caller's: an Engine holds a view.
    if (b->name() == name) return Engine(b->name());
  }
  throw ArgumentError(fmt::format("unknown engine '{}'; choose {}", name, nw::names(list)));
}

std::string_view to_string(Engine engine) { return engine.name(); }

std::vector<EngineInfo> available_engines() {
  std::vector<EngineInfo> out;
  for (const nw::Backend* b : nw::backends()) out.push_back({Engine(b->name()), b->device()});
  return out;
}

}  // namespace kreg
