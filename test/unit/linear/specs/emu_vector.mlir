// Emulator test spec: vector (GLA) gates, one 64 x 64 inner tile (four
// 16-row blocks, gated in place).
func.func @emu_vector(%q: tensor<?x1x?x64xbf16>, %k: tensor<?x1x?x64xbf16>,
                      %v: tensor<?x1x?x64xbf16>, %g: tensor<?x1x?x64xf32>)
    -> tensor<?x1x?x64xbf16> {
  %o = flash.linear_attention %q, %k, %v gate vector gates(%g : tensor<?x1x?x64xf32>)
      dims ["B", "T"] {flash.schedule = #flash.schedule<algorithm = chunk_fused, tile_q = 0, tile_kv = 0, tile_d = 0, stages = 2, warps = 4, chunk = 64, inner_q = 64, inner_kv = 64, tile_dv = 32, smem_bytes = 0>}
      : tensor<?x1x?x64xbf16>, tensor<?x1x?x64xbf16>, tensor<?x1x?x64xbf16>
      -> tensor<?x1x?x64xbf16>
  return %o : tensor<?x1x?x64xbf16>
}
