// cmd_tutorial_images.cpp - `kreg tutorial` sections 3, 5 and 6 on
// Fashion-MNIST: inference on independent samples (per sample, serial and in
// parallel, batched, a network's batches), cross-validation folds in
// parallel, and offline augmentation with a contact sheet.
#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "cli_util.hpp"
#include "cmd_tutorial.hpp"
#include "kreg/augment.hpp"
#include "kreg/interrupt.hpp"
#include "kreg/io/png.hpp"
#include "kreg/linear.hpp"
#include "kreg/metrics.hpp"
#include "kreg/model_cv.hpp"
#include "kreg/par.hpp"
#include "report/html.hpp"

namespace kreg::cli::tutorial {

namespace {

// The image directory, as commands name it.
std::string data_dir(const Run& run) { return run.options().data; }

bool images_missing(Run& run, Section& out, const char* what) {
  if (run.images("train") != nullptr && run.images("t10k") != nullptr) return false;
  out.skipped.push_back(fmt::format("{}: {}", what, run.image_problem()));
  return true;
}

// The fastest of `repeat` runs of fn, in seconds (the results are the same
// every time).
template <class F>
double timed(F&& fn, int repeat = 1) {
  double best = INFINITY;
  for (int r = 0; r < repeat; ++r) {
    throw_if_cancelled(&cancel_token());
    const Stopwatch clock;
    fn();
    best = std::min(best, clock.seconds());
  }
  return best;
}

// Inference modes take milliseconds: the fastest of a few runs is what the
// mode costs, not what else the machine was doing at that moment.
constexpr int kRepeat = 3;

}  // namespace

Section inference(Run& run) {
  Section out;
  out.id = "inference";
  out.title = "3. Inference on independent samples";
  const index_t n_train = run.quick() ? 2000 : 10000;
  const index_t n_test = run.quick() ? 2000 : 10000;
  out.paragraphs = {fmt::format(
      "The tutorial trains a logistic regression on 10000 MNIST images and labels 10000 "
      "more one at a time, serially and with joblib (3x slower than serial: each task is "
      "tiny), then in batches of 1024 on a GPU. Here: Fashion-MNIST (same format and size), "
      "{} training and {} test images; kreg's parallel loop batches tiny tasks "
      "automatically, so they do not drown in overhead as joblib's did (on a busy machine "
      "the parallel time can still be no better than the serial one). Every mode gives the same "
      "labels; each time is the fastest of {} runs.",
      n_train, n_test, kRepeat)};
  if (images_missing(run, out, "inference")) return out;
  const ImageSet& train = *run.images("train");
  const ImageSet& test = *run.images("t10k");
  const int jobs = run.options().jobs;
  auto bar = run.progress("3 inference", 5);

  LogisticRegressionOptions lo;
  lo.n_jobs = jobs;
  lo.cancel = &cancel_token();
  LogisticRegression model(lo);
  const MatrixView<const std::uint8_t> Xtr = train.images.view().rows_between(0, n_train);
  const std::span<const double> ytr(train.labels.data(), static_cast<std::size_t>(n_train));
  const double fit_s = timed([&] { model.fit<std::uint8_t>(Xtr, ytr); });
  bar->update(1);
  const MatrixView<const std::uint8_t> X = test.images.view().rows_between(0, n_test);
  const std::span<const double> y(test.labels.data(), static_cast<std::size_t>(n_test));

  std::vector<double> serial(static_cast<std::size_t>(n_test));
  const double serial_s = timed(
      [&] {
        for (index_t i = 0; i < n_test; ++i) {
          serial[static_cast<std::size_t>(i)] = model.predict_one<std::uint8_t>(X.row(i));
        }
      },
      kRepeat);
  bar->update(2);
  std::vector<double> parallel;
  par::Options po;
  po.n_jobs = jobs;
  po.cancel = &cancel_token();
  const double parallel_s = timed(
      [&] {
        parallel = par::parallel_map(
            n_test, [&](index_t i) { return model.predict_one<std::uint8_t>(X.row(i)); }, po);
      },
      kRepeat);
  bar->update(3);
  std::vector<double> batched;
  const double batched_s = timed([&] { batched = model.predict<std::uint8_t>(X, jobs); }, kRepeat);
  bar->update(4);
  // The tutorial's network: batches of 1024 through the trained linear layer.
  constexpr index_t kBatch = 1024;
  std::vector<double> network;
  const double network_s = timed(
      [&] {
        network.clear();
        for (index_t begin = 0; begin < n_test; begin += kBatch) {
          const std::vector<double> part = model.predict<std::uint8_t>(
              X.rows_between(begin, std::min(n_test, begin + kBatch)), jobs);
          network.insert(network.end(), part.begin(), part.end());
        }
      },
      kRepeat);
  bar->update(5);
  bar->finish();
  if (parallel != serial || batched != serial || network != serial) {
    throw Error("kreg tutorial: the inference modes labelled the test images differently");
  }
  const double accuracy = accuracy_score<double>(y, serial);

  Table fit;
  fit.title = "Training";
  fit.header = {"model", "training images", "time, s", "L-BFGS iterations", "train accuracy"};
  fit.rows.push_back(
      {run.text("multinomial logistic regression"),
       run.number("/inference/train_rows", static_cast<double>(n_train), 0),
       run.number("/inference/fit_seconds", fit_s, 3),
       run.number("/inference/fit_iterations", model.fit_report().n_iter, 0),
       run.number("/inference/train_accuracy", model.score<std::uint8_t>(Xtr, ytr, jobs), 4)});
  out.tables.push_back(fit);

  Table t;
  t.title = fmt::format("Labelling {} test images", n_test);
  t.header = {"mode", "time, s", "images/s", "accuracy", "the tutorial's time, s"};
  t.title += " (the tutorial's parallel time is joblib's)";
  // The tutorial's times (MNIST, 10000 test images), NAN where it has none.
  const auto row = [&](const std::string& mode, const std::string& key, double s, double theirs) {
    const std::string base = "/inference/modes/" + key;
    t.rows.push_back(
        {run.text(mode), run.number(base + "/seconds", s, 4),
         run.number(base + "/images_per_second", static_cast<double>(n_test) / s, 0),
         run.number(base + "/accuracy", accuracy, 4),
         std::isnan(theirs) ? run.text("") : run.number("/tutorial/inference/" + key, theirs, 4)});
  };
  row("serial, one image at a time", "serial", serial_s, 0.3704);
  row("parallel, one image a task", "parallel", parallel_s, 1.2726);
  row("batched: one predict call", "batched", batched_s, NAN);
  row(fmt::format("batches of {} on the CPU", kBatch), "network_cpu", network_s, NAN);
  const bool gpu = !run.gpu_engines().empty();
  const std::string gpu_why =
      gpu ? "kreg's GPU engines compute Nadaraya-Watson only" : "no GPU here";
  t.rows.push_back({run.text(fmt::format("batches of {} on a GPU", kBatch)),
                    run.text("skipped: " + gpu_why, "/inference/modes/gpu"), run.text(""),
                    run.text(""), run.number("/tutorial/inference/gpu", 0.6741, 4)});
  out.skipped.push_back("GPU batches: " + gpu_why);
  out.tables.push_back(t);
  out.commands.push_back(fmt::format("kreg infer --data {} --train-rows {} --test-rows {}",
                                     data_dir(run), n_train, n_test));
  return out;
}

Section cross_validation(Run& run) {
  Section out;
  out.id = "cross-validation";
  out.title = "5. Cross-validation folds in parallel";
  const index_t rows = run.quick() ? 1000 : 5000;
  out.paragraphs = {fmt::format(
      "Each fold of k-fold cross-validation fits and scores its own model: an embarrassingly "
      "parallel loop. Logistic regression on the first {} Fashion-MNIST training images, "
      "stratified 5-fold (scikit-learn's StratifiedKFold, not shuffled), once with the "
      "folds in parallel and once one after another; the scores are the same bits.",
      rows)};
  if (images_missing(run, out, "cross-validation")) return out;
  const ImageSet& train = *run.images("train");
  const MatrixView<const std::uint8_t> X = train.images.view().rows_between(0, rows);
  const std::span<const double> y(train.labels.data(), static_cast<std::size_t>(rows));
  ModelCvOptions mo;
  mo.model = CvModel::logreg;
  mo.folds = 5;
  mo.stratified = true;
  mo.shuffle = false;  // as `kreg cv --stratified` (the command on the page) cuts its folds
  mo.n_jobs = run.options().jobs;
  const std::vector<Split> splits = plan_model_cv(y, mo);
  auto bar = run.progress("5 cross-validation", 2);
  const ModelCvResult par = cross_validate_model<std::uint8_t>(X, y, splits, mo, &cancel_token());
  bar->update(1);
  mo.n_jobs = 1;
  const ModelCvResult one = cross_validate_model<std::uint8_t>(X, y, splits, mo, &cancel_token());
  bar->update(2);
  bar->finish();
  for (std::size_t f = 0; f < par.folds.size(); ++f) {
    if (par.folds[f].test_score != one.folds[f].test_score) {
      throw Error("kreg tutorial: fold scores differ between parallel and serial folds");
    }
  }

  Table t;
  t.title = "Per-fold scores";
  t.header = {"fold", "training rows", "test rows", "fit time, s", "accuracy"};
  for (std::size_t f = 0; f < par.folds.size(); ++f) {
    const FoldScore& s = par.folds[f];
    const std::string base = fmt::format("/cross_validation/folds/{}", f);
    t.rows.push_back({run.text(fmt::format("{}", f + 1)),
                      run.number(base + "/train_rows", static_cast<double>(s.train_size), 0),
                      run.number(base + "/test_rows", static_cast<double>(s.test_size), 0),
                      run.number(base + "/fit_seconds", s.fit_seconds, 3),
                      run.number(base + "/accuracy", s.test_score, 4)});
  }
  t.rows.push_back({run.text("mean"), run.text(""), run.text(""), run.text(""),
                    run.number("/cross_validation/mean", par.mean, 4)});
  t.rows.push_back({run.text("std across folds"), run.text(""), run.text(""), run.text(""),
                    run.number("/cross_validation/std", par.std, 4)});
  out.tables.push_back(t);

  Table w;
  w.title = "All five folds";
  w.header = {"folds run", "threads", "time, s", "mean accuracy", "std across folds"};
  w.rows.push_back(
      {run.text("in parallel"),
       run.number("/cross_validation/parallel/threads", resolve_n_jobs(run.options().jobs), 0),
       run.number("/cross_validation/parallel/seconds", par.seconds, 3),
       run.number("/cross_validation/parallel/mean", par.mean, 4),
       run.number("/cross_validation/parallel/std", par.std, 4)});
  w.rows.push_back({run.text("one after another"),
                    run.number("/cross_validation/serial/threads", 1, 0),
                    run.number("/cross_validation/serial/seconds", one.seconds, 3),
                    run.number("/cross_validation/serial/mean", one.mean, 4),
                    run.number("/cross_validation/serial/std", one.std, 4)});
  out.tables.push_back(w);
  out.commands.push_back(fmt::format(
      "kreg cv --model logreg --data {} --train-rows {} --folds 5 --stratified    # --jobs 1: "
      "one after another",
      data_dir(run), rows));
  return out;
}

Section augmentation(Run& run) {
  Section out;
  out.id = "augmentation";
  out.title = "6. Offline data augmentation";
  const index_t n = run.quick() ? 1000 : 10000;
  constexpr int kCopies = 4;
  out.paragraphs = {fmt::format(
      "Offline augmentation writes transformed copies of every image before training: each "
      "copy is independent of the others. {} copies of each of the first {} Fashion-MNIST "
      "training images, randomly shifted, rotated, scaled and noised, in parallel and on one "
      "thread; every copy depends only on the seed and its index, so both give the same "
      "bytes.",
      kCopies, n)};
  if (images_missing(run, out, "augmentation")) return out;
  const ImageSet& train = *run.images("train");
  const MatrixView<const std::uint8_t> images = train.images.view().rows_between(0, n);
  AugmentOptions ao;
  ao.ops = parse_augment_ops("shift,rotate,scale,noise");
  ao.copies = kCopies;
  ao.n_jobs = run.options().jobs;
  ao.cancel = &cancel_token();
  auto bar = run.progress("6 augmentation", 2);
  Matrix<std::uint8_t> par_out;
  const double par_s =
      timed([&] { par_out = augment_images(images, train.height, train.width, ao); });
  bar->update(1);
  ao.n_jobs = 1;
  Matrix<std::uint8_t> one_out;
  const double one_s =
      timed([&] { one_out = augment_images(images, train.height, train.width, ao); });
  bar->update(2);
  bar->finish();
  if (!std::equal(par_out.data(), par_out.data() + par_out.size(), one_out.data())) {
    throw Error("kreg tutorial: augmented images differ between thread counts");
  }

  const double produced = static_cast<double>(par_out.rows());
  Table t;
  t.title = fmt::format("{} augmented images of {} x {} pixels", par_out.rows(), train.height,
                        train.width);
  t.header = {"run", "threads", "time, s", "images/s"};
  t.rows.push_back(
      {run.text("in parallel"),
       run.number("/augmentation/parallel/threads", resolve_n_jobs(run.options().jobs), 0),
       run.number("/augmentation/parallel/seconds", par_s, 3),
       run.number("/augmentation/parallel/images_per_second", produced / par_s, 0)});
  t.rows.push_back({run.text("one thread"), run.number("/augmentation/serial/threads", 1, 0),
                    run.number("/augmentation/serial/seconds", one_s, 3),
                    run.number("/augmentation/serial/images_per_second", produced / one_s, 0)});
  run.results()["augmentation"]["images"] = n;
  run.results()["augmentation"]["copies"] = kCopies;
  out.tables.push_back(t);

  constexpr index_t kShown = 8;
  const Matrix<std::uint8_t> sheet =
      contact_sheet(images, par_out, train.height, train.width, kCopies, kShown);
  report::ContactSheet cs;
  cs.png = io::encode_png_gray(sheet.view());
  cs.rows = std::min(kShown, n);
  cs.columns = 1 + kCopies;
  cs.tile_height = train.height;
  cs.tile_width = train.width;
  cs.zoom = 4;
  cs.title = "Originals and their augmented copies";
  out.figures.push_back(
      {"fig-contact-sheet", report::contact_sheet_svg(cs),
       fmt::format("The first {} training images (left column, outlined) and their {} augmented "
                   "copies, drawn {} times their size.",
                   cs.rows, kCopies, cs.zoom),
       fmt::format("kreg augment --images {}/train-images-idx3-ubyte.gz --limit {} --copies {} "
                   "--out augmented.idx.gz --preview contact-sheet.png",
                   data_dir(run), n, kCopies)});
  return out;
}

}  // namespace kreg::cli::tutorial
