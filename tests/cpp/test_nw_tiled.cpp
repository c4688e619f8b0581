// The tiled engine's driver (nw/cpu/tiled.cpp): predict_fused is predict_grid
// with one bandwidth, bit for bit; and one bandwidth with leave-one-out
// exclusions (the one-bandwidth kernel skipping a query's own point by index)
// against a brute-force refit without that point, for every type x kernel,
// weighted (with zero weights, which the driver drops and re-indexes) or not,
// over several tiles with the own point in each. Then the Gaussian's norm
// form of distances, chosen per query by its error bound: a batch of both
// kinds of queries against the reference, and each query alone bit for bit.
// And many outputs: each with the bits of its own sum; tiles packed once per
// model: the bits of packing per call; and the L2-sized tiles of high d at
// each L2 size.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <random>
#include <vector>

#include "kreg/nw.hpp"
#include "nw/cpu/engines.hpp"
#include "nw/cpu/tiled.hpp"
#include "nw_training_data.hpp"

namespace {

using kreg::index_t;
using kreg::Kernel;
using kreg::Matrix;

constexpr Kernel kKernels[] = {Kernel::gaussian, Kernel::epanechnikov, Kernel::tricube,
                               Kernel::uniform};

template <class T>
constexpr double rtol() {
  return sizeof(T) == 4 ? 1e-4 : 1e-9;
}

template <class T>
using Data = kreg::test::TrainingData<T>;

template <class T>
Data<T> make(index_t n, index_t d, index_t k, bool weighted, unsigned seed) {
  return kreg::test::make_training<T>(n, d, k, weighted, seed, 4);
}

template <class T>
void check_fused_is_grid(Kernel kernel, bool weighted, index_t k, double h) {
  SCOPED_TRACE(testing::Message() << "T=" << (sizeof(T) == 4 ? "f32" : "f64")
                                  << " kernel=" << kreg::to_string(kernel)
                                  << " weighted=" << weighted << " k=" << k << " h=" << h);
  const index_t n = 1000, m = 77, d = 3;
  const auto data = make<T>(n, d, k, weighted, 3);
  const auto queries = make<T>(m, d, 1, false, 4);
  kreg::nw::Problem<T> p{data.X, data.Y, data.w, kernel, 1.0 / (h * h)};
  Matrix<T> fused(m, k), grid(m, k);
  const index_t fused_isolated = kreg::nw::predict_fused<T>(p, queries.X, fused, 2);
  const double inv_h2[] = {p.inv_h2};
  std::vector<index_t> grid_isolated(1, 0);
  kreg::nw::predict_grid<T>(p, queries.X, inv_h2, {}, grid, grid_isolated, 3);
  EXPECT_EQ(0, std::memcmp(fused.data(), grid.data(), sizeof(T) * m * k));
  EXPECT_EQ(fused_isolated, grid_isolated[0]);
}

TEST(NwTiled, FusedIsGridWithOneBandwidth) {
  for (const Kernel kernel : kKernels) {
    for (const bool weighted : {false, true}) {
      for (const index_t k : {1, 3}) {
        for (const double h : {0.05, 0.5, 50.0}) {
          check_fused_is_grid<double>(kernel, weighted, k, h);
          check_fused_is_grid<float>(kernel, weighted, k, h);
        }
      }
    }
  }
}

// Many outputs are summed several at a time (weights-inl.h's TileSums), each
// output's chain in the same order as alone: so every output of a k = 13
// call (groups of 8, 4 and 1) has the bits of the same output in a k = 2
// call (one at a time).
template <class T>
void check_outputs_independent(Kernel kernel, bool weighted) {
  SCOPED_TRACE(testing::Message() << "T=" << (sizeof(T) == 4 ? "f32" : "f64") << " kernel="
                                  << kreg::to_string(kernel) << " weighted=" << weighted);
  const index_t n = 700, m = 41, d = 3, k = 13;
  const auto data = make<T>(n, d, k, weighted, 5);
  const auto queries = make<T>(m, d, 1, false, 6);
  const double inv_h2 = 1.0 / (0.6 * 0.6);
  Matrix<T> all(m, k);
  kreg::nw::predict_fused<T>({data.X, data.Y, data.w, kernel, inv_h2}, queries.X, all, 2);
  for (index_t c = 0; c < k; ++c) {
    Matrix<T> Y2(n, 2), two(m, 2);
    for (index_t i = 0; i < n; ++i) {
      Y2(i, 0) = data.Y(i, c);
      Y2(i, 1) = data.Y(i, (c + 5) % k);
    }
    kreg::nw::predict_fused<T>({data.X, Y2, data.w, kernel, inv_h2}, queries.X, two, 1);
    for (index_t q = 0; q < m; ++q) {
      EXPECT_EQ(0, std::memcmp(&all(q, c), &two(q, 0), sizeof(T)))
          << "output " << c << " query " << q;
    }
  }
}

TEST(NwTiled, EachOutputHasTheBitsOfItsOwnSum) {
  for (const Kernel kernel : kKernels) {
    for (const bool weighted : {false, true}) {
      check_outputs_independent<double>(kernel, weighted);
      check_outputs_independent<float>(kernel, weighted);
    }
  }
}

// Query i = training row i, excluded by index, at one bandwidth per call, in
// tiles of 64 points (the driver's smallest: 150 points make three, the last
// partial); against the reference engine refitted without row i.
template <class T>
void check_leave_one_out(Kernel kernel, bool weighted, index_t k) {
  SCOPED_TRACE(testing::Message() << "T=" << (sizeof(T) == 4 ? "f32" : "f64")
                                  << " kernel=" << kreg::to_string(kernel)
                                  << " weighted=" << weighted << " k=" << k);
  const index_t n = 150, d = 2;
  const auto data = make<T>(n, d, k, weighted, 5);
  std::vector<index_t> exclude;
  for (index_t i = 0; i < n; ++i) exclude.push_back(i);
  kreg::nw::Problem<T> p{data.X, data.Y, data.w, kernel, 1.0};
  for (const double h : {1e-6, 0.2, 0.8, 5.0}) {
    SCOPED_TRACE(testing::Message() << "h=" << h);
    const double inv_h2[] = {1.0 / (h * h)};
    Matrix<T> out(n, k);
    std::vector<index_t> isolated(1, 0);
    kreg::nw::predict_grid<T>(p, data.X, inv_h2, exclude, out, isolated, 2, nullptr, 1);
    index_t ref_isolated = 0;
    for (index_t i = 0; i < n; ++i) {
      Matrix<T> X(n - 1, d), Y(n - 1, k), z(1, d);
      std::vector<T> w;
      for (index_t j = 0, r = 0; j < n; ++j) {
        if (j == i) continue;
        for (index_t f = 0; f < d; ++f) X(r, f) = data.X(j, f);
        for (index_t c = 0; c < k; ++c) Y(r, c) = data.Y(j, c);
        if (weighted) w.push_back(data.w[static_cast<std::size_t>(j)]);
        ++r;
      }
      for (index_t f = 0; f < d; ++f) z(0, f) = data.X(i, f);
      kreg::NadarayaWatson<T> model({kernel, {h}, kreg::Engine::reference, 1});
      model.fit(X, Y, w);
      kreg::PredictReport report;
      const Matrix<T> ref = model.predict(z, &report);
      ref_isolated += report.isolated;
      for (index_t c = 0; c < k; ++c) {
        ASSERT_NEAR(out(i, c), ref(0, c), rtol<T>() * 10) << "row " << i << " output " << c;
      }
    }
    EXPECT_EQ(isolated[0], ref_isolated);
    if (!weighted && h < 1e-3) {
      // Rows 0 and 1 coincide: each one's prediction is the other's y.
      EXPECT_EQ(out(0, 0), data.Y(1, 0));
      EXPECT_EQ(out(1, 0), data.Y(0, 0));
    }
  }
}

TEST(NwTiled, OneBandwidthLeaveOneOutSkipsByIndex) {
  for (const Kernel kernel : kKernels) {
    for (const bool weighted : {false, true}) {
      for (const index_t k : {1, 2}) {
        check_leave_one_out<double>(kernel, weighted, k);
        check_leave_one_out<float>(kernel, weighted, k);
      }
    }
  }
}

// The norm form's bound: it fits near the origin at a moderate bandwidth,
// not for a narrow one, a far point, or a norm that is not finite.
TEST(NwTiled, NormFormBound) {
  EXPECT_TRUE(kreg::nw::tiled::norm_form_fits<double>(10, 40.0, 40.0, 4.0));
  EXPECT_FALSE(kreg::nw::tiled::norm_form_fits<double>(10, 40.0, 40.0, 1e6));
  EXPECT_FALSE(kreg::nw::tiled::norm_form_fits<double>(10, 40.0, 1e5, 4.0));
  EXPECT_FALSE(kreg::nw::tiled::norm_form_fits<double>(10, INFINITY, 1.0, 4.0));
  EXPECT_FALSE(kreg::nw::tiled::norm_form_fits<double>(10, NAN, 1.0, 4.0));
  EXPECT_TRUE(kreg::nw::tiled::norm_form_fits<float>(10, 40.0, 40.0, 1.0 / 400));
  EXPECT_FALSE(kreg::nw::tiled::norm_form_fits<float>(10, 40.0, 40.0, 4.0));
}

// Every third query 30 away in each feature: its bound fails and it takes
// direct differences, the others the norm form, so groups hold both kinds.
// Each matches the reference, and predicting it alone gives the same bits.
template <class T>
void check_norm_form_per_query(double h) {
  SCOPED_TRACE(testing::Message() << "T=" << (sizeof(T) == 4 ? "f32" : "f64") << " h=" << h);
  const index_t n = 1000, m = 21, d = 10;
  const auto data = make<T>(n, d, 1, false, 7);
  auto queries = make<T>(m, d, 1, false, 8);
  for (index_t i = 0; i < m; i += 3) {
    for (index_t f = 0; f < d; ++f) queries.X(i, f) += T{30};
  }
  kreg::nw::Problem<T> p{data.X, data.Y, data.w, Kernel::gaussian, 1.0 / (h * h)};
  const auto qn = kreg::nw::tiled::query_norms<T>(
      queries.X, kreg::nw::tiled::max_squared_norm<T>(data.X, {}), p.inv_h2);
  ASSERT_TRUE(qn.any());
  for (index_t i = 0; i < m; ++i) {
    EXPECT_EQ(std::isnan(qn.zn[static_cast<std::size_t>(i)]), i % 3 == 0) << "query " << i;
  }
  Matrix<T> fused(m, 1), ref(m, 1);
  kreg::nw::predict_fused<T>(p, queries.X, fused, 2);
  kreg::nw::predict_reference<T>(p, queries.X, ref, 1);
  double max_y = 0;
  for (index_t j = 0; j < n; ++j) max_y = std::max(max_y, std::abs(double{data.Y(j, 0)}));
  for (index_t i = 0; i < m; ++i) {
    EXPECT_NEAR(fused(i, 0), ref(i, 0), rtol<T>() * max_y) << "query " << i;
    Matrix<T> one(1, d), alone(1, 1);
    for (index_t f = 0; f < d; ++f) one(0, f) = queries.X(i, f);
    kreg::nw::predict_fused<T>(p, one, alone, 1);
    EXPECT_EQ(0, std::memcmp(&alone(0, 0), &fused(i, 0), sizeof(T))) << "query " << i;
  }
}

TEST(NwTiled, NormFormChosenPerQuery) {
  check_norm_form_per_query<double>(0.5);
  check_norm_form_per_query<float>(20.0);
}

// The fused backend packs a training set's one-bandwidth tiles once
// (pack_for_predict); predicting from them gives the bits of packing per
// call, for every kernel, with zero sample weights (dropped rows), queries of
// both distance forms (every third one far off), and one-bandwidth calls
// with exclusions. A set beyond one chunk is not packed ahead.
template <class T>
void check_packed_once(Kernel kernel, bool weighted) {
  SCOPED_TRACE(testing::Message() << "T=" << (sizeof(T) == 4 ? "f32" : "f64") << " kernel="
                                  << kreg::to_string(kernel) << " weighted=" << weighted);
  const index_t n = 1100, m = 45, d = 4, k = 2;
  const auto data = make<T>(n, d, k, weighted, 9);
  auto queries = make<T>(m, d, 1, false, 10);
  for (index_t i = 0; i < m; i += 3) {
    for (index_t f = 0; f < d; ++f) queries.X(i, f) += T{30};
  }
  const double h = sizeof(T) == 4 ? 20.0 : 0.7;
  const kreg::nw::Problem<T> plain{data.X, data.Y, data.w, kernel, 1.0 / (h * h)};
  const auto tiles = kreg::nw::pack_for_predict<T>(plain);
  ASSERT_NE(tiles, nullptr);
  EXPECT_EQ(tiles->norms, kernel == Kernel::gaussian);
  if (kernel == Kernel::gaussian && !weighted) {  // the norm form's bound reads it
    EXPECT_EQ(tiles->max_x2, kreg::nw::tiled::max_squared_norm<T>(data.X, {}));
  }
  kreg::nw::Problem<T> ready = plain;
  ready.packed = tiles.get();
  Matrix<T> a(m, k), b(m, k);
  EXPECT_EQ(kreg::nw::predict_fused<T>(plain, queries.X, a, 2),
            kreg::nw::predict_fused<T>(ready, queries.X, b, 3));
  EXPECT_EQ(0, std::memcmp(a.data(), b.data(), sizeof(T) * m * k));
  std::vector<index_t> exclude(static_cast<std::size_t>(m));
  for (index_t i = 0; i < m; ++i) exclude[static_cast<std::size_t>(i)] = (i * 37) % n;
  const double inv_h2[] = {plain.inv_h2};
  std::vector<index_t> iso_a(1, 0), iso_b(1, 0);
  kreg::nw::predict_grid<T>(plain, queries.X, inv_h2, exclude, a, iso_a, 2);
  kreg::nw::predict_grid<T>(ready, queries.X, inv_h2, exclude, b, iso_b, 1);
  EXPECT_EQ(0, std::memcmp(a.data(), b.data(), sizeof(T) * m * k));
  EXPECT_EQ(iso_a, iso_b);
}

TEST(NwTiled, TilesPackedOnceGiveTheBitsOfPackingPerCall) {
  for (const Kernel kernel : kKernels) {
    for (const bool weighted : {false, true}) {
      check_packed_once<double>(kernel, weighted);
      check_packed_once<float>(kernel, weighted);
    }
  }
  // 6000 x 1500 floats pack to more than one 32 MiB chunk.
  const Matrix<float> X(6000, 1500), Y(6000, 1);
  EXPECT_EQ(kreg::nw::pack_for_predict<float>({X, Y, {}, Kernel::gaussian, 1.0}), nullptr);
}

// The tiles that live in L2 follow this CPU's L2: half of it at high d, a
// quarter for many bandwidths, never above what was measured on a 1 MiB L2,
// never below 64 KiB.
TEST(NwTiled, L2TilesFollowTheL2) {
  using kreg::nw::tiled::grid_tile_bytes;
  using kreg::nw::tiled::high_d_tile_bytes;
  constexpr index_t KiB = 1024;
  EXPECT_EQ(high_d_tile_bytes(1024 * KiB), 512 * KiB);
  EXPECT_EQ(high_d_tile_bytes(512 * KiB), 256 * KiB);
  EXPECT_EQ(high_d_tile_bytes(2048 * KiB), 512 * KiB);
  EXPECT_EQ(high_d_tile_bytes(64 * KiB), 64 * KiB);
  EXPECT_EQ(grid_tile_bytes(1024 * KiB), 256 * KiB);
  EXPECT_EQ(grid_tile_bytes(512 * KiB), 128 * KiB);
  EXPECT_EQ(grid_tile_bytes(8192 * KiB), 256 * KiB);
  EXPECT_EQ(grid_tile_bytes(128 * KiB), 64 * KiB);
  // On a 512 KiB L2 a float tile at d = 784 holds 64 points (200 KB), not 128.
  EXPECT_EQ(kreg::nw::tiled::tile_points<float>(784, high_d_tile_bytes(512 * KiB),
                                                kreg::nw::tiled::kMaxTile),
            64);
  EXPECT_EQ(kreg::nw::tiled::tile_points<float>(784, high_d_tile_bytes(1024 * KiB),
                                                kreg::nw::tiled::kMaxTile),
            128);
}

// At high d, with the tiles a CPU of each L2 size would take: the reference's
// predictions, and the same bits for 1 and 3 threads.
template <class T>
void check_high_d_tiles(index_t l2) {
  SCOPED_TRACE(testing::Message() << "T=" << (sizeof(T) == 4 ? "f32" : "f64") << " L2=" << l2);
  const index_t n = 700, m = 40, d = 300;
  const auto data = make<T>(n, d, 2, false, 12);
  const auto queries = make<T>(m, d, 1, false, 13);
  ASSERT_TRUE(kreg::nw::tiled::high_d<T>(d));
  const double h = 12.0;
  const kreg::nw::Problem<T> p{data.X, data.Y, data.w, Kernel::gaussian, 1.0 / (h * h)};
  const double inv_h2[] = {p.inv_h2};
  const index_t bytes = kreg::nw::tiled::high_d_tile_bytes(l2);
  Matrix<T> one(m, 2), three(m, 2), ref(m, 2);
  std::vector<index_t> iso(1, 0);
  kreg::nw::predict_grid<T>(p, queries.X, inv_h2, {}, one, iso, 1, nullptr, bytes);
  kreg::nw::predict_grid<T>(p, queries.X, inv_h2, {}, three, iso, 3, nullptr, bytes);
  EXPECT_EQ(0, std::memcmp(one.data(), three.data(), sizeof(T) * m * 2));
  kreg::nw::predict_reference<T>(p, queries.X, ref, 1);
  double max_y = 0;
  for (index_t j = 0; j < n; ++j) {
    for (index_t c = 0; c < 2; ++c) max_y = std::max(max_y, std::abs(double{data.Y(j, c)}));
  }
  for (index_t i = 0; i < m; ++i) {
    for (index_t c = 0; c < 2; ++c) {
      EXPECT_NEAR(one(i, c), ref(i, c), rtol<T>() * max_y) << "query " << i << " output " << c;
    }
  }
}

TEST(NwTiled, HighDTilesForAnyL2MatchTheReference) {
  for (const index_t l2 : {index_t{256} << 10, index_t{512} << 10, index_t{1} << 20}) {
    check_high_d_tiles<double>(l2);
    check_high_d_tiles<float>(l2);
  }
}

}  // namespace
