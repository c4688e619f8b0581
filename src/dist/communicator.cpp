// dist/communicator.cpp - the local communicator, the process's world, the
// launcher's environment and the threads each rank gets.
#include "dist/communicator.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <charconv>
#include <cstdio>
#include <cstdlib>
#include <string_view>
#include <thread>

#include "kreg/par.hpp"

#ifdef KREG_MPI
#include <dlfcn.h>

#include <filesystem>
#include <string>

#include "dist/mpi_comm.hpp"
#endif

namespace kreg::dist {

namespace {

// One process: every collective is a copy.
class LocalCommunicator final : public Communicator {
 public:
  int rank() const override { return 0; }
  int size() const override { return 1; }
  int local_size() const override { return 1; }
  void broadcast(Bytes&, int) override {}
  std::vector<Bytes> allgather(const Bytes& mine) override { return {mine}; }
  std::vector<Bytes> gather(const Bytes& mine, int) override { return {mine}; }
  Bytes scatter(const std::vector<Bytes>& parts, int) override { return parts.at(0); }
  [[noreturn]] void abort(std::string_view message, int code) override {
    if (!message.empty()) fmt::print(stderr, "{}\n", message);
    std::fflush(stderr);
    std::_Exit(code);
  }
};

LocalCommunicator local;
Communicator* current = &local;

bool has_env(const char* name) {
  const char* v = std::getenv(name);
  return v != nullptr && *v != '\0';
}

int env_int(const char* name) {
  const char* v = std::getenv(name);
  if (v == nullptr) return 0;
  const std::string_view text(v);
  int value = 0;
  const auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  return ec == std::errc() && ptr == text.data() + text.size() && value > 0 ? value : 0;
}

}  // namespace

Communicator& world() { return *current; }

bool launched_by_mpi() {
  // Open MPI's mpirun, PMIx (Open MPI 4+, srun --mpi=pmix), PMI-1/2 (MPICH's
  // Hydra, srun --mpi=pmi2). A plain process, even inside a Slurm job, has none.
  return has_env("OMPI_COMM_WORLD_SIZE") || has_env("PMIX_RANK") || has_env("PMI_RANK") ||
         has_env("PMI_SIZE");
}

bool mpi_available() {
#ifdef KREG_MPI
  return true;
#else
  return false;
#endif
}

#ifdef KREG_MPI
namespace {

// The plugin beside the running kreg (the build tree), else in its LIBDIR/kreg/.
std::string plugin_path() {
  std::error_code ec;
  const std::filesystem::path exe = std::filesystem::read_symlink("/proc/self/exe", ec);
  if (ec) return KREG_MPI_PLUGIN;
  const std::filesystem::path beside = exe.parent_path() / KREG_MPI_PLUGIN;
  if (std::filesystem::exists(beside, ec)) return beside.string();
  return (exe.parent_path().parent_path() / KREG_MPI_PLUGIN_DIR / KREG_MPI_PLUGIN).string();
}

// Ends the process with `message`: launched by MPI, kreg must not run the
// whole job once per rank.
[[noreturn]] void cannot_start(const std::string& message) {
  fmt::print(stderr,
             "kreg: error: started by an MPI launcher (mpirun or srun), but {}; reinstall kreg "
             "with its MPI support, or run it without the launcher\n",
             message);
  std::exit(1);
}

}  // namespace
#endif

Session::Session([[maybe_unused]] int& argc, [[maybe_unused]] char**& argv) {
#ifdef KREG_MPI
  if (!launched_by_mpi()) return;
  const std::string path = plugin_path();
  // RTLD_GLOBAL: MPI's own components, loaded later, look up libmpi's symbols.
  plugin_ = dlopen(path.c_str(), RTLD_NOW | RTLD_GLOBAL);
  if (plugin_ == nullptr) cannot_start(fmt::format("its MPI support did not load ({})", dlerror()));
  auto* start = reinterpret_cast<decltype(&kreg_mpi_start)>(dlsym(plugin_, "kreg_mpi_start"));
  if (start == nullptr) cannot_start(fmt::format("'{}' is not kreg's MPI support", path));
  char error[256] = {};
  Communicator* mpi = start(&argc, &argv, error, static_cast<int>(sizeof error));
  if (mpi == nullptr) cannot_start(fmt::format("MPI did not start: {}", error));
  mpi_.reset(mpi);
  current = mpi;
#endif
}

Session::~Session() {
#ifdef KREG_MPI
  if (mpi_) {
    current = &local;
    mpi_.reset();
    if (auto* stop = reinterpret_cast<decltype(&kreg_mpi_stop)>(dlsym(plugin_, "kreg_mpi_stop"))) {
      stop();
    }
  }
#endif
}

int Session::finish(int code) {
  if (code != 0 && mpi_ && mpi_->size() > 1) {
    mpi_->abort(fmt::format("kreg: rank {} of {} failed; ending the other ranks", mpi_->rank(),
                            mpi_->size()),
                code);
  }
  return code;
}

int default_threads(const Communicator& comm) {
  if (const int cpus = env_int("SLURM_CPUS_PER_TASK"); cpus > 0) {
    return std::min(cpus, max_n_jobs());
  }
  if (comm.local_size() > 1) {
    const int cores = std::max(1, static_cast<int>(std::thread::hardware_concurrency()));
    return std::max(1, cores / comm.local_size());
  }
  return 0;
}

std::size_t share_begin(std::size_t count, int rank, int size) {
  // Balanced: the first count % size ranks hold one item more.
  const auto r = static_cast<std::size_t>(rank), p = static_cast<std::size_t>(size);
  return r * (count / p) + std::min(r, count % p);
}

}  // namespace kreg::dist
