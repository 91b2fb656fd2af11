//===- TestHelpers.h - shared test comparisons ------------------*- C++ -*-===//

#ifndef FLASHGEN_TEST_UNIT_REFERENCE_TESTHELPERS_H
#define FLASHGEN_TEST_UNIT_REFERENCE_TESTHELPERS_H

#include "reference/Attention.h"
#include "reference/Tensor.h"

#include <algorithm>
#include <cmath>
#include <limits>

namespace flashgen::reference::testing {

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
