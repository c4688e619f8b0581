// core/interrupt.cpp - ScopedSigint: SIGINT/SIGTERM request CancelTokens;
// ScopedExitOnSignal: they end the process at once instead.
//
// The live scopes form a stack, a linked list whose top is published in one
// lock-free atomic pointer. The handler walks it and does nothing but
// lock-free atomic operations (a C++17 signal handler may do only those).
// A scope is linked in before its handler is installed and unlinked after the
// previous handler is back, and its destructor waits until no handler is
// running, so a handler never touches a scope or token that is gone.
#include "kreg/interrupt.hpp"

#include <fmt/format.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <thread>

namespace kreg {

struct ScopedSigint::State {
  CancelToken* token = nullptr;
  State* outer = nullptr;      // the enclosing live scope; set before publication, then constant
  std::atomic<int> signal{0};  // first signal received in this scope, 0 if none
  struct sigaction saved_int {};
  struct sigaction saved_term {};
  bool installed_int = false;
  bool installed_term = false;
};

namespace {

using State = ScopedSigint::State;

static_assert(std::atomic<State*>::is_always_lock_free);
static_assert(std::atomic<int>::is_always_lock_free);

std::atomic<State*> g_top{nullptr};  // innermost live scope
std::atomic<int> g_running{0};       // handlers executing right now, on any thread
std::mutex g_scopes_mutex;           // serialises constructors and destructors (not the handler)
// The innermost live ScopedExitOnSignal's status and message, or null.
std::atomic<const ScopedExitOnSignal::Exit*> g_exit{nullptr};
static_assert(std::atomic<const ScopedExitOnSignal::Exit*>::is_always_lock_free);

// seq_cst throughout: a destructor that unlinked its scope and then reads
// g_running == 0 knows that no handler still holds a pointer to the scope (a
// handler counts itself before it reads g_top).
extern "C" void on_signal(int sig) {
  g_running.fetch_add(1);
  for (State* s = g_top.load(); s != nullptr; s = s->outer) {
    int none = 0;
    s->signal.compare_exchange_strong(none, sig);
    s->token->request();
  }
  if (const ScopedExitOnSignal::Exit* e = g_exit.load(); e != nullptr) {
    // Both async-signal-safe; g_running stays raised, so the scope (and its
    // message) cannot go away before the process does.
    const ssize_t ignored = ::write(STDERR_FILENO, e->message, e->length);
    (void)ignored;
    ::_exit(e->status);
  }
  g_running.fetch_sub(1);
}

bool is_ignored(const struct sigaction& action) {
  return (action.sa_flags & SA_SIGINFO) == 0 && action.sa_handler == SIG_IGN;  // NOLINT
}

// Installs on_signal for `sig` unless it is ignored; saves the previous
// action in `saved`. Returns whether it installed.
bool install(int sig, struct sigaction& saved) {
  struct sigaction current {};
  if (::sigaction(sig, nullptr, &current) != 0) {
    throw Error(fmt::format("ScopedSigint: cannot query the handler of signal {}: {}", sig,
                            std::strerror(errno)));
  }
  if (is_ignored(current)) return false;
  struct sigaction action {};
  action.sa_handler = on_signal;  // NOLINT(cppcoreguidelines-pro-type-union-access)
  sigemptyset(&action.sa_mask);
  sigaddset(&action.sa_mask, SIGINT);  // one handler at a time per thread
  sigaddset(&action.sa_mask, SIGTERM);
  // SA_RESETHAND: the kernel restores SIG_DFL on delivery, so a second signal
  // kills (see the header).
  action.sa_flags = SA_RESTART | SA_RESETHAND;
  if (::sigaction(sig, &action, &saved) != 0) {
    throw Error(fmt::format("ScopedSigint: cannot install a handler for signal {}: {}", sig,
                            std::strerror(errno)));
  }
  return true;
}

}  // namespace

ScopedSigint::ScopedSigint(CancelToken& token) : state_(std::make_unique<State>()) {
  const std::lock_guard<std::mutex> lock(g_scopes_mutex);
  state_->token = &token;
  state_->outer = g_top.load();
  g_top.store(state_.get());
  try {
    state_->installed_int = install(SIGINT, state_->saved_int);
    state_->installed_term = install(SIGTERM, state_->saved_term);
  } catch (...) {
    if (state_->installed_int) ::sigaction(SIGINT, &state_->saved_int, nullptr);
    g_top.store(state_->outer);
    throw;
  }
  // A signal that an enclosing scope received before this one was linked
  // (any later one reaches this scope through g_top) was meant for
  // everything inside it too.
  if (state_->outer != nullptr) {
    if (const int sig = state_->outer->signal.load(); sig != 0) {
      state_->signal.store(sig);
      token.request();
    }
  }
}

ScopedSigint::~ScopedSigint() {
  const std::lock_guard<std::mutex> lock(g_scopes_mutex);
  if (g_top.load() != state_.get()) {
    // Only a scope destroyed out of stack order (on another thread, or held
    // in a unique_ptr) gets here; unlinking it would leave the handler a
    // dangling pointer, so stop loudly instead.
    std::fputs("kreg: ScopedSigint destroyed out of stack order\n", stderr);
    std::abort();
  }
  // Previous handlers first: a signal arriving until then still finds this
  // scope linked and requests its token.
  if (state_->installed_term) ::sigaction(SIGTERM, &state_->saved_term, nullptr);
  if (state_->installed_int) ::sigaction(SIGINT, &state_->saved_int, nullptr);
  g_top.store(state_->outer);
  // A handler that read g_top before the store above may still be walking
  // this scope on another thread; it finishes in a few instructions.
  while (g_running.load() != 0) std::this_thread::yield();
}

ScopedExitOnSignal::ScopedExitOnSignal(int status, const char* message)
    : exit_{status, message, std::strlen(message)} {
  const std::lock_guard<std::mutex> lock(g_scopes_mutex);
  outer_ = g_exit.load();
  g_exit.store(&exit_);
}

ScopedExitOnSignal::~ScopedExitOnSignal() {
  const std::lock_guard<std::mutex> lock(g_scopes_mutex);
  if (g_exit.load() != &exit_) {
    std::fputs("kreg: ScopedExitOnSignal destroyed out of stack order\n", stderr);
    std::abort();
  }
  g_exit.store(outer_);
  // A handler that read g_exit before the store above is about to end the
  // process; wait for that rather than free what it reads.
  while (g_running.load() != 0) std::this_thread::yield();
}

bool ScopedSigint::fired() const { return state_->signal.load() != 0; }

int ScopedSigint::signal_number() const { return state_->signal.load(); }

}  // namespace kreg
