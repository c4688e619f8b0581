// test_support.hpp - helpers shared by kreg's C++ tests.
#pragma once

#include <gtest/gtest.h>

#include <exception>
#include <functional>
#include <string>

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

}  // namespace kreg::test
