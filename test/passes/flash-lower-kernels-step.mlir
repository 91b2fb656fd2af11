// RUN: flashgen-opt --flash-lower-kernels --split-input-file --verify-diagnostics %s | FileCheck %s
// RUN: flashgen-opt --flash-lower-kernels --flash-print-cuda --split-input-file %s -o /dev/null | FileCheck %s --check-prefix=CUDA

// flash-lower-kernels on recurrent_step schedules (LowerChunkwise.cpp's
// buildStep): decoding a recurrence token by token. The state slice is set
// once, each token is loaded, gated, applied and stored, and the state is
// written back after the last one.

// mlstm_exp with states: the gate region is the chunk form's (input gate
// as is, log-sigmoid forget gate); the final state is stored at boundary T.

// CHECK-LABEL: func.func @step_exp
// CHECK: flash.kernels = [@step_exp_v0]
// CHECK-LABEL: flash.kernel @step_exp_v0 family recurrent_step
// CHECK-SAME: algorithm = recurrent_step
// CHECK-SAME: tile_dv = 16
// CHECK: %[[IDS:.*]]:3 = flash.grid_map ["value_tile", "head", "batch"] extents ["2", "1", "B"]
// CHECK: %[[T:.*]] = flash.dim "T"
// CHECK: flash.state_init initial[%[[IDS]]#2, %[[IDS]]#1, %[[IDS]]#0] gate mlstm_exp
// CHECK: scf.for %[[TOK:.*]] = %{{.*}} to %[[T]]
// CHECK-NEXT: flash.step_load[%[[IDS]]#2, %[[IDS]]#1, %[[TOK]], %[[IDS]]#0] extent %[[T]] gate mlstm_exp
// CHECK-NEXT: flash.step_gates[%[[IDS]]#2, %[[IDS]]#1, %[[TOK]]] gate mlstm_exp {
// CHECK: math.log1p
// CHECK: flash.gate_yield
// CHECK: flash.step_update gate mlstm_exp
// CHECK-NEXT: flash.step_store o[%[[IDS]]#2, %[[IDS]]#1, %[[TOK]], %[[IDS]]#0] gate mlstm_exp
// CHECK: flash.state_store final[%[[IDS]]#2, %[[IDS]]#1, %[[IDS]]#0] chunk %[[T]] gate mlstm_exp

// Token t + 1's rows are fetched while token t is computed.
// CUDA: if (({{.*}}) + 1 < dim_T) {
// CUDA-NEXT: pf_q.fetch(
// The stabiliser moves before the weights are taken; the normaliser's
// floor is exp(-m).
// CUDA: const float m_next = fmaxf({{.*}} + m_prev, {{.*}});
// CUDA: fg::step::column_dots<Layout, 1>(st, xs, dots, s_scratch);
// CUDA: fmaxf(fabsf(s_scalars[4]), expf(-s_scalars[2])) + kEps;
func.func @step_exp(%q: tensor<?x1x?x64xbf16>, %k: tensor<?x1x?x64xbf16>,
                    %v: tensor<?x1x?x32xbf16>, %i: tensor<?x1x?xf32>,
                    %f: tensor<?x1x?xf32>, %c0: tensor<?x1x64x32xf32>,
                    %n0: tensor<?x1x64xf32>, %m0: tensor<?x1xf32>)
    -> (tensor<?x1x?x32xbf16>, tensor<?x1x64x32xf32>, tensor<?x1x64xf32>, tensor<?x1xf32>) {
  %o, %c, %n, %m = flash.linear_attention %q, %k, %v gate mlstm_exp
      gates(%i, %f : tensor<?x1x?xf32>, tensor<?x1x?xf32>)
      initial(%c0, %n0, %m0 : tensor<?x1x64x32xf32>, tensor<?x1x64xf32>, tensor<?x1xf32>)
      return_final_state dims ["B", "T"]
      {flash.schedule = #flash.schedule<algorithm = recurrent_step, tile_q = 0, tile_kv = 0, tile_d = 0, stages = 0, warps = 1, chunk = 0, inner_q = 0, inner_kv = 0, tile_dv = 16, smem_bytes = 0>}
      : tensor<?x1x?x64xbf16>, tensor<?x1x?x64xbf16>, tensor<?x1x?x32xbf16>
      -> tensor<?x1x?x32xbf16>, tensor<?x1x64x32xf32>, tensor<?x1x64xf32>, tensor<?x1xf32>
  return %o, %c, %n, %m : tensor<?x1x?x32xbf16>, tensor<?x1x64x32xf32>, tensor<?x1x64xf32>, tensor<?x1xf32>
}

// -----

// The delta rule without states: the state starts at zero, nothing is
// stored after the loop; the update reads the state at q and at k.

// CHECK-LABEL: flash.kernel @step_delta_v0 family recurrent_step
// CHECK-SAME: beta_type = f32
// CHECK: flash.state_init zero
// CHECK: flash.step_gates{{.*}} gate none {
// CHECK-NEXT: %[[Z:.*]] = arith.constant 0.0
// CHECK-NEXT: flash.gate_yield %[[Z]], %[[Z]]
// CHECK: flash.step_update gate none
// CHECK-NOT: flash.state_store
// CUDA: fg::step::column_dots<Layout, 2>(st, xs, dots, s_scratch);
// CUDA: step_w[c] = beta * (s_v[Layout::col0() + c] - decay * dots[1][c]);
func.func @step_delta(%q: tensor<?x2x?x64xbf16>, %k: tensor<?x2x?x64xbf16>,
                      %v: tensor<?x2x?x64xbf16>, %beta: tensor<?x2x?xf32>)
    -> tensor<?x2x?x64xbf16> {
  %o = flash.delta_rule %q, %k, %v, %beta dims ["B", "T"] {flash.schedule = #flash.schedule<algorithm = recurrent_step, tile_q = 0, tile_kv = 0, tile_d = 0, stages = 0, warps = 4, chunk = 0, inner_q = 0, inner_kv = 0, tile_dv = 32, smem_bytes = 0>}
      : tensor<?x2x?x64xbf16>, tensor<?x2x?x64xbf16>, tensor<?x2x?x64xbf16>,
        tensor<?x2x?xf32> -> tensor<?x2x?x64xbf16>
  return %o : tensor<?x2x?x64xbf16>
}
