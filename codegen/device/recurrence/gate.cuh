//===- gate.cuh - flashgen device library: gated-recurrence helpers ------===//
//
// What chunkwise linear-recurrence kernels add to the attention pieces.
// State: an f32 acc_tile in registers (rows = key dims, cols = value dims,
// split across warps), updated with mma_AtB (S = g*S + K^T V) and handed
// to the next GEMM as bf16 through warp::store (epilogue.cuh) into a shared
// tile. Gates: per-row / per-column vectors loaded for the rows and columns
// this lane holds, applied with mul_rows / mul_cols (fragment.cuh) or, for
// the intra-chunk decay mask exp2(b_i - b_j) [j <= i], with for_each_rc.
//
//===----------------------------------------------------------------------===//
#ifndef FLASHGEN_DEVICE_GATE_CUH
#define FLASHGEN_DEVICE_GATE_CUH

#include "flashgen/device/matmul/fragment.cuh"

namespace fg {
namespace warp {

/// dst[r] = src[row0 + r] for the rows this lane holds; fill where row0 + r >= rows_valid.
template <int R>
FG_DEVICE void load_rows(row_vec<R>& dst, const float* src, int row0, int rows_valid, float fill) {
  const int lane = ptx::lane_id();
  FG_UNROLL
  for (int m = 0; m < R / 16; ++m)
    FG_UNROLL
    for (int h = 0; h < 2; ++h) {
      const int r = row0 + m * 16 + (lane >> 2) + 8 * h;
      dst.v[m][h] = r < rows_valid ? src[r] : fill;
    }
}

/// dst[c] = src[col0 + c] for the columns this lane holds; fill where col0 + c >= cols_valid.
template <int C>
FG_DEVICE void load_cols(col_vec<C>& dst, const float* src, int col0, int cols_valid, float fill) {
  const int lane = ptx::lane_id();
  FG_UNROLL
  for (int n = 0; n < C / 8; ++n)
    FG_UNROLL
    for (int i = 0; i < 2; ++i) {
      const int c = col0 + n * 8 + ((lane & 3) << 1) + i;
      dst.v[n][i] = c < cols_valid ? src[c] : fill;
    }
}

/// Calls f(row, col, v, rv[row], cv[col]) for every element this lane holds
/// (row/col as in for_each): gate math that needs per-row and per-column values.
template <int R, int C, class F>
FG_DEVICE void for_each_rc(acc_tile<R, C>& t, const row_vec<R>& rv, const col_vec<C>& cv, int row0, int col0,
                           F&& f) {
  const int lane = ptx::lane_id();
  const int r_lane = row0 + (lane >> 2);
  const int c_lane = col0 + ((lane & 3) << 1);
  FG_UNROLL
  for (int m = 0; m < R / 16; ++m)
    FG_UNROLL
    for (int n = 0; n < C / 8; ++n)
      FG_UNROLL
      for (int e = 0; e < 4; ++e)
        f(r_lane + m * 16 + ((e >> 1) << 3), c_lane + n * 8 + (e & 1), t.v[m][n][e], rv.v[m][e >> 1],
          cv.v[n][e & 1]);
}

}  // namespace warp
}  // namespace fg

#endif  // FLASHGEN_DEVICE_GATE_CUH
