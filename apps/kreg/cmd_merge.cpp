// cmd_merge.cpp - `kreg merge OUT`: the partial results of
// `kreg predict|tune|cv --shard i/N --out OUT` runs (a Slurm job array)
// combined into exactly the output one process writes: the command runs
// again with every task supplied by the partials (shard.hpp).
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "cli_util.hpp"
#include "commands.hpp"
#include "dist/communicator.hpp"
#include "kreg/error.hpp"
#include "shard.hpp"

namespace kreg::cli {

void add_merge(CLI::App& root) {
  auto out = std::make_shared<std::string>();
  auto* cmd = root.add_subcommand(
      "merge", "Combine the partial results of `--shard i/N` runs into the one-process output");
  cmd->add_option("out", *out, "The --out every shard was given (its partials are OUT.part-I-of-N)")
      ->required();
  cmd->callback([out] {
    if (dist::world().size() > 1) {
      throw ArgumentError("kreg merge runs in one process: start it without mpirun or srun");
    }
    const std::vector<std::string> args = load_partials(*out);
    CLI::App again{"kreg"};
    again.require_subcommand(1);
    add_predict(again);
    add_tune(again);
    add_cv(again);
    std::vector<std::string> reversed(args.rbegin(), args.rend());  // CLI11's order
    again.parse(reversed);
    // The result is written: the partials have done their job (as a tune
    // journal once its results are written).
    for (const std::string& path : merging()->paths) std::filesystem::remove(path);
  });
}

}  // namespace kreg::cli
