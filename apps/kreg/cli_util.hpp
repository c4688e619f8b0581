// cli_util.hpp - small helpers every command shares.
#pragma once

#include <fmt/format.h>
#include <sys/stat.h>

#include <CLI/CLI.hpp>
#include <cctype>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <initializer_list>
#include <limits>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

#include "core/stopwatch.hpp"  // detail::Stopwatch: every command's timer
#include "kreg/device.hpp"
#include "kreg/error.hpp"
#include "kreg/interrupt.hpp"
#include "kreg/par.hpp"

namespace kreg::cli {

// The run's stop request. main() turns SIGINT and SIGTERM into it for the
// whole run (one ScopedSigint around the parse), so a signal in any phase of
// any command is seen: long phases poll it (throw_if_cancelled, or pass it to
// the library) and end with kreg::Cancelled, and main exits 130 when it was
// requested even if the command then ran to its end.
inline CancelToken& cancel_token() {
  static CancelToken token;
  return token;
}

// For a phase with nothing to finish or clean up (reading input, computing
// what is not yet written anywhere): while it lives, a signal ends kreg at
// once with exit status 130 and main's message for kreg::Cancelled, even in
// a read blocked on a pipe. Never around writing a file. A signal that came
// before (during parsing, say) ends the run here, with kreg::Cancelled.
class ExitOnSignal : public ScopedExitOnSignal {
 public:
  ExitOnSignal() : ScopedExitOnSignal(130, "kreg: interrupted\n") {
    throw_if_cancelled(&cancel_token());
  }
};

// Every command's timer: wall-clock seconds since construction or restart().
using Stopwatch = kreg::detail::Stopwatch;

// R^2 of fewer than 2 rows is undefined: kreg reports nan, as scikit-learn's
// r2_score does, and says why on stderr (scikit-learn warns too).
inline void warn_if_r2_undefined(double r2, std::int64_t rows) {
  if (!std::isnan(r2)) return;
  fmt::print(stderr,
             "warning: R^2 of {} row{} is undefined (it needs at least 2); it is reported as nan, "
             "as scikit-learn does. Score 2 or more rows, or use MSE or MAE\n",
             rows, rows == 1 ? "" : "s");
}

// --jobs follows joblib's n_jobs; 0 is the one value without a meaning.
inline void check_jobs_option(int jobs) {
  if (jobs == 0) {
    throw ArgumentError(
        "--jobs 0 is not valid; use a positive thread count, -1 for all cores or -2 for all but "
        "one");
  }
}

// A file a command reads or writes, with the option that names it.
struct NamedPath {
  std::string_view option;  // "--out", or a description such as "the journal"
  std::string path;         // "" (not given) and "-" (stdout) are never compared
};

namespace detail {

struct ResolvedPath {
  const NamedPath* named = nullptr;
  std::filesystem::path resolved;  // absolute, symlinks followed, "." and ".." removed
  bool exists = false;
  dev_t device = 0;
  ino_t inode = 0;
};

// Where `path` leads: symbolic links are followed even when they dangle (a
// write through one creates its target), then the existing part is made
// canonical. nullopt for paths never compared: "", "-", and existing files
// that are not regular files (/dev/null, a FIFO, a terminal), which lose
// nothing when written twice.
inline std::optional<ResolvedPath> resolve_path(const NamedPath& named) {
  namespace fs = std::filesystem;
  if (named.path.empty() || named.path == "-") return std::nullopt;
  std::error_code ec;
  fs::path p = fs::absolute(named.path, ec);
  if (ec) p = fs::path(named.path);
  for (int hops = 0; hops < 40 && fs::is_symlink(fs::symlink_status(p, ec)); ++hops) {
    const fs::path target = fs::read_symlink(p, ec);
    if (ec) break;
    p = target.is_absolute() ? target : p.parent_path() / target;
  }
  ResolvedPath out;
  out.named = &named;
  out.resolved = fs::weakly_canonical(p, ec);
  if (ec) out.resolved = p.lexically_normal();
  struct stat st {};
  if (::stat(named.path.c_str(), &st) == 0) {
    if (!S_ISREG(st.st_mode)) return std::nullopt;
    out.exists = true;
    out.device = st.st_dev;
    out.inode = st.st_ino;
  }
  return out;
}

// Existing files are the same when their device and inode are (hard links
// included); paths that do not exist yet, when they resolve alike.
inline bool same_file(const ResolvedPath& a, const ResolvedPath& b) {
  if (a.exists != b.exists) return false;
  if (a.exists) return a.device == b.device && a.inode == b.inode;
  return a.resolved == b.resolved;
}

}  // namespace detail

// Refuses, before any work, outputs that would overwrite each other's results
// or destroy an input: two `outputs` naming the same file, or an output
// naming the same file as one of `inputs`. Paths are compared by what they
// resolve to, not as text ("./r.json" and "r.json", symbolic and hard links).
// Throws ArgumentError naming both options and paths.
inline void check_distinct_paths(std::initializer_list<NamedPath> outputs,
                                 std::initializer_list<NamedPath> inputs = {}) {
  std::vector<detail::ResolvedPath> outs, ins;
  for (const NamedPath& p : outputs) {
    if (auto r = detail::resolve_path(p)) outs.push_back(*r);
  }
  for (const NamedPath& p : inputs) {
    if (auto r = detail::resolve_path(p)) ins.push_back(*r);
  }
  for (std::size_t i = 0; i < outs.size(); ++i) {
    for (std::size_t j = 0; j < i; ++j) {
      if (!detail::same_file(outs[j], outs[i])) continue;
      const NamedPath& a = *outs[j].named;
      const NamedPath& b = *outs[i].named;
      throw ArgumentError(
          a.path == b.path
              ? fmt::format("{} and {} both name '{}'; give each output its own file, or one "
                            "would overwrite the other's results",
                            a.option, b.option, a.path)
              : fmt::format("{} '{}' and {} '{}' are the same file; give each output its own "
                            "file, or one would overwrite the other's results",
                            a.option, a.path, b.option, b.path));
    }
    for (const auto& in : ins) {
      if (!detail::same_file(in, outs[i])) continue;
      const NamedPath& out = *outs[i].named;
      throw ArgumentError(fmt::format(
          "{} '{}' is the same file as the input {} '{}'; writing it would destroy the input, so "
          "give {} another path",
          out.option, out.path, in.named->option, in.named->path, out.option));
    }
  }
}

// Every command's --jobs, checked on its text before CLI11 converts it, so
// that 1e10 or 99999999999 (beyond int) get kreg's message rather than
// "Could not convert", and a count beyond max_n_jobs() is refused before any
// work. main() attaches it to each command's --jobs.
inline CLI::Validator jobs_validator() {
  return CLI::Validator(
      [](std::string& text) -> std::string {
        const int limit = max_n_jobs();
        const std::string fix = fmt::format(
            "use -1 for all cores, -2 for all but one, or a thread count from 1 to {}", limit);
        long long value = 0;
        const char* end = text.data() + text.size();
        const auto [ptr, ec] = std::from_chars(text.data(), end, value);
        if ((ec != std::errc() && ec != std::errc::result_out_of_range) || ptr != end) {
          return fmt::format("'{}' is not a whole number; {}", text, fix);
        }
        const bool negative = text.front() == '-';
        if (ec == std::errc::result_out_of_range || value < std::numeric_limits<int>::min()) {
          if (!negative) {
            return fmt::format("{} is more threads than kreg starts (at most {}); {}", text, limit,
                               fix);
          }
          // joblib's rule: below -cores is one thread; any int that low says the same.
          text = std::to_string(std::numeric_limits<int>::min());
          return {};
        }
        if (value > limit) {
          return fmt::format("{} is more threads than kreg starts (at most {}); {}", text, limit,
                             fix);
        }
        return {};  // 0 is refused by the command with its own message (check_jobs_option)
      },
      "", "jobs");
}

// Options several commands share, worded once.
inline void add_jobs_option(CLI::App* cmd, int& jobs) {
  cmd->add_option("--jobs", jobs, "Threads: -1 all cores, -2 all but one, k > 0 exactly k")
      ->capture_default_str();
}
inline void add_kernel_option(CLI::App* cmd, std::string& kernel, std::string_view prefix = "") {
  cmd->add_option("--kernel", kernel,
                  std::string(prefix) + "gaussian, epanechnikov, tricube or uniform")
      ->capture_default_str();
}
// --device (kreg/device.hpp); the command parses it with parse_device, whose
// errors say what is accepted.
inline void add_device_option(CLI::App* cmd, std::string& device) {
  cmd->add_option("--device", device,
                  "auto (a CUDA device when there is one and it can do the call, else the CPU), "
                  "cpu, cuda or cuda:K (CUDA device K); kreg info lists the devices")
      ->capture_default_str();
}

}  // namespace kreg::cli

namespace kreg::cli {

// A count with its noun in the right number: count_of(1, "row") is "1 row",
// count_of(3, "row") "3 rows", count_of(2, "query", "queries") "2 queries".
inline std::string count_of(std::int64_t n, std::string_view noun, std::string_view plural = {}) {
  if (n == 1) return fmt::format("1 {}", noun);
  if (plural.empty()) return fmt::format("{} {}s", n, noun);
  return fmt::format("{} {}", n, plural);
}

}  // namespace kreg::cli

namespace kreg::cli {

// A table a command writes (predictions): kreg writes .csv, .tsv and .npy
// (any case), or "-" (standard output, CSV) where `allow_stdout`. Any other
// name is refused before the run, rather than written as CSV under a name
// that says otherwise (p.json, p.parquet); a device or FIFO that exists
// (/dev/stdout) is written as CSV.
inline CLI::Validator table_output(bool allow_stdout) {
  return CLI::Validator(
      [allow_stdout](std::string& path) -> std::string {
        if (path == "-") {
          return allow_stdout ? "" : "- (standard output) is not available here; give a file";
        }
        std::string lower = path;
        for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        for (const std::string_view ext : {".csv", ".tsv", ".npy"}) {
          if (std::string_view(lower).ends_with(ext)) return {};
        }
        struct stat st {};
        if (::stat(path.c_str(), &st) == 0 && !S_ISREG(st.st_mode) && !S_ISDIR(st.st_mode)) {
          return {};  // a device or FIFO: CSV, as to standard output
        }
        return fmt::format(
            "'{}': kreg writes predictions as .csv, .tsv or .npy{}; give the file one of those "
            "extensions",
            path, allow_stdout ? " (or - for standard output)" : "");
      },
      "", "table output");
}

}  // namespace kreg::cli

#include <memory>

#include "tool/progress.hpp"

namespace kreg::cli {

// The progress line of a long loop over `total` items of `unit` ("images",
// "folds", "iterations"): on stderr, only when it is a terminal and the user
// did not pass --quiet (so logs and pipes get no '\r' lines); nullptr when off.
inline std::unique_ptr<ProgressBar> progress_line(std::string unit, std::int64_t total,
                                                  bool quiet) {
  if (quiet || total <= 0 || !stderr_is_terminal()) return nullptr;
  return std::make_unique<ProgressBar>(std::move(unit), total, ProgressOptions{});
}

}  // namespace kreg::cli
