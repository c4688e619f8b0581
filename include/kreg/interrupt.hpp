// kreg/interrupt.hpp - cooperative cancellation, and Ctrl-C turned into it.
//
// A long loop takes a `const CancelToken*` (nullptr: never cancelled) and
// calls throw_if_cancelled between units of work, so a stop request ends the
// run at a unit boundary, after the finished units were recorded (a journal),
// with kreg::Cancelled. ScopedSigint makes SIGINT (Ctrl-C) and SIGTERM request
// a token instead of killing the process; inside it, ScopedExitOnSignal marks
// a phase with nothing to finish or clean up (reading input, computing what is
// not yet written anywhere), where a signal ends the process at once.
#pragma once

#include <atomic>
#include <cstddef>
#include <memory>

#include "kreg/error.hpp"

namespace kreg {

// A one-way stop flag, shared by reference or pointer between the thread (or
// signal handler) that requests the stop and the workers that poll it. It is
// neither copyable nor movable: everyone must see the same flag.
//
// Memory order: request() is a release store and requested() an acquire load,
// so whatever the requester wrote before request() (why it stopped, say) is
// visible to a worker that sees requested() == true. On x86-64 and ARMv8 an
// acquire load costs what a plain load does, so polling it once per unit of
// work in a hot loop is free. The flag is lock-free, which makes request()
// async-signal-safe.
class CancelToken {
 public:
  CancelToken() = default;
  CancelToken(const CancelToken&) = delete;
  CancelToken& operator=(const CancelToken&) = delete;

  void request() noexcept { requested_.store(true, std::memory_order_release); }
  bool requested() const noexcept { return requested_.load(std::memory_order_acquire); }

 private:
  static_assert(std::atomic<bool>::is_always_lock_free, "request() must be async-signal-safe");
  std::atomic<bool> requested_{false};
};

// Throws kreg::Cancelled("interrupted") when `token` is non-null and
// requested; a null token is never cancelled. Inline: loops call it per unit.
inline void throw_if_cancelled(const CancelToken* token) {
  if (token != nullptr && token->requested()) [[unlikely]] {
    throw Cancelled("interrupted");
  }
}

// While alive, SIGINT and SIGTERM request `token` instead of killing the
// process; the handlers in place before (saved with sigaction) are restored
// exactly on destruction.
//
// - The signal handler does nothing but lock-free atomic operations (it
//   requests the tokens and records the signal number): no allocation, no
//   locks, no I/O, no system call, so it is async-signal-safe and leaves
//   errno alone. (Inside a ScopedExitOnSignal it then calls write and _exit,
//   which are async-signal-safe too.)
// - A second Ctrl-C kills: the handler is installed with SA_RESETHAND, so the
//   kernel resets a signal to its default action (terminate) as it delivers
//   it. The first SIGINT asks the run to stop at the next unit boundary; a
//   second one ends the process at once, as the user expects when the stop
//   takes too long. The journal survives that too. SIGINT and SIGTERM reset
//   independently.
// - A signal that was ignored (SIG_IGN) when the scope began stays ignored:
//   a shell starts background jobs with SIGINT ignored, and Ctrl-C on the
//   terminal must not stop them.
// - Scopes nest: a signal requests the token of every live scope, innermost
//   first, since the user wants the whole program to stop. For the same
//   reason a scope opened inside one that has already fired starts fired,
//   its token requested (a CLI's run-wide scope caught the signal before a
//   command opened its own). Create and destroy
//   scopes on one thread (normally main) in stack order; they are neither
//   copyable nor movable, so block scope gives that order (a scope destroyed
//   out of order aborts the process, rather than leave the handler a dangling
//   pointer). Destruction waits for a handler running on another thread to
//   finish, so a token may be destroyed right after its scope.
// - The handlers are installed with SA_RESTART, so a signal does not make
//   reads and writes elsewhere fail with EINTR.
// - When a nested scope ends, exactly what it saved comes back: the outer
//   scope's handler, even if a signal inside the nested scope had reset it.
class ScopedSigint {
 public:
  // Throws kreg::Error if sigaction fails (it cannot for these signals).
  explicit ScopedSigint(CancelToken& token);
  ScopedSigint(const ScopedSigint&) = delete;
  ScopedSigint& operator=(const ScopedSigint&) = delete;
  ~ScopedSigint();

  // Whether SIGINT or SIGTERM arrived while this scope was alive.
  bool fired() const;
  // The first signal that arrived (SIGINT or SIGTERM), 0 if none. A CLI exits
  // with 128 + this number.
  int signal_number() const;

  struct State;  // shared with the signal handler; defined in interrupt.cpp

 private:
  std::unique_ptr<State> state_;
};

// While alive, a signal that a live ScopedSigint catches (SIGINT, SIGTERM)
// ends the process at once: the handler requests the scopes' tokens as
// always, then writes `message` to stderr and calls _exit(status) (both
// async-signal-safe). For a phase that has nothing to finish or clean up and
// may not reach a cancellation point soon: reading input (a read blocked on a
// pipe or a terminal never returns to poll), computing results that are not
// yet written anywhere. Never around writing a file or a journal: _exit runs
// no destructor, so a temporary file would stay behind.
//
// Without a live ScopedSigint it does nothing (no handler is installed).
// `message` must outlive the scope (a string literal). Scopes nest like
// ScopedSigint's (one thread, stack order); the innermost one's status and
// message apply.
class ScopedExitOnSignal {
 public:
  ScopedExitOnSignal(int status, const char* message);
  ScopedExitOnSignal(const ScopedExitOnSignal&) = delete;
  ScopedExitOnSignal& operator=(const ScopedExitOnSignal&) = delete;
  ~ScopedExitOnSignal();

  struct Exit {  // what the handler reads while the scope is live
    int status;
    const char* message;
    std::size_t length;
  };

 private:
  Exit exit_;
  const Exit* outer_;
};

}  // namespace kreg
