// RUN: flashgen-opt %s -split-input-file -verify-diagnostics
// A recurrence's feature_map (docs/semantics.md §3.7): (x: f32, b, h, t, d:
// index, then each extra) -> f32, arith and math scalar ops only, not over
// packed sequences; one error per case.

func.func @wrong_arity(%q: tensor<?x2x?x64xbf16>, %k: tensor<?x2x?x64xbf16>, %v: tensor<?x2x?x64xbf16>) -> tensor<?x2x?x64xbf16> {
  // expected-error@+1 {{feature_map takes 5 arguments (x: f32, b, h, t, d: index), got 1}}
  %o = flash.linear_attention %q, %k, %v feature_map {
  ^bb0(%x: f32):
    flash.yield %x : f32
  } : tensor<?x2x?x64xbf16>, tensor<?x2x?x64xbf16>, tensor<?x2x?x64xbf16> -> tensor<?x2x?x64xbf16>
  return %o : tensor<?x2x?x64xbf16>
}

// -----

func.func @index_where_the_element_goes(%q: tensor<?x2x?x64xbf16>, %k: tensor<?x2x?x64xbf16>, %v: tensor<?x2x?x64xbf16>) -> tensor<?x2x?x64xbf16> {
  // expected-error@+1 {{feature_map argument #0 must be 'f32' (x: f32, b, h, t, d: index), got 'index'}}
  %o = flash.linear_attention %q, %k, %v feature_map {
  ^bb0(%x: index, %b: index, %h: index, %t: index, %d: index):
    %f = arith.constant 1.0 : f32
    flash.yield %f : f32
  } : tensor<?x2x?x64xbf16>, tensor<?x2x?x64xbf16>, tensor<?x2x?x64xbf16> -> tensor<?x2x?x64xbf16>
  return %o : tensor<?x2x?x64xbf16>
}

// -----

func.func @yields_a_flag(%q: tensor<?x2x?x64xbf16>, %k: tensor<?x2x?x64xbf16>, %v: tensor<?x2x?x64xbf16>) -> tensor<?x2x?x64xbf16> {
  %o = flash.linear_attention %q, %k, %v feature_map {
  ^bb0(%x: f32, %b: index, %h: index, %t: index, %d: index):
    %z = arith.constant 0.0 : f32
    %pos = arith.cmpf ogt, %x, %z : f32
    // expected-error@+1 {{in feature_map must yield 'f32', got 'i1'}}
    flash.yield %pos : i1
  } : tensor<?x2x?x64xbf16>, tensor<?x2x?x64xbf16>, tensor<?x2x?x64xbf16> -> tensor<?x2x?x64xbf16>
  return %o : tensor<?x2x?x64xbf16>
}

// -----

func.func @unsupported_op(%q: tensor<?x2x?x64xbf16>, %k: tensor<?x2x?x64xbf16>, %v: tensor<?x2x?x64xbf16>) -> tensor<?x2x?x64xbf16> {
  %o = flash.linear_attention %q, %k, %v feature_map {
  ^bb0(%x: f32, %b: index, %h: index, %t: index, %d: index):
    // expected-error@+1 {{'math.sin' op is not supported in feature_map (allowed: arith and math scalar ops, see dialect/RegionOps.cpp)}}
    %y = math.sin %x : f32
    flash.yield %y : f32
  } : tensor<?x2x?x64xbf16>, tensor<?x2x?x64xbf16>, tensor<?x2x?x64xbf16> -> tensor<?x2x?x64xbf16>
  return %o : tensor<?x2x?x64xbf16>
}

// -----

func.func @extra_not_an_argument(%q: tensor<?x2x?x64xbf16>, %k: tensor<?x2x?x64xbf16>, %v: tensor<?x2x?x64xbf16>, %w: tensor<2x64xf32>) -> tensor<?x2x?x64xbf16> {
  // expected-error@+1 {{feature_map takes 6 arguments (x: f32, b, h, t, d: index, then each extra), got 5}}
  %o = flash.linear_attention %q, %k, %v extras(%w : tensor<2x64xf32>) names ["w"] extra_dims [[]] feature_map {
  ^bb0(%x: f32, %b: index, %h: index, %t: index, %d: index):
    flash.yield %x : f32
  } : tensor<?x2x?x64xbf16>, tensor<?x2x?x64xbf16>, tensor<?x2x?x64xbf16> -> tensor<?x2x?x64xbf16>
  return %o : tensor<?x2x?x64xbf16>
}

// -----

// A packed sequence's rows have no (b, t) of the batch's for the region.
func.func @packed(%qp: tensor<?x2x64xbf16>, %kp: tensor<?x2x64xbf16>, %vp: tensor<?x2x64xbf16>,
                  %cu: tensor<?xi32>) -> tensor<?x2x64xbf16> {
  %q = flash.varlen_view %qp[%cu] : tensor<?x2x64xbf16>, tensor<?xi32> -> tensor<?x2x?x64xbf16>
  %k = flash.varlen_view %kp[%cu] : tensor<?x2x64xbf16>, tensor<?xi32> -> tensor<?x2x?x64xbf16>
  %v = flash.varlen_view %vp[%cu] : tensor<?x2x64xbf16>, tensor<?xi32> -> tensor<?x2x?x64xbf16>
  // expected-error@+1 {{has an output_mod, a feature_map or extras over packed sequences (flash.varlen_view), which are not supported}}
  %o = flash.linear_attention %q, %k, %v dims ["B", "T"] feature_map {
  ^bb0(%x: f32, %b: index, %h: index, %t: index, %d: index):
    flash.yield %x : f32
  } : tensor<?x2x?x64xbf16>, tensor<?x2x?x64xbf16>, tensor<?x2x?x64xbf16> -> tensor<?x2x?x64xbf16>
  %op = flash.varlen_pack %o[%cu] : tensor<?x2x?x64xbf16>, tensor<?xi32> -> tensor<?x2x64xbf16>
  return %op : tensor<?x2x64xbf16>
}
