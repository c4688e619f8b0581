// main.cpp - the kreg command-line tool: parse, dispatch, map errors to exit
// codes (0 success, 1 runtime error, 2 bad usage) and make sure every
// failure reaches the user as kreg's own message, including a failed write
// to standard output, an allocation that failed and a JSON library error.
#include <fmt/format.h>
#include <malloc.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <exception>
#include <filesystem>
#include <iterator>
#include <new>
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

#include "cli_util.hpp"
#include "commands.hpp"
#include "dist/communicator.hpp"
#include "kreg/error.hpp"
#include "kreg/interrupt.hpp"
#include "kreg/system.hpp"
#include "kreg/version.hpp"
#include "shard.hpp"

namespace {
constexpr int kExitRuntime = 1;
constexpr int kExitUsage = 2;
constexpr int kExitInterrupted = 130;  // 128 + SIGINT, as a shell reports Ctrl-C

std::vector<CLI::App*> all_commands(CLI::App& app) {
  return app.get_subcommands([](CLI::App*) { return true; });
}

std::string command_names(CLI::App& app) {
  std::string out;
  for (const CLI::App* sub : all_commands(app)) {
    out += (out.empty() ? "" : ", ") + sub->get_name();
  }
  return out;
}

// "kreg tune", or "kreg" before a command was chosen.
std::string running(CLI::App& app) {
  const auto chosen = app.get_subcommands();
  return chosen.empty() ? std::string("kreg") : "kreg " + chosen.front()->get_name();
}

// The first word that is not an option must name a command; CLI11 would
// only say "A subcommand is required" without naming the word.
bool unknown_command(CLI::App& app, int argc, char** argv) {
  if (argc < 2 || argv[1][0] == '-') return false;
  const std::string_view word = argv[1];
  for (const CLI::App* sub : all_commands(app)) {
    if (sub->check_name(std::string(word))) return false;
  }
  fmt::print(stderr, "kreg: error: unknown command '{}'; the commands are {} (kreg --help)\n", word,
             command_names(app));
  return true;
}

// A JSON library error in kreg's words: its own text starts with an
// "[json.exception.type_error.316]" tag that means nothing to a user.
std::string json_message(const nlohmann::json::exception& e) {
  std::string_view what = e.what();
  if (what.starts_with("[json.exception.")) {
    const auto close = what.find("] ");
    if (close != std::string_view::npos) what.remove_prefix(close + 2);
  }
  if (e.id == 316) {
    return fmt::format(
        "cannot write JSON: a file or column name is not valid UTF-8 ({}); rename it", what);
  }
  if (e.id >= 101 && e.id <= 199) return fmt::format("malformed JSON: {}", what);
  return fmt::format("JSON: {}", what);
}

// Output already printed may still sit in stdout's buffer: a full disk
// (> /dev/full) or a closed pipe shows only now. A run whose output was lost
// must not exit 0.
int check_stdout(int code) {
  errno = 0;
  const bool flushed = std::fflush(stdout) == 0;
  const int err = errno;
  if (flushed && std::ferror(stdout) == 0) return code;
  fmt::print(stderr, "kreg: error: cannot write to standard output: {}\n",
             err != 0 ? std::strerror(err) : "a write failed");
  return code == 0 ? kExitRuntime : code;
}

// The readers' NaN/Inf refusal ends with the library's remedy
// (NonFinite::allow); a CLI user gets the option instead: `--allow-nonfinite`
// where the command has it (describe reads and counts them), else how to find
// them, since a model cannot learn from NaN.
std::string cli_message(CLI::App& app, std::string message) {
  constexpr std::string_view rejected = "kreg rejects NaN/Inf by default";
  const auto at = message.find(rejected);
  if (at == std::string::npos) return message;
  message.resize(at + rejected.size());
  const auto chosen = app.get_subcommands();
  if (!chosen.empty() && chosen.front()->get_option_no_throw("--allow-nonfinite") != nullptr) {
    return message + "; --allow-nonfinite reads them (and counts them)";
  }
  return message +
         "; clean the data (drop or impute those cells: a model cannot learn from NaN), and "
         "find them with `kreg describe --allow-nonfinite FILE`";
}

// Every input option checked with CLI::ExistingFile: "-" reads standard
// input, and a file that is missing or a directory is a runtime error (exit
// 1, as for any unreadable input) in kreg's words with the option's name,
// not CLI11's usage error (exit 2). Still checked before the command starts.
void check_inputs_as_kreg(CLI::App& app) {
  for (CLI::App* command : app.get_subcommands({})) {
    for (CLI::Option* option : command->get_options()) {
      CLI::Validator* check = nullptr;
      for (int i = 0; check == nullptr; ++i) {
        CLI::Validator* v = nullptr;
        try {
          v = option->get_validator(i);
        } catch (const CLI::OptionNotFound&) {
          break;  // no more validators
        }
        if (v->get_description() == "FILE") check = v;  // CLI::ExistingFile
      }
      if (check == nullptr) continue;
      check->non_modifying(false);  // it turns "-" into /dev/stdin
      check->operation([name = option->get_name()](std::string& path) -> std::string {
        if (path == "-") {
          path = "/dev/stdin";  // read as a stream, like any pipe
          return {};
        }
        std::error_code ec;
        const auto status = std::filesystem::status(path, ec);
        if (status.type() == std::filesystem::file_type::not_found) {
          throw kreg::InputError(fmt::format(
              "{}: cannot open '{}': No such file or directory (check the path; relative paths "
              "start at the current directory; - reads standard input)",
              name, path));
        }
        if (status.type() == std::filesystem::file_type::directory) {
          throw kreg::InputError(
              fmt::format("{}: cannot read '{}': it is a directory, not a file", name, path));
        }
        return {};
      });
    }
  }
}

int run_kreg(int argc, char** argv) {
  kreg::park_blas_threads();                // OpenBLAS's idle pool would spin on our cores
  kreg::cli::set_command_line(argc, argv);  // for --shard's partials
  CLI::App app{"kreg: parallel kernel regression and the embarrassingly parallel loops of ML"};
  app.set_version_flag("--version", fmt::format("kreg {}", kreg::version));
  app.require_subcommand(1);
  // A KREG_SIMD_TARGET kreg cannot use fails before a command reads or writes anything.
  app.parse_complete_callback([] { (void)kreg::simd_active_target(); });
  app.footer("Run `kreg <command> --help` for the options of one command.");
  // A run that names its command first builds that command's options alone:
  // the whole tree is about 0.5 ms of start-up (docs/benchmarks.md, "Process
  // overhead"). Anything else (kreg --help, an unknown word, an option first)
  // gets every command, for the help and the error that list them.
  struct Command {
    std::string_view name;
    void (*add)(CLI::App&);
  };
  static constexpr Command kCommands[] = {
      {"info", kreg::cli::add_info},       {"generate", kreg::cli::add_generate},
      {"score", kreg::cli::add_score},     {"describe", kreg::cli::add_describe},
      {"predict", kreg::cli::add_predict}, {"tune", kreg::cli::add_tune},
      {"augment", kreg::cli::add_augment}, {"infer", kreg::cli::add_infer},
      {"cv", kreg::cli::add_cv},           {"tutorial", kreg::cli::add_tutorial},
      {"merge", kreg::cli::add_merge}};
  const std::string_view first = argc > 1 ? argv[1] : "";
  const bool named = std::any_of(std::begin(kCommands), std::end(kCommands),
                                 [&](const Command& c) { return c.name == first; });
  for (const Command& c : kCommands) {
    if (!named || c.name == first) c.add(app);
  }
  // Each MPI rank (or Slurm task) takes its share of the cores unless --jobs says otherwise.
  const int rank_threads = kreg::dist::default_threads(kreg::dist::world());
  for (CLI::App* command : app.get_subcommands({})) {
    if (CLI::Option* jobs = command->get_option_no_throw("--jobs")) {
      jobs->transform(kreg::cli::jobs_validator());
      if (rank_threads > 0) jobs->default_val(rank_threads);
    }
  }
  check_inputs_as_kreg(app);

  if (unknown_command(app, argc, argv)) return kExitUsage;
  // SIGINT and SIGTERM request the run's token in every phase of every
  // command (cli_util.hpp), never kill it halfway through a write.
  const kreg::ScopedSigint sigint(kreg::cli::cancel_token());
  try {
    app.parse(argc, argv);
    // A signal after the command's last poll: still not a normal end.
    kreg::throw_if_cancelled(&kreg::cli::cancel_token());
    return check_stdout(0);
  } catch (const CLI::ParseError& e) {
    // --help and --version arrive here as "errors" with exit code 0.
    const int code = app.exit(e);
    return check_stdout(code == 0 ? 0 : kExitUsage);
  } catch (const kreg::Cancelled& e) {
    fmt::print(stderr, "kreg: {}\n", e.what());
    return kExitInterrupted;
  } catch (const kreg::ArgumentError& e) {
    fmt::print(stderr, "kreg: error: {}\n", e.what());
    return kExitUsage;
  } catch (const std::bad_alloc&) {
    // Also std::bad_array_new_length: a size computed from the input.
    fmt::print(stderr,
               "kreg: error: out of memory while running `{}`; the input may declare more data "
               "than it holds, or be too large for this machine: use --dtype f32 where the "
               "command has it, or fewer rows\n",
               running(app));
    return kExitRuntime;
  } catch (const std::length_error&) {
    fmt::print(stderr,
               "kreg: error: out of memory while running `{}`: a size computed from the input is "
               "larger than any allocation can be; the input may declare more data than it "
               "holds\n",
               running(app));
    return kExitRuntime;
  } catch (const nlohmann::json::exception& e) {
    fmt::print(stderr, "kreg: error: {}\n", json_message(e));
    return kExitRuntime;
  } catch (const std::system_error& e) {
    // fmt::print throws when stdout cannot take the text (its buffer full).
    if (std::ferror(stdout) != 0) {
      fmt::print(stderr, "kreg: error: cannot write to standard output: {}\n", e.code().message());
    } else {
      fmt::print(stderr, "kreg: error: {}\n", e.what());
    }
    return kExitRuntime;
  } catch (const std::exception& e) {
    fmt::print(stderr, "kreg: error: {}\n", cli_message(app, e.what()));
    return kExitRuntime;
  }
}

}  // namespace

// Under mpirun or srun every rank runs the command; a rank that fails ends
// the whole job (its message already printed) rather than leave the others
// waiting.
int main(int argc, char** argv) {
  // Buffers of up to 256 MiB come from the heap and stay there once freed:
  // a command reads, fits and predicts in turn, each phase freeing buffers of
  // megabytes the next one needs again, and glibc's default hands each back
  // to the kernel and page-faults it in afresh (about 470 faults of the 1,700
  // in `kreg predict` on the tutorial's CSV; docs/benchmarks.md).
  mallopt(M_MMAP_THRESHOLD, 256 << 20);
  mallopt(M_TRIM_THRESHOLD, 512 << 20);
  kreg::dist::Session session(argc, argv);
  return session.finish(run_kreg(argc, argv));
}
