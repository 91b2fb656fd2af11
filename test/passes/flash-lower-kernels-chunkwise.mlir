// RUN: flashgen-opt --flash-lower-kernels --split-input-file --verify-diagnostics %s | FileCheck %s

// flash-lower-kernels on recurrences (LowerChunkwise.cpp): the chunkwise
// kernels of flash.linear_attention. Each case
// checks the kernel IR of one gate kind / algorithm: the chunk loop and its
// pipeline, the carried state, the TFLA inner tiles, the gate math in the
// chunk_gates / decay_map regions.

// decay, chunk_fused, L = 128 with 64 x 32 inner tiles: two query tiles,
// each over the key tiles up to its last row.

// CHECK-LABEL: func.func @decay
// CHECK: flash.linear_attention {{.*}}flash.kernels = [@decay_v0]
// CHECK-LABEL: flash.kernel @decay_v0 family linear_fused
// CHECK-SAME: chunk = 128, inner_q = 64, inner_kv = 32, tile_dv = 32
// CHECK-SAME: problem {dims = ["B", "T"], element_type = bf16
// CHECK-SAME: gate = "decay", heads = 2 : i64, initial_state = false, key_dim = 64 : i64
// CHECK: %[[IDS:.*]]:3 = flash.grid_map ["value_tile", "head", "batch"] extents ["2", "2", "B"]
// CHECK: %[[T:.*]] = flash.dim "T"
// CHECK: %[[L:.*]] = arith.constant 128 : index
// CHECK: %[[NC:.*]] = arith.ceildivsi %[[T]], %[[L]]
// The state starts at zero; chunk 0 is in flight and its gates are ready
// before the loop.
// CHECK: flash.state_init zero[%[[IDS]]#2, %[[IDS]]#1, %[[IDS]]#0] gate decay
// CHECK: flash.chunk_load q[{{.*}} rows 128 cols 64 extent %[[T]] stage %{{.*}} async
// CHECK: flash.chunk_load k[{{.*}} rows 128 cols 64 extent %[[T]]
// CHECK: flash.chunk_load v[%[[IDS]]#2, %[[IDS]]#1, %{{.*}}, %[[IDS]]#0] rows 128 cols 32
// CHECK: flash.tile_commit
// CHECK: flash.gate_fetch
// CHECK: flash.chunk_gates[{{.*}}] extent %[[T]] buffer {{.*}} gate decay {
// CHECK-NEXT: ^bb0(%[[G:.*]]: f32):
// CHECK-NEXT: %[[ZERO:.*]] = arith.constant 0.000000e+00 : f32
// CHECK-NEXT: flash.gate_yield %[[G]], %[[ZERO]]
// The chunk loop: wait for chunk c, prefetch chunk c + 1 into the other
// stage, outputs, then the state update.
// CHECK: scf.for %[[C:.*]] = %{{.*}} to %[[NC]]
// CHECK-NEXT: flash.tile_wait 0
// CHECK-NEXT: %[[NEXT:.*]] = arith.addi %[[C]]
// CHECK-NEXT: %[[MORE:.*]] = arith.cmpi slt, %[[NEXT]], %[[NC]]
// CHECK: %[[STAGE:.*]] = arith.remsi %[[C]]
// CHECK: %[[BUF:.*]] = arith.remsi %[[C]]
// CHECK: %[[NSTAGE:.*]] = arith.remsi %[[NEXT]]
// CHECK: scf.if %[[MORE]] {
// CHECK: flash.chunk_load q[{{.*}}, %[[NEXT]], {{.*}}] {{.*}} stage %[[NSTAGE]] async
// CHECK: flash.tile_commit
// CHECK: scf.if %[[MORE]] {
// CHECK-NEXT: flash.gate_fetch[{{.*}}, %[[NEXT]]]
// Inner query tiles (two of 64 rows), inner key tiles of 32 up to the
// query tile's end: min(cdiv((qt + 1) * 64, 32), 4).
// CHECK: %[[QTILES:.*]] = arith.constant 2 : index
// CHECK: scf.for %[[QT:.*]] = %{{.*}} to %[[QTILES]]
// CHECK-NEXT: flash.chunk_inter[%[[QT]]] stage %[[STAGE]] buffer %[[BUF]] gate decay
// CHECK: %[[QN:.*]] = arith.addi %[[QT]]
// CHECK: %[[QEND:.*]] = arith.muli %[[QN]], %{{.*}}
// CHECK: %[[COVER:.*]] = arith.ceildivsi %[[QEND]], %{{.*}}
// CHECK: %[[KTEND:.*]] = arith.minsi %[[COVER]], %{{.*}}
// CHECK: scf.for %[[KT:.*]] = %{{.*}} to %[[KTEND]]
// CHECK-NEXT: flash.chunk_scores[%[[QT]], %[[KT]]] stage %[[STAGE]] gate decay
// The decay matrix: compensated B(r, s) = (hi_r - hi_s) + (lo_r - lo_s),
// causal inside the chunk.
// CHECK-NEXT: flash.decay_map[%[[QT]], %[[KT]]] buffer %[[BUF]] {
// CHECK-NEXT: ^bb0(%{{.*}}: f32, %[[HR:.*]]: f32, %[[LR:.*]]: f32, %[[HS:.*]]: f32, %[[LS:.*]]: f32, %{{.*}}: f32, %[[R:.*]]: index, %[[S:.*]]: index):
// CHECK-NEXT: %[[DH:.*]] = arith.subf %[[HR]], %[[HS]]
// CHECK-NEXT: %[[DL:.*]] = arith.subf %[[LR]], %[[LS]]
// CHECK-NEXT: %[[B:.*]] = arith.addf %[[DH]], %[[DL]]
// CHECK-NEXT: %[[VIS:.*]] = arith.cmpi sle, %[[S]], %[[R]]
// CHECK-NEXT: flash.decay_yield %[[B]], %[[VIS]]
// CHECK: flash.chunk_accumulate[%[[KT]]] stage %[[STAGE]] gate decay
// CHECK: flash.chunk_store o[%[[IDS]]#2, %[[IDS]]#1, %[[C]], %[[QT]], %[[IDS]]#0] extent %[[T]] stage %[[STAGE]] gate decay
// Every warp is done with the 16-bit state copy before the update.
// CHECK: flash.barrier
// CHECK-NEXT: flash.state_update stage %[[STAGE]] buffer %[[BUF]] gate decay
// The next chunk's gates go into the other gate buffer.
// CHECK-NEXT: scf.if %[[MORE]] {
// CHECK-NEXT: %[[NBUF:.*]] = arith.remsi %[[NEXT]]
// CHECK-NEXT: flash.chunk_gates[{{.*}}, %[[NEXT]]] extent %[[T]] buffer %[[NBUF]]
// CHECK-NOT: flash.state_store
func.func @decay(%q: tensor<?x2x?x64xbf16>, %k: tensor<?x2x?x64xbf16>,
                 %v: tensor<?x2x?x64xbf16>, %g: tensor<?x2x?xf32>) -> tensor<?x2x?x64xbf16> {
  %o = flash.linear_attention %q, %k, %v gate decay gates(%g : tensor<?x2x?xf32>)
      dims ["B", "T"] {flash.schedule = #flash.schedule<algorithm = chunk_fused, tile_q = 0, tile_kv = 0, tile_d = 0, stages = 2, warps = 4, chunk = 128, inner_q = 64, inner_kv = 32, tile_dv = 32, smem_bytes = 0>}
      : tensor<?x2x?x64xbf16>, tensor<?x2x?x64xbf16>, tensor<?x2x?x64xbf16> -> tensor<?x2x?x64xbf16>
  return %o : tensor<?x2x?x64xbf16>
}

// -----

// mlstm_exp with initial and final state: the stabilised kind. iota = i,
// lambda = log sigmoid(f) = min(f, 0) - log1p(exp(-|f|)); the decay matrix
// adds iota_s; the final state is stored after the loop at boundary NC.

// CHECK-LABEL: flash.kernel @mlstm_v0 family linear_fused
// CHECK-SAME: final_state = true, gate = "mlstm_exp"
// CHECK-SAME: initial_state = true
// CHECK: %[[T:.*]] = flash.dim "T"
// CHECK: %[[NC:.*]] = arith.ceildivsi %[[T]]
// CHECK: flash.state_init initial[{{.*}} gate mlstm_exp
// CHECK: flash.chunk_gates{{.*}} gate mlstm_exp {
// CHECK-NEXT: ^bb0(%[[I:.*]]: f32, %[[F:.*]]: f32):
// CHECK-NEXT: %[[Z:.*]] = arith.constant 0.000000e+00 : f32
// CHECK-NEXT: %[[LOW:.*]] = arith.minimumf %[[F]], %[[Z]]
// CHECK-NEXT: %[[ABS:.*]] = math.absf %[[F]]
// CHECK-NEXT: %[[NEG:.*]] = arith.negf %[[ABS]]
// CHECK-NEXT: %[[E:.*]] = math.exp %[[NEG]]
// CHECK-NEXT: %[[L1P:.*]] = math.log1p %[[E]]
// CHECK-NEXT: %[[LF:.*]] = arith.subf %[[LOW]], %[[L1P]]
// CHECK-NEXT: flash.gate_yield %[[LF]], %[[I]]
// CHECK: scf.for
// CHECK: flash.chunk_inter{{.*}} gate mlstm_exp
// CHECK: flash.decay_map
// CHECK: %[[BRS:.*]] = arith.addf
// CHECK-NEXT: %[[DW:.*]] = arith.addf %[[BRS]], %{{.*}} : f32
// CHECK-NEXT: arith.cmpi sle
// CHECK-NEXT: flash.decay_yield %[[DW]]
// CHECK: flash.chunk_accumulate{{.*}} gate mlstm_exp
// CHECK: flash.chunk_store o[{{.*}} gate mlstm_exp
// CHECK: flash.state_update {{.*}} gate mlstm_exp
// CHECK: flash.state_store final[{{.*}} chunk %[[NC]] gate mlstm_exp
func.func @mlstm(%q: tensor<?x1x?x64xbf16>, %k: tensor<?x1x?x64xbf16>,
                 %v: tensor<?x1x?x64xbf16>, %i: tensor<?x1x?xf32>,
                 %f: tensor<?x1x?xf32>, %c0: tensor<?x1x64x64xf32>,
                 %n0: tensor<?x1x64xf32>, %m0: tensor<?x1xf32>)
    -> (tensor<?x1x?x64xbf16>, tensor<?x1x64x64xf32>, tensor<?x1x64xf32>, tensor<?x1xf32>) {
  %o, %c, %n, %m = flash.linear_attention %q, %k, %v gate mlstm_exp
      gates(%i, %f : tensor<?x1x?xf32>, tensor<?x1x?xf32>)
      initial(%c0, %n0, %m0 : tensor<?x1x64x64xf32>, tensor<?x1x64xf32>, tensor<?x1xf32>)
      return_final_state dims ["B", "T"]
      {flash.schedule = #flash.schedule<algorithm = chunk_fused, tile_q = 0, tile_kv = 0, tile_d = 0, stages = 2, warps = 4, chunk = 64, inner_q = 64, inner_kv = 64, tile_dv = 64, smem_bytes = 0>}
      : tensor<?x1x?x64xbf16>, tensor<?x1x?x64xbf16>, tensor<?x1x?x64xbf16>
      -> tensor<?x1x?x64xbf16>, tensor<?x1x64x64xf32>, tensor<?x1x64xf32>, tensor<?x1xf32>
  return %o, %c, %n, %m : tensor<?x1x?x64xbf16>, tensor<?x1x64x64xf32>, tensor<?x1x64xf32>, tensor<?x1xf32>
}

// -----

// mlstm_sig: sigmoid input gate, iota = log sigmoid(i) as well; one stage,
// so the next chunk is requested after the state update and a barrier.

// CHECK-LABEL: flash.kernel @sig_v0 family linear_fused
// CHECK-SAME: stages = 1
// CHECK: flash.chunk_gates{{.*}} gate mlstm_sig {
// CHECK-NEXT: ^bb0(%[[I:.*]]: f32, %[[F:.*]]: f32):
// CHECK: arith.minimumf %[[I]]
// CHECK: math.absf %[[I]]
// CHECK: %[[LI:.*]] = arith.subf
// CHECK: arith.minimumf %[[F]]
// CHECK: math.absf %[[F]]
// CHECK: math.log1p
// CHECK: %[[LF:.*]] = arith.subf
// CHECK-NEXT: flash.gate_yield %[[LF]], %[[LI]]
// CHECK: scf.for %[[C:.*]] = %{{.*}} to %[[NC:.*]] step
// CHECK-NEXT: flash.tile_wait 0
// CHECK-NOT: flash.chunk_load
// CHECK: flash.state_update
// CHECK: flash.chunk_gates
// CHECK: flash.barrier
// CHECK-NEXT: scf.if
// CHECK: flash.chunk_load q[{{.*}} async
// CHECK: flash.tile_commit
// CHECK: flash.state_store final[
func.func @sig(%q: tensor<?x1x?x64xbf16>, %k: tensor<?x1x?x64xbf16>,
               %v: tensor<?x1x?x32xbf16>, %i: tensor<?x1x?xf32>,
               %f: tensor<?x1x?xf32>) -> (tensor<?x1x?x32xbf16>, tensor<?x1x64x32xf32>, tensor<?x1x64xf32>) {
  %o, %c, %n = flash.linear_attention %q, %k, %v gate mlstm_sig
      gates(%i, %f : tensor<?x1x?xf32>, tensor<?x1x?xf32>) return_final_state dims ["B", "T"]
      {flash.schedule = #flash.schedule<algorithm = chunk_fused, tile_q = 0, tile_kv = 0, tile_d = 0, stages = 1, warps = 2, chunk = 64, inner_q = 32, inner_kv = 32, tile_dv = 32, smem_bytes = 0>}
      : tensor<?x1x?x64xbf16>, tensor<?x1x?x64xbf16>, tensor<?x1x?x32xbf16>
      -> tensor<?x1x?x32xbf16>, tensor<?x1x64x32xf32>, tensor<?x1x64xf32>
  return %o, %c, %n : tensor<?x1x?x32xbf16>, tensor<?x1x64x32xf32>, tensor<?x1x64xf32>
}

// -----

// vector (GLA): the f32 g tile is staged with the chunk; its gates are
// scanned at the top of the chunk (q, k gated in place) before any product,
// so no gate_fetch and no gates a chunk ahead; the decay matrix is 0 (the
// decays sit in the gated operands), only the causal mask remains.

// CHECK-LABEL: flash.kernel @gla_v0 family linear_fused
// CHECK: flash.chunk_load g[{{.*}} rows 64 cols 64
// CHECK-NOT: flash.gate_fetch
// CHECK: scf.for %[[C:.*]] =
// CHECK-NEXT: flash.tile_wait 0
// CHECK: flash.chunk_gates[{{.*}}, %[[C]]] {{.*}} gate vector {
// CHECK-NEXT: ^bb0(%[[G:.*]]: f32):
// CHECK: flash.gate_yield %[[G]]
// CHECK: flash.barrier
// CHECK: scf.if
// CHECK: flash.chunk_load g[
// CHECK: flash.chunk_scores{{.*}} gate vector
// CHECK-NEXT: flash.decay_map
// CHECK-NEXT: ^bb0
// CHECK-NEXT: %[[ZERO:.*]] = arith.constant 0.000000e+00 : f32
// CHECK-NEXT: %[[VIS:.*]] = arith.cmpi sle
// CHECK-NEXT: flash.decay_yield %[[ZERO]], %[[VIS]]
// CHECK: flash.state_update {{.*}} gate vector
func.func @gla(%q: tensor<?x1x?x64xbf16>, %k: tensor<?x1x?x64xbf16>,
               %v: tensor<?x1x?x64xbf16>, %g: tensor<?x1x?x64xf32>) -> tensor<?x1x?x64xbf16> {
  %o = flash.linear_attention %q, %k, %v gate vector gates(%g : tensor<?x1x?x64xf32>) dims ["B", "T"]
      {flash.schedule = #flash.schedule<algorithm = chunk_fused, tile_q = 0, tile_kv = 0, tile_d = 0, stages = 2, warps = 4, chunk = 64, inner_q = 64, inner_kv = 64, tile_dv = 32, smem_bytes = 0>}
      : tensor<?x1x?x64xbf16>, tensor<?x1x?x64xbf16>, tensor<?x1x?x64xbf16> -> tensor<?x1x?x64xbf16>
  return %o : tensor<?x1x?x64xbf16>
}

// -----

// No gate, the library's default chunk_fused schedule (what
// flash-schedule{search=false} records): no gate buffers at all, unit decay.

// CHECK-LABEL: func.func @plain
// CHECK: flash.schedule = #flash.schedule<algorithm = chunk_fused, tile_q = 0, tile_kv = 0, tile_d = 0, stages = 2, warps = 4, chunk = 64, inner_q = 64, inner_kv = 64, tile_dv = 64, smem_bytes = 98304>
// CHECK-LABEL: flash.kernel @plain_v0
// CHECK-NOT: flash.chunk_gates
// CHECK-NOT: flash.gate_fetch
// CHECK: flash.decay_map
// CHECK-NEXT: ^bb0
// CHECK-NEXT: arith.constant 0.000000e+00 : f32
// CHECK: flash.state_update {{.*}} gate none
func.func @plain(%q: tensor<?x16x?x128xbf16>, %k: tensor<?x16x?x128xbf16>,
                 %v: tensor<?x16x?x128xbf16>) -> tensor<?x16x?x128xbf16> {
  %o = flash.linear_attention %q, %k, %v dims ["B", "T"]
      {flash.schedule = #flash.schedule<algorithm = chunk_fused, tile_q = 0, tile_kv = 0, tile_d = 0, stages = 2, warps = 4, chunk = 64, inner_q = 64, inner_kv = 64, tile_dv = 64, smem_bytes = 98304>}
      : tensor<?x16x?x128xbf16>, tensor<?x16x?x128xbf16>, tensor<?x16x?x128xbf16> -> tensor<?x16x?x128xbf16>
  return %o : tensor<?x16x?x128xbf16>
}

// -----

// chunk_two_pass: a states kernel (the recurrent loop without outputs, the
// state before every chunk and the final one to scratch) and an outputs
// kernel with one CTA per (chunk, value tile) that starts from scratch.

// CHECK-LABEL: func.func @twopass
// CHECK: flash.kernels = [@twopass_v0_states, @twopass_v0_outputs]
// CHECK-LABEL: flash.kernel @twopass_v0_states family linear_states
// CHECK-SAME: phase = "states"
// CHECK: %[[NC:.*]] = arith.ceildivsi
// CHECK-NOT: flash.chunk_load q[
// CHECK: scf.for %[[C:.*]] = %{{.*}} to %[[NC]]
// CHECK-NOT: flash.chunk_inter
// CHECK: flash.state_store scratch[{{.*}}] chunk %[[C]] gate decay
// CHECK-NEXT: flash.state_update
// CHECK: flash.state_store scratch[{{.*}}] chunk %[[NC]] gate decay
// CHECK-LABEL: flash.kernel @twopass_v0_outputs family linear_outputs
// CHECK: %[[IDS:.*]]:3 = flash.grid_map ["chunk_value_tile", "head", "batch"] extents ["max(cdiv(T,64),1)*2", "4", "B"]
// CHECK: %[[CH:.*]] = arith.divui %[[IDS]]#0
// CHECK: %[[VT:.*]] = arith.remui %[[IDS]]#0
// CHECK: flash.state_init scratch[%[[IDS]]#2, %[[IDS]]#1, %[[VT]]] chunk %[[CH]] gate decay
// CHECK: flash.chunk_gates[{{.*}}, %[[CH]]]
// CHECK: flash.tile_wait 0
// CHECK: flash.chunk_inter
// CHECK: flash.chunk_store o[%[[IDS]]#2, %[[IDS]]#1, %[[CH]], %{{.*}}, %[[VT]]]
// CHECK-NOT: flash.state_update
func.func @twopass(%q: tensor<?x4x?x64xbf16>, %k: tensor<?x4x?x64xbf16>,
                   %v: tensor<?x4x?x64xbf16>, %g: tensor<?x4x?xf32>) -> tensor<?x4x?x64xbf16> {
  %o = flash.linear_attention %q, %k, %v gate decay gates(%g : tensor<?x4x?xf32>) dims ["B", "T"]
      {flash.schedule = #flash.schedule<algorithm = chunk_two_pass, tile_q = 0, tile_kv = 0, tile_d = 0, stages = 2, warps = 4, chunk = 64, inner_q = 64, inner_kv = 64, tile_dv = 32, smem_bytes = 0>}
      : tensor<?x4x?x64xbf16>, tensor<?x4x?x64xbf16>, tensor<?x4x?x64xbf16> -> tensor<?x4x?x64xbf16>
  return %o : tensor<?x4x?x64xbf16>
}

// -----

// A candidate the kernels cannot run is dropped with a warning; the chosen
// schedule and the two-pass candidate still lower, as variants 0 and 1.

// CHECK-LABEL: func.func @candidates
// CHECK: flash.kernels = [@candidates_v0, @candidates_v1_states, @candidates_v1_outputs]
func.func @candidates(%q: tensor<?x1x?x64xbf16>, %k: tensor<?x1x?x64xbf16>,
                      %v: tensor<?x1x?x64xbf16>) -> tensor<?x1x?x64xbf16> {
  // expected-warning @+1 {{dropping candidate schedule #flash.schedule<algorithm = chunk_fused, tile_q = 0, tile_kv = 0, tile_d = 0, stages = 2, warps = 4, chunk = 64, inner_q = 48, inner_kv = 64, tile_dv = 64, smem_bytes = 0>: inner_q = 48 must split into 16-row tiles over 4 warps and divide chunk = 64}}
  %o = flash.linear_attention %q, %k, %v dims ["B", "T"]
      {flash.schedule = #flash.schedule<algorithm = chunk_fused, tile_q = 0, tile_kv = 0, tile_d = 0, stages = 2, warps = 4, chunk = 64, inner_q = 64, inner_kv = 64, tile_dv = 64, smem_bytes = 0>,
       flash.candidates = [#flash.schedule<algorithm = chunk_fused, tile_q = 0, tile_kv = 0, tile_d = 0, stages = 2, warps = 4, chunk = 64, inner_q = 48, inner_kv = 64, tile_dv = 64, smem_bytes = 0>,
                           #flash.schedule<algorithm = chunk_two_pass, tile_q = 0, tile_kv = 0, tile_d = 0, stages = 1, warps = 4, chunk = 128, inner_q = 64, inner_kv = 64, tile_dv = 32, smem_bytes = 0>]}
      : tensor<?x1x?x64xbf16>, tensor<?x1x?x64xbf16>, tensor<?x1x?x64xbf16> -> tensor<?x1x?x64xbf16>
  return %o : tensor<?x1x?x64xbf16>
}

// -----

// flash.delta_rule (gated, l2norm_qk, states): a delta_prepare kernel writes
// every chunk's WY factors (one chunk per CTA: k and the whole v rows, the
// chunk's gates, then chunk_wy), and delta_fused runs linear_fused's chunk
// loop staging W, U (in v's place) and the row norms; once chunk c has
// landed, U is corrected before the outputs and the state update read it.

// CHECK-LABEL: func.func @gated_delta
// CHECK: flash.delta_rule {{.*}}flash.kernels = [@gated_delta_v0_prepare, @gated_delta_v0]
// CHECK-LABEL: flash.kernel @gated_delta_v0_prepare family delta_prepare
// CHECK-SAME: problem {beta_type = bf16
// CHECK: %[[PIDS:.*]]:3 = flash.grid_map ["chunk", "head", "batch"] extents ["max(cdiv(T,64),1)", "1", "B"]
// CHECK: flash.chunk_load k[%[[PIDS]]#2, %[[PIDS]]#1, %[[PIDS]]#0, %{{.*}}] rows 64 cols 64
// CHECK: flash.chunk_load v[%[[PIDS]]#2, %[[PIDS]]#1, %[[PIDS]]#0, %{{.*}}] rows 64 cols 32
// CHECK: flash.gate_fetch
// CHECK: flash.chunk_gates
// CHECK: flash.tile_wait 0
// CHECK-NEXT: flash.chunk_l2norm[%[[PIDS]]#2, %[[PIDS]]#1, %[[PIDS]]#0] extent %{{.*}} stage
// CHECK-NEXT: flash.chunk_wy[%[[PIDS]]#2, %[[PIDS]]#1, %[[PIDS]]#0] extent %{{.*}} buffer %{{.*}} gate decay
// CHECK-LABEL: flash.kernel @gated_delta_v0 family delta_fused
// CHECK-SAME: gate = "decay"
// CHECK-SAME: l2norm_qk = true
// CHECK: %[[IDS:.*]]:3 = flash.grid_map ["value_tile", "head", "batch"]
// CHECK: flash.state_init initial
// CHECK: flash.chunk_load delta_w[{{.*}}] rows 64 cols 64
// CHECK-NEXT: flash.chunk_load delta_u[{{.*}}, %[[IDS]]#0] rows 64 cols 32
// CHECK-NEXT: flash.chunk_load delta_norm[{{.*}}] rows 64 cols 2
// CHECK-NOT: flash.chunk_load v[
// CHECK: scf.for %[[C:.*]] = %{{.*}} to
// CHECK-NEXT: flash.tile_wait 0
// CHECK-NOT: flash.chunk_l2norm
// CHECK: flash.chunk_delta stage %[[STAGE:[^ ]*]]
// CHECK: flash.chunk_inter
// CHECK: flash.chunk_accumulate
// CHECK: flash.state_update stage %[[STAGE]]
// CHECK: flash.state_store final
func.func @gated_delta(%q: tensor<?x1x?x64xbf16>, %k: tensor<?x1x?x64xbf16>,
                       %v: tensor<?x1x?x32xbf16>, %beta: tensor<?x1x?xbf16>,
                       %g: tensor<?x1x?xf32>, %s0: tensor<?x1x64x32xf32>)
    -> (tensor<?x1x?x32xbf16>, tensor<?x1x64x32xf32>) {
  %o, %s = flash.delta_rule %q, %k, %v, %beta decay(%g : tensor<?x1x?xf32>)
      initial(%s0 : tensor<?x1x64x32xf32>) l2norm_qk return_final_state dims ["B", "T"]
      {flash.schedule = #flash.schedule<algorithm = chunk_fused, tile_q = 0, tile_kv = 0, tile_d = 0, stages = 2, warps = 4, chunk = 64, inner_q = 64, inner_kv = 64, tile_dv = 32, smem_bytes = 0>}
      : tensor<?x1x?x64xbf16>, tensor<?x1x?x64xbf16>, tensor<?x1x?x32xbf16>,
        tensor<?x1x?xbf16> -> tensor<?x1x?x32xbf16>, tensor<?x1x64x32xf32>
  return %o, %s : tensor<?x1x?x32xbf16>, tensor<?x1x64x32xf32>
}

// -----

// chunk_scored: a linear_scores kernel (one CTA per chunk: q, k and the
// chunk's gates, then every inner pair up to the diagonal scored, mapped and
// written as P), then linear_fused's loop staging each chunk's P beside q,
// k and v, with one staged product per query tile in place of the key-tile
// loop.

// CHECK-LABEL: func.func @scored
// CHECK: flash.kernels = [@scored_v0_scores, @scored_v0]
// CHECK-LABEL: flash.kernel @scored_v0_scores family linear_scores
// CHECK-SAME: phase = "scores"
// CHECK: flash.grid_map ["chunk", "head", "batch"] extents ["max(cdiv(T,64),1)", "4", "B"]
// CHECK: flash.chunk_load q[
// CHECK: flash.chunk_load k[
// CHECK-NOT: flash.chunk_load v[
// CHECK: flash.chunk_gates
// CHECK: scf.for %[[QT:.*]] =
// CHECK: scf.for %[[KT:.*]] =
// CHECK-NEXT: flash.chunk_scores[%[[QT]], %[[KT]]]
// CHECK: flash.decay_map[%[[QT]], %[[KT]]]
// CHECK: flash.chunk_scores_store[{{.*}}, %[[QT]], %[[KT]]] gate mlstm_sig
// CHECK-NOT: flash.state_update
// CHECK-LABEL: flash.kernel @scored_v0 family linear_fused
// CHECK: flash.chunk_load v[
// CHECK-NEXT: flash.chunk_load scores[{{.*}} rows 64 cols 64
// CHECK: scf.for
// CHECK: flash.chunk_inter
// CHECK-NEXT: flash.chunk_staged_accumulate[%{{.*}}] stage %{{.*}} gate mlstm_sig
// CHECK-NOT: flash.decay_map
// CHECK: flash.chunk_store o[
// CHECK: flash.state_update
func.func @scored(%q: tensor<?x4x?x64xbf16>, %k: tensor<?x4x?x64xbf16>,
                  %v: tensor<?x4x?x64xbf16>, %i: tensor<?x4x?xf32>, %f: tensor<?x4x?xf32>)
    -> tensor<?x4x?x64xbf16> {
  %o = flash.linear_attention %q, %k, %v gate mlstm_sig gates(%i, %f : tensor<?x4x?xf32>, tensor<?x4x?xf32>) dims ["B", "T"]
      {flash.schedule = #flash.schedule<algorithm = chunk_scored, tile_q = 0, tile_kv = 0, tile_d = 0, stages = 2, warps = 2, chunk = 64, inner_q = 32, inner_kv = 32, tile_dv = 32, smem_bytes = 0>}
      : tensor<?x4x?x64xbf16>, tensor<?x4x?x64xbf16>, tensor<?x4x?x64xbf16> -> tensor<?x4x?x64xbf16>
  return %o : tensor<?x4x?x64xbf16>
}

// -----

// mlstm_exp's P depends on the carried state's stabiliser: chunk_scored is
// refused with the checker's reason.

func.func @scored_exp(%q: tensor<?x1x?x64xbf16>, %k: tensor<?x1x?x64xbf16>,
                      %v: tensor<?x1x?x64xbf16>, %i: tensor<?x1x?xf32>, %f: tensor<?x1x?xf32>)
    -> tensor<?x1x?x64xbf16> {
  // expected-error @+1 {{cannot lower schedule #flash.schedule<algorithm = chunk_scored, tile_q = 0, tile_kv = 0, tile_d = 0, stages = 2, warps = 4, chunk = 64, inner_q = 64, inner_kv = 64, tile_dv = 64, smem_bytes = 0>: no chunk_scored schedule: mlstm_exp's intra-chunk weights are stabilised by the carried state's maximum, which only the recurrence knows}}
  %o = flash.linear_attention %q, %k, %v gate mlstm_exp gates(%i, %f : tensor<?x1x?xf32>, tensor<?x1x?xf32>) dims ["B", "T"]
      {flash.schedule = #flash.schedule<algorithm = chunk_scored, tile_q = 0, tile_kv = 0, tile_d = 0, stages = 2, warps = 4, chunk = 64, inner_q = 64, inner_kv = 64, tile_dv = 64, smem_bytes = 0>}
      : tensor<?x1x?x64xbf16>, tensor<?x1x?x64xbf16>, tensor<?x1x?x64xbf16> -> tensor<?x1x?x64xbf16>
  return %o : tensor<?x1x?x64xbf16>
}

// -----

// The delta rule has no two-pass form: a chunk_two_pass schedule is refused
// with the checker's reason.

func.func @delta_two_pass(%q: tensor<?x1x?x64xbf16>, %k: tensor<?x1x?x64xbf16>,
                          %v: tensor<?x1x?x64xbf16>, %beta: tensor<?x1x?xf32>)
    -> tensor<?x1x?x64xbf16> {
  // expected-error @+1 {{cannot lower schedule #flash.schedule<algorithm = chunk_two_pass, tile_q = 0, tile_kv = 0, tile_d = 0, stages = 2, warps = 4, chunk = 64, inner_q = 64, inner_kv = 64, tile_dv = 64, smem_bytes = 0>: the delta rule has the fused chunk kernel only (chunk_fused): its chunk states depend on the corrected values of every chunk before}}
  %o = flash.delta_rule %q, %k, %v, %beta dims ["B", "T"]
      {flash.schedule = #flash.schedule<algorithm = chunk_two_pass, tile_q = 0, tile_kv = 0, tile_d = 0, stages = 2, warps = 4, chunk = 64, inner_q = 64, inner_kv = 64, tile_dv = 64, smem_bytes = 0>}
      : tensor<?x1x?x64xbf16>, tensor<?x1x?x64xbf16>, tensor<?x1x?x64xbf16>,
        tensor<?x1x?xf32> -> tensor<?x1x?x64xbf16>
  return %o : tensor<?x1x?x64xbf16>
}

// -----

// The gradient (chunk_grad): the forward's state pass into chunk_c, the
// state gradients last chunk first (q and dO in the update's stages, the
// gradient after chunk c stored at boundary c + 1 before the chunk's
// update, the initial state's at the end), then one CTA per chunk running
// flash.chunk_grad with the decay region.

// CHECK-LABEL: func.func @grad
// CHECK: flash.linear_attention_grad {{.*}}flash.kernels = [@grad_v0_states, @grad_v0_grad_states, @grad_v0_grad_chunk]
// CHECK-LABEL: flash.kernel @grad_v0_states family linear_states schedule <algorithm = chunk_grad
// CHECK: flash.state_init initial
// CHECK: flash.state_store scratch
// CHECK-NOT: flash.state_store final
// CHECK-LABEL: flash.kernel @grad_v0_grad_states family linear_grad_states
// CHECK-SAME: final_grad = true
// CHECK: %[[T:.*]] = flash.dim "T"
// CHECK: %[[NC:.*]] = arith.ceildivsi %[[T]]
// CHECK: %[[ATLEAST:.*]] = arith.maxsi %[[NC]]
// CHECK: %[[LAST:.*]] = arith.subi %[[ATLEAST]]
// CHECK: flash.state_init final_grad
// CHECK: flash.chunk_load q[{{.*}}, %[[LAST]], %{{.*}}] rows 32 cols 64
// CHECK: flash.chunk_load dout[{{.*}}, %[[LAST]], %{{.*}}] rows 32 cols 32
// CHECK: scf.for %[[I:.*]] = %{{.*}} to %[[NC]]
// CHECK: %[[C:.*]] = arith.subi %[[LAST]], %[[I]]
// CHECK: %[[B:.*]] = arith.addi %[[C]]
// CHECK: flash.state_store scratch[{{.*}}] chunk %[[B]] gate decay
// CHECK-NEXT: flash.state_update stage %{{.*}} buffer %{{.*}} gate decay gradient
// CHECK: flash.state_store initial_grad
// CHECK-LABEL: flash.kernel @grad_v0_grad_chunk family linear_grad_chunk
// CHECK: flash.grid_map ["chunk", "head", "batch"] extents ["max(cdiv(T,32),1)", "2", "B"]
// CHECK: flash.chunk_load q[{{.*}}] rows 32 cols 64
// CHECK: flash.chunk_load k[{{.*}}] rows 32 cols 64
// CHECK: flash.chunk_load v[{{.*}}] rows 32 cols 64
// CHECK: flash.chunk_load dout[{{.*}}] rows 32 cols 64
// CHECK-NEXT: flash.chunk_grad_stage[{{.*}}] gate decay
// CHECK-NEXT: flash.tile_commit
// CHECK: flash.chunk_gates
// CHECK: flash.chunk_grad[{{.*}}] extent %{{.*}} buffer %{{.*}} gate decay {
// CHECK: arith.cmpi sle
// CHECK: flash.decay_yield
func.func @grad(%q: tensor<?x2x?x64xbf16>, %k: tensor<?x2x?x64xbf16>,
                %v: tensor<?x2x?x64xbf16>, %g: tensor<?x2x?xf32>,
                %do: tensor<?x2x?x64xbf16>, %c0: tensor<?x2x64x64xf32>,
                %dcf: tensor<?x2x64x64xf32>)
    -> (tensor<?x2x?x64xbf16>, tensor<?x2x?x64xbf16>, tensor<?x2x?x64xbf16>,
        tensor<?x2x?xf32>, tensor<?x2x64x64xf32>) {
  %dq, %dk, %dv, %dg, %dc0 = flash.linear_attention_grad %q, %k, %v, %do gate decay
      gates(%g : tensor<?x2x?xf32>) initial(%c0 : tensor<?x2x64x64xf32>)
      final_grad(%dcf : tensor<?x2x64x64xf32>) dims ["B", "T"]
      {flash.schedule = #flash.schedule<algorithm = chunk_grad, tile_q = 0, tile_kv = 0, tile_d = 0, stages = 2, warps = 2, chunk = 32, inner_q = 32, inner_kv = 32, tile_dv = 32, smem_bytes = 0>}
      : tensor<?x2x?x64xbf16>, tensor<?x2x?x64xbf16>, tensor<?x2x?x64xbf16>,
        tensor<?x2x?x64xbf16>
      -> tensor<?x2x?x64xbf16>, tensor<?x2x?x64xbf16>, tensor<?x2x?x64xbf16>
         gates(tensor<?x2x?xf32>) initial(tensor<?x2x64x64xf32>)
  return %dq, %dk, %dv, %dg, %dc0 : tensor<?x2x?x64xbf16>, tensor<?x2x?x64xbf16>,
      tensor<?x2x?x64xbf16>, tensor<?x2x?xf32>, tensor<?x2x64x64xf32>
}

// -----

// The gradient's chunk kernel in persistent rounds (persistent = 1): no
// grid_map; flash.chunk_rounds gives this round's and the next round's
// (chunk, head, batch). The first round stages its own rows and states;
// every round stages the next round's rows into the other row stage
// before waiting for all but that group, runs flash.chunk_grad on its
// stage, and after a barrier stages the next round's states and scans its
// gates into the one gate buffer.

// CHECK-LABEL: flash.kernel @grad_rounds_v0_grad_chunk family linear_grad_chunk
// CHECK-SAME: persistent = 1
// CHECK-NOT: flash.grid_map
// CHECK: flash.chunk_rounds ["chunk", "head", "batch"] extents ["max(cdiv(T,32),1)", "2", "B"] {
// CHECK-NEXT: ^bb0(%[[C:[^:]*]]: index, %[[H:[^:]*]]: index, %[[B:[^:]*]]: index, %[[R:[^:]*]]: index, %[[NC:[^:]*]]: index, %[[NH:[^:]*]]: index, %[[NB:[^:]*]]: index, %[[MORE:[^:]*]]: i1):
// CHECK: %[[FIRST:.*]] = arith.cmpi eq, %[[R]]
// CHECK: scf.if %[[FIRST]] {
// CHECK: flash.chunk_load q[%[[B]], %[[H]], %[[C]], {{.*}}] rows 32 cols 64
// CHECK: flash.chunk_grad_stage[%[[B]], %[[H]], %[[C]]] gate decay
// CHECK-NEXT: flash.tile_commit
// CHECK-NEXT: flash.gate_fetch[%[[B]], %[[H]], %[[C]]]
// CHECK: scf.if %[[MORE]] {
// CHECK: %[[NEXT:.*]] = arith.remsi
// CHECK: flash.chunk_load q[%[[NB]], %[[NH]], %[[NC]], {{.*}}] rows 32 cols 64 extent %{{.*}} stage %[[NEXT]]
// CHECK: flash.chunk_load dout[%[[NB]], %[[NH]], %[[NC]], {{.*}}] rows 32 cols 64 extent %{{.*}} stage %[[NEXT]]
// CHECK: flash.tile_commit
// CHECK-NEXT: flash.tile_wait 1
// CHECK-NEXT: %[[STAGE:.*]] = arith.remsi %[[R]]
// CHECK-NEXT: flash.chunk_grad[%[[B]], %[[H]], %[[C]]] extent %{{.*}} stage %[[STAGE]] buffer
// CHECK: flash.barrier
// CHECK-NEXT: scf.if %[[MORE]] {
// CHECK-NEXT: flash.chunk_grad_stage[%[[NB]], %[[NH]], %[[NC]]] gate decay
// CHECK: flash.tile_commit
// CHECK-NEXT: scf.if %[[MORE]] {
// CHECK-NEXT: flash.gate_fetch[%[[NB]], %[[NH]], %[[NC]]]
func.func @grad_rounds(%q: tensor<?x2x?x64xbf16>, %k: tensor<?x2x?x64xbf16>,
                %v: tensor<?x2x?x64xbf16>, %g: tensor<?x2x?xf32>,
                %do: tensor<?x2x?x64xbf16>, %c0: tensor<?x2x64x64xf32>,
                %dcf: tensor<?x2x64x64xf32>)
    -> (tensor<?x2x?x64xbf16>, tensor<?x2x?x64xbf16>, tensor<?x2x?x64xbf16>,
        tensor<?x2x?xf32>, tensor<?x2x64x64xf32>) {
  %dq, %dk, %dv, %dg, %dc0 = flash.linear_attention_grad %q, %k, %v, %do gate decay
      gates(%g : tensor<?x2x?xf32>) initial(%c0 : tensor<?x2x64x64xf32>)
      final_grad(%dcf : tensor<?x2x64x64xf32>) dims ["B", "T"]
      {flash.schedule = #flash.schedule<algorithm = chunk_grad, tile_q = 0, tile_kv = 0, tile_d = 0, stages = 2, warps = 2, chunk = 32, inner_q = 32, inner_kv = 32, tile_dv = 32, smem_bytes = 0, persistent = 1>}
      : tensor<?x2x?x64xbf16>, tensor<?x2x?x64xbf16>, tensor<?x2x?x64xbf16>,
        tensor<?x2x?x64xbf16>
      -> tensor<?x2x?x64xbf16>, tensor<?x2x?x64xbf16>, tensor<?x2x?x64xbf16>
         gates(tensor<?x2x?xf32>) initial(tensor<?x2x64x64xf32>)
  return %dq, %dk, %dv, %dg, %dc0 : tensor<?x2x?x64xbf16>, tensor<?x2x?x64xbf16>,
      tensor<?x2x?x64xbf16>, tensor<?x2x?xf32>, tensor<?x2x64x64xf32>
}

// -----

// Vector gates (GLA): the gradient's state pass loads the f32 g tile beside
// q and dO and scans it (gating q in k's stage) at the top of each chunk,
// before the next chunk's tiles are requested; the chunk kernel scans it
// after its loads land, before flash.chunk_grad.

// CHECK-LABEL: flash.kernel @grad_vector_v0_grad_states family linear_grad_states
// CHECK-SAME: gate = "vector"
// CHECK: flash.chunk_load q[
// CHECK-NEXT: flash.chunk_load dout[
// CHECK-NEXT: flash.chunk_load g[{{.*}}] rows 32 cols 64
// CHECK: scf.for
// CHECK-NEXT: flash.tile_wait 0
// CHECK: flash.chunk_gates
// CHECK: flash.barrier
// CHECK: scf.if
// CHECK-NEXT: flash.chunk_load q[
// CHECK: flash.state_update {{.*}} gradient
// CHECK-LABEL: flash.kernel @grad_vector_v0_grad_chunk family linear_grad_chunk
// CHECK: flash.chunk_load g[{{.*}}] rows 32 cols 64
// CHECK-NEXT: flash.chunk_grad_stage[{{.*}}] gate vector
// CHECK-NEXT: flash.tile_commit
// CHECK-NEXT: flash.tile_wait 0
// CHECK-NEXT: flash.chunk_gates
// CHECK: flash.barrier
// CHECK-NEXT: flash.chunk_grad
func.func @grad_vector(%q: tensor<?x1x?x64xbf16>, %k: tensor<?x1x?x64xbf16>,
                       %v: tensor<?x1x?x64xbf16>, %g: tensor<?x1x?x64xf32>,
                       %do: tensor<?x1x?x64xbf16>) {
  %dq, %dk, %dv, %dg = flash.linear_attention_grad %q, %k, %v, %do gate vector
      gates(%g : tensor<?x1x?x64xf32>) dims ["B", "T"]
      {flash.schedule = #flash.schedule<algorithm = chunk_grad, tile_q = 0, tile_kv = 0, tile_d = 0, stages = 2, warps = 2, chunk = 32, inner_q = 32, inner_kv = 32, tile_dv = 32, smem_bytes = 0>}
      : tensor<?x1x?x64xbf16>, tensor<?x1x?x64xbf16>, tensor<?x1x?x64xbf16>,
        tensor<?x1x?x64xbf16>
      -> tensor<?x1x?x64xbf16>, tensor<?x1x?x64xbf16>, tensor<?x1x?x64xbf16>
         gates(tensor<?x1x?x64xf32>)
  return
}

// -----

// mlstm_sig (docs/semantics.md §4.6): the backward takes the forward's o
// and row normalisers (saved(...)); a rows kernel, grid (chunk, head,
// batch), before the state gradients, is one flash.normalizer_grad_rows
// (no tiles, no states): it writes dO / den (grad_do) and each row's
// normaliser gradient (grad_dqn, one column), which the state gradients
// and the chunk kernel read instead of dout.

// CHECK-LABEL: flash.kernel @grad_sig_v0_states family linear_states
// CHECK-LABEL: flash.kernel @grad_sig_v0_grad_rows family linear_grad_rows
// CHECK-NEXT: %[[G:.*]]:3 = flash.grid_map ["chunk", "head", "batch"] extents ["max(cdiv(T,32),1)", "1", "B"]
// CHECK-NEXT: %[[T:.*]] = flash.dim "T"
// CHECK-NEXT: flash.normalizer_grad_rows[%[[G]]#2, %[[G]]#1, %[[G]]#0] extent %[[T]] gate mlstm_sig
// CHECK-NEXT: }
// CHECK-LABEL: flash.kernel @grad_sig_v0_grad_states family linear_grad_states
// CHECK: flash.chunk_load q[
// CHECK-NEXT: flash.chunk_load grad_do[{{.*}}] rows 32 cols 32
// CHECK-NEXT: flash.chunk_load grad_dqn[{{.*}}] rows 32 cols 1
// CHECK: flash.state_update {{.*}} gradient
// CHECK-LABEL: flash.kernel @grad_sig_v0_grad_chunk family linear_grad_chunk
// CHECK: flash.chunk_load grad_do[{{.*}}] rows 32 cols 64
// CHECK-NEXT: flash.chunk_load grad_dqn[{{.*}}] rows 32 cols 1
// CHECK-NEXT: flash.chunk_grad_stage[{{.*}}] gate mlstm_sig
// CHECK-NEXT: flash.tile_commit
// CHECK: flash.chunk_grad[{{.*}}] extent %{{.*}} buffer %{{.*}} gate mlstm_sig {
func.func @grad_sig(%q: tensor<?x1x?x64xbf16>, %k: tensor<?x1x?x64xbf16>,
                    %v: tensor<?x1x?x64xbf16>, %i: tensor<?x1x?xf32>,
                    %f: tensor<?x1x?xf32>, %do: tensor<?x1x?x64xbf16>,
                    %o: tensor<?x1x?x64xbf16>, %norm: tensor<?x1x?x2xf32>) {
  %dq, %dk, %dv, %di, %df = flash.linear_attention_grad %q, %k, %v, %do gate mlstm_sig
      saved(%o, %norm : tensor<?x1x?x64xbf16>, tensor<?x1x?x2xf32>)
      gates(%i, %f : tensor<?x1x?xf32>, tensor<?x1x?xf32>) dims ["B", "T"]
      {flash.schedule = #flash.schedule<algorithm = chunk_grad, tile_q = 0, tile_kv = 0, tile_d = 0, stages = 2, warps = 2, chunk = 32, inner_q = 32, inner_kv = 32, tile_dv = 32, smem_bytes = 0>}
      : tensor<?x1x?x64xbf16>, tensor<?x1x?x64xbf16>, tensor<?x1x?x64xbf16>,
        tensor<?x1x?x64xbf16>
      -> tensor<?x1x?x64xbf16>, tensor<?x1x?x64xbf16>, tensor<?x1x?x64xbf16>
         gates(tensor<?x1x?xf32>, tensor<?x1x?xf32>)
  return
}

// -----

// mlstm_exp's gradient (docs/semantics.md §4.7): the rows kernel reads no
// state either; the state-gradient pass reads the final boundary for the
// final stabiliser's gradient (chunk %NC), two columns of grad_dqn a row
// (the normaliser's gradient and the stabiliser's), and stores boundary 0
// as well (what reaches m0).

// CHECK-LABEL: flash.kernel @grad_exp_v0_grad_rows family linear_grad_rows
// CHECK-NEXT: flash.grid_map ["chunk", "head", "batch"]
// CHECK-NEXT: flash.dim "T"
// CHECK-NEXT: flash.normalizer_grad_rows[{{.*}}] extent %{{.*}} gate mlstm_exp
// CHECK-NEXT: }
// CHECK-LABEL: flash.kernel @grad_exp_v0_grad_states family linear_grad_states
// CHECK: %[[NC:.*]] = arith.ceildivsi
// CHECK: flash.state_init final_grad[{{.*}}] chunk %[[NC]] gate mlstm_exp
// CHECK: flash.chunk_load grad_dqn[{{.*}}] rows 32 cols 2
// CHECK: flash.state_store scratch[{{.*}}] chunk %c0 gate mlstm_exp
// CHECK-NEXT: flash.state_store initial_grad[{{.*}}] chunk %c0 gate mlstm_exp
// CHECK-LABEL: flash.kernel @grad_exp_v0_grad_chunk family linear_grad_chunk
// CHECK: flash.chunk_load grad_dqn[{{.*}}] rows 32 cols 2
func.func @grad_exp(%q: tensor<?x1x?x64xbf16>, %k: tensor<?x1x?x64xbf16>,
                    %v: tensor<?x1x?x64xbf16>, %i: tensor<?x1x?xf32>,
                    %f: tensor<?x1x?xf32>, %do: tensor<?x1x?x64xbf16>,
                    %o: tensor<?x1x?x64xbf16>, %norm: tensor<?x1x?x2xf32>,
                    %c0: tensor<?x1x64x64xf32>, %n0: tensor<?x1x64xf32>, %m0: tensor<?x1xf32>,
                    %dcf: tensor<?x1x64x64xf32>, %dnf: tensor<?x1x64xf32>, %dmf: tensor<?x1xf32>) {
  %dq, %dk, %dv, %di, %df, %dc0, %dn0, %dm0 = flash.linear_attention_grad %q, %k, %v, %do gate mlstm_exp
      saved(%o, %norm : tensor<?x1x?x64xbf16>, tensor<?x1x?x2xf32>)
      gates(%i, %f : tensor<?x1x?xf32>, tensor<?x1x?xf32>)
      initial(%c0, %n0, %m0 : tensor<?x1x64x64xf32>, tensor<?x1x64xf32>, tensor<?x1xf32>)
      final_grad(%dcf, %dnf, %dmf : tensor<?x1x64x64xf32>, tensor<?x1x64xf32>, tensor<?x1xf32>) dims ["B", "T"]
      {flash.schedule = #flash.schedule<algorithm = chunk_grad, tile_q = 0, tile_kv = 0, tile_d = 0, stages = 2, warps = 2, chunk = 32, inner_q = 32, inner_kv = 32, tile_dv = 32, smem_bytes = 0>}
      : tensor<?x1x?x64xbf16>, tensor<?x1x?x64xbf16>, tensor<?x1x?x64xbf16>,
        tensor<?x1x?x64xbf16>
      -> tensor<?x1x?x64xbf16>, tensor<?x1x?x64xbf16>, tensor<?x1x?x64xbf16>
         gates(tensor<?x1x?xf32>, tensor<?x1x?xf32>)
         initial(tensor<?x1x64x64xf32>, tensor<?x1x64xf32>, tensor<?x1xf32>)
  return
}

// -----

// A chunk the chunk kernel cannot split into 16-row warps is refused with
// the reason.

func.func @grad_odd_chunk(%q: tensor<?x1x?x64xbf16>, %k: tensor<?x1x?x64xbf16>,
                          %v: tensor<?x1x?x64xbf16>, %do: tensor<?x1x?x64xbf16>) {
  // expected-error @+1 {{chunk = 48 must be a power of two of at least 16 (16 rows per warp)}}
  %dq, %dk, %dv = flash.linear_attention_grad %q, %k, %v, %do dims ["B", "T"]
      {flash.schedule = #flash.schedule<algorithm = chunk_grad, tile_q = 0, tile_kv = 0, tile_d = 0, stages = 2, warps = 1, chunk = 48, inner_q = 48, inner_kv = 48, tile_dv = 32, smem_bytes = 0>}
      : tensor<?x1x?x64xbf16>, tensor<?x1x?x64xbf16>, tensor<?x1x?x64xbf16>,
        tensor<?x1x?x64xbf16>
      -> tensor<?x1x?x64xbf16>, tensor<?x1x?x64xbf16>, tensor<?x1x?x64xbf16>
  return
}
