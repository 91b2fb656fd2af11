// RUN: flashgen-opt %s -split-input-file -verify-diagnostics
// A recurrence's output_mod (docs/semantics.md §3.6): (o: f32, b, h, t, d:
// index, then each extra) -> f32, its extras named with the op's two dims;
// one error per case.

func.func @wrong_arity(%q: tensor<?x2x?x64xbf16>, %k: tensor<?x2x?x64xbf16>, %v: tensor<?x2x?x64xbf16>) -> tensor<?x2x?x64xbf16> {
  // expected-error@+1 {{output_mod takes 5 arguments (o: f32, b, h, t, d: index), got 4}}
  %o = flash.linear_attention %q, %k, %v output_mod {
  ^bb0(%x: f32, %b: index, %h: index, %t: index):
    flash.yield %x : f32
  } : tensor<?x2x?x64xbf16>, tensor<?x2x?x64xbf16>, tensor<?x2x?x64xbf16> -> tensor<?x2x?x64xbf16>
  return %o : tensor<?x2x?x64xbf16>
}

// -----

func.func @extra_not_an_argument(%q: tensor<?x2x?x64xbf16>, %k: tensor<?x2x?x64xbf16>, %v: tensor<?x2x?x64xbf16>, %g: tensor<?x?x2x64xf32>) -> tensor<?x2x?x64xbf16> {
  // expected-error@+1 {{output_mod takes 6 arguments (o: f32, b, h, t, d: index, then each extra), got 5}}
  %o = flash.linear_attention %q, %k, %v extras(%g : tensor<?x?x2x64xf32>) names ["gate"] extra_dims [["B", "T"]] output_mod {
  ^bb0(%x: f32, %b: index, %h: index, %t: index, %d: index):
    flash.yield %x : f32
  } : tensor<?x2x?x64xbf16>, tensor<?x2x?x64xbf16>, tensor<?x2x?x64xbf16> -> tensor<?x2x?x64xbf16>
  return %o : tensor<?x2x?x64xbf16>
}

// -----

func.func @extra_names_an_attention_dim(%q: tensor<?x2x?x64xbf16>, %k: tensor<?x2x?x64xbf16>, %v: tensor<?x2x?x64xbf16>, %g: tensor<?x?x2x64xf32>) -> tensor<?x2x?x64xbf16> {
  // expected-error@+1 {{extra gate names dim "N", which is not one of the op's dims (B, T)}}
  %o = flash.linear_attention %q, %k, %v extras(%g : tensor<?x?x2x64xf32>) names ["gate"] extra_dims [["B", "N"]] output_mod {
  ^bb0(%x: f32, %b: index, %h: index, %t: index, %d: index, %gt: tensor<?x?x2x64xf32>):
    flash.yield %x : f32
  } : tensor<?x2x?x64xbf16>, tensor<?x2x?x64xbf16>, tensor<?x2x?x64xbf16> -> tensor<?x2x?x64xbf16>
  return %o : tensor<?x2x?x64xbf16>
}

// -----

func.func @extra_takes_a_gate_name(%q: tensor<?x2x?x64xbf16>, %k: tensor<?x2x?x64xbf16>, %v: tensor<?x2x?x64xbf16>, %g: tensor<?x2x?xf32>, %x: tensor<?x?x2x64xf32>) -> tensor<?x2x?x64xbf16> {
  // expected-error@+1 {{extra #0 is named "g", which names one of the op's own tensors or dims}}
  %o = flash.linear_attention %q, %k, %v gate decay gates(%g : tensor<?x2x?xf32>) extras(%x : tensor<?x?x2x64xf32>) names ["g"] extra_dims [["B", "T"]] output_mod {
  ^bb0(%o0: f32, %b: index, %h: index, %t: index, %d: index, %gt: tensor<?x?x2x64xf32>):
    flash.yield %o0 : f32
  } : tensor<?x2x?x64xbf16>, tensor<?x2x?x64xbf16>, tensor<?x2x?x64xbf16> -> tensor<?x2x?x64xbf16>
  return %o : tensor<?x2x?x64xbf16>
}

// -----

func.func @yields_a_flag(%q: tensor<?x2x?x64xbf16>, %k: tensor<?x2x?x64xbf16>, %v: tensor<?x2x?x64xbf16>) -> tensor<?x2x?x64xbf16> {
  %o = flash.linear_attention %q, %k, %v output_mod {
  ^bb0(%x: f32, %b: index, %h: index, %t: index, %d: index):
    %z = arith.constant 0.0 : f32
    %pos = arith.cmpf ogt, %x, %z : f32
    // expected-error@+1 {{in output_mod must yield 'f32', got 'i1'}}
    flash.yield %pos : i1
  } : tensor<?x2x?x64xbf16>, tensor<?x2x?x64xbf16>, tensor<?x2x?x64xbf16> -> tensor<?x2x?x64xbf16>
  return %o : tensor<?x2x?x64xbf16>
}

// -----

func.func @unsupported_op(%q: tensor<?x2x?x64xbf16>, %k: tensor<?x2x?x64xbf16>, %v: tensor<?x2x?x64xbf16>) -> tensor<?x2x?x64xbf16> {
  %o = flash.linear_attention %q, %k, %v output_mod {
  ^bb0(%x: f32, %b: index, %h: index, %t: index, %d: index):
    // expected-error@+1 {{'math.sin' op is not supported in output_mod (allowed: arith and math scalar ops, see dialect/RegionOps.cpp)}}
    %y = math.sin %x : f32
    flash.yield %y : f32
  } : tensor<?x2x?x64xbf16>, tensor<?x2x?x64xbf16>, tensor<?x2x?x64xbf16> -> tensor<?x2x?x64xbf16>
  return %o : tensor<?x2x?x64xbf16>
}

// -----

// Packed rows have no [B, T] position for an extra to be indexed by.
func.func @packed(%qp: tensor<?x2x64xbf16>, %kp: tensor<?x2x64xbf16>, %vp: tensor<?x2x64xbf16>,
                  %cu: tensor<?xi32>) -> tensor<?x2x64xbf16> {
  %q = flash.varlen_view %qp[%cu] : tensor<?x2x64xbf16>, tensor<?xi32> -> tensor<?x2x?x64xbf16>
  %k = flash.varlen_view %kp[%cu] : tensor<?x2x64xbf16>, tensor<?xi32> -> tensor<?x2x?x64xbf16>
  %v = flash.varlen_view %vp[%cu] : tensor<?x2x64xbf16>, tensor<?xi32> -> tensor<?x2x?x64xbf16>
  // expected-error@+1 {{has an output_mod, a feature_map or extras over packed sequences (flash.varlen_view), which are not supported}}
  %o = flash.linear_attention %q, %k, %v dims ["B", "T"] output_mod {
  ^bb0(%x: f32, %b: index, %h: index, %t: index, %d: index):
    flash.yield %x : f32
  } : tensor<?x2x?x64xbf16>, tensor<?x2x?x64xbf16>, tensor<?x2x?x64xbf16> -> tensor<?x2x?x64xbf16>
  %out = flash.varlen_pack %o[%cu] : tensor<?x2x?x64xbf16>, tensor<?xi32> -> tensor<?x2x64xbf16>
  return %out : tensor<?x2x64xbf16>
}
