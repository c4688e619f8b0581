// kreg/bandwidth.hpp - bandwidth grids and rule-of-thumb bandwidths.
//
// parse_bandwidth_grid turns a grid spec such as logspace:-1:1:9 into values,
// with numpy's arithmetic so that a grid written in a notebook and the same
// grid given to kreg hold the same numbers. The rules of thumb give one bandwidth
// per feature, as implied by scipy.stats.gaussian_kde's scotts_factor and
// silverman_factor: the factor times each feature's sample standard deviation.
// Every function throws ArgumentError on input outside its contract.
#pragma once

#include <string_view>
#include <vector>

#include "kreg/matrix.hpp"

namespace kreg {

// The bandwidths `spec` names, in the given order (never sorted):
//
//   logspace:A:B:N  numpy.logspace(A, B, N): N values 10^A .. 10^B, both ends
//                   included (N = 1 gives 10^A)
//   linspace:A:B:N  numpy.linspace(A, B, N): N values A .. B, both ends included
//   0.1,0.5,2       the listed values
//
// Numbers are what std::from_chars reads, with an optional leading '+';
// spaces and tabs around fields are ignored. 1 <= N <= 1,000,000. The grid
// values equal numpy's: linspace's bit for bit (start + i * step, the last
// one exactly B), logspace's to 1 ulp (10^y with the C library's pow, which
// numpy may replace by its own SIMD pow). Every value must be finite and at
// least the smallest normal double (2.2250738585072014e-308), and no value may
// repeat (a repeat would duplicate a row of the results).
std::vector<double> parse_bandwidth_grid(std::string_view spec);

// One bandwidth written as text, read like a value of a grid's list: a finite
// number >= the smallest normal double (2.2250738585072014e-308). Throws
// ArgumentError quoting the text and saying what is wrong: not a number, too
// large for a double, below the smallest normal double, NaN, infinite or not
// positive.
double parse_bandwidth_value(std::string_view text);

// Per-feature rule-of-thumb bandwidths for the n x d data X:
//
//   scott      sigma_f * n^(-1/(d+4))
//   silverman  sigma_f * (n (d+2) / 4)^(-1/(d+4))
//
// sigma_f is feature f's sample standard deviation (ddof = 1), computed in
// long double by two passes with the compensating term of the second, so it is
// accurate for data far from the origin (values near 1e9 with spread 1).
// A constant feature (every value equal) has no spread to scale by; since its
// distance term is the same for every training point, its bandwidth only
// matters for queries off that constant, and it gets the mean of the other
// features' bandwidths. Needs n >= 2, d >= 1, finite values and at least one
// non-constant feature.
std::vector<double> scott_bandwidth(MatrixView<const double> X);
std::vector<double> scott_bandwidth(MatrixView<const float> X);
std::vector<double> silverman_bandwidth(MatrixView<const double> X);
std::vector<double> silverman_bandwidth(MatrixView<const float> X);

// The rule called `name`: "scott" or "silverman".
std::vector<double> rule_of_thumb_bandwidth(MatrixView<const double> X, std::string_view name);
std::vector<double> rule_of_thumb_bandwidth(MatrixView<const float> X, std::string_view name);

}  // namespace kreg
