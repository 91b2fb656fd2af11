// Emulator test spec: the two-pass form of emu_exp.mlir (chunk states in scratch,
// then every chunk's outputs in parallel).
func.func @emu_twopass(%q: tensor<?x1x?x64xbf16>, %k: tensor<?x1x?x64xbf16>,
                   %v: tensor<?x1x?x64xbf16>, %i: tensor<?x1x?xf32>,
                   %f: tensor<?x1x?xf32>, %c0: tensor<?x1x64x64xf32>,
                   %n0: tensor<?x1x64xf32>, %m0: tensor<?x1xf32>)
    -> (tensor<?x1x?x64xbf16>, tensor<?x1x64x64xf32>, tensor<?x1x64xf32>, tensor<?x1xf32>) {
  %o, %c, %n, %m = flash.linear_attention %q, %k, %v gate mlstm_exp
      gates(%i, %f : tensor<?x1x?xf32>, tensor<?x1x?xf32>)
      initial(%c0, %n0, %m0 : tensor<?x1x64x64xf32>, tensor<?x1x64xf32>, tensor<?x1xf32>)
      return_final_state dims ["B", "T"]
      {flash.schedule = #flash.schedule<algorithm = chunk_two_pass, tile_q = 0, tile_kv = 0, tile_d = 0, stages = 2, warps = 4, chunk = 64, inner_q = 64, inner_kv = 32, tile_dv = 32, smem_bytes = 0>}
      : tensor<?x1x?x64xbf16>, tensor<?x1x?x64xbf16>, tensor<?x1x?x64xbf16>
      -> tensor<?x1x?x64xbf16>, tensor<?x1x64x64xf32>, tensor<?x1x64xf32>, tensor<?x1xf32>
  return %o, %c, %n, %m : tensor<?x1x?x64xbf16>, tensor<?x1x64x64xf32>, tensor<?x1x64xf32>, tensor<?x1xf32>
}
