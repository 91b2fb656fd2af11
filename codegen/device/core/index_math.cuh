//===- index_math.cuh - signed integer helpers for emitted index code -----===//
//
// The emitter prints arith.floordivsi / arith.ceildivsi as these calls. Tile
// bounds can go negative (a key length shorter than the query length moves a
// bottom-right aligned mask's diagonal below zero), so both round like the
// MLIR ops: toward -inf and +inf, not toward zero as C's `/` does. The
// shifts are arith.shli / shrui / shrsi with the out-of-range amounts defined.
//
//===----------------------------------------------------------------------===//
#ifndef FLASHGEN_DEVICE_INDEX_MATH_CUH
#define FLASHGEN_DEVICE_INDEX_MATH_CUH

namespace fg {

/// floor(a / b) for b > 0 and any sign of a.
__device__ __forceinline__ int floordiv(int a, int b) {
  const int q = a / b;
  return (a % b != 0 && a < 0) ? q - 1 : q;
}

/// ceil(a / b) for b > 0 and any sign of a.
__device__ __forceinline__ int ceildiv(int a, int b) {
  const int q = a / b;
  return (a % b != 0 && a > 0) ? q + 1 : q;
}

/// arith.shli, arith.shrui and arith.shrsi of a region (bit-packed masks:
/// a tree's ancestor bits). MLIR leaves a shift by a negative amount or by
/// the width or more undefined, and so does C++; a region gets the result
/// the float64 reference computes (docs/semantics.md §2.7): 0 for shli and
/// shrui, the sign (0 or -1) for shrsi.
__device__ __forceinline__ int shl(int a, int n) {
  return unsigned(n) < 32u ? int(unsigned(a) << n) : 0;
}
__device__ __forceinline__ long long shl(long long a, long long n) {
  return (unsigned long long)n < 64ull ? (long long)((unsigned long long)a << n) : 0;
}
__device__ __forceinline__ int shr_u(int a, int n) {
  return unsigned(n) < 32u ? int(unsigned(a) >> n) : 0;
}
__device__ __forceinline__ long long shr_u(long long a, long long n) {
  return (unsigned long long)n < 64ull ? (long long)((unsigned long long)a >> n) : 0;
}
__device__ __forceinline__ int shr_s(int a, int n) {
  return unsigned(n) < 32u ? a >> n : (a < 0 ? -1 : 0);
}
__device__ __forceinline__ long long shr_s(long long a, long long n) {
  return (unsigned long long)n < 64ull ? a >> n : (a < 0 ? -1 : 0);
}

}  // namespace fg

#endif  // FLASHGEN_DEVICE_INDEX_MATH_CUH
