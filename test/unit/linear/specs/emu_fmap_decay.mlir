// Emulator test spec: emu_gated_decay.mlir's fused chunk kernel with a
// feature map on q and k instead of an output gate: phi(x) = (elu(w[h, d]
// x) + 1) (1 + (t mod 5) / 8), w an f32 extra [H, Dk]; the position factor
// shows a wrong row offset. Two value tiles, double-buffered chunks.
func.func @emu_fmap_decay(%q: tensor<?x2x?x64xbf16>, %k: tensor<?x2x?x64xbf16>,
                          %v: tensor<?x2x?x64xbf16>, %g: tensor<?x2x?xf32>,
                          %w: tensor<2x64xf32>) -> tensor<?x2x?x64xbf16> {
  %o = flash.linear_attention %q, %k, %v gate decay gates(%g : tensor<?x2x?xf32>)
      dims ["B", "T"]
      extras(%w : tensor<2x64xf32>) names ["w"] extra_dims [[]]
      feature_map {
  ^bb0(%x: f32, %b: index, %h: index, %t: index, %d: index, %wt: tensor<2x64xf32>):
    %temp = tensor.extract %wt[%h, %d] : tensor<2x64xf32>
    %y = arith.mulf %temp, %x : f32
    %zero = arith.constant 0.0 : f32
    %one = arith.constant 1.0 : f32
    %pos = arith.cmpf ogt, %y, %zero : f32
    %lin = arith.addf %y, %one : f32
    %e = math.exp %y : f32
    %phi = arith.select %pos, %lin, %e : f32
    %five = arith.constant 5 : index
    %tm = arith.remsi %t, %five : index
    %ti = arith.index_cast %tm : index to i32
    %tf = arith.sitofp %ti : i32 to f32
    %eighth = arith.constant 0.125 : f32
    %tw = arith.mulf %tf, %eighth : f32
    %fac = arith.addf %one, %tw : f32
    %r = arith.mulf %phi, %fac : f32
    flash.yield %r : f32
  } {flash.schedule = #flash.schedule<algorithm = chunk_fused, tile_q = 0, tile_kv = 0, tile_d = 0, stages = 2, warps = 4, chunk = 64, inner_q = 64, inner_kv = 32, tile_dv = 32, smem_bytes = 0>}
      : tensor<?x2x?x64xbf16>, tensor<?x2x?x64xbf16>, tensor<?x2x?x64xbf16>
      -> tensor<?x2x?x64xbf16>
  return %o : tensor<?x2x?x64xbf16>
}
