//===- paged.cuh - flashgen device library: tile copies from page pools ---===//
//
// A paged KV cache keeps a sequence's keys in pages of PAGE rows scattered
// over a pool; row j of sequence b is row j % PAGE of page table[b][j /
// PAGE] (dialect/PagedKv.h). These copies look the pages up and copy like
// cta::load_async: rows at or past rows_valid are zero-filled and their
// pages never looked up. A page id outside [0, pool_pages) reads the
// nearest page in range, so no table makes a copy leave the pool.
//
//===----------------------------------------------------------------------===//
#ifndef FLASHGEN_DEVICE_PAGED_CUH
#define FLASHGEN_DEVICE_PAGED_CUH

#include "flashgen/device/memory/copy.cuh"

namespace fg {
namespace paged {

/// Page id `i` of a sequence's table row (entries table_stride apart),
/// clamped into the pool.
FG_DEVICE i64 page_of(const int* table, i64 table_stride, int i, i64 pool_pages) {
  const int id = table[i64(i) * table_stride];
  return id < 0 ? i64(0) : (i64(id) >= pool_pages ? pool_pages - 1 : i64(id));
}

/// Async copy of rows [row0, row0 + ROWS) of one sequence's paged tensor
/// into dst: `pool` points at the head's first element of page 0 (pages
/// page_stride elements apart, rows row_stride apart inside a page),
/// `table` at the sequence's table row. Every thread of the CTA calls it.
template <int NTHREADS, int PAGE, class T, int ROWS, int COLS>
FG_DEVICE void load_async(const smem_tile<T, ROWS, COLS>& dst, const T* pool, i64 page_stride, i64 row_stride,
                          const int* table, i64 table_stride, i64 pool_pages, int row0, int rows_valid) {
  static_assert(PAGE >= 1, "paged::load_async: pages hold at least one row");
  if constexpr (PAGE % ROWS == 0) {
    // Tiles start at multiples of ROWS, so the whole tile lies in one page:
    // one lookup, then the contiguous copy.
    const i64 page = rows_valid > 0 ? page_of(table, table_stride, row0 / PAGE, pool_pages) : 0;
    cta::load_async<NTHREADS>(dst, pool + page * page_stride + i64(row0 % PAGE) * row_stride, row_stride,
                              rows_valid);
  } else {
    // Pages smaller than a tile, or not a multiple of it: a page per row.
    // Every page id is read before the first copy is issued: the copies
    // are volatile asm with a memory clobber, so a read placed between
    // them would wait for the one before it, a table latency per row. Rows
    // past rows_valid read row0's entry (always in the table) and copy
    // zeros.
    using Tile = smem_tile<T, ROWS, COLS>;
    constexpr int kTotal = ROWS * Tile::kChunks;
    static_assert(kTotal % NTHREADS == 0, "paged::load_async: tile chunks must divide among the threads");
    constexpr int kIters = kTotal / NTHREADS;
    const int tid = ptx::thread_id();
    i64 page[kIters];
    FG_UNROLL
    for (int i = 0; i < kIters; ++i) {
      const int r = (tid + i * NTHREADS) / Tile::kChunks;
      const int key = row0 + (r < rows_valid ? r : 0);
      page[i] = rows_valid > 0 ? page_of(table, table_stride, key / PAGE, pool_pages) : 0;
    }
    FG_UNROLL
    for (int i = 0; i < kIters; ++i) {
      const int idx = tid + i * NTHREADS;
      const int r = idx / Tile::kChunks, c = idx % Tile::kChunks;
      const bool ok = r < rows_valid;
      const int key = row0 + r;
      const T* g = ok ? pool + page[i] * page_stride + i64(key % PAGE) * row_stride + c * Tile::kChunkElems : pool;
      ptx::cp_async_16(dst.chunk_addr(r, c), g, ok);
    }
  }
}

}  // namespace paged
}  // namespace fg

#endif  // FLASHGEN_DEVICE_PAGED_CUH
