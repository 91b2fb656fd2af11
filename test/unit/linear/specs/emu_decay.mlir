// Emulator test spec: decay gate, two inner key tiles per chunk, two value
// tiles, double-buffered chunks.
func.func @emu_decay(%q: tensor<?x2x?x64xbf16>, %k: tensor<?x2x?x64xbf16>,
                     %v: tensor<?x2x?x64xbf16>, %g: tensor<?x2x?xf32>)
    -> tensor<?x2x?x64xbf16> {
  %o = flash.linear_attention %q, %k, %v gate decay gates(%g : tensor<?x2x?xf32>)
      dims ["B", "T"] {flash.schedule = #flash.schedule<algorithm = chunk_fused, tile_q = 0, tile_kv = 0, tile_d = 0, stages = 2, warps = 4, chunk = 64, inner_q = 64, inner_kv = 32, tile_dv = 32, smem_bytes = 0>}
      : tensor<?x2x?x64xbf16>, tensor<?x2x?x64xbf16>, tensor<?x2x?x64xbf16>
      -> tensor<?x2x?x64xbf16>
  return %o : tensor<?x2x?x64xbf16>
}
