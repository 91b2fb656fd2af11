//===- copy.cuh - flashgen device library: global -> shared tile copies --===//
//
// cp.async tile loaders for a CTA of NTHREADS threads. A load copies a
// ROWS x COLS tile whose rows are row_stride elements apart in global memory
// (unit stride inside a row) into a swizzled smem_tile; rows at or past
// rows_valid are zero-filled and never read, so boundary tiles need no
// padding in global memory. Copies of one pipeline stage form one group:
// commit() closes it, wait<N>() waits until at most N groups are in flight.
//
//===----------------------------------------------------------------------===//
#ifndef FLASHGEN_DEVICE_COPY_CUH
#define FLASHGEN_DEVICE_COPY_CUH

#include "flashgen/device/memory/smem_tile.cuh"

namespace fg {
namespace cta {

/// Async copy of global rows [0, ROWS) of src (row_stride elements apart) into
/// dst; rows >= rows_valid (rows_valid may be <= 0) become zeros.
/// Every thread of the CTA calls it; the copies join this thread's open group.
template <int NTHREADS, class T, int ROWS, int COLS>
FG_DEVICE void load_async(const smem_tile<T, ROWS, COLS>& dst, const T* src, i64 row_stride,
                          int rows_valid) {
  using Tile = smem_tile<T, ROWS, COLS>;
  constexpr int kTotal = ROWS * Tile::kChunks;
  static_assert(NTHREADS % 32 == 0, "load_async: whole warps");
  static_assert(kTotal % NTHREADS == 0, "load_async: tile chunks must divide among the threads");
  constexpr int kIters = kTotal / NTHREADS;
  const int tid = ptx::thread_id();
  if constexpr (NTHREADS % Tile::kChunks == 0 && (NTHREADS / Tile::kChunks) % 8 == 0) {
    // Each thread keeps one column chunk and walks rows kRowStep apart. The
    // swizzle key repeats every 8 rows, so its shared addresses are one
    // register plus immediates, and its row checks compare with immediates.
    constexpr int kRowStep = NTHREADS / Tile::kChunks;
    const int r0 = tid / Tile::kChunks;
    const int c = tid % Tile::kChunks;
    const u32 s0 = dst.chunk_addr(r0, c);
    const int rv = rows_valid - r0;
    const T* g = src + r0 * row_stride + c * Tile::kChunkElems;
    const i64 g_step = kRowStep * row_stride;
    FG_UNROLL
    for (int i = 0; i < kIters; ++i) {
      const bool ok = i * kRowStep < rv;
      ptx::cp_async_16(s0 + u32(i * kRowStep * Tile::kRowBytes), ok ? g : src, ok);
      g += g_step;
    }
  } else {
    FG_UNROLL
    for (int i = 0; i < kIters; ++i) {
      const int idx = tid + i * NTHREADS;
      const int r = idx / Tile::kChunks;
      const int c = idx % Tile::kChunks;
      const bool ok = r < rows_valid;
      const T* g = ok ? src + r * row_stride + c * Tile::kChunkElems : src;
      ptx::cp_async_16(dst.chunk_addr(r, c), g, ok);
    }
  }
}

/// Close this thread's open group of async copies (one per pipeline stage;
/// commit even when a stage loads nothing, so that group counts stay uniform).
/// Async copy of the f32 values src[c * stride], c < C, into C consecutive
/// floats at shared address dst (the lse and D of a query tile, one per
/// column of the kv kernel's score tile), one per thread of the first C;
/// c >= cols_valid gets `fill` by an ordinary store. Both are visible to
/// the CTA after the wait of the group the copies join and a barrier.
template <int NTHREADS, int C>
FG_DEVICE void load_cols_async(u32 dst, const float* src, i64 stride, int cols_valid, float fill) {
  static_assert(C <= NTHREADS, "load_cols_async: one column per thread");
  const int c = ptx::thread_id();
  if (c >= C) return;
  if (c < cols_valid)
    ptx::cp_async_4(dst + u32(c) * 4u, src + c * stride);
  else
    ptx::st_shared_b32(dst + u32(c) * 4u, ptx::float_as_u32(fill));
}

FG_DEVICE void commit() { ptx::cp_async_commit(); }

/// Wait until at most N of this thread's groups are in flight. Other
/// threads' copies are visible only after a following cta::sync().
template <int N> FG_DEVICE void wait() { ptx::cp_async_wait<N>(); }

/// Barrier over the whole CTA.
FG_DEVICE void sync() { ptx::cta_sync(); }

}  // namespace cta
}  // namespace fg

#endif  // FLASHGEN_DEVICE_COPY_CUH
