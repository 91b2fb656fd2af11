// Emulator test spec: chunk_scored for the decay gate, two heads, chunks of
// 32 rows (one inner query tile over 2 warps), one stage.
func.func @emu_scored_decay(%q: tensor<?x2x?x64xbf16>, %k: tensor<?x2x?x64xbf16>,
                            %v: tensor<?x2x?x32xbf16>, %g: tensor<?x2x?xf32>)
    -> tensor<?x2x?x32xbf16> {
  %o = flash.linear_attention %q, %k, %v gate decay gates(%g : tensor<?x2x?xf32>)
      dims ["B", "T"] {flash.schedule = #flash.schedule<algorithm = chunk_scored, tile_q = 0, tile_kv = 0, tile_d = 0, stages = 1, warps = 2, chunk = 32, inner_q = 32, inner_kv = 32, tile_dv = 32, smem_bytes = 0>}
      : tensor<?x2x?x64xbf16>, tensor<?x2x?x64xbf16>, tensor<?x2x?x32xbf16>
      -> tensor<?x2x?x32xbf16>
  return %o : tensor<?x2x?x32xbf16>
}
