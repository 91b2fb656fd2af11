// A score_mod op that depends on the score and has no derivative rule
// (math.sin is not a region op, so only an unverified module holds it).
func.func @sine(%q: tensor<?x2x?x16xf32>, %k: tensor<?x2x?x16xf32>, %v: tensor<?x2x?x16xf32>) -> tensor<?x2x?x16xf32> {
  %o = flash.attention %q, %k, %v score_mod {
  ^bb0(%s: f32, %b: index, %h: index, %i: index, %j: index):
    %half = arith.constant 0.5 : f32
    %x = arith.mulf %s, %half : f32
    // expected-error@+2 {{flash.attention score_mod: cannot differentiate 'math.sin' with respect to the score; supported: arith.constant, arith.addf,}}
    // expected-note@+1 {{operand #0 of 'math.sin' depends on the score}}
    %y = math.sin %x : f32
    flash.yield %y : f32
  } : tensor<?x2x?x16xf32>, tensor<?x2x?x16xf32>, tensor<?x2x?x16xf32> -> tensor<?x2x?x16xf32>
  return %o : tensor<?x2x?x16xf32>
}
