// Emulator test spec: the gradient of a decay recurrence with an initial
// state and the final state's gradient; chunks of 32 (two warps in the chunk
// kernel, each 16 rows split over two warps by column: tile_d = 32 of Dk
// = 64), state passes over two value tiles of 32 with two warps.
// Its second candidate (v1) runs the chunk kernel over two value slices of
// 32 columns (value_slice: v, dO and the states staged a slice a pass).
// Its third candidate (v2) is v0 with the chunk kernel in persistent
// rounds (persistent = 1: two row stages, the next round prefetched).
func.func @emu_grad_decay(%q: tensor<?x2x?x64xbf16>, %k: tensor<?x2x?x64xbf16>,
                          %v: tensor<?x2x?x64xbf16>, %g: tensor<?x2x?xf32>,
                          %do: tensor<?x2x?x64xbf16>, %c0: tensor<?x2x64x64xf32>,
                          %dcf: tensor<?x2x64x64xf32>)
    -> (tensor<?x2x?x64xbf16>, tensor<?x2x?x64xbf16>, tensor<?x2x?x64xbf16>,
        tensor<?x2x?xf32>, tensor<?x2x64x64xf32>) {
  %dq, %dk, %dv, %dg, %dc0 = flash.linear_attention_grad %q, %k, %v, %do gate decay
      gates(%g : tensor<?x2x?xf32>) initial(%c0 : tensor<?x2x64x64xf32>)
      final_grad(%dcf : tensor<?x2x64x64xf32>) dims ["B", "T"]
      {flash.schedule = #flash.schedule<algorithm = chunk_grad, tile_q = 0, tile_kv = 0, tile_d = 32, stages = 2, warps = 2, chunk = 32, inner_q = 32, inner_kv = 32, tile_dv = 32, smem_bytes = 0>,
       flash.candidates = [#flash.schedule<algorithm = chunk_grad, tile_q = 0, tile_kv = 0, tile_d = 32, stages = 2, warps = 2, chunk = 32, inner_q = 32, inner_kv = 32, tile_dv = 32, smem_bytes = 0, value_slice = 32>,
                          #flash.schedule<algorithm = chunk_grad, tile_q = 0, tile_kv = 0, tile_d = 32, stages = 2, warps = 2, chunk = 32, inner_q = 32, inner_kv = 32, tile_dv = 32, smem_bytes = 0, persistent = 1>]}
      : tensor<?x2x?x64xbf16>, tensor<?x2x?x64xbf16>, tensor<?x2x?x64xbf16>,
        tensor<?x2x?x64xbf16>
      -> tensor<?x2x?x64xbf16>, tensor<?x2x?x64xbf16>, tensor<?x2x?x64xbf16>
         gates(tensor<?x2x?xf32>) initial(tensor<?x2x64x64xf32>)
  return %dq, %dk, %dv, %dg, %dc0 : tensor<?x2x?x64xbf16>, tensor<?x2x?x64xbf16>,
      tensor<?x2x?x64xbf16>, tensor<?x2x?xf32>, tensor<?x2x64x64xf32>
}
