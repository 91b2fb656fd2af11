//===- Passes.td - flashgen pass declarations --------------*- tablegen -*-===//
//
// The pipeline of ../shared/DESIGN.md §3: IO lower bounds, Z3 scheduling,
// chunking of recurrences, lowering to kernels.
//
//===----------------------------------------------------------------------===//

#ifndef FLASHGEN_PASSES
#define FLASHGEN_PASSES

include "mlir/Pass/PassBase.td"

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
    schedules, best first, for the autotuner).
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
  ];
  let dependentDialects = ["::mlir::flash::FlashDialect"];
}

def FlashLowerKernels : Pass<"flash-lower-kernels", "::mlir::ModuleOp"> {
  let summary = "Lower scheduled flash ops to flash.kernel ops";
  let description = [{
    Turns each scheduled `flash.attention` into one `flash.kernel` per
    schedule (the chosen one, then each candidate): an explicit grid mapping
    (query tiles x query heads x batch), the query tile load, the key/value
    tile loop split into masked and unmasked ranges (causal and window masks
    skip fully masked tiles and mask only the diagonal ones; the last tile of
    a ragged key length is masked), a multi-stage pipeline of async tile
    loads, and tile ops. The user's score_mod and mask_mod regions are cloned
    into the kernels' `flash.score_map` regions as scalar code. The semantic
    op gets a `flash.kernels` attribute listing its kernels.
  }];
  let dependentDialects = ["::mlir::flash::FlashDialect",
                           "::mlir::arith::ArithDialect",
                           "::mlir::scf::SCFDialect"];
}

def FlashPrintCuda : Pass<"flash-print-cuda", "::mlir::ModuleOp"> {
  let summary = "Print the CUDA C++ of every flash.kernel to standard output";
  let description = [{
    Runs the CUDA emitter (codegen/) on each `flash.kernel` and prints the
    translation unit it makes, so lit tests can check emitted code. The IR is
    left unchanged.
  }];
  let dependentDialects = ["::mlir::flash::FlashDialect"];
}

def FlashChunk : Pass<"flash-chunk", "::mlir::ModuleOp"> {
  let summary = "Lower scheduled recurrences to chunkwise flash.kernel ops";
  let description = [{
    Rewrites each `flash.linear_attention` into the chunkwise-parallel form
    of docs/semantics.md §4 (TFLA's two-level tiling: chunks of L steps,
    inner query x key tiles inside a chunk) as `flash.kernel` ops: for
    `chunk_fused` one kernel whose CTAs keep a d_k x tile_dv slice of the
    state on chip for the whole sequence (family "linear_fused"); for
    `chunk_two_pass` a chunk-state kernel ("linear_states", states into a
    scratch buffer) and an output kernel parallel over chunks
    ("linear_outputs"). The gate kind's scalar math goes into
    `flash.chunk_gates` and `flash.decay_map` regions. An op without a
    `flash.schedule` gets the default chunk_fused schedule (L = 64,
    inner tiles 64 x 64, tile_dv = 64, or 32 for d_k > 128, 2 stages,
    4 warps) and a remark saying so. Each op gets `flash.kernels`.
  }];
  let options = [
    Option<"target", "target", "std::string", /*default=*/"\"sm_90\"",
           "Target whose shared-memory limit the schedules must fit (sm_90, sm_80)">,
    Option<"defaultAlgorithm", "default-algorithm", "std::string",
           /*default=*/"\"chunk_fused\"",
           "Algorithm of the default schedule of an op without one "
           "(chunk_fused, chunk_two_pass)">,
  ];
  let dependentDialects = ["::mlir::flash::FlashDialect",
                           "::mlir::arith::ArithDialect",
                           "::mlir::math::MathDialect",
                           "::mlir::scf::SCFDialect"];
}

#endif // FLASHGEN_PASSES
