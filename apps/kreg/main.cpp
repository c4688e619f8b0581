// main.cpp - the kreg command-line tool: parse, dispatch, map errors to exit
// codes (0 success, 1 runtime error, 2 bad usage).
#include <fmt/format.h>

#include <CLI/CLI.hpp>
#include <cstdio>
#include <exception>

#include "cli_util.hpp"
#include "commands.hpp"
#include "kreg/error.hpp"
#include "kreg/interrupt.hpp"
#include "kreg/system.hpp"
#include "kreg/version.hpp"

namespace {
constexpr int kExitRuntime = 1;
constexpr int kExitUsage = 2;
constexpr int kExitInterrupted = 130;  // 128 + SIGINT, as a shell reports Ctrl-C
}  // namespace

int main(int argc, char** argv) {
  kreg::park_blas_threads();  // OpenBLAS's idle pool would spin on our cores
  CLI::App app{"kreg: parallel kernel regression and the embarrassingly parallel loops of ML"};
  app.set_version_flag("--version", fmt::format("kreg {}", kreg::version));
  app.require_subcommand(1);
  // A KREG_SIMD_TARGET kreg cannot use fails before a command reads or writes anything.
  app.parse_complete_callback([] { (void)kreg::simd_active_target(); });
  app.footer("Run `kreg <command> --help` for the options of one command.");
  kreg::cli::add_info(app);
  kreg::cli::add_generate(app);
  kreg::cli::add_score(app);
  kreg::cli::add_describe(app);
  kreg::cli::add_predict(app);
  kreg::cli::add_tune(app);
  kreg::cli::add_augment(app);
  kreg::cli::add_infer(app);
  kreg::cli::add_cv(app);
  for (CLI::App* command : app.get_subcommands({})) {
    if (CLI::Option* jobs = command->get_option_no_throw("--jobs")) {
      jobs->transform(kreg::cli::jobs_validator());
    }
  }

  // SIGINT and SIGTERM request the run's token in every phase of every
  // command (cli_util.hpp), never kill it halfway through a write.
  const kreg::ScopedSigint sigint(kreg::cli::cancel_token());
  try {
    app.parse(argc, argv);
    // A signal after the command's last poll: still not a normal end.
    kreg::throw_if_cancelled(&kreg::cli::cancel_token());
    return 0;
  } catch (const CLI::ParseError& e) {
    // --help and --version arrive here as "errors" with exit code 0.
    const int code = app.exit(e);
    return code == 0 ? 0 : kExitUsage;
  } catch (const kreg::Cancelled& e) {
    fmt::print(stderr, "kreg: {}\n", e.what());
    return kExitInterrupted;
  } catch (const kreg::ArgumentError& e) {
    fmt::print(stderr, "kreg: error: {}\n", e.what());
    return kExitUsage;
  } catch (const std::exception& e) {
    fmt::print(stderr, "kreg: error: {}\n", e.what());
    return kExitRuntime;
  }
}
