// core/par.cpp - kreg's scheduler: the thread team (core/parallel.hpp) and
// the loops of kreg::par (kreg/par.hpp) that run on it.
//
// The team: a oneTBB arena of exactly n slots (the caller takes one), the
// workers started with a task_group. Under ThreadSanitizer they are plain
// std::threads instead: Debian's libtbb is not instrumented, so TSan would see
// none of its hand-offs and report them all as races; with std::threads it
// checks kreg's own sharing. No other file of kreg starts threads.
//
// The loops: one Loop per call. Its state sits under one mutex: the next
// unclaimed index, the batches running, the finished batches waiting for the
// sink, the free result buffers ("slots"), the first error. Every thread (the
// caller and n_jobs - 1 workers) runs the same cycle: claim a batch under the
// lock, run it unlocked, record it under the lock. Only the caller runs the
// callbacks (sink, progress), between its own batches and while it waits for
// others. That lock per batch is the loop's whole overhead, which automatic
// batching keeps small against the batch's work.
#include <fmt/format.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <condition_variable>
#include <cstddef>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "core/blas_threads.hpp"
#include "core/parallel.hpp"
#include "core/stopwatch.hpp"
#include "kreg/par.hpp"

#if !defined(__SANITIZE_THREAD__)
#include <tbb/global_control.h>
#include <tbb/task_arena.h>
#include <tbb/task_group.h>

#include <optional>
#endif

namespace kreg::detail {

#if !defined(__SANITIZE_THREAD__)
// oneTBB stops its worker threads once no thread holds any of its state. A
// caller that runs each kreg call on a fresh thread (a server's thread per
// request, the Python extension's interruptible calls) would pay a pool
// restart per call, and a worker arriving late leaves a 2-thread loop running
// on one thread. One initialised arena, never destroyed, keeps the pool alive
// for the life of the process. It is held by a variable of external linkage,
// which the optimiser cannot drop, so leak checkers see it reachable.
extern tbb::task_arena* kept_tbb_arena;
tbb::task_arena* kept_tbb_arena = nullptr;

namespace {

void keep_tbb_workers_alive() {
  static const bool kept = [] {
    kept_tbb_arena = new tbb::task_arena();
    kept_tbb_arena->initialize();
    return true;
  }();
  (void)kept;
}

// Teams reuse their arenas. Constructing a tbb::task_arena per team made each
// team start slower than the last with Debian's oneTBB 2021.8: 12 us over a
// process's first 2,000 teams of two, 300 us after 16,000 (docs/benchmarks.md,
// "Thread teams"), which a long session (the Python package, a grid of
// predicts) pays on every call. A team takes an idle arena of its size, or
// makes one, and gives it back when it ends; teams running at the same time
// (other caller threads, a team inside a kreg::par task) each hold their own,
// as before. The arenas live as long as the process, reachable for leak
// checkers through kept_arenas; at most kMaxIdleArenas wait idle.
struct IdleArena {
  int slots;
  tbb::task_arena* arena;
};
extern std::vector<IdleArena>* kept_arenas;
std::vector<IdleArena>* kept_arenas = nullptr;

constexpr std::size_t kMaxIdleArenas = 64;
std::atomic<long> arenas_made{0};

std::mutex& arenas_mutex() {
  static std::mutex mutex;
  return mutex;
}

tbb::task_arena* take_arena(int slots) {
  {
    const std::lock_guard lock(arenas_mutex());
    if (kept_arenas == nullptr) kept_arenas = new std::vector<IdleArena>();
    auto& idle = *kept_arenas;
    for (std::size_t i = idle.size(); i-- > 0;) {
      if (idle[i].slots == slots) {
        tbb::task_arena* arena = idle[i].arena;
        idle.erase(idle.begin() + static_cast<std::ptrdiff_t>(i));
        return arena;
      }
    }
  }
  auto arena = std::make_unique<tbb::task_arena>(slots);
  arena->initialize();
  arenas_made.fetch_add(1, std::memory_order_relaxed);
  return arena.release();
}

void give_back_arena(int slots, tbb::task_arena* arena) {
  const std::lock_guard lock(arenas_mutex());
  if (kept_arenas->size() < kMaxIdleArenas) {
    kept_arenas->push_back({slots, arena});
  } else {
    delete arena;
  }
}

// Holds an arena of `slots` for one team.
class TeamArena {
 public:
  explicit TeamArena(int slots) : slots_(slots), arena_(take_arena(slots)) {}
  TeamArena(const TeamArena&) = delete;
  TeamArena& operator=(const TeamArena&) = delete;
  ~TeamArena() { give_back_arena(slots_, arena_); }
  tbb::task_arena& get() { return *arena_; }

 private:
  int slots_;
  tbb::task_arena* arena_;
};

}  // namespace
#endif

void run_team(int n_threads, const std::function<void(int rank)>& member) {
  if (n_threads <= 1) {
    member(0);
    return;
  }
  std::exception_ptr error;
  std::mutex error_mutex;
  const auto record = [&](std::exception_ptr e) {
    const std::lock_guard lock(error_mutex);
    if (!error) error = std::move(e);
  };
  const auto guarded = [&](int rank) {
    try {
      member(rank);
    } catch (...) {
      record(std::current_exception());
    }
  };
#if defined(__SANITIZE_THREAD__)
  std::vector<std::thread> workers;
  try {
    workers.reserve(static_cast<std::size_t>(n_threads - 1));
    for (int rank = 1; rank < n_threads; ++rank) workers.emplace_back(guarded, rank);
  } catch (...) {
    record(std::current_exception());
  }
  guarded(0);
  for (auto& w : workers) w.join();
#else
  keep_tbb_workers_alive();
  // oneTBB caps every arena at the machine's concurrency unless told
  // otherwise; joblib's n_jobs may ask for more threads than cores.
  const auto allowed = static_cast<int>(
      tbb::global_control::active_value(tbb::global_control::max_allowed_parallelism));
  std::optional<tbb::global_control> raise;
  if (n_threads > allowed) {
    raise.emplace(tbb::global_control::max_allowed_parallelism,
                  static_cast<std::size_t>(n_threads));
  }
  TeamArena arena(n_threads);
  arena.get().execute([&] {
    const auto caller = std::this_thread::get_id();
    tbb::task_group group;
    try {
      for (int rank = 1; rank < n_threads; ++rank) {
        // oneTBB may hand a worker's task to the caller while it waits in
        // task_group::wait, after rank 0 has returned: no work is left.
        group.run([&, rank] {
          if (std::this_thread::get_id() != caller) guarded(rank);
        });
      }
    } catch (...) {
      record(std::current_exception());
    }
    guarded(0);
    group.wait();
  });
#endif
  if (error) std::rethrow_exception(error);
}

TeamWarmUp::TeamWarmUp(int n_jobs) {
  int n_threads = 1;
  try {
    n_threads = resolve_n_jobs(n_jobs);
  } catch (...) {
    return;  // a bad n_jobs is the caller's to report, where it checks it
  }
  if (n_threads <= 1) return;
  try {
    thread_ = std::thread([n_threads] {
      try {
        // Every member waits for the others (at most 50 ms: a worker oneTBB
        // cannot spare now is not waited for), so that the workers exist
        // and have joined the arena before the team is given back.
        std::atomic<int> arrived{0};
        const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(50);
        run_team(n_threads, [&](int) {
          arrived.fetch_add(1);
          while (arrived.load() < n_threads && std::chrono::steady_clock::now() < deadline) {
            std::this_thread::yield();
          }
        });
      } catch (...) {  // the real team reports what went wrong
      }
    });
  } catch (...) {  // no thread to spare: the real team starts cold
  }
}

TeamWarmUp::~TeamWarmUp() {
  if (thread_.joinable()) thread_.join();
}

long team_arenas_made() {
#if defined(__SANITIZE_THREAD__)
  return -1;
#else
  return arenas_made.load(std::memory_order_relaxed);
#endif
}

void run_isolated(const std::function<void()>& fn) {
#if defined(__SANITIZE_THREAD__)
  fn();
#else
  tbb::this_task_arena::isolate(fn);
#endif
}

}  // namespace kreg::detail

namespace kreg::par {

namespace {

// Automatic batches aim at kTargetBatchSeconds; one measurement may grow the
// size by at most kMaxGrowth and shrink it by at most 2 (a batch slowed by
// preemption must not collapse the size). kMaxAutoBatch keeps the arithmetic
// far from overflow.
constexpr double kTargetBatchNs = kTargetBatchSeconds * 1e9;
constexpr index_t kMaxGrowth = 8;
constexpr index_t kMaxAutoBatch = index_t{1} << 40;

std::string message_of(const std::exception_ptr& error) {
  if (!error) return "no exception";
  try {
    std::rethrow_exception(error);
  } catch (const std::exception& e) {
    return e.what();
  } catch (...) {
    return "unknown exception (not derived from std::exception)";
  }
}

struct Batch {
  index_t begin = 0;
  index_t end = 0;
  index_t slot = -1;
};

class Loop {
 public:
  Loop(const detail::LoopSpec& spec, const detail::Body& body, const detail::Drain& drain,
       int threads, index_t slots)
      : spec_(spec),
        body_(body),
        drain_(drain),
        threads_(threads),
        has_progress_(spec.progress != nullptr && *spec.progress) {
    if (spec_.stream) {
      free_slots_.reserve(static_cast<std::size_t>(slots));
      for (index_t s = slots - 1; s >= 0; --s) free_slots_.push_back(s);
      ready_.reserve(static_cast<std::size_t>(slots));
    }
  }

  // Runs the loop with the calling thread as the caller; re-throws the first
  // error once every thread has stopped.
  void run() {
    if (threads_ == 1) {
      caller();
    } else {
      const kreg::detail::SingleThreadedBlas single_threaded_blas;  // no oversubscription
      run_threads();
    }
    if (error_) std::rethrow_exception(error_);
  }

 private:
  enum class Claim { ok, wait, done };

  void run_threads() {
    ::kreg::detail::run_team(threads_, [this](int rank) {
      if (rank == 0) {
        caller();
      } else {
        worker();
      }
    });
  }

  // The first error wins; everyone stops claiming. mutex_ held.
  void fail(std::exception_ptr error) {
    if (!error_) error_ = std::move(error);
    stop_ = true;
    slot_freed_.notify_all();
    batch_done_.notify_one();
  }

  index_t next_batch_size() const {
    if (spec_.batch_size > 0) return spec_.batch_size;
    const index_t share = std::max<index_t>(1, (spec_.n - next_) / (2 * index_t{threads_}));
    return std::min(auto_size_, share);
  }

  // mutex_ held.
  Claim claim(Batch& batch) {
    if (stop_) return Claim::done;
    if (spec_.cancel != nullptr && spec_.cancel->requested()) {
      fail(std::make_exception_ptr(Cancelled("interrupted")));
      return Claim::done;
    }
    if (next_ >= spec_.n) return Claim::done;
    index_t slot = -1;
    if (spec_.stream) {
      if (free_slots_.empty()) return Claim::wait;
      slot = free_slots_.back();
      free_slots_.pop_back();
    }
    batch = {next_, next_ + std::min(spec_.n - next_, next_batch_size()), slot};
    next_ = batch.end;
    ++in_flight_;
    if (next_ >= spec_.n) slot_freed_.notify_all();  // waiting workers can leave
    return Claim::ok;
  }

  // Runs the batch's tasks without the lock; returns what they threw.
  std::exception_ptr execute(const Batch& batch, double& ns) {
    const ::kreg::detail::Stopwatch watch;
    std::exception_ptr error;
    try {
      // A task's own parallel work (kreg's engines) must not let this
      // thread pick up another of our workers while it waits: that worker
      // could block on a slot this very batch holds.
      ::kreg::detail::run_isolated([&] { body_(batch.begin, batch.end, batch.slot); });
    } catch (...) {
      error = std::current_exception();
    }
    ns = watch.seconds() * 1e9;
    return error;
  }

  // Automatic batching: `count` tasks took `ns`. Batches finish in any order,
  // so the size follows the latest measurement; it only affects speed, never
  // results. mutex_ held.
  void resize(index_t count, double ns) {
    const index_t current = auto_size_;
    const double ideal = ns > 0 ? kTargetBatchNs * static_cast<double>(count) / ns
                                : static_cast<double>(current * kMaxGrowth);
    const auto low = std::max<index_t>(1, current / 2);
    const auto high = std::min(kMaxAutoBatch, current * kMaxGrowth);
    auto_size_ = std::clamp(static_cast<index_t>(std::min(ideal, 1e15)), low, high);
  }

  // mutex_ held.
  void complete(const Batch& batch, std::exception_ptr error, double ns) {
    --in_flight_;
    if (spec_.batch_size == 0 && !error) resize(batch.end - batch.begin, ns);
    if (error) {
      fail(std::move(error));
      if (batch.slot >= 0) {
        free_slots_.push_back(batch.slot);
        slot_freed_.notify_one();
      }
    } else {
      done_ += batch.end - batch.begin;
      if (spec_.stream) ready_.push_back(batch);
    }
    batch_done_.notify_one();
  }

  // The next finished batch the sink may take, or ready_.end().
  std::vector<Batch>::iterator drainable() {
    if (!spec_.ordered) return ready_.empty() ? ready_.end() : ready_.begin();
    return std::find_if(ready_.begin(), ready_.end(),
                        [&](const Batch& b) { return b.begin == delivered_; });
  }

  // Caller only, mutex_ held on entry and exit: hands finished batches to the
  // sink and reports progress, with the lock released around the callbacks.
  void callbacks(std::unique_lock<std::mutex>& lock) {
    while (!callback_failed_) {
      const auto it = drainable();
      if (it == ready_.end()) break;
      const Batch batch = *it;
      ready_.erase(it);
      lock.unlock();
      std::exception_ptr error;
      try {
        drain_(batch.begin, batch.end, batch.slot);
      } catch (...) {
        error = std::current_exception();
      }
      lock.lock();
      delivered_ = batch.end;
      free_slots_.push_back(batch.slot);
      slot_freed_.notify_one();
      if (error) {
        callback_failed_ = true;
        fail(std::move(error));
      }
    }
    if (has_progress_ && !callback_failed_ && done_ > reported_) {
      const index_t done = done_;
      lock.unlock();
      std::exception_ptr error;
      try {
        (*spec_.progress)(done, spec_.n);
      } catch (...) {
        error = std::current_exception();
      }
      lock.lock();
      reported_ = done;
      if (error) {
        callback_failed_ = true;
        fail(std::move(error));
      }
    }
  }

  void caller() {
    std::unique_lock lock(mutex_);
    try {
      for (;;) {
        callbacks(lock);
        Batch batch;
        const Claim claimed = claim(batch);
        if (claimed == Claim::ok) {
          lock.unlock();
          double ns = 0;
          auto error = execute(batch, ns);
          lock.lock();
          complete(batch, std::move(error), ns);
        } else if (claimed == Claim::done && in_flight_ == 0) {
          // Nothing runs and nothing can start: whatever finished is final.
          callbacks(lock);
          break;
        } else {
          batch_done_.wait(lock);  // a batch is running; its completion wakes us
        }
      }
    } catch (...) {  // a failed lock or wait; not expected
      if (!lock.owns_lock()) lock.lock();
      fail(std::current_exception());
    }
    stop_ = true;
    slot_freed_.notify_all();
  }

  void worker() {
    std::unique_lock lock(mutex_);
    for (;;) {
      Batch batch;
      const Claim claimed = claim(batch);
      if (claimed == Claim::done) return;
      if (claimed == Claim::wait) {
        slot_freed_.wait(lock);  // every slot holds results the sink has not taken
        continue;
      }
      lock.unlock();
      double ns = 0;
      auto error = execute(batch, ns);
      lock.lock();
      complete(batch, std::move(error), ns);
    }
  }

  const detail::LoopSpec& spec_;
  const detail::Body& body_;
  const detail::Drain& drain_;
  const int threads_;
  const bool has_progress_;

  std::mutex mutex_;
  std::condition_variable batch_done_;  // the caller waits for completions
  std::condition_variable slot_freed_;  // workers wait for a result slot
  // Under mutex_:
  index_t next_ = 0;       // first unclaimed task
  index_t in_flight_ = 0;  // batches claimed and not completed
  index_t done_ = 0;       // tasks completed
  index_t auto_size_ = 1;  // the next automatic batch size
  std::vector<index_t> free_slots_;
  std::vector<Batch> ready_;  // finished, waiting for the sink
  std::exception_ptr error_;
  bool stop_ = false;
  bool callback_failed_ = false;  // a sink or progress call threw: no more calls
  index_t delivered_ = 0;         // ordered: the sink has had tasks [0, delivered_)
  index_t reported_ = 0;          // the last `done` given to progress
};

void check(index_t n, index_t batch_size) {
  if (n < 0) throw ArgumentError(fmt::format("task count = {} is not valid; it must be >= 0", n));
  if (batch_size < 0) {
    throw ArgumentError(fmt::format(
        "batch_size = {} is not valid; use a positive task count, or 0 for automatic batching",
        batch_size));
  }
}

}  // namespace

TaskError::TaskError(index_t index, std::exception_ptr nested)
    : Error(fmt::format("task {} failed: {}", index, message_of(nested))),
      index_(index),
      nested_(std::move(nested)) {}

namespace detail {

index_t stream_slots(index_t n, const Options& options) {
  check(n, options.batch_size);
  return 2 * index_t{resolve_n_jobs(options.n_jobs)};
}

void run(const LoopSpec& spec, const Body& body, const Drain& drain) {
  check(spec.n, spec.batch_size);
  const int requested = resolve_n_jobs(spec.n_jobs);
  // No more threads than tasks: an idle thread would only cost its start.
  const int threads = static_cast<int>(std::clamp<index_t>(spec.n, 1, requested));
  Loop loop(spec, body, drain, threads, 2 * index_t{requested});
  loop.run();
}

[[noreturn]] void rethrow_as_task_error(index_t index) {
  try {
    throw;
  } catch (const Cancelled&) {
    throw;
  } catch (...) {
    throw TaskError(index, std::current_exception());
  }
}

}  // namespace detail

}  // namespace kreg::par

namespace kreg {

namespace {
int cores() { return std::max(1, static_cast<int>(std::thread::hardware_concurrency())); }
}  // namespace

int max_n_jobs() { return std::max(kMaxJobs, cores()); }

int resolve_n_jobs(int n_jobs) {
  if (n_jobs == 0) {
    throw ArgumentError(
        "n_jobs = 0 is not valid; use a positive thread count, -1 for all cores or -2 for all "
        "but one");
  }
  if (n_jobs > 0) {
    // oneTBB cannot build an arena of millions of threads (it crashes), and
    // nothing is gained past a few per core: refuse instead of starting them.
    const int limit = max_n_jobs();
    if (n_jobs > limit) {
      throw ArgumentError(fmt::format(
          "n_jobs = {} is more threads than kreg starts (at most {}: {} or the core count, "
          "whichever is larger); use -1 for all cores, or a count from 1 to {}",
          n_jobs, limit, kMaxJobs, limit));
    }
    return n_jobs;
  }
  // joblib's rule: -k is all cores but k - 1, and at least one thread (so any
  // n_jobs below -cores runs on one thread, as joblib's does).
  return std::max(1, cores() + 1 + n_jobs);
}

}  // namespace kreg
