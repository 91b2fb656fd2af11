//===- StagedExtras.h - output_mod reads a chunk kernel stages ---*- C++ -*-===//
//
// A recurrence's output_mod usually reads an extra at the output's own
// position: a gate [B, T, H, Dv] at (b, t, h, d). Read element by element
// as each inner query tile is stored, those loads wait on HBM chunk after
// chunk, one chunk at a time per CTA (measured on an H100 at 16 heads,
// T = 16384: the fused kernel 3.37 ms against 1.07 ms without the gate).
// The chunk kernels with outputs instead copy the L x tile_dv tile such a
// read covers with the chunk's q, k and v tiles, a chunk ahead, and the
// store reads it from shared memory. This is the one rule for which reads
// qualify, for the scheduler (how much shared memory the ring takes) and
// for the lowering (what to copy) alike.
//
//===----------------------------------------------------------------------===//

#ifndef FLASHGEN_PASSES_STAGEDEXTRAS_H
#define FLASHGEN_PASSES_STAGEDEXTRAS_H

#include "dialect/FlashDialect.h"

#include "mlir/Dialect/Tensor/IR/Tensor.h"

namespace mlir::flash {

/// At most this many reads are staged (their tiles share the ring's
/// shared memory); where more qualify, none is, and each loads as before.
constexpr unsigned kMaxStagedExtras = 2;

/// One read the chunk kernels stage: `read` takes its extra at the
/// output's row (its position in the sequence) in dimension `rowDim`, at
/// the output's column in dimension `colDim`, and at indices that do not
/// change within a CTA in the others.
struct StagedExtraRead {
  tensor::ExtractOp read;
  unsigned rowDim = 0, colDim = 0;
};

/// The reads of output_mod body `body` ((o, b, h, t, d, ...)) that
/// qualify: f32 reads whose indices are t once, d once and per-CTA values
/// (`isPerCta`) in every other dimension, of an extra whose t dimension
/// spans the sequence (`spansLength(extra, dim)`) and whose d dimension is
/// the value dimension (static `valueDim`), so the tile holds exactly what
/// each read would load. Empty where more than kMaxStagedExtras qualify.
SmallVector<StagedExtraRead>
stagedExtraReads(Block &body, int64_t valueDim, function_ref<bool(Value)> isPerCta,
                 function_ref<bool(Value, unsigned)> spansLength);

/// The reads of a flash.linear_attention's output_mod that qualify (per
/// CTA: what does not depend on o, t or d; the sequence: a dimension the
/// extra names with the op's length dim).
SmallVector<StagedExtraRead> stagedExtraReads(LinearAttentionOp op);

/// The same reads in the output_mod the lowering cloned into `store` (per
/// CTA: defined outside it; the sequence: a size given by flash.dim
/// `lengthDim`).
SmallVector<StagedExtraRead> stagedExtraReads(ChunkStoreOp store, StringRef lengthDim,
                                              int64_t valueDim);

} // namespace mlir::flash

#endif // FLASHGEN_PASSES_STAGEDEXTRAS_H
