//===- fragment.cuh - flashgen device library: warp register tiles -------===//
//
// Register tiles of one warp, in the layouts of mma.sync m16n8k16:
//  - acc_tile<ROWS, COLS>: f32 accumulators (C/D layout), ROWS/16 x COLS/8
//    tiles of 16x8, 4 floats per lane each. Element e (0..3) of tile (mt, nt)
//    is at row mt*16 + lane/4 + 8*(e/2), column nt*8 + 2*(lane%4) + e%2.
//  - a_tile<T, ROWS, COLS>: 16-bit A operand, ROWS/16 x COLS/16 tiles of
//    16x16, 4 registers (8 values) per lane each.
//  - row_vec<ROWS> / col_vec<COLS>: per-row / per-column f32 values matching
//    the rows / columns a lane holds in an acc_tile (two of each per tile).
// The element-wise ops here need no communication between lanes; for_each
// hands the emitter's inlined scalar code (score_mod, mask_mod, gate math)
// each element with its (row, column) index.
//
//===----------------------------------------------------------------------===//
#ifndef FLASHGEN_DEVICE_FRAGMENT_CUH
#define FLASHGEN_DEVICE_FRAGMENT_CUH

#include "flashgen/device/core/convert.cuh"

namespace fg {

/// f32 accumulator tile of one warp (mma C/D layout).
template <int ROWS, int COLS> struct acc_tile {
  static_assert(ROWS > 0 && ROWS % 16 == 0, "acc_tile: ROWS must be a multiple of 16");
  static_assert(COLS > 0 && COLS % 8 == 0, "acc_tile: COLS must be a multiple of 8");
  static constexpr int kRows = ROWS, kCols = COLS;
  static constexpr int kMT = ROWS / 16;  ///< 16-row tiles
  static constexpr int kNT = COLS / 8;   ///< 8-column tiles
  float v[kMT][kNT][4];
};

/// 16-bit A-operand tile of one warp (mma A layout, packed pairs).
template <class T, int ROWS, int COLS> struct a_tile {
  static_assert(ROWS > 0 && ROWS % 16 == 0, "a_tile: ROWS must be a multiple of 16");
  static_assert(COLS > 0 && COLS % 16 == 0, "a_tile: COLS must be a multiple of 16");
  static constexpr int kRows = ROWS, kCols = COLS;
  static constexpr int kMT = ROWS / 16;  ///< 16-row tiles
  static constexpr int kKT = COLS / 16;  ///< 16-column (k) tiles
  using elem_type = T;
  u32 v[kMT][kKT][4];
};

/// Per-row f32 values of a ROWS-row acc_tile: v[mt][h] belongs to row mt*16 + lane/4 + 8*h.
template <int ROWS> struct row_vec {
  static_assert(ROWS % 16 == 0, "row_vec: ROWS must be a multiple of 16");
  static constexpr int kMT = ROWS / 16;
  float v[kMT][2];
};

/// Per-column f32 values of a COLS-column acc_tile: v[nt][i] belongs to column nt*8 + 2*(lane%4) + i.
template <int COLS> struct col_vec {
  static_assert(COLS % 8 == 0, "col_vec: COLS must be a multiple of 8");
  static constexpr int kNT = COLS / 8;
  float v[kNT][2];
};

/// An acc_tile's values rounded to bf16 pairs, half its registers: copies
/// that are read back only approximately (the raw scores that score_mod's
/// derivative is evaluated at). v[mt][nt][h] holds elements 2h, 2h + 1.
template <int ROWS, int COLS> struct packed_tile {
  static constexpr int kMT = ROWS / 16, kNT = COLS / 8;
  u32 v[kMT][kNT][2];
};

namespace frag {

/// Row within the tile of accumulator element e of 16-row tile mt.
FG_DEVICE int row(int mt, int e, int lane) { return mt * 16 + (lane >> 2) + ((e >> 1) << 3); }
/// Column within the tile of accumulator element e of 8-column tile nt.
FG_DEVICE int col(int nt, int e, int lane) { return nt * 8 + ((lane & 3) << 1) + (e & 1); }

}  // namespace frag

namespace warp {

/// dst = value everywhere.
template <int R, int C> FG_DEVICE void fill(acc_tile<R, C>& dst, float value) {
  FG_UNROLL
  for (int m = 0; m < acc_tile<R, C>::kMT; ++m)
    FG_UNROLL
    for (int n = 0; n < acc_tile<R, C>::kNT; ++n)
      FG_UNROLL
      for (int e = 0; e < 4; ++e) dst.v[m][n][e] = value;
}

/// dst = 0.
template <int R, int C> FG_DEVICE void zero(acc_tile<R, C>& dst) { fill(dst, 0.0f); }

/// rv = value everywhere.
template <int R> FG_DEVICE void fill(row_vec<R>& dst, float value) {
  FG_UNROLL
  for (int m = 0; m < row_vec<R>::kMT; ++m) dst.v[m][0] = dst.v[m][1] = value;
}

/// for_each with the element's offsets from the lane's first element:
/// f(row, col, drow, dcol, v), row = (row0 + the lane's row) + drow. drow
/// and dcol are compile-time constants once the loops are unrolled, so the
/// emitter can convert position expressions to float once per lane
/// (ScalarPrinter::positions).
template <int R, int C, class F>
FG_DEVICE void for_each_at(acc_tile<R, C>& t, int row0, int col0, F&& f) {
  const int lane = ptx::lane_id();
  const int r_lane = row0 + (lane >> 2);
  const int c_lane = col0 + ((lane & 3) << 1);
  FG_UNROLL
  for (int m = 0; m < acc_tile<R, C>::kMT; ++m)
    FG_UNROLL
    for (int n = 0; n < acc_tile<R, C>::kNT; ++n)
      FG_UNROLL
      for (int e = 0; e < 4; ++e) {
        const int dr = m * 16 + ((e >> 1) << 3), dc = n * 8 + (e & 1);
        f(r_lane + dr, c_lane + dc, dr, dc, t.v[m][n][e]);
      }
}

/// The element of t at offsets (drow, dcol) from the lane's first element
/// (for_each_at's drow, dcol): another tile's element at the same place.
template <int R, int C> FG_DEVICE float& at(acc_tile<R, C>& t, int drow, int dcol) {
  return t.v[drow >> 4][dcol >> 3][((drow >> 3) & 1) * 2 + (dcol & 1)];
}
template <int R, int C> FG_DEVICE float at(const acc_tile<R, C>& t, int drow, int dcol) {
  return t.v[drow >> 4][dcol >> 3][((drow >> 3) & 1) * 2 + (dcol & 1)];
}
template <int R, int C> FG_DEVICE float at(const packed_tile<R, C>& t, int drow, int dcol) {
  return unpack<bf16>(t.v[drow >> 4][dcol >> 3][(drow >> 3) & 1], dcol & 1);
}

/// dst = src rounded to bf16 pairs.
template <int R, int C> FG_DEVICE void pack(packed_tile<R, C>& dst, const acc_tile<R, C>& src) {
  FG_UNROLL
  for (int m = 0; m < acc_tile<R, C>::kMT; ++m)
    FG_UNROLL
    for (int n = 0; n < acc_tile<R, C>::kNT; ++n) {
      dst.v[m][n][0] = pack2<bf16>(src.v[m][n][0], src.v[m][n][1]);
      dst.v[m][n][1] = pack2<bf16>(src.v[m][n][2], src.v[m][n][3]);
    }
}

/// Calls f(row, col, v) for every element this lane holds: row = row0 + its
/// row in the tile, col = col0 + its column, v a float& to the element
/// (emitted element-wise code runs here inlined; attention's score_mod and
/// mask run in for_each_at).
template <int R, int C, class F>
FG_DEVICE void for_each(acc_tile<R, C>& t, int row0, int col0, F&& f) {
  for_each_at(t, row0, col0, [&](int row, int col, int, int, float& v) { f(row, col, v); });
}

/// dst = src * s.
template <int R, int C> FG_DEVICE void mul(acc_tile<R, C>& dst, const acc_tile<R, C>& src, float s) {
  FG_UNROLL
  for (int m = 0; m < acc_tile<R, C>::kMT; ++m)
    FG_UNROLL
    for (int n = 0; n < acc_tile<R, C>::kNT; ++n)
      FG_UNROLL
      for (int e = 0; e < 4; ++e) dst.v[m][n][e] = src.v[m][n][e] * s;
}

/// dst[r][c] = src[r][c] * rv[r] (row scaling: softmax rescale, decay gates).
template <int R, int C>
FG_DEVICE void mul_rows(acc_tile<R, C>& dst, const acc_tile<R, C>& src, const row_vec<R>& rv) {
  FG_UNROLL
  for (int m = 0; m < acc_tile<R, C>::kMT; ++m)
    FG_UNROLL
    for (int n = 0; n < acc_tile<R, C>::kNT; ++n)
      FG_UNROLL
      for (int e = 0; e < 4; ++e) dst.v[m][n][e] = src.v[m][n][e] * rv.v[m][e >> 1];
}

/// dst[r][c] = src[r][c] * cv[c] (column scaling: per-key-dim gates).
template <int R, int C>
FG_DEVICE void mul_cols(acc_tile<R, C>& dst, const acc_tile<R, C>& src, const col_vec<C>& cv) {
  FG_UNROLL
  for (int m = 0; m < acc_tile<R, C>::kMT; ++m)
    FG_UNROLL
    for (int n = 0; n < acc_tile<R, C>::kNT; ++n)
      FG_UNROLL
      for (int e = 0; e < 4; ++e) dst.v[m][n][e] = src.v[m][n][e] * cv.v[n][e & 1];
}

/// dst = src rounded to T, re-laid out as an A operand: the accumulator of
/// one mma (e.g. P = softmax(S)) feeds the next (P V) without shared memory.
template <class T, int R, int C>
FG_DEVICE void convert(a_tile<T, R, C>& dst, const acc_tile<R, C>& src) {
  FG_UNROLL
  for (int m = 0; m < a_tile<T, R, C>::kMT; ++m)
    FG_UNROLL
    for (int k = 0; k < a_tile<T, R, C>::kKT; ++k) {
      dst.v[m][k][0] = pack2<T>(src.v[m][2 * k][0], src.v[m][2 * k][1]);
      dst.v[m][k][1] = pack2<T>(src.v[m][2 * k][2], src.v[m][2 * k][3]);
      dst.v[m][k][2] = pack2<T>(src.v[m][2 * k + 1][0], src.v[m][2 * k + 1][1]);
      dst.v[m][k][3] = pack2<T>(src.v[m][2 * k + 1][2], src.v[m][2 * k + 1][3]);
    }
}

/// Sum over the 4 lanes of a quad (the lanes that share a row): all get it.
FG_DEVICE float quad_sum(float x) {
  x += ptx::shfl_xor(x, 1);
  x += ptx::shfl_xor(x, 2);
  return x;
}

/// Sum over the 32 lanes of the warp (a butterfly, 16 lanes apart first):
/// all get it.
FG_DEVICE float warp_sum(float x) {
  FG_UNROLL
  for (int off = 16; off > 0; off >>= 1) x += ptx::shfl_xor(x, off);
  return x;
}

/// Max over the 4 lanes of a quad.
FG_DEVICE float quad_max(float x) {
  x = fmaxf(x, ptx::shfl_xor(x, 1));
  x = fmaxf(x, ptx::shfl_xor(x, 2));
  return x;
}

/// dst[r] = max(init[r], max over columns of t[r]) (whole row, all lanes of the quad).
template <int R, int C>
FG_DEVICE void row_max(row_vec<R>& dst, const acc_tile<R, C>& t, const row_vec<R>& init) {
  FG_UNROLL
  for (int m = 0; m < acc_tile<R, C>::kMT; ++m)
    FG_UNROLL
    for (int h = 0; h < 2; ++h) {
      float x = init.v[m][h];
      FG_UNROLL
      for (int n = 0; n < acc_tile<R, C>::kNT; ++n) x = fmaxf(x, fmaxf(t.v[m][n][2 * h], t.v[m][n][2 * h + 1]));
      dst.v[m][h] = quad_max(x);
    }
}

/// dst[r] = init[r] + sum over columns of t[r] (whole row, all lanes of the quad).
template <int R, int C>
FG_DEVICE void row_sum(row_vec<R>& dst, const acc_tile<R, C>& t, const row_vec<R>& init) {
  FG_UNROLL
  for (int m = 0; m < acc_tile<R, C>::kMT; ++m)
    FG_UNROLL
    for (int h = 0; h < 2; ++h) {
      float x = 0.0f;
      FG_UNROLL
      for (int n = 0; n < acc_tile<R, C>::kNT; ++n) x += t.v[m][n][2 * h] + t.v[m][n][2 * h + 1];
      dst.v[m][h] = init.v[m][h] + quad_sum(x);
    }
}

}  // namespace warp
}  // namespace fg

#endif  // FLASHGEN_DEVICE_FRAGMENT_CUH
