// Emulator test spec: GLA (a log-decay per key dim) over packed sequences
// (cu_seqlens), Dk = 64 != Dv = 32, no states; one stage.
func.func @emu_varlen_vector(%qp: tensor<?x2x64xbf16>, %kp: tensor<?x2x64xbf16>,
                             %vp: tensor<?x2x32xbf16>, %gp: tensor<?x2x64xf32>,
                             %cu: tensor<?xi32>) -> tensor<?x2x32xbf16> {
  %q = flash.varlen_view %qp[%cu] : tensor<?x2x64xbf16>, tensor<?xi32> -> tensor<?x2x?x64xbf16>
  %k = flash.varlen_view %kp[%cu] : tensor<?x2x64xbf16>, tensor<?xi32> -> tensor<?x2x?x64xbf16>
  %v = flash.varlen_view %vp[%cu] : tensor<?x2x32xbf16>, tensor<?xi32> -> tensor<?x2x?x32xbf16>
  %g = flash.varlen_view %gp[%cu] : tensor<?x2x64xf32>, tensor<?xi32> -> tensor<?x2x?x64xf32>
  %o = flash.linear_attention %q, %k, %v gate vector gates(%g : tensor<?x2x?x64xf32>)
      dims ["B", "T"]
      {flash.schedule = #flash.schedule<algorithm = chunk_fused, tile_q = 0, tile_kv = 0, tile_d = 0, stages = 1, warps = 2, chunk = 32, inner_q = 32, inner_kv = 32, tile_dv = 16, smem_bytes = 0>}
      : tensor<?x2x?x64xbf16>, tensor<?x2x?x64xbf16>, tensor<?x2x?x32xbf16>
      -> tensor<?x2x?x32xbf16>
  %out = flash.varlen_pack %o[%cu] : tensor<?x2x?x32xbf16>, tensor<?xi32> -> tensor<?x2x32xbf16>
  return %out : tensor<?x2x32xbf16>
}
