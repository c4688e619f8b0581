// augment/augment.cpp - augment_images and its pieces: parameter draws,
// one image's affine warp + noise, and the contact sheet.
#include "kreg/augment.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <numbers>

#include "kreg/interrupt.hpp"
#include "kreg/par.hpp"

namespace kreg {

namespace {

constexpr std::array<AugmentOp, 4> kAllOps = {AugmentOp::shift, AugmentOp::rotate, AugmentOp::scale,
                                              AugmentOp::noise};
constexpr const char* kValidOps = "shift, rotate, scale, noise";

// SplitMix64: tiny, fast, and fully specified, so draws are the same on every
// platform and standard library (std::normal_distribution is not).
class SplitMix64 {
 public:
  explicit SplitMix64(std::uint64_t seed) : state_(seed) {}
  std::uint64_t next() {
    std::uint64_t z = (state_ += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
  }
  // [0, 1) with 53 random bits.
  double uniform() { return static_cast<double>(next() >> 11) * 0x1.0p-53; }
  double uniform(double lo, double hi) { return lo + (hi - lo) * uniform(); }

 private:
  std::uint64_t state_;
};

// Standard normals by Box-Muller, both values of a pair used in turn.
class Gaussian {
 public:
  explicit Gaussian(std::uint64_t seed) : rng_(seed) {}
  double next() {
    if (has_spare_) {
      has_spare_ = false;
      return spare_;
    }
    const double u1 = static_cast<double>((rng_.next() >> 11) + 1) * 0x1.0p-53;  // (0, 1]
    const double u2 = rng_.uniform();
    const double r = std::sqrt(-2.0 * std::log(u1));
    const double t = 2.0 * std::numbers::pi * u2;
    spare_ = r * std::sin(t);
    has_spare_ = true;
    return r * std::cos(t);
  }

 private:
  SplitMix64 rng_;
  double spare_ = 0;
  bool has_spare_ = false;
};

bool has_op(const AugmentOptions& o, AugmentOp op) {
  return std::find(o.ops.begin(), o.ops.end(), op) != o.ops.end();
}

void check_non_negative(double v, const char* name) {
  if (!(v >= 0) || !std::isfinite(v)) {
    throw ArgumentError(fmt::format("{} must be a finite number >= 0, got {}", name, v));
  }
}

void validate(MatrixView<const std::uint8_t> images, index_t height, index_t width,
              const AugmentOptions& o) {
  if (o.copies < 0) throw ArgumentError("--copies must be >= 0");
  if (o.ops.empty()) {
    throw ArgumentError(fmt::format("no augmentation ops given; choose from {}", kValidOps));
  }
  if (height <= 0 || width <= 0) {
    throw ArgumentError(
        fmt::format("image size must be positive, got height {} x width {}", height, width));
  }
  if (images.cols() != height * width) {
    throw ArgumentError(
        fmt::format("images have {} pixels per row but height x width is {} x {} = {}",
                    images.cols(), height, width, height * width));
  }
  check_non_negative(o.max_shift, "max_shift");
  check_non_negative(o.max_rotate_deg, "max_rotate_deg");
  check_non_negative(o.noise_std, "noise_std");
  if (!(o.scale_range >= 0 && o.scale_range < 1)) {
    throw ArgumentError(fmt::format("scale_range must be in [0, 1), got {}", o.scale_range));
  }
}

}  // namespace

std::string_view to_string(AugmentOp op) {
  switch (op) {
    case AugmentOp::shift:
      return "shift";
    case AugmentOp::rotate:
      return "rotate";
    case AugmentOp::scale:
      return "scale";
    case AugmentOp::noise:
      return "noise";
  }
  return "?";
}

std::vector<AugmentOp> parse_augment_ops(std::string_view text) {
  std::vector<AugmentOp> ops;
  std::size_t begin = 0;
  while (begin <= text.size()) {
    const std::size_t end = std::min(text.find(',', begin), text.size());
    const std::string_view name = text.substr(begin, end - begin);
    begin = end + 1;
    if (name.empty() && text.empty()) break;
    const auto* it = std::find_if(kAllOps.begin(), kAllOps.end(),
                                  [&](AugmentOp op) { return to_string(op) == name; });
    if (it == kAllOps.end()) {
      throw ArgumentError(
          fmt::format("unknown augmentation op '{}'; valid ops: {}", name, kValidOps));
    }
    if (std::find(ops.begin(), ops.end(), *it) == ops.end()) ops.push_back(*it);
  }
  if (ops.empty()) {
    throw ArgumentError(fmt::format("no augmentation ops given; choose from {}", kValidOps));
  }
  return ops;
}

AugmentParams draw_augment_params(const AugmentOptions& o, index_t image, index_t copy) {
  SplitMix64 rng(par::task_seed(o.seed, image * o.copies + copy));
  AugmentParams p;
  p.dx = rng.uniform(-o.max_shift, o.max_shift);
  p.dy = rng.uniform(-o.max_shift, o.max_shift);
  p.angle_deg = rng.uniform(-o.max_rotate_deg, o.max_rotate_deg);
  p.scale = rng.uniform(1 - o.scale_range, 1 + o.scale_range);
  p.noise_seed = rng.next();
  p.noise_std = o.noise_std;
  if (!has_op(o, AugmentOp::shift)) p.dx = p.dy = 0;
  if (!has_op(o, AugmentOp::rotate)) p.angle_deg = 0;
  if (!has_op(o, AugmentOp::scale)) p.scale = 1;
  if (!has_op(o, AugmentOp::noise)) p.noise_std = 0;
  return p;
}

void augment_one(std::span<const std::uint8_t> in, index_t height, index_t width,
                 const AugmentParams& p, std::span<std::uint8_t> out) {
  const auto pixels = static_cast<std::size_t>(height * width);
  if (height <= 0 || width <= 0 || in.size() != pixels || out.size() != pixels) {
    throw ArgumentError(fmt::format(
        "augment_one: need height, width > 0 and {} x {} pixels in and out, got {} and {}", height,
        width, in.size(), out.size()));
  }
  if (!(p.scale > 0) || !std::isfinite(p.scale) || !std::isfinite(p.angle_deg) ||
      !std::isfinite(p.dx) || !std::isfinite(p.dy) || !(p.noise_std >= 0)) {
    throw ArgumentError(
        "augment_one: need a finite scale > 0, finite shift and angle, noise_std >= 0");
  }
  // Inverse map: p = R(-angle) * (p' - centre - shift) / scale + centre.
  const double a = p.angle_deg * std::numbers::pi / 180.0;
  const double cs = std::cos(a) / p.scale;
  const double sn = std::sin(a) / p.scale;
  const double cx = static_cast<double>(width - 1) / 2;
  const double cy = static_cast<double>(height - 1) / 2;
  const auto w = static_cast<double>(width);
  const auto h = static_cast<double>(height);
  const bool noisy = p.noise_std > 0;
  Gaussian gauss(p.noise_seed);

  // Pixel (x, y) of the input, zero outside.
  auto at = [&](index_t x, index_t y) -> double {
    if (x < 0 || y < 0 || x >= width || y >= height) return 0.0;
    return in[static_cast<std::size_t>(y * width + x)];
  };

  for (index_t yo = 0; yo < height; ++yo) {
    const double v = static_cast<double>(yo) - cy - p.dy;
    for (index_t xo = 0; xo < width; ++xo) {
      const double u = static_cast<double>(xo) - cx - p.dx;
      const double sx = cs * u + sn * v + cx;
      const double sy = -sn * u + cs * v + cy;
      double value = 0;
      // Beyond one pixel outside, every neighbour is outside.
      if (sx > -1 && sy > -1 && sx < w && sy < h) {
        // Truncation is floor here: sx + 1 > 0.
        const auto x0 = static_cast<index_t>(sx + 1) - 1;
        const auto y0 = static_cast<index_t>(sy + 1) - 1;
        const double fx = sx - static_cast<double>(x0);
        const double fy = sy - static_cast<double>(y0);
        double p00 = 0, p10 = 0, p01 = 0, p11 = 0;
        if (x0 >= 0 && y0 >= 0 && x0 + 1 < width && y0 + 1 < height) {
          const std::uint8_t* row = in.data() + y0 * width + x0;
          p00 = row[0];
          p10 = row[1];
          p01 = row[width];
          p11 = row[width + 1];
        } else {
          p00 = at(x0, y0);
          p10 = at(x0 + 1, y0);
          p01 = at(x0, y0 + 1);
          p11 = at(x0 + 1, y0 + 1);
        }
        const double top = p00 + fx * (p10 - p00);
        const double bottom = p01 + fx * (p11 - p01);
        value = top + fy * (bottom - top);
      }
      if (noisy) value += p.noise_std * gauss.next();
      std::uint8_t byte = 0;
      if (value >= 255) {
        byte = 255;
      } else if (value > 0) {
        byte = static_cast<std::uint8_t>(value + 0.5);  // round half up; value + 0.5 < 255.5
      }
      out[static_cast<std::size_t>(yo * width + xo)] = byte;
    }
  }
}

Matrix<std::uint8_t> augment_images(MatrixView<const std::uint8_t> images, index_t height,
                                    index_t width, const AugmentOptions& options) {
  validate(images, height, width, options);
  const int threads = resolve_n_jobs(options.n_jobs);  // ArgumentError for 0, before allocating
  const index_t n = images.rows();
  const index_t copies = options.copies;
  Matrix<std::uint8_t> out(n * copies, height * width);
  if (out.empty()) return out;
  par::Options loop;
  loop.n_jobs = threads;
  loop.cancel = options.cancel;
  loop.progress = options.progress;
  std::uint8_t* dst = out.data();
  const index_t pixels = height * width;
  par::parallel_for(
      n,
      [&](index_t i) {
        const std::span<const std::uint8_t> src = images.row(i);
        for (index_t c = 0; c < copies; ++c) {
          throw_if_cancelled(options.cancel);  // per image: one task may hold many copies
          const AugmentParams params = draw_augment_params(options, i, c);
          augment_one(src, height, width, params,
                      {dst + (i * copies + c) * pixels, static_cast<std::size_t>(pixels)});
        }
      },
      loop);
  return out;
}

Matrix<std::uint8_t> contact_sheet(MatrixView<const std::uint8_t> originals,
                                   MatrixView<const std::uint8_t> augmented, index_t height,
                                   index_t width, index_t copies, index_t max_originals) {
  const index_t k = std::min(originals.rows(), max_originals);
  if (k <= 0) throw ArgumentError("contact sheet: no images to show");
  if (height <= 0 || width <= 0 || copies < 0 || originals.cols() != height * width ||
      augmented.cols() != height * width || augmented.rows() < k * copies) {
    throw ArgumentError(fmt::format(
        "contact sheet: {} originals and {} augmented images of {} pixels do not match {} x {} "
        "with {} copies",
        originals.rows(), augmented.rows(), originals.cols(), height, width, copies));
  }
  const index_t cells = 1 + copies;
  Matrix<std::uint8_t> sheet(k * height + (k - 1), cells * width + (cells - 1));
  std::fill(sheet.data(), sheet.data() + sheet.size(), std::uint8_t{255});
  for (index_t i = 0; i < k; ++i) {
    for (index_t cell = 0; cell < cells; ++cell) {
      const std::span<const std::uint8_t> src =
          cell == 0 ? originals.row(i) : augmented.row(i * copies + cell - 1);
      for (index_t y = 0; y < height; ++y) {
        std::copy_n(src.data() + y * width, width,
                    sheet.data() + (i * (height + 1) + y) * sheet.cols() + cell * (width + 1));
      }
    }
  }
  return sheet;
}

}  // namespace kreg
