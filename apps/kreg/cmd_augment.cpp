// cmd_augment.cpp - `kreg augment`: the tutorial's offline data augmentation
// (section 4.4). Reads an IDX image file (n x height x width, ubyte), writes
// `copies` augmented images per input (copy c of image i at row
// i * copies + c), the labels repeated to match, and optionally a PNG contact
// sheet of the first 8 originals with their copies.
#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <memory>
#include <optional>

#include "cli_util.hpp"
#include "commands.hpp"
#include "dist/communicator.hpp"
#include "dist/rows.hpp"
#include "kreg/augment.hpp"
#include "kreg/error.hpp"
#include "kreg/interrupt.hpp"
#include "kreg/io/idx.hpp"
#include "kreg/io/png.hpp"
#include "kreg/par.hpp"

namespace kreg::cli {

namespace {

struct AugmentCliOptions {
  std::string images;
  std::string labels;
  int copies = 4;
  std::string ops = "shift,rotate,scale,noise";
  std::uint64_t seed = 0;
  int jobs = -1;
  std::string out;
  std::string labels_out;
  std::string preview;
  index_t limit = -1;
  double max_shift = 2;
  double max_rotate = 15;
  double scale_range = 0.1;
  double noise_std = 8;
  bool quiet = false;
};

// Under MPI: rank r computes its contiguous share of the (image, copy)
// indices i * copies + c from the images rank 0 sends it (those the share
// touches, so a rank holds only its share), and rank 0 gathers the results
// in order. A copy's parameters depend on its index alone (task_seed), so
// the rows are the same bits as one process's. `images` (n of them) is read
// on rank 0 only.
Matrix<std::uint8_t> augment_shared(dist::Communicator& comm, MatrixView<const std::uint8_t> images,
                                    index_t n, index_t height, index_t width,
                                    const AugmentOptions& options) {
  // Checks the options as one process would.
  (void)augment_images(MatrixView<const std::uint8_t>(nullptr, 0, height * width), height, width,
                       options);
  const index_t copies = options.copies;
  const auto total = static_cast<std::size_t>(n) * static_cast<std::size_t>(copies);
  // Rank r's indices [begin, end) and the images [first, last) they use.
  auto share = [&](int r) {
    const auto b = static_cast<index_t>(dist::share_begin(total, r, comm.size()));
    const auto e = static_cast<index_t>(dist::share_begin(total, r + 1, comm.size()));
    const index_t first = copies > 0 ? b / copies : 0;
    const index_t last = copies > 0 ? (e + copies - 1) / copies : 0;
    return std::array<index_t, 4>{b, e, first, std::max(first, last)};
  };
  std::vector<dist::Bytes> parts;
  for (int r = 0; comm.is_root() && r < comm.size(); ++r) {
    const auto [b, e, first, last] = share(r);
    parts.push_back(dist::encode_rows<std::uint8_t>(images.rows_between(first, last)));
  }
  const Matrix<std::uint8_t> source = dist::decode_rows<std::uint8_t>(comm.scatter(parts));
  const auto [begin, end, first, last] = share(comm.rank());
  Matrix<std::uint8_t> mine(end - begin, height * width);
  par::parallel_for(
      end - begin,
      [&](index_t j) {
        const index_t flat = begin + j;
        const AugmentParams params = draw_augment_params(options, flat / copies, flat % copies);
        augment_one(source.row(flat / copies - first), height, width, params, mine.row(j));
      },
      {.n_jobs = options.n_jobs, .cancel = options.cancel});
  return dist::gather_rows<std::uint8_t>(comm, mine.view(), height * width);
}

void run(const AugmentCliOptions& o) {
  // Usage errors first, before any file is read.
  if (o.copies < 0) throw ArgumentError("--copies must be >= 0");
  check_jobs_option(o.jobs);
  if (o.limit < -1) throw ArgumentError("--limit must be >= 0 (or -1 for all images)");
  if (!o.labels_out.empty() && o.labels.empty()) {
    throw ArgumentError("--labels-out needs --labels");
  }
  AugmentOptions options;
  options.ops = parse_augment_ops(o.ops);
  options.copies = o.copies;
  options.seed = o.seed;
  options.n_jobs = o.jobs;
  options.max_shift = o.max_shift;
  options.max_rotate_deg = o.max_rotate;
  options.scale_range = o.scale_range;
  options.noise_std = o.noise_std;

  // Reading leaves nothing behind: a signal ends it at once. Augmenting and
  // writing then poll the run's token.
  std::optional<ExitOnSignal> reading(std::in_place);
  Stopwatch clock;
  const io::IdxHeader header = io::read_idx_header(o.images);
  if (header.type != io::IdxType::u8 || header.dims.size() != 3) {
    throw InputError(
        fmt::format("--images '{}' must be a ubyte IDX file of n x height x width images (like "
                    "train-images-idx3-ubyte.gz); it has {} dimensions",
                    o.images, header.dims.size()));
  }
  const index_t n_file = header.dims[0];
  const index_t height = header.dims[1];
  const index_t width = header.dims[2];
  Matrix<std::uint8_t> labels;
  if (!o.labels.empty()) {
    const io::IdxHeader lh = io::read_idx_header(o.labels);
    const index_t n_labels = lh.dims.empty() ? 0 : lh.dims[0];
    if (n_labels != n_file) {
      throw ArgumentError(fmt::format(
          "--labels '{}' has {} labels but --images '{}' has {} images; they must match", o.labels,
          n_labels, o.images, n_file));
    }
    if (dist::world().is_root()) labels = io::read_idx<std::uint8_t>(o.labels);
  }
  // Under MPI rank 0 alone reads the images and sends each rank its share.
  dist::Communicator& comm = dist::world();
  Matrix<std::uint8_t> all;
  if (comm.is_root()) all = io::read_idx<std::uint8_t>(o.images);
  const index_t n = o.limit < 0 ? n_file : std::min(o.limit, n_file);
  const MatrixView<const std::uint8_t> images =
      comm.is_root() ? all.view().rows_between(0, n) : MatrixView<const std::uint8_t>{};
  const double read_s = clock.seconds();
  reading.reset();

  const CancelToken& cancel = cancel_token();
  options.cancel = &cancel;
  clock.restart();
  // Under MPI every rank augments a share and rank 0 writes; the progress
  // line is one process's (a rank sees only its own share).
  const auto bar = progress_line("images", n, o.quiet || comm.size() > 1);
  if (bar) options.progress = [&bar](index_t done, index_t) { bar->update(done); };
  const Matrix<std::uint8_t> augmented =
      comm.size() > 1 ? augment_shared(comm, images, n, height, width, options)
                      : augment_images(images, height, width, options);
  if (bar) bar->finish();
  const double aug_s = clock.seconds();
  if (!comm.is_root()) return;

  // Everything is computed before the first file is written. Each file is
  // whole or absent: a stop request during compression (the slow part of a
  // .gz) leaves it as it was, and no later file is started.
  Matrix<std::uint8_t> sheet;
  if (!o.preview.empty() && n > 0) {
    sheet = contact_sheet(images, augmented, height, width, o.copies);
  }
  clock.restart();
  io::write_idx<std::uint8_t>(o.out, augmented, {augmented.rows(), height, width}, &cancel);
  if (!o.labels_out.empty()) {
    const Matrix<std::uint8_t> repeated =
        repeat_rows<std::uint8_t>(labels.view().rows_between(0, n), o.copies);
    io::write_idx<std::uint8_t>(o.labels_out, repeated, {repeated.rows()}, &cancel);
  }
  throw_if_cancelled(&cancel);
  if (!sheet.empty()) io::write_png_gray(o.preview, sheet);
  if (!o.preview.empty() && sheet.empty()) {
    fmt::print(stderr, "note: no images, so no --preview was written\n");
  }
  const double write_s = clock.seconds();

  if (o.quiet) return;
  const double produced = static_cast<double>(augmented.rows());
  fmt::print(stderr,
             "kreg augment: {} images of {} x {} -> {} images ({} copies; ops {}), {} threads\n", n,
             height, width, augmented.rows(), o.copies, o.ops, resolve_n_jobs(o.jobs));
  fmt::print(stderr, "time: read {:.3f} s, augment {:.3f} s ({:.0f} images/s), write {:.3f} s\n",
             read_s, aug_s, aug_s > 0 ? produced / aug_s : 0.0, write_s);
}

}  // namespace

void add_augment(CLI::App& root) {
  auto o = std::make_shared<AugmentCliOptions>();
  auto* cmd = root.add_subcommand(
      "augment", "Offline data augmentation of IDX images: shifted, rotated, scaled, noisy copies");
  cmd->add_option("--images", o->images, "Images: IDX ubyte, n x height x width (.gz allowed)")
      ->required()
      ->check(CLI::ExistingFile);
  cmd->add_option("--labels", o->labels, "Labels: IDX, one per image")->check(CLI::ExistingFile);
  cmd->add_option("--copies", o->copies, "Augmented copies per image")->capture_default_str();
  cmd->add_option("--ops", o->ops, "Comma-separated ops: shift, rotate, scale, noise")
      ->capture_default_str();
  cmd->add_option("--seed", o->seed,
                  "Root seed; copy c of image i uses task_seed(seed, i*copies+c)")
      ->capture_default_str();
  add_jobs_option(cmd, o->jobs);
  cmd->add_option("--out", o->out, "Augmented images (IDX; .gz compresses)")->required();
  cmd->add_option("--labels-out", o->labels_out, "Repeated labels (IDX; .gz compresses)");
  cmd->add_option("--preview", o->preview, "PNG contact sheet of the first 8 images and copies");
  cmd->add_option("--limit", o->limit, "Use only the first N images (-1: all)")
      ->capture_default_str();
  cmd->add_option("--max-shift", o->max_shift, "shift: at most this many pixels each way")
      ->capture_default_str();
  cmd->add_option("--max-rotate", o->max_rotate, "rotate: at most this many degrees each way")
      ->capture_default_str();
  cmd->add_option("--scale-range", o->scale_range, "scale: factor in [1 - r, 1 + r]")
      ->capture_default_str();
  cmd->add_option("--noise-std", o->noise_std, "noise: Gaussian standard deviation (0-255 units)")
      ->capture_default_str();
  cmd->add_flag("--quiet", o->quiet, "No progress or timing on stderr");
  cmd->callback([o] {
    check_distinct_paths(
        {{"--out", o->out}, {"--labels-out", o->labels_out}, {"--preview", o->preview}},
        {{"--images", o->images}, {"--labels", o->labels}});
    run(*o);
  });
}

}  // namespace kreg::cli
