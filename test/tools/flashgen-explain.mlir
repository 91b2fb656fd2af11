// RUN: flashgen explain %s --dim B=2 --dim N=8192 | FileCheck %s --check-prefix=SM90
// RUN: flashgen explain %s --dim B=2 --dim N=8192 --target sm_80 | FileCheck %s --check-prefix=SM80
// RUN: flashgen explain %s --dim B=2 --dim N=8192 --json | FileCheck %s --check-prefix=JSON
// RUN: flashgen explain %s --dim B=2 --dim N=8192 --backward | FileCheck %s --check-prefix=BWD
// RUN: flashgen explain %s --dim B=2 --dim N=8192 --backward --deterministic | FileCheck %s --check-prefix=DET
// RUN: flashgen explain %S/../../examples/decode_gqa.mlir --target h200 --dim B=8 --dim N=1 --dim M=32768 | FileCheck %s --check-prefix=DECODE
// RUN: flashgen explain %S/../../examples/decode_gqa.mlir --target h200 --dim B=128 --dim N=1 --dim M=32768 --json | FileCheck %s --check-prefix=DECODE-JSON
// RUN: flashgen explain %S/../../examples/decode_paged.mlir --target h200 --dim B=8 --dim N=1 --dim M=32768 | FileCheck %s --check-prefix=PAGED
// RUN: flashgen explain %S/../../examples/block_sparse.mlir --target h200 --dim B=2 --dim N=8192 | FileCheck %s --check-prefix=SPARSE
// RUN: flashgen explain %S/../../examples/varlen_prefill.mlir --target h200 --dim B=8 --dim N=4096 --dim M=4096 --json | FileCheck %s --check-prefix=VARLEN-JSON
// RUN: flashgen explain %S/../../examples/gla_vector.mlir --backward --dim B=16 --dim T=4096 | FileCheck %s --check-prefix=GLA-BWD
// RUN: flashgen explain %S/../../examples/mlstm_sig.mlir --backward --dim B=16 --dim T=4096 | FileCheck %s --check-prefix=SIG-BWD
// RUN: flashgen explain %S/../../examples/decay_varlen.mlir --backward --dim B=16 --dim T=4096 | FileCheck %s --check-prefix=VARLEN-BWD
// RUN: flashgen explain %S/../../examples/gated_delta_varlen.mlir --dim B=16 --dim T=4096 | FileCheck %s --check-prefix=DELTA-VARLEN
// RUN: flashgen explain %S/../../examples/tree_verify.mlir --target h200 --dim B=1 --dim N=64 --dim M=32832 | FileCheck %s --check-prefix=TREE
// RUN: flashgen explain %S/../../examples/document_mask.mlir --dim B=2 --dim N=8192 --json | FileCheck %s --check-prefix=DOC-JSON
// RUN: flashgen explain %S/../../examples/document_mask.mlir --dim B=2 --dim N=8192 --backward | FileCheck %s --check-prefix=DOC-BWD
// RUN: flashgen explain %S/../../bench/attention/specs/mha_d256.mlir --dim B=2 --dim N=8192 --backward --target h200 | FileCheck %s --check-prefix=BWD256
// RUN: not flashgen explain %S/../../bench/attention/specs/mha_d256.mlir --dim B=2 --dim N=8192 --backward --deterministic --target h200 | FileCheck %s --check-prefix=DET256
// RUN: flashgen explain %S/../../examples/alibi_causal.mlir --target h200 --dim B=2 --dim N=8192 | FileCheck %s --check-prefix=ALIBI
// RUN: flashgen explain %S/../../examples/alibi_causal.mlir --target h200 --dim B=2 --dim N=8192 --json | FileCheck %s --check-prefix=ALIBI-JSON
// RUN: flashgen explain %S/../../examples/softcap.mlir --target h200 --dim B=2 --dim N=8192 | FileCheck %s --check-prefix=SOFTCAP
// ALiBi's slope * (j - i) is a bias linear in the positions: the forward
// kernels pay one FFMA per score for it (codegen/attention/PositionBias.h),
// and its schedule is plain causal attention's (the register rule counts the
// lane's bias, not the region's per-fragment terms). Softcap's tanh is not.
// ALIBI: @alibi_causal  flash.attention
// ALIBI: schedule      flash3 tile_q=128 tile_kv=160 tile_d=128 tile_dv=128 persistent stages=2 warps=12
// ALIBI: score_mod     a bias linear in the positions (factor * float(-1 * i + 1 * j + c)): one FFMA per score{{.*}}; it rises toward the diagonal, so key tiles run from the diagonal back
// ALIBI-JSON: "score_mod": "a bias linear in the positions
// SOFTCAP: @softcap  flash.attention
// SOFTCAP-NOT: score_mod  {{ }}
// SOFTCAP: modeled IO
// Past head dim 128 the kv kernel is two (kv_dv, kv_dk); the deterministic
// form's dq kernel at 256 does not fit the registers, and says so.
// BWD256: @mha_d256_backward  flash.attention_grad
// BWD256: schedule      flash3_grad tile_q=64 tile_kv=64
// BWD256: kernels       prep, kv_dv, kv_dk, convert (head dim past 128: the kv kernel is two
// DET256: @mha_d256_backward
// DET256: error {{.*}}no flash3_grad_deterministic schedule fits h200{{.*}}registers per thread needs at least
// `flashgen explain` says what the compiler decided for each op: the IO lower
// bound, the schedule, how the kernel copies its tiles (and why), the modeled
// traffic against the bound, the modeled time and the ranked candidates.

// What a mask_mod proves about the keys (passes/MaskModBounds.h): a
// speculative tree's keeps the prefix whole (those tiles skip the mask) and
// bounds nothing (the causal kind ends the tiles); 64 drafts x GQA 4 are
// flash_decode's packed rows, the keys split over CTAs. A document mask
// proves neither.
// TREE: @tree_verify  flash.attention  B=1 Hq=32 Hkv=8 N=64 M=32832 D=128 Dv=128 mask causal +mask_mod bf16
// TREE: schedule      flash_decode
// TREE: mask_mod      proves no last key{{.*}}; keeps every key below a position whatever else it tests (j < X or ...): the key tiles below its first row's X skip the mask (no tile lists at launch: arith.andi of integers (a bit pattern) on a position)
// TREE: key splits
// DOC-JSON: "mask_mod": "reads its extras at positions: a first kernel (<name>_mask_lists) evaluates it over each query tile's and key tile's position ranges{{.*}}the attention kernel visits only those, a whole one without the mask"
// DOC-JSON: "mask_lists": 1
// The gradient sorts its tiles at launch too: a pre-pass lists each key
// tile's query tiles for the kv kernel.
// DOC-BWD-LABEL: @document_mask_backward  flash.attention_grad
// DOC-BWD: kernels       mask_lists_t, {{(mask_lists, )?}}prep, kv,
// DOC-BWD: mask_mod      reads its extras at positions: a first kernel (mask_lists_t) {{.*}} lists, per key tile, the query tiles it leaves partly or wholly visible; the kv kernel visits only those

// mlstm_sig's gradient says its rows kernel (docs/semantics.md §4.6): it
// reads the forward's o and norm.
// SIG-BWD: @mlstm_sig_backward  flash.linear_attention_grad  B=16 H=16 T=4096 Dk=128 Dv=128 gate mlstm_sig bf16
// SIG-BWD: schedule      chunk_grad chunk=64 tile_d={{[0-9]+}} tile_dv={{[0-9]+}} persistent stages=
// SIG-BWD: layout        a rows kernel reads the forward's o and rows' normalisers (its norm output: N_r, floor_r) with dO and writes dO / den

// Packed recurrences, forward and gradient, say how their sequences are
// laid out and launched.
// DELTA-VARLEN: @gated_delta_varlen  flash.delta_rule
// DELTA-VARLEN: schedule      chunk_fused
// DELTA-VARLEN: layout        sequences packed by cu_seqlens{{.*}}delta_prepare's grid covers the longest one's chunks (max_seqlen_q at launch)
// VARLEN-BWD: @decay_varlen  flash.linear_attention
// VARLEN-BWD: layout        sequences packed by cu_seqlens, each its own recurrence with its own states
// VARLEN-BWD: @decay_varlen_backward  flash.linear_attention_grad
// VARLEN-BWD: schedule      chunk_grad chunk={{[0-9]+}} tile_d={{[0-9]+}} tile_dv={{[0-9]+}} stages=
// VARLEN-BWD: layout        sequences packed by cu_seqlens{{.*}}the chunk kernel's grid covers the longest one's chunks (max_seqlen_q at launch)

// GLA's gradient (gate vector): its own op, chunk_grad, states through
// 16-bit scratch, the gradient's bound under the modeled traffic.
// GLA-BWD: @gla_vector_backward  flash.linear_attention_grad  B=16 H=16 T=4096 Dk=128 Dv=128 gate vector bf16
// GLA-BWD-NEXT: lower bound   on chip
// GLA-BWD-NEXT: schedule      chunk_grad chunk={{[0-9]+}} tile_d={{[0-9]+}}
// GLA-BWD-NEXT: copies        cp.async by every thread; the chunk states and their gradients go through scratch in the element type
// GLA-BWD-NEXT: modeled IO    {{.*}} = {{[1-9][0-9.]*}} x bound

// Decoding: the packed, key-split kernel, and how many splits the launch
// computes at the planned sizes (8 sequences: several, merged; 128: one).
// DECODE: schedule      flash_decode tile_q={{[0-9]+}}
// DECODE: key splits    {{[2-9]|[1-9][0-9]+}} at these sizes (computed at each launch from B, N and M; a second kernel merges them)
// DECODE-JSON: "key_splits": 1,

// SM90: @mha  flash.attention  B=2 Hq=16 Hkv=16 N=8192 M=8192 D=128 Dv=128 mask none bf16
// SM90-NEXT: lower bound   on chip
// SM90-NEXT: schedule      flash3 {{.*}}warps=12
// SM90-NEXT: copies        TMA by the producer warpgroup (tensor maps encoded at launch); the same kernel copies with cp.async where the runtime cannot encode them
// SM90-NEXT: modeled IO    {{.*}} x bound; HBM {{.*}} x bound
// Each candidate with its modeled time: the first is the schedule's.
// SM90-NEXT: modeled time  [[TIME:[0-9.]+ [mu]?s]], bound by
// SM90-NEXT: candidates    1. flash3 {{.*}} (smem {{[0-9.]+}} KiB)  [[TIME]]{{$}}
// SM90-NEXT:               2. {{.*}} (smem {{[0-9.]+}} KiB)  {{[0-9.]+ [mu]?s$}}

// SM80: schedule      flash2
// SM80-NEXT: copies        cp.async by every thread (mma.sync kernels run on sm_80 too)

// JSON: "candidates": [
// JSON-NEXT: {
// JSON-NEXT: "algorithm": "flash3",
// JSON: "modeled_seconds": {{[0-9.e-]+}},
// JSON: "copies": "TMA by the producer warpgroup

// RUN: flashgen explain %s --dim B=2 --dim N=8192 --backward --target sm_80 | FileCheck %s --check-prefix=BWD80
// The gradient op has its own bound, schedule, modeled IO and candidates;
// the atomic and the deterministic kernels compete unless asked for the
// second. On sm_90 the warpgroup (wgmma) kernels rank first; sm_80 has
// only mma.sync's.
// BWD: @mha_backward  flash.attention_grad  B=2 Hq=16 Hkv=16 N=8192 M=8192 D=128 Dv=128 mask none bf16
// BWD-NEXT: lower bound   on chip
// BWD-NEXT: schedule      flash3_grad tile_q={{.*}} warps=8
// BWD-NEXT: copies        into wgmma's swizzled tiles: K, V once per key tile (cp.async); the ring's Q and dO by TMA
// BWD-NEXT: kernels       prep, kv, convert
// BWD: modeled IO    {{.*}} x bound; HBM {{.*}} x bound
// BWD: candidates    1. flash3_grad
// BWD80: schedule      flash2_grad{{(_deterministic)?}} tile_q=
// BWD80-NOT: flash3_grad
// DET: @mha_backward
// DET-NOT: flash2_grad tile
// DET-NOT: flash3_grad tile
// DET: schedule      flash3_grad_deterministic tile_q=64 tile_kv=64
// DET-NEXT: copies        into wgmma's swizzled tiles, the kv kernel's Q and dO ring by TMA as flash3_grad's, the dq kernel's K and V ring by cp.async; dQ by its own kernel (no float atomics)
// DET-NEXT: kernels       prep, kv, dq
func.func @mha(%q: tensor<?x16x?x128xbf16>, %k: tensor<?x16x?x128xbf16>, %v: tensor<?x16x?x128xbf16>) -> tensor<?x16x?x128xbf16> {
  %o = flash.attention %q, %k, %v dims ["B", "N", "N"] : tensor<?x16x?x128xbf16>, tensor<?x16x?x128xbf16>, tensor<?x16x?x128xbf16> -> tensor<?x16x?x128xbf16>
  return %o : tensor<?x16x?x128xbf16>
}

// A paged cache of 16-key pages: key tiles of one page each (a lookup a
// tile), and where k and v live.
// PAGED: schedule      flash_decode tile_q=32 tile_kv=16
// PAGED: layout        k and v in pages of 16 keys, read through page_table

// A block mask: key tiles divide the 128-key blocks (flash3's dense d = 128
// picks, 160 and 176, are out), and the layout line says what is counted.
// SPARSE: schedule      flash3 tile_q=128 tile_kv={{128|64}}
// SPARSE: layout        block-sparse mask of 128 x 128 blocks: each query tile visits only its block's listed key tiles (kv_indices, then full_kv_indices without the mask_mod)

// Packed sequences: the layout says what N and M stand for.
// VARLEN-JSON: "layout": "queries and keys packed by cu_seqlens {{.*}} max_seqlen_q, max_seqlen_k"
