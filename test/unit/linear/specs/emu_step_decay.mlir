// Emulator test spec: the recurrent step kernel of a scalar log-decay
// (RetNet, Mamba2), two heads, states in and out, four warps of 64-column
// tiles (16 threads a row, 8 rows at a time).
func.func @emu_step_decay(%q: tensor<?x2x?x64xbf16>, %k: tensor<?x2x?x64xbf16>,
                          %v: tensor<?x2x?x128xbf16>, %g: tensor<?x2x?xf32>,
                          %c0: tensor<?x2x64x128xf32>)
    -> (tensor<?x2x?x128xbf16>, tensor<?x2x64x128xf32>) {
  %o, %c = flash.linear_attention %q, %k, %v gate decay gates(%g : tensor<?x2x?xf32>)
      initial(%c0 : tensor<?x2x64x128xf32>) return_final_state dims ["B", "T"]
      {flash.schedule = #flash.schedule<algorithm = recurrent_step, tile_q = 0, tile_kv = 0, tile_d = 0, stages = 0, warps = 4, chunk = 0, inner_q = 0, inner_kv = 0, tile_dv = 64, smem_bytes = 0>}
      : tensor<?x2x?x64xbf16>, tensor<?x2x?x64xbf16>, tensor<?x2x?x128xbf16>
      -> tensor<?x2x?x128xbf16>, tensor<?x2x64x128xf32>
  return %o, %c : tensor<?x2x?x128xbf16>, tensor<?x2x64x128xf32>
}
