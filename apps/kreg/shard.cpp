// shard.cpp - the job-array path (shard.hpp): --shard, partial files, and
// what `kreg merge` reads back.
#include "shard.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <charconv>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <nlohmann/json.hpp>

#include "kreg/error.hpp"
#include "kreg/io/text.hpp"
#include "kreg/version.hpp"

namespace kreg::cli {

namespace {

using json = nlohmann::json;
namespace fs = std::filesystem;

// A whole number of at most 9 digits at `at` in `s`, advancing `at`.
bool parse_count(const std::string& s, std::size_t& at, int& value) {
  const std::size_t start = at;
  value = 0;
  while (at < s.size() && at - start < 9 && s[at] >= '0' && s[at] <= '9') {
    value = value * 10 + (s[at++] - '0');
  }
  return at > start && (at == s.size() || s[at] < '0' || s[at] > '9');
}

// `file` is PREFIX I -of- N exactly (a shard's partial beside --out).
bool parse_part_name(const std::string& file, const std::string& prefix, int& i, int& n) {
  if (!file.starts_with(prefix)) return false;
  std::size_t at = prefix.size();
  if (!parse_count(file, at, i)) return false;
  constexpr std::string_view of = "-of-";
  if (file.compare(at, of.size(), of) != 0) return false;
  at += of.size();
  return parse_count(file, at, n) && at == file.size();
}

std::vector<std::string> command_line;
std::optional<MergeInput> merge_input;

int parse_int(std::string_view text, const std::string& what) {
  int value = 0;
  const auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || ptr != text.data() + text.size()) {
    throw ArgumentError(fmt::format("--shard: {} '{}' is not a whole number", what, text));
  }
  return value;
}

}  // namespace

std::size_t ShardSpec::begin(std::size_t total) const {
  return dist::share_begin(total, index, count);
}
std::size_t ShardSpec::end(std::size_t total) const {
  return dist::share_begin(total, index + 1, count);
}

ShardSpec parse_shard(const std::string& text) {
  if (text.empty()) return {};
  if (dist::world().size() > 1) {
    throw ArgumentError(
        "--shard is the job-array path for running without MPI; under mpirun or srun the ranks "
        "share the work already: drop --shard");
  }
  ShardSpec s;
  const auto slash = text.find('/');
  if (slash == std::string::npos) {
    s.count = parse_int(text, "N");
    const char* id = std::getenv("SLURM_ARRAY_TASK_ID");
    if (id == nullptr) {
      throw ArgumentError(fmt::format(
          "--shard {} names no shard index and SLURM_ARRAY_TASK_ID is not set; give --shard "
          "i/{} (i from 0 to {})",
          text, s.count, s.count - 1));
    }
    s.index = parse_int(id, "SLURM_ARRAY_TASK_ID");
  } else {
    s.index = parse_int(std::string_view(text).substr(0, slash), "i");
    s.count = parse_int(std::string_view(text).substr(slash + 1), "N");
  }
  if (s.count < 1 || s.index < 0 || s.index >= s.count) {
    throw ArgumentError(fmt::format(
        "--shard {}/{}: the index must be from 0 to N - 1 and N at least 1 (a Slurm job array "
        "--array=0-{} gives SLURM_ARRAY_TASK_ID in that range)",
        s.index, s.count, std::max(s.count - 1, 0)));
  }
  return s;
}

void set_command_line(int argc, char** argv) { command_line.assign(argv, argv + argc); }

void write_partial(const std::string& out, const ShardSpec& shard, std::string_view command,
                   std::string_view data_checksum, const dist::Bytes& payload) {
  // The command line without --shard (and its value), which merge runs again.
  std::vector<std::string> args;
  for (std::size_t i = 1; i < command_line.size(); ++i) {
    const std::string& a = command_line[i];
    if (a == "--shard") {
      ++i;
      continue;
    }
    if (a.starts_with("--shard=")) continue;
    args.push_back(a);
  }
  const json header = {
      {"kreg_partial", 1},     {"kreg_version", std::string(version)}, {"command", command},
      {"argv", args},          {"cwd", fs::current_path().string()},   {"shard", shard.index},
      {"shards", shard.count}, {"data_checksum", data_checksum}};
  std::string text = header.dump(-1, ' ', false, json::error_handler_t::replace) + "\n";
  text.append(reinterpret_cast<const char*>(payload.data()), payload.size());
  const std::string path = fmt::format("{}.part-{}-of-{}", out, shard.index, shard.count);
  io::write_text_atomic(path, text);
  fmt::print(stderr,
             "kreg {}: shard {} of {} written to '{}'; when every shard is done, `kreg merge {}` "
             "writes the result\n",
             command, shard.index, shard.count, path, out);
}

const MergeInput* merging() { return merge_input ? &*merge_input : nullptr; }

std::vector<std::string> load_partials(const std::string& out) {
  const fs::path target(out);
  const fs::path dir = target.has_parent_path() ? target.parent_path() : fs::path(".");
  const std::string prefix = target.filename().string() + ".part-";
  std::map<int, fs::path> found;
  int shards = -1;
  std::error_code ec;
  for (const fs::directory_entry& e : fs::directory_iterator(dir, ec)) {
    int i = 0, n = 0;
    if (!parse_part_name(e.path().filename().string(), prefix, i, n)) continue;
    if (shards >= 0 && n != shards) {
      throw InputError(fmt::format(
          "'{}' holds partials of {} and of {} shards beside '{}'; delete the stale ones",
          dir.string(), shards, n, out));
    }
    shards = n;
    found[i] = e.path();
  }
  if (found.empty()) {
    throw InputError(fmt::format(
        "no partial results '{}.part-I-of-N' found; run the command with --shard i/N and --out "
        "{} first",
        out, out));
  }
  std::vector<int> absent;
  for (int i = 0; i < shards; ++i) {
    if (!found.contains(i)) absent.push_back(i);
  }
  if (!absent.empty()) {
    throw InputError(fmt::format(
        "shard(s) {} of {} have no partial beside '{}' yet; run them (--shard i/{}) and merge "
        "again",
        fmt::join(absent, ", "), shards, out, shards));
  }
  MergeInput input;
  json first;
  for (const auto& [i, path] : found) {
    std::ifstream in(path, std::ios::binary);
    std::string line;
    std::getline(in, line);
    json header;
    try {
      header = json::parse(line);
    } catch (const json::exception&) {
      throw InputError(
          fmt::format("'{}' is not a kreg partial result (its first line is not "
                      "kreg's header); delete it",
                      path.string()));
    }
    if (!header.contains("kreg_partial") || header.value("shard", -1) != i) {
      throw InputError(
          fmt::format("'{}' is not shard {}'s partial result; delete it", path.string(), i));
    }
    if (i == 0) {
      first = header;
    } else if (header["argv"] != first["argv"] || header["cwd"] != first["cwd"] ||
               header["data_checksum"] != first["data_checksum"]) {
      throw InputError(fmt::format(
          "'{}' comes from another command line or other data than shard 0's; run every shard "
          "with the same command and data",
          path.string()));
    }
    std::string rest((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    const auto* p = reinterpret_cast<const std::byte*>(rest.data());
    input.payloads.emplace_back(p, p + rest.size());
    input.paths.push_back(fs::absolute(path).string());
  }
  input.command = first["command"].get<std::string>();
  input.data_checksum = first["data_checksum"].get<std::string>();
  // The command's relative paths are relative to where the shards ran.
  const fs::path cwd = first["cwd"].get<std::string>();
  if (fs::current_path() != cwd) fs::current_path(cwd);
  merge_input = std::move(input);
  return first["argv"].get<std::vector<std::string>>();
}

}  // namespace kreg::cli
