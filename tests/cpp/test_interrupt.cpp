// CancelToken, throw_if_cancelled and ScopedSigint: a raised SIGINT or
// SIGTERM requests the token and the process survives; the previous handler
// (with its flags and mask) is back after the scope; ignored signals stay
// ignored; scopes nest and follow each other; a second signal kills.
#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdlib>
#include <string>
#include <thread>
#include <vector>

#include "kreg/error.hpp"
#include "kreg/interrupt.hpp"
#include "test_support.hpp"

namespace {

using kreg::CancelToken;
using kreg::ScopedSigint;

volatile std::sig_atomic_t g_test_handler_calls = 0;
volatile std::sig_atomic_t g_test_handler_signal = 0;

extern "C" void test_handler(int sig) {
  g_test_handler_calls = g_test_handler_calls + 1;
  g_test_handler_signal = sig;
}

struct sigaction query(int sig) {
  struct sigaction action {};
  EXPECT_EQ(::sigaction(sig, nullptr, &action), 0);
  return action;
}

bool is_handler(const struct sigaction& action, void (*handler)(int)) {
  return (action.sa_flags & SA_SIGINFO) == 0 && action.sa_handler == handler;
}

// Installs test_handler (with SA_RESTART and SIGUSR1 in its mask, so that an
// exact restore can be told from a default one) for SIGINT and SIGTERM, and
// puts the process's own handlers back after each test.
class Interrupt : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_EQ(::sigaction(SIGINT, nullptr, &original_int_), 0);
    ASSERT_EQ(::sigaction(SIGTERM, nullptr, &original_term_), 0);
    struct sigaction action {};
    action.sa_handler = test_handler;
    sigemptyset(&action.sa_mask);
    sigaddset(&action.sa_mask, SIGUSR1);
    action.sa_flags = SA_RESTART;
    ASSERT_EQ(::sigaction(SIGINT, &action, nullptr), 0);
    ASSERT_EQ(::sigaction(SIGTERM, &action, nullptr), 0);
    g_test_handler_calls = 0;
    g_test_handler_signal = 0;
  }
  void TearDown() override {
    ::sigaction(SIGINT, &original_int_, nullptr);
    ::sigaction(SIGTERM, &original_term_, nullptr);
  }

  // The test handler is installed exactly as SetUp left it.
  static void expect_test_handler(int sig) {
    const struct sigaction a = query(sig);
    EXPECT_TRUE(is_handler(a, test_handler)) << "signal " << sig;
    EXPECT_EQ(a.sa_flags & (SA_RESTART | SA_RESETHAND | SA_NODEFER), SA_RESTART);
    EXPECT_EQ(sigismember(&a.sa_mask, SIGUSR1), 1);
  }

  struct sigaction original_int_ {};
  struct sigaction original_term_ {};
};

TEST_F(Interrupt, TokenBasics) {
  CancelToken token;
  EXPECT_FALSE(token.requested());
  token.request();
  EXPECT_TRUE(token.requested());
  token.request();  // idempotent
  EXPECT_TRUE(token.requested());
}

TEST_F(Interrupt, ThrowIfCancelled) {
  EXPECT_NO_THROW(kreg::throw_if_cancelled(nullptr));
  CancelToken token;
  EXPECT_NO_THROW(kreg::throw_if_cancelled(&token));
  token.request();
  EXPECT_EQ(kreg::test::error_of<kreg::Cancelled>([&] { kreg::throw_if_cancelled(&token); }),
            "interrupted");
  // Cancelled is a kreg::Error, so generic handlers catch it too.
  EXPECT_THROW(kreg::throw_if_cancelled(&token), kreg::Error);
}

TEST_F(Interrupt, TokenSeenByWorkerThreads) {
  // Workers poll the token; one request stops them all. Under TSan this also
  // checks that the flag is the only shared state they need.
  CancelToken token;
  std::atomic<int> stopped{0};
  std::vector<std::thread> workers;
  for (int t = 0; t < 4; ++t) {
    workers.emplace_back([&] {
      try {
        for (;;) {
          kreg::throw_if_cancelled(&token);
          std::this_thread::yield();
        }
      } catch (const kreg::Cancelled&) {
        stopped.fetch_add(1);
      }
    });
  }
  token.request();
  for (auto& w : workers) w.join();
  EXPECT_EQ(stopped.load(), 4);
}

TEST_F(Interrupt, SigintRequestsTheTokenAndTheProcessSurvives) {
  CancelToken token;
  {
    ScopedSigint scope(token);
    EXPECT_FALSE(scope.fired());
    EXPECT_EQ(scope.signal_number(), 0);
    EXPECT_FALSE(is_handler(query(SIGINT), test_handler));
    ASSERT_EQ(std::raise(SIGINT), 0);
    EXPECT_TRUE(token.requested());
    EXPECT_TRUE(scope.fired());
    EXPECT_EQ(scope.signal_number(), SIGINT);
    EXPECT_EQ(g_test_handler_calls, 0);  // the scope's handler ran, not the previous one
  }
  expect_test_handler(SIGINT);
  expect_test_handler(SIGTERM);
  // And the restored handler really is the one that runs.
  ASSERT_EQ(std::raise(SIGINT), 0);
  EXPECT_EQ(g_test_handler_calls, 1);
  EXPECT_EQ(g_test_handler_signal, SIGINT);
}

TEST_F(Interrupt, SigtermRequestsTheTokenAndTheProcessSurvives) {
  CancelToken token;
  {
    ScopedSigint scope(token);
    ASSERT_EQ(std::raise(SIGTERM), 0);
    EXPECT_TRUE(token.requested());
    EXPECT_EQ(scope.signal_number(), SIGTERM);
    EXPECT_EQ(g_test_handler_calls, 0);
  }
  expect_test_handler(SIGINT);
  expect_test_handler(SIGTERM);
  ASSERT_EQ(std::raise(SIGTERM), 0);
  EXPECT_EQ(g_test_handler_calls, 1);
  EXPECT_EQ(g_test_handler_signal, SIGTERM);
}

TEST_F(Interrupt, AsynchronousSignalStopsALoop) {
  // The way Ctrl-C arrives in practice: asynchronously, to whichever thread
  // the kernel picks, while a loop polls the token. Here another thread sends
  // SIGINT to the whole process. The deadline only keeps a broken handler
  // from hanging the test; it measures nothing.
  CancelToken token;
  ScopedSigint scope(token);
  std::thread sender([] { ::kill(::getpid(), SIGINT); });
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  const std::string error = kreg::test::error_of<kreg::Cancelled>([&] {
    while (std::chrono::steady_clock::now() < deadline) {
      kreg::throw_if_cancelled(&token);
      std::this_thread::yield();
    }
  });
  sender.join();
  EXPECT_EQ(error, "interrupted");
  EXPECT_EQ(scope.signal_number(), SIGINT);
  EXPECT_EQ(g_test_handler_calls, 0);
}

TEST_F(Interrupt, NoSignalLeavesTheTokenAloneAndRestores) {
  CancelToken token;
  { const ScopedSigint scope(token); }
  EXPECT_FALSE(token.requested());
  expect_test_handler(SIGINT);
  expect_test_handler(SIGTERM);
}

TEST_F(Interrupt, RestoresTheDefaultAction) {
  ASSERT_EQ(std::signal(SIGINT, SIG_DFL), test_handler);
  CancelToken token;
  {
    const ScopedSigint scope(token);
    EXPECT_FALSE(query(SIGINT).sa_handler == SIG_DFL);
  }
  EXPECT_TRUE(query(SIGINT).sa_handler == SIG_DFL);
}

TEST_F(Interrupt, IgnoredSignalStaysIgnored) {
  ASSERT_EQ(std::signal(SIGINT, SIG_IGN), test_handler);
  CancelToken token;
  {
    ScopedSigint scope(token);
    EXPECT_TRUE(query(SIGINT).sa_handler == SIG_IGN);
    ASSERT_EQ(std::raise(SIGINT), 0);
    EXPECT_FALSE(token.requested());
    EXPECT_FALSE(scope.fired());
    ASSERT_EQ(std::raise(SIGTERM), 0);  // SIGTERM was not ignored: it is handled
    EXPECT_TRUE(token.requested());
  }
  EXPECT_TRUE(query(SIGINT).sa_handler == SIG_IGN);
  expect_test_handler(SIGTERM);
}

TEST_F(Interrupt, SequentialScopes) {
  for (int round = 0; round < 3; ++round) {
    CancelToken token;
    {
      ScopedSigint scope(token);
      ASSERT_EQ(std::raise(round % 2 == 0 ? SIGINT : SIGTERM), 0);
      EXPECT_TRUE(token.requested()) << "round " << round;
    }
    expect_test_handler(SIGINT);
    expect_test_handler(SIGTERM);
  }
  EXPECT_EQ(g_test_handler_calls, 0);
}

TEST_F(Interrupt, NestedScopesStopEveryLevel) {
  CancelToken outer_token;
  CancelToken inner_token;
  {
    ScopedSigint outer(outer_token);
    const struct sigaction outer_action = query(SIGINT);
    {
      ScopedSigint inner(inner_token);
      ASSERT_EQ(std::raise(SIGINT), 0);
      EXPECT_TRUE(inner_token.requested());
      EXPECT_TRUE(inner.fired());
    }
    // The inner scope put back what it saved: the outer scope's handler.
    const struct sigaction restored = query(SIGINT);
    EXPECT_EQ(restored.sa_handler, outer_action.sa_handler);
    EXPECT_EQ(restored.sa_flags, outer_action.sa_flags);
    EXPECT_TRUE(outer_token.requested());
    EXPECT_TRUE(outer.fired());
    EXPECT_EQ(outer.signal_number(), SIGINT);
  }
  expect_test_handler(SIGINT);
  EXPECT_EQ(g_test_handler_calls, 0);

  // After an inner scope ends, a signal reaches only the scopes still alive.
  CancelToken a;
  CancelToken b;
  {
    ScopedSigint outer(a);
    { const ScopedSigint inner(b); }
    ASSERT_EQ(std::raise(SIGTERM), 0);
    EXPECT_TRUE(a.requested());
    EXPECT_FALSE(b.requested());
  }
}

TEST_F(Interrupt, ScopeOpenedAfterASignalStartsRequested) {
  // A signal the outer scope caught before the inner one existed still
  // stops what runs inside the inner one.
  CancelToken outer_token, inner_token;
  const ScopedSigint outer(outer_token);
  ASSERT_EQ(std::raise(SIGTERM), 0);
  const ScopedSigint inner(inner_token);
  EXPECT_TRUE(inner_token.requested());
  EXPECT_TRUE(inner.fired());
  EXPECT_EQ(inner.signal_number(), SIGTERM);
}

TEST_F(Interrupt, ScopeOpenedWithoutASignalStartsClear) {
  CancelToken outer_token, inner_token;
  const ScopedSigint outer(outer_token);
  const ScopedSigint inner(inner_token);
  EXPECT_FALSE(inner_token.requested());
  EXPECT_FALSE(inner.fired());
}

TEST_F(Interrupt, FirstSignalResetsToTheDefaultAction) {
  // After the first SIGINT the kernel has reset SIGINT to SIG_DFL (a second
  // Ctrl-C kills); SIGTERM still has the scope's handler.
  CancelToken token;
  ScopedSigint scope(token);
  ASSERT_EQ(std::raise(SIGINT), 0);
  EXPECT_TRUE(query(SIGINT).sa_handler == SIG_DFL);
  EXPECT_FALSE(query(SIGTERM).sa_handler == SIG_DFL);
}

TEST(InterruptDeathTest, SecondSigintKills) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_EXIT(
      {
        CancelToken token;
        const ScopedSigint scope(token);
        std::raise(SIGINT);
        if (!token.requested()) std::_Exit(3);
        std::raise(SIGINT);
        std::_Exit(0);  // not reached
      },
      ::testing::KilledBySignal(SIGINT), "");
}

TEST(InterruptDeathTest, ExitOnSignalEndsTheProcessWithItsStatusAndMessage) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  for (const int sig : {SIGINT, SIGTERM}) {
    EXPECT_EXIT(
        {
          CancelToken token;
          const ScopedSigint scope(token);
          const kreg::ScopedExitOnSignal exit_now(130, "stopped at once\n");
          std::raise(sig);
          std::_Exit(0);  // not reached
        },
        ::testing::ExitedWithCode(130), "stopped at once");
  }
}

TEST(InterruptDeathTest, InnermostExitOnSignalApplies) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_EXIT(
      {
        CancelToken token;
        const ScopedSigint scope(token);
        const kreg::ScopedExitOnSignal outer(3, "outer\n");
        const kreg::ScopedExitOnSignal inner(4, "inner\n");
        std::raise(SIGTERM);
        std::_Exit(0);  // not reached
      },
      ::testing::ExitedWithCode(4), "inner");
}

TEST_F(Interrupt, AfterExitOnSignalEndsTheSignalOnlyRequestsTheToken) {
  CancelToken token;
  const ScopedSigint scope(token);
  { const kreg::ScopedExitOnSignal exit_now(3, "not now\n"); }
  ASSERT_EQ(std::raise(SIGTERM), 0);  // would _exit(3) if the scope had stayed
  EXPECT_TRUE(token.requested());
  EXPECT_TRUE(scope.fired());
}

TEST(InterruptDeathTest, SignalAfterTheScopeKillsAgain) {
  // With the default action restored, SIGINT terminates as usual: the scope
  // left nothing behind.
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_EXIT(
      {
        std::signal(SIGINT, SIG_DFL);
        CancelToken token;
        { const ScopedSigint scope(token); }
        std::raise(SIGINT);
        std::_Exit(0);  // not reached
      },
      ::testing::KilledBySignal(SIGINT), "");
}

}  // namespace
