// cmd_infer.cpp - `kreg infer`: the tutorial's inference on independent
// samples (section 4.1). Trains a multinomial logistic regression on the first
// --train-rows training images, then labels the first --test-rows test images
// four ways and prints the tutorial's table:
//   serial per-sample    one predict_one call per image on one thread
//   parallel per-sample  the same calls through kreg::par (automatic batching,
//                        so tiny tasks do not drown in overhead)
//   batched              one predict call over the whole test set
//   network              the tutorial's GPU slide on the CPU: a 784 -> 10
//                        linear layer on pixels / 255 (torchvision's ToTensor),
//                        argmax, in batches of --batch-size images; its weights
//                        are the trained model's (a linear layer with softmax
//                        is a multinomial logistic regression); with
//                        --device cuda (or auto where a CUDA device is
//                        present) the tutorial's GPU version, through cuBLAS
// Every mode gives the same labels (checked): each row's arithmetic is the same.
#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "cli_util.hpp"
#include "commands.hpp"
#include "image_set.hpp"
#include "kreg/error.hpp"
#include "kreg/interrupt.hpp"
#include "kreg/io/text.hpp"
#include "kreg/linear.hpp"
#include "kreg/metrics.hpp"
#include "kreg/par.hpp"
#include "kreg/version.hpp"

namespace kreg::cli {

namespace {

using json = nlohmann::json;

struct InferOptions {
  std::string data;
  index_t train_rows = 10000;
  index_t test_rows = 10000;
  bool train_rows_given = false, test_rows_given = false;
  std::string mode = "all";
  int jobs = -1;
  double C = 1.0;
  int max_iter = 1000;
  double tol = 1e-4;
  index_t batch_size = 1024;
  std::string device = "auto";
  int repeat = 1;
  std::string out;
  bool quiet = false;
};

struct ModeResult {
  std::string name;
  double seconds = 0.0;
  double accuracy = 0.0;
};

// Runs `fn` `repeat` times and keeps the fastest run's time (the labels are
// the same every time). Polls the run's token before each run.
template <class F>
double best_of(int repeat, F&& fn) {
  double best = INFINITY;
  for (int r = 0; r < repeat; ++r) {
    throw_if_cancelled(&cancel_token());
    const Stopwatch clock;
    fn();
    best = std::min(best, clock.seconds());
  }
  return best;
}

void run(const InferOptions& o) {
  const bool all = o.mode == "all";
  const bool want_serial = all || o.mode == "serial";
  const bool want_parallel = all || o.mode == "parallel";
  const bool want_batched = all || o.mode == "batched";
  const bool want_network = all || o.mode == "network";
  if (!(want_serial || want_parallel || want_batched || want_network)) {
    throw ArgumentError(fmt::format(
        "--mode '{}' is not a mode; use serial, parallel, batched, network or all", o.mode));
  }
  check_jobs_option(o.jobs);
  if (o.batch_size < 1) throw ArgumentError("--batch-size must be >= 1");
  // The network mode's device: auto takes CUDA device 0 when it can run.
  const Device device = parse_device(o.device);
  const bool network_on_cuda =
      device.kind() == Device::Kind::cuda || (device.is_auto() && cuda_unavailable(0).empty());
  if (device.kind() == Device::Kind::cuda && want_network) {
    const std::string why = cuda_unavailable(device.index());
    if (!why.empty()) {
      throw ArgumentError(fmt::format("--device {}: {}; use --device cpu", to_string(device), why));
    }
  }
  if (o.repeat < 1) throw ArgumentError("--repeat must be >= 1");
  check_rows_option(o.train_rows, "--train-rows");
  check_rows_option(o.test_rows, "--test-rows");

  // Loading leaves nothing behind: a signal ends it at once. Training and
  // labelling then poll the run's token.
  std::optional<ExitOnSignal> loading(std::in_place);
  Stopwatch clock;
  const ImageSet train =
      load_image_set(o.data, "train", o.train_rows, o.train_rows_given, "--data", "--train-rows");
  const ImageSet test =
      load_image_set(o.data, "t10k", o.test_rows, o.test_rows_given, "--data", "--test-rows");
  if (train.images.cols() != test.images.cols()) {
    throw InputError(fmt::format("'{}' has {} x {} images but '{}' has {} x {}; they must match",
                                 train.images_path, train.height, train.width, test.images_path,
                                 test.height, test.width));
  }
  const double load_s = clock.seconds();
  loading.reset();
  const index_t m = test.images.rows();
  const index_t d = test.images.cols();
  const int threads = resolve_n_jobs(o.jobs);

  const CancelToken& cancel = cancel_token();
  LogisticRegressionOptions lo;
  lo.C = o.C;
  lo.max_iter = o.max_iter;
  lo.tol = o.tol;
  lo.n_jobs = o.jobs;
  lo.cancel = &cancel;
  // The fit's L-BFGS iterations (at most --max-iter; it usually stops sooner).
  const auto bar = progress_line("iterations", o.max_iter, o.quiet);
  if (bar) {
    lo.progress = [&bar, &o](int iteration, double) {
      bar->update(std::min(iteration, o.max_iter));
    };
  }
  LogisticRegression model(lo);
  clock.restart();
  model.fit<std::uint8_t>(train.images, train.labels);
  if (bar) bar->finish();
  const double fit_s = clock.seconds();
  const FitReport& report = model.fit_report();
  if (!report.converged) {
    fmt::print(stderr,
               "warning: L-BFGS stopped before the gradient tolerance --tol {} was reached ({}); "
               "raise --max-iter or --tol for a converged model\n",
               o.tol, report.stop);
  }

  const MatrixView<const std::uint8_t> X = test.images.view();
  std::vector<ModeResult> modes;
  std::vector<double> reference;  // the first mode's labels; every other must match
  auto record = [&](const std::string& name, double seconds, const std::vector<double>& labels) {
    if (reference.empty()) {
      reference = labels;
    } else if (labels != reference) {
      throw Error(fmt::format("mode '{}' labelled the test set differently from mode '{}'", name,
                              modes.front().name));
    }
    modes.push_back({name, seconds, accuracy_score<double>(test.labels, labels)});
  };

  // Each mode's progress line counts the images it has labelled over its
  // --repeat passes ("serial images  7500/10000"); `passes` is the number of
  // passes finished before the current one.
  auto mode_bar = [&](const char* mode) {
    return progress_line(fmt::format("{} images", mode), m * o.repeat, o.quiet);
  };
  if (want_serial) {
    std::vector<double> labels(static_cast<std::size_t>(m));
    const auto mbar = mode_bar("serial");
    index_t passes = 0;
    const double s = best_of(o.repeat, [&] {
      for (index_t i = 0; i < m; ++i) {
        if (i % 1024 == 0) {
          throw_if_cancelled(&cancel);
          if (mbar) mbar->update(passes * m + i);
        }
        labels[static_cast<std::size_t>(i)] = model.predict_one<std::uint8_t>(X.row(i));
      }
      if (mbar) mbar->update(++passes * m);
    });
    if (mbar) mbar->finish();
    record("serial per-sample", s, labels);
  }
  if (want_parallel) {
    std::vector<double> labels;
    const auto mbar = mode_bar("parallel");
    index_t passes = 0;
    par::Options po;
    po.n_jobs = o.jobs;
    po.cancel = &cancel;
    if (mbar) {
      po.progress = [&](index_t done, index_t) { mbar->update(passes * m + done); };
    }
    const double s = best_of(o.repeat, [&] {
      labels = par::parallel_map(
          m, [&](index_t i) { return model.predict_one<std::uint8_t>(X.row(i)); }, po);
      ++passes;
    });
    if (mbar) mbar->finish();
    record("parallel per-sample", s, labels);
  }
  if (want_batched) {
    // One predict call a pass: the line moves a pass at a time.
    std::vector<double> labels;
    const auto mbar = mode_bar("batched");
    index_t passes = 0;
    const double s = best_of(o.repeat, [&] {
      labels = model.predict<std::uint8_t>(X, o.jobs);
      if (mbar) mbar->update(++passes * m);
    });
    if (mbar) mbar->finish();
    record("batched", s, labels);
  }
  if (want_network) {
    // The trained weights for inputs scaled to [0, 1]: W x = (255 W)(x / 255).
    const LinearClassifier& fitted = model.model();
    Matrix<double> W = Matrix<double>::from(fitted.weights());
    for (index_t i = 0; i < W.size(); ++i) W.data()[i] *= 255.0;
    const LinearClassifier net(std::move(W), fitted.bias(), fitted.classes());
    std::vector<double> labels(static_cast<std::size_t>(m));
    Matrix<float> batch(std::min(o.batch_size, m), d);
    Matrix<float> floats;  // the whole test set as floats, for the device
    if (network_on_cuda) {
      floats = Matrix<float>(m, d);
      for (index_t i = 0; i < m; ++i) {
        for (index_t j = 0; j < d; ++j) floats(i, j) = static_cast<float>(X(i, j)) / 255.0f;
      }
    }
    const auto mbar = mode_bar("network");  // a batch at a time (a pass on CUDA)
    index_t passes = 0;
    const double s = best_of(o.repeat, [&] {
      if (network_on_cuda) {
        labels = cuda_linear_labels(floats.view(), net.weights(), net.bias(), net.classes(),
                                    o.batch_size, device.index(), &cancel);
        if (mbar) mbar->update(++passes * m);
        return;
      }
      for (index_t begin = 0; begin < m; begin += o.batch_size) {
        throw_if_cancelled(&cancel);
        if (mbar) mbar->update(passes * m + begin);
        const index_t end = std::min(m, begin + o.batch_size);
        for (index_t i = begin; i < end; ++i) {  // ToTensor: bytes to floats in [0, 1]
          const std::uint8_t* src = &X(i, 0);
          float* dst = &batch(i - begin, 0);
          for (index_t j = 0; j < d; ++j) dst[j] = static_cast<float>(src[j]) / 255.0f;
        }
        const std::vector<double> out =
            net.predict<float>(batch.view().rows_between(0, end - begin), o.jobs);
        std::copy(out.begin(), out.end(), labels.begin() + begin);
      }
      if (mbar) mbar->update(++passes * m);
    });
    if (mbar) mbar->finish();
    // Scaling by 255 and rounding the inputs to float may flip a near-tie, so
    // the network is compared by accuracy, not label for label.
    modes.push_back(
        {fmt::format(
             "network{}, batches of {}",
             network_on_cuda ? fmt::format(" on {}", to_string(Device::cuda(device.index()))) : "",
             o.batch_size),
         s, accuracy_score<double>(test.labels, labels)});
  }

  throw_if_cancelled(&cancel);
  fmt::print("kreg infer: {} training and {} test images of {} x {} from '{}', {} threads\n",
             train.images.rows(), m, test.height, test.width, o.data, threads);
  fmt::print(
      "load {:.3f} s; fit {:.3f} s (L-BFGS, {} iterations, {} evaluations, {}; train "
      "accuracy {:.4f})\n",
      load_s, fit_s, report.n_iter, report.n_evaluations,
      report.converged ? "converged" : "not converged",
      model.score<std::uint8_t>(train.images, train.labels, o.jobs));
  fmt::print("{:<28} {:>12} {:>14} {:>10}\n", "mode", "seconds", "samples/s", "accuracy");
  for (const ModeResult& r : modes) {
    fmt::print("{:<28} {:>12.6f} {:>14.0f} {:>10.4f}\n", r.name, r.seconds,
               r.seconds > 0 ? static_cast<double>(m) / r.seconds : 0.0, r.accuracy);
  }

  if (!o.out.empty()) {
    json j = {{"kreg_version", std::string(version)},
              {"data", o.data},
              {"train_rows", train.images.rows()},
              {"test_rows", m},
              {"threads", threads},
              {"load_seconds", load_s},
              {"fit",
               {{"seconds", fit_s},
                {"iterations", report.n_iter},
                {"evaluations", report.n_evaluations},
                {"converged", report.converged},
                {"objective", report.objective},
                {"grad_max", report.grad_max},
                {"stop", report.stop},
                {"C", o.C},
                {"tol", o.tol},
                {"max_iter", o.max_iter}}},
              {"modes", json::array()}};
    for (const ModeResult& r : modes) {
      j["modes"].push_back({{"mode", r.name}, {"seconds", r.seconds}, {"accuracy", r.accuracy}});
    }
    io::write_text_atomic(o.out, j.dump(2, ' ', false, json::error_handler_t::replace) + "\n");
  }
}

}  // namespace

void add_infer(CLI::App& root) {
  auto o = std::make_shared<InferOptions>();
  auto* cmd = root.add_subcommand(
      "infer",
      "Train a logistic regression on MNIST-style images, then time per-sample, parallel, batched "
      "and network inference");
  cmd->add_option("--data", o->data,
                  "Directory with train-/t10k- images and labels (IDX, .gz allowed), e.g. "
                  "/usr/share/datasets/fashion-mnist")
      ->required();
  auto* train_rows =
      cmd->add_option("--train-rows", o->train_rows,
                      "Train on the first N training images (-1: all; the default 10000 takes "
                      "all of a smaller set)")
          ->capture_default_str();
  auto* test_rows = cmd->add_option("--test-rows", o->test_rows,
                                    "Label the first N test images (-1: all; as --train-rows)")
                        ->capture_default_str();
  cmd->add_option("--mode", o->mode, "serial, parallel, batched, network or all")
      ->capture_default_str();
  add_jobs_option(cmd, o->jobs);
  cmd->add_option("--C", o->C, "Inverse L2 strength (scikit-learn's C)")->capture_default_str();
  cmd->add_option("--max-iter", o->max_iter, "L-BFGS iterations at most")->capture_default_str();
  cmd->add_option("--tol", o->tol, "Stop when max |gradient| <= tol")->capture_default_str();
  cmd->add_option("--batch-size", o->batch_size, "network mode: images per batch")
      ->capture_default_str();
  add_device_option(cmd, o->device);
  cmd->add_option("--repeat", o->repeat, "Time each mode this many times; report the fastest")
      ->capture_default_str();
  cmd->add_option("--out", o->out, "Write the figures as JSON");
  cmd->add_flag("--quiet", o->quiet,
                "No progress lines on stderr (the fit's iterations, then each mode's images)");
  cmd->callback([o, train_rows, test_rows] {
    o->train_rows_given = train_rows->count() > 0;
    o->test_rows_given = test_rows->count() > 0;
    run(*o);
  });
}

}  // namespace kreg::cli
