//===- epilogue_kernels.cu - device functions under test for epilogue.cuh -===//
//
// Two warps of 32 rows fill a 64 x 64 accumulator with value(row, col) =
// row + col / 64 and store it to dst (row stride row_stride) for rows <
// rows_valid, staged (store_rows) or direct (store_rows_direct). The host
// compares with the bf16 rounding of the same values.
//
//===----------------------------------------------------------------------===//
#include "flashgen/device/flashgen_device.cuh"

extern "C" __global__ void epilogue_test_store(fg::bf16* dst, long long row_stride, int rows_valid, int direct) {
  constexpr int kWarpRows = 32, kCols = 64;
  using Stage = fg::smem_tile<fg::bf16, 64, kCols>;
  const Stage stage{fg::ptx::smem_addr(fg::ptx::dynamic_smem())};
  const int wrow0 = (fg::ptx::thread_id() / 32) * kWarpRows;
  fg::acc_tile<kWarpRows, kCols> acc;
  fg::warp::for_each(acc, wrow0, 0, [&](int i, int j, float& x) { x = float(i) + float(j) * (1.0f / 64.0f); });
  if (direct)
    fg::warp::store_rows_direct(dst + wrow0 * row_stride, row_stride, rows_valid - wrow0, acc);
  else
    fg::warp::store_rows(dst + wrow0 * row_stride, row_stride, rows_valid - wrow0, acc, stage, wrow0);
}
