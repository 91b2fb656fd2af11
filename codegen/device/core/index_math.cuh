//===- index_math.cuh - signed integer helpers for emitted index code -----===//
//
// The emitter prints arith.floordivsi / arith.ceildivsi as these calls. Tile
// bounds can go negative (a key length shorter than the query length moves a
// bottom-right aligned mask's diagonal below zero), so both round like the
// MLIR ops: toward -inf and +inf, not toward zero as C's `/` does.
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

}  // namespace fg

#endif  // FLASHGEN_DEVICE_INDEX_MATH_CUH
