//===- MaskModBounds.h - key ranges a mask_mod proves ------------*- C++ -*-===//
//
// A mask_mod hides keys element by element, so without more knowledge every
// key tile the mask kind leaves is visited and masked. Many mask_mods bound
// the keys a query can see: prefix-LM keeps `j < prefix || j <= i`, so query
// row i sees no key at or past max(prefix, i + 1). Many also keep every key
// below some position: prefix-LM keeps the prefix, and a speculative tree's
// mask (`j < prefix || ancestor bit of j - prefix`, examples/tree_verify.mlir)
// keeps the shared prefix whatever its bit test says. This analysis reads
// both off the region (comparisons of j with expressions that do not depend
// on j, combined with and/or) and builds them in the kernel, so the key-tile
// loops stop where the last row of a query tile stops seeing keys (the tiles
// past it are never loaded nor computed) and the tiles below what the first
// row keeps skip the mask: a tree's prefix is computed as ordinary attention.
//
//===----------------------------------------------------------------------===//

#ifndef FLASHGEN_PASSES_MASKMODBOUNDS_H
#define FLASHGEN_PASSES_MASKMODBOUNDS_H

#include "mlir/IR/Builders.h"
#include "mlir/IR/Region.h"

namespace mlir::flash {

/// What a mask_mod proves about the keys of one query row.
struct MaskModKeyBound {
  /// An exclusive bound (index): mask_mod(batch, head, i, j) is false for
  /// every i <= row and j >= bound. Null when the region proves none, or
  /// one that could fall as the row grows (only bounds non-decreasing in i
  /// are taken, so a tile's last row bounds the whole tile).
  Value bound;
  /// Every key below `keep` is kept: mask_mod(batch, head, i, j) is true for
  /// every i >= row and j < keep. Null when the region proves none (only
  /// positions non-decreasing in i are taken, so a tile's first row's keep
  /// holds for the whole tile). Where the region is exactly `j < bound(i)`,
  /// keep is the bound itself.
  Value keep;
};

/// The bound of `maskMod` (a flash.attention's mask_mod) for query `row`,
/// built at b's insertion point (the region's extras as flash.extra values,
/// its per-CTA ops cloned).
MaskModKeyBound buildMaskModKeyBound(OpBuilder &b, Location loc,
                                     Region &maskMod, Value batch, Value head,
                                     Value row);

} // namespace mlir::flash

#endif // FLASHGEN_PASSES_MASKMODBOUNDS_H
