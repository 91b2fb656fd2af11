// RUN: flashgen-opt %s -split-input-file -verify-diagnostics
// Every verifier rule of flash.attention_grad, one error per case: the rules
// it shares with flash.attention (one function checks both) and its own.

// shared with flash.attention: GQA head counts
func.func @f(%q: tensor<?x8x?x64xbf16>, %k: tensor<?x3x?x64xbf16>, %v: tensor<?x3x?x32xbf16>, %o: tensor<?x8x?x32xbf16>, %do: tensor<?x8x?x32xbf16>, %lse: tensor<?x8x?xf32>) -> (tensor<?x8x?x64xbf16>, tensor<?x3x?x64xbf16>, tensor<?x3x?x32xbf16>) {
  // expected-error@+1 {{q has 8 heads, k has 3: query heads must be a multiple of key/value heads}}
  %dq, %dk, %dv = flash.attention_grad %q, %k, %v, %o, %do, %lse : tensor<?x8x?x64xbf16>, tensor<?x3x?x64xbf16>, tensor<?x3x?x32xbf16>, tensor<?x8x?x32xbf16>, tensor<?x8x?x32xbf16>, tensor<?x8x?xf32> -> tensor<?x8x?x64xbf16>, tensor<?x3x?x64xbf16>, tensor<?x3x?x32xbf16>
  return %dq, %dk, %dv : tensor<?x8x?x64xbf16>, tensor<?x3x?x64xbf16>, tensor<?x3x?x32xbf16>
}

// -----

// shared with flash.attention: o is checked as the forward's result
func.func @f(%q: tensor<?x8x?x64xbf16>, %k: tensor<?x2x?x64xbf16>, %v: tensor<?x2x?x32xbf16>, %o: tensor<?x8x?x16xbf16>, %do: tensor<?x8x?x16xbf16>, %lse: tensor<?x8x?xf32>) -> (tensor<?x8x?x64xbf16>, tensor<?x2x?x64xbf16>, tensor<?x2x?x32xbf16>) {
  // expected-error@+1 {{o has shape [?, 8, ?, 16], expected [B, 8, N, 32] (query heads, value dim)}}
  %dq, %dk, %dv = flash.attention_grad %q, %k, %v, %o, %do, %lse : tensor<?x8x?x64xbf16>, tensor<?x2x?x64xbf16>, tensor<?x2x?x32xbf16>, tensor<?x8x?x16xbf16>, tensor<?x8x?x16xbf16>, tensor<?x8x?xf32> -> tensor<?x8x?x64xbf16>, tensor<?x2x?x64xbf16>, tensor<?x2x?x32xbf16>
  return %dq, %dk, %dv : tensor<?x8x?x64xbf16>, tensor<?x2x?x64xbf16>, tensor<?x2x?x32xbf16>
}

// -----

// shared with flash.attention: o's element type
func.func @f(%q: tensor<?x8x?x64xbf16>, %k: tensor<?x2x?x64xbf16>, %v: tensor<?x2x?x32xbf16>, %o: tensor<?x8x?x32xf16>, %do: tensor<?x8x?x32xf16>, %lse: tensor<?x8x?xf32>) -> (tensor<?x8x?x64xbf16>, tensor<?x2x?x64xbf16>, tensor<?x2x?x32xbf16>) {
  // expected-error@+1 {{o has element type 'f16', q has 'bf16': they must match}}
  %dq, %dk, %dv = flash.attention_grad %q, %k, %v, %o, %do, %lse : tensor<?x8x?x64xbf16>, tensor<?x2x?x64xbf16>, tensor<?x2x?x32xbf16>, tensor<?x8x?x32xf16>, tensor<?x8x?x32xf16>, tensor<?x8x?xf32> -> tensor<?x8x?x64xbf16>, tensor<?x2x?x64xbf16>, tensor<?x2x?x32xbf16>
  return %dq, %dk, %dv : tensor<?x8x?x64xbf16>, tensor<?x2x?x64xbf16>, tensor<?x2x?x32xbf16>
}

// -----

// shared with flash.attention: window without sliding_window
func.func @f(%q: tensor<?x8x?x64xbf16>, %k: tensor<?x2x?x64xbf16>, %v: tensor<?x2x?x32xbf16>, %o: tensor<?x8x?x32xbf16>, %do: tensor<?x8x?x32xbf16>, %lse: tensor<?x8x?xf32>) -> (tensor<?x8x?x64xbf16>, tensor<?x2x?x64xbf16>, tensor<?x2x?x32xbf16>) {
  // expected-error@+1 {{window 4 is given but mask is causal: window needs mask sliding_window}}
  %dq, %dk, %dv = flash.attention_grad %q, %k, %v, %o, %do, %lse mask causal window 4 : tensor<?x8x?x64xbf16>, tensor<?x2x?x64xbf16>, tensor<?x2x?x32xbf16>, tensor<?x8x?x32xbf16>, tensor<?x8x?x32xbf16>, tensor<?x8x?xf32> -> tensor<?x8x?x64xbf16>, tensor<?x2x?x64xbf16>, tensor<?x2x?x32xbf16>
  return %dq, %dk, %dv : tensor<?x8x?x64xbf16>, tensor<?x2x?x64xbf16>, tensor<?x2x?x32xbf16>
}

// -----

// shared with flash.attention: dims sharing a name must agree
func.func @f(%q: tensor<2x8x10x64xbf16>, %k: tensor<2x2x12x64xbf16>, %v: tensor<2x2x12x32xbf16>, %o: tensor<2x8x10x32xbf16>, %do: tensor<2x8x10x32xbf16>, %lse: tensor<2x8x10xf32>) -> (tensor<2x8x10x64xbf16>, tensor<2x2x12x64xbf16>, tensor<2x2x12x32xbf16>) {
  // expected-error@+1 {{q has length bound to N 10, k has 12: they must match}}
  %dq, %dk, %dv = flash.attention_grad %q, %k, %v, %o, %do, %lse dims ["B", "N", "N"] : tensor<2x8x10x64xbf16>, tensor<2x2x12x64xbf16>, tensor<2x2x12x32xbf16>, tensor<2x8x10x32xbf16>, tensor<2x8x10x32xbf16>, tensor<2x8x10xf32> -> tensor<2x8x10x64xbf16>, tensor<2x2x12x64xbf16>, tensor<2x2x12x32xbf16>
  return %dq, %dk, %dv : tensor<2x8x10x64xbf16>, tensor<2x2x12x64xbf16>, tensor<2x2x12x32xbf16>
}

// -----

// do must have o's shape
func.func @f(%q: tensor<?x8x?x64xbf16>, %k: tensor<?x2x?x64xbf16>, %v: tensor<?x2x?x32xbf16>, %o: tensor<?x8x7x32xbf16>, %do: tensor<?x8x5x32xbf16>, %lse: tensor<?x8x?xf32>) -> (tensor<?x8x?x64xbf16>, tensor<?x2x?x64xbf16>, tensor<?x2x?x32xbf16>) {
  // expected-error@+1 {{do has shape [?, 8, 5, 32], o has shape [?, 8, 7, 32]: do is o's gradient and must have its shape}}
  %dq, %dk, %dv = flash.attention_grad %q, %k, %v, %o, %do, %lse : tensor<?x8x?x64xbf16>, tensor<?x2x?x64xbf16>, tensor<?x2x?x32xbf16>, tensor<?x8x7x32xbf16>, tensor<?x8x5x32xbf16>, tensor<?x8x?xf32> -> tensor<?x8x?x64xbf16>, tensor<?x2x?x64xbf16>, tensor<?x2x?x32xbf16>
  return %dq, %dk, %dv : tensor<?x8x?x64xbf16>, tensor<?x2x?x64xbf16>, tensor<?x2x?x32xbf16>
}

// -----

// do must have o's element type
func.func @f(%q: tensor<?x8x?x64xbf16>, %k: tensor<?x2x?x64xbf16>, %v: tensor<?x2x?x32xbf16>, %o: tensor<?x8x?x32xbf16>, %do: tensor<?x8x?x32xf32>, %lse: tensor<?x8x?xf32>) -> (tensor<?x8x?x64xbf16>, tensor<?x2x?x64xbf16>, tensor<?x2x?x32xbf16>) {
  // expected-error@+1 {{do has element type 'f32', o has 'bf16': they must match}}
  %dq, %dk, %dv = flash.attention_grad %q, %k, %v, %o, %do, %lse : tensor<?x8x?x64xbf16>, tensor<?x2x?x64xbf16>, tensor<?x2x?x32xbf16>, tensor<?x8x?x32xbf16>, tensor<?x8x?x32xf32>, tensor<?x8x?xf32> -> tensor<?x8x?x64xbf16>, tensor<?x2x?x64xbf16>, tensor<?x2x?x32xbf16>
  return %dq, %dk, %dv : tensor<?x8x?x64xbf16>, tensor<?x2x?x64xbf16>, tensor<?x2x?x32xbf16>
}

// -----

// lse rank
func.func @f(%q: tensor<?x8x?x64xbf16>, %k: tensor<?x2x?x64xbf16>, %v: tensor<?x2x?x32xbf16>, %o: tensor<?x8x?x32xbf16>, %do: tensor<?x8x?x32xbf16>, %lse: tensor<?x8x?x1xf32>) -> (tensor<?x8x?x64xbf16>, tensor<?x2x?x64xbf16>, tensor<?x2x?x32xbf16>) {
  // expected-error@+1 {{lse must be a rank-3 tensor [B, Hq, N], got rank 4}}
  %dq, %dk, %dv = flash.attention_grad %q, %k, %v, %o, %do, %lse : tensor<?x8x?x64xbf16>, tensor<?x2x?x64xbf16>, tensor<?x2x?x32xbf16>, tensor<?x8x?x32xbf16>, tensor<?x8x?x32xbf16>, tensor<?x8x?x1xf32> -> tensor<?x8x?x64xbf16>, tensor<?x2x?x64xbf16>, tensor<?x2x?x32xbf16>
  return %dq, %dk, %dv : tensor<?x8x?x64xbf16>, tensor<?x2x?x64xbf16>, tensor<?x2x?x32xbf16>
}

// -----

// lse heads
func.func @f(%q: tensor<?x8x?x64xbf16>, %k: tensor<?x2x?x64xbf16>, %v: tensor<?x2x?x32xbf16>, %o: tensor<?x8x?x32xbf16>, %do: tensor<?x8x?x32xbf16>, %lse: tensor<?x4x?xf32>) -> (tensor<?x8x?x64xbf16>, tensor<?x2x?x64xbf16>, tensor<?x2x?x32xbf16>) {
  // expected-error@+1 {{lse has 4 heads, q has 8: lse is [B, Hq, N]}}
  %dq, %dk, %dv = flash.attention_grad %q, %k, %v, %o, %do, %lse : tensor<?x8x?x64xbf16>, tensor<?x2x?x64xbf16>, tensor<?x2x?x32xbf16>, tensor<?x8x?x32xbf16>, tensor<?x8x?x32xbf16>, tensor<?x4x?xf32> -> tensor<?x8x?x64xbf16>, tensor<?x2x?x64xbf16>, tensor<?x2x?x32xbf16>
  return %dq, %dk, %dv : tensor<?x8x?x64xbf16>, tensor<?x2x?x64xbf16>, tensor<?x2x?x32xbf16>
}

// -----

// lse batch
func.func @f(%q: tensor<2x8x?x64xbf16>, %k: tensor<2x2x?x64xbf16>, %v: tensor<2x2x?x32xbf16>, %o: tensor<2x8x?x32xbf16>, %do: tensor<2x8x?x32xbf16>, %lse: tensor<3x8x?xf32>) -> (tensor<2x8x?x64xbf16>, tensor<2x2x?x64xbf16>, tensor<2x2x?x32xbf16>) {
  // expected-error@+1 {{q has batch size 2, lse has 3: they must match}}
  %dq, %dk, %dv = flash.attention_grad %q, %k, %v, %o, %do, %lse : tensor<2x8x?x64xbf16>, tensor<2x2x?x64xbf16>, tensor<2x2x?x32xbf16>, tensor<2x8x?x32xbf16>, tensor<2x8x?x32xbf16>, tensor<3x8x?xf32> -> tensor<2x8x?x64xbf16>, tensor<2x2x?x64xbf16>, tensor<2x2x?x32xbf16>
  return %dq, %dk, %dv : tensor<2x8x?x64xbf16>, tensor<2x2x?x64xbf16>, tensor<2x2x?x32xbf16>
}

// -----

// lse length
func.func @f(%q: tensor<?x8x16x64xbf16>, %k: tensor<?x2x?x64xbf16>, %v: tensor<?x2x?x32xbf16>, %o: tensor<?x8x16x32xbf16>, %do: tensor<?x8x16x32xbf16>, %lse: tensor<?x8x17xf32>) -> (tensor<?x8x16x64xbf16>, tensor<?x2x?x64xbf16>, tensor<?x2x?x32xbf16>) {
  // expected-error@+1 {{q has query length 16, lse has 17: they must match}}
  %dq, %dk, %dv = flash.attention_grad %q, %k, %v, %o, %do, %lse : tensor<?x8x16x64xbf16>, tensor<?x2x?x64xbf16>, tensor<?x2x?x32xbf16>, tensor<?x8x16x32xbf16>, tensor<?x8x16x32xbf16>, tensor<?x8x17xf32> -> tensor<?x8x16x64xbf16>, tensor<?x2x?x64xbf16>, tensor<?x2x?x32xbf16>
  return %dq, %dk, %dv : tensor<?x8x16x64xbf16>, tensor<?x2x?x64xbf16>, tensor<?x2x?x32xbf16>
}

// -----

// lse element type (ODS)
func.func @f(%q: tensor<?x8x?x64xbf16>, %k: tensor<?x2x?x64xbf16>, %v: tensor<?x2x?x32xbf16>, %o: tensor<?x8x?x32xbf16>, %do: tensor<?x8x?x32xbf16>, %lse: tensor<?x8x?xbf16>) -> (tensor<?x8x?x64xbf16>, tensor<?x2x?x64xbf16>, tensor<?x2x?x32xbf16>) {
  // expected-error@+1 {{operand #5 must be ranked tensor of 32-bit float values}}
  %dq, %dk, %dv = flash.attention_grad %q, %k, %v, %o, %do, %lse : tensor<?x8x?x64xbf16>, tensor<?x2x?x64xbf16>, tensor<?x2x?x32xbf16>, tensor<?x8x?x32xbf16>, tensor<?x8x?x32xbf16>, tensor<?x8x?xbf16> -> tensor<?x8x?x64xbf16>, tensor<?x2x?x64xbf16>, tensor<?x2x?x32xbf16>
  return %dq, %dk, %dv : tensor<?x8x?x64xbf16>, tensor<?x2x?x64xbf16>, tensor<?x2x?x32xbf16>
}

// -----

// dq must have q's type
func.func @f(%q: tensor<?x8x?x64xbf16>, %k: tensor<?x2x?x64xbf16>, %v: tensor<?x2x?x32xbf16>, %o: tensor<?x8x?x32xbf16>, %do: tensor<?x8x?x32xbf16>, %lse: tensor<?x8x?xf32>) -> (tensor<?x8x?x64xf32>, tensor<?x2x?x64xbf16>, tensor<?x2x?x32xbf16>) {
  // expected-error@+1 {{dq has type 'tensor<?x8x?x64xf32>', q has 'tensor<?x8x?x64xbf16>': they must match}}
  %dq, %dk, %dv = flash.attention_grad %q, %k, %v, %o, %do, %lse : tensor<?x8x?x64xbf16>, tensor<?x2x?x64xbf16>, tensor<?x2x?x32xbf16>, tensor<?x8x?x32xbf16>, tensor<?x8x?x32xbf16>, tensor<?x8x?xf32> -> tensor<?x8x?x64xf32>, tensor<?x2x?x64xbf16>, tensor<?x2x?x32xbf16>
  return %dq, %dk, %dv : tensor<?x8x?x64xf32>, tensor<?x2x?x64xbf16>, tensor<?x2x?x32xbf16>
}

// -----

// dv must have v's type
func.func @f(%q: tensor<?x8x?x64xbf16>, %k: tensor<?x2x?x64xbf16>, %v: tensor<?x2x?x32xbf16>, %o: tensor<?x8x?x32xbf16>, %do: tensor<?x8x?x32xbf16>, %lse: tensor<?x8x?xf32>) -> (tensor<?x8x?x64xbf16>, tensor<?x2x?x64xbf16>, tensor<?x2x?x16xbf16>) {
  // expected-error@+1 {{dv has type 'tensor<?x2x?x16xbf16>', v has 'tensor<?x2x?x32xbf16>': they must match}}
  %dq, %dk, %dv = flash.attention_grad %q, %k, %v, %o, %do, %lse : tensor<?x8x?x64xbf16>, tensor<?x2x?x64xbf16>, tensor<?x2x?x32xbf16>, tensor<?x8x?x32xbf16>, tensor<?x8x?x32xbf16>, tensor<?x8x?xf32> -> tensor<?x8x?x64xbf16>, tensor<?x2x?x64xbf16>, tensor<?x2x?x16xbf16>
  return %dq, %dk, %dv : tensor<?x8x?x64xbf16>, tensor<?x2x?x64xbf16>, tensor<?x2x?x16xbf16>
}

// -----

// score_mod needs score_grad
func.func @f(%q: tensor<?x8x?x64xbf16>, %k: tensor<?x2x?x64xbf16>, %v: tensor<?x2x?x32xbf16>, %o: tensor<?x8x?x32xbf16>, %do: tensor<?x8x?x32xbf16>, %lse: tensor<?x8x?xf32>) -> (tensor<?x8x?x64xbf16>, tensor<?x2x?x64xbf16>, tensor<?x2x?x32xbf16>) {
  // expected-error@+1 {{has a score_mod but no score_grad (d score_mod / d score): flash-derive-backward builds it}}
  %dq, %dk, %dv = flash.attention_grad %q, %k, %v, %o, %do, %lse score_mod {
  ^bb0(%s: f32, %b: index, %h: index, %i: index, %j: index):
    flash.yield %s : f32
  } : tensor<?x8x?x64xbf16>, tensor<?x2x?x64xbf16>, tensor<?x2x?x32xbf16>, tensor<?x8x?x32xbf16>, tensor<?x8x?x32xbf16>, tensor<?x8x?xf32> -> tensor<?x8x?x64xbf16>, tensor<?x2x?x64xbf16>, tensor<?x2x?x32xbf16>
  return %dq, %dk, %dv : tensor<?x8x?x64xbf16>, tensor<?x2x?x64xbf16>, tensor<?x2x?x32xbf16>
}

// -----

// score_grad needs score_mod
func.func @f(%q: tensor<?x8x?x64xbf16>, %k: tensor<?x2x?x64xbf16>, %v: tensor<?x2x?x32xbf16>, %o: tensor<?x8x?x32xbf16>, %do: tensor<?x8x?x32xbf16>, %lse: tensor<?x8x?xf32>) -> (tensor<?x8x?x64xbf16>, tensor<?x2x?x64xbf16>, tensor<?x2x?x32xbf16>) {
  // expected-error@+1 {{has a score_grad but no score_mod: score_grad is score_mod's derivative}}
  %dq, %dk, %dv = flash.attention_grad %q, %k, %v, %o, %do, %lse score_grad {
  ^bb0(%s: f32, %b: index, %h: index, %i: index, %j: index):
    %one = arith.constant 1.0 : f32
    flash.yield %one : f32
  } : tensor<?x8x?x64xbf16>, tensor<?x2x?x64xbf16>, tensor<?x2x?x32xbf16>, tensor<?x8x?x32xbf16>, tensor<?x8x?x32xbf16>, tensor<?x8x?xf32> -> tensor<?x8x?x64xbf16>, tensor<?x2x?x64xbf16>, tensor<?x2x?x32xbf16>
  return %dq, %dk, %dv : tensor<?x8x?x64xbf16>, tensor<?x2x?x64xbf16>, tensor<?x2x?x32xbf16>
}

// -----

// score_grad yields f32, as score_mod does
func.func @f(%q: tensor<?x8x?x64xbf16>, %k: tensor<?x2x?x64xbf16>, %v: tensor<?x2x?x32xbf16>, %o: tensor<?x8x?x32xbf16>, %do: tensor<?x8x?x32xbf16>, %lse: tensor<?x8x?xf32>) -> (tensor<?x8x?x64xbf16>, tensor<?x2x?x64xbf16>, tensor<?x2x?x32xbf16>) {
  %dq, %dk, %dv = flash.attention_grad %q, %k, %v, %o, %do, %lse score_mod {
  ^bb0(%s: f32, %b: index, %h: index, %i: index, %j: index):
    flash.yield %s : f32
  } score_grad {
  ^bb0(%s: f32, %b: index, %h: index, %i: index, %j: index):
    %z = arith.constant 0 : i32
    // expected-error@+1 {{in score_grad must yield 'f32', got 'i32'}}
    flash.yield %z : i32
  } : tensor<?x8x?x64xbf16>, tensor<?x2x?x64xbf16>, tensor<?x2x?x32xbf16>, tensor<?x8x?x32xbf16>, tensor<?x8x?x32xbf16>, tensor<?x8x?xf32> -> tensor<?x8x?x64xbf16>, tensor<?x2x?x64xbf16>, tensor<?x2x?x32xbf16>
  return %dq, %dk, %dv : tensor<?x8x?x64xbf16>, tensor<?x2x?x64xbf16>, tensor<?x2x?x32xbf16>
}
