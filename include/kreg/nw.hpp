// kreg/nw.hpp - Nadaraya-Watson kernel regression.
//
//   yhat(z) = sum_j s_j k(u_j) y_j / sum_j s_j k(u_j),   u_j^2 = sum_f ((z_f - x_jf) / h_f)^2
//
// with training points x_j, targets y_j (k >= 1 columns, all predicted in one
// pass), optional sample weights s_j >= 0, a kernel k and a bandwidth h (one
// value, or one per feature). Numerical contract, for every engine:
//   * No NaN or Inf for any finite positive bandwidth and finite data, also
//     for targets and sample weights near T's largest value (the front scales
//     them by powers of two where the sums could overflow; exact, and never
//     done for ordinary data). The Gaussian's weights are shifted by the
//     nearest point's (the largest weight is exactly 1), so tiny bandwidths
//     give the mean y of the nearest training point(s) and huge ones the mean
//     of y.
//   * Compact kernels (epanechnikov, tricube, uniform) give zero weight at
//     u >= 1 (uniform: u > 1). A query with no training point inside the
//     bandwidth gets the mean y of its nearest training point(s), as a
//     vanishing Gaussian bandwidth would; PredictReport::isolated counts them.
//   * Data far from the origin is centred on the training mean (in double)
//     before any distance is formed.
//   * Results do not depend on n_jobs: each query's sums are reduced in a
//     fixed order, so any thread count gives the same bits.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "kreg/device.hpp"
#include "kreg/matrix.hpp"

namespace kreg {

class CancelToken;  // kreg/interrupt.hpp
namespace nw {      // the engine interface (private: src/nw/backend.hpp)
class Backend;
template <class T>
class Fitted;
}  // namespace nw

enum class Kernel { gaussian, epanechnikov, tricube, uniform };

// The engine (backend) that computes predictions, by name. kreg's own:
// "auto" (among the registered engines that support the call, the cheapest
// by their cost estimates, measured per engine and dtype; engines without an
// estimate, such as CUDA, keep their place in the preference order), "fused" (tiled SIMD + threads,
// never materialises the m x n matrix), "vectorized" (BLAS matrix product for the distances, then
// exp and sums, in blocks) and "reference" (plain loops in long double: the test oracle). An Engine
// is a name: parse_engine checks it against the engines this build registered, and one that cannot
// do a call (reference and vectorized predict at one bandwidth only) says so.
class Engine {
 public:
  static const Engine automatic, reference, vectorized, fused;
  constexpr Engine() = default;
  // `name` must outlive the Engine (a literal, or a registered engine's name).
  constexpr explicit Engine(std::string_view name) : name_(name) {}
  constexpr std::string_view name() const { return name_; }
  constexpr bool is_auto() const { return name_ == "auto"; }
  friend constexpr bool operator==(Engine a, Engine b) { return a.name_ == b.name_; }

 private:
  std::string_view name_ = "auto";
};
inline constexpr Engine Engine::automatic{"auto"};
inline constexpr Engine Engine::reference{"reference"};
inline constexpr Engine Engine::vectorized{"vectorized"};
inline constexpr Engine Engine::fused{"fused"};

// Names as the CLI and Python spell them ("gaussian", "auto", ...). The
// parsers throw ArgumentError listing the valid names (parse_engine: "auto"
// and every registered engine).
Kernel parse_kernel(std::string_view name);
Engine parse_engine(std::string_view name);
std::string_view to_string(Kernel kernel);
std::string_view to_string(Engine engine);

// The engines this build registered, in auto's preference order, and the
// device each runs on ("cpu", later "cuda:0").
struct EngineInfo {
  Engine engine;
  std::string_view device;
};
std::vector<EngineInfo> available_engines();

// joblib's n_jobs: -1 all cores, -2 all but one (-k: all but k-1, at least 1),
// k > 0 exactly k threads (more than the cores is allowed, up to 1024 or the
// core count, whichever is larger: kreg/par.hpp), 0 and more are errors.
int resolve_n_jobs(int n_jobs);

struct NadarayaWatsonOptions {
  Kernel kernel = Kernel::gaussian;
  std::vector<double> bandwidth{1.0};  // one value, or one per feature
  Engine engine = Engine::automatic;
  int n_jobs = -1;
  // Where to compute (kreg/device.hpp): auto, cpu, cuda or cuda:K; it
  // narrows the engines `engine` may pick.
  Device device = Device();
};

struct PredictReport {
  index_t isolated = 0;  // queries with no training point inside a compact kernel's support
  Engine engine;         // the engine that ran (never "auto")
};

// Pair-operations of predicting m queries from n training points with d
// features and k outputs at `bandwidths` bandwidths, m n (d + 4 B (k + 1)):
// one distance per pair, then per bandwidth a weight and k + 1 sums. The one
// cost model kreg's workflows cut their work by.
double predict_work(index_t m, index_t n, index_t d, index_t k, index_t bandwidths = 1);

// T is float or double: the precision of stored data and of the arithmetic.
template <class T>
class NadarayaWatson {
 public:
  explicit NadarayaWatson(NadarayaWatsonOptions options = {});

  // Stores the training set (copied, centred). X is n x d, Y is n x k (k >= 1);
  // sample_weight is empty or has n non-negative values, not all zero.
  NadarayaWatson& fit(MatrixView<const T> X, MatrixView<const T> Y,
                      std::span<const T> sample_weight = {});

  // m x k predictions for the m x d queries Z. `cancel` (nullptr: never
  // cancelled) is polled between small units of work (a group of queries
  // against one tile of training points, for the default engine); once it is
  // requested, predict throws kreg::Cancelled (kreg/interrupt.hpp).
  Matrix<T> predict(MatrixView<const T> Z, PredictReport* report = nullptr,
                    const CancelToken* cancel = nullptr) const;

  bool fitted() const { return fitted_ != nullptr; }
  index_t n_features() const { return d_; }
  index_t n_outputs() const { return k_; }
  const NadarayaWatsonOptions& options() const { return options_; }
  // The engine that fit chose (options().engine, or the one "auto" picked);
  // "auto" before fit.
  Engine engine() const;

 private:
  NadarayaWatsonOptions options_;
  index_t d_ = 0, k_ = 0;
  std::vector<double> center_;  // training mean per feature
  std::vector<double> scale_;   // h_min / h_f per feature (empty for one bandwidth: all 1)
  int y_exp_ = 0;               // > 0 only for targets near T's range (nw/scaling.hpp)
  const nw::Backend* backend_ = nullptr;
  // The training set as the backend keeps it: (X - center) * scale, y * 2^-y_exp_
  // and the sample weights (scaled by a power of two). Immutable, so copies
  // of the model share it.
  std::shared_ptr<const nw::Fitted<T>> fitted_;
};

// Squared Euclidean distances between the rows of Z (m x d) and X (n x d):
// an m x n matrix, by norms plus one matrix product (BLAS) after centring both
// on X's mean, clamped at 0. Pairs whose distance is small next to their norms
// (where the norm trick cancels) are recomputed from the differences in
// double, so every entry has a small relative error and identical points give
// exactly 0, also for data far from the origin.
template <class T>
Matrix<T> pairwise_sq_distances(MatrixView<const T> Z, MatrixView<const T> X);

}  // namespace kreg
