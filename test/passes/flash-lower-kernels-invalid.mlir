// RUN: flashgen-opt %s -split-input-file -flash-lower-kernels -verify-diagnostics
// RUN: not flashgen-opt %s -flash-lower-kernels="target=sm_70" 2>&1 | FileCheck %s --check-prefix=TARGET

// TARGET: flash-lower-kernels: unknown target 'sm_70

// Without a schedule there is nothing to lower: the pass says what to run.
func.func @unscheduled(%q: tensor<1x1x16x64xbf16>) -> tensor<1x1x16x64xbf16> {
  // expected-error@+1 {{has no flash.schedule: run flash-schedule first}}
  %o = flash.attention %q, %q, %q : tensor<1x1x16x64xbf16>, tensor<1x1x16x64xbf16>, tensor<1x1x16x64xbf16> -> tensor<1x1x16x64xbf16>
  return %o : tensor<1x1x16x64xbf16>
}

// -----

// A recurrence needs a schedule as well: flash-lower-kernels picks none.
func.func @unscheduled_recurrence(%q: tensor<?x1x?x64xbf16>) -> tensor<?x1x?x64xbf16> {
  // expected-error@+1 {{has no flash.schedule: run flash-schedule first}}
  %o = flash.linear_attention %q, %q, %q dims ["B", "T"]
      : tensor<?x1x?x64xbf16>, tensor<?x1x?x64xbf16>, tensor<?x1x?x64xbf16> -> tensor<?x1x?x64xbf16>
  return %o : tensor<?x1x?x64xbf16>
}

// -----

// An attention family has no chunkwise lowering.
func.func @attention_schedule_on_recurrence(%q: tensor<?x1x?x64xbf16>) -> tensor<?x1x?x64xbf16> {
  // expected-error@+1 {{algorithm 'flash2' is not a recurrence schedule (chunk_fused, chunk_scored, chunk_two_pass)}}
  %o = flash.linear_attention %q, %q, %q dims ["B", "T"]
      {flash.schedule = #flash.schedule<algorithm = flash2, tile_q = 64, tile_kv = 64, tile_d = 64, stages = 2, warps = 4, chunk = 0, inner_q = 0, inner_kv = 0, tile_dv = 64, smem_bytes = 0>}
      : tensor<?x1x?x64xbf16>, tensor<?x1x?x64xbf16>, tensor<?x1x?x64xbf16> -> tensor<?x1x?x64xbf16>
  return %o : tensor<?x1x?x64xbf16>
}

// -----

// The chunkwise kernels read f32 gates.
func.func @bf16_gates(%q: tensor<?x1x?x64xbf16>, %g: tensor<?x1x?xbf16>) -> tensor<?x1x?x64xbf16> {
  // expected-error@+1 {{gate operands have 2-byte elements; the chunkwise kernels read f32 gates}}
  %o = flash.linear_attention %q, %q, %q gate decay gates(%g : tensor<?x1x?xbf16>) dims ["B", "T"]
      {flash.schedule = #flash.schedule<algorithm = chunk_fused, tile_q = 0, tile_kv = 0, tile_d = 0, stages = 2, warps = 4, chunk = 64, inner_q = 64, inner_kv = 64, tile_dv = 64, smem_bytes = 0>}
      : tensor<?x1x?x64xbf16>, tensor<?x1x?x64xbf16>, tensor<?x1x?x64xbf16> -> tensor<?x1x?x64xbf16>
  return %o : tensor<?x1x?x64xbf16>
}

// -----

func.func @bad_tile_dv(%q: tensor<?x1x?x64xbf16>, %k: tensor<?x1x?x64xbf16>,
                       %v: tensor<?x1x?x96xbf16>) -> tensor<?x1x?x96xbf16> {
  // The chosen schedule must lower: its first broken rule is the error.
  // expected-error @+1 {{cannot lower schedule #flash.schedule<algorithm = chunk_fused, tile_q = 0, tile_kv = 0, tile_d = 0, stages = 2, warps = 4, chunk = 64, inner_q = 64, inner_kv = 64, tile_dv = 64, smem_bytes = 0>: tile_dv = 64 must be a power of two >= 16 that divides Dv = 96}}
  %o = flash.linear_attention %q, %k, %v dims ["B", "T"]
      {flash.schedule = #flash.schedule<algorithm = chunk_fused, tile_q = 0, tile_kv = 0, tile_d = 0, stages = 2, warps = 4, chunk = 64, inner_q = 64, inner_kv = 64, tile_dv = 64, smem_bytes = 0>}
      : tensor<?x1x?x64xbf16>, tensor<?x1x?x64xbf16>, tensor<?x1x?x96xbf16> -> tensor<?x1x?x96xbf16>
  return %o : tensor<?x1x?x96xbf16>
}

// -----

func.func @too_much_smem(%q: tensor<?x1x?x256xbf16>, %k: tensor<?x1x?x256xbf16>,
                         %v: tensor<?x1x?x256xbf16>) -> tensor<?x1x?x256xbf16> {
  // expected-error @+1 {{needs 327680 bytes of shared memory, sm_90 allows 232448}}
  %o = flash.linear_attention %q, %k, %v dims ["B", "T"]
      {flash.schedule = #flash.schedule<algorithm = chunk_fused, tile_q = 0, tile_kv = 0, tile_d = 0, stages = 2, warps = 4, chunk = 128, inner_q = 64, inner_kv = 64, tile_dv = 64, smem_bytes = 0>}
      : tensor<?x1x?x256xbf16>, tensor<?x1x?x256xbf16>, tensor<?x1x?x256xbf16> -> tensor<?x1x?x256xbf16>
  return %o : tensor<?x1x?x256xbf16>
}

// -----

func.func @f32_inputs(%q: tensor<?x1x?x64xf32>, %k: tensor<?x1x?x64xf32>,
                      %v: tensor<?x1x?x64xf32>) -> tensor<?x1x?x64xf32> {
  // expected-error @+1 {{inputs of 4-byte elements have no tensor-core path (the chunkwise kernels take bf16 or f16)}}
  %o = flash.linear_attention %q, %k, %v dims ["B", "T"]
      {flash.schedule = #flash.schedule<algorithm = chunk_fused, tile_q = 0, tile_kv = 0, tile_d = 0, stages = 2, warps = 4, chunk = 64, inner_q = 64, inner_kv = 64, tile_dv = 64, smem_bytes = 0>}
      : tensor<?x1x?x64xf32>, tensor<?x1x?x64xf32>, tensor<?x1x?x64xf32> -> tensor<?x1x?x64xf32>
  return %o : tensor<?x1x?x64xf32>
}

// -----

#atomic = #flash.schedule<algorithm = flash2_grad, tile_q = 64, tile_kv = 64, tile_d = 64, stages = 2, warps = 4, chunk = 0, inner_q = 0, inner_kv = 0, tile_dv = 64, smem_bytes = 0>

// A deterministic op never gets atomic dQ kernels.
func.func @det_backward(%q: tensor<?x2x?x64xbf16>, %k: tensor<?x2x?x64xbf16>, %v: tensor<?x2x?x64xbf16>,
                        %o: tensor<?x2x?x64xbf16>, %do: tensor<?x2x?x64xbf16>, %lse: tensor<?x2x?xf32>)
    -> (tensor<?x2x?x64xbf16>, tensor<?x2x?x64xbf16>, tensor<?x2x?x64xbf16>) {
  // expected-error@+1 {{is deterministic but schedule}}
  %dq, %dk, %dv = flash.attention_grad %q, %k, %v, %o, %do, %lse dims ["B", "N", "N"] deterministic
      {flash.schedule = #atomic}
      : tensor<?x2x?x64xbf16>, tensor<?x2x?x64xbf16>, tensor<?x2x?x64xbf16>, tensor<?x2x?x64xbf16>, tensor<?x2x?x64xbf16>, tensor<?x2x?xf32>
      -> tensor<?x2x?x64xbf16>, tensor<?x2x?x64xbf16>, tensor<?x2x?x64xbf16>
  return %dq, %dk, %dv : tensor<?x2x?x64xbf16>, tensor<?x2x?x64xbf16>, tensor<?x2x?x64xbf16>
}

// -----

// A step schedule whose thread layout does not split Dk is refused at
// lowering, naming the rule.

func.func @step_bad(%q: tensor<?x2x?x6xbf16>, %k: tensor<?x2x?x6xbf16>,
                    %v: tensor<?x2x?x128xbf16>) -> tensor<?x2x?x128xbf16> {
  // expected-error @+1 {{cannot lower schedule #flash.schedule<algorithm = recurrent_step, tile_q = 0, tile_kv = 0, tile_d = 0, stages = 0, warps = 4, chunk = 0, inner_q = 0, inner_kv = 0, tile_dv = 128, smem_bytes = 0>: Dk = 6 does not split over the 4 rows 4 warps cover at a time (tile_dv = 128)}}
  %o = flash.linear_attention %q, %k, %v gate none dims ["B", "T"] {flash.schedule = #flash.schedule<algorithm = recurrent_step, tile_q = 0, tile_kv = 0, tile_d = 0, stages = 0, warps = 4, chunk = 0, inner_q = 0, inner_kv = 0, tile_dv = 128, smem_bytes = 0>}
      : tensor<?x2x?x6xbf16>, tensor<?x2x?x6xbf16>, tensor<?x2x?x128xbf16>
      -> tensor<?x2x?x128xbf16>
  return %o : tensor<?x2x?x128xbf16>
}
