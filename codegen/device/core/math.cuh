//===- math.cuh - flashgen device library: scalar math for emitted code --===//
//
// What inlined score_mod / mask_mod / gate code calls besides operators:
// integer helpers for tile bounds and fast f32 special functions. The emitter
// maps math-dialect ops onto these (docs/emitter-target.md, "Scalar code");
// floordiv / ceildiv for arith's signed divisions are in index_math.cuh.
//
//===----------------------------------------------------------------------===//
#ifndef FLASHGEN_DEVICE_MATH_CUH
#define FLASHGEN_DEVICE_MATH_CUH

#include "flashgen/device/core/ptx.cuh"

namespace fg {

/// log2(e) and ln(2) as f32.
constexpr float kLog2e = 1.4426950408889634f;
constexpr float kLn2 = 0.6931471805599453f;

/// ceil(a / b) for a >= 0, b > 0.
FG_HOST_DEVICE constexpr int cdiv(int a, int b) { return (a + b - 1) / b; }
/// Smaller / larger of two ints.
FG_HOST_DEVICE constexpr int imin(int a, int b) { return a < b ? a : b; }
FG_HOST_DEVICE constexpr int imax(int a, int b) { return a > b ? a : b; }

/// -infinity (the score of a masked element) and +infinity.
FG_DEVICE float neg_inf() { return ptx::neg_inf(); }
FG_DEVICE float pos_inf() { return -ptx::neg_inf(); }

/// 2^x, one MUFU op; 2^-inf = 0, denormal results flush to 0.
FG_DEVICE float exp2_fast(float x) { return ptx::ex2(x); }

/// e^x through exp2_fast.
FG_DEVICE float exp_fast(float x) { return ptx::ex2(x * kLog2e); }

/// tanh, one MUFU op; relative error about 5e-4 (2^-11). Softcap's default.
FG_DEVICE float tanh_fast(float x) { return ptx::tanh_approx(x); }

/// tanh from 2^x and 1/x (two MUFU ops); absolute error about 1e-7, for
/// mods where tanh_fast's 2^-11 is too coarse.
FG_DEVICE float tanh_exp2(float x) {
  const float e = ptx::ex2(fminf(fabsf(x), 16.0f) * (2.0f * kLog2e));  // e^{2|x|}
  const float t = 1.0f - 2.0f * ptx::rcp_approx(e + 1.0f);
  return x < 0.0f ? -t : t;
}

/// log2(x), one MUFU op; ln(x), the same and a multiply.
FG_DEVICE float log2_fast(float x) { return ptx::lg2_approx(x); }
FG_DEVICE float log_fast(float x) { return ptx::lg2_approx(x) * kLn2; }

/// 1/x, one MUFU op.
FG_DEVICE float rcp_fast(float x) { return ptx::rcp_approx(x); }

}  // namespace fg

#endif  // FLASHGEN_DEVICE_MATH_CUH
