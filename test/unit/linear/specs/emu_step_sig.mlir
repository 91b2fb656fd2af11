// Emulator test spec: the recurrent step kernel of mLSTMsig (sigmoid
// gates, normaliser), states in and out, two warps of 32-column tiles.
func.func @emu_step_sig(%q: tensor<?x2x?x64xbf16>, %k: tensor<?x2x?x64xbf16>,
                        %v: tensor<?x2x?x64xbf16>, %i: tensor<?x2x?xf32>,
                        %f: tensor<?x2x?xf32>, %c0: tensor<?x2x64x64xf32>,
                        %n0: tensor<?x2x64xf32>)
    -> (tensor<?x2x?x64xbf16>, tensor<?x2x64x64xf32>, tensor<?x2x64xf32>) {
  %o, %c, %n = flash.linear_attention %q, %k, %v gate mlstm_sig
      gates(%i, %f : tensor<?x2x?xf32>, tensor<?x2x?xf32>)
      initial(%c0, %n0 : tensor<?x2x64x64xf32>, tensor<?x2x64xf32>)
      return_final_state dims ["B", "T"]
      {flash.schedule = #flash.schedule<algorithm = recurrent_step, tile_q = 0, tile_kv = 0, tile_d = 0, stages = 0, warps = 2, chunk = 0, inner_q = 0, inner_kv = 0, tile_dv = 32, smem_bytes = 0>}
      : tensor<?x2x?x64xbf16>, tensor<?x2x?x64xbf16>, tensor<?x2x?x64xbf16>
      -> tensor<?x2x?x64xbf16>, tensor<?x2x64x64xf32>, tensor<?x2x64xf32>
  return %o, %c, %n : tensor<?x2x?x64xbf16>, tensor<?x2x64x64xf32>, tensor<?x2x64xf32>
}
