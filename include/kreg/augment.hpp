// kreg/augment.hpp - offline data augmentation of grayscale images (the
// tutorial's section 4.4): random shifts, rotations, scalings and noise, run
// in parallel over images with results that never depend on n_jobs.
//
// Data contract: `images` holds n images of height x width pixels, one per
// row, pixel (y, x) of image i at images(i, y * width + x). The output holds
// n * copies images in the same layout; row i * copies + c is copy c of
// image i.
//
// Reproducibility: copy c of image i is a function of (seed, i, c, the image,
// the options) alone. Its parameters come from a generator seeded with
// kreg::par::task_seed(seed, i * copies + c), drawn in a fixed order whatever
// the ops (see draw_augment_params), so the output is byte-identical for every
// n_jobs and batching, and for a prefix of the images (--limit).
#pragma once

#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "kreg/error.hpp"
#include "kreg/interrupt.hpp"
#include "kreg/matrix.hpp"

namespace kreg {

enum class AugmentOp { shift, rotate, scale, noise };

// "shift", "rotate", "scale" or "noise".
std::string_view to_string(AugmentOp op);

// A comma-separated list: "shift,rotate,scale,noise". Duplicates are dropped
// (first occurrence kept). Throws ArgumentError for an unknown name (listing
// the valid ones) or an empty list.
std::vector<AugmentOp> parse_augment_ops(std::string_view text);

struct AugmentOptions {
  std::vector<AugmentOp> ops;
  // Augmented copies per image (0: empty output).
  int copies = 4;
  // Root seed of every copy's parameters.
  std::uint64_t seed = 0;
  // joblib's n_jobs (kreg/par.hpp).
  int n_jobs = -1;
  // shift: dx, dy uniform in [-max_shift, max_shift] pixels.
  double max_shift = 2;
  // rotate: angle uniform in [-max_rotate_deg, max_rotate_deg] degrees.
  double max_rotate_deg = 15;
  // scale: factor uniform in [1 - scale_range, 1 + scale_range]; 0 <= it < 1.
  double scale_range = 0.1;
  // noise: additive Gaussian, standard deviation in 0..255 units.
  double noise_std = 8;
  // nullptr: never cancelled. Polled before each augmented image.
  const CancelToken* cancel = nullptr;
  // progress(images done, images) on the calling thread (kreg/par.hpp's
  // progress); empty: none.
  std::function<void(index_t done, index_t total)> progress{};
};

// The explicit parameters of one augmented image. The defaults are the
// identity.
struct AugmentParams {
  double dx = 0;         // shift right, pixels
  double dy = 0;         // shift down, pixels
  double angle_deg = 0;  // rotation about the centre, from +x toward +y
                         // (clockwise as displayed, y pointing down)
  double scale = 1;      // isotropic scale about the centre
  std::uint64_t noise_seed = 0;
  double noise_std = 0;  // 0: no noise (and no draws)
};

// The parameters of copy `copy` of image `image`. Draws, from a SplitMix64
// generator seeded with par::task_seed(options.seed, image * copies + copy),
// in this order and always all of them: dx, dy, angle, scale (each one
// uniform double), noise_seed (one 64-bit word). An op not in options.ops
// then resets its parameters to the identity (noise: noise_std = 0), so
// turning one op on or off leaves the others' values unchanged.
AugmentParams draw_augment_params(const AugmentOptions& options, index_t image, index_t copy);

// One image with explicit parameters: the affine map
//     p' = scale * R(angle) * (p - centre) + centre + (dx, dy),
// centre = ((width - 1) / 2, (height - 1) / 2), applied by inverse mapping
// with bilinear interpolation (zero outside the image); then additive
// Gaussian noise (Box-Muller on SplitMix64(noise_seed), one draw per pixel in
// row-major order); then rounding to nearest and clamping to 0..255.
// `in` and `out` hold height * width pixels and must not overlap.
void augment_one(std::span<const std::uint8_t> in, index_t height, index_t width,
                 const AugmentParams& params, std::span<std::uint8_t> out);

// (n * copies) x (height * width): row i * copies + c is copy c of image i
// (see the header comment). Throws ArgumentError for copies < 0 ("--copies
// must be >= 0"), empty ops, sizes that disagree, out-of-range options, or
// n_jobs = 0; kreg::Cancelled when options.cancel is requested.
Matrix<std::uint8_t> augment_images(MatrixView<const std::uint8_t> images, index_t height,
                                    index_t width, const AugmentOptions& options);

// Each row of `rows` repeated `copies` times, in order: the labels that go
// with augment_images' output.
template <class T>
Matrix<T> repeat_rows(MatrixView<const T> rows, index_t copies) {
  if (copies < 0) throw ArgumentError("--copies must be >= 0");
  Matrix<T> out(rows.rows() * copies, rows.cols());
  for (index_t i = 0; i < rows.rows(); ++i) {
    for (index_t c = 0; c < copies; ++c) {
      for (index_t j = 0; j < rows.cols(); ++j) out(i * copies + c, j) = rows(i, j);
    }
  }
  return out;
}

// A contact sheet (grayscale, one pixel per byte): one line per original
// among the first min(max_originals, n), each the original followed by its
// `copies` augmented images, separated by 1-pixel gaps of value 255.
// `augmented` is augment_images' output for `originals`.
Matrix<std::uint8_t> contact_sheet(MatrixView<const std::uint8_t> originals,
                                   MatrixView<const std::uint8_t> augmented, index_t height,
                                   index_t width, index_t copies, index_t max_originals = 8);

}  // namespace kreg
