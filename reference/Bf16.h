//===- Bf16.h - bfloat16 rounding for reference inputs ----------*- C++ -*-===//
//
// GPU tests feed bf16 operands; the reference must run on exactly the values
// the GPU sees. So inputs are generated in float64, rounded to bf16 here
// (round to nearest, ties to even, like __float2bfloat16_rn), and both the
// reference and the device use the rounded values.
//
//===----------------------------------------------------------------------===//

#ifndef FLASHGEN_REFERENCE_BF16_H
#define FLASHGEN_REFERENCE_BF16_H

#include "reference/Tensor.h"

#include <cstdint>

namespace flashgen::reference {

/// Bits of the bf16 nearest to `value` (ties to even). Infinities keep
/// their sign; NaN becomes a quiet NaN with the same sign; values beyond
/// the largest bf16 round to infinity exactly as IEEE rounding says.
uint16_t bf16BitsFromFloat(float value);

/// Same, rounding a double directly (not via float, which could round
/// twice and land on the wrong side of a tie).
uint16_t bf16BitsFromDouble(double value);

/// The float a bf16 bit pattern stands for (exact).
float floatFromBf16Bits(uint16_t bits);

/// value rounded to the nearest bf16, returned as float / double.
float roundToBf16(float value);
double roundToBf16(double value);

Tensor<uint16_t> bf16BitsFromTensor(const Tensor<float> &values);
Tensor<uint16_t> bf16BitsFromTensor(const Tensor<double> &values);
Tensor<float> tensorFromBf16Bits(const Tensor<uint16_t> &bits);

} // namespace flashgen::reference

#endif // FLASHGEN_REFERENCE_BF16_H
