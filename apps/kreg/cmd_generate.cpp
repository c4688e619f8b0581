// cmd_generate.cpp - `kreg generate`: the tutorial's synthetic data set,
// split into train and test exactly as its numpy/scikit-learn code does.
#include <fmt/format.h>

#include <cmath>
#include <filesystem>
#include <memory>
#include <optional>

#include "cli_util.hpp"
#include "commands.hpp"
#include "kreg/data.hpp"
#include "kreg/error.hpp"
#include "kreg/interrupt.hpp"
#include "kreg/io/csv.hpp"
#include "kreg/io/table.hpp"
#include "kreg/io/text.hpp"

namespace kreg::cli {

namespace {

struct GenerateOptions {
  index_t n = 10000;
  index_t d = 10;
  std::uint32_t seed = 123;
  double test_size = 0.2;
  std::uint32_t split_seed = 42;
  std::string out_dir = ".";
  std::string format = "csv";
};

// Features and target side by side, for one CSV file per split.
Matrix<double> with_target(const Matrix<double>& X, const Matrix<double>& y) {
  Matrix<double> out(X.rows(), X.cols() + 1);
  for (index_t i = 0; i < X.rows(); ++i) {
    for (index_t j = 0; j < X.cols(); ++j) out(i, j) = X(i, j);
    out(i, X.cols()) = y(i, 0);
  }
  return out;
}

struct Summary {
  double mean = 0;
  double std = 0;
};

Summary summarize(const Matrix<double>& y) {
  Summary s;
  for (index_t i = 0; i < y.rows(); ++i) s.mean += y(i, 0);
  s.mean /= static_cast<double>(y.rows());
  for (index_t i = 0; i < y.rows(); ++i) s.std += (y(i, 0) - s.mean) * (y(i, 0) - s.mean);
  s.std = std::sqrt(s.std / static_cast<double>(y.rows()));
  return s;
}

void run(const GenerateOptions& o) {
  if (o.n < 2) throw ArgumentError(fmt::format("--n must be at least 2, got {}", o.n));
  if (o.d < 1) throw ArgumentError(fmt::format("--d must be at least 1, got {}", o.d));
  std::error_code ec;
  std::filesystem::create_directories(o.out_dir, ec);
  if (ec) throw Error(fmt::format("cannot create --out-dir '{}': {}", o.out_dir, ec.message()));

  // Generating and formatting leave nothing behind: a signal ends them at
  // once. Before each file is written the run's token is polled, so every
  // file is whole or untouched.
  std::optional<ExitOnSignal> computing(std::in_place);
  const RegressionData data = generate_data(o.n, o.d, o.seed);
  const Split split = train_test_split(o.n, o.test_size, o.split_seed);
  const Matrix<double> X_train = take_rows<double>(data.X, split.train);
  const Matrix<double> y_train = take_rows<double>(data.y, split.train);
  const Matrix<double> X_test = take_rows<double>(data.X, split.test);
  const Matrix<double> y_test = take_rows<double>(data.y, split.test);
  computing.reset();

  const CancelToken& cancel = cancel_token();
  const std::filesystem::path dir(o.out_dir);
  std::vector<std::string> written;
  if (o.format == "csv") {
    std::vector<std::string> columns;
    for (index_t j = 0; j < o.d; ++j) columns.push_back(fmt::format("x{}", j));
    columns.emplace_back("y");
    for (const auto& [name, X, y] :
         {std::tuple{"train.csv", &X_train, &y_train}, std::tuple{"test.csv", &X_test, &y_test}}) {
      const auto path = (dir / name).string();
      computing.emplace();  // formatting is the slow part of a CSV file
      const std::string text = io::format_csv<double>(with_target(*X, *y), columns);
      computing.reset();
      throw_if_cancelled(&cancel);
      io::write_text_atomic(path, text);
      written.push_back(path);
    }
  } else {
    for (const auto& [name, m] :
         {std::pair{"X_train.npy", &X_train}, std::pair{"y_train.npy", &y_train},
          std::pair{"X_test.npy", &X_test}, std::pair{"y_test.npy", &y_test}}) {
      const auto path = (dir / name).string();
      throw_if_cancelled(&cancel);
      io::write_table<double>(path, *m);
      written.push_back(path);
    }
  }
  throw_if_cancelled(&cancel);

  const Summary tr = summarize(y_train);
  const Summary te = summarize(y_test);
  fmt::print("generated y = X @ coef + intercept + noise: n = {}, d = {}, seed = {}\n", o.n, o.d,
             o.seed);
  fmt::print("split (test_size = {}, seed = {}): train {} x {}, test {} x {}\n", o.test_size,
             o.split_seed, X_train.rows(), X_train.cols(), X_test.rows(), X_test.cols());
  fmt::print("y train: mean {:.6f}, std {:.6f}; y test: mean {:.6f}, std {:.6f}\n", tr.mean, tr.std,
             te.mean, te.std);
  for (const auto& path : written) fmt::print("wrote {}\n", path);
}

}  // namespace

void add_generate(CLI::App& root) {
  auto o = std::make_shared<GenerateOptions>();
  auto* cmd = root.add_subcommand(
      "generate", "Write the tutorial's synthetic regression data, split into train and test");
  cmd->add_option("--n", o->n, "Number of samples")->capture_default_str();
  cmd->add_option("--d", o->d, "Number of features")->capture_default_str();
  cmd->add_option("--seed", o->seed, "Seed of the data (np.random.seed)")->capture_default_str();
  cmd->add_option("--test-size", o->test_size, "Fraction of rows in the test set")
      ->capture_default_str()
      ->check(CLI::Validator(
          [](const std::string& v) {
            double x = 0;
            const bool ok = CLI::detail::lexical_cast(v, x) && x > 0 && x < 1;
            return ok ? std::string() : "must be a fraction strictly between 0 and 1, got " + v;
          },
          "FRACTION in (0, 1)"));
  cmd->add_option("--split-seed", o->split_seed, "Seed of the split (random_state)")
      ->capture_default_str();
  cmd->add_option("--out-dir", o->out_dir, "Directory for the files")->capture_default_str();
  cmd->add_option("--format", o->format,
                  "csv: train.csv, test.csv (target column y); "
                  "npy: X_train.npy, y_train.npy, X_test.npy, y_test.npy")
      ->capture_default_str()
      ->check(CLI::IsMember({"csv", "npy"}));
  cmd->callback([o] { run(*o); });
}

}  // namespace kreg::cli
