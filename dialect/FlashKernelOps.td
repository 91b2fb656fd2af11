//===- FlashKernelOps.td - kernel-level ops --------------*- tablegen -*-===//
//
// What `flash-lower-kernels` produces and `codegen/` prints: a `flash.kernel`
// with an explicit grid mapping, scalar index arithmetic in `arith`, loops in
// `scf`, and tile-level ops that act on the kernel's on-chip tiles (the query
// tile, the streamed key/value tiles, the score tile, the softmax statistics
// and the output accumulator). Tile ops name their tiles by role instead of
// passing SSA values: each kernel family has a fixed set of on-chip buffers,
// sized by the #flash.schedule on the kernel.
//
//===----------------------------------------------------------------------===//

#ifndef FLASH_KERNEL_OPS
#define FLASH_KERNEL_OPS

include "FlashDialect.td"
include "FlashAttrs.td"
include "mlir/IR/OpBase.td"
include "mlir/IR/SymbolInterfaces.td"

def Flash_KernelOp : Flash_Op<"kernel", [Symbol, SingleBlock, NoTerminator,
    IsolatedFromAbove]> {
  let summary = "a GPU kernel: grid mapping, tile loops and tile ops";
  let description = [{
    One CUDA kernel. `family` names the kernel family (`attention`,
    `linear_fused`, `linear_states`, `linear_outputs`): the tile ops it may
    hold and the tensors and states they may name. The
    schedule fixes every tile size; the problem attributes fix what the kernel
    specialises on (element type, head counts and dims, scale). Dynamic sizes
    are read with `flash.dim` and become kernel arguments, so a new batch size
    or sequence length never needs a new kernel.

    ```mlir
    flash.kernel @causal_gqa family attention schedule #flash.schedule<...>
        problem {q_heads = 32, kv_heads = 8, head_dim = 128, ...} {
      %b, %h, %t = flash.grid_map ["batch", "head", "query_tile"] ...
    }
    ```
  }];
  let arguments = (ins
    SymbolNameAttr:$sym_name,
    Flash_KernelFamily:$family,
    Flash_ScheduleAttr:$schedule,
    DictionaryAttr:$problem
  );
  let regions = (region SizedRegion<1>:$body);
  let assemblyFormat = [{
    $sym_name `family` $family `schedule` $schedule `problem` $problem
    attr-dict-with-keyword $body
  }];
  let extraClassDeclaration = [{
    /// The gate kind of a recurrence kernel: its problem's `gate` entry,
    /// kept a string there like the rest of the problem record (an enum in
    /// a dictionary would print as an integer). Absent: none named. The
    /// verifier rejects a name that is not a GateKind.
    std::optional<GateKind> getProblemGate();
  }];
  let hasVerifier = 1;
}

// `roles` stay strings: they only name things (the emitter prints each block
// index as the C++ variable `<role>_id`); no code branches on them.
def Flash_GridMapOp : Flash_Op<"grid_map", [Pure,
    HasParent<"KernelOp">]> {
  let summary = "the kernel's grid: which block index covers which loop";
  let description = [{
    Returns the index of this CTA along each grid dimension (x, y, z) and
    names what each one enumerates ("query_tile", "head", "batch", ...). The
    grid's extent along each dimension is the matching entry of `extents`,
    an integer expression over the kernel's dynamic sizes ("cdiv(N,128)").
    `uneven`: the tiles cost different amounts (causal query tiles), and the
    ids are in launch order, heaviest first; a persistent form claims them
    (`flash.tile_rounds` `claimed`) instead of dealing them round-robin.
  }];
  let arguments = (ins StrArrayAttr:$roles, StrArrayAttr:$extents,
                       UnitAttr:$uneven);
  let results = (outs Variadic<Index>:$ids);
  let assemblyFormat = "$roles `extents` $extents (`uneven` $uneven^)? attr-dict `:` type($ids)";
  let hasVerifier = 1;
}

def Flash_DimOp : Flash_Op<"dim", [Pure]> {
  let summary = "a dynamic size, passed to the kernel as an argument";
  let arguments = (ins StrAttr:$name);
  let results = (outs Index:$value);
  let assemblyFormat = "$name attr-dict";
}

def Flash_SequenceOp : Flash_Op<"sequence", [HasParent<"KernelOp">]> {
  let summary = "the lengths of one sequence of a packed (varlen) batch";
  let description = [{
    Returns how many queries and keys sequence `batch` has. A side marked
    `packed` is a packed batch (dialect/Varlen.h): its length comes from its
    cu_seqlens, and from here on the kernel addresses that side's tensors
    (q, o and lse; k and v) at the sequence's first packed row, so every
    later copy and store indexes the sequence as it would a batch entry of
    a [B, H, N, D] tensor. A side not packed returns `flash.dim` of its
    size. It comes first in the kernel, after the grid.

    ```mlir
    %n, %m = flash.sequence[%batch] queries "N" packed keys "M" packed
    ```
  }];
  let arguments = (ins Index:$batch, StrAttr:$query_dim, UnitAttr:$packed_queries,
                       StrAttr:$key_dim, UnitAttr:$packed_keys);
  let results = (outs Index:$queries, Index:$keys);
  let assemblyFormat = [{
    `[` $batch `]` `queries` $query_dim (`packed` $packed_queries^)?
    `keys` $key_dim (`packed` $packed_keys^)? attr-dict
  }];
}

def Flash_ExitIfOp : Flash_Op<"exit_if", []> {
  let summary = "the threads that reach it return when `condition` holds";
  let description = [{
    A CTA of a grid sized for the longest sequence whose own sequence has
    no work for it (a query tile past its length) stops: at the top of the
    kernel, before it touches shared memory or a barrier, or (after
    flash-warp-specialize) at the start of each role of a warp split, past
    the last CTA-wide barrier and the warpgroups' register reallocation.
    `condition` is the same on every thread.
  }];
  let arguments = (ins I1:$condition);
  let assemblyFormat = "$condition attr-dict";
}

def Flash_LaunchDependentsOp : Flash_Op<"launch_dependents", []> {
  let summary = "lets the variant's next launch become resident while this one runs";
  let description = [{
    Once every CTA of this grid has passed it (or exited), the CTAs of the
    variant's next launch, when that launch is marked `overlaps_previous`
    in the manifest (it holds flash.wait_previous_launch), may start on
    the SMs this grid leaves free, so their launch latency overlaps this
    grid's tail (PTX griddepcontrol.launch_dependents, sm_90; nothing on
    older GPUs). It orders nothing: the next launch still waits for this
    grid's completion at flash.wait_previous_launch.
  }];
  let assemblyFormat = "attr-dict";
}

def Flash_WaitPreviousLaunchOp : Flash_Op<"wait_previous_launch", []> {
  let summary = "waits until the variant's previous launch completed and its writes are visible";
  let description = [{
    A kernel launched after another of its variant and reading what that
    one wrote starts with this op before its first such read. The bundle
    marks its launch `overlaps_previous` (docs/bundle-format.md §1.6), and
    the runtime then launches it with programmatic stream serialization
    on sm_90 and newer: its CTAs may be resident before the previous grid
    ends and wait here (PTX griddepcontrol.wait). Launched the ordinary
    way the wait returns at once: the stream already ordered the grids.
  }];
  let assemblyFormat = "attr-dict";
}

def Flash_ExtraOp : Flash_Op<"extra", [Pure]> {
  let summary = "an extra operand of the op: a tensor its regions read, or a scalar";
  let description = [{
    The kernel argument that carries the attention op's extra operand
    `name` (dialect/ExtraOperands.h): a pointer and strides for a tensor, a
    value for a rank-0 scalar. `sizes` are its dynamic sizes (flash.dim
    values) in order. The user's regions, cloned into the kernel, read it
    with `tensor.extract`, which the emitter prints as a load with each
    index clamped into its dimension.

    ```mlir
    %doc = flash.extra "doc"(%B, %N) : tensor<?x?xi32>
    ```
  }];
  let arguments = (ins StrAttr:$name, Variadic<Index>:$sizes);
  let results = (outs AnyRankedTensor:$tensor);
  let assemblyFormat = "$name (`(` $sizes^ `)`)? attr-dict `:` type($tensor)";
  let hasVerifier = 1;
}

def Flash_TileLoadOp : Flash_Op<"tile_load", []> {
  let summary = "copy a tile of a global tensor into its on-chip buffer";
  let description = [{
    Copies rows [row_tile * rows, +rows) of tensor `tensor` (`q`, `k` or
    `v`) at (batch, head) into the on-chip buffer of that role, zero-filling rows past `extent`
    (boundary tiles are never read out of bounds). `stage` picks the
    pipeline buffer for streamed tiles; `async` loads are waited for by
    `flash.tile_wait`.

    `group G` (flash_decode's packed query tile): `head` is a kv head and
    row r of the tile is token r / G of query head head * G + r % G, so the
    G query heads that share the kv head fill one tile; `extent` counts
    packed rows (G N).

    `page_size P` (k and v of a paged cache, dialect/PagedKv.h): row j of
    the tensor of batch b is row j % P of page page_table[b, j / P] of the
    pool; the copy looks each row's page up (once a tile when P is a
    multiple of the tile's rows).

    `cols C at col_tile` (the small-cache schedules, flash2_dsplit and
    flash3_dsplit) copies only
    columns [col_tile * C, +C): a tile_d-wide chunk of q or k, a tile_dv-wide
    slice of v.

    `tma` (a ring tile of the warpgroup gradient kernels, marked by
    flash-warp-specialize): one thread copies the tile with the tensor
    memory accelerator, its bytes counted on the slot's arrival barrier,
    which `flash.tile_landed` waits on; where the runtime passes zero
    tensor maps for the launch, the same tile is copied as `async`.
  }];
  let arguments = (ins Flash_TensorRole:$tensor, Index:$batch, Index:$head,
                       Index:$row_tile, Index:$extent, I64Attr:$rows,
                       Index:$stage, UnitAttr:$async,
                       Optional<Index>:$col_tile, OptionalAttr<I64Attr>:$cols,
                       OptionalAttr<I64Attr>:$group,
                       OptionalAttr<I64Attr>:$page_size, UnitAttr:$tma);
  let assemblyFormat = [{
    $tensor `[` $batch `,` $head `,` $row_tile `]` `rows` $rows `extent` $extent
    (`cols` $cols^ `at` $col_tile)? (`group` $group^)?
    (`page_size` $page_size^)? `stage` $stage (`async` $async^)? (`tma` $tma^)?
    attr-dict
  }];
  let builders = [
    OpBuilder<(ins "TensorRole":$tensor, "Value":$batch, "Value":$head,
                   "Value":$rowTile, "Value":$extent, "int64_t":$rows,
                   "Value":$stage, "bool":$async), [{
      build($_builder, $_state, tensor, batch, head, rowTile, extent, rows,
            stage, async, /*col_tile=*/Value(), /*cols=*/IntegerAttr(),
            /*group=*/IntegerAttr(), /*page_size=*/IntegerAttr(), /*tma=*/false);
    }]>
  ];
  let hasVerifier = 1;
}

def Flash_TileLandedOp : Flash_Op<"tile_landed", []> {
  let summary = "wait until a ring tile copied with TMA has landed";
  let description = [{
    Waits on the arrival barrier of the slot that `flash.tile_load ... tma`
    of `tensor` filled for ring round `round` (slot round % stages, phase
    round / stages), so the tile's bytes are in shared memory. With zero
    tensor maps (the loads then copy with cp.async) it does nothing: the
    `flash.tile_wait` before it covers those copies.
  }];
  let arguments = (ins Flash_TensorRole:$tensor, Index:$round);
  let assemblyFormat = "$tensor `round` $round attr-dict";
  let hasVerifier = 1;
}

def Flash_TileRotateOp : Flash_Op<"tile_rotate", []> {
  let summary = "rotate a landed q or k tile by rotary position embedding, on chip";
  let description = [{
    The tile a `flash.tile_load` of the same tensor, batch, row tile, rows
    and stage copied (it has landed: a `flash.tile_wait` came before) is
    rotated in its on-chip buffer (docs/semantics.md §2.12): row r is row
    row_tile * rows + r of the tensor (with `group G`, flash_decode's
    packed rows: token (row_tile * rows + r) / G), at position that plus
    `offset` (q: M - N, the causal alignment; k: 0). Its first `dims`
    elements turn in pairs (`half`: f and f + dims/2; `interleaved`: 2f and
    2f + 1) by the angles whose cos and sin the tables (flash.extra values,
    f32 [P, dims/2] or [B, P, dims/2] indexed by `batch`) hold at the
    position, clamped into [0, P). Rows past `extent` are left alone. A
    `flash.barrier` follows before any thread reads the tile.
  }];
  let arguments = (ins Flash_TensorRole:$tensor, Index:$batch,
                       Index:$row_tile, Index:$extent, I64Attr:$rows,
                       Index:$stage, Index:$offset,
                       AnyRankedTensor:$cos, AnyRankedTensor:$sin,
                       Flash_RotaryStyle:$style, I64Attr:$dims,
                       OptionalAttr<I64Attr>:$group);
  let assemblyFormat = [{
    $tensor `[` $batch `,` $row_tile `]` `rows` $rows `extent` $extent
    (`group` $group^)? `stage` $stage `at` $offset $style `dims` $dims
    `tables` `(` $cos `,` $sin `)` attr-dict `:` type($cos) `,` type($sin)
  }];
  let hasVerifier = 1;
}

def Flash_RowsRotateOp : Flash_Op<"rows_rotate", []> {
  let summary = "rotary embedding's rows rotated in global memory, by a kernel of their own";
  let description = [{
    The kernel of family `attention_rotate`: rows [row_tile * rows, +rows)
    of `tensor` at (`batch`, `head`), those below `extent`, are turned as
    flash.tile_rotate turns a landed tile (docs/semantics.md §2.12; row r
    at position r + `offset`; `inverse`: by the opposite angles, the
    rotation's transpose) and written rounded to the element type:
    - q and k into the same rows of their workspace copies `q_rotated`,
      `k_rotated` ([B, H, rows, D], contiguous), which the next kernels of
      the variant read in their place: the forward's key pre-pass (a
      `rotary_prepass` schedule: K alone, the attention kernel turns Q),
      and the backward's first launches (Q and K);
    - dq and dk in place, `inverse`: the backward's last launches turn the
      gradients the kernels computed for the rotated q and k back.
  }];
  let arguments = (ins Flash_TensorRole:$tensor, Index:$batch, Index:$head,
                       Index:$row_tile, Index:$extent, I64Attr:$rows,
                       Index:$offset, AnyRankedTensor:$cos, AnyRankedTensor:$sin,
                       Flash_RotaryStyle:$style, I64Attr:$dims, UnitAttr:$inverse);
  let assemblyFormat = [{
    $tensor `[` $batch `,` $head `,` $row_tile `]` `rows` $rows `extent` $extent
    `at` $offset $style `dims` $dims (`inverse` $inverse^)? `tables` `(` $cos `,`
    $sin `)` attr-dict `:` type($cos) `,` type($sin)
  }];
  let hasVerifier = 1;
}

def Flash_TileClassifyOp : Flash_Op<"tile_classify", [SingleBlock]> {
  let summary = "a block mask's lists of one tile, from a class per tile of the other side";
  let description = [{
    The kernel of family `attention_mask_lists` (a `mask_lists` schedule's
    pre-pass): the region runs once for every key tile kt in [`first`,
    `last`) (those the mask kind leaves; the others are hidden), the CTA's
    threads splitting them (kt its index argument), and yields the tile's
    class as i32: 0 the query tile `row_block` sees none of it, 1 it needs
    the mask, 2 the mask_mod keeps all of it (passes/MaskModTiles.h).
    The partial tiles' indices, ascending, are written to
    `kv_indices[batch, head, row_block, :]`, the whole ones' to
    `full_kv_indices[...]`, their counts to `kv_num_blocks` and
    `full_kv_num_blocks [batch, head, row_block]`: the variant's workspace
    lists (dialect/BlockMask.h's names), which its kernels walk as a block
    mask's of tile_q x tile_kv blocks. With `transposed` the sides swap:
    `row_block` is a key tile, the region's argument a query tile, and the
    lists are the transposed ones (`q_num_blocks`, `q_indices`,
    `full_q_num_blocks`, `full_q_indices`), which the gradient's kv kernel
    walks. Every thread of the CTA runs the op (it syncs the CTA once per
    round of tiles).
  }];
  let arguments = (ins Index:$batch, Index:$head, Index:$row_block, Index:$first,
                       Index:$last, UnitAttr:$transposed);
  let regions = (region SizedRegion<1>:$body);
  let assemblyFormat = [{
    `[` $batch `,` $head `,` $row_block `]` `tiles` $first `to` $last attr-dict-with-keyword $body
  }];
  let hasVerifier = 1;
}

def Flash_TileCommitOp : Flash_Op<"tile_commit", []> {
  let summary = "close the group of async tile loads issued since the last commit";
  let description = [{
    Committed every pipeline step, even when no load was issued, so that
    `flash.tile_wait` can count groups without knowing the trip count.
  }];
  let assemblyFormat = "attr-dict";
}

def Flash_TileWaitOp : Flash_Op<"tile_wait", []> {
  let summary = "wait until at most `pending` load groups are in flight, then sync the CTA";
  let arguments = (ins I64Attr:$pending);
  let assemblyFormat = "$pending attr-dict";
  let hasVerifier = 1;
}

def Flash_BarrierOp : Flash_Op<"barrier", []> {
  let summary = "a CTA-wide barrier (before a pipeline stage is overwritten)";
  let assemblyFormat = "attr-dict";
}

def Flash_TileMmaOp : Flash_Op<"tile_mma", []> {
  let summary = "a tile matrix product on the tensor cores";
  let description = [{
    `qk`: score tile = query tile x key tile^T (f32 accumulate, fresh).
    `pv`: output accumulator += probability tile x value tile.
    `async` (flash3 consumers, FlashPipelineOps.td): issued on the tensor
    cores and not waited for: `flash.mma_wait` does; `pv` then reads the P
    operand `flash.probabilities` made, not the score tile.
    `accumulate` (the small-cache schedules): `qk` adds a query chunk x key
    chunk^T to the score tile `flash.score_clear` started, one head-dim chunk
    at a time (their `pv` reads the value slice in buffer `stage`).
    `query_stage` (flash3_dsplit with a resident query tile,
    schedule::dsplitQueryResident): the query chunk is read from slot
    `query_stage` of the resident tile (the chunk's index), the key chunk
    from ring stage `stage`.
  }];
  let arguments = (ins Flash_TileProduct:$product, Index:$stage, UnitAttr:$async,
                       UnitAttr:$accumulate, Optional<Index>:$query_stage);
  let assemblyFormat = [{
    $product `stage` $stage (`query_stage` $query_stage^)? (`async` $async^)? (`accumulate` $accumulate^)? attr-dict
  }];
  let builders = [
    OpBuilder<(ins "TileProduct":$product, "Value":$stage,
                   CArg<"bool", "false">:$async, CArg<"bool", "false">:$accumulate), [{
      build($_builder, $_state, product, stage, async, accumulate, /*query_stage=*/Value());
    }]>
  ];
  let hasVerifier = 1;
}

def Flash_ScoreClearOp : Flash_Op<"score_clear", []> {
  let summary = "start the score tile at zero (the small-cache schedules)";
  let description = [{
    The small-cache schedule computes S = Q K^T of one key tile in tile_d-wide
    head-dim chunks (`flash.tile_mma qk ... accumulate`, one per chunk), since
    neither whole Q rows nor whole K rows fit on chip; this op starts S before
    the first chunk.
  }];
  let assemblyFormat = "attr-dict";
  let hasVerifier = 1;
}

def Flash_ScoreMapOp : Flash_Op<"score_map", [SingleBlock]> {
  let summary = "apply scalar code to every element of the score tile";
  let description = [{
    Runs the region on every element of the score tile, with the element's
    score (already multiplied by the scale) and its batch, query head, query
    row and key column; the region yields the new score and whether the key
    stays visible. User `score_mod` and `mask_mod` regions, mask kinds and
    boundary masking are all inlined here by `flash-lower-kernels`.
  }];
  let arguments = (ins Index:$batch, Index:$head, Index:$query_tile,
                       Index:$key_tile);
  let regions = (region SizedRegion<1>:$body);
  let assemblyFormat = [{
    `[` $batch `,` $head `,` $query_tile `,` $key_tile `]` attr-dict-with-keyword $body
  }];
  let hasVerifier = 1;
}

def Flash_ScoreYieldOp : Flash_Op<"score_yield", [Terminator,
    ParentOneOf<["ScoreMapOp", "GradScoresOp"]>]> {
  let summary = "the new score and the visibility of one score element";
  let arguments = (ins F32:$score, I1:$visible);
  let assemblyFormat = "$score `,` $visible attr-dict";
}

def Flash_SoftmaxUpdateOp : Flash_Op<"softmax_update", []> {
  let summary = "online softmax: new row maxima, rescale, exponentiate, row sums";
  let description = [{
    `deferred`: the output accumulator is still being written by an issued
    product, so its rescale is recorded and applied by
    `flash.output_rescale` once that product is waited for.
    `fma_exp2_every N`: one in every N exponentials of a row runs on the
    FMA pipe (a polynomial) instead of the MUFU, which the score_mod's
    transcendentals already load (schedule::fmaExp2Every decides).
  }];
  let arguments = (ins UnitAttr:$masked, UnitAttr:$deferred,
                       OptionalAttr<I64Attr>:$fma_exp2_every);
  let assemblyFormat = [{
    (`masked` $masked^)? (`deferred` $deferred^)?
    (`fma_exp2_every` $fma_exp2_every^)? attr-dict
  }];
  let hasVerifier = 1;
}

def Flash_OutputStoreOp : Flash_Op<"output_store", []> {
  let summary = "normalise the output accumulator and write its rows (tensor `o`)";
  let description = [{
    Also writes the rows' log-sum-exp to the kernel's optional `lse` tensor
    when the caller passed one (the backward pass and log-sum-exp merges of
    partial outputs read it). `slice` (the small-cache schedules): the
    accumulator holds columns [slice * tile_dv, +tile_dv) of the rows;
    slice 0 writes the log-sum-exp, which every slice computes alike.
  }];
  let arguments = (ins Flash_TensorRole:$tensor, Index:$batch, Index:$head,
                       Index:$row_tile, Index:$extent,
                       Optional<Index>:$value_slice);
  // The op's output_mod, when it has one: (o: f32, b, h, i, d: index) ->
  // f32 (flash.yield), applied to each normalised element before it is
  // stored; the user's region cloned in (per-CTA ops hoisted out).
  let regions = (region MaxSizedRegion<1>:$output_mod);
  let assemblyFormat = [{
    $tensor `[` $batch `,` $head `,` $row_tile `]` `extent` $extent
    (`slice` $value_slice^)? (`output_mod` $output_mod^)? attr-dict
  }];
  let builders = [
    OpBuilder<(ins "TensorRole":$tensor, "Value":$batch, "Value":$head,
                   "Value":$rowTile, "Value":$extent), [{
      build($_builder, $_state, tensor, batch, head, rowTile, extent,
            /*value_slice=*/Value());
    }]>
  ];
  let hasVerifier = 1;
}

def Flash_LaunchValueOp : Flash_Op<"launch_value", [Pure,
    HasParent<"KernelOp">]> {
  let summary = "an integer the launch computes from the sizes";
  let description = [{
    A kernel argument the runtime evaluates at each launch from `expr`, a
    manifest expression over the kernel's dynamic sizes
    (docs/bundle-format.md §1.8), e.g. flash_decode's split count, which
    depends on the batch and the lengths (schedule/DecodeSplit.h). The grid
    extents that use it spell the same expression.

    ```mlir
    %splits = flash.launch_value "kv_splits" expr "max(1,min(cdiv(528,B*8),cdiv(M,128)))"
    ```
  }];
  let arguments = (ins StrAttr:$name, StrAttr:$expr);
  let results = (outs Index:$value);
  let assemblyFormat = "$name `expr` $expr attr-dict";
  let hasVerifier = 1;
}

def Flash_SplitStoreOp : Flash_Op<"split_store", []> {
  let summary = "flash_decode: store a key split's rows of a packed query tile";
  let description = [{
    Normalises the output accumulator of packed rows [row_tile * tile_q,
    +tile_q) (row r: token r / group of query head head * group + r % group,
    `head` being the kv head), rows at or past `extent` skipped. With one
    split (`splits` = 1) the rows are the result: they go to `o` and the
    optional `lse`. Otherwise they are this split's partial rows, f32, with
    their log-sum-exp, at row `partial_row` of the kernel's scratch
    `o_split` [rows, Dv] and `lse_split` [rows], for `flash.split_merge`.
  }];
  let arguments = (ins Index:$batch, Index:$head, Index:$row_tile,
                       Index:$extent, Index:$splits, Index:$partial_row,
                       I64Attr:$group);
  let assemblyFormat = [{
    `[` $batch `,` $head `,` $row_tile `]` `extent` $extent `splits` $splits
    `partial_row` $partial_row `group` $group attr-dict
  }];
  let hasVerifier = 1;
}

def Flash_SplitMergeOp : Flash_Op<"split_merge", []> {
  let summary = "flash_decode: merge the key splits' partial rows by log-sum-exp";
  let description = [{
    The kernel of family `attention_combine`: for packed rows [row_tile *
    tile_q, +tile_q) below `extent`, lse = log sum_s exp(lse_s) and o =
    sum_s exp(lse_s - lse) o_s over the `splits` partial rows, split s at
    scratch row partial_row + s * split_rows; written to `o` and the optional
    `lse` with the packed row mapping of flash.split_store. With one split
    the split kernel wrote them and this does nothing.
  }];
  let arguments = (ins Index:$batch, Index:$head, Index:$row_tile,
                       Index:$extent, Index:$splits, Index:$partial_row,
                       Index:$split_rows, I64Attr:$group);
  let assemblyFormat = [{
    `[` $batch `,` $head `,` $row_tile `]` `extent` $extent `splits` $splits
    `partial_row` $partial_row `split_rows` $split_rows `group` $group attr-dict
  }];
  let hasVerifier = 1;
}

#endif // FLASH_KERNEL_OPS
