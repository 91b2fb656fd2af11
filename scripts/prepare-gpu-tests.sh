#!/usr/bin/env bash
# Prepares the GPU correctness cases on a machine with the compiler built:
# compiles each example into a bundle and draws reference data with
# flashgen-ref at ragged sizes (not tile multiples, batch > 1), then writes
# build/gpu-cases/cases.json. Carry build/gpu-cases to the GPU machine and run
# flashgen-gpu-tests there with FLASHGEN_GPU_CASES pointing at it. The test
# runs every case in each memory layout of runtime/tools/StridedLayout.h ([B, N,
# H, D] strides, padded rows and batches) from this same data: a layout is
# another view of the same logical tensors, so it needs no files here.
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-build/gpu-cases}
bin=${FLASHGEN_BIN:-build/bin}
# FLASHGEN_SPECS: a folder of specs to use instead of examples/ (e.g. specs
# carrying hand-written schedules); FLASHGEN_COMPILE_FLAGS: extra flags.
specs=${FLASHGEN_SPECS:-}
compile_flags=${FLASHGEN_COMPILE_FLAGS:-}
# FLASHGEN_GPU_CASES_MATCH: an extended regex; only cases whose label matches
# are prepared. All 20 cases come to about 82 MiB (du), more than one carry
# to the GPU machine holds (64 MiB with everything else), so a run takes a
# part; three of under 30 MiB each cover them all:
#   '^(linear|decay|gla|mlstm|delta|gated_delta)'  recurrences, about 30 MiB
#   '^(causal|softcap|window|alibi|prefix)'  masks and score mods, 26 MiB
#   '^(d64|kv_cache|mha|gqa48|dit)'          head dims, GQA, KV cache, 29 MiB
#   '^(d512|mla)'                             the small-cache kernel, MLA 192 / 128
#   '^bwd_'                                   attention and recurrence gradients
#   '^decode'                                 flash_decode, paged caches
#   '^varlen'                                 packed (cu_seqlens) batches
#   '^step_'                                  the recurrences' step kernels
#   '^sparse'                                 block-sparse masks (flash.block_mask)
#   '^gated'                                  output_mod (a gated output)
#   '^(rope|bwd_rope|bwd_det_rope)'           rotary embedding fused in, its gradient
match=${FLASHGEN_GPU_CASES_MATCH:-}
rm -rf "$out"
mkdir -p "$out/bundles" "$out/ref"
cases=()

# add_case LABEL SPEC KERNEL SEED DIM...
add_case() {
  local label=$1 spec=$2 kernel=$3 seed=$4
  shift 4
  if [ -n "$match" ] && ! [[ $label =~ $match ]]; then return 0; fi
  local dims=() plan=() bundle="bundles/$kernel"
  for d in "$@"; do
    case "$d" in
      # Sizes to plan the bundle for (flashgen compile --dim), e.g. one
      # query token for the decode kernels; the bundle is named after them.
      --plan=*) for p in ${d#--plan=}; do plan+=(--dim "$p"); bundle="${bundle}_${p//=/}"; done ;;
      --*) dims+=($d) ;;          # a flashgen-ref flag, e.g. --gate-range=-30,30
      *) dims+=(--dim "$d") ;;
    esac
  done
  # SPEC: a file of examples/, or a path (the benchmark's specs).
  local spec_path="examples/$spec"
  case "$spec" in */*) spec_path="$spec" ;; esac
  if [ -n "$specs" ] && [ -f "$specs/$(basename "$spec")" ]; then spec_path="$specs/$(basename "$spec")"; fi
  if [ ! -f "$out/$bundle/manifest.json" ]; then
    # shellcheck disable=SC2086
    "$bin/flashgen" compile "$spec_path" "${plan[@]}" -o "$out/$bundle" $compile_flags > /dev/null
  fi
  local refdir="ref/$label"
  "$bin/flashgen-ref" "$spec_path" "${dims[@]}" --seed "$seed" -o "$out/$refdir" > /dev/null
  cases+=("{\"label\": \"$label\", \"bundle\": \"$bundle\", \"kernel\": \"$kernel\", \"reference\": \"$refdir/$kernel\"}")
}

# add_backward_case LABEL SPEC KERNEL SEED [--deterministic] [--same-as=LABEL]
# DIM...: the gradient kernels
# (KERNEL_backward of a bundle compiled with --backward) against
# flashgen-ref --backward's float64 gradients of the same spec.
add_backward_case() {
  local label=$1 spec=$2 kernel=$3 seed=$4
  shift 4
  if [ -n "$match" ] && ! [[ $label =~ $match ]]; then return 0; fi
  local dims=() flags=(--backward) bundle="bundles/${kernel}_with_backward" same=""
  for d in "$@"; do
    case "$d" in
      --deterministic) flags+=("$d"); bundle="${bundle}_deterministic" ;;
      --same-as=*) same=${d#--same-as=} ;;  # reuse that case's reference data
      *) dims+=(--dim "$d") ;;
    esac
  done
  local spec_path="examples/$spec"
  case "$spec" in */*) spec_path="$spec" ;; esac
  if [ ! -f "$out/$bundle/manifest.json" ]; then
    # shellcheck disable=SC2086
    "$bin/flashgen" compile "${flags[@]}" "$spec_path" -o "$out/$bundle" $compile_flags > /dev/null
  fi
  local refdir="ref/${same:-$label}"
  if [ -z "$same" ]; then
    "$bin/flashgen-ref" --backward "$spec_path" "${dims[@]}" --seed "$seed" -o "$out/$refdir" > /dev/null
    # Only the gradient case is checked here (the forward has its own
    # cases), against the relative error of the harness, which reads no
    # error scales.
    rm -rf "${out:?}/$refdir/$kernel"
    rm -f "$out/$refdir/${kernel}_backward/"*.error_scale.npy
  fi
  cases+=("{\"label\": \"$label\", \"bundle\": \"$bundle\", \"kernel\": \"${kernel}_backward\", \"reference\": \"$refdir/${kernel}_backward\"}")
}

# Sizes keep the whole set small (the GPU machine's carry limit is 64 MiB,
# shared with the benchmark bundles and peer sources) while covering ragged
# tails, batch > 1, GQA, N != M, Dk != Dv and state in/out.
add_case causal_gqa_b2_n100   causal_gqa.mlir      causal_gqa      1 B=2 N=100
add_case softcap_b1_n200      softcap.mlir         softcap         3 B=1 N=200
add_case window_b1_n300       sliding_window.mlir  sliding_window  4 B=1 N=300
add_case alibi_b1_n160        alibi_causal.mlir    alibi_causal    5 B=1 N=160
add_case d64_b2_n100          attention_d64.mlir   attention_d64   6 B=2 N=100
add_case prefix_lm_b1_n280    prefix_lm.mlir       prefix_lm       7 B=1 N=280
add_case kv_cache_n37_m901    kv_cache_causal.mlir kv_cache_causal 8 B=2 N=37 M=901
add_case kv_cache_n128_m128   kv_cache_causal.mlir kv_cache_causal 9 B=1 N=128 M=128
# Regions that read extra operands: document ids [B, N] (B > 1, several
# documents per row), a learned bias table with clamped distances, and a
# run-time prefix length (a scalar bound at launch).
add_case document_mask_b2_n170 document_mask.mlir  document_mask   40 B=2 N=170
# Longer rows, about 4 documents each: the mask_lists pre-pass hides the key
# tiles of other documents and lists the tiles inside one document whole.
add_case document_mask_b2_n520  document_mask.mlir  document_mask   44 B=2 N=520
add_case relative_bias_b1_n200 relative_bias.mlir  relative_bias   41 B=1 N=200
add_case prefix_rt_b2_n150     prefix_lm_runtime.mlir prefix_lm_runtime 42 B=2 N=150
# Decoding (flash_decode, planned for one query token: the query heads of a
# group packed into one tile, the keys split at run time, the splits
# merged): one token against a ragged cache, a cache of one key,
# speculative multi-token decoding (causal among the new tokens), and
# ALiBi under a sliding window reading each packed row's own head.
plan="--plan=B=8 N=1 M=32768"
add_case decode_n1_b3_m600    decode_gqa.mlir      decode_gqa      46 B=3 N=1 M=600 "$plan"
add_case decode_n1_b2_m1      decode_gqa.mlir      decode_gqa      47 B=2 N=1 M=1 "$plan"
add_case decode_n4_b2_m333    decode_gqa.mlir      decode_gqa      48 B=2 N=4 M=333 "$plan"
add_case decode_n16_b1_m2051  decode_gqa.mlir      decode_gqa      49 B=1 N=16 M=2051 "$plan"
# Per-sequence cache lengths (a [B] extra drawn as lengths): a serving
# batch's ragged caches, one and three new tokens.
add_case decode_ragged_b4_m700 decode_ragged.mlir  decode_ragged   51 B=4 N=1 M=700 "$plan"
add_case decode_ragged_n3_b3_m400 decode_ragged.mlir decode_ragged 52 B=3 N=3 M=400 "$plan"
add_case decode_alibi_b2_m700 test/unit/device/kernels/decode_alibi_gqa.mlir decode_alibi_gqa 50 B=2 N=1 M=700 "--plan=B=4 N=1 M=8192"
# Speculative tree verification (examples/tree_verify.mlir): random
# ancestor words (--bit-extras) and per-sequence prefixes, planned as the
# benchmark (64 drafts after a 32k prefix: flash_decode, 256 packed rows a
# group); 40 drafts, and 3 (the size rule's pick for few drafts).
tree_plan="--plan=B=1 N=64 M=32832"
add_case decode_tree_b3_n40_m700 tree_verify.mlir tree_verify 84 B=3 N=40 M=700 "$tree_plan" --bit-extras=tree
add_case decode_tree_b2_n3_m333  tree_verify.mlir tree_verify 85 B=2 N=3 M=333 "$tree_plan" --bit-extras=tree
# Rotary embedding fused in (docs/semantics.md §2.12; real cos and sin
# tables): prefill as the compiler plans it (flash3 with the key pre-pass:
# a first kernel rotates K into the workspace copy the attention kernel
# reads through a scratch tensor map, the producer's warps rotate each
# TMA-copied Q tile, or every producer thread its cp.async copies),
# and partial (32 of 64 dims), interleaved, per-sequence tables under GQA
# 8/2 for one and four new tokens against a ragged cache (flash_decode's
# packed rows) and N < M prefill.
add_case rope_causal_b2_n300   rope_attention.mlir  rope_attention  90 B=2 N=300
# ... planned at that size: K rotated on chip by every thread (no pre-pass,
# the default plan's variants rotate K in a first kernel).
add_case rope_inline_b2_n300   rope_attention.mlir  rope_attention  94 B=2 N=300 "--plan=B=2 N=300"
add_case rope_partial_n77_m150 test/unit/device/kernels/rope_partial_gqa.mlir rope_partial_gqa 91 B=2 N=77 M=150
add_case rope_decode_b3_n1_m600 test/unit/device/kernels/rope_partial_gqa.mlir rope_partial_gqa 92 B=3 N=1 M=600 "--plan=B=8 N=1 M=32768"
add_case rope_decode_b2_n4_m333 test/unit/device/kernels/rope_partial_gqa.mlir rope_partial_gqa 93 B=2 N=4 M=333 "--plan=B=8 N=1 M=32768"
# Paged caches (pages in a random order, spare pages, two ids out of the
# pool, which read its first and last pages; docs/semantics.md §2.8): pages
# of 16 keys, two to a key tile, with ragged per-sequence lengths (the first
# sequence's cache empty), one and three new tokens; pages of 64, one
# lookup a tile, under a sliding window with softcap: two new tokens
# (flash_decode, the bundle planned for decoding) and a 190-token prefill
# chunk (flash2, the bundle planned for prefill).
add_case decode_paged_b4_m608 decode_paged.mlir    decode_paged    53 B=4 N=1 M=608 "$plan"
add_case decode_paged_n3_b3_m400 decode_paged.mlir decode_paged    54 B=3 N=3 M=400 "$plan"
paged_spec=test/unit/device/kernels/paged_window_softcap.mlir
add_case decode_paged_p64_n2_b3_m704 $paged_spec paged_window_softcap 55 B=3 N=2 M=704 "--plan=B=8 N=1 M=32768"
add_case decode_paged_p64_prefill_b2_n190_m832 $paged_spec paged_window_softcap 56 B=2 N=190 M=832 "--plan=B=2 N=4096 M=8192"
# Packed (varlen) batches (cu_seqlens; docs/semantics.md §2.9): per
# sequence lengths with an empty sequence, a one-row one and the longest
# last; causal GQA 16/4 prefill with its own key lengths (flash3, TMA rows
# at each sequence's offset), self-attention through one cu_seqlens under a
# window with softcap (d=64), and varlen decoding over a paged cache (each
# sequence its own number of new tokens; flash_decode, flash2 ranked after).
add_case varlen_prefill_b5_n300_m350 varlen_prefill.mlir varlen_prefill 57 B=5 N=300 M=350 "--plan=B=8 N=4096 M=4096"
vk=test/unit/device/kernels
add_case varlen_window_b5_n400 $vk/varlen_window_softcap.mlir varlen_window_softcap 58 B=5 N=400 M=400 "--plan=B=8 N=4096 M=4096"
add_case varlen_paged_b4_n5_m608 $vk/varlen_paged_decode.mlir varlen_paged_decode 59 B=4 N=5 M=608 "--plan=B=8 N=4 M=32768"
# Block-sparse masks (flash.block_mask): lists drawn per query block by
# flashgen-ref (random order, an empty and a complete list, indices outside
# the keys inside and after the counts), causal GQA on flash3 (128 x 128
# blocks: key tiles of a block and of half of one), and flash2 over a
# mask_mod with 32 x 64 blocks, lists broadcast over batch and heads, N != M.
add_case sparse_b2_n300       block_sparse.mlir block_sparse 80 B=2 N=300
add_case sparse_b1_n1000      block_sparse.mlir block_sparse 81 B=1 N=1000
add_case sparse_mask_mod_b3_n200_m333 test/unit/device/kernels/block_sparse_mask_mod.mlir block_sparse_mask_mod 82 B=3 N=200 M=333
# output_mod (a gated output: o * sigmoid(gate), the gate an f32 extra)
# on causal GQA, ragged N, batch > 1: every variant, each element modified.
add_case gated_output_b2_n300 gated_output.mlir gated_output 83 B=2 N=300
# The benchmark's flash3 shapes (head dims 64 to 256, GQA 48/8, causal and
# not) at ragged sizes: the scheduler's wgmma candidates, every one checked.
b=bench/attention/specs
add_case mha_d128_b1_n141     $b/mha_d128.mlir          mha_d128          16 B=1 N=141
add_case mha_d256_b1_n130     $b/mha_d256.mlir          mha_d256          17 B=1 N=130
add_case mha_d256c_b1_n190    $b/mha_d256_causal.mlir   mha_d256_causal   18 B=1 N=190
add_case gqa48_b1_n75         $b/gqa48_d128_causal.mlir gqa48_d128_causal 19 B=1 N=75
# 144 query tiles, more than the H200's 132 SMs: a persistent grid's CTAs
# take a second round (under the causal mask, claimed from the counter).
add_case gqa48_b1_n300        $b/gqa48_d128_causal.mlir gqa48_d128_causal 25 B=1 N=300
add_case dit_d64_b1_n97       $b/dit_h48_d64.mlir       dit_h48_d64       20 B=1 N=97
add_case d64c_b1_n131         $b/mha_d64_causal.mlir    mha_d64_causal    21 B=1 N=131
# The small-cache kernel (flash2_dsplit: M < d^2): head dim 512, causal and
# not, and MLA's 576/512 with one key/value head for 16 query heads.
add_case d512_b2_n130         $b/mha_d512.mlir          mha_d512          22 B=2 N=130
add_case d512c_b1_n200        $b/mha_d512_causal.mlir   mha_d512_causal   23 B=1 N=200
add_case mla_b1_n150          $b/mla_576_512_causal.mlir mla_576_512_causal 24 B=1 N=150
# D != Dv on flash3 (MLA's prefill, queries and keys of 192, values of 128):
# Q K^T over three 64-column slabs, O stored through the wider Q tile.
add_case mla192_b2_n300        $b/mla_192_128_causal.mlir mla_192_128_causal 97 B=2 N=300
# Attention gradients (every variant: the atomic and the deterministic
# kernels): masks, score_mod derivatives, mask_mod, GQA, N != M, batch > 1.
add_backward_case bwd_causal_gqa_b2_n70  causal_gqa.mlir      causal_gqa      31 B=2 N=70
add_backward_case bwd_softcap_b1_n130    softcap.mlir         softcap         32 B=1 N=130
add_backward_case bwd_window_b1_n300     sliding_window.mlir  sliding_window  33 B=1 N=300
add_backward_case bwd_alibi_b1_n130      alibi_causal.mlir    alibi_causal    34 B=1 N=130
add_backward_case bwd_d64_b1_n100        attention_d64.mlir   attention_d64   35 B=1 N=100
add_backward_case bwd_prefix_lm_b1_n270  prefix_lm.mlir       prefix_lm       36 B=1 N=270
add_backward_case bwd_kv_cache_n37_m301  kv_cache_causal.mlir kv_cache_causal 37 B=2 N=37 M=301
add_backward_case bwd_document_mask_b2_n150 document_mask.mlir document_mask 43 B=2 N=150
add_backward_case bwd_relative_bias_b1_n140 relative_bias.mlir relative_bias 44 B=1 N=140
add_backward_case bwd_prefix_rt_b1_n130   prefix_lm_runtime.mlir prefix_lm_runtime 45 B=1 N=130
# Longer rows, about 4 documents each: the gradient's mask_lists pre-passes
# list each key tile's query tiles (the kv kernel's) and each query tile's
# key tiles (the deterministic dq kernel's); tiles of other documents are
# never visited, tiles inside one document skip the mask_mod.
add_backward_case bwd_document_mask_b2_n300 document_mask.mlir document_mask 102 B=2 N=300
# Block-sparse: the reference's lists (an empty query block, a full one,
# out-of-range entries) and their transposes; N not a block multiple; a
# GQA group of 4 query heads walking their own transposed lists.
add_backward_case bwd_sparse_b2_n300      block_sparse.mlir    block_sparse    46 B=2 N=300
add_backward_case bwd_sparse_mask_mod_b2_n200_m333 test/unit/device/kernels/block_sparse_mask_mod.mlir block_sparse_mask_mod 47 B=2 N=200 M=333
# Rotary embedding's gradient: q and k rotated into copies, the kernels on
# them, dq and dk turned back (half pairs over all 128 dims, one table;
# interleaved over 32 of 64 dims, a table per sequence, N < M, GQA 8/2).
add_backward_case bwd_rope_b2_n300        rope_attention.mlir  rope_attention  95 B=2 N=300
add_backward_case bwd_rope_partial_n77_m150 test/unit/device/kernels/rope_partial_gqa.mlir rope_partial_gqa 96 B=2 N=77 M=150
# The deterministic kernels (dQ by its own kernel) on the same data.
# Head dims past 128: the kv kernel split into kv_dv and kv_dk
# (schedule::gradSplitsKv); D = 256, and MLA's 192 / 128 causal (its
# deterministic form too: at D = 192 the dq kernel fits).
add_backward_case bwd_d256_b2_n100       bench/attention/specs/mha_d256.mlir mha_d256 97 B=2 N=100
add_backward_case bwd_d256_causal_b1_n200 bench/attention/specs/mha_d256_causal.mlir mha_d256_causal 98 B=1 N=200
add_backward_case bwd_mla192_b1_n150     bench/attention/specs/mla_192_128_causal.mlir mla_192_128_causal 99 B=1 N=150
add_backward_case bwd_det_causal_gqa_b2_n70 causal_gqa.mlir   causal_gqa      31 --deterministic --same-as=bwd_causal_gqa_b2_n70
add_backward_case bwd_det_softcap_b1_n130   softcap.mlir      softcap         32 --deterministic --same-as=bwd_softcap_b1_n130
add_backward_case bwd_det_d64_b1_n100       attention_d64.mlir attention_d64  35 --deterministic --same-as=bwd_d64_b1_n100
add_backward_case bwd_det_sparse_b2_n300     block_sparse.mlir block_sparse    46 --deterministic --same-as=bwd_sparse_b2_n300
add_backward_case bwd_det_document_mask_b2_n300 document_mask.mlir document_mask 102 --deterministic --same-as=bwd_document_mask_b2_n300
add_backward_case bwd_det_rope_b2_n300       rope_attention.mlir rope_attention 95 --deterministic --same-as=bwd_rope_b2_n300
add_backward_case bwd_det_mla192_b1_n150     bench/attention/specs/mla_192_128_causal.mlir mla_192_128_causal 99 --deterministic --same-as=bwd_mla192_b1_n150
# Recurrence gradients (chunk_grad): ungated and decay over a ragged T, a
# state in and out with Dk != Dv, and a single step.
add_backward_case bwd_linear_plain_b1_t150 linear_plain.mlir linear_plain 61 B=1 T=150
add_backward_case bwd_decay_b2_t150      decay.mlir           decay           62 B=2 T=150
add_backward_case bwd_decay_states_b2_t200 test/unit/device/kernels/decay_states.mlir decay_states 63 B=2 T=200
add_backward_case bwd_decay_states_b3_t1 test/unit/device/kernels/decay_states.mlir decay_states 64 B=3 T=1
# Vector gates (GLA): the example (16 heads 128/128) over a ragged T, and a
# state in and out with Dk != Dv over several chunks and a single step.
add_backward_case bwd_gla_vector_b2_t150 gla_vector.mlir     gla_vector      65 B=2 T=150
add_backward_case bwd_vector_states_b2_t200 test/unit/device/kernels/vector_states.mlir vector_states 66 B=2 T=200
add_backward_case bwd_vector_states_b1_t1 test/unit/device/kernels/vector_states.mlir vector_states 67 B=1 T=1
# mlstm_sig (TFLA's mLSTMsig, a normaliser): the example (16 heads 128/128,
# C and n in and out) over a ragged T, and a state in and out with Dk != Dv
# over several chunks and a single step.
add_backward_case bwd_mlstm_sig_b2_t150  mlstm_sig.mlir       mlstm_sig       69 B=2 T=150
add_backward_case bwd_sig_states_b2_t200 test/unit/device/kernels/sig_states.mlir sig_states 70 B=2 T=200
add_backward_case bwd_sig_states_b1_t1   test/unit/device/kernels/sig_states.mlir sig_states 71 B=1 T=1
# xLSTM's mLSTM (max-stabilised): C, n and m in, their gradients out.
add_backward_case bwd_exp_states_b2_t200 test/unit/device/kernels/exp_states.mlir exp_states 75 B=2 T=200
add_backward_case bwd_exp_states_b1_t1   test/unit/device/kernels/exp_states.mlir exp_states 76 B=1 T=1
# 8 heads 256/512 (the bench's specs): states too wide for the chunk
# kernel's shared memory whole, so every ranked schedule passes over value
# slices (value_slice).
add_backward_case bwd_decay_wide_b1_t150 bench/linear/specs/decay_h8_k256_v512.mlir decay_h8_k256_v512 112 B=1 T=150
add_backward_case bwd_sig_wide_b1_t130 bench/linear/specs/mlstm_sig_h8_k256_v512.mlir mlstm_sig_h8_k256_v512 113 B=1 T=130
# GLA at Dk 128 / Dv 512 with a state in and out: vector gates' chunk
# kernel over value slices.
add_backward_case bwd_vector_wide_b1_t150 test/unit/device/kernels/vector_wide.mlir vector_wide 114 B=1 T=150
# Linear recurrences: every gate kind, T not a multiple of the chunk.
add_case linear_plain_b1_t150 linear_plain.mlir    linear_plain    10 B=1 T=150
add_case decay_b2_t150        decay.mlir           decay           11 B=2 T=150
add_case gla_vector_b1_t150   gla_vector.mlir      gla_vector      12 B=1 T=150
add_case mlstm_b1_t150        mlstm.mlir           mlstm           13 B=1 T=150
add_case mlstm_gates30_b1_t100 mlstm.mlir          mlstm           14 B=1 T=100 --gate-range=-30,30
add_case mlstm_sig_state_b1_t150 mlstm_sig.mlir    mlstm_sig       15 B=1 T=150
# An output gate (output_mod reading an f32 extra [B, T, H, Dv]): the
# chunk kernels, and one and three tokens through the step kernel.
add_case gated_recurrence_b2_t150 gated_recurrence.mlir gated_recurrence 86 B=2 T=150
# A feature map on q and k (elu(w x) + 1, w an f32 extra [H, Dk]): the
# chunk kernels map each staged tile in place; three tokens through the
# step kernel below.
add_case feature_map_linear_b2_t150 feature_map_linear.mlir feature_map_linear 100 B=2 T=150
# Packed sequences (cu_seqlens): ragged lengths (an empty one, a single
# step, the longest last) packed back to back, states per sequence.
# chunk_scored (the scores pre-pass, then the fused loop staging P): the
# bench's 8 heads 256/512 specs planned at their bench shape, where every
# ranked schedule is that form, run at a ragged T.
add_case decay_scored_b2_t150 bench/linear/specs/decay_h8_k256_v512.mlir decay_h8_k256_v512 110 B=2 T=150 "--plan=B=8 T=8192"
add_case mlstm_sig_scored_b1_t200 bench/linear/specs/mlstm_sig_h8_k256_v512.mlir mlstm_sig_h8_k256_v512 111 B=1 T=200 "--plan=B=8 T=8192"
add_case decay_varlen_b4_t150 decay_varlen.mlir    decay_varlen    68 B=4 T=150
add_backward_case bwd_decay_varlen_b4_t150 decay_varlen.mlir decay_varlen 72 B=4 T=150
add_backward_case bwd_sig_varlen_b3_t130 test/unit/device/kernels/sig_varlen.mlir sig_varlen 73 B=3 T=130
add_backward_case bwd_exp_varlen_b3_t130 test/unit/device/kernels/exp_varlen.mlir exp_varlen 74 B=3 T=130
# The delta rule (docs/semantics.md §7): DeltaNet over a ragged T with
# batch > 1; gated DeltaNet with Dk != Dv and a state in and out.
add_case delta_rule_b2_t150   delta_rule.mlir      delta_rule      16 B=2 T=150
add_case gated_delta_state_b1_t200 gated_delta_rule.mlir gated_delta_rule 17 B=1 T=200
# Gated DeltaNet over packed sequences (prefill of ragged prompts), states
# per sequence.
add_case gated_delta_varlen_b4_t100 gated_delta_varlen.mlir gated_delta_varlen 74 B=4 T=100
# Decoding (docs/semantics.md §8): bundles planned for one token of 64
# sequences, whose schedules are recurrent_step kernels, on 1 to 4 tokens
# of a few sequences; states in and out where the spec has them.
step_plan="--plan=B=64 T=1"
add_case step_decay_b3_t1          decay.mlir            decay            60 B=3 T=1 "$step_plan"
add_case step_gla_vector_b2_t3     gla_vector.mlir       gla_vector       61 B=2 T=3 "$step_plan"
add_case step_mlstm_gates30_b2_t2  mlstm.mlir            mlstm            62 B=2 T=2 --gate-range=-30,30 "$step_plan"
add_case step_mlstm_sig_state_b3_t4 mlstm_sig.mlir       mlstm_sig        63 B=3 T=4 "$step_plan"
add_case step_delta_rule_b3_t1     delta_rule.mlir       delta_rule       64 B=3 T=1 "$step_plan"
add_case step_gated_delta_state_b2_t4 gated_delta_rule.mlir gated_delta_rule 65 B=2 T=4 "$step_plan"
add_case step_gated_recurrence_b3_t3 gated_recurrence.mlir gated_recurrence 87 B=3 T=3 "$step_plan"
add_case step_feature_map_linear_b3_t3 feature_map_linear.mlir feature_map_linear 101 B=3 T=3 "$step_plan"

{
  echo '{"cases": ['
  for ((i = 0; i < ${#cases[@]}; i++)); do
    sep=","; [ $i -eq $((${#cases[@]} - 1)) ] && sep=""
    echo "  ${cases[$i]}$sep"
  done
  echo ']}'
} > "$out/cases.json"
echo "prepared ${#cases[@]} GPU cases in $out ($(du -sh "$out" | cut -f1))"
