// Emulator test spec: the two-pass form with GLA's per-key-dim gates and a
// feature map (phi(x) = tanh(2 x), signed, no extras): the states kernel maps k,
// the outputs kernel q and k, before the vector gates' scan gates them in
// place.
func.func @emu_fmap_twopass_vector(%q: tensor<?x1x?x64xbf16>, %k: tensor<?x1x?x64xbf16>,
                                   %v: tensor<?x1x?x64xbf16>, %g: tensor<?x1x?x64xf32>)
    -> tensor<?x1x?x64xbf16> {
  %o = flash.linear_attention %q, %k, %v gate vector gates(%g : tensor<?x1x?x64xf32>)
      dims ["B", "T"] feature_map {
  ^bb0(%x: f32, %b: index, %h: index, %t: index, %d: index):
    %two = arith.constant 2.0 : f32
    %y = arith.mulf %x, %two : f32
    %e = math.tanh %y : f32
    flash.yield %e : f32
  } {flash.schedule = #flash.schedule<algorithm = chunk_two_pass, tile_q = 0, tile_kv = 0, tile_d = 0, stages = 2, warps = 4, chunk = 64, inner_q = 64, inner_kv = 64, tile_dv = 32, smem_bytes = 0>}
      : tensor<?x1x?x64xbf16>, tensor<?x1x?x64xbf16>, tensor<?x1x?x64xbf16>
      -> tensor<?x1x?x64xbf16>
  return %o : tensor<?x1x?x64xbf16>
}
