// test_support.hpp - helpers shared by kreg's C++ tests.
#pragma once

#include <gtest/gtest.h>

#include <chrono>
#include <exception>
#include <functional>
#include <string>
#include <thread>

#include "kreg/interrupt.hpp"

namespace kreg::test {

// The message of the E that `f` throws, or a text saying what happened
// instead ("no exception", "wrong exception type: ..."), so that comparing it
// with the expected message shows the failure plainly.
template <class E>
std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const E& e) {
    return e.what();
  } catch (const std::exception& e) {
    return std::string("wrong exception type: ") + e.what();
  }
  return "no exception";
}

// Expects `f` to throw E with exactly `message`.
template <class E>
void expect_error(const std::function<void()>& f, const std::string& message) {
  EXPECT_EQ(error_of<E>(f), message);
}

// Requests `token` from another thread `delay` after construction, and joins
// that thread on destruction: for tests that a long call, started right after,
// stops when asked midway.
class RequestAfter {
 public:
  RequestAfter(CancelToken& token, std::chrono::milliseconds delay)
      : thread_([&token, delay] {
          std::this_thread::sleep_for(delay);
          token.request();
        }) {}
  RequestAfter(const RequestAfter&) = delete;
  RequestAfter& operator=(const RequestAfter&) = delete;
  ~RequestAfter() { thread_.join(); }

 private:
  std::thread thread_;
};

}  // namespace kreg::test
