//===- epilogue.cuh - flashgen device library: storing output tiles -------===//
//
// A warp's f32 accumulator rows go to global memory as 16-bit T. The staged
// store rounds them into a shared tile region this warp owns (for attention:
// its own Q rows, free once its last S = Q K^T is done), then writes whole
// 16-byte chunks, a warp's stores covering full rows of 128-byte lines.
// Rows at or past rows_valid are not written.
//
//===----------------------------------------------------------------------===//
#ifndef FLASHGEN_DEVICE_EPILOGUE_CUH
#define FLASHGEN_DEVICE_EPILOGUE_CUH

#include "flashgen/device/matmul/fragment.cuh"
#include "flashgen/device/memory/smem_tile.cuh"

namespace fg {
namespace warp {

/// Round acc into rows [row0, row0+R), columns [col0, col0+C) of a shared tile.
template <class T, int R, int C, int TR, int TC>
FG_DEVICE void store(const smem_tile<T, TR, TC>& dst, int row0, int col0, const acc_tile<R, C>& acc) {
  const int lane = ptx::lane_id();
  FG_UNROLL
  for (int m = 0; m < acc_tile<R, C>::kMT; ++m)
    FG_UNROLL
    for (int n = 0; n < acc_tile<R, C>::kNT; ++n)
      FG_UNROLL
      for (int h = 0; h < 2; ++h) {
        const int r = row0 + m * 16 + (lane >> 2) + 8 * h;
        const int c = col0 + n * 8 + ((lane & 3) << 1);
        ptx::st_shared_b32(dst.elem_addr(r, c), pack2<T>(acc.v[m][n][2 * h], acc.v[m][n][2 * h + 1]));
      }
}

/// Copy rows [row0, row0+R) of a shared tile (all its columns) to global rows
/// 0..R-1 of dst (row_stride elements apart), skipping rows >= rows_valid.
template <int R, class T, int TR, int TC>
FG_DEVICE void copy_rows_to_global(T* dst, i64 row_stride, int rows_valid, const smem_tile<T, TR, TC>& src,
                                   int row0) {
  using Tile = smem_tile<T, TR, TC>;
  constexpr int kTotal = R * Tile::kChunks;
  static_assert(kTotal % 32 == 0, "copy_rows_to_global: R x chunks must divide among 32 lanes");
  const int lane = ptx::lane_id();
  FG_UNROLL
  for (int i = 0; i < kTotal / 32; ++i) {
    const int idx = lane + i * 32;
    const int r = idx / Tile::kChunks, c = idx % Tile::kChunks;
    if (r < rows_valid) {
      u32 v[4];
      ptx::ld_shared_v4(v, src.chunk_addr(row0 + r, c));
      ptx::st_global_v4(dst + r * row_stride + c * Tile::kChunkElems, v);
    }
  }
}

/// Store acc (R x C, C = the stage tile's width) to global rows 0..R-1 of dst,
/// skipping rows >= rows_valid, staged through rows [stage_row0,
/// stage_row0+R) of stage, which only this warp may touch meanwhile.
template <class T, int R, int C, int TR>
FG_DEVICE void store_rows(T* dst, i64 row_stride, int rows_valid, const acc_tile<R, C>& acc,
                          const smem_tile<T, TR, C>& stage, int stage_row0) {
  ptx::warp_sync();  // this warp's earlier ldmatrix reads of the stage rows are done
  store(stage, stage_row0, 0, acc);
  ptx::warp_sync();
  copy_rows_to_global<R>(dst, row_stride, rows_valid, stage, stage_row0);
}

/// Store acc to global directly from registers (4-byte stores) into the
/// rows row_at(r) points to, r < rows_valid: no shared memory, half-filled
/// 32-byte sectors. row_at maps a warp row to its first element (a strided
/// row, or flash_decode's packed rows, decode.cuh).
template <class T, int R, int C, class RowAt>
FG_DEVICE void store_rows_direct_at(RowAt row_at, int rows_valid, const acc_tile<R, C>& acc) {
  const int lane = ptx::lane_id();
  FG_UNROLL
  for (int m = 0; m < acc_tile<R, C>::kMT; ++m)
    FG_UNROLL
    for (int h = 0; h < 2; ++h) {
      const int r = m * 16 + (lane >> 2) + 8 * h;
      if (r < rows_valid) {
        T* row = row_at(r);
        FG_UNROLL
        for (int n = 0; n < acc_tile<R, C>::kNT; ++n)
          ptx::st_global_b32(row + n * 8 + ((lane & 3) << 1),
                             pack2<T>(acc.v[m][n][2 * h], acc.v[m][n][2 * h + 1]));
      }
    }
}

/// store_rows_direct_at for rows row_stride elements apart from dst.
template <class T, int R, int C>
FG_DEVICE void store_rows_direct(T* dst, i64 row_stride, int rows_valid, const acc_tile<R, C>& acc) {
  store_rows_direct_at<T>([&](int r) { return dst + r * row_stride; }, rows_valid, acc);
}

/// *at(r) = v[r] for this warp's rows r < rows_valid (e.g. the log-sum-exp a
/// backward pass reads); one lane per quad writes.
template <int R, class At> FG_DEVICE void store_row_vec_at(At at, int rows_valid, const row_vec<R>& v) {
  const int lane = ptx::lane_id();
  if ((lane & 3) != 0) return;
  FG_UNROLL
  for (int m = 0; m < R / 16; ++m)
    FG_UNROLL
    for (int h = 0; h < 2; ++h) {
      const int r = m * 16 + (lane >> 2) + 8 * h;
      if (r < rows_valid) *at(r) = v.v[m][h];
    }
}

/// store_row_vec_at for dst[r * stride].
template <int R> FG_DEVICE void store_row_vec(float* dst, i64 stride, int rows_valid, const row_vec<R>& v) {
  store_row_vec_at([&](int r) { return dst + r * stride; }, rows_valid, v);
}

}  // namespace warp
}  // namespace fg

#endif  // FLASHGEN_DEVICE_EPILOGUE_CUH
