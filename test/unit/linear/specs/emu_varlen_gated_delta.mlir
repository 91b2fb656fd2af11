// Emulator test spec: gated DeltaNet over packed sequences (cu_seqlens),
// l2-normalised q and k, bf16 beta, per-sequence initial and final states,
// Dk != Dv, one value tile, one stage.
func.func @emu_varlen_gated_delta(%q_packed: tensor<?x2x64xbf16>, %k_packed: tensor<?x2x64xbf16>,
                                  %v_packed: tensor<?x2x32xbf16>, %beta_packed: tensor<?x2xbf16>,
                                  %g_packed: tensor<?x2xf32>, %cu: tensor<?xi32>,
                                  %s0: tensor<?x2x64x32xf32>)
    -> (tensor<?x2x32xbf16>, tensor<?x2x64x32xf32>) {
  %q = flash.varlen_view %q_packed[%cu] : tensor<?x2x64xbf16>, tensor<?xi32> -> tensor<?x2x?x64xbf16>
  %k = flash.varlen_view %k_packed[%cu] : tensor<?x2x64xbf16>, tensor<?xi32> -> tensor<?x2x?x64xbf16>
  %v = flash.varlen_view %v_packed[%cu] : tensor<?x2x32xbf16>, tensor<?xi32> -> tensor<?x2x?x32xbf16>
  %beta = flash.varlen_view %beta_packed[%cu] : tensor<?x2xbf16>, tensor<?xi32> -> tensor<?x2x?xbf16>
  %g = flash.varlen_view %g_packed[%cu] : tensor<?x2xf32>, tensor<?xi32> -> tensor<?x2x?xf32>
  %o, %s = flash.delta_rule %q, %k, %v, %beta decay(%g : tensor<?x2x?xf32>)
      initial(%s0 : tensor<?x2x64x32xf32>) l2norm_qk return_final_state
      dims ["B", "T"] {flash.schedule = #flash.schedule<algorithm = chunk_fused, tile_q = 0, tile_kv = 0, tile_d = 0, stages = 1, warps = 4, chunk = 64, inner_q = 64, inner_kv = 64, tile_dv = 32, smem_bytes = 0>}
      : tensor<?x2x?x64xbf16>, tensor<?x2x?x64xbf16>, tensor<?x2x?x32xbf16>,
        tensor<?x2x?xbf16> -> tensor<?x2x?x32xbf16>, tensor<?x2x64x32xf32>
  %out = flash.varlen_pack %o[%cu] : tensor<?x2x?x32xbf16>, tensor<?xi32> -> tensor<?x2x32xbf16>
  return %out, %s : tensor<?x2x32xbf16>, tensor<?x2x64x32xf32>
}
