//===- copy_kernels.cu - device functions under test for copy.cuh --------===//
//
// load_async of a tile with a row stride and a row bound, then the tile read
// back in logical order (chunk_addr undoes the swizzle) to out [ROWS][COLS].
// Three shapes: the one-column-chunk-per-thread path with 128-byte rows and
// with 64-byte rows, and the general path (rows 512 bytes wide, 128 threads).
//
//===----------------------------------------------------------------------===//
#include "flashgen/device/flashgen_device.cuh"

namespace copy_test {

template <int NTHREADS, int ROWS, int COLS>
FG_DEVICE void round_trip(const fg::bf16* src, long long row_stride, int rows_valid, fg::bf16* out) {
  using Tile = fg::smem_tile<fg::bf16, ROWS, COLS>;
  const Tile t{fg::ptx::smem_addr(fg::ptx::dynamic_smem())};
  fg::cta::load_async<NTHREADS>(t, src, row_stride, rows_valid);
  fg::cta::commit();
  fg::cta::wait<0>();
  fg::cta::sync();
  for (int idx = fg::ptx::thread_id(); idx < ROWS * Tile::kChunks; idx += NTHREADS) {
    const int r = idx / Tile::kChunks, c = idx % Tile::kChunks;
    fg::u32 v[4];
    fg::ptx::ld_shared_v4(v, t.chunk_addr(r, c));
    fg::ptx::st_global_v4(out + r * COLS + c * Tile::kChunkElems, v);
  }
}

}  // namespace copy_test

/// 48 x 64 tile, 64 threads (8 chunks per row, rows 8 apart per thread).
extern "C" __global__ void copy_test_48x64(const fg::bf16* src, long long row_stride, int rows_valid,
                                           fg::bf16* out) {
  copy_test::round_trip<64, 48, 64>(src, row_stride, rows_valid, out);
}

/// 32 x 32 tile, 32 threads (4 chunks per row: two rows per 128-byte line).
extern "C" __global__ void copy_test_32x32(const fg::bf16* src, long long row_stride, int rows_valid,
                                           fg::bf16* out) {
  copy_test::round_trip<32, 32, 32>(src, row_stride, rows_valid, out);
}

/// 16 x 256 tile, 128 threads (32 chunks per row: the general path).
extern "C" __global__ void copy_test_16x256(const fg::bf16* src, long long row_stride, int rows_valid,
                                            fg::bf16* out) {
  copy_test::round_trip<128, 16, 256>(src, row_stride, rows_valid, out);
}
