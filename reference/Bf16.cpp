//===- Bf16.cpp - bfloat16 rounding for reference inputs -----------------===//
//
// bf16 is the upper half of a binary32, so rounding is integer arithmetic
// on the float's bits. Doubles are first narrowed to float with
// round-to-odd: that keeps enough information (23 - 7 = 16 spare bits, the
// lowest one sticky) for the second rounding to be correct.
//
//===----------------------------------------------------------------------===//

#include "reference/Bf16.h"

#include <cmath>
#include <cstring>

namespace flashgen::reference {

namespace {

uint32_t bitsOf(float value) {
  uint32_t bits;
  std::memcpy(&bits, &value, sizeof(bits));
  return bits;
}

float floatOf(uint32_t bits) {
  float value;
  std::memcpy(&value, &bits, sizeof(value));
  return value;
}

/// double -> float rounding toward zero, with the lowest bit set when the
/// conversion was inexact ("round to odd").
float narrowToFloatRoundToOdd(double value) {
  float narrowed = static_cast<float>(value);
  if (std::isnan(value) || static_cast<double>(narrowed) == value)
    return narrowed;
  // Truncate: step back toward zero when rounding went away from it
  // (this also turns an overflow to infinity back into FLT_MAX).
  if (std::fabs(static_cast<double>(narrowed)) > std::fabs(value))
    narrowed = std::nextafter(narrowed, 0.0f);
  return floatOf(bitsOf(narrowed) | 1u);
}

} // namespace

uint16_t bf16BitsFromFloat(float value) {
  const uint32_t bits = bitsOf(value);
  if (std::isnan(value))
    return static_cast<uint16_t>((bits >> 16) | 0x0040u); // quiet, signed
  // Add half an ulp of bf16 minus one, plus the lowest kept bit: a tie then
  // carries into the kept bits only when they are odd. A carry out of the
  // exponent yields infinity, which is the correct IEEE overflow.
  const uint32_t lowestKept = (bits >> 16) & 1u;
  return static_cast<uint16_t>((bits + 0x7FFFu + lowestKept) >> 16);
}

uint16_t bf16BitsFromDouble(double value) {
  return bf16BitsFromFloat(narrowToFloatRoundToOdd(value));
}

float floatFromBf16Bits(uint16_t bits) {
  return floatOf(static_cast<uint32_t>(bits) << 16);
}

float roundToBf16(float value) {
  return floatFromBf16Bits(bf16BitsFromFloat(value));
}

double roundToBf16(double value) {
  return floatFromBf16Bits(bf16BitsFromDouble(value));
}

Tensor<uint16_t> bf16BitsFromTensor(const Tensor<float> &values) {
  Tensor<uint16_t> bits(values.shape());
  for (int64_t i = 0; i < values.size(); ++i)
    bits[i] = bf16BitsFromFloat(values[i]);
  return bits;
}

Tensor<uint16_t> bf16BitsFromTensor(const Tensor<double> &values) {
  Tensor<uint16_t> bits(values.shape());
  for (int64_t i = 0; i < values.size(); ++i)
    bits[i] = bf16BitsFromDouble(values[i]);
  return bits;
}

Tensor<float> tensorFromBf16Bits(const Tensor<uint16_t> &bits) {
  Tensor<float> values(bits.shape());
  for (int64_t i = 0; i < bits.size(); ++i)
    values[i] = floatFromBf16Bits(bits[i]);
  return values;
}

} // namespace flashgen::reference
