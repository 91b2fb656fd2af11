//===- FlashGradKernelOps.td - kernel ops of attention gradients -*- tablegen -*-===//
//
// What `flash-lower-kernels` produces for `flash.attention_grad`
// (passes/LowerAttentionGrad.cpp) and codegen/ prints
// (attention/AttentionGradEmitter.cpp): docs/semantics.md §2.6 as kernels of
// the families
//
//   attention_grad_prep     D = rowsum(dO o O) per query row (flash.row_delta);
//                           flash2_grad and flash3_grad also clear the f32
//                           dQ accumulator
//   attention_grad_kv       one CTA per (key tile, kv head, batch): K, V stay
//                           in shared memory, dK and dV in registers, while
//                           the query tiles of every query head of the GQA
//                           group stream past (Q, dO through a ring);
//                           flash2_grad and flash3_grad add each dQ = dS K
//                           into the accumulator (float atomics, bulk
//                           reductions)
//   attention_grad_dq       the deterministic schedules: one CTA per query
//                           tile streams the key tiles past and keeps dQ in
//                           registers (no atomics, a fixed summation order)
//   attention_grad_convert  flash2_grad, flash3_grad: dQ = scale *
//                           accumulator, rounded
//
// The kernels reuse flash.grid_map, flash.dim, flash.tile_load (q, k, v and
// dout; which of them stream through the ring is the family's: q, dout in
// attention_grad_kv, k, v in attention_grad_dq), flash.tile_commit,
// flash.tile_wait, flash.barrier, flash.tile_mma and flash.score_map, whose
// score tile is the family's: S^T (rows are keys) in attention_grad_kv, S in
// attention_grad_dq. Tile products (TileProduct): qk the score tile, dov
// the dP tile (dP^T = V dO^T or dP = dO V^T, same orientation as the
// scores), ptdo dV += P^T dO, dstq dK += dS^T Q, dsk dQ = dS K.
//
//===----------------------------------------------------------------------===//

#ifndef FLASH_GRAD_KERNEL_OPS
#define FLASH_GRAD_KERNEL_OPS

include "FlashDialect.td"
include "FlashAttrs.td"
include "mlir/IR/OpBase.td"

def Flash_GradInitOp : Flash_Op<"grad_init", []> {
  let summary = "zero the kernel's gradient accumulators (dK and dV, or dQ)";
  let assemblyFormat = "attr-dict";
  let hasVerifier = 1;
}

def Flash_GradMmaWaitOp : Flash_Op<"grad_mma_wait", []> {
  let summary = "wait until at most `pending` issued gradient products are in flight";
  let description = [{
    flash3_grad's warpgroup products are issued asynchronously
    (`flash.tile_mma ... async`, one wgmma group each, in program order):
    this waits until at most `pending` of the warpgroup's groups are
    pending, then fences the accumulators it names so that no read of them
    moves above the wait: `score` the score tile (S or S^T), `dscore` the dP
    tile, `accumulators` the kernel's gradient accumulators (dK and dV, or
    dQ).
  }];
  let arguments = (ins I64Attr:$pending, UnitAttr:$score, UnitAttr:$dscore,
                       UnitAttr:$accumulators);
  let assemblyFormat = [{
    $pending (`score` $score^)? (`dscore` $dscore^)?
    (`accumulators` $accumulators^)? attr-dict
  }];
  let hasVerifier = 1;
}

def Flash_GradRowsOp : Flash_Op<"grad_rows", []> {
  let summary = "read one query tile's lse and D rows";
  let description = [{
    Reads lse (the forward's log-sum-exp) and D (flash.row_delta's) of
    rows [row_tile * tile_q, +tile_q) of query head `head`: per column of
    the score tile in attention_grad_kv, per row in attention_grad_dq. Rows
    at or past `extent` read lse = +inf and D = 0, so their probabilities
    and score gradients are 0 without a mask.

    `stage` (attention_grad_kv of the warpgroup schedules): the rows travel
    through the ring with the Q and dO tiles: the op copies them into ring
    stage `stage` (asynchronously, joining the open copy group that
    flash.tile_wait waits for) and flash.grad_rows_staged names the stage
    whose rows the step reads.
  }];
  let arguments = (ins Index:$batch, Index:$head, Index:$row_tile,
                       Index:$extent, Optional<Index>:$stage);
  let assemblyFormat = [{
    `[` $batch `,` $head `,` $row_tile `]` `extent` $extent
    (`into` `stage` $stage^)? attr-dict
  }];
  let builders = [
    OpBuilder<(ins "Value":$batch, "Value":$head, "Value":$rowTile,
                   "Value":$extent), [{
      build($_builder, $_state, batch, head, rowTile, extent,
            /*stage=*/Value());
    }]>
  ];
  let hasVerifier = 1;
}

def Flash_GradRowsStagedOp : Flash_Op<"grad_rows_staged", []> {
  let summary = "read the lse and D rows a ring stage holds";
  let description = [{
    attention_grad_kv of the warpgroup schedules: the lse and D rows that
    `flash.grad_rows ... into stage` copied into ring stage `stage` are the
    ones the following flash.grad_probabilities and flash.grad_scores read,
    from shared memory at each use, so that no register holds them across
    the step (dK, dV and both score tiles fill the warpgroups' registers).
  }];
  let arguments = (ins Index:$stage);
  let assemblyFormat = "`stage` $stage attr-dict";
  let hasVerifier = 1;
}

def Flash_ScoreSaveOp : Flash_Op<"score_save", []> {
  let summary = "keep a copy of the score tile before flash.score_map changes it";
  let description = [{
    The raw scores s (q k^T) that flash.grad_scores' region reads: the
    derivative of score_mod is taken at the score before it was modified.
  }];
  let assemblyFormat = "attr-dict";
  let hasVerifier = 1;
}

def Flash_GradProbabilitiesOp : Flash_Op<"grad_probabilities", []> {
  let summary = "P = exp(s' - lse) in place of the score tile";
  let description = [{
    Recomputes the forward's probabilities from the (modified) scores and
    the rows' lse of the last flash.grad_rows (or flash.grad_rows_staged);
    hidden scores (-inf) give 0.
  }];
  let assemblyFormat = "attr-dict";
  let hasVerifier = 1;
}

def Flash_GradScoresOp : Flash_Op<"grad_scores", [SingleBlock]> {
  let summary = "dS = P (dP - D), times d score_mod / d s, in place of the dP tile";
  let description = [{
    The softmax's backward on the dP tile, with the D rows of the last
    flash.grad_rows. With a score_mod the region is its derivative
    (flash.attention_grad's score_grad, cloned): it takes the scaled raw
    score (from flash.score_save) and the element's batch, query head,
    query row and key column, and yields the factor (flash.score_yield's
    visibility is true). Without one the region is empty.
  }];
  let arguments = (ins Index:$batch, Index:$head, Index:$query_tile,
                       Index:$key_tile);
  let regions = (region MaxSizedRegion<1>:$body);
  let assemblyFormat = [{
    `[` $batch `,` $head `,` $query_tile `,` $key_tile `]` attr-dict-with-keyword $body
  }];
  let hasVerifier = 1;
}

def Flash_ScoresStageOp : Flash_Op<"scores_stage", []> {
  let summary = "round the dS tile into shared memory for the dQ product";
  let description = [{
    attention_grad_kv (flash2_grad, flash3_grad): dS^T, spread over the
    warps by key rows, goes to the shared dS tile so that each warp (each
    warpgroup) can take its query rows of dQ = dS K (flash.tile_mma dsk
    after a flash.barrier).
  }];
  let assemblyFormat = "attr-dict";
  let hasVerifier = 1;
}

def Flash_AccumAddOp : Flash_Op<"accum_add", []> {
  let summary = "add the dQ tile to the f32 accumulator with float atomics";
  let description = [{
    Rows [row_tile * tile_q, +tile_q) of query head `head`, rows at or past
    `extent` skipped; red.global.add (flash2_grad) or the copy engine's bulk
    reductions of staged rows (flash3_grad, which end with
    flash.accum_flush), so the order of the additions (and the last bits of
    dQ) depends on the order the CTAs run in.
  }];
  let arguments = (ins Flash_TensorRole:$tensor, Index:$batch, Index:$head,
                       Index:$row_tile, Index:$extent);
  let assemblyFormat = [{
    $tensor `[` $batch `,` $head `,` $row_tile `]` `extent` $extent attr-dict
  }];
  let hasVerifier = 1;
}

def Flash_AccumFlushOp : Flash_Op<"accum_flush", []> {
  let summary = "wait for the dQ reductions still in flight";
  let description = [{
    flash3_grad's kv kernel: the bulk reductions flash.accum_add issued read
    their staged rows and add them asynchronously; this waits until all of
    them are done, before the kernel (and its shared memory) ends.
  }];
  let assemblyFormat = "attr-dict";
  let hasVerifier = 1;
}

def Flash_GradStoreOp : Flash_Op<"grad_store", []> {
  let summary = "write a gradient accumulator's rows, times `scale`";
  let description = [{
    dk, dv (attention_grad_kv: rows of key tile `row_tile`) or dq
    (attention_grad_dq: rows of query tile `row_tile`), rounded to the
    element type; rows at or past `extent` are not written. dK and dQ carry
    the score scale (dS is the gradient of the scaled score).
  }];
  let arguments = (ins Flash_TensorRole:$tensor, Index:$batch, Index:$head,
                       Index:$row_tile, Index:$extent, F64Attr:$scale);
  let assemblyFormat = [{
    $tensor `[` $batch `,` $head `,` $row_tile `]` `extent` $extent `scale` $scale attr-dict
  }];
  let hasVerifier = 1;
}

def Flash_RowDeltaOp : Flash_Op<"row_delta", []> {
  let summary = "D = rowsum(dO o O) of one query tile's rows";
  let arguments = (ins Index:$batch, Index:$head, Index:$row_tile,
                       Index:$extent);
  let assemblyFormat = [{
    `[` $batch `,` $head `,` $row_tile `]` `extent` $extent attr-dict
  }];
  let hasVerifier = 1;
}

def Flash_AccumClearOp : Flash_Op<"accum_clear", []> {
  let summary = "zero one query tile's rows of the f32 dQ accumulator";
  let arguments = (ins Index:$batch, Index:$head, Index:$row_tile,
                       Index:$extent);
  let assemblyFormat = [{
    `[` $batch `,` $head `,` $row_tile `]` `extent` $extent attr-dict
  }];
  let hasVerifier = 1;
}

def Flash_AccumConvertOp : Flash_Op<"accum_convert", []> {
  let summary = "dq = scale * accumulator, rounded, for one query tile's rows";
  let arguments = (ins Index:$batch, Index:$head, Index:$row_tile,
                       Index:$extent, F64Attr:$scale);
  let assemblyFormat = [{
    `[` $batch `,` $head `,` $row_tile `]` `extent` $extent `scale` $scale attr-dict
  }];
  let hasVerifier = 1;
}

#endif // FLASH_GRAD_KERNEL_OPS
