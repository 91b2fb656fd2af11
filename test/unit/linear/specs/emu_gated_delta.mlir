// Emulator test spec: gated DeltaNet with l2-normalised q and k, bf16 beta,
// an initial state in and the final state out, Dk != Dv, one value tile,
// one stage.
func.func @emu_gated_delta(%q: tensor<?x1x?x64xbf16>, %k: tensor<?x1x?x64xbf16>,
                           %v: tensor<?x1x?x32xbf16>, %beta: tensor<?x1x?xbf16>,
                           %g: tensor<?x1x?xf32>, %s0: tensor<?x1x64x32xf32>)
    -> (tensor<?x1x?x32xbf16>, tensor<?x1x64x32xf32>) {
  %o, %s = flash.delta_rule %q, %k, %v, %beta decay(%g : tensor<?x1x?xf32>)
      initial(%s0 : tensor<?x1x64x32xf32>) l2norm_qk return_final_state
      dims ["B", "T"] {flash.schedule = #flash.schedule<algorithm = chunk_fused, tile_q = 0, tile_kv = 0, tile_d = 0, stages = 1, warps = 4, chunk = 64, inner_q = 64, inner_kv = 64, tile_dv = 32, smem_bytes = 0>}
      : tensor<?x1x?x64xbf16>, tensor<?x1x?x64xbf16>, tensor<?x1x?x32xbf16>,
        tensor<?x1x?xbf16> -> tensor<?x1x?x32xbf16>, tensor<?x1x64x32xf32>
  return %o, %s : tensor<?x1x?x32xbf16>, tensor<?x1x64x32xf32>
}
