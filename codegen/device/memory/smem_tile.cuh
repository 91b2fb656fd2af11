//===- smem_tile.cuh - flashgen device library: swizzled shared tiles ----===//
//
// A shared-memory tile is a ROWS x COLS row-major array of a 16-bit type cut
// into 16-byte chunks (8 elements). Chunk c of row r is stored at chunk
// c ^ key(r) of that row: the 8 rows that one ldmatrix 8x8 matrix reads then
// fall into 8 different 16-byte bank groups, and a warp's 16-byte cp.async
// stores still fill whole 128-byte lines, so neither conflicts. The tile is
// a 32-bit shared address plus compile-time shape; it owns nothing.
//
//===----------------------------------------------------------------------===//
#ifndef FLASHGEN_DEVICE_SMEM_TILE_CUH
#define FLASHGEN_DEVICE_SMEM_TILE_CUH

#include "flashgen/device/core/ptx.cuh"

namespace fg {

/// ROWS x COLS tile of T (bf16 or f16) in shared memory, XOR-swizzled by 16-byte chunk.
template <class T, int ROWS, int COLS> struct smem_tile {
  static_assert(dtype<T>::bytes == 2, "smem_tile: 16-bit element types only");
  static_assert(ROWS > 0 && ROWS % 8 == 0, "smem_tile: ROWS must be a multiple of 8");
  static constexpr int kRows = ROWS;
  static constexpr int kCols = COLS;
  /// Elements per 16-byte chunk.
  static constexpr int kChunkElems = 16 / dtype<T>::bytes;
  /// 16-byte chunks per row.
  static constexpr int kChunks = COLS / kChunkElems;
  static_assert(COLS % kChunkElems == 0, "smem_tile: COLS must be a multiple of 8");
  static_assert(kChunks > 0 && (kChunks & (kChunks - 1)) == 0,
                "smem_tile: COLS*2 bytes must be a power of two (pad the head dim)");
  static constexpr int kRowBytes = COLS * dtype<T>::bytes;
  /// Size in bytes (what the kernel's shared-memory plan adds up).
  static constexpr int kBytes = ROWS * kRowBytes;
  /// Rows sharing one 128-byte line (1 when a row is 128 bytes or wider).
  static constexpr int kRowsPerLine = kChunks >= 8 ? 1 : 8 / kChunks;
  /// Mask of the XOR key (the key never leaves the row).
  static constexpr int kKeyMask = (kChunks >= 8 ? 8 : kChunks) - 1;

  using elem_type = T;

  /// Shared-window address of the tile's first byte (16-byte aligned).
  u32 base;

  /// XOR key of row r.
  static FG_HOST_DEVICE constexpr int key(int r) { return (r / kRowsPerLine) & kKeyMask; }
  /// Byte offset of logical chunk c of row r.
  static FG_HOST_DEVICE constexpr u32 offset(int r, int c) {
    return u32(r * kRowBytes + ((c ^ key(r)) << 4));
  }
  /// Shared address of logical chunk c of row r.
  FG_DEVICE u32 chunk_addr(int r, int c) const { return base + offset(r, c); }
  /// Shared address of chunk c0 + lc of row r0 + lr, the form ldmatrix lanes
  /// use: r0 % 8 == 0 and c0 even (both usually compile-time), lr < 16 and
  /// lc in {0, 1} per lane. The XOR key then depends on lr alone, so an
  /// address is a per-lane register plus an immediate.
  FG_DEVICE u32 frag_addr(int r0, int c0, int lr, int lc) const {
    return base + u32(r0 * kRowBytes + ((c0 & ~7) << 4)) + u32(lr * kRowBytes) +
           u32((((c0 & 7) | lc) ^ key(lr)) << 4);
  }
  /// Shared address of element (r, col).
  FG_DEVICE u32 elem_addr(int r, int col) const {
    return base + offset(r, col / kChunkElems) + u32((col % kChunkElems) * dtype<T>::bytes);
  }
};

/// STAGES tiles back to back: the ring buffer of a multi-stage pipeline.
template <class Tile, int STAGES> struct smem_ring {
  static_assert(STAGES >= 1, "smem_ring: at least one stage");
  static constexpr int kStages = STAGES;
  static constexpr int kBytes = STAGES * Tile::kBytes;
  u32 base;
  /// Tile of stage s (0 <= s < STAGES).
  FG_DEVICE Tile stage(int s) const { return Tile{base + u32(s * Tile::kBytes)}; }
};

}  // namespace fg

#endif  // FLASHGEN_DEVICE_SMEM_TILE_CUH
