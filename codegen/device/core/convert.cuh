//===- convert.cuh - flashgen device library: pack and convert -----------===//
//
// f32 <-> bf16/f16, and packing two f32 into one 32-bit register of two 16-bit
// values: the unit every mma.sync operand is made of (lo = lower column).
//
//===----------------------------------------------------------------------===//
#ifndef FLASHGEN_DEVICE_CONVERT_CUH
#define FLASHGEN_DEVICE_CONVERT_CUH

#include "flashgen/device/core/ptx.cuh"

namespace fg {

/// Pack two f32 into one register of two 16-bit T, rounding to nearest even.
template <class T> FG_DEVICE u32 pack2(float lo, float hi) {
  static_assert(same_type<T, bf16>::value || same_type<T, f16>::value, "pack2: bf16 or f16");
  if constexpr (same_type<T, bf16>::value)
    return ptx::cvt_pack_bf16x2(lo, hi);
  else
    return ptx::cvt_pack_f16x2(lo, hi);
}

/// f32 value of the lo (which = 0) or hi (which = 1) half of a packed pair.
template <class T> FG_DEVICE float unpack(u32 pair, int which) {
  static_assert(same_type<T, bf16>::value || same_type<T, f16>::value, "unpack: bf16 or f16");
  const u32 h = which ? (pair >> 16) : (pair & 0xffffu);
  if constexpr (same_type<T, bf16>::value)
    return ptx::u32_as_float(h << 16);
  else
    return ptx::half_bits_to_float(u16(h));
}

/// f32 value of a bf16 (exact).
FG_DEVICE float to_float(bf16 x) { return ptx::u32_as_float(u32(x.bits) << 16); }

/// f32 value of an f16 (exact).
FG_DEVICE float to_float(f16 x) { return ptx::half_bits_to_float(x.bits); }

/// bf16 nearest to an f32 (round to nearest even).
FG_DEVICE bf16 to_bf16(float x) {
  bf16 r;
  r.bits = u16(ptx::cvt_pack_bf16x2(x, 0.0f) & 0xffffu);
  return r;
}

/// f16 nearest to an f32 (round to nearest even).
FG_DEVICE f16 to_f16(float x) {
  f16 r;
  r.bits = u16(ptx::cvt_pack_f16x2(x, 0.0f) & 0xffffu);
  return r;
}

/// T nearest to an f32, T one of the 16-bit element types (generic code).
template <class T> FG_DEVICE T from_float(float x);
template <> FG_DEVICE bf16 from_float<bf16>(float x) { return to_bf16(x); }
template <> FG_DEVICE f16 from_float<f16>(float x) { return to_f16(x); }

}  // namespace fg

#endif  // FLASHGEN_DEVICE_CONVERT_CUH
