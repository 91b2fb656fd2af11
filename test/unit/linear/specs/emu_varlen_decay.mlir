// Emulator test spec: a decay recurrence over packed sequences (cu_seqlens)
// with an initial state in and the final state out per sequence; chunks of
// 32 over two inner key tiles, two value tiles, double-buffered chunks.
func.func @emu_varlen_decay(%qp: tensor<?x2x64xbf16>, %kp: tensor<?x2x64xbf16>,
                            %vp: tensor<?x2x64xbf16>, %gp: tensor<?x2xf32>,
                            %cu: tensor<?xi32>, %c0: tensor<?x2x64x64xf32>)
    -> (tensor<?x2x64xbf16>, tensor<?x2x64x64xf32>) {
  %q = flash.varlen_view %qp[%cu] : tensor<?x2x64xbf16>, tensor<?xi32> -> tensor<?x2x?x64xbf16>
  %k = flash.varlen_view %kp[%cu] : tensor<?x2x64xbf16>, tensor<?xi32> -> tensor<?x2x?x64xbf16>
  %v = flash.varlen_view %vp[%cu] : tensor<?x2x64xbf16>, tensor<?xi32> -> tensor<?x2x?x64xbf16>
  %g = flash.varlen_view %gp[%cu] : tensor<?x2xf32>, tensor<?xi32> -> tensor<?x2x?xf32>
  %o, %cf = flash.linear_attention %q, %k, %v gate decay gates(%g : tensor<?x2x?xf32>)
      initial(%c0 : tensor<?x2x64x64xf32>) return_final_state dims ["B", "T"]
      {flash.schedule = #flash.schedule<algorithm = chunk_fused, tile_q = 0, tile_kv = 0, tile_d = 0, stages = 2, warps = 2, chunk = 32, inner_q = 32, inner_kv = 16, tile_dv = 32, smem_bytes = 0>}
      : tensor<?x2x?x64xbf16>, tensor<?x2x?x64xbf16>, tensor<?x2x?x64xbf16>
      -> tensor<?x2x?x64xbf16>, tensor<?x2x64x64xf32>
  %out = flash.varlen_pack %o[%cu] : tensor<?x2x?x64xbf16>, tensor<?xi32> -> tensor<?x2x64xbf16>
  return %out, %cf : tensor<?x2x64xbf16>, tensor<?x2x64x64xf32>
}
