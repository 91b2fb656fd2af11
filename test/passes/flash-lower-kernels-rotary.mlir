// RUN: flashgen-opt %s -flash-schedule="target=h200 dims=B=2,N=4096,M=4096" -flash-lower-kernels=target=h200 -canonicalize -cse | FileCheck %s --check-prefix=LOWER
// RUN: flashgen-opt %S/Inputs/rotary-producer.mlir -flash-lower-kernels=target=h200 -canonicalize -cse | FileCheck %s --check-prefix=INLINE
// RUN: flashgen-opt %S/Inputs/rotary-producer.mlir -flash-lower-kernels=target=h200 -flash-warp-specialize -canonicalize -cse | FileCheck %s --check-prefix=SPLIT
// RUN: flashgen-opt %S/Inputs/rotary-prepass.mlir -flash-lower-kernels=target=h200 -flash-warp-specialize -canonicalize -cse | FileCheck %s --check-prefix=PREPASS
// RUN: flashgen-opt %S/Inputs/rotary-prepass.mlir -flash-lower-kernels=target=h200 -flash-warp-specialize -canonicalize -cse -flash-print-cuda -o /dev/null | FileCheck %s --check-prefix=PRECUDA
// RUN: flashgen-opt %S/Inputs/rotary-producer.mlir -flash-lower-kernels=target=h200 -flash-warp-specialize -canonicalize -cse -flash-print-cuda -o /dev/null | FileCheck %s --check-prefix=CUDA
// RUN: flashgen-opt %s -flash-schedule="target=h200 dims=B=8,N=1,M=32768" -flash-lower-kernels=target=h200 -canonicalize -cse | FileCheck %s --check-prefix=DECODE
// RUN: not flashgen-opt %s -flash-schedule="target=h200 dims=B=2,N=4096,M=4096 algorithm=flash2_dsplit" 2>&1 | FileCheck %s --check-prefix=DSPLIT
// RUN: flashgen-opt %s -flash-derive-backward | FileCheck %s --check-prefix=BACKWARD
// RUN: flashgen-opt %s -flash-derive-backward -flash-schedule="target=h200 dims=B=2,N=4096,M=4096" -flash-lower-kernels=target=h200 -canonicalize -cse | FileCheck %s --check-prefix=GRAD
// Rotary embedding (docs/semantics.md §2.12): the lowering rotates each q
// and k tile once it landed (flash.tile_rotate, then a barrier: flash2,
// flash3 without a producer, flash_decode); flash-warp-specialize moves the
// rotation into the producer (flash.pipe_produce rotate) and the consumers
// wait for rotated slots (flash.pipe_wait rotated). A rotary_prepass
// schedule rotates K once in a first kernel (flash.rows_rotate) into the
// workspace copy the attention kernel reads; that kernel rotates only q.

func.func @rope(%q: tensor<?x16x?x128xbf16>, %k: tensor<?x4x?x128xbf16>,
                %v: tensor<?x4x?x128xbf16>, %cos: tensor<?x64xf32>,
                %sin: tensor<?x64xf32>) -> tensor<?x16x?x128xbf16> {
  %o = flash.attention %q, %k, %v mask causal dims ["B", "N", "N"]
      extras(%cos, %sin : tensor<?x64xf32>, tensor<?x64xf32>) names ["cos", "sin"]
      extra_dims [["N"], ["N"]]
      rotary half tables ["cos", "sin"]
      : tensor<?x16x?x128xbf16>, tensor<?x4x?x128xbf16>, tensor<?x4x?x128xbf16>
      -> tensor<?x16x?x128xbf16>
  return %o : tensor<?x16x?x128xbf16>
}

// At B = 2, N = 4096 the cost model takes the key pre-pass (each key tile
// is read by 32 query tiles, which would each rotate it again): a first
// kernel over (64-row key tile, kv head, batch) rotates K, key j at j; the
// attention kernel waits for it, waits for its query tile, rotates it at
// its positions (query i at i + M - N) and no key tile.
// LOWER-LABEL: flash.kernel @rope_v0_rotate_keys family attention_rotate schedule <algorithm = flash3
// LOWER-SAME: rotary_prepass = 1
// LOWER: flash.grid_map ["row_tile", "head", "batch"] extents ["cdiv(N,64)", "4", "B"]
// LOWER: flash.launch_dependents
// LOWER: flash.rows_rotate k[{{.*}}] rows 64 extent {{.*}} at %c0 half dims 128 tables(
// LOWER-LABEL: flash.kernel @rope_v0 family attention
// LOWER: %[[COS:.*]] = flash.extra "cos"
// LOWER: %[[SIN:.*]] = flash.extra "sin"
// LOWER: flash.wait_previous_launch
// LOWER: flash.tile_load q
// LOWER: flash.tile_wait
// LOWER-NEXT: flash.tile_rotate q[{{.*}}] rows 128 extent {{.*}} stage {{.*}} at {{.*}} half dims 128 tables(%[[COS]], %[[SIN]])
// LOWER-NEXT: flash.barrier
// LOWER-NOT: flash.tile_rotate
// LOWER-LABEL: flash.kernel @rope_v1_rotate_keys

// Without the pre-pass every thread also rotates each key tile once it
// landed, key j at j.
// INLINE-LABEL: flash.kernel @rope_producer_v0
// INLINE-NOT: flash.wait_previous_launch
// INLINE: flash.tile_rotate q[
// INLINE: scf.for
// INLINE: flash.tile_wait
// INLINE: flash.tile_rotate k[{{.*}}] rows {{[0-9]+}} extent {{.*}} stage {{.*}} at %c0 half dims 128 tables(
// INLINE-NEXT: flash.barrier
// INLINE-NOT: flash.tile_rotate v

// Inputs/rotary-producer.mlir: the same op under a producer schedule.
// SPLIT-LABEL: flash.kernel @rope_producer_v0
// SPLIT: flash.warp_specialize
// SPLIT: flash.pipe_produce q[{{.*}} rotate half dims 128 at {{.*}} tables(
// SPLIT: flash.pipe_produce k[{{.*}} rotate half dims 128 at %c0 tables(
// SPLIT: flash.pipe_produce v[{{.*}}] rows {{[0-9]+}} extent {{.*}} slot {{%[a-z0-9_]+$}}
// SPLIT: flash.pipe_wait q {{.*}} rotated
// SPLIT: flash.pipe_wait k {{.*}} rotated
// SPLIT-NOT: flash.pipe_wait v {{.*}} rotated

// TMA copies by the producer's first thread, rotations by its warps 1-3
// through ready barriers; the cp.async fallback rotates in every thread.
// CUDA-LABEL: flashgen_rope_producer_v0(
// CUDA: tm_q
// CUDA: const float* __restrict__ x_cos,
// CUDA: fg::wg::produce_tma<fg::wg::ring::q>(
// CUDA: fg::wg::is_rotator<kConsumerWarps>()
// CUDA: fg::wg::rotate_slot<fg::wg::ring::q, true, 128>(
// CUDA: fg::wg::rotate_slot<fg::wg::ring::k, true, 128>(
// CUDA: fg::wg::produce_rotated<fg::wg::ring::q, true, 128>(
// CUDA: fg::wg::produce_rotated<fg::wg::ring::k, true, 128>(
// CUDA: fg::wg::produce<fg::wg::ring::v>(
// CUDA: fg::wg::wait_ready<fg::wg::ring::q>(
// CUDA: fg::wg::wait_ready<fg::wg::ring::k>(

// Inputs/rotary-prepass.mlir: the producer only copies (K lands rotated);
// each consumer warpgroup turns its own rows of the landed Q slot.
// PREPASS-LABEL: flash.kernel @rope_prepass_v0_rotate_keys family attention_rotate
// PREPASS-LABEL: flash.kernel @rope_prepass_v0 family attention
// PREPASS: flash.wait_previous_launch
// PREPASS: flash.warp_specialize
// PREPASS-NOT: rotate half
// PREPASS: flash.pipe_produce q[{{.*}}] rows 128 extent {{.*}} slot {{%[a-z0-9_]+$}}
// PREPASS: flash.pipe_produce k[{{.*}}] rows {{[0-9]+}} extent {{.*}} slot {{%[a-z0-9_]+$}}
// PREPASS: flash.pipe_wait q {{[^ ]*$}}
// PREPASS-NEXT: flash.pipe_rotate q[{{.*}}] rows 128 extent {{.*}} slot {{.*}} at {{.*}} half dims 128 tables(
// PREPASS: flash.pipe_wait k {{[^ ]*$}}

// The pre-pass writes the copy, which the attention kernel's k parameter
// and K's tensor map are bound to (manifest scratch k_rotated); the pipe
// has no ready barriers.
// PRECUDA-LABEL: flashgen_rope_prepass_v0_rotate_keys(
// PRECUDA: rope_prepass_v0_rotate_keys_k::Elem* __restrict__ k_rotated,
// PRECUDA: fg::ptx::launch_dependents();
// PRECUDA: fg::rotary::copy_rotated_rows<true, 128, kHeadDim, kRows>(k + {{.*}}, k_s2, k_rotated + {{.*}}, k_rotated_s2,
// PRECUDA: using Pipe = fg::wg::pipe<kStages, kConsumerWarps, QRing::kStages>;
// PRECUDA-LABEL: flashgen_rope_prepass_v0(
// PRECUDA: fg::ptx::wait_previous_launch();
// PRECUDA-NOT: fg::wg::rotate_slot
// PRECUDA: fg::wg::wait_full<fg::wg::ring::q>(
// PRECUDA: fg::wg::rotate_own_rows<true, 128>(sQs,
// PRECUDA: fg::wg::wait_full<fg::wg::ring::k>(

// A cache of M keys, per-sequence tables, interleaved pairs of the first 32
// dims: one new token's packed rows of a GQA group rotate at their token's
// position.
func.func @rope_decode(%q: tensor<?x16x?x128xbf16>, %k: tensor<?x4x?x128xbf16>,
                       %v: tensor<?x4x?x128xbf16>, %cos: tensor<?x?x16xf32>,
                       %sin: tensor<?x?x16xf32>) -> tensor<?x16x?x128xbf16> {
  %o = flash.attention %q, %k, %v mask causal dims ["B", "N", "M"]
      extras(%cos, %sin : tensor<?x?x16xf32>, tensor<?x?x16xf32>) names ["cos", "sin"]
      extra_dims [["B", "M"], ["B", "M"]]
      rotary interleaved tables ["cos", "sin"]
      : tensor<?x16x?x128xbf16>, tensor<?x4x?x128xbf16>, tensor<?x4x?x128xbf16>
      -> tensor<?x16x?x128xbf16>
  return %o : tensor<?x16x?x128xbf16>
}

// DECODE-LABEL: flash.kernel @rope_decode_v0 family attention schedule <algorithm = flash_decode
// DECODE: flash.tile_rotate q[{{.*}}] rows {{[0-9]+}} extent {{.*}} group 4 stage {{.*}} interleaved dims 32 tables({{.*}}) : tensor<?x?x16xf32>
// DECODE: flash.tile_rotate k[

// DSPLIT: streams q and k in head-dim chunks, which rotary embedding's pairs (f, f + R/2) span

// The backward carries the rotation; its kernels are the unrotated ones on
// q and k rotated into copies, then dq and dk turned back in place by the
// rotation's transpose (query i at i + M - N, key j at j).
// BACKWARD-LABEL: func.func @rope_backward(
// BACKWARD: flash.attention_grad {{.*}} rotary half tables ["cos", "sin"]
// GRAD-LABEL: flash.kernel @rope_backward_v0_rotate_q family attention_rotate
// GRAD: flash.grid_map ["row_tile", "head", "batch"] extents ["cdiv(N,64)", "16", "B"]
// GRAD: flash.rows_rotate q[{{.*}}] rows 64 extent {{.*}} half dims 128 tables(
// GRAD-LABEL: flash.kernel @rope_backward_v0_rotate_k family attention_rotate
// GRAD: flash.rows_rotate k[{{.*}}] rows 64 extent {{.*}} at %c0 half dims 128 tables(
// GRAD-LABEL: flash.kernel @rope_backward_v0_prep
// GRAD-LABEL: flash.kernel @rope_backward_v0_kv
// GRAD-LABEL: flash.kernel @rope_backward_v0_unrotate_dq family attention_rotate
// GRAD: flash.rows_rotate dq[{{.*}}] rows 64 extent {{.*}} half dims 128 inverse tables(
// GRAD-LABEL: flash.kernel @rope_backward_v0_unrotate_dk family attention_rotate
// GRAD: flash.rows_rotate dk[{{.*}}] rows 64 extent {{.*}} at %c0 half dims 128 inverse tables(
