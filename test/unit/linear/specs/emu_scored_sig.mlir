// Emulator test spec: chunk_scored for mlstm_sig (the scores pre-pass writes
// each chunk's gated P, the fused loop stages it): initial and final state,
// two value tiles, two 32-row inner query tiles over 2 warps (the second
// scored against two key tiles in the pre-pass), two stages.
func.func @emu_scored_sig(%q: tensor<?x1x?x64xbf16>, %k: tensor<?x1x?x64xbf16>,
                          %v: tensor<?x1x?x64xbf16>, %i: tensor<?x1x?xf32>,
                          %f: tensor<?x1x?xf32>, %c0: tensor<?x1x64x64xf32>,
                          %n0: tensor<?x1x64xf32>)
    -> (tensor<?x1x?x64xbf16>, tensor<?x1x64x64xf32>, tensor<?x1x64xf32>) {
  %o, %c, %n = flash.linear_attention %q, %k, %v gate mlstm_sig
      gates(%i, %f : tensor<?x1x?xf32>, tensor<?x1x?xf32>)
      initial(%c0, %n0 : tensor<?x1x64x64xf32>, tensor<?x1x64xf32>)
      return_final_state dims ["B", "T"]
      {flash.schedule = #flash.schedule<algorithm = chunk_scored, tile_q = 0, tile_kv = 0, tile_d = 0, stages = 2, warps = 2, chunk = 64, inner_q = 32, inner_kv = 32, tile_dv = 32, smem_bytes = 0>}
      : tensor<?x1x?x64xbf16>, tensor<?x1x?x64xbf16>, tensor<?x1x?x64xbf16>
      -> tensor<?x1x?x64xbf16>, tensor<?x1x64x64xf32>, tensor<?x1x64xf32>
  return %o, %c, %n : tensor<?x1x?x64xbf16>, tensor<?x1x64x64xf32>, tensor<?x1x64xf32>
}
