// RUN: flashgen-opt %s -split-input-file -verify-diagnostics
// Every verifier rule of flash.delta_rule, one error per case.

func.func @f(%q: tensor<?x4x?x64xbf16>, %k: tensor<?x4x?x32xbf16>, %v: tensor<?x4x?x32xbf16>, %b: tensor<?x4x?xbf16>) -> tensor<?x4x?x32xbf16> {
  // expected-error@+1 {{q has key dimension 64, k has 32: they must match}}
  %o = flash.delta_rule %q, %k, %v, %b : tensor<?x4x?x64xbf16>, tensor<?x4x?x32xbf16>, tensor<?x4x?x32xbf16>, tensor<?x4x?xbf16> -> tensor<?x4x?x32xbf16>
  return %o : tensor<?x4x?x32xbf16>
}

// -----

func.func @f(%q: tensor<?x4x?x64xbf16>, %k: tensor<?x2x?x64xbf16>, %v: tensor<?x4x?x32xbf16>, %b: tensor<?x4x?xbf16>) -> tensor<?x4x?x32xbf16> {
  // expected-error@+1 {{q has 4 heads, k has 2, v has 4: the delta rule needs equal head counts}}
  %o = flash.delta_rule %q, %k, %v, %b : tensor<?x4x?x64xbf16>, tensor<?x2x?x64xbf16>, tensor<?x4x?x32xbf16>, tensor<?x4x?xbf16> -> tensor<?x4x?x32xbf16>
  return %o : tensor<?x4x?x32xbf16>
}

// -----

func.func @f(%q: tensor<2x4x10x64xbf16>, %k: tensor<2x4x10x64xbf16>, %v: tensor<2x4x10x32xbf16>, %b: tensor<2x4x9xbf16>) -> tensor<2x4x10x32xbf16> {
  // expected-error@+1 {{beta has shape [2, 4, 9], expected [B, 4, T]}}
  %o = flash.delta_rule %q, %k, %v, %b : tensor<2x4x10x64xbf16>, tensor<2x4x10x64xbf16>, tensor<2x4x10x32xbf16>, tensor<2x4x9xbf16> -> tensor<2x4x10x32xbf16>
  return %o : tensor<2x4x10x32xbf16>
}

// -----

func.func @f(%q: tensor<?x4x?x64xbf16>, %k: tensor<?x4x?x64xbf16>, %v: tensor<?x4x?x32xbf16>, %b: tensor<?x4xbf16>) -> tensor<?x4x?x32xbf16> {
  // expected-error@+1 {{beta must be a rank-3 tensor [B, H, T], got rank 2}}
  %o = flash.delta_rule %q, %k, %v, %b : tensor<?x4x?x64xbf16>, tensor<?x4x?x64xbf16>, tensor<?x4x?x32xbf16>, tensor<?x4xbf16> -> tensor<?x4x?x32xbf16>
  return %o : tensor<?x4x?x32xbf16>
}

// -----

func.func @f(%q: tensor<?x4x?x64xbf16>, %k: tensor<?x4x?x64xbf16>, %v: tensor<?x4x?x32xbf16>, %b: tensor<?x4x?xbf16>, %g: tensor<?x4x?x64xf32>) -> tensor<?x4x?x32xbf16> {
  // expected-error@+1 {{log-decay has shape [?, 4, ?, 64], expected [B, 4, T]}}
  %o = flash.delta_rule %q, %k, %v, %b decay(%g : tensor<?x4x?x64xf32>) : tensor<?x4x?x64xbf16>, tensor<?x4x?x64xbf16>, tensor<?x4x?x32xbf16>, tensor<?x4x?xbf16> -> tensor<?x4x?x32xbf16>
  return %o : tensor<?x4x?x32xbf16>
}

// -----

func.func @f(%q: tensor<?x4x?x64xbf16>, %k: tensor<?x4x?x64xbf16>, %v: tensor<?x4x?x32xbf16>, %b: tensor<?x4x?xbf16>, %s: tensor<?x4x32x64xf32>) -> tensor<?x4x?x32xbf16> {
  // expected-error@+1 {{initial state has shape [?, 4, 32, 64], expected [B, 4, 64, 32]}}
  %o = flash.delta_rule %q, %k, %v, %b initial(%s : tensor<?x4x32x64xf32>) : tensor<?x4x?x64xbf16>, tensor<?x4x?x64xbf16>, tensor<?x4x?x32xbf16>, tensor<?x4x?xbf16> -> tensor<?x4x?x32xbf16>
  return %o : tensor<?x4x?x32xbf16>
}

// -----

func.func @f(%q: tensor<?x4x?x64xbf16>, %k: tensor<?x4x?x64xbf16>, %v: tensor<?x4x?x32xbf16>, %b: tensor<?x4x?xbf16>) -> tensor<?x4x?x32xbf16> {
  // expected-error@+1 {{return_final_state needs a state result}}
  %o = flash.delta_rule %q, %k, %v, %b return_final_state : tensor<?x4x?x64xbf16>, tensor<?x4x?x64xbf16>, tensor<?x4x?x32xbf16>, tensor<?x4x?xbf16> -> tensor<?x4x?x32xbf16>
  return %o : tensor<?x4x?x32xbf16>
}

// -----

func.func @f(%q: tensor<?x4x?x64xbf16>, %k: tensor<?x4x?x64xbf16>, %v: tensor<?x4x?x32xf16>, %b: tensor<?x4x?xbf16>) -> tensor<?x4x?x32xbf16> {
  // expected-error@+1 {{v has element type 'f16', q has 'bf16': they must match}}
  %o = flash.delta_rule %q, %k, %v, %b : tensor<?x4x?x64xbf16>, tensor<?x4x?x64xbf16>, tensor<?x4x?x32xf16>, tensor<?x4x?xbf16> -> tensor<?x4x?x32xbf16>
  return %o : tensor<?x4x?x32xbf16>
}

// -----

func.func @f(%q: tensor<?x4x?x64xbf16>, %k: tensor<?x4x?x64xbf16>, %v: tensor<?x4x?x32xbf16>, %b: tensor<?x4x?xbf16>) -> tensor<?x4x?x32xbf16> {
  // expected-error@+1 {{scale}}
  %o = flash.delta_rule %q, %k, %v, %b scale 0x7F800000 : tensor<?x4x?x64xbf16>, tensor<?x4x?x64xbf16>, tensor<?x4x?x32xbf16>, tensor<?x4x?xbf16> -> tensor<?x4x?x32xbf16>
  return %o : tensor<?x4x?x32xbf16>
}
