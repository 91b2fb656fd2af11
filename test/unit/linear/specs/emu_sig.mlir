// Emulator test spec: mlstm_sig with initial and final state, 2 warps
// (two 32-row inner query tiles per chunk), one stage.
func.func @emu_sig(%q: tensor<?x1x?x64xbf16>, %k: tensor<?x1x?x64xbf16>,
                   %v: tensor<?x1x?x32xbf16>, %i: tensor<?x1x?xf32>,
                   %f: tensor<?x1x?xf32>, %c0: tensor<?x1x64x32xf32>,
                   %n0: tensor<?x1x64xf32>)
    -> (tensor<?x1x?x32xbf16>, tensor<?x1x64x32xf32>, tensor<?x1x64xf32>) {
  %o, %c, %n = flash.linear_attention %q, %k, %v gate mlstm_sig
      gates(%i, %f : tensor<?x1x?xf32>, tensor<?x1x?xf32>)
      initial(%c0, %n0 : tensor<?x1x64x32xf32>, tensor<?x1x64xf32>)
      return_final_state dims ["B", "T"]
      {flash.schedule = #flash.schedule<algorithm = chunk_fused, tile_q = 0, tile_kv = 0, tile_d = 0, stages = 1, warps = 2, chunk = 64, inner_q = 32, inner_kv = 32, tile_dv = 32, smem_bytes = 0>}
      : tensor<?x1x?x64xbf16>, tensor<?x1x?x64xbf16>, tensor<?x1x?x32xbf16>
      -> tensor<?x1x?x32xbf16>, tensor<?x1x64x32xf32>, tensor<?x1x64xf32>
  return %o, %c, %n : tensor<?x1x?x32xbf16>, tensor<?x1x64x32xf32>, tensor<?x1x64xf32>
}
