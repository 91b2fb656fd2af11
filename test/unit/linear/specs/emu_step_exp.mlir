// Emulator test spec: the recurrent step kernel of mLSTM (exponential
// input gate: stabiliser and normaliser), states in and out, one warp of
// 16-column value tiles (4 threads a row, 8 rows at a time, 8 rows each).
func.func @emu_step_exp(%q: tensor<?x1x?x64xbf16>, %k: tensor<?x1x?x64xbf16>,
                        %v: tensor<?x1x?x32xbf16>, %i: tensor<?x1x?xf32>,
                        %f: tensor<?x1x?xf32>, %c0: tensor<?x1x64x32xf32>,
                        %n0: tensor<?x1x64xf32>, %m0: tensor<?x1xf32>)
    -> (tensor<?x1x?x32xbf16>, tensor<?x1x64x32xf32>, tensor<?x1x64xf32>, tensor<?x1xf32>) {
  %o, %c, %n, %m = flash.linear_attention %q, %k, %v gate mlstm_exp
      gates(%i, %f : tensor<?x1x?xf32>, tensor<?x1x?xf32>)
      initial(%c0, %n0, %m0 : tensor<?x1x64x32xf32>, tensor<?x1x64xf32>, tensor<?x1xf32>)
      return_final_state dims ["B", "T"]
      {flash.schedule = #flash.schedule<algorithm = recurrent_step, tile_q = 0, tile_kv = 0, tile_d = 0, stages = 0, warps = 1, chunk = 0, inner_q = 0, inner_kv = 0, tile_dv = 16, smem_bytes = 0>}
      : tensor<?x1x?x64xbf16>, tensor<?x1x?x64xbf16>, tensor<?x1x?x32xbf16>
      -> tensor<?x1x?x32xbf16>, tensor<?x1x64x32xf32>, tensor<?x1x64xf32>, tensor<?x1xf32>
  return %o, %c, %n, %m : tensor<?x1x?x32xbf16>, tensor<?x1x64x32xf32>, tensor<?x1x64xf32>, tensor<?x1xf32>
}
