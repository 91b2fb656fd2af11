// Prefix-LM masking through mask_mod: the first 256 positions see each other
// bidirectionally, the rest is causal.
func.func @prefix_lm(%q: tensor<?x16x?x128xbf16>, %k: tensor<?x16x?x128xbf16>,
                     %v: tensor<?x16x?x128xbf16>) -> tensor<?x16x?x128xbf16> {
  %o = flash.attention %q, %k, %v dims ["B", "N", "N"] mask_mod {
  ^bb0(%b: index, %h: index, %i: index, %j: index):
    %prefix = arith.constant 256 : index
    %in_prefix = arith.cmpi ult, %j, %prefix : index
    %causal = arith.cmpi ule, %j, %i : index
    %keep = arith.ori %in_prefix, %causal : i1
    flash.yield %keep : i1
  } {flash.schedule = #flash.schedule<algorithm = flash2, tile_q = 128, tile_kv = 32, tile_d = 128, stages = 3, warps = 4, chunk = 0, inner_q = 0, inner_kv = 0, tile_dv = 128, smem_bytes = 81920>, flash.candidates = [#flash.schedule<algorithm = flash2, tile_q = 128, tile_kv = 32, tile_d = 128, stages = 3, warps = 4, chunk = 0, inner_q = 0, inner_kv = 0, tile_dv = 128, smem_bytes = 81920>, #flash.schedule<algorithm = flash2, tile_q = 128, tile_kv = 64, tile_d = 128, stages = 2, warps = 8, chunk = 0, inner_q = 0, inner_kv = 0, tile_dv = 128, smem_bytes = 98304>, #flash.schedule<algorithm = flash2, tile_q = 64, tile_kv = 64, tile_d = 128, stages = 2, warps = 4, chunk = 0, inner_q = 0, inner_kv = 0, tile_dv = 128, smem_bytes = 81920>, #flash.schedule<algorithm = flash2, tile_q = 128, tile_kv = 64, tile_d = 128, stages = 3, warps = 8, chunk = 0, inner_q = 0, inner_kv = 0, tile_dv = 128, smem_bytes = 131072>, #flash.schedule<algorithm = flash3, tile_q = 128, tile_kv = 128, tile_d = 128, stages = 2, warps = 12, chunk = 0, inner_q = 0, inner_kv = 0, tile_dv = 128, smem_bytes = 164992>, #flash.schedule<algorithm = flash3, tile_q = 128, tile_kv = 128, tile_d = 128, stages = 2, warps = 12, chunk = 0, inner_q = 1, inner_kv = 0, tile_dv = 128, smem_bytes = 164992>, #flash.schedule<algorithm = flash3, tile_q = 128, tile_kv = 128, tile_d = 128, stages = 3, warps = 12, chunk = 0, inner_q = 0, inner_kv = 0, tile_dv = 128, smem_bytes = 230528>, #flash.schedule<algorithm = flash3, tile_q = 128, tile_kv = 128, tile_d = 128, stages = 2, warps = 12, chunk = 0, inner_q = 0, inner_kv = 64, tile_dv = 128, smem_bytes = 164992>, #flash.schedule<algorithm = flash3, tile_q = 128, tile_kv = 176, tile_d = 128, stages = 2, warps = 12, chunk = 0, inner_q = 0, inner_kv = 0, tile_dv = 128, smem_bytes = 214144>, #flash.schedule<algorithm = flash3, tile_q = 128, tile_kv = 176, tile_d = 128, stages = 2, warps = 12, chunk = 0, inner_q = 1, inner_kv = 0, tile_dv = 128, smem_bytes = 214144>, #flash.schedule<algorithm = flash3, tile_q = 128, tile_kv = 128, tile_d = 128, stages = 2, warps = 8, chunk = 0, inner_q = 0, inner_kv = 0, tile_dv = 128, smem_bytes = 164864>]} : tensor<?x16x?x128xbf16>, tensor<?x16x?x128xbf16>, tensor<?x16x?x128xbf16>
      -> tensor<?x16x?x128xbf16>
  return %o : tensor<?x16x?x128xbf16>
}
