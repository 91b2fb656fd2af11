// Emulator test spec: the recurrent step kernel of per-key-dim decays
// (GLA), no states, two warps of 16-column tiles (4 threads a row).
func.func @emu_step_vector(%q: tensor<?x1x?x32xbf16>, %k: tensor<?x1x?x32xbf16>,
                           %v: tensor<?x1x?x32xbf16>, %g: tensor<?x1x?x32xf32>)
    -> tensor<?x1x?x32xbf16> {
  %o = flash.linear_attention %q, %k, %v gate vector gates(%g : tensor<?x1x?x32xf32>)
      dims ["B", "T"] {flash.schedule = #flash.schedule<algorithm = recurrent_step, tile_q = 0, tile_kv = 0, tile_d = 0, stages = 0, warps = 2, chunk = 0, inner_q = 0, inner_kv = 0, tile_dv = 16, smem_bytes = 0>}
      : tensor<?x1x?x32xbf16>, tensor<?x1x?x32xbf16>, tensor<?x1x?x32xbf16>
      -> tensor<?x1x?x32xbf16>
  return %o : tensor<?x1x?x32xbf16>
}
