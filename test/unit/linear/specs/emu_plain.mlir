// Emulator test spec: no gate, chunks of 128 in 2 x 2 inner tiles (the
// upper one skipped), one value tile.
func.func @emu_plain(%q: tensor<?x2x?x64xbf16>, %k: tensor<?x2x?x64xbf16>,
                     %v: tensor<?x2x?x64xbf16>) -> tensor<?x2x?x64xbf16> {
  %o = flash.linear_attention %q, %k, %v dims ["B", "T"]
      {flash.schedule = #flash.schedule<algorithm = chunk_fused, tile_q = 0, tile_kv = 0, tile_d = 0, stages = 2, warps = 4, chunk = 128, inner_q = 64, inner_kv = 64, tile_dv = 64, smem_bytes = 0>}
      : tensor<?x2x?x64xbf16>, tensor<?x2x?x64xbf16>, tensor<?x2x?x64xbf16>
      -> tensor<?x2x?x64xbf16>
  return %o : tensor<?x2x?x64xbf16>
}
