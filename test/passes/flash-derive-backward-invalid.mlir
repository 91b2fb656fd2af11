// RUN: flashgen-opt -flash-derive-backward %s -split-input-file -verify-diagnostics
// An op without a derivative rule cannot get past the verifier (RegionOps.h
// and ScoreModDerivative.cpp list the same ops), so this case skips parse
// verification to reach the pass.
// RUN: flashgen-opt -mlir-very-unsafe-disable-verifier-on-parsing -flash-derive-backward %S/Inputs/score-mod-not-differentiable.mlir -verify-diagnostics

// The backward function's name is taken.
func.func @taken(%q: tensor<?x2x?x16xf32>, %k: tensor<?x2x?x16xf32>, %v: tensor<?x2x?x16xf32>) -> tensor<?x2x?x16xf32> {
  // expected-error@+1 {{flash-derive-backward: @taken_backward already exists; cannot add the backward function of @taken under that name}}
  %o = flash.attention %q, %k, %v : tensor<?x2x?x16xf32>, tensor<?x2x?x16xf32>, tensor<?x2x?x16xf32> -> tensor<?x2x?x16xf32>
  return %o : tensor<?x2x?x16xf32>
}
// expected-note@+1 {{the existing @taken_backward}}
func.func @taken_backward() {
  return
}

// -----

// Two attentions in one function: which one would the backward differentiate?
// expected-warning@+1 {{flash-derive-backward: @two holds 2 flash.attention ops; only functions with exactly one get a backward function}}
func.func @two(%q: tensor<?x2x?x16xf32>, %k: tensor<?x2x?x16xf32>, %v: tensor<?x2x?x16xf32>) -> (tensor<?x2x?x16xf32>, tensor<?x2x?x16xf32>) {
  %o = flash.attention %q, %k, %v : tensor<?x2x?x16xf32>, tensor<?x2x?x16xf32>, tensor<?x2x?x16xf32> -> tensor<?x2x?x16xf32>
  %p = flash.attention %q, %k, %v mask causal : tensor<?x2x?x16xf32>, tensor<?x2x?x16xf32>, tensor<?x2x?x16xf32> -> tensor<?x2x?x16xf32>
  return %o, %p : tensor<?x2x?x16xf32>, tensor<?x2x?x16xf32>
}

// -----

// A recurrence's output_mod has no gradient yet.
func.func @gated_recurrence(%q: tensor<?x2x?x64xbf16>, %k: tensor<?x2x?x64xbf16>, %v: tensor<?x2x?x64xbf16>) -> tensor<?x2x?x64xbf16> {
  // expected-error@+1 {{flash-derive-backward: the op has an output_mod, whose gradient is not built yet; derive the backward of the op without it and apply the modifier outside}}
  %o = flash.linear_attention %q, %k, %v dims ["B", "T"] output_mod {
  ^bb0(%x: f32, %b: index, %h: index, %t: index, %d: index):
    %two = arith.constant 2.0 : f32
    %y = arith.mulf %x, %two : f32
    flash.yield %y : f32
  } : tensor<?x2x?x64xbf16>, tensor<?x2x?x64xbf16>, tensor<?x2x?x64xbf16> -> tensor<?x2x?x64xbf16>
  return %o : tensor<?x2x?x64xbf16>
}
