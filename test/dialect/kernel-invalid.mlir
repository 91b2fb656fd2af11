// RUN: flashgen-opt %s -split-input-file -verify-diagnostics

// The verifiers of the kernel-level ops (dialect/FlashKernelOps.cpp): one
// case per message. flash-lower-kernels never builds these; hand-written or
// damaged kernel IR is stopped here instead of in the emitter. Names outside
// an enum (family, tensor, product, source, target) are parse errors.

// An unknown family.
// expected-error@+1 {{expected string or keyword containing one of the following enum values for attribute 'family' [attention, linear_fused, linear_states, linear_outputs, attention_grad_prep, attention_grad_kv, attention_grad_dq, attention_grad_convert, attention_combine, delta_fused, delta_prepare, recurrent_step, linear_grad_states, linear_grad_chunk, linear_grad_rows, attention_rotate, attention_mask_lists, linear_scores]}}
flash.kernel @k family backward schedule #flash.schedule<algorithm = flash2, tile_q = 64, tile_kv = 64, tile_d = 64, stages = 2, warps = 4, chunk = 0, inner_q = 0, inner_kv = 0, tile_dv = 64, smem_bytes = 0> problem {} {
  %ids:3 = flash.grid_map ["query_tile", "head", "batch"] extents ["1", "1", "1"] : index, index, index
  %c0 = arith.constant 0 : index
}

// -----

// A schedule of another family.
// expected-error@+1 {{'flash.kernel' op family attention takes a flash2, flash2_dsplit, flash3, flash3_dsplit or flash_decode schedule, not chunk_fused}}
flash.kernel @k family attention schedule #flash.schedule<algorithm = chunk_fused, tile_q = 0, tile_kv = 0, tile_d = 0, stages = 2, warps = 4, chunk = 64, inner_q = 64, inner_kv = 64, tile_dv = 64, smem_bytes = 0> problem {} {
  %ids:3 = flash.grid_map ["query_tile", "head", "batch"] extents ["1", "1", "1"] : index, index, index
  %c0 = arith.constant 0 : index
}

// -----

// Two-pass kernels take a two-pass schedule.
// expected-error@+1 {{'flash.kernel' op family linear_states takes a chunk_two_pass or chunk_grad schedule, not chunk_fused}}
flash.kernel @k family linear_states schedule #flash.schedule<algorithm = chunk_fused, tile_q = 0, tile_kv = 0, tile_d = 0, stages = 2, warps = 4, chunk = 64, inner_q = 64, inner_kv = 64, tile_dv = 64, smem_bytes = 0> problem {} {
  %ids:3 = flash.grid_map ["query_tile", "head", "batch"] extents ["1", "1", "1"] : index, index, index
  %c0 = arith.constant 0 : index
}

// -----

// No grid mapping.
// expected-error@+1 {{'flash.kernel' op has 0 flash.grid_map ops in its body; a kernel has exactly one, or none when flash.tile_rounds loops or flash.chunk_rounds give the tiles}}
flash.kernel @k family attention schedule #flash.schedule<algorithm = flash2, tile_q = 64, tile_kv = 64, tile_d = 64, stages = 2, warps = 4, chunk = 0, inner_q = 0, inner_kv = 0, tile_dv = 64, smem_bytes = 0> problem {} {
  %c0 = arith.constant 0 : index
}

// -----

// Grid roles and extents must match the ids.
flash.kernel @k family attention schedule #flash.schedule<algorithm = flash2, tile_q = 64, tile_kv = 64, tile_d = 64, stages = 2, warps = 4, chunk = 0, inner_q = 0, inner_kv = 0, tile_dv = 64, smem_bytes = 0> problem {} {
  // expected-error@+1 {{'flash.grid_map' op has 3 ids, 2 roles and 3 extents: they must be equal}}
  %ids:3 = flash.grid_map ["query_tile", "head"] extents ["1", "1", "1"] : index, index, index
}

// -----

// A CUDA grid has at most three dimensions.
flash.kernel @k family attention schedule #flash.schedule<algorithm = flash2, tile_q = 64, tile_kv = 64, tile_d = 64, stages = 2, warps = 4, chunk = 0, inner_q = 0, inner_kv = 0, tile_dv = 64, smem_bytes = 0> problem {} {
  // expected-error@+1 {{'flash.grid_map' op maps 4 grid dimensions; CUDA grids have 1 to 3}}
  %ids:4 = flash.grid_map ["a", "b", "c", "d"] extents ["1", "1", "1", "1"] : index, index, index, index
}

// -----

// Tile ops live in a kernel.
func.func @f(%c0: index) {
  // expected-error@+1 {{'flash.tile_mma' op must be inside a flash.kernel of family attention}}
  flash.tile_mma qk stage %c0
  return
}

// -----

// Attention tile ops in a recurrence kernel.
flash.kernel @k family linear_fused schedule #flash.schedule<algorithm = chunk_fused, tile_q = 0, tile_kv = 0, tile_d = 0, stages = 2, warps = 4, chunk = 64, inner_q = 64, inner_kv = 64, tile_dv = 64, smem_bytes = 0> problem {} {
  %ids:3 = flash.grid_map ["query_tile", "head", "batch"] extents ["1", "1", "1"] : index, index, index
  %c0 = arith.constant 0 : index
  // expected-error@+1 {{'flash.softmax_update' op must be inside a flash.kernel of family attention, not family linear_fused}}
  flash.softmax_update
}

// -----

// Unknown tensor role.
flash.kernel @k family attention schedule #flash.schedule<algorithm = flash2, tile_q = 64, tile_kv = 64, tile_d = 64, stages = 2, warps = 4, chunk = 0, inner_q = 0, inner_kv = 0, tile_dv = 64, smem_bytes = 0> problem {} {
  %ids:3 = flash.grid_map ["query_tile", "head", "batch"] extents ["1", "1", "1"] : index, index, index
  %c0 = arith.constant 0 : index
  // expected-error@+1 {{expected string or keyword containing one of the following enum values for attribute 'tensor' [q, k, v, g, o, lse, dout, delta, dq_accum, dq, dk, dv, delta_w, delta_u, delta_norm, grad_do, grad_dqn, scores, score_gates, score_key_sums]}}
  flash.tile_load x[%c0, %c0, %c0] rows 64 extent %c0 stage %c0
}

// -----

// A tensor role that tile_load does not load.
flash.kernel @k family attention schedule #flash.schedule<algorithm = flash2, tile_q = 64, tile_kv = 64, tile_d = 64, stages = 2, warps = 4, chunk = 0, inner_q = 0, inner_kv = 0, tile_dv = 64, smem_bytes = 0> problem {} {
  %ids:3 = flash.grid_map ["query_tile", "head", "batch"] extents ["1", "1", "1"] : index, index, index
  %c0 = arith.constant 0 : index
  // expected-error@+1 {{'flash.tile_load' op tensor o is not q, k, v or dout}}
  flash.tile_load o[%c0, %c0, %c0] rows 64 extent %c0 stage %c0
}

// -----

// Streamed tiles have the schedule's rows.
flash.kernel @k family attention schedule #flash.schedule<algorithm = flash2, tile_q = 64, tile_kv = 64, tile_d = 64, stages = 2, warps = 4, chunk = 0, inner_q = 0, inner_kv = 0, tile_dv = 64, smem_bytes = 0> problem {} {
  %ids:3 = flash.grid_map ["query_tile", "head", "batch"] extents ["1", "1", "1"] : index, index, index
  %c0 = arith.constant 0 : index
  // expected-error@+1 {{'flash.tile_load' op loads 32 rows of k; the kernel's schedule has tile_kv = 64}}
  flash.tile_load k[%c0, %c0, %c0] rows 32 extent %c0 stage %c0
}

// -----

// Unknown product.
flash.kernel @k family attention schedule #flash.schedule<algorithm = flash2, tile_q = 64, tile_kv = 64, tile_d = 64, stages = 2, warps = 4, chunk = 0, inner_q = 0, inner_kv = 0, tile_dv = 64, smem_bytes = 0> problem {} {
  %ids:3 = flash.grid_map ["query_tile", "head", "batch"] extents ["1", "1", "1"] : index, index, index
  %c0 = arith.constant 0 : index
  // expected-error@+1 {{expected string or keyword containing one of the following enum values for attribute 'product' [qk, pv, dov, ptdo, dstq, dsk]}}
  flash.tile_mma kv stage %c0
}

// -----

// A negative wait count.
flash.kernel @k family attention schedule #flash.schedule<algorithm = flash2, tile_q = 64, tile_kv = 64, tile_d = 64, stages = 2, warps = 4, chunk = 0, inner_q = 0, inner_kv = 0, tile_dv = 64, smem_bytes = 0> problem {} {
  %ids:3 = flash.grid_map ["query_tile", "head", "batch"] extents ["1", "1", "1"] : index, index, index
  %c0 = arith.constant 0 : index
  // expected-error@+1 {{'flash.tile_wait' op pending = -1: the count of load groups left in flight cannot be negative}}
  flash.tile_wait -1
}

// -----

// The score map's arguments.
flash.kernel @k family attention schedule #flash.schedule<algorithm = flash2, tile_q = 64, tile_kv = 64, tile_d = 64, stages = 2, warps = 4, chunk = 0, inner_q = 0, inner_kv = 0, tile_dv = 64, smem_bytes = 0> problem {} {
  %ids:3 = flash.grid_map ["query_tile", "head", "batch"] extents ["1", "1", "1"] : index, index, index
  %c0 = arith.constant 0 : index
  // expected-error@+1 {{'flash.score_map' op region takes (f32, index); expected (f32, index, index, index, index)}}
  flash.score_map[%c0, %c0, %c0, %c0] {
  ^bb0(%s: f32, %b: index):
    %t = arith.constant true
    flash.score_yield %s, %t
  }
}

// -----

// The output role.
flash.kernel @k family attention schedule #flash.schedule<algorithm = flash2, tile_q = 64, tile_kv = 64, tile_d = 64, stages = 2, warps = 4, chunk = 0, inner_q = 0, inner_kv = 0, tile_dv = 64, smem_bytes = 0> problem {} {
  %ids:3 = flash.grid_map ["query_tile", "head", "batch"] extents ["1", "1", "1"] : index, index, index
  %c0 = arith.constant 0 : index
  // expected-error@+1 {{'flash.output_store' op tensor q is not o}}
  flash.output_store q[%c0, %c0, %c0] extent %c0
}

// -----

// Recurrence tile ops in an attention kernel.
flash.kernel @k family attention schedule #flash.schedule<algorithm = flash2, tile_q = 64, tile_kv = 64, tile_d = 64, stages = 2, warps = 4, chunk = 0, inner_q = 0, inner_kv = 0, tile_dv = 64, smem_bytes = 0> problem {} {
  %ids:3 = flash.grid_map ["query_tile", "head", "batch"] extents ["1", "1", "1"] : index, index, index
  %c0 = arith.constant 0 : index
  // expected-error@+1 {{'flash.state_update' op must be inside a flash.kernel of a recurrence family (linear_fused, linear_states, linear_outputs, delta_fused, delta_prepare, linear_scores, recurrent_step, linear_grad_states, linear_grad_chunk, linear_grad_rows), not family attention}}
  flash.state_update stage %c0 buffer %c0 gate decay
}

// -----

// Chunk tiles have the schedule's chunk rows.
flash.kernel @k family linear_fused schedule #flash.schedule<algorithm = chunk_fused, tile_q = 0, tile_kv = 0, tile_d = 0, stages = 2, warps = 4, chunk = 64, inner_q = 64, inner_kv = 64, tile_dv = 64, smem_bytes = 0> problem {} {
  %ids:3 = flash.grid_map ["query_tile", "head", "batch"] extents ["1", "1", "1"] : index, index, index
  %c0 = arith.constant 0 : index
  // expected-error@+1 {{'flash.chunk_load' op loads 32 rows of q; the kernel's schedule has chunk = 64}}
  flash.chunk_load q[%c0, %c0, %c0, %c0] rows 32 cols 64 extent %c0 stage %c0
}

// -----

// Unknown chunk tensor.
flash.kernel @k family linear_fused schedule #flash.schedule<algorithm = chunk_fused, tile_q = 0, tile_kv = 0, tile_d = 0, stages = 2, warps = 4, chunk = 64, inner_q = 64, inner_kv = 64, tile_dv = 64, smem_bytes = 0> problem {} {
  %ids:3 = flash.grid_map ["query_tile", "head", "batch"] extents ["1", "1", "1"] : index, index, index
  %c0 = arith.constant 0 : index
  // expected-error@+1 {{'flash.chunk_load' op tensor o is not q, k, v, g, dout, delta_w, delta_u, delta_norm, grad_do, grad_dqn, scores, score_gates or score_key_sums}}
  flash.chunk_load o[%c0, %c0, %c0, %c0] rows 64 cols 64 extent %c0 stage %c0
}

// -----

// State sources.
flash.kernel @k family linear_fused schedule #flash.schedule<algorithm = chunk_fused, tile_q = 0, tile_kv = 0, tile_d = 0, stages = 2, warps = 4, chunk = 64, inner_q = 64, inner_kv = 64, tile_dv = 64, smem_bytes = 0> problem {} {
  %ids:3 = flash.grid_map ["query_tile", "head", "batch"] extents ["1", "1", "1"] : index, index, index
  %c0 = arith.constant 0 : index
  // expected-error@+1 {{expected string or keyword containing one of the following enum values for attribute 'source' [zero, initial, scratch, final_grad]}}
  flash.state_init final[%c0, %c0, %c0] gate none
}

// -----

// Scratch states are addressed by chunk boundary.
flash.kernel @k family linear_states schedule #flash.schedule<algorithm = chunk_two_pass, tile_q = 0, tile_kv = 0, tile_d = 0, stages = 2, warps = 4, chunk = 64, inner_q = 64, inner_kv = 64, tile_dv = 64, smem_bytes = 0> problem {} {
  %ids:3 = flash.grid_map ["query_tile", "head", "batch"] extents ["1", "1", "1"] : index, index, index
  %c0 = arith.constant 0 : index
  // expected-error@+1 {{'flash.state_store' op writes scratch without a chunk boundary}}
  flash.state_store scratch[%c0, %c0, %c0] gate none
}

// -----

// The final state is written at boundary NC too: the emitter finds its
// stabiliser through the boundary.
flash.kernel @k family linear_fused schedule #flash.schedule<algorithm = chunk_fused, tile_q = 0, tile_kv = 0, tile_d = 0, stages = 2, warps = 4, chunk = 64, inner_q = 64, inner_kv = 64, tile_dv = 64, smem_bytes = 0> problem {} {
  %ids:3 = flash.grid_map ["query_tile", "head", "batch"] extents ["1", "1", "1"] : index, index, index
  %c0 = arith.constant 0 : index
  // expected-error@+1 {{'flash.state_store' op writes final without a chunk boundary}}
  flash.state_store final[%c0, %c0, %c0] gate none
}

// -----

// A scratch read names its boundary.
flash.kernel @k family linear_outputs schedule #flash.schedule<algorithm = chunk_two_pass, tile_q = 0, tile_kv = 0, tile_d = 0, stages = 2, warps = 4, chunk = 64, inner_q = 64, inner_kv = 64, tile_dv = 64, smem_bytes = 0> problem {} {
  %ids:3 = flash.grid_map ["query_tile", "head", "batch"] extents ["1", "1", "1"] : index, index, index
  %c0 = arith.constant 0 : index
  // expected-error@+1 {{'flash.state_init' op reads scratch without a chunk boundary}}
  flash.state_init scratch[%c0, %c0, %c0] gate none
}

// -----

// Only scratch takes a chunk boundary.
flash.kernel @k family linear_fused schedule #flash.schedule<algorithm = chunk_fused, tile_q = 0, tile_kv = 0, tile_d = 0, stages = 2, warps = 4, chunk = 64, inner_q = 64, inner_kv = 64, tile_dv = 64, smem_bytes = 0> problem {} {
  %ids:3 = flash.grid_map ["query_tile", "head", "batch"] extents ["1", "1", "1"] : index, index, index
  %c0 = arith.constant 0 : index
  // expected-error@+1 {{'flash.state_init' op has a chunk boundary, which source zero does not take}}
  flash.state_init zero[%c0, %c0, %c0] chunk %c0 gate none
}

// -----

// The gate kind of a tile op is its kernel's.
flash.kernel @k family linear_fused schedule #flash.schedule<algorithm = chunk_fused, tile_q = 0, tile_kv = 0, tile_d = 0, stages = 2, warps = 4, chunk = 64, inner_q = 64, inner_kv = 64, tile_dv = 64, smem_bytes = 0> problem {gate = "mlstm_exp"} {
  %ids:3 = flash.grid_map ["query_tile", "head", "batch"] extents ["1", "1", "1"] : index, index, index
  %c0 = arith.constant 0 : index
  // expected-error@+1 {{'flash.chunk_inter' op has gate decay but its kernel's problem has gate mlstm_exp}}
  flash.chunk_inter[%c0] stage %c0 buffer %c0 gate decay
}

// -----

// Only scalar gates are fetched.
flash.kernel @k family linear_fused schedule #flash.schedule<algorithm = chunk_fused, tile_q = 0, tile_kv = 0, tile_d = 0, stages = 2, warps = 4, chunk = 64, inner_q = 64, inner_kv = 64, tile_dv = 64, smem_bytes = 0> problem {} {
  %ids:3 = flash.grid_map ["query_tile", "head", "batch"] extents ["1", "1", "1"] : index, index, index
  %c0 = arith.constant 0 : index
  // expected-error@+1 {{'flash.gate_fetch' op gate vector has no per-step scalar gates to fetch (decay, mlstm_exp, mlstm_sig)}}
  flash.gate_fetch[%c0, %c0, %c0] extent %c0 gate vector
}

// -----

// The gate region takes one f32 per gate operand.
flash.kernel @k family linear_fused schedule #flash.schedule<algorithm = chunk_fused, tile_q = 0, tile_kv = 0, tile_d = 0, stages = 2, warps = 4, chunk = 64, inner_q = 64, inner_kv = 64, tile_dv = 64, smem_bytes = 0> problem {} {
  %ids:3 = flash.grid_map ["query_tile", "head", "batch"] extents ["1", "1", "1"] : index, index, index
  %c0 = arith.constant 0 : index
  // expected-error@+1 {{'flash.chunk_gates' op region takes (f32); expected (f32, f32)}}
  flash.chunk_gates[%c0, %c0, %c0] extent %c0 buffer %c0 stage %c0 gate mlstm_exp {
  ^bb0(%g: f32):
    flash.gate_yield %g, %g
  }
}

// -----

// The decay map's arguments.
flash.kernel @k family linear_fused schedule #flash.schedule<algorithm = chunk_fused, tile_q = 0, tile_kv = 0, tile_d = 0, stages = 2, warps = 4, chunk = 64, inner_q = 64, inner_kv = 64, tile_dv = 64, smem_bytes = 0> problem {} {
  %ids:3 = flash.grid_map ["query_tile", "head", "batch"] extents ["1", "1", "1"] : index, index, index
  %c0 = arith.constant 0 : index
  // expected-error@+1 {{'flash.decay_map' op region takes (f32, index, index); expected (f32, f32, f32, f32, f32, f32, index, index)}}
  flash.decay_map[%c0, %c0] buffer %c0 {
  ^bb0(%s: f32, %r: index, %c: index):
    %t = arith.constant true
    flash.decay_yield %s, %t
  }
}

// -----

// The output role of a recurrence.
flash.kernel @k family linear_fused schedule #flash.schedule<algorithm = chunk_fused, tile_q = 0, tile_kv = 0, tile_d = 0, stages = 2, warps = 4, chunk = 64, inner_q = 64, inner_kv = 64, tile_dv = 64, smem_bytes = 0> problem {} {
  %ids:3 = flash.grid_map ["query_tile", "head", "batch"] extents ["1", "1", "1"] : index, index, index
  %c0 = arith.constant 0 : index
  // expected-error@+1 {{'flash.chunk_store' op tensor v is not o}}
  flash.chunk_store v[%c0, %c0, %c0, %c0, %c0] extent %c0 stage %c0 gate none
}

// -----

// A store's output_mod: on o only, with output_mod's signature.
flash.kernel @k family linear_fused schedule #flash.schedule<algorithm = chunk_fused, tile_q = 0, tile_kv = 0, tile_d = 0, stages = 2, warps = 4, chunk = 64, inner_q = 64, inner_kv = 64, tile_dv = 64, smem_bytes = 0> problem {} {
  %ids:3 = flash.grid_map ["query_tile", "head", "batch"] extents ["1", "1", "1"] : index, index, index
  %c0 = arith.constant 0 : index
  // expected-error@+1 {{'flash.chunk_store' op output_mod must take (o: f32, b, h, t, d: index) and yield f32 (flash.yield)}}
  flash.chunk_store o[%c0, %c0, %c0, %c0, %c0] extent %c0 stage %c0 gate none output_mod {
  ^bb0(%x: f32, %b: index, %h: index, %t: index):
    flash.yield %x : f32
  }
}

// -----

// flash.chunk_store stores o only: linear_grad_rows writes dO / den and
// the normaliser's gradients through flash.normalizer_grad_rows.
flash.kernel @k family linear_grad_rows schedule #flash.schedule<algorithm = chunk_grad, tile_q = 0, tile_kv = 0, tile_d = 0, stages = 2, warps = 4, chunk = 64, inner_q = 64, inner_kv = 64, tile_dv = 64, smem_bytes = 0> problem {} {
  %ids:3 = flash.grid_map ["chunk", "head", "batch"] extents ["1", "1", "1"] : index, index, index
  %c0 = arith.constant 0 : index
  // expected-error@+1 {{'flash.chunk_store' op tensor grad_do is not o}}
  flash.chunk_store grad_do[%c0, %c0, %c0, %c0, %c0] extent %c0 stage %c0 gate mlstm_sig
}

// -----

// A linear_grad_rows kernel works row by row from the forward's o and
// norm: it loads no chunk tiles ...
flash.kernel @k family linear_grad_rows schedule #flash.schedule<algorithm = chunk_grad, tile_q = 0, tile_kv = 0, tile_d = 0, stages = 2, warps = 4, chunk = 64, inner_q = 64, inner_kv = 64, tile_dv = 64, smem_bytes = 0> problem {} {
  %ids:3 = flash.grid_map ["chunk", "head", "batch"] extents ["1", "1", "1"] : index, index, index
  %c0 = arith.constant 0 : index
  // expected-error@+1 {{'flash.chunk_load' op a linear_grad_rows kernel has no tensor dout (it has none)}}
  flash.chunk_load dout[%c0, %c0, %c0, %c0] rows 64 cols 64 extent %c0 stage %c0
}

// -----

// ... and reads no states.
flash.kernel @k family linear_grad_rows schedule #flash.schedule<algorithm = chunk_grad, tile_q = 0, tile_kv = 0, tile_d = 0, stages = 2, warps = 4, chunk = 64, inner_q = 64, inner_kv = 64, tile_dv = 64, smem_bytes = 0> problem {} {
  %ids:3 = flash.grid_map ["chunk", "head", "batch"] extents ["1", "1", "1"] : index, index, index
  %c0 = arith.constant 0 : index
  // expected-error@+1 {{'flash.state_init' op a linear_grad_rows kernel has no source scratch (it has none)}}
  flash.state_init scratch[%c0, %c0, %c0] chunk %c0 gate mlstm_sig
}

// -----

// flash.normalizer_grad_rows: in linear_grad_rows kernels only ...
flash.kernel @k family linear_outputs schedule #flash.schedule<algorithm = chunk_two_pass, tile_q = 0, tile_kv = 0, tile_d = 0, stages = 2, warps = 4, chunk = 64, inner_q = 64, inner_kv = 64, tile_dv = 64, smem_bytes = 0> problem {} {
  %ids:3 = flash.grid_map ["chunk", "head", "batch"] extents ["1", "1", "1"] : index, index, index
  %c0 = arith.constant 0 : index
  // expected-error@+1 {{'flash.normalizer_grad_rows' op belongs to linear_grad_rows kernels, not linear_outputs}}
  flash.normalizer_grad_rows[%c0, %c0, %c0] extent %c0 gate mlstm_sig
}

// -----

// ... of a normaliser kind ...
flash.kernel @k family linear_grad_rows schedule #flash.schedule<algorithm = chunk_grad, tile_q = 0, tile_kv = 0, tile_d = 0, stages = 2, warps = 4, chunk = 64, inner_q = 64, inner_kv = 64, tile_dv = 64, smem_bytes = 0> problem {} {
  %ids:3 = flash.grid_map ["chunk", "head", "batch"] extents ["1", "1", "1"] : index, index, index
  %c0 = arith.constant 0 : index
  // expected-error@+1 {{'flash.normalizer_grad_rows' op has gate decay: only the normaliser kinds (mlstm_sig, mlstm_exp) have row normalisers}}
  flash.normalizer_grad_rows[%c0, %c0, %c0] extent %c0 gate decay
}

// -----

// ... the kernel's.
flash.kernel @k family linear_grad_rows schedule #flash.schedule<algorithm = chunk_grad, tile_q = 0, tile_kv = 0, tile_d = 0, stages = 2, warps = 4, chunk = 64, inner_q = 64, inner_kv = 64, tile_dv = 64, smem_bytes = 0> problem {gate = "mlstm_sig"} {
  %ids:3 = flash.grid_map ["chunk", "head", "batch"] extents ["1", "1", "1"] : index, index, index
  %c0 = arith.constant 0 : index
  // expected-error@+1 {{'flash.normalizer_grad_rows' op has gate mlstm_exp but its kernel's problem has gate mlstm_sig}}
  flash.normalizer_grad_rows[%c0, %c0, %c0] extent %c0 gate mlstm_exp
}

// -----

// A linear_states kernel computes no outputs: it has no q to load.
flash.kernel @k family linear_states schedule #flash.schedule<algorithm = chunk_two_pass, tile_q = 0, tile_kv = 0, tile_d = 0, stages = 2, warps = 4, chunk = 64, inner_q = 64, inner_kv = 64, tile_dv = 64, smem_bytes = 0> problem {} {
  %ids:3 = flash.grid_map ["query_tile", "head", "batch"] extents ["1", "1", "1"] : index, index, index
  %c0 = arith.constant 0 : index
  // expected-error@+1 {{'flash.chunk_load' op a linear_states kernel has no tensor q (its tensors: k, v, g)}}
  flash.chunk_load q[%c0, %c0, %c0, %c0] rows 64 cols 64 extent %c0 stage %c0
}

// -----

// ... and no o to store.
flash.kernel @k family linear_states schedule #flash.schedule<algorithm = chunk_two_pass, tile_q = 0, tile_kv = 0, tile_d = 0, stages = 2, warps = 4, chunk = 64, inner_q = 64, inner_kv = 64, tile_dv = 64, smem_bytes = 0> problem {} {
  %ids:3 = flash.grid_map ["query_tile", "head", "batch"] extents ["1", "1", "1"] : index, index, index
  %c0 = arith.constant 0 : index
  // expected-error@+1 {{'flash.chunk_store' op a linear_states kernel has no tensor o (its tensors: k, v, g)}}
  flash.chunk_store o[%c0, %c0, %c0, %c0, %c0] extent %c0 stage %c0 gate none
}

// -----

// The g tile is a vector gate's.
flash.kernel @k family linear_fused schedule #flash.schedule<algorithm = chunk_fused, tile_q = 0, tile_kv = 0, tile_d = 0, stages = 2, warps = 4, chunk = 64, inner_q = 64, inner_kv = 64, tile_dv = 64, smem_bytes = 0> problem {gate = "decay"} {
  %ids:3 = flash.grid_map ["query_tile", "head", "batch"] extents ["1", "1", "1"] : index, index, index
  %c0 = arith.constant 0 : index
  // expected-error@+1 {{'flash.chunk_load' op loads g, the per-key-dim log-decays of a vector gate, in a kernel of gate decay}}
  flash.chunk_load g[%c0, %c0, %c0, %c0] rows 64 cols 64 extent %c0 stage %c0
}

// -----

// The output kernel of a two-pass pair starts from the chunk states.
flash.kernel @k family linear_outputs schedule #flash.schedule<algorithm = chunk_two_pass, tile_q = 0, tile_kv = 0, tile_d = 0, stages = 2, warps = 4, chunk = 64, inner_q = 64, inner_kv = 64, tile_dv = 64, smem_bytes = 0> problem {} {
  %ids:3 = flash.grid_map ["query_tile", "head", "batch"] extents ["1", "1", "1"] : index, index, index
  %c0 = arith.constant 0 : index
  // expected-error@+1 {{'flash.state_init' op a linear_outputs kernel has no source zero (its sources: scratch)}}
  flash.state_init zero[%c0, %c0, %c0] gate none
}

// -----

// A fused kernel has no chunk states to read ...
flash.kernel @k family linear_fused schedule #flash.schedule<algorithm = chunk_fused, tile_q = 0, tile_kv = 0, tile_d = 0, stages = 2, warps = 4, chunk = 64, inner_q = 64, inner_kv = 64, tile_dv = 64, smem_bytes = 0> problem {} {
  %ids:3 = flash.grid_map ["query_tile", "head", "batch"] extents ["1", "1", "1"] : index, index, index
  %c0 = arith.constant 0 : index
  // expected-error@+1 {{'flash.state_init' op a linear_fused kernel has no source scratch (its sources: zero, initial)}}
  flash.state_init scratch[%c0, %c0, %c0] chunk %c0 gate none
}

// -----

// ... or to write.
flash.kernel @k family linear_fused schedule #flash.schedule<algorithm = chunk_fused, tile_q = 0, tile_kv = 0, tile_d = 0, stages = 2, warps = 4, chunk = 64, inner_q = 64, inner_kv = 64, tile_dv = 64, smem_bytes = 0> problem {} {
  %ids:3 = flash.grid_map ["query_tile", "head", "batch"] extents ["1", "1", "1"] : index, index, index
  %c0 = arith.constant 0 : index
  // expected-error@+1 {{'flash.state_store' op a linear_fused kernel has no target scratch (its targets: final)}}
  flash.state_store scratch[%c0, %c0, %c0] chunk %c0 gate none
}

// -----

// The output kernel writes no state.
flash.kernel @k family linear_outputs schedule #flash.schedule<algorithm = chunk_two_pass, tile_q = 0, tile_kv = 0, tile_d = 0, stages = 2, warps = 4, chunk = 64, inner_q = 64, inner_kv = 64, tile_dv = 64, smem_bytes = 0> problem {} {
  %ids:3 = flash.grid_map ["query_tile", "head", "batch"] extents ["1", "1", "1"] : index, index, index
  %c0 = arith.constant 0 : index
  // expected-error@+1 {{'flash.state_store' op a linear_outputs kernel has no target final (it has none)}}
  flash.state_store final[%c0, %c0, %c0] chunk %c0 gate none
}

// -----

// The initial state is read only where the op has one.
flash.kernel @k family linear_fused schedule #flash.schedule<algorithm = chunk_fused, tile_q = 0, tile_kv = 0, tile_d = 0, stages = 2, warps = 4, chunk = 64, inner_q = 64, inner_kv = 64, tile_dv = 64, smem_bytes = 0> problem {initial_state = false} {
  %ids:3 = flash.grid_map ["query_tile", "head", "batch"] extents ["1", "1", "1"] : index, index, index
  %c0 = arith.constant 0 : index
  // expected-error@+1 {{'flash.state_init' op reads the initial state, but its kernel's problem has initial_state = false}}
  flash.state_init initial[%c0, %c0, %c0] gate none
}

// -----

// The final state is written only where the op returns it.
flash.kernel @k family linear_fused schedule #flash.schedule<algorithm = chunk_fused, tile_q = 0, tile_kv = 0, tile_d = 0, stages = 2, warps = 4, chunk = 64, inner_q = 64, inner_kv = 64, tile_dv = 64, smem_bytes = 0> problem {final_state = false} {
  %ids:3 = flash.grid_map ["query_tile", "head", "batch"] extents ["1", "1", "1"] : index, index, index
  %c0 = arith.constant 0 : index
  // expected-error@+1 {{'flash.state_store' op writes the final state, but its kernel's problem has final_state = false}}
  flash.state_store final[%c0, %c0, %c0] chunk %c0 gate none
}

// -----

// The problem's gate names a gate kind.
// expected-error@+1 {{'flash.kernel' op problem gate "sigmoid" is not a gate kind (none, decay, vector, mlstm_exp or mlstm_sig)}}
flash.kernel @k family linear_fused schedule #flash.schedule<algorithm = chunk_fused, tile_q = 0, tile_kv = 0, tile_d = 0, stages = 2, warps = 4, chunk = 64, inner_q = 64, inner_kv = 64, tile_dv = 64, smem_bytes = 0> problem {gate = "sigmoid"} {
  %ids:3 = flash.grid_map ["query_tile", "head", "batch"] extents ["1", "1", "1"] : index, index, index
  %c0 = arith.constant 0 : index
}

// -----

// dO is a gradient kernel's tensor, not the forward's.
flash.kernel @k family attention schedule #flash.schedule<algorithm = flash2, tile_q = 64, tile_kv = 64, tile_d = 64, stages = 2, warps = 4, chunk = 0, inner_q = 0, inner_kv = 0, tile_dv = 64, smem_bytes = 0> problem {} {
  %ids:3 = flash.grid_map ["query_tile", "head", "batch"] extents ["1", "1", "1"] : index, index, index
  %c0 = arith.constant 0 : index
  // expected-error@+1 {{'flash.tile_load' op a attention kernel has no tensor dout (its tensors: q, k, v, o)}}
  flash.tile_load dout[%c0, %c0, %c0] rows 64 extent %c0 stage %c0
}

// -----

// The forward computes no gradient product.
flash.kernel @k family attention schedule #flash.schedule<algorithm = flash2, tile_q = 64, tile_kv = 64, tile_d = 64, stages = 2, warps = 4, chunk = 0, inner_q = 0, inner_kv = 0, tile_dv = 64, smem_bytes = 0> problem {} {
  %ids:3 = flash.grid_map ["query_tile", "head", "batch"] extents ["1", "1", "1"] : index, index, index
  %c0 = arith.constant 0 : index
  // expected-error@+1 {{'flash.tile_mma' op a attention kernel with a flash2 schedule computes no product dsk (its products: qk, pv)}}
  flash.tile_mma dsk stage %c0
}

// -----

// A deterministic kv kernel adds no dQ: it has no accumulator.
flash.kernel @k family attention_grad_kv schedule #flash.schedule<algorithm = flash2_grad_deterministic, tile_q = 64, tile_kv = 64, tile_d = 64, stages = 2, warps = 4, chunk = 0, inner_q = 0, inner_kv = 0, tile_dv = 64, smem_bytes = 0> problem {} {
  %ids:3 = flash.grid_map ["key_tile", "kv_head", "batch"] extents ["1", "1", "1"] : index, index, index
  %c0 = arith.constant 0 : index
  // expected-error@+1 {{'flash.tile_mma' op a attention_grad_kv kernel with a flash2_grad_deterministic schedule computes no product dsk (its products: qk, dov, ptdo, dstq)}}
  flash.tile_mma dsk stage %c0
}

// -----

flash.kernel @k family attention_grad_kv schedule #flash.schedule<algorithm = flash2_grad_deterministic, tile_q = 64, tile_kv = 64, tile_d = 64, stages = 2, warps = 4, chunk = 0, inner_q = 0, inner_kv = 0, tile_dv = 64, smem_bytes = 0> problem {} {
  %ids:3 = flash.grid_map ["key_tile", "kv_head", "batch"] extents ["1", "1", "1"] : index, index, index
  %c0 = arith.constant 0 : index
  // expected-error@+1 {{'flash.accum_add' op needs the f32 dQ accumulator of a flash2_grad or flash3_grad schedule; this kernel's is flash2_grad_deterministic}}
  flash.accum_add dq_accum[%c0, %c0, %c0] extent %c0
}

// -----

// Gradient tile ops live in the gradient kernels.
flash.kernel @k family attention schedule #flash.schedule<algorithm = flash2, tile_q = 64, tile_kv = 64, tile_d = 64, stages = 2, warps = 4, chunk = 0, inner_q = 0, inner_kv = 0, tile_dv = 64, smem_bytes = 0> problem {} {
  %ids:3 = flash.grid_map ["query_tile", "head", "batch"] extents ["1", "1", "1"] : index, index, index
  // expected-error@+1 {{'flash.grad_probabilities' op must be inside a flash.kernel of family attention_grad_kv or attention_grad_dq, not attention}}
  flash.grad_probabilities
}

// -----

// The kv kernel stores dk and dv only.
flash.kernel @k family attention_grad_kv schedule #flash.schedule<algorithm = flash2_grad, tile_q = 64, tile_kv = 64, tile_d = 64, stages = 2, warps = 4, chunk = 0, inner_q = 0, inner_kv = 0, tile_dv = 64, smem_bytes = 0> problem {} {
  %ids:3 = flash.grid_map ["key_tile", "kv_head", "batch"] extents ["1", "1", "1"] : index, index, index
  %c0 = arith.constant 0 : index
  // expected-error@+1 {{'flash.grad_store' op tensor dq is not dk or dv}}
  flash.grad_store dq[%c0, %c0, %c0] extent %c0 scale 1.0
}

// -----

flash.kernel @k family attention_grad_kv schedule #flash.schedule<algorithm = flash2_grad, tile_q = 64, tile_kv = 64, tile_d = 64, stages = 2, warps = 4, chunk = 0, inner_q = 0, inner_kv = 0, tile_dv = 64, smem_bytes = 0> problem {} {
  %ids:3 = flash.grid_map ["key_tile", "kv_head", "batch"] extents ["1", "1", "1"] : index, index, index
  %c0 = arith.constant 0 : index
  // expected-error@+1 {{'flash.accum_add' op must directly follow the flash.tile_mma dsk whose tile it adds}}
  flash.accum_add dq_accum[%c0, %c0, %c0] extent %c0
}

// -----

// A gradient kernel's asynchronous products need a warpgroup schedule, and
// so does the wait for them.
#grad2 = #flash.schedule<algorithm = flash2_grad, tile_q = 64, tile_kv = 64, tile_d = 64, stages = 2, warps = 4, chunk = 0, inner_q = 0, inner_kv = 0, tile_dv = 64, smem_bytes = 0>
flash.kernel @grad_async family attention_grad_kv schedule #grad2 problem {} {
  %ids:3 = flash.grid_map ["key_tile", "kv_head", "batch"] extents ["1", "1", "1"] : index, index, index
  %c0 = arith.constant 0 : index
  // expected-error@+1 {{'flash.tile_mma' op async products are issued by the consumers of a flash.warp_specialize (flash3), by the gradient kernels of a flash3_grad schedule or as flash3_dsplit's chunk products}}
  flash.tile_mma qk stage %c0 async
}

// -----

#grad2w = #flash.schedule<algorithm = flash2_grad, tile_q = 64, tile_kv = 64, tile_d = 64, stages = 2, warps = 4, chunk = 0, inner_q = 0, inner_kv = 0, tile_dv = 64, smem_bytes = 0>
flash.kernel @grad_wait family attention_grad_kv schedule #grad2w problem {} {
  %ids:3 = flash.grid_map ["key_tile", "kv_head", "batch"] extents ["1", "1", "1"] : index, index, index
  // expected-error@+1 {{'flash.grad_mma_wait' op waits for warpgroup products, which a flash2_grad schedule does not issue}}
  flash.grad_mma_wait 0 score
}

// -----

// The small-cache kernel (flash2_dsplit) copies column chunks only.
#dsplit = #flash.schedule<algorithm = flash2_dsplit, tile_q = 128, tile_kv = 64, tile_d = 64, stages = 2, warps = 8, chunk = 0, inner_q = 0, inner_kv = 0, tile_dv = 256, smem_bytes = 114688>
flash.kernel @k family attention schedule #dsplit problem {} {
  %ids:3 = flash.grid_map ["query_slice", "head", "batch"] extents ["1", "1", "1"] : index, index, index
  %c0 = arith.constant 0 : index
  // expected-error@+1 {{'flash.tile_load' op must load a column chunk (cols C at INDEX): a small-cache (dsplit) kernel keeps no whole rows on chip}}
  flash.tile_load q[%c0, %c0, %c0] rows 128 extent %c0 stage %c0 async
}

// -----

// Its chunks are tile_d wide (q, k) and its slices tile_dv wide (v).
#dsplit = #flash.schedule<algorithm = flash2_dsplit, tile_q = 128, tile_kv = 64, tile_d = 64, stages = 2, warps = 8, chunk = 0, inner_q = 0, inner_kv = 0, tile_dv = 256, smem_bytes = 114688>
flash.kernel @k family attention schedule #dsplit problem {} {
  %ids:3 = flash.grid_map ["query_slice", "head", "batch"] extents ["1", "1", "1"] : index, index, index
  %c0 = arith.constant 0 : index
  // expected-error@+1 {{'flash.tile_load' op loads 64 columns of v; the kernel's schedule has tile_dv = 256}}
  flash.tile_load v[%c0, %c0, %c0] rows 64 extent %c0 cols 64 at %c0 stage %c0 async
}

// -----

// Other schedules keep whole rows.
flash.kernel @k family attention schedule #flash.schedule<algorithm = flash2, tile_q = 64, tile_kv = 64, tile_d = 64, stages = 2, warps = 4, chunk = 0, inner_q = 0, inner_kv = 0, tile_dv = 64, smem_bytes = 0> problem {} {
  %ids:3 = flash.grid_map ["query_tile", "head", "batch"] extents ["1", "1", "1"] : index, index, index
  %c0 = arith.constant 0 : index
  // expected-error@+1 {{'flash.tile_load' op loads a column chunk, which only a small-cache (dsplit) kernel does; this one's schedule is flash2}}
  flash.tile_load k[%c0, %c0, %c0] rows 64 extent %c0 cols 64 at %c0 stage %c0 async
}

// -----

// S is accumulated over chunks in the small-cache kernel, and only there.
#dsplit = #flash.schedule<algorithm = flash2_dsplit, tile_q = 128, tile_kv = 64, tile_d = 64, stages = 2, warps = 8, chunk = 0, inner_q = 0, inner_kv = 0, tile_dv = 256, smem_bytes = 114688>
flash.kernel @k family attention schedule #dsplit problem {} {
  %ids:3 = flash.grid_map ["query_slice", "head", "batch"] extents ["1", "1", "1"] : index, index, index
  %c0 = arith.constant 0 : index
  flash.score_clear
  // expected-error@+1 {{'flash.tile_mma' op must accumulate (a small-cache (dsplit) kernel adds S one head-dim chunk at a time after flash.score_clear)}}
  flash.tile_mma qk stage %c0
}

// -----

flash.kernel @k family attention schedule #flash.schedule<algorithm = flash2, tile_q = 64, tile_kv = 64, tile_d = 64, stages = 2, warps = 4, chunk = 0, inner_q = 0, inner_kv = 0, tile_dv = 64, smem_bytes = 0> problem {} {
  %ids:3 = flash.grid_map ["query_tile", "head", "batch"] extents ["1", "1", "1"] : index, index, index
  %c0 = arith.constant 0 : index
  // expected-error@+1 {{'flash.score_clear' op starts a chunk-accumulated score tile, which only a small-cache (dsplit) kernel has; this one's schedule is flash2}}
  flash.score_clear
}

// -----

flash.kernel @k family attention schedule #flash.schedule<algorithm = flash2, tile_q = 64, tile_kv = 64, tile_d = 64, stages = 2, warps = 4, chunk = 0, inner_q = 0, inner_kv = 0, tile_dv = 64, smem_bytes = 0> problem {} {
  %ids:3 = flash.grid_map ["query_tile", "head", "batch"] extents ["1", "1", "1"] : index, index, index
  %c0 = arith.constant 0 : index
  // expected-error@+1 {{'flash.tile_mma' op only the qk product accumulates over chunks}}
  flash.tile_mma pv stage %c0 accumulate
}

// -----

// A value slice is stored by the small-cache kernel, which always names it.
#dsplit = #flash.schedule<algorithm = flash2_dsplit, tile_q = 128, tile_kv = 64, tile_d = 64, stages = 2, warps = 8, chunk = 0, inner_q = 0, inner_kv = 0, tile_dv = 256, smem_bytes = 114688>
flash.kernel @k family attention schedule #dsplit problem {} {
  %ids:3 = flash.grid_map ["query_slice", "head", "batch"] extents ["1", "1", "1"] : index, index, index
  %c0 = arith.constant 0 : index
  // expected-error@+1 {{'flash.output_store' op must name its value slice (a small-cache (dsplit) kernel stores tile_dv columns of each row)}}
  flash.output_store o[%c0, %c0, %c0] extent %c0
}

// -----

// flash_decode's query tile holds packed rows: its q load names the group.
flash.kernel @k family attention schedule #flash.schedule<algorithm = flash_decode, tile_q = 16, tile_kv = 64, tile_d = 128, stages = 2, warps = 1, chunk = 0, inner_q = 0, inner_kv = 0, tile_dv = 128, smem_bytes = 0> problem {} {
  %ids:3 = flash.grid_map ["split_tile", "kv_head", "batch"] extents ["1", "1", "1"] : index, index, index
  %c0 = arith.constant 0 : index
  // expected-error@+1 {{'flash.tile_load' op must load packed rows (group G): a flash_decode query tile holds the query heads of a kv head}}
  flash.tile_load q[%c0, %c0, %c0] rows 16 extent %c0 stage %c0
}

// -----

// Only flash_decode's q is packed.
flash.kernel @k family attention schedule #flash.schedule<algorithm = flash2, tile_q = 64, tile_kv = 64, tile_d = 64, stages = 2, warps = 4, chunk = 0, inner_q = 0, inner_kv = 0, tile_dv = 64, smem_bytes = 0> problem {} {
  %ids:3 = flash.grid_map ["query_tile", "head", "batch"] extents ["1", "1", "1"] : index, index, index
  %c0 = arith.constant 0 : index
  // expected-error@+1 {{'flash.tile_load' op loads packed rows (group), which only a flash_decode kernel's q does}}
  flash.tile_load q[%c0, %c0, %c0] rows 64 extent %c0 group 4 stage %c0
}

// -----

// A split's rows are stored by flash.split_store in a flash_decode kernel only.
flash.kernel @k family attention schedule #flash.schedule<algorithm = flash2, tile_q = 64, tile_kv = 64, tile_d = 64, stages = 2, warps = 4, chunk = 0, inner_q = 0, inner_kv = 0, tile_dv = 64, smem_bytes = 0> problem {} {
  %ids:3 = flash.grid_map ["query_tile", "head", "batch"] extents ["1", "1", "1"] : index, index, index
  %c0 = arith.constant 0 : index
  // expected-error@+1 {{'flash.split_store' op must be inside a flash.kernel of family attention with a flash_decode schedule}}
  flash.split_store [%c0, %c0, %c0] extent %c0 splits %c0 partial_row %c0 group 4
}

// -----

// A flash_decode kernel does not use flash.output_store.
flash.kernel @k family attention schedule #flash.schedule<algorithm = flash_decode, tile_q = 16, tile_kv = 64, tile_d = 128, stages = 2, warps = 1, chunk = 0, inner_q = 0, inner_kv = 0, tile_dv = 128, smem_bytes = 0> problem {} {
  %ids:3 = flash.grid_map ["split_tile", "kv_head", "batch"] extents ["1", "1", "1"] : index, index, index
  %c0 = arith.constant 0 : index
  // expected-error@+1 {{'flash.output_store' op is in a flash_decode kernel, whose packed rows flash.split_store writes}}
  flash.output_store o[%c0, %c0, %c0] extent %c0
}

// -----

// The merge lives in the attention_combine kernel, with a group of at least one head.
flash.kernel @k family attention_combine schedule #flash.schedule<algorithm = flash_decode, tile_q = 16, tile_kv = 64, tile_d = 128, stages = 2, warps = 1, chunk = 0, inner_q = 0, inner_kv = 0, tile_dv = 128, smem_bytes = 0> problem {} {
  %ids:3 = flash.grid_map ["query_tile", "kv_head", "batch"] extents ["1", "1", "1"] : index, index, index
  %c0 = arith.constant 0 : index
  // expected-error@+1 {{'flash.split_merge' op group = 0: the query heads per kv head must be >= 1}}
  flash.split_merge [%c0, %c0, %c0] extent %c0 splits %c0 partial_row %c0 split_rows %c0 group 0
}

// -----

// A merge kernel takes only the flash_decode schedule.
// expected-error@+1 {{'flash.kernel' op family attention_combine takes a flash_decode schedule, not flash2}}
flash.kernel @k family attention_combine schedule #flash.schedule<algorithm = flash2, tile_q = 64, tile_kv = 64, tile_d = 64, stages = 2, warps = 4, chunk = 0, inner_q = 0, inner_kv = 0, tile_dv = 64, smem_bytes = 0> problem {} {
  %ids:3 = flash.grid_map ["query_tile", "kv_head", "batch"] extents ["1", "1", "1"] : index, index, index
}

// -----

// Launch values are C names.
flash.kernel @k family attention schedule #flash.schedule<algorithm = flash_decode, tile_q = 16, tile_kv = 64, tile_d = 128, stages = 2, warps = 1, chunk = 0, inner_q = 0, inner_kv = 0, tile_dv = 128, smem_bytes = 0> problem {} {
  %ids:3 = flash.grid_map ["split_tile", "kv_head", "batch"] extents ["1", "1", "1"] : index, index, index
  // expected-error@+1 {{'flash.launch_value' op name 'kv splits' is not an identifier ([A-Za-z_][A-Za-z0-9_]*)}}
  %s = flash.launch_value "kv splits" expr "1"
}

// -----

// One in every 2 to 64 of the softmax's exponentials may leave the MUFU.
flash.kernel @k family attention schedule #flash.schedule<algorithm = flash2, tile_q = 64, tile_kv = 64, tile_d = 64, stages = 2, warps = 4, chunk = 0, inner_q = 0, inner_kv = 0, tile_dv = 64, smem_bytes = 0> problem {} {
  %ids:3 = flash.grid_map ["query_tile", "head", "batch"] extents ["1", "1", "1"] : index, index, index
  // expected-error@+1 {{'flash.softmax_update' op fma_exp2_every 1: one in every 2 to 64 exponentials}}
  flash.softmax_update masked fma_exp2_every 1
}

// -----

// The delta rule's value correction outside its kernel family.
flash.kernel @k family linear_fused schedule #flash.schedule<algorithm = chunk_fused, tile_q = 0, tile_kv = 0, tile_d = 0, stages = 2, warps = 4, chunk = 64, inner_q = 64, inner_kv = 64, tile_dv = 64, smem_bytes = 0> problem {} {
  %ids:3 = flash.grid_map ["value_tile", "head", "batch"] extents ["1", "1", "1"] : index, index, index
  %c0 = arith.constant 0 : index
  // expected-error@+1 {{'flash.chunk_delta' op must be inside a flash.kernel of family delta_fused, not linear_fused}}
  flash.chunk_delta stage %c0
}

// -----

// The delta rule's chunks take a scalar log-decay or none.
flash.kernel @k family delta_prepare schedule #flash.schedule<algorithm = chunk_fused, tile_q = 0, tile_kv = 0, tile_d = 0, stages = 2, warps = 4, chunk = 64, inner_q = 64, inner_kv = 64, tile_dv = 64, smem_bytes = 0> problem {} {
  %ids:3 = flash.grid_map ["value_tile", "head", "batch"] extents ["1", "1", "1"] : index, index, index
  %c0 = arith.constant 0 : index
  // expected-error@+1 {{'flash.chunk_wy' op has gate mlstm_sig; the delta rule's chunks take gate none or decay}}
  flash.chunk_wy [%c0, %c0, %c0] extent %c0 buffer %c0 gate mlstm_sig
}

// -----

// l2norm_qk's normalisation belongs to the delta rule's kernels.
flash.kernel @k family linear_states schedule #flash.schedule<algorithm = chunk_two_pass, tile_q = 0, tile_kv = 0, tile_d = 0, stages = 2, warps = 4, chunk = 64, inner_q = 64, inner_kv = 64, tile_dv = 64, smem_bytes = 0> problem {} {
  %ids:3 = flash.grid_map ["value_tile", "head", "batch"] extents ["1", "1", "1"] : index, index, index
  %c0 = arith.constant 0 : index
  // expected-error@+1 {{'flash.chunk_l2norm' op must be inside a flash.kernel of family delta_prepare, not linear_states}}
  flash.chunk_l2norm[%c0, %c0, %c0] extent %c0 stage %c0
}

// -----

// The row norms are the delta rule's scratch: no linear_fused kernel loads them.
flash.kernel @k family linear_fused schedule #flash.schedule<algorithm = chunk_fused, tile_q = 0, tile_kv = 0, tile_d = 0, stages = 2, warps = 4, chunk = 64, inner_q = 64, inner_kv = 64, tile_dv = 64, smem_bytes = 0> problem {gate = "none"} {
  %ids:3 = flash.grid_map ["value_tile", "head", "batch"] extents ["1", "1", "1"] : index, index, index
  %c0 = arith.constant 0 : index
  // expected-error@+1 {{'flash.chunk_load' op a linear_fused kernel has no tensor delta_norm (its tensors: q, k, v, g, o, scores, score_gates, score_key_sums)}}
  flash.chunk_load delta_norm[%c0, %c0, %c0, %c0] rows 64 cols 2 extent %c0 stage %c0
}

// -----

// lse and D travel through the ring only in the warpgroup kv kernels.
flash.kernel @k family attention_grad_kv schedule #flash.schedule<algorithm = flash2_grad, tile_q = 64, tile_kv = 64, tile_d = 64, stages = 2, warps = 4, chunk = 0, inner_q = 0, inner_kv = 0, tile_dv = 64, smem_bytes = 0> problem {} {
  %ids:3 = flash.grid_map ["key_tile", "kv_head", "batch"] extents ["1", "1", "1"] : index, index, index
  %c0 = arith.constant 0 : index
  // expected-error@+1 {{'flash.grad_rows' op keeps lse and D rows in the ring only in the attention_grad_kv kernels of warpgroup schedules (flash3_grad, flash3_grad_deterministic); this kernel is attention_grad_kv of flash2_grad}}
  flash.grad_rows [%c0, %c0, %c0] extent %c0 into stage %c0
}

// -----

flash.kernel @k family attention_grad_dq schedule #flash.schedule<algorithm = flash3_grad_deterministic, tile_q = 64, tile_kv = 64, tile_d = 64, stages = 2, warps = 4, chunk = 0, inner_q = 0, inner_kv = 0, tile_dv = 64, smem_bytes = 0> problem {} {
  %ids:3 = flash.grid_map ["query_tile", "head", "batch"] extents ["1", "1", "1"] : index, index, index
  %c0 = arith.constant 0 : index
  // expected-error@+1 {{'flash.grad_rows_staged' op keeps lse and D rows in the ring only in the attention_grad_kv kernels of warpgroup schedules (flash3_grad, flash3_grad_deterministic); this kernel is attention_grad_dq of flash3_grad_deterministic}}
  flash.grad_rows_staged stage %c0
}

// -----

// Only flash3_grad's reductions are bulk copies still in flight at the end.
flash.kernel @k family attention_grad_kv schedule #flash.schedule<algorithm = flash2_grad, tile_q = 64, tile_kv = 64, tile_d = 64, stages = 2, warps = 4, chunk = 0, inner_q = 0, inner_kv = 0, tile_dv = 64, smem_bytes = 0> problem {} {
  %ids:3 = flash.grid_map ["key_tile", "kv_head", "batch"] extents ["1", "1", "1"] : index, index, index
  // expected-error@+1 {{'flash.accum_flush' op waits for bulk reductions, which only the warpgroup schedule (flash3_grad) issues}}
  flash.accum_flush
}

// -----

// TMA ring copies (flash-warp-specialize's, passes/GradTmaCopies.h): only the
// q and dout ring of a warpgroup kv kernel, and only as async copies.
flash.kernel @k family attention_grad_kv schedule #flash.schedule<algorithm = flash2_grad, tile_q = 64, tile_kv = 64, tile_d = 64, stages = 2, warps = 4, chunk = 0, inner_q = 0, inner_kv = 0, tile_dv = 64, smem_bytes = 0> problem {} {
  %ids:3 = flash.grid_map ["key_tile", "kv_head", "batch"] extents ["1", "1", "1"] : index, index, index
  %c0 = arith.constant 0 : index
  // expected-error@+1 {{'flash.tile_load' op copies with TMA in a attention_grad_kv kernel of algorithm flash2_grad; only the ring of a flash3_grad or flash3_grad_deterministic attention_grad_kv or attention_grad_dq kernel does}}
  flash.tile_load q[%c0, %c0, %c0] rows 64 extent %c0 stage %c0 async tma
}

// -----

flash.kernel @k family attention_grad_kv schedule #flash.schedule<algorithm = flash3_grad, tile_q = 64, tile_kv = 128, tile_d = 64, stages = 2, warps = 8, chunk = 0, inner_q = 0, inner_kv = 0, tile_dv = 64, smem_bytes = 0> problem {} {
  %ids:3 = flash.grid_map ["key_tile", "kv_head", "batch"] extents ["1", "1", "1"] : index, index, index
  %c0 = arith.constant 0 : index
  // expected-error@+1 {{'flash.tile_load' op copies k with TMA; the kv kernel's ring holds q and dout}}
  flash.tile_load k[%c0, %c0, %c0] rows 128 extent %c0 stage %c0 async tma
}

// -----

flash.kernel @k family attention_grad_kv schedule #flash.schedule<algorithm = flash3_grad, tile_q = 64, tile_kv = 128, tile_d = 64, stages = 2, warps = 8, chunk = 0, inner_q = 0, inner_kv = 0, tile_dv = 64, smem_bytes = 0> problem {} {
  %ids:3 = flash.grid_map ["key_tile", "kv_head", "batch"] extents ["1", "1", "1"] : index, index, index
  %c0 = arith.constant 0 : index
  // expected-error@+1 {{'flash.tile_load' op copies with TMA but is not async: its cp.async fallback joins a copy group}}
  flash.tile_load dout[%c0, %c0, %c0] rows 64 extent %c0 stage %c0 tma
}

// -----

flash.kernel @k family attention_grad_dq schedule #flash.schedule<algorithm = flash3_grad_deterministic, tile_q = 64, tile_kv = 64, tile_d = 64, stages = 2, warps = 4, chunk = 0, inner_q = 0, inner_kv = 0, tile_dv = 64, smem_bytes = 0> problem {} {
  %ids:3 = flash.grid_map ["query_tile", "head", "batch"] extents ["1", "1", "1"] : index, index, index
  %c0 = arith.constant 0 : index
  // expected-error@+1 {{'flash.tile_landed' op copies q with TMA; the dq kernel's ring holds k and v}}
  flash.tile_landed q round %c0
}

// -----

// A feature map maps the staged q and k tiles only.
flash.kernel @k family linear_fused schedule #flash.schedule<algorithm = chunk_fused, tile_q = 0, tile_kv = 0, tile_d = 0, stages = 2, warps = 4, chunk = 64, inner_q = 64, inner_kv = 64, tile_dv = 64, smem_bytes = 0> problem {} {
  %ids:3 = flash.grid_map ["query_tile", "head", "batch"] extents ["1", "1", "1"] : index, index, index
  %c0 = arith.constant 0 : index
  // expected-error@+1 {{'flash.chunk_feature_map' op tensor v is not q or k}}
  flash.chunk_feature_map v[%c0, %c0, %c0] extent %c0 stage %c0 {
  ^bb0(%x: f32, %b: index, %h: index, %t: index, %d: index):
    flash.yield %x : f32
  }
}

// -----

// ... and a linear_states kernel stages no q.
flash.kernel @k family linear_states schedule #flash.schedule<algorithm = chunk_two_pass, tile_q = 0, tile_kv = 0, tile_d = 0, stages = 2, warps = 4, chunk = 64, inner_q = 64, inner_kv = 64, tile_dv = 64, smem_bytes = 0> problem {} {
  %ids:3 = flash.grid_map ["query_tile", "head", "batch"] extents ["1", "1", "1"] : index, index, index
  %c0 = arith.constant 0 : index
  // expected-error@+1 {{'flash.chunk_feature_map' op a linear_states kernel has no tensor q (its tensors: k, v, g)}}
  flash.chunk_feature_map q[%c0, %c0, %c0] extent %c0 stage %c0 {
  ^bb0(%x: f32, %b: index, %h: index, %t: index, %d: index):
    flash.yield %x : f32
  }
}

// -----

// The gradient's kernels take no feature map (flash-derive-backward
// refuses one).
flash.kernel @k family linear_grad_chunk schedule #flash.schedule<algorithm = chunk_grad, tile_q = 0, tile_kv = 0, tile_d = 0, stages = 2, warps = 4, chunk = 64, inner_q = 64, inner_kv = 64, tile_dv = 64, smem_bytes = 0> problem {} {
  %ids:3 = flash.grid_map ["query_tile", "head", "batch"] extents ["1", "1", "1"] : index, index, index
  %c0 = arith.constant 0 : index
  // expected-error@+1 {{'flash.chunk_feature_map' op maps q and k with a feature_map in a linear_grad_chunk kernel; only linear_fused, linear_states, linear_outputs and recurrent_step kernels take one}}
  flash.chunk_feature_map k[%c0, %c0, %c0] extent %c0 stage %c0 {
  ^bb0(%x: f32, %b: index, %h: index, %t: index, %d: index):
    flash.yield %x : f32
  }
}

// -----

// The region has the op's feature_map signature.
flash.kernel @k family linear_fused schedule #flash.schedule<algorithm = chunk_fused, tile_q = 0, tile_kv = 0, tile_d = 0, stages = 2, warps = 4, chunk = 64, inner_q = 64, inner_kv = 64, tile_dv = 64, smem_bytes = 0> problem {} {
  %ids:3 = flash.grid_map ["query_tile", "head", "batch"] extents ["1", "1", "1"] : index, index, index
  %c0 = arith.constant 0 : index
  // expected-error@+1 {{'flash.chunk_feature_map' op the feature map must take (x: f32, b, h, t, d: index) and yield f32 (flash.yield)}}
  flash.chunk_feature_map k[%c0, %c0, %c0] extent %c0 stage %c0 {
  ^bb0(%x: f32, %b: index):
    flash.yield %x : f32
  }
}

// -----

// A step kernel maps q and k as it stores them: the same signature.
flash.kernel @k family recurrent_step schedule #flash.schedule<algorithm = recurrent_step, tile_q = 0, tile_kv = 0, tile_d = 0, stages = 1, warps = 4, chunk = 1, inner_q = 0, inner_kv = 0, tile_dv = 64, smem_bytes = 0> problem {} {
  %ids:3 = flash.grid_map ["value_tile", "head", "batch"] extents ["1", "1", "1"] : index, index, index
  %c0 = arith.constant 0 : index
  // expected-error@+1 {{'flash.step_load' op feature_map must take (x: f32, b, h, t, d: index) and yield f32 (flash.yield)}}
  flash.step_load[%c0, %c0, %c0, %c0] extent %c0 gate none feature_map {
  ^bb0(%x: f32, %b: index, %h: index, %t: index, %d: index):
    %i = arith.constant 0 : index
    flash.yield %i : index
  }
}

// -----

// A mask_lists pre-pass runs under the forward's tile schedules or the
// backward's (whose kv kernel walks transposed lists), not flash_decode.
// expected-error@+1 {{'flash.kernel' op family attention_mask_lists takes a flash2, flash3, flash2_grad, flash2_grad_deterministic, flash3_grad or flash3_grad_deterministic schedule, not flash_decode}}
flash.kernel @k family attention_mask_lists schedule #flash.schedule<algorithm = flash_decode, tile_q = 64, tile_kv = 64, tile_d = 64, stages = 2, warps = 4, chunk = 0, inner_q = 0, inner_kv = 0, tile_dv = 64, smem_bytes = 0, mask_lists = 1> problem {} {
  %ids:3 = flash.grid_map ["key_block", "head", "batch"] extents ["1", "1", "1"] : index, index, index
}

// -----

// The transposed lists' region takes the query tile: one index argument.
flash.kernel @k family attention_mask_lists schedule #flash.schedule<algorithm = flash3_grad, tile_q = 64, tile_kv = 128, tile_d = 128, stages = 2, warps = 8, chunk = 0, inner_q = 0, inner_kv = 0, tile_dv = 128, smem_bytes = 0, mask_lists = 1> problem {} {
  %ids:3 = flash.grid_map ["key_block", "head", "batch"] extents ["1", "1", "1"] : index, index, index
  %c0 = arith.constant 0 : index
  // expected-error@+1 {{'flash.tile_classify' op takes one index argument, the listed tile (a key tile, or with `transposed` a query tile); it has 2 arguments}}
  flash.tile_classify[%ids#2, %ids#1, %ids#0] tiles %c0 to %c0 attributes {transposed} {
  ^bb0(%qt: index, %extra: index):
    %c1 = arith.constant 1 : i32
    flash.yield %c1 : i32
  }
}

// -----

// Lists belong to a mask_lists schedule.
flash.kernel @k family attention_mask_lists schedule #flash.schedule<algorithm = flash3_grad, tile_q = 64, tile_kv = 128, tile_d = 128, stages = 2, warps = 8, chunk = 0, inner_q = 0, inner_kv = 0, tile_dv = 128, smem_bytes = 0> problem {} {
  %ids:3 = flash.grid_map ["key_block", "head", "batch"] extents ["1", "1", "1"] : index, index, index
  %c0 = arith.constant 0 : index
  // expected-error@+1 {{'flash.tile_classify' op writes a mask_lists schedule's lists; this kernel's schedule has mask_lists = 0}}
  flash.tile_classify[%ids#2, %ids#1, %ids#0] tiles %c0 to %c0 attributes {transposed} {
  ^bb0(%qt: index):
    %c1 = arith.constant 1 : i32
    flash.yield %c1 : i32
  }
}

// -----

// chunk_grad reads the boundary states a chunk_grad_stage of its chunk
// started copying with the rows.
flash.kernel @k family linear_grad_chunk schedule #flash.schedule<algorithm = chunk_grad, tile_q = 0, tile_kv = 0, tile_d = 0, stages = 2, warps = 2, chunk = 32, inner_q = 32, inner_kv = 32, tile_dv = 32, smem_bytes = 0> problem {} {
  %ids:3 = flash.grid_map ["chunk", "head", "batch"] extents ["1", "1", "1"] : index, index, index
  %c0 = arith.constant 0 : index
  // expected-error@+1 {{'flash.chunk_grad' op needs a flash.chunk_grad_stage of the same chunk and gate earlier in its block (in flash.chunk_rounds: of its round's chunk and of the next round's): it stages the boundary states chunk_grad reads}}
  flash.chunk_grad[%ids#2, %ids#1, %ids#0] extent %c0 stage %c0 buffer %c0 gate decay {
  ^bb0(%a: f32, %b: f32, %c: f32, %d: f32, %e: f32, %f: f32, %r: index, %s: index):
    %x = arith.subf %b, %d : f32
    %v = arith.cmpi sle, %s, %r : index
    flash.decay_yield %x, %v
  }
}

// -----

// flash.chunk_rounds runs the persistent form: its kernel's schedule says so.
flash.kernel @k family linear_grad_chunk schedule #flash.schedule<algorithm = chunk_grad, tile_q = 0, tile_kv = 0, tile_d = 0, stages = 2, warps = 2, chunk = 32, inner_q = 32, inner_kv = 32, tile_dv = 32, smem_bytes = 0> problem {} {
  // expected-error@+1 {{'flash.chunk_rounds' op needs a persistent schedule (persistent = 1); this kernel's has persistent = 0}}
  flash.chunk_rounds ["chunk", "head", "batch"] extents ["1", "1", "1"] {
  ^bb0(%c: index, %h: index, %b: index, %r: index, %nc: index, %nh: index, %nb: index, %more: i1):
  }
}

// -----

// In rounds, chunk_grad's states are staged for its round's chunk (the
// first round) and for the next round's; the next round's is missing here.
flash.kernel @k family linear_grad_chunk schedule #flash.schedule<algorithm = chunk_grad, tile_q = 0, tile_kv = 0, tile_d = 0, stages = 2, warps = 2, chunk = 32, inner_q = 32, inner_kv = 32, tile_dv = 32, smem_bytes = 0, persistent = 1> problem {} {
  flash.chunk_rounds ["chunk", "head", "batch"] extents ["1", "1", "1"] {
  ^bb0(%c: index, %h: index, %b: index, %r: index, %nc: index, %nh: index, %nb: index, %more: i1):
    %c0 = arith.constant 0 : index
    %first = arith.cmpi eq, %r, %c0 : index
    scf.if %first {
      flash.chunk_grad_stage[%b, %h, %c] gate decay
    }
    flash.barrier
    // expected-error@+1 {{'flash.chunk_grad' op needs a flash.chunk_grad_stage}}
    flash.chunk_grad[%b, %h, %c] extent %c0 stage %c0 buffer %c0 gate decay {
    ^bb0(%a: f32, %b1: f32, %c1: f32, %d: f32, %e: f32, %f: f32, %r1: index, %s: index):
      %x = arith.subf %b1, %d : f32
      %v = arith.cmpi sle, %s, %r1 : index
      flash.decay_yield %x, %v
    }
  }
}

// -----

// The boundary states are the gradient chunk kernel's.
flash.kernel @k family linear_fused schedule #flash.schedule<algorithm = chunk_fused, tile_q = 0, tile_kv = 0, tile_d = 0, stages = 2, warps = 4, chunk = 64, inner_q = 64, inner_kv = 64, tile_dv = 64, smem_bytes = 0> problem {} {
  %ids:3 = flash.grid_map ["query_tile", "head", "batch"] extents ["1", "1", "1"] : index, index, index
  %c0 = arith.constant 0 : index
  // expected-error@+1 {{'flash.chunk_grad_stage' op must be inside a flash.kernel of family linear_grad_chunk, not linear_fused}}
  flash.chunk_grad_stage[%c0, %c0, %c0] gate decay
}
