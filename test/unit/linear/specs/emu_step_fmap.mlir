// Emulator test spec: the recurrent step kernel of mLSTMsig with
// emu_fmap_decay.mlir's feature map (w an f32 extra [H, Dk], the position
// factor), two warps of 32-column tiles.
func.func @emu_step_fmap(%q: tensor<?x2x?x64xbf16>, %k: tensor<?x2x?x64xbf16>,
                         %v: tensor<?x2x?x64xbf16>, %i: tensor<?x2x?xf32>,
                         %f: tensor<?x2x?xf32>, %w: tensor<2x64xf32>)
    -> tensor<?x2x?x64xbf16> {
  %o = flash.linear_attention %q, %k, %v gate mlstm_sig
      gates(%i, %f : tensor<?x2x?xf32>, tensor<?x2x?xf32>) dims ["B", "T"]
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
  } {flash.schedule = #flash.schedule<algorithm = recurrent_step, tile_q = 0, tile_kv = 0, tile_d = 0, stages = 0, warps = 2, chunk = 0, inner_q = 0, inner_kv = 0, tile_dv = 32, smem_bytes = 0>}
      : tensor<?x2x?x64xbf16>, tensor<?x2x?x64xbf16>, tensor<?x2x?x64xbf16>
      -> tensor<?x2x?x64xbf16>
  return %o : tensor<?x2x?x64xbf16>
}
