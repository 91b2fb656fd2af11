// A spec that carries its own schedules: a flash3 kernel without a producer
// warpgroup (warps = tile_q / 16) first, then a flash2 candidate.
func.func @hand(%q: tensor<?x16x?x128xbf16>, %k: tensor<?x16x?x128xbf16>,
    %v: tensor<?x16x?x128xbf16>) -> tensor<?x16x?x128xbf16> {
  %o = flash.attention %q, %k, %v dims ["B", "N", "N"] {flash.schedule = #flash.schedule<algorithm = flash3, tile_q = 128, tile_kv = 64, tile_d = 128, stages = 2, warps = 8, chunk = 0, inner_q = 0, inner_kv = 0, tile_dv = 128, smem_bytes = 99328>, flash.candidates = [#flash.schedule<algorithm = flash3, tile_q = 128, tile_kv = 64, tile_d = 128, stages = 2, warps = 8, chunk = 0, inner_q = 0, inner_kv = 0, tile_dv = 128, smem_bytes = 99328>, #flash.schedule<algorithm = flash2, tile_q = 64, tile_kv = 64, tile_d = 128, stages = 2, warps = 4, chunk = 0, inner_q = 0, inner_kv = 0, tile_dv = 128, smem_bytes = 81920>]}
      : tensor<?x16x?x128xbf16>, tensor<?x16x?x128xbf16>, tensor<?x16x?x128xbf16>
      -> tensor<?x16x?x128xbf16>
  return %o : tensor<?x16x?x128xbf16>
}
