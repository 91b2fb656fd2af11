// Benchmark spec: decay_h16_k128_v128 with a feature map on q and k,
// phi(x) = elu(w[h, d] x) + 1, w an f32 table [16, 128]
// (bench_feature_map.py, docs/semantics.md §3.7).
func.func @fmap_decay_h16_k128_v128(%q: tensor<?x16x?x128xbf16>, %k: tensor<?x16x?x128xbf16>,
    %v: tensor<?x16x?x128xbf16>, %g: tensor<?x16x?xf32>, %w: tensor<16x128xf32>)
    -> tensor<?x16x?x128xbf16> {
  %o = flash.linear_attention %q, %k, %v gate decay gates(%g : tensor<?x16x?xf32>) dims ["B", "T"]
      extras(%w : tensor<16x128xf32>) names ["w"] extra_dims [[]]
      feature_map {
  ^bb0(%x: f32, %b: index, %h: index, %t: index, %d: index, %table: tensor<16x128xf32>):
    %temp = tensor.extract %table[%h, %d] : tensor<16x128xf32>
    %y = arith.mulf %temp, %x : f32
    %zero = arith.constant 0.0 : f32
    %one = arith.constant 1.0 : f32
    %pos = arith.cmpf ogt, %y, %zero : f32
    %lin = arith.addf %y, %one : f32
    %exp = math.exp %y : f32
    %phi = arith.select %pos, %lin, %exp : f32
    flash.yield %phi : f32
  } : tensor<?x16x?x128xbf16>, tensor<?x16x?x128xbf16>, tensor<?x16x?x128xbf16>
      -> tensor<?x16x?x128xbf16>
  return %o : tensor<?x16x?x128xbf16>
}
