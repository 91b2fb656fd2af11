// Gemma-2 style logit soft-capping: score = 30 * tanh(score / 30), written as
// a score_mod region the compiler inlines into the kernel.
func.func @softcap(%q: tensor<?x16x?x128xbf16>, %k: tensor<?x16x?x128xbf16>,
                   %v: tensor<?x16x?x128xbf16>) -> tensor<?x16x?x128xbf16> {
  %o = flash.attention %q, %k, %v dims ["B", "N", "N"] score_mod {
  ^bb0(%s: f32, %b: index, %h: index, %i: index, %j: index):
    %cap = arith.constant 30.0 : f32
    %x = arith.divf %s, %cap : f32
    %t = math.tanh %x : f32
    %r = arith.mulf %t, %cap : f32
    flash.yield %r : f32
  } {flash.schedule = #flash.schedule<algorithm = flash2, tile_q = 128, tile_kv = 32, tile_d = 128, stages = 3, warps = 4, chunk = 0, inner_q = 0, inner_kv = 0, tile_dv = 128, smem_bytes = 81920>, flash.candidates = [#flash.schedule<algorithm = flash2, tile_q = 128, tile_kv = 32, tile_d = 128, stages = 3, warps = 4, chunk = 0, inner_q = 0, inner_kv = 0, tile_dv = 128, smem_bytes = 81920>, #flash.schedule<algorithm = flash2, tile_q = 128, tile_kv = 64, tile_d = 128, stages = 2, warps = 8, chunk = 0, inner_q = 0, inner_kv = 0, tile_dv = 128, smem_bytes = 98304>, #flash.schedule<algorithm = flash2, tile_q = 64, tile_kv = 64, tile_d = 128, stages = 2, warps = 4, chunk = 0, inner_q = 0, inner_kv = 0, tile_dv = 128, smem_bytes = 81920>, #flash.schedule<algorithm = flash2, tile_q = 128, tile_kv = 64, tile_d = 128, stages = 3, warps = 8, chunk = 0, inner_q = 0, inner_kv = 0, tile_dv = 128, smem_bytes = 131072>, #flash.schedule<algorithm = flash3, tile_q = 128, tile_kv = 128, tile_d = 128, stages = 2, warps = 12, chunk = 0, inner_q = 0, inner_kv = 0, tile_dv = 128, smem_bytes = 164992>, #flash.schedule<algorithm = flash3, tile_q = 128, tile_kv = 128, tile_d = 128, stages = 2, warps = 12, chunk = 0, inner_q = 1, inner_kv = 0, tile_dv = 128, smem_bytes = 164992>, #flash.schedule<algorithm = flash3, tile_q = 128, tile_kv = 128, tile_d = 128, stages = 3, warps = 12, chunk = 0, inner_q = 0, inner_kv = 0, tile_dv = 128, smem_bytes = 230528>, #flash.schedule<algorithm = flash3, tile_q = 128, tile_kv = 128, tile_d = 128, stages = 2, warps = 12, chunk = 0, inner_q = 0, inner_kv = 64, tile_dv = 128, smem_bytes = 164992>, #flash.schedule<algorithm = flash3, tile_q = 128, tile_kv = 176, tile_d = 128, stages = 2, warps = 12, chunk = 0, inner_q = 0, inner_kv = 0, tile_dv = 128, smem_bytes = 214144>, #flash.schedule<algorithm = flash3, tile_q = 128, tile_kv = 176, tile_d = 128, stages = 2, warps = 12, chunk = 0, inner_q = 1, inner_kv = 0, tile_dv = 128, smem_bytes = 214144>, #flash.schedule<algorithm = flash3, tile_q = 128, tile_kv = 128, tile_d = 128, stages = 2, warps = 8, chunk = 0, inner_q = 0, inner_kv = 0, tile_dv = 128, smem_bytes = 164864>]} : tensor<?x16x?x128xbf16>, tensor<?x16x?x128xbf16>, tensor<?x16x?x128xbf16>
      -> tensor<?x16x?x128xbf16>
  return %o : tensor<?x16x?x128xbf16>
}
