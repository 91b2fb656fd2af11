//===- FlashAttrs.td - kinds, roles and schedules --------*- tablegen -*-===//
//
// Enum attributes chosen by the user (mask kind, gate kind), the schedule
// attribute written by `flash-schedule`, and the kinds of the kernel IR that
// the verifiers and emitters branch on (kernel family, tensor roles, tile
// products, state sources and targets).
//
//===----------------------------------------------------------------------===//

#ifndef FLASH_ATTRS
#define FLASH_ATTRS

include "FlashDialect.td"
include "mlir/IR/AttrTypeBase.td"
include "mlir/IR/EnumAttr.td"

def Flash_MaskKind : I32EnumAttr<"MaskKind", "attention mask kind", [
    I32EnumAttrCase<"none", 0>,
    I32EnumAttrCase<"causal", 1>,
    I32EnumAttrCase<"sliding_window", 2>
  ]> {
  let cppNamespace = "::mlir::flash";
}

def Flash_GateKind : I32EnumAttr<"GateKind", "linear recurrence gate kind", [
    I32EnumAttrCase<"none", 0>,
    I32EnumAttrCase<"decay", 1>,
    I32EnumAttrCase<"vector", 2>,
    I32EnumAttrCase<"mlstm_exp", 3>,
    I32EnumAttrCase<"mlstm_sig", 4>
  ]> {
  let cppNamespace = "::mlir::flash";
}

def Flash_RotaryStyle : I32EnumAttr<"RotaryStyle",
    "which dimensions rotary position embedding pairs", [
    // (f, f + R/2): GPT-NeoX, Llama, Hugging Face's rotate_half
    I32EnumAttrCase<"half", 0>,
    // (2f, 2f + 1): GPT-J, Meta's original Llama code
    I32EnumAttrCase<"interleaved", 1>
  ]> {
  let cppNamespace = "::mlir::flash";
}

def Flash_Algorithm : I32EnumAttr<"Algorithm", "kernel family of a schedule", [
    I32EnumAttrCase<"flash2", 0>,
    I32EnumAttrCase<"flash2_dsplit", 1>,
    I32EnumAttrCase<"flash3", 2>,
    I32EnumAttrCase<"chunk_fused", 3>,
    I32EnumAttrCase<"chunk_two_pass", 4>,
    I32EnumAttrCase<"flash2_grad", 5>,
    I32EnumAttrCase<"flash2_grad_deterministic", 6>,
    I32EnumAttrCase<"flash3_grad", 7>,
    I32EnumAttrCase<"flash3_grad_deterministic", 8>,
    I32EnumAttrCase<"flash3_dsplit", 9>,
    I32EnumAttrCase<"flash_decode", 10>,
    I32EnumAttrCase<"recurrent_step", 11>,
    I32EnumAttrCase<"chunk_grad", 12>,
    // chunk_fused after a scores pre-pass (linear_scores writes every
    // chunk's gated intra-chunk matrix P once; the fused loop stages it).
    I32EnumAttrCase<"chunk_scored", 13>
  ]> {
  let cppNamespace = "::mlir::flash";
}

def Flash_KernelFamily : I32EnumAttr<"KernelFamily",
    "kernel family of a flash.kernel", [
    I32EnumAttrCase<"attention", 0>,
    I32EnumAttrCase<"linear_fused", 1>,
    I32EnumAttrCase<"linear_states", 2>,
    I32EnumAttrCase<"linear_outputs", 3>,
    // flash.attention_grad (FlashGradKernelOps.td): D = rowsum(dO o O) (and
    // the cleared f32 dQ accumulator of flash2_grad); dK, dV per key tile
    // (flash2_grad also adds dQ into the accumulator); dQ per query tile
    // (flash2_grad_deterministic); the accumulator scaled and rounded
    // into dQ (flash2_grad).
    I32EnumAttrCase<"attention_grad_prep", 4>,
    I32EnumAttrCase<"attention_grad_kv", 5>,
    I32EnumAttrCase<"attention_grad_dq", 6>,
    I32EnumAttrCase<"attention_grad_convert", 7>,
    // flash_decode's second launch: the key splits' partial rows merged by
    // log-sum-exp into o and lse.
    I32EnumAttrCase<"attention_combine", 8>,
    // flash.delta_rule (FlashLinearKernelOps.td): every chunk's WY factors
    // in parallel (delta_prepare), then linear_fused's loop with each
    // chunk's values corrected from them and the carried state.
    I32EnumAttrCase<"delta_fused", 9>,
    I32EnumAttrCase<"delta_prepare", 10>,
    // Decoding a recurrence (flash.linear_attention or flash.delta_rule)
    // token by token: the state slice in registers, one rank-one update
    // per token (FlashLinearKernelOps.td's flash.step_* ops).
    I32EnumAttrCase<"recurrent_step", 11>,
    // flash.linear_attention_grad (chunk_grad, after a linear_states pass
    // that writes the chunk states): the states' gradients, last chunk
    // first (linear_grad_states), then every chunk's dq, dk, dv and gate
    // gradients in parallel (linear_grad_chunk).
    I32EnumAttrCase<"linear_grad_states", 12>,
    I32EnumAttrCase<"linear_grad_chunk", 13>,
    // The normaliser kinds' gradient (mlstm_sig) first recomputes every
    // chunk's outputs per value tile, as linear_outputs does, and writes
    // dO / den and the rows' normaliser gradient instead of o
    // (linear_grad_rows), which the state gradients and the chunk kernel
    // then read in dO's place.
    I32EnumAttrCase<"linear_grad_rows", 14>,
    // Rotary embedding's pre-pass (Schedule rotary_prepass): K rotated once
    // into the workspace copy that the variant's attention kernel reads in
    // k's place (flash.rows_rotate).
    I32EnumAttrCase<"attention_rotate", 15>,
    // A mask_mod's tile lists (Schedule mask_lists): per query tile, the key
    // tiles the mask_mod leaves partly or wholly visible, sorted by its
    // interval form over the tiles' positions (flash.tile_classify), written
    // to the workspace lists the variant's attention kernel walks.
    I32EnumAttrCase<"attention_mask_lists", 16>,
    // chunk_scored's pre-pass, grid (chunk, head, batch): each chunk's
    // gated intra-chunk matrix P = scale (Q K^T .* D) (flash.chunk_scores,
    // flash.decay_map), 16-bit, written to scratch `scores`
    // (flash.chunk_scores_store), which linear_fused then stages.
    I32EnumAttrCase<"linear_scores", 17>
  ]> {
  let cppNamespace = "::mlir::flash";
}

// The op tensors a tile op reads or writes. Each name is also the kernel's
// CUDA parameter for that tensor, which the emitters print.
def Flash_TensorRole : I32EnumAttr<"TensorRole",
    "op tensor a kernel tile op reads or writes", [
    I32EnumAttrCase<"q", 0>,
    I32EnumAttrCase<"k", 1>,
    I32EnumAttrCase<"v", 2>,
    I32EnumAttrCase<"g", 3>,
    I32EnumAttrCase<"o", 4>,
    // The backward's tensors: the forward's log-sum-exp, dO (`do` in the
    // manifest, a C++ keyword), the row dots D = rowsum(dO o O) and the f32
    // dQ accumulator (scratch), and the gradients.
    I32EnumAttrCase<"lse", 5>,
    I32EnumAttrCase<"dout", 6>,
    I32EnumAttrCase<"delta", 7>,
    I32EnumAttrCase<"dq_accum", 8>,
    I32EnumAttrCase<"dq", 9>,
    I32EnumAttrCase<"dk", 10>,
    I32EnumAttrCase<"dv", 11>,
    // The delta rule's WY factors of each chunk (docs/semantics.md §7.3):
    // scratch the delta_prepare kernel writes and delta_fused reads.
    I32EnumAttrCase<"delta_w", 12>,
    I32EnumAttrCase<"delta_u", 13>,
    // With l2norm_qk: each row's 1 / |q_r| and 1 / |k_r| (f32 [B, H, rows,
    // 2]), written by delta_prepare once per chunk, read by delta_fused.
    I32EnumAttrCase<"delta_norm", 14>,
    // The normaliser kinds' gradient (docs/semantics.md §4.6): dO / den in
    // the element type ([B, H, T, Dv]) and each row's normaliser gradient
    // in f32 ([B, H, whole chunks of rows, 1], mlstm_exp's stabiliser
    // gradient beside it: 2; 0 past the sequence), written by
    // linear_grad_rows, read by linear_grad_states and linear_grad_chunk.
    I32EnumAttrCase<"grad_do", 15>,
    I32EnumAttrCase<"grad_dqn", 16>,
    // chunk_scored: each chunk's gated intra-chunk matrix P (element type,
    // [B, H, whole chunks of rows, L]; row r's keys at columns 0..L-1 of
    // its chunk), written by linear_scores, staged by linear_fused.
    I32EnumAttrCase<"scores", 17>,
    // chunk_scored, gate kinds with scalar gates: each chunk's scanned gate
    // buffer (f32, [B, H, chunks, 4 L + 4]: the chunk's log-decays, input
    // weights, key weights and decay, none of which depends on the carried
    // state), and for the normaliser kinds the chunk's key sums sum_s w_s
    // k_s (f32, [B, H, chunks, Dk]); written by linear_scores, staged by
    // linear_fused in place of its per-slice gate scan and key sums.
    I32EnumAttrCase<"score_gates", 18>,
    I32EnumAttrCase<"score_key_sums", 19>
  ]> {
  let cppNamespace = "::mlir::flash";
}

def Flash_TileProduct : I32EnumAttr<"TileProduct",
    "tile matrix product of the attention kernel", [
    I32EnumAttrCase<"qk", 0>,
    I32EnumAttrCase<"pv", 1>,
    // The backward's (attention_grad_kv): dP = dO V^T (fresh), dV += P^T dO,
    // dK += dS^T Q, dQ = dS K (fresh, added to the accumulator).
    I32EnumAttrCase<"dov", 2>,
    I32EnumAttrCase<"ptdo", 3>,
    I32EnumAttrCase<"dstq", 4>,
    I32EnumAttrCase<"dsk", 5>
  ]> {
  let cppNamespace = "::mlir::flash";
}

def Flash_StateSource : I32EnumAttr<"StateSource",
    "where a recurrence kernel's carried state starts from", [
    I32EnumAttrCase<"zero", 0>,
    I32EnumAttrCase<"initial", 1>,
    I32EnumAttrCase<"scratch", 2>,
    // The gradient of the final state (linear_grad_states' start).
    I32EnumAttrCase<"final_grad", 3>
  ]> {
  let cppNamespace = "::mlir::flash";
}

def Flash_StateTarget : I32EnumAttr<"StateTarget",
    "where a recurrence kernel writes its carried state", [
    I32EnumAttrCase<"final", 0>,
    I32EnumAttrCase<"scratch", 1>,
    // The gradient of the initial state (linear_grad_states' end).
    I32EnumAttrCase<"initial_grad", 2>
  ]> {
  let cppNamespace = "::mlir::flash";
}

def Flash_ScheduleAttr : AttrDef<Flash_Dialect, "Schedule"> {
  let mnemonic = "schedule";
  let summary = "a kernel schedule chosen by flash-schedule";
  let description = [{
    Tile sizes and launch shape of one kernel schedule. `algorithm` names the
    kernel family: `flash2` (query tile resident, K/V streamed, mma.sync),
    `flash2_dsplit` (the small-cache schedule for on-chip memory M < d^2: the
    head dimension is tiled too), `flash3` (sm_90a: wgmma warpgroups of 64
    query rows, with a producer warpgroup when warps = tile_q / 16 + 4),
    `flash3_dsplit` (flash2_dsplit's kernel on sm_90a's wgmma warpgroups),
    `chunk_fused` (recurrence state kept on chip, chunks streamed, no state
    written to HBM) and `chunk_two_pass` (chunk states materialised, then a
    parallel output pass), `flash_decode` (few query rows: a GQA group's
    query heads packed into the tile's rows, keys split over CTAs at run
    time, a second kernel merging the splits; `inner_kv` > 0 splits each
    key tile over tile_kv / inner_kv warps of inner_kv keys, whose softmax
    states merge once per CTA), `recurrent_step` (a recurrence decoded
    token by token: a Dk x tile_dv state slice in the registers of `warps`
    warps, one rank-one update per token, for a few tokens per call).
    Unused fields are 0. `persistent` (flash3 with a
    producer only; omitted when 0): a grid of one CTA per SM that loops over
    the query tiles, Q double-buffered so the next tile's loads overlap this
    tile's work. `rotary_prepass` (flash2 and flash3 under rotary
    embedding only; omitted when 0): K is rotated once by a first kernel
    into a workspace copy that the attention kernel reads, and only Q is
    rotated on chip; 0 rotates every K tile on chip as it lands, once per
    query tile that reads it. `mask_lists` (flash2 and flash3 under a
    mask_mod that reads an extra at a position; omitted when 0): a first
    kernel sorts every (query tile, key tile) by the mask_mod evaluated
    over the tiles' position ranges (passes/MaskModTiles.h) and lists the
    key tiles it leaves partly or wholly visible; the attention kernel
    walks those lists as a block mask's, a hidden tile never loaded, a
    whole one never masked. `value_slice` (chunk_grad only; omitted when
    0): the gradient's chunk kernel stages v, dO and the two states that
    many value columns at a time, in Dv / value_slice passes, where the
    states do not fit shared memory whole; 0 stages the whole of Dv.

    ```mlir
    #flash.schedule<algorithm = flash2, tile_q = 128, tile_kv = 64,
                    tile_d = 128, stages = 2, warps = 4, chunk = 0,
                    inner_q = 0, inner_kv = 0, tile_dv = 128,
                    smem_bytes = 65536>
    ```
  }];
  let parameters = (ins
    EnumParameter<Flash_Algorithm>:$algorithm,
    "int64_t":$tile_q,
    "int64_t":$tile_kv,
    "int64_t":$tile_d,
    "int64_t":$stages,
    "int64_t":$warps,
    "int64_t":$chunk,
    "int64_t":$inner_q,
    "int64_t":$inner_kv,
    "int64_t":$tile_dv,
    "int64_t":$smem_bytes,
    DefaultValuedParameter<"int64_t", "0">:$persistent,
    DefaultValuedParameter<"int64_t", "0">:$rotary_prepass,
    DefaultValuedParameter<"int64_t", "0">:$mask_lists,
    DefaultValuedParameter<"int64_t", "0">:$value_slice
  );
  let assemblyFormat = "`<` struct(params) `>`";
  // Ranges only (FlashDialect.cpp): whether a schedule fits its op and
  // target is the schedule library's checker's to say.
  let genVerifyDecl = 1;
}

#endif // FLASH_ATTRS
