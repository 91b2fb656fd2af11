//===- rotary.cuh - flashgen device library: rotary position embedding ---===//
//
// Rotates the rows of a q or k tile in shared memory once the tile landed
// (flash.tile_rotate, and flash.pipe_produce's rotation in the producer
// warpgroup; docs/semantics.md §2.12). Each row sits at a position (its
// token's index plus the alignment offset); its first DIMS elements turn in pairs by the angles whose cos
// and sin the tables hold at that position (clamped into [0, positions)):
//
//   half         (f, f + DIMS/2):  x'_f = x_f c_f - x_{f+DIMS/2} s_f,
//                                  x'_{f+DIMS/2} = x_{f+DIMS/2} c_f + x_f s_f
//   interleaved  (2f, 2f + 1):     the same on adjacent elements.
//
// The tile's swizzle is its own (smem_tile, wg_tile: both give
// elem_addr(r, col)); a thread turns a word (two elements) of a row and,
// for `half`, the word DIMS/2 columns on, in f32, and stores the result
// rounded to the tile's element type, as a pre-rotated input would hold
// it. Rows from `rows` on (past the tensor) are left as they are.
//
//===----------------------------------------------------------------------===//

#ifndef FLASHGEN_DEVICE_ROTARY_CUH
#define FLASHGEN_DEVICE_ROTARY_CUH

#include "flashgen/device/core/core.cuh"

namespace fg {
namespace rotary {

/// One sequence's cos and sin tables: entry (position p, angle f) at
/// cos[p * cos_p + f * cos_f] (sin alike); `positions` of them. The strides
/// are ints (a table holds far fewer than 2^31 entries): the producer
/// warpgroup rotates within a small register budget.
struct tables {
  const float* cos;
  int cos_p, cos_f;
  const float* sin;
  int sin_p, sin_f;
  int positions;
};

/// Turns the pair (a, b) by the angle of cos c and sin s.
FG_DEVICE void turn(float& a, float& b, float c, float s) {
  const float x = a, y = b;
  a = x * c - y * s;
  b = y * c + x * s;
}

/// Rotates rows [0, rows) of `tile` (at most its kRows): row r is row
/// row0 + r of its tensor, token (row0 + r) / group of it (flash_decode's
/// packed rows; group 1 otherwise), at position that + offset. Threads
/// `thread` of `threads` share the work, one word (two elements) of a row
/// at a time and each once; the caller syncs the threads that read the
/// tile afterwards. A word per step keeps the live registers few: the
/// producer warpgroup rotates within its small setmaxnreg budget.
template <bool HALF, int DIMS, class Tile>
FG_DEVICE void rotate_rows(const Tile& tile, int thread, int threads, const tables& t, int row0, int group,
                           int offset, int rows) {
  using T = typename Tile::elem_type;
  static_assert(DIMS > 0 && DIMS <= Tile::kCols, "rotate_rows: rotated dims outside the tile");
  static_assert(DIMS % (HALF ? 16 : 8) == 0, "rotate_rows: whole chunks per rotated half");
  // Words a row turns: half, word w of the first half pairs with word w of
  // the second (the same element offsets); interleaved, each word is a pair.
  constexpr int kWords = HALF ? DIMS / 4 : DIMS / 2;
  rows = imin(rows, Tile::kRows);
#pragma unroll 1
  for (int w = thread; w < rows * kWords; w += threads) {
    const int r = w / kWords, word = w % kWords;
    const int p = imin(imax((row0 + r) / group + offset, 0), t.positions - 1);
    const float* cp = t.cos + p * t.cos_p;
    const float* sp = t.sin + p * t.sin_p;
    const u32 lo = tile.elem_addr(r, 2 * word);
    if constexpr (HALF) {
      const u32 hi = tile.elem_addr(r, 2 * word + DIMS / 2);
      const u32 xw = ptx::ld_shared_b32(lo), yw = ptx::ld_shared_b32(hi);
      float x0 = unpack<T>(xw, 0), x1 = unpack<T>(xw, 1);
      float y0 = unpack<T>(yw, 0), y1 = unpack<T>(yw, 1);
      const int f = 2 * word;
      turn(x0, y0, __ldg(cp + f * t.cos_f), __ldg(sp + f * t.sin_f));
      turn(x1, y1, __ldg(cp + (f + 1) * t.cos_f), __ldg(sp + (f + 1) * t.sin_f));
      ptx::st_shared_b32(lo, pack2<T>(x0, x1));
      ptx::st_shared_b32(hi, pack2<T>(y0, y1));
    } else {
      const u32 xw = ptx::ld_shared_b32(lo);
      float a = unpack<T>(xw, 0), b = unpack<T>(xw, 1);
      turn(a, b, __ldg(cp + word * t.cos_f), __ldg(sp + word * t.sin_f));
      ptx::st_shared_b32(lo, pack2<T>(a, b));
    }
  }
}

}  // namespace rotary
}  // namespace fg

#endif  // FLASHGEN_DEVICE_ROTARY_CUH
