// A feature-mapped linear attention (Katharopoulos et al.'s elu(x) + 1, with
// a learned temperature per head and key dimension as in Hedgehog-style
// maps): q and k enter the decaying recurrence (RetNet's, simple GLA's) as
// phi(x) = elu(w[h, d] * x) + 1, w an f32 table [H, Dk] given at launch.
// feature_map runs on each staged q and k element in shared memory before
// the chunk's products (docs/semantics.md §3.7), so the mapped rows never
// go through HBM.
func.func @feature_map_linear(%q: tensor<?x8x?x128xbf16>, %k: tensor<?x8x?x128xbf16>,
                              %v: tensor<?x8x?x128xbf16>, %g: tensor<?x8x?xf32>,
                              %w: tensor<8x128xf32>)
    -> tensor<?x8x?x128xbf16> {
  %o = flash.linear_attention %q, %k, %v gate decay
      gates(%g : tensor<?x8x?xf32>) dims ["B", "T"]
      extras(%w : tensor<8x128xf32>) names ["w"] extra_dims [[]]
      feature_map {
  ^bb0(%x: f32, %b: index, %h: index, %t: index, %d: index, %table: tensor<8x128xf32>):
    %temp = tensor.extract %table[%h, %d] : tensor<8x128xf32>
    %y = arith.mulf %temp, %x : f32
    %zero = arith.constant 0.0 : f32
    %one = arith.constant 1.0 : f32
    %pos = arith.cmpf ogt, %y, %zero : f32
    %lin = arith.addf %y, %one : f32
    %exp = math.exp %y : f32
    %phi = arith.select %pos, %lin, %exp : f32
    flash.yield %phi : f32
  } : tensor<?x8x?x128xbf16>, tensor<?x8x?x128xbf16>, tensor<?x8x?x128xbf16>
      -> tensor<?x8x?x128xbf16>
  return %o : tensor<?x8x?x128xbf16>
}
