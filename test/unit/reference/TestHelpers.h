//===- TestHelpers.h - shared test comparisons ------------------*- C++ -*-===//

#ifndef FLASHGEN_TEST_UNIT_REFERENCE_TESTHELPERS_H
#define FLASHGEN_TEST_UNIT_REFERENCE_TESTHELPERS_H

#include "reference/Attention.h"
#include "reference/Tensor.h"

#include <algorithm>
#include <cmath>
#include <functional>
#include <limits>

namespace flashgen::reference::testing {

/// The gradient `analytic` of `loss` in `x` against central differences:
/// every element perturbed by +-h (h = 1e-6 max(1, |x_i|)) and restored;
/// the largest difference relative to the largest analytic entry.
inline double finiteDifferenceError(Tensor<double> &x, const Tensor<double> &analytic,
                                    const std::function<double()> &loss) {
  double largest = 1e-12, worst = 0.0;
  for (double g : analytic.values())
    largest = std::max(largest, std::fabs(g));
  for (size_t i = 0; i < x.values().size(); ++i) {
    const double x0 = x.values()[i], h = 1e-6 * std::max(1.0, std::fabs(x0));
    x.values()[i] = x0 + h;
    const double up = loss();
    x.values()[i] = x0 - h;
    const double down = loss();
    x.values()[i] = x0;
    worst = std::max(worst, std::fabs((up - down) / (2 * h) - analytic.values()[i]) / largest);
  }
  return worst;
}

/// Normwise relative error max|actual - expected| / max|expected| (the
/// denominator floored at 1e-300 so an all-zero reference compares
/// absolutely). Infinite when shapes differ or a value is NaN.
template <typename A, typename E>
double relativeError(const Tensor<A> &actual, const Tensor<E> &expected) {
  if (actual.shape() != expected.shape())
    return std::numeric_limits<double>::infinity();
  double maxDiff = 0.0, maxRef = 0.0;
  for (int64_t i = 0; i < expected.size(); ++i) {
    const double a = static_cast<double>(actual[i]);
    const double e = static_cast<double>(expected[i]);
    if (std::isnan(a) != std::isnan(e))
      return std::numeric_limits<double>::infinity();
    if (std::isnan(e))
      continue;
    maxDiff = std::max(maxDiff, std::fabs(a - e));
    maxRef = std::max(maxRef, std::fabs(e));
  }
  return maxDiff / std::max(maxRef, 1e-300);
}

/// Visibility from the mask kind, re-derived from the op description (not
/// through the library): key j is at distance i + (M - N) - j behind query i.
inline bool testVisible(MaskKind kind, int64_t window, int64_t n, int64_t m,
                        int64_t i, int64_t j) {
  const int64_t behind = i + (m - n) - j;
  if (kind == MaskKind::Causal)
    return behind >= 0;
  if (kind == MaskKind::SlidingWindow)
    return behind >= 0 && behind < window;
  return true;
}

template <typename T> bool allFinite(const Tensor<T> &tensor) {
  return std::all_of(tensor.values().begin(), tensor.values().end(),
                     [](T value) { return std::isfinite(value); });
}

} // namespace flashgen::reference::testing

#endif // FLASHGEN_TEST_UNIT_REFERENCE_TESTHELPERS_H
