//===- wgmma.cuh - flashgen device library: sm_90a warpgroup tiles, GEMMs -===//
//
// The warpgroup (wgmma) path of the attention kernels, algorithm "flash3":
//
//  - wg_tile<T, ROWS, COLS>: a shared tile in the layout wgmma reads with a
//    128-byte-swizzle matrix descriptor. The tile is cut into COLS/64
//    column slabs of ROWS x 64 elements (128-byte rows), slab s holding
//    columns [64s, 64s+64) of every row; in a slab, row r is at r*128 and its
//    16-byte chunk c (columns 8c..8c+7 of the slab) at chunk c ^ (r % 8).
//    With the slab 1024-byte aligned this is the PTX ISA's 128B swizzle
//    (Swizzle<3,4,3> on the byte address: bits 4-6 ^= bits 7-9) of both the
//    K-major atom (8 rows x 128 bytes of K) and the MN-major atom (8 rows of
//    K x 128 bytes of MN), so one tile of rows-of-d serves as K-major operand
//    (Q and K in S = Q K^T) and as MN-major operand (V in O += P V).
//    For COLS = 64 it is byte for byte smem_tile<T, ROWS, 64>.
//  - wg::load_async: cp.async loads into a wg_tile with zero-filled rows past
//    rows_valid (copy.cuh's contract); wg::wait_tiles adds the proxy fence
//    that must separate those generic-proxy writes from wgmma's reads.
//  - wg::issue_ABt (S = Q K^T, both from shared memory), wg::issue_rAB
//    (O += P V, P from registers), wg::issue_AtB (dQ = dS K, both read
//    MN-major), wg::mma_wait: the warpgroup GEMMs; wg::store_acc puts an
//    accumulator into a wg_tile for a later product to read. Each
//    warp holds its 16 rows of the warpgroup's 64 as an acc_tile<16, N>
//    (see wgmma_ptx.cuh), so fragment.cuh, softmax.cuh and the emitter's
//    for_each lambdas work on them unchanged.
//  - wg::store_rows: the epilogue, staged through the warp's own rows of a
//    wg_tile (the Q tile).
//
// Descriptor fields (PTX ISA "Matrix Descriptor Format" for wgmma): start
// address >> 4 in bits 0-13, leading-dimension byte offset >> 4 in 16-29,
// stride-dimension byte offset >> 4 in 32-45, base offset 0 (every swizzle
// pattern starts on a 1024-byte boundary), swizzle mode 1 (128B) in 62-63.
// K-major, 128B swizzle: canonical ((8,m),(8,2k)):((64,SBO),(1,8)) elements,
// SBO = 1024 bytes (8 rows of 128), LBO unused (1). MN-major, 128B swizzle:
// ((8,8,m),(8,k)):((1,8,LBO),(64,SBO)), LBO = the byte distance of the next
// 64 MN elements (one slab: ROWS*128), SBO = that of the next 8 K rows (1024).
// A K step of 16 inside a slab moves the K-major start address by 32 bytes.
//
// The wgmma path needs sm_90a; other passes see an empty header.
//
//===----------------------------------------------------------------------===//
#ifndef FLASHGEN_DEVICE_WGMMA_CUH
#define FLASHGEN_DEVICE_WGMMA_CUH

#include "flashgen/device/matmul/wgmma_ptx.cuh"

#if defined(FG_HAVE_WGMMA)

#include "flashgen/device/matmul/fragment.cuh"

namespace fg {

/// ROWS x COLS tile of T (bf16/f16) in shared memory in the wgmma 128-byte
/// swizzle layout (COLS/64 slabs of ROWS x 64). base must be 1024-byte aligned.
template <class T, int ROWS, int COLS> struct wg_tile {
  static_assert(dtype<T>::bytes == 2, "wg_tile: 16-bit element types only");
  static_assert(ROWS > 0 && ROWS % 8 == 0, "wg_tile: ROWS must be a multiple of 8");
  static_assert(COLS > 0 && COLS % 64 == 0, "wg_tile: COLS must be a multiple of 64 (128-byte rows)");
  static constexpr int kRows = ROWS;
  static constexpr int kCols = COLS;
  static constexpr int kChunkElems = 8;           ///< elements per 16-byte chunk
  static constexpr int kChunks = COLS / 8;        ///< 16-byte chunks per row
  static constexpr int kSlabs = COLS / 64;        ///< 64-column slabs
  static constexpr int kSlabBytes = ROWS * 128;   ///< one slab; a multiple of 1024
  static constexpr int kBytes = kSlabs * kSlabBytes;
  static_assert(kSlabBytes >> 4 < (1 << 14), "wg_tile: slab too large for a descriptor offset");

  using elem_type = T;

  /// Shared-window address of the tile's first byte (1024-byte aligned).
  u32 base;

  /// Byte offset of logical 16-byte chunk c (columns 8c..8c+7) of row r.
  static FG_HOST_DEVICE constexpr u32 offset(int r, int c) {
    return u32((c >> 3) * kSlabBytes + r * 128 + (((c & 7) ^ (r & 7)) << 4));
  }
  /// Shared address of logical chunk c of row r.
  FG_DEVICE u32 chunk_addr(int r, int c) const { return base + offset(r, c); }
  /// Shared address of chunk c0 + lc of row r0 + lr, the form ldmatrix
  /// lanes use (smem_tile::frag_addr's contract: r0 % 8 == 0, c0 even, lc in
  /// {0, 1}), so that the mma.sync fragment loads (mma.cuh) read a wg_tile
  /// too.
  FG_DEVICE u32 frag_addr(int r0, int c0, int lr, int lc) const {
    return base + u32((c0 >> 3) * kSlabBytes + (r0 + lr) * 128) + u32((((c0 & 7) | lc) ^ (lr & 7)) << 4);
  }
  /// Shared address of element (r, col).
  FG_DEVICE u32 elem_addr(int r, int col) const { return chunk_addr(r, col >> 3) + u32((col & 7) * 2); }
};

namespace wg {

/// Alignment the wgmma swizzle patterns need, and the slack a shared-memory
/// plan adds so that smem_base() can round up to it.
constexpr int kSmemAlign = 1024;

/// The CTA's dynamic shared memory, rounded up to 1024 bytes (a no-op when
/// the allocation is already aligned; the plan reserves kSmemAlign extra).
FG_DEVICE u32 smem_base() {
  const u32 a = ptx::smem_addr(ptx::dynamic_smem());
  return (a + u32(kSmemAlign - 1)) & ~u32(kSmemAlign - 1);
}

/// Index of this thread's warpgroup and of its warp within the warpgroup.
FG_DEVICE int warpgroup() { return ptx::thread_id() / 128; }
FG_DEVICE int warp_in_group() { return (ptx::thread_id() / 32) & 3; }

// ---- loads ------------------------------------------------------------------

/// load_async done by NTHREADS threads whose index among them is tid (e.g.
/// the 128 threads of a producer warpgroup).
template <int NTHREADS, class T, int ROWS, int COLS>
FG_DEVICE void load_async_by(const wg_tile<T, ROWS, COLS>& dst, const T* src, i64 row_stride, int rows_valid,
                             int tid) {
  using Tile = wg_tile<T, ROWS, COLS>;
  constexpr int kTotal = ROWS * Tile::kChunks;
  static_assert(NTHREADS % 32 == 0, "load_async: whole warps");
  constexpr int kIters = (kTotal + NTHREADS - 1) / NTHREADS;
  constexpr bool kExact = kTotal % NTHREADS == 0;
  if constexpr (NTHREADS % Tile::kChunks == 0 && (NTHREADS / Tile::kChunks) % 8 == 0) {
    // One column chunk per thread, rows kRowStep apart: the swizzle key
    // (row % 8) is fixed, so addresses are a register plus immediates.
    constexpr int kRowStep = NTHREADS / Tile::kChunks;
    const int r0 = tid / Tile::kChunks;
    const int c = tid % Tile::kChunks;
    const u32 s0 = dst.chunk_addr(r0, c);
    const int rv = rows_valid - r0;
    const T* g = src + r0 * row_stride + c * Tile::kChunkElems;
    const i64 g_step = kRowStep * row_stride;
    FG_UNROLL
    for (int i = 0; i < kIters; ++i) {
      if (kExact || i < kIters - 1 || r0 + i * kRowStep < ROWS) {
        const bool ok = i * kRowStep < rv;
        ptx::cp_async_16(s0 + u32(i * kRowStep * 128), ok ? g : src, ok);
      }
      g += g_step;
    }
  } else if constexpr (NTHREADS % 64 == 0) {
    // Wide rows (COLS = 256: 32 chunks, so the row step above would break
    // the fixed swizzle key): slab by slab instead. Thread tid copies chunk
    // tid % 8 of rows tid / 8 + i * kRowStep in every 64-column slab; the
    // row step is a multiple of 8, so one shared and one global address
    // plus immediates cover the tile and the copy needs few registers (a
    // producer warpgroup runs it on 24).
    constexpr int kRowStep = NTHREADS / 8;
    constexpr int kRowIters = (ROWS + kRowStep - 1) / kRowStep;
    const int r0 = tid / 8;
    const int c = tid % 8;
    const u32 s0 = dst.chunk_addr(r0, c);
    const int rv = rows_valid - r0;
    const T* g = src + r0 * row_stride + c * Tile::kChunkElems;
    const i64 g_step = kRowStep * row_stride;
    FG_UNROLL
    for (int i = 0; i < kRowIters; ++i) {
      if (ROWS % kRowStep == 0 || r0 + i * kRowStep < ROWS) {
        const bool ok = i * kRowStep < rv;
        FG_UNROLL
        for (int j = 0; j < Tile::kSlabs; ++j)
          ptx::cp_async_16(s0 + u32(j * Tile::kSlabBytes + i * kRowStep * 128), ok ? g + j * 64 : src, ok);
      }
      g += g_step;
    }
  } else {
    FG_UNROLL
    for (int i = 0; i < kIters; ++i) {
      const int idx = tid + i * NTHREADS;
      if (kExact || idx < kTotal) {
        const int r = idx / Tile::kChunks;
        const int c = idx % Tile::kChunks;
        const bool ok = r < rows_valid;
        const T* g = ok ? src + r * row_stride + c * Tile::kChunkElems : src;
        ptx::cp_async_16(dst.chunk_addr(r, c), g, ok);
      }
    }
  }
}

/// Async copy of global rows [0, ROWS) of src (row_stride elements apart) into
/// dst; rows >= rows_valid (may be <= 0) become zeros and are not read.
/// Every thread of the CTA calls it; the copies join this thread's open
/// cp.async group (cta::commit / wait_tiles as for cta::load_async). The
/// tile's chunks need not divide among the threads (384-thread CTAs).
template <int NTHREADS, class T, int ROWS, int COLS>
FG_DEVICE void load_async(const wg_tile<T, ROWS, COLS>& dst, const T* src, i64 row_stride, int rows_valid) {
  load_async_by<NTHREADS>(dst, src, row_stride, rows_valid, ptx::thread_id());
}

/// Wait until at most N of this thread's cp.async groups are in flight, then
/// fence its landed copies for the async proxy. A cta::sync() must follow
/// before any warpgroup's wgmma reads the tiles.
template <int N> FG_DEVICE void wait_tiles() {
  ptx::cp_async_wait<N>();
  ptx::fence_proxy_async_smem();
}

// ---- descriptors ----------------------------------------------------------

/// Swizzle-mode field: 128-byte swizzle.
constexpr u64 kDescSwizzle128 = u64(1) << 62;

/// matrix-descriptor-encode(x) = (x & 0x3FFFF) >> 4.
FG_HOST_DEVICE constexpr u64 desc_encode(u32 x) { return u64((x & 0x3FFFFu) >> 4); }

/// Descriptor of a K-major operand: rows [r0, r0 + 8m) (the M or N index) and
/// columns [k0, k0 + 16) (the K index) of t; r0 % 8 == 0, k0 % 16 == 0.
template <class Tile> FG_DEVICE u64 desc_k_major(const Tile& t, int r0, int k0) {
  const u32 addr = t.base + u32((k0 >> 6) * Tile::kSlabBytes + r0 * 128 + (k0 & 63) * 2);
  return desc_encode(addr) | (u64(1) << 16) | (desc_encode(1024) << 32) | kDescSwizzle128;
}

/// Descriptor of an MN-major operand: rows [k0, k0 + 16) of t are the K
/// index, columns [n0, n0 + N) the N index; k0 % 16 == 0, n0 % 64 == 0.
template <class Tile> FG_DEVICE u64 desc_mn_major(const Tile& t, int k0, int n0) {
  const u32 addr = t.base + u32((n0 >> 6) * Tile::kSlabBytes + k0 * 128);
  return desc_encode(addr) | (desc_encode(Tile::kSlabBytes) << 16) | (desc_encode(1024) << 32) | kDescSwizzle128;
}

// ---- GEMMs -----------------------------------------------------------------

/// Pins every accumulator of a warp's share (see ptx::reg_fence).
template <int C> FG_DEVICE void reg_fence(acc_tile<16, C>& c) {
  FG_UNROLL
  for (int n = 0; n < acc_tile<16, C>::kNT; ++n)
    FG_UNROLL
    for (int e = 0; e < 4; ++e) ptx::reg_fence(c.v[0][n][e]);
}

/// Issues c (this warp's 16 rows of the warpgroup's 64 x N) = A * B^T (one
/// commit group, not waited): A = rows [a_row0, a_row0 + 64) of a, all its K
/// columns; B^T = rows [0, N) of b (N = C, its columns = K). S = Q K^T, with
/// a_row0 the warpgroup's first row. Both operands K-major from shared memory.
/// zero_init: c = A B^T; otherwise c += A B^T.
template <int C, class T, int AR, int BR, int K>
FG_DEVICE void issue_ABt(acc_tile<16, C>& c, const wg_tile<T, AR, K>& a, int a_row0, const wg_tile<T, BR, K>& b,
                         bool zero_init = true) {
  static_assert(C <= BR, "issue_ABt: B has fewer rows than the product has columns");
  static_assert(C % 16 == 0 && C <= 256, "issue_ABt: N = 16..256, a multiple of 16");
  static_assert(K % 16 == 0, "issue_ABt: K a multiple of 16");
  ptx::wgmma_fence();
  const u64 da = desc_k_major(a, a_row0, 0);
  const u64 db = desc_k_major(b, 0, 0);
  FG_UNROLL
  for (int k = 0; k < K / 16; ++k) {
    // K step k: slab k/4, 32 bytes further per step inside the slab.
    const u64 step_a = desc_encode(u32((k >> 2) * wg_tile<T, AR, K>::kSlabBytes + (k & 3) * 32));
    const u64 step_b = desc_encode(u32((k >> 2) * wg_tile<T, BR, K>::kSlabBytes + (k & 3) * 32));
    ptx::wgmma_ss<T, C, 0>(c.v[0], da + step_a, db + step_b, (k > 0 || !zero_init) ? 1 : 0);
  }
  ptx::wgmma_commit();
}

/// Issues c (this warp's 16 rows of the warpgroup's 64 x N) += P * B (one
/// commit group, not waited): P in registers (this warp's 16 rows, K = KP
/// columns), B = rows [0, KP), columns [0, N) of b, read N-major (b holds B
/// as [K][N] rows: V for O += P V). PV_N columns per instruction: N (one
/// wgmma per K step, LBO steps between the 64-column slabs) or 64 (one per
/// slab and K step, LBO never used).
template <int PV_N = 0, int C, class T, int KP, int BR, int BC>
FG_DEVICE void issue_rAB(acc_tile<16, C>& c, const a_tile<T, 16, KP>& p, const wg_tile<T, BR, BC>& b) {
  constexpr int kN = PV_N == 0 ? C : PV_N;
  static_assert(kN == C || kN == 64, "issue_rAB: PV_N is 0 (all of N) or 64");
  static_assert(C <= BC && C % 64 == 0 && C <= 256, "issue_rAB: N a multiple of 64, at most 256 and the tile's width");
  static_assert(KP <= BR, "issue_rAB: B has fewer rows than P has columns");
  ptx::wgmma_fence();
  const u64 db = desc_mn_major(b, 0, 0);
  FG_UNROLL
  for (int k = 0; k < KP / 16; ++k) {
    if constexpr (kN == C) {
      ptx::wgmma_rs<T, C, 1>(c.v[0], p.v[0][k], db + desc_encode(u32(k * 16 * 128)), 1);
    } else {
      FG_UNROLL
      for (int s = 0; s < C / 64; ++s) {
        // Columns [64s, 64s + 64): accumulator groups 8s..8s+7.
        float(&d)[8][4] = *reinterpret_cast<float(*)[8][4]>(&c.v[0][8 * s][0]);
        ptx::wgmma_rs<T, 64, 1>(d, p.v[0][k],
                                db + desc_encode(u32(s * wg_tile<T, BR, BC>::kSlabBytes + k * 16 * 128)), 1);
      }
    }
  }
  ptx::wgmma_commit();
}

/// Issues c (this warp's 16 rows of the warpgroup's 64 x N) = A * B (one
/// commit group, not waited), both operands MN-major from shared memory:
/// A^T is held by `at` (rows = K, columns = M; A = its columns [a_col0,
/// a_col0 + 64)), B by `b` (rows = K, columns = N; B = its columns [b_col0,
/// b_col0 + N)), K = at's rows. dQ = dS K of flash3_grad's kv kernel: dS^T
/// staged as [key][query] rows, K resident as [key][d] rows.
template <int C, class T, int KR, int AC, int BR, int BC>
FG_DEVICE void issue_AtB(acc_tile<16, C>& c, const wg_tile<T, KR, AC>& at, int a_col0, const wg_tile<T, BR, BC>& b,
                         int b_col0) {
  static_assert(KR <= BR && KR % 16 == 0, "issue_AtB: K = A^T's rows, a multiple of 16, at most B's rows");
  // The 128-byte-swizzle MN-major atom is 64 elements wide.
  static_assert(C % 64 == 0 && C <= 256 && C <= BC, "issue_AtB: N a multiple of 64, at most 256 and B's width");
  ptx::wgmma_fence();
  const u64 da = desc_mn_major(at, 0, a_col0);
  const u64 db = desc_mn_major(b, 0, b_col0);
  FG_UNROLL
  for (int k = 0; k < KR / 16; ++k) {
    // K step k: 16 rows (of 128 bytes) further in both tiles.
    const u64 step = desc_encode(u32(k * 16 * 128));
    ptx::wgmma_ss<T, C, 1, 1>(c.v[0], da + step, db + step, k > 0 ? 1 : 0);
  }
  ptx::wgmma_commit();
}

/// Writes this warp's acc (16 x C), rounded to T, into rows [row0, row0 +
/// 16), columns [0, C) of t with ordinary (generic-proxy) stores.
template <class T, int C, int TR, int TC>
FG_DEVICE void write_acc(const wg_tile<T, TR, TC>& t, int row0, const acc_tile<16, C>& acc) {
  static_assert(C <= TC, "write_acc: the tile is narrower than the accumulator");
  const int lane = ptx::lane_id();
  FG_UNROLL
  for (int n = 0; n < acc_tile<16, C>::kNT; ++n)
    FG_UNROLL
    for (int h = 0; h < 2; ++h) {
      const int r = row0 + (lane >> 2) + 8 * h;
      const int col = n * 8 + ((lane & 3) << 1);
      ptx::st_shared_b32(t.elem_addr(r, col), pack2<T>(acc.v[0][n][2 * h], acc.v[0][n][2 * h + 1]));
    }
}

/// write_acc, then a fence of the stores for the async proxy: a barrier
/// after it lets every warpgroup's wgmma read the tile (dS^T before dQ =
/// dS K).
template <class T, int C, int TR, int TC>
FG_DEVICE void store_acc(const wg_tile<T, TR, TC>& t, int row0, const acc_tile<16, C>& acc) {
  write_acc(t, row0, acc);
  ptx::fence_proxy_async_smem();
}

/// Waits until at most N of this warpgroup's wgmma groups are pending, then
/// pins the accumulators so that no read of them moves before the wait.
template <int N, int C> FG_DEVICE void mma_wait(acc_tile<16, C>& c) {
  ptx::wgmma_wait<N>();
  reg_fence(c);
}

/// mma_wait for two accumulators (e.g. S and O when both were in flight).
template <int N, int C1, int C2> FG_DEVICE void mma_wait(acc_tile<16, C1>& c1, acc_tile<16, C2>& c2) {
  ptx::wgmma_wait<N>();
  reg_fence(c1);
  reg_fence(c2);
}

/// c = A B^T (issue_ABt) and wait for it.
template <int C, class T, int AR, int BR, int K>
FG_DEVICE void mma_ABt(acc_tile<16, C>& c, const wg_tile<T, AR, K>& a, int a_row0, const wg_tile<T, BR, K>& b) {
  issue_ABt(c, a, a_row0, b);
  mma_wait<0>(c);
}

/// c += P B (issue_rAB) and wait for it.
template <int PV_N = 0, int C, class T, int KP, int BR, int BC>
FG_DEVICE void mma_rAB(acc_tile<16, C>& c, const a_tile<T, 16, KP>& p, const wg_tile<T, BR, BC>& b) {
  issue_rAB<PV_N>(c, p, b);
  mma_wait<0>(c);
}

// ---- epilogue --------------------------------------------------------------

/// Store this warp's acc (16 x C) to global rows 0..15 of dst (row_stride
/// elements apart), skipping rows >= rows_valid, staged through columns
/// [0, C) of rows [stage_row0, stage_row0 + 16) of stage, which only this
/// warp may touch meanwhile (its own Q rows, once its last wgmma that
/// reads them has completed). The stage may be wider than C: O of Dv
/// columns goes out through a Q tile of D >= Dv (MLA's 192 / 128).
template <class T, int C, int TR, int TC>
FG_DEVICE void store_rows(T* dst, i64 row_stride, int rows_valid, const acc_tile<16, C>& acc,
                          const wg_tile<T, TR, TC>& stage, int stage_row0) {
  static_assert(C <= TC, "store_rows: the stage tile is narrower than the accumulator");
  using Tile = wg_tile<T, TR, TC>;
  constexpr int kChunks = C / Tile::kChunkElems;  // 16-byte chunks of a stored row
  const int lane = ptx::lane_id();
  ptx::warp_sync();
  write_acc(stage, stage_row0, acc);
  ptx::warp_sync();
  constexpr int kTotal = 16 * kChunks;
  static_assert(kTotal % 32 == 0, "store_rows: 16 rows of chunks divide among 32 lanes");
  FG_UNROLL
  for (int i = 0; i < kTotal / 32; ++i) {
    const int idx = lane + i * 32;
    const int r = idx / kChunks, c = idx % kChunks;
    if (r < rows_valid) {
      u32 v[4];
      ptx::ld_shared_v4(v, stage.chunk_addr(stage_row0 + r, c));
      ptx::st_global_v4(dst + r * row_stride + c * Tile::kChunkElems, v);
    }
  }
}

}  // namespace wg
}  // namespace fg

#endif  // FG_HAVE_WGMMA

#endif  // FLASHGEN_DEVICE_WGMMA_CUH
