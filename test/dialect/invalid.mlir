// RUN: flashgen-opt %s -split-input-file -verify-diagnostics
// Every verifier rule of the flash dialect, one error per case, with the
// message a user sees.

// GQA: query heads must be a multiple of kv heads
func.func @f(%q: tensor<?x32x?x128xbf16>, %k: tensor<?x6x?x128xbf16>, %v: tensor<?x6x?x128xbf16>) -> tensor<?x32x?x128xbf16> {
  // expected-error@+1 {{q has 32 heads, k has 6: query heads must be a multiple of key/value heads}}
  %o = flash.attention %q, %k, %v  : tensor<?x32x?x128xbf16>, tensor<?x6x?x128xbf16>, tensor<?x6x?x128xbf16> -> tensor<?x32x?x128xbf16>
  return %o : tensor<?x32x?x128xbf16>
}

// -----

// k and v head counts differ
func.func @f(%q: tensor<?x8x?x64xbf16>, %k: tensor<?x4x?x64xbf16>, %v: tensor<?x2x?x64xbf16>) -> tensor<?x8x?x64xbf16> {
  // expected-error@+1 {{k has 4 heads, v has 2: key and value head counts must match}}
  %o = flash.attention %q, %k, %v  : tensor<?x8x?x64xbf16>, tensor<?x4x?x64xbf16>, tensor<?x2x?x64xbf16> -> tensor<?x8x?x64xbf16>
  return %o : tensor<?x8x?x64xbf16>
}

// -----

// head dims differ
func.func @f(%q: tensor<?x8x?x64xbf16>, %k: tensor<?x8x?x32xbf16>, %v: tensor<?x8x?x64xbf16>) -> tensor<?x8x?x64xbf16> {
  // expected-error@+1 {{q has head dimension 64, k has 32: they must match}}
  %o = flash.attention %q, %k, %v  : tensor<?x8x?x64xbf16>, tensor<?x8x?x32xbf16>, tensor<?x8x?x64xbf16> -> tensor<?x8x?x64xbf16>
  return %o : tensor<?x8x?x64xbf16>
}

// -----

// element types differ
func.func @f(%q: tensor<?x8x?x64xbf16>, %k: tensor<?x8x?x64xf16>, %v: tensor<?x8x?x64xbf16>) -> tensor<?x8x?x64xbf16> {
  // expected-error@+1 {{k has element type 'f16', q has 'bf16': they must match}}
  %o = flash.attention %q, %k, %v  : tensor<?x8x?x64xbf16>, tensor<?x8x?x64xf16>, tensor<?x8x?x64xbf16> -> tensor<?x8x?x64xbf16>
  return %o : tensor<?x8x?x64xbf16>
}

// -----

// rank
func.func @f(%q: tensor<8x16x64xbf16>, %k: tensor<1x8x16x64xbf16>, %v: tensor<1x8x16x64xbf16>) -> tensor<8x16x64xbf16> {
  // expected-error@+1 {{q must be a rank-4 tensor [B, Hq, N, D], got rank 3}}
  %o = flash.attention %q, %k, %v  : tensor<8x16x64xbf16>, tensor<1x8x16x64xbf16>, tensor<1x8x16x64xbf16> -> tensor<8x16x64xbf16>
  return %o : tensor<8x16x64xbf16>
}

// -----

// dynamic head count
func.func @f(%q: tensor<?x?x?x64xbf16>, %k: tensor<?x8x?x64xbf16>, %v: tensor<?x8x?x64xbf16>) -> tensor<?x8x?x64xbf16> {
  // expected-error@+1 {{q's head count (dim 1) must be static}}
  %o = flash.attention %q, %k, %v  : tensor<?x?x?x64xbf16>, tensor<?x8x?x64xbf16>, tensor<?x8x?x64xbf16> -> tensor<?x8x?x64xbf16>
  return %o : tensor<?x8x?x64xbf16>
}

// -----

// dynamic head dim
func.func @f(%q: tensor<?x8x?x?xbf16>, %k: tensor<?x8x?x64xbf16>, %v: tensor<?x8x?x64xbf16>) -> tensor<?x8x?x64xbf16> {
  // expected-error@+1 {{q's head dimension (dim 3) must be static}}
  %o = flash.attention %q, %k, %v  : tensor<?x8x?x?xbf16>, tensor<?x8x?x64xbf16>, tensor<?x8x?x64xbf16> -> tensor<?x8x?x64xbf16>
  return %o : tensor<?x8x?x64xbf16>
}

// -----

// batch mismatch
func.func @f(%q: tensor<2x8x16x64xbf16>, %k: tensor<3x8x16x64xbf16>, %v: tensor<3x8x16x64xbf16>) -> tensor<2x8x16x64xbf16> {
  // expected-error@+1 {{q has batch size 2, k has 3: they must match}}
  %o = flash.attention %q, %k, %v  : tensor<2x8x16x64xbf16>, tensor<3x8x16x64xbf16>, tensor<3x8x16x64xbf16> -> tensor<2x8x16x64xbf16>
  return %o : tensor<2x8x16x64xbf16>
}

// -----

// key length mismatch
func.func @f(%q: tensor<2x8x16x64xbf16>, %k: tensor<2x8x16x64xbf16>, %v: tensor<2x8x17x64xbf16>) -> tensor<2x8x16x64xbf16> {
  // expected-error@+1 {{k has key length 16, v has 17: they must match}}
  %o = flash.attention %q, %k, %v  : tensor<2x8x16x64xbf16>, tensor<2x8x16x64xbf16>, tensor<2x8x17x64xbf16> -> tensor<2x8x16x64xbf16>
  return %o : tensor<2x8x16x64xbf16>
}

// -----

// result value dim
func.func @f(%q: tensor<?x8x?x64xbf16>, %k: tensor<?x8x?x64xbf16>, %v: tensor<?x8x?x32xbf16>) -> tensor<?x8x?x64xbf16> {
  // expected-error@+1 {{result has shape [?, 8, ?, 64], expected [B, 8, N, 32] (query heads, value dim)}}
  %o = flash.attention %q, %k, %v  : tensor<?x8x?x64xbf16>, tensor<?x8x?x64xbf16>, tensor<?x8x?x32xbf16> -> tensor<?x8x?x64xbf16>
  return %o : tensor<?x8x?x64xbf16>
}

// -----

// query length of result
func.func @f(%q: tensor<2x8x16x64xbf16>, %k: tensor<2x8x16x64xbf16>, %v: tensor<2x8x16x64xbf16>) -> tensor<2x8x15x64xbf16> {
  // expected-error@+1 {{q has query length 16, result has 15: they must match}}
  %o = flash.attention %q, %k, %v  : tensor<2x8x16x64xbf16>, tensor<2x8x16x64xbf16>, tensor<2x8x16x64xbf16> -> tensor<2x8x15x64xbf16>
  return %o : tensor<2x8x15x64xbf16>
}

// -----

// sliding window without size
func.func @f(%q: tensor<?x8x?x64xbf16>, %k: tensor<?x8x?x64xbf16>, %v: tensor<?x8x?x64xbf16>) -> tensor<?x8x?x64xbf16> {
  // expected-error@+1 {{mask sliding_window needs a window size (window N)}}
  %o = flash.attention %q, %k, %v mask sliding_window : tensor<?x8x?x64xbf16>, tensor<?x8x?x64xbf16>, tensor<?x8x?x64xbf16> -> tensor<?x8x?x64xbf16>
  return %o : tensor<?x8x?x64xbf16>
}

// -----

// window without sliding_window
func.func @f(%q: tensor<?x8x?x64xbf16>, %k: tensor<?x8x?x64xbf16>, %v: tensor<?x8x?x64xbf16>) -> tensor<?x8x?x64xbf16> {
  // expected-error@+1 {{window 64 is given but mask is causal: window needs mask sliding_window}}
  %o = flash.attention %q, %k, %v mask causal window 64 : tensor<?x8x?x64xbf16>, tensor<?x8x?x64xbf16>, tensor<?x8x?x64xbf16> -> tensor<?x8x?x64xbf16>
  return %o : tensor<?x8x?x64xbf16>
}

// -----

// non-positive window
func.func @f(%q: tensor<?x8x?x64xbf16>, %k: tensor<?x8x?x64xbf16>, %v: tensor<?x8x?x64xbf16>) -> tensor<?x8x?x64xbf16> {
  // expected-error@+1 {{window must be positive, got 0}}
  %o = flash.attention %q, %k, %v mask sliding_window window 0 : tensor<?x8x?x64xbf16>, tensor<?x8x?x64xbf16>, tensor<?x8x?x64xbf16> -> tensor<?x8x?x64xbf16>
  return %o : tensor<?x8x?x64xbf16>
}

// -----

// zero scale
func.func @f(%q: tensor<?x8x?x64xbf16>, %k: tensor<?x8x?x64xbf16>, %v: tensor<?x8x?x64xbf16>) -> tensor<?x8x?x64xbf16> {
  // expected-error@+1 {{scale must be finite and non-zero, got 0}}
  %o = flash.attention %q, %k, %v scale 0.0 : tensor<?x8x?x64xbf16>, tensor<?x8x?x64xbf16>, tensor<?x8x?x64xbf16> -> tensor<?x8x?x64xbf16>
  return %o : tensor<?x8x?x64xbf16>
}

// -----

// dims count
func.func @f(%q: tensor<?x8x?x64xbf16>, %k: tensor<?x8x?x64xbf16>, %v: tensor<?x8x?x64xbf16>) -> tensor<?x8x?x64xbf16> {
  // expected-error@+1 {{dims names 2 dimensions, expected 3 (batch, query length, key length)}}
  %o = flash.attention %q, %k, %v dims ["B", "N"] : tensor<?x8x?x64xbf16>, tensor<?x8x?x64xbf16>, tensor<?x8x?x64xbf16> -> tensor<?x8x?x64xbf16>
  return %o : tensor<?x8x?x64xbf16>
}

// -----

// dims identifier
func.func @f(%q: tensor<?x8x?x64xbf16>, %k: tensor<?x8x?x64xbf16>, %v: tensor<?x8x?x64xbf16>) -> tensor<?x8x?x64xbf16> {
  // expected-error@+1 {{dims entry "N-1" is not an identifier}}
  %o = flash.attention %q, %k, %v dims ["B", "N-1", "M"] : tensor<?x8x?x64xbf16>, tensor<?x8x?x64xbf16>, tensor<?x8x?x64xbf16> -> tensor<?x8x?x64xbf16>
  return %o : tensor<?x8x?x64xbf16>
}

// -----

// shared dim name, different static sizes
func.func @f(%q: tensor<1x8x16x64xbf16>, %k: tensor<1x8x32x64xbf16>, %v: tensor<1x8x32x64xbf16>) -> tensor<1x8x16x64xbf16> {
  // expected-error@+1 {{q has length bound to N 16, k has 32: they must match}}
  %o = flash.attention %q, %k, %v dims ["B", "N", "N"] : tensor<1x8x16x64xbf16>, tensor<1x8x32x64xbf16>, tensor<1x8x32x64xbf16> -> tensor<1x8x16x64xbf16>
  return %o : tensor<1x8x16x64xbf16>
}

// -----

// score_mod arity
func.func @f(%q: tensor<?x8x?x64xbf16>, %k: tensor<?x8x?x64xbf16>, %v: tensor<?x8x?x64xbf16>) -> tensor<?x8x?x64xbf16> {
  // expected-error@+1 {{score_mod takes 5 arguments (score: f32, b, h, i, j: index), got 4}}
  %o = flash.attention %q, %k, %v  score_mod {
  ^bb0(%s: f32, %b: index, %h: index, %i: index):
    flash.yield %s : f32
  } : tensor<?x8x?x64xbf16>, tensor<?x8x?x64xbf16>, tensor<?x8x?x64xbf16> -> tensor<?x8x?x64xbf16>
  return %o : tensor<?x8x?x64xbf16>
}

// -----

// score_mod arg type
func.func @f(%q: tensor<?x8x?x64xbf16>, %k: tensor<?x8x?x64xbf16>, %v: tensor<?x8x?x64xbf16>) -> tensor<?x8x?x64xbf16> {
  // expected-error@+1 {{score_mod argument #0 must be 'f32' (score: f32, b, h, i, j: index), got 'f16'}}
  %o = flash.attention %q, %k, %v  score_mod {
  ^bb0(%s: f16, %b: index, %h: index, %i: index, %j: index):
    %x = arith.extf %s : f16 to f32
    flash.yield %x : f32
  } : tensor<?x8x?x64xbf16>, tensor<?x8x?x64xbf16>, tensor<?x8x?x64xbf16> -> tensor<?x8x?x64xbf16>
  return %o : tensor<?x8x?x64xbf16>
}

// -----

// mask_mod yields f32
func.func @f(%q: tensor<?x8x?x64xbf16>, %k: tensor<?x8x?x64xbf16>, %v: tensor<?x8x?x64xbf16>) -> tensor<?x8x?x64xbf16> {
  // expected-error@+4 {{'flash.yield' op in mask_mod must yield 'i1', got 'f32'}}
  %o = flash.attention %q, %k, %v  mask_mod {
  ^bb0(%b: index, %h: index, %i: index, %j: index):
    %c = arith.constant 1.0 : f32
    flash.yield %c : f32
  } : tensor<?x8x?x64xbf16>, tensor<?x8x?x64xbf16>, tensor<?x8x?x64xbf16> -> tensor<?x8x?x64xbf16>
  return %o : tensor<?x8x?x64xbf16>
}

// -----

// gate operand count
func.func @f(%q: tensor<?x4x?x64xbf16>, %k: tensor<?x4x?x64xbf16>, %v: tensor<?x4x?x64xbf16>) {
  // expected-error@+1 {{gate decay takes 1 gate operand(s), got 0}}
  %o = flash.linear_attention %q, %k, %v gate decay : tensor<?x4x?x64xbf16>, tensor<?x4x?x64xbf16>, tensor<?x4x?x64xbf16> -> tensor<?x4x?x64xbf16>
  return
}

// -----

// mlstm needs two gates
func.func @f(%q: tensor<?x4x?x64xbf16>, %k: tensor<?x4x?x64xbf16>, %v: tensor<?x4x?x64xbf16>, %g: tensor<?x4x?xf32>) {
  // expected-error@+1 {{gate mlstm_exp takes 2 gate operand(s), got 1}}
  %o = flash.linear_attention %q, %k, %v gate mlstm_exp gates(%g : tensor<?x4x?xf32>) : tensor<?x4x?x64xbf16>, tensor<?x4x?x64xbf16>, tensor<?x4x?x64xbf16> -> tensor<?x4x?x64xbf16>
  return
}

// -----

// vector gate shape
func.func @f(%q: tensor<?x4x?x64xbf16>, %k: tensor<?x4x?x64xbf16>, %v: tensor<?x4x?x64xbf16>, %g: tensor<?x4x?xf32>) {
  // expected-error@+1 {{log-decay has shape [?, 4, ?], expected [B, 4, T, 64]}}
  %o = flash.linear_attention %q, %k, %v gate vector gates(%g : tensor<?x4x?xf32>) : tensor<?x4x?x64xbf16>, tensor<?x4x?x64xbf16>, tensor<?x4x?x64xbf16> -> tensor<?x4x?x64xbf16>
  return
}

// -----

// decay gate heads
func.func @f(%q: tensor<?x4x?x64xbf16>, %k: tensor<?x4x?x64xbf16>, %v: tensor<?x4x?x64xbf16>, %g: tensor<?x2x?xf32>) {
  // expected-error@+1 {{log-decay has shape [?, 2, ?], expected [B, 4, T]}}
  %o = flash.linear_attention %q, %k, %v gate decay gates(%g : tensor<?x2x?xf32>) : tensor<?x4x?x64xbf16>, tensor<?x4x?x64xbf16>, tensor<?x4x?x64xbf16> -> tensor<?x4x?x64xbf16>
  return
}

// -----

// head counts differ
func.func @f(%q: tensor<?x4x?x64xbf16>, %k: tensor<?x2x?x64xbf16>, %v: tensor<?x4x?x64xbf16>) {
  // expected-error@+1 {{q has 4 heads, k has 2, v has 4: a linear recurrence needs equal head counts}}
  %o = flash.linear_attention %q, %k, %v : tensor<?x4x?x64xbf16>, tensor<?x2x?x64xbf16>, tensor<?x4x?x64xbf16> -> tensor<?x4x?x64xbf16>
  return
}

// -----

// key dims differ
func.func @f(%q: tensor<?x4x?x64xbf16>, %k: tensor<?x4x?x32xbf16>, %v: tensor<?x4x?x64xbf16>) {
  // expected-error@+1 {{q has key dimension 64, k has 32: they must match}}
  %o = flash.linear_attention %q, %k, %v : tensor<?x4x?x64xbf16>, tensor<?x4x?x32xbf16>, tensor<?x4x?x64xbf16> -> tensor<?x4x?x64xbf16>
  return
}

// -----

// length mismatch
func.func @f(%q: tensor<2x4x10x64xbf16>, %k: tensor<2x4x11x64xbf16>, %v: tensor<2x4x10x64xbf16>) {
  // expected-error@+1 {{q has length 10, k has 11: they must match}}
  %o = flash.linear_attention %q, %k, %v : tensor<2x4x10x64xbf16>, tensor<2x4x11x64xbf16>, tensor<2x4x10x64xbf16> -> tensor<2x4x10x64xbf16>
  return
}

// -----

// initial state count for mlstm_exp
func.func @f(%q: tensor<?x4x?x64xbf16>, %k: tensor<?x4x?x64xbf16>, %v: tensor<?x4x?x64xbf16>, %i: tensor<?x4x?xf32>, %f: tensor<?x4x?xf32>, %s: tensor<?x4x64x64xf32>) {
  // expected-error@+1 {{initial state has 1 tensor(s), gate mlstm_exp carries 3}}
  %o = flash.linear_attention %q, %k, %v gate mlstm_exp gates(%i, %f : tensor<?x4x?xf32>, tensor<?x4x?xf32>) initial(%s : tensor<?x4x64x64xf32>) : tensor<?x4x?x64xbf16>, tensor<?x4x?x64xbf16>, tensor<?x4x?x64xbf16> -> tensor<?x4x?x64xbf16>
  return
}

// -----

// initial state shape
func.func @f(%q: tensor<?x4x?x64xbf16>, %k: tensor<?x4x?x64xbf16>, %v: tensor<?x4x?x64xbf16>, %s: tensor<?x4x64x32xf32>) {
  // expected-error@+1 {{initial state C has shape [?, 4, 64, 32], expected [B, 4, 64, 64]}}
  %o = flash.linear_attention %q, %k, %v initial(%s : tensor<?x4x64x32xf32>) : tensor<?x4x?x64xbf16>, tensor<?x4x?x64xbf16>, tensor<?x4x?x64xbf16> -> tensor<?x4x?x64xbf16>
  return
}

// -----

// final state without return_final_state
func.func @f(%q: tensor<?x4x?x64xbf16>, %k: tensor<?x4x?x64xbf16>, %v: tensor<?x4x?x64xbf16>) {
  // expected-error@+1 {{state results need return_final_state}}
  %o, %s = flash.linear_attention %q, %k, %v : tensor<?x4x?x64xbf16>, tensor<?x4x?x64xbf16>, tensor<?x4x?x64xbf16> -> tensor<?x4x?x64xbf16>, tensor<?x4x64x64xf32>
  return
}

// -----

// return_final_state without results
func.func @f(%q: tensor<?x4x?x64xbf16>, %k: tensor<?x4x?x64xbf16>, %v: tensor<?x4x?x64xbf16>) {
  // expected-error@+1 {{return_final_state needs 1 state result(s) for gate none, got 0}}
  %o = flash.linear_attention %q, %k, %v return_final_state : tensor<?x4x?x64xbf16>, tensor<?x4x?x64xbf16>, tensor<?x4x?x64xbf16> -> tensor<?x4x?x64xbf16>
  return
}

// -----

// dims count
func.func @f(%q: tensor<?x4x?x64xbf16>, %k: tensor<?x4x?x64xbf16>, %v: tensor<?x4x?x64xbf16>) {
  // expected-error@+1 {{dims names 1 dimensions, expected 2 (batch, length)}}
  %o = flash.linear_attention %q, %k, %v dims ["B"] : tensor<?x4x?x64xbf16>, tensor<?x4x?x64xbf16>, tensor<?x4x?x64xbf16> -> tensor<?x4x?x64xbf16>
  return
}

// -----

// value dim of result
func.func @f(%q: tensor<?x4x?x64xbf16>, %k: tensor<?x4x?x64xbf16>, %v: tensor<?x4x?x64xbf16>) {
  // expected-error@+1 {{result has shape [?, 4, ?, 32], expected [B, 4, T, 64]}}
  %o = flash.linear_attention %q, %k, %v : tensor<?x4x?x64xbf16>, tensor<?x4x?x64xbf16>, tensor<?x4x?x64xbf16> -> tensor<?x4x?x32xbf16>
  return
}

// -----

// unsupported op in a region
func.func @f(%q: tensor<1x1x8x64xbf16>) -> tensor<1x1x8x64xbf16> {
  %o = flash.attention %q, %q, %q score_mod {
  ^bb0(%s: f32, %b: index, %h: index, %i: index, %j: index):
    // expected-error@+1 {{'math.sin' op is not supported in score_mod (allowed: arith and math scalar ops, see dialect/RegionOps.cpp)}}
    %x = math.sin %s : f32
    flash.yield %x : f32
  } : tensor<1x1x8x64xbf16>, tensor<1x1x8x64xbf16>, tensor<1x1x8x64xbf16> -> tensor<1x1x8x64xbf16>
  return %o : tensor<1x1x8x64xbf16>
}

// -----

// a shift of an index (its width is the target's): shifts take i32 or i64
func.func @f(%q: tensor<1x1x8x64xbf16>) -> tensor<1x1x8x64xbf16> {
  %o = flash.attention %q, %q, %q mask_mod {
  ^bb0(%b: index, %h: index, %i: index, %j: index):
    // expected-error@+1 {{'arith.shrui' op in mask_mod shifts i32 or i64 values, got 'index' (index_cast the operands first)}}
    %s = arith.shrui %i, %j : index
    %c1 = arith.constant 1 : index
    %keep = arith.cmpi eq, %s, %c1 : index
    flash.yield %keep : i1
  } : tensor<1x1x8x64xbf16>, tensor<1x1x8x64xbf16>, tensor<1x1x8x64xbf16> -> tensor<1x1x8x64xbf16>
  return %o : tensor<1x1x8x64xbf16>
}

// -----

// yield outside a flash op
func.func @f(%x: f32) {
  // expected-error@+1 {{'flash.yield' op expects parent op to be one of 'flash.attention, flash.attention_grad, flash.output_store, flash.linear_attention, flash.chunk_store, flash.step_store, flash.chunk_feature_map, flash.step_load, flash.tile_classify'}}
  flash.yield %x : f32
}
