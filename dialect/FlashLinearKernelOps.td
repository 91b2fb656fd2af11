//===- FlashLinearKernelOps.td - kernel ops of recurrences -*- tablegen -*-===//
//
// What `flash-lower-kernels` produces for `flash.linear_attention` and
// codegen/ prints (recurrence/ChunkwiseEmitter.cpp): the chunkwise form of
// docs/semantics.md §4 as a `flash.kernel` of family `linear_fused` (the
// state stays on chip for the whole sequence) or the pair `linear_states` +
// `linear_outputs` (chunk states materialised in a scratch buffer, then
// outputs in parallel over chunks). The kernel body reuses flash.kernel, flash.grid_map, flash.dim,
// flash.tile_commit, flash.tile_wait and flash.barrier; the ops here are the
// recurrence's tile ops.
//
// As for attention, tile ops name on-chip buffers by role: the stage ring of
// chunk tiles (q, k, v and, for vector gates, g), the gate buffers (the
// log-space gates of one chunk: compensated cumulative log-forget b = hi + lo,
// log input weights iota, state-update key weights, the chunk's decay and
// stabiliser), the carried state (f32 registers plus a 16-bit copy in shared
// memory that feeds the inter-chunk product, and the normaliser n), and the
// per-warp output accumulators of the current inner query tile (H, N, mu).
// Sizes come from the kernel's #flash.schedule: `chunk` (L), `inner_q`,
// `inner_kv`, `tile_dv`, `stages`, `warps`.
//
// The gate math a user would change lives in regions as scalar arith/math
// code: `flash.chunk_gates` maps a step's raw gate operands to its log-forget
// and log-input weight (log-sigmoid for the mLSTM kinds), and
// `flash.decay_map` maps an element of the intra-chunk score tile to its log
// weight and visibility (the causal mask inside the chunk). The structural
// parts that the gate kind selects (stabiliser, normaliser, per-key-dim
// gating) are attributes of the tile ops.
//
//===----------------------------------------------------------------------===//

#ifndef FLASH_LINEAR_KERNEL_OPS
#define FLASH_LINEAR_KERNEL_OPS

include "FlashDialect.td"
include "FlashAttrs.td"
include "mlir/IR/OpBase.td"

def Flash_ChunkLoadOp : Flash_Op<"chunk_load", []> {
  let summary = "copy one chunk's tile of q, k, v or g into a pipeline stage";
  let description = [{
    Copies rows [chunk * rows, +rows) and columns [col_tile * cols, +cols)
    of `tensor` at (batch, head) into the stage buffer of that role,
    zero-filling rows at or past `extent` (the sequence length T), so a
    ragged last chunk needs no padding in global memory. `tensor` is `q`
    (not in a `linear_states` kernel, which computes no outputs), `k`, `v`
    (16-bit rows) or `g` (the f32 per-key-dim log-decays of a `vector`
    gate); in a chunk_scored `linear_fused` kernel also `scores`, the
    chunk's L x L gated intra-chunk matrix (the scores pre-pass's), and
    `score_gates` (its scanned gate buffer, `cols` floats, into gate buffer
    `stage`) and `score_key_sums` (Dk f32, into `stage`). `async` copies join the open group closed by
    `flash.tile_commit`. In a `linear_grad_states` kernel `q` and `dout`
    are the gradient update's key and value rows (the k and v stages); a
    `linear_grad_chunk` kernel stages q, k, v and dout whole (one stage),
    or only q and k where its schedule passes over value slices
    (`flash.chunk_grad` stages v and dout a slice a pass).
  }];
  let arguments = (ins Flash_TensorRole:$tensor, Index:$batch, Index:$head,
                       Index:$chunk, Index:$col_tile, Index:$extent,
                       I64Attr:$rows, I64Attr:$cols, Index:$stage,
                       UnitAttr:$async);
  let assemblyFormat = [{
    $tensor `[` $batch `,` $head `,` $chunk `,` $col_tile `]` `rows` $rows
    `cols` $cols `extent` $extent `stage` $stage (`async` $async^)? attr-dict
  }];
  let hasVerifier = 1;
}

def Flash_ChunkExtraLoadOp : Flash_Op<"chunk_extra_load", []> {
  let summary = "copy the chunk's tile of an extra its output_mod reads at each output";
  let description = [{
    For staged read `slot` of a kernel with outputs (passes/StagedExtras.h:
    an output_mod read of an f32 extra at the output's own row and
    column): rows [chunk * rows, +rows) in dimension `row_dim` and columns
    [col_tile * cols, +cols) in dimension `col_dim` of `extra`, at
    `indices` in its other dimensions (in order, each clamped into its
    dimension as a read's are), into the slot's tile of `stage`, zeros at
    rows at or past `extent`. The copies are async: they join the open
    group that flash.tile_commit closes, with the chunk's q, k and v.
  }];
  let arguments = (ins AnyRankedTensor:$extra, Variadic<Index>:$indices,
                       I64Attr:$row_dim, I64Attr:$col_dim, Index:$chunk,
                       Index:$col_tile, Index:$extent, Index:$stage,
                       I64Attr:$slot, I64Attr:$rows, I64Attr:$cols);
  let assemblyFormat = [{
    $extra `[` $indices `]` `slot` $slot `rows` $rows `at` $row_dim `cols` $cols
    `at` $col_dim `chunk` $chunk `col_tile` $col_tile `extent` $extent `stage`
    $stage attr-dict `:` type($extra)
  }];
  let hasVerifier = 1;
}

def Flash_ChunkExtraReadOp : Flash_Op<"chunk_extra_read", [Pure]> {
  let summary = "an output_mod's read of a staged extra";
  let description = [{
    Inside a flash.chunk_store's output_mod: the element at row `row` (the
    output's position in the sequence) and column `col` (its column in the
    head) of staged read `slot`'s tile, which flash.chunk_extra_load copied
    with the store's chunk into the store's stage; what the tensor.extract
    it replaces would have loaded.
  }];
  let arguments = (ins I64Attr:$slot, Index:$row, Index:$col);
  let results = (outs F32:$value);
  let assemblyFormat = "$slot `[` $row `,` $col `]` attr-dict";
  let hasVerifier = 1;
}

def Flash_StateInitOp : Flash_Op<"state_init", []> {
  let summary = "load or zero the carried state of a value tile";
  let description = [{
    Sets the state (C rows per warp in f32 registers, its 16-bit copy in
    shared memory, the normaliser n and the stabiliser m where the gate kind
    has them) of the (batch, head, value tile) this CTA covers. `source`:
    `zero` (no initial state: C = 0, n = 0, m = 0) or `initial` (the op's
    initial-state tensors c0, n0, m0) in `linear_fused` and `linear_states`
    kernels, `scratch` (the chunk states a `linear_states` kernel wrote, at
    boundary `chunk`) in `linear_outputs` kernels.
  }];
  let arguments = (ins Flash_StateSource:$source, Index:$batch, Index:$head,
                       Index:$col_tile, Optional<Index>:$chunk,
                       Flash_GateKind:$gate);
  let assemblyFormat = [{
    $source `[` $batch `,` $head `,` $col_tile `]` (`chunk` $chunk^)?
    `gate` $gate attr-dict
  }];
  let hasVerifier = 1;
}

def Flash_StateStoreOp : Flash_Op<"state_store", []> {
  let summary = "write the carried state of a value tile";
  let description = [{
    Writes the state to `final` (the op's final-state results cf, nf, mf;
    `linear_fused` and `linear_states` kernels) or to `scratch` at boundary
    `chunk` (the state before that chunk; boundary NC is the final state;
    `linear_states` kernels only). n and m are the same in every value tile; only
    value tile 0 writes them.
  }];
  let arguments = (ins Flash_StateTarget:$target, Index:$batch, Index:$head,
                       Index:$col_tile, Optional<Index>:$chunk,
                       Flash_GateKind:$gate);
  let assemblyFormat = [{
    $target `[` $batch `,` $head `,` $col_tile `]` (`chunk` $chunk^)?
    `gate` $gate attr-dict
  }];
  let hasVerifier = 1;
}

def Flash_GateFetchOp : Flash_Op<"gate_fetch", []> {
  let summary = "prefetch one chunk's raw per-step gates into registers";
  let description = [{
    Issues the global loads of the raw gate operands (log-decay g, or the
    input and forget preactivations i, f) of the chunk's steps into the
    registers the next `flash.chunk_gates` reads, a chunk ahead of their
    use, so their latency hides behind a chunk of tensor-core work. Steps at
    or past `extent` read nothing. Scalar gate kinds only.
  }];
  let arguments = (ins Index:$batch, Index:$head, Index:$chunk,
                       Index:$extent, Flash_GateKind:$gate);
  let assemblyFormat = [{
    `[` $batch `,` $head `,` $chunk `]` `extent` $extent `gate` $gate attr-dict
  }];
  let hasVerifier = 1;
}

def Flash_ChunkGatesOp : Flash_Op<"chunk_gates", [SingleBlock]> {
  let summary = "the log-space gates of one chunk (semantics.md §4.1)";
  let description = [{
    Runs the region on every step of the chunk: its arguments are the
    step's raw gate values (f32, in gate-operand order), it yields the
    step's log-forget lambda and log-input weight iota. Steps at or past
    `extent` get lambda = 0 and iota = -inf (no decay, no contribution).
    Then fills gate buffer `buffer`: the compensated cumulative sums
    b_r = hi_r + lo_r (TwoSum), iota_r, the chunk decay and, with a
    stabiliser (mlstm_exp), m_end = max(g + m_start, max_s (A(s) + iota_s))
    from m_start (the previous buffer's m_end), and the state-update key
    weights exp(A(s) + iota_s - m_end). For `vector` gates the region runs
    per (step, key dim) on the staged g tile, and the chunk's q and k tiles
    in `stage` are gated in place (q by exp(b_r - b_r0), k by
    exp(b_s0 - b_s) relative to the first row of their 16-row tile), so
    every later product is a plain tensor-core GEMM.
  }];
  let arguments = (ins Index:$batch, Index:$head, Index:$chunk,
                       Index:$extent, Index:$buffer, Index:$stage,
                       Flash_GateKind:$gate);
  let regions = (region SizedRegion<1>:$body);
  let assemblyFormat = [{
    `[` $batch `,` $head `,` $chunk `]` `extent` $extent `buffer` $buffer
    `stage` $stage `gate` $gate attr-dict-with-keyword $body
  }];
  let hasVerifier = 1;
}

def Flash_GateYieldOp : Flash_Op<"gate_yield", [Terminator,
    ParentOneOf<["ChunkGatesOp", "StepGatesOp"]>]> {
  let summary = "one step's log-forget and log-input weight";
  let arguments = (ins F32:$log_forget, F32:$log_input);
  let assemblyFormat = "$log_forget `,` $log_input attr-dict";
}

def Flash_ChunkInterOp : Flash_Op<"chunk_inter", []> {
  let summary = "start a query tile's accumulators from the carried state";
  let description = [{
    For inner query tile `query_tile` of the chunk in `stage`: H = the
    inter-chunk term (q~_r scaled by exp(b_r), per key dim for `vector`)
    times the carried state C; N = the same row weight times q~_r . n
    (normaliser kinds). With a stabiliser the row's running maximum starts
    at nu_r = b_r + m_start and H, N carry weight exp(nu_r - mu_r), so the
    final mu_r is the recurrence's m (§4.4).
  }];
  let arguments = (ins Index:$query_tile, Index:$stage, Index:$buffer,
                       Flash_GateKind:$gate);
  let assemblyFormat = [{
    `[` $query_tile `]` `stage` $stage `buffer` $buffer `gate` $gate attr-dict
  }];
  let hasVerifier = 1;
}

def Flash_ChunkScoresOp : Flash_Op<"chunk_scores", []> {
  let summary = "score tile of an inner query tile x inner key tile";
  let description = [{
    score = q_r . k_s for the rows of inner query tile `query_tile` and the
    keys of inner key tile `key_tile` (f32 accumulation on the tensor
    cores). For `vector` gates q and k were gated by `flash.chunk_gates`;
    key tiles before the query rows' 16-row tile also apply the decay
    between the two tiles' first rows to q's columns.
  }];
  let arguments = (ins Index:$query_tile, Index:$key_tile, Index:$stage,
                       Flash_GateKind:$gate);
  let assemblyFormat = [{
    `[` $query_tile `,` $key_tile `]` `stage` $stage `gate` $gate attr-dict
  }];
  let hasVerifier = 1;
}

def Flash_DecayMapOp : Flash_Op<"decay_map", [SingleBlock]> {
  let summary = "log weight and visibility of every score-tile element";
  let description = [{
    Runs the region on every element (r, s) of the score tile, r and s being
    row indices inside the chunk: arguments (score: f32, hi_r, lo_r, hi_s,
    lo_s, iota_s: f32, r, s: index) from gate buffer `buffer`; it yields the
    element's log weight D~_rs = B(r, s) + iota_s and whether key s is
    visible to row r (s <= r). `flash.chunk_accumulate` turns them into
    P_rs = score * scale * exp(D~_rs - mu_r).
  }];
  let arguments = (ins Index:$query_tile, Index:$key_tile, Index:$buffer);
  let regions = (region SizedRegion<1>:$body);
  let assemblyFormat = [{
    `[` $query_tile `,` $key_tile `]` `buffer` $buffer attr-dict-with-keyword $body
  }];
  let hasVerifier = 1;
}

def Flash_DecayYieldOp : Flash_Op<"decay_yield", [Terminator,
    ParentOneOf<["DecayMapOp", "ChunkGradOp"]>]> {
  let summary = "an element's log weight and visibility";
  let arguments = (ins F32:$log_weight, I1:$visible);
  let assemblyFormat = "$log_weight `,` $visible attr-dict";
}

def Flash_ChunkAccumulateOp : Flash_Op<"chunk_accumulate", []> {
  let summary = "H += P V for one inner key tile";
  let description = [{
    P_rs = score_rs * scale * exp(D~_rs - mu_r) for visible elements, 0
    otherwise; H += P V (the key tile's value rows, 16-bit P on the tensor
    cores), N += row sums of P. With a stabiliser (mlstm_exp) the row
    maximum moves online first: mu' = max(mu, max_s D~), H and N are
    rescaled by exp(mu - mu').
  }];
  let arguments = (ins Index:$key_tile, Index:$stage, Flash_GateKind:$gate);
  let assemblyFormat = "`[` $key_tile `]` `stage` $stage `gate` $gate attr-dict";
  let hasVerifier = 1;
}

def Flash_ChunkScoresStoreOp : Flash_Op<"chunk_scores_store", []> {
  let summary = "write an inner tile pair's gated scores P to scratch (linear_scores)";
  let description = [{
    In a `linear_scores` kernel (chunk_scored's pre-pass), after
    `flash.chunk_scores` and `flash.decay_map` of the same pair: P_rs =
    score * scale * exp(D~_rs) for visible elements, 0 otherwise, rounded
    to the element type and written to rows [chunk * L + query_tile *
    inner_q, +inner_q) and columns [key_tile * inner_kv, +inner_kv) of the
    scratch tensor `scores` at (batch, head). Rows past the sequence hold
    the P of zero-filled q rows (0); pairs above the diagonal are never
    written, and never read.
  }];
  let arguments = (ins Index:$batch, Index:$head, Index:$chunk,
                       Index:$query_tile, Index:$key_tile, Flash_GateKind:$gate);
  let assemblyFormat = [{
    `[` $batch `,` $head `,` $chunk `,` $query_tile `,` $key_tile `]` `gate` $gate attr-dict
  }];
  let hasVerifier = 1;
}

def Flash_ChunkGatesStoreOp : Flash_Op<"chunk_gates_store", []> {
  let summary = "write a chunk's scanned gates (and key sums) to scratch (linear_scores)";
  let description = [{
    In a `linear_scores` kernel after `flash.chunk_gates` of the chunk (gate
    buffer 0): the buffer, as is, to row `chunk` of the scratch tensor
    `score_gates` at (batch, head), and for the normaliser kinds the
    chunk's key sums sum_s w_s k_s (k staged in stage 0) to `score_key_sums`.
    Without a stabiliser none of it depends on the carried state, so
    chunk_scored's `linear_fused` stages them instead of scanning the gates
    and summing the keys again in each value slice.
  }];
  let arguments = (ins Index:$batch, Index:$head, Index:$chunk, Flash_GateKind:$gate);
  let assemblyFormat = "`[` $batch `,` $head `,` $chunk `]` `gate` $gate attr-dict";
  let hasVerifier = 1;
}

def Flash_ChunkStagedAccumulateOp : Flash_Op<"chunk_staged_accumulate", []> {
  let summary = "H += P V from the chunk's staged P (chunk_scored)";
  let description = [{
    In a `linear_fused` kernel of a chunk_scored schedule, after
    `flash.chunk_inter` of inner query tile `query_tile`: H += P V over the
    16-key blocks up to each warp's last row, P the chunk's gated
    intra-chunk matrix staged in `stage` (the scores pre-pass's, masked
    and weighted), and N += the row sums of P (normaliser kinds). It takes
    the place of `flash.chunk_scores`, `flash.decay_map` and
    `flash.chunk_accumulate` over the query tile's key tiles.
  }];
  let arguments = (ins Index:$query_tile, Index:$stage, Flash_GateKind:$gate);
  let assemblyFormat = "`[` $query_tile `]` `stage` $stage `gate` $gate attr-dict";
  let hasVerifier = 1;
}

def Flash_ChunkStoreOp : Flash_Op<"chunk_store", []> {
  let summary = "normalise an inner query tile's outputs and write them (tensor `o`)";
  let description = [{
    o_r = H_r (none, decay, vector) or H_r / (max(|N_r|, floor_r) + eps)
    (floor 1 for mlstm_sig, exp(-mu_r) for mlstm_exp), rounded to the
    element type and written to rows [chunk * L + query_tile * inner_q, ...)
    and the value tile's columns; rows at or past `extent` are not written.
    The rows go out through the query tile's rows of `stage`, which no one
    reads after this tile's products.
  }];
  let arguments = (ins Flash_TensorRole:$tensor, Index:$batch, Index:$head,
                       Index:$chunk, Index:$query_tile, Index:$col_tile,
                       Index:$extent, Index:$stage, Flash_GateKind:$gate);
  // The op's output_mod, when it has one (tensor `o` only): (o: f32, b, h,
  // t, d: index) -> f32 (flash.yield), applied to each normalised element
  // before it is rounded and stored; the user's region cloned in (per-CTA
  // ops hoisted out).
  let regions = (region MaxSizedRegion<1>:$output_mod);
  let assemblyFormat = [{
    $tensor `[` $batch `,` $head `,` $chunk `,` $query_tile `,` $col_tile `]`
    `extent` $extent `stage` $stage `gate` $gate (`output_mod` $output_mod^)? attr-dict
  }];
  let hasVerifier = 1;
}

def Flash_NormalizerGradRowsOp : Flash_Op<"normalizer_grad_rows", []> {
  let summary = "the normaliser kinds' row gradients from the forward's o and norm";
  let description = [{
    A linear_grad_rows kernel's work for rows [chunk * L, chunk * L + L)
    of (batch, head) (docs/semantics.md §4.6): with the forward's row
    normalisers (tensor `norm`: N_r, floor_r) den_r = max(|N_r|, floor_r)
    + eps and x_r = -(dO_r . o_r) / den_r (= -(dO_r . h_r) / den_r^2, h_r =
    o_r den_r the numerator), writes dO_r / den_r to `grad_do` (rows below
    `extent`) and to `grad_dqn` the row's normaliser gradient, sign(N_r)
    x_r where |N_r| > floor_r (else 0), and for mlstm_exp the stabiliser's,
    eps x_r, beside it, every row of the chunk (0 at or past `extent`: the
    two gradient kernels read whole chunks of them).
  }];
  let arguments = (ins Index:$batch, Index:$head, Index:$chunk, Index:$extent,
                       Flash_GateKind:$gate);
  let assemblyFormat = [{
    `[` $batch `,` $head `,` $chunk `]` `extent` $extent `gate` $gate attr-dict
  }];
  let hasVerifier = 1;
}

def Flash_StateUpdateOp : Flash_Op<"state_update", []> {
  let summary = "advance the carried state over one chunk (semantics.md §4.2)";
  let description = [{
    C = decay (.) C + (K diag(w))^T V with the gate buffer's chunk decay
    (per key dim for `vector`) and key weights w_s = exp(A(s) + iota_s -
    m_end); n likewise (normaliser kinds); then the 16-bit copy of C that
    the next chunk's `flash.chunk_inter` reads. Every warp must be done
    reading the old copy (a `flash.barrier` before this op).
    `gradient` (a `linear_grad_states` kernel, chunks last first): the
    state gradient one chunk back, G = decay (.) G + (Q diag(u))^T dO with
    the chunk's q and dO rows in the k and v stages and u_t = scale
    exp(b_t), b_t the cumulative log-forget from the chunk's start.
  }];
  let arguments = (ins Index:$stage, Index:$buffer, Flash_GateKind:$gate,
                       UnitAttr:$gradient);
  let assemblyFormat = [{
    `stage` $stage `buffer` $buffer `gate` $gate (`gradient` $gradient^)? attr-dict
  }];
  let hasVerifier = 1;
}

def Flash_ChunkGradStageOp : Flash_Op<"chunk_grad_stage", []> {
  let summary = "start staging what flash.chunk_grad reads whole besides the rows";
  let description = [{
    In a `linear_grad_chunk` kernel, before its `flash.tile_commit`:
    starts the asynchronous copies of the chunk's boundary states that
    the `flash.chunk_grad` after it reads whole: the state before the
    chunk S (scratch `chunk_c` at boundary `chunk`) and the gradient of
    the state after it G (`chunk_dc` at `chunk` + 1), 16-bit, where the
    schedule keeps them whole (value_slice = Dv; over value slices
    chunk_grad stages them a slice a pass), and with a normaliser
    (mlstm_sig, mlstm_exp) n before the chunk and n's part of G (f32).
    They land with the rows' tiles at the kernel's `flash.tile_wait`, so
    a CTA waits for one round trip to global memory, not two.
  }];
  let arguments = (ins Index:$batch, Index:$head, Index:$chunk, Flash_GateKind:$gate);
  let assemblyFormat = [{
    `[` $batch `,` $head `,` $chunk `]` `gate` $gate attr-dict
  }];
  let hasVerifier = 1;
}

def Flash_ChunkRoundsOp : Flash_Op<"chunk_rounds", [SingleBlock, NoTerminator,
    HasParent<"KernelOp">]> {
  let summary = "a persistent linear_grad_chunk CTA's rounds over the chunks it owns";
  let description = [{
    Replaces `flash.grid_map` in the persistent form of the gradient's
    chunk kernel (a chunk_grad schedule with `persistent = 1`): the grid is
    one CTA per SM (fewer when there are fewer tiles), and round r of CTA c
    takes linear tile c + r * gridDim over the three roles (chunk, head,
    batch; the first fastest, the one-chunk-a-CTA grid's order). The body's
    arguments: this round's chunk, head and batch, the round r, the next
    round's chunk, head and batch, and whether this CTA has a next round
    (i1; the next ids are only meaningful where it does). The body stages
    the next round's tiles while this round computes.

    ```mlir
    flash.chunk_rounds ["chunk", "head", "batch"] extents ["cdiv(T,64)", "16", "B"] {
    ^bb0(%c: index, %h: index, %b: index, %r: index,
         %nc: index, %nh: index, %nb: index, %more: i1):
      ...
    }
    ```
  }];
  let arguments = (ins StrArrayAttr:$roles, StrArrayAttr:$extents);
  let regions = (region SizedRegion<1>:$body);
  let assemblyFormat = "$roles `extents` $extents attr-dict-with-keyword $body";
  let hasVerifier = 1;
}

def Flash_ChunkGradOp : Flash_Op<"chunk_grad", [SingleBlock]> {
  let summary = "one chunk's dq, dk, dv and gate gradients (semantics.md §4.5)";
  let description = [{
    In a `linear_grad_chunk` kernel, with the chunk's q, k, v and dO rows
    in stage `stage` of their rings (1 stage, or 2 in the persistent
    form), its gates in gate buffer `buffer`, and the state before
    the chunk S and the gradient of the state after it G staged by a
    `flash.chunk_grad_stage` of the chunk (16 bits: earlier in its block,
    or in a `flash.chunk_rounds` body, by the round before or the first
    round's), with A_rs = scale (q_r . k_s) W_rs and
    dP_rs = (dO_r . v_s) W_rs, W_rs = exp(D~_rs) where the region (as
    `flash.decay_map`'s) says s is visible to r, else 0:
      dq_r = scale (exp(b_r) S dO_r + sum_s dP_rs k_s)
      dk_s = exp(b_L - b_s) G v_s + scale sum_r dP_rs q_r
      dv_s = exp(b_L - b_s) G^T k_s + sum_r A_rs dO_r
    and, for gated kinds, the log-decays' gradient: the reverse cumulative
    sum over the chunk of q_r . dq_r - k_r . dk_r, plus the chunk end's
    <G, S_next> = exp(b_L) <G, S> + sum_s k_s . (w_s G v_s) (the state
    after the chunk, not read). Rows at or past `extent` are not written.
    Where the kernel's schedule passes over value slices (chunk_grad's
    value_slice < Dv: the states do not fit shared memory whole), only q
    and k (and a normaliser's n) are staged before it, and it stages v, dO,
    S and G value_slice value columns at a time: dP and the state products of dq and dk accumulate
    over the passes, dv is written a slice a pass.
  }];
  let arguments = (ins Index:$batch, Index:$head, Index:$chunk,
                       Index:$extent, Index:$stage, Index:$buffer, Flash_GateKind:$gate);
  let regions = (region SizedRegion<1>:$body);
  let assemblyFormat = [{
    `[` $batch `,` $head `,` $chunk `]` `extent` $extent `stage` $stage `buffer` $buffer
    `gate` $gate attr-dict-with-keyword $body
  }];
  let hasVerifier = 1;
}

def Flash_ChunkFeatureMapOp : Flash_Op<"chunk_feature_map", []> {
  let summary = "the op's feature map on a staged q or k tile, in place";
  let description = [{
    For a `flash.linear_attention` with a feature_map (docs/semantics.md
    §3.7): once chunk `chunk`'s `tensor` tile (q or k, Dk columns) has
    landed in `stage`, every element x at row r < `extent` - chunk * rows
    becomes body(x, b, h, t = chunk * rows + r, d), rounded to the element
    type; rows past the sequence keep their zeros, so the products that
    read the tile stay unchanged by padding. The body is the op's
    feature_map with the CTA's batch and head, its per-CTA ops hoisted.
  }];
  let arguments = (ins Flash_TensorRole:$tensor, Index:$batch, Index:$head,
                       Index:$chunk, Index:$extent, Index:$stage);
  let regions = (region SizedRegion<1>:$body);
  let assemblyFormat = [{
    $tensor `[` $batch `,` $head `,` $chunk `]` `extent` $extent `stage` $stage
    attr-dict-with-keyword $body
  }];
  let hasVerifier = 1;
}

def Flash_ChunkL2NormOp : Flash_Op<"chunk_l2norm", []> {
  let summary = "the chunk's l2 row norms of q and k, into scratch; k normalised in place";
  let description = [{
    For `flash.delta_rule ... l2norm_qk` (docs/semantics.md §7.1), in a
    `delta_prepare` kernel, for chunk `chunk` of (batch, head): each row x
    of q (read from tensor `q`) and of the k tile staged in `stage` counts
    as x / sqrt(|x|^2 + 1e-6), the norm taken in f32. The staged k rows are
    rewritten so, rounded to the element type (A and W are built from
    them), and 1 / sqrt(|q_r|^2 + 1e-6), 1 / sqrt(|k_r|^2 + 1e-6) of every
    row of the chunk go to the scratch tensor `delta_norm` (0 at rows at or
    past `extent`). `delta_fused` loads them (`flash.chunk_load
    delta_norm`) as row scales: the products are linear in each row, so
    1 / |q_r| scales output row r and 1 / |k_s| the corrected value row s
    of `flash.chunk_delta`, and no value tile's CTA reduces q or k rows.
  }];
  let arguments = (ins Index:$batch, Index:$head, Index:$chunk, Index:$extent,
                       Index:$stage);
  let assemblyFormat = [{
    `[` $batch `,` $head `,` $chunk `]` `extent` $extent `stage` $stage attr-dict
  }];
  let hasVerifier = 1;
}

def Flash_ChunkWYOp : Flash_Op<"chunk_wy", []> {
  let summary = "the delta rule's WY factors of one chunk, into scratch";
  let description = [{
    In a `delta_prepare` kernel, for chunk `chunk` of (batch, head) staged
    in stage 0 (k, and v at full width): W = T diag(beta Gamma) K and
    U = T diag(beta) V with T = (I + A)^-1,
    A_rs = beta_r exp(gamma_r - gamma_s) k_r . k_s (s < r), the cumulative
    log decays gamma of gate buffer `buffer` (`decay`; 0 for `none`) and
    beta read from tensor `beta`, 0 at rows at or past `extent`
    (docs/semantics.md §7.3). Writes the chunk's rows of the scratch
    tensors `delta_w` and `delta_u`.
  }];
  let arguments = (ins Index:$batch, Index:$head, Index:$chunk, Index:$extent,
                       Index:$buffer, Flash_GateKind:$gate);
  let assemblyFormat = [{
    `[` $batch `,` $head `,` $chunk `]` `extent` $extent `buffer` $buffer
    `gate` $gate attr-dict
  }];
  let hasVerifier = 1;
}

def Flash_ChunkDeltaOp : Flash_Op<"chunk_delta", []> {
  let summary = "correct the staged values from the chunk's WY factors and the carried state";
  let description = [{
    In a `delta_fused` kernel, whose value stage holds the chunk's U
    (`delta_u`) and whose W stage its W (`delta_w`): the value tile of
    `stage` becomes U~ = U - W S, S the 16-bit copy of the carried state
    (docs/semantics.md §7.3), each row s times the staged 1 / |k_s|
    (`delta_norm`) with l2norm_qk. The chunk's outputs and state update are
    then those of the linear recurrence with values U~
    (`flash.chunk_accumulate`, `flash.state_update`; with l2norm_qk the
    output rows are scaled by the staged 1 / |q_r| when stored).
  }];
  let arguments = (ins Index:$stage);
  let assemblyFormat = "`stage` $stage attr-dict";
  let hasVerifier = 1;
}

//===----------------------------------------------------------------------===//
// recurrent_step: decoding a recurrence one token at a time. The kernel's
// state slice (Dk x tile_dv f32, from flash.state_init) stays in registers
// while an scf.for over the tokens runs flash.step_load, flash.step_gates,
// flash.step_update and flash.step_store; flash.state_store writes it back
// (it may be the initial state's memory: each element is read before it
// is written, by the thread that writes it).
//===----------------------------------------------------------------------===//

def Flash_StepLoadOp : Flash_Op<"step_load", []> {
  let summary = "copy one token's inputs into the step buffers";
  let description = [{
    Copies token `step` of (batch, head): q and k (Dk values), the value
    tile `col_tile` of v (tile_dv values), the raw gate operands (scalars,
    or Dk per-key-dim log-decays for `vector`) and, for the delta rule,
    beta, into f32 shared memory. Every thread is past the previous
    token's reads of those buffers first. The rows come from registers
    loaded a token ahead: token `step` + 1's loads are issued here when it
    is below `extent` (the token count), so their latency hides behind
    this token's work. With a `feature_map` region (the op's, (x: f32, b,
    h, t, d: index) -> f32 with the CTA's batch and head), q's and k's
    elements are mapped as they are stored (docs/semantics.md §3.7).
  }];
  let arguments = (ins Index:$batch, Index:$head, Index:$step,
                       Index:$col_tile, Index:$extent, Flash_GateKind:$gate);
  let regions = (region MaxSizedRegion<1>:$feature_map);
  let assemblyFormat = [{
    `[` $batch `,` $head `,` $step `,` $col_tile `]` `extent` $extent `gate`
    $gate (`feature_map` $feature_map^)? attr-dict
  }];
  let hasVerifier = 1;
}

def Flash_StepGatesOp : Flash_Op<"step_gates", [SingleBlock]> {
  let summary = "the token's decay and input weight (docs/semantics.md §3.1, §7.1)";
  let description = [{
    Runs the region on the loaded token's raw gate values (per key dim for
    `vector`): it yields the log-forget lambda and log-input weight iota,
    as flash.chunk_gates' region does. Then decay = exp(lambda) and input
    weight b = exp(iota), or with a stabiliser (mlstm_exp)
    m' = max(lambda + m, iota), decay = exp(lambda + m - m'),
    b = exp(iota - m'). The delta rule's region yields its log-decay as
    lambda (0 without one) and 0 as iota. The token's other scalars are
    set here too: with l2norm_qk the norms of q and k, the dot k . q~ that
    the output needs, and the normaliser n' = decay n + b k.
  }];
  let arguments = (ins Index:$batch, Index:$head, Index:$step,
                       Flash_GateKind:$gate);
  let regions = (region SizedRegion<1>:$body);
  let assemblyFormat = [{
    `[` $batch `,` $head `,` $step `]` `gate` $gate attr-dict-with-keyword $body
  }];
  let hasVerifier = 1;
}

def Flash_StepUpdateOp : Flash_Op<"step_update", []> {
  let summary = "one token's rank-one state update and its output numerator";
  let description = [{
    One pass over the old state slice gives S^T q~ (q~ gated per key dim
    for `vector`) and, for the delta rule, S^T k^. Each value column's
    write is w = b v (or beta (v - decay S^T k^) for the delta rule); the
    state becomes decay S + k w^T and the output numerator
    decay S^T q~ + w (k . q~), which flash.step_store writes.
  }];
  let arguments = (ins Flash_GateKind:$gate);
  let assemblyFormat = "`gate` $gate attr-dict";
  let hasVerifier = 1;
}

def Flash_StepStoreOp : Flash_Op<"step_store", []> {
  let summary = "normalise the token's outputs and write them (tensor `o`)";
  let description = [{
    o = H (none, decay, vector, the delta rule) or
    H / (max(|n' . q~|, floor) + eps) (floor 1 for mlstm_sig, exp(-m')
    for mlstm_exp), rounded to the element type and written to token
    `step` of (batch, head), value tile `col_tile`.
  }];
  let arguments = (ins Flash_TensorRole:$tensor, Index:$batch, Index:$head,
                       Index:$step, Index:$col_tile, Flash_GateKind:$gate);
  // The op's output_mod, as flash.chunk_store's.
  let regions = (region MaxSizedRegion<1>:$output_mod);
  let assemblyFormat = [{
    $tensor `[` $batch `,` $head `,` $step `,` $col_tile `]` `gate` $gate
    (`output_mod` $output_mod^)? attr-dict
  }];
  let hasVerifier = 1;
}

#endif // FLASH_LINEAR_KERNEL_OPS
