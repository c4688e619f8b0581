// cmd_tutorial_page.cpp - `kreg tutorial`'s page: OUT_DIR/index.html, one
// self-contained document (inline SVG charts, the contact sheet's PNG as a
// data URI) with the machine's description, each section's tables and
// figures, and under each the kreg command that reproduces it.
#include <fmt/format.h>
#include <fmt/ranges.h>

#include <string>
#include <vector>

#include "cmd_tutorial.hpp"
#include "kreg/version.hpp"
#include "report/html.hpp"

namespace kreg::cli::tutorial {

namespace {

std::string machine_line(const Run& run) {
  const SystemInfo& s = run.system();
  std::string gpus = "no GPU";
  if (!s.cuda_devices.empty()) {
    std::vector<std::string> names;
    for (const CudaDevice& d : s.cuda_devices) names.push_back(d.name);
    gpus = fmt::format("GPUs: {}", fmt::join(names, ", "));
  }
  return fmt::format("Machine: {}, {} logical cores, SIMD target {}, {} ({} threads), {}.",
                     s.cpu_model, s.logical_cores, s.simd_active, s.blas_library, s.blas_threads,
                     gpus);
}

}  // namespace

std::string render_page(const Run& run, const std::vector<Section>& sections) {
  report::HtmlPage page("kreg tutorial: parallel processing, reproduced");
  page.paragraph(
      "The STAT 548 / CSE 547 tutorial on parallel processing, section by section, on built-in "
      "data: what the tutorial's code got beside what kreg gets on this machine. Every number "
      "on this page is in results.json beside it; under each table and figure is the kreg "
      "command that reproduces it.");
  page.paragraph(machine_line(run));
  page.paragraph(fmt::format("kreg {}; {} run{}.", kreg::version,
                             run.quick() ? "a quick" : "a full",
                             run.quick() ? " (--quick: smaller sizes, noisier times)" : ""));
  page.command(fmt::format("kreg tutorial{} --out-dir {}", run.quick() ? " --quick" : "",
                           run.options().out_dir));
  for (const Section& s : sections) {
    page.section(s.id, s.title);
    for (const std::string& p : s.paragraphs) page.paragraph(p);
    for (const Table& t : s.tables) {
      if (!t.title.empty()) page.subheading(t.title);
      page.table(report::HtmlTable{t.header, t.rows});
    }
    for (const std::string& c : s.commands) page.command(c);
    for (const Figure& f : s.figures) page.figure(f.id, f.svg, f.caption, f.command);
    for (const std::string& why : s.skipped) page.note("Skipped: " + why + ".");
  }
  return std::move(page).finish();
}

}  // namespace kreg::cli::tutorial
