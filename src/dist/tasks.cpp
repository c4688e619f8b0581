// dist/tasks.cpp - tasks run across the ranks in rounds; the tune and
// model-CV partials as bytes; the tune hooks made collective.
#include "dist/tasks.hpp"

#include <fmt/format.h>

#include <charconv>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <map>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string_view>
#include <utility>

#include "dist/bytes.hpp"

namespace kreg::dist {

namespace {

// KREG_TEST_FAIL=R:K, parsed once: {R, K}, or {-1, 0} when unset or malformed.
std::pair<int, long> test_failure() {
  static const std::pair<int, long> parsed = [] {
    const char* v = std::getenv("KREG_TEST_FAIL");
    if (v == nullptr) return std::pair<int, long>{-1, 0};
    const std::string_view text(v);
    const auto colon = text.find(':');
    int rank = -1;
    long task = 0;
    if (colon == std::string_view::npos ||
        std::from_chars(text.data(), text.data() + colon, rank).ec != std::errc() ||
        std::from_chars(text.data() + colon + 1, text.data() + text.size(), task).ec !=
            std::errc()) {
      throw std::runtime_error(fmt::format(
          "KREG_TEST_FAIL='{}' is not RANK:TASK (a test-only setting; unset it)", text));
    }
    return std::pair<int, long>{rank, task};
  }();
  return parsed;
}

}  // namespace

void count_task_for_tests(const Communicator& comm) {
  static long started = 0;
  const auto [rank, task] = test_failure();
  if (rank < 0) return;
  ++started;
  if (rank == comm.rank() && started == task) {
    throw std::runtime_error(fmt::format(
        "rank {} of {}: failing on purpose before its task {} (KREG_TEST_FAIL, a test setting)",
        comm.rank(), comm.size(), task));
  }
}

void run_shared(Communicator& comm, std::size_t count, const std::function<Bytes(std::size_t)>& run,
                const std::function<void(std::size_t, Bytes&&)>& done) {
  const auto size = static_cast<std::size_t>(comm.size());
  const auto rank = static_cast<std::size_t>(comm.rank());
  for (std::size_t first = 0; first < count; first += size) {
    Bytes mine;
    if (first + rank < count) {
      count_task_for_tests(comm);
      mine = run(first + rank);
    }
    std::vector<Bytes> round = comm.allgather(mine);
    for (std::size_t r = 0; r < size && first + r < count; ++r)
      done(first + r, std::move(round[r]));
  }
}

Bytes encode(const CvPartial& p) {
  ByteWriter w;
  w.put_span<double>(p.sse).put_span<double>(p.sae).put_span<index_t>(p.isolated).put(p.seconds);
  return w.take();
}

CvPartial decode_cv_partial(const Bytes& bytes) {
  ByteReader r(bytes);
  CvPartial p;
  p.sse = r.get_vector<double>();
  p.sae = r.get_vector<double>();
  p.isolated = r.get_vector<index_t>();
  p.seconds = r.get<double>();
  return p;
}

Bytes encode(const FoldScore& fold) { return ByteWriter().put(fold).take(); }

FoldScore decode_fold_score(const Bytes& bytes) { return ByteReader(bytes).get<FoldScore>(); }

void share_tune_hooks(Communicator& comm, TuneHooks& hooks, std::span<const CvTask> plan) {
  Communicator* c = &comm;
  const bool root = comm.is_root();
  if (!root) {
    hooks.task_done = nullptr;
    hooks.evaluated = nullptr;
    hooks.phase_begin = nullptr;
    hooks.step = nullptr;
    hooks.phase_end = nullptr;
  }
  // Rank 0's resumed tasks, as (index, partial) pairs, in one message.
  Bytes resumed;
  if (root && hooks.resume) {
    ByteWriter w;
    for (std::size_t i = 0; i < plan.size(); ++i) {
      if (std::optional<CvPartial> p = hooks.resume(i, plan[i])) {
        w.put<std::uint64_t>(i).put_span<std::byte>(encode(*p));
      }
    }
    resumed = w.take();
  }
  comm.broadcast(resumed);
  auto parts = std::make_shared<std::map<std::size_t, CvPartial>>();
  for (ByteReader r(resumed); !r.done();) {
    const auto i = static_cast<std::size_t>(r.get<std::uint64_t>());
    (*parts)[i] = decode_cv_partial(r.get_vector<std::byte>());
  }
  hooks.resume = [parts](std::size_t i, const CvTask&) -> std::optional<CvPartial> {
    const auto it = parts->find(i);
    if (it == parts->end()) return std::nullopt;
    return it->second;
  };
  hooks.recorded_score = [c, root, own = root ? std::move(hooks.recorded_score) : nullptr](
                             std::span<const double> h) -> std::optional<double> {
    Bytes bytes;
    if (root && own) {
      if (const std::optional<double> s = own(h)) bytes = ByteWriter().put(*s).take();
    }
    c->broadcast(bytes);
    if (bytes.empty()) return std::nullopt;
    return ByteReader(bytes).get<double>();
  };
  hooks.run_tasks = [c](std::size_t count, const std::function<CvPartial(std::size_t)>& run,
                        const std::function<void(std::size_t, CvPartial &&)>& done) {
    run_shared(
        *c, count, [&](std::size_t i) { return encode(run(i)); },
        [&](std::size_t i, Bytes&& bytes) { done(i, decode_cv_partial(bytes)); });
  };
}

template <class T>
ModelCvResult cross_validate_model_shared(Communicator& comm, MatrixView<const T> X,
                                          std::span<const double> y, std::span<const Split> splits,
                                          const ModelCvOptions& options,
                                          const CancelToken* cancel) {
  std::vector<FoldScore> folds(splits.size());
  const auto start = std::chrono::steady_clock::now();
  run_shared(
      comm, splits.size(),
      [&](std::size_t i) {
        throw_if_cancelled(cancel);
        return encode(run_model_cv_fold<T>(X, y, splits[i], options, cancel));
      },
      [&](std::size_t i, Bytes&& bytes) { folds[i] = decode_fold_score(bytes); });
  ModelCvResult out = combine_model_cv(std::move(folds));
  out.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return out;
}

template ModelCvResult cross_validate_model_shared<double>(Communicator&, MatrixView<const double>,
                                                           std::span<const double>,
                                                           std::span<const Split>,
                                                           const ModelCvOptions&,
                                                           const CancelToken*);
template ModelCvResult cross_validate_model_shared<std::uint8_t>(
    Communicator&, MatrixView<const std::uint8_t>, std::span<const double>, std::span<const Split>,
    const ModelCvOptions&, const CancelToken*);

void check_same_everywhere(Communicator& comm, std::string_view what, std::string_view value) {
  if (comm.size() == 1) return;
  const auto* p = reinterpret_cast<const std::byte*>(value.data());
  const std::vector<Bytes> all = comm.allgather(Bytes(p, p + value.size()));
  for (std::size_t r = 1; r < all.size(); ++r) {
    if (all[r] != all[0]) {
      throw std::runtime_error(fmt::format(
          "rank {} read other {} than rank 0; every rank must read the same files (did one "
          "change while the job started?)",
          r, what));
    }
  }
}

}  // namespace kreg::dist
