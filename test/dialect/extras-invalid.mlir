// RUN: flashgen-opt %s -split-input-file -verify-diagnostics
// The rules of extra operands (tensors and scalars the regions read), one
// error per case, with the message a user sees.

func.func @missing_dims(%q: tensor<?x8x?x64xbf16>, %k: tensor<?x8x?x64xbf16>, %v: tensor<?x8x?x64xbf16>, %doc: tensor<?x?xi32>) -> tensor<?x8x?x64xbf16> {
  // expected-error@+1 {{extra doc has 2 dynamic sizes but extra_dims names 1: name each dynamic size (in order) with one of the op's dims}}
  %o = flash.attention %q, %k, %v extras(%doc : tensor<?x?xi32>) names ["doc"] extra_dims [["B"]]
      : tensor<?x8x?x64xbf16>, tensor<?x8x?x64xbf16>, tensor<?x8x?x64xbf16> -> tensor<?x8x?x64xbf16>
  return %o : tensor<?x8x?x64xbf16>
}

// -----

func.func @unknown_dim(%q: tensor<?x8x?x64xbf16>, %k: tensor<?x8x?x64xbf16>, %v: tensor<?x8x?x64xbf16>, %doc: tensor<?xi32>) -> tensor<?x8x?x64xbf16> {
  // expected-error@+1 {{extra doc names dim "T", which is not one of the op's dims (B, N, M)}}
  %o = flash.attention %q, %k, %v extras(%doc : tensor<?xi32>) names ["doc"] extra_dims [["T"]]
      : tensor<?x8x?x64xbf16>, tensor<?x8x?x64xbf16>, tensor<?x8x?x64xbf16> -> tensor<?x8x?x64xbf16>
  return %o : tensor<?x8x?x64xbf16>
}

// -----

func.func @reserved(%q: tensor<?x8x?x64xbf16>, %k: tensor<?x8x?x64xbf16>, %v: tensor<?x8x?x64xbf16>, %t: tensor<i32>) -> tensor<?x8x?x64xbf16> {
  // expected-error@+1 {{extra #0 is named "lse", which names one of the op's own tensors or dims}}
  %o = flash.attention %q, %k, %v extras(%t : tensor<i32>) names ["lse"] extra_dims [[]]
      : tensor<?x8x?x64xbf16>, tensor<?x8x?x64xbf16>, tensor<?x8x?x64xbf16> -> tensor<?x8x?x64xbf16>
  return %o : tensor<?x8x?x64xbf16>
}

// -----

func.func @dim_name(%q: tensor<?x8x?x64xbf16>, %k: tensor<?x8x?x64xbf16>, %v: tensor<?x8x?x64xbf16>, %t: tensor<i32>) -> tensor<?x8x?x64xbf16> {
  // expected-error@+1 {{extra #0 is named "N", which names one of the op's own tensors or dims}}
  %o = flash.attention %q, %k, %v extras(%t : tensor<i32>) names ["N"] extra_dims [[]]
      : tensor<?x8x?x64xbf16>, tensor<?x8x?x64xbf16>, tensor<?x8x?x64xbf16> -> tensor<?x8x?x64xbf16>
  return %o : tensor<?x8x?x64xbf16>
}

// -----

func.func @duplicate(%q: tensor<?x8x?x64xbf16>, %k: tensor<?x8x?x64xbf16>, %v: tensor<?x8x?x64xbf16>, %a: tensor<i32>, %b: tensor<f32>) -> tensor<?x8x?x64xbf16> {
  // expected-error@+1 {{two extras are named "p"}}
  %o = flash.attention %q, %k, %v extras(%a, %b : tensor<i32>, tensor<f32>) names ["p", "p"] extra_dims [[], []]
      : tensor<?x8x?x64xbf16>, tensor<?x8x?x64xbf16>, tensor<?x8x?x64xbf16> -> tensor<?x8x?x64xbf16>
  return %o : tensor<?x8x?x64xbf16>
}

// -----

func.func @not_identifier(%q: tensor<?x8x?x64xbf16>, %k: tensor<?x8x?x64xbf16>, %v: tensor<?x8x?x64xbf16>, %a: tensor<i32>) -> tensor<?x8x?x64xbf16> {
  // expected-error@+1 {{extra #0 name "a-b" is not an identifier}}
  %o = flash.attention %q, %k, %v extras(%a : tensor<i32>) names ["a-b"] extra_dims [[]]
      : tensor<?x8x?x64xbf16>, tensor<?x8x?x64xbf16>, tensor<?x8x?x64xbf16> -> tensor<?x8x?x64xbf16>
  return %o : tensor<?x8x?x64xbf16>
}

// -----

func.func @count(%q: tensor<?x8x?x64xbf16>, %k: tensor<?x8x?x64xbf16>, %v: tensor<?x8x?x64xbf16>, %a: tensor<i32>) -> tensor<?x8x?x64xbf16> {
  // expected-error@+1 {{has 1 extras but 2 names: each extra needs a name}}
  %o = flash.attention %q, %k, %v extras(%a : tensor<i32>) names ["a", "b"] extra_dims [[]]
      : tensor<?x8x?x64xbf16>, tensor<?x8x?x64xbf16>, tensor<?x8x?x64xbf16> -> tensor<?x8x?x64xbf16>
  return %o : tensor<?x8x?x64xbf16>
}

// -----

func.func @element_type(%q: tensor<?x8x?x64xbf16>, %k: tensor<?x8x?x64xbf16>, %v: tensor<?x8x?x64xbf16>, %a: tensor<4xbf16>) -> tensor<?x8x?x64xbf16> {
  // expected-error@+1 {{operand #3 must be variadic of ranked tensor of 32-bit signless integer or 64-bit signless integer or 32-bit float values}}
  %o = flash.attention %q, %k, %v extras(%a : tensor<4xbf16>) names ["a"] extra_dims [[]]
      : tensor<?x8x?x64xbf16>, tensor<?x8x?x64xbf16>, tensor<?x8x?x64xbf16> -> tensor<?x8x?x64xbf16>
  return %o : tensor<?x8x?x64xbf16>
}

// -----

// A region must take every extra after its own arguments.
func.func @region_args(%q: tensor<?x8x?x64xbf16>, %k: tensor<?x8x?x64xbf16>, %v: tensor<?x8x?x64xbf16>, %doc: tensor<?x?xi32>) -> tensor<?x8x?x64xbf16> {
  // expected-error@+1 {{mask_mod takes 5 arguments (b, h, i, j: index, then each extra), got 4}}
  %o = flash.attention %q, %k, %v extras(%doc : tensor<?x?xi32>) names ["doc"] extra_dims [["B", "N"]] mask_mod {
  ^bb0(%b: index, %h: index, %i: index, %j: index):
    %t = arith.constant true
    flash.yield %t : i1
  } : tensor<?x8x?x64xbf16>, tensor<?x8x?x64xbf16>, tensor<?x8x?x64xbf16> -> tensor<?x8x?x64xbf16>
  return %o : tensor<?x8x?x64xbf16>
}

// -----

func.func @region_arg_type(%q: tensor<?x8x?x64xbf16>, %k: tensor<?x8x?x64xbf16>, %v: tensor<?x8x?x64xbf16>, %doc: tensor<?x?xi32>) -> tensor<?x8x?x64xbf16> {
  // expected-error@+1 {{score_mod argument #5 must be 'tensor<?x?xi32>' (score: f32, b, h, i, j: index, then each extra), got 'tensor<?x?xi64>'}}
  %o = flash.attention %q, %k, %v extras(%doc : tensor<?x?xi32>) names ["doc"] extra_dims [["B", "N"]] score_mod {
  ^bb0(%s: f32, %b: index, %h: index, %i: index, %j: index, %d: tensor<?x?xi64>):
    flash.yield %s : f32
  } : tensor<?x8x?x64xbf16>, tensor<?x8x?x64xbf16>, tensor<?x8x?x64xbf16> -> tensor<?x8x?x64xbf16>
  return %o : tensor<?x8x?x64xbf16>
}

// -----

func.func @extract_rank(%q: tensor<?x8x?x64xbf16>, %k: tensor<?x8x?x64xbf16>, %v: tensor<?x8x?x64xbf16>, %doc: tensor<?x?xi32>) -> tensor<?x8x?x64xbf16> {
  %o = flash.attention %q, %k, %v extras(%doc : tensor<?x?xi32>) names ["doc"] extra_dims [["B", "N"]] mask_mod {
  ^bb0(%b: index, %h: index, %i: index, %j: index, %d: tensor<?x?xi32>):
    // expected-error@+1 {{incorrect number of indices for extract_element}}
    %x = tensor.extract %d[%i] : tensor<?x?xi32>
    %z = arith.constant 0 : i32
    %t = arith.cmpi eq, %x, %z : i32
    flash.yield %t : i1
  } : tensor<?x8x?x64xbf16>, tensor<?x8x?x64xbf16>, tensor<?x8x?x64xbf16> -> tensor<?x8x?x64xbf16>
  return %o : tensor<?x8x?x64xbf16>
}
