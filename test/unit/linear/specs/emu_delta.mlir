// Emulator test spec: DeltaNet (no decay), beta in f32, two value tiles of
// 32, two inner key tiles per chunk, double-buffered chunks.
func.func @emu_delta(%q: tensor<?x2x?x64xbf16>, %k: tensor<?x2x?x64xbf16>,
                     %v: tensor<?x2x?x64xbf16>, %beta: tensor<?x2x?xf32>)
    -> tensor<?x2x?x64xbf16> {
  %o = flash.delta_rule %q, %k, %v, %beta dims ["B", "T"] {flash.schedule = #flash.schedule<algorithm = chunk_fused, tile_q = 0, tile_kv = 0, tile_d = 0, stages = 2, warps = 4, chunk = 64, inner_q = 64, inner_kv = 32, tile_dv = 32, smem_bytes = 0>}
      : tensor<?x2x?x64xbf16>, tensor<?x2x?x64xbf16>, tensor<?x2x?x64xbf16>,
        tensor<?x2x?xf32> -> tensor<?x2x?x64xbf16>
  return %o : tensor<?x2x?x64xbf16>
}
