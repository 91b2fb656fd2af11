// RUN: flashgen-opt %s -split-input-file -verify-diagnostics
// output_mod (docs/semantics.md §2.11): (o: f32, b, h, i, d: index, then
// each extra) -> f32, one error per case.

func.func @wrong_arity(%q: tensor<?x8x?x64xbf16>, %k: tensor<?x8x?x64xbf16>, %v: tensor<?x8x?x64xbf16>) -> tensor<?x8x?x64xbf16> {
  // expected-error@+1 {{output_mod takes 5 arguments (o: f32, b, h, i, d: index), got 4}}
  %o = flash.attention %q, %k, %v output_mod {
  ^bb0(%x: f32, %b: index, %h: index, %i: index):
    flash.yield %x : f32
  } : tensor<?x8x?x64xbf16>, tensor<?x8x?x64xbf16>, tensor<?x8x?x64xbf16> -> tensor<?x8x?x64xbf16>
  return %o : tensor<?x8x?x64xbf16>
}

// -----

func.func @yields_a_flag(%q: tensor<?x8x?x64xbf16>, %k: tensor<?x8x?x64xbf16>, %v: tensor<?x8x?x64xbf16>) -> tensor<?x8x?x64xbf16> {
  %o = flash.attention %q, %k, %v output_mod {
  ^bb0(%x: f32, %b: index, %h: index, %i: index, %d: index):
    %z = arith.constant 0.0 : f32
    %pos = arith.cmpf ogt, %x, %z : f32
    // expected-error@+1 {{in output_mod must yield 'f32', got 'i1'}}
    flash.yield %pos : i1
  } : tensor<?x8x?x64xbf16>, tensor<?x8x?x64xbf16>, tensor<?x8x?x64xbf16> -> tensor<?x8x?x64xbf16>
  return %o : tensor<?x8x?x64xbf16>
}
