// test_augment.cpp - kreg::augment_images and the PNG writer: determinism
// across n_jobs, prefix stability, identity parameters, an exact 90-degree
// rotation, error messages, and the PNG byte layout.
#include <gtest/gtest.h>
#include <zlib.h>

#include <cstring>
#include <string>
#include <vector>

#include "kreg/augment.hpp"
#include "kreg/interrupt.hpp"
#include "kreg/io/png.hpp"
#include "kreg/par.hpp"
#include "test_support.hpp"

namespace kreg {
namespace {

using test::expect_error;

// n images of h x w with varied content (a deterministic hash per pixel).
Matrix<std::uint8_t> pattern_images(index_t n, index_t h, index_t w) {
  Matrix<std::uint8_t> m(n, h * w);
  for (index_t i = 0; i < m.size(); ++i) {
    m.data()[i] = static_cast<std::uint8_t>((par::task_seed(7, i) >> 13) & 0xFF);
  }
  return m;
}

AugmentOptions all_ops(int n_jobs = 1) {
  AugmentOptions o;
  o.ops = {AugmentOp::shift, AugmentOp::rotate, AugmentOp::scale, AugmentOp::noise};
  o.copies = 3;
  o.seed = 42;
  o.n_jobs = n_jobs;
  return o;
}

std::vector<std::uint8_t> bytes(const Matrix<std::uint8_t>& m) {
  return {m.data(), m.data() + m.size()};
}

TEST(AugmentImages, SameBytesForEveryNJobs) {
  const auto images = pattern_images(37, 28, 28);
  const auto reference = augment_images(images, 28, 28, all_ops(1));
  ASSERT_EQ(reference.rows(), 37 * 3);
  ASSERT_EQ(reference.cols(), 28 * 28);
  for (int jobs : {2, 3, 8}) {
    EXPECT_EQ(bytes(augment_images(images, 28, 28, all_ops(jobs))), bytes(reference))
        << "n_jobs = " << jobs;
  }
}

// progress(images done, images) reaches the total on the calling thread and
// changes nothing in the output.
TEST(AugmentImages, ProgressReachesEveryImage) {
  const auto images = pattern_images(37, 28, 28);
  AugmentOptions o = all_ops(3);
  const auto plain = augment_images(images, 28, 28, o);
  index_t last = 0, calls = 0;
  o.progress = [&](index_t done, index_t total) {
    EXPECT_EQ(total, 37);
    EXPECT_GE(done, last);
    last = done;
    ++calls;
  };
  EXPECT_EQ(bytes(augment_images(images, 28, 28, o)), bytes(plain));
  EXPECT_EQ(last, 37);
  EXPECT_GE(calls, 1);
}

TEST(AugmentImages, CopiesDifferFromOriginalAndEachOther) {
  const auto images = pattern_images(2, 28, 28);
  const auto out = augment_images(images, 28, 28, all_ops(1));
  EXPECT_NE(std::vector<std::uint8_t>(out.row(0).begin(), out.row(0).end()),
            std::vector<std::uint8_t>(out.row(1).begin(), out.row(1).end()));
  EXPECT_NE(std::vector<std::uint8_t>(out.row(0).begin(), out.row(0).end()),
            std::vector<std::uint8_t>(images.row(0).begin(), images.row(0).end()));
}

TEST(AugmentImages, PrefixGivesTheSameCopies) {
  const auto images = pattern_images(20, 28, 28);
  const auto full = augment_images(images, 28, 28, all_ops(2));
  const auto prefix = augment_images(images.view().rows_between(0, 5), 28, 28, all_ops(1));
  ASSERT_EQ(prefix.rows(), 15);
  EXPECT_EQ(bytes(prefix), std::vector<std::uint8_t>(full.data(), full.data() + prefix.size()));
  // Copy c of image i alone, through its drawn parameters.
  const auto opts = all_ops(1);
  for (index_t i : {0, 7, 19}) {
    for (index_t c = 0; c < 3; ++c) {
      std::vector<std::uint8_t> one(28 * 28);
      augment_one(images.row(i), 28, 28, draw_augment_params(opts, i, c), one);
      EXPECT_EQ(one,
                std::vector<std::uint8_t>(full.row(i * 3 + c).begin(), full.row(i * 3 + c).end()))
          << "image " << i << " copy " << c;
    }
  }
}

TEST(AugmentImages, ParamsFollowTheDocumentedSeed) {
  auto o = all_ops(1);
  const AugmentParams p = draw_augment_params(o, 4, 2);
  // Turning ops off leaves the other draws unchanged.
  o.ops = {AugmentOp::rotate};
  const AugmentParams q = draw_augment_params(o, 4, 2);
  EXPECT_EQ(q.angle_deg, p.angle_deg);
  EXPECT_EQ(q.dx, 0);
  EXPECT_EQ(q.dy, 0);
  EXPECT_EQ(q.scale, 1);
  EXPECT_EQ(q.noise_std, 0);
  EXPECT_LE(std::abs(p.dx), 2);
  EXPECT_LE(std::abs(p.angle_deg), 15);
  EXPECT_GE(p.scale, 0.9);
  EXPECT_LE(p.scale, 1.1);
  EXPECT_NE(draw_augment_params(o, 4, 1).angle_deg, p.angle_deg);
}

TEST(AugmentImages, IdentityParamsCopyExactly) {
  const auto images = pattern_images(6, 9, 13);
  AugmentOptions o;
  o.ops = {AugmentOp::noise};
  o.noise_std = 0;
  o.copies = 2;
  o.n_jobs = 2;
  const auto out = augment_images(images, 9, 13, o);
  for (index_t i = 0; i < 6; ++i) {
    for (index_t c = 0; c < 2; ++c) {
      EXPECT_TRUE(
          std::equal(images.row(i).begin(), images.row(i).end(), out.row(i * 2 + c).begin()));
    }
  }
  o.ops = {AugmentOp::shift};
  o.max_shift = 0;
  EXPECT_EQ(bytes(augment_images(images, 9, 13, o)), bytes(out));
  std::vector<std::uint8_t> one(9 * 13);
  augment_one(images.row(3), 9, 13, AugmentParams{}, one);
  EXPECT_TRUE(std::equal(one.begin(), one.end(), images.row(3).begin()));
}

TEST(AugmentOne, IntegerShiftMovesPixels) {
  const auto img = pattern_images(1, 6, 7);
  std::vector<std::uint8_t> out(42);
  AugmentParams p;
  p.dx = 2;
  p.dy = -1;
  augment_one(img.row(0), 6, 7, p, out);
  for (index_t y = 0; y < 6; ++y) {
    for (index_t x = 0; x < 7; ++x) {
      const index_t sx = x - 2, sy = y + 1;
      const int want = (sx >= 0 && sx < 7 && sy >= 0 && sy < 6) ? img(0, sy * 7 + sx) : 0;
      EXPECT_EQ(out[static_cast<std::size_t>(y * 7 + x)], want) << x << "," << y;
    }
  }
}

TEST(AugmentOne, Rotation90MapsPixels) {
  // Odd square: the centre is a pixel, so a quarter turn maps pixels to
  // pixels. Forward map (x, y) -> (cx - (y - cy), cy + (x - cx)).
  constexpr index_t n = 7;
  const auto img = pattern_images(1, n, n);
  std::vector<std::uint8_t> out(n * n);
  AugmentParams p;
  p.angle_deg = 90;
  augment_one(img.row(0), n, n, p, out);
  const index_t c = 3;
  for (index_t y = 0; y < n; ++y) {
    for (index_t x = 0; x < n; ++x) {
      const index_t xo = c - (y - c), yo = c + (x - c);
      EXPECT_EQ(out[static_cast<std::size_t>(yo * n + xo)], img(0, y * n + x)) << x << "," << y;
    }
  }
  // A single bright pixel right of the centre lands below it.
  std::vector<std::uint8_t> dot(n * n, 0);
  dot[c * n + c + 2] = 200;
  augment_one(dot, n, n, p, out);
  for (index_t k = 0; k < n * n; ++k) {
    EXPECT_EQ(out[static_cast<std::size_t>(k)], k == (c + 2) * n + c ? 200 : 0) << k;
  }
}

TEST(AugmentOne, NoiseIsSeededAndClamped) {
  std::vector<std::uint8_t> white(100, 255), a(100), b(100);
  AugmentParams p;
  p.noise_std = 50;
  p.noise_seed = 9;
  augment_one(white, 10, 10, p, a);
  augment_one(white, 10, 10, p, b);
  EXPECT_EQ(a, b);
  EXPECT_GT(std::count(a.begin(), a.end(), 255), 20);  // clamped, not wrapped
  EXPECT_GT(std::count_if(a.begin(), a.end(), [](int v) { return v < 255; }), 20);
}

TEST(AugmentImages, RepeatRowsAndContactSheet) {
  Matrix<std::uint8_t> labels(3, 1);
  labels(0, 0) = 5;
  labels(1, 0) = 0;
  labels(2, 0) = 9;
  const auto rep = repeat_rows<std::uint8_t>(labels, 2);
  EXPECT_EQ(bytes(rep), (std::vector<std::uint8_t>{5, 5, 0, 0, 9, 9}));

  const auto images = pattern_images(10, 4, 5);
  auto o = all_ops(1);
  const auto out = augment_images(images, 4, 5, o);
  const auto sheet = contact_sheet(images, out, 4, 5, 3);
  EXPECT_EQ(sheet.rows(), 8 * 4 + 7);
  EXPECT_EQ(sheet.cols(), 4 * 5 + 3);
  EXPECT_EQ(sheet(0, 0), images(0, 0));
  EXPECT_EQ(sheet(4, 0), 255);  // gap row
  EXPECT_EQ(sheet(5 + 1, 6 + 2), out(1 * 3 + 0, 1 * 5 + 2));
}

TEST(AugmentImages, RequestedTokenStops) {
  const auto images = pattern_images(5, 28, 28);
  AugmentOptions o = all_ops(2);
  CancelToken token;
  token.request();
  o.cancel = &token;
  EXPECT_THROW(augment_images(images, 28, 28, o), Cancelled);
}

TEST(AugmentErrors, ExactMessages) {
  const auto images = pattern_images(2, 4, 4);
  auto o = all_ops(1);
  o.copies = -1;
  expect_error<ArgumentError>([&] { augment_images(images, 4, 4, o); }, "--copies must be >= 0");
  o = all_ops(1);
  o.ops.clear();
  expect_error<ArgumentError>([&] { augment_images(images, 4, 4, o); },
                              "no augmentation ops given; choose from shift, rotate, scale, noise");
  o = all_ops(1);
  expect_error<ArgumentError>([&] { augment_images(images, 4, 5, o); },
                              "images have 16 pixels per row but height x width is 4 x 5 = 20");
  o.n_jobs = 0;
  EXPECT_THROW(augment_images(images, 4, 4, o), ArgumentError);
  expect_error<ArgumentError>([] { parse_augment_ops("shift,flip"); },
                              "unknown augmentation op 'flip'; valid ops: shift, rotate, scale, "
                              "noise");
  expect_error<ArgumentError>([] { parse_augment_ops(""); },
                              "no augmentation ops given; choose from shift, rotate, scale, noise");
  EXPECT_EQ(parse_augment_ops("noise,shift,noise"),
            (std::vector<AugmentOp>{AugmentOp::noise, AugmentOp::shift}));
  o = all_ops(1);
  o.copies = 0;
  EXPECT_EQ(augment_images(images, 4, 4, o).rows(), 0);
}

std::uint32_t be32(const std::string& s, std::size_t at) {
  return (std::uint32_t{static_cast<unsigned char>(s[at])} << 24) |
         (std::uint32_t{static_cast<unsigned char>(s[at + 1])} << 16) |
         (std::uint32_t{static_cast<unsigned char>(s[at + 2])} << 8) |
         std::uint32_t{static_cast<unsigned char>(s[at + 3])};
}

TEST(PngWriter, SignatureHeaderCrcAndPixels) {
  const auto img = pattern_images(1, 5 * 3, 1);  // reshaped below to 5 x 3
  const MatrixView<const std::uint8_t> pixels(img.data(), 5, 3);
  const std::string png = io::encode_png_gray(pixels);
  ASSERT_GT(png.size(), 8u + 25 + 12 + 12);
  EXPECT_EQ(png.substr(0, 8), std::string("\x89PNG\r\n\x1a\n", 8));
  EXPECT_EQ(be32(png, 8), 13u);
  EXPECT_EQ(png.substr(12, 4), "IHDR");
  EXPECT_EQ(be32(png, 16), 3u);  // width
  EXPECT_EQ(be32(png, 20), 5u);  // height
  EXPECT_EQ(png[24], 8);         // bit depth
  EXPECT_EQ(png[25], 0);         // grayscale
  EXPECT_EQ(png.substr(26, 3), std::string(3, '\0'));
  EXPECT_EQ(be32(png, 29),
            crc32(0, reinterpret_cast<const Bytef*>(png.data() + 12), 17));  // CRC of IHDR
  const std::uint32_t idat_len = be32(png, 33);
  EXPECT_EQ(png.substr(37, 4), "IDAT");
  std::vector<unsigned char> raw(5 * 4);
  uLongf raw_len = raw.size();
  ASSERT_EQ(
      uncompress(raw.data(), &raw_len, reinterpret_cast<const Bytef*>(png.data() + 41), idat_len),
      Z_OK);
  ASSERT_EQ(raw_len, 20u);
  for (index_t y = 0; y < 5; ++y) {
    EXPECT_EQ(raw[static_cast<std::size_t>(y * 4)], 0);  // filter None
    for (index_t x = 0; x < 3; ++x) {
      EXPECT_EQ(raw[static_cast<std::size_t>(y * 4 + 1 + x)], pixels(y, x));
    }
  }
  EXPECT_EQ(png.substr(png.size() - 12), std::string("\0\0\0\0IEND\xAE\x42\x60\x82", 12));
  expect_error<ArgumentError>([] { io::encode_png_gray(MatrixView<const std::uint8_t>()); },
                              "PNG: image must be 1 to 2^31-1 pixels on each side, got 0 x 0");
}

}  // namespace
}  // namespace kreg
