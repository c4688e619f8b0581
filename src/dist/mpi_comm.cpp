// dist/mpi_comm.cpp - kreg's MPI plugin: the communicator over
// MPI_COMM_WORLD. Messages of any size travel in pieces of at most 1 GiB
// (MPI counts are int).
#include "dist/mpi_comm.hpp"

#include <fmt/format.h>
#include <mpi.h>

#include <algorithm>
#include <climits>
#include <cstdint>
#include <cstdio>
#include <stdexcept>
#include <string>

namespace kreg::dist {

namespace {

constexpr std::size_t kPiece = std::size_t{1} << 30;

void check(int rc, const char* what) {
  if (rc == MPI_SUCCESS) return;
  char text[MPI_MAX_ERROR_STRING];
  int length = 0;
  MPI_Error_string(rc, text, &length);
  throw std::runtime_error(fmt::format("MPI {} failed: {}", what, std::string(text, length)));
}

class MpiCommunicator final : public Communicator {
 public:
  MpiCommunicator() {
    check(MPI_Comm_rank(MPI_COMM_WORLD, &rank_), "Comm_rank");
    check(MPI_Comm_size(MPI_COMM_WORLD, &size_), "Comm_size");
    MPI_Comm node = MPI_COMM_NULL;
    check(MPI_Comm_split_type(MPI_COMM_WORLD, MPI_COMM_TYPE_SHARED, rank_, MPI_INFO_NULL, &node),
          "Comm_split_type");
    check(MPI_Comm_size(node, &local_size_), "Comm_size");
    MPI_Comm_free(&node);
  }
  int rank() const override { return rank_; }
  int size() const override { return size_; }
  int local_size() const override { return local_size_; }

  void broadcast(Bytes& bytes, int root) override {
    auto n = static_cast<std::uint64_t>(bytes.size());
    check(MPI_Bcast(&n, 1, MPI_UINT64_T, root, MPI_COMM_WORLD), "Bcast");
    bytes.resize(static_cast<std::size_t>(n));
    for (std::size_t at = 0; at < bytes.size(); at += kPiece) {
      const auto count = static_cast<int>(std::min(kPiece, bytes.size() - at));
      check(MPI_Bcast(bytes.data() + at, count, MPI_BYTE, root, MPI_COMM_WORLD), "Bcast");
    }
  }

  // MPI_Allgatherv (one collective, log p steps) while the total fits MPI's
  // int counts; otherwise gather on rank 0 and broadcast each rank's bytes.
  std::vector<Bytes> allgather(const Bytes& mine) override {
    std::vector<std::uint64_t> sizes(static_cast<std::size_t>(size_));
    const auto n = static_cast<std::uint64_t>(mine.size());
    check(MPI_Allgather(&n, 1, MPI_UINT64_T, sizes.data(), 1, MPI_UINT64_T, MPI_COMM_WORLD),
          "Allgather");
    std::uint64_t total = 0;
    for (const std::uint64_t s : sizes) total += s;
    if (total <= static_cast<std::uint64_t>(INT_MAX)) {
      std::vector<int> counts, offsets;
      int at = 0;
      for (const std::uint64_t s : sizes) {
        counts.push_back(static_cast<int>(s));
        offsets.push_back(at);
        at += static_cast<int>(s);
      }
      Bytes flat(static_cast<std::size_t>(total));
      check(MPI_Allgatherv(mine.data(), static_cast<int>(n), MPI_BYTE, flat.data(), counts.data(),
                           offsets.data(), MPI_BYTE, MPI_COMM_WORLD),
            "Allgatherv");
      std::vector<Bytes> all;
      for (int r = 0; r < size_; ++r) {
        const auto* b = flat.data() + offsets[static_cast<std::size_t>(r)];
        all.emplace_back(b, b + counts[static_cast<std::size_t>(r)]);
      }
      return all;
    }
    std::vector<Bytes> all = gather(mine, 0);
    all.resize(static_cast<std::size_t>(size_));
    for (Bytes& b : all) broadcast(b, 0);
    return all;
  }

  // Point to point in rank order: the root receives one rank's bytes whole
  // before the next, so any total size works.
  std::vector<Bytes> gather(const Bytes& mine, int root) override {
    std::vector<Bytes> all;
    if (rank_ != root) {
      send(mine, root);
      return all;
    }
    all.resize(static_cast<std::size_t>(size_));
    for (int r = 0; r < size_; ++r) {
      all[static_cast<std::size_t>(r)] = r == root ? mine : receive(r);
    }
    return all;
  }

  Bytes scatter(const std::vector<Bytes>& parts, int root) override {
    if (rank_ != root) return receive(root);
    for (int r = 0; r < size_; ++r) {
      if (r != root) send(parts.at(static_cast<std::size_t>(r)), r);
    }
    return parts.at(static_cast<std::size_t>(root));
  }

  [[noreturn]] void abort(std::string_view message, int code) override {
    if (!message.empty()) fmt::print(stderr, "{}\n", message);
    std::fflush(stdout);
    std::fflush(stderr);
    MPI_Abort(MPI_COMM_WORLD, code);
    std::_Exit(code);  // MPI_Abort does not return; should it, end this rank at least
  }

 private:
  static constexpr int kTag = 17;

  void send(const Bytes& bytes, int to) {
    auto n = static_cast<std::uint64_t>(bytes.size());
    check(MPI_Send(&n, 1, MPI_UINT64_T, to, kTag, MPI_COMM_WORLD), "Send");
    for (std::size_t at = 0; at < bytes.size(); at += kPiece) {
      const auto count = static_cast<int>(std::min(kPiece, bytes.size() - at));
      check(MPI_Send(bytes.data() + at, count, MPI_BYTE, to, kTag, MPI_COMM_WORLD), "Send");
    }
  }
  Bytes receive(int from) {
    std::uint64_t n = 0;
    check(MPI_Recv(&n, 1, MPI_UINT64_T, from, kTag, MPI_COMM_WORLD, MPI_STATUS_IGNORE), "Recv");
    Bytes bytes(static_cast<std::size_t>(n));
    for (std::size_t at = 0; at < bytes.size(); at += kPiece) {
      const auto count = static_cast<int>(std::min(kPiece, bytes.size() - at));
      check(MPI_Recv(bytes.data() + at, count, MPI_BYTE, from, kTag, MPI_COMM_WORLD,
                     MPI_STATUS_IGNORE),
            "Recv");
    }
    return bytes;
  }

  int rank_ = 0, size_ = 1, local_size_ = 1;
};

}  // namespace

}  // namespace kreg::dist

extern "C" kreg::dist::Communicator* kreg_mpi_start(int* argc, char*** argv, char* error,
                                                    int size) {
  int provided = 0;
  if (MPI_Init_thread(argc, argv, MPI_THREAD_FUNNELED, &provided) != MPI_SUCCESS) {
    std::snprintf(error, static_cast<std::size_t>(size), "MPI_Init_thread failed");
    return nullptr;
  }
  // Errors come back as codes (check() turns them into exceptions, and the
  // failing rank then ends the job with its message) instead of MPI's own abort.
  MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
  try {
    return new kreg::dist::MpiCommunicator();
  } catch (const std::exception& e) {
    std::snprintf(error, static_cast<std::size_t>(size), "%s", e.what());
    return nullptr;
  }
}

extern "C" void kreg_mpi_stop() {
  int finalized = 0;
  MPI_Finalized(&finalized);
  if (!finalized) MPI_Finalize();
}
