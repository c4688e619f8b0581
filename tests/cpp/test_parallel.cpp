// kreg's thread team (core/parallel.hpp), which kreg::par's loops and the
// engines' parallel_blocks share: every index in exactly one block, blocks
// that start at multiples of the grain and do not depend on timing, exactly
// n threads (also above the core count), and exceptions that reach the caller
// and stop further blocks; teams that reuse their arenas, alone, at the same
// time and nested.
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <mutex>
#include <set>
#include <stdexcept>
#include <thread>
#include <utility>
#include <vector>

#include "core/parallel.hpp"

namespace {

using kreg::index_t;
using kreg::detail::parallel_blocks;
using kreg::detail::run_team;

using Blocks = std::set<std::pair<index_t, index_t>>;

Blocks blocks_of(int threads, index_t count, index_t grain) {
  std::mutex mutex;
  Blocks blocks;
  parallel_blocks(threads, count, grain, [&](index_t begin, index_t end) {
    const std::lock_guard lock(mutex);
    blocks.emplace(begin, end);
  });
  return blocks;
}

TEST(ParallelBlocks, CoverEveryIndexOnceInGrainAlignedBlocks) {
  for (const int threads : {1, 2, 3, 8}) {
    for (const index_t count : {0, 1, 5, 32, 33, 1000}) {
      for (const index_t grain : {0, 1, 4, 32}) {
        SCOPED_TRACE(fmt::format("threads={} count={} grain={}", threads, count, grain));
        const Blocks blocks = blocks_of(threads, count, grain);
        index_t covered = 0;  // blocks are ordered by begin
        for (const auto& [begin, end] : blocks) {
          EXPECT_EQ(begin, covered);
          EXPECT_LT(begin, end);
          EXPECT_EQ(begin % std::max<index_t>(grain, 1), 0);
          covered = end;
        }
        EXPECT_EQ(covered, count);
        // The blocks follow from (threads, count, grain) alone, not from timing.
        EXPECT_EQ(blocks_of(threads, count, grain), blocks);
      }
    }
  }
}

// n blocks that each wait for all n to have started can only finish on n
// threads at once; and no more than n distinct threads ever run blocks.
TEST(ParallelBlocks, RunsExactlyNThreads) {
  const int many = 2 * std::max(1, static_cast<int>(std::thread::hardware_concurrency())) + 1;
  for (const int threads : {2, 3, many}) {
    SCOPED_TRACE(fmt::format("threads={}", threads));
    std::atomic<int> arrived{0};
    std::atomic<bool> gave_up{false};
    parallel_blocks(threads, threads, 1, [&](index_t, index_t) {
      arrived.fetch_add(1);
      // A bail-out so a broken scheduler fails the test instead of hanging it.
      const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
      while (arrived.load() < threads) {
        if (std::chrono::steady_clock::now() > deadline) {
          gave_up = true;
          return;
        }
        std::this_thread::sleep_for(std::chrono::microseconds(100));
      }
    });
    EXPECT_FALSE(gave_up.load());

    std::mutex mutex;
    std::set<std::thread::id> ids;
    parallel_blocks(threads, 2000, 1, [&](index_t, index_t) {
      const std::lock_guard lock(mutex);
      ids.insert(std::this_thread::get_id());
    });
    EXPECT_LE(ids.size(), static_cast<std::size_t>(threads));
  }
}

TEST(ParallelBlocks, AnExceptionReachesTheCallerAndStopsNewBlocks) {
  for (const int threads : {1, 2, 4}) {
    SCOPED_TRACE(fmt::format("threads={}", threads));
    const index_t count = 100000;
    std::atomic<index_t> started{0};  // indices in blocks that began
    try {
      parallel_blocks(threads, count, 1, [&](index_t begin, index_t end) {
        started.fetch_add(end - begin);
        if (begin == 0) {
          // Fail while other threads are busy (a bail-out for a broken team).
          const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
          while (threads > 1 && started.load() == end &&
                 std::chrono::steady_clock::now() < deadline) {
            std::this_thread::yield();
          }
          throw std::runtime_error("block 0 failed");
        }
        // Other blocks take a while, so the failure lands before they run out.
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
      });
      ADD_FAILURE() << "no exception";
    } catch (const std::runtime_error& e) {
      EXPECT_STREQ(e.what(), "block 0 failed");
    }
    // Block 0 is claimed first; only blocks other threads had already claimed
    // can run after it fails, and a claim is at most half of what is left.
    EXPECT_LT(started.load(), count);
  }
}

TEST(RunTeam, RankZeroIsTheCallerAndEveryRankRunsOnce) {
  for (const int threads : {1, 2, 5}) {
    SCOPED_TRACE(fmt::format("threads={}", threads));
    const auto caller = std::this_thread::get_id();
    std::mutex mutex;
    std::vector<int> ranks;
    run_team(threads, [&](int rank) {
      if (rank == 0) {
        EXPECT_EQ(std::this_thread::get_id(), caller);
      }
      const std::lock_guard lock(mutex);
      ranks.push_back(rank);
    });
    // A worker oneTBB starts after rank 0 returned is skipped; every rank that
    // ran, ran once.
    std::set<int> unique(ranks.begin(), ranks.end());
    EXPECT_EQ(unique.size(), ranks.size());
    EXPECT_TRUE(unique.count(0) == 1);
  }
}

TEST(RunTeam, TheFirstExceptionIsRethrownAfterEveryMemberReturned) {
  std::atomic<int> running{0};
  try {
    run_team(2, [&](int rank) {
      if (rank == 0) {
        // Throw while rank 1 is busy (a bail-out keeps a broken team from hanging).
        const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
        while (running.load() == 0 && std::chrono::steady_clock::now() < deadline) {
          std::this_thread::yield();
        }
        throw std::runtime_error("rank 0 failed");
      }
      running.fetch_add(1);
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
      running.fetch_sub(1);
    });
    ADD_FAILURE() << "no exception";
  } catch (const std::runtime_error& e) {
    EXPECT_STREQ(e.what(), "rank 0 failed");
  }
  EXPECT_EQ(running.load(), 0);
}

// Teams reuse their oneTBB arenas: making one per team slowed every team start
// a little more than the last (docs/benchmarks.md, "Thread teams").
TEST(RunTeam, TeamsInSequenceReuseOneArena) {
  if (kreg::detail::team_arenas_made() < 0) {
    GTEST_SKIP() << "this build's teams run on std::threads (ThreadSanitizer), not oneTBB arenas";
  }
  run_team(2, [](int) {});
  const long before = kreg::detail::team_arenas_made();
  std::atomic<int> members{0};
  for (int i = 0; i < 1000; ++i) run_team(2, [&](int) { members.fetch_add(1); });
  EXPECT_EQ(kreg::detail::team_arenas_made(), before);
  EXPECT_GE(members.load(), 1000);  // rank 0 always runs
}

// A warm-up leaves its arena and started workers in the pool: the team that
// follows makes no arena of its own. (Seven threads: a size no other test of
// this binary uses, and ctest runs each test in a process of its own.)
TEST(RunTeam, AWarmUpLeavesItsArenaForTheNextTeam) {
  if (kreg::detail::team_arenas_made() < 0) {
    GTEST_SKIP() << "this build's teams run on std::threads (ThreadSanitizer), not oneTBB arenas";
  }
  const long before = kreg::detail::team_arenas_made();
  { const kreg::detail::TeamWarmUp warm(7); }
  const long warmed = kreg::detail::team_arenas_made();
  EXPECT_LE(warmed, before + 1);
  std::atomic<int> members{0};
  run_team(7, [&](int) { members.fetch_add(1); });
  EXPECT_EQ(kreg::detail::team_arenas_made(), warmed);
  EXPECT_GE(members.load(), 1);
  // One thread, or an n_jobs that resolve_n_jobs refuses: nothing starts, nothing throws.
  { const kreg::detail::TeamWarmUp one(1); }
  { const kreg::detail::TeamWarmUp bad(0); }
  EXPECT_EQ(kreg::detail::team_arenas_made(), warmed);
}

// The warm-up's side thread and the team after it, in every build (under
// ThreadSanitizer too, whose teams run on std::threads): a warm-up still
// running when the real team starts, and one already over, leave every rank
// of that team to run once.
TEST(RunTeam, AWarmUpBeforeOrDuringATeamLeavesEveryRankOnce) {
  for (const bool overlap : {true, false}) {
    std::vector<std::atomic<int>> runs(4);
    {
      const kreg::detail::TeamWarmUp warm(4);
      if (!overlap) std::this_thread::sleep_for(std::chrono::milliseconds(20));
      run_team(4, [&](int rank) { runs[static_cast<std::size_t>(rank)].fetch_add(1); });
    }
    EXPECT_EQ(runs[0].load(), 1) << "overlap " << overlap;
    for (const auto& r : runs) EXPECT_LE(r.load(), 1) << "overlap " << overlap;
  }
}

// Teams on several caller threads at once, each member running a team of its
// own: every team's rank 0 is its caller and no rank runs twice, however the
// arenas are shared out; afterwards a team of 2 still gets two threads at once.
TEST(RunTeam, ConcurrentAndNestedTeamsEachKeepTheirOwnRanks) {
  std::atomic<int> failures{0};
  auto team = [&](int threads) {
    const auto caller = std::this_thread::get_id();
    std::mutex mutex;
    std::vector<int> ranks;
    run_team(threads, [&](int rank) {
      if (rank == 0 && std::this_thread::get_id() != caller) failures.fetch_add(1);
      const std::lock_guard lock(mutex);
      ranks.push_back(rank);
    });
    const std::set<int> unique(ranks.begin(), ranks.end());
    if (unique.size() != ranks.size() || unique.count(0) != 1) failures.fetch_add(1);
  };
  std::vector<std::thread> callers;
  for (int c = 0; c < 4; ++c) {
    callers.emplace_back([&] {
      for (int i = 0; i < 100; ++i) {
        run_team(2, [&](int) { team(2); });
        team(3);
      }
    });
  }
  for (auto& t : callers) t.join();
  EXPECT_EQ(failures.load(), 0);

  std::atomic<int> arrived{0};
  std::atomic<bool> gave_up{false};
  parallel_blocks(2, 2, 1, [&](index_t, index_t) {
    arrived.fetch_add(1);
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
    while (arrived.load() < 2) {
      if (std::chrono::steady_clock::now() > deadline) {
        gave_up = true;
        return;
      }
      std::this_thread::sleep_for(std::chrono::microseconds(100));
    }
  });
  EXPECT_FALSE(gave_up.load());
}

}  // namespace
