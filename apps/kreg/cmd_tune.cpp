// cmd_tune.cpp - `kreg tune`: choose a Nadaraya-Watson bandwidth by
// cross-validation (leave-one-out, k-fold or a holdout test set) over a grid
// in one pass, optionally refined by an optimiser (one bandwidth, or one per
// feature): the library's tune workflow (kreg/tune.hpp), with a journal so
// that an interrupted run resumes where it stopped and ends with the same
// bits as an uninterrupted one (tune_journal.cpp), and its results rendered
// by tune_output.cpp.
//
// Stop requests (SIGINT, SIGTERM): while the inputs are read nothing is
// written, so the process ends at once (ExitOnSignal); from then on every
// phase (grid tasks, optimiser evaluations, the refit's blocks, the results'
// chunks) checks the token at least every fraction of a second and ends with
// kreg::Cancelled (exit status 130), the finished work in the journal.
//
// With --reg lc|ll, the bandwidths of local regression instead, chosen by
// cv_ls or aic (cmd_tune_local.cpp).
#include <fmt/format.h>
#include <fmt/ranges.h>

#include <cstdio>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "cli_util.hpp"
#include "commands.hpp"
#include "dist/bytes.hpp"
#include "dist/communicator.hpp"
#include "dist/tasks.hpp"
#include "kreg/bandwidth.hpp"
#include "kreg/error.hpp"
#include "kreg/interrupt.hpp"
#include "kreg/io/table.hpp"
#include "kreg/metrics.hpp"
#include "kreg/nw.hpp"
#include "kreg/select.hpp"
#include "kreg/tune.hpp"
#include "local_cli.hpp"
#include "shard.hpp"
#include "tool/progress.hpp"
#include "training_data.hpp"
#include "tune_cli.hpp"

namespace kreg::cli {

namespace {

using json = nlohmann::json;

template <class T>
void run_typed(const TuneCliOptions& o) {
  const Stopwatch start;
  check_target_named(o.files);
  CvOptions options;
  options.kernel = parse_kernel(o.kernel);
  options.engine = parse_engine(o.engine);
  options.device = parse_device(o.device);
  options.scoring = parse_scoring(o.scoring);
  options.cv = parse_cv(o.cv);
  options.cv.seed = o.seed;
  options.cv.shuffle = o.shuffle;
  options.n_jobs = o.jobs;
  resolve_n_jobs(o.jobs);
  TuneOptions tune;
  tune.optimizer = parse_tune_optimizer(o.optimize);
  tune.starts = o.starts;
  tune.seed = o.seed;
  if (o.starts < 1) throw ArgumentError(fmt::format("--starts must be >= 1, got {}", o.starts));
  const ShardSpec shard = parse_shard(o.shard);
  if (shard.active() && o.out.empty()) {
    throw ArgumentError("--shard writes a partial result beside --out: give --out FILE");
  }
  const bool holdout = options.cv.kind == CvSpec::Kind::holdout;
  if (holdout && o.test.empty()) {
    throw ArgumentError("--cv holdout scores on a test set: give --test FILE");
  }
  if (!o.refit.empty() && o.test.empty()) {
    throw ArgumentError("--refit writes predictions for --test: give --test FILE");
  }
  // Before any work: a finished run must not overwrite its own results (the
  // journal is deleted once they are written) nor its inputs.
  const bool default_journal = !o.out.empty() && o.journal == o.out + ".journal";
  check_distinct_paths(
      {{"--out", o.out},
       {"--csv", o.csv},
       {"--plot", o.plot},
       {"--refit", o.refit},
       {default_journal ? "the journal (--out's name + .journal)" : "--journal", o.journal}},
      {{"--train", o.files.train},
       {"--train-y", o.files.train_y},
       {"--test", o.test},
       {"--test-y", o.test_y}});

  // Reading and preparing write nothing, so a stop request there ends the
  // process at once.
  std::optional<ExitOnSignal> exit_on_signal(std::in_place);
  const TrainingData<T> training = read_training<T>(o.files);
  const io::Dataset<T>& train = training.data;
  io::Dataset<T> test;
  if (!o.test.empty()) {
    test = read_scored_set(training, o.files, o.test, o.test_y, "--test-y", "test",
                           TargetColumn::required);
    drop_nonfinite_rows(test, o.test, "test");
  }
  const double read_s = start.seconds();

  if (o.bandwidths != "auto") tune.bandwidths = parse_bandwidth_grid(o.bandwidths);
  const MatrixView<const T> x_test = holdout ? test.X.view() : MatrixView<const T>{};
  const MatrixView<const T> y_test = holdout ? test.y.view() : MatrixView<const T>{};
  const Tuner<T> tuner(train.X, train.y, {}, options, tune, x_test, y_test);
  const json config =
      tune_config<T>(o, options, tuner.grid(), train.X, train.y, test.X.view(), test.y.view());
  // From here on a stop request is answered at the next check, with the
  // finished work in the journal. (Between these two lines a signal has its
  // default effect, which stops the run too and loses nothing.)
  exit_on_signal.reset();
  CancelToken cancel;
  ScopedSigint sigint(cancel);

  // Under MPI every rank reads the inputs (each needs the whole training
  // set) and runs a share of the plan; rank 0 alone keeps the journal, shows
  // progress and writes results.
  dist::Communicator& comm = dist::world();
  const bool root = comm.is_root();
  dist::check_same_everywhere(comm, "data (by checksum)",
                              config["data_checksum"].get<std::string>());
  const index_t n = train.X.rows(), d = train.X.cols();
  if (!o.quiet && root) {
    fmt::print(stderr,
               "kreg tune: {} training points, d = {}, {} kernel, {} engine, {}, cv {}, scoring "
               "{}, {} bandwidths, {} threads\n",
               n, d, o.kernel, tuner.search().engine().name(), o.dtype, to_string(options.cv),
               to_string(options.scoring), tuner.grid().size(), resolve_n_jobs(o.jobs));
    if (comm.size() > 1) {
      fmt::print(stderr, "kreg tune: {} MPI ranks, {} threads each\n", comm.size(),
                 resolve_n_jobs(o.jobs));
    }
  }
  const std::string data_checksum = config["data_checksum"].get<std::string>();
  if (shard.active()) {  // the job-array path: this shard's grid tasks, in a partial
    const std::size_t b = shard.begin(tuner.plan().size()), e = shard.end(tuner.plan().size());
    dist::ByteWriter w;
    w.put<std::uint64_t>(e - b);
    for (std::size_t i = b; i < e; ++i) {
      throw_if_cancelled(&cancel);
      const dist::Bytes p = dist::encode(tuner.run_task(i, &cancel));
      w.put<std::uint64_t>(i).put_span<std::byte>(p);
    }
    write_partial(o.out, shard, "tune", data_checksum, w.take());
    return;
  }
  // `kreg merge`: every grid task from the shards' partials.
  std::map<std::size_t, CvPartial> merged;
  if (const MergeInput* m = merging()) {
    if (m->data_checksum != data_checksum) {
      throw InputError(
          "the data changed since the shards ran (its checksum differs); run the "
          "shards again");
    }
    for (const dist::Bytes& payload : m->payloads) {
      dist::ByteReader r(payload);
      for (auto count = r.get<std::uint64_t>(); count > 0; --count) {
        const auto i = static_cast<std::size_t>(r.get<std::uint64_t>());
        const std::vector<std::byte> p = r.get_vector<std::byte>();
        merged[i] = dist::decode_cv_partial(p);
      }
    }
    if (merged.size() != tuner.plan().size()) {
      throw InputError(
          fmt::format("the partials hold {} of the plan's {} tasks; run the shards "
                      "again with the same command",
                      merged.size(), tuner.plan().size()));
    }
  }
  std::optional<TuneJournal> journal;
  bool results_complete = false;
  std::vector<std::string> written;  // result files written so far, for messages
  try {
    TuneHooks hooks;
    hooks.cancel = &cancel;
    if (root) {
      journal.emplace(o, config, cancel);
      journal->attach(hooks, tuner.plan(), tuner.search().n_outputs());
    }
    if (!merged.empty()) {
      hooks.resume = [&merged](std::size_t i, const CvTask&) -> std::optional<CvPartial> {
        return merged.at(i);
      };
    }
    TuneProgress progress(!o.quiet && root && stderr_is_terminal());
    progress.attach(hooks);
    if (comm.size() > 1) dist::share_tune_hooks(comm, hooks, tuner.plan());
    const TuneResult result = tuner.run(hooks);
    throw_if_cancelled(&cancel);
    if (!root) return;  // rank 0 refits and writes

    TuneReport report{o,
                      options,
                      result,
                      n,
                      d,
                      train.y.cols(),
                      tuner.search().n_splits(),
                      train.features,
                      std::nullopt,
                      json(),
                      read_s};
    if (!o.refit.empty()) {
      if (!o.quiet) {
        fmt::print(stderr, "kreg tune: refit on '{}', predicting the {} rows of '{}'\n",
                   o.files.train, test.X.rows(), o.test);
      }
      const std::vector<double> chosen = result.chosen();
      NadarayaWatson<T> model({options.kernel, chosen, options.engine, o.jobs, options.device});
      model.fit(train.X, train.y);
      const Matrix<T> pred = model.predict(test.X, nullptr, &cancel);
      io::write_table<T>(o.refit, pred, {train.target.empty() ? "y" : train.target});
      written.push_back(o.refit);
      if (test.y.cols() == 1) {
        const double r2 =
            r2_score<T>(std::span<const T>(test.y.data(), static_cast<std::size_t>(test.y.rows())),
                        std::span<const T>(pred.data(), static_cast<std::size_t>(pred.rows())));
        warn_if_r2_undefined(r2, test.y.rows());
        report.refit_score = r2;
        report.refit = {{"path", o.refit}, {"bandwidth", chosen}, {"test_r2", r2}};
      }
    }
    throw_if_cancelled(&cancel);
    if (!o.quiet) fmt::print(stderr, "kreg tune: writing the results\n");
    write_tune_results(report, cancel, written, start.seconds());
    journal->remove();
    results_complete = true;
    print_tune_summary(report, cancel, start.seconds());
  } catch (const Cancelled&) {
    if (results_complete) {
      throw Cancelled(
          fmt::format("interrupted while printing the summary; the results are complete{}",
                      written.empty() ? "" : fmt::format(" in '{}'", fmt::join(written, "', '"))));
    }
    throw Cancelled(o.journal.empty()
                        ? "interrupted; nothing was saved (give --out or --journal to keep "
                          "finished work)"
                        : fmt::format("interrupted; finished work is in the journal '{}': run the "
                                      "same command with --resume to finish",
                                      o.journal));
  }
}

}  // namespace

void add_tune(CLI::App& root) {
  auto o = std::make_shared<TuneCliOptions>();
  auto* cmd = root.add_subcommand(
      "tune",
      "Choose the bandwidth by cross-validation: a grid in one pass, then an optimiser (with "
      "--reg: local regression's bandwidths by cv_ls or aic)");
  add_training_options(cmd, o->files);
  add_allow_nonfinite(cmd, o->files.allow_nonfinite, ", and so are --test rows");
  cmd->add_option("--test", o->test, "Test set: scored by --cv holdout, predicted by --refit")
      ->check(CLI::ExistingFile);
  cmd->add_option("--test-y", o->test_y, "Targets of --test as a separate file")
      ->check(CLI::ExistingFile);
  cmd->add_option("--bandwidths", o->bandwidths,
                  "logspace:A:B:N, linspace:A:B:N, a list 0.1,0.5,2, or auto (25 around "
                  "Silverman's rule)")
      ->capture_default_str();
  cmd->add_option("--cv", o->cv, "loo, a fold count K, or holdout (scores on --test)")
      ->capture_default_str();
  cmd->add_option("--seed", o->seed, "Seed of the k-fold shuffle and of the optimiser's starts")
      ->capture_default_str();
  cmd->add_flag("--shuffle,!--no-shuffle", o->shuffle,
                "Shuffle the k-fold rows (KFold(K, shuffle=True, random_state=--seed)); without "
                "it the folds are consecutive, as scikit-learn's cv=K");
  cmd->add_option("--scoring", o->scoring, "r2, mse or mae")->capture_default_str();
  add_kernel_option(cmd, o->kernel);
  cmd->add_option("--engine", o->engine,
                  "auto or an engine that scores many bandwidths at once (kreg info lists them)")
      ->capture_default_str();
  add_device_option(cmd, o->device);
  add_dtype_option(cmd, o->dtype, "f64 or f32");
  add_jobs_option(cmd, o->jobs);
  cmd->add_option("--optimize", o->optimize,
                  "none, scalar (Brent on log h around the best grid point) or per-feature "
                  "(Nelder-Mead on log h, --starts starts)")
      ->capture_default_str();
  cmd->add_option("--starts", o->starts,
                  "Starting points of the per-feature search (np's nmulti): the best of the scalar "
                  "optimum and Silverman's rule, then N - 1 random points around it")
      ->capture_default_str();
  cmd->add_option("--out", o->out, "Results as JSON (like scikit-learn's cv_results_)");
  cmd->add_option("--csv", o->csv, "Per-bandwidth results as CSV");
  cmd->add_option("--plot", o->plot, "Score against bandwidth as an SVG chart");
  cmd->add_option("--journal", o->journal, "Journal of finished work (default: OUT.journal)");
  cmd->add_flag("--resume", o->resume, "Continue an interrupted run from its journal");
  cmd->add_option("--refit", o->refit,
                  "Fit on --train with the chosen bandwidth and write --test's predictions here")
      ->check(table_output(false));
  cmd->add_flag("--quiet", o->quiet, "No progress or timing on stderr");
  cmd->add_option("--shard", o->shard, std::string(kShardHelp));
  auto local = std::make_shared<LocalCliOptions>();
  add_local_options(cmd, *local, false);
  cmd->callback([o, local, cmd] {
    check_local_needs_reg(cmd, *local);
    if (!local->reg.empty()) {  // local regression: one selection (cmd_tune_local.cpp)
      check_local_excludes(cmd, "tune",
                           {"--bandwidths", "--cv", "--shuffle", "--scoring", "--optimize",
                            "--starts", "--seed", "--plot", "--journal", "--resume", "--shard"});
      local->engine = o->engine;
      local->device = o->device;
      run_local_tune(*o, *local);
      return;
    }
    TuneCliOptions opts = *o;
    if (opts.journal.empty() && !opts.out.empty()) opts.journal = opts.out + ".journal";
    with_dtype(opts.dtype, [&]<class T>() { run_typed<T>(opts); });
  });
}

}  // namespace kreg::cli
