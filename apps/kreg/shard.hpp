// shard.hpp - the job-array path for clusters without a working MPI:
// `kreg predict|tune|cv --shard i/N` runs share i of N of the command's
// deterministic tasks and writes a partial result beside --out
// (OUT.part-i-of-N); `kreg merge OUT` reads the N partials and runs the
// command again with every task supplied by them, so it writes exactly the
// single-process output (and computes only what follows the tasks: tune's
// optimiser).
//
// A partial is one JSON header line (the command line it came from, its
// directory, the shard, a checksum of the data where the command has one)
// and the binary partial results after it (dist/bytes.hpp).
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "dist/communicator.hpp"

namespace kreg::cli {

struct ShardSpec {
  int index = -1, count = 0;
  bool active() const { return count > 0; }
  // Items [begin, end) of `total` that this shard runs (contiguous shares).
  std::size_t begin(std::size_t total) const;
  std::size_t end(std::size_t total) const;
};

// "" (no shard), "i/N", or "N" with i from SLURM_ARRAY_TASK_ID.
// ArgumentError naming --shard otherwise, and under MPI ranks.
ShardSpec parse_shard(const std::string& text);

// The help text of --shard.
inline constexpr std::string_view kShardHelp =
    "Run share i of N of the tasks (i/N, or N with i from SLURM_ARRAY_TASK_ID) and write a "
    "partial result to OUT.part-i-of-N; `kreg merge OUT` combines them";

// The command line main() was given (stored in each partial).
void set_command_line(int argc, char** argv);

// Writes this shard's partial beside `out`; prints where, on stderr.
void write_partial(const std::string& out, const ShardSpec& shard, std::string_view command,
                   std::string_view data_checksum, const dist::Bytes& payload);

// While `kreg merge` runs a command again: the partials' payloads in shard
// order and their data checksum; nullptr otherwise.
struct MergeInput {
  std::string command;
  std::string data_checksum;
  std::vector<dist::Bytes> payloads;
  std::vector<std::string> paths;  // the partial files, deleted once the merge succeeds
};
const MergeInput* merging();

// `kreg merge`'s work: reads OUT.part-*-of-N, checks they are one complete
// set of one command line, and returns that command line (argv without the
// --shard option) with merging() set for the rest of the process.
std::vector<std::string> load_partials(const std::string& out);

}  // namespace kreg::cli
