//===- MaskModTiles.h - a mask_mod evaluated over whole tiles ---*- C++ -*-===//
//
// A mask_mod that reads its extras at a query or key position (packed
// documents: `ids[b, i] == ids[b, j]`) bounds no key range the compiler can
// read off the region (MaskModBounds.h): which keys a query sees depends on
// the ids given at launch. What can be built is the region's interval
// form: every value of the region as the range [lo, hi] it takes over a
// query tile's rows [i0, i1] and a key tile's keys [j0, j1], every boolean
// as whether it may be true and whether it may be false. An extra read at
// a position range becomes the minimum and maximum of the extra over that
// range. Where the mask_mod may be true for no (i, j) of the pair, the key
// tile is hidden from the query tile; where it may be false for none, the
// whole tile is kept and needs no mask. Both verdicts are sound for any
// ids (sorted or not); with sorted ids (sequence packing) they are exact
// for every tile the document boundaries do not cross.
//
// The pre-pass of a `mask_lists` schedule (LowerAttentionMaskLists.cpp)
// builds this form per (query tile, key tile) and writes a block mask's
// lists from it, which the attention kernel walks (BlockLists.h).
//
//===----------------------------------------------------------------------===//

#ifndef FLASHGEN_PASSES_MASKMODTILES_H
#define FLASHGEN_PASSES_MASKMODTILES_H

#include "mlir/IR/Builders.h"
#include "mlir/IR/Region.h"

#include <string>

namespace mlir::flash {

/// Why `maskMod` (a flash.attention's mask_mod: (b, h, i, j: index,
/// extras...) -> i1) has no useful interval form ("" where it has one):
/// an op without one (the supported ops: integer constants, index_cast,
/// extsi, addi, subi, muli, minsi, maxsi, signed and equality cmpi, andi,
/// ori and xori of booleans, select, and tensor.extract of an extra at
/// indices of which at most one depends on i or j), or no extra read at a
/// position, which leaves every tile's verdict the same.
std::string maskModTilesUnsupported(Region &maskMod);
inline bool maskModClassifiesTiles(Region &maskMod) {
  return maskModTilesUnsupported(maskMod).empty();
}

/// Whether the mask_mod reads the query head (its lists then differ per
/// head) or the batch entry.
bool maskModReadsHead(Region &maskMod);
bool maskModReadsBatch(Region &maskMod);

/// Class of a key tile for a query tile under the mask_mod, as i32.
enum TileClass : int { kTileHidden = 0, kTilePartial = 1, kTileWhole = 2 };

/// The interval form of `maskMod` (maskModClassifiesTiles) for rows [rowLo,
/// rowHi] and keys [keyLo, keyHi] (inclusive, inside the op's lengths) of
/// (`batch`, `head`): the i32 TileClass. Values that do not depend on the
/// listed tile (the keys; with `listsQueryTiles` the rows: the gradient's
/// transposed lists) are built at `outer`'s insertion point (once per
/// walking tile), the others at `inner`'s, which must follow it in the same
/// kernel; the region's extras become flash.extra values at `outer`'s.
Value buildMaskModTileClass(OpBuilder &outer, OpBuilder &inner, Location loc,
                            Region &maskMod, Value batch, Value head,
                            Value rowLo, Value rowHi, Value keyLo, Value keyHi,
                            bool listsQueryTiles = false);

} // namespace mlir::flash

#endif // FLASHGEN_PASSES_MASKMODTILES_H
