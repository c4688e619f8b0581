// local_cli.cpp - the local-regression options shared by `kreg predict` and
// `kreg tune` (local_cli.hpp): registration, the checks that name the option
// and the column, and the bandwidth selection.
#include "local_cli.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <limits>
#include <sstream>

#include "cli_util.hpp"
#include "dist/communicator.hpp"
#include "kreg/error.hpp"
#include "kreg/nw.hpp"

namespace kreg::cli {

namespace {

std::string trimmed(std::string_view text) {
  const auto b = text.find_first_not_of(" \t");
  if (b == std::string_view::npos) return {};
  const auto e = text.find_last_not_of(" \t");
  return std::string(text.substr(b, e - b + 1));
}

// One --bandwidth item: a finite number (a discrete column's lambda may be 0,
// so the Nadaraya-Watson parser's "> 0" does not apply here).
double parse_local_value(const std::string& item) {
  const std::string field = trimmed(item);
  double value = 0;
  const char* end = field.data() + field.size();
  const auto [ptr, ec] = std::from_chars(field.data(), end, value);
  if (field.empty() || ec != std::errc() || ptr != end) {
    throw ArgumentError(
        fmt::format("--bandwidth: '{}' is not a number; give one value (0.5) or one per feature "
                    "column (0.5,1,0.2)",
                    item));
  }
  if (!std::isfinite(value)) {
    throw ArgumentError(fmt::format("--bandwidth: '{}' is not finite", item));
  }
  return value;
}

std::string quoted_list(const std::vector<std::string>& names) {
  std::string out;
  for (std::size_t i = 0; i < names.size(); ++i) {
    out += fmt::format("{}'{}'", i == 0 ? "" : ", ", names[i]);
  }
  return out;
}

}  // namespace

std::string_view var_type_word(VarType type) {
  switch (type) {
    case VarType::ordered:
      return "ordered";
    case VarType::unordered:
      return "unordered";
    default:
      return "continuous";
  }
}

void add_local_options(CLI::App* cmd, LocalCliOptions& o, bool predict) {
  cmd->add_option("--reg", o.reg,
                  "Local regression instead of Nadaraya-Watson's engine: ll (local-linear, "
                  "statsmodels' KernelReg default) or lc (local-constant); the options below need "
                  "it");
  cmd->add_option("--var-type", o.var_type,
                  "With --reg: one letter per feature column, c continuous, o ordered, u "
                  "unordered (statsmodels' var_type, e.g. cco); default all c");
  cmd->add_option("--bwtype", o.bwtype,
                  "With --reg: fixed (h), generalized_nn or adaptive_nn (a whole number of "
                  "neighbours k per continuous column, R np's bwtype)")
      ->capture_default_str();
  cmd->add_option("--discrete-kernels", o.discrete,
                  "With --reg: statsmodels (Wang-van Ryzin, Aitchison-Aitken) or li_racine "
                  "(R np's) for o and u columns")
      ->capture_default_str();
  if (predict) {
    cmd->add_option("--select", o.select,
                    "With --reg, instead of --bandwidth: choose the bandwidths first by cv_ls "
                    "(leave-one-out least squares) or aic (Hurvich-Simonoff-Tsai)");
    cmd->add_flag("--gradients", o.gradients,
                  "With --reg: add the gradient at each query, a column d_NAME per feature "
                  "(statsmodels' marginal effects)");
    cmd->add_option("--bootstrap", o.bootstrap,
                    "With --reg: B >= 2 pairs-bootstrap replicates; adds standard-error columns "
                    "se_TARGET (and se_d_NAME with --gradients)");
    cmd->add_option("--seed", o.seed,
                    "Seed of --bootstrap's resamples (the same output for any --jobs)")
        ->capture_default_str();
  } else {
    cmd->add_option("--select", o.select,
                    "With --reg: the criterion, cv_ls (default) or aic; the bandwidths are chosen "
                    "by Nelder-Mead from statsmodels' start");
  }
}

std::vector<std::string> given_options(const CLI::App* cmd,
                                       std::initializer_list<std::string_view> names) {
  std::vector<std::string> out;
  for (const std::string_view name : names) {
    const CLI::Option* opt = cmd->get_option_no_throw(std::string(name));
    if (opt == nullptr || opt->count() == 0) continue;
    // A flag with a negated twin: either may have been given.
    out.emplace_back(name == "--shuffle" ? "--shuffle/--no-shuffle" : name);
  }
  return out;
}

void check_local_needs_reg(const CLI::App* cmd, const LocalCliOptions& o) {
  if (!o.reg.empty()) return;
  const std::vector<std::string> stray = given_options(
      cmd,
      {"--var-type", "--bwtype", "--discrete-kernels", "--select", "--gradients", "--bootstrap"});
  if (!stray.empty()) {
    throw ArgumentError(fmt::format(
        "{} {} local regression: add --reg ll (local-linear) or --reg lc (local-constant); "
        "without --reg, kreg {} is Nadaraya-Watson's engine",
        fmt::join(stray, ", "), stray.size() == 1 ? "belongs to" : "belong to", cmd->get_name()));
  }
}

void check_local_excludes(const CLI::App* cmd, std::string_view command,
                          std::initializer_list<std::string_view> names) {
  const std::vector<std::string> stray = given_options(cmd, names);
  if (!stray.empty()) {
    throw ArgumentError(fmt::format("{} {} not apply with --reg (kreg {} --help says what does)",
                                    fmt::join(stray, ", "), stray.size() == 1 ? "does" : "do",
                                    command));
  }
  const auto value = [&](std::string_view name) {
    const CLI::Option* opt = cmd->get_option_no_throw(std::string(name));
    return opt != nullptr && opt->count() > 0 ? opt->as<std::string>() : std::string();
  };
  if (value("--dtype") == "f32") {
    throw ArgumentError("--reg computes in float64; drop --dtype f32");
  }
  if (dist::world().size() > 1) {
    throw ArgumentError(fmt::format(
        "--reg runs in one process; start kreg {} without mpirun/srun (--jobs sets its threads)",
        command));
  }
}

int bootstrap_replicates(const std::string& text) {
  const std::string field = trimmed(text);
  long long value = 0;
  const char* end = field.data() + field.size();
  const auto [ptr, ec] = std::from_chars(field.data(), end, value);
  if (field.empty() || ptr != end || (ec != std::errc() && ec != std::errc::result_out_of_range)) {
    throw ArgumentError(fmt::format(
        "--bootstrap: '{}' is not a whole number; give the replicate count B >= 2 (200 is usual)",
        text));
  }
  constexpr long long kMost = 1'000'000'000;
  if (ec == std::errc::result_out_of_range || value > kMost) {
    throw ArgumentError(
        fmt::format("--bootstrap {}: at most {} replicates; 200 to 2000 is usual", text, kMost));
  }
  if (value < 2) {
    throw ArgumentError(fmt::format(
        "--bootstrap {}: a standard error needs at least 2 replicates (200 is usual)", text));
  }
  return static_cast<int>(value);
}

KernelRegressionOptions local_options(const LocalCliOptions& o, std::string_view kernel, int jobs) {
  KernelRegressionOptions out;
  out.reg = parse_reg_type(o.reg);
  out.kernel = parse_kernel(kernel);
  out.bwtype = parse_bandwidth_type(o.bwtype);
  out.discrete = parse_discrete_kernels(o.discrete);
  out.n_jobs = jobs;
  out.engine = parse_engine(o.engine);
  out.device = parse_device(o.device);
  if (!o.var_type.empty()) {
    try {
      out.var_type = parse_var_type(o.var_type);
    } catch (const ArgumentError& e) {
      throw ArgumentError(fmt::format("--var-type: {}", e.what()));
    }
  }
  return out;
}

void check_local_data(KernelRegressionOptions& options, const io::Dataset<double>& train,
                      const std::string& train_path) {
  const index_t d = train.X.cols();
  if (options.var_type.empty())
    options.var_type.assign(static_cast<std::size_t>(d), VarType::continuous);
  if (static_cast<index_t>(options.var_type.size()) != d) {
    const std::size_t k = options.var_type.size();
    std::string letters;
    for (const VarType t : options.var_type) letters += static_cast<char>(t);
    throw ArgumentError(fmt::format(
        "--var-type '{}' has {} letter{} but '{}' has {} feature column{} ({}); give one letter "
        "(c, o or u) per column, in that order",
        letters, k, k == 1 ? "" : "s", train_path, d, d == 1 ? "" : "s",
        quoted_list(train.features)));
  }
  if (train.y.cols() != 1) {
    throw InputError(fmt::format("--reg fits one target; '{}' gives {} target columns", train_path,
                                 train.y.cols()));
  }
  if (train.X.rows() < 2) {
    throw InputError(fmt::format("--reg needs at least 2 training rows; '{}' has {}", train_path,
                                 train.X.rows()));
  }
}

double lambda_upper(const KernelRegressionOptions& options, const io::Dataset<double>& train,
                    index_t f) {
  const auto fu = static_cast<std::size_t>(f);
  if (options.var_type[fu] != VarType::unordered ||
      options.discrete != DiscreteKernels::statsmodels) {
    return 1;
  }
  std::vector<double> levels(static_cast<std::size_t>(train.X.rows()));
  for (index_t j = 0; j < train.X.rows(); ++j) levels[static_cast<std::size_t>(j)] = train.X(j, f);
  std::sort(levels.begin(), levels.end());
  const auto c = static_cast<double>(std::unique(levels.begin(), levels.end()) - levels.begin());
  return (c - 1) / c;
}

std::vector<double> local_bandwidths(const std::string& text,
                                     const KernelRegressionOptions& options,
                                     const io::Dataset<double>& train) {
  std::vector<double> values;
  std::stringstream in(text);
  std::string item;
  while (std::getline(in, item, ',')) values.push_back(parse_local_value(item));
  if (values.empty()) throw ArgumentError("--bandwidth is empty");
  const index_t n = train.X.rows(), d = train.X.cols();
  if (values.size() == 1) values.assign(static_cast<std::size_t>(d), values[0]);
  if (static_cast<index_t>(values.size()) != d) {
    throw ArgumentError(fmt::format(
        "--bandwidth has {} values for {} feature columns ({}); give one value, or one per column "
        "in that order",
        values.size(), d, quoted_list(train.features)));
  }
  for (index_t f = 0; f < d; ++f) {
    const auto fu = static_cast<std::size_t>(f);
    const double v = values[fu];
    const VarType type = options.var_type[fu];
    const std::string& name = train.features[fu];
    if (type == VarType::continuous) {
      if (options.bwtype == BandwidthType::fixed) {
        if (!(v > 0)) {
          throw ArgumentError(fmt::format(
              "--bandwidth: column '{}' (continuous) needs a bandwidth h > 0; got {}", name, v));
        }
      } else if (v != std::floor(v) || v < 1 || v > static_cast<double>(n - 1)) {
        throw ArgumentError(fmt::format(
            "--bandwidth: column '{}' (continuous, --bwtype {}) takes a whole number of "
            "neighbours k in [1, {}] (the training rows less one); got {}",
            name, to_string(options.bwtype), n - 1, v));
      }
      continue;
    }
    const double upper = lambda_upper(options, train, f);
    std::string why;
    if (type == VarType::unordered && options.discrete == DiscreteKernels::statsmodels) {
      const double c = 1 / (1 - upper);  // upper = (c - 1) / c
      why = fmt::format(", Aitchison-Aitken's (c - 1) / c for its {:.0f} level{}", c,
                        c < 1.5 ? "" : "s");
    }
    if (!(v >= 0 && v <= upper)) {
      throw ArgumentError(
          fmt::format("--bandwidth: column '{}' ({}) takes lambda in [0, {:.6g}]{}; got {}", name,
                      var_type_word(type), upper, why, v));
    }
  }
  return values;
}

KernelSelectResult run_local_select(const io::Dataset<double>& train,
                                    const KernelRegressionOptions& options, Criterion criterion,
                                    bool quiet) {
  if (!quiet) {
    fmt::print(stderr, "kreg: selecting {} by {} (Nelder-Mead from statsmodels' start)\n",
               count_of(train.X.cols(), "bandwidth"), to_string(criterion));
  }
  KernelSelectOptions select;
  select.criterion = criterion;
  const std::span<const double> y(train.y.data(), static_cast<std::size_t>(train.y.rows()));
  KernelSelectResult out =
      select_kernel_bandwidth(train.X.view(), y, options, select, &cancel_token());
  // +inf everywhere (aic needs tr(H) + 2 < n): nothing was chosen, so say so
  // rather than hand back the starting point as if it were a choice.
  if (std::isnan(out.objective) || out.objective == std::numeric_limits<double>::infinity()) {
    throw InputError(fmt::format(
        "--select {}: the criterion is {} at every one of the {} bandwidths tried{}, so there is "
        "nothing to choose; give --bandwidth, or use more training rows",
        to_string(criterion), out.objective, out.evaluations,
        criterion == Criterion::aic
            ? fmt::format(" (aic needs the hat matrix's trace + 2 below n = {})", train.X.rows())
            : std::string()));
  }
  return out;
}

void print_local_notes(const KernelRegressionReport& report, index_t m, std::string_view what) {
  if (report.isolated > 0) {
    fmt::print(stderr,
               "note: {} of {} {} had no training point with a non-zero weight; {} the mean y of "
               "{} nearest training point(s). A larger --bandwidth (or the gaussian kernel) "
               "avoids this.\n",
               report.isolated, m, what, report.isolated == 1 ? "it got" : "they got",
               report.isolated == 1 ? "its" : "their");
  }
  if (report.rank_deficient > 0) {
    fmt::print(stderr,
               "note: {} of {} {} could not identify every local-linear slope (too few or "
               "collinear points in the window); the fit is local-constant along those "
               "directions. A larger --bandwidth avoids this.\n",
               report.rank_deficient, m, what);
  }
  if (report.refitted > 0) {
    fmt::print(stderr,
               "note: {} of {} {} had too few points carrying their weight for engine {} to "
               "resolve their local fit from weighted means; kreg's local engine refitted "
               "them.\n",
               report.refitted, m, what, report.engine.name());
  }
}

}  // namespace kreg::cli
