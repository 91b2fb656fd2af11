//===- GateMath.h - overflow-free scalar gate activations -------*- C++ -*-===//
//
// The mLSTM gates are computed in log space. These forms never overflow and
// keep full relative precision for preactivations of either sign (the
// large-gate tests use +-30 and beyond); the CUDA emitter uses the same
// formulas in its device header.
//
//===----------------------------------------------------------------------===//

#ifndef FLASHGEN_REFERENCE_GATEMATH_H
#define FLASHGEN_REFERENCE_GATEMATH_H

#include <cmath>

namespace flashgen::reference {

/// log(sigmoid(x)) = min(x, 0) - log1p(exp(-|x|)).
template <typename T> T logSigmoid(T x) {
  return std::fmin(x, T(0)) - std::log1p(std::exp(-std::fabs(x)));
}

/// sigmoid(x) without overflow of exp for large |x|.
template <typename T> T sigmoid(T x) {
  if (x >= T(0))
    return T(1) / (T(1) + std::exp(-x));
  const T e = std::exp(x);
  return e / (T(1) + e);
}

} // namespace flashgen::reference

#endif // FLASHGEN_REFERENCE_GATEMATH_H
