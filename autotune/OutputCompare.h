//===- OutputCompare.h - Candidate outputs against variant 0's -*- C++ -*-===//
//
// Every candidate runs once on the same inputs as variant 0, with its
// outputs poisoned first (all bytes 0xff: NaN for floats), and its outputs
// are compared with variant 0's by relative L2 error,
// ||out - ref|| / ||ref||, over the logical elements (padding between rows
// is never compared). Non-finite values must match in kind and place: a NaN
// where variant 0 has a number is an element the candidate did not write.
// Variant 0 is the reference because it is the scheduler's first choice, the
// one that runs without tuning and the one the GPU correctness tests check.
//
//===----------------------------------------------------------------------===//

#ifndef FLASHGEN_AUTOTUNE_OUTPUTCOMPARE_H
#define FLASHGEN_AUTOTUNE_OUTPUTCOMPARE_H

#include "flashgen/runtime.h"

#include <cstdint>
#include <string>
#include <vector>

namespace flashgen {

/// A tensor copied back to the host: `bytes` from its data pointer to its
/// last element, strides in elements.
struct HostTensor {
  std::string name;
  DType dtype = DType::None;
  std::vector<int64_t> sizes;
  std::vector<int64_t> strides;
  std::vector<uint8_t> bytes;

  int64_t numElements() const;
  /// Element `linear` (row-major over sizes) as a double.
  double at(int64_t linear) const;
};

/// IEEE binary16 / bfloat16 conversions (round to nearest even).
uint16_t floatToHalf(float f);
float halfToFloat(uint16_t h);
uint16_t floatToBf16(float f);
float bf16ToFloat(uint16_t b);

/// The default tolerance for an output of `dtype` of a kernel that has
/// bf16/f16 params (`lowPrecisionParams`) or not (TuneOptions::tolerance).
double defaultTolerance(DType dtype, bool lowPrecisionParams);

struct Comparison {
  bool ok = true;
  double relError = 0.0;
  /// Elements non-finite in one tensor and not the same in the other.
  int64_t nonFiniteMismatches = 0;
  /// Non-finite elements in the reference (variant 0) itself.
  int64_t referenceNonFinite = 0;
  /// For messages: "o: rel L2 3.1e-01 > 2.0e-02".
  std::string what;
};

/// Compares `out` with `ref` (same name, dtype and sizes), allowing a
/// relative L2 error of `tolerance`.
Comparison compareOutputs(const HostTensor &ref, const HostTensor &out,
                          double tolerance);

} // namespace flashgen

#endif // FLASHGEN_AUTOTUNE_OUTPUTCOMPARE_H
