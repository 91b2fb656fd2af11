//===- RegionInterpreter.h - evaluate score_mod / mask_mod regions -*- C++ -*-===//
//
// Evaluates what the user wrote in a `score_mod` or `mask_mod` region, op by
// op, in float64 (f32 values) and int64 (index and integer values), without
// going through the code generator. The set of ops is the dialect's
// (dialect/RegionOps.h), so the verifier has already rejected anything this
// cannot run.
//
//===----------------------------------------------------------------------===//
#ifndef FLASHGEN_TOOLS_FLASHGENREF_REGIONINTERPRETER_H
#define FLASHGEN_TOOLS_FLASHGENREF_REGIONINTERPRETER_H

#include "mlir/IR/Region.h"

#include <cstdint>
#include <vector>

namespace flashgen::cli {

/// A scalar: floats in `f`, integers, indices and booleans in `i`.
struct Scalar {
  double f = 0.0;
  int64_t i = 0;
  static Scalar ofFloat(double value) { return {value, 0}; }
  static Scalar ofInt(int64_t value) { return {0.0, value}; }
};

/// The data of one extra operand (dialect/ExtraOperands.h): row-major
/// values (integers exactly, up to 2^53) and the shape; rank 0 is a scalar.
struct ExtraData {
  std::vector<int64_t> shape;
  std::vector<double> values;
};

/// Runs the single block of `region` with `arguments` bound to its block
/// arguments and returns the yielded value. Block arguments past
/// `arguments` are the op's extras, bound to `extras` in order; a
/// tensor.extract clamps each index into its dimension, as the kernels do.
/// The region must have passed the flash dialect's verifier.
Scalar interpretRegion(mlir::Region &region,
                       const std::vector<Scalar> &arguments,
                       const std::vector<ExtraData> &extras = {});

} // namespace flashgen::cli

#endif // FLASHGEN_TOOLS_FLASHGENREF_REGIONINTERPRETER_H
