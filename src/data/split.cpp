// scikit-learn's train_test_split, KFold and StratifiedKFold, giving the same
// index lists for the same seeds (checked against scikit-learn 1.9), and
// take_rows to apply them.
//
//  * train_test_split (ShuffleSplit with one split): n_test = ceil(test_size*n),
//    perm = RandomState(seed).permutation(n), test = perm[:n_test],
//    train = perm[n_test:]; both in permutation order, as scikit-learn returns.
//  * KFold: indices = arange(n), shuffled by RandomState(seed) when shuffle;
//    consecutive chunks, the first n % k one longer, are the test folds.
//    scikit-learn goes through boolean masks, so each fold's test and train
//    indices come out in increasing order.
//  * StratifiedKFold: StratifiedKFold._make_test_folds, step for step (see
//    stratified_kfold below); test and train in increasing order.
#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <map>

#include <fmt/format.h>

#include "kreg/data.hpp"
#include "kreg/error.hpp"
#include "kreg/random.hpp"

namespace kreg {
namespace {

std::size_t to_size(index_t i) { return static_cast<std::size_t>(i); }

// The splits of k test folds given each sample's fold number: test = the
// samples of fold f, train = the others, both in increasing order.
std::vector<Split> splits_from_folds(const std::vector<index_t>& fold_of, index_t k) {
  const auto n = static_cast<index_t>(fold_of.size());
  std::vector<index_t> fold_size(to_size(k), 0);
  for (index_t f : fold_of) ++fold_size[to_size(f)];
  std::vector<Split> splits(to_size(k));
  for (index_t f = 0; f < k; ++f) {
    Split& s = splits[to_size(f)];
    s.test.reserve(to_size(fold_size[to_size(f)]));
    s.train.reserve(to_size(n - fold_size[to_size(f)]));
  }
  for (index_t i = 0; i < n; ++i) {
    const index_t fi = fold_of[to_size(i)];
    for (index_t f = 0; f < k; ++f) {
      (f == fi ? splits[to_size(f)].test : splits[to_size(f)].train).push_back(i);
    }
  }
  return splits;
}

void check_folds(const char* function, index_t n, index_t k) {
  if (k < 2) {
    throw ArgumentError(
        fmt::format("{}: k must be >= 2 (at least two folds), got {}", function, k));
  }
  if (k > n) {
    throw ArgumentError(fmt::format(
        "{}: k must be <= the number of samples, got k = {} with {} samples", function, k, n));
  }
}

}  // namespace

Split train_test_split(index_t n, double test_size, std::uint32_t seed) {
  if (n < 2) {
    throw ArgumentError(
        fmt::format("train_test_split: n must be >= 2 (one train and one test row), got {}", n));
  }
  if (!(test_size > 0.0 && test_size < 1.0)) {
    throw ArgumentError(
        fmt::format("train_test_split: test_size must be in (0, 1), got {}", test_size));
  }
  const auto n_test = static_cast<index_t>(std::ceil(test_size * static_cast<double>(n)));
  const index_t n_train = n - n_test;
  if (n_train <= 0) {
    throw ArgumentError(fmt::format(
        "train_test_split: test_size = {} with n = {} leaves the train set empty; use a "
        "smaller test_size",
        test_size, n));
  }
  LegacyRandom rng(seed);
  const std::vector<index_t> perm = rng.permutation(n);
  Split s;
  s.test.assign(perm.begin(), perm.begin() + n_test);
  s.train.assign(perm.begin() + n_test, perm.end());
  return s;
}

std::vector<Split> kfold(index_t n, index_t k, bool shuffle, std::uint32_t seed) {
  if (n <= 0) throw ArgumentError(fmt::format("kfold: n must be >= 1, got {}", n));
  check_folds("kfold", n, k);
  std::vector<index_t> indices(to_size(n));
  for (index_t i = 0; i < n; ++i) indices[to_size(i)] = i;
  if (shuffle) {
    LegacyRandom rng(seed);
    rng.shuffle(indices);
  }
  // fold_of[sample] = the fold whose test set holds it.
  std::vector<index_t> fold_of(to_size(n));
  index_t pos = 0;
  for (index_t f = 0; f < k; ++f) {
    const index_t size = n / k + (f < n % k ? 1 : 0);
    for (index_t t = 0; t < size; ++t, ++pos) fold_of[to_size(indices[to_size(pos)])] = f;
  }
  return splits_from_folds(fold_of, k);
}

std::vector<Split> stratified_kfold(std::span<const double> labels, index_t k, bool shuffle,
                                    std::uint32_t seed) {
  const auto n = static_cast<index_t>(labels.size());
  if (n == 0) throw ArgumentError("stratified_kfold: labels is empty; need at least one label");
  for (index_t i = 0; i < n; ++i) {
    if (std::isnan(labels[to_size(i)])) {
      throw ArgumentError(fmt::format("stratified_kfold: labels[{}] is NaN", i));
    }
  }
  check_folds("stratified_kfold", n, k);

  // Classes numbered by order of first appearance (scikit-learn's y_encoded).
  // Labels compare as numbers, so -0.0 and 0.0 are one class, as in np.unique.
  std::map<double, index_t> class_of_label;
  std::vector<index_t> encoded(to_size(n));
  std::vector<index_t> counts;
  for (index_t i = 0; i < n; ++i) {
    const auto [it, inserted] =
        class_of_label.emplace(labels[to_size(i)], static_cast<index_t>(counts.size()));
    if (inserted) counts.push_back(0);
    encoded[to_size(i)] = it->second;
    ++counts[to_size(it->second)];
  }
  const auto n_classes = static_cast<index_t>(counts.size());
  const index_t largest = *std::max_element(counts.begin(), counts.end());
  if (largest < k) {
    throw ArgumentError(fmt::format(
        "stratified_kfold: k = {} is greater than the number of members of every class (the "
        "largest class has {}); use k <= {}",
        k, largest, largest));
  }
  // scikit-learn warns when the smallest class has fewer than k members; kreg
  // goes on silently, with the same folds.

  // y_order = sort(y_encoded) holds class c at positions [start_c, start_c +
  // count_c), and allocation[f][c] counts class c among y_order[f::k]: class
  // c's fold numbers are therefore {p % k : p in [start_c, start_c + count_c)}
  // in increasing order (np.arange(k).repeat(allocation[:, c])).
  std::vector<std::vector<index_t>> folds_for_class(to_size(n_classes));
  index_t start = 0;
  for (index_t c = 0; c < n_classes; ++c) {
    std::vector<index_t>& folds = folds_for_class[to_size(c)];
    folds.resize(to_size(counts[to_size(c)]));
    for (index_t t = 0; t < counts[to_size(c)]; ++t) folds[to_size(t)] = (start + t) % k;
    std::sort(folds.begin(), folds.end());
    start += counts[to_size(c)];
  }
  if (shuffle) {
    // One generator for all classes, shuffled in class order.
    LegacyRandom rng(seed);
    for (auto& folds : folds_for_class) rng.shuffle(folds);
  }
  // test_folds[y_encoded == c] = folds_for_class[c], in sample order.
  std::vector<index_t> fold_of(to_size(n));
  std::vector<std::size_t> next(to_size(n_classes), 0);
  for (index_t i = 0; i < n; ++i) {
    const index_t c = encoded[to_size(i)];
    fold_of[to_size(i)] = folds_for_class[to_size(c)][next[to_size(c)]++];
  }
  return splits_from_folds(fold_of, k);
}

template <class T>
Matrix<T> take_rows(MatrixView<const T> m, std::span<const index_t> rows) {
  const auto count = static_cast<index_t>(rows.size());
  for (index_t r = 0; r < count; ++r) {
    const index_t i = rows[to_size(r)];
    if (i < 0 || i >= m.rows()) {
      throw ArgumentError(fmt::format(
          "take_rows: rows[{}] = {} is out of range for a matrix with {} rows", r, i, m.rows()));
    }
  }
  Matrix<T> out(count, m.cols());
  if (m.cols() == 0) return out;
  for (index_t r = 0; r < count; ++r) {
    const T* src = m.data() + rows[to_size(r)] * m.ld();
    std::copy(src, src + m.cols(), out.data() + r * m.cols());
  }
  return out;
}

template Matrix<float> take_rows<float>(MatrixView<const float>, std::span<const index_t>);
template Matrix<double> take_rows<double>(MatrixView<const double>, std::span<const index_t>);
template Matrix<std::uint8_t> take_rows<std::uint8_t>(MatrixView<const std::uint8_t>,
                                                      std::span<const index_t>);

}  // namespace kreg
