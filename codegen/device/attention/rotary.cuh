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

/// The tables' rows are read 16 bytes at a time: unit stride along the
/// angles, 16-byte aligned rows (a contiguous f32 table [P, R/2] with R/2 a
/// multiple of 4 is).
FG_DEVICE bool vector_rows(const tables& t) {
  const unsigned long long bases =
      reinterpret_cast<unsigned long long>(t.cos) | reinterpret_cast<unsigned long long>(t.sin);
  return t.cos_f == 1 && t.sin_f == 1 && (bases & 15) == 0 && (t.cos_p & 3) == 0 && (t.sin_p & 3) == 0;
}

/// Position of row r: row row0 + r of its tensor is token (row0 + r) /
/// GROUP (flash_decode's packed rows), at that + offset, clamped into
/// the tables.
template <int GROUP> FG_DEVICE int position(const tables& t, int row0, int r, int offset) {
  return imin(imax((row0 + r) / GROUP + offset, 0), t.positions - 1);
}

/// Turns the 2 WORDS words x (and, half, y: the partner words) by the
/// angles cf/sf (half: 2 WORDS of them, one per element; interleaved:
/// WORDS, one per word).
template <bool HALF, int WORDS, class T>
FG_DEVICE void turn_words(u32* x, u32* y, const float* cf, const float* sf) {
  FG_UNROLL
  for (int e = 0; e < WORDS; ++e) {
    if constexpr (HALF) {
      float x0 = unpack<T>(x[e], 0), x1 = unpack<T>(x[e], 1);
      float y0 = unpack<T>(y[e], 0), y1 = unpack<T>(y[e], 1);
      turn(x0, y0, cf[2 * e], sf[2 * e]);
      turn(x1, y1, cf[2 * e + 1], sf[2 * e + 1]);
      x[e] = pack2<T>(x0, x1);
      y[e] = pack2<T>(y0, y1);
    } else {
      float a = unpack<T>(x[e], 0), b = unpack<T>(x[e], 1);
      turn(a, b, cf[e], sf[e]);
      x[e] = pack2<T>(a, b);
    }
  }
}

/// rotate_rows a word (two elements, and half's partner word) at a time,
/// each table entry read alone: tables of any strides, and the fewest live
/// registers. Rows [first, first + count) of the tile.
template <bool HALF, int DIMS, int GROUP, class Tile>
FG_DEVICE void rotate_words(const Tile& tile, int thread, int threads, const tables& t, int row0, int offset,
                            int first, int count) {
  using T = typename Tile::elem_type;
  // Words a row turns: half, word w of the first half pairs with word w of
  // the second (the same element offsets); interleaved, each word is a pair.
  constexpr int kWords = HALF ? DIMS / 4 : DIMS / 2;
  constexpr int kAngles = HALF ? 2 : 1;  // a word's angles
#pragma unroll 1
  for (int w = thread; w < count * kWords; w += threads) {
    const int r = first + w / kWords, word = w % kWords;
    const int p = position<GROUP>(t, row0, r, offset);
    float cf[kAngles], sf[kAngles];
    FG_UNROLL
    for (int a = 0; a < kAngles; ++a) {
      const int f = word * kAngles + a;
      cf[a] = __ldg(t.cos + p * t.cos_p + f * t.cos_f);
      sf[a] = __ldg(t.sin + p * t.sin_p + f * t.sin_f);
    }
    const u32 lo = tile.elem_addr(r, 2 * word);
    const u32 hi = HALF ? tile.elem_addr(r, 2 * word + DIMS / 2) : lo;
    u32 x = ptx::ld_shared_b32(lo), y = HALF ? ptx::ld_shared_b32(hi) : 0u;
    turn_words<HALF, 1, T>(&x, &y, cf, sf);
    ptx::st_shared_b32(lo, x);
    if constexpr (HALF) ptx::st_shared_b32(hi, y);
  }
}

/// `count` f32 of a table row into r (count 2, 4 or 8; p aligned to
/// min(16, 4 count) bytes).
template <int COUNT> FG_DEVICE void load_angles(float* r, const float* p) {
  if constexpr (COUNT == 2) {
    ptx::ld_global_nc_v2(r, p);
  } else {
    FG_UNROLL
    for (int i = 0; i < COUNT; i += 4) ptx::ld_global_nc_v4(r + i, p + i);
  }
}

/// Piece w of rotate_rows' work (row w / pieces per row): its angles, read
/// from the tables' row at the row's position.
template <bool HALF, int DIMS, int GROUP, int ELEMS>
struct piece {
  static constexpr int kWords = ELEMS / 2;                                // words of a piece
  static constexpr int kItems = HALF ? DIMS / (2 * ELEMS) : DIMS / ELEMS;  // pieces (pairs) per row
  static constexpr int kAngles = HALF ? ELEMS : ELEMS / 2;                // a piece's angles
  float cf[kAngles], sf[kAngles];

  FG_DEVICE void load(const tables& t, int row0, int offset, int w) {
    const int p = position<GROUP>(t, row0, w / kItems, offset), c = w % kItems;
    load_angles<kAngles>(cf, t.cos + p * t.cos_p + c * kAngles);
    load_angles<kAngles>(sf, t.sin + p * t.sin_p + c * kAngles);
  }

  /// Turns the piece in the tile with the angles load() read.
  template <class Tile> FG_DEVICE void turn(const Tile& tile, int w) const {
    using T = typename Tile::elem_type;
    const int r = w / kItems, c = w % kItems;
    // Piece c's first element is column c ELEMS (its chunk c ELEMS / 8).
    const int col = c * ELEMS;
    const u32 lo = tile.chunk_addr(r, col / 8) + u32((col % 8) * 2);
    const u32 hi = HALF ? tile.chunk_addr(r, (col + DIMS / 2) / 8) + u32((col % 8) * 2) : lo;
    u32 x[kWords], y[kWords];
    if constexpr (ELEMS == 8) {
      ptx::ld_shared_v4(reinterpret_cast<u32(&)[4]>(x), lo);
      if constexpr (HALF) ptx::ld_shared_v4(reinterpret_cast<u32(&)[4]>(y), hi);
    } else {
      ptx::ld_shared_v2(x, lo);
      if constexpr (HALF) ptx::ld_shared_v2(y, hi);
    }
    turn_words<HALF, kWords, T>(x, y, cf, sf);
    if constexpr (ELEMS == 8) {
      ptx::st_shared_v4(lo, reinterpret_cast<const u32(&)[4]>(x));
      if constexpr (HALF) ptx::st_shared_v4(hi, reinterpret_cast<const u32(&)[4]>(y));
    } else {
      ptx::st_shared_v2(lo, x);
      if constexpr (HALF) ptx::st_shared_v2(hi, y);
    }
  }
};

/// Pieces [begin, end) of a tile (piece w: row w / kItems), thread `thread`
/// of `threads` taking every threads-th, one at a time: each waits on its
/// table rows from L2 (the shared stores are ordered after every earlier
/// global read). Two pieces' reads issued together measured slower on the
/// H100 (bench_rope.py: flash_decode 1.43x the pre-rotated time against
/// 1.27x) and spilled the persistent flash3 consumers.
template <bool HALF, int DIMS, int GROUP, int ELEMS, class Tile>
FG_DEVICE void rotate_pieces(const Tile& tile, int thread, int threads, const tables& t, int row0, int offset,
                             int begin, int end) {
  auto one = [&](int w) {
    piece<HALF, DIMS, GROUP, ELEMS> p;
    p.load(t, row0, offset, w);
    p.turn(tile, w);
  };
  // Unrolled twice where registers allow (flash_decode: 1.27x the
  // pre-rotated time against 1.36x not unrolled, H100); not in the
  // producer warpgroup's small budget (ELEMS = 4).
  if constexpr (ELEMS == 8) {
#pragma unroll 2
    for (int w = begin + thread; w < end; w += threads) one(w);
  } else {
#pragma unroll 1
    for (int w = begin + thread; w < end; w += threads) one(w);
  }
}

/// Rotates rows [0, rows) of `tile` (at most its kRows): row r at
/// position<GROUP>(t, row0, r, offset). Threads `thread` of `threads` share
/// the work, each piece of ELEMS elements (a 16-byte chunk, or half of
/// one: half style also its partner DIMS/2 columns on) once, a warp's
/// lanes along a row so that the tables' reads coalesce; the caller syncs
/// the threads that read the tile afterwards. ELEMS = 4 keeps fewer
/// registers live (the producer warpgroup's small budget). Tables whose
/// rows cannot be read 16 bytes at a time take a word at a time
/// (rotate_words). `ahead` > 0 (ELEMS = 8): the table rows of the tile at
/// tensor row row0 + ahead are prefetched into L1 afterwards.
template <bool HALF, int DIMS, int GROUP = 1, int ELEMS = 8, class Tile>
FG_DEVICE void rotate_rows(const Tile& tile, int thread, int threads, const tables& t, int row0, int offset,
                           int rows, int ahead = 0) {
  static_assert(DIMS > 0 && DIMS <= Tile::kCols, "rotate_rows: rotated dims outside the tile");
  static_assert(DIMS % (HALF ? 16 : 8) == 0, "rotate_rows: whole chunks per rotated half");
  static_assert(ELEMS == 8 || ELEMS == 4, "rotate_rows: pieces of a chunk or half of one");
  if (!vector_rows(t)) {
    rotate_words<HALF, DIMS, GROUP>(tile, thread, threads, t, row0, offset, 0, imin(rows, Tile::kRows));
    return;
  }
  constexpr int kItems = piece<HALF, DIMS, GROUP, ELEMS>::kItems;
  rows = imin(rows, Tile::kRows);
  rotate_pieces<HALF, DIMS, GROUP, ELEMS>(tile, thread, threads, t, row0, offset, 0, rows * kItems);
  if constexpr (ELEMS == 8) {
    // The next tile of a ring of consecutive key tiles reads the rows
    // `ahead` positions on: their lines into L1 now, so its rotation does
    // not wait on L2 after its copy landed.
    constexpr int kLines = (DIMS / 2 * 4 + 127) / 128;  // 128-byte lines of a table row
    if (ahead > 0)
#pragma unroll 1
      for (int w = thread; w < Tile::kRows * kLines; w += threads) {
        const int p = position<GROUP>(t, row0 + ahead, w / kLines, offset), line = 32 * (w % kLines);
        ptx::prefetch_l1(t.cos + p * t.cos_p + line);
        ptx::prefetch_l1(t.sin + p * t.sin_p + line);
      }
  }
}

/// rotate_rows on the tile's rows [first, first + count) alone (each
/// consumer warpgroup its own; count <= 0: none) by THREADS threads, a
/// 16-byte piece at a time (rotate_pieces); the caller syncs.
template <bool HALF, int DIMS, int THREADS, class Tile>
FG_DEVICE void rotate_row_range(const Tile& tile, int thread, const tables& t, int row0, int offset, int first,
                                int count) {
  static_assert(DIMS > 0 && DIMS <= Tile::kCols, "rotate_row_range: rotated dims outside the tile");
  static_assert(DIMS % (HALF ? 16 : 8) == 0, "rotate_row_range: whole chunks per rotated half");
  if (!vector_rows(t)) {
    rotate_words<HALF, DIMS, 1>(tile, thread, THREADS, t, row0, offset, first, count);
    return;
  }
  constexpr int kItems = piece<HALF, DIMS, 1, 8>::kItems;
  rotate_pieces<HALF, DIMS, 1, 8>(tile, thread, THREADS, t, row0, offset, first * kItems,
                                             (first + count) * kItems);
}

/// A 16-byte chunk of a row copy_rotated_rows turns: read-only in the
/// copies' source, coherent where the kernel writes it back (INVERSE, in
/// place).
template <bool IN_PLACE> FG_DEVICE void load_row_chunk(u32 (&x)[4], const void* p) {
  if constexpr (IN_PLACE)
    ptx::ld_global_b128(x, p);
  else
    ptx::ld_global_nc_b128(x, p);
}

/// Rotary embedding's rows in global memory (flash.rows_rotate): rows [row0,
/// row0 + ROWS) of one (batch, head) of q, k, dq or dk, those below `extent`, rotated at
/// positions row + offset and written to the same rows of `dst`. Rows are
/// COLS elements (the head dim), element-contiguous, 16-byte aligned (a
/// bf16 param's stride_align and pointer_align; the workspace copy is
/// contiguous). A thread takes a 16-byte chunk at a time -- half style a
/// chunk and its partner DIMS/2 columns on -- the columns past DIMS
/// copied as they are; a warp's lanes walk along a row, so K's reads, the
/// copy's writes and the tables' rows coalesce. INVERSE turns by the
/// opposite angles (sin negated: the rotation's transpose), which takes
/// the gradient of a rotated row back to its unrotated one, in place (src
/// is dst: each element is read, then written, by the same thread).
template <bool HALF, int DIMS, int COLS, int ROWS, bool INVERSE = false, class T>
FG_DEVICE void copy_rotated_rows(const T* src, long long src_row, T* dst, long long dst_row, const tables& t,
                                 int row0, int offset, int extent, int thread, int threads) {
  static_assert(DIMS > 0 && DIMS <= COLS && COLS % 8 == 0, "copy_rotated_rows: rotated dims outside the row");
  static_assert(DIMS % (HALF ? 16 : 8) == 0, "copy_rotated_rows: whole chunks per rotated half");
  constexpr int kTurned = HALF ? DIMS / 16 : DIMS / 8;  // units that turn: chunk pairs, or chunks
  // ... and those copied as they are (none in place)
  constexpr int kUnits = kTurned + (INVERSE ? 0 : (COLS - DIMS) / 8);
  constexpr int kAngles = HALF ? 8 : 4;                   // a turning unit's angles
  const int rows = imin(ROWS, extent - row0);
  const bool vectors = vector_rows(t);
#pragma unroll 2
  for (int w = thread; w < rows * kUnits; w += threads) {
    const int r = w / kUnits, u = w % kUnits, row = row0 + r;
    const T* from = src + row * src_row;
    T* to = dst + row * dst_row;
    if (u >= kTurned) {  // past the rotated dims
      const int col = DIMS + 8 * (u - kTurned);
      u32 x[4];
      load_row_chunk<INVERSE>(x, from + col);
      ptx::st_global_v4(to + col, x);
      continue;
    }
    const int p = imin(imax(row + offset, 0), t.positions - 1);
    float cf[kAngles], sf[kAngles];
    if (vectors) {
      load_angles<kAngles>(cf, t.cos + p * t.cos_p + u * kAngles);
      load_angles<kAngles>(sf, t.sin + p * t.sin_p + u * kAngles);
    } else {
      FG_UNROLL
      for (int a = 0; a < kAngles; ++a) {
        cf[a] = __ldg(t.cos + p * t.cos_p + (u * kAngles + a) * t.cos_f);
        sf[a] = __ldg(t.sin + p * t.sin_p + (u * kAngles + a) * t.sin_f);
      }
    }
    if constexpr (INVERSE) {
      FG_UNROLL
      for (int a = 0; a < kAngles; ++a) sf[a] = -sf[a];
    }
    const int col = 8 * u;
    u32 x[4], y[4];
    load_row_chunk<INVERSE>(x, from + col);
    if constexpr (HALF) load_row_chunk<INVERSE>(y, from + col + DIMS / 2);
    turn_words<HALF, 4, T>(x, y, cf, sf);
    ptx::st_global_v4(to + col, x);
    if constexpr (HALF) ptx::st_global_v4(to + col + DIMS / 2, y);
  }
}

}  // namespace rotary
}  // namespace fg

#endif  // FLASHGEN_DEVICE_ROTARY_CUH
