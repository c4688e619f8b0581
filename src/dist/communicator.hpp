// dist/communicator.hpp - the ranks a kreg command runs on: one process, or
// MPI ranks started by mpirun or srun. Commands shard a workflow's
// deterministic task plan across the ranks and combine the partials in plan
// order, so the answer is the same bits for any number of ranks; rank 0 owns
// the files, the journal and the progress display.
//
// Two implementations: a local one (one rank, every call a no-op or a copy)
// and an MPI one (dist/mpi.cpp, built with KREG_MPI). This folder is the only
// place that includes mpi.h. Every collective call must be made by every rank
// in the same order, as in MPI.
#pragma once

#include <cstddef>
#include <memory>
#include <string_view>
#include <vector>

namespace kreg::dist {

using Bytes = std::vector<std::byte>;

class Communicator {
 public:
  virtual ~Communicator() = default;
  virtual int rank() const = 0;
  virtual int size() const = 0;
  // Ranks on this rank's machine (they share its cores).
  virtual int local_size() const = 0;
  bool is_root() const { return rank() == 0; }

  // Collective: `root`'s bytes replace every other rank's.
  virtual void broadcast(Bytes& bytes, int root = 0) = 0;
  // Collective: every rank's bytes, in rank order, on every rank.
  virtual std::vector<Bytes> allgather(const Bytes& mine) = 0;
  // Collective: every rank's bytes, in rank order, on `root`; empty elsewhere.
  virtual std::vector<Bytes> gather(const Bytes& mine, int root = 0) = 0;
  // Collective: rank r receives parts[r] of `root` (parts is read on root only).
  virtual Bytes scatter(const std::vector<Bytes>& parts, int root = 0) = 0;

  // Ends the whole job at once with exit status `code` after printing
  // `message` (when not empty) on stderr: the other ranks may be waiting in a
  // collective call and would otherwise wait for ever.
  [[noreturn]] virtual void abort(std::string_view message, int code) = 0;
};

// The communicator of this process (a local one until a Session starts MPI).
Communicator& world();

// Whether the environment says an MPI launcher started this process
// (mpirun/mpiexec of Open MPI or MPICH, srun --mpi=pmix or pmi2).
bool launched_by_mpi();

// Whether this kreg was built with MPI.
bool mpi_available();

// Starts MPI when kreg was built with it and launched_by_mpi(); otherwise
// world() stays local, so a plain `kreg` start pays nothing for MPI. One per
// process, in main.
class Session {
 public:
  Session(int& argc, char**& argv);
  ~Session();
  Session(const Session&) = delete;
  Session& operator=(const Session&) = delete;
  // The process's exit status: on a failure (code != 0) with more than one
  // rank, ends every rank (the failing rank's message is already on stderr);
  // otherwise finalises MPI and returns `code`.
  int finish(int code);

 private:
  std::unique_ptr<Communicator> mpi_;
  void* plugin_ = nullptr;  // the MPI plugin (dlopen), kept loaded until exit
};

// Threads for each rank's work when the user gave no --jobs: the
// SLURM_CPUS_PER_TASK of a Slurm job step, else this machine's cores divided
// among its ranks when there are several; 0 when neither applies (kreg's own
// default, all cores).
int default_threads(const Communicator& comm);

// The ranks' contiguous shares of `count` items: rank r holds
// [share_begin(count, r, size), share_begin(count, r + 1, size)).
std::size_t share_begin(std::size_t count, int rank, int size);

}  // namespace kreg::dist
