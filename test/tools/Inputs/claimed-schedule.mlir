// A causal spec with a persistent flash3 schedule: its rounds claim tiles
// from a zeroed scratch word (flash.tile_rounds `claimed`).
func.func @claimed(%q: tensor<?x16x?x128xbf16>, %k: tensor<?x16x?x128xbf16>,
    %v: tensor<?x16x?x128xbf16>) -> tensor<?x16x?x128xbf16> {
  %o = flash.attention %q, %k, %v mask causal dims ["B", "N", "N"] {flash.schedule = #flash.schedule<algorithm = flash3, tile_q = 128, tile_kv = 128, tile_d = 128, stages = 2, warps = 12, chunk = 0, inner_q = 0, inner_kv = 0, tile_dv = 128, smem_bytes = 197888, persistent = 1>}
      : tensor<?x16x?x128xbf16>, tensor<?x16x?x128xbf16>, tensor<?x16x?x128xbf16>
      -> tensor<?x16x?x128xbf16>
  return %o : tensor<?x16x?x128xbf16>
}
