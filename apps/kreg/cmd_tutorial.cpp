// cmd_tutorial.cpp - `kreg tutorial`: runs the six sections of the tutorial
// in order, prints each as aligned tables as soon as it finishes, then writes
// OUT_DIR/results.json (every number shown) and OUT_DIR/index.html (the page).
#include <fmt/format.h>

#include <algorithm>
#include <filesystem>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "cli_util.hpp"
#include "cmd_tutorial.hpp"
#include "commands.hpp"
#include "kreg/data.hpp"
#include "kreg/error.hpp"
#include "kreg/interrupt.hpp"
#include "kreg/io/text.hpp"
#include "kreg/nw.hpp"
#include "kreg/version.hpp"

namespace kreg::cli {

namespace tutorial {

Run::Run(Options options) : options_(std::move(options)), system_(system_info()) {
  for (const EngineInfo& e : available_engines()) {
    if (e.device != "cpu")
      gpu_engines_.push_back(fmt::format("{} ({})", e.engine.name(), e.device));
  }
  results_["kreg_version"] = std::string(version);
  results_["quick"] = options_.quick;
}

const Synthetic& Run::synthetic() {
  if (!synthetic_) {
    // The tutorial: np.random.seed(123); generate_data(10000, 10), then
    // train_test_split(test_size=0.2, random_state=42).
    const RegressionData data = generate_data(10000, 10, 123);
    const Split split = train_test_split(10000, 0.2, 42);
    synthetic_ =
        Synthetic{take_rows<double>(data.X, split.train), take_rows<double>(data.y, split.train),
                  take_rows<double>(data.X, split.test), take_rows<double>(data.y, split.test)};
  }
  return *synthetic_;
}

const ImageSet* Run::images(const std::string& prefix) {
  for (const auto& [name, set] : image_sets_) {
    if (name == prefix) return set.get();
  }
  if (!image_problem_.empty()) return nullptr;
  try {
    auto set = std::make_unique<ImageSet>(
        load_image_set(options_.data, prefix, -1, false, "--data", "--rows"));
    image_sets_.emplace_back(prefix, std::move(set));
    return image_sets_.back().second.get();
  } catch (const InputError& e) {
    image_problem_ = fmt::format("{} (Debian's dataset-fashion-mnist installs it)", e.what());
    return nullptr;
  }
}

Cell Run::number(const std::string& pointer, double value, int digits) {
  results_[nlohmann::json::json_pointer(pointer)] = value;
  return Cell{fmt::format("{:.{}f}", value, digits), pointer, digits, true};
}

Cell Run::text(const std::string& value, const std::string& pointer) {
  if (!pointer.empty()) results_[nlohmann::json::json_pointer(pointer)] = value;
  return Cell{value, "", -1, false};
}

std::unique_ptr<ProgressBar> Run::progress(const std::string& label, std::int64_t total) const {
  ProgressOptions po;
  po.enabled = stderr_is_terminal();
  return std::make_unique<ProgressBar>(label, total, po);
}

namespace {

// Columns padded to their widest cell, numbers right-aligned, two spaces apart.
void print_table(const Table& t) {
  std::vector<std::size_t> width(t.header.size(), 0);
  const auto glyphs = [](const std::string& s) {
    return static_cast<std::size_t>(
        std::count_if(s.begin(), s.end(), [](char c) { return (c & 0xC0) != 0x80; }));
  };
  for (std::size_t c = 0; c < t.header.size(); ++c) width[c] = glyphs(t.header[c]);
  for (const auto& row : t.rows) {
    for (std::size_t c = 0; c < row.size() && c < width.size(); ++c) {
      width[c] = std::max(width[c], glyphs(row[c].text));
    }
  }
  const auto line = [&](const std::vector<std::pair<std::string, bool>>& cells) {
    std::string out = "  ";
    for (std::size_t c = 0; c < cells.size(); ++c) {
      const std::string pad(width[c] - std::min(width[c], glyphs(cells[c].first)), ' ');
      out += cells[c].second ? pad + cells[c].first : cells[c].first + pad;
      if (c + 1 < cells.size()) out += "  ";
    }
    while (!out.empty() && out.back() == ' ') out.pop_back();
    fmt::print("{}\n", out);
  };
  if (!t.title.empty()) fmt::print("  {}\n", t.title);
  // A column with any number in it is right-aligned, as on the page.
  std::vector<bool> right(t.header.size(), false);
  for (const auto& row : t.rows) {
    for (std::size_t c = 0; c < row.size() && c < right.size(); ++c) {
      right[c] = right[c] || row[c].numeric;
    }
  }
  std::vector<std::pair<std::string, bool>> head;
  for (std::size_t c = 0; c < t.header.size(); ++c) head.emplace_back(t.header[c], right[c]);
  line(head);
  for (const auto& row : t.rows) {
    std::vector<std::pair<std::string, bool>> cells;
    for (std::size_t c = 0; c < row.size() && c < right.size(); ++c) {
      cells.emplace_back(row[c].text, right[c]);
    }
    line(cells);
  }
  fmt::print("\n");
}

void print_section(const Section& s) {
  fmt::print("== {} ==\n", s.title);
  for (const Table& t : s.tables) print_table(t);
  for (const Figure& f : s.figures) fmt::print("  figure: {}\n", f.caption);
  for (const std::string& why : s.skipped) fmt::print("  skipped: {}\n", why);
  fmt::print("\n");
  std::fflush(stdout);
}

void run(const Options& o) {
  check_jobs_option(o.jobs);
  namespace fs = std::filesystem;
  std::error_code ec;
  fs::create_directories(o.out_dir, ec);
  if (ec) throw Error(fmt::format("cannot create --out-dir '{}': {}", o.out_dir, ec.message()));

  Run run(o);
  const Stopwatch clock;
  std::vector<Section> sections;
  for (auto* section : {environment, nadaraya_watson, inference, bandwidth_tuning, cross_validation,
                        augmentation}) {
    throw_if_cancelled(&cancel_token());
    sections.push_back(section(run));
    print_section(sections.back());
  }
  run.results()["seconds"] = clock.seconds();

  const fs::path dir(o.out_dir);
  const std::string json_path = (dir / "results.json").string();
  const std::string html_path = (dir / "index.html").string();
  io::write_text_atomic(
      json_path,
      run.results().dump(2, ' ', false, nlohmann::json::error_handler_t::replace) + "\n");
  io::write_text_atomic(html_path, render_page(run, sections));
  fmt::print("wrote {} and {} ({:.1f} s in all)\n", html_path, json_path, clock.seconds());
}

}  // namespace
}  // namespace tutorial

void add_tutorial(CLI::App& root) {
  auto o = std::make_shared<tutorial::Options>();
  auto* cmd = root.add_subcommand(
      "tutorial",
      "The parallel-processing tutorial reproduced on built-in data: terminal tables, "
      "OUT_DIR/index.html and OUT_DIR/results.json");
  cmd->add_flag("--quick", o->quick, "Smaller sizes, for a run of seconds");
  cmd->add_option("--out-dir", o->out_dir, "Directory for index.html and results.json")
      ->capture_default_str();
  add_jobs_option(cmd, o->jobs);
  cmd->add_option("--data", o->data, "Fashion-MNIST directory (IDX files) for sections 3 to 6")
      ->capture_default_str();
  cmd->callback([o] { tutorial::run(*o); });
}

}  // namespace kreg::cli
