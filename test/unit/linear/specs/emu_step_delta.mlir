// Emulator test spec: the recurrent step kernel of DeltaNet (no decay, no
// normalisation of q and k, f32 beta), no states, four warps of 32-column
// tiles.
func.func @emu_step_delta(%q: tensor<?x2x?x64xbf16>, %k: tensor<?x2x?x64xbf16>,
                          %v: tensor<?x2x?x64xbf16>, %beta: tensor<?x2x?xf32>)
    -> tensor<?x2x?x64xbf16> {
  %o = flash.delta_rule %q, %k, %v, %beta dims ["B", "T"] {flash.schedule = #flash.schedule<algorithm = recurrent_step, tile_q = 0, tile_kv = 0, tile_d = 0, stages = 0, warps = 4, chunk = 0, inner_q = 0, inner_kv = 0, tile_dv = 32, smem_bytes = 0>}
      : tensor<?x2x?x64xbf16>, tensor<?x2x?x64xbf16>, tensor<?x2x?x64xbf16>,
        tensor<?x2x?xf32> -> tensor<?x2x?x64xbf16>
  return %o : tensor<?x2x?x64xbf16>
}
