//===- decode.cuh - flashgen device library: flash_decode's packed rows ---===//
//
// flash_decode packs the G query heads of a kv head into one tile's rows:
// packed row r is token r / G of query head r % G, counted from the group's
// first head, so one K/V stream serves the whole group. These are its
// copies and stores for that row order, the split kernel's f32 partial
// rows, and the merge of the key splits by log-sum-exp
// (passes/LowerAttentionDecode.cpp, flash.split_store / flash.split_merge).
//
//===----------------------------------------------------------------------===//
#ifndef FLASHGEN_DEVICE_DECODE_CUH
#define FLASHGEN_DEVICE_DECODE_CUH

#include "flashgen/device/attention/epilogue.cuh"
#include "flashgen/device/attention/softmax.cuh"
#include "flashgen/device/memory/smem_tile.cuh"

namespace fg {
namespace decode {

/// Elements from the group's first head to packed row r of a [.., H, N, D]
/// tensor with head stride hs and row stride rs.
template <int G> FG_DEVICE i64 packed_offset(int r, i64 hs, i64 rs) {
  return i64(r % G) * hs + i64(r / G) * rs;
}

/// Async copy of packed rows [row0, row0 + ROWS) of src (the group's first
/// head) into dst; rows at or past rows_valid (a count from row0) become
/// zeros. Every thread of the CTA calls it.
template <int NTHREADS, int G, class T, int ROWS, int COLS>
FG_DEVICE void load_packed_async(const smem_tile<T, ROWS, COLS>& dst, const T* src, i64 hs, i64 rs,
                                 int row0, int rows_valid) {
  using Tile = smem_tile<T, ROWS, COLS>;
  constexpr int kTotal = ROWS * Tile::kChunks;
  static_assert(kTotal % NTHREADS == 0, "load_packed_async: tile chunks must divide among the threads");
  const int tid = ptx::thread_id();
  FG_UNROLL
  for (int i = 0; i < kTotal / NTHREADS; ++i) {
    const int idx = tid + i * NTHREADS;
    const int r = idx / Tile::kChunks, c = idx % Tile::kChunks;
    const bool ok = r < rows_valid;
    const T* g = ok ? src + packed_offset<G>(row0 + r, hs, rs) + c * Tile::kChunkElems : src;
    ptx::cp_async_16(dst.chunk_addr(r, c), g, ok);
  }
}

/// This warp's finalized rows (packed rows row0 + r, r < rows_valid) to dst,
/// as T: 4-byte stores from registers (a decode tile has few rows).
template <int G, class T, int R, int C>
FG_DEVICE void store_packed_rows(T* dst, i64 hs, i64 rs, int row0, int rows_valid, const acc_tile<R, C>& acc) {
  warp::store_rows_direct_at<T>([&](int r) { return dst + packed_offset<G>(row0 + r, hs, rs); }, rows_valid,
                                acc);
}

/// The rows' natural-log log-sum-exp (after finalize) to dst at the packed
/// rows' places (head stride hs, row stride rs); one lane per quad writes.
template <int G, int R>
FG_DEVICE void store_packed_lse(float* dst, i64 hs, i64 rs, int row0, int rows_valid, const softmax_state<R>& st,
                                float c) {
  row_vec<R> v;
  warp::lse(v, st, c);
  warp::store_row_vec_at([&](int r) { return dst + packed_offset<G>(row0 + r, hs, rs); }, rows_valid, v);
}

/// A split's finalized rows as f32 to rows r < rows_valid of dst (row-major,
/// C floats a row), and their log-sum-exp to lse[r].
template <int R, int C>
FG_DEVICE void store_partial_rows(float* dst, float* lse_dst, int rows_valid, const acc_tile<R, C>& acc,
                                  const softmax_state<R>& st, float c) {
  const int lane = ptx::lane_id();
  row_vec<R> v;
  warp::lse(v, st, c);
  FG_UNROLL
  for (int m = 0; m < acc_tile<R, C>::kMT; ++m)
    FG_UNROLL
    for (int h = 0; h < 2; ++h) {
      const int r = m * 16 + (lane >> 2) + 8 * h;
      if (r < rows_valid) {
        float* row = dst + i64(r) * C;
        FG_UNROLL
        for (int n = 0; n < acc_tile<R, C>::kNT; ++n) {
          float* dst2 = row + n * 8 + ((lane & 3) << 1);
          dst2[0] = acc.v[m][n][2 * h];
          dst2[1] = acc.v[m][n][2 * h + 1];
        }
        if ((lane & 3) == 0) lse_dst[r] = v.v[m][h];
      }
    }
}

/// The shared memory merge_key_warps uses for KW key warps per row group,
/// RW row groups of R rows and C output columns: a lane of each key warp
/// but the first writes kLaneFloats (its rows' output fragments, then each
/// 16-row tile's 2 row maxima and 2 partial sums); kBytes in all
/// (schedule/DecodeSplit.h's decodeKeyWarpMergeBytes, which the space
/// checks against the ring).
template <int KW, int RW, int R, int C> struct key_warp_merge {
  static constexpr int kLaneFloats = acc_tile<R, C>::kMT * (acc_tile<R, C>::kNT * 4 + 4);
  static constexpr int kBytes = (KW - 1) * RW * 32 * kLaneFloats * 4;
};

/// flash_decode's key warps: warp w owns rows (w / KW) x R and reads key
/// slice w % KW of every tile, so each keeps an online softmax over its
/// own keys. After the last tile (the ring idle: its scratch is `scratch`,
/// the start of the dynamic shared memory) the states of a row group are
/// merged into its first key warp: m = max m_w, l = sum l_w 2^((m_w - m)
/// c), o = sum o_w 2^((m_w - m) c), lane by lane (the warps' fragments
/// hold the same rows and columns; l stays each lane's partial sum until
/// finalize). Rows every warp saw only -inf for stay m = -inf, l = 0.
/// Every thread of the CTA calls it (a barrier); afterwards only the key
/// warps with w % KW == 0 hold the result.
template <int KW, int R, int C>
FG_DEVICE void merge_key_warps(softmax_state<R>& st, acc_tile<R, C>& acc, float* scratch, float c) {
  constexpr int MT = acc_tile<R, C>::kMT, NT = acc_tile<R, C>::kNT;
  constexpr int kLane = key_warp_merge<KW, 1, R, C>::kLaneFloats;
  const int lane = ptx::lane_id(), warp = ptx::thread_id() / 32;
  const int key_warp = warp % KW, row_warp = warp / KW;
  // Slot i of a lane at scratch[(block * kLane + i) * 32 + lane]: a warp's
  // 32 lanes write one 128-byte row per slot.
  auto block = [&](int w) { return scratch + (row_warp * (KW - 1) + w - 1) * kLane * 32 + lane; };
  if (key_warp > 0) {
    float* mine = block(key_warp);
    int i = 0;
    FG_UNROLL
    for (int m = 0; m < MT; ++m)
      FG_UNROLL
      for (int h = 0; h < 2; ++h) {
        mine[32 * i++] = st.m.v[m][h];
        mine[32 * i++] = st.l.v[m][h];
      }
    FG_UNROLL
    for (int m = 0; m < MT; ++m)
      FG_UNROLL
      for (int n = 0; n < NT; ++n)
        FG_UNROLL
        for (int k = 0; k < 4; ++k) mine[32 * i++] = acc.v[m][n][k];
  }
  cta::sync();
  if (key_warp != 0) return;
  FG_UNROLL
  for (int w = 1; w < KW; ++w) {
    const float* other = block(w);
    float a[MT][2], b[MT][2];
    FG_UNROLL
    for (int m = 0; m < MT; ++m)
      FG_UNROLL
      for (int h = 0; h < 2; ++h) {
        const float mo = other[32 * (4 * m + 2 * h)], lo = other[32 * (4 * m + 2 * h + 1)];
        const float own = st.m.v[m][h], both = fmaxf(own, mo);
        // Both -inf: nothing seen; keep m = -inf, l = 0, o = 0.
        const float off = both == neg_inf() ? 0.0f : both * c;
        a[m][h] = ptx::ex2(own * c - off);
        b[m][h] = ptx::ex2(mo * c - off);
        st.m.v[m][h] = both;
        st.l.v[m][h] = st.l.v[m][h] * a[m][h] + lo * b[m][h];
      }
    int i = 4 * MT;
    FG_UNROLL
    for (int m = 0; m < MT; ++m)
      FG_UNROLL
      for (int n = 0; n < NT; ++n)
        FG_UNROLL
        for (int k = 0; k < 4; ++k) {
          const int h = k / 2;
          acc.v[m][n][k] = acc.v[m][n][k] * a[m][h] + other[32 * i++] * b[m][h];
        }
  }
}

/// The merge of `splits` partial rows (split s of row r at part[(r + s *
/// split_rows) * DV], its log-sum-exp at part_lse[r + s * split_rows]) for
/// packed rows row0 + r, r < rows_valid: lse = log sum exp(lse_s), o = sum
/// exp(lse_s - lse) o_s, written as T to o (and lse when not null) at the
/// packed places. A row no split saw (every lse_s = -inf) gets o = 0 and
/// lse = -inf. Each warp takes one (row, 32-column chunk) at a time, a
/// column per lane. The merge is a chain of dependent global loads, so
/// its time is their round trips (measured on the H200: 22 us for 33
/// splits when a warp walked 4 jobs with 3 passes over the lse and 8 loads
/// in flight): the first kAhead splits' values are loaded before the lse
/// pass and land during it; one pass over the lse (each lane a running
/// maximum and sum over its splits, then the lanes' pairs combined); the
/// remaining splits kAhead at a time, the last batch guarded rather than
/// serial.
template <int NTHREADS, int G, int DV, class T>
FG_DEVICE void merge_splits(T* o, i64 o_hs, i64 o_rs, float* lse, i64 lse_hs, i64 lse_rs, const float* part,
                            const float* part_lse, i64 split_rows, int splits, int row0, int rows_valid) {
  static_assert(DV % 32 == 0, "merge_splits: whole 32-column chunks");
  constexpr int kWarps = NTHREADS / 32, kChunks = DV / 32;
  constexpr int kAhead = 16;  // splits whose values are in flight at once
  const int lane = ptx::lane_id(), warp_id = ptx::thread_id() / 32;
  for (int job = warp_id; job < rows_valid * kChunks; job += kWarps) {
    const int r = job / kChunks, col = (job % kChunks) * 32 + lane;
    // The first kAhead splits' values do not depend on the lse: their
    // loads are issued before the lse pass and land during it.
    float first[kAhead];
    FG_UNROLL
    for (int u = 0; u < kAhead; ++u)
      first[u] = u < splits ? part[(r + u * split_rows) * DV + col] : 0.0f;
    // The lane's running maximum and sum of exp(lse_s - maximum).
    float mx = neg_inf(), total = 0.0f;
    for (int s = lane; s < splits; s += 32) {
      const float x = part_lse[r + s * split_rows];
      if (x > mx) {
        total = total * exp_fast(mx - x) + 1.0f;  // exp(-inf) = 0 first
        mx = x;
      } else if (x != neg_inf()) {
        total += exp_fast(x - mx);
      }
    }
    FG_UNROLL
    for (int m = 16; m > 0; m >>= 1) {
      const float other_mx = ptx::shfl_xor(mx, m), other_total = ptx::shfl_xor(total, m);
      const float both = fmaxf(mx, other_mx);
      total = both == neg_inf() ? 0.0f
                                : total * exp_fast(mx - both) + other_total * exp_fast(other_mx - both);
      mx = both;
    }
    float acc = 0.0f;
    if (total > 0.0f) {
      FG_UNROLL
      for (int u = 0; u < kAhead; ++u) {
        const float w = u < splits ? part_lse[r + u * split_rows] : neg_inf();
        if (w != neg_inf()) acc += exp_fast(w - mx) * first[u];
      }
      for (int s = kAhead; s < splits; s += kAhead) {
        float w[kAhead], x[kAhead];
        FG_UNROLL
        for (int u = 0; u < kAhead; ++u) {
          const i64 row = r + (s + u) * split_rows;
          const bool real = s + u < splits;
          w[u] = real ? part_lse[row] : neg_inf();
          x[u] = real ? part[row * DV + col] : 0.0f;
        }
        FG_UNROLL
        for (int u = 0; u < kAhead; ++u)
          if (w[u] != neg_inf()) acc += exp_fast(w[u] - mx) * x[u];
      }
      acc /= total;
    }
    // Even lanes store their column and the next one's as one 16-bit pair.
    const float next = ptx::shfl_xor(acc, 1);
    if ((lane & 1) == 0)
      ptx::st_global_b32(o + packed_offset<G>(row0 + r, o_hs, o_rs) + col, pack2<T>(acc, next));
    if (lse != nullptr && col == 0)
      lse[packed_offset<G>(row0 + r, lse_hs, lse_rs)] = total > 0.0f ? mx + log_fast(total) : neg_inf();
  }
}

}  // namespace decode
}  // namespace fg

#endif  // FLASHGEN_DEVICE_DECODE_CUH
