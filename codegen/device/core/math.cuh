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
/// Smaller / larger of two ints (arith.minsi / maxsi of i32 or i64).
FG_HOST_DEVICE constexpr int imin(int a, int b) { return a < b ? a : b; }
FG_HOST_DEVICE constexpr int imax(int a, int b) { return a > b ? a : b; }
FG_HOST_DEVICE constexpr long long imin(long long a, long long b) { return a < b ? a : b; }
FG_HOST_DEVICE constexpr long long imax(long long a, long long b) { return a > b ? a : b; }

/// -infinity (the score of a masked element) and +infinity.
FG_DEVICE float neg_inf() { return ptx::neg_inf(); }
FG_DEVICE float pos_inf() { return -ptx::neg_inf(); }

/// 2^x, one MUFU op; 2^-inf = 0, denormal results flush to 0.
FG_DEVICE float exp2_fast(float x) { return ptx::ex2(x); }

/// 2^x without the MUFU, on the FMA pipe (the softmax moves a share of its
/// exponentials here when a score_mod's transcendentals load the MUFU;
/// schedule::fmaExp2Every). x = j + f with j = round(x) and |f| <= 1/2:
/// 2^f by a degree-3 polynomial through the Chebyshev nodes (relative error
/// 1.0e-4, under half a bf16 ulp, 2e-3, of the P it becomes), 2^j added to
/// the exponent bits. x <= -127 (and -inf) gives 0: p(0) < 1, so at
/// j = -127 the sum of the bits turns negative and the max with 0 clears
/// it; between -127 and -126.5 the result is a denormal below 1.2e-38, as
/// the exact value is. x above 127 is not supported (the softmax's
/// arguments stay below 2^8).
FG_DEVICE float ex2_fma(float x) {
  constexpr float kRound = 12582912.0f;  // 1.5 * 2^23: x + kRound rounds x to an integer
  constexpr float c0 = 0.9999245405197144f, c1 = 0.6931367516517639f,
                  c2 = 0.2426394820213318f, c3 = 0.05583828315138817f;
  x = fmaxf(x, -127.0f);
  const float t = x + kRound;  // j in the low mantissa bits
  const float f = x - (t - kRound);
  const float p = fmaf(fmaf(fmaf(c3, f, c2), f, c1), f, c0);
  const int bits = static_cast<int>(ptx::float_as_u32(p) + (ptx::float_as_u32(t) << 23));
  return ptx::u32_as_float(static_cast<u32>(bits > 0 ? bits : 0));
}

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
