// kreg/error.hpp - the exceptions kreg throws.
//
// Every message says what is wrong, where (file:line:column, row, column or
// argument) and, where it helps, how to fix it. Callers that only care that
// something failed catch kreg::Error; the CLI maps ArgumentError to exit code 2
// (bad usage) and every other Error to exit code 1.
#pragma once

#include <stdexcept>
#include <string>

namespace kreg {

// Base of every exception kreg throws on purpose.
class Error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// A function was called with an argument outside its contract (a bandwidth
// <= 0, n_jobs == 0, a fold count above the sample count, ...).
class ArgumentError : public Error {
 public:
  using Error::Error;
};

// Input data could not be read or parsed: missing file, bad magic, ragged
// rows, a non-numeric cell, a NaN where none is allowed, a truncated file.
class InputError : public Error {
 public:
  using Error::Error;
};

// A long run was stopped before it finished: by Ctrl-C (SIGINT) or a caller's
// cancellation request. Finished work (a journal) is intact; the CLI exits 130.
class Cancelled : public Error {
 public:
  using Error::Error;
};

}  // namespace kreg
