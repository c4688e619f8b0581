// cmd_tutorial.hpp - `kreg tutorial`: the tutorial (seed/parallel-processing-
// tutorial.md) section by section on built-in data, kreg's figures beside the
// tutorial's, as terminal tables and one self-contained HTML page.
//
// Each section is a function of the run (cmd_tutorial_*.cpp) that computes
// through the library, records every number it shows in the run's results
// (results.json, by JSON pointer) and returns what to show: tables, figures,
// the commands that reproduce them, and what it skipped and why.
// cmd_tutorial.cpp prints each section as it finishes and writes the page.
#pragma once

#include <cstdint>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "image_set.hpp"
#include "kreg/matrix.hpp"
#include "kreg/system.hpp"
#include "report/html.hpp"
#include "tool/progress.hpp"

namespace kreg::cli::tutorial {

struct Options {
  bool quick = false;  // smaller sizes: the whole run in seconds (make test)
  std::string out_dir = "report";
  int jobs = -1;
  std::string data = "/usr/share/datasets/fashion-mnist";
};

using Cell = report::HtmlCell;

// A table as both the terminal and the page show it; units go in the header
// ("time, s").
struct Table {
  std::string title;
  std::vector<std::string> header;
  std::vector<std::vector<Cell>> rows;
};

struct Figure {
  std::string id;
  std::string svg;  // a standalone SVG document
  std::string caption;
  std::string command;  // the kreg command(s) that reproduce it
};

struct Section {
  std::string id;
  std::string title;
  std::vector<std::string> paragraphs;  // what the section does, in words
  std::vector<Table> tables;
  std::vector<std::string> commands;  // reproduce the tables
  std::vector<Figure> figures;
  std::vector<std::string> skipped;  // "what: why"
};

// The tutorial's synthetic data, split as it splits it.
struct Synthetic {
  Matrix<double> X_train, y_train, X_test, y_test;
};

// What every section shares: the options, the machine, the data, and the
// results file being filled.
class Run {
 public:
  explicit Run(Options options);

  const Options& options() const { return options_; }
  bool quick() const { return options_.quick; }
  const SystemInfo& system() const { return system_; }
  // Engines whose device is not the CPU ("cuda:0"), in auto's order: "name (device)".
  const std::vector<std::string>& gpu_engines() const { return gpu_engines_; }
  const Synthetic& synthetic();
  // All of Fashion-MNIST's training or test images ("train", "t10k"), read
  // once, or nullptr (with the reason in image_problem()) when the data
  // directory cannot be read.
  const ImageSet* images(const std::string& prefix);
  const std::string& image_problem() const { return image_problem_; }

  // `value` stored in the results at `pointer` (e.g. "/nw/fused/r2"), and the
  // cell that shows it with `digits` decimals.
  Cell number(const std::string& pointer, double value, int digits);
  // A word or phrase, also stored at `pointer` when one is given.
  Cell text(const std::string& value, const std::string& pointer = "");
  nlohmann::json& results() { return results_; }

  // A progress line for a section's `total` steps (on a terminal only).
  std::unique_ptr<ProgressBar> progress(const std::string& label, std::int64_t total) const;

 private:
  Options options_;
  SystemInfo system_;
  std::vector<std::string> gpu_engines_;
  std::optional<Synthetic> synthetic_;
  std::vector<std::pair<std::string, std::unique_ptr<ImageSet>>> image_sets_;
  std::string image_problem_;
  nlohmann::json results_ = nlohmann::json::object();
};

// "skipped: no GPU here", the words every GPU row shows without one.
inline constexpr std::string_view kNoGpu = "skipped: no GPU here";

Section environment(Run& run);       // 1, cmd_tutorial_env.cpp
Section nadaraya_watson(Run& run);   // 2, cmd_tutorial_nw.cpp
Section inference(Run& run);         // 3, cmd_tutorial_images.cpp
Section bandwidth_tuning(Run& run);  // 4, cmd_tutorial_tune.cpp
Section cross_validation(Run& run);  // 5, cmd_tutorial_images.cpp
Section augmentation(Run& run);      // 6, cmd_tutorial_images.cpp

// The page (cmd_tutorial_page.cpp).
std::string render_page(const Run& run, const std::vector<Section>& sections);

}  // namespace kreg::cli::tutorial
