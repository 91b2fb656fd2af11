// A learned relative-position bias (T5, Swin): score += bias[h, i - j], one
// row of 128 distances per head, read from a table given at launch. Causal,
// so i - j >= 0; distances past the table's end read its last entry (an index
// outside a dimension is clamped into it), T5's "far" bucket.
func.func @relative_bias(%q: tensor<?x16x?x128xbf16>, %k: tensor<?x16x?x128xbf16>,
                         %v: tensor<?x16x?x128xbf16>, %bias: tensor<16x128xf32>)
    -> tensor<?x16x?x128xbf16> {
  %o = flash.attention %q, %k, %v mask causal dims ["B", "N", "N"]
      extras(%bias : tensor<16x128xf32>) names ["bias"] extra_dims [[]]
      score_mod {
  ^bb0(%s: f32, %b: index, %h: index, %i: index, %j: index, %table: tensor<16x128xf32>):
    %d = arith.subi %i, %j : index
    %t = tensor.extract %table[%h, %d] : tensor<16x128xf32>
    %r = arith.addf %s, %t : f32
    flash.yield %r : f32
  } : tensor<?x16x?x128xbf16>, tensor<?x16x?x128xbf16>, tensor<?x16x?x128xbf16>
      -> tensor<?x16x?x128xbf16>
  return %o : tensor<?x16x?x128xbf16>
}
