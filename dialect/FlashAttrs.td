//===- FlashAttrs.td - mask and gate kinds, schedules ----*- tablegen -*-===//
//
// Enum attributes chosen by the user (mask kind, gate kind) and the schedule
// attribute written by `flash-schedule`.
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

def Flash_Algorithm : I32EnumAttr<"Algorithm", "kernel family of a schedule", [
    I32EnumAttrCase<"flash2", 0>,
    I32EnumAttrCase<"flash2_dsplit", 1>,
    I32EnumAttrCase<"flash3", 2>,
    I32EnumAttrCase<"chunk_fused", 3>,
    I32EnumAttrCase<"chunk_two_pass", 4>
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
    `chunk_fused` (recurrence state kept on chip, chunks streamed, no state
    written to HBM) and `chunk_two_pass` (chunk states materialised, then a
    parallel output pass). Unused fields are 0. `persistent` (flash3 with a
    producer only; omitted when 0): a grid of one CTA per SM that loops over
    the query tiles, Q double-buffered so the next tile's loads overlap this
    tile's work.

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
    DefaultValuedParameter<"int64_t", "0">:$persistent
  );
  let assemblyFormat = "`<` struct(params) `>`";
  // Ranges only (FlashDialect.cpp): whether a schedule fits its op and
  // target is the schedule library's checker's to say.
  let genVerifyDecl = 1;
}

#endif // FLASH_ATTRS
