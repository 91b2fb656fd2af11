//===- OutputCompare.cpp - Candidate outputs against variant 0's ---------===//

#include "autotune/OutputCompare.h"

#include <cmath>
#include <cstdio>
#include <cstring>

namespace flashgen {

uint16_t floatToBf16(float f) {
  uint32_t bits;
  std::memcpy(&bits, &f, 4);
  if ((bits & 0x7fffffffu) > 0x7f800000u) // NaN: keep it a (quiet) NaN
    return static_cast<uint16_t>((bits >> 16) | 0x40);
  bits += 0x7fffu + ((bits >> 16) & 1u); // round to nearest, ties to even
  return static_cast<uint16_t>(bits >> 16);
}

float bf16ToFloat(uint16_t b) {
  uint32_t bits = uint32_t(b) << 16;
  float f;
  std::memcpy(&f, &bits, 4);
  return f;
}

uint16_t floatToHalf(float f) {
  uint32_t x;
  std::memcpy(&x, &f, 4);
  const uint32_t sign = (x >> 16) & 0x8000u;
  const uint32_t absx = x & 0x7fffffffu;
  if (absx > 0x7f800000u) // NaN
    return static_cast<uint16_t>(sign | 0x7e00u);
  if (absx >= 0x477ff000u) // rounds to >= 65520: infinity
    return static_cast<uint16_t>(sign | 0x7c00u);
  if (absx < 0x38800000u) { // below the smallest normal half (2^-14)
    // Subnormal: value / 2^-24, rounded to nearest even, done in float,
    // where it is exact up to the final rounding.
    float a;
    std::memcpy(&a, &absx, 4);
    float scaled = a * 16777216.0f; // 2^24
    float r = std::nearbyint(scaled);
    return static_cast<uint16_t>(sign | static_cast<uint32_t>(r));
  }
  // Normal: rebias the exponent (127 -> 15), round the mantissa from 23 to
  // 10 bits to nearest even; a carry into the exponent is correct rounding.
  uint32_t m = absx - 0x38000000u; // exponent - 112
  m += 0xfffu + ((m >> 13) & 1u);
  return static_cast<uint16_t>(sign | (m >> 13));
}

float halfToFloat(uint16_t h) {
  const uint32_t sign = uint32_t(h & 0x8000u) << 16;
  const uint32_t exp = (h >> 10) & 0x1fu;
  const uint32_t man = h & 0x3ffu;
  uint32_t bits;
  if (exp == 0) {
    float v = std::ldexp(static_cast<float>(man), -24);
    std::memcpy(&bits, &v, 4);
    bits |= sign;
  } else if (exp == 31) {
    bits = sign | 0x7f800000u | (man << 13);
  } else {
    bits = sign | ((exp + 112) << 23) | (man << 13);
  }
  float f;
  std::memcpy(&f, &bits, 4);
  return f;
}

int64_t HostTensor::numElements() const {
  int64_t n = 1;
  for (int64_t s : sizes)
    n *= s;
  return n;
}

double HostTensor::at(int64_t linear) const {
  int64_t offset = 0;
  for (size_t d = sizes.size(); d-- > 0;) {
    const int64_t i = sizes[d] ? linear % sizes[d] : 0;
    linear = sizes[d] ? linear / sizes[d] : 0;
    offset += i * strides[d];
  }
  const uint8_t *p = bytes.data() + offset * int64_t(dtypeSize(dtype));
  switch (dtype) {
  case DType::BF16: {
    uint16_t v;
    std::memcpy(&v, p, 2);
    return bf16ToFloat(v);
  }
  case DType::F16: {
    uint16_t v;
    std::memcpy(&v, p, 2);
    return halfToFloat(v);
  }
  case DType::F32: {
    float v;
    std::memcpy(&v, p, 4);
    return v;
  }
  case DType::F64: {
    double v;
    std::memcpy(&v, p, 8);
    return v;
  }
  case DType::I8:
    return static_cast<int8_t>(*p);
  case DType::U8:
    return *p;
  case DType::I32: {
    int32_t v;
    std::memcpy(&v, p, 4);
    return v;
  }
  case DType::I64: {
    int64_t v;
    std::memcpy(&v, p, 8);
    return static_cast<double>(v);
  }
  case DType::None:
    break;
  }
  return 0.0;
}

double defaultTolerance(DType dtype, bool lowPrecisionParams) {
  switch (dtype) {
  case DType::BF16:
  case DType::F16:
    // Two roundings to 8 (bf16) or 11 (f16) bits of differently ordered
    // sums differ by ~2e-3 relative; a wrong kernel is off by far more.
    return 2e-2;
  case DType::F32:
  case DType::F64:
    // An f32 output (a final state, lse) of a kernel with bf16 operands
    // carries their rounding, placed differently by each tiling: 1e-3 to
    // 1e-2 (METHOD.md). Otherwise room for tf32 matrix units (~3e-4).
    return lowPrecisionParams ? 2e-2 : 2e-3;
  default:
    return 0.0; // indices, masks, counts: exact
  }
}

Comparison compareOutputs(const HostTensor &ref, const HostTensor &out,
                          double tolerance) {
  Comparison c;
  if (ref.dtype != out.dtype || ref.sizes != out.sizes) {
    c.ok = false;
    c.relError = INFINITY;
    c.what = ref.name + ": dtype or shape differs from variant 0's";
    return c;
  }
  const int64_t n = ref.numElements();
  double diff2 = 0.0, ref2 = 0.0;
  for (int64_t i = 0; i < n; ++i) {
    const double r = ref.at(i), o = out.at(i);
    if (!std::isfinite(r)) {
      ++c.referenceNonFinite;
      // Same NaN-ness, or the same infinity.
      if (std::isnan(r) ? !std::isnan(o) : r != o)
        ++c.nonFiniteMismatches;
      continue;
    }
    if (!std::isfinite(o)) {
      ++c.nonFiniteMismatches;
      continue;
    }
    diff2 += (o - r) * (o - r);
    ref2 += r * r;
  }
  // An all-zero reference has no scale: compare absolutely.
  c.relError = ref2 > 0 ? std::sqrt(diff2 / ref2) : std::sqrt(diff2);
  char buf[160];
  if (c.nonFiniteMismatches > 0) {
    c.ok = false;
    std::snprintf(buf, sizeof(buf),
                  "%s: %lld values non-finite where variant 0's are not "
                  "(or the reverse; unwritten elements keep the NaN poison)",
                  ref.name.c_str(),
                  static_cast<long long>(c.nonFiniteMismatches));
    c.what = buf;
  } else if (!(c.relError <= tolerance)) {
    c.ok = false;
    std::snprintf(buf, sizeof(buf), "%s: rel L2 %.1e > %.1e", ref.name.c_str(),
                  c.relError, tolerance);
    c.what = buf;
  } else {
    std::snprintf(buf, sizeof(buf), "%s: rel L2 %.1e", ref.name.c_str(),
                  c.relError);
    c.what = buf;
  }
  return c;
}

} // namespace flashgen
