// Emulator test spec: the gradient of a vector-gated (GLA) recurrence with
// an initial state and the final state's gradient, Dk = 64 != Dv = 32;
// chunks of 32 (two 16-row blocks in the chunk kernel, each split over two
// warps by column: tile_d = 32), state passes over two value tiles of 16
// with two warps and two stages (the single f32 g buffer refilled after
// each chunk's scan).
// Its second candidate (v1) runs the chunk kernel unsplit (tile_d = 64)
// over two value slices of 16 columns (value_slice): <S, G> per key dim,
// dq^'s and dk^'s state products summed over the passes, dv a pass at a time.
func.func @emu_grad_vector(%q: tensor<?x2x?x64xbf16>, %k: tensor<?x2x?x64xbf16>,
                           %v: tensor<?x2x?x32xbf16>, %g: tensor<?x2x?x64xf32>,
                           %do: tensor<?x2x?x32xbf16>, %c0: tensor<?x2x64x32xf32>,
                           %dcf: tensor<?x2x64x32xf32>)
    -> (tensor<?x2x?x64xbf16>, tensor<?x2x?x64xbf16>, tensor<?x2x?x32xbf16>,
        tensor<?x2x?x64xf32>, tensor<?x2x64x32xf32>) {
  %dq, %dk, %dv, %dg, %dc0 = flash.linear_attention_grad %q, %k, %v, %do gate vector
      gates(%g : tensor<?x2x?x64xf32>) initial(%c0 : tensor<?x2x64x32xf32>)
      final_grad(%dcf : tensor<?x2x64x32xf32>) dims ["B", "T"]
      {flash.schedule = #flash.schedule<algorithm = chunk_grad, tile_q = 0, tile_kv = 0, tile_d = 32, stages = 2, warps = 2, chunk = 32, inner_q = 32, inner_kv = 32, tile_dv = 16, smem_bytes = 0>,
       flash.candidates = [#flash.schedule<algorithm = chunk_grad, tile_q = 0, tile_kv = 0, tile_d = 64, stages = 2, warps = 2, chunk = 32, inner_q = 32, inner_kv = 32, tile_dv = 16, smem_bytes = 0, value_slice = 16>]}
      : tensor<?x2x?x64xbf16>, tensor<?x2x?x64xbf16>, tensor<?x2x?x32xbf16>,
        tensor<?x2x?x32xbf16>
      -> tensor<?x2x?x64xbf16>, tensor<?x2x?x64xbf16>, tensor<?x2x?x32xbf16>
         gates(tensor<?x2x?x64xf32>) initial(tensor<?x2x64x32xf32>)
  return %dq, %dk, %dv, %dg, %dc0 : tensor<?x2x?x64xbf16>, tensor<?x2x?x64xbf16>,
      tensor<?x2x?x32xbf16>, tensor<?x2x?x64xf32>, tensor<?x2x64x32xf32>
}
