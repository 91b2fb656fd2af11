//===- backward.cuh - flashgen device library: attention gradients --------===//
//
// The pieces of the attention backward kernels (flash.attention_grad,
// docs/semantics.md §2.6) beyond the tile products:
//   delta_rows      D_i = sum_e dO_ie O_ie, the prep kernel's row dots
//   load_rows       a warp's lse / D rows from global into a row_vec
//   load_cols       the same per column (the kv kernel's S^T tile)
//   smem_cols       per-column values staged in shared memory instead
//                   (cta::load_cols_async), read at each use
//   grad_probabilities  P = exp(s - lse) recomputed from the forward's lse
//   score_grad      dS = P (dP - D), the softmax's backward
//   atomic_add_rows a warp's dQ partial added into the f32 workspace
//   scale_rows_to   the f32 workspace scaled and rounded into dq
//   dq_block_*      the same for flash3_grad's blocked workspace: column
//                   blocks of 64, rows in groups of 16 that one bulk
//                   reduction of the copy engine adds (reduce_add_block)
//   ring_arrivals   the warpgroup kv kernel's Q and dO ring copied with
//                   TMA (copy_tile_tma, wait_landed): one thread asks for a
//                   slot's tile, every thread waits on the slot's barrier
// Scores follow the forward's convention: the score tile holds q k^T (or,
// with a score_mod, the modified scaled score) and `c` turns it into an
// exp2 argument (kSoftmaxScale).
//
//===----------------------------------------------------------------------===//
#ifndef FLASHGEN_DEVICE_BACKWARD_CUH
#define FLASHGEN_DEVICE_BACKWARD_CUH

#include "flashgen/device/core/convert.cuh"
#include "flashgen/device/core/math.cuh"
#include "flashgen/device/matmul/fragment.cuh"
#include "flashgen/device/matmul/wgmma_ptx.cuh"
#include "flashgen/device/attention/wgmma_pipe.cuh"
#include "flashgen/device/memory/tma.cuh"

namespace fg {

/// flash3_grad's f32 dQ workspace, [B, H, D / 64, N16, 64] (N16 = N rounded
/// up to 16): a column block of 64 is rows of 64 floats, and the 16 rows a
/// warp adds at once are one contiguous 4 KiB block, which one bulk
/// reduction adds. Inside a row, float c sits at dq_block_col(r, c): 4-float
/// groups permuted by the row, which spreads a fragment's 4-byte stores to
/// the staged block (8 rows by 4 lanes of float pairs) over 16 banks, two
/// lanes a bank. A permutation with no conflicts (8-byte stores, 8-float
/// groups) measured no faster on an H100 (Nsight Compute: 67M conflicts
/// gone, the kernel's time the same; docs/results/attention-backward-anatomy-h100.json).
constexpr int kDqBlockCols = 64;
constexpr int kDqBlockRows = 16;
FG_HOST_DEVICE constexpr int dq_block_col(int r, int c) { return c ^ ((r & 7) << 2); }

namespace warp {

/// v[r] = src[r * stride] for this warp's rows r < rows_valid, `fill` past
/// them (all four lanes of a quad hold their row's value).
template <int R>
FG_DEVICE void load_rows(row_vec<R>& v, const float* src, i64 stride, int rows_valid, float fill) {
  const int lane = ptx::lane_id();
  FG_UNROLL
  for (int m = 0; m < R / 16; ++m)
    FG_UNROLL
    for (int h = 0; h < 2; ++h) {
      const int r = m * 16 + (lane >> 2) + 8 * h;
      v.v[m][h] = r < rows_valid ? src[r * stride] : fill;
    }
}

/// v[c] = src[c * stride] for the columns c < cols_valid this lane holds in
/// a C-column acc_tile, `fill` past them (the kv kernel's score tile has a
/// column per query row).
template <int C>
FG_DEVICE void load_cols(col_vec<C>& v, const float* src, i64 stride, int cols_valid, float fill) {
  const int lane = ptx::lane_id();
  FG_UNROLL
  for (int n = 0; n < C / 8; ++n)
    FG_UNROLL
    for (int i = 0; i < 2; ++i) {
      const int c = n * 8 + ((lane & 3) << 1) + i;
      v.v[n][i] = c < cols_valid ? src[c * stride] : fill;
    }
}

/// The C per-column values of a score tile (lse, D of the kv kernel's query
/// columns) held in shared memory (cta::load_cols_async) and read at each
/// use: the 2 C / 8 registers a col_vec would hold for the whole step are
/// what a warpgroup kernel with dK, dV and two score tiles in registers
/// lacks. p is a generic pointer into shared memory.
template <int C> struct smem_cols {
  const float* p;
};

/// The row_vec / col_vec value of accumulator element e of tile (m, n).
template <int R> FG_DEVICE float vec_at(const row_vec<R>& v, int m, int, int e) { return v.v[m][e >> 1]; }
template <int C> FG_DEVICE float vec_at(const col_vec<C>& v, int, int n, int e) { return v.v[n][e & 1]; }
template <int C> FG_DEVICE float vec_at(const smem_cols<C>& v, int, int n, int e) {
  return v.p[n * 8 + ((ptx::lane_id() & 3) << 1) + (e & 1)];
}

/// p = exp(s - lse) elementwise in exp2 form: s * c - lse * log2(e), c the
/// softmax scale of the score tile, lse per row (row_vec) or per column
/// (col_vec: the kv kernel's transposed tile); hidden scores (-inf) give 0,
/// and so does lse = +inf (rows past the end).
template <int R, int C, class Vec>
FG_DEVICE void grad_probabilities(acc_tile<R, C>& s, const Vec& lse, float c) {
  FG_UNROLL
  for (int m = 0; m < R / 16; ++m)
    FG_UNROLL
    for (int n = 0; n < acc_tile<R, C>::kNT; ++n)
      FG_UNROLL
      for (int e = 0; e < 4; ++e) {
        float& x = s.v[m][n][e];
        x = x == ptx::neg_inf() ? 0.0f : exp2_fast(x * c - vec_at(lse, m, n, e) * kLog2e);
      }
}

/// dp = p * (dp - D) in place: the gradient of the (modified) scores, D per
/// row or per column as for grad_probabilities.
template <int R, int C, class Vec>
FG_DEVICE void score_grad(acc_tile<R, C>& dp, const acc_tile<R, C>& p, const Vec& delta) {
  FG_UNROLL
  for (int m = 0; m < R / 16; ++m)
    FG_UNROLL
    for (int n = 0; n < acc_tile<R, C>::kNT; ++n)
      FG_UNROLL
      for (int e = 0; e < 4; ++e)
        dp.v[m][n][e] = p.v[m][n][e] * (dp.v[m][n][e] - vec_at(delta, m, n, e));
}

/// Adds acc to the f32 rows at dst (row_stride apart), rows < rows_valid,
/// with reductions that never return a value (red.global.add), a lane's
/// two adjacent columns in one (dst and row_stride even: the workspace is
/// the bundle's contiguous f32 scratch).
template <int R, int C>
FG_DEVICE void atomic_add_rows(float* dst, i64 row_stride, int rows_valid, const acc_tile<R, C>& acc) {
  const int lane = ptx::lane_id();
  FG_UNROLL
  for (int m = 0; m < R / 16; ++m)
    FG_UNROLL
    for (int h = 0; h < 2; ++h) {
      const int r = m * 16 + (lane >> 2) + 8 * h;
      if (r >= rows_valid) continue;
      FG_UNROLL
      for (int n = 0; n < acc_tile<R, C>::kNT; ++n) {
        const int c = n * 8 + ((lane & 3) << 1);
        ptx::red_add_f32x2(dst + r * row_stride + c, acc.v[m][n][2 * h], acc.v[m][n][2 * h + 1]);
      }
    }
}

/// D[r] = sum over columns of dO[r] * O[r] for this warp's `rows` rows
/// (rows < rows_valid; 0 past them), written to delta[r * delta_stride]:
/// lanes split the columns, a shuffle tree adds them.
template <class T, int COLS>
FG_DEVICE void delta_rows(float* delta, i64 delta_stride, const T* dout, i64 dout_stride, const T* out,
                          i64 out_stride, int rows, int rows_valid) {
  const int lane = ptx::lane_id();
  for (int r = 0; r < rows; ++r) {
    float acc = 0.0f;
    if (r < rows_valid)
      for (int c = lane; c < COLS; c += 32)
        acc += to_float(dout[r * dout_stride + c]) * to_float(out[r * out_stride + c]);
    acc = warp::warp_sum(acc);
    if (lane == 0 && r < rows_valid) delta[r * delta_stride] = acc;
  }
}

/// Zeroes the f32 rows [0, rows_valid) of COLS columns at dst.
template <int COLS>
FG_DEVICE void zero_rows(float* dst, i64 row_stride, int rows, int rows_valid) {
  const int lane = ptx::lane_id();
  for (int r = 0; r < rows && r < rows_valid; ++r)
    for (int c = lane; c < COLS; c += 32) dst[r * row_stride + c] = 0.0f;
}

/// Zeroes rows [0, rows_valid) (at most `rows`) of every column block of
/// the blocked workspace at dst (row r of block b at b * block_stride + r *
/// row_stride).
template <int COLS>
FG_DEVICE void dq_block_zero_rows(float* dst, i64 block_stride, i64 row_stride, int rows, int rows_valid) {
  const int lane = ptx::lane_id();
  for (int r = 0; r < rows && r < rows_valid; ++r)
    for (int c = lane; c < COLS; c += 32)
      dst[(c / kDqBlockCols) * block_stride + r * row_stride + c % kDqBlockCols] = 0.0f;
}

/// dst[r][c] = T(scale * the blocked workspace's (r, c)) for rows <
/// rows_valid (at most `rows`), COLS columns.
template <class T, int COLS>
FG_DEVICE void dq_block_scale_rows_to(T* dst, i64 dst_stride, const float* src, i64 block_stride, i64 row_stride,
                                      float scale, int rows, int rows_valid) {
  const int lane = ptx::lane_id();
  for (int r = 0; r < rows && r < rows_valid; ++r)
    for (int c = lane; c < COLS; c += 32)
      dst[r * dst_stride + c] = from_float<T>(
          src[(c / kDqBlockCols) * block_stride + r * row_stride + dq_block_col(r, c % kDqBlockCols)] * scale);
}

/// dst[r][c] = T(src[r][c] * scale) for rows < rows_valid, COLS columns.
template <class T, int COLS>
FG_DEVICE void scale_rows_to(T* dst, i64 dst_stride, const float* src, i64 src_stride, float scale, int rows,
                             int rows_valid) {
  const int lane = ptx::lane_id();
  for (int r = 0; r < rows && r < rows_valid; ++r)
    for (int c = lane; c < COLS; c += 32) dst[r * dst_stride + c] = from_float<T>(src[r * src_stride + c] * scale);
}

#if defined(FG_HAVE_WGMMA)
}  // namespace warp

/// The kv kernel's ring (flash.tile_load ... tma): an mbarrier per ring
/// (0: q, 1: dout) and slot, at the end of the kernel's shared memory
/// (schedule/AttentionGrad.h, kGradRingArrivalBytes each). The copy of a
/// slot's tile is one arrival and its bytes; every thread waits for the
/// phase of the slot's round before its products read the tile. A slot is
/// refilled only after the CTA barrier that follows every thread's last
/// read of it (the ring's cp.async order, kept), so no empty barriers.
template <int STAGES> struct ring_arrivals {
  u32 base;
  FG_DEVICE u32 bar(int ring, int slot) const { return base + 8u * u32(ring * STAGES + slot); }
};

/// Initialises the barriers when the launch copies with TMA (tma: its
/// tensor maps are not zero), then syncs the CTA.
template <int S> FG_DEVICE void init(const ring_arrivals<S>& a, bool tma) {
  if (tma && ptx::thread_id() == 0)
    for (int i = 0; i < 2 * S; ++i) ptx::mbar_init(a.base + 8u * u32(i), 1);
  ptx::cta_sync();
}

/// One thread: rows [row0, row0 + Tile::kRows) of (head, batch) of the
/// tensor `map` describes into `tile`, a box per 64-column slab, counted
/// in on barrier bar (rows past the tensor arrive as zeros).
template <class Tile>
FG_DEVICE void copy_tile_tma(const Tile& tile, const tensor_map* map, int row0, int head, int batch, u32 bar) {
  ptx::mbar_arrive_expect_tx(bar, u32(Tile::kBytes));
  FG_UNROLL
  for (int slab = 0; slab < Tile::kSlabs; ++slab)
    ptx::tma_load_4d(tile.base + u32(slab * Tile::kSlabBytes), map, slab * 64, row0, head, batch, bar);
}

/// Waits until the tile of ring `ring`'s round `round` has landed.
template <int S> FG_DEVICE void wait_landed(const ring_arrivals<S>& a, int ring, int round) {
  wg::mbar_wait(a.bar(ring, round % S), u32((round / S) & 1));
}

namespace warp {
/// Adds this warp's acc (16 x 64 f32: rows [r0, r0 + 16) of one column
/// block, r0 % 16 == 0) into the blocked workspace's block at dst (its row
/// r0, whose 16 rows are contiguous: row stride 64), staged through `stage`
/// (4 KiB of shared memory only this warp uses), with one bulk reduction of
/// the copy engine (cp.reduce.async.bulk .add.f32) that lane 0 issues.
/// rows_valid <= 0 (a group past the last query) adds nothing; rows past
/// rows_valid in a group add the zeros the kernel computed there (padding
/// rows of the workspace, never read). The reduction runs on while the
/// warp goes on; the next call first waits until it has read the staging,
/// and the kernel waits for all of them (ptx::bulk_wait) before it ends.
FG_DEVICE void reduce_add_block(float* dst, int rows_valid, const acc_tile<16, kDqBlockCols>& acc, u32 stage) {
  const int lane = ptx::lane_id();
  if (lane == 0) ptx::bulk_wait_read<0>();  // the previous block has been read
  ptx::warp_sync();
  if (rows_valid <= 0) return;
  FG_UNROLL
  for (int n = 0; n < acc_tile<16, kDqBlockCols>::kNT; ++n)
    FG_UNROLL
    for (int h = 0; h < 2; ++h) {
      const int r = (lane >> 2) + 8 * h;
      const int c = dq_block_col(r, n * 8 + ((lane & 3) << 1));
      const u32 at = stage + u32((r * kDqBlockCols + c) * 4);
      ptx::st_shared_b32(at, ptx::float_as_u32(acc.v[0][n][2 * h]));
      ptx::st_shared_b32(at + 4, ptx::float_as_u32(acc.v[0][n][2 * h + 1]));
    }
  ptx::fence_proxy_async_smem();
  ptx::warp_sync();
  if (lane == 0) {
    ptx::bulk_reduce_add_f32(dst, stage, u32(kDqBlockRows * kDqBlockCols * 4));
    ptx::bulk_commit();
  }
}
#endif  // FG_HAVE_WGMMA

}  // namespace warp
}  // namespace fg

#endif  // FLASHGEN_DEVICE_BACKWARD_CUH
