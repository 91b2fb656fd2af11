//===- Passes.td - flashgen pass declarations --------------*- tablegen -*-===//
//
// The MLIR passes of DESIGN.md §3: deriving backward functions, IO lower
// bounds, scheduling, lowering to kernels. One file each, named after the def
// (FlashSchedule.cpp for flash-schedule); flash-print-cuda belongs to
// codegen/ (codegen/Passes.td).
//
//===----------------------------------------------------------------------===//

#ifndef FLASHGEN_PASSES
#define FLASHGEN_PASSES

include "mlir/Pass/PassBase.td"

def FlashDeriveBackward : Pass<"flash-derive-backward", "::mlir::ModuleOp"> {
  let summary = "Add a `<name>_backward` function computing each attention's gradients";
  let description = [{
    For each func.func holding exactly one `flash.attention`, adds right
    after it `func.func @<name>_backward(q, k, v, o, do, lse) -> (dq, dk, dv)`
    holding one `flash.attention_grad` with the attention's mask, window,
    scale, dims, score_mod and mask_mod, and `score_grad`, the derivative of
    score_mod with respect to the score (ScoreModDerivative.h). lse is
    `tensor<B x Hq x N x f32>` with q's batch and query length. A function
    with more than one attention gets a warning and no backward function.
    A function holding exactly one `flash.linear_attention` gets
    `@<name>_backward(q, k, v, gates..., do [, initial state...] [,
    final-state gradient...]) -> (dq, dk, dv, gate gradients... [,
    initial-state gradients...])` holding one
    `flash.linear_attention_grad`.
    Errors: a function `<name>_backward` that already exists, and a
    score_mod op that cannot be differentiated (the diagnostic names it and
    lists the supported ops).
  }];
  let options = [
    Option<"deterministic", "deterministic", "bool", /*default=*/"false",
           "Mark every flash.attention_grad `deterministic` (kernels without "
           "float atomics)">,
  ];
  let dependentDialects = ["::mlir::flash::FlashDialect",
                           "::mlir::arith::ArithDialect",
                           "::mlir::math::MathDialect",
                           "::mlir::func::FuncDialect"];
}

def FlashIOBounds : Pass<"flash-io-bounds", "::mlir::ModuleOp"> {
  let summary = "Annotate each flash op with its HBM-traffic lower bound";
  let description = [{
    Computes, for the target's on-chip capacity M, the lower bound on the
    bytes each op must move between HBM and the chip (Saha & Ye for
    attention; input/output plus state traffic for recurrences) and records it
    as `flash.io_lower_bound` (bytes, i64). Dynamic dimensions are bound with
    `dims` ("N=8192,B=2"); an unbound one is an error that names it.
  }];
  let options = [
    Option<"target", "target", "std::string", /*default=*/"\"sm_90\"",
           "Target description name (default: sm_90)">,
    Option<"dims", "dims", "std::string", /*default=*/"\"\"",
           "Values of named dynamic dimensions, e.g. \"B=2,N=8192\"">,
  ];
  let dependentDialects = ["::mlir::flash::FlashDialect"];
}

def FlashSchedule : Pass<"flash-schedule", "::mlir::ModuleOp"> {
  let summary = "Choose tile sizes and pipeline depth with Z3 against the IO bound";
  let description = [{
    Solves a Z3 optimisation over integer tile variables (tiles, stages,
    warps; chunk and inner tiles for recurrences) under shared-memory,
    register, MMA-shape and alignment constraints, minimising the cost model.
    Records `flash.schedule` (#flash.schedule), `flash.modeled_io` (bytes),
    `flash.io_ratio` (modeled / bound) and `flash.candidates` (the top-K
    schedules, best first, for the autotuner). With `search=false` it only
    gives recurrences that have no schedule the library's default one
    (schedule/LinearSpace.h, defaultLinearSchedule).
  }];
  let options = [
    Option<"target", "target", "std::string", /*default=*/"\"sm_90\"",
           "Target description name (default: sm_90)">,
    Option<"dims", "dims", "std::string", /*default=*/"\"\"",
           "Values of named dynamic dimensions, e.g. \"B=2,N=8192\"">,
    Option<"topK", "top-k", "unsigned", /*default=*/"4",
           "How many ranked candidates to keep (default: 4)">,
    Option<"algorithm", "algorithm", "std::string", /*default=*/"\"\"",
           "Restrict ops to one kernel family: attention ops to flash2, "
           "flash2_dsplit or flash3, recurrences to chunk_fused or "
           "chunk_two_pass; default: every family that applies, ranked "
           "together">,
    Option<"search", "search", "bool", /*default=*/"true",
           "false: no search; each recurrence without a flash.schedule gets "
           "the schedule library's default chunkwise schedule (the form "
           "named by `algorithm`, chunk_fused by default) with a remark, for "
           "tests and bring-up; nothing else is recorded">,
    Option<"sizeRule", "size-rule", "bool", /*default=*/"false",
           "self-attention whose N is dynamic: also plan at other query "
           "lengths (decoding: at other numbers of new tokens; "
           "schedule/SizeRule.h), add their first choices to the "
           "candidates and record flash.size_rule, which the bundle writes "
           "as the kernel's dispatch (flashgen compile turns it on)">,
  ];
  let dependentDialects = ["::mlir::flash::FlashDialect"];
}

def FlashLowerKernels : Pass<"flash-lower-kernels", "::mlir::ModuleOp"> {
  let summary = "Lower scheduled flash ops to flash.kernel ops";
  let description = [{
    Turns each scheduled op into `flash.kernel` ops, one variant per
    schedule (the chosen `flash.schedule`, then each of
    `flash.candidates`), with the builder of the op's kernel family. An op
    without a schedule is an error: flash-schedule supplies them.

    `flash.attention` (flash2, flash3; LowerAttention.cpp): one kernel per
    schedule with an explicit grid mapping (query tiles x query heads x
    batch; where tiles cost different key counts, causal or a rising
    mask_mod, one dimension in launch order, heaviest first over even
    sections of heads whose keys fit in the L2), the query tile load, the key/value tile loop split into masked
    and unmasked ranges (causal and window masks skip fully masked tiles and
    mask only the diagonal ones; the last tile of a ragged key length is
    masked), a multi-stage pipeline of async tile loads, and tile ops. The
    user's score_mod and mask_mod regions are cloned into the kernels'
    `flash.score_map` regions as scalar code.

    `flash.linear_attention` (chunk_fused, chunk_two_pass;
    LowerChunkwise.cpp): the chunkwise-parallel form of docs/semantics.md §4
    (TFLA's two-level tiling: chunks of L steps, inner query x key tiles
    inside a chunk). `chunk_fused` is one kernel whose CTAs keep a
    d_k x tile_dv slice of the state on chip for the whole sequence (family
    `linear_fused`); `chunk_two_pass` a chunk-state kernel (`linear_states`,
    states into a scratch buffer) and an output kernel parallel over chunks
    (`linear_outputs`). The gate kind's scalar math goes into
    `flash.chunk_gates` and `flash.decay_map` regions. Each schedule is
    checked first against the chunkwise kernels' rules on the target
    (schedule/Checker.h, chunkwiseKernelViolations): the chosen one must
    pass; a candidate that does not is dropped with a warning.

    The semantic op gets a `flash.kernels` attribute listing its kernels.
  }];
  let options = [
    Option<"target", "target", "std::string", /*default=*/"\"sm_90\"",
           "Target whose limits recurrence schedules are checked against "
           "(default: sm_90)">,
  ];
  let dependentDialects = ["::mlir::flash::FlashDialect",
                           "::mlir::arith::ArithDialect",
                           "::mlir::math::MathDialect",
                           "::mlir::scf::SCFDialect"];
}

def FlashWarpSpecialize : Pass<"flash-warp-specialize", "::mlir::ModuleOp"> {
  let summary = "Split flash3 attention kernels into a producer and consumer warpgroups";
  let description = [{
    For each `flash.kernel` of family `attention` whose flash3 schedule has
    a producer warpgroup (warps = tile_q / 16 + 4; schedule/Flash3Layout.h),
    replaces the copy pipeline and key loops flash-lower-kernels built with
    a `flash.warp_specialize`: the producer region copies Q, then K and V
    of every key tile into rings of slots (`flash.pipe_produce`); the
    consumer region waits for each slot, issues its products asynchronously
    in turns shared by the consumer warpgroups (ping-pong), releases the
    slots and runs the mask and the online softmax while the next products
    run; with inner_q = 1 the softmax also overlaps the warpgroup's own
    P V (deferred rescale). Persistent schedules get a `flash.tile_rounds`
    loop over the CTA's query tiles in each region instead of the grid map.
    The register budgets (setmaxnreg) are schedule/Flash3Layout.h's split.
    Other kernels are left as they are. Run after flash-lower-kernels; the
    CUDA emitter refuses a producer schedule that was not split.

    `copies=tma` (the default) marks the split `tma`: the producer copies Q,
    K and V with the tensor memory accelerator where the runtime can encode
    tensor maps for the launch's tensors, with cp.async in the same kernel
    where it cannot; `copies=cp_async` builds kernels without tensor maps.
    `grad-copies=tma` (the default) has the backward's warpgroup kernels
    (flash3_grad, flash3_grad_deterministic) copy their ring's tiles with
    TMA too (kv: Q and dO; dq: K and V; `flash.tile_load ... tma`,
    `flash.tile_landed`; passes/GradTmaCopies.h), one thread asking for
    both tiles of a round; `grad-copies=cp_async` keeps every thread's
    cp.async copies.
  }];
  let options = [
    Option<"copies", "copies", "std::string", /*default=*/"\"tma\"",
           "How the producer copies: tma (with a cp.async fallback in the "
           "same kernel) or cp_async">,
    Option<"gradCopies", "grad-copies", "std::string", /*default=*/"\"tma\"",
           "How the backward's warpgroup kernels copy their ring: tma (with "
           "the cp.async fallback in the same kernel) or cp_async">,
  ];
  let dependentDialects = ["::mlir::flash::FlashDialect",
                           "::mlir::arith::ArithDialect",
                           "::mlir::scf::SCFDialect"];
}

#endif // FLASHGEN_PASSES
