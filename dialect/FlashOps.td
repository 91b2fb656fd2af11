//===- FlashOps.td - semantic ops of the flash dialect ---*- tablegen -*-===//
//
// `flash.attention`, its gradient `flash.attention_grad` and
// `flash.linear_attention`: what to compute, before any
// schedule. Their verifiers (FlashOps.cpp) check every shape relation and say
// what is wrong with numbers.
//
//===----------------------------------------------------------------------===//

#ifndef FLASH_OPS
#define FLASH_OPS

include "FlashDialect.td"
include "FlashAttrs.td"
include "mlir/IR/OpBase.td"
include "mlir/Interfaces/SideEffectInterfaces.td"

def Flash_Float : AnyTypeOf<[BF16, F16, F32]>;
def Flash_Tensor : RankedTensorOf<[BF16, F16, F32]>;
def Flash_StateTensor : RankedTensorOf<[F32]>;
// What score_mod and mask_mod may read besides the score and the positions:
// integer or f32 tensors (document ids, bias tables, per-sequence lengths)
// and, at rank 0, run-time scalars.
def Flash_ExtraTensor : RankedTensorOf<[I32, I64, F32]>;

//===----------------------------------------------------------------------===//
// flash.attention
//===----------------------------------------------------------------------===//

// Accessors flash.attention and flash.attention_grad share: both carry the
// same attributes and regions, and FlashOps.cpp defines each accessor once
// for both, so the backward op can never read them differently.
defvar Flash_AttentionHelpers = [{
    /// The scale applied to q k^T: the attribute, or 1/sqrt(D).
    double getEffectiveScale();
    /// Names of the batch, query-length and key-length dimensions.
    std::string getBatchDimName();
    std::string getQueryDimName();
    std::string getKeyDimName();
    bool hasScoreMod() { return !getScoreMod().empty(); }
    bool hasMaskMod() { return !getMaskMod().empty(); }
    /// The extra operands with their names and dimension names, in
    /// operand order (dialect/ExtraOperands.h).
    ::llvm::SmallVector<::mlir::flash::ExtraOperand> getExtraOperands();
}];

def Flash_AttentionOp : Flash_Op<"attention", [Pure, IsolatedFromAbove]> {
  let summary = "softmax attention with masks and score modifiers";
  let description = [{
    `o = softmax(scale * q k^T + score_mod, masked) v` for
    q [B, Hq, N, D], k [B, Hkv, M, D], v [B, Hkv, M, Dv] and o [B, Hq, N, Dv].
    Query head h reads key/value head h / (Hq / Hkv), so GQA and MQA follow
    from the head counts. `scale` defaults to 1/sqrt(D).

    `mask` is `none`, `causal` (bottom-right aligned: key j is visible to
    query i iff j <= i + M - N) or `sliding_window` with `window` w (causal and
    i + M - N - j < w). The optional `score_mod` region maps
    (score: f32, b, h, i, j: index) to an f32 score; `mask_mod` maps
    (b, h, i, j) to i1 (true keeps the key). Both are written with arith and
    math ops and end in `flash.yield`. A query row that sees no key gives 0.
    The optional `output_mod` maps (o: f32, b, h, i, d: index) to the f32
    stored at o[b, h, i, d], after the softmax's normalisation: a gated
    output (SambaY's gated memory unit, o * sigmoid(gate)) reads its gate as
    an extra (docs/semantics.md §2.11). The log-sum-exp is not changed.

    `rotary half|interleaved tables ["cos", "sin"]` applies rotary position
    embedding to q and k before the product (docs/semantics.md §2.12): the
    two named extras are f32 tables [P, R/2] (or [B, P, R/2], one per
    sequence) of cos and sin of each position's angles, so frequency
    scaling of any kind (per dimension, NTK, YaRN) is in the tables. Query
    i sits at position i + M - N (the causal alignment), key j at j; the
    first R dims of q and k rotate in pairs, (f, f + R/2) for `half`,
    (2f, 2f + 1) for `interleaved`; the rest pass through. The kernels
    rotate each tile once it landed on chip: no rotated copy is written.

    `dims` names the dynamic dimensions (batch, query length, key length) so
    tools bind them by name; defaults are "B", "N", "M".

    `extras` are tensors the regions may read (docs/semantics.md §2.7): each
    has a name (`names`, the name callers bind it by) and, in `extra_dims`,
    the dims names of its dynamic sizes in order (static sizes are in its
    type). Elements are i32, i64 or f32; a rank-0 extra is a scalar given at
    launch. Every region takes the extras as block arguments after its own
    and reads them with `tensor.extract`; an index outside a dimension is
    clamped into it.

    ```mlir
    %o = flash.attention %q, %k, %v mask causal dims ["B", "N", "N"]
        : tensor<?x32x?x128xbf16>, tensor<?x8x?x128xbf16>,
          tensor<?x8x?x128xbf16> -> tensor<?x32x?x128xbf16>
    ```
  }];

  let arguments = (ins
    Flash_Tensor:$q,
    Flash_Tensor:$k,
    Flash_Tensor:$v,
    DefaultValuedAttr<Flash_MaskKind, "::mlir::flash::MaskKind::none">:$mask,
    OptionalAttr<I64Attr>:$window,
    OptionalAttr<F32Attr>:$scale,
    OptionalAttr<StrArrayAttr>:$dims,
    Variadic<Flash_ExtraTensor>:$extras,
    OptionalAttr<StrArrayAttr>:$extra_names,
    OptionalAttr<ArrayAttr>:$extra_dims,
    OptionalAttr<Flash_RotaryStyle>:$rotary,
    OptionalAttr<StrArrayAttr>:$rotary_tables
  );
  let results = (outs Flash_Tensor:$o);
  let regions = (region MaxSizedRegion<1>:$score_mod, MaxSizedRegion<1>:$mask_mod,
                        MaxSizedRegion<1>:$output_mod);

  let assemblyFormat = [{
    $q `,` $k `,` $v (`mask` $mask^)? (`window` $window^)? (`scale` $scale^)?
    (`dims` $dims^)?
    (`extras` `(` $extras^ `:` type($extras) `)` `names` $extra_names
     `extra_dims` $extra_dims)?
    (`rotary` $rotary^ `tables` $rotary_tables)?
    (`score_mod` $score_mod^)? (`mask_mod` $mask_mod^)? (`output_mod` $output_mod^)?
    attr-dict `:` type($q) `,` type($k) `,` type($v) `->` type($o)
  }];

  let extraClassDeclaration = Flash_AttentionHelpers # [{
    bool hasOutputMod() { return !getOutputMod().empty(); }
  }];
  let hasVerifier = 1;
  let hasRegionVerifier = 1;
}

//===----------------------------------------------------------------------===//
// flash.paged_view
//===----------------------------------------------------------------------===//

def Flash_PagedViewOp : Flash_Op<"paged_view", [Pure]> {
  let summary = "the keys or values of a paged KV cache, seen as [B, Hkv, M, D]";
  let description = [{
    A paged cache keeps keys (or values) in a pool of fixed-size pages,
    `pool` [pages, P, Hkv, D] (the layout of FlashAttention's and vLLM's
    caches; other layouts are strided views of it), and per sequence a
    page table `page_table` [B, seq_pages] (i32) listing its pages in
    order. The view is the cache a sequence sees:

      view[b, h, j, d] = pool[page_table[b, j / P], j % P, h, d]

    with M = seq_pages * P keys per sequence. `flash.attention` takes it as
    k and v (both through one page table); the kernels read the pages in
    place, so no gather is ever materialised. Page ids outside [0, pages)
    read the nearest page in that range: no id makes a kernel read outside
    the pool (docs/semantics.md §2.8). P is static (1 to
    4096); the pool and table sizes are launch arguments.

    ```mlir
    %k = flash.paged_view %k_pool[%table]
        : tensor<?x16x8x128xbf16>, tensor<?x?xi32> -> tensor<?x8x?x128xbf16>
    ```
  }];
  let arguments = (ins Flash_Tensor:$pool, RankedTensorOf<[I32]>:$page_table);
  let results = (outs Flash_Tensor:$view);
  let assemblyFormat = [{
    $pool `[` $page_table `]` attr-dict `:` type($pool) `,` type($page_table)
    `->` type($view)
  }];
  let hasVerifier = 1;
}

//===----------------------------------------------------------------------===//
// flash.block_mask
//===----------------------------------------------------------------------===//

def Flash_BlockMaskOp : Flash_Op<"block_mask", [Pure, AttrSizedOperandSegments]> {
  let summary = "the keys of an attention seen through a block-sparse mask";
  let description = [{
    Block-sparse attention (FlexAttention's BlockMask, NSA's selected
    blocks, MMInference's patterns): the query rows are cut into blocks of
    Qb rows and the keys into blocks of Kb keys, and query block qb sees
    key block kb only where a list names it. Per (batch, query head, query
    block), `kv_num_blocks` [B, Hq, cdiv(N, Qb)] (i32) counts the blocks
    listed first in `kv_indices` [B, Hq, cdiv(N, Qb), cdiv(M, Kb)] (i32);
    these blocks are partly visible (mask kind and mask_mod apply). The
    optional `full` lists, of the same shapes, name blocks the mask_mod
    keeps entirely (it is not evaluated there; the mask kind still
    applies). B and Hq may be 1 (broadcast). The view is the k of one
    `flash.attention` (docs/semantics.md §2.10):

      visible(b, h, i, j) = (listed_full(b, h, i / Qb, j / Kb) or
                             (listed(b, h, i / Qb, j / Kb) and mask_mod))
                            and the mask kind and 0 <= j < M

    Counts are clamped into [0, cdiv(M, Kb)]; a listed index outside
    [0, cdiv(M, Kb)) names no block. A block is listed at most once in
    both lists together. Kernels visit only the listed blocks.

    The gradient kernels walk the same blocks from the key side: the
    `transposed` lists (FlexAttention's q_num_blocks / q_indices and
    full_q_num_blocks / full_q_indices) name, per (batch, query head, key
    block), the query blocks whose lists name it, `q_num_blocks` [B|1,
    Hq|1, cdiv(M, Kb)] and `q_indices` [.., cdiv(N, Qb)], with the batch
    and head dims of the lists they transpose. A `flash.attention_grad`
    whose k is a block mask requires them (flash-derive-backward adds them
    to the backward function's arguments); they must say what the kv lists
    say, as a Flex BlockMask's do. The forward ignores them.

    ```mlir
    %ks = flash.block_mask %k[%kv_num_blocks, %kv_indices]
        full [%full_kv_num_blocks, %full_kv_indices] block [128, 128]
        : tensor<?x8x?x128xbf16>, tensor<?x32x?xi32>, tensor<?x32x?x?xi32>,
          tensor<?x32x?xi32>, tensor<?x32x?x?xi32> -> tensor<?x8x?x128xbf16>
    ```
  }];
  let arguments = (ins Flash_Tensor:$keys,
                       RankedTensorOf<[I32]>:$kv_num_blocks,
                       RankedTensorOf<[I32]>:$kv_indices,
                       Optional<RankedTensorOf<[I32]>>:$full_kv_num_blocks,
                       Optional<RankedTensorOf<[I32]>>:$full_kv_indices,
                       Optional<RankedTensorOf<[I32]>>:$q_num_blocks,
                       Optional<RankedTensorOf<[I32]>>:$q_indices,
                       Optional<RankedTensorOf<[I32]>>:$full_q_num_blocks,
                       Optional<RankedTensorOf<[I32]>>:$full_q_indices,
                       DenseI64ArrayAttr:$block);
  let results = (outs Flash_Tensor:$view);
  let assemblyFormat = [{
    $keys `[` $kv_num_blocks `,` $kv_indices `]`
    (`full` `[` $full_kv_num_blocks^ `,` $full_kv_indices `]`)?
    (`transposed` `[` $q_num_blocks^ `,` $q_indices `:` type($q_num_blocks)
       `,` type($q_indices) `]`)?
    (`full_transposed` `[` $full_q_num_blocks^ `,` $full_q_indices `:`
       type($full_q_num_blocks) `,` type($full_q_indices) `]`)?
    `block` $block attr-dict `:` type($keys) `,` type($kv_num_blocks) `,`
    type($kv_indices) (`,` type($full_kv_num_blocks)^ `,` type($full_kv_indices))?
    `->` type($view)
  }];
  let hasVerifier = 1;
}

//===----------------------------------------------------------------------===//
// flash.varlen_view, flash.varlen_pack
//===----------------------------------------------------------------------===//

def Flash_VarlenViewOp : Flash_Op<"varlen_view", [Pure]> {
  let summary = "a packed batch of sequences (cu_seqlens), seen as [B, H, N, D]";
  let description = [{
    A variable-length batch keeps its sequences back to back without
    padding, `packed` [T, H, D] (the layout of FlashAttention's varlen API),
    with `cu_seqlens` [B + 1] (i32) holding where each starts: sequence b is
    rows cu_seqlens[b] .. cu_seqlens[b + 1] - 1. The view is the batch a
    `flash.attention` sees:

      view[b, h, i, d] = packed[cu_seqlens[b] + i, h, d],
                         i < cu_seqlens[b + 1] - cu_seqlens[b]

    N is the longest sequence (the `max_seqlen_q` / `max_seqlen_k` scalar
    given at launch, dialect/Varlen.h); each sequence's masks and
    bottom-right alignment use its own length. `flash.attention` takes it
    as q (its result then leaves through `flash.varlen_pack` with the same
    cu_seqlens) or as k and v (both through one cu_seqlens). Kernels read
    the rows in place (docs/semantics.md §2.9).

    ```mlir
    %q = flash.varlen_view %q_packed[%cu_q]
        : tensor<?x16x128xbf16>, tensor<?xi32> -> tensor<?x16x?x128xbf16>
    ```
  }];
  let arguments = (ins Flash_Tensor:$packed, RankedTensorOf<[I32]>:$cu_seqlens);
  let results = (outs Flash_Tensor:$view);
  let assemblyFormat = [{
    $packed `[` $cu_seqlens `]` attr-dict `:` type($packed) `,` type($cu_seqlens)
    `->` type($view)
  }];
  let hasVerifier = 1;
}

def Flash_VarlenPackOp : Flash_Op<"varlen_pack", [Pure]> {
  let summary = "the output of a packed batch's attention, packed like its queries";
  let description = [{
    The inverse of `flash.varlen_view` for the result of a `flash.attention`
    whose q is a varlen view: `packed[cu_seqlens[b] + i, h, d] = o[b, h, i,
    d]` for the rows each sequence has. The kernels store the rows there
    directly (and the rows' log-sum-exp as [H, T]).

    ```mlir
    %out = flash.varlen_pack %o[%cu_q]
        : tensor<?x16x?x128xbf16>, tensor<?xi32> -> tensor<?x16x128xbf16>
    ```
  }];
  let arguments = (ins Flash_Tensor:$view, RankedTensorOf<[I32]>:$cu_seqlens);
  let results = (outs Flash_Tensor:$packed);
  let assemblyFormat = [{
    $view `[` $cu_seqlens `]` attr-dict `:` type($view) `,` type($cu_seqlens)
    `->` type($packed)
  }];
  let hasVerifier = 1;
}

//===----------------------------------------------------------------------===//
// flash.attention_grad
//===----------------------------------------------------------------------===//

def Flash_AttentionGradOp : Flash_Op<"attention_grad",
    [Pure, IsolatedFromAbove]> {
  let summary = "gradients dq, dk, dv of one flash.attention";
  let description = [{
    Given the operands q, k, v of a `flash.attention`, its output o, the
    gradient `do` of a loss with respect to o and the forward's log-sum-exp
    lse [B, Hq, N] (f32, natural log), returns dq, dk, dv (the types of q, k,
    v). mask, window, scale, dims, extras, score_mod and mask_mod mean what
    they mean on the forward op (docs/semantics.md §2; §2.6 gives the gradients).
    `score_grad` is d score_mod / d s at the scaled raw score s, with
    score_mod's block arguments; it is present iff score_mod is.
    `flash-derive-backward` builds this op; users do not write it.
    GQA: dk and dv sum over the query heads sharing a key/value head.
    `deterministic` asks for kernels without float atomics. `rotary` is the
    forward's rotary embedding (docs/semantics.md §2.12): the gradients
    are taken through the rotation (dq and dk turned back by the same
    angles).

    ```mlir
    %dq, %dk, %dv = flash.attention_grad %q, %k, %v, %o, %do, %lse
        mask causal dims ["B", "N", "N"]
        : tensor<?x8x?x64xbf16>, tensor<?x8x?x64xbf16>, tensor<?x8x?x64xbf16>,
          tensor<?x8x?x64xbf16>, tensor<?x8x?x64xbf16>, tensor<?x8x?xf32>
        -> tensor<?x8x?x64xbf16>, tensor<?x8x?x64xbf16>, tensor<?x8x?x64xbf16>
    ```
  }];

  let arguments = (ins
    Flash_Tensor:$q,
    Flash_Tensor:$k,
    Flash_Tensor:$v,
    Flash_Tensor:$o,
    Flash_Tensor:$dout,
    Flash_StateTensor:$lse,
    DefaultValuedAttr<Flash_MaskKind, "::mlir::flash::MaskKind::none">:$mask,
    OptionalAttr<I64Attr>:$window,
    OptionalAttr<F32Attr>:$scale,
    OptionalAttr<StrArrayAttr>:$dims,
    UnitAttr:$deterministic,
    Variadic<Flash_ExtraTensor>:$extras,
    OptionalAttr<StrArrayAttr>:$extra_names,
    OptionalAttr<ArrayAttr>:$extra_dims,
    OptionalAttr<Flash_RotaryStyle>:$rotary,
    OptionalAttr<StrArrayAttr>:$rotary_tables
  );
  let results = (outs Flash_Tensor:$dq, Flash_Tensor:$dk, Flash_Tensor:$dv);
  let regions = (region MaxSizedRegion<1>:$score_mod,
                        MaxSizedRegion<1>:$mask_mod,
                        MaxSizedRegion<1>:$score_grad);

  let assemblyFormat = [{
    $q `,` $k `,` $v `,` $o `,` $dout `,` $lse (`mask` $mask^)?
    (`window` $window^)? (`scale` $scale^)? (`dims` $dims^)?
    (`deterministic` $deterministic^)?
    (`extras` `(` $extras^ `:` type($extras) `)` `names` $extra_names
     `extra_dims` $extra_dims)?
    (`rotary` $rotary^ `tables` $rotary_tables)?
    (`score_mod` $score_mod^)?
    (`mask_mod` $mask_mod^)? (`score_grad` $score_grad^)?
    attr-dict `:` type($q) `,` type($k) `,` type($v) `,` type($o) `,`
    type($dout) `,` type($lse) `->` type($dq) `,` type($dk) `,` type($dv)
  }];

  let extraClassDeclaration = Flash_AttentionHelpers # [{
    bool hasScoreGrad() { return !getScoreGrad().empty(); }
  }];
  let hasVerifier = 1;
  let hasRegionVerifier = 1;
}

//===----------------------------------------------------------------------===//
// flash.linear_attention
//===----------------------------------------------------------------------===//

def Flash_LinearAttentionOp : Flash_Op<"linear_attention",
    [Pure, AttrSizedOperandSegments, IsolatedFromAbove]> {
  let summary = "gated linear recurrence (linear attention, decay, GLA, mLSTM)";
  let description = [{
    The recurrence `S_t = G_t (.) S_{t-1} + b_t k_t v_t^T`, `o_t = S_t^T q~_t`
    (q~ = scale * q, scale defaulting to 1/sqrt(Dk)) over
    q, k [B, H, T, Dk], v [B, H, T, Dv], giving o [B, H, T, Dv]. `gate`:
    - `none`: no gate operands;
    - `decay`: one log-decay operand [B, H, T] (RetNet, Mamba2, simple GLA);
    - `vector`: one log-decay operand [B, H, T, Dk] (GLA);
    - `mlstm_exp`: input- and forget-gate preactivations [B, H, T] each, with
      the mLSTM's max-stabiliser and normaliser;
    - `mlstm_sig`: the same operands, sigmoid input gate (TFLA's mLSTMsig).
    docs/semantics.md gives each formula exactly.

    The recurrent state is C [B, H, Dk, Dv] (f32); mlstm_exp adds the
    normaliser n [B, H, Dk] and the stabiliser m [B, H]; mlstm_sig adds n.
    `initial` passes the whole state in; `return_final_state` returns it.
    `dims` names the dynamic batch and length dimensions (defaults "B", "T").

    The optional `output_mod` maps (o: f32, b, h, t, d: index) to the f32
    stored at o[b, h, t, d], after the mLSTM's normaliser: a gated output
    (SambaY's gated memory unit, o * sigmoid(gate); GLA's and xLSTM's output
    gates) reads its gate as an extra (docs/semantics.md §3.6). `extras`,
    `names` and `extra_dims` are attention's (§2.7), with the op's two dims;
    the final state is not changed.

    The optional `feature_map` maps (x: f32, b, h, t, d: index) to the f32
    that stands for q[b, h, t, d] and for k[b, h, t, d] in the recurrence,
    before the scale and the gates: a feature-mapped linear attention
    (elu(x) + 1, relu(x), exp(x - c), a learned per-dimension scale read
    as an extra) written as the element map phi with o_t = S_t^T q~_t over
    phi(q), phi(k) (docs/semantics.md §3.7). Rows past the sequence are not
    mapped.

    ```mlir
    %o = flash.linear_attention %q, %k, %v gate mlstm_exp gates(%i, %f
        : tensor<?x8x?xf32>, tensor<?x8x?xf32>) dims ["B", "T"]
        : tensor<?x8x?x256xbf16>, tensor<?x8x?x256xbf16>,
          tensor<?x8x?x512xbf16> -> tensor<?x8x?x512xbf16>
    ```
  }];

  let arguments = (ins
    Flash_Tensor:$q,
    Flash_Tensor:$k,
    Flash_Tensor:$v,
    Variadic<Flash_Tensor>:$gates,
    Variadic<Flash_StateTensor>:$initial_state,
    DefaultValuedAttr<Flash_GateKind, "::mlir::flash::GateKind::none">:$gate,
    OptionalAttr<F32Attr>:$scale,
    UnitAttr:$return_final_state,
    OptionalAttr<StrArrayAttr>:$dims,
    Variadic<Flash_ExtraTensor>:$extras,
    OptionalAttr<StrArrayAttr>:$extra_names,
    OptionalAttr<ArrayAttr>:$extra_dims
  );
  let results = (outs Flash_Tensor:$o, Variadic<Flash_StateTensor>:$final_state);
  let regions = (region MaxSizedRegion<1>:$feature_map,
                        MaxSizedRegion<1>:$output_mod);

  let assemblyFormat = [{
    $q `,` $k `,` $v (`gate` $gate^)?
    (`gates` `(` $gates^ `:` type($gates) `)`)?
    (`initial` `(` $initial_state^ `:` type($initial_state) `)`)?
    (`return_final_state` $return_final_state^)?
    (`scale` $scale^)? (`dims` $dims^)?
    (`extras` `(` $extras^ `:` type($extras) `)` `names` $extra_names
     `extra_dims` $extra_dims)?
    (`feature_map` $feature_map^)? (`output_mod` $output_mod^)?
    attr-dict `:` type($q) `,` type($k) `,` type($v) `->` type($o)
    (`,` type($final_state)^)?
  }];

  let extraClassDeclaration = [{
    /// The scale applied to q: the attribute, or 1/sqrt(Dk).
    double getEffectiveScale();
    std::string getBatchDimName();
    std::string getLengthDimName();
    /// How many gate operands `gate` needs (0, 1 or 2).
    static unsigned getGateOperandCount(::mlir::flash::GateKind kind);
    /// How many state tensors (C, n, m) the recurrence carries (1 to 3).
    static unsigned getStateTensorCount(::mlir::flash::GateKind kind);
    bool hasOutputMod() { return !getOutputMod().empty(); }
    bool hasFeatureMap() { return !getFeatureMap().empty(); }
    /// The extra operands with their names and dimension names, in
    /// operand order (dialect/ExtraOperands.h).
    ::llvm::SmallVector<::mlir::flash::ExtraOperand> getExtraOperands();
  }];
  let hasVerifier = 1;
  let hasRegionVerifier = 1;
}

//===----------------------------------------------------------------------===//
// flash.linear_attention_grad
//===----------------------------------------------------------------------===//

def Flash_LinearAttentionGradOp : Flash_Op<"linear_attention_grad",
    [Pure, AttrSizedOperandSegments, AttrSizedResultSegments]> {
  let summary = "gradients of one flash.linear_attention";
  let description = [{
    Given the operands q, k, v and gates of a `flash.linear_attention`, and
    the gradient `do` of a loss with respect to its output o, returns dq,
    dk, dv (the types of q, k, v), the gate operands' gradients (their
    types, in their order) and, where the forward takes an initial state,
    that state's gradient (its types). `final_grad` passes the gradient of
    the forward's final state, where the loss reads it. The normaliser
    kinds (mlstm_sig, mlstm_exp) also take the forward's output `o` (the
    type of do) and its row normalisers `norm` [B, H, T, 2] f32 (N_r and
    floor_r, docs/semantics.md §4.6), which every forward kernel of those
    kinds writes: the gradient reads dO / den and dL/dN from them instead
    of recomputing the outputs. gate, scale and
    dims mean what they mean on the forward op; docs/semantics.md §4.5
    gives the gradients and the chunkwise form the kernels compute.
    `flash-derive-backward` builds this op; users do not write it.

    ```mlir
    %dq, %dk, %dv, %dg = flash.linear_attention_grad %q, %k, %v, %do
        gate decay gates(%g : tensor<?x16x?xf32>) dims ["B", "T"]
        : tensor<?x16x?x128xbf16>, tensor<?x16x?x128xbf16>,
          tensor<?x16x?x128xbf16>, tensor<?x16x?x128xbf16>
        -> tensor<?x16x?x128xbf16>, tensor<?x16x?x128xbf16>,
           tensor<?x16x?x128xbf16> gates(tensor<?x16x?xf32>)
    ```
  }];

  let arguments = (ins
    Flash_Tensor:$q,
    Flash_Tensor:$k,
    Flash_Tensor:$v,
    Flash_Tensor:$dout,
    Optional<Flash_Tensor>:$o,
    Optional<Flash_StateTensor>:$norm,
    Variadic<Flash_Tensor>:$gates,
    Variadic<Flash_StateTensor>:$initial_state,
    Variadic<Flash_StateTensor>:$final_grad,
    DefaultValuedAttr<Flash_GateKind, "::mlir::flash::GateKind::none">:$gate,
    OptionalAttr<F32Attr>:$scale,
    OptionalAttr<StrArrayAttr>:$dims
  );
  let results = (outs Flash_Tensor:$dq, Flash_Tensor:$dk, Flash_Tensor:$dv,
                      Variadic<Flash_Tensor>:$dgates,
                      Variadic<Flash_StateTensor>:$dinitial_state);

  let assemblyFormat = [{
    $q `,` $k `,` $v `,` $dout (`gate` $gate^)?
    (`saved` `(` $o^ `,` $norm `:` type($o) `,` type($norm) `)`)?
    (`gates` `(` $gates^ `:` type($gates) `)`)?
    (`initial` `(` $initial_state^ `:` type($initial_state) `)`)?
    (`final_grad` `(` $final_grad^ `:` type($final_grad) `)`)?
    (`scale` $scale^)? (`dims` $dims^)?
    attr-dict `:` type($q) `,` type($k) `,` type($v) `,` type($dout) `->`
    type($dq) `,` type($dk) `,` type($dv)
    (`gates` `(` type($dgates)^ `)`)? (`initial` `(` type($dinitial_state)^ `)`)?
  }];

  let extraClassDeclaration = [{
    /// The scale applied to q: the attribute, or 1/sqrt(Dk).
    double getEffectiveScale();
    std::string getBatchDimName();
    std::string getLengthDimName();
  }];
  let hasVerifier = 1;
}

//===----------------------------------------------------------------------===//
// flash.delta_rule
//===----------------------------------------------------------------------===//

def Flash_DeltaRuleOp : Flash_Op<"delta_rule",
    [Pure, AttrSizedOperandSegments]> {
  let summary = "delta-rule recurrence (DeltaNet, gated DeltaNet)";
  let description = [{
    `S_t = alpha_t (I - beta_t k_t k_t^T) S_{t-1} + beta_t k_t v_t^T`,
    `o_t = S_t^T q~_t` (docs/semantics.md §7) over q, k [B, H, T, Dk],
    v [B, H, T, Dv] and beta [B, H, T], giving o [B, H, T, Dv]. `decay`
    takes the log-decay g [B, H, T] (gated DeltaNet, alpha_t = exp(g_t));
    without it alpha_t = 1 (DeltaNet). `l2norm_qk` divides q and k by their
    L2 norms first (fla's use_qk_l2norm_in_kernel). The state S
    [B, H, Dk, Dv] is f32: `initial` passes S_0 in, `return_final_state`
    returns S_T. `scale` defaults to 1/sqrt(Dk); `dims` names the dynamic
    batch and length dimensions (defaults "B", "T").

    ```mlir
    %o = flash.delta_rule %q, %k, %v, %beta decay(%g : tensor<?x16x?xf32>)
        l2norm_qk dims ["B", "T"]
        : tensor<?x16x?x128xbf16>, tensor<?x16x?x128xbf16>,
          tensor<?x16x?x128xbf16>, tensor<?x16x?xf32>
          -> tensor<?x16x?x128xbf16>
    ```
  }];

  let arguments = (ins
    Flash_Tensor:$q,
    Flash_Tensor:$k,
    Flash_Tensor:$v,
    Flash_Tensor:$beta,
    Optional<Flash_Tensor>:$log_decay,
    Optional<Flash_StateTensor>:$initial_state,
    UnitAttr:$l2norm_qk,
    UnitAttr:$return_final_state,
    OptionalAttr<F32Attr>:$scale,
    OptionalAttr<StrArrayAttr>:$dims
  );
  let results = (outs Flash_Tensor:$o,
                      Optional<Flash_StateTensor>:$final_state);

  let assemblyFormat = [{
    $q `,` $k `,` $v `,` $beta
    (`decay` `(` $log_decay^ `:` type($log_decay) `)`)?
    (`initial` `(` $initial_state^ `:` type($initial_state) `)`)?
    (`l2norm_qk` $l2norm_qk^)?
    (`return_final_state` $return_final_state^)?
    (`scale` $scale^)? (`dims` $dims^)?
    attr-dict `:` type($q) `,` type($k) `,` type($v) `,` type($beta)
    `->` type($o) (`,` type($final_state)^)?
  }];

  let extraClassDeclaration = [{
    /// The scale applied to q: the attribute, or 1/sqrt(Dk).
    double getEffectiveScale();
    std::string getBatchDimName();
    std::string getLengthDimName();
  }];
  let hasVerifier = 1;
}

//===----------------------------------------------------------------------===//
// flash.yield
//===----------------------------------------------------------------------===//

def Flash_YieldOp : Flash_Op<"yield", [Pure, Terminator,
    ParentOneOf<["AttentionOp", "AttentionGradOp", "OutputStoreOp",
                 "LinearAttentionOp", "ChunkStoreOp", "StepStoreOp",
                 "ChunkFeatureMapOp", "StepLoadOp", "TileClassifyOp"]>]> {
  let summary = "returns the value of a score_mod, mask_mod, score_grad, output_mod or feature_map region, or a tile's class";
  let arguments = (ins AnyType:$value);
  let assemblyFormat = "$value attr-dict `:` type($value)";
}

include "FlashKernelOps.td"
include "FlashLinearKernelOps.td"
include "FlashGradKernelOps.td"
include "FlashPipelineOps.td"

#endif // FLASH_OPS
