//===- FlashPipelineOps.td - warp-specialized pipelines --*- tablegen -*-===//
//
// What `flash-warp-specialize` makes of a flash3 attention kernel whose
// schedule has a producer warpgroup: the kernel body split into a producer
// region (copies into rings of shared-memory slots) and a consumer region
// (warpgroups that compute), the hand-offs between them as explicit waits and
// releases on the rings' barriers, the consumers' turns (ping-pong between
// warpgroups), asynchronous tensor-core issue and its waits, and (persistent
// schedules) the loop over the query tiles a CTA owns. The emitter prints each
// op as one call of the device library (codegen/device/attention/
// wgmma_pipe.cuh); the order of the ops is the kernel's order.
//
//===----------------------------------------------------------------------===//

#ifndef FLASH_PIPELINE_OPS
#define FLASH_PIPELINE_OPS

include "FlashDialect.td"
include "FlashAttrs.td"
include "mlir/IR/OpBase.td"

// A ring of shared-memory slots the producer fills is named by the tensor
// it holds: the TensorRole `q`, `k` or `v` (the verifiers reject `g` and
// `o`, which have no ring).

def Flash_WarpSpecializeOp : Flash_Op<"warp_specialize", [NoTerminator,
    HasParent<"KernelOp">]> {
  let summary = "split the CTA into a producer warpgroup and consumer warpgroups";
  let description = [{
    The last warpgroup of the CTA runs `producer`, the `consumer_groups`
    warpgroups before it run `consumers`; each first sets its register
    budget with setmaxnreg (0 keeps the launch's). Ops before this one run in
    every thread (the barriers are initialised here, the last CTA-wide
    barrier of the kernel); nothing follows it. The two regions only
    communicate through the rings (`flash.pipe_*`).

    `tma`: the producer fills the rings with bulk tensor copies (TMA) through
    tensor maps the runtime encodes at launch (one per copied tensor, a
    kernel parameter); where it cannot encode them (strides not multiples
    of 16 bytes, no driver support, FLASHGEN_TMA=0) it passes zero maps and
    the same kernel copies with cp.async. Without `tma`: cp.async only.
  }];
  let arguments = (ins I64Attr:$consumer_groups, I64Attr:$producer_registers,
                       I64Attr:$consumer_registers, UnitAttr:$tma);
  let regions = (region SizedRegion<1>:$producer, SizedRegion<1>:$consumers);
  let assemblyFormat = [{
    `consumer_groups` $consumer_groups `producer_registers` $producer_registers
    `consumer_registers` $consumer_registers (`tma` $tma^)? attr-dict-with-keyword
    `producer` $producer `consumers` $consumers
  }];
  let hasVerifier = 1;
}

def Flash_TileRoundsOp : Flash_Op<"tile_rounds", [SingleBlock]> {
  let summary = "a persistent CTA's loop over the query tiles it owns";
  let description = [{
    Replaces `flash.grid_map` in persistent kernels: the grid is one CTA per
    SM (fewer when there are fewer tiles) and round r of CTA c takes linear
    tile c + r * gridDim (first role fastest, the order of the one-tile
    grid). `claimed` (a grid whose tiles cost different amounts, see
    `flash.grid_map`'s `uneven`): round 0 of CTA c takes tile c, every later
    round the next tile of the launch's counter (a zeroed scratch word,
    `tile_claims`), so a CTA that finishes early takes more tiles; the
    producer claims and hands each round's tile to the consumers through
    shared memory. The body's arguments are the tile's ids (one per role),
    the round r, whether this is the CTA's last round (for claimed rounds
    known at the round's end only: read it there), and the carried key-tile
    count (`carry` on entry, then what the body yields), which numbers the
    ring slots across rounds so that the rings run on without a drain.
  }];
  let arguments = (ins StrArrayAttr:$roles, StrArrayAttr:$extents,
                       Index:$carry, UnitAttr:$claimed);
  let regions = (region SizedRegion<1>:$body);
  let assemblyFormat = [{
    $roles `extents` $extents `carry` $carry (`claimed` $claimed^)?
    attr-dict-with-keyword $body
  }];
  let hasVerifier = 1;
}

def Flash_RoundsYieldOp : Flash_Op<"rounds_yield", [Terminator,
    HasParent<"TileRoundsOp">]> {
  let summary = "the key-tile count the next round starts from";
  let arguments = (ins Index:$carry);
  let assemblyFormat = "$carry attr-dict";
}

def Flash_PipeProduceOp : Flash_Op<"pipe_produce", [AttrSizedOperandSegments]> {
  let summary = "producer: copy one tile into the next slot of its ring";
  let description = [{
    Waits until the consumers released the slot (`slot` modulo the ring's
    size; not for the first round of slots), copies rows [row_tile * rows,
    +rows) of the ring's tensor at (batch, head) into it, zero-filling rows
    past `extent`, commits the copies as one group and publishes the group
    committed before it (landed, fenced for the async proxy) on its ring's
    full barrier. `ring` is the tensor it copies, `q`, `k` or `v`: Q's ring
    has one slot (two in persistent kernels), K's and V's the schedule's
    stages.

    `rotate STYLE dims R at OFFSET tables(cos, sin)` (q and k of an
    attention with rotary embedding): before publishing the tile, the
    producer rotates it in its slot as `flash.tile_rotate` does (every
    producer thread waits for the group, they sync, rotate and fence it for
    the async proxy), so the consumers read rotated rows.
  }];
  let arguments = (ins Flash_TensorRole:$ring, Index:$batch, Index:$head,
                       Index:$row_tile, Index:$extent, I64Attr:$rows,
                       Index:$slot, Optional<Index>:$rotate_offset,
                       Optional<AnyRankedTensor>:$cos,
                       Optional<AnyRankedTensor>:$sin,
                       OptionalAttr<Flash_RotaryStyle>:$style,
                       OptionalAttr<I64Attr>:$dims);
  let assemblyFormat = [{
    $ring `[` $batch `,` $head `,` $row_tile `]` `rows` $rows `extent` $extent
    `slot` $slot (`rotate` $style^ `dims` $dims `at` $rotate_offset `tables`
    `(` $cos `,` $sin `:` type($cos) `,` type($sin) `)`)? attr-dict
  }];
  let builders = [
    OpBuilder<(ins "TensorRole":$ring, "Value":$batch, "Value":$head,
                   "Value":$rowTile, "Value":$extent, "int64_t":$rows,
                   "Value":$slot), [{
      build($_builder, $_state, ring, batch, head, rowTile, extent, uint64_t(rows), slot,
            /*rotate_offset=*/Value(), /*cos=*/Value(), /*sin=*/Value(),
            /*style=*/::mlir::flash::RotaryStyleAttr(), /*dims=*/IntegerAttr());
    }]>
  ];
  let hasVerifier = 1;
}

def Flash_PipeDrainOp : Flash_Op<"pipe_drain", []> {
  let summary = "producer: publish the last committed copy group";
  let assemblyFormat = "attr-dict";
  let hasVerifier = 1;
}

def Flash_PipeWaitOp : Flash_Op<"pipe_wait", []> {
  let summary = "consumer: wait until a slot's tile has landed";
  let description = [{
    Waits on the slot's full barrier (the phase of round slot / ring size).
    For Q this also makes the slot the query tile the products read.
    `rotated` (q and k under rotary embedding): waits on the slot's ready
    barrier instead, which the producer's rotating threads complete once
    the tile is rotated in place.
  }];
  let arguments = (ins Flash_TensorRole:$ring, Index:$slot, UnitAttr:$rotated);
  let assemblyFormat = "$ring $slot (`rotated` $rotated^)? attr-dict";
  let hasVerifier = 1;
}

def Flash_PipeRotateOp : Flash_Op<"pipe_rotate", []> {
  let summary = "consumers: each warpgroup rotates its own rows of the landed Q slot";
  let description = [{
    After `flash.pipe_wait q` (the tile landed, not rotated): each consumer
    warpgroup turns its own 64 rows of the Q slot `slot` as
    `flash.tile_rotate` turns a tile (rows [row_tile * rows, +rows) of q at
    `batch`, rows past `extent` left alone, position + `offset`), fences
    them for the async proxy and syncs its warpgroup, so its products read
    rotated rows. The form of a `rotary_prepass` schedule: K came rotated,
    and each query tile turns once, by the warpgroups that read it, with
    the registers of a consumer (the producer only copies).
  }];
  let arguments = (ins Index:$batch, Index:$row_tile, Index:$extent,
                       I64Attr:$rows, Index:$slot, Index:$offset,
                       AnyRankedTensor:$cos, AnyRankedTensor:$sin,
                       Flash_RotaryStyle:$style, I64Attr:$dims);
  let assemblyFormat = [{
    `q` `[` $batch `,` $row_tile `]` `rows` $rows `extent` $extent `slot` $slot
    `at` $offset $style `dims` $dims `tables` `(` $cos `,` $sin `)` attr-dict
    `:` type($cos) `,` type($sin)
  }];
  let hasVerifier = 1;
}

def Flash_PipeReleaseOp : Flash_Op<"pipe_release", []> {
  let summary = "consumer: this warp is done reading a slot";
  let description = [{
    One arrival per consumer warp on the slot's empty barrier, after the
    last read of the slot completed (a `flash.mma_wait` that covers it).
  }];
  let arguments = (ins Flash_TensorRole:$ring, Index:$slot);
  let assemblyFormat = "$ring $slot attr-dict";
  let hasVerifier = 1;
}

def Flash_TurnOpenOp : Flash_Op<"turn_open", []> {
  let summary = "consumers: the last warpgroup hands the first turn to warpgroup 0";
  let description = [{
    Turns serialise the consumer warpgroups' tensor-core issue (named
    barrier 1 + g for warpgroup g): while one warpgroup runs its softmax the
    next one's products run. No-op with one consumer warpgroup.
  }];
  let assemblyFormat = "attr-dict";
  let hasVerifier = 1;
}

def Flash_TurnWaitOp : Flash_Op<"turn_wait", []> {
  let summary = "consumers: wait for this warpgroup's turn";
  let assemblyFormat = "attr-dict";
  let hasVerifier = 1;
}

def Flash_TurnPassOp : Flash_Op<"turn_pass", []> {
  let summary = "consumers: this warpgroup's products are issued, the next warpgroup's turn";
  let description = [{
    When `final` holds (the CTA's last turn) the last warpgroup passes
    nothing on, so that every named barrier's arrivals match its waits.
  }];
  let arguments = (ins I1:$final);
  let assemblyFormat = "`final` $final attr-dict";
  let hasVerifier = 1;
}

def Flash_TurnCloseOp : Flash_Op<"turn_close", []> {
  let summary = "consumers: warpgroup 0 takes the turn passed on after the last one";
  let description = [{
    Claimed rounds (`flash.tile_rounds claimed`) do not know their last
    round while its turn runs, so every turn passes on (`final` false) and
    warpgroup 0 takes the last warpgroup's final pass after the rounds:
    every named barrier's arrivals then match its waits. No-op with one
    consumer warpgroup.
  }];
  let assemblyFormat = "attr-dict";
  let hasVerifier = 1;
}

def Flash_MmaWaitOp : Flash_Op<"mma_wait", []> {
  let summary = "consumers: wait until at most `pending` issued products are in flight";
  let description = [{
    Waits for the warpgroup's asynchronous tensor-core groups
    (`flash.tile_mma ... async`) and fences the accumulators named (`score`,
    `output`) so that later reads see the products' results.
  }];
  let arguments = (ins I64Attr:$pending, UnitAttr:$score, UnitAttr:$output);
  let assemblyFormat = "$pending (`score` $score^)? (`output` $output^)? attr-dict";
  let hasVerifier = 1;
}

def Flash_MmaEmptyGroupOp : Flash_Op<"mma_empty_group", []> {
  let summary = "consumers: commit an empty tensor-core group";
  let description = [{
    Keeps group counting uniform where a product is skipped (the first key
    tile has no P V before it): `flash.mma_wait 1` then still waits for the
    product issued before the empty group.
  }];
  let assemblyFormat = "attr-dict";
  let hasVerifier = 1;
}

def Flash_ProbabilitiesOp : Flash_Op<"probabilities", []> {
  let summary = "consumers: the softmax numerators of the score tile as the P operand";
  let description = [{
    Converts the score tile (after `flash.softmax_update`) to the element
    type, kept in registers as the A operand of the next `tile_mma pv async`.
  }];
  let assemblyFormat = "attr-dict";
  let hasVerifier = 1;
}

def Flash_OutputRescaleOp : Flash_Op<"output_rescale", []> {
  let summary = "consumers: apply the rescale a deferred softmax update decided";
  let description = [{
    With `flash.softmax_update deferred` the output accumulator was still
    being written by a product, so its rescale waits until that product is
    waited for; this op applies it.
  }];
  let assemblyFormat = "attr-dict";
  let hasVerifier = 1;
}

def Flash_OutputInitOp : Flash_Op<"output_init", []> {
  let summary = "zero the output accumulator and reset the softmax statistics";
  let description = [{
    Once per query tile, before its first key tile (per round in persistent
    kernels).
  }];
  let assemblyFormat = "attr-dict";
}

#endif // FLASH_PIPELINE_OPS
