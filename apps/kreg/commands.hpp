// commands.hpp - each `kreg <command>` registers itself on the root app.
//
// A command's callback runs inside CLI::App::parse and reports failure by
// throwing: kreg::ArgumentError for bad usage (exit 2), any other exception
// for a runtime failure (exit 1). Data goes to stdout or --out; messages go to
// stderr.
#pragma once

#include <CLI/CLI.hpp>

namespace kreg::cli {

void add_info(CLI::App& root);
void add_generate(CLI::App& root);
void add_score(CLI::App& root);
void add_describe(CLI::App& root);
void add_predict(CLI::App& root);
void add_tune(CLI::App& root);
void add_augment(CLI::App& root);
void add_infer(CLI::App& root);
void add_cv(CLI::App& root);
void add_tutorial(CLI::App& root);
void add_merge(CLI::App& root);

}  // namespace kreg::cli
